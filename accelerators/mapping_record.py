"""What a mapping records (:mod:`.mapping` fills it, :mod:`.cost` prices it): per
operator the actions charged to each component's figure (:class:`Charge`) and the
sequential steps it puts on the critical path (:class:`Step`); per component the
instances provisioned and demanded and the cells per instance."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .arch import Architecture, ArchError
from .workloads import Operator


class ProvisionError(ArchError):
    """The description provisions less than the mapped workload needs."""


@dataclass(frozen=True)
class Charge:
    layer: int
    op: str
    component: str
    figure: str          # which energy figure of the component ("energy", "read_energy")
    actions: float


@dataclass(frozen=True)
class Step:
    layer: int
    op: str
    component: str
    figure: str          # which latency figure ("latency", "read_latency")
    steps: float


@dataclass
class Mapping:
    arch: Architecture
    workload: str
    seq_len: int
    batch: int
    mode: str
    ops: list
    engine_of: dict = field(default_factory=dict)     # qualified op -> engine | None
    tiles: dict = field(default_factory=dict)         # qualified op -> (row, col tiles)
    charges: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    provisioned: dict = field(default_factory=dict)   # component -> instances
    demanded: dict = field(default_factory=dict)      # component -> instances needed
    cells: dict = field(default_factory=dict)         # component -> cells per instance
    notes: list = field(default_factory=list)
    digital_rows: dict = field(default_factory=dict)
    read_fraction: dict = field(default_factory=dict)  # crossbar op -> plane reads made
    # qualified op -> {component: instances it works on} (crossbar tiles, gain-cell
    # arrays): the leaves whose clock branches run while it does (clock_tree.py)
    busy: dict = field(default_factory=dict)

    def charge(self, op: Operator, comp: str, actions: float, figure: str = "energy"):
        if actions:
            self.charges.append(Charge(op.layer, op.qualified_name, comp, figure,
                                       float(actions)))

    def step(self, op: Operator, comp: str, steps: float, figure: str = "latency"):
        if steps:
            self.steps.append(Step(op.layer, op.qualified_name, comp, figure, float(steps)))

    def need(self, comp: str, n: float) -> None:
        self.demanded[comp] = max(self.demanded.get(comp, 0), int(math.ceil(n)))

    @property
    def unmapped(self) -> list[str]:
        return [k for k, e in self.engine_of.items() if e is None]


def _ceil(a: float, b: float) -> int:
    return int(math.ceil(a / b))


def _int(comp, key: str, lo: int = 1) -> int:
    v = comp.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v) or v < lo:
        raise ArchError(f"{comp.name}.{key} must be an integer >= {lo}, got {v!r}")
    return int(v)
