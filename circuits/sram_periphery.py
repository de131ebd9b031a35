"""The periphery an SRAM macro access adds to its columns (``circuits/sram.py``): the row
decoder that raises one word line, and the data-bus wire that carries the accessed bits
to the macro's port (the netlist builder of the ``sram-periphery`` recipe). SKY130 1.8 V
devices throughout, every instance on a hoisted model card with its junction areas
(:meth:`Sky130.hoisted_device`, :func:`.sram.with_junctions`).

Row decoder (Rabaey, Chandrakasan & Nikolic, "Digital Integrated Circuits", 2nd ed.,
2003, Sec. 12.3.1, predecoded NAND decoder; Weste & Harris, "CMOS VLSI Design", 4th ed.,
Sec. 12.2.2): for ``rows = 2^n`` the n address bits are split into groups of at most 3
bits (sizes as equal as possible: 256 rows = 3 + 3 + 2). Each group of k bits has 2^k
predecoder gates, a NAND(k+1) of the enable and the bits' true/complement literals, and
an inverter that drives that predecode line. Each row has a NAND of one line per group,
then a three-inverter word-line driver chain tapered ~4x per stage (an odd count: the
NAND's low output raises the word line). The enable is clocked (a pulsed decoder: the
predecode lines and the word line pulse high once per access, whatever the address;
Rabaey Sec. 12.3.1), so the energy per access does not depend on which row is read.

* switched per access: the enable line (every predecoder gate's enable input), one
  predecode line per group (its wire and the gates of ``rows / 2^k`` row NANDs), the
  selected row's NAND output and driver chain, its word line; the other rows' NANDs
  see some inputs rise (stack nodes) but keep their outputs high;
* a row NAND none of whose inputs is on a pulsed predecode line never switches (inputs
  low, output high): those rows are left out (their leakage, pA each, is not in the
  figure), and the unselected rows that are built carry only the first driver stage (their
  NAND output stays high, so nothing behind it moves): at 256 rows 109 of the 256 NANDs are built;
* the address literals are static during the access (set up before the enable, ideal
  sources): an address change between accesses is not in the figure;
* supplies: ``vdec`` feeds the enable driver, predecoders, row NANDs and the first two
  stages of the word-line driver; ``vwl`` feeds the last stage, which charges the word
  line. The SRAM column deck already prices each column's share of the word line (its
  access gates and wire, from a per-column driver), so ``vwl``'s energy is reported but
  only ``vdec``'s adds to an access (the decoder's part up to the word-line driver's
  input).

Wires (SKY130 technology LEF ``sky130_fd_sc_hd__nom.tlef``: per layer ``CAPACITANCE
CPERSQDIST`` to substrate and ``EDGECAPACITANCE`` per edge; :data:`TLEF`): predecode
lines run the decoder's height on met1 at minimum width, one cell pitch
(``ROW_PITCH_UM``, the 1.6 um of circuits/sram.py) per row:
25.78 aF/um^2 x 0.14 um + 2 x 40.57 aF/um = 84.7 aF/um, 0.136 fF per row.

Data bus: one bit line of the bus as a driver (pre-driver + inverter) into a distributed
RC wire of ``bus_mm`` on met3 (``N_SEGMENTS`` pi segments) and a minimum inverter at the
far end. Per um: met3 to substrate at its 0.3 um minimum width, 12.37 aF/um^2 x 0.3 um +
2 x 40.99 aF/um = 85.7 aF/um (tlef), plus coupling to the two neighbour bus lines at the
met3 minimum pitch (tlef PITCH 0.68 - WIDTH 0.3 = 0.38 um spacing, THICKNESS 0.8 um):
parallel plates eps0 x 3.9 (SiO2, textbook; an assumption, the PDK's inter-metal
dielectric constant is not in the tlef) x 0.8 / 0.38 = 72.7 aF/um each. The neighbours
are held quiet: with random data a neighbour rises, stays or falls with probability
1/4, 1/2, 1/4 as the line rises, which moves 0, 1 and 2 x the coupling charge: on
average the quiet-neighbour figure. Total 0.231 fF/um. Resistance: met3 0.047 ohm/sq
(tlef RPERSQ) / 0.3 um = 0.157 ohm/um.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .logic import NFET, PFET
from .netlist import num, param_field, require_devices
from .sram import with_junctions

PERIPHERY_DEVICES = (NFET, PFET)
_p = param_field

#: SKY130 wiring figures (sky130_fd_sc_hd__nom.tlef): layer -> (CPERSQDIST aF/um^2,
#: EDGECAPACITANCE aF/um, RPERSQ ohm/sq, minimum WIDTH um, PITCH um, THICKNESS um)
TLEF = {"met1": (25.7784, 40.567, 0.125, 0.14, 0.34, 0.35),
        "met3": (12.3729, 40.989, 0.047, 0.30, 0.68, 0.80)}
#: row pitch of the bitcell array the decoder lines run along, um (circuits/sram.py's
#: ~1.6 um of wire per cell: an assumption)
ROW_PITCH_UM = 1.6
#: SiO2 relative permittivity (textbook; assumption for SKY130's inter-metal dielectric)
EPS_R_IMD = 3.9
EPS0_AF_PER_UM = 8.854   # vacuum permittivity, aF/um
#: distributed-wire segments of the bus (pi sections; 20 put the Elmore delay of the
#: ladder within ~1 % of the continuous line's)
N_SEGMENTS = 20


def wire_c_af_per_um(layer: str) -> float:
    """Capacitance to substrate of a minimum-width line on ``layer``, aF/um (tlef)."""
    area, edge, _, w, _, _ = TLEF[layer]
    return area * w + 2 * edge


def coupling_af_per_um(layer: str) -> float:
    """Parallel-plate coupling to ONE neighbour at the layer's minimum pitch, aF/um."""
    _, _, _, w, pitch, t = TLEF[layer]
    return EPS0_AF_PER_UM * EPS_R_IMD * t / (pitch - w)


#: predecode-line wire per row, fF (met1, module docstring)
C_PREDECODE_ROW_FF = wire_c_af_per_um("met1") * ROW_PITCH_UM * 1e-3
#: bus wire per um with quiet neighbours, fF/um (met3, module docstring)
C_BUS_FF_PER_UM = (wire_c_af_per_um("met3") + 2 * coupling_af_per_um("met3")) * 1e-3
R_BUS_OHM_PER_UM = TLEF["met3"][2] / TLEF["met3"][3]


@dataclass(frozen=True)
class DecoderSizes:
    """Device widths, um (L = 0.15 um). Assumptions sized for the loads named."""

    w_pre_n_um: float = _p(1.0, "um", 0.42, 10.0, "predecoder NAND nfet width (stacked)",
                           "assumption: a 4-high stack of 1 um ~ a 0.25 um pull-down")
    w_pre_p_um: float = _p(0.84, "um", 0.42, 10.0, "predecoder NAND pfet width",
                           "assumption")
    w_line_n_um: float = _p(2.0, "um", 0.42, 20.0, "predecode-line driver nfet width",
                            "assumption: 32-64 row-NAND inputs + the line wire, ~0.1-0.2 pF")
    w_line_p_um: float = _p(4.8, "um", 0.42, 50.0, "predecode-line driver pfet width",
                            "assumption: 2.4x the nfet (SKY130 pfet ~2.3x weaker per width)")
    w_row_n_um: float = _p(0.84, "um", 0.42, 10.0, "row NAND nfet width (stacked)",
                           "assumption")
    w_row_p_um: float = _p(0.42, "um", 0.42, 10.0, "row NAND pfet width",
                           "SKY130 minimum width")
    c_wl_col_ff: float = _p(1.7, "fF", 0.1, 20.0, "word-line load per column",
                            "assumption: two 0.42 x 0.15 um access gates (8.3 fF/um^2 "
                            "oxide + overlaps, ~0.75 fF each) + 0.2 fF wire (circuits/sram.py)")


def check_technology(tech) -> None:
    require_devices(tech, PERIPHERY_DEVICES, "the SRAM row decoder and bus")


def groups(rows: int) -> list[int]:
    """Address-bit group sizes (each <= 3, as equal as possible) of ``rows = 2^n``."""
    n = int(round(math.log2(rows)))
    if rows != 2 ** n or not 2 <= n <= 10:
        raise ValueError(f"rows must be a power of two 4..1024, got {rows!r}")
    g = math.ceil(n / 3)
    return [n // g + (1 if j < n % g else 0) for j in range(g)]


def wl_chain_um(cols: int) -> list[tuple[float, float]]:
    """(nfet, pfet) widths of the three word-line driver stages, um: the last sized
    0.42 um of nfet per 16 columns (a 256-column word line of ~0.44 pF behind ~40 fF:
    fan-out ~10), the middle one a quarter of it (at least the first), the first minimum."""
    last = max(0.42, 0.42 * cols / 16)
    mid = max(0.42, last / 4)
    return [(0.42, 1.0), (mid, 2.4 * mid), (last, 2.4 * last)]


class Devices:
    """Flat ``M`` lines on hoisted cards, one card per (kind, width)."""

    def __init__(self, tech):
        self.tech, self.cards, self.lines = tech, {}, []

    def add(self, name, kind, d, g, s, b, w_um):
        key = (kind, round(float(w_um), 6))
        if key not in self.cards:
            self.cards[key] = self.tech.hoisted_device(
                {"n": "nfet", "p": "pfet"}[kind], float(w_um), 0.15)
        dev = self.cards[key]
        self.lines.append(f"M{name} {d} {g} {s} {b} {dev.model} "
                          f"{with_junctions(dev.instance, w_um)}")

    def inverter(self, name, a, y, vdd, wn, wp):
        self.add(name + "n", "n", y, a, "0", "0", wn)
        self.add(name + "p", "p", y, a, vdd, vdd, wp)

    def nand(self, name, ins, y, vdd, wn, wp):
        """NAND of ``ins``: series nfets (the first input nearest the output)."""
        nodes = [y] + [f"{name}_s{k}" for k in range(1, len(ins))] + ["0"]
        for k, a in enumerate(ins):
            self.add(f"{name}n{k}", "n", nodes[k], a, nodes[k + 1], "0", wn)
            self.add(f"{name}p{k}", "p", y, a, vdd, vdd, wp)

    def text(self) -> list[str]:
        return [d.include for d in self.cards.values()] + self.lines


def _field(r: int, gs: list[int], j: int) -> int:
    """Row ``r``'s address bits of group ``j`` (groups ``gs``, least significant first)."""
    lo = sum(gs[:j])
    return (r >> lo) & (2 ** gs[j] - 1)


def rows_instantiated(rows: int, sel: int = 0) -> list[int]:
    """The rows whose NAND has an input on a pulsed predecode line (built by
    :func:`decoder_lines`); the others are static throughout an access to ``sel``."""
    gs = groups(rows)
    return [r for r in range(rows) if any(_field(r, gs, j) == _field(sel, gs, j)
                                          for j in range(len(gs)))]


def decoder_lines(tech, rows: int, cols: int, sz: DecoderSizes, *, en: str = "en",
                  vdec: str = "vdec", vwl: str = "vwl", sel: int = 0) -> list[str]:
    """The decoder for ``rows`` word lines of ``cols`` columns, row ``sel`` addressed
    (static address literals ``a{i}``/``ab{i}`` from ideal sources), enable node ``en``
    (driven by the caller). Selected word line ``wl{sel}``, row NAND outputs ``rb{r}``
    (:func:`rows_instantiated`), predecode lines ``pd{j}_{m}``."""
    check_technology(tech)
    rows, cols = int(rows), int(cols)
    gs = groups(rows)
    n = sum(gs)
    dv = Devices(tech)
    L = ["* SRAM row decoder: predecoders (NAND(k+1) + line driver), row NANDs, "
         "word-line driver chains"]
    for i in range(n):
        bit = (sel >> i) & 1
        L.append(f"Va{i} a{i} 0 {{{'vdd_v' if bit else 0}}}")
        L.append(f"Vab{i} ab{i} 0 {{{0 if bit else 'vdd_v'}}}")
    c_line = rows * C_PREDECODE_ROW_FF * 1e-15
    lo = 0
    for j, k in enumerate(gs):
        for m in range(2 ** k):
            lits = [f"a{lo + b}" if (m >> b) & 1 else f"ab{lo + b}" for b in range(k)]
            dv.nand(f"pn{j}_{m}", [en] + lits, f"pdb{j}_{m}", vdec, sz.w_pre_n_um,
                    sz.w_pre_p_um)
            dv.inverter(f"pi{j}_{m}", f"pdb{j}_{m}", f"pd{j}_{m}", vdec, sz.w_line_n_um,
                        sz.w_line_p_um)
            L.append(f"Cpd{j}_{m} pd{j}_{m} 0 {num(c_line)}")
        lo += k
    chain = wl_chain_um(cols)
    c_wl = cols * sz.c_wl_col_ff * 1e-15
    pulsed = {f"pd{j}_{_field(sel, gs, j)}" for j in range(len(gs))}
    for r in range(rows):
        ins = [f"pd{j}_{_field(r, gs, j)}" for j in range(len(gs))]
        if not pulsed.intersection(ins):
            continue   # every input stays low: static throughout (module docstring)
        dv.nand(f"rn{r}", ins, f"rb{r}", vdec, sz.w_row_n_um, sz.w_row_p_um)
        if r != sel:
            # its output stays high: the first driver stage is its only load
            dv.inverter(f"w{r}a", f"rb{r}", f"w{r}1", vdec, *chain[0])
            continue
        dv.inverter(f"w{r}a", f"rb{r}", f"w{r}1", vdec, *chain[0])
        dv.inverter(f"w{r}b", f"w{r}1", f"w{r}2", vdec, *chain[1])
        dv.inverter(f"w{r}c", f"w{r}2", f"wl{r}", vwl, *chain[2])
        L.append(f"Cwl{r} wl{r} 0 {num(c_wl)}")
    return dv.text() + L


def bus_lines(tech, bus_mm: float, w_n_um: float, w_p_um: float, *, d: str = "din",
              vbus: str = "vbus") -> list[str]:
    """One bus bit: pre-driver (minimum inverter) and driver (``w_n_um``/``w_p_um``) on
    ``vbus`` from input ``d`` (inverted twice: the bus follows ``d``), a distributed met3
    line of ``bus_mm`` (nodes ``bus0``..``bus{N_SEGMENTS}``), a minimum inverter at the far
    end (output ``bus_rx``, powered by ``vrx``)."""
    check_technology(tech)
    length_um = float(bus_mm) * 1e3
    if length_um <= 0:
        raise ValueError(f"bus_mm must be positive, got {bus_mm!r}")
    dv = Devices(tech)
    dv.inverter("bpre", d, "bus_pre", vbus, 0.42, 1.0)
    dv.inverter("bdrv", "bus_pre", "bus0", vbus, w_n_um, w_p_um)
    dv.inverter("brx", f"bus{N_SEGMENTS}", "bus_rx", "vrx", 0.42, 1.0)
    seg = length_um / N_SEGMENTS
    c_seg = C_BUS_FF_PER_UM * seg * 1e-15
    L = [f"* data bus: {num(bus_mm)} mm of met3, {N_SEGMENTS} pi segments"]
    for s in range(N_SEGMENTS):
        L.append(f"Rbus{s} bus{s} bus{s + 1} {num(R_BUS_OHM_PER_UM * seg)}")
    for s in range(N_SEGMENTS + 1):
        share = 0.5 if s in (0, N_SEGMENTS) else 1.0
        L.append(f"Cbus{s} bus{s} 0 {num(share * c_seg)}")
    return dv.text() + L
