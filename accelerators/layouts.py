"""Area from published SKY130 layouts: standard cells and OpenRAM SRAM macros.

* A digital block whose energy and leakage the logic deck composes of full-adder
  operations and flip-flops (``cells = { fa_1 = 270, dfxtp_1 = 32 }``) takes the same
  composition of the library's cells: ``sum(count x cell area) / utilization``. The
  footprints are the SKY130 PDK's LEF sizes (``sky130_fd_sc_hd__fa_1``, ``__dfxtp_1``:
  7.36 x 2.72 um, 20.02 um^2 each); the utilization is OpenLane's default floorplan
  (cells fill 50 % of the core). A full-adder *equivalent* of a description's count
  (an AND2 or a mux as a fraction of a 28T full adder by transistor count) takes the
  same fraction of the full adder's footprint: that proportion, like the counts, is the
  description's stated assumption.
* An SRAM of ``capacity_bytes`` (``sram_macro = NAME``) is that many bytes of copies of
  a published macro, ``ceil(capacity_bytes / macro bytes) x macro area``, placed as
  they are (no utilization). A macro built of small ones repeats their periphery, so
  for a large memory it is an upper bound on what one larger array would take.

Sources and sizes are data (``data/sky130_layouts.toml``), cited there.
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from . import scaling

TABLE = Path(__file__).resolve().parent / "data" / "sky130_layouts.toml"


@dataclass(frozen=True)
class Footprint:
    """One published layout: its LEF footprint (um) and, for a memory, its bytes."""

    name: str
    what: str
    width_um: float
    height_um: float
    bytes: int = 0

    @property
    def area_um2(self) -> float:
        return self.width_um * self.height_um


@dataclass(frozen=True)
class Layouts:
    node_nm: int
    library: str
    cells_citation: str
    utilization: float
    utilization_citation: str
    cells: dict[str, Footprint]
    macros: dict[str, Footprint]
    macro_citations: dict[str, str]


@cache
def layouts() -> Layouts:
    """The shipped table (package data, trusted like the code)."""
    d = tomllib.loads(TABLE.read_text())
    sc = d["std_cells"]
    cells = {k: Footprint(k, v["what"], float(v["width_um"]), float(v["height_um"]))
             for k, v in sc["cells"].items()}
    macros = {k: Footprint(k, v["what"], float(v["width_um"]), float(v["height_um"]),
                           int(v["bytes"])) for k, v in d["sram_macros"].items()}
    return Layouts(int(d["node_nm"]), sc["library"], sc["citation"], float(sc["utilization"]),
                   sc["utilization_citation"], cells, macros,
                   {k: v["citation"] for k, v in d["sram_macros"].items()})


def cell_names() -> tuple[str, ...]:
    return tuple(layouts().cells)


def macro_names() -> tuple[str, ...]:
    return tuple(layouts().macros)


def _at_node(mm2: float, detail: str, node_nm: int, kind: str) -> tuple[float, str]:
    lib = layouts()
    if node_nm == lib.node_nm:
        return mm2, detail
    return (scaling.scale_area_kind(mm2, lib.node_nm, node_nm, kind),
            f"{detail}, projected {lib.node_nm} nm -> {node_nm} nm (Stillmaker & Baas 2017)")


def cells_area_mm2(counts: dict[str, float], node_nm: int) -> tuple[float, str]:
    """(area in mm^2 at ``node_nm``, the detail a report prints) of ``counts`` standard
    cells (name of :func:`cell_names` -> positive count), placed at the library's
    utilization. Off SKY130's node: a Stillmaker & Baas logic projection."""
    lib = layouts()
    cells_um2 = sum(n * lib.cells[c].area_um2 for c, n in counts.items())
    um2 = cells_um2 / lib.utilization
    terms = " + ".join(f"{n:g} x {c} ({lib.cells[c].area_um2:.4g} um2, "
                       f"{lib.cells[c].width_um:g} x {lib.cells[c].height_um:g} um)"
                       for c, n in counts.items())
    return _at_node(um2 * 1e-6, (
        f"{terms} = {cells_um2:.4g} um2 of {lib.library} cells / {lib.utilization:g} "
        f"placement utilization = {um2:.4g} um2 ({lib.cells_citation}; "
        f"{lib.utilization_citation})"), node_nm, "logic")


def sram_area_mm2(macro: str, capacity_bytes: float, node_nm: int) -> tuple[float, str]:
    """(area in mm^2 at ``node_nm``, detail) of ``capacity_bytes`` (> 0) held in copies
    of the published SRAM macro ``macro`` (:func:`macro_names`). Off SKY130's node: a
    Stillmaker & Baas SRAM projection."""
    lib = layouts()
    m = lib.macros[macro]
    n = math.ceil(capacity_bytes / m.bytes)
    return _at_node(n * m.area_um2 * 1e-6, (
        f"{n} x {macro} ({m.what}: {m.width_um:g} x {m.height_um:g} um = "
        f"{m.area_um2 * 1e-6:.4g} mm2) for {capacity_bytes:g} bytes ({lib.macro_citations[macro]})"),
        node_nm, "sram")
