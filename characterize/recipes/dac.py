"""Crossbar input DAC recipes (SKY130, transient): the bit-serial word-line driver and a
resistor-string multi-level DAC, both driving a crossbar row line.

Circuits: ``circuits/dac.py`` (topologies, the per-cell row capacitance and where it
comes from). Energies are integrated supply power (-V·I of each supply source) over the
stated window; the pulse/step sources that stand for the upstream logic are not counted.

* ``dac`` (bit-serial driver): one '1' bit = the row line driven from 0 to ``v_wl_v``
  and back. ``e_drive_j`` = energy from VDD and the word-line rail over that pulse
  (rise, hold ``t_bit_s``, fall, and the settle after it); ``e_rail_j`` the rail's part
  (~C_line·V_wl^2), ``e_vdd_j`` the chain's and switch gates'. ``t_settle_s``: from the
  input's 50 % edge to the far end of the line staying within 1 % of ``v_wl_v``.
  The chain is sized for the switch, the switch for the row (``w_sw_per_cell_um``), so
  ``n_cells`` changes the netlist.
* ``dac-multilevel`` (resistor string, ``bits``): static transfer from the tap
  voltages (``op``; no DC load on the output, so the output equals the selected tap):
  INL_k = V_k/(V_ref/N) - k and DNL_k = (V_{k+1} - V_k)/(V_ref/N) - 1 against the
  string's own ends 0 and V_ref (N = 2^bits codes); resistor mismatch: relative sigma
  ``sigma_r_rel`` per resistor, drawn with ``mismatch_seed`` (numpy; the netlist holds
  the drawn values). Then a transient: code 0 -> full scale (N-1) at ``t0``;
  ``e_conv_j`` = energy from V_ref over ``t_conv_s`` (string's static current + the
  row's charge), ``t_settle_s`` to within 0.5 LSB at the far end.

Numerics (issue 11, tests/test_tight_tolerance.py): both decks run at reltol 1e-4
(ngspice's default 1e-3 left the drive energies 0.6-1.4 % off a Gear / reltol 1e-5 /
4x-finer-step reference) with the maximum step at ``t_bit_s``/800 (dac) and
``t_conv_s``/200 (dac-multilevel). Measured against that reference over n_cells 32-512
and 0.1-0.55 V: dac e_rail 0.07 %, e_vdd 0.16 %, t_settle 0.12 %; dac-multilevel
e_conv 0.02 %, t_settle 0.45 % (trapezoidal rule: its sampled currents integrate to the
capacitors' charge exactly; Gear at the same steps was no closer).
"""
from __future__ import annotations

import numpy as np

from ...circuits import dac as dc
from ...circuits.netlist import ParamRef
from ..npy_param import IntParam
from ..params import Param, format_number
from ..recipe import Output, Recipe, register_recipe
from ..waveform import charge, settling_time

#: the decks' tolerance (module docstring: measured against the tight reference)
_OPTIONS = ".options reltol=1e-4"
#: input edge of the bit pulse and of the tap-select gates (assumption: fast upstream logic)
_T_EDGE_S = 50e-12
_T_START_S = 0.2e-9

_LINE_PARAMS = (
    Param("r_wl_ohm", 5.0, "ohm", "word-line resistance per cell [default: crossbar "
          "WireParams r_wl_ohm, REFERENCE.md ~1-10 ohm per cell]", min=1e-3, max=1e3),
    Param("c_wl_cell_ff", 1.0, "fF", "row capacitance per cell [default: the crossbar "
          "recipe's c_wl_cell_ff; derived for SKY130 in circuits/dac.py: met1 wire ~0.2 fF "
          "+ access-nfet drain junction and overlap ~0.75 fF]", min=0.0, max=100.0),
    Param("vdd_v", 1.8, "V", "logic supply [default: SKY130 1.8 V core]", min=1.2, max=1.98),
)


def _supply_energy(r, t0, t1, sources):
    """-∫ V·I dt of ``sources`` ((name, volts) pairs: DC supplies) over [t0, t1], J: each
    supply's volts times the charge it delivers, integrated with the window's ends
    interpolated (a window end between two time points otherwise drops up to one step
    of the static current: ~1 % of dac-multilevel's energy at 100 steps per window)."""
    t = np.asarray(r["time"])
    return float(sum(-v * charge(t, np.asarray(r[f"{name}#branch"]), t0, t1)
                     for name, v in sources))


@register_recipe
class DacDriver(Recipe):
    name = "dac"
    summary = "bit-serial word-line driver (inverter chain + switch) into a crossbar row"
    # v2: reltol 1e-4, max step t_bit/800 (was 1e-3, /200): within 0.2 % of the tight run
    version = 2
    params = (
        IntParam("n_cells", 256, "", "1T1R cells on the row line [default: RACE-IT/HeTraX "
                 "tile, 128 columns x G+/G- = 256 cells]", min=4, max=2048, structural=True),
        Param("v_wl_v", 0.2, "V", "word-line rail = the read voltage a '1' applies [default: "
              "race-it/hetrax crossbar v_read_v]", min=0.05, max=1.98),
        Param("t_bit_s", 5e-9, "s", "bit period: the line is held for this long [default: "
              "assumption]", min=0.2e-9, max=1e-6),
        Param("taper", 4.0, "", "stage-to-stage width ratio of the chain [default: fanout-"
              "of-4, Weste & Harris Sec. 4.5]", min=2.0, max=8.0, structural=True),
        Param("w_sw_per_cell_um", 1.0 / 64, "um", "switch nfet width per cell of the row "
              "[default: assumption: 4 um for 256 cells, switch on-resistance ~1/5 of the "
              "row's 1.28 kOhm]", min=1e-4, max=1.0, structural=True),
    ) + _LINE_PARAMS
    outputs = (
        Output("e_drive_j", "J", (), "energy of one '1' bit drive (VDD + rail), J"),
        Output("e_rail_j", "J", (), "part from the word-line rail (~C_line V_wl^2)"),
        Output("e_vdd_j", "J", (), "part from VDD (chain and switch gates)"),
        Output("t_settle_s", "s", (), "input 50 % edge to far end within 1 % of v_wl_v"),
        Output("c_line_f", "F", (), "row capacitance n_cells x c_wl_cell_ff (input)"),
        Output("stages", "", (), "inverter stages of the chain"),
    )

    def timeout_s(self, p):
        return 60.0

    @staticmethod
    def sizing(p):
        w_sw = max(0.42, p["n_cells"] * p["w_sw_per_cell_um"])
        c_gates = dc.COX_FF_PER_UM2 * 0.15 * 4 * w_sw     # switch gates the chain drives
        return w_sw, dc.chain_widths(c_gates, 0.42, 1.0, p["taper"])

    def body(self, tech, p):
        w_sw, widths = self.sizing(p)
        te = format_number(_T_EDGE_S)
        return [
            _OPTIONS,
            "Vdd vdd 0 {vdd_v}",
            "Vwl vwl 0 {v_wl_v}",
            f"Vin in 0 PULSE(0 {{vdd_v}} {format_number(_T_START_S)} {te} {te} {{t_bit_s}} 1)",
            *dc.driver_lines(widths, w_sw, "in", "line0", "vdd", "vwl"),
            *dc.line_lines(p["n_cells"], ParamRef("r_wl_ohm"), ParamRef("c_wl_cell_ff")),
        ]

    def simulate(self, ng, p):
        tb = p["t_bit_s"]
        tstop = _T_START_S + 2 * tb + 2 * _T_EDGE_S
        r = ng.run([f"tran {format_number(tb / 800)} {format_number(tstop)} 0 "
                    f"{format_number(tb / 800)}"])
        t = r["time"]
        e_vdd = _supply_energy(r, 0.0, tstop, [("vdd", p["vdd_v"])])
        e_rail = _supply_energy(r, 0.0, tstop, [("vwl", p["v_wl_v"])])
        far = r[f"line{dc.LINE_SEGMENTS}"]
        t50 = _T_START_S + _T_EDGE_S / 2
        hold = t <= _T_START_S + tb
        ts = settling_time(t[hold], far[hold], p["v_wl_v"], 0.01)
        _, widths = self.sizing(p)
        return {"e_drive_j": e_vdd + e_rail, "e_rail_j": e_rail, "e_vdd_j": e_vdd,
                "t_settle_s": ts - t50, "c_line_f": p["n_cells"] * p["c_wl_cell_ff"] * 1e-15,
                "stages": float(len(widths))}


@register_recipe
class DacMultilevel(Recipe):
    name = "dac-multilevel"
    summary = "resistor-string DAC into a crossbar row: energy, settling, INL/DNL"
    # v2: energy window ends interpolated, reltol 1e-4, max step t_conv/200 (was /100)
    version = 2
    params = (
        IntParam("bits", 4, "", "resolution (2^bits resistors and taps) [default: "
                 "assumption]", min=1, max=8, structural=True),
        Param("n_cells", 256, "", "1T1R cells on the row line [default: as dac]",
              min=1, max=2048),
        Param("v_ref_v", 0.2, "V", "top of the string = full scale [default: the read "
              "voltage of race-it/hetrax]", min=0.05, max=1.8),
        Param("r_unit_ohm", 500.0, "ohm", "unit resistor [default: assumption: 16 x 500 "
              "ohm = 8 kOhm string, 25 uA at 0.2 V]", min=1.0, max=1e6, structural=True),
        Param("sigma_r_rel", 0.0, "", "relative mismatch sigma per resistor [default: 0, "
              "ideal; SKY130 poly resistors ~0.5-1 % for small areas]", min=0.0, max=0.2,
              structural=True),
        IntParam("mismatch_seed", 0, "", "seed of the resistor draw", min=0, max=2**31 - 1,
                 structural=True),
        Param("w_sw_um", 2.0, "um", "tap transmission-gate width (nfet and pfet) "
              "[default: assumption]", min=0.42, max=100.0),
        Param("t_conv_s", 5e-9, "s", "conversion window the energy is integrated over "
              "[default: assumption, as dac's t_bit_s]", min=0.2e-9, max=1e-6),
    ) + _LINE_PARAMS
    outputs = (
        Output("e_conv_j", "J", (), "energy from V_ref over t_conv_s, code 0 -> full scale"),
        Output("p_static_w", "W", (), "string's static power V_ref^2 / R_string (DC)"),
        Output("t_settle_s", "s", (), "far end of the row within 0.5 LSB, after the code "
                                      "change (may exceed t_conv_s: then the window is "
                                      "too short for this row)"),
        Output("inl_max_lsb", "", (), "max |INL| over codes, LSB = V_ref / 2^bits"),
        Output("dnl_max_lsb", "", (), "max |DNL| over codes"),
        Output("inl_mid_lsb", "", (), "INL at the middle code 2^(bits-1) (signed)"),
    )

    @staticmethod
    def r_rel(p) -> np.ndarray:
        n = 2 ** int(p["bits"])
        if p["sigma_r_rel"] == 0:
            return np.ones(n)
        rng = np.random.default_rng(int(p["mismatch_seed"]))
        return np.maximum(1 + p["sigma_r_rel"] * rng.standard_normal(n), 1e-3)

    def body(self, tech, p):
        N = 2 ** int(p["bits"])
        t0, te = format_number(_T_START_S), format_number(_T_EDGE_S)
        lines = [_OPTIONS, "Vdd vdd 0 {vdd_v}", "Vref vref 0 {v_ref_v}"]
        for k in range(N):
            # code 0 selected until t0, then the full-scale code N-1 (complementary gates)
            lo, hi = ("{vdd_v}", "0") if k == 0 else ("0", "{vdd_v}") if k == N - 1 \
                else ("0", "0")
            lines.append(f"Vg{k} g{k} 0 PWL(0 {lo} {t0} {lo} {{{_T_START_S}+{te}}} {hi})")
            lines.append(f"Egb{k} g{k}_b 0 vdd g{k} 1")   # complement: VDD - g
        lines += dc.rstring_lines(p["r_unit_ohm"], self.r_rel(p), [f"g{k}" for k in range(N)],
                                  "vref", "line0", "vdd", ParamRef("w_sw_um"))
        lines += dc.line_lines(ParamRef("n_cells"), ParamRef("r_wl_ohm"),
                               ParamRef("c_wl_cell_ff"))
        return lines

    def simulate(self, ng, p):
        N = 2 ** int(p["bits"])
        op = ng.run(["op"])
        taps = np.array([0.0] + [float(op[f"tap{k}"][0]) for k in range(1, N)]
                        + [float(op["vref"][0])])
        lsb = p["v_ref_v"] / N
        inl = taps[:N] / lsb - np.arange(N)
        dnl = np.diff(taps[:N]) / lsb - 1
        p_static = -p["v_ref_v"] * float(op["vref#branch"][0])
        tc = p["t_conv_s"]
        # the energy window is t_conv_s; the run goes on to 8 x that so the settling time
        # is found even where it exceeds the window (the conversion is then too short)
        tstop = _T_START_S + 8 * tc
        r = ng.run([f"tran {format_number(tc / 800)} {format_number(tstop)} 0 "
                    f"{format_number(tc / 200)}"])
        t = r["time"]
        e = _supply_energy(r, _T_START_S, _T_START_S + tc, [("vref", p["v_ref_v"])])
        far = r[f"line{dc.LINE_SEGMENTS}"]
        after = t >= _T_START_S
        final = taps[N - 1]
        ts = settling_time(t[after], far[after], final,
                           0.5 * lsb / max(abs(final - far[after][0]), 1e-30))
        return {"e_conv_j": e, "p_static_w": p_static, "t_settle_s": ts - _T_START_S,
                "inl_max_lsb": float(np.max(np.abs(inl))),
                "dnl_max_lsb": float(np.max(np.abs(dnl))) if len(dnl) else 0.0,
                "inl_mid_lsb": float(inl[N // 2])}
