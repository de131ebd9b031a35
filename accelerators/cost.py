"""Price a mapping: energy, latency and area entries, each with its source.

``price(mapping, figures)`` multiplies the mapping's counts by the description's
resolved figures (:mod:`.components`): an energy entry is ``actions × energy per
action``, a latency entry ``steps × latency per step`` (operators run one after
another, the steps of an operator too), an area entry ``instances × area per
instance`` (or per cell). Components with a ``static`` figure (W per mm² of their
area, or per provisioned instance) add it over the whole latency: their leakage, drawn
whether or not they compute. A crossbar's ``tia_wake_latency`` and a readout's
``wake_latency`` add what a gated amplifier's wake before its read leaves uncovered by
the idle time before it (:func:`_exposed_wakes`). Every entry keeps its figure's source
(``spice`` / ``literature`` / ``assumption``) and ``scaling`` so the report can say
where each joule comes from and the node projection knows what may scale.

:func:`check` enforces the bookkeeping on every evaluation: totals equal the sums of
their entries along independent paths, every entry has a known source, provisioned
resources cover the demand, and each floorplan tier group holds its components.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from . import clock_tree
from .arch import SOURCES, ArchError, dimension
from .floorplan import fit_tiers, tier_areas, tier_count


class ConsistencyError(ArchError):
    """The priced machine contradicts itself (area, provisioning, totals)."""


@dataclass(frozen=True)
class Entry:
    """One priced line. ``amount`` is J, s or mm² according to the sheet it is in."""

    layer: int
    op: str
    component: str
    figure: str
    count: float          # actions, steps or instances
    amount: float
    source: str
    detail: str
    scaling: str


@dataclass
class CostSheet:
    energy: list = field(default_factory=list)
    latency: list = field(default_factory=list)
    area: list = field(default_factory=list)

    @property
    def energy_j(self) -> float:
        return math.fsum(e.amount for e in self.energy)

    @property
    def latency_s(self) -> float:
        return math.fsum(e.amount for e in self.latency)

    @property
    def area_mm2(self) -> float:
        return math.fsum(e.amount for e in self.area)

    @staticmethod
    def by(entries, key: str) -> dict:
        out: dict = defaultdict(float)
        for e in entries:
            out[getattr(e, key)] += e.amount
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def provenance_share(self) -> dict:
        """For energy, latency and area: the fraction from each source (sums to 1)."""
        out = {}
        for name, entries in (("energy", self.energy), ("latency", self.latency),
                              ("area", self.area)):
            total = math.fsum(e.amount for e in entries)
            out[name] = {s: (math.fsum(e.amount for e in entries if e.source == s) / total
                             if total else 0.0) for s in SOURCES}
        return out

    def table(self, which: str) -> list[dict]:
        """Entries of one sheet aggregated by (component, figure) with their source."""
        agg: dict = {}
        for e in getattr(self, which):
            k = (e.component, e.figure)
            a = agg.setdefault(k, {"component": e.component, "figure": e.figure, "count": 0.0,
                                   "amount": 0.0, "source": e.source, "detail": e.detail,
                                   "scaling": e.scaling})
            a["count"] += e.count
            a["amount"] += e.amount
        return sorted(agg.values(), key=lambda a: -a["amount"])

    def summary(self) -> dict:
        return {"latency_s": self.latency_s, "energy_j": self.energy_j,
                "area_mm2": self.area_mm2,
                "energy_breakdown_j": self.by(self.energy, "component"),
                "latency_breakdown_s": self.by(self.latency, "component"),
                "area_breakdown_mm2": self.by(self.area, "component"),
                "latency_per_layer_s": {str(k): v for k, v in
                                        sorted(self.by(self.latency, "layer").items())},
                "energy_entries": self.table("energy"),
                "latency_entries": self.table("latency"),
                "area_entries": self.table("area"),
                "provenance_share": self.provenance_share()}


def _entry(layer, op, comp, figure_name, count, fig) -> Entry:
    return Entry(layer, op, comp, figure_name, count, count * fig.value, fig.source,
                 fig.detail, fig.scaling)


def _figure(figures: dict, comp: str, name: str):
    try:
        return figures[comp][name]
    except KeyError:
        raise ArchError(f"component {comp!r} has no {name!r} figure, but the mapping "
                        "charges it: add it (with its source) to the description") from None


def price(mapping, figures: dict) -> CostSheet:
    sheet = CostSheet()
    for c in mapping.charges:
        sheet.energy.append(_entry(c.layer, c.op, c.component, c.figure, c.actions,
                                   _figure(figures, c.component, c.figure)))
    for s in mapping.steps:
        sheet.latency.append(_entry(s.layer, s.op, s.component, s.figure, s.steps,
                                    _figure(figures, s.component, s.figure)))
    _exposed_wakes(sheet, figures)
    for comp, n in mapping.provisioned.items():
        _figure(figures, comp, "area")
        # "area" and any other area figure (crossbar: "readout_area", its bit lines' TIAs)
        for name, fig in figures[comp].items():
            if dimension(name) != "area":
                continue
            per_instance = mapping.cells.get(comp, 1) if fig.per == "cell" else 1
            sheet.area.append(_entry(-1, "provisioned", comp, name, n * per_instance, fig))
    t = sheet.latency_s
    if clock_tree.CLOCK in figures:
        _clock(sheet, mapping, figures)
    area_of = sheet.by(sheet.area, "component")
    for comp, figs in figures.items():
        f = figs.get("static")
        if f is None:
            continue
        # W per mm² of the component's provisioned area, or per provisioned instance
        size = area_of.get(comp) if f.per == "mm2" else mapping.provisioned.get(comp)
        if size:
            sheet.energy.append(Entry(-1, "static", comp, "static", size * t,
                                      f.value * size * t, f.source, f.detail, f.scaling))
    return sheet


def _clock(sheet: CostSheet, mapping, figures: dict) -> None:
    """The clock trees (:mod:`.clock_tree`) over the area priced so far: their
    repeaters' area, and one cycle of each running piece per clock period of the latency;
    on a stack one entry per tier group (figures ``GROUP_energy`` and ``GROUP_area``,
    op ``clock:GROUP``: its tiers' power)."""
    doms = clock_tree.domains(mapping.arch, mapping, sheet)
    a, e = (_figure(figures, clock_tree.CLOCK, n) for n in ("area", "energy"))
    priced, ungated = clock_tree.piece_cycles(mapping.arch, mapping, doms, sheet.latency)
    share = f"{100 * sum(priced.values()) / ungated:.3g} % of the ungated trees' {ungated:.4g}"
    for d in doms:
        op = f"clock:{d.group}" if d.group else "clock"
        where, g = (f"{d.dies} x ", f"{d.group}_") if d.group else ("", "")
        n = d.dies * d.tree.repeaters
        sheet.area.append(Entry(-1, op, clock_tree.CLOCK, g + "area", n, n * a.value, a.source,
                                f"{a.detail}; {where}{d.tree.describe()}", a.scaling))
        sheet.energy.append(Entry(
            -1, op, clock_tree.CLOCK, g + "energy", priced[d.group], priced[d.group] * e.value,
            e.source, f"{e.detail}; {where}{d.tree.describe()}; {mapping.arch.clock_hz:.3g} "
            f"Hz over the latency, each operator on its sinks' leaves running only their "
            f"branches: {share} piece-cycles", e.scaling))


def _exposed_wakes(sheet: CostSheet, figures: dict) -> None:
    """Gated amplifiers wake before they read, while their unit idles; the part of the
    wake that idle time does not cover lengthens the read (a latency entry; none where
    it is covered, as on the shipped machines). The schedule is the mapping's: operators
    one after another, an operator's steps too.

    * crossbar ``tia_wake_latency`` (s per read): a tile idles between its reads through
      the operator's other steps (conversions, adds), spread evenly over its reads; per
      read, max(0, t_wake - their time per read);
    * readout ``wake_latency`` (s per conversion step): an integrator must be awake when
      its operator's query starts, so it wakes during the previous operator; per
      operator, max(0, t_wake - the previous operator's latency)."""
    fig = figures.get("crossbar", {}).get("tia_wake_latency")
    if fig is not None:
        reads, other, layer = defaultdict(float), defaultdict(float), {}
        for e in sheet.latency:
            if e.component == "crossbar" and e.figure == "latency":
                reads[e.op] += e.count
                layer[e.op] = e.layer
            else:
                other[e.op] += e.amount
        _expose(sheet, fig, "crossbar", "tia_wake_latency", layer,
                {op: (n, fig.value - other[op] / n) for op, n in reads.items()},
                "per read, the part of the wake the operator's other steps (conversions, "
                "adds) do not cover")
    fig = figures.get("readout", {}).get("wake_latency")
    if fig is not None:
        time, layer = {}, {}
        for e in sheet.latency:          # operators in the mapping's order
            time[e.op] = time.get(e.op, 0.0) + e.amount
            layer[e.op] = e.layer
        order = list(time)
        users = {e.op for e in sheet.latency if e.component == "readout"}
        _expose(sheet, fig, "readout", "wake_latency", layer,
                {op: (1.0, fig.value - (time[order[i - 1]] if i else 0.0))
                 for i, op in enumerate(order) if op in users},
                "the part of the wake the previous operator does not cover")


def _expose(sheet, fig, comp: str, name: str, layer: dict, uncovered: dict, why: str):
    """Latency entries for the ``uncovered`` op -> (count, s each) that are positive."""
    for op, (n, t) in uncovered.items():
        if t > 0:
            sheet.latency.append(Entry(layer[op], op, comp, name, n, n * t, fig.source,
                                       f"{fig.detail}; {why}", fig.scaling))


def check(arch, mapping, sheet: CostSheet) -> None:
    """Raise ConsistencyError on any violation (never a warning); a ``count = "fit"``
    floorplan group is first given the dies its priced area needs (:func:`fit_tiers`)."""
    fit_tiers(arch, sheet)
    errs = []
    for name, entries in (("energy", sheet.energy), ("latency", sheet.latency),
                          ("area", sheet.area)):
        total = math.fsum(e.amount for e in entries)
        for key in ("component", "layer", "source"):
            s = math.fsum(CostSheet.by(entries, key).values())
            if not math.isclose(s, total, rel_tol=1e-9, abs_tol=1e-30):
                errs.append(f"{name}: sum by {key} {s!r} != total {total!r}")
        bad = {e.source for e in entries} - set(SOURCES)
        if bad:
            errs.append(f"{name}: entries without a known source: {sorted(bad)}")
        if any(not math.isfinite(e.amount) or e.amount < 0 for e in entries):
            errs.append(f"{name}: a negative or non-finite entry")
    for comp, n in mapping.demanded.items():
        if mapping.provisioned.get(comp, 0) < n:
            errs.append(f"{comp}: provisioned {mapping.provisioned.get(comp, 0)} < demanded {n}")
    for g, (used, cap) in tier_areas(arch, sheet).items():
        if used > cap * (1 + 1e-12):
            errs.append(f"floorplan tier group {g!r}: {used:.4g} mm² of components on "
                        f"{cap:.4g} mm² (die_mm2 x tiers)")
    if arch.floorplan:
        cap = arch.floorplan["die_mm2"] * sum(tier_count(t)
                                              for t in arch.floorplan["tiers"].values())
        placed = {c for t in arch.floorplan["tiers"].values() for c in t["components"]}
        loose = {e.component for e in sheet.area} - placed - {clock_tree.CLOCK}
        if loose:
            errs.append(f"floorplan: components {sorted(loose)} have area but no tier")
        if sheet.area_mm2 > cap * (1 + 1e-12):
            errs.append(f"area {sheet.area_mm2:.4g} mm² > die_mm2 x tiers = {cap:.4g} mm²")
    if errs:
        raise ConsistencyError(f"{arch.name}: " + "; ".join(errs))
