"""Gain-cell dot-product family (Leroux et al.; ../shared/REFERENCE.md "Gain-cell attention").

Recipes:

* ``gaincell-mac``: (a) the signed cell read current I(Vs, Vwl) on a DC grid, with the
  storage node forced; (b) the charge a column of ``rows`` cells (all storing
  ``vs_col_v``) delivers into the column integrator vs the read word-line pulse width.
* ``gaincell-superposition``: a random 64-row pattern (stored voltages on the 3-bit K/V
  grid, pulse widths on the 4-bit Q grid, from ``pattern_seed``) read at once, compared
  with the sum of the charges each cell delivers when the same column reads it alone.
* ``gaincell-retention``: stored voltage vs hold time after a write, for the SKY130 Si
  write transistor or the behavioral OSFET (``write_device``), with the extracted
  relaxation level and time constant; plus the hold-state leakage current I(Vs).
* ``gaincell-write``: write settling time, charge injection at the word-line fall, write
  energy, vs written voltage.
* ``gaincell-readout``: column integrator and charge-to-pulse transfer and saturation.

Circuits and their design choices: ``netlists/gaincell.spice`` and
``circuits/gaincell.py``. Sign convention: currents/charges are positive when the cells
sink current from the bit line (stored voltage above the zero crossing).
"""
from __future__ import annotations

import numpy as np

from ...circuits import gaincell as gc
from ..params import Param, ParameterError, format_number
from ..recipe import Axis, Output, Recipe, sweep_values

# --- parameters shared by several recipes -------------------------------------------------
# Defaults come from the dataclasses in circuits/gaincell.py (one source of truth); the
# comment after each says where the value comes from. "design choice"/"assumption" marks
# this project's own values (reasoning in netlists/gaincell.spice).
_CELL, _BIAS, _INT, _RO = (gc.GainCellParams, gc.BiasParams, gc.IntegratorParams,
                           gc.ReadoutParams)
P_CS = Param("cs_f", _CELL.cs_f, "F", "explicit storage capacitor (read-transistor gates "
             "add ~1 fF)", min=1e-16, max=1e-13)  # assumption: MIM-class 5 fF
P_WRN = Param("w_rn_um", _CELL.w_rn_um, "um", "NMOS read transistor width",
              min=0.42, max=10.0)  # design choice; SKY130 minimum width 0.42 um
P_WRP = Param("w_rp_um", _CELL.w_rp_um, "um", "PMOS read transistor width",
              min=0.42, max=10.0)  # design choice (balances the NMOS branch)
P_LREAD = Param("l_read_um", _CELL.l_rn_um, "um", "NMOS and PMOS read transistor length",
                min=0.15, max=4.0)  # design choice; SKY130 minimum L 0.15 um
P_VRP = Param("vrp_v", _BIAS.vrp_v, "V", "PMOS read rail (sets the zero-current stored "
              "voltage)", min=0.9, max=1.8)  # design choice: zero crossing ~0.45 V (tt, 27 C)
P_VREF = Param("vref_v", _BIAS.vref_v, "V", "bit-line virtual ground = write-bit-line idle "
               "level", min=0.2, max=0.7)  # REFERENCE.md: storage range centered at 0.45 V
P_VQ = Param("v_query_v", _BIAS.vwl_v, "V", "read word-line pulse amplitude",
             min=0.3, max=1.8)  # REFERENCE.md: query pulse amplitude 0.9 V
P_CINT = Param("cint_f", _INT.cint_f, "F", "column integration capacitor",
               min=1e-14, max=1e-11)  # assumption: 450 fC full scale with a 0.9 V ramp
P_A0 = Param("a0", _INT.a0, "V/V", "integrator op-amp DC gain (behavioral)",
             min=10.0, max=1e6)  # assumption: 60 dB
P_GBW = Param("gbw_hz", _INT.gbw_hz, "Hz", "integrator op-amp gain-bandwidth (behavioral)",
              min=1e7, max=1e11)  # assumption
P_CBL = Param("cbl_row_f", 0.2e-15, "F", "bit-line wiring capacitance per row",
              min=0.0, max=1e-13)  # assumption: ~1 um of metal per cell pitch
P_ROWS = Param("rows", 64, "", "cells on the column (integer)", min=1, max=64,
               structural=True)  # REFERENCE.md: 64 x 64 arrays
P_DEV = Param("write_device", "si", "", "write transistor: SKY130 nfet_01v8 ('si') or the "
              "behavioral IGZO-like card ('osfet')", kind="choice", choices=("si", "osfet"))
P_WW = Param("w_write_um", _CELL.w_write_um, "um", "write transistor width",
             min=0.42, max=10.0)  # design choice: SKY130 minimum width
P_LW = Param("l_write_um", _CELL.l_write_um, "um", "write transistor length",
             min=0.15, max=4.0)  # design choice: minimum L, least injection (gaincell.spice)
P_VWWL = Param("v_wwl_v", _BIAS.v_wwl_v, "V", "write word-line high level",
               min=0.9, max=1.8)  # SKY130 1.8 V core-device limit; passes 0.9 V
P_VWWLH = Param("v_wwl_hold_v", _BIAS.v_wwl_hold_v, "V", "write word-line hold level",
                min=-0.5, max=0.5)  # assumption: no word-line underdrive
P_IOFF = Param("ioff_a_per_um", _CELL.ioff_a_per_um, "A/um", "OSFET off-current per width "
               "at 27 C (write_device=osfet)",
               min=1e-22, max=1e-15)  # published IGZO TFTs: 1e-18..1e-19 A/um
P_EA = Param("ea_ev", _CELL.ea_ev, "eV", "OSFET off-current activation energy "
             "(write_device=osfet)", min=0.1, max=1.5)  # assumption

_CELL_FIELDS = {"cs_f": "cs_f", "w_rn_um": "w_rn_um", "w_rp_um": "w_rp_um",
                "l_rn_um": "l_read_um", "l_rp_um": "l_read_um", "w_write_um": "w_write_um",
                "l_write_um": "l_write_um", "ioff_a_per_um": "ioff_a_per_um",
                "ea_ev": "ea_ev"}

# The retention deck lowers gmin so ngspice's junction gmin (default 1e-12 S) does not
# swamp the fA-to-zA leakage it measures.
_GMIN_LEAK = ".options gmin=1e-22"


def _cell_params(recipe: Recipe) -> gc.GainCellParams:
    names = {q.name for q in recipe.params}
    return gc.GainCellParams(**{f: "{%s}" % n for f, n in _CELL_FIELDS.items() if n in names})


def _integrator_params() -> gc.IntegratorParams:
    return gc.IntegratorParams(cint_f="{cint_f}", a0="{a0}", gbw_hz="{gbw_hz}")


def _rails(write_lines: bool = True) -> list[str]:
    lines = ["Vvrn vrn 0 0", "Vvrp vrp 0 {vrp_v}", "Vvref vref 0 {vref_v}"]
    if write_lines:
        lines += ["Vwblidle wbl_idle 0 {vref_v}", "Vwwlhold wwl_hold 0 {v_wwl_hold_v}"]
    return lines


def _int_param(name: str, v: float, lo: int, hi: int) -> int:
    if abs(v - round(v)) > 1e-9 or not lo <= round(v) <= hi:
        raise ParameterError(f"parameter {name!r}: {v:g} is not an integer in {lo}..{hi}")
    return int(round(v))


def _zero_crossing(x: np.ndarray, y: np.ndarray) -> float:
    """First sign change of y(x), linearly interpolated; NaN if none."""
    s = np.sign(y)
    k = np.nonzero(s[:-1] * s[1:] < 0)[0]
    if not len(k):
        hits = np.nonzero(y == 0)[0]
        return float(x[hits[0]]) if len(hits) else float("nan")
    k = int(k[0])
    return float(x[k] - y[k] * (x[k + 1] - x[k]) / (y[k + 1] - y[k]))


def _at(t: np.ndarray, y: np.ndarray, when: float) -> float:
    return float(np.interp(when, t, y))


def _charge(t: np.ndarray, i: np.ndarray, t0: float, t1: float) -> float:
    """Integral of i over [t0, t1] (trapezoid on the simulator's time points)."""
    m = (t > t0) & (t < t1)
    tt = np.concatenate([[t0], t[m], [t1]])
    ii = np.concatenate([[_at(t, i, t0)], i[m], [_at(t, i, t1)]])
    return float(np.trapezoid(ii, tt))


def _crossings(t: np.ndarray, y: np.ndarray, level: float) -> list[tuple[float, int]]:
    """Times where y crosses ``level`` (linear interpolation) with direction +1/-1."""
    d = y - level
    out = []
    for k in np.nonzero(np.sign(d[:-1]) != np.sign(d[1:]))[0]:
        if d[k] == d[k + 1]:
            continue
        tc = t[k] - d[k] * (t[k + 1] - t[k]) / (d[k + 1] - d[k])
        out.append((float(tc), 1 if d[k + 1] > d[k] else -1))
    return out


# ==========================================================================================
# gaincell-retention
# ==========================================================================================
T_WR_S = 20e-9          # write word-line high time (assumption; the OSFET needs ~10 ns)
T_WWL_EDGE_S = 100e-12  # write word-line edge (assumption)
T_H0_S = T_WR_S + T_WWL_EDGE_S  # word line back at its hold level
T_SW_S = 1e-3           # hold time where the transient hands over to the quasi-static ODE


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
        cp = _cell_params(self)
        t_fall = T_WR_S
        lines = [gc.include_line(), _GMIN_LEAK] + _rails(write_lines=False)
        lines += ["Vrwloff rwl_off 0 0", "Vblidle bl_idle 0 {vref_v}",
                  gc.pwl("wwl", "wwl", [(0.0, "{v_wwl_v}"), (t_fall, "{v_wwl_v}"),
                                        (t_fall + T_WWL_EDGE_S, "{v_wwl_hold_v}")])]
        for k, v0 in enumerate(self.V0):
            lines += [
                gc.cell(f"r{k}", f"wbl{k}", "wwl", "rwl_off", "vrp", "bl_idle", f"sn{k}",
                        "vrn", "vrp", dev, cp),
                # write bit line: v0 during the write, back to idle 1 ns after the WWL fall
                gc.pwl(f"wbl{k}", f"wbl{k}", [(0.0, v0), (t_fall + 1e-9, v0),
                                              (t_fall + 1.1e-9, "{vref_v}")]),
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
            ode = _eval_traj(*_relax_ode(vs, i_leak, vc, c_sn, v_ax[0], tax[0], floor), tax)
            chk = (tax >= 1e-6) & in_tran & np.isfinite(ode)
            if np.any(chk):
                ode_err = max(ode_err, float(np.max(np.abs(ode[chk] - v_ax[chk]))))
            # transient up to T_SW, then the ODE from the transient's value there
            v_sw = float(np.interp(T_SW_S, t, v_tr))
            t2, v2, v_inf, done = _relax_ode(vs, i_leak, vc, c_sn, v_sw, T_SW_S, floor)
            full = np.where(in_tran, v_ax, _eval_traj(t2, v2, v_inf, done, tax))
            traj.append(full)
            v_start.append(v_ax[0])
            moved = len(t2) > 1 or done   # leakage resolved at the hand-over point
            taus.append(_relax_tau(tax, full, v_inf) if moved else float("nan"))
        return {"v_sn_v": traj, "v_start_v": v_start, "tau_s": taus,
                "v_inf_v": _leak_zero(vs, i_leak, floor), "i_leak_a": i_leak, "c_sn_f": c_sn,
                "ode_err_v": ode_err}


#: Current resolution of the DC leakage of the SKY130 (BSIM4) write transistor: below
#: ~1e-18 A its computed current is rounding noise (values at powers of two times
#: 5.4e-20 A, seen at -40 C). The behavioral OSFET's leakage is exact.
I_RESOLUTION_A = 1e-18


def _leak_zero(vs: np.ndarray, i_leak: np.ndarray, floor: float) -> float:
    """The relaxation level: first zero crossing of I_leak(V), interpolated the way the
    ODE interpolates (:func:`_asinh_interp`) between the nearest resolved points
    (|I| >= floor) of opposite sign; NaN if those lie more than 2 grid steps apart."""
    ok = np.nonzero(np.abs(i_leak) >= floor)[0] if floor > 0 else np.arange(len(vs))
    step = float(vs[1] - vs[0])
    scale = max(float(np.max(np.abs(i_leak))) * 1e-9, 1e-30)
    for a, b in zip(ok[:-1], ok[1:]):
        if np.sign(i_leak[a]) * np.sign(i_leak[b]) < 0:
            if vs[b] - vs[a] > 2 * step + 1e-12:
                return float("nan")
            x = np.linspace(vs[a], vs[b], 401)
            y = _asinh_interp(x, vs[[a, b]], i_leak[[a, b]], scale)
            k = int(np.nonzero(np.sign(y) != np.sign(y[0]))[0][0])
            return float(x[k - 1] - y[k - 1] * (x[k] - x[k - 1]) / (y[k] - y[k - 1]))
        if i_leak[b] == 0 and floor == 0:
            return float(vs[b])
    return float("nan")


def _asinh_interp(x: np.ndarray, xp: np.ndarray, fp: np.ndarray, scale: float) -> np.ndarray:
    """Interpolate a signed current spanning many decades: within a grid cell whose ends
    have the same sign, linearly in asinh(f/scale) (log-like: subthreshold and junction
    currents are exponential in V); within a cell where the sign changes, linearly (a
    smooth zero crossing is linear)."""
    x = np.asarray(x, dtype=float)
    j = np.clip(np.searchsorted(xp, x) - 1, 0, len(xp) - 2)
    # |f| below scale is rounding noise (e.g. ~1e-34 A at Vds = 0 with ngspice 46): a zero,
    # not a resolved same-sign current to interpolate toward exponentially
    fp = np.where(np.abs(fp) < scale, 0.0, fp)
    f0, f1 = fp[j], fp[j + 1]
    w = np.clip((x - xp[j]) / (xp[j + 1] - xp[j]), 0.0, 1.0)
    a0, a1 = np.arcsinh(f0 / scale), np.arcsinh(f1 / scale)
    log_like = scale * np.sinh(a0 + w * (a1 - a0))
    linear = f0 + w * (f1 - f0)
    return np.where(f0 * f1 > 0, log_like, linear)


def _relax_ode(vs, i_leak, vc, c_sn, v_start: float, t_start: float, floor: float = 0.0):
    """Solve C(V) dV/dt = -I(V) from (t_start, v_start) by quadrature of t(V).

    Returns (t, V, v_inf, complete): samples of the trajectory, the level it relaxes
    toward (the first zero of I in the direction of motion; the end of the grid if none),
    and whether it could be followed to v_inf: it stops where |I| falls below ``floor``
    (the simulator's current resolution), beyond which V(t) is unknown."""
    scale = max(float(np.max(np.abs(i_leak))) * 1e-9, 1e-30)
    i0 = float(_asinh_interp(np.array([v_start]), vs, i_leak, scale)[0])
    if i0 == 0.0 or abs(i0) < floor:
        return np.array([t_start]), np.array([v_start]), v_start, False
    direction = -np.sign(i0)
    # the zero of I met first when moving from v_start in `direction`
    fine = np.linspace(vs[0], vs[-1], 20 * len(vs) + 1)
    fi = _asinh_interp(fine, vs, i_leak, scale)
    sel = (fine - v_start) * direction > 0
    ahead, fa = fine[sel], fi[sel]
    if direction < 0:
        ahead, fa = ahead[::-1], fa[::-1]
    v_inf = float(ahead[-1]) if len(ahead) else v_start
    z = np.nonzero(np.sign(fa) != np.sign(i0))[0]
    if len(z):
        j = int(z[0])
        a, b = (ahead[j - 1], ahead[j]) if j > 0 else (v_start, ahead[0])
        fa_, fb_ = (fa[j - 1], fa[j]) if j > 0 else (i0, fa[0])
        v_inf = float(a - fa_ * (b - a) / (fb_ - fa_)) if fb_ != fa_ else float(b)
    # grid of the distance travelled, geometric near both the start and the end (v_inf)
    frac = np.concatenate([[0.0], np.geomspace(1e-8, 0.5, 400),
                           1.0 - np.geomspace(0.5, 1e-7, 400)[1:]])
    v = v_start + (v_inf - v_start) * frac
    i = _asinh_interp(v, vs, i_leak, scale)
    c = np.interp(v, vc, c_sn)
    complete = True
    # beyond the current resolution the motion is unknown: stop there, unless that is
    # merely the approach to the zero crossing itself (within two grid steps of it)
    step = float(vs[1] - vs[0])
    lost = np.nonzero((np.abs(i) < floor) & (np.abs(v - v_inf) > 2 * step))[0]
    if len(lost):
        v, i, c = v[:lost[0]], i[:lost[0]], c[:lost[0]]
        complete = False
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = -i / c                          # dV/dt
        g = np.where(rate * direction > 0, 1.0 / rate, np.inf)   # dt/dV
    dt = 0.5 * (g[1:] + g[:-1]) * np.diff(v)
    t = t_start + np.concatenate([[0.0], np.cumsum(dt)])
    ok = np.isfinite(t)
    t, v = t[ok], v[ok]
    if not complete:
        return t, v, v_inf, False
    # the last stretch into the zero crossing is log-divergent in time and below the
    # interpolation's resolution: count the trajectory as complete within 2 grid steps
    return t, v, v_inf, bool(abs(v[-1] - v_inf) <= 2 * step)


def _eval_traj(t_traj, v_traj, v_inf, complete, t_axis):
    """V on ``t_axis`` from trajectory samples (log-time interpolation); before the start
    the start value; after the last sample the relaxation level if the trajectory got
    there, NaN (unknown) if it was cut at the current resolution."""
    if len(t_traj) < 2:
        out = np.full_like(t_axis, v_traj[0])
        out[t_axis > t_traj[0]] = v_inf if complete else np.nan
        return out
    lt = np.log(np.maximum(t_traj, 1e-30))
    out = np.interp(np.log(t_axis), lt, v_traj, left=v_traj[0], right=v_traj[-1])
    out[t_axis > t_traj[-1]] = v_inf if complete else np.nan
    return out


def _relax_tau(t: np.ndarray, v: np.ndarray, v_inf: float) -> float:
    """1/e time of |v - v_inf| relative to its value at t[0] (log-time interpolation);
    exponential extrapolation from the last point when not reached; inf if no decay."""
    if not np.isfinite(v_inf):
        return float("nan")
    dev = np.abs(v - v_inf)
    d0 = dev[0]
    if d0 <= 1e-9:
        return float("nan")
    target = d0 / np.e
    below = np.nonzero(dev <= target)[0]
    if len(below):
        k = int(below[0])
        if k == 0:
            return float(t[0])
        lt = np.log(t[k - 1:k + 1])
        ld = np.log(np.maximum(dev[k - 1:k + 1], 1e-30))
        return float(np.exp(lt[0] + (np.log(target) - ld[0]) * (lt[1] - lt[0]) / (ld[1] - ld[0])))
    ratio = dev[-1] / d0
    if ratio >= 1.0 - 1e-12:
        return float("inf")
    return float(t[-1] / -np.log(ratio))


# ==========================================================================================
# column reads: gaincell-mac and gaincell-superposition
# ==========================================================================================
T_RST_S = 1e-9        # integrator reset released (assumption: 1 ns reset phase)
T_Q0_S = 2e-9         # read word-line pulses start (start-aligned query pulses)
T_EDGE_S = 100e-12    # read word-line edge time (assumption)
T_END_S = T_Q0_S + gc.T_QUERY_MAX_S + 3e-9  # 3 ns after the longest (15 ns) pulse ends
_TRAN_READ = f"tran 20p {format_number(T_END_S)} 0 100p"


def _integrator_lines(bl: str = "bl") -> list[str]:
    """Sense source + column integrator (reset released at T_RST_S) on bit line ``bl``."""
    return [
        # Vsense: its current (blint -> bl) is the charge the column sinks from the
        # integrator input
        f"Vsense blint {gc.node(bl)} 0",
        gc.integrator("int", "blint", "vout", "vref", "rst", _integrator_params()),
        gc.pwl("rst", "rst", [(0.0, 1.8), (T_RST_S - 100e-12, 1.8), (T_RST_S, 0.0)]),
        # start Newton with the reset switch closed: otherwise the first iterations see an
        # open-loop, clamped op-amp and the operating point needs gmin stepping
        ".nodeset v(rst)=1.8",
    ]


def _read_result(vec) -> tuple[float, float]:
    """(charge sunk through Vsense after the reset, integrator output at the end)."""
    t = np.asarray(vec["time"])
    return _charge(t, np.asarray(vec["vsense#branch"]), T_RST_S, T_END_S), \
        float(vec["vout"][-1])


class GainCellMac(Recipe):
    """(a) Signed cell read current on a DC grid; (b) column charge vs query pulse width.

    (a) One cell with its storage node forced to ``vs_v`` and its read word line at
    ``vwl_v`` (the complementary line at ``vrp_v - vwl_v``), bit line held at ``vref_v``:
    ``i_cell_a`` is the current the cell sinks from the bit line (one nested DC sweep).

    (b) A column of ``rows`` cells, all storing ``vs_col_v`` (set as the storage node's
    initial condition; the node then floats, so read-disturb coupling is included), all
    read with the same start-aligned pulse of width ``t_pulse_s`` and amplitude
    ``v_query_v``, into the column integrator (behavioral op-amp, ``cint_f``, ``a0``,
    ``gbw_hz``) through the bit-line wiring capacitance. Identical cells driven
    identically carry identical currents, so the column is simulated exactly as ONE
    SKY130 cell whose bit-line terminal follows the column bit line (VCVS) and whose
    current is mirrored ``rows`` times into it (CCCS); SKY130's device subcircuits accept
    no instance multiplier, and 64 real instances would cost ~0.5 s per transient.
    ``q_col_c`` is the charge sunk from the integrator input after its reset;
    ``v_int_v`` = vref + q/cint until the integrator clamps at 1.8 V. Under Monte-Carlo
    mismatch the column of (b) is ``rows`` copies of one sampled cell; use
    ``gaincell-superposition`` for a column of independently sampled cells.
    """

    name = "gaincell-mac"
    version = 5   # v5: t_pulse_s on the 4-bit Q grid (1 ns), vwl_v 50 mV, vs_v 25 mV
    summary = ("gain cell signed read current I(Vs, Vwl) and column charge vs query pulse "
               "width (SKY130, push-pull read)")
    params = (P_ROWS,
              Param("vs_col_v", 0.6, "V", "stored voltage of every cell in the column read",
                    min=-0.2, max=1.1),  # assumption: a positive value, below saturation
              P_VQ, P_VRP, P_VREF, P_CS, P_WRN, P_WRP, P_LREAD, P_CINT, P_A0, P_GBW, P_CBL,
              P_VWWLH)
    outputs = (
        Output("i_cell_a", "A", ("vwl_v", "vs_v"), "cell current sunk from the bit line "
               "(held at vref) vs word-line level and forced stored voltage; DC"),
        Output("vs_zero_v", "V", (), "stored voltage where the cell current crosses zero "
               "at Vwl = 0.9 V"),
        Output("q_col_c", "C", ("t_pulse_s",), "charge the column sinks from the integrator "
               "input vs read word-line pulse width (all rows pulsed, start-aligned)"),
        Output("v_int_v", "V", ("t_pulse_s",), "integrator output at the end of the read"),
    )
    # storage range 0–0.9 V (REFERENCE.md), 25 mV: the current rises steeply toward 0.9 V,
    # 50 mV steps left the held-out near-edge line (0.85 V) 1.06 % FS off (DC, cheap)
    VS = sweep_values(0.0, 0.9, 37)
    # word line 0–0.9 V (REFERENCE.md amplitude), 50 mV: the current turns on over ~0.2 V
    # of vwl, 100 mV steps left a held-out vwl line 1.4 % FS off (DC, costs nothing)
    VWL = sweep_values(0.0, 0.9, 19)
    # the 4-bit Q grid (0..15 ns, 1 ns; REFERENCE.md): the widths the accelerator uses, and
    # enough points on the knee where the integrator clamps
    T_PULSE = tuple(k * 1e-9 for k in range(16))

    def inner_axes(self, p):
        return [Axis("vwl_v", "V", self.VWL), Axis("vs_v", "V", self.VS),
                Axis("t_pulse_s", "s", self.T_PULSE)]

    def body(self, tech, p):
        rows = _int_param("rows", p["rows"], 1, 64)
        cp = _cell_params(self)
        lines = [gc.include_line()] + _rails()
        # (a) DC bench: stored voltage forced, word line forced, bit line held at vref
        lines += [
            gc.cell("dc", "wbl_idle", "wwl_hold", "rwl_dc", "rwlb_dc", "bl_dc", "sn_dc",
                    "vrn", "vrp", "si", cp),
            "Vsdc sn_dc 0 0.45", "Vwldc rwl_dc 0 0.9",
            "Bwlbdc rwlb_dc 0 V = V(vrp) - V(rwl_dc)",  # ideal complementary driver
            "Vbldc bl_dc 0 {vref_v}",
        ]
        # (b) column of `rows` identical cells = one cell mirrored `rows` times
        lines += [
            gc.cell("col", "wbl_idle", "wwl_hold", "rwlq", "rwlbq", "bl_cell", "sn_col",
                    "vrn", "vrp", "si", cp),
            "Ecopy bl_copy 0 bl 0 1",        # the cell's bit line follows the column's
            "Vmir bl_copy bl_cell 0",        # its current: what one cell sinks
            f"Fmir bl 0 Vmir {int(rows)}",   # drawn `rows` times from the column bit line
            f"Cbl bl 0 {{cbl_row_f*{int(rows)}}}",
            ".ic v(sn_col)={vs_col_v}",
            gc.pulse("q", "rwlq", 0.0, "{v_query_v}", T_Q0_S, 0.0, T_EDGE_S),
            "Bqb rwlbq 0 V = V(vrp) - V(rwlq)",  # ideal complementary driver
        ]
        lines += _integrator_lines("bl")
        return lines

    def simulate(self, ng, p):
        vec = ng.run(["dc vsdc 0 0.9 0.025 vwldc 0 0.9 0.05"])
        i = -np.asarray(vec["vbldc#branch"]).reshape(len(self.VWL), len(self.VS))
        q_col, v_int = [], []
        for tw in self.T_PULSE:
            spec = gc.pulse_values(0.0, p["v_query_v"], T_Q0_S, tw, T_EDGE_S)
            ng.command("alter @vq[pulse] = [ " + " ".join(format_number(x) for x in spec)
                       + " ]")
            q, v = _read_result(ng.run([_TRAN_READ]))
            q_col.append(q)
            v_int.append(v)
        return {"i_cell_a": i, "vs_zero_v": _zero_crossing(np.asarray(self.VS), i[-1]),
                "q_col_c": q_col, "v_int_v": v_int}


MAX_ROWS = gc.ARRAY_ROWS
ROW_AXIS = tuple(float(r) for r in range(MAX_ROWS))


def superposition_pattern(seed: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Stored voltages (V; 3-bit K/V grid over 0–0.9 V) and query pulse widths (s; 4-bit
    Q grid, 0..15 ns in 1 ns steps) of a random pattern from ``seed`` (REFERENCE.md). The
    pattern of ``rows`` rows is the first ``rows`` rows of the 64-row pattern."""
    rng = np.random.default_rng(int(seed))
    levels = np.linspace(gc.V_STORE_MIN_V, gc.V_STORE_MAX_V, 2 ** gc.KV_BITS)
    vs = levels[rng.integers(0, len(levels), MAX_ROWS)]
    steps = 2 ** gc.Q_BITS - 1
    tw = rng.integers(0, steps + 1, MAX_ROWS) * (gc.T_QUERY_MAX_S / steps)
    return vs[:rows], tw[:rows]


class GainCellSuperposition(Recipe):
    """Superposition error of a random pattern on a column of ``rows`` distinct cells.

    The pattern (from ``pattern_seed``) gives each row a stored voltage on the 3-bit K/V
    grid and a start-aligned query pulse on the 4-bit Q grid (REFERENCE.md). Reads of the
    same column (same devices, so Monte-Carlo mismatch is consistent), each a transient
    from the same initial state (stored voltages set as initial conditions, so neither
    leakage nor read disturb between reads enters the comparison), over the same
    integration window:

    * all rows pulsed at once: ``q_col_c`` (and the integrator output ``v_int_v``);
    * no row pulsed: ``q_idle_c``, the idle column's background (off-state leakage);
    * each pulsed row alone: ``q_single_c`` (rows with no pulse are idle: q_idle).

    Linear superposition predicts ``q_sum_c = q_idle + Σ (q_single - q_idle)``;
    ``err_c = q_col - q_sum`` is the non-linearity of the column's charge summation
    (finite op-amp gain and bandwidth moving the virtual ground, bit-line capacitance,
    integrator clamping). ``err_rel`` normalizes it by Σ |q_single - q_idle|. The deck
    runs at reltol = 1e-5 so the integration noise (~1e-18 C) stays below the error.

    Cost: 2 + (pulsed rows) transients of the whole column; ngspice expands every SKY130
    device subcircuit at each load/reset (~20 ms per device): ~1 s per point at 8 rows,
    ~40 s at 64 rows.
    """

    name = "gaincell-superposition"
    version = 1
    summary = "gain-cell column: charge of a random pattern vs the sum of single-cell charges"
    params = (P_ROWS,
              Param("pattern_seed", 0, "", "seed of the random pattern (integer)", min=0,
                    max=2**31 - 1, structural=True),
              P_VQ, P_VRP, P_VREF, P_CS, P_WRN, P_WRP, P_LREAD, P_CINT, P_A0, P_GBW, P_CBL,
              P_VWWLH)
    outputs = (
        Output("q_col_c", "C", (), "charge the column sinks from the integrator input, "
               "all rows read at once"),
        Output("q_idle_c", "C", (), "same with no row pulsed (background)"),
        Output("q_sum_c", "C", (), "q_idle + sum over rows of (q_single - q_idle)"),
        Output("err_c", "C", (), "q_col - q_sum"),
        Output("err_rel", "", (), "err / sum over rows of |q_single - q_idle|"),
        Output("v_int_v", "V", (), "integrator output at the end of the all-rows read"),
        Output("q_single_c", "C", ("row",), "charge with only this row pulsed (NaN past "
               "rows)"),
        Output("vs_row_v", "V", ("row",), "stored voltage of each row (NaN past rows)"),
        Output("t_row_s", "s", ("row",), "query pulse width of each row (NaN past rows)"),
    )

    def inner_axes(self, p):
        return [Axis("row", "", ROW_AXIS)]

    def _pattern(self, p):
        rows = _int_param("rows", p["rows"], 1, MAX_ROWS)
        seed = _int_param("pattern_seed", p["pattern_seed"], 0, 2**31 - 1)
        vs, tw = superposition_pattern(seed, rows)
        return rows, vs, tw

    def body(self, tech, p):
        rows, vs, tw = self._pattern(p)
        # the error is ~1e-4 of the charge: tighter than the default reltol = 1e-3, which
        # leaves ~1e-17 C of run-to-run integration noise (measured: ~1e-18 C at 1e-5)
        lines = [gc.include_line(), ".options reltol=1e-5 abstol=1e-15"] + _rails()
        lines += gc.column(rows, bl="bl", write_device="si", p=_cell_params(self),
                           cbl_f="{cbl_row_f*%d}" % rows)
        lines += _integrator_lines("bl")
        for r in range(rows):
            lines += [gc.pulse(f"q{r}", f"rwl{r}", 0.0, "{v_query_v}", T_Q0_S, float(tw[r]),
                               T_EDGE_S),
                      f"Bqb{r} rwlb{r} 0 V = V(vrp) - V(rwl{r})",  # complementary driver
                      f".ic v(sn{r})={format_number(float(vs[r]))}"]
        return lines

    def simulate(self, ng, p):
        rows, vs, tw = self._pattern(p)
        tran = "tran 20p {} 0 250p".format(format_number(T_END_S))

        def set_row(r: int, on: bool) -> None:
            spec = gc.pulse_values(0.0, p["v_query_v"], T_Q0_S, float(tw[r]) if on else 0.0,
                                   T_EDGE_S)
            ng.command(f"alter @vq{r}[pulse] = [ "
                       + " ".join(format_number(x) for x in spec) + " ]")

        for r in range(rows):
            set_row(r, True)
        q_col, v_int = _read_result(ng.run([tran]))
        for r in range(rows):
            set_row(r, False)
        q_idle, _ = _read_result(ng.run([tran]))
        q1 = np.full(MAX_ROWS, np.nan)
        for r in range(rows):
            if tw[r] > 0:
                set_row(r, True)
                q1[r], _ = _read_result(ng.run([tran]))
                set_row(r, False)
            else:
                q1[r] = q_idle
        delta = q1[:rows] - q_idle
        q_sum = q_idle + float(np.sum(delta))
        scale = float(np.sum(np.abs(delta)))
        pad = np.full(MAX_ROWS - rows, np.nan)
        return {"q_col_c": q_col, "q_idle_c": q_idle, "q_sum_c": q_sum,
                "err_c": q_col - q_sum,
                "err_rel": (q_col - q_sum) / scale if scale > 0 else float("nan"),
                "v_int_v": v_int, "q_single_c": q1,
                "vs_row_v": np.concatenate([vs, pad]), "t_row_s": np.concatenate([tw, pad])}


# ==========================================================================================
# gaincell-write
# ==========================================================================================
T_WBL_S = 0.5e-9        # write bit line moves to the new value
T_W0_S = 1e-9           # write word line starts rising
T_AFTER_S = 5e-9        # observation after the word-line fall (write bit line back at 1 ns)


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
    * ``e_write_j``: energy the cell's word-line and bit-line drivers deliver over the
      whole operation, counting only delivered power (∫ max(V·I, 0) dt: a CMOS driver does
      not recover the energy a discharging node returns); ``e_net_j`` the net ∫ V·I dt
      (negative when writing toward 0 V returns more than it takes). The cell only: the
      wiring capacitance of the lines is not included.
    """

    name = "gaincell-write"
    version = 3   # v3: v_write_v in 12.5 mV steps (was 25 mV; v2: was 10 values)
    summary = "gain-cell write: settling time, charge injection, energy vs written voltage"
    params = (P_DEV, P_CS, P_WW, P_LW, P_VWWL, P_VWWLH, P_IOFF, P_EA, P_VRP, P_VREF,
              P_WRN, P_WRP, P_LREAD,
              Param("v_prev_v", 0.45, "V", "stored voltage before the write",
                    min=-0.2, max=1.1),  # assumption: the relaxed mid level (REFERENCE.md)
              Param("t_write_s", 10e-9, "s", "write word-line high time (changes the "
                    "netlist's time points)", min=1e-9, max=1e-6,
                    structural=True),  # assumption: 10 ns write pulse
              Param("settle_tol_v", 0.009, "V", "settling tolerance",
                    min=1e-4, max=0.1))  # assumption: 1 % of the 0.9 V storage range
    outputs = (
        Output("t_settle_s", "s", ("v_write_v",), "write settling time"),
        Output("v_err_v", "V", ("v_write_v",), "storage voltage at the word-line fall "
               "minus the written value"),
        Output("dv_inj_v", "V", ("v_write_v",), "storage-node step at the word-line fall"),
        Output("v_stored_v", "V", ("v_write_v",), "stored voltage 5 ns after the fall"),
        Output("e_write_j", "J", ("v_write_v",), "energy delivered by the cell's write "
               "word-line and bit-line drivers (positive power only)"),
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

    def body(self, tech, p):
        dev = p["write_device"]
        cp = _cell_params(self)
        t_fall, _ = self._times(p)
        e = T_WWL_EDGE_S
        lines = [gc.include_line()] + _rails(write_lines=False)
        lines += ["Vrwloff rwl_off 0 0", "Vblidle bl_idle 0 {vref_v}"]
        for k, vw in enumerate(self.VW):
            lines += [
                gc.cell(f"w{k}", f"wbl{k}", f"wwl{k}", "rwl_off", "vrp", "bl_idle", f"sn{k}",
                        "vrn", "vrp", dev, cp),
                gc.pwl(f"wwl{k}", f"wwl{k}", [(0.0, "{v_wwl_hold_v}"),
                                              (T_W0_S, "{v_wwl_hold_v}"),
                                              (T_W0_S + e, "{v_wwl_v}"), (t_fall, "{v_wwl_v}"),
                                              (t_fall + e, "{v_wwl_hold_v}")]),
                gc.pwl(f"wbl{k}", f"wbl{k}", [(0.0, "{vref_v}"), (T_WBL_S, "{vref_v}"),
                                              (T_WBL_S + e, vw), (t_fall + e + 1e-9, vw),
                                              (t_fall + 2 * e + 1e-9, "{vref_v}")]),
                f".ic v(sn{k})={{v_prev_v}}",
            ]
        return lines

    def simulate(self, ng, p):
        t_fall, t_end = self._times(p)
        vec = ng.run([f"tran 10p {format_number(t_end)} 0 50p"])
        t = np.asarray(vec["time"])
        t_r50 = T_W0_S + T_WWL_EDGE_S / 2
        out = {q.name: [] for q in self.outputs}
        for k, vw in enumerate(self.VW):
            v = np.asarray(vec[f"sn{k}"])
            v_fin = _at(t, v, t_fall)
            m = (t >= t_r50) & (t <= t_fall)
            tt = np.concatenate([[t_r50], t[m], [t_fall]])
            vv = np.concatenate([[_at(t, v, t_r50)], v[m], [v_fin]])
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
            power = (np.asarray(vec[f"wwl{k}"]) * -np.asarray(vec[f"vwwl{k}#branch"])
                     + np.asarray(vec[f"wbl{k}"]) * -np.asarray(vec[f"vwbl{k}#branch"]))
            out["t_settle_s"].append(t_settle)
            out["v_err_v"].append(v_fin - vw)
            out["dv_inj_v"].append(v_end - v_fin)
            out["v_stored_v"].append(v_end)
            out["e_write_j"].append(float(np.trapezoid(np.maximum(power, 0.0), t)))
            out["e_net_j"].append(float(np.trapezoid(power, t)))
        return out


# ==========================================================================================
# gaincell-readout
# ==========================================================================================
T_IN0_S = 2e-9                            # input current starts (reset released at 1 ns)
T_IN_S = gc.T_QUERY_MAX_S                 # input charge delivered over 15 ns
T_C0_S = T_IN0_S + T_IN_S + 1e-9          # conversion (ramp) starts
T_RAMP_S = gc.T_QUERY_MAX_S               # ramp window = maximum output pulse (15 ns)
T_RO_END_S = T_C0_S + T_RAMP_S + 2e-9


class GainCellReadout(Recipe):
    """Column integrator and charge-to-pulse transfer, with saturation.

    One integrator + comparator copy per input charge ``q_in_c`` (one deck, one
    transient). Each integrator (behavioral single-pole op-amp, ``cint_f``, ``a0``,
    ``gbw_hz``, output clamped to 0–1.8 V) is reset until 1 ns; an ideal current source
    then draws q_in from its input over 15 ns (the bit-line capacitance ``cin_f`` on the
    input). From 18 ns a shared ramp rises from ``v_ramp0_v`` by ``ramp_span_v`` over
    15 ns while the conversion window is open; each comparator's output is high while its
    integrator output exceeds the ramp. Output pulse width = clip(q/(cint·S), 0, 15 ns)
    with S the ramp slope: a clipped linear activation (REFERENCE.md). Beyond
    cint·(1.8 V - vref) the integrator itself clamps.
    """

    name = "gaincell-readout"
    version = 1
    summary = "gain-cell column integrator + charge-to-pulse transfer and saturation"
    params = (P_CINT, P_A0, P_GBW, P_VREF,
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
    )
    Q = tuple(float(x) for x in np.linspace(-100e-15, 800e-15, 19))  # 50 fC steps

    def inner_axes(self, p):
        return [Axis("q_in_c", "C", self.Q)]

    def body(self, tech, p):
        e = T_EDGE_S
        lines = [gc.include_line(), "Vvref vref 0 {vref_v}",
                 gc.pwl("rst", "rst", [(0.0, 1.8), (T_RST_S - 100e-12, 1.8), (T_RST_S, 0.0)]),
                 ".nodeset v(rst)=1.8",
                 gc.pwl("ramp", "ramp", [(0.0, "{v_ramp0_v}"), (T_C0_S, "{v_ramp0_v}"),
                                         (T_C0_S + T_RAMP_S, "{v_ramp0_v+ramp_span_v}")]),
                 gc.pwl("en", "en", [(0.0, 0.0), (T_C0_S - 10e-12, 0.0), (T_C0_S, "{vdd_v}"),
                                     (T_C0_S + T_RAMP_S, "{vdd_v}"),
                                     (T_C0_S + T_RAMP_S + 10e-12, 0.0)])]
        ip, rp = _integrator_params(), gc.ReadoutParams()
        for k, q in enumerate(self.Q):
            a = q / T_IN_S
            pts = [(0.0, 0.0), (T_IN0_S, 0.0), (T_IN0_S + e, a), (T_IN0_S + T_IN_S, a),
                   (T_IN0_S + T_IN_S + e, 0.0)]
            lines += [
                # current drawn out of the integrator input = charge sunk by the cells
                f"Iin{k} in{k} 0 PWL(" + " ".join(f"{format_number(t)} {format_number(v)}"
                                                  for t, v in pts) + ")",
                f"Cin{k} in{k} 0 {{cin_f}}",
                gc.integrator(f"int{k}", f"in{k}", f"vout{k}", "vref", "rst", ip),
                gc.c2p(f"c2p{k}", f"vout{k}", "ramp", "en", f"pout{k}", rp),
            ]
        return lines

    def simulate(self, ng, p):
        vec = ng.run([f"tran 10p {format_number(T_RO_END_S)} 0 50p"])
        t = np.asarray(vec["time"])
        widths, vint = [], []
        for k in range(len(self.Q)):
            pout = np.asarray(vec[f"pout{k}"])
            widths.append(_high_time(t, pout, p["vdd_v"] / 2))
            vint.append(_at(t, np.asarray(vec[f"vout{k}"]), T_C0_S))
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
                "t_out_max_s": wmax}


def _high_time(t: np.ndarray, y: np.ndarray, level: float) -> float:
    """Total time y spends above ``level`` (crossings linearly interpolated)."""
    total, start = 0.0, (float(t[0]) if y[0] > level else None)
    for tc, direction in _crossings(t, y, level):
        if direction > 0:
            start = tc
        elif start is not None:
            total += tc - start
            start = None
    if start is not None:
        total += float(t[-1]) - start
    return total
