"""Wake-up models of a power-gated OTA before its read (kinds ``tia-wake`` and
``integrator-wake``, from the recipes of those names; benches ``circuits/gated_ota.py``).

Every quantity is a lookup table over the swept settings (rows, read voltage, bias
current, temperature, ...), multilinear between them; the positive ones (``t_wake_s``,
``e_wake_j``, ``p_on_w``, ``p_off_w``, ``e_off_j``, ``i_in_a``) as log(value), the
levels ``v_out_v`` and ``p_bias_w`` linear. ``e_wake_j`` (J) is what gating the
amplifier off between reads adds to each read; ``t_wake_s`` (s) is how long before the
read its enable must rise; ``p_bias_w`` (W) is the array's always-on bias generator.
Held-out error on lines of the sweep the fit never saw; evaluating outside the swept box
warns.
"""
from __future__ import annotations

from .base import BehavioralModel, register_kind


class WakeModel(BehavioralModel):
    primary = "e_wake_j"


@register_kind
class TiaWakeModel(WakeModel):
    """The crossbar column's TIA."""
    kind = "tia-wake"


@register_kind
class IntegratorWakeModel(WakeModel):
    """The gain-cell column's integrator."""
    kind = "integrator-wake"
