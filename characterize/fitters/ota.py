"""Fitting OTA sweeps (recipe ``ota``) into model kind ``ota`` (:mod:`imcspice.models.ota`):
one lookup table per quantity over the swept settings."""
from __future__ import annotations

import numpy as np

from ...models.ota import OtaModel
from ..fit import fitter
from ..fitting.grid import FitError, base_meta, grid_data, numeric_settings, table_box
from ..fitting.holdout import summarize
from ..fitting.table import fit_table_quantity


#: positive over decades (power laws in the bias current and capacitances): log tables;
#: the rest (gain in dB, phase, swing levels) linear
_LOG = ("gbw_hz", "sr_rise_v_per_s", "sr_fall_v_per_s", "p_supply_w",
        "vn_floor_v_per_rthz", "vn_1khz_v_per_rthz", "gm1_s", "gm3_s", "gm6_s", "gds2_s",
        "gds4_s", "gds6_s", "gds7_s", "i5_a", "i7_a")


@fitter("ota", recipes=('ota',))
def fit_ota(raw, *, raw_path, seed: int = 0) -> OtaModel:
    if raw.attrs.get("recipe", "") != "ota":
        raise FitError(f"no OTA model kind for recipe {raw.attrs.get('recipe')!r}")
    settings = numeric_settings(raw)
    fns, errs, gds, skipped = {}, {}, [], []
    for q in raw.data:
        gd = grid_data(raw, q, settings=settings)
        if not np.isfinite(gd.values).any():
            skipped.append(f"{q} (no successful points)")
            continue
        transform = "log" if q in _LOG and np.nanmin(gd.values) > 0 else "linear"
        fns[q], errs[q] = fit_table_quantity(gd, seed, transform=transform,
                                             doc=raw.docs.get(q, ""))
        gds.append(gd)
    if not fns:
        raise FitError(f"ota: no quantity could be fitted ({'; '.join(skipped)})")
    rng, units, swept, notes = table_box(fns, errs, gds)
    form = (f"ota: lookup table per quantity over ({', '.join(swept) or 'no swept setting'}),"
            " log(value) for GBW, slew, power, noise and the operating point, linear for "
            "gain (dB), phase margin and swing; multilinear interpolation per corner")
    meta = base_meta(raw, raw_path, units, not_modeled=skipped,
                     defaults={"temp_c": 27.0} if rng["temp_c"][0] <= 27 <= rng["temp_c"][1]
                     else {})
    return OtaModel(fns, valid_range=rng, heldout_error=summarize(errs, seed, notes=notes),
                    form=form, meta=meta)
