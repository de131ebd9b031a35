"""Steady-state thermal RC model of a 3D-stacked accelerator (HeTraX-style).

HeTraX (Dhingra, Doppa, Pande, 2024) stacks streaming-multiprocessor (SM +
memory controller) logic tiers and ReRAM processing-in-memory tiers joined by
TSVs, with the heat sink on top; ReRAM loses noise margin as it heats, so the
stack's temperature is part of the evaluation (``REFERENCE.md``). This module
is a compact grid model in the spirit of HotSpot's grid mode, not HeTraX's own
thermal flow; every material number below is a public textbook/tool value or a
labelled assumption.

Geometry and conventions
------------------------
* A square die of ``die_mm2`` is split into ``grid x grid`` cells per tier.
* ``tiers[0]`` is the tier next to the heat sink; ``tiers[-1]`` is farthest.
  Dies are stacked face-to-back with their substrate toward the sink (flip-chip
  convention): the heat of a tier is generated in its active layer, one node
  per cell, and flows to the sink through the silicon of that tier, then TIM.
* Vertical resistance per cell between tier ``i+1`` (farther) and tier ``i``::

      R = [ t_si(i+1)/k_si + t_bond/k_bond_eff + t_beol/k_beol ] / A_cell

  and from tier 0 to the heat spreader ``R = [t_si(0)/k_si + t_tim/k_tim] / A_cell``.
  TSVs enter as a copper area fraction of the bonding layer
  (``k_bond_eff = f*k_cu + (1-f)*k_bond``, parallel conduction).
* Lateral conductance between neighbour cells of a tier (square cells):
  ``G = k_si*t_si + k_beol*t_beol`` (W/K); die edges are adiabatic.
* Heat spreader: a copper layer of the die's footprint, gridded like a tier
  (lateral conductance ``k_cu*t_spr``), joined to the sink node through its
  thickness. HotSpot's spreader is larger than the die; restricting it to the
  footprint is conservative. ``spreader_thickness_um=None`` removes it (tier 0
  then couples straight to an isothermal sink node).
* Heat sink: one isothermal node connected to ambient by ``r_sink_k_per_w``. The bottom of the stack (C4 bumps, package,
  board) is adiabatic unless ``r_secondary_k_per_w`` is given, in which case
  it connects the farthest tier to ambient, shared evenly over its cells.
* Unknowns: ``tiers*grid^2`` cell temperatures + the sink node; the system
  ``G . T = P`` (``scipy.sparse``) is solved directly.

Limitations: one node per tier thickness (no gradient inside a die), a
footprint-sized spreader over an isothermal sink node, temperature-independent conductivities (silicon's falls from
~148 W/m.K at 300 K to ~100 at 400 K), no leakage-temperature feedback.

The stack description (tiers, materials, power maps) and the sources of its default
material values: :mod:`imcspice.accelerators.thermal_stack`.

Feasibility limits (:class:`ThermalLimits`, both assumptions)
-------------------------------------------------------------
* ReRAM tiers: 85 C -- upper end of the commercial temperature range, taken as
  the limit for retention / read noise margin; ReRAM conductance drift and read
  noise grow with temperature (HeTraX motivates its thermal constraint this
  way) but no single published threshold is adopted here.
* Logic (SM) tiers: 105 C -- a typical maximum junction temperature of
  commercial CPUs/GPUs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .thermal_stack import (DEFAULT_AMBIENT_C, K_COPPER_W_MK, TIER_KINDS, StackSpec, TierSpec,
                            block_power_map, example_hetrax_stack, finite)

#: the thermal model's public names (the stack description comes from thermal_stack)
__all__ = [
    "TierSpec", "StackSpec", "ThermalResult", "ThermalLimits", "TierCheck", "Feasibility",
    "solve", "feasible", "plot_temperature_map", "block_power_map", "example_hetrax_stack",
    "DEFAULT_AMBIENT_C", "K_COPPER_W_MK", "TIER_KINDS",
]


@dataclass(frozen=True, eq=False)
class ThermalResult:
    """Solved steady state.

    Attributes:
        stack: the solved :class:`StackSpec`.
        temps_c: cell temperatures, shape ``(tiers, grid, grid)`` (C).
        peak_c / mean_c: per-tier maximum / mean (C), shape ``(tiers,)``.
        power_w: per-tier power (W).
        sink_c: heat-sink node temperature (C).
        spreader_c: spreader cell temperatures ``(grid, grid)`` (C), None without spreader.
        heat_to_sink_w: heat leaving through the sink to ambient (W).
        heat_to_secondary_w: heat leaving through the package/board path (W).
    """

    stack: StackSpec
    temps_c: np.ndarray
    peak_c: np.ndarray
    mean_c: np.ndarray
    power_w: np.ndarray
    sink_c: float
    heat_to_sink_w: float
    heat_to_secondary_w: float
    spreader_c: np.ndarray | None = None

    @property
    def tier_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.stack.tiers)

    @property
    def tier_kinds(self) -> tuple[str, ...]:
        return tuple(t.kind for t in self.stack.tiers)

    @property
    def ambient_c(self) -> float:
        return self.stack.ambient_c

    @property
    def total_power_w(self) -> float:
        return float(self.power_w.sum())

    @property
    def heat_out_w(self) -> float:
        """Total heat leaving the stack (W); equals :attr:`total_power_w` at steady state."""
        return self.heat_to_sink_w + self.heat_to_secondary_w

    def summary(self) -> str:
        lines = [f"ambient {self.ambient_c:.1f} C, sink {self.sink_c:.2f} C, "
                 f"P = {self.total_power_w:.3g} W, heat out {self.heat_out_w:.6g} W"]
        for name, kind, p, pk, mn in zip(self.tier_names, self.tier_kinds, self.power_w,
                                         self.peak_c, self.mean_c):
            lines.append(f"  {name:<12s} {kind:<6s} {p:7.3g} W  peak {pk:7.2f} C  mean {mn:7.2f} C")
        return "\n".join(lines)


def solve(stack: StackSpec) -> ThermalResult:
    """Solve ``G . T = P`` for the steady-state temperatures of ``stack``."""
    if not isinstance(stack, StackSpec):
        raise ValueError(f"solve() needs a StackSpec, got {type(stack).__name__}")
    n, nt = stack.grid, len(stack.tiers)
    ncell = n * n
    has_spr = stack.spreader_thickness_um is not None
    spr = nt * ncell                      # first spreader node (if any)
    sink = nt * ncell + (ncell if has_spr else 0)
    nnode = sink + 1
    dx = stack.side_m / n
    area = dx * dx
    um = 1e-6

    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    diag = np.zeros(nnode)

    def couple(a: np.ndarray, b: np.ndarray, g: float | np.ndarray) -> None:
        g = np.broadcast_to(np.asarray(g, dtype=float), a.shape)
        rows.extend((a, b))
        cols.extend((b, a))
        vals.extend((-g, -g))
        np.add.at(diag, a, g)
        np.add.at(diag, b, g)

    idx = np.arange(ncell).reshape(n, n)
    beol_lat = stack.k_beol_w_mk * stack.beol_thickness_um * um
    for i, tier in enumerate(stack.tiers):
        base = i * ncell
        g_lat = stack.k_si_w_mk * tier.thickness_um * um + beol_lat  # square cells: k*t*dy/dx
        couple(base + idx[:, :-1].ravel(), base + idx[:, 1:].ravel(), g_lat)
        couple(base + idx[:-1, :].ravel(), base + idx[1:, :].ravel(), g_lat)
        if i + 1 < nt:  # tier i+1 (farther) -> tier i
            r_area = ((stack.tiers[i + 1].thickness_um * um) / stack.k_si_w_mk
                      + (stack.bond_thickness_um * um) / stack.k_bond_eff_w_mk
                      + (stack.beol_thickness_um * um) / stack.k_beol_w_mk)
            couple(base + np.arange(ncell), base + ncell + np.arange(ncell), area / r_area)

    r_top = (stack.tiers[0].thickness_um * um) / stack.k_si_w_mk \
        + (stack.tim_thickness_um * um) / stack.k_tim_w_mk
    if has_spr:
        t_spr = stack.spreader_thickness_um * um
        g_spr_lat = stack.k_spreader_w_mk * t_spr
        couple(spr + idx[:, :-1].ravel(), spr + idx[:, 1:].ravel(), g_spr_lat)
        couple(spr + idx[:-1, :].ravel(), spr + idx[1:, :].ravel(), g_spr_lat)
        # tier 0 -> spreader mid-plane, spreader mid-plane -> sink node
        couple(np.arange(ncell), spr + np.arange(ncell),
               area / (r_top + 0.5 * t_spr / stack.k_spreader_w_mk))
        couple(spr + np.arange(ncell), np.full(ncell, sink),
               area / (0.5 * t_spr / stack.k_spreader_w_mk))
    else:
        couple(np.arange(ncell), np.full(ncell, sink), area / r_top)
    diag[sink] += 1.0 / stack.r_sink_k_per_w
    g_sec = 0.0
    if stack.r_secondary_k_per_w is not None:
        g_sec = 1.0 / (stack.r_secondary_k_per_w * ncell)
        diag[(nt - 1) * ncell + np.arange(ncell)] += g_sec

    rows.append(np.arange(nnode))
    cols.append(np.arange(nnode))
    vals.append(diag)
    G = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(nnode, nnode))
    power = np.stack([t.cell_power_w(n) for t in stack.tiers])
    P = np.zeros(nnode)
    P[:nt * ncell] = power.ravel()
    theta = spla.spsolve(G.tocsc(), P)  # temperature rise above ambient (K)
    if not np.all(np.isfinite(theta)):
        raise ValueError("thermal solve produced non-finite temperatures (ill-posed stack)")

    temps = stack.ambient_c + theta[:nt * ncell].reshape(nt, n, n)
    heat_sink = theta[sink] / stack.r_sink_k_per_w
    heat_sec = float(g_sec * theta[(nt - 1) * ncell:nt * ncell].sum()) if g_sec else 0.0
    return ThermalResult(
        stack=stack, temps_c=temps, peak_c=temps.reshape(nt, -1).max(axis=1),
        mean_c=temps.reshape(nt, -1).mean(axis=1), power_w=power.reshape(nt, -1).sum(axis=1),
        sink_c=float(stack.ambient_c + theta[sink]), heat_to_sink_w=float(heat_sink),
        heat_to_secondary_w=heat_sec,
        spreader_c=(stack.ambient_c + theta[spr:spr + ncell].reshape(n, n)) if has_spr else None)


# ----------------------------------------------------------------------------
# feasibility
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ThermalLimits:
    """Maximum temperatures (C) per tier kind; both are assumptions (module docstring).

    Attributes:
        reram_max_c: ReRAM tiers (retention / read noise margin).
        logic_max_c: SM logic tiers (junction maximum).
        source: provenance statement.
    """

    reram_max_c: float = 85.0
    logic_max_c: float = 105.0
    source: str = ("assumptions: ReRAM 85 C (upper end of the commercial range, taken for "
                   "noise margin/retention); logic 105 C (typical commercial Tj,max)")

    def __post_init__(self) -> None:
        for f in ("reram_max_c", "logic_max_c"):
            finite(f, getattr(self, f), lo=-273.15, lo_open=True)

    def limit_for(self, kind: str) -> float:
        if kind == "reram":
            return self.reram_max_c
        if kind == "sm":
            return self.logic_max_c
        raise ValueError(f"unknown tier kind {kind!r}; valid: {TIER_KINDS}")


@dataclass(frozen=True)
class TierCheck:
    """Peak temperature of one tier against its limit (C)."""

    name: str
    kind: str
    peak_c: float
    limit_c: float

    @property
    def margin_c(self) -> float:
        return self.limit_c - self.peak_c

    @property
    def ok(self) -> bool:
        return self.peak_c <= self.limit_c


@dataclass(frozen=True)
class Feasibility:
    """Result of :func:`feasible`; truthy when every tier is within its limit."""

    checks: tuple[TierCheck, ...]
    limits: ThermalLimits

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def violations(self) -> tuple[TierCheck, ...]:
        return tuple(c for c in self.checks if not c.ok)

    def __bool__(self) -> bool:
        return self.ok


def feasible(result: ThermalResult, limits: ThermalLimits | None = None) -> Feasibility:
    """Check each tier's peak against ``limits`` (default :class:`ThermalLimits`)."""
    if not isinstance(result, ThermalResult):
        raise ValueError(f"feasible() needs a ThermalResult, got {type(result).__name__}")
    limits = ThermalLimits() if limits is None else limits
    if not isinstance(limits, ThermalLimits):
        raise ValueError(f"limits must be a ThermalLimits, got {type(limits).__name__}")
    checks = tuple(TierCheck(t.name, t.kind, float(pk), limits.limit_for(t.kind))
                   for t, pk in zip(result.stack.tiers, result.peak_c))
    return Feasibility(checks, limits)


def plot_temperature_map(result: ThermalResult, out_png: str | Path, *,
                         shared_scale: bool = True, limits: ThermalLimits | None = None) -> Path:
    """Write one heat map per tier (colour bar in C) to ``out_png``; returns the path.

    Uses matplotlib's Agg canvas directly (no global backend change).
    ``shared_scale`` puts all tiers on one colour scale. Tiers above their
    limit get a red title.
    """
    if not isinstance(result, ThermalResult):
        raise ValueError(f"plot_temperature_map() needs a ThermalResult, got {type(result).__name__}")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out = Path(out_png)
    if out.suffix.lower() != ".png":
        raise ValueError(f"out_png must end in .png, got {str(out)!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    feas = feasible(result, limits)
    nt = len(result.stack.tiers)
    side_mm = math.sqrt(result.stack.die_mm2)
    vmin, vmax = float(result.temps_c.min()), float(result.temps_c.max())
    if vmax - vmin < 1e-6:
        vmin, vmax = vmin - 0.5, vmax + 0.5
    fig = Figure(figsize=(3.6 * nt, 3.4), dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, nt, squeeze=False)[0]
    for ax, tier, temp, chk in zip(axes, result.stack.tiers, result.temps_c, feas.checks):
        lo, hi = (vmin, vmax) if shared_scale else (float(temp.min()), float(temp.max()) + 1e-6)
        im = ax.imshow(temp, origin="lower", extent=(0, side_mm, 0, side_mm), cmap="inferno",
                       vmin=lo, vmax=hi)
        ax.set_title(f"{tier.name} ({tier.kind}), {tier.total_power_w:.3g} W\n"
                     f"peak {chk.peak_c:.1f} C / limit {chk.limit_c:.0f} C",
                     fontsize=9, color="black" if chk.ok else "red")
        ax.set_xlabel("x (mm)")
        ax.set_ylabel("y (mm)")
        fig.colorbar(im, ax=ax, label="temperature (\u00b0C)", shrink=0.85)
    fig.suptitle(f"steady state, ambient {result.ambient_c:.0f} \u00b0C, "
                 f"tier 0 = sink side", fontsize=10)
    fig.savefig(out)
    return out
