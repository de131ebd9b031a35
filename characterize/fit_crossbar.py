"""Fitting crossbar sweeps: ``crossbar-column`` (recipe crossbar-column).

Each output is first fitted with a closed form of the distributed bit-line ladder (forms
``crossbar-ir-drop``, ``crossbar-column-current``, ``crossbar-load-quadratic``; see
:mod:`imcspice.models.crossbar`), its three to six parameters per corner and temperature,
on the form axes rows, r_bl_ohm, frac_on, g_on_us, g_off_us (v_read_v) held out as true
edges + random interior lines. The form is kept when its worst training error is within
``FORM_TOL_PCT`` of full scale; otherwise the output falls back to a lookup table
(:func:`fit_table_quantity`, near-edge + interior lines held out).
"""
from __future__ import annotations

import numpy as np

from ..models.crossbar import CrossbarColumnModel
from ..models.forms import get_form
from .fit import (DEFAULT_TOL_PCT, FitError, GridData, base_meta, fit_table_quantity,
                  fixed_params, form_function, grid_data, heldout_error, numeric_settings,
                  split_grid, summarize, valid_range)

RECIPE_KIND = {"crossbar-column": "crossbar-column"}
FITTERS = {"crossbar-column": "fit_crossbar:fit_crossbar_column"}

QUANTITIES = ("i_out_a", "v_out_v", "ir_drop_rel", "e_read_j", "t_settle_s")

#: a closed form is kept when its worst TRAINING error is within this (% of full scale)
FORM_TOL_PCT = DEFAULT_TOL_PCT

#: inputs every crossbar form takes (the column's load), in the forms' order
LOAD_INPUTS = ["rows", "r_bl_ohm", "frac_on", "g_on_us", "g_off_us"]

#: (form, extra inputs after LOAD_INPUTS) per quantity
FORM_OF = {
    "ir_drop_rel": ("crossbar-ir-drop", []),
    "i_out_a": ("crossbar-column-current", ["v_read_v"]),
    "v_out_v": ("crossbar-column-current", ["v_read_v"]),
    "e_read_j": ("crossbar-load-quadratic", []),
    "t_settle_s": ("crossbar-load-quadratic", []),
}

# Ladder-ratio parameters (a, b, c): a ~ 0.9 (access transistor in series with the cell),
# b ~ 0.9 (effective / nominal cell conductance), c ~ 0 (non-linearity); the bounds only
# keep the optimizer in the physical region.
RATIO_P0 = [0.92, 0.9, 0.0]
RATIO_LO = [0.05, 0.01, -3.0]
RATIO_HI = [2.0, 20.0, 3.0]


def _extra(q: str, fixed: dict) -> dict:
    """Fixed arrays of the current form: the cell law (v0_v; 0 = linear) and the output
    per ampere (1 for i_out_a, -r_f * A0 / (1 + A0) for the inverting TIA's v_out_v)."""
    if FORM_OF[q][0] != "crossbar-column-current":
        return {}
    v0 = float(fixed.get("v0_v", 0.5)) if fixed.get("device") == "1t1r" else 0.0
    scale = 1.0
    if q == "v_out_v":
        a0 = float(fixed.get("a0_v_per_v", 1e5))
        scale = -float(fixed.get("r_f_ohm", 2e3)) * a0 / (1.0 + a0)
    return {"v0_v": np.array([v0]), "scale": np.array([scale])}


def _p0(q: str, extra: dict, ratio0: list[float]):
    form = get_form(FORM_OF[q][0])
    if form.name != "crossbar-load-quadratic":
        return lambda x, y: list(ratio0)

    def p0(x, y):
        # d0..d2 by linear least squares at the starting ladder ratio
        gc = form.func(x, np.array(list(ratio0) + [0.0, 1.0, 0.0]), extra)
        a = np.stack([np.ones_like(gc), gc, gc * gc], axis=1)
        d, *_ = np.linalg.lstsq(a, y, rcond=None)
        return list(ratio0) + list(d)
    return p0


def _bounds(q: str):
    if FORM_OF[q][0] == "crossbar-load-quadratic":
        return (RATIO_LO + [-np.inf] * 3, RATIO_HI + [np.inf] * 3)
    return (RATIO_LO, RATIO_HI)


def fit_quantity(gd: GridData, q: str, fixed: dict, seed: int,
                 ratio0: list[float] | None = None, doc: str = ""):
    """Closed form of ``q`` if its training error is within FORM_TOL_PCT, else a table.
    Returns (function, held-out error dict)."""
    form, more = FORM_OF[q]
    inputs = LOAD_INPUTS + more
    note: dict = {"form_tried": form}
    if all(n in gd.names for n in inputs):
        masks = split_grid(gd, {n: "form" for n in inputs}, seed)
        extra = _extra(q, fixed)
        try:
            fn, worst = form_function(gd, masks, form, inputs, _p0(q, extra, ratio0 or RATIO_P0),
                                      bounds=_bounds(q), extra=extra,
                                      doc=f"{doc} [{get_form(form).text}]".strip())
        except (FitError, ValueError) as e:
            fn, worst = None, float("inf")
            note["form_error"] = str(e)
        note["form_training_max_pct_fs"] = worst
        if fn is not None and worst <= FORM_TOL_PCT:
            err = heldout_error(fn, gd, masks)
            err.update(note, model="closed form " + form)
            return fn, err
    else:
        note["form_error"] = f"the sweep lacks form inputs {sorted(set(inputs) - set(gd.names))}"
    fn, err = fit_table_quantity(gd, seed, doc=f"{doc} [lookup table: closed form {form} "
                                 f"missed the {FORM_TOL_PCT:g} % FS training tolerance]".strip())
    err.update(note, model="lookup table")
    return fn, err


def fit_crossbar_column(raw, *, raw_path, seed: int = 0) -> CrossbarColumnModel:
    if raw.attrs.get("recipe") != "crossbar-column":
        raise FitError(f"crossbar-column fits crossbar-column sweeps, not "
                       f"{raw.attrs.get('recipe')!r}")
    settings = numeric_settings(raw)
    fixed = fixed_params(raw)
    fns, errs, gds, skipped = {}, {}, [], []
    ratio0 = list(RATIO_P0)
    # ir_drop_rel first: its ladder parameters start the other forms' fits
    for q in sorted(QUANTITIES, key=lambda n: n != "ir_drop_rel"):
        if q not in raw.data:
            skipped.append(q)
            continue
        gd = grid_data(raw, q, settings=settings)
        if not np.isfinite(gd.values).any():
            skipped.append(q)
            continue
        if q == "v_out_v":
            gd.fs = float(np.nanmax(np.abs(gd.values)))  # signed output: scale is its size
        fn, err = fit_quantity(gd, q, fixed, seed, ratio0, doc=raw.docs.get(q, ""))
        if q == "ir_drop_rel" and fn.form == "crossbar-ir-drop":
            ratio0 = [float(v) for v in np.median(fn.values.reshape(-1, 3), axis=0)]
        fns[q], errs[q] = fn, err
        gds.append(gd)
    if not fns:
        raise FitError("crossbar-column: no quantity with successful points")
    fns = {q: fns[q] for q in QUANTITIES if q in fns}
    errs = {q: errs[q] for q in QUANTITIES if q in errs}
    rng, units = valid_range(gds)
    swept = [n for n in raw.outer if n not in ("corner", "temp_c") and len(raw.axis(n)) > 1]
    closed = [q for q, f in fns.items() if f.form != "table"]
    tables = [q for q, f in fns.items() if f.form == "table"]
    form = "crossbar-column: "
    if closed:
        form += (", ".join(closed) + " by the distributed bit-line ladder: a column of rows "
                 "cells of mean conductance g = frac_on*g_on + (1-frac_on)*g_off, r_bl per "
                 "segment, carries a*T*(1 + c*(1-T)) of its wire-free current, T = "
                 "tanh(sqrt(b*u))/sqrt(b*u), u = r_bl*g*(rows+1)*(rows+1/2) (read energy and settling "
                 "time quadratic in the column conductance rows*g*a*T*(1+c*(1-T))); "
                 "a, b, c, d per corner and temperature")
    if tables:
        form += ("; " if closed else "") + (", ".join(tables) + " as lookup tables over the "
                                            "swept settings (" + (", ".join(swept) or "none")
                                            + "), tensor-cubic refined, multilinear "
                                            "interpolation")
    form += (f"; ideal current by the recipe's device law ({fixed.get('device', '?')}: "
             + ("G*V" if fixed.get("device") == "linear" else "G*v0*sinh(V/v0)") + ")")
    meta = base_meta(raw, raw_path, units, device=fixed.get("device", ""),
                     v0_v=fixed.get("v0_v"), not_modeled=skipped,
                     outputs_form={q: ("table" if f.form == "table" else f.form)
                                   for q, f in fns.items()},
                     defaults={"temp_c": 27.0} if rng["temp_c"][0] <= 27 <= rng["temp_c"][1]
                     else {})
    return CrossbarColumnModel(fns, valid_range=rng, heldout_error=summarize(errs, seed),
                               form=form, meta=meta)
