"""Wake-up model of a power-gated bit-line TIA (kind ``tia-wake``, recipe ``tia-wake``,
bench ``circuits/tia_wake.py``).

Every quantity is a lookup table over the swept settings (rows, read voltage,
temperature, ...), multilinear between them; the positive ones (``t_wake_s``,
``e_wake_j``, ``p_on_w``, ``p_off_w``, ``e_off_j``, ``i_col_a``) as log(value), ``v_out_v``
linear. ``e_wake_j`` (J) is what gating the TIA off between reads adds to each read;
``t_wake_s`` (s) is how long before the read its enable must rise. Held-out error on
lines of the sweep the fit never saw; evaluating outside the swept box warns.
"""
from __future__ import annotations

from .base import BehavioralModel, register_kind


@register_kind
class TiaWakeModel(BehavioralModel):
    kind = "tia-wake"
    primary = "e_wake_j"
