"""Two-stage Miller OTA model (recipe ``ota``, circuit ``circuits/ota.py``).

Every quantity (``a0_db``, ``gbw_hz``, ``pm_deg``, ``sr_rise_v_per_s``,
``sr_fall_v_per_s``, ``v_out_min_v``, ``v_out_max_v``, ``p_supply_w``,
``vn_floor_v_per_rthz``, ``vn_1khz_v_per_rthz`` and the operating point's gm / gds / id)
is a lookup table over the swept settings (bias current, load and Miller capacitance,
corner, temperature), multilinear between them; quantities that are positive over
decades (GBW, slew, power, noise, gm) are tabulated as log(value) (the square and
exponential laws behind them are straight lines in log-log). Held-out error on lines of
the sweep the fit never saw; evaluating outside the swept box warns.
"""
from __future__ import annotations

from .base import BehavioralModel, register_kind


@register_kind
class OtaModel(BehavioralModel):
    kind = "ota"
    primary = "gbw_hz"

    def supply_power(self, *, corner=None, strict=False, **settings):
        """Static supply power, W (bias branch included)."""
        return self.evaluate("p_supply_w", corner=corner, strict=strict, **settings)

    def gbw(self, *, corner=None, strict=False, **settings):
        """Unity-gain frequency of the open-loop gain, Hz."""
        return self.evaluate("gbw_hz", corner=corner, strict=strict, **settings)
