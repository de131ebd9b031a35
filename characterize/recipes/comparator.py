"""StrongARM latch comparator (SKY130): energy per decision, decision delay vs.
overdrive, input-referred offset (with ``--mc N``: its sigma over the samples).

Circuit: :mod:`imcspice.circuits.comparator` (Razavi, IEEE SSC Magazine 2015).

One point = one input common mode ``v_cm_v`` (and sizes, load, corner, temperature):

1. **Trip point** ``v_offset_v``: the differential input ``inp - inn`` at which the
   decision flips, found by bisection over +-60 mV down to 20 uV (14 single-decision
   transients, decision read at the end of evaluation). Nominal devices give ~0 (only
   the systematic offset); under ``--mc N`` every sample has its own mismatch draw and
   the sample standard deviation of ``v_offset_v`` is the input-referred offset sigma.
   Noise is not simulated (no transient noise): the offset is the mismatch part.
2. **Decisions** at ``inp - inn = v_offset_v + v_od_v`` for each overdrive ``v_od_v``
   (inner axis, 0.1 mV ... 100 mV, log): overdrive is measured from the sample's own
   trip point, as a comparator's delay-vs-overdrive curve is defined.

Single-decision transient: clk low (reset, all four internal nodes at VDD) until
``_T0_S``, a ``_T_EDGE_S`` rising edge, evaluate for ``t_clk_s / 2``, fall, reset for
``t_clk_s / 2`` (the nodes recharge). Energy per decision:

* ``e_supply_j``: VDD * charge drawn from VDD from the clock edge to the end of the
  reset phase (evaluation + recharge of the discharged nodes);
* ``e_clock_j``: VDD * charge the clock source pushes into the comparator's clock pins
  while clk is high (what a CMOS clock buffer draws from its supply for this load);
* ``e_decision_j = e_supply_j + e_clock_j``.

``t_decision_s``: from the clock's 50 % point to the falling output crossing VDD/2
(NaN: not resolved within the evaluation half-period). ``v_dip_v``: how far the
winning output (outp) falls before the latch pulls it back to VDD; the charge that
dip costs is in ``e_supply_j`` (used by the C*V^2 hand check in the tests).
"""
from __future__ import annotations

import numpy as np

from ...circuits import comparator as cc
from ...circuits.netlist import ParamRef
from ..params import Param, format_number
from ..recipe import Axis, Output, Recipe, register_recipe
from ..waveform import charge, crossings

#: reset time before the first clock edge, clock edge (assumption: fast clock driver)
_T0_S = 0.1e-9
_T_EDGE_S = 20e-12
#: overdrive ladder (V): 0.1 mV .. 100 mV, 13 points (4 per decade)
V_OD = tuple(float(v) for v in np.geomspace(1e-4, 0.1, 13))
#: trip-point bisection: start interval +-_SEARCH_V, stop below _RESOLUTION_V
_SEARCH_V = 0.06
_RESOLUTION_V = 20e-6


def _params() -> tuple[Param, ...]:
    out = []
    for s in cc.field_specs(cc.StrongArm):
        out.append(Param(s["name"], float(s["default"]), s["unit"],
                         s["doc"] + f" [default: {s['source']}]", min=float(s["min"]),
                         max=float(s["max"]), structural=s["name"] in cc.StrongArm.SIZES))
    return tuple(out)


@register_recipe
class Comparator(Recipe):
    name = "comparator"
    summary = ("StrongARM latch comparator: energy per decision, delay vs overdrive, "
               "input-referred offset (sigma with --mc N)")
    version = 1
    params = _params() + (
        Param("vdd_v", 1.8, "V", "supply and clock high level [default: SKY130 1.8 V core "
              "devices nominal]", min=1.4, max=1.98),
        Param("v_cm_v", 0.9, "V", "input common mode [default: VDD/2, assumption]",
              min=0.5, max=1.8),
        Param("t_clk_s", 4e-9, "s", "clock period (evaluate and reset, half each) "
              "[default: assumption, 250 MHz: the ss corner resolves 0.1 mV within the 2 ns half]",
              min=0.2e-9, max=100e-9),
    )
    outputs = (
        Output("e_decision_j", "J", ("v_od_v",), "energy per decision: supply + clock"),
        Output("e_supply_j", "J", ("v_od_v",), "VDD energy over one clock cycle"),
        Output("e_clock_j", "J", ("v_od_v",), "clock-driver energy (VDD x clock-pin charge)"),
        Output("t_decision_s", "s", ("v_od_v",), "clock 50 % to falling output at VDD/2"),
        Output("v_dip_v", "V", ("v_od_v",), "dip of the winning output below VDD"),
        Output("v_offset_v", "V", (), "trip point: inp - inn where the decision flips "
                                      "(NaN: outside +-60 mV)"),
    )

    def inner_axes(self, p):
        return [Axis("v_od_v", "V", V_OD)]

    def timeout_s(self, p):
        return 120.0

    def body(self, tech, p):
        cc.check_technology(tech)
        te = format_number(_T_EDGE_S)
        t0 = format_number(_T0_S)
        return [
            "Vdd vdd 0 {vdd_v}",
            # one decision: rise at t0, high for t_clk/2, then low (reset) to the end
            f"Vclk clk 0 PULSE(0 {{vdd_v}} {t0} {te} {te} {{t_clk_s/2-{te}}} 1)",
            "Vinp inp 0 {v_cm_v}",
            "Vinn inn 0 {v_cm_v}",
        ] + cc.strongarm_lines(cc.strongarm_from(p), inp="inp", inn="inn", clk="clk",
                               outp="outp", outm="outm", c_load=ParamRef("c_load_ff", 1e-15))

    @staticmethod
    def _tran(p, full: bool):
        half = p["t_clk_s"] / 2
        tstop = _T0_S + (2 * half if full else half)
        tmax = p["t_clk_s"] / 400
        return f"tran {format_number(tmax)} {format_number(tstop)} 0 {format_number(tmax)}"

    def _set_input(self, ng, p, vd):
        ng.command(f"alter vinp dc = {format_number(p['v_cm_v'] + vd / 2)}")
        ng.command(f"alter vinn dc = {format_number(p['v_cm_v'] - vd / 2)}")

    def _decide(self, ng, p, vd) -> bool:
        """True when ``inp - inn = vd`` makes outp end high (a decision for inp)."""
        self._set_input(ng, p, vd)
        r = ng.run([self._tran(p, full=False)])
        return bool(r["outp"][-1] > r["outm"][-1])

    def trip_point(self, ng, p) -> float:
        lo, hi = -_SEARCH_V, _SEARCH_V
        if self._decide(ng, p, lo) or not self._decide(ng, p, hi):
            return float("nan")
        while hi - lo > _RESOLUTION_V:
            mid = 0.5 * (lo + hi)
            if self._decide(ng, p, mid):
                hi = mid
            else:
                lo = mid
        return 0.5 * (lo + hi)

    def simulate(self, ng, p):
        vdd = p["vdd_v"]
        nan = np.full(len(V_OD), np.nan)
        out = {o.name: nan.copy() for o in self.outputs if o.axes}
        vos = self.trip_point(ng, p)
        out["v_offset_v"] = vos
        if not np.isfinite(vos):
            return out
        half = p["t_clk_s"] / 2
        t_rise = _T0_S
        t_mid = _T0_S + _T_EDGE_S / 2
        t_fall = _T0_S + half
        for k, od in enumerate(V_OD):
            self._set_input(ng, p, vos + od)
            r = ng.run([self._tran(p, full=True)])
            t = r["time"]
            t_end = float(t[-1])
            q_vdd = -charge(t, r["vdd#branch"], t_rise, t_end)
            q_clk = -charge(t, r["vclk#branch"], t_rise, t_fall)
            out["e_supply_j"][k] = vdd * q_vdd
            out["e_clock_j"][k] = vdd * q_clk
            out["e_decision_j"][k] = vdd * (q_vdd + q_clk)
            ev = (t >= t_rise) & (t <= t_fall)
            outp, outm = r["outp"], r["outm"]
            if not (outp[ev][-1] > outm[ev][-1]):   # wrong decision at + overdrive
                continue
            out["v_dip_v"][k] = vdd - float(np.min(outp[ev]))
            falls = [tc for tc, d in crossings(t[ev], outm[ev], vdd / 2) if d < 0]
            if falls:
                out["t_decision_s"][k] = falls[0] - t_mid
        return out
