"""Energy of the acam-search cycle's control-gate drivers, from its transient.

The cycle's control gates (precharge, footer, source-line switch and its pull-down,
comparator clock) are driven by ideal PULSE sources (:meth:`.acam.AcamSearch.body`); a
CMOS driver in their place draws from VDD the charge it delivers while its pull-up is
on (rising edge and high level). Pulling down returns the gate's charge to ground, so
the low phases count nothing.

The charge is the signed integral of the source current over each pull-up phase. The
trapezoidal rule's capacitor currents alternate in sign from one time step to the next
after a steep edge (ringing) while their integral stays the exact charge; a rectified
current (max(-i, 0), acam-search version 2) turned that ringing into energy: 35-125 fJ
from the 4 um footer gate (its charge is ~14 fJ), irregular from one row length to the
next (ss/27 C, 4-12 cells: e_ctrl_j 223, 255, 356, 296 fJ; signed per phase: 99, 119,
138, 177 fJ, linear in the source-line switch's width; the search's total energy within
0.1 % of a Gear / reltol 1e-5 run, tt/27 C, 4 cells).
"""
from __future__ import annotations

from ..waveform import energy

#: a breakpoint sample may sit a rounding error (s) off its PULSE corner
_EPS_S = 1e-15


def pullup_phases(p: dict, t_edge_s: float, t_decide_s: float
                  ) -> dict[str, list[tuple[float, float]]]:
    """Per control source of the acam-search deck: the intervals (s) in which its driver
    pulls the gate up, from the start of each rising edge to the start of the following
    falling edge. Mirrors the PULSE lines of ``AcamSearch.body`` (edges ``t_edge_s``,
    comparator decision ``t_decide_s``); every boundary is a PULSE corner, a breakpoint
    the transient samples exactly."""
    te, td = t_edge_s, t_decide_s
    t_pre, t_ev = p["t_pre_s"], p["t_eval_s"]
    t_sl = t_pre - p["t_sl_setup_s"]
    w_sl = p["t_sl_setup_s"] + t_ev + td - te
    w_eval = max(t_ev + td - 3 * te, te)
    return {"vpre": [(t_pre, t_pre + te + t_ev + td)],
            "veval": [(t_pre + te, t_pre + 2 * te + w_eval)],
            "vslen": [(t_sl, t_sl + te + w_sl)],
            # inverted: high before the source line turns on and after it turns off
            "vslenb": [(0.0, t_sl), (t_sl + te + w_sl, float("inf"))],
            "vclk": [(t_pre + t_ev - te, t_pre + t_ev + td - te)]}


def driver_energy(t, vec, p: dict, t_on: float, t_end: float, t_edge_s: float,
                  t_decide_s: float) -> float:
    """Energy (J) the control-gate drivers draw from VDD in the window t_on..t_end (s):
    VDD x the net charge each source delivers in its pull-up phases. ``vec``: the
    transient's vectors (``<source>#branch`` currents, A), ``t`` its time axis (s)."""
    e = 0.0
    for src, phases in pullup_phases(p, t_edge_s, t_decide_s).items():
        i = vec[f"{src}#branch"]
        for a, b in phases:
            a, b = max(a, t_on), min(b, t_end)
            if b > a:
                e += energy(t, a - _EPS_S, b + _EPS_S, -p["vdd_v"] * i)
    return e
