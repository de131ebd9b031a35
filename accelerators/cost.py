"""Latency / energy / area bookkeeping shared by the accelerator models.

Each operator of the workload graph is charged to a hardware *unit*
("crossbar", "acam", "dac", "buffer", "sm", "gaincell", ...); the totals, the
per-unit energy breakdown and the per-layer latency come from the same list.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field


@dataclass
class Charge:
    layer: int
    op: str
    unit: str
    energy_j: float
    latency_s: float = 0.0


@dataclass
class CostSheet:
    charges: list[Charge] = field(default_factory=list)
    area_mm2: dict[str, float] = field(default_factory=dict)

    def add(self, layer: int, op: str, unit: str, energy_j: float, latency_s: float = 0.0):
        self.charges.append(Charge(layer, op, unit, float(energy_j), float(latency_s)))

    @property
    def energy_j(self) -> float:
        return sum(c.energy_j for c in self.charges)

    @property
    def latency_s(self) -> float:
        """Operators run one after another (data dependence along the graph)."""
        return sum(c.latency_s for c in self.charges)

    def energy_by_unit(self) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for c in self.charges:
            out[c.unit] += c.energy_j
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def latency_by_layer(self) -> dict[int, float]:
        out: dict[int, float] = defaultdict(float)
        for c in self.charges:
            out[c.layer] += c.latency_s
        return dict(sorted(out.items()))

    @property
    def total_area_mm2(self) -> float:
        return sum(self.area_mm2.values())

    def summary(self) -> dict:
        return {"latency_s": self.latency_s, "energy_j": self.energy_j,
                "area_mm2": self.total_area_mm2,
                "energy_breakdown_j": self.energy_by_unit(),
                "area_breakdown_mm2": dict(self.area_mm2),
                "latency_per_layer_s": {str(k): v for k, v in self.latency_by_layer().items()}}
