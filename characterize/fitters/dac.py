"""Fitting DAC sweeps: ``dac`` (recipe dac, the bit-serial word-line driver) and
``dac-multilevel`` (recipe dac-multilevel, the resistor string). Forms: lookup tables of
log(value) over the swept axes in log(n_cells) and log(voltage),
spline-refined, held-out lines checked (characterize/fitting/table.py)."""
from __future__ import annotations

import numpy as np

from ...models.dac import DacModel, DacMultilevelModel
from ..fit import fitter
from ..fitting.grid import FitError, base_meta, grid_data, numeric_settings, valid_range
from ..fitting.holdout import summarize
from ..fitting.table import fit_table_quantity


_DRIVER = ("e_drive_j", "e_rail_j", "e_vdd_j", "t_settle_s")
_MULTI = ("e_conv_j", "t_settle_s", "p_static_w")
#: interpolate in log of the row length and of the voltages: the energies are
#: ~ (a + b·n)·V^2, so log(E) is linear in log(V) and smooth in log(n)
_SCALES = {"n_cells": "log", "v_wl_v": "log", "v_ref_v": "log", "vdd_v": "log"}


def fit_tables(raw, raw_path, recipe: str, quantities, seed: int, **meta):
    """(functions, held-out summary, valid range, meta) of log-value tables of
    ``quantities`` over the sweep's axes and numeric settings."""
    if raw.attrs.get("recipe") != recipe:
        raise FitError(f"{recipe} fits {recipe} sweeps, not {raw.attrs.get('recipe')!r}")
    settings = numeric_settings(raw)
    fns, errs, gds = {}, {}, []
    for q in quantities:
        gd = grid_data(raw, q, settings=settings)
        if not np.all(np.isfinite(gd.values)) or np.any(gd.values <= 0):
            raise FitError(f"{recipe}: {q} has non-finite or non-positive points "
                           f"({int(np.sum(~np.isfinite(gd.values)))} non-finite); widen "
                           "t_bit_s / t_conv_s or drop those points")
        fn, err = fit_table_quantity(gd, seed, transform="log", scales=_SCALES,
                                     doc=f"{recipe}: {q}")
        fns[q], errs[q] = fn, err
        gds.append(gd)
    rng, units = valid_range(gds)
    return fns, summarize(errs, seed), rng, base_meta(raw, raw_path, units, **meta)


@fitter("dac", recipes=("dac",))
def fit_dac(raw, *, raw_path, seed: int = 0) -> DacModel:
    fns, err, rng, meta = fit_tables(raw, raw_path, "dac", _DRIVER, seed)
    form = ("dac (bit-serial word-line driver, SKY130): e_drive_j, e_rail_j, e_vdd_j, "
            "t_settle_s as lookup tables of log(value) over n_cells (log axis) and the swept "
            "settings, spline-refined")
    return DacModel(fns, valid_range=rng, heldout_error=err, form=form, meta=meta)


@fitter("dac-multilevel", recipes=("dac-multilevel",))
def fit_dac_multilevel(raw, *, raw_path, seed: int = 0) -> DacMultilevelModel:
    lin = {q: float(np.nanmax(raw.data[q])) for q in ("inl_max_lsb", "dnl_max_lsb")}
    fns, err, rng, meta = fit_tables(raw, raw_path, "dac-multilevel", _MULTI, seed,
                                     worst_linearity_lsb=lin)
    form = ("dac-multilevel (resistor string, SKY130 switches): e_conv_j, t_settle_s, "
            "p_static_w as lookup tables of log(value) over the swept axes; the worst "
            "INL/DNL of the sweep in meta.worst_linearity_lsb")
    return DacMultilevelModel(fns, valid_range=rng, heldout_error=err, form=form, meta=meta)
