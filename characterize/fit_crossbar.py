"""Fitting crossbar sweeps: ``crossbar-column`` (recipe crossbar-column).
Forms: see :mod:`imcspice.models.crossbar`."""
from __future__ import annotations

import numpy as np

from ..models.crossbar import CrossbarColumnModel
from .fit import (FitError, base_meta, fit_table_quantity, fixed_params, grid_data,
                  numeric_settings, summarize, valid_range)

RECIPE_KIND = {"crossbar-column": "crossbar-column"}
FITTERS = {"crossbar-column": "fit_crossbar:fit_crossbar_column"}

QUANTITIES = ("i_out_a", "v_out_v", "ir_drop_rel", "e_read_j", "t_settle_s")


def fit_crossbar_column(raw, *, raw_path, seed: int = 0) -> CrossbarColumnModel:
    if raw.attrs.get("recipe") != "crossbar-column":
        raise FitError(f"crossbar-column fits crossbar-column sweeps, not "
                       f"{raw.attrs.get('recipe')!r}")
    settings = numeric_settings(raw)
    fns, errs, gds, skipped = {}, {}, [], []
    for q in QUANTITIES:
        if q not in raw.data:
            skipped.append(q)
            continue
        gd = grid_data(raw, q, settings=settings)
        if not np.isfinite(gd.values).any():
            skipped.append(q)
            continue
        if q == "v_out_v":
            gd.fs = float(np.nanmax(np.abs(gd.values)))  # signed output: scale is its size
        fn, err = fit_table_quantity(gd, seed, doc=raw.docs.get(q, ""))
        fns[q], errs[q] = fn, err
        gds.append(gd)
    if not fns:
        raise FitError("crossbar-column: no quantity with successful points")
    rng, units = valid_range(gds)
    fixed = fixed_params(raw)
    swept = [n for n in raw.outer if n not in ("corner", "temp_c") and len(raw.axis(n)) > 1]
    form = ("crossbar-column: " + ", ".join(fns) + " as lookup tables over the swept settings ("
            + (", ".join(swept) or "none") + "; log axes where geometric, log values where "
            "positive over decades), tensor-cubic refined, multilinear interpolation; "
            f"ideal current by the recipe's device law ({fixed.get('device', '?')}: "
            + ("G*V" if fixed.get("device") == "linear" else "G*v0*sinh(V/v0)") + ")")
    meta = base_meta(raw, raw_path, units, device=fixed.get("device", ""),
                     v0_v=fixed.get("v0_v"), not_modeled=skipped,
                     defaults={"temp_c": 27.0} if rng["temp_c"][0] <= 27 <= rng["temp_c"][1]
                     else {})
    return CrossbarColumnModel(fns, valid_range=rng, heldout_error=summarize(errs, seed),
                               form=form, meta=meta)
