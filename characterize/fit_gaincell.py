"""Fitting gain-cell sweeps (recipes gaincell-*). Forms: see :mod:`imcspice.models.gaincell`."""
from __future__ import annotations

import numpy as np

from ..models.gaincell import (GainCellMacModel, GainCellReadoutModel, GainCellRetentionModel,
                               GainCellWriteModel)
from .fit import (FitError, base_meta, fit_table_quantity, grid_data, numeric_settings,
                  summarize, valid_range)

RECIPE_KIND = {"gaincell-mac": "gaincell-mac", "gaincell-retention": "gaincell-retention",
               "gaincell-write": "gaincell-write", "gaincell-readout": "gaincell-readout"}
FITTERS = {k: "fit_gaincell:fit_gaincell" for k in RECIPE_KIND.values()}

_CLASSES = {"gaincell-mac": GainCellMacModel, "gaincell-retention": GainCellRetentionModel,
            "gaincell-write": GainCellWriteModel, "gaincell-readout": GainCellReadoutModel}

#: per quantity: (value transform, spline), chosen from the physics, not from the data:
#: a signed current over decades -> asinh; monotone curves with a saturation corner or an
#: exponential region -> monotone cubic (no overshoot)
PRIORS = {
    "i_cell_a": ("asinh", "pchip"),
    "q_col_c": ("linear", "pchip"),
    "v_int_v": ("linear", "pchip"),
}


def _kind_of(raw) -> str:
    r = raw.attrs.get("recipe", "")
    if r not in RECIPE_KIND:
        raise FitError(f"no gain-cell model kind for recipe {r!r}")
    return RECIPE_KIND[r]


def fit_gaincell(raw, *, raw_path, seed: int = 0):
    kind = _kind_of(raw)
    settings = numeric_settings(raw)
    fns, errs, gds, skipped, notes = {}, {}, [], [], {}
    for q in raw.data:
        try:
            gd = grid_data(raw, q, settings=settings, mc_reduce="mean" if "mc" in raw.outer
                           else None)
        except FitError as e:
            skipped.append(f"{q} ({e})")
            continue
        if not np.isfinite(gd.values).any():
            skipped.append(f"{q} (no successful points)")
            continue
        transform, method = PRIORS.get(q, (None, None))
        scales_note = ""
        if q.startswith("tau"):
            transform = "log" if np.nanmin(gd.values) > 0 else transform
            scales_note = "Arrhenius: log(tau) linear in 1/T"
        if gd.unit in ("V", "") and not gd.fs and np.nanmin(gd.values) >= 0:
            pass
        fn = None
        if q == "v_sn_v" and {"t_s", "v0_v"} <= set(gd.names):
            fn, err = _fit_relax(gd, seed)
            if fn is not None:
                notes[q] = ("V(t) = v_mid + (V0 - v_mid) * exp(-t / tau), v_mid and tau per "
                            "corner/setting, log(tau) interpolated linearly in 1/T (Arrhenius)")
        if q == "v_int_v" and "t_pulse_s" in gd.names and len(gd.axis("t_pulse_s")) >= 4:
            fn, err = _fit_clipped(gd, seed)
            notes[q] = "clipped-linear integrator: clip(gain * t_pulse + offset, lo, hi)"
        if fn is None:
            fn, err = fit_table_quantity(gd, seed, transform=transform, method=method,
                                         doc=raw.docs.get(q, ""))
        if q.startswith("tau") and "temp_c" in fn.grid_inputs:
            k = fn.grid_inputs.index("temp_c")
            fn.scales[k] = "inv_kelvin"
            fn._grids = None
            from .fit import heldout_error, split_grid
            err.update(heldout_error(fn, gd, split_grid(gd, {}, seed)))
        fns[q], errs[q] = fn, err
        gds.append(gd)
        if scales_note:
            notes[q] = scales_note
    if not fns:
        raise FitError(f"{raw.attrs.get('recipe')}: no quantity could be fitted "
                       f"({'; '.join(skipped)})")
    rng, units = valid_range(gds)
    parts = []
    for q, fn in fns.items():
        if fn.form != "table":
            parts.append(f"{q}: {notes.get(q, fn.form_text)}, parameters per setting")
            continue
        t = errs[q].get("table", {})
        parts.append(f"{q}({', '.join(n for n in fn.inputs if rng[n][0] != rng[n][1])}): "
                     f"table of {t.get('transform', 'linear')}(value), "
                     f"{t.get('spline', 'cubic')}-refined" +
                     (f", {notes[q]}" if q in notes else ""))
    form = f"{kind}: " + "; ".join(parts) + "; multilinear interpolation per corner"
    meta = base_meta(raw, raw_path, units, not_modeled=skipped, notes=notes,
                     defaults={"temp_c": 27.0} if rng["temp_c"][0] <= 27 <= rng["temp_c"][1]
                     else {})
    return _CLASSES[kind](fns, valid_range=rng, heldout_error=summarize(errs, seed), form=form,
                          meta=meta)


def _p0_clip(x, y):
    (t,) = x
    order = np.argsort(t)
    t, y = t[order], y[order]
    gain = (y[1] - y[0]) / (t[1] - t[0]) if t[1] > t[0] else 0.0
    return [gain, y[0], float(min(y.min(), y[0])), float(max(y.max(), y[0]))]


def _form_or_none(gd, seed, form_axes: list[str], form: str, p0, **kw):
    """Fit closed form ``form`` over ``form_axes``; (None, None) when it fails or misses
    the training points by more than 1 % of full scale (the caller then uses a table)."""
    from .fit import DEFAULT_TOL_PCT, form_function, heldout_error, split_grid
    masks = split_grid(gd, {n: "form" for n in form_axes}, seed)
    try:
        fn, worst = form_function(gd, masks, form, form_axes, p0, **kw)
    except (FitError, ValueError):
        return None, None
    if worst > DEFAULT_TOL_PCT:
        return None, None
    err = heldout_error(fn, gd, masks)
    err["training_max_pct_fs"] = worst
    return fn, err


def _fit_clipped(gd, seed):
    """v_int(t_pulse) = clip(gain * t + offset, lo, hi) per setting, or (None, None)."""
    return _form_or_none(gd, seed, ["t_pulse_s"], "saturating-linear", _p0_clip,
                         x_scale=np.array([1e8, 0.1, 0.1, 0.1]),
                         doc="integrator output: clipped linear in the pulse width")


def _p0_relax(x, y):
    t, v0 = x
    late = t >= np.max(t)
    vmid = float(np.mean(y[late])) if late.any() else 0.45
    # tau: time where the excursion has fallen to 1/e, from the largest-|v0 - vmid| curve
    dev = np.abs(v0 - vmid)
    sel = dev >= dev.max() * 0.99
    frac = np.abs(y[sel] - vmid) / np.maximum(dev[sel], 1e-12)
    ts = t[sel]
    k = np.flatnonzero(frac < np.exp(-1))
    tau = float(ts[k[0]]) if len(k) else float(np.max(t))
    return [vmid, max(tau, 1e-15)]


def _fit_relax(gd, seed):
    """Retention V(t, V0) by the relaxation form, or (None, None)."""
    return _form_or_none(gd, seed, ["t_s", "v0_v"], "relax-exp", _p0_relax,
                         bounds=([-1.0, 1e-18], [2.0, 1e9]), param_transform=["linear", "log"],
                         scales={"temp_c": "inv_kelvin"}, x_scale="jac",
                         doc="stored voltage relaxing toward v_mid with time constant tau")
