"""8-bit SAR ADC (SKY130): energy per conversion of the CDAC and the comparator from
supply-current integration, and the output code, over a set of input voltages.

Circuit: :mod:`imcspice.circuits.sar_adc` (transistor-level StrongARM comparator, CDAC
switches and drivers; ideal capacitors; behavioral SAR controller, whose logic energy is
NOT in these figures: see ``e_logic_j`` in the model kind's documentation).

One point = one design/corner; the inner axis ``v_in_v`` holds ``n_codes`` input voltages
at the centres of evenly spaced codes (``(code + 0.5) / 2^N * vref``), one full
conversion (sampling + 8 cycles) each. Per conversion:

* ``e_cdac_conv_j``: energy drawn from ``vref`` (the bottom-plate drivers' supply) from
  the end of sampling to the end of the conversion: the CDAC switching energy of
  conventional switching (Ginsburg & Chandrakasan, JSSC 2007) plus the drivers' own
  crowbar and junction charge;
* ``e_comp_conv_j``: the comparator's supply energy over the conversion plus its clock
  driver's energy (VDD x clock-pin charge on every rising edge), 8 decisions;
* ``code``: the converted code (bits read from the controller's memory nodes).

SAR logic: two transistor-level SKY130 TG flip-flops in the same deck, clocked like the
logic, one holding and one toggling its data (``e_dff_hold_j``, ``e_dff_toggle_j``, per
clock cycle); ``e_logic_j`` multiplies them by the flop and toggle counts of
:func:`imcspice.circuits.sar_adc.logic_energy_j` (17 flops x 9 cycles, 30 toggles: an
assumption about the logic, not a simulation of it).

Scalars: the means over the inputs (``e_cdac_j``, ``e_comparator_j``), ``e_logic_j``,
``e_analog_j`` = CDAC + comparator, ``e_conversion_j`` = all three, the code error
against ``floor(vin/vref * 2^N)``, the number of conversions averaged, and
``t_conversion_s``: the conversion time of this deck (sampling + N cycles of
``t_clk_s``), reported only where every code came out within 1 LSB after the offset, so
that a converter priced from the model runs at a clock its SPICE deck converted at.
Not counted: the sampling energy drawn from ``vin`` (the input driver's), the
behavioral controller's own gate drive, the reference buffer.
"""
from __future__ import annotations

import numpy as np

from ...circuits import comparator as cc
from ...circuits import sar_adc as sc
from ..params import Param, format_number
from ..recipe import Axis, Output, Recipe, register_recipe
from ..waveform import charge



def codes(n: int) -> tuple[int, ...]:
    """``n`` codes evenly spread over 2..253 (away from the rails); inputs at bin centres."""
    return tuple(int(c) for c in np.round(np.linspace(2, 253, int(n))))


def _from_specs(specs, skip=()):
    return tuple(Param(s["name"], float(s["default"]), s["unit"],
                       s["doc"] + f" [default: {s['source']}]", min=float(s["min"]),
                       max=float(s["max"]), structural=True)
                 for s in specs if s["name"] not in skip)


@register_recipe
class SarAdc(Recipe):
    name = "sar-adc"
    summary = ("8-bit SAR ADC: CDAC + StrongARM comparator energy per conversion from "
               "supply integration (behavioral SAR controller)")
    # v4: t_conversion_s; default clock 2 ns (was 4 ns). v3: the probe flip-flops start at
    # Q = 0 (circuits/sar_adc.py logic_probe_lines)
    version = 4
    params = (_from_specs(sc.field_specs(sc.SarAdc))
              + _from_specs(cc.field_specs(cc.StrongArm))
              + (Param("vdd_v", 1.8, "V", "supply = reference = full-scale input [default: "
                       "SKY130 1.8 V core nominal]", min=1.4, max=1.98, structural=True),
                 Param("t_clk_s", 2e-9, "s", "SAR clock period (one bit per cycle; sampling "
                       "takes one period) [default: assumption: the deck converts within 1 "
                       "LSB after offset down to 1 ns (tt, 27 C, measured) with its "
                       "behavioral controller; 2 ns leaves a real controller's flip-flop "
                       "(clock-to-Q + setup ~0.28 ns, logic model) and gates the margin]",
                       min=1e-9, max=100e-9, structural=True),
                 Param("n_codes", 8, "", "conversions per point (codes evenly spread over "
                       "2..253) [default: 8, ~1 s of CPU each on this machine]", min=1,
                       max=64, structural=True)))
    outputs = (
        Output("code", "", ("v_in_v",), "converted code"),
        Output("code_ideal", "", ("v_in_v",), "floor(vin / vref * 256)"),
        Output("e_cdac_conv_j", "J", ("v_in_v",), "energy from vref during the conversion"),
        Output("e_comp_conv_j", "J", ("v_in_v",), "comparator supply + clock energy, 8 "
                                                  "decisions"),
        Output("e_cdac_j", "J", (), "mean CDAC energy per conversion over the inputs"),
        Output("e_comparator_j", "J", (), "mean comparator energy per conversion"),
        Output("e_dff_hold_j", "J", (), "one SKY130 TG flip-flop, energy per clock cycle, "
                                        "data held (supply + its clock pin)"),
        Output("e_dff_toggle_j", "J", (), "the same flip-flop with data toggling each cycle"),
        Output("e_logic_j", "J", (), "SAR logic per conversion: the flop energies times the "
                                     "counts of circuits.sar_adc.logic_energy_j"),
        Output("e_analog_j", "J", (), "e_cdac_j + e_comparator_j"),
        Output("e_conversion_j", "J", (), "e_cdac_j + e_comparator_j + e_logic_j"),
        Output("max_code_err_lsb", "", (), "largest |code - code_ideal|"),
        Output("code_offset_lsb", "", (), "median of code - code_ideal (offset error: top-"
                                          "plate charge injection and comparator kickback)"),
        Output("max_code_err_after_offset_lsb", "", (), "largest |code - code_ideal - "
                                                        "code_offset_lsb|"),
        Output("n_conversions", "", (), "conversions averaged"),
        Output("t_conversion_s", "s", (), "sampling + 8 bit cycles = 9 x t_clk_s, the "
                                          "conversion time at which every code came out "
                                          "within 1 LSB after offset (NaN where one did "
                                          "not: the clock is too fast for the deck)"),
    )

    def inner_axes(self, p):
        return [Axis("v_in_v", "V", self._vin(p))]

    @staticmethod
    def _vin(p):
        return tuple(float((c + 0.5) / 2 ** sc.N_BITS * p["vdd_v"])
                     for c in codes(p["n_codes"]))

    def timeout_s(self, p):
        # ~1 s of CPU per conversion (its steps are t_clk / 100, so at any clock); a shared
        # machine can stretch it tenfold
        return 120.0 + 30.0 * p["n_codes"]

    def body(self, tech, p):
        cc.check_technology(tech)
        v = format_number(p["vdd_v"])
        tm = sc.SarTiming(p["t_clk_s"])
        return [f"Vdd vdd 0 {v}", f"Vddc vddc 0 {v}", f"Vref vref 0 {v}",
                f"Vcm vcm 0 {format_number(p['vdd_v'] / 2)}", "Vin vin 0 0"] + \
            sc.adc_lines(sc.sar_from(p), cc.strongarm_from(p), tm, vdd_v=p["vdd_v"])

    def simulate(self, ng, p):
        tm = sc.SarTiming(p["t_clk_s"])
        vdd = p["vdd_v"]
        # max step t_clk/100: energies within 0.5 % of t_clk/400 (measured: CDAC 0.03 %,
        # comparator 0.4 %, flip-flops 0.5 %) at a quarter of the cost
        tmax = p["t_clk_s"] / 100
        tran = f"tran {format_number(tmax)} {format_number(tm.t_stop)} 0 {format_number(tmax)}"
        vins = self._vin(p)
        n = len(vins)
        code, e_dac, e_cmp = np.zeros(n), np.zeros(n), np.zeros(n)
        e_hold, e_tog = np.zeros(n), np.zeros(n)
        t0 = tm.t_sample
        for i, vin in enumerate(vins):
            ng.command(f"alter vin dc = {format_number(vin)}")
            r = ng.run([tran])
            t = r["time"]
            t_end = float(t[-1])
            e_dac[i] = -vdd * charge(t, r["vref#branch"], t0, t_end)
            q_clk = 0.0
            for k in range(sc.N_BITS):   # clock high in the second half of each cycle
                a = tm.cycle_start(k) + tm.t_clk / 2
                q_clk += -charge(t, r["vclk#branch"], a, a + tm.t_clk / 2)
            e_cmp[i] = -vdd * charge(t, r["vddc#branch"], t0, t_end) + vdd * q_clk
            # the two probe flops: 8 clock cycles in [t0, t_end]; their shared clock pin
            # charge is split evenly (equal loads)
            q_cl = 0.0
            for k in range(sc.N_BITS):
                a = tm.cycle_start(k) + tm.t_clk / 2
                q_cl += -charge(t, r["vclkl#branch"], a, a + tm.t_clk / 2)
            e_hold[i] = vdd * (-charge(t, r["vddh#branch"], t0, t_end) + q_cl / 2) / sc.N_BITS
            e_tog[i] = vdd * (-charge(t, r["vddt#branch"], t0, t_end) + q_cl / 2) / sc.N_BITS
            bits = [float(r[f"m{k}"][-1]) > vdd / 2 for k in range(sc.N_BITS)]
            code[i] = sum(b << (sc.N_BITS - 1 - k) for k, b in enumerate(bits))
        ideal = np.floor(np.asarray(vins) / vdd * 2 ** sc.N_BITS)
        off = float(np.median(code - ideal))
        err = float(np.max(np.abs(code - ideal - off)))
        eh, et = float(np.mean(e_hold)), float(np.mean(e_tog))
        e_logic = sc.logic_energy_j(eh, et)
        analog = float(np.mean(e_dac) + np.mean(e_cmp))
        return {"code": code, "code_ideal": ideal, "e_cdac_conv_j": e_dac,
                "e_comp_conv_j": e_cmp, "e_cdac_j": float(np.mean(e_dac)),
                "e_comparator_j": float(np.mean(e_cmp)), "e_dff_hold_j": eh,
                "e_dff_toggle_j": et, "e_logic_j": e_logic, "e_analog_j": analog,
                "e_conversion_j": analog + e_logic,
                "max_code_err_lsb": float(np.max(np.abs(code - ideal))),
                "code_offset_lsb": off,
                "max_code_err_after_offset_lsb": err,
                "n_conversions": float(n),
                "t_conversion_s": (sc.N_BITS + 1) * tm.t_clk if err <= 1 else float("nan")}
