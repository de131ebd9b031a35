"""Gain-cell array read with a resistive-capacitive read word line (recipe ``gaincell-array``).

Array of ``rows`` x ``cols`` gain cells (REFERENCE.md "Gain-cell attention": 64 x 64
arrays); circuit and modelling choices in ``circuits/gaincell_array.py``.
"""
from __future__ import annotations

import numpy as np

from ...circuits import gaincell as gc
from ...circuits.netlist import ParamRef
from ...circuits import gaincell_array as ga
from ..params import Param, format_number
from ..recipe import Axis, Output, Recipe, register_recipe
from ..waveform import charge, crossings, high_time
from .gaincell_common import (INT_SUPPLY, P_A0, P_CBL, P_CINT, P_CS, P_GBW, P_INTEGRATOR,
                              P_LREAD, P_OTA_IBIAS, P_VQ, P_VREF, P_VRP, P_VWWLH, P_WRN, P_WRP,
                              T_END_S, T_Q0_S, T_RST_S, cell_params, int_param,
                              integrator_params, integrator_supply_lines, ota_params, rails)

COL_AXIS = tuple(float(m) for m in range(ga.MAX_COLS))
_WL = ga.WordLineParams


@register_recipe
class GainCellArray(Recipe):
    """Per-column charge of a ``rows`` x ``cols`` gain-cell array read through an RC word line.

    Every cell stores ``vs_v`` (initial condition of its storage node, which then floats);
    every row gets the same start-aligned query pulse of width ``t_pulse_s`` (full width at
    half amplitude at the driver, 100 ps edges) and amplitude ``v_query_v``. The read word
    line and its complement are driven from column 0's end through ``r_drv_ohm`` and run
    across the columns as an RC ladder (``r_seg_ohm``, ``c_seg_f`` per column segment),
    loaded at each column by that column's cell (SKY130 gate capacitance). Identical rows
    carry identical waveforms, so ONE word line with one real SKY130 cell per column is
    simulated and each cell's current is mirrored ``rows`` times into its column's bit
    line (as ``gaincell-mac`` does for a column); each column has its own integrator,
    ``gaincell-mac``'s: the SKY130 OTA by default (``integrator = "ota"``,
    ``ota_ibias_a``, all columns on one 1.8 V supply), the behavioral op-amp (``a0``,
    ``gbw_hz``) as the labelled option ``integrator = "behavioral"``. One transient per point; its
    window ends 3 ns after the pulse (at least as late as ``gaincell-mac``'s, 20 ns)
    plus 5 estimated far-end word-line time constants.

    Outputs on the ``col`` axis (64 long; NaN past ``cols``): ``q_col_c`` charge each
    column sinks after the integrator reset; ``t_pulse_eff_s`` the time the word line at
    the column's tap spends above 50 % of ``v_query_v``; ``t_delay_s`` its 50 % rising
    crossing relative to the driver's (NaN where the line never reaches 50 %, e.g. a
    short pulse at the far end of a resistive line); ``q_err_rel`` = (q_m - q_0)/|q_0|
    (meaningless when q_0 is ~0, e.g. ``t_pulse_s`` = 0 or ``vs_v`` at the zero crossing).
    A far column's charge can even change sign when a short pulse arrives strongly
    attenuated (seen: 1 ns pulse, 64 columns, 2 kOhm per segment), presumably because the
    partial swings of the two complementary lines turn the NMOS and PMOS branches on
    unequally (not investigated further).
    """

    name = "gaincell-array"
    # v3: the OTA integrator's reset switch with junction areas, its input gates
    # behind their poly resistance
    version = 3   # v2: SKY130 OTA integrator by default (integrator, ota_ibias_a)
    summary = "gain-cell array: per-column charge, pulse width and error along an RC word line"
    params = (
        Param("cols", 8, "", "columns the read word line crosses (integer)", min=1,
              max=ga.MAX_COLS, structural=True),  # REFERENCE.md: 64 x 64 arrays (up to)
        Param("rows", 64, "", "rows per column (integer; identical rows mirrored)", min=1,
              max=ga.MAX_ROWS, structural=True),  # REFERENCE.md: 64 x 64 arrays
        Param("r_seg_ohm", _WL.r_seg_ohm, "Ohm", "word-line resistance per column segment",
              min=0.0, max=5e3),  # assumption: 0.1 Ohm/um metal x 2 um cell pitch
        Param("c_seg_f", _WL.c_seg_f, "F", "word-line wiring capacitance per column "
              "segment", min=0.0, max=1e-13),  # assumption: 0.2 fF/um x 2 um pitch
        Param("r_drv_ohm", _WL.r_drv_ohm, "Ohm", "word-line driver output resistance",
              min=0.0, max=1e5),  # assumption: sized inverter driver
        Param("t_pulse_s", 10e-9, "s", "query pulse width at the driver",
              min=0.0, max=gc.T_QUERY_MAX_S),  # REFERENCE.md: at most 15 ns; 10 ns assumption
        Param("vs_v", 0.6, "V", "stored voltage of every cell",
              min=-0.2, max=1.1),  # assumption: positive current, below saturation (as gaincell-mac)
        P_VQ, P_VRP, P_VREF, P_CS, P_WRN, P_WRP, P_LREAD, P_CINT, P_INTEGRATOR, P_OTA_IBIAS,
        P_A0, P_GBW, P_CBL, P_VWWLH)
    outputs = (
        Output("q_col_c", "C", ("col",), "charge each column sinks from its integrator input"),
        Output("t_pulse_eff_s", "s", ("col",), "time the word line at the column spends "
               "above 50 % of the pulse amplitude"),
        Output("t_delay_s", "s", ("col",), "50 % rising-crossing delay of the word line at "
               "the column relative to the driver"),
        Output("q_err_rel", "", ("col",), "relative charge error vs column 0: "
               "(q_m - q_0)/|q_0|"),
        Output("v_int_v", "V", ("col",), "integrator output at the end of the read"),
    )

    def inner_axes(self, p):
        return [Axis("col", "", COL_AXIS)]

    def body(self, tech, p):
        cols = int_param("cols", p["cols"], 1, ga.MAX_COLS)
        rows = int_param("rows", p["rows"], 1, ga.MAX_ROWS)
        wl = ga.WordLineParams(ParamRef("r_drv_ohm"), ParamRef("r_seg_ohm"),
                               ParamRef("c_seg_f"))
        lines = [gc.include_line(), ".options reltol=1e-5 abstol=1e-15"] + rails()
        lines += [
            # query pulse (width set by simulate) and the ideal complementary driver
            gc.pulse("q", "rwl_drv", 0.0, ParamRef("v_query_v"), T_Q0_S, 0.0, gc.T_READ_EDGE_S),
            "Bqb rwlb_drv 0 V = V(vrp) - V(rwl_drv)",
            gc.pwl("rst", "rst", [(0.0, 1.8), (T_RST_S - 100e-12, 1.8), (T_RST_S, 0.0)]),
            ".nodeset v(rst)=1.8",
        ]
        lines += ga.word_line(cols, "rwl_drv", "rwl{m}", "wl", wl)
        lines += ga.word_line(cols, "rwlb_drv", "rwlb{m}", "wlb", wl)
        lines += integrator_supply_lines(p["integrator"])
        lines += ga.array_columns(cols, rows, "si", cell_params(self), integrator_params(),
                                  ParamRef("cbl_row_f"), integrator=p["integrator"],
                                  op=ota_params(), vdd=INT_SUPPLY)
        lines += [f".ic v(sn{m})={{vs_v}}" for m in range(cols)]
        return lines

    @staticmethod
    def t_end(p) -> float:
        cols = int(round(p["cols"]))
        # far-end Elmore-style estimate; 3 fF per cell load is an assumption (window only)
        tau = (p["r_drv_ohm"] + cols * p["r_seg_ohm"]) * cols * (p["c_seg_f"] + 3e-15)
        return max(T_END_S, T_Q0_S + p["t_pulse_s"] + 3e-9 + 5 * tau)

    def simulate(self, ng, p):
        cols = int(round(p["cols"]))
        spec = gc.pulse_values(0.0, p["v_query_v"], T_Q0_S, p["t_pulse_s"], gc.T_READ_EDGE_S)
        ng.command("alter @vq[pulse] = [ " + " ".join(format_number(x) for x in spec) + " ]")
        t_end = self.t_end(p)
        vec = ng.run([f"tran 20p {format_number(t_end)} 0 100p"])
        t = np.asarray(vec["time"])
        half = 0.5 * p["v_query_v"]
        t_drv = T_Q0_S + 0.5 * gc.T_READ_EDGE_S if p["t_pulse_s"] > 0 else float("nan")
        n = ga.MAX_COLS
        q, w, d, vi = (np.full(n, np.nan) for _ in range(4))
        for m in range(cols):
            q[m] = charge(t, np.asarray(vec[f"vsense{m}#branch"]), T_RST_S, t_end)
            v = np.asarray(vec[f"rwl{m}"])
            w[m] = high_time(t, v, half)
            up = [tc for tc, s in crossings(t, v, half) if s > 0]
            d[m] = up[0] - t_drv if up else float("nan")
            vi[m] = float(vec[f"vout{m}"][-1])
        err = (q - q[0]) / abs(q[0]) if q[0] != 0 else np.full(n, np.nan)
        return {"q_col_c": q, "t_pulse_eff_s": w, "t_delay_s": d, "q_err_rel": err,
                "v_int_v": vi}
