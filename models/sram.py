"""6T SRAM column model (kind ``sram``, from the ``sram`` recipe: a SKY130 column of
``rows`` cells with precharge, write driver and a StrongARM sense amplifier,
circuits/sram.py).

Functions (lookup tables of log(value) over log(rows) and the swept settings,
spline-refined; characterize/fitters/sram.py), held-out error recorded:

* ``e_read_bit_j(rows, ...)``: energy of one bit read (self-timed to a ``dv_sense_v``
  bitline differential, sense amplifier fired, bitlines precharged again), J; all
  supplies: cell array, precharge, sense amplifier, control-line drivers (this
  column's share of the word line);
* ``e_write_bit_j(rows, ...)``: one bit written (a bitline pulled to 0 and restored), J;
* ``e_read_bl_j`` / ``e_write_bl_j``: their precharge (bitline) parts, J;
* ``t_read_s(rows, ...)``: word line 50 % to the sense-amplifier output, s;
* ``t_write_s(rows, ...)``: word line 50 % to the cell flipping, s;
* ``p_leak_cell_w(...)``: one cell's standby leakage (holding its bit, word line off,
  bitlines precharged), W; the same at every ``rows`` (one cell), a memory of ``N`` bits
  leaks ``N x p_leak_cell_w`` (its periphery's leakage not included).

An access of ``B`` bits of a memory built from these columns costs ``B x e_read_bit_j``
(or ``e_write_bit_j``) at the macro's rows per bitline: the row decoder and the data
bus to the macro's port are the ``sram-periphery`` model's (models/sram_periphery.py);
a column multiplexer is not modelled (one sense amplifier per column). Outside the swept rows the
model warns (or refuses under ``strict``).
"""
from __future__ import annotations

from .base import BehavioralModel, register_kind


@register_kind
class SramModel(BehavioralModel):
    kind = "sram"
    primary = "e_read_bit_j"

    def read_energy(self, rows, *, corner=None, strict=False, **settings):
        """Energy [J] of one bit read from a column of ``rows`` cells."""
        return self.evaluate("e_read_bit_j", corner=corner, strict=strict, rows=rows,
                             **settings)

    def write_energy(self, rows, *, corner=None, strict=False, **settings):
        """Energy [J] of one bit written into a column of ``rows`` cells."""
        return self.evaluate("e_write_bit_j", corner=corner, strict=strict, rows=rows,
                             **settings)
