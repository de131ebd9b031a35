"""The global clock distribution: an H-tree of repeated wires over the chip, priced.

Every registered block of a description (adders, MACs, converters' registers) is priced
with its flip-flops' clock pins and local buffers (``e_dff_j``), but something has to
bring the clock to every tile. A description's ``[components.clock_tree]`` prices that
as an H-tree (Bakoglu, "Circuits, Interconnections, and Packaging for VLSI", 1990,
Sec. 8.3): over a square of side D, one H joins the centres of the four quadrants (a
bar of D/2 and two legs of D/2, 1.5 D of wire), and each quadrant holds the same tree
again, until there is a leaf for every sink. With ``k`` levels (4^k >= sinks leaves)
the tree has ``3 x 4^j`` arms of ``D / 2^(j+1)`` at level j, and

    wire = sum_j 3 x 4^j x D / 2^(j+1) = 1.5 D (2^k - 1).

Each arm is repeated every ``segment_mm`` (a driver per piece). A piece is one bus bit
of the ``sram-periphery`` deck: a SKY130 driver into ``bus_mm`` of met3 with its two
neighbours' coupling, the next piece's minimum input inverter at the far end
(circuits/sram_periphery.py). A clock line between grounded shields couples to them
exactly as the deck's quiet neighbours. A running piece costs one ``e_bus_cycle_j`` per
period of the description's ``clock_hz``.

Gating. The blocks already gate their own flip-flops' clocks while idle (priced per
operation), and the tree is gated the same way, at each H's input: while an operator
works on some sinks (a linear's crossbar tiles, attention's K or V arrays: the
mapping's ``busy``), only the H's above them run. Its sinks sit together (aligned), so
level j runs ceil(busy / 4^(k-j)) of its 4^j H's. An operator on no sink (RACE-IT's
lookups, whose pools' placement is not modeled) runs the whole tree.

Pricing per mm at the repeater pitch (``energy`` resolved at ``bus_mm = segment_mm``,
counted as ``wire / segment_mm`` pieces) treats an arm shorter than the pitch as its
share of a piece: its driver is then underpriced (at 27 C, e(0.5 mm) = 0.48 pJ against
0.5 x e(1 mm) = 0.43 pJ). A T-junction's second input inverter (~2 fF against ~230 fF of
wire per mm) is not priced; nor is the repeaters' leakage.

The tree spans the area of the components it clocks (every provisioned component but
itself: D = sqrt of their area), and its leaves are the provisioned instances of the
components named in ``sinks`` (e.g. the crossbar tiles). Within a leaf's region the
clock reaches each registered block through the block's own buffers (``e_dff_j``) over
wires that are not priced, nor are the branches to the pools and buffers an operator
also uses. Its ``area`` figure is per repeater. The tree is complete (4^k leaves where
there are fewer sinks: RACE-IT's 648 tiles get 1024 leaves; the continuum estimate
1.5 D sqrt(N) is 18 % shorter there).

A stacked machine (a ``[floorplan]``) has a tree on each die of each tier group that
holds sinks, over the die's footprint, with the group's sinks shared evenly by its dies
(HeTraX: every SM MAC a leaf on the SM dies, every crossbar tile on the ReRAM dies).
An operator's busy leaves fill one die after another; a die with none is gated at its
root. Each group's tree energy is its tiers' power in the thermal solution
(:func:`.hetrax.tier_powers`); the repeaters' area is not on any tier's budget.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import ArchError
from .floorplan import fit_tiers, tier_count

#: the component a description prices its clock distribution as
CLOCK = "clock_tree"


@dataclass(frozen=True)
class HTree:
    """An H-tree over a square of ``side_mm`` with a leaf for each of ``sinks``,
    repeated every ``segment_mm``."""

    side_mm: float
    sinks: int
    segment_mm: float

    @property
    def levels(self) -> int:
        """k: the fewest levels whose 4^k leaves reach every sink (>= 1)."""
        k = 1
        while 4 ** k < self.sinks:
            k += 1
        return k

    def arms(self) -> list[tuple[int, float]]:
        """(count, length mm) of the arms of each level, the root's first."""
        return [(3 * 4 ** j, self.side_mm / 2 ** (j + 1)) for j in range(self.levels)]

    @property
    def wire_mm(self) -> float:
        """Total wire, mm: 1.5 D (2^k - 1)."""
        return math.fsum(n * a for n, a in self.arms())

    def pieces(self, busy: int | None = None) -> float:
        """Repeated pieces (wire / ``segment_mm``) that toggle while ``busy`` leaves
        work: each H is gated at its input, and the busy leaves sit together, so level j
        runs ceil(busy / 4^(k-j)) of its 4^j H's. None: the whole tree."""
        if busy is None:
            return self.wire_mm / self.segment_mm
        k = self.levels
        return math.fsum(3 * min(4 ** j, math.ceil(busy / 4 ** (k - j))) * a
                         for j, (_, a) in enumerate(self.arms())) / self.segment_mm

    @property
    def repeaters(self) -> int:
        """Drivers: ceil(arm / segment_mm) per arm."""
        return sum(n * math.ceil(a / self.segment_mm * (1 - 1e-12)) for n, a in self.arms())

    def describe(self) -> str:
        return (f"H-tree over {self.side_mm:.3g} x {self.side_mm:.3g} mm to {self.sinks} "
                f"sinks: {self.levels} levels ({4 ** self.levels} leaves), "
                f"1.5 D (2^k - 1) = {self.wire_mm:.4g} mm of wire, {self.repeaters} "
                f"repeaters every <= {self.segment_mm:g} mm")


@dataclass(frozen=True)
class Domain:
    """``dies`` copies of one tree, whose leaves are the instances of ``sinks`` on them;
    ``group``: the floorplan tier group they form ("" on a one-die machine)."""

    group: str
    tree: HTree
    dies: int
    sinks: tuple[str, ...]

    def pieces(self, busy: int | None) -> float:
        """Running pieces on the domain's dies while ``busy`` of its leaves work: they
        fill one die after another, an idle die is gated at its root. None: every
        die's whole tree."""
        if busy is None:
            return self.dies * self.tree.pieces()
        full, rest = divmod(int(busy), self.tree.sinks)
        if full >= self.dies:
            return self.dies * self.tree.pieces(self.tree.sinks)
        return full * self.tree.pieces(self.tree.sinks) + (self.tree.pieces(rest) if rest else 0.0)


def check(arch) -> tuple[list[str], float]:
    """(sinks, segment_mm) of the description's tree, or a one-line ArchError: what an
    evaluation checks before it writes anything."""
    comp = arch.component(CLOCK)
    sinks = comp.get("sinks")
    if not isinstance(sinks, list) or not sinks or any(s not in arch.components or s == CLOCK
                                                       for s in sinks):
        raise ArchError(f"{arch.name}: {CLOCK}.sinks must list the components whose "
                        f"instances are the tree's leaves (e.g. [\"crossbar\"]), got {sinks!r}")
    seg = comp.get("segment_mm")
    if isinstance(seg, bool) or not isinstance(seg, (int, float)) or not seg > 0:
        raise ArchError(f"{arch.name}: {CLOCK}.segment_mm (the repeater pitch, mm) must be "
                        f"a positive number, got {seg!r}")
    if arch.floorplan:
        placed = {c for t in arch.floorplan["tiers"].values() for c in t["components"]}
        if set(sinks) - placed:
            raise ArchError(f"{arch.name}: {CLOCK}.sinks {sorted(set(sinks) - placed)} sit "
                            "on no floorplan tier")
    return sinks, float(seg)


def domains(arch, mapping, sheet) -> list[Domain]:
    """The clock trees of the priced machine (``sheet``: its cost sheet, every area but
    the tree's own priced): one over the clocked area of a one-die machine; on a stack,
    one per die of each tier group that holds a sink, over the die's footprint."""
    sinks, seg = check(arch)

    def leaves(names) -> int:
        return sum(int(mapping.provisioned.get(s, 0)) for s in names)
    out = []
    if not arch.floorplan:
        area = sheet.by(sheet.area, "component")
        clocked = math.fsum(a for c, a in area.items() if c != CLOCK)
        if leaves(sinks):
            out.append(Domain("", HTree(math.sqrt(clocked), leaves(sinks), seg), 1, tuple(sinks)))
    else:
        fit_tiers(arch, sheet)
        for g, t in arch.floorplan["tiers"].items():
            mine = tuple(s for s in sinks if s in t["components"])
            if mine and leaves(mine):
                dies = tier_count(t)
                out.append(Domain(g, HTree(math.sqrt(arch.floorplan["die_mm2"]),
                                           math.ceil(leaves(mine) / dies), seg), dies, mine))
    if not out:
        raise ArchError(f"{arch.name}: {CLOCK}.sinks {sinks} have no provisioned instance")
    return out


def piece_cycles(arch, mapping, doms: list[Domain], latency_entries) -> tuple[dict, float]:
    """({group: piece-cycles priced}, those of every tree ungated) over the latency: each
    operator's time (its latency entries, s) x ``clock_hz`` x the pieces its busy sinks
    keep running (:meth:`Domain.pieces`); an operator on no sink (a lookup pool: its
    placement is not modeled) runs every tree whole."""
    t_op: dict[str, float] = {}
    for e in latency_entries:
        t_op[e.op] = t_op.get(e.op, 0.0) + e.amount
    priced = {d.group: 0.0 for d in doms}
    for op, t in t_op.items():
        busy = {d.group: sum(mapping.busy.get(op, {}).get(s, 0) for s in d.sinks) for d in doms}
        for d in doms:
            n = busy[d.group] if any(busy.values()) else None
            priced[d.group] += t * arch.clock_hz * d.pieces(n)
    return priced, math.fsum(t_op.values()) * arch.clock_hz * sum(d.pieces(None) for d in doms)
