"""Energy and area of accelerator parts that are NOT simulated in SPICE.

ADCs, DACs, buffers, routers, digital arithmetic and memories are priced from
published figures; the analog arrays themselves come from ngspice. Every entry
records the node (nm) and supply it was reported at, its source, and a scaling
*kind* that tells :mod:`.scaling` how it moves to another node (logic-like,
wire-like, off-chip...). Values at a node other than the native one are
Stillmaker & Baas 2017 projections, not measurements.

Sources
-------
* **ISAAC** -- A. Shafiee et al., "ISAAC: A Convolutional Neural Network
  Accelerator with In-Situ Analog Arithmetic in Crossbars", ISCA 2016, tile/IMA
  parameter table at 32 nm: per IMA 8 ADCs (8-bit, ~1.2 GS/s) 16 mW and
  0.0096 mm^2; 8x128 1-bit DACs 4 mW and 0.00017 mm^2;
  per tile a 64 KB eDRAM buffer 20.7 mW and 0.083 mm^2; one router (32-bit
  flit, 8 ports) per 4 tiles, 42 mW and 0.151 mm^2. The ADC circuit is Kull et
  al., "A 3.1 mW 8b 1.2 GS/s single-channel asynchronous SAR ADC ... in 32 nm
  digital SOI CMOS", ISSCC 2013.
* **Per-event energies from ISAAC** (the figures in the project's
  ``REFERENCE.md``) are the derivation of the Accelergy/CiMLoop component
  library (``hwcomponents-library``, ``isaac.py``), 1 GHz global cycle:
  ADC 16 mW / (8 x 1.2 GS/s) = 1.67 pJ per 8-bit conversion; 4-7-bit ADC
  energies (0.79/0.99/1.20/1.42 pJ) and areas are scaled from the 8-bit one by a
  SAR capacitive-DAC model (Saberi et al., IEEE TCAS-I 2011) -- derived, not
  reported by ISAAC; DAC 4 mW / (1024 DACs x 12 M drives/s) x 128/100 = 0.417 pJ
  per row drive (ISAAC's 100 ns crossbar read, 128/100 for ADC-limited
  utilization); eDRAM 20.45 pJ per 256-bit access and router 20.74 pJ per
  256-bit transfer are the eDRAM/router power divided by the access rate the
  IMAs sustain (assumption of that library: router bandwidth = eDRAM bandwidth).
* **Horowitz** -- M. Horowitz, "Computing's energy problem (and what we can do
  about it)", ISSCC 2014 keynote, 45 nm at 0.9 V: INT8 add 0.03 pJ, mult 0.2 pJ;
  INT32 add 0.1, mult 3.1; FP16 add 0.4, mult 1.1; FP32 add 0.9, mult 3.7; SRAM
  per 64-bit access 10 pJ (8 KB), 20 pJ (32 KB), 100 pJ (1 MB); DRAM 1.3-2.6 nJ
  per 64-bit access. The same keynote's area table (um^2 at 45 nm) is included
  with ``area_is_assumption=True``: recalled, not re-checked against the slide.

Assumptions flagged per entry: the supply of the ISAAC numbers is not stated,
so ``vdd_v=None`` means "the node's nominal supply" (0.9 V at 32 nm in
:mod:`.scaling`); DRAM uses the midpoint 1.95 nJ of Horowitz's range by default
(:attr:`PeripheryEntry.energy_range_pj` keeps the range).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from . import scaling
from .scaling import Flavor

__all__ = [
    "PeripheryEntry", "PERIPHERY", "ADC_BITS", "get_entry", "entry_names",
    "energy_pj", "area_mm2", "adc_energy_pj", "adc_area_mm2", "energy_range_pj",
]

_ISAAC = "Shafiee et al., ISAAC, ISCA 2016 (32 nm)"
_CIMLOOP = "derivation of Accelergy/CiMLoop hwcomponents-library isaac.py; REFERENCE.md"
_HOROWITZ = "Horowitz, 'Computing's energy problem', ISSCC 2014 keynote (45 nm, 0.9 V); REFERENCE.md"
_HOROWITZ_AREA = "Horowitz ISSCC 2014 area table (45 nm), recalled, not re-checked"


@dataclass(frozen=True)
class PeripheryEntry:
    """One non-simulated component, priced at its native node.

    Attributes:
        name: key in :data:`PERIPHERY`.
        description: what the component is.
        energy_pj: energy per event (pJ) at ``node_nm`` / ``vdd_v``.
        per: the event ``energy_pj`` is counted per.
        node_nm: node the figure was reported at (nm); must be a node of
            :data:`.scaling.NODES_NM`.
        scaling_kind: how it scales (:data:`.scaling.SCALING_KINDS`).
        source: where the energy comes from.
        vdd_v: reported supply (V); None = the node's nominal supply (assumption).
        energy_range_pj: published (low, high) when the source gives a range.
        area_mm2: area at ``node_nm`` (mm^2), None if not public.
        area_source: where the area comes from.
        area_is_assumption: True when the area is derived or not re-checked.
    """

    name: str
    description: str
    energy_pj: float
    per: str
    node_nm: int
    scaling_kind: str
    source: str
    vdd_v: float | None = None
    energy_range_pj: tuple[float, float] | None = None
    area_mm2: float | None = None
    area_source: str = ""
    area_is_assumption: bool = False

    def __post_init__(self) -> None:
        if not (isinstance(self.energy_pj, (int, float)) and math.isfinite(self.energy_pj)
                and self.energy_pj > 0):
            raise ValueError(f"{self.name}: energy_pj must be > 0, got {self.energy_pj!r}")
        if self.node_nm not in scaling.NODES_NM:
            raise ValueError(f"{self.name}: node_nm must be one of {scaling.NODES_NM}, got {self.node_nm!r}")
        if self.scaling_kind not in scaling.SCALING_KINDS:
            raise ValueError(f"{self.name}: scaling_kind must be one of {scaling.SCALING_KINDS}, "
                             f"got {self.scaling_kind!r}")
        if self.area_mm2 is not None and not self.area_mm2 > 0:
            raise ValueError(f"{self.name}: area_mm2 must be > 0 or None, got {self.area_mm2!r}")
        if self.energy_range_pj is not None:
            lo, hi = self.energy_range_pj
            if not 0 < lo <= self.energy_pj <= hi:
                raise ValueError(f"{self.name}: energy_pj must lie in energy_range_pj {self.energy_range_pj}")


def _um2(x: float) -> float:
    return x * 1e-6


# 4..8-bit SAR ADC: energy (pJ) and area (um^2), CiMLoop derivation from ISAAC's 8-bit ADC.
_ADC_TABLE = {4: (0.79, 361.04), 5: (0.99, 476.91), 6: (1.20, 626.91), 7: (1.42, 845.18), 8: (1.67, 1200.0)}
ADC_BITS: tuple[int, ...] = tuple(sorted(_ADC_TABLE))
"""ADC resolutions with a tabulated entry."""


def _entries() -> list[PeripheryEntry]:
    out = []
    for bits, (e, a_um2) in _ADC_TABLE.items():
        if bits == 8:
            src = (f"{_ISAAC}: 8 ADCs per IMA draw 16 mW at 1.2 GS/s -> 1.67 pJ/conversion "
                   f"(Kull et al., ISSCC 2013 SAR ADC); {_CIMLOOP}")
            a_src, a_ass = f"{_ISAAC}: 0.0096 mm^2 for 8 ADCs -> 0.0012 mm^2 each", False
        else:
            src = (f"scaled from ISAAC's 8-bit ADC by a SAR capacitive-DAC model (Saberi et al., "
                   f"TCAS-I 2011); {_CIMLOOP}")
            a_src, a_ass = f"same derived table ({_CIMLOOP}); not reported by ISAAC", True
        out.append(PeripheryEntry(
            f"adc_sar_{bits}b", f"{bits}-bit SAR ADC", e, "conversion", 32, "adc", src,
            area_mm2=_um2(a_um2), area_source=a_src, area_is_assumption=a_ass))
    out += [
        PeripheryEntry(
            "dac_1b", "1-bit DAC (row driver) of a crossbar input", 0.41667, "row drive", 32, "adc",
            f"{_ISAAC}: 8x128 1-bit DACs per IMA draw 4 mW; 4 mW/(1024 x 1.2e7 /s) x 128/100 "
            f"= 0.417 pJ (REFERENCE.md: ~0.42 pJ); {_CIMLOOP}",
            area_mm2=0.00017 / 1024, area_source=f"{_ISAAC}: 0.00017 mm^2 for 8x128 DACs"),
        PeripheryEntry(
            "edram_64kb", "64 KB eDRAM tile buffer", 20.45, "256-bit access", 32, "sram",
            f"{_ISAAC}: 64 KB eDRAM buffer, 20.7 mW; per-access energy: {_CIMLOOP}",
            area_mm2=0.083, area_source=f"{_ISAAC}: eDRAM buffer 0.083 mm^2 per tile"),
        PeripheryEntry(
            "router_256b", "on-chip router (ISAAC: 32-bit flit, 8 ports, one per 4 tiles)", 20.74,
            "256-bit transfer", 32, "logic",
            f"{_ISAAC}: router 42 mW shared by 4 tiles; per-transfer energy: {_CIMLOOP}",
            area_mm2=0.151,
            area_source=f"{_ISAAC}: 0.151 mm^2 per router, shared by 4 tiles (0.0378 mm^2 per tile)"),
        PeripheryEntry(
            "edram_bus_1b", "eDRAM-to-IMA bus, per bit moved (wire-dominated)", 0.054,
            "bit transferred", 32, "wire",
            f"{_ISAAC}: eDRAM-IMA bus 7 mW per tile; per-bit energy: {_CIMLOOP} (not in REFERENCE.md)"),
    ]
    horowitz = [
        ("int8_add", "8-bit integer add", 0.03, 36.0),
        ("int8_mult", "8-bit integer multiply", 0.2, 282.0),
        ("int32_add", "32-bit integer add", 0.1, 137.0),
        ("int32_mult", "32-bit integer multiply", 3.1, 3495.0),
        ("fp16_add", "FP16 add", 0.4, 1360.0),
        ("fp16_mult", "FP16 multiply", 1.1, 1640.0),
        ("fp32_add", "FP32 add", 0.9, 4184.0),
        ("fp32_mult", "FP32 multiply", 3.7, 7700.0),
    ]
    for name, desc, e, a_um2 in horowitz:
        out.append(PeripheryEntry(
            name, desc, e, "operation", 45, "logic", _HOROWITZ, vdd_v=0.9,
            area_mm2=_um2(a_um2), area_source=_HOROWITZ_AREA, area_is_assumption=True))
    for name, size, e in (("sram_8kb_64b", "8 KB", 10.0), ("sram_32kb_64b", "32 KB", 20.0),
                          ("sram_1mb_64b", "1 MB", 100.0)):
        out.append(PeripheryEntry(name, f"{size} SRAM", e, "64-bit access", 45, "sram",
                                  _HOROWITZ, vdd_v=0.9))
    out.append(PeripheryEntry(
        "dram_64b", "off-chip DRAM", 1950.0, "64-bit access", 45, "offchip",
        f"{_HOROWITZ}: 1.3-2.6 nJ; default = midpoint (assumption)", vdd_v=0.9,
        energy_range_pj=(1300.0, 2600.0)))
    return out


PERIPHERY: dict[str, PeripheryEntry] = {e.name: e for e in _entries()}
"""All entries by name; see the module docstring for sources."""


def entry_names() -> tuple[str, ...]:
    """Names of all entries, sorted."""
    return tuple(sorted(PERIPHERY))


def get_entry(name: str) -> PeripheryEntry:
    """Entry called ``name``; ValueError lists valid names."""
    try:
        return PERIPHERY[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown periphery entry {name!r}; valid names: "
                         f"{', '.join(entry_names())}") from None


def energy_pj(name: str, node_nm: int | None = None, *, vdd_v: float | None = None,
              flavor: Flavor = "hp") -> float:
    """Energy per event (pJ) of entry ``name`` at ``node_nm``.

    ``node_nm=None`` (or the native node with ``vdd_v=None``) returns the
    published value unchanged. Otherwise the value is projected with
    :func:`.scaling.scale_energy_kind` using the entry's scaling kind, from its
    reported supply to ``vdd_v`` (default: the target node's nominal supply).
    """
    e = get_entry(name)
    if node_nm is None and vdd_v is None:
        return e.energy_pj
    target = e.node_nm if node_nm is None else node_nm
    if target == e.node_nm and vdd_v is None:
        scaling._flavor(flavor)
        return e.energy_pj
    return scaling.scale_energy_kind(e.energy_pj, e.node_nm, target, e.scaling_kind,
                                     from_vdd_v=e.vdd_v, to_vdd_v=vdd_v, flavor=flavor)


def energy_range_pj(name: str) -> tuple[float, float]:
    """Published (low, high) energy at the native node; (v, v) when a single value."""
    e = get_entry(name)
    return e.energy_range_pj if e.energy_range_pj is not None else (e.energy_pj, e.energy_pj)


def area_mm2(name: str, node_nm: int | None = None) -> float:
    """Area (mm^2) of entry ``name`` at ``node_nm`` (native when None).

    ValueError when no public area is recorded for the entry.
    """
    e = get_entry(name)
    if e.area_mm2 is None:
        raise ValueError(f"no area recorded for {name!r} (not public in its source)")
    if node_nm is None or node_nm == e.node_nm:
        return e.area_mm2
    return scaling.scale_area_kind(e.area_mm2, e.node_nm, node_nm, e.scaling_kind)


def _adc_name(bits) -> str:
    if isinstance(bits, bool) or not isinstance(bits, int) or bits not in _ADC_TABLE:
        raise ValueError(f"ADC resolution must be one of {ADC_BITS} bits, got {bits!r}")
    return f"adc_sar_{bits}b"


def adc_energy_pj(bits: int, node_nm: int | None = None, *, vdd_v: float | None = None,
                  flavor: Flavor = "hp") -> float:
    """SAR ADC energy per conversion (pJ) at ``bits`` resolution."""
    return energy_pj(_adc_name(bits), node_nm, vdd_v=vdd_v, flavor=flavor)


def adc_area_mm2(bits: int, node_nm: int | None = None) -> float:
    """SAR ADC area (mm^2) at ``bits`` resolution (4-7 bit areas are derived)."""
    return area_mm2(_adc_name(bits), node_nm)
