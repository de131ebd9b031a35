"""Gain-cell readout (recipe ``gaincell-readout``): column integrator and charge-to-pulse
conversion, transfer and saturation; family overview in :mod:`.gaincell`."""
from __future__ import annotations

import numpy as np

from ...circuits import gaincell as gc
from ...circuits import ota
from ...circuits.netlist import ParamRef
from ..params import Param, format_number
from ..recipe import Axis, Output, Recipe, register_recipe
from ..waveform import charge, high_time, value_at
from .gaincell_common import (NUMERICS_OPTIONS, P_A0, P_CINT, P_GBW, P_INTEGRATOR,
                              P_NUMERICS, P_OTA_IBIAS, P_VREF, T_RST_S, integrator_params,
                              ota_params, tran_line)

_RO = gc.ReadoutParams   # parameter defaults: one source of truth (circuits/gaincell.py)

T_IN0_S = 2e-9                            # input current starts (reset released at 1 ns)
T_IN_S = gc.T_QUERY_MAX_S                 # input charge delivered over 15 ns
T_C0_S = T_IN0_S + T_IN_S + 1e-9          # conversion (ramp) starts
T_RAMP_S = gc.T_QUERY_MAX_S               # ramp window = maximum output pulse (15 ns)
T_RO_END_S = T_C0_S + T_RAMP_S + 2e-9


@register_recipe
class GainCellReadout(Recipe):
    """Column integrator and charge-to-pulse transfer, with saturation.

    One integrator + comparator copy per input charge ``q_in_c`` (one deck, one
    transient). Each integrator is, by default (``integrator = "ota"``), the SKY130
    two-stage Miller OTA of ``circuits/ota.py`` (bias ``ota_ibias_a``, its own 1.8 V
    supply) with ``cint_f`` in feedback and a SKY130 nfet reset switch; the labelled
    option ``integrator = "behavioral"`` is the former single-pole B-source op-amp
    (``a0``, ``gbw_hz``, output clamped to 0–1.8 V, no supply). It is reset until 1 ns;
    an ideal current source
    then draws q_in from its input over 15 ns (the bit-line capacitance ``cin_f`` on the
    input). From 18 ns a shared ramp rises from ``v_ramp0_v`` by ``ramp_span_v`` over
    15 ns while the conversion window is open; each comparator's output is high while its
    integrator output exceeds the ramp. Output pulse width = clip(q/(cint·S), 0, 15 ns)
    with S the ramp slope: a clipped linear activation (REFERENCE.md). Beyond
    cint·(1.8 V - vref) the integrator itself clamps.

    ``e_int_j``: energy the integrator's OTA draws from its supply over the whole
    conversion (0 .. 35 ns: reset, integration, ramp compare), ∫ VDD·I_DD dt; a class-A
    OTA draws its bias current whether or not charge flows, so this is nearly its static
    power times the window (the OTA is assumed power-gated outside it). NaN for the
    behavioral op-amp (it has no supply). The comparator (behavioral here) and the ramp
    generator are not in it: the comparator's energy per decision is its own model's
    (kind ``comparator``).
    """

    name = "gaincell-readout"
    # v3: the OTA integrator's reset switch with junction areas, its input gates
    # behind their poly resistance
    version = 3   # v2: SKY130 OTA integrator by default, e_int_j, numerics
    summary = "gain-cell column integrator + charge-to-pulse transfer and saturation"
    params = (P_CINT, P_A0, P_GBW, P_VREF, P_INTEGRATOR, P_OTA_IBIAS,
              P_NUMERICS,
              Param("cin_f", 12.8e-15, "F", "bit-line capacitance at the integrator input",
                    min=0.0, max=1e-12),  # assumption: 64 rows x 0.2 fF wiring
              Param("v_ramp0_v", _RO.v_ramp0_v, "V", "ramp start (integrator level giving "
                    "no pulse)", min=0.0, max=1.8),  # assumption: = vref, so Q <= 0 gives no pulse
              Param("ramp_span_v", _RO.ramp_span_v, "V", "ramp rise over the 15 ns window",
                    min=0.05, max=1.8),  # assumption: full scale = cint x 0.9 V = 450 fC
              Param("vdd_v", _RO.vdd_v, "V", "logic level of the output pulse",
                    min=0.5, max=1.8))  # assumption: drives 0.9 V word lines (REFERENCE.md)
    outputs = (
        Output("t_out_s", "s", ("q_in_c",), "output pulse width vs input charge"),
        Output("v_int_v", "V", ("q_in_c",), "integrator output at the end of integration"),
        Output("gain_s_per_c", "s/C", (), "slope of the pulse width in its linear range"),
        Output("q_sat_c", "C", (), "input charge where the pulse width reaches 99 % of its "
               "maximum (saturation)"),
        Output("t_out_max_s", "s", (), "largest output pulse width"),
        Output("e_int_j", "J", ("q_in_c",), "integrator OTA supply energy over one "
               "conversion (35 ns); NaN for the behavioral op-amp"),
    )
    Q = tuple(float(x) for x in np.linspace(-100e-15, 800e-15, 19))  # 50 fC steps

    def inner_axes(self, p):
        return [Axis("q_in_c", "C", self.Q)]

    def body(self, tech, p):
        e = gc.T_READ_EDGE_S
        ramp0, vdd = ParamRef("v_ramp0_v"), ParamRef("vdd_v")
        ramp_end = ParamRef("v_ramp0_v", plus=("ramp_span_v",))
        use_ota = p["integrator"] == "ota"
        lines = [gc.include_line(), NUMERICS_OPTIONS[p["numerics"]], "Vvref vref 0 {vref_v}",
                 gc.pwl("rst", "rst", [(0.0, 1.8), (T_RST_S - 100e-12, 1.8), (T_RST_S, 0.0)]),
                 ".nodeset v(rst)=1.8",
                 gc.pwl("ramp", "ramp", [(0.0, ramp0), (T_C0_S, ramp0),
                                         (T_C0_S + T_RAMP_S, ramp_end)]),
                 gc.pwl("en", "en", [(0.0, 0.0), (T_C0_S - 10e-12, 0.0), (T_C0_S, vdd),
                                     (T_C0_S + T_RAMP_S, vdd),
                                     (T_C0_S + T_RAMP_S + 10e-12, 0.0)])]
        ip, rp = integrator_params(), gc.ReadoutParams()
        if use_ota:
            lines += ota.subckt()
        op = ota_params()
        for k, q in enumerate(self.Q):
            a = q / T_IN_S
            pts = [(0.0, 0.0), (T_IN0_S, 0.0), (T_IN0_S + e, a), (T_IN0_S + T_IN_S, a),
                   (T_IN0_S + T_IN_S + e, 0.0)]
            lines += [
                # current drawn out of the integrator input = charge sunk by the cells
                f"Iin{k} in{k} 0 PWL(" + " ".join(f"{format_number(t)} {format_number(v)}"
                                                  for t, v in pts) + ")",
                f"Cin{k} in{k} 0 {{cin_f}}",
                gc.c2p(f"c2p{k}", f"vout{k}", "ramp", "en", f"pout{k}", rp),
            ]
            if use_ota:   # own supply per copy: its current is this integrator's
                lines.append(f"Vdd{k} vdd{k} 0 1.8")
            lines += gc.column_integrator(f"int{k}", f"in{k}", f"vout{k}", "vref", "rst",
                                          f"vdd{k}", p["integrator"], ip, op)
        return lines

    def simulate(self, ng, p):
        vec = ng.run([tran_line(p["numerics"], 10e-12, T_RO_END_S, 50e-12)])
        t = np.asarray(vec["time"])
        widths, vint, e_int = [], [], []
        for k in range(len(self.Q)):
            e_int.append(1.8 * charge(t, -np.asarray(vec[f"vdd{k}#branch"]), 0.0, T_RO_END_S)
                         if p["integrator"] == "ota" else float("nan"))
            pout = np.asarray(vec[f"pout{k}"])
            widths.append(high_time(t, pout, p["vdd_v"] / 2))
            vint.append(value_at(t, np.asarray(vec[f"vout{k}"]), T_C0_S))
        w = np.asarray(widths)
        q = np.asarray(self.Q)
        wmax = float(np.max(w))
        lin = (w > 0.05 * T_RAMP_S) & (w < 0.95 * T_RAMP_S)
        gain = float(np.polyfit(q[lin], w[lin], 1)[0]) if np.count_nonzero(lin) >= 2 \
            else float("nan")
        sat = np.nonzero(w >= 0.99 * wmax)[0]
        q_sat = float("nan")
        if wmax > 0 and len(sat) and sat[0] > 0:
            j = int(sat[0])
            q_sat = float(q[j - 1] + (0.99 * wmax - w[j - 1]) * (q[j] - q[j - 1])
                          / (w[j] - w[j - 1]))
        return {"t_out_s": w, "v_int_v": vint, "gain_s_per_c": gain, "q_sat_c": q_sat,
                "t_out_max_s": wmax, "e_int_j": e_int}
