"""Wake-up of a power-gated OTA before its read (recipes ``tia-wake`` and
``integrator-wake``): how long the amplifier takes to settle after its enable, and what
that costs, which the decks of its read (crossbar-column, gaincell-readout: their OTA
starts biased) do not measure. Benches: ``circuits/gated_ota.py`` (the OTA gated by
``ota.gated_subckt``: tail and output stage off between reads, the array's bias line
kept by one always-on generator, decoupled by ``c_dec_f``). The enable rises with no
input (the amplifier wakes before its read); 100 ns later the read follows.

``tia-wake``: the crossbar column's TIA, with crossbar-column's parameter names and
meaning (tail ``ota_ibias_a``, Miller ``ota_cc_ff`` / ``ota_rz_ohm``, feedback ``r_f_ohm``
or ``tia_swing_v`` /
``c_f_ff``, reference ``v_cm_v``) and its output stage sized as that deck sizes it, for
the column's design current I_design = rows x (g_off + i_design_frac x (g_on - g_off)) x
v0 sinh(v_read / v0) (the 1T1R law of crossbar-column's ``full_scale_expr``). The read:
the column current steps to I_design into a bit line of rows x ``c_bl_cell_ff`` (lumped:
the cells' conductance, ~300 ohm at 128 rows against r_f = 25 ohm, changes the loop's
noise gain by < 10 %, and is left out). Settled: within ``settle_frac`` of the read's
swing I_design x r_f.

``integrator-wake``: the gain-cell column's integrator (gaincell-readout's parameter
names: ``cint_f``, ``vref_v``, ``ota_ibias_a``, ``cin_f``; one output-stage copy), woken
with its reset closed (it follows vref). The read: the reset opens and the mid-scale
charge ``q_in_c`` is drawn out of its input over 15 ns. Settled: within ``settle_frac``
of the readout's ramp span ``ramp_span_v`` (1 %: 9 mV, a third of a 5-bit LSB).

Outputs, all scalars: ``t_wake_s`` (enable to the last time the output is further than
the band from its resting value 1 ns before the read), ``e_wake_j`` (the OTA supply's
energy over that wake: what gating the amplifier between reads adds to each read, next
to the read's own energy), ``p_on_w`` (the OTA's supply power at the end of the read),
``p_off_w`` (gated off, before the enable), ``e_off_j`` (after the disable, to the end),
``v_out_v`` (the read's output, 1 ns before the disable), ``i_in_a`` (the read's input
current, through a 0 V sense source), ``p_bias_w`` (the bias generator's own supply
``Vbg``, before the enable: what the array's always-on bias line costs, whatever its
amplifiers do).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ...circuits import gated_ota, ota
from ...circuits.gaincell import ReadoutParams
from ...circuits.netlist import ParamRef
from ..npy_param import IntParam
from ..params import Param, format_number
from ..recipe import Output, Recipe, register_recipe
from ..waveform import charge, value_at
from .crossbar import RF_PARAM, CrossbarColumn
from .crossbar_params import OTA_SIZES, column_params, r_f_expr, r_f_value
from .gaincell_common import P_CINT, P_OTA_IBIAS, P_VREF

#: crossbar-column parameters the bench shares, with the shipped sweep's TIA as the
#: default (characterize/defaults.py "crossbar-column": 40 uA tail, r_f 25 ohm, Rz 2.5
#: kOhm, g_on 100 uS, 128 rows: the architectures' tile)
_SHARED = {"rows": 128, "g_on_us": 100.0, "g_off_us": 1.0, "v_read_v": 0.2, "v0_v": None,
           "c_bl_cell_ff": None, "r_f_ohm": 25.0, "c_f_ff": None, "v_cm_v": None,
           "ota_ibias_a": 40e-6, "ota_cc_ff": None, "ota_rz_ohm": 2500.0,
           "ota_n2_min": None, "i_design_frac": None, "tia_swing_v": None,
           **{f"ota_{f}": None for f in OTA_SIZES}}
N2_PARAM, ICOL_PARAM = "tia_n2", "i_design_a"
STEP_S, STEP_TIGHT_S = 5e-12, 1e-12
#: when the read's input current is read back: mid-way through an integration
T_IN_READ_S = gated_ota.T_READ_S + gated_ota.T_INTEGRATE_S / 2

_OUTPUTS = (
    Output("t_wake_s", "s", (), "enable to the output settled within the band of its "
           "resting value"),
    Output("e_wake_j", "J", (), "the OTA supply's energy over the wake-up"),
    Output("p_on_w", "W", (), "the OTA's supply power at the end of the read"),
    Output("p_off_w", "W", (), "the OTA's supply power, gated off (leakage)"),
    Output("e_off_j", "J", (), "the OTA supply's energy after the disable"),
    Output("v_out_v", "V", (), "the output at the end of the read"),
    Output("i_in_a", "A", (), "the read's input current"),
    Output("p_bias_w", "W", (), "the always-on bias generator's supply power"),
    Output("dv_bias_v", "V", (), "the bias line at the read's start less its value before "
           "the enable: what the wake left of its disturbance"),
    Output("dv_bias_max_v", "V", (), "the bias line's largest excursion from its value "
           "before the enable, over the wake and the read"),
)


def tia_lines(p, c_dec_f, on: bool = False, g_col_s: str | None = None,
              n_share: int = 1) -> list[str]:
    """Netlist lines of the crossbar column's TIA bench (``gated_ota.tia_bench``; ``on``:
    enabled, DC sources) with crossbar-column's parameters ``p``: the design current
    I_design (its ``full_scale_expr``), the output stage sized for it, the OTA's sizes and
    the feedback as that deck sets them (``tia_swing_v`` > 0: the swing over the column
    conductance ``g_col_s``, an expression in S, by default the design load's);
    bias-line decoupling ``c_dec_f`` (F) shared by ``n_share`` TIAs."""
    design = CrossbarColumn.full_scale_expr({**p, "device": "1t1r"})
    g_design = f"{int(p['rows'])}*(g_off_us+i_design_frac*(g_on_us-g_off_us))*1e-6"
    o = ota.OtaParams(ibias_a=ParamRef("ota_ibias_a"), n2=ParamRef(N2_PARAM),
                      cc_f=ParamRef("ota_cc_ff", 1e-15), rz_ohm=ParamRef("ota_rz_ohm"),
                      **{f: ParamRef(f"ota_{f}") for f in OTA_SIZES})
    return [f".param {ICOL_PARAM}={{{design}}}",
            f".param {N2_PARAM}=" + ota.output_stage_scale_expr(
                ICOL_PARAM, "ota_ibias_a", float(ota.OtaParams.k2), "ota_n2_min"),
            f".param {RF_PARAM}={{{r_f_expr({**p, 'device': '1t1r'}, g_col_s or g_design)}}}",
            *gated_ota.tia_bench(o, ParamRef(ICOL_PARAM), ParamRef(RF_PARAM),
                                 ParamRef("c_f_ff", 1e-15),
                                 ParamRef("c_bl_cell_ff", int(p["rows"]) * 1e-15),
                                 c_dec_f, ParamRef("v_cm_v"), on=on, n_share=n_share)]


def tia_bench_params() -> tuple[Param, ...]:
    by_name = {q.name: q for q in column_params()}
    return tuple(by_name[n] if d is None else dataclasses.replace(by_name[n], default=d)
                 for n, d in _SHARED.items())


def _common_params(band: str) -> tuple[Param, ...]:
    return (
        # Assumption: a stiff bias line (a bias buffer or ~1 nF of decoupling shared by
        # the array). With the generator's diode alone (~20 pF) each wake dips the line
        # and the wake takes 71-88 ns (docs/devices.md)
        Param("c_dec_f", 1e-9, "F", "bias-line decoupling, shared by the array [default: "
              "assumption, a stiff line]", min=1e-12, max=1e-6),
        # 1: the bench's line holds this amplifier alone (what the shipped models price);
        # a tile's 2 x cols TIAs or an array's integrators woken together draw n_share
        # times its charge from one line (docs/devices.md "The shared bias line")
        IntParam("n_share", 1, "", "amplifiers on the bias line, woken together (the "
                 "observed one and n_share - 1 identical others)", min=1, max=4096,
                 structural=True),
        Param("settle_frac", 0.01, "", f"settled within this fraction of {band}",
              min=1e-4, max=0.2),
        Param("tight", "no", "", "numerics: 'no' (reltol 1e-4, 5 ps steps) or 'yes' "
              "(Gear, reltol 1e-6, 1 ps: the reference run)", choices=("no", "yes"),
              kind="choice", structural=True),
    )


class _Wake(Recipe):
    """What both wake recipes share: numerics, the transient, the measurement."""

    outputs = _OUTPUTS

    def options(self, p) -> str:
        return (".options reltol=1e-6 method=gear" if p["tight"] == "yes"
                else ".options reltol=1e-4")

    def commands(self, p):
        step = format_number(STEP_TIGHT_S if p["tight"] == "yes" else STEP_S)
        return [f"tran {step} {format_number(gated_ota.T_END_S)} 0 {step}"]

    def band_v(self, p, i_in_a: float) -> float:
        raise NotImplementedError

    def measure(self, vec, p):
        t = np.asarray(vec["time"])
        i_in = abs(value_at(t, np.asarray(vec["vsense#branch"]), T_IN_READ_S))
        # Vdd feeds every amplifier on the line: the observed one's share
        return wake(t, np.asarray(vec["out"]),
                    -gated_ota.VDD_V * np.asarray(vec["vdd#branch"]) / p["n_share"],
                    self.band_v(p, i_in), i_in,
                    -gated_ota.VDD_V * np.asarray(vec["vbg#branch"]), np.asarray(vec["vbp"]))


@register_recipe
class TiaWake(_Wake):
    """Power-gated crossbar TIA: wake-up time and energy before its read."""

    name = "tia-wake"
    version = 3
    summary = ("power-gated bit-line TIA (SKY130 OTA of crossbar-column): wake-up time and "
               "energy, on and off supply power")
    params = tia_bench_params() + _common_params("the read's swing I_design x r_f [default: "
                                            "1 %, crossbar-column's t_settle_s band]")

    def body(self, tech, p):
        return [*tia_lines(p, ParamRef("c_dec_f"), n_share=int(p["n_share"])),
                self.options(p)]

    def band_v(self, p, i_in_a):
        # the feedback as tia_lines sets it: trimmed to the design current, which is the
        # read's input current (i_in_a, within 1e-6: tests/test_wake.py)
        r_f = (r_f_value(p["r_f_ohm"], p["tia_swing_v"], i_in_a) if p["tia_swing_v"] > 0
               else p["r_f_ohm"])
        return p["settle_frac"] * r_f * i_in_a


@register_recipe
class IntegratorWake(_Wake):
    """Power-gated gain-cell column integrator: wake-up time and energy before its read."""

    name = "integrator-wake"
    version = 3
    summary = ("power-gated gain-cell column integrator (SKY130 OTA of gaincell-readout): "
               "wake-up time and energy, on and off supply power")
    params = (P_CINT, P_VREF, P_OTA_IBIAS,
              # gaincell-readout's bit line and ramp (its defaults)
              Param("cin_f", 12.8e-15, "F", "bit-line capacitance at the integrator input "
                    "[default: gaincell-readout's, 64 rows x 0.2 fF]", min=0.0, max=1e-12),
              Param("ramp_span_v", float(ReadoutParams.ramp_span_v), "V",
                    "the readout's ramp span: the band's scale [default: gaincell-readout's]",
                    min=0.05, max=1.8),
              # the description prices a conversion at 200 fC (gaincell.toml readout)
              Param("q_in_c", 200e-15, "C", "charge integrated in the read [default: the "
                    "gain-cell description's mid-scale 200 fC]", min=0.0, max=800e-15),
              ) + _common_params("the readout's ramp span [default: 1 %, 9 mV: a third of a "
                                 "5-bit LSB]")

    def body(self, tech, p):
        o = ota.OtaParams(ibias_a=ParamRef("ota_ibias_a"))
        # drawn out of the input, as the cells sink it (gaincell-readout)
        i_in = ParamRef("q_in_c", -1.0 / gated_ota.T_INTEGRATE_S)
        return [*gated_ota.integrator_bench(o, ParamRef("cint_f"), i_in, ParamRef("cin_f"),
                                            ParamRef("c_dec_f"), ParamRef("vref_v"),
                                            n_share=int(p["n_share"])),
                self.options(p)]

    def band_v(self, p, i_in_a):
        return p["settle_frac"] * p["ramp_span_v"]


def wake(t, v_out, p_ota, band_v: float, i_in_a: float, p_bias, v_bias) -> dict[str, float]:
    """The outputs from a bench's waveforms (s, V, W; ``band_v`` V, ``i_in_a`` A;
    ``p_bias`` W, the bias generator's supply power; ``v_bias`` V, the bias line)."""
    t_set, t_rest = gated_ota.T_OFF_S - 1e-9, gated_ota.T_READ_S - 1e-9
    rest = value_at(t, v_bias, gated_ota.T_ON_S - 1e-9)
    waking = (t >= gated_ota.T_ON_S) & (t <= gated_ota.T_READ_S)
    far = np.abs(v_out - value_at(t, v_out, t_rest)) > band_v
    outside = np.nonzero(waking & far)[0]
    t_wake = float(t[outside[-1]] - gated_ota.T_ON_S) if len(outside) else 0.0
    return {"t_wake_s": t_wake, "p_on_w": value_at(t, p_ota, t_set),
            "e_wake_j": charge(t, p_ota, gated_ota.T_ON_S, gated_ota.T_ON_S + t_wake),
            "e_off_j": charge(t, p_ota, gated_ota.T_OFF_S, gated_ota.T_END_S),
            "p_off_w": value_at(t, p_ota, gated_ota.T_ON_S - 1e-9),
            "v_out_v": value_at(t, v_out, t_set), "i_in_a": i_in_a,
            "p_bias_w": value_at(t, p_bias, gated_ota.T_ON_S - 1e-9),
            "dv_bias_v": value_at(t, v_bias, gated_ota.T_READ_S) - rest,
            "dv_bias_max_v": float(np.max(np.abs(v_bias[(t >= gated_ota.T_ON_S)
                                                        & (t <= gated_ota.T_OFF_S)] - rest)))}
