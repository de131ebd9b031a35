"""Fitting the crossbar column's settling time as ``crossbar-settling-kink``
(models/crossbar_kink.py): per column line in rows, two pieces joined where the OTA
output stage leaves its one-copy floor, and the choice between it and the lookup table
by the inner hold-out on the training lines only.

Per line (corner, temperature, r_bl, frac_on, read voltage; the training lines only)
the form is linear in (c0..c4) and solved by least squares on the training rows, plus
one node at the kink q = 1 (rows_k, where the stage leaves its floor) where the sweep
has training rows on both sides of it: its value is the floor's own line read at the
same load per copy L = Gs/n2 (models/crossbar_settle.py ``copies_and_load``: on the
floor n2 = n2_min, so L grows with rows and frac_on alike), i.e. the training rows just
below the kink across the training frac_on lines, interpolated linearly in L (linearly
extrapolated past its ends). Columns are taken while points remain: c0, c1 (only with a
point below the kink), then c2, c3, c4 (u, u^2, u^3); the rest are 0.

The fitter keeps the form where its inner hold-out (:func:`fit_table_quantity`'s
split of the training lines, seed + 1) is lower than the lookup table's, and notes its
figures either way; the outer held-out lines are never looked at before the choice.

Its one miss of the 1 % on the 720-point sweep (frac_on in 1/8 steps above 3/8; seed 0:
1.04 % FS held out, 95 C, 0.2 V, r_bl 1 ohm, 16 rows on the held-out frac_on = 1/2 line:
ngspice 24.17 ns, model 23.63) is the
spline across frac_on, not the rows form: 1/2 lies between the training lines 3/8 and
5/8, which fit 16 rows to 0.02 ns (21.17 and 27.18 ns), and at 16 rows on the floor the
time is concave in the load up to 3/8 (steps per 1/16: 2.54, 2.15, 1.86, 1.66, 1.55,
1.33 ns) and straight past it (1.50, 1.51), so the spline carries the curvature of the
dense lines into the wide 3/8..5/8 gap (linear there: 24.17). The inner hold-out
(frac_on lines 1/4, 3/8 and rows 24, 96 held out) cannot pick another spline for it: its
max, 1.25 % FS, is the same with a cubic, pchip or linear spline, at 24 rows, 5/8, r_bl
2.5 ohm, 95 C, 0.2 V (with 24 rows held out the floor piece runs from 16 rows to the
kink node read in L from the 16-row lines; the model's 39.16 ns at the kink lies 1.2 ns
below the straight line through 16 and 24 rows), and on its held-out frac_on lines the
cubic is best: cubic 0.31, pchip 0.66, linear 1.16 % FS (outer max 1.04, 1.08, 1.42).
The kink node held exact (continuity at q = 1) holds out 1.82 inside (outer 1.24). Other
coordinates do not help: L = Gs/n2 is affine in frac_on at fixed rows (to 0.09 % of its
range; the 16-row values' spline reads 23.68 ns at 1/2 in either), and I_design does not
depend on frac_on. The shipped sweep now samples frac_on in uniform 1/16 steps
(characterize/defaults.py): 0.52 % FS held out (seed 0 then holds out frac_on 1/16, 1/4,
3/8; inner hold-out 1.67 against the table's 3.37), and the 720-point model read the
added 7/16 and 9/16 lines within 0.60 and 0.99 % FS.
"""
from __future__ import annotations

import itertools

import numpy as np

from ...circuits import ota
from ...models.base import Function
from ...models.crossbar_kink import FORM, kink_rows
from ...models.crossbar_settle import copies_and_load
from .grid import FitError, GridData
from .holdout import heldout_error, split_grid
from .table import _restrict, refine_axis

#: the parameters' refinement along frac_on (fine nodes per line spacing), as the
#: lookup tables' (fitting/table.py fit_table_quantity)
REFINE = 4
#: the form's inputs, in its order
INPUTS = ("rows", "r_bl_ohm", "frac_on", "g_on_us", "g_off_us", "v_read_v")


def _basis(x, extra) -> np.ndarray:
    return np.stack([FORM.func(x, e, extra) for e in np.eye(len(FORM.params))], axis=-1)


def _kink_value(x_lines: list, t_lines: np.ndarray, rows_tr: np.ndarray, rows_k: float,
                extra: dict) -> np.ndarray | None:
    """The settling time at the kink of each line (x_lines: the lines' inputs at one
    rows, t_lines[line, rows]), from the training rows just below it at the same load
    per copy; None where the lines do not straddle the kink or fewer than two have a
    value there."""
    below = np.flatnonzero(rows_tr < rows_k)
    if not below.size or rows_tr.max() <= rows_k:
        return None
    k0 = int(below[-1])

    def load(rows):
        return np.array([float(copies_and_load([np.array([rows])] + [np.array([v]) for v in xl],
                                               extra)[2][0]) for xl in x_lines])
    l0, lk = load(float(rows_tr[k0])), load(rows_k)
    t0 = t_lines[:, k0]
    ok = np.isfinite(t0)
    if ok.sum() < 2:
        return None
    o = np.argsort(l0[ok])
    ls, ts = l0[ok][o], t0[ok][o]
    out = np.interp(lk, ls, ts)
    lo, hi = lk < ls[0], lk > ls[-1]
    out[lo] = ts[0] + (ts[1] - ts[0]) / (ls[1] - ls[0]) * (lk[lo] - ls[0])
    out[hi] = ts[-1] + (ts[-1] - ts[-2]) / (ls[-1] - ls[-2]) * (lk[hi] - ls[-1])
    return out


def fit_kink(gd: GridData, masks: dict[str, np.ndarray], extra: dict, doc: str = ""
             ) -> tuple[Function, float]:
    """(Function, worst training error % FS) of ``gd`` (t_settle_s) with the kink form
    on the training lines of ``masks``."""
    missing = [n for n in INPUTS if n not in gd.names]
    if missing:
        raise FitError(f"crossbar-settling-kink needs the sweep axes {missing}")
    axes = {n: v[masks[n]] for n, v in gd.axes}
    sub = gd.values
    for k, (n, _) in enumerate(gd.axes):
        sub = np.compress(masks[n], sub, axis=k + 1)
    param_axes = [n for n in gd.names if n != "rows"]
    order = [0] + [1 + gd.names.index(n) for n in param_axes] + [1 + gd.names.index("rows")]
    sub = np.transpose(sub, order)           # (corner, param axes..., rows)
    rows_tr = axes["rows"]
    fi = param_axes.index("frac_on")
    others = [n for n in param_axes if n != "frac_on"]
    out = np.zeros(sub.shape[:-1] + (len(FORM.params),))
    worst, fs = 0.0, gd.full_scale
    for ci in range(sub.shape[0]):
        for cell in itertools.product(*[range(len(axes[n])) for n in others]):
            at = dict(zip(others, cell))

            def index(jf):
                idx = [at[n] if n != "frac_on" else jf for n in param_axes]
                return (ci,) + tuple(idx)
            fr = axes["frac_on"]
            x_lines = [[axes[n][at[n]] if n != "frac_on" else f for n in INPUTS[1:]]
                       for f in fr]
            t_lines = np.stack([sub[index(j)] for j in range(len(fr))])
            rows_k = float(kink_rows([np.array([1.0])] + [np.array([v]) for v in x_lines[0]],
                                     extra)[0])
            tk = _kink_value(x_lines, t_lines, rows_tr, rows_k, extra)
            for j in range(len(fr)):
                r, t = rows_tr, t_lines[j]
                if tk is not None:
                    r, t = np.append(r, rows_k), np.append(t, tk[j])
                ok = np.isfinite(t)
                if ok.sum() < 2:
                    raise FitError(f"{gd.name}: too few points for crossbar-settling-kink "
                                   f"at {dict(at, frac_on=fr[j])}")
                x = [r[ok]] + [np.full(ok.sum(), v) for v in x_lines[j]]
                b = _basis(x, extra)
                cols = [0] + ([1] if np.any(b[:, 1] > 0) else [])
                cols += [c for c in (2, 3, 4)][:max(0, int(ok.sum()) - len(cols))]
                sol, *_ = np.linalg.lstsq(b[:, cols], t[ok], rcond=None)
                p = np.zeros(len(FORM.params))
                p[cols] = sol
                out[index(j)] = p
                n_meas = int(np.isfinite(t_lines[j]).sum())
                res = (b @ p - t[ok])[:n_meas] if tk is None else (b @ p - t[ok])[:-1]
                worst = max(worst, 100 * float(np.max(np.abs(res), initial=0.0)) / fs)
    # the parameters between frac_on lines: a cubic spline of the lines (the basis does
    # not depend on frac_on, so this is the table's spline of the values at each rows)
    axes["frac_on"], out = refine_axis(axes["frac_on"], out, 1 + fi, REFINE, "cubic")
    fn = Function(gd.name, gd.unit, FORM.name, list(gd.corners), param_axes,
                  [axes[n] for n in param_axes], out, form_inputs=list(INPUTS),
                  param_names=list(FORM.params), extra=extra,
                  doc=f"{doc} [{FORM.text}]".strip())
    return fn, worst


def kink_extra(extra: dict, fixed: dict) -> dict:
    """The form's extras from the n2 forms' (v0_v, i_design_frac, i_floor_a, a_on,
    ladder, i_copy_a) plus the OTA design values the floor is made of, for provenance."""
    ib = fixed.get("_ota_ibias_a", fixed.get("ota_ibias_a", ota.OtaParams.ibias_a))
    return dict(extra, ota_k2=np.array([float(ota.OtaParams.k2)]),
                ota_fs_per_i7=np.array([float(ota.FS_PER_I7)]),
                ota_ibias_a=np.array([float(ib)]),
                ota_n2_min=np.array([float(fixed.get("ota_n2_min", 1.0))]))


def try_kink_settling(gd: GridData, fn: Function, err: dict, extra: dict, seed: int,
                      doc: str = "") -> tuple[Function, dict]:
    """The kink form in place of the lookup table ``fn`` (held-out error ``err``, with
    its inner hold-out in err["table"]) where its inner hold-out on the training lines
    is lower; the figures of both are noted in the returned error dict."""
    if fn.form != "table" or "rows" not in gd.names:
        return fn, err
    scores = err.get("table", {}).get("rows_scale_inner_holdout_max_pct_fs") or \
        err.get("table", {}).get("inner_holdout_max_pct_fs", {})
    table_inner = min(scores.values(), default=float("inf"))
    masks = split_grid(gd, {}, seed)
    try:
        train = _restrict(gd, masks)
        inner = split_grid(train, {}, seed + 1)
        kfn, _ = fit_kink(train, inner, extra)
        k_inner = heldout_error(kfn, train, inner)["max_pct_fs"]
        kfn, worst = fit_kink(gd, masks, extra, doc=doc)
        kerr = heldout_error(kfn, gd, masks)
    except (FitError, ValueError) as e:
        err["kink_form_error"] = str(e)
        return fn, err
    note = {"inner_holdout_max_pct_fs": k_inner, "table_inner_holdout_max_pct_fs": table_inner}
    if np.isfinite(k_inner) and k_inner < table_inner:
        kerr.update(model=f"closed form {FORM.name} (inner hold-out {k_inner:.3g} against "
                    f"the lookup table's {table_inner:.3g} % FS)",
                    form_training_max_pct_fs=worst, kink=note,
                    table_max_pct_fs=err["max_pct_fs"], table=err.get("table", {}))
        return kfn, kerr
    err["kink"] = dict(note, max_pct_fs=kerr["max_pct_fs"])
    return fn, err
