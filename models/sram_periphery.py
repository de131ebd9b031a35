"""SRAM macro periphery model (kind ``sram-periphery``, from the ``sram-periphery``
recipe: a SKY130 predecoded, enable-pulsed NAND row decoder and one data-bus bit on a
distributed met3 line, circuits/sram_periphery.py).

Functions (lookup tables of log(value) over log(rows), log(bus_mm) and the swept
settings, spline-refined; characterize/fitters/sram_periphery.py), held-out error
recorded:

* ``e_decode_j(rows, bus_mm, ...)``: the decoder's energy per access (enable,
  predecoders, predecode lines, row NANDs, the word-line driver up to its last stage's
  input), J; independent of ``bus_mm``;
* ``e_wl_j``: the last word-line driver stage charging the word line, J (the ``sram``
  column model already prices each column's share of the word line: not to be added);
* ``e_bus_cycle_j(rows, bus_mm, ...)``: one rise and one fall of one bus bit, J
  (independent of ``rows``); random data: B/4 x this per B-bit access;
* ``t_decode_s``, ``t_bus_s``: enable to word line, bus input to far end, s.

A buffer access of B bits adds ``e_decode_j + B/4 x e_bus_cycle_j`` to the columns'
``B x e_read_bit_j`` (or write). Outside the swept box the model warns (or refuses under
``strict``).
"""
from __future__ import annotations

from .base import BehavioralModel, register_kind


@register_kind
class SramPeripheryModel(BehavioralModel):
    kind = "sram-periphery"
    primary = "e_decode_j"

    def access_energy(self, rows, bus_mm, bits, *, corner=None, strict=False, **settings):
        """Decoder + bus energy [J] of one ``bits``-bit access (random data)."""
        kw = dict(corner=corner, strict=strict, rows=rows, bus_mm=bus_mm, **settings)
        return (self.evaluate("e_decode_j", **kw)
                + 0.25 * bits * self.evaluate("e_bus_cycle_j", **kw))
