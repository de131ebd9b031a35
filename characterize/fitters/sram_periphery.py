"""Fitting ``sram-periphery`` sweeps (row decoder + data-bus bit, recipe
``sram-periphery``) into the ``sram-periphery`` model kind: lookup tables of log(value)
over log(rows), log(bus_mm) and the swept settings, held-out lines checked
(characterize/fitting/table.py), full scale max |value|. A sweep with a failed
decode or bus swing (``decode_ok``/``bus_ok`` 0 at some point) is refused.

The shipped sweep holds rows at 256 (characterize/defaults.py: the decoder energy is a
staircase in the address width, not interpolable over rows), so only the bus outputs
have held-out lines that test anything (along bus_mm); the decoder outputs are the
256-row measurement itself."""
from __future__ import annotations

import dataclasses

import numpy as np

from ...models.sram_periphery import SramPeripheryModel
from ..fit import fitter
from ..fitting.grid import FitError, base_meta, grid_data, numeric_settings, valid_range
from ..fitting.holdout import summarize
from ..fitting.table import fit_table_quantity

_QUANTITIES = ("e_decode_j", "e_wl_j", "e_bus_cycle_j", "t_decode_s", "t_bus_s")
_SCALES = {"rows": "log", "bus_mm": "log", "vdd_v": "log"}


@fitter("sram-periphery", recipes=("sram-periphery",))
def fit_sram_periphery(raw, *, raw_path, seed: int = 0) -> SramPeripheryModel:
    if raw.attrs.get("recipe") != "sram-periphery":
        raise FitError(f"sram-periphery fits sram-periphery sweeps, not "
                       f"{raw.attrs.get('recipe')!r}")
    for q in ("decode_ok", "bus_ok"):
        v = np.asarray(raw.data[q], dtype=float)
        if not np.all(v == 1):
            raise FitError(f"sram-periphery: {q} is not 1 at {int(np.sum(v != 1))} points "
                           "(a word line or the bus did not swing); fix sizing/timing")
    settings = numeric_settings(raw)
    fns, errs, gds = {}, {}, []
    for q in _QUANTITIES:
        # full scale = max |value|: the decoder's outputs do not vary along bus_mm (nor
        # the bus's along rows), so max - min would be the integration noise
        gd = grid_data(raw, q, settings=settings)
        gd = dataclasses.replace(gd, fs=float(np.nanmax(np.abs(gd.values))))
        if not np.all(np.isfinite(gd.values)) or np.any(gd.values <= 0):
            raise FitError(f"sram-periphery: {q} has non-finite or non-positive points")
        fns[q], errs[q] = fit_table_quantity(gd, seed, transform="log", scales=_SCALES,
                                             doc=f"sram-periphery: {q}")
        gds.append(gd)
    rng, units = valid_range(gds)
    form = ("sram-periphery (SKY130 predecoded NAND row decoder, enable-pulsed; one data-bus "
            "bit on distributed met3 with neighbour coupling): e_decode_j, e_wl_j, "
            "e_bus_cycle_j, t_decode_s, t_bus_s as lookup tables of log(value) over rows, "
            "bus_mm (log axes) and the swept settings, spline-refined; a B-bit access adds "
            "e_decode_j + B/4 x e_bus_cycle_j (random data)")
    return SramPeripheryModel(fns, valid_range=rng, heldout_error=summarize(errs, seed),
                              form=form, meta=base_meta(raw, raw_path, units))
