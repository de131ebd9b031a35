"""The input of the thermal model (:mod:`imcspice.accelerators.thermal`): the tiers of a
3D stack, its materials and power maps, with the sources of every default.

Default parameters and sources
------------------------------
* ``ambient_c = 45`` -- HotSpot's default configuration (``-ambient 318.15``
  K), the usual assumption in 3D-IC thermal studies.
* ``k_si_w_mk = 130`` -- bulk silicon ~130-150 W/m.K near room temperature
  (HotSpot's silicon value is 100-130 depending on version).
* ``thickness_um = 50`` per tier -- thinned die in a TSV stack (assumption;
  typical 20-100 um).
* ``beol_thickness_um = 10``, ``k_beol_w_mk = 2.0`` -- Cu/low-k metal stack of
  ~10 um with effective vertical conductivity ~2 W/m.K (assumption, literature
  range 1-3).
* ``bond_thickness_um = 10``, ``k_bond_w_mk = 1.0`` -- bonding/underfill layer
  between dies (polymer/oxide, 0.5-1.5 W/m.K; thickness assumption).
* ``tsv_area_fraction = 0`` -- TSV copper (k = 400 W/m.K) ignored by default:
  conservative (hotter); set e.g. 0.01 for a 1 % Cu fill.
* ``tim_thickness_um = 20``, ``k_tim_w_mk = 4.0`` -- thermal interface material
  (HotSpot default-like values; assumption).
* ``spreader_thickness_um = 1000``, ``k_spreader_w_mk = 400`` -- 1 mm copper
  spreader (HotSpot's default spreader thickness and copper conductivity).
* ``r_sink_k_per_w = 0.2`` -- heat sink + convection to ambient for a ~1 cm^2
  die with a good air/liquid sink (assumption; 0.1-0.3 K/W).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np

DEFAULT_AMBIENT_C = 45.0
"""Ambient (C): HotSpot's default 318.15 K, a common 3D-IC thermal assumption."""
K_COPPER_W_MK = 400.0
"""Copper thermal conductivity (W/m.K), used for TSV fill."""
TIER_KINDS = ("sm", "reram")
MAX_GRID = 256

TierKind = Literal["sm", "reram"]


def finite(arg: str, value, *, lo: float | None = None, lo_open: bool = False,
            allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not math.isfinite(value):
        raise ValueError(f"{arg} must be a finite number, got {value!r}")
    if lo is not None and (value <= lo if lo_open else value < lo):
        raise ValueError(f"{arg} must be {'>' if lo_open else '>='} {lo}, got {value!r}")
    return float(value)


@dataclass(frozen=True, eq=False)
class TierSpec:
    """One die of the stack.

    Attributes:
        name: label (unique within a stack).
        kind: ``"sm"`` (GPU-like streaming multiprocessors + memory controller,
            logic) or ``"reram"`` (ReRAM processing-in-memory).
        thickness_um: silicon thickness of the die (um).
        power_w: total tier power (W). Alone: spread uniformly. With
            ``power_map``: the map is used as relative weights scaled to this
            total.
        power_map: ``(grid, grid)`` array; W per cell when ``power_w`` is None,
            otherwise relative weights. Row index = y, column index = x.
    """

    name: str
    kind: TierKind
    thickness_um: float = 50.0
    power_w: float | None = None
    power_map: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"tier name must be a non-empty string, got {self.name!r}")
        if self.kind not in TIER_KINDS:
            raise ValueError(f"tier {self.name!r}: kind must be one of {TIER_KINDS}, got {self.kind!r}")
        finite(f"tier {self.name!r} thickness_um", self.thickness_um, lo=0, lo_open=True)
        finite(f"tier {self.name!r} power_w", self.power_w, lo=0, allow_none=True)
        if self.power_w is None and self.power_map is None:
            raise ValueError(f"tier {self.name!r}: give power_w, power_map, or both")
        if self.power_map is not None:
            m = np.asarray(self.power_map, dtype=float)
            if m.ndim != 2 or m.shape[0] != m.shape[1]:
                raise ValueError(f"tier {self.name!r}: power_map must be a square 2-D array, "
                                 f"got shape {m.shape}")
            if not np.all(np.isfinite(m)) or np.any(m < 0):
                raise ValueError(f"tier {self.name!r}: power_map must be finite and >= 0")
            if self.power_w is not None and self.power_w > 0 and m.sum() <= 0:
                raise ValueError(f"tier {self.name!r}: power_map weights sum to 0 but power_w > 0")
            m = m.copy()
            m.setflags(write=False)
            object.__setattr__(self, "power_map", m)

    def cell_power_w(self, grid: int) -> np.ndarray:
        """Power per cell (W), shape ``(grid, grid)``."""
        if self.power_map is None:
            return np.full((grid, grid), self.power_w / grid**2)
        if self.power_map.shape != (grid, grid):
            raise ValueError(f"tier {self.name!r}: power_map shape {self.power_map.shape} "
                             f"does not match grid ({grid}, {grid})")
        if self.power_w is None:
            return np.array(self.power_map, dtype=float)
        total = self.power_map.sum()
        return np.zeros((grid, grid)) if total == 0 else self.power_map * (self.power_w / total)

    @property
    def total_power_w(self) -> float:
        """Tier power (W)."""
        if self.power_w is not None:
            return float(self.power_w)
        return float(self.power_map.sum())


@dataclass(frozen=True, eq=False)
class StackSpec:
    """A 3D stack: tiers (``tiers[0]`` next to the sink), die size and materials.

    Attributes:
        tiers: the dies, sink side first.
        die_mm2: die footprint (mm^2), square.
        grid: cells per side per tier.
        ambient_c: ambient temperature (C).
        r_sink_k_per_w: sink node to ambient (K/W).
        r_secondary_k_per_w: farthest tier to ambient through package/board
            (K/W); None = adiabatic bottom.
        k_si_w_mk: silicon conductivity (W/m.K).
        beol_thickness_um / k_beol_w_mk: metal stack of each die.
        bond_thickness_um / k_bond_w_mk: bonding layer between dies.
        tsv_area_fraction: copper area fraction of the bonding layer (0-0.5).
        tim_thickness_um / k_tim_w_mk: interface material, tier 0 to spreader.
        spreader_thickness_um / k_spreader_w_mk: copper spreader (None = none).
    See the module docstring for the sources of the defaults.
    """

    tiers: Sequence[TierSpec]
    die_mm2: float
    grid: int = 16
    ambient_c: float = DEFAULT_AMBIENT_C
    r_sink_k_per_w: float = 0.2
    r_secondary_k_per_w: float | None = None
    k_si_w_mk: float = 130.0
    beol_thickness_um: float = 10.0
    k_beol_w_mk: float = 2.0
    bond_thickness_um: float = 10.0
    k_bond_w_mk: float = 1.0
    tsv_area_fraction: float = 0.0
    tim_thickness_um: float = 20.0
    k_tim_w_mk: float = 4.0
    spreader_thickness_um: float | None = 1000.0
    k_spreader_w_mk: float = K_COPPER_W_MK

    def __post_init__(self) -> None:
        tiers = tuple(self.tiers) if isinstance(self.tiers, (list, tuple)) else None
        if not tiers:
            raise ValueError("tiers must be a non-empty list of TierSpec")
        for t in tiers:
            if not isinstance(t, TierSpec):
                raise ValueError(f"tiers must contain TierSpec objects, got {type(t).__name__}")
        names = [t.name for t in tiers]
        if len(set(names)) != len(names):
            raise ValueError(f"tier names must be unique, got {names}")
        object.__setattr__(self, "tiers", tiers)
        finite("die_mm2", self.die_mm2, lo=0, lo_open=True)
        if isinstance(self.grid, bool) or not isinstance(self.grid, int) or not 1 <= self.grid <= MAX_GRID:
            raise ValueError(f"grid must be an int in [1, {MAX_GRID}], got {self.grid!r}")
        finite("ambient_c", self.ambient_c, lo=-273.15, lo_open=True)
        finite("r_sink_k_per_w", self.r_sink_k_per_w, lo=0, lo_open=True)
        finite("r_secondary_k_per_w", self.r_secondary_k_per_w, lo=0, lo_open=True, allow_none=True)
        finite("spreader_thickness_um", self.spreader_thickness_um, lo=0, lo_open=True,
                allow_none=True)
        for f in ("k_si_w_mk", "k_beol_w_mk", "k_bond_w_mk", "k_tim_w_mk", "k_spreader_w_mk",
                  "tim_thickness_um", "beol_thickness_um", "bond_thickness_um"):
            finite(f, getattr(self, f), lo=0, lo_open=True)
        frac = finite("tsv_area_fraction", self.tsv_area_fraction, lo=0)
        if frac > 0.5:
            raise ValueError(f"tsv_area_fraction must be in [0, 0.5], got {frac!r}")
        for t in tiers:
            if t.power_map is not None and t.power_map.shape != (self.grid, self.grid):
                raise ValueError(f"tier {t.name!r}: power_map shape {t.power_map.shape} does not "
                                 f"match grid ({self.grid}, {self.grid})")

    @property
    def side_m(self) -> float:
        """Die side (m)."""
        return math.sqrt(self.die_mm2) * 1e-3

    @property
    def k_bond_eff_w_mk(self) -> float:
        """Bonding-layer conductivity including TSV copper (W/m.K)."""
        f = self.tsv_area_fraction
        return f * K_COPPER_W_MK + (1 - f) * self.k_bond_w_mk

    @property
    def total_power_w(self) -> float:
        return float(sum(t.total_power_w for t in self.tiers))


def block_power_map(grid: int, blocks: Sequence[tuple[float, float, float, float, float]],
                    background_w: float = 0.0) -> np.ndarray:
    """Power map (W per cell) from rectangular blocks.

    Each block is ``(x0, y0, x1, y1, watts)`` in fractions of the die side
    (0-1); its power is spread over the cells whose centres fall inside it.
    ``background_w`` is spread uniformly over the whole tier.
    """
    if isinstance(grid, bool) or not isinstance(grid, int) or not 1 <= grid <= MAX_GRID:
        raise ValueError(f"grid must be an int in [1, {MAX_GRID}], got {grid!r}")
    m = np.full((grid, grid), finite("background_w", background_w, lo=0) / grid**2)
    centres = (np.arange(grid) + 0.5) / grid
    for k, blk in enumerate(blocks):
        if len(blk) != 5:
            raise ValueError(f"block {k} must be (x0, y0, x1, y1, watts), got {blk!r}")
        x0, y0, x1, y1, w = (finite(f"block {k}", v) for v in blk)
        if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
            raise ValueError(f"block {k}: need 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1, got {blk!r}")
        if w < 0:
            raise ValueError(f"block {k}: watts must be >= 0, got {w!r}")
        inside = np.outer((centres >= y0) & (centres < y1), (centres >= x0) & (centres < x1))
        if not inside.any():
            raise ValueError(f"block {k} covers no cell centre at grid {grid}; enlarge it or refine the grid")
        m[inside] += w / inside.sum()
    return m


def example_hetrax_stack(sm_power_w: float = 15.0, reram_power_w: float = 3.0, n_sm: int = 2,
                         n_reram: int = 2, die_mm2: float = 100.0, grid: int = 16,
                         sm_near_sink: bool = True, **stack_kwargs) -> StackSpec:
    """Illustrative HeTraX-like stack (NOT HeTraX's published configuration).

    ``n_sm`` SM tiers and ``n_reram`` ReRAM tiers at uniform power; with
    ``sm_near_sink`` the hot SM tiers sit next to the sink (the usual
    thermal-aware placement) and the ReRAM tiers below them.
    """
    sm = [TierSpec(f"sm{i}", "sm", power_w=sm_power_w) for i in range(n_sm)]
    rr = [TierSpec(f"reram{i}", "reram", power_w=reram_power_w) for i in range(n_reram)]
    tiers = sm + rr if sm_near_sink else rr + sm
    return StackSpec(tiers=tiers, die_mm2=die_mm2, grid=grid, **stack_kwargs)
