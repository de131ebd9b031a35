"""Gain-cell retention (recipe ``gaincell-retention``): stored voltage vs hold time after
a write, Si or OSFET write transistor; family overview in :mod:`.gaincell`."""
from __future__ import annotations

import numpy as np

from ...circuits import gaincell as gc
from ...circuits.netlist import ParamRef
from ..params import format_number
from ..recipe import Axis, Output, Recipe, register_recipe, sweep_values
from ..relaxation import eval_traj, leak_zero, relax_ode, relax_tau
from .gaincell_common import (P_CS, P_DEV, P_EA, P_IOFF, P_LREAD, P_LW, P_VREF, P_VRP,
                              P_VWWL, P_VWWLH, P_WRN, P_WRP, P_WW, T_WWL_EDGE_S, cell_params,
                              rails)

# The retention deck lowers gmin so ngspice's junction gmin (default 1e-12 S) does not
# swamp the fA-to-zA leakage it measures.
_GMIN_LEAK = ".options gmin=1e-22"

T_WR_S = 20e-9          # write word-line high time (assumption; the OSFET needs ~10 ns)
T_H0_S = T_WR_S + T_WWL_EDGE_S  # word line back at its hold level
T_SW_S = 1e-3           # hold time where the transient hands over to the quasi-static ODE


#: Current resolution of the DC leakage of the SKY130 (BSIM4) write transistor: below
#: ~1e-18 A its computed current is rounding noise (values at powers of two times
#: 5.4e-20 A, seen at -40 C). The behavioral OSFET's leakage is exact.
I_RESOLUTION_A = 1e-18


@register_recipe
class GainCellRetention(Recipe):
    """Stored voltage vs hold time after a write, Si or OSFET write transistor.

    Method (physical, and cheap: ~0.2 s of simulation per point):

    1. Transient: each ``v0_v`` is one cell of the deck, storing 0.45 V before the write;
       the write word line is at ``v_wwl_v`` for the first 20 ns (also during the DC and AC
       analyses, which keeps their operating points well conditioned) with the write bit
       line at v0, then drops to ``v_wwl_hold_v``; the write bit line returns to its idle
       level ``vref_v`` (0.45 V) 1 ns later, so the write transistor's channel off-current
       pulls the stored voltage toward 0.45 V (REFERENCE.md). In the Si cell the storage
       junction's leakage to ground wins above ~0.1 V (SKY130, 0 V hold level), so it
       relaxes toward ``v_inf_v`` ~0.01–0.15 V instead; the OSFET cell toward 0.45 V.
       This run covers the charge-injection step and the first 1 ms of hold.
    2. Quasi-static continuation to 1e8 s: with every source constant the storage node
       obeys C_sn(V) dV/dt = -I_leak(V). I_leak(V) is ngspice's DC current out of a
       probe cell's forced storage node in the hold state (write transistor channel +
       junctions; ``i_leak_a``), C_sn(V) its small-signal capacitance from an AC analysis
       (storage capacitor + read-transistor gates + write-transistor overlap/junction).
       t(V) = ∫ C_sn/(-I_leak) dV is integrated on a geometric grid toward the zero of
       I_leak and inverted on the ``t_s`` axis. (A single ngspice transient cannot do this
       cheaply: once the circuit is quiescent its truncation-error control caps the time
       step near sqrt(trtol) ≈ 2.6 s, i.e. ~4e7 steps to reach 1e8 s.)
       ``ode_err_v`` is the largest difference between the ODE and the transient over
       1 us–1 ms: the check that the quasi-static description matches the full circuit.

    gmin is lowered to 1e-22 S so ngspice's junction gmin does not add pA-level
    artificial leakage. Below ~1e-18 A the SKY130 write transistor's computed current is
    rounding noise (``I_RESOLUTION_A``): where the Si cell's leakage falls below it (e.g.
    at -40 C) the trajectory is NaN from there on and ``tau_s`` NaN unless the 1/e point
    came first. ``v_inf_v`` is the relaxation level (zero of I_leak); ``tau_s`` is
    the time |V - v_inf| takes to fall to 1/e of its value 1 ns into the hold, i.e. after
    the injection step ("inf" if the leakage never moves the node).
    """

    name = "gaincell-retention"
    version = 6   # v6: v0_v 25 mV, t_s 64 per decade (was 8), vc_v 25 mV (was 100 mV),
    # vs_v 6.25 mV (was 12.5 mV)
    summary = "gain-cell stored voltage vs hold time (Si or OSFET write transistor), tau"
    params = (P_DEV, P_CS, P_WW, P_LW, P_VWWL, P_VWWLH, P_IOFF, P_EA, P_VRP, P_VREF,
              P_WRN, P_WRP, P_LREAD)
    outputs = (
        Output("v_sn_v", "V", ("v0_v", "t_s"), "stored voltage vs hold time after writing v0"),
        Output("v_start_v", "V", ("v0_v",), "stored voltage 1 ns into the hold (after the "
               "word-line fall's charge injection)"),
        Output("tau_s", "s", ("v0_v",), "time for |V - v_inf| to fall to 1/e of its start"),
        Output("v_inf_v", "V", (), "relaxation level: zero of the hold-state leakage current"),
        Output("i_leak_a", "A", ("vs_v",), "hold-state current leaving the storage node "
               "(write transistor channel + junctions) vs forced stored voltage; DC"),
        Output("c_sn_f", "F", ("vc_v",), "storage-node small-signal capacitance (AC, 1 MHz)"),
        Output("ode_err_v", "V", (), "max |ODE - transient| over 1 us..1 ms of hold"),
    )
    # storage range 0–0.9 V (REFERENCE.md); both sides of the 0.45 V relaxation level
    # 25 mV steps: tau and the trajectory vary strongly with v0 (the leakage is
    # exponential in V; trajectories of neighbouring v0 are time shifts of one another, so
    # at a fixed time they differ by up to a ramp step), so a coarser grid cannot be
    # interpolated between its lines (50 mV: 1.3 % FS)
    V0 = sweep_values(0.0, 0.9, 37)
    # 64 points per decade: a Si relaxation from a high v0 is a linear ramp in t (the
    # saturated junction current) ending in a sharp corner at the relaxation level; in
    # log-time that is steep, and interpolation across the corner misses by ~ the drop
    # of one grid step (8/decade: 5 % FS). The ODE part costs no simulation, only
    # post-processing
    T = tuple(float(x) for x in np.logspace(-9, 8, 17 * 64 + 1))
    # I_leak(V) on a 6.25 mV grid (one DC sweep: free; the OSFET's zero crossing is a
    # tanh of ~50 mV width whose amplitude grows 40x from 27 to 85 C) and C_sn(V) on a
    # 25 mV grid, beyond the 0–0.9 V storage range on both sides: charge injection can
    # push the node below 0 V (or above 0.9 V)
    VS = sweep_values(-0.3, 1.2, 241)
    VC = sweep_values(-0.3, 1.2, 61)   # 25 mV: the gate C-V step (depletion -> inversion)

    def inner_axes(self, p):
        return [Axis("v0_v", "V", self.V0), Axis("t_s", "s", self.T),
                Axis("vs_v", "V", self.VS), Axis("vc_v", "V", self.VC)]

    def body(self, tech, p):
        dev = p["write_device"]
        cp = cell_params(self)
        t_fall = T_WR_S
        lines = [gc.include_line(), _GMIN_LEAK] + rails(write_lines=False)
        lines += ["Vrwloff rwl_off 0 0", "Vblidle bl_idle 0 {vref_v}",
                  gc.pwl("wwl", "wwl", [(0.0, ParamRef("v_wwl_v")),
                                        (t_fall, ParamRef("v_wwl_v")),
                                        (t_fall + T_WWL_EDGE_S, ParamRef("v_wwl_hold_v"))])]
        for k, v0 in enumerate(self.V0):
            lines += [
                gc.cell(f"r{k}", f"wbl{k}", "wwl", "rwl_off", "vrp", "bl_idle", f"sn{k}",
                        "vrn", "vrp", dev, cp),
                # write bit line: v0 during the write, back to idle 1 ns after the WWL fall
                gc.pwl(f"wbl{k}", f"wbl{k}", [(0.0, v0), (t_fall + 1e-9, v0),
                                              (t_fall + 1.1e-9, ParamRef("vref_v"))]),
                f".ic v(sn{k})={format_number(gc.V_STORE_MID_V)}",  # previous state: relaxed
            ]
        # probe: storage node forced (DC sweep, AC), write and read lines in the hold state
        lines += [gc.cell("probe", "wbl_p", "wwl_p", "rwl_off", "vrp", "bl_idle", "sn_p",
                          "vrn", "vrp", dev, cp),
                  "Vwblp wbl_p 0 {vref_v}", "Vwwlp wwl_p 0 {v_wwl_hold_v}",
                  "Vsp sn_p 0 DC 0.45 AC 1"]
        return lines

    def simulate(self, ng, p):
        vs = np.asarray(self.VS)
        vec = ng.run(["dc vsp -0.3 1.2 0.00625"])
        i_leak = -np.asarray(vec["vsp#branch"])
        c_sn = []
        f_ac = 1e6
        for v in self.VC:
            ng.command(f"alter vsp dc = {format_number(v)}")
            vec = ng.run([f"ac lin 1 {format_number(f_ac)} {format_number(f_ac)}"])
            y = -np.asarray(vec["vsp#branch"])[0]
            c_sn.append(float(np.imag(y) / (2 * np.pi * f_ac)))
        vc, c_sn = np.asarray(self.VC), np.asarray(c_sn)
        floor = I_RESOLUTION_A if p["write_device"] == "si" else 0.0
        vec = ng.run([f"tran 1n {format_number(T_H0_S + T_SW_S)} 0 2e-5"])
        t = np.asarray(vec["time"]) - T_H0_S
        tax = np.asarray(self.T)
        in_tran = tax <= T_SW_S
        traj, v_start, taus = [], [], []
        ode_err = 0.0
        for k in range(len(self.V0)):
            v_tr = np.asarray(vec[f"sn{k}"])
            v_ax = np.interp(tax, t, v_tr)
            # consistency check: the ODE from the start vs the transient up to T_SW
            ode = eval_traj(*relax_ode(vs, i_leak, vc, c_sn, v_ax[0], tax[0], floor), tax)
            chk = (tax >= 1e-6) & in_tran & np.isfinite(ode)
            if np.any(chk):
                ode_err = max(ode_err, float(np.max(np.abs(ode[chk] - v_ax[chk]))))
            # transient up to T_SW, then the ODE from the transient's value there
            v_sw = float(np.interp(T_SW_S, t, v_tr))
            t2, v2, v_inf, done = relax_ode(vs, i_leak, vc, c_sn, v_sw, T_SW_S, floor)
            full = np.where(in_tran, v_ax, eval_traj(t2, v2, v_inf, done, tax))
            traj.append(full)
            v_start.append(v_ax[0])
            moved = len(t2) > 1 or done   # leakage resolved at the hand-over point
            taus.append(relax_tau(tax, full, v_inf) if moved else float("nan"))
        return {"v_sn_v": traj, "v_start_v": v_start, "tau_s": taus,
                "v_inf_v": leak_zero(vs, i_leak, floor), "i_leak_a": i_leak, "c_sn_f": c_sn,
                "ode_err_v": ode_err}
