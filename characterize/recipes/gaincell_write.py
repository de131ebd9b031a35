"""Gain-cell write (recipe ``gaincell-write``): settling time, charge injection at the
word-line fall and write energy vs written voltage; family overview in :mod:`.gaincell`."""
from __future__ import annotations

import numpy as np

from ...circuits import gaincell as gc
from ...circuits.netlist import ParamRef
from ..params import Param
from ..recipe import Axis, Output, Recipe, register_recipe, sweep_values
from ..waveform import charge, value_at
from .gaincell_common import (NUMERICS_OPTIONS, P_CS, P_DEV, P_EA, P_IOFF, P_LREAD, P_LW,
                              P_NUMERICS, P_VREF, P_VRP, P_VWWL, P_VWWLH, P_WRN, P_WRP, P_WW,
                              T_WWL_EDGE_S, cell_params, rails, tran_line)

T_WBL_S = 0.5e-9        # write bit line moves to the new value
T_W0_S = 1e-9           # write word line starts rising
T_AFTER_S = 5e-9        # observation after the word-line fall (write bit line back at 1 ns)


@register_recipe
class GainCellWrite(Recipe):
    """Write settling, charge injection and energy vs written voltage.

    One cell per ``v_write_v`` in one deck, each with its own write word- and bit-line
    sources. The storage node starts at ``v_prev_v``; the write bit line moves to
    v_write at 0.5 ns; the write word line rises to ``v_wwl_v`` at 1 ns (100 ps edges),
    stays high for ``t_write_s`` and falls to ``v_wwl_hold_v``; 1 ns later the write bit
    line returns to its idle level ``vref_v``. Measured per cell:

    * ``t_settle_s``: from the word line's mid-rise to the last time the storage node is
      further than ``settle_tol_v`` from its value at the start of the fall;
    * ``v_err_v``: that value minus v_write (incomplete write; the Si nfet passes a high
      level slowly once Vgs - Vth is small);
    * ``dv_inj_v``: the storage-node step between the start of the word-line fall and
      5 ns after it (channel-charge injection + gate coupling: negative for an NMOS);
    * ``e_write_j``: energy the cell's word-line and bit-line drivers draw from their
      supply rails over the whole operation, from integrated charge: each driver phase
      (from the start of one edge of its waveform to the start of the next) is served by
      a rail at that phase's target level V_k, which delivers the net charge Q_k the
      line takes in the phase, so E = sum_k max(V_k * Q_k, 0) (a CMOS driver does not
      recover charge a line returns to its rail). Charging a capacitor C to V this way
      costs C V^2 (half of it dissipated in the driver). ``e_net_j`` is the net
      ∫ V·I dt at the drivers' outputs (negative when writing toward 0 V returns more
      than it takes). The cell only: the wiring capacitance of the lines is not included.

    Numerics (``numerics``): Gear integration; charge integrals converge where the former
    measure, ∫ max(V·I, 0) dt under trapezoidal integration, rectified the trapezoidal
    rule's current ringing (up to 50 % off a tight reference, issue 11). ``reference``
    runs the same deck at reltol 1e-6 and 4x finer steps (the convergence check,
    tests/test_gaincell_numerics.py).
    """

    name = "gaincell-write"
    # v4: Gear integration, e_write_j from integrated charge x rail level, `numerics`
    # (v3: v_write_v in 12.5 mV steps, was 25 mV; v2: was 10 values)
    version = 4
    summary = "gain-cell write: settling time, charge injection, energy vs written voltage"
    params = (P_DEV, P_CS, P_WW, P_LW, P_VWWL, P_VWWLH, P_IOFF, P_EA, P_VRP, P_VREF,
              P_WRN, P_WRP, P_LREAD,
              Param("v_prev_v", 0.45, "V", "stored voltage before the write",
                    min=-0.2, max=1.1),  # assumption: the relaxed mid level (REFERENCE.md)
              Param("t_write_s", 10e-9, "s", "write word-line high time (changes the "
                    "netlist's time points)", min=1e-9, max=1e-6,
                    structural=True),  # assumption: 10 ns write pulse
              Param("settle_tol_v", 0.009, "V", "settling tolerance",
                    min=1e-4, max=0.1),  # assumption: 1 % of the 0.9 V storage range
              P_NUMERICS)
    outputs = (
        Output("t_settle_s", "s", ("v_write_v",), "write settling time"),
        Output("v_err_v", "V", ("v_write_v",), "storage voltage at the word-line fall "
               "minus the written value"),
        Output("dv_inj_v", "V", ("v_write_v",), "storage-node step at the word-line fall"),
        Output("v_stored_v", "V", ("v_write_v",), "stored voltage 5 ns after the fall"),
        Output("e_write_j", "J", ("v_write_v",), "energy the cell's write word-line and "
               "bit-line drivers draw from their rails (phase charge x rail level)"),
        Output("e_net_j", "J", ("v_write_v",), "net energy exchanged with those drivers"),
    )
    # storage range 0–0.9 V (REFERENCE.md) in 12.5 mV steps (one cell each, ~0.1 s of
    # simulation per cell): the settling time has a sharp dip where v_write meets v_prev
    # (the step is within the tolerance), v_err_v a sign change there
    VW = sweep_values(0.0, 0.9, 73)

    def inner_axes(self, p):
        return [Axis("v_write_v", "V", self.VW)]

    @staticmethod
    def _times(p):
        t_fall = T_W0_S + T_WWL_EDGE_S + float(p["t_write_s"])
        return t_fall, t_fall + T_WWL_EDGE_S + T_AFTER_S

    @staticmethod
    def _phases(p, vw: float, t_fall: float):
        """Per driver: [(phase start s, rail level V)] (each phase starts at an edge)."""
        e = T_WWL_EDGE_S
        wwl = [(0.0, p["v_wwl_hold_v"]), (T_W0_S, p["v_wwl_v"]), (t_fall, p["v_wwl_hold_v"])]
        wbl = [(0.0, p["vref_v"]), (T_WBL_S, vw), (t_fall + e + 1e-9, p["vref_v"])]
        return wwl, wbl

    def body(self, tech, p):
        dev = p["write_device"]
        cp = cell_params(self)
        t_fall, _ = self._times(p)
        e = T_WWL_EDGE_S
        lines = [gc.include_line(), NUMERICS_OPTIONS[p["numerics"]]]
        lines += rails(write_lines=False)
        lines += ["Vrwloff rwl_off 0 0", "Vblidle bl_idle 0 {vref_v}"]
        hold, high, vref = ParamRef("v_wwl_hold_v"), ParamRef("v_wwl_v"), ParamRef("vref_v")
        for k, vw in enumerate(self.VW):
            lines += [
                gc.cell(f"w{k}", f"wbl{k}", f"wwl{k}", "rwl_off", "vrp", "bl_idle", f"sn{k}",
                        "vrn", "vrp", dev, cp),
                gc.pwl(f"wwl{k}", f"wwl{k}", [(0.0, hold), (T_W0_S, hold), (T_W0_S + e, high),
                                              (t_fall, high), (t_fall + e, hold)]),
                gc.pwl(f"wbl{k}", f"wbl{k}", [(0.0, vref), (T_WBL_S, vref),
                                              (T_WBL_S + e, vw), (t_fall + e + 1e-9, vw),
                                              (t_fall + 2 * e + 1e-9, vref)]),
                f".ic v(sn{k})={{v_prev_v}}",
            ]
        return lines

    def simulate(self, ng, p):
        t_fall, t_end = self._times(p)
        vec = ng.run([tran_line(p["numerics"], 10e-12, t_end, 50e-12)])
        t = np.asarray(vec["time"])
        t_r50 = T_W0_S + T_WWL_EDGE_S / 2
        out = {q.name: [] for q in self.outputs}
        for k, vw in enumerate(self.VW):
            v = np.asarray(vec[f"sn{k}"])
            v_fin = value_at(t, v, t_fall)
            m = (t >= t_r50) & (t <= t_fall)
            tt = np.concatenate([[t_r50], t[m], [t_fall]])
            vv = np.concatenate([[value_at(t, v, t_r50)], v[m], [v_fin]])
            out_of = np.nonzero(np.abs(vv - v_fin) > p["settle_tol_v"])[0]
            if len(out_of):
                j = int(out_of[-1])
                # interpolate where |v - v_fin| comes back to the tolerance
                d0, d1 = abs(vv[j] - v_fin), abs(vv[j + 1] - v_fin)
                tc = tt[j] + (d0 - p["settle_tol_v"]) * (tt[j + 1] - tt[j]) / max(d0 - d1, 1e-30)
                t_settle = tc - t_r50
            else:
                t_settle = 0.0
            v_end = float(v[-1])
            e_sup, power = 0.0, 0.0
            for src, phases in zip(("wwl", "wbl"), self._phases(p, vw, t_fall)):
                i_out = -np.asarray(vec[f"v{src}{k}#branch"])   # out of the driver
                power = power + np.asarray(vec[f"{src}{k}"]) * i_out
                ends = [tp for tp, _ in phases[1:]] + [t_end]
                for (t0, lvl), t1 in zip(phases, ends):
                    e_sup += max(lvl * charge(t, i_out, t0, t1), 0.0)
            out["t_settle_s"].append(t_settle)
            out["v_err_v"].append(v_fin - vw)
            out["dv_inj_v"].append(v_end - v_fin)
            out["v_stored_v"].append(v_end)
            out["e_write_j"].append(e_sup)
            out["e_net_j"].append(float(np.trapezoid(power, t)))
        return out
