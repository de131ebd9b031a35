"""``crossbar-column``: a crossbar column read through a TIA (from recipe crossbar-column).

Modeled quantities, each over the sweep's swept settings (rows, conductances, read
voltage, wire resistances, ON fraction, ...; settings the sweep did not vary are pinned
by the valid range):

    i_out_a      bit-line current into the TIA (device non-linearity, access transistor
                 and wire IR drop included, as ngspice solved them)
    v_out_v      TIA output
    ir_drop_rel  (i_ideal - i_out) / i_ideal: the IR-drop (+ access-device) correction as a
                 function of rows, wire resistance and conductance load
    e_read_j     read energy over the read pulse
    t_settle_s   TIA output 1 % settling time

Form: lookup tables over the swept settings (log axes where the sweep is geometric,
log values for positive quantities spanning decades), refined with a tensor cubic spline
and interpolated multilinearly. The IR drop of a resistive column is a strongly coupled
function of rows x wire resistance x load (up to tens of percent), which no few-parameter
product form matches within 1 % of full scale over a useful box; the table is exact at the
sweep's grid and validated on held-out grid lines.

The device law the recipe uses for the ideal current is carried in ``meta`` (``device``,
``v0_v``), so :meth:`CrossbarColumnModel.ideal_current` computes sum_r I_cell(G_r, V_r) for
any pattern and :meth:`CrossbarColumnModel.correct` applies the fitted IR-drop correction.
"""
from __future__ import annotations

import numpy as np

from .base import BehavioralModel, register_kind


@register_kind
class CrossbarColumnModel(BehavioralModel):
    kind = "crossbar-column"
    primary = "i_out_a"

    @property
    def device(self) -> str:
        return self.meta.get("device", "linear")

    def cell_current(self, g_s, v_v, v0_v: float | None = None) -> np.ndarray:
        """Cell read current [A] by the recipe's device law: G*V (linear) or
        G*v0*sinh(V/v0) (1t1r memristor; the access transistor is not included)."""
        g = np.asarray(g_s, dtype=np.float64)
        v = np.asarray(v_v, dtype=np.float64)
        if self.device == "linear":
            return g * v
        v0 = float(v0_v if v0_v is not None else self.meta.get("v0_v", 0.5))
        return g * v0 * np.sinh(v / v0)

    def ideal_current(self, g_s, v_v, axis: int = -1, **kw) -> np.ndarray:
        """sum over rows of cell_current (no wires, no access device)."""
        return np.sum(self.cell_current(g_s, v_v, **kw), axis=axis)

    def ir_drop(self, *, corner=None, strict=False, **settings) -> np.ndarray:
        """Relative IR drop (i_ideal - i_out) / i_ideal at the given settings."""
        return self.evaluate("ir_drop_rel", corner=corner, strict=strict, **settings)

    def correct(self, i_ideal, *, corner=None, strict=False, **settings) -> np.ndarray:
        """i_ideal * (1 - ir_drop(settings)): the ngspice-calibrated column current."""
        return np.asarray(i_ideal) * (1.0 - self.ir_drop(corner=corner, strict=strict,
                                                         **settings))

    def column_current(self, *, corner=None, strict=False, **settings) -> np.ndarray:
        return self.evaluate("i_out_a", corner=corner, strict=strict, **settings)

    def read_energy(self, *, corner=None, strict=False, **settings) -> np.ndarray:
        return self.evaluate("e_read_j", corner=corner, strict=strict, **settings)

    def settling_time(self, *, corner=None, strict=False, **settings) -> np.ndarray:
        return self.evaluate("t_settle_s", corner=corner, strict=strict, **settings)
