"""Wake-up of a power-gated bit-line TIA (recipe ``tia-wake``): how long the crossbar
column's OTA transimpedance amplifier takes to settle after its enable, and what that
costs, which the crossbar-column deck (its OTA starts biased) does not measure.

The bench is ``circuits/tia_wake.py``: the OTA of the crossbar-column deck (same
parameter names and meaning: tail ``ota_ibias_a``, Miller ``ota_cc_ff`` / ``ota_rz_ohm``,
feedback ``r_f_ohm`` / ``c_f_ff``, reference ``v_cm_v``), its output stage sized as that
deck sizes it, for the column's design current I_design = rows x (g_off + i_design_frac x
(g_on - g_off)) x v0 sinh(v_read / v0) (the 1T1R law of crossbar-column's
``full_scale_expr``), gated between reads (``ota.gated_subckt``: tail and output stage off,
the array's bias line kept by one always-on generator, decoupled by ``c_dec_f``). The
enable rises with no column current (the TIA wakes before its read); 100 ns later the
column current steps to I_design into a bit line of rows x ``c_bl_cell_ff`` (lumped: the
cells' conductance, ~300 ohm at 128 rows against r_f = 25 ohm, changes the loop's noise
gain by < 10 %, and is left out): the read, which crossbar-column measures and prices.

Outputs, all scalars: ``t_wake_s`` (enable to the last time the output is further than
``settle_frac`` of the read's swing I_design x r_f from its resting value 1 ns before the
read), ``e_wake_j`` (the OTA supply's energy over that wake: what gating the TIA between
reads adds to each read, next to the read's own e_tia_j), ``p_on_w`` (the OTA's supply
power at the end of the read), ``p_off_w`` (gated off, before the enable), ``e_off_j``
(after the disable, to the end), ``v_out_v`` (the read's settled output), ``i_col_a``
(the read's column current, through a 0 V sense source).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ...circuits import ota, tia_wake
from ...circuits.netlist import ParamRef
from ..params import Param, format_number
from ..recipe import Output, Recipe, register_recipe
from ..waveform import charge, value_at
from .crossbar import CrossbarColumn
from .crossbar_params import column_params

#: crossbar-column parameters the bench shares, with the shipped sweep's TIA as the
#: default (characterize/defaults.py "crossbar-column": 40 uA tail, r_f 25 ohm, Rz 2.5
#: kOhm, g_on 100 uS, 128 rows: the architectures' tile)
_SHARED = {"rows": 128, "g_on_us": 100.0, "g_off_us": 1.0, "v_read_v": 0.2, "v0_v": None,
           "c_bl_cell_ff": None, "r_f_ohm": 25.0, "c_f_ff": None, "v_cm_v": None,
           "ota_ibias_a": 40e-6, "ota_cc_ff": None, "ota_rz_ohm": 2500.0,
           "ota_n2_min": None, "i_design_frac": None}
N2_PARAM, ICOL_PARAM = "tia_n2", "i_design_a"
STEP_S, STEP_TIGHT_S = 5e-12, 1e-12


def _params() -> tuple[Param, ...]:
    by_name = {q.name: q for q in column_params()}
    shared = tuple(by_name[n] if d is None else dataclasses.replace(by_name[n], default=d)
                   for n, d in _SHARED.items())
    return shared + (
        # Assumption: a stiff bias line (a bias buffer or ~1 nF of decoupling shared by
        # the array). With the generator's diode alone (~20 pF) each wake dips the line
        # and the wake takes 65-82 ns (docs/devices.md)
        Param("c_dec_f", 1e-9, "F", "bias-line decoupling, shared by the array [default: "
              "assumption, a stiff line]", min=1e-12, max=1e-6),
        # the crossbar-column deck's t_settle_s band
        Param("settle_frac", 0.01, "", "settled within this fraction of the swing "
              "I_design x r_f [default: 1 %, crossbar-column's t_settle_s]",
              min=1e-4, max=0.2),
        Param("tight", "no", "", "numerics: 'no' (reltol 1e-4, 5 ps steps) or 'yes' "
              "(Gear, reltol 1e-6, 1 ps: the reference run)", choices=("no", "yes"),
              kind="choice", structural=True),
    )


@register_recipe
class TiaWake(Recipe):
    """Power-gated crossbar TIA: wake-up time and energy after its enable."""

    name = "tia-wake"
    version = 1
    summary = ("power-gated bit-line TIA (SKY130 OTA of crossbar-column): wake-up time and "
               "energy, on and off supply power")
    params = _params()
    outputs = (
        Output("t_wake_s", "s", (), "enable to the output settled within settle_frac of its "
               "swing"),
        Output("e_wake_j", "J", (), "the OTA supply's energy over the wake-up"),
        Output("p_on_w", "W", (), "the OTA's supply power, enabled and settled"),
        Output("p_off_w", "W", (), "the OTA's supply power, gated off (leakage)"),
        Output("e_off_j", "J", (), "the OTA supply's energy after the disable"),
        Output("v_out_v", "V", (), "the settled output"),
        Output("i_col_a", "A", (), "the column current (design load) during the read"),
    )

    def body(self, tech, p):
        design = CrossbarColumn.full_scale_expr({**p, "device": "1t1r"})
        o = ota.OtaParams(ibias_a=ParamRef("ota_ibias_a"), n2=ParamRef(N2_PARAM),
                          cc_f=ParamRef("ota_cc_ff", 1e-15), rz_ohm=ParamRef("ota_rz_ohm"))
        lines = [f".param {ICOL_PARAM}={{{design}}}",
                 f".param {N2_PARAM}=" + ota.output_stage_scale_expr(
                     ICOL_PARAM, "ota_ibias_a", float(ota.OtaParams.k2), "ota_n2_min")]
        lines += tia_wake.bench(o, ParamRef(ICOL_PARAM), ParamRef("r_f_ohm"),
                                ParamRef("c_f_ff", 1e-15),
                                ParamRef("c_bl_cell_ff", int(p["rows"]) * 1e-15),
                                ParamRef("c_dec_f"), ParamRef("v_cm_v"))
        lines.append(".options reltol=1e-6 method=gear" if p["tight"] == "yes"
                     else ".options reltol=1e-4")
        return lines

    def commands(self, p):
        step = format_number(STEP_TIGHT_S if p["tight"] == "yes" else STEP_S)
        return [f"tran {step} {format_number(tia_wake.T_END_S)} 0 {step}"]

    def measure(self, vec, p):
        t = np.asarray(vec["time"])
        return wake(t, np.asarray(vec["out"]),
                    -tia_wake.VDD_V * np.asarray(vec["vdd#branch"]),
                    np.asarray(vec["vsense#branch"]), p["r_f_ohm"] * p["settle_frac"])


def wake(t, v_out, p_ota, i_col, band_per_a: float) -> dict[str, float]:
    """The outputs from the bench's waveforms (s, V, W, A): the settling band is
    ``band_per_a`` (ohm) x the column current at the end of the read."""
    t_set, t_rest = tia_wake.T_OFF_S - 1e-9, tia_wake.T_READ_S - 1e-9
    v_set, i_read = value_at(t, v_out, t_set), abs(value_at(t, i_col, t_set))
    waking = (t >= tia_wake.T_ON_S) & (t <= tia_wake.T_READ_S)
    far = np.abs(v_out - value_at(t, v_out, t_rest)) > band_per_a * i_read
    outside = np.nonzero(waking & far)[0]
    t_wake = float(t[outside[-1]] - tia_wake.T_ON_S) if len(outside) else 0.0
    return {"t_wake_s": t_wake, "p_on_w": value_at(t, p_ota, t_set),
            "e_wake_j": charge(t, p_ota, tia_wake.T_ON_S, tia_wake.T_ON_S + t_wake),
            "e_off_j": charge(t, p_ota, tia_wake.T_OFF_S, tia_wake.T_END_S),
            "p_off_w": value_at(t, p_ota, tia_wake.T_ON_S - 1e-9), "v_out_v": v_set,
            "i_col_a": i_read}
