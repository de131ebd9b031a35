"""One 6T SRAM column on SKY130 1.8 V devices: an accessed bitcell, the bitline load of
the column's other cells, precharge/equalize, a write driver and a StrongARM sense
amplifier (the netlist builder of the ``sram`` recipe).

Bitcell (the 6T cell: Rabaey, Chandrakasan & Nikolic, "Digital Integrated Circuits",
2nd ed., 2003, Sec. 12.2.2, Fig. 12-19; Weste & Harris, "CMOS VLSI Design", 4th ed.,
2011, Sec. 12.2.1): cross-coupled inverters (pull-down nfets, pull-up pfets) and two
access nfets to BL/BLB gated by the word line. Sizes (:class:`Bitcell`) follow the
textbook ratios, not a foundry cell (SKY130's own SRAM cells use special devices and
DRC waivers we do not model):

* cell ratio CR = (W/L)_pull-down / (W/L)_access = 0.84/0.42 = 2: read stability
  needs CR above ~1.2 (Rabaey Sec. 12.2.2: the read must not flip the cell; W&H
  Sec. 12.2.1.1 recommends a pull-down about twice the access device);
* pull-up ratio PR = (W/L)_pull-up / (W/L)_access = 0.42/0.42 = 1: writability needs
  PR below ~1.8 (Rabaey Sec. 12.2.2), and the SKY130 pfet is ~2.3x weaker per width;
* every device at the SKY130 minimum length 0.15 um and the pull-up/access at the
  0.42 um minimum width. These are assumptions within the textbook bounds.

Bitline load: the column has ``rows`` cells; only one (row 0) is a full 6T cell. The
other ``rows - 1`` cells load each bitline through their access nfets, which are
simulated as real SKY130 devices (word line at 0 V, drain on the bitline with its
junction area/perimeter, source on the cell's storage node). Their storage nodes sit
on the rails (alternate cells hold 0 and 1, so half leak from the bitline): a held
cell's node is driven by its inverter, a rail to within millivolts. These devices
are flat ``M`` lines on a hoisted model card (:meth:`Sky130.hoisted_device`: one
geometry, the PDK's bin and per-instance mismatch line), with the junction
``ad/as/pd/ps`` of :func:`.logic.mos`. Bitline wire: ``c_wire_cell_ff`` per cell
(default 0.2 fF: ~1.6 um of met1 per cell pitch at ~0.04 fF/um fringe per edge plus
~0.08 fF/um coupling to the neighbour line, as derived for the word line in
``circuits/dac.py``; an assumption), lumped on the bitline node: the met1 resistance
(~1-2 ohm per cell) gives an Elmore delay of tens of ps at 256 rows, far below the
read delay, so it is left out (stated simplification).

Periphery per column (no column multiplexer: one sense amplifier per column,
assumption):

* precharge/equalize: two pfets bitline -> ``vddp`` and one between BL and BLB, gate
  ``pre_b`` (active low), width ``w_pre_um``; precharge to the full supply;
* write driver: an nfet from each bitline to ground (gates ``wd0``/``wd1``) and a pfet
  to ``vddp`` (gates ``wd1b``/``wd0b``): a write of 0 pulls BL low and holds BLB at
  VDD (of 1 the reverse; the data-dependent gating logic is upstream). Without the
  hold, the floating BLB fed the flipping cell's low node and drooped 0.5-0.8 V
  (measured at 8-24 rows);
* sense amplifier: the StrongARM latch of :mod:`.comparator` (Razavi 2015), inputs BL
  (``inp``) and BLB (``inn``), clocked by ``sae``; a voltage-mode SA, the classic SRAM
  latch-type sense amplifier, on its own supply ``vdds``.

Nodes: ``bl``, ``blb``, cell storage ``q``/``qb`` (q on BL's side), ``wl``, ``pre_b``,
``wd0``, ``wd1``, ``sae``, SA outputs ``sao`` (high when BL > BLB) and ``saob``.
Supplies: ``vddcell`` (the cell array), ``vddp`` (precharge), ``vdds`` (sense amp); the
control lines are driven by the recipe.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .comparator import StrongArm, strongarm_lines
from .logic import DIFF_EXT_UM, NFET, PFET, mos
from .netlist import num, require_devices, param_field

SRAM_DEVICES = (NFET, PFET)


_p = param_field


@dataclass(frozen=True)
class Bitcell:
    """6T cell device widths (um, L = 0.15 um each; see the module docstring)."""

    w_pd_um: float = _p(0.84, "um", 0.42, 5.0, "pull-down nfet width",
                        "assumption: cell ratio 2 (Rabaey Sec. 12.2.2: CR > 1.2; W&H 12.2.1)")
    w_ax_um: float = _p(0.42, "um", 0.42, 5.0, "access nfet width", "SKY130 minimum width")
    w_pu_um: float = _p(0.42, "um", 0.42, 5.0, "pull-up pfet width",
                        "assumption: pull-up ratio 1 (Rabaey Sec. 12.2.2: PR < 1.8)")


@dataclass(frozen=True)
class ColumnPeriphery:
    """Precharge, write-driver widths (um) and the sense amplifier."""

    w_pre_um: float = _p(2.0, "um", 0.42, 20.0, "precharge/equalize pfet width",
                         "assumption: recharges a 256-row bitline (~0.15 pF) in ~1 ns")
    w_wd_um: float = _p(2.0, "um", 0.42, 20.0, "write-driver nfet width",
                        "assumption: pulls a 256-row bitline low in ~0.5 ns")
    sense: StrongArm = field(default_factory=lambda: SRAM_SENSE)


#: the StrongARM sized for a bitline pair (the comparator recipe's default, sized for
#: offset, has a 4 um x 0.3 um input pair whose kickback pulled a 64-row bitline pair
#: down by ~0.25 V when it fired, measured): 1 um x 0.15 um input pair (Pelgrom offset
#: sigma ~10-15 mV at SKY130's ~5 mV um Vt mismatch, several sigma below the 100 mV
#: swing), smaller latch/precharge devices, 2 fF outputs into the column's data latch.
#: Sizes are assumptions.
SRAM_SENSE = StrongArm(w_tail_um=1.0, w_in_um=1.0, l_in_um=0.15, w_ln_um=0.84,
                       w_lp_um=0.84, w_pre_um=0.42, c_load_ff=2.0)


def check_technology(tech) -> None:
    require_devices(tech, SRAM_DEVICES, "the 6T SRAM column")


def bitcell_lines(cell: Bitcell, name: str, bl: str, blb: str, wl: str, q: str, qb: str,
                  vdd: str, vss: str = "0") -> list[str]:
    """A full 6T cell: inverters q -> qb and qb -> q, access q-BL and qb-BLB."""
    return [f"* 6T bitcell {name}",
            mos(f"{name}_pd1", "n", q, qb, vss, vss, cell.w_pd_um),
            mos(f"{name}_pu1", "p", q, qb, vdd, vdd, cell.w_pu_um),
            mos(f"{name}_pd2", "n", qb, q, vss, vss, cell.w_pd_um),
            mos(f"{name}_pu2", "p", qb, q, vdd, vdd, cell.w_pu_um),
            mos(f"{name}_ax1", "n", bl, wl, q, vss, cell.w_ax_um),
            mos(f"{name}_ax2", "n", blb, wl, qb, vss, cell.w_ax_um)]


def junction_params(w_um: float) -> dict[str, float]:
    """ad/as (um^2) and pd/ps (um) of a device of width ``w_um``: as :func:`.logic.mos`."""
    a = float(w_um) * DIFF_EXT_UM
    p = 2 * (float(w_um) + DIFF_EXT_UM)
    return {"ad": a, "as": a, "pd": p, "ps": p}


def with_junctions(instance: str, w_um: float) -> str:
    """A hoisted device's flat instance parameters with its junction areas filled in."""
    out = instance
    for k, v in junction_params(w_um).items():
        out, n = re.subn(rf"\b{k}=\{{[^}}]*\}}", f"{k}={num(v)}", out)
        if n != 1:
            raise ValueError(f"hoisted instance line has no single {k}= to set")
    return out


def unaccessed_lines(tech, cell: Bitcell, n: int, bl: str, blb: str, vdd: str,
                     vss: str = "0") -> list[str]:
    """``n`` unaccessed cells' access nfets on BL and BLB (word line at ``vss``); cell
    k holds ``k % 2`` (its q on ``vdd`` or ``vss``, qb the other)."""
    if n <= 0:
        return []
    dev = tech.hoisted_device("nfet", float(cell.w_ax_um), 0.15)
    inst = with_junctions(dev.instance, cell.w_ax_um)
    L = [dev.include, f"* {n} unaccessed cells: access nfets only (word line off)"]
    for k in range(n):
        q, qb = (vdd, vss) if k % 2 else (vss, vdd)
        L.append(f"Mu{k}a {bl} {vss} {q} {vss} {dev.model} {inst}")
        L.append(f"Mu{k}b {blb} {vss} {qb} {vss} {dev.model} {inst}")
    return L


def column_lines(tech, rows: int, cell: Bitcell, per: ColumnPeriphery,
                 c_wire_cell_ff: float, vss: str = "0") -> list[str]:
    """The column of ``rows`` cells with its periphery (module docstring)."""
    rows = int(rows)
    if not 2 <= rows <= 1024:
        raise ValueError(f"rows must be 2..1024, got {rows!r}")
    check_technology(tech)
    c_wire = rows * float(c_wire_cell_ff) * 1e-15
    L = ["* 6T SRAM column"]
    L += bitcell_lines(cell, "c0", "bl", "blb", "wl", "q", "qb", "vddcell", vss)
    L += unaccessed_lines(tech, cell, rows - 1, "bl", "blb", "vddcell", vss)
    L += [f"Cwbl bl {vss} {num(c_wire)}", f"Cwblb blb {vss} {num(c_wire)}",
          "* precharge / equalize",
          mos("pc1", "p", "bl", "pre_b", "vddp", "vddp", per.w_pre_um),
          mos("pc2", "p", "blb", "pre_b", "vddp", "vddp", per.w_pre_um),
          mos("peq", "p", "bl", "pre_b", "blb", "vddp", per.w_pre_um),
          "* write driver: the written side pulled to 0, the other held at VDD",
          mos("wdr0", "n", "bl", "wd0", vss, vss, per.w_wd_um),
          mos("wdr1", "n", "blb", "wd1", vss, vss, per.w_wd_um),
          mos("wdh0", "p", "bl", "wd1b", "vddp", "vddp", per.w_wd_um),
          mos("wdh1", "p", "blb", "wd0b", "vddp", "vddp", per.w_wd_um)]
    L += strongarm_lines(per.sense, inp="bl", inn="blb", clk="sae", outp="sao",
                         outm="saob", vdd="vdds", vss=vss, prefix="sa")
    return L
