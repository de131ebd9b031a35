"""The crossbar column TIA's own noise (kind ``tia-noise``, from recipe ``tia-noise``;
bench ``circuits/gated_ota.py`` ``tia_bench`` enabled, at the column's conductance).

Every quantity is a lookup table over the swept settings (rows, the column's ON
fraction ``frac_on``, read voltage, temperature, ...), multilinear in log(value) between
them: ``i_noise_a`` (A rms) is the noise one bit line's read adds at the TIA's input,
as a current (the output's 1 kHz-10 GHz noise over the measured transimpedance); the
accuracy model adds it to every converted read (:mod:`imcspice.accelerators.analog`).
Held-out error on lines of the sweep the fit never saw; evaluating outside the swept box
warns.
"""
from __future__ import annotations

from .base import BehavioralModel, register_kind


@register_kind
class TiaNoiseModel(BehavioralModel):
    """Output and input-referred noise of the crossbar column's TIA."""
    kind = "tia-noise"
    primary = "i_noise_a"
