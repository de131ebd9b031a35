"""Cost and temperature of a 3D stack solved together (issue 11: accuracy and cost
describe the same machine).

The thermal solution of the stack (:mod:`.thermal`, :func:`.hetrax.stack_thermal`) sets
the temperature the ReRAM tiers' accuracy is read at; the same temperature is an input
of the spice models their cost comes from (the crossbar-column model's ``temp_c``,
27-95 C). So the price is a function of the temperature and the temperature a function
of the price (tier power = tier energy / latency). :func:`solve` iterates

    temperatures -> price the tier components there -> tier powers -> thermal solve
    -> temperatures -> ...

until the temperature a pricing was made at and the one the thermal solution gives
back differ by less than ``tol_c`` in every re-priced group (:func:`fixed_point`).

Which temperature prices a tier group: the PEAK of its hottest tier. The accuracy is
read there (evaluate: the ReRAM tiers' hottest cell), so the cost is priced at the same
point and the report describes one machine. A tier's mean would be the better average
for its energy (energy is a sum over cells); the report records the means next to the
peaks so that the difference can be judged (``group_mean_c``). With the shipped
floorplan's uniform tier power the model's tiers are laterally isothermal (adiabatic
edges), so on HeTraX peak and mean coincide; they part once power maps are given.

Which groups are re-priced: those with at least one spice figure from a model whose
``temp_c`` was swept (valid range lo < hi). Their other components are priced at the
same temperature, and a model characterized at one temperature only clips it back to
its valid box, which the figure's detail states (e.g. ``temp_c=46 clipped to the
characterized [27, 27]``): the price follows temperature only where spice measured it.
A group with no temperature-swept model stays at the description's ``temp_c``. On
HeTraX both groups move: the ReRAM tiers (crossbar, DAC, SAR ADC, adders, buffer SRAM,
all characterized over 27-95 C) and the SM tiers (their SKY130 FP16 MACs and SRAM
buffers). Leakage is priced at the same temperature (the logic and sram models' leakage
outputs, about 30x from 27 to 95 C), so it feeds back into the tier power.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

#: the iteration stops when the pricing and the solved temperatures agree to this (C)
TOL_C = 0.1
#: at most this many thermal solves; reported as not converged beyond
MAX_ITER = 8


@dataclass(frozen=True)
class FixedPoint:
    """A fixed-point iteration T_{k+1} = T_k + damping * (g(T_k) - T_k) over named
    temperatures (C).

    Attributes:
        priced_c: the temperatures each iteration evaluated g at (the first is the start).
        solved_c: g of each (the thermal solution from that pricing).
        converged: whether max |g(T) - T| < tol_c was reached within the cap.
        tol_c, damping, max_iter: as used.
        info: what g returned alongside each solution (e.g. the priced state).
    """

    priced_c: tuple[dict[str, float], ...]
    solved_c: tuple[dict[str, float], ...]
    converged: bool
    tol_c: float
    damping: float
    max_iter: int
    info: tuple[Any, ...] = field(default=(), repr=False)

    @property
    def residual_c(self) -> float:
        """max |g(T) - T| over the names at the last iterate (C)."""
        p, s = self.priced_c[-1], self.solved_c[-1]
        return max((abs(s[k] - p[k]) for k in p), default=0.0)

    @property
    def iterations(self) -> int:
        return len(self.priced_c)


def fixed_point(g: Callable[[dict[str, float]], tuple[dict[str, float], Any]],
                start_c: dict[str, float], *, tol_c: float = TOL_C,
                max_iter: int = MAX_ITER, damping: float = 1.0) -> FixedPoint:
    """Iterate ``g`` (temperatures -> (temperatures, info)) from ``start_c``:
    plain (``damping = 1``) or damped (0 < damping < 1: a step of that fraction toward
    g's answer, for a loop whose gain dT_out/dT_in is below -1). Stops once every
    temperature g returns is within ``tol_c`` of the one it was given, or after
    ``max_iter`` evaluations (``converged = False``, never raised: the caller reports
    it)."""
    if not 0 < damping <= 1:
        raise ValueError(f"damping must be in (0, 1], got {damping!r}")
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter!r}")
    t = {k: float(v) for k, v in start_c.items()}
    priced, solved, infos = [], [], []
    for _ in range(max_iter):
        out, info = g(dict(t))
        priced.append(dict(t))
        solved.append({k: float(out[k]) for k in t})
        infos.append(info)
        if all(abs(solved[-1][k] - t[k]) < tol_c for k in t):
            return FixedPoint(tuple(priced), tuple(solved), True, tol_c, damping, max_iter,
                              tuple(infos))
        t = {k: t[k] + damping * (solved[-1][k] - t[k]) for k in t}
    return FixedPoint(tuple(priced), tuple(solved), False, tol_c, damping, max_iter,
                      tuple(infos))


def _model_names(comp) -> list[str]:
    """The model files' kinds a component's spice figures read (``plus`` terms too)."""
    names = []
    for spec in comp.figures.values():
        if spec.source != "spice":
            continue
        names.append(spec.fields["model"])
        names += [t["model"] for t in spec.fields.get("plus", []) if "model" in t]
    return list(dict.fromkeys(names))


def _temp_range(hw, kind: str):
    m = hw.get(kind)
    return None if m is None else m.valid_range.get("temp_c")


def repriced_groups(arch, hw) -> dict[str, bool]:
    """floorplan group -> whether a spice model of its components was characterized
    over temperature (then the group is priced at its tier temperature)."""
    out = {}
    for g, tier in arch.floorplan["tiers"].items():
        ranges = [_temp_range(hw, k) for c in tier["components"] if c in arch.components
                  for k in _model_names(arch.components[c])]
        out[g] = any(r is not None and float(r[0]) < float(r[1]) for r in ranges)
    return out


def group_temps(res, stat: str = "peak") -> dict[str, float]:
    """group -> the hottest of its tiers' ``peak_c`` (or ``mean_c``) (C). A tier's
    group is its kind (:func:`.hetrax.stack_thermal` names group == tier kind)."""
    vals = res.peak_c if stat == "peak" else res.mean_c
    out: dict[str, float] = {}
    for t, v in zip(res.stack.tiers, vals):
        out[t.kind] = max(out.get(t.kind, -np.inf), float(v))
    return out


@dataclass(frozen=True)
class Coupled:
    """The converged (or last) state: the figures, mapping and cost sheet priced at
    ``temps_c`` (component -> C), the thermal result and feasibility they give, and
    the iteration record."""

    figures: dict
    mapping: Any
    sheet: Any
    result: Any
    feasibility: Any
    temps_c: dict[str, float]
    iteration: FixedPoint
    repriced: dict[str, bool]


def solve(arch, hw, price: Callable[[dict[str, float]], tuple[dict, Any, Any]], *,
          tol_c: float = TOL_C, max_iter: int = MAX_ITER, damping: float = 1.0) -> Coupled:
    """``price(temps_c)`` -> (figures, mapping, sheet) with each component priced at
    ``temps_c[component]`` (:func:`.components.resolve`). Starts from the description's
    ``temp_c`` and iterates to the stack's fixed point (module docstring)."""
    from .hetrax import stack_thermal, tier_powers
    tiers = arch.floorplan["tiers"]
    rep = repriced_groups(arch, hw)
    moving = [g for g in tiers if rep[g]]

    def comp_temps(t: dict[str, float]) -> dict[str, float]:
        return {c: t[g] for g in moving for c in tiers[g]["components"]}

    def g(t: dict[str, float]):
        figures, m, sheet = price(comp_temps(t))
        res, feas = stack_thermal(arch, tier_powers(arch, sheet))
        return group_temps(res), (figures, m, sheet, res, feas)

    start = {gr: float(arch.temp_c) for gr in moving}
    if not moving:   # nothing depends on temperature: one solve, trivially consistent
        out, info = g({})
        fp = FixedPoint(({},), ({},), True, tol_c, damping, 1, (info,))
    else:
        fp = fixed_point(g, start, tol_c=tol_c, max_iter=max_iter, damping=damping)
    figures, m, sheet, res, feas = fp.info[-1]
    return Coupled(figures, m, sheet, res, feas, comp_temps(fp.priced_c[-1]), fp, rep)


def report(arch, hw, c: Coupled) -> dict:
    """The iteration and the pricing temperatures, for report.json's ``thermal``."""
    fp = c.iteration
    clipped = {}
    for comp, t in c.temps_c.items():
        outside = {k: list(map(float, r)) for k in _model_names(arch.components[comp])
                   if (r := _temp_range(hw, k)) is not None
                   and not float(r[0]) - 1e-9 <= t <= float(r[1]) + 1e-9}
        if outside:
            clipped[comp] = outside
    still = {g: arch.temp_c for g, on in c.repriced.items() if not on}
    return {
        "iterations": [{"priced_c": p, "solved_c": s,
                        "tier_peak_c": {t.name: float(v) for t, v in
                                        zip(i[3].stack.tiers, i[3].peak_c)},
                        "energy_j": float(i[2].energy_j), "latency_s": float(i[2].latency_s)}
                       for p, s, i in zip(fp.priced_c, fp.solved_c, fp.info)],
        "converged": fp.converged, "residual_c": fp.residual_c, "tol_c": fp.tol_c,
        "damping": fp.damping, "max_iter": fp.max_iter,
        "pricing_stat": "peak of the group's hottest tier (where the accuracy is read)",
        "group_mean_c": group_temps(c.result, "mean"),
        "component_temp_c": dict(c.temps_c),
        "component_model_temp_range_c": clipped,
        "at_described_temp_c": still,
    }
