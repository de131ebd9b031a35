"""Crossbar input DACs on SKY130: a bit-serial word-line driver and a resistor-string DAC.

Row line (the load of both): a crossbar row of ``n_cells`` 1T1R cells, as the crossbar
netlist builds it (circuits/crossbar.py: one word-line segment ``r_wl_ohm`` and one
capacitance ``c_wl_cell_ff`` per cell). Here it is an RC ladder of ``LINE_SEGMENTS``
equal sections (each ``n_cells/LINE_SEGMENTS`` cells' R and C); the far end is the last
node ``line<LINE_SEGMENTS>``. The cells' DC read current is not on this line: it is the
crossbar's own energy (crossbar-column ``e_read_j`` = ∫ V·I of the inputs); a DAC here
charges and discharges the row's capacitance only.

Per-cell row capacitance (the default of the recipes, 1.0 fF, is the crossbar recipe's
``c_wl_cell_ff``); derived for SKY130 as: met1 word line over one cell pitch
(0.51 um^2 1T1R cell, ~0.71 um pitch; SKY130 met1 to substrate ~0.026 fF/um^2 area plus
~0.04 fF/um fringe per edge and ~0.08 fF/um coupling to each neighbour line at minimum
spacing: ~0.2 fF) plus the 1T1R cell's electrode node, which the row reaches through the
memristor: the access nfet's drain junction (W = 1 um, ad = 0.29 um^2 at SKY130's
cj = 0.83 fF/um^2 and pd = 2.6 um at cjsw ~0.1 fF/um, ~0.45 fF at 0 V bias) plus its
gate-drain overlap (~0.3 fF/um): ~0.75 fF. Together ~0.95 fF, i.e. ~1 fF per cell.

Bit-serial driver (:func:`driver_lines`): an inverter chain at ``vdd`` (first stage
minimum size, each next stage ``taper`` times wider: the classic fanout-of-~4 taper of
Weste & Harris Sec. 4.5 / Sutherland's logical effort) drives a switch that connects
the row line to the word-line rail ``vwl`` (the read voltage, 0.2 V in RACE-IT's tiles)
for a 1 and pulls it to ground for a 0: a transmission gate to the rail (an nfet passes
a low rail, the pfet a high one, so one topology serves any rail 0..VDD) and an nfet to
ground. This is ISAAC's "1-bit DAC" (a switch between V_read and 0; Shafiee et al.,
ISCA 2016). Its energy: the rail delivers C_line·V_wl^2 per pulse; the chain and the
switch gates draw from VDD.

Resistor-string DAC (:func:`rstring_lines`): 2^bits equal resistors between ``vref``
and ground (Razavi, "Principles of Data Conversion System Design", 1995, Sec. 3.1;
Johns & Martin, "Analog Integrated Circuit Design", Sec. 12.2.1), one transmission
gate per tap onto the output (a one-hot decoder selects the tap; its gates are driven by
the netlist's sources here, the decoder logic is not in the deck). Inherently monotonic;
INL comes from resistor mismatch only (``r_rel`` per resistor; the recipe draws them).
"""
from __future__ import annotations

import math
from typing import Sequence

from .logic import inverter, mos
from .netlist import Value, node, num, value

#: sections of the row-line RC ladder (a 16-section ladder's step response is within
#: ~0.5 % of the distributed line's for the Elmore-dominated settle)
LINE_SEGMENTS = 16
#: SKY130 1.8 V gate capacitance per um^2 of channel (tox 4.15 nm: eps_ox/tox =
#: 8.3 fF/um^2), fF/um^2; sizes the driver chain
COX_FF_PER_UM2 = 8.3


def line_lines(n_cells: Value, r_cell_ohm: Value, c_cell_ff: Value, start: str = "line0",
               vss: str = "0") -> list[str]:
    """RC ladder of a row of ``n_cells`` cells from ``start`` (driver end) to
    ``line{LINE_SEGMENTS}`` (far end): each section is R = n·r/S then C = n·c/S."""
    n = value(n_cells).strip("{}")
    r = value(r_cell_ohm).strip("{}")
    c = value(c_cell_ff).strip("{}")
    S = LINE_SEGMENTS
    out = [f"* row line: {S} RC sections"]
    prev = node(start)
    for k in range(1, S + 1):
        out.append(f"Rl{k} {prev} line{k} {{max({n}*{r}/{S},1e-3)}}")
        out.append(f"Cl{k} line{k} {node(vss)} {{{n}*{c}*1e-15/{S}}}")
        prev = f"line{k}"
    return out


def chain_widths(c_load_ff: float, w_n0_um: float, w_p0_um: float, taper: float,
                 stages: int | None = None) -> list[tuple[float, float]]:
    """(w_n, w_p) per stage of an inverter chain driving ``c_load_ff`` (fF): the number
    of stages (even, so the chain does not invert) from ln(C_load/C_in)/ln(taper)
    unless given; widths grow by ``taper`` per stage from the minimum first stage."""
    c_in = COX_FF_PER_UM2 * (w_n0_um + w_p0_um) * 0.15
    if stages is None:
        k = max(math.log(max(c_load_ff, c_in) / c_in) / math.log(taper), 1.0)
        stages = max(2, 2 * round(k / 2))
    return [(w_n0_um * taper ** i, w_p0_um * taper ** i) for i in range(int(stages))]


def driver_lines(widths: Sequence[tuple[float, float]], w_sw_um: float, inp: str,
                 out: str, vdd: str, vwl: str, vss: str = "0") -> list[str]:
    """Inverter chain from ``inp`` (``widths`` per stage, at ``vdd``) whose last two
    stage outputs drive the row switch: transmission gate ``vwl`` -> ``out`` (nfet
    ``w_sw_um``, pfet 2x) and pull-down nfet ``out`` -> ``vss`` (``w_sw_um``)."""
    if len(widths) < 2 or len(widths) % 2:
        raise ValueError("the driver chain needs an even number (>= 2) of stages")
    L = [f"* word-line driver: {len(widths)}-stage chain + switch"]
    prev = node(inp)
    nodes = []
    for i, (wn, wp) in enumerate(widths):
        nxt = f"dch{i + 1}"
        L += inverter(f"dch{i}", prev, nxt, vdd, vss, wn, wp)
        nodes.append(nxt)
        prev = nxt
    on, on_b = nodes[-1], nodes[-2]   # on = inp (even chain), on_b its complement
    L += [mos("swn", "n", node(out), on, node(vwl), node(vss), w_sw_um),
          mos("swp", "p", node(out), on_b, node(vwl), node(vdd), 2 * w_sw_um),
          mos("swd", "n", node(out), on_b, node(vss), node(vss), w_sw_um)]
    return L


def rstring_lines(r_unit_ohm: float, r_rel: Sequence[float], tap_gates: Sequence[str],
                  vref: str, out: str, vdd: str, w_sw_um: Value, vss: str = "0",
                  prefix: str = "") -> list[str]:
    """Resistor string of ``len(r_rel)`` resistors (resistor i = r_unit·r_rel[i]) from
    ``vss`` (tap 0) up to ``vref``; tap k (k = 0 .. N-1) is the node below resistor k,
    i.e. tap k = vref·Σ_{i<k} R_i / Σ R. Tap k connects to ``out`` through a
    transmission gate whose nfet gate is ``tap_gates[k]`` (pfet gate: ``<gate>_b``)."""
    N = len(r_rel)
    if N < 2 or len(tap_gates) not in (0, N):
        raise ValueError("a string needs >= 2 resistors and one gate per tap (or none)")
    taps = [node(vss)] + [f"{prefix}tap{k}" for k in range(1, N)] + [node(vref)]
    L = [f"* resistor string, {N} resistors"]
    for i, rr in enumerate(r_rel):
        if not rr > 0:
            raise ValueError("resistor values must be positive")
        L.append(f"R{prefix}s{i} {taps[i]} {taps[i + 1]} {num(r_unit_ohm * float(rr))}")
    for k, g in enumerate(tap_gates):
        L += [mos(f"{prefix}tgn{k}", "n", node(out), node(g), taps[k], node(vss), w_sw_um),
              mos(f"{prefix}tgp{k}", "p", node(out), node(g + "_b"), taps[k], node(vdd),
                  w_sw_um)]
    return L
