"""Fitting ``tia-wake`` and ``integrator-wake`` sweeps into the model kinds of those
names (:mod:`imcspice.models.wake`): one lookup table per quantity over the swept
settings."""
from __future__ import annotations

import numpy as np

from ...models.wake import IntegratorWakeModel, TiaWakeModel, WakeModel
from ..fit import fitter
from ..fitting.grid import FitError, base_meta, grid_data, numeric_settings, table_box
from ..fitting.holdout import summarize
from ..fitting.table import fit_table_quantity

#: output levels: linear tables (every other output is positive: log tables), their
#: error a fraction of the level itself: the read's output holds to ~0.1 mV over a sweep
#: (the integrator's 0.851 V within 0.08 mV), and the bias generator's power is its
#: reference current times VDD (72.000 uW within 2 nW over the TIA sweep), so max - min
#: would make a microvolt or a nanowatt a few % of "full scale"
_LEVELS = ("v_out_v", "p_bias_w")
#: the bench's own diagnostics, not a priced quantity: how far the shared bias line is
#: from rest at the read (recipe wake, ``n_share``; docs/devices.md "The shared bias line")
_BENCH_ONLY = ("dv_bias_v", "dv_bias_max_v")


@fitter("tia-wake", recipes=("tia-wake",))
def fit_tia_wake(raw, *, raw_path, seed: int = 0) -> WakeModel:
    return fit_tables(raw, raw_path, seed, TiaWakeModel)


@fitter("integrator-wake", recipes=("integrator-wake",))
def fit_integrator_wake(raw, *, raw_path, seed: int = 0) -> WakeModel:
    return fit_tables(raw, raw_path, seed, IntegratorWakeModel)


def fit_tables(raw, raw_path, seed: int, cls, absent_ok: tuple[str, ...] = ()):
    """A model of kind ``cls.kind`` from a sweep of the recipe of that name: one lookup
    table per quantity, log(value) for the positive ones, linear for the levels.
    ``absent_ok``: quantities the recipe reports as NaN where they do not exist (a part
    the bench does not have), left out of the model when no point has them."""
    recipe = raw.attrs.get("recipe", "")
    if recipe != cls.kind:
        raise FitError(f"{cls.kind} fits {cls.kind} sweeps, not {recipe!r}")
    settings = numeric_settings(raw)
    fns, errs, gds = {}, {}, []
    for q in raw.data:
        if q in _BENCH_ONLY:
            continue
        gd = grid_data(raw, q, settings=settings)
        if q in absent_ok and not np.any(np.isfinite(gd.values)):
            continue
        if q in _LEVELS:
            gd.fs = float(np.max(np.abs(gd.values)))
        if not np.all(np.isfinite(gd.values)):
            raise FitError(f"{recipe}: {q} has {int(np.sum(~np.isfinite(gd.values)))} failed "
                           "points; check the sweep")
        log = q not in _LEVELS and np.min(gd.values) > 0
        fns[q], errs[q] = fit_table_quantity(gd, seed, transform="log" if log else "linear",
                                             doc=raw.docs.get(q, ""))
        gds.append(gd)
    rng, units, swept, notes = table_box(fns, errs, gds)
    levels = [q for q in raw.data if q in _LEVELS]
    form = (f"{recipe}: lookup table per quantity over ({', '.join(swept) or 'no swept setting'})"
            ", log(value)" + (f" but the levels {', '.join(levels)}" if levels else "") +
            "; multilinear interpolation per corner")
    meta = base_meta(raw, raw_path, units,
                     defaults={"temp_c": 27.0} if rng["temp_c"][0] <= 27 <= rng["temp_c"][1]
                     else {})
    return cls(fns, valid_range=rng, heldout_error=summarize(errs, seed, notes=notes),
               form=form, meta=meta)
