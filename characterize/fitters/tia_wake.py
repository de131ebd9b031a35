"""Fitting ``tia-wake`` sweeps into model kind ``tia-wake`` (:mod:`imcspice.models.tia_wake`):
one lookup table per quantity over the swept settings."""
from __future__ import annotations

import numpy as np

from ...models.tia_wake import TiaWakeModel
from ..fit import fitter
from ..fitting.grid import FitError, base_meta, grid_data, numeric_settings, valid_range
from ..fitting.holdout import summarize
from ..fitting.table import fit_table_quantity

#: signed or near zero: linear tables; every other output is positive: log tables
_LINEAR = ("v_out_v",)


@fitter("tia-wake", recipes=("tia-wake",))
def fit_tia_wake(raw, *, raw_path, seed: int = 0) -> TiaWakeModel:
    if raw.attrs.get("recipe", "") != "tia-wake":
        raise FitError(f"tia-wake fits tia-wake sweeps, not {raw.attrs.get('recipe')!r}")
    settings = numeric_settings(raw)
    fns, errs, gds = {}, {}, []
    for q in raw.data:
        gd = grid_data(raw, q, settings=settings)
        if not np.all(np.isfinite(gd.values)):
            raise FitError(f"tia-wake: {q} has {int(np.sum(~np.isfinite(gd.values)))} failed "
                           "points; check the sweep")
        log = q not in _LINEAR and np.min(gd.values) > 0
        fns[q], errs[q] = fit_table_quantity(gd, seed, transform="log" if log else "linear",
                                             doc=raw.docs.get(q, ""))
        gds.append(gd)
    rng, units = valid_range(gds)
    swept = [n for n in next(iter(fns.values())).inputs if rng[n][0] != rng[n][1]]
    form = (f"tia-wake: lookup table per quantity over ({', '.join(swept) or 'no swept setting'})"
            ", log(value) but v_out_v; multilinear interpolation per corner")
    scalars = [q for q, e in errs.items() if not e.get("n_heldout")]
    notes = (f"not held out (no axis of >= 4 values to split): {', '.join(scalars)}"
             if scalars else "")
    meta = base_meta(raw, raw_path, units,
                     defaults={"temp_c": 27.0} if rng["temp_c"][0] <= 27 <= rng["temp_c"][1]
                     else {})
    return TiaWakeModel(fns, valid_range=rng, heldout_error=summarize(errs, seed, notes=notes),
                        form=form, meta=meta)
