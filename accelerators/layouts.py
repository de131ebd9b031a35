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
* An analog block (:func:`netlist_area_mm2`) is drawn from the netlist it was simulated
  as: each transistor takes its gate and the drain and source diffusions the netlist
  gives it (``m x (W L + ad + as)``), placed at the analog utilization, and each
  capacitor a MIM capacitor of its value at the PDK's density beside them. Resistors
  are not drawn (the caller says so).

Sources and sizes are data (``data/sky130_layouts.toml``), cited there.
"""
from __future__ import annotations

import ast
import math
import operator
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
    analog_utilization: float
    analog_utilization_note: str
    mim_ff_per_um2: float
    mim_citation: str


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
                   {k: v["citation"] for k, v in d["sram_macros"].items()},
                   float(d["analog"]["utilization"]), d["analog"]["utilization_note"],
                   float(d["analog"]["mim_ff_per_um2"]), d["analog"]["mim_citation"])


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


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.Div: operator.truediv}
_FUNCS = {"max": max, "min": min, "pow": pow, "sinh": math.sinh, "exp": math.exp}


def evaluate_expr(text: str, env: dict[str, float]) -> float:
    """The value of a netlist number or brace expression (``{(w5*k2)*0.29}``) with the
    parameters ``env``: numbers, names, + - * /, unary minus and max/min/pow/sinh/exp.
    Anything else raises ValueError (the text is never executed)."""
    def ev(n):
        if isinstance(n, ast.Constant) and isinstance(n.value, (int, float)):
            return float(n.value)
        if isinstance(n, ast.Name) and n.id in env:
            return float(env[n.id])
        if isinstance(n, ast.BinOp) and type(n.op) in _OPS:
            return _OPS[type(n.op)](ev(n.left), ev(n.right))
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub):
            return -ev(n.operand)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and \
                n.func.id in _FUNCS and not n.keywords:
            return float(_FUNCS[n.func.id](*(ev(a) for a in n.args)))
        raise ValueError(f"netlist expression {text!r}: cannot evaluate {ast.dump(n)}")
    return ev(ast.parse(text.strip().strip("{}"), mode="eval").body)


def _fields(line: str) -> tuple[list[str], dict[str, str]]:
    """A netlist line's positional tokens and its ``key=value`` settings."""
    pos, kv = [], {}
    for tok in line.split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            kv[k.lower()] = v
        else:
            pos.append(tok)
    return pos, kv


def netlist_area_mm2(lines: list[str], env: dict[str, float],
                     node_nm: int) -> tuple[float, str]:
    """(area in mm^2 at ``node_nm``, detail) of the
    transistors (``X`` instances of a SKY130 FET with ``w``, ``l``, ``ad``, ``as`` and an
    optional ``m``) and capacitors (``C``) in ``lines``, their expressions evaluated with
    ``env``; other lines (subcircuit heads, sources, resistors) are not drawn. Off
    SKY130's node: a Stillmaker & Baas analog projection."""
    lib = layouts()
    dev_um2, c_f, parts = 0.0, 0.0, []
    for line in lines:
        pos, kv = _fields(line)
        if not pos:
            continue
        if pos[0][0] in "Xx" and len(pos) >= 6 and pos[5].startswith("sky130_fd_pr__"):
            w, l_ = evaluate_expr(kv["w"], env), evaluate_expr(kv["l"], env)
            m = evaluate_expr(kv.get("m", "1"), env)
            a = m * (w * l_ + evaluate_expr(kv["ad"], env) + evaluate_expr(kv["as"], env))
            dev_um2 += a
            parts.append(f"{pos[0][1:]} {m:.3g} x {w:g}/{l_:g} um: {a:.4g}")
        elif pos[0][0] in "Cc" and len(pos) >= 4:
            c_f += evaluate_expr(pos[3], env)
    mim_ff = c_f * 1e15
    mim_um2 = mim_ff / lib.mim_ff_per_um2
    um2 = dev_um2 / lib.analog_utilization + mim_um2
    detail = (f"transistors {dev_um2:.4g} um2 (gate + drain/source diffusions of the "
              f"simulated netlist: {', '.join(parts)}) / {lib.analog_utilization:g} "
              f"({lib.analog_utilization_note}) + MIM {mim_ff:.4g} fF / "
              f"{lib.mim_ff_per_um2:g} fF/um2 = {mim_um2:.4g} um2 ({lib.mim_citation}) "
              f"= {um2:.4g} um2")
    return _at_node(um2 * 1e-6, detail, node_nm, "analog")
