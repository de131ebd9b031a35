"""SAR ADC behavioral model (kind ``sar-adc``, from recipe ``sar-adc``).

Functions (lookup tables of log(value) over the swept settings, e.g. the CDAC unit
capacitor ``c_unit_ff``, per corner):

* ``e_conversion_j``: energy per 8-bit conversion, J = CDAC + comparator + SAR logic;
* ``e_analog_j``: CDAC + comparator (both from transient supply integration over whole
  conversions, averaged over evenly spread input codes);
* ``e_cdac_j``, ``e_comparator_j``: the two parts;
* ``e_logic_j``: SAR logic: two transistor-level SKY130 flip-flops measured in the same
  deck (holding / toggling) times a flop and toggle count that is an assumption
  (:func:`imcspice.circuits.sar_adc.logic_energy_j`); ``meta["logic_count"]`` states it.

The SAR controller itself is behavioral (ideal switches and B-sources); the analog parts
are transistor level. Outside the swept box the model warns (``OutOfRangeWarning``) or,
with ``strict=True``, raises.
"""
from __future__ import annotations

from .base import BehavioralModel, register_kind


@register_kind
class SarAdcModel(BehavioralModel):
    kind = "sar-adc"
    primary = "e_conversion_j"

    def conversion_energy(self, *, corner=None, strict=False, **settings):
        """Energy per conversion [J] (CDAC + comparator + SAR logic)."""
        return self.evaluate("e_conversion_j", corner=corner, strict=strict, **settings)
