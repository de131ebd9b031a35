"""Fitting ``sram`` sweeps (6T SRAM column, recipe ``sram``) into the ``sram`` model
kind: lookup tables of log(value) over log(rows) and the swept settings, held-out
lines checked (characterize/fitting/table.py, as the dac fitter does). A sweep with a
failed write or read (``write_ok``/``read_ok`` 0 at some point) is refused: its
energies would describe a column that does not work.

The read energy has a kink in rows: below ~100 rows (SKY130 tt) the bitline develops the
sense differential faster than the word line can pulse (its edges are 50 ps), so the
shortest pulse removes a fixed charge and the swing overshoots; above, the read is
self-timed to the target swing. The table interpolates across it; the default sweep's
held-out lines measure what that costs (defaults.json)."""
from __future__ import annotations

import numpy as np

from ...models.sram import SramModel
from ..fit import fitter
from ..fitting.grid import FitError
from .dac import fit_tables

_QUANTITIES = ("e_read_bit_j", "e_write_bit_j", "e_read_bl_j", "e_write_bl_j",
               "t_read_s", "t_write_s", "p_leak_cell_w")


@fitter("sram", recipes=("sram",))
def fit_sram(raw, *, raw_path, seed: int = 0) -> SramModel:
    for q in ("write_ok", "read_ok"):
        v = np.asarray(raw.data[q], dtype=float)
        if not np.all(v == 1):
            raise FitError(f"sram: {q} is not 1 at {int(np.sum(v != 1))} points (the "
                           "column failed to write or read there); fix the sizing/timing")
    fns, err, rng, meta = fit_tables(raw, raw_path, "sram", _QUANTITIES, seed,
                                     worst_dv_at_sense_v=float(np.nanmax(raw.data["dv_at_sense_v"])))
    form = ("sram (SKY130 6T column, precharge, write driver, StrongARM sense amplifier): "
            "e_read_bit_j, e_write_bit_j, their bitline parts, t_read_s, t_write_s and "
            "p_leak_cell_w (one cell's standby leakage) as lookup "
            "tables of log(value) over rows (log axis) and the swept settings, "
            "spline-refined; a B-bit access = B x the per-bit energy")
    return SramModel(fns, valid_range=rng, heldout_error=err, form=form, meta=meta)
