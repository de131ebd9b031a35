"""Fitting the ``comparator`` model kind from a ``comparator`` sweep (see
:mod:`imcspice.models.comparator` for the forms)."""
from __future__ import annotations

import numpy as np

from ...models.comparator import ComparatorModel
from ..fit import fitter
from ..fitting.grid import FitError, base_meta, grid_data, numeric_settings, valid_range
from ..fitting.holdout import summarize
from ..fitting.table import fit_table_quantity


#: fewest Monte-Carlo samples a sigma is fitted from (relative sampling error ~24 % at 10)
MIN_MC = 4
#: overdrive and energy/delay span decades: interpolate over log(v_od_v)
_SCALES = {"v_od_v": "log"}


@fitter("comparator", recipes=('comparator',))
def fit_comparator(raw, *, raw_path, seed: int = 0) -> ComparatorModel:
    if raw.attrs.get("recipe") != "comparator":
        raise FitError(f"comparator fits comparator sweeps, not {raw.attrs.get('recipe')!r}")
    settings = numeric_settings(raw)
    mc = "mc" in raw.outer
    fns, errs, gds, notes = {}, {}, [], {}
    for q, doc in (("e_decision_j", "energy per decision (supply + clock)"),
                   ("t_decision_s", "decision delay, clock 50 % to output at VDD/2")):
        gd = grid_data(raw, q, settings=settings, average_mc=mc)
        if not np.all(np.isfinite(gd.values)):
            raise FitError(f"comparator: {q} has failed or unresolved points "
                           f"({int(np.sum(~np.isfinite(gd.values)))}); widen t_clk_s or check "
                           "the sweep")
        fn, err = fit_table_quantity(gd, seed, transform="log", scales=_SCALES,
                                     doc=doc + (" (MC mean)" if mc else ""))
        fns[q], errs[q] = fn, err
        gds.append(gd)
    n_mc = len(raw.axis("mc")) if mc else 0
    if n_mc >= MIN_MC:
        gd = grid_data(raw, "v_offset_v", settings=settings, mc_reduce="std")
        gd.name, gd.fs = "offset_sigma_v", float(np.nanmax(np.abs(gd.values)))
        fn, err = fit_table_quantity(gd, seed, transform="linear",
                                     doc=f"input-referred offset sigma: sample std of the trip "
                                         f"point over {n_mc} MC samples")
        fns["offset_sigma_v"], errs["offset_sigma_v"] = fn, err
        gds.append(gd)
        notes["offset_sigma_v"] = {"mc_samples": n_mc,
                                   "sampling_rel_error": 1 / np.sqrt(2 * (n_mc - 1))}
    else:
        notes["offset_sigma_v"] = {"not_modeled": f"sweep has {n_mc} MC samples "
                                                  f"(needs --mc >= {MIN_MC})"}
    rng, units = valid_range(gds)
    form = ("comparator (StrongARM, SKY130): e_decision_j, t_decision_s over v_od_v (log) and "
            "the swept settings: lookup tables of log(value), spline-refined"
            + (f", MC means over {n_mc} samples; offset_sigma_v: table of the sample std of "
               f"the trip point (~{100 / np.sqrt(2 * (n_mc - 1)):.0f} % sampling error)"
               if n_mc >= MIN_MC else "; no offset sigma (nominal sweep)"))
    meta = base_meta(raw, raw_path, units, fits=notes, average_mc=mc, mc_samples=n_mc,
                     defaults={"temp_c": 27.0} if rng["temp_c"][0] <= 27 <= rng["temp_c"][1]
                     else {})
    return ComparatorModel(fns, valid_range=rng, heldout_error=summarize(errs, seed),
                           form=form, meta=meta)
