"""6T SRAM column on SKY130 (transient): energy per bit written and read, read delay.

Circuit: ``circuits/sram.py`` (textbook 6T cell sizing, the other cells' access
transistors as real devices on the bitlines, precharge/equalize, write driver, the
StrongARM sense amplifier of ``circuits/comparator.py``). Recipe ``sram``, one point =
one column height ``rows`` (and sizes, corner, temperature):

1. **Write** a 0 into the accessed cell (it starts holding 1, ``.ic``): precharge off,
   the write driver pulls BL low, the word line is high for ``t_wl_write_s``, then the
   driver lets go and the bitlines are precharged again for ``t_pre_s``.
2. **Read** it back, self-timed: precharge off, word line high until the bitline
   differential BLB - BL reaches ``dv_sense_v`` (found by a first transient with a long
   word line; then the word line ends there, as a replica-bitline timer does), the
   sense amplifier fires for ``t_sae_s`` and the bitlines are precharged for
   ``t_pre_s``. Two such runs bracket the target swing (the second pulse corrected by
   the first's miss); the read outputs are interpolated linearly in the swing at sense
   time to exactly ``dv_sense_v``. Below ~100 rows (tt) the shortest word-line pulse
   (two 50 ps edges) already overshoots the target: the read is then that pulse's, and
   ``dv_at_sense_v`` shows the overshoot.

Control lines (word line, precharge, write driver, sense enable) are driven by SKY130
inverters from ideal sources on their own supply ``vddc`` (the energy to switch the
gates they drive is metered; the upstream decoder/timer logic is not in the deck). The
word line drives this column's two access gates and ``c_wire_cell_ff`` of wire: this
column's share of a word line shared by the row.

Outputs (energy = -∫ V·I of the supplies over the operation's window):

* ``e_write_bit_j`` / ``e_read_bit_j``: all supplies (cell array, precharge, sense
  amplifier, control), per bit (this column) written / read;
* ``e_write_bl_j`` / ``e_read_bl_j``: the precharge supply's part (restoring the
  bitlines: ~C_BL·VDD² after a write, ~C_BL·VDD·ΔV after a read), the quantities the
  hand C·V² checks use (tests/test_sram.py); ``e_read_sa_j`` the sense amplifier's;
* ``dv_bl_v`` / ``dv_blb_v``: how far BL and BLB fall from the word line's rise to the
  sense enable (the precharge pfets' gate kick lifts both ~0.05-0.1 V above VDD when
  precharge turns off, so the levels are not measured from VDD);
* ``t_develop_s``: word line 50 % to BLB - BL = ``dv_sense_v``; ``t_sense_s``: sense
  enable 50 % to the falling SA output at VDD/2; ``t_read_s`` their sum;
* ``t_write_s``: word line 50 % to the cell's q/qb crossing;
* ``write_ok`` / ``read_ok``: 1 when the cell flipped / the SA read the stored 0;
* ``p_leak_cell_w``: one cell's standby leakage, on a probe: a second full 6T cell on its
  own supplies, holding 0 (pinned by ``.nodeset``: left to itself a DC solution of a
  latch can land on its metastable point, as the logic deck's flip-flops did), word
  line at 0 and both bitlines held at VDD (precharged), at the DC operating point: its
  cell supply's power plus its bitlines' (the access devices' leakage into the 0 node).
  NaN unless the probe held its state. The cell is symmetric, so holding 1 is the same.
"""
from __future__ import annotations

import numpy as np

from ...circuits import comparator as cc
from ...circuits import logic as lg
from ...circuits import sram as sc
from ..npy_param import IntParam
from ..params import Param, format_number
from ..recipe import Output, Recipe, register_recipe
from ..waveform import crossings, energy

#: control edges (assumption: fast upstream logic) and the gaps between control events
_T_EDGE_S = 50e-12
_T_GAP_S = 0.1e-9
#: write starts (precharge off) here; before it the bitlines are precharged
_T_WRITE_S = 1.0e-9
#: the first (timing) transient's read word line, long enough for the slowest corner
_T_WL_LONG_S = 3e-9
_SUPPLIES = ("vddcell", "vddp", "vdds", "vddc")

f = format_number


def _size_params() -> tuple[Param, ...]:
    out = []
    for cls in (sc.Bitcell, sc.ColumnPeriphery):
        for s in cc.field_specs(cls):
            if s["name"] == "sense":
                continue
            out.append(Param(s["name"], float(s["default"]), s["unit"],
                             s["doc"] + f" [default: {s['source']}]", min=float(s["min"]),
                             max=float(s["max"]), structural=True))
    return tuple(out)


def _pwl(points) -> str:
    """PWL text of (time, level) pairs; a time may be a netlist expression string."""
    return "PWL(" + " ".join(f"{t if isinstance(t, str) else f(t)} {v}" for t, v in points) + ")"


@register_recipe
class SramColumn(Recipe):
    name = "sram"
    summary = "6T SRAM column: energy per bit written/read vs rows, self-timed read delay"
    # 4: the cell's standby leakage (p_leak_cell_w, a probe cell); 3: the read
    # interpolated to the target swing between two pulses
    version = 4
    params = (
        IntParam("rows", 64, "", "cells on the bitline pair [default: assumption]", min=2,
                 max=512, structural=True),
        Param("c_wire_cell_ff", 0.2, "fF", "bitline (and word-line) wire per cell "
              "[default: assumption, met1 over one cell pitch, derived in circuits/sram.py]",
              min=0.0, max=5.0, structural=True),
        Param("dv_sense_v", 0.1, "V", "bitline differential at which the SA fires "
              "[default: assumption, the textbook 100-200 mV swing (Rabaey Sec. 12.2.3), "
              "many sigmas of the StrongARM offset]", min=0.02, max=0.6),
        Param("t_wl_write_s", 1e-9, "s", "write word-line pulse [default: assumption]",
              min=0.2e-9, max=20e-9, structural=True),
        Param("t_pre_s", 2.5e-9, "s", "precharge time after each access [default: "
              "assumption, ~6 RC of a 512-row bitline through the 2 um precharge pfets]", min=0.2e-9, max=20e-9,
              structural=True),
        Param("t_sae_s", 0.6e-9, "s", "sense-enable pulse [default: assumption]",
              min=0.1e-9, max=10e-9, structural=True),
        Param("vdd_v", 1.8, "V", "every supply [default: SKY130 1.8 V core]", min=1.4,
              max=1.98),
    ) + _size_params()
    outputs = (
        Output("e_write_bit_j", "J", (), "energy of one bit written (all supplies)"),
        Output("e_read_bit_j", "J", (), "energy of one bit read (all supplies)"),
        Output("e_write_bl_j", "J", (), "precharge-supply part of the write (~C_BL VDD^2)"),
        Output("e_read_bl_j", "J", (), "precharge-supply part of the read"),
        Output("e_read_sa_j", "J", (), "sense-amplifier supply part of the read"),
        Output("dv_bl_v", "V", (), "BL's fall from word-line rise to sense enable 50 %"),
        Output("dv_blb_v", "V", (), "BLB's fall over the same interval"),
        Output("dv_at_sense_v", "V", (), "BLB - BL when the sense enable starts rising"),
        Output("t_develop_s", "s", (), "word line 50 % to BLB - BL = dv_sense_v"),
        Output("t_sense_s", "s", (), "sense enable 50 % to SA output at VDD/2"),
        Output("t_read_s", "s", (), "t_develop_s + t_sense_s"),
        Output("t_write_s", "s", (), "word line 50 % to the cell's q/qb crossing"),
        Output("write_ok", "", (), "1: the write flipped the cell"),
        Output("read_ok", "", (), "1: the sense amplifier read the stored 0"),
        Output("p_leak_cell_w", "W", (), "one cell's standby leakage (word line off, "
                                         "bitlines precharged): cell + bitline supplies"),
    )

    def timeout_s(self, p):
        return 60.0 + 0.5 * p["rows"]

    @staticmethod
    def _times(p) -> dict:
        """Event times (s; read events after the word line rise are relative to the
        ``t_wlr_s`` netlist parameter, the read word-line pulse)."""
        tw = _T_WRITE_S
        wl_w = tw + _T_GAP_S
        w_end = wl_w + 2 * _T_EDGE_S + p["t_wl_write_s"]
        pre_on_w = w_end + _T_GAP_S
        tr = pre_on_w + _T_EDGE_S + p["t_pre_s"]
        return {"tw": tw, "wl_w": wl_w, "w_end": w_end, "pre_on_w": pre_on_w, "tr": tr,
                "wl_r": tr + _T_GAP_S}

    def body(self, tech, p):
        sc.check_technology(tech)
        cell = sc.Bitcell(**{k: p[k] for k in ("w_pd_um", "w_ax_um", "w_pu_um")})
        per = sc.ColumnPeriphery(w_pre_um=p["w_pre_um"], w_wd_um=p["w_wd_um"])
        t, te = self._times(p), _T_EDGE_S
        hi, lo = "{vdd_v}", "0"
        # read events after the word line: expressions of t_wlr_s
        sae_r = f"{{{f(t['wl_r'] + 2 * te)}+t_wlr_s}}"
        sae_top = f"{{{f(t['wl_r'] + 3 * te)}+t_wlr_s}}"
        sae_f = f"{{{f(t['wl_r'] + 3 * te + p['t_sae_s'])}+t_wlr_s}}"
        sae_end = f"{{{f(t['wl_r'] + 4 * te + p['t_sae_s'])}+t_wlr_s}}"
        wl_rf = f"{{{f(t['wl_r'] + te)}+t_wlr_s}}"
        wl_r0 = f"{{{f(t['wl_r'] + 2 * te)}+t_wlr_s}}"
        # each *_s source is the INVERTED control (a driver inverter restores it)
        wl = [(0, hi), (t["wl_w"], hi), (t["wl_w"] + te, lo), (t["w_end"] - te, lo),
              (t["w_end"], hi), (t["wl_r"], hi), (t["wl_r"] + te, lo), (wl_rf, lo),
              (wl_r0, hi)]
        # pre_b (active low) = NOT pre_s: pre_s high = precharge off
        pre = [(0, lo), (t["tw"], lo), (t["tw"] + te, hi), (t["pre_on_w"], hi),
               (t["pre_on_w"] + te, lo), (t["tr"], lo), (t["tr"] + te, hi), (sae_f, hi),
               (sae_end, lo)]
        wd0 = [(0, hi), (t["wl_w"], hi), (t["wl_w"] + te, lo), (t["w_end"], lo),
               (t["w_end"] + te, hi)]
        sae = [(0, hi), (sae_r, hi), (sae_top, lo), (sae_f, lo), (sae_end, hi)]
        L = [".param t_wlr_s=" + f(_T_WL_LONG_S),
             *(f"V{s} {s} 0 {{vdd_v}}" for s in _SUPPLIES),
             f"Vwl_s wl_s 0 {_pwl(wl)}", f"Vpre_s pre_s 0 {_pwl(pre)}",
             f"Vwd0_s wd0_s 0 {_pwl(wd0)}", "Vwd1_s wd1_s 0 {vdd_v}",
             f"Vsae_s sae_s 0 {_pwl(sae)}"]
        # control drivers on vddc: pre_s -> pre_b is itself an inversion (pre_b = NOT
        # pre_s: low while precharging), the others restore the active-high level
        L += lg.inverter("dwl", "wl_s", "wl", "vddc", "0", 0.42, 1.0)
        L += lg.inverter("dpre", "pre_s", "pre_b_n", "vddc", "0", 0.42, 1.0)
        L += lg.inverter("dpre2", "pre_b_n", "pre_b", "vddc", "0", 1.0, 2.4)
        L += lg.inverter("dwd0", "wd0_s", "wd0", "vddc", "0", 0.42, 1.0)
        L += lg.inverter("dwd1", "wd1_s", "wd1", "vddc", "0", 0.42, 1.0)
        L += lg.inverter("dwd0b", "wd0", "wd0b", "vddc", "0", 0.42, 1.0)
        L += lg.inverter("dwd1b", "wd1", "wd1b", "vddc", "0", 0.42, 1.0)
        L += lg.inverter("dsae", "sae_s", "sae", "vddc", "0", 1.0, 2.4)
        L.append(f"Cwl wl 0 {f(p['c_wire_cell_ff'] * 1e-15)}")
        L += sc.column_lines(tech, int(p["rows"]), cell, per, p["c_wire_cell_ff"])
        L.append(".ic v(q)={vdd_v} v(qb)=0")
        # the leakage probe (module docstring): its own cell and bitline supplies
        L += ["Vddl vddl 0 {vdd_v}", "Vbll lbl 0 {vdd_v}"]
        L += sc.bitcell_lines(cell, "lk", "lbl", "lbl", "0", "lq", "lqb", "vddl")
        L.append(".nodeset v(lq)=0 v(lqb)={vdd_v}")
        return L

    def _tran(self, ng, tstop):
        step = 10e-12   # 10 ps max step: 2-5 points on every 50 ps control edge
        return ng.run([f"tran {f(step)} {f(tstop)} 0 {f(step)}"])

    def _read_run(self, ng, p, t, t_wlr):
        """The measured transient with read word-line pulse ``t_wlr``: (vectors, sense
        enable rise, end of the read's precharge)."""
        ng.command(f"alterparam t_wlr_s={f(t_wlr)}")
        ng.command("reset")
        t_sae_r = t["wl_r"] + 2 * _T_EDGE_S + t_wlr
        t_end = t_sae_r + 2 * _T_EDGE_S + p["t_sae_s"] + _T_EDGE_S + p["t_pre_s"]
        return self._tran(ng, t_end), t_sae_r, t_end

    @staticmethod
    def _differential(r, t_sae_r):
        """BLB - BL when the sense enable starts rising."""
        return float(np.interp(t_sae_r, r["time"], r["blb"] - r["bl"]))

    def simulate(self, ng, p):
        vdd = p["vdd_v"]
        t = self._times(p)
        nan = float("nan")
        out = {o.name: nan for o in self.outputs}
        # 0. the leakage probe at the DC operating point
        op = ng.run(["op"])
        held = float(op["lq"][0]) < 0.1 * vdd and float(op["lqb"][0]) > 0.9 * vdd
        out["p_leak_cell_w"] = (-vdd * (float(op["vddl#branch"][0])
                                        + float(op["vbll#branch"][0])) if held else nan)
        # 1. timing transient: long read word line
        ng.command(f"alterparam t_wlr_s={f(_T_WL_LONG_S)}")
        ng.command("reset")
        r = self._tran(ng, t["wl_r"] + _T_WL_LONG_S + _T_EDGE_S)
        tt = r["time"]
        wl_up = [c for c, d in crossings(tt, r["wl"], vdd / 2) if d > 0 and c > t["tr"]]
        dif = r["blb"] - r["bl"]
        dev = [c for c, d in crossings(tt, dif, p["dv_sense_v"]) if d > 0 and c > t["tr"]]
        if not wl_up or not dev:
            return out
        t_dev = dev[0] - wl_up[0]
        # 2. the measured transients: the word line ends where the differential was
        # reached (the source's fall timed so the word line's own 50 % fall, after the
        # driver's delay the rise showed, lands there), then a second pulse corrected
        # by the missing swing at the first transient's develop rate; every read
        # quantity is interpolated linearly in the swing at sense time between the two
        # runs to exactly dv_sense_v (a measurement at the target, not one ~5 % off it)
        target = p["dv_sense_v"]
        t_a = max(t_dev - _T_EDGE_S, 1e-12)
        m_a = self._measure(ng, p, t, t_a)
        t_b = max(t_a + (target - m_a["dv_at_sense_v"]) * t_dev / target, 1e-12)
        if t_b == t_a:
            # the word line is as short as its edges and still overshoots (short
            # columns): the read is what that shortest pulse gives, dv_at_sense_v says so
            m = m_a
        else:
            m_b = self._measure(ng, p, t, t_b)
            da, db = m_a["dv_at_sense_v"], m_b["dv_at_sense_v"]
            w = (target - da) / (db - da) if db != da else 0.0
            m = {k: (m_a[k] + w * (m_b[k] - m_a[k]) if k not in ("write_ok", "read_ok")
                     else min(m_a[k], m_b[k])) for k in m_a}
        m["t_develop_s"] = t_dev
        m["t_read_s"] = t_dev + m["t_sense_s"]
        out.update(m)
        return out

    def _measure(self, ng, p, t, t_wlr) -> dict:
        """Run the measured transient with read word-line pulse ``t_wlr`` and measure
        it (energies of both operations, swings, sense and write delays, checks)."""
        vdd = p["vdd_v"]
        nan = float("nan")
        r, t_sae_r, t_end = self._read_run(ng, p, t, t_wlr)
        tt = r["time"]
        power = {s: -vdd * r[f"v{s}#branch"] for s in _SUPPLIES}
        e_w = {s: energy(tt, t["tw"], t["tr"], pw) for s, pw in power.items()}
        e_r = {s: energy(tt, t["tr"], t_end, pw) for s, pw in power.items()}
        sae_up = [c for c, d in crossings(tt, r["sae"], vdd / 2) if d > 0 and c > t["tr"]]
        t_s = sae_up[0] if sae_up else t_sae_r
        swing = lambda n: float(np.interp(t["wl_r"], tt, r[n]) - np.interp(t_s, tt, r[n]))  # noqa: E731
        q_w = [c for c, d in crossings(tt, r["q"] - r["qb"], 0.0) if t["tw"] < c < t["tr"]]
        wl_w = [c for c, d in crossings(tt, r["wl"], vdd / 2) if d > 0 and c > t["tw"]]
        sense = (tt >= t_sae_r) & (tt <= t_sae_r + p["t_sae_s"])
        falls = [c for c, d in crossings(tt[sense], r["sao"][sense], vdd / 2) if d < 0]
        ok_w = float(np.interp(t["tr"], tt, r["q"]) < vdd / 2)
        ok_r = float(np.interp(t_sae_r + p["t_sae_s"], tt, r["saob"])
                     > np.interp(t_sae_r + p["t_sae_s"], tt, r["sao"]))
        return {
            "e_write_bit_j": sum(e_w.values()), "e_read_bit_j": sum(e_r.values()),
            "e_write_bl_j": e_w["vddp"], "e_read_bl_j": e_r["vddp"],
            "e_read_sa_j": e_r["vdds"],
            "dv_bl_v": swing("bl"), "dv_blb_v": swing("blb"),
            "t_sense_s": falls[0] - sae_up[0] if falls and sae_up else nan,
            "t_write_s": (q_w[0] - wl_w[0]) if q_w and wl_w else nan,
            "dv_at_sense_v": self._differential(r, t_sae_r), "write_ok": ok_w,
            "read_ok": ok_r}
