"""StrongARM comparator behavioral model (kind ``comparator``, from recipe ``comparator``).

Functions (lookup tables, spline refined, multilinear interpolation):

* ``e_decision_j(v_od_v, v_cm_v, ...)``: energy per decision, J: VDD supply over one
  clock cycle plus the clock driver's charge into the clock pins (see the recipe). Mean
  over the Monte-Carlo samples when the sweep has them.
* ``t_decision_s(v_od_v, v_cm_v, ...)``: clock 50 % to the falling output at VDD/2, s,
  with the overdrive ``v_od_v`` (V) measured from each sample's own trip point. Tables
  of log(value) over log(v_od_v) (delay grows ~ tau*ln(1/v_od) at small overdrive).
* ``offset_sigma_v(v_cm_v, ...)``: input-referred offset sigma, V: sample standard
  deviation of the trip point over the MC samples (PDK mismatch, Vt only in SKY130);
  the number of samples is in ``meta["mc_samples"]`` and the estimate's relative
  sampling error ~1/sqrt(2(N-1)). Absent for a nominal (no ``--mc``) sweep.

Valid range: the swept box (0.1-100 mV overdrive by default); outside it the model warns
(``OutOfRangeWarning``) or, with ``strict=True``, raises.
"""
from __future__ import annotations

from .base import BehavioralModel, register_kind


@register_kind
class ComparatorModel(BehavioralModel):
    kind = "comparator"
    primary = "e_decision_j"

    def decision_energy(self, v_od_v, *, corner=None, strict=False, **settings):
        """Energy per decision [J] at overdrive ``v_od_v`` [V]."""
        return self.evaluate("e_decision_j", corner=corner, strict=strict, v_od_v=v_od_v,
                             **_only(self, "e_decision_j", settings))

    def delay(self, v_od_v, *, corner=None, strict=False, **settings):
        """Decision delay [s] at overdrive ``v_od_v`` [V]."""
        return self.evaluate("t_decision_s", corner=corner, strict=strict, v_od_v=v_od_v,
                             **_only(self, "t_decision_s", settings))

    def offset_sigma(self, *, corner=None, strict=False, **settings):
        """Input-referred offset sigma [V] (needs a Monte-Carlo sweep)."""
        return self.evaluate("offset_sigma_v", corner=corner, strict=strict,
                             **_only(self, "offset_sigma_v", settings))


def _only(model: BehavioralModel, output: str, settings: dict) -> dict:
    ins = set(model.functions[model._output(output)].inputs)
    return {k: v for k, v in settings.items() if k in ins}
