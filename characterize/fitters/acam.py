"""Fitting ACAM sweeps: ``acam-window`` (acam-window), ``acam-mismatch`` (acam-mc with
--mc), ``acam-search`` (acam-search). Forms: see :mod:`imcspice.models.acam`."""
from __future__ import annotations

import numpy as np

from ...models.acam import AcamMismatchModel, AcamSearchModel, AcamWindowModel
from ..fit import fitter
from ..fitting.form import form_function, poly_function
from ..fitting.grid import (FitError, GridData, base_meta, collapse_axis, crop_finite,
                           fixed_params, grid_data, numeric_settings, valid_range)
from ..recipes.acam import tied_sweep
from ..fitting.holdout import heldout_error, split_grid, summarize
from ..fitting.table import fit_table_quantity, table_function

#: a bound whose spread over the OTHER conductance is below this is independent of it
INDEPENDENT_V = 0.5e-3
#: closed form accepted when its worst training error is below this (held-out target 5 mV)
FORM_TOL_V = 2.5e-3
#: reference 6T2M parameters (REFERENCE.md: Li et al. functional simulator), start values
REF_ABCD = (-0.18858, 0.16351, 0.0051834, 0.56901)

_PAIRS = (("v_lo_v", "g_low_us", "g_high_us"), ("v_hi_v", "g_high_us", "g_low_us"))


def _p0_exp_linear(x, y):
    (g,) = x
    a, b, c, d = REF_ABCD
    # linear part from the top half, exponential from the remainder at small G
    top = g >= np.median(g)
    if top.sum() >= 2 and np.ptp(g[top]) > 0:
        c, d = np.polyfit(g[top], y[top], 1)
    r = y - (c * g + d)
    a = float(r[np.argmin(g)]) or -0.1
    return [a, b, c, d]


def _settings(raw):
    return numeric_settings(raw)


def _as_g_high(gd: GridData) -> GridData:
    """A tied sweep's (``g_high_from=g_low``) upper-bound grid over g_low_us as the same
    data over g_high_us (M2 was programmed to the g_low_us value); the fixed g_high_us
    setting (a length-1 axis, unused by the cell) is dropped."""
    k = gd.names.index("g_high_us") + 1 if "g_high_us" in gd.names else None
    vals = np.take(gd.values, 0, axis=k) if k is not None else gd.values
    axes = [("g_high_us" if n == "g_low_us" else n, v) for n, v in gd.axes
            if n != "g_high_us"]
    units = {("g_high_us" if n == "g_low_us" else n): u for n, u in gd.units.items()
             if n != "g_high_us"}
    return GridData(gd.name, gd.unit, gd.corners, axes, vals, units, gd.fs)


def _grid(raw, q, **kw) -> GridData:
    gd = grid_data(raw, q, settings=_settings(raw), **kw)
    return _as_g_high(gd) if q.endswith("v_hi_v") and tied_sweep(raw) else gd


def _window_bound(raw, q, g, other, seed, average_mc):
    gd = _grid(raw, q, average_mc=average_mc)
    gd, spread = collapse_axis(gd, other, INDEPENDENT_V)
    # where a bound passes the 1.8 V supply (the upper bound of a hot sf/ff cell at high
    # conductance: no upper bound exists) the sweep holds NaN: keep the conductances where
    # every corner/temperature has one, so the model's valid range says where it exists
    gd, g_dropped = crop_finite(gd, g)
    if len(gd.axis(g)) < 6:
        raise FitError(f"{q}: sweep {g} over at least 6 values (it has {len(gd.axis(g))}) to "
                       "fit the threshold curve with held-out points")
    gd.fs = None
    masks = split_grid(gd, {g: "form"}, seed)
    note = {}
    try:
        fn, worst = form_function(
            gd, masks, "exp-linear", [g], _p0_exp_linear,
            bounds=([-10.0, 1e-5, -1.0, -5.0], [10.0, 10.0, 1.0, 5.0]),
            doc=f"{q} = a*exp(-b*G) + c*G + d, G = {g} [uS]")
        worst_v = worst / 100 * gd.full_scale
    except (FitError, ValueError) as e:
        fn, worst_v = None, float("inf")
        note["form_error"] = str(e)
    note["exp_linear_training_max_v"] = worst_v
    note["form"] = "exp-linear"
    if worst_v > FORM_TOL_V and np.all(gd.axis(g) > 0):
        # the SKY130 cell's curve is smooth in ln(G): a cubic in ln(G) per corner/temp
        pfn, pworst = poly_function(gd, masks, [g], 3, log_inputs=(g,),
                                    doc=f"{q} = cubic polynomial in ln({g})")
        pworst_v = pworst / 100 * gd.full_scale
        note["poly_ln_g_training_max_v"] = pworst_v
        if pworst_v < worst_v:
            fn, worst_v, note["form"] = pfn, pworst_v, "poly-ln-g"
    if worst_v > FORM_TOL_V:
        # lookup table: the boundary lines stay in (a table does not extrapolate)
        masks = split_grid(gd, {}, seed)
        scales = {g: "log"} if np.all(gd.axis(g) > 0) else {}
        fn, filled = table_function(gd, masks, scales=scales, refine={g: 4},
                                    doc=f"{q} over log({g}): lookup table (closed forms "
                                        f"missed by {worst_v * 1e3:.2f} mV)")
        note["form"] = "table"
    err = heldout_error(fn, gd, masks)
    err["max_abs_mv"] = err["max_abs"] * 1e3
    note[f"spread_over_{other}_v"] = spread
    if g_dropped:
        note[f"{g}_not_modeled"] = [float(x) for x in g_dropped]
    note["depends_on_" + other] = other in fn.inputs
    return fn, err, gd, note


@fitter("acam-window", recipes=("acam-window",))
def fit_acam_window(raw, *, raw_path, seed: int = 0) -> AcamWindowModel:
    recipe = raw.attrs.get("recipe")
    if recipe not in ("acam-window", "acam-mc"):
        raise FitError(f"acam-window fits acam-window sweeps, not {recipe!r}")
    mc = "mc" in raw.outer
    fns, errs, gds, notes = {}, {}, [], {}
    skipped = []
    tied = tied_sweep(raw)
    for q, g, other in _PAIRS:
        swept = "g_low_us" if tied else g
        if swept not in raw.outer or len(raw.axis(swept)) < 6:
            skipped.append(f"{q} ({g} not swept over >= 6 values)")
            continue
        fn, err, gd, note = _window_bound(raw, q, g, other, seed, mc)
        fns[q], errs[q], notes[q] = fn, err, note
        gds.append(gd)
    if not fns:
        raise FitError("acam-window: sweep g_low_us and/or g_high_us over at least 6 values "
                       "each (e.g. --set g_low_us=log:1:150:16 --set g_high_us=log:1:150:16)")
    rng, units = valid_range(gds)
    forms = []
    for q, g, _ in _PAIRS:
        if q not in fns:
            continue
        if notes[q]["form"] == "exp-linear":
            forms.append(f"{q}({g}) = a*exp(-b*G) + c*G + d (G in uS), a..d per corner/temp")
        elif notes[q]["form"] == "poly-ln-g":
            forms.append(f"{q}({g}) = cubic polynomial in ln(G) per corner/temp (the "
                         f"exp-linear form missed by "
                         f"{notes[q]['exp_linear_training_max_v'] * 1e3:.2f} mV on training "
                         "points)")
        else:
            forms.append(f"{q}({g}): lookup table over log(G), cubic-refined (exp-linear form "
                         f"missed by {notes[q]['exp_linear_training_max_v'] * 1e3:.2f} mV)")
    form = ("acam-window (6T2M): " + "; ".join(forms) +
            "; inverse target V -> G numeric on a 4096-point log grid")
    meta = base_meta(raw, raw_path, units, fits=notes, average_mc=mc,
                     defaults=_temp_default(rng), not_modeled=skipped)
    return AcamWindowModel(fns, valid_range=rng, heldout_error=summarize(errs, seed), form=form,
                           meta=meta)


@fitter("acam-mismatch", recipes=("acam-mc",))
def fit_acam_mismatch(raw, *, raw_path, seed: int = 0) -> AcamMismatchModel:
    recipe = raw.attrs.get("recipe")
    if recipe not in ("acam-mc", "acam-window"):
        raise FitError(f"acam-mismatch fits acam-mc sweeps, not {recipe!r}")
    if "mc" not in raw.outer:
        raise FitError("acam-mismatch needs a Monte-Carlo sweep (imcspice sweep acam-mc --mc N)")
    n_mc = len(raw.axis("mc"))
    if n_mc < 4:
        raise FitError(f"acam-mismatch: {n_mc} MC samples are too few for a sigma (use >= 4)")
    fns, errs, gds, notes = {}, {}, [], {}
    for q, g, other in _PAIRS:
        for name, red in (("sigma_" + q, "std"), ("mean_" + q, "mean")):
            gd = _grid(raw, q, mc_reduce=red)
            gd.name = name
            gd, _ = collapse_axis(gd, other, INDEPENDENT_V if name.startswith("mean")
                                  else 1e-3)
            if name.startswith("sigma"):
                gd.fs = float(np.nanmax(np.abs(gd.values)))   # FS of a sigma: its largest value
                fn, err, notes[name] = _sigma_function(gd, g, q, n_mc, seed)
                err["max_abs_mv"] = err["max_abs"] * 1e3
            else:
                fn, err = fit_table_quantity(gd, seed, transform="linear",
                                             doc=f"MC mean of {q}")
            fns[name], errs[name] = fn, err
            gds.append(gd)
    rng, units = valid_range(gds)
    how = {"table": "table of log(sigma) over ln(G)"}
    sig_forms = "; ".join(f"{k}: {how.get(n['form'], n['form'] + ' in G (too few G to hold out)')}"
                          for k, n in notes.items())
    form = (f"acam-mismatch: sigma_v_lo_v(g_low_us), sigma_v_hi_v(g_high_us) = sample std over "
            f"{n_mc} MC samples per corner/temp ({sig_forms}; the estimate's own sampling "
            f"error is ~{100 / np.sqrt(2 * (n_mc - 1)):.0f}% of sigma); mean bounds as "
            "lookup tables")
    meta = base_meta(raw, raw_path, units, fits=notes, average_mc=True,
                     defaults=_temp_default(rng))
    return AcamMismatchModel(fns, valid_range=rng, heldout_error=summarize(errs, seed),
                             form=form, meta=meta)


def _sigma_function(gd, g, q, n_mc, seed):
    """Threshold mismatch sigma vs. its conductance: a table of log(sample std) over ln(G),
    cubic-refined. Returns (function, held-out error, notes). sigma grows steeply where the threshold curve steepens toward the supply, which the
    power-law forms tried (sqrt(s0^2 + (s1 G^c)^2)) miss by ~10 % when extrapolating to
    the top conductance; the table interpolates instead (its boundary lines stay in)."""
    note = {"mc_samples": n_mc,
            # relative standard error of a sample std over n samples (normal data)
            "sampling_rel_error": 1 / np.sqrt(2 * (n_mc - 1))}
    n_g = len(gd.axis(g))
    if n_g < 4:
        # too few conductances to hold any out: the polynomial through the sigmas
        masks = split_grid(gd, {}, seed)
        fn, _ = poly_function(gd, masks, [g], n_g - 1,
                              doc=f"MC standard deviation of {q} over {n_mc} samples, "
                                  f"degree-{n_g - 1} polynomial through {n_g} conductances")
        note["form"] = f"poly-{n_g - 1}"
        return fn, heldout_error(fn, gd, masks), note
    # log(sigma) over ln(G), cubic: sigma is positive and rises roughly as a power of G;
    # chosen from that shape (over 5 hold-out seeds: <= 0.7 % of the largest sigma, the
    # linear-value table up to 1.8 %), not by the noisier inner hold-out
    fn, err = fit_table_quantity(gd, seed, transform="log", method="cubic",
                                 doc=f"MC standard deviation of {q} over {n_mc} samples: "
                                     f"table of log(sigma) over ln({g})")
    note["form"] = "table"
    return fn, err, note


DV_MIN = 1e-6
#: discharge time: interpolate log(t) in ln(N), ln(dv) (near power laws there: the match
#: line's charge grows with N, the pull-down's current steeply with dv), whatever the
#: grid's spacing
_SEARCH_SCALES = {"n_cells": "log", "dv_v": "log"}
#: search energies: linear in N, values as they are. A search cycle's energy is a sum of
#: per-cell terms (the dividers' static current over the gated source-line window, each
#: cell's inverter, its share of the match line to recharge, its width of the source-line
#: switch's gate) and fixed periphery (comparator, precharge and footer gates), so it is
#: affine in N: measured on ss/27 C, 4-12 cells, 75.0, 74.1, 73.4 fJ per added cell. A
#: table linear in N is exact on an affine quantity; log(E) over ln(N) (version 2 of this
#: fit) bends it (0.5 % FS at the held-out 8-cell line from the 6- and 12-cell lines).
#: dv_v stays logarithmic (the grid is geometric, the dependence steepest at the edge).
_ENERGY_SCALES = {"n_cells": "linear", "dv_v": "log"}


@fitter("acam-search", recipes=("acam-search",))
def fit_acam_search(raw, *, raw_path, seed: int = 0) -> AcamSearchModel:
    if raw.attrs.get("recipe") != "acam-search":
        raise FitError(f"acam-search fits acam-search sweeps, not {raw.attrs.get('recipe')!r}")
    # the fixed settings stay in the meta, not as length-1 axes: acam-search v2 has ~35
    # numeric parameters, past numpy's 32 array dimensions
    settings = ()
    fns, errs, gds, cropped = {}, {}, [], {}
    # v_margin_v is not modeled: near the window edge the sense margin is a nearly
    # step-like function of dv_v, which a table over a practical dv grid misses by >10 %
    for q, transform, scales in (("t_discharge_s", "log", _SEARCH_SCALES),
                                 ("e_search_j", "linear", _ENERGY_SCALES)):
        gd = grid_data(raw, q, settings=settings)
        dv = gd.axis("dv_v")
        keep = np.flatnonzero(dv > DV_MIN)
        if len(keep) < 1:
            raise FitError("acam-search: the sweep has no dv_v > 0 (mismatching) points")
        gd = gd.take("dv_v", keep)
        gd, dropped = crop_finite(gd, "dv_v")
        if dropped:
            cropped[q] = dropped
        # monotone cubic along dv: both change monotonically with the mismatch, steeply
        # near the window edge, where a free cubic overshoots between dv lines
        fn, err = fit_table_quantity(gd, seed, transform=transform, scales=scales,
                                     method="pchip",
                                     doc=f"{q} for a test cell dv_v > 0 outside its window")
        fns[q], errs[q] = fn, err
        gds.append(gd)
    gd = grid_data(raw, "e_search_match_j", settings=settings)
    gd, _ = collapse_axis(gd, "dv_v", 1e-3 * float(np.nanmax(np.abs(gd.values))))
    fn, err = fit_table_quantity(gd, seed, transform="linear", scales=_ENERGY_SCALES,
                                 method="pchip", doc="search energy with every cell matching")
    fns["e_search_match_j"], errs["e_search_match_j"] = fn, err
    gds.append(gd)
    rng, units = valid_range(gds)
    form = ("acam-search: t_discharge_s, e_search_j over dv_v > 0 (mismatch) and the swept "
            "settings (n_cells: row length), e_search_match_j over the settings: lookup "
            "tables, multilinear interpolation, monotone-cubic refined along dv_v; "
            "t_discharge_s as log(value) over ln(n_cells), ln(dv_v); the energies as values "
            "linear in n_cells (affine: per-cell terms + fixed periphery) over ln(dv_v)")
    meta = base_meta(raw, raw_path, units, edge=_fixed(raw, "edge"), dv_v_not_modeled=cropped,
                     defaults=_temp_default(rng),
                     fixed_settings={k: v for k, v in fixed_params(raw).items()
                                     if k in _settings(raw) and k not in raw.axes})
    return AcamSearchModel(fns, valid_range=rng, heldout_error=summarize(errs, seed), form=form,
                           meta=meta)


def _fixed(raw, name):
    return fixed_params(raw).get(name)


def _temp_default(rng):
    return {"temp_c": 27.0} if rng["temp_c"][0] <= 27 <= rng["temp_c"][1] else {}
