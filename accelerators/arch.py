"""Architecture descriptions: one accelerator = one human-readable TOML file (data).

A description (schema ``imcspice.arch/1``) lists the machine's components by role
(``crossbar``, ``dac``, ``converter``, ``adder``, ``buffer``, ``acam``, ``sm_mac``,
``sm_sram``, ``gaincell``, ``readout``, ``tile_adder``), their counts and sharing, bit
widths, the clock and node, which unit runs each operator (``[mapping]``), the
floorplan, and for every component its per-action energy, per-action latency and
area, each with a **source**:

* ``spice``: ``model`` (a model kind of the model directory, with optional
  ``choices``), ``quantity`` (one output of it) and ``at`` (the operating point;
  component parameters whose names are model inputs are used too; ``times``, ``plus``
  and, on a latency, ``whole_cycles``: :mod:`.components`);
* ``literature``: ``ref`` (an entry of :mod:`.periphery`, which carries its citation,
  node and scaling kind) or ``value`` + ``unit`` + ``citation`` (+ ``node_nm``);
* ``assumption``: ``value`` + ``unit`` + ``note`` saying what is assumed and why.

Each figure also says how it moves to another node (``scaling``: ``logic``, ``sram``,
``adc``, ``wire``, ``offchip`` scale with Stillmaker & Baas; ``analog`` stays at its
SKY130 physics). Shipped descriptions live in ``data/arch/``; ``--set
COMPONENT.PARAM=VALUE`` overrides any scalar of a loaded description. Nothing in a
description is executed: it is parsed by :mod:`tomllib` and validated here.
"""
from __future__ import annotations

import copy
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ArchError
from .floorplan import check as _check_floorplan
from .acam_mapping import AcamMapping
from .ir_profile import PROFILES
from .weight_scale import W_SCALES

SCHEMA = "imcspice.arch/1"
ARCH_DIR = Path(__file__).resolve().parent / "data" / "arch"
MAX_FILE_BYTES = 256 * 1024          # a description is a page of text, not data
MAX_BITS = 16                        # converter / DAC resolutions beyond this are not IMC
RESOLUTIONS = ("bits", "in_bits", "out_bits", "q_bits", "kv_bits")  # bounded by MAX_BITS
#: component parameters that name one of a few choices
CHOICES = {"ir_profile": PROFILES, "w_scale": W_SCALES}
# a parameter named *_pct is a percentile (w_clip_pct, converter range_pct): in (0, 100]
SOURCES = ("spice", "literature", "assumption")
SCALINGS = ("logic", "sram", "adc", "wire", "offchip", "analog")
UNITS = {  # unit -> (dimension, factor to SI: J, s, mm2)
    "J": ("energy", 1.0), "nJ": ("energy", 1e-9), "pJ": ("energy", 1e-12),
    "fJ": ("energy", 1e-15),
    "s": ("time", 1.0), "us": ("time", 1e-6), "ns": ("time", 1e-9), "ps": ("time", 1e-12),
    "cycle": ("time", None),  # one period of the description's clock
    "mm2": ("area", 1.0), "um2": ("area", 1e-6),
    "W": ("power", 1.0), "mW": ("power", 1e-3),
}


def dimension(figure_name: str) -> str:
    """A figure's dimension from its name: ``energy`` / ``*_energy`` (per action),
    ``latency`` / ``*_latency`` (per action), ``area`` (per cell or instance),
    ``static`` (power per mm² of the component or per provisioned instance, drawn for
    the whole latency)."""
    for suffix, dim in (("energy", "energy"), ("latency", "time"), ("area", "area"),
                        ("static", "power")):
        if figure_name == suffix or figure_name.endswith("_" + suffix):
            return dim
    raise ArchError(f"figure {figure_name!r}: name it energy, latency, area, static or "
                    "<something>_energy / _latency")
#: components each engine needs (the mapping looks them up by these role names)
ENGINE_ROLES = {
    "crossbar": ("crossbar", "dac", "converter", "adder"),
    "acam": ("acam",),
    "adder": ("adder",),
    "sm": ("sm_mac", "sm_sram"),
    "gaincell": ("gaincell", "readout", "tile_adder"),
}
OP_KINDS = ("linear", "matmul", "softmax", "gelu", "layernorm", "elementwise")


@dataclass(frozen=True)
class FigureSpec:
    """One energy / latency / area figure as written in the description."""

    what: str                 # "energy", "read_energy", "latency", "area", "static", ...
    source: str               # spice | literature | assumption
    per: str                  # the action (energy, latency) or "cell"/"instance" (area)
    scaling: str
    fields: dict              # the rest: model/quantity/at, ref/value/unit/citation, note


@dataclass
class ComponentSpec:
    name: str
    description: str
    params: dict              # every scalar parameter (rows, bits, count, ...)
    figures: dict             # what -> FigureSpec

    def get(self, key: str, default=None):
        return self.params.get(key, default)

    def __getitem__(self, key: str):
        try:
            return self.params[key]
        except KeyError:
            raise ArchError(f"component {self.name!r} has no parameter {key!r}") from None


@dataclass
class Architecture:
    """A validated description. ``raw`` keeps the parsed TOML (for show / reports)."""

    name: str
    title: str
    path: str
    node_nm: int
    vdd_v: float
    clock_hz: float
    corner: str
    temp_c: float
    workload: dict
    mapping: dict             # op kind or name pattern -> engine
    floorplan: dict
    components: dict          # name -> ComponentSpec
    notes: list = field(default_factory=list)
    raw: dict = field(default_factory=dict)

    def component(self, name: str) -> ComponentSpec:
        try:
            return self.components[name]
        except KeyError:
            raise ArchError(f"{self.name}: no component {name!r} (have: "
                            f"{', '.join(sorted(self.components))})") from None

    def engine_for(self, op_name: str, op_kind: str) -> str | None:
        """The engine running an operator: a name pattern of ``[mapping.by_name]`` first
        (``fnmatch`` on e.g. ``ffn.in``), then ``[mapping.by_kind]``; None = not mapped
        (the operator is free: a wire sum or a buffer read)."""
        from fnmatch import fnmatchcase
        for pat, eng in self.mapping.get("by_name", {}).items():
            if fnmatchcase(op_name, pat):
                return eng
        return self.mapping.get("by_kind", {}).get(op_kind)

    def acam_mapping(self) -> AcamMapping:
        """The Compute-ACAM mapping choices (``[mapping.acam]``; defaults if absent)."""
        return AcamMapping.parse(self.mapping.get("acam", {}), f"{self.path}: mapping.acam")


def names() -> list[str]:
    """Names of the shipped descriptions."""
    return sorted(p.stem for p in ARCH_DIR.glob("*.toml"))


def resolve_path(name_or_file: str) -> Path:
    """A shipped name (``race-it``) or a path to a ``.toml`` file."""
    if not isinstance(name_or_file, str) or not name_or_file:
        raise ArchError("--arch needs a shipped name or a .toml file")
    if name_or_file in names():
        return ARCH_DIR / f"{name_or_file}.toml"
    p = Path(name_or_file)
    if p.suffix != ".toml":
        raise ArchError(f"unknown architecture {name_or_file!r}: use one of "
                        f"{', '.join(names())} or a .toml description file")
    if not p.is_file():
        raise ArchError(f"architecture file {p} does not exist")
    return p


def load(name_or_file: str, overrides: list[str] | dict | None = None) -> Architecture:
    """Load, apply ``--set`` overrides, validate. ArchError with a one-line message."""
    path = resolve_path(name_or_file)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ArchError(f"{path}: {size} bytes is too large for a description "
                        f"(limit {MAX_FILE_BYTES})")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise ArchError(f"{path}: not a valid TOML description: {e}") from None
    if "extends" in raw:
        raw = _extend(raw, path)
    raw = apply_overrides(raw, overrides or [])
    return from_dict(raw, str(path))


def _extend(raw: dict, path: Path) -> dict:
    """A variant: ``extends = "race-it"`` takes a shipped description and replaces what
    the variant states, table by table (only shipped names: a description never makes
    imcspice read another file)."""
    base_name = raw.pop("extends")
    if not isinstance(base_name, str) or base_name not in names():
        raise ArchError(f"{path}: extends must name a shipped description "
                        f"({', '.join(names())}), got {base_name!r}")
    base = tomllib.loads((ARCH_DIR / f"{base_name}.toml").read_text(encoding="utf-8"))

    def merge(a: dict, b: dict) -> dict:
        out = dict(a)
        for k, v in b.items():
            is_figure = isinstance(v, dict) and "source" in v
            out[k] = merge(a[k], v) if (isinstance(v, dict) and isinstance(a.get(k), dict)
                                        and not is_figure) else v
        return out
    return merge(base, raw)


def parse_set(items: list[str]) -> dict[str, object]:
    """``["dac.bits=6", "crossbar.rows=256"]`` -> {"dac.bits": 6, ...}; values are
    numbers, true/false, or bare words."""
    out = {}
    for it in items:
        if not isinstance(it, str) or "=" not in it:
            raise ArchError(f"--set {it!r}: expected COMPONENT.PARAM=VALUE")
        key, val = it.split("=", 1)
        out[key.strip()] = _scalar(val.strip())
    return out


def _scalar(s: str):
    if s.lower() in ("true", "false"):
        return s.lower() == "true"
    try:
        v = int(s)
        if abs(v) > 10 ** 15:
            raise ArchError(f"--set value {s[:20]!r} is out of range")
        return v
    except ValueError:
        pass
    try:
        v = float(s)
    except ValueError:
        return s
    if not math.isfinite(v):
        raise ArchError(f"--set value {s!r} must be finite")
    return v


def apply_overrides(raw: dict, overrides) -> dict:
    """Set ``component.param`` (or a top-level key such as ``clock_hz``, or
    ``workload.seq_len``) in a copy of ``raw``. Only existing scalars can be set, so
    a typo is an error rather than a silently ignored parameter."""
    sets = parse_set(overrides) if isinstance(overrides, list) else dict(overrides)
    raw = copy.deepcopy(raw)
    for key, val in sets.items():
        parts = key.split(".")
        node = raw.get("components", {}) if parts[0] in raw.get("components", {}) else raw
        for p in parts[:-1]:
            if not isinstance(node, dict) or p not in node:
                raise ArchError(f"--set {key}: no {p!r} in the description")
            node = node[p]
        last = parts[-1]
        if not isinstance(node, dict) or last not in node:
            raise ArchError(f"--set {key}: no parameter {last!r} there (only existing "
                            "parameters can be set; `imcspice arch show` lists them)")
        old = node[last]
        if isinstance(old, dict | list):
            raise ArchError(f"--set {key}: {last!r} is a "
                            f"{'list' if isinstance(old, list) else 'table'}, not a scalar: "
                            "set it in a variant file (`extends = ...`, docs/architecture.md)")
        if isinstance(old, (int, float)) and not isinstance(old, bool) \
                and not isinstance(val, (int, float)):
            raise ArchError(f"--set {key}={val!r}: expected a number")
        if isinstance(old, bool) and not isinstance(val, bool):
            raise ArchError(f"--set {key}={val!r}: expected true or false")
        node[last] = val
    return raw


def _need(d: dict, key: str, where: str, types=None):
    if key not in d:
        raise ArchError(f"{where}: missing {key!r}")
    v = d[key]
    if types is not None and (not isinstance(v, types) or
                              (isinstance(v, bool) and types is not bool)):
        raise ArchError(f"{where}: {key!r} must be {getattr(types, '__name__', types)}, "
                        f"got {v!r}")
    return v


def _positive(v, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
            or v <= 0:
        raise ArchError(f"{where}: must be a positive number, got {v!r}")
    return float(v)


def _figure(what: str, d, where: str) -> FigureSpec:
    if not isinstance(d, dict):
        raise ArchError(f"{where}: must be a table")
    src = d.get("source")
    if src not in SOURCES:
        raise ArchError(f"{where}: 'source' must be one of {', '.join(SOURCES)} "
                        f"(every figure needs a source), got {src!r}")
    per = _need(d, "per", where, str)
    if dimension(what) == "power" and per not in ("mm2", "instance"):
        raise ArchError(f"{where}: a static power is per \"mm2\" (of the component's "
                        f"area) or per \"instance\" (provisioned), got {per!r}")
    scaling = d.get("scaling", "analog" if src == "spice" else None)
    if scaling is None and not (src == "literature" and "ref" in d):
        raise ArchError(f"{where}: missing 'scaling' (one of {', '.join(SCALINGS)})")
    if scaling is not None and scaling not in SCALINGS:
        raise ArchError(f"{where}: 'scaling' must be one of {', '.join(SCALINGS)}")
    f = {k: v for k, v in d.items() if k not in ("source", "per", "scaling")}
    if "value" in f and src != "spice":
        _value_unit(f, what, where)
    if src == "spice":
        _need(f, "model", where, str)
        _need(f, "quantity", where, str)
        if not isinstance(f.get("at", {}), dict):
            raise ArchError(f"{where}: 'at' must be a table of operating-point values")
        _quantity_units(what, f, where)
        if "whole_cycles" in f and (not isinstance(f["whole_cycles"], bool)
                                    or dimension(what) != "time"):
            raise ArchError(f"{where}: 'whole_cycles' is true or false, on a latency only "
                            "(the characterized time rounded up to periods of clock_hz)")
    elif src == "literature":
        if "cells" in f or "sram_macro" in f:
            _layout(what, f, where)
        elif "ref" in f:
            from . import periphery
            refs = f["ref"] if isinstance(f["ref"], list) else [f["ref"]]
            for r in refs:
                try:
                    periphery.get_entry(r)
                except ValueError as e:
                    raise ArchError(f"{where}: {e}") from None
        else:
            _need(f, "citation", where, str)
            _value_unit(f, what, where)
    else:
        note = _need(f, "note", where, str)
        if not note.strip():
            raise ArchError(f"{where}: an assumption needs a 'note' saying what is assumed")
        if "readout" in f:
            if dimension(what) != "area" or f["readout"] not in READOUT_MODELS or "value" in f:
                raise ArchError(f"{where}: 'readout' (one of {', '.join(READOUT_MODELS)}) "
                                "prices an area, with no value: the column readout drawn "
                                "from that model's netlist (accelerators/readout_area.py)")
        else:
            _value_unit(f, what, where)
    return FigureSpec(what, src, per, scaling, f)


def _layout(what: str, f: dict, where: str) -> None:
    """An area from published SKY130 layouts (:mod:`.layouts`): ``cells``, a table of
    standard-cell name -> count (a number, a parameter name or a list of those, as
    ``times``), or ``sram_macro``, the published macro copies of which hold the
    component's ``capacity_bytes``."""
    from . import layouts
    if dimension(what) != "area" or ("cells" in f) == ("sram_macro" in f):
        raise ArchError(f"{where}: 'cells' or 'sram_macro' (one of them) prices an area "
                        "from published layouts, not an energy, latency or static power")
    if "sram_macro" in f:
        if f["sram_macro"] not in layouts.macro_names():
            raise ArchError(f"{where}: unknown SRAM macro {f['sram_macro']!r}; known: "
                            f"{', '.join(layouts.macro_names())}")
        return
    cells = f["cells"]
    if not isinstance(cells, dict) or not cells:
        raise ArchError(f"{where}: 'cells' must be a table of cell name -> count, "
                        "e.g. { fa_1 = 32, dfxtp_1 = 32 }")
    for name in cells:
        if name not in layouts.cell_names():
            raise ArchError(f"{where}: unknown standard cell {name!r}; known: "
                            f"{', '.join(layouts.cell_names())}")


#: the models whose netlists an area ``readout = ...`` draws (accelerators/readout_area.py):
#: a crossbar bit line's TIA and hold, a gain-cell column's integrator and latch
READOUT_MODELS = ("crossbar-column", "gaincell-readout")

#: a model output's unit is the end of its name (``e_read_j``, ``t_settle_s``, ``p_leak_w``)
_SUFFIX = {"energy": "_j", "time": "_s", "power": "_w", "area": "_mm2"}


def _quantity_units(what: str, f: dict, where: str) -> None:
    """A spice figure reads model outputs of its own dimension: an energy J, a latency
    s, a static power W (every term of ``plus`` too)."""
    want = _SUFFIX[dimension(what)]
    terms = [f] + [t for t in f.get("plus", []) if isinstance(t, dict)]
    for t in terms:
        q = t.get("quantity")
        if isinstance(q, str) and not q.endswith(want):
            raise ArchError(f"{where}: {what!r} is a {dimension(what)} but {q!r} is not "
                            f"(a model output in {want.lstrip('_')} ends in {want!r})")


def _value_unit(f: dict, what: str, where: str) -> None:
    _positive(_need(f, "value", where), f"{where}.value")
    unit = _need(f, "unit", where, str)
    dim = dimension(what)
    if unit not in UNITS or UNITS[unit][0] != dim:
        ok = [u for u, (d, _) in UNITS.items() if d == dim]
        raise ArchError(f"{where}: unit {unit!r} is not a {dim} unit "
                        f"({', '.join(ok)})")


def from_dict(raw: dict, path: str = "<dict>") -> Architecture:
    if not isinstance(raw, dict) or raw.get("schema") != SCHEMA:
        raise ArchError(f"{path}: 'schema' must be {SCHEMA!r}, got "
                        f"{raw.get('schema') if isinstance(raw, dict) else raw!r}")
    name = _need(raw, "name", path, str)
    comps_raw = _need(raw, "components", path, dict)
    comps = {}
    for cname, c in comps_raw.items():
        where = f"{path}: component {cname!r}"
        if not isinstance(c, dict):
            raise ArchError(f"{where}: must be a table")
        figs = {}
        for what, v in c.items():
            if isinstance(v, dict):  # every table of a component is a figure
                try:
                    dimension(what)
                except ArchError as e:
                    raise ArchError(f"{where}: {e}") from None
                figs[what] = _figure(what, v, f"{where}.{what}")
        if "energy" not in figs:
            raise ArchError(f"{where}: needs an 'energy' figure with its source")
        if "area" not in figs and not c.get("offchip"):
            raise ArchError(f"{where}: needs an 'area' figure with its source (or "
                            "offchip = true for a part outside the chip)")
        params = {k: v for k, v in c.items() if k not in figs and k != "description"}
        for k, v in params.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and \
                    (not math.isfinite(v) or v < 0):
                raise ArchError(f"{where}: {k} must be finite and >= 0, got {v!r}")
            if k in RESOLUTIONS and (
                    isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_BITS):
                raise ArchError(f"{where}: {k} must be an integer in [1, {MAX_BITS}], "
                                f"got {v!r}")
            if k.endswith("_pct") and (isinstance(v, bool) or not isinstance(v, (int, float))
                                       or not 0 < v <= 100):
                raise ArchError(f"{where}: {k} must be a percentile in (0, 100], got {v!r}")
            if k in CHOICES and v not in CHOICES[k]:
                raise ArchError(f"{where}: {k} must be one of {', '.join(CHOICES[k])}, "
                                f"not {v!r}")
        comps[cname] = ComponentSpec(cname, str(c.get("description", "")), params, figs)
    mapping = _need(raw, "mapping", path, dict)
    for eng in list(mapping.get("by_kind", {}).values()) + list(mapping.get("by_name", {})
                                                                 .values()):
        if eng not in ENGINE_ROLES:
            raise ArchError(f"{path}: mapping names engine {eng!r}; engines: "
                            f"{', '.join(ENGINE_ROLES)}")
        for role in ENGINE_ROLES[eng]:
            if role not in comps:
                raise ArchError(f"{path}: engine {eng!r} needs a component {role!r}")
    acam = AcamMapping.parse(mapping.get("acam", {}), f"{path}: mapping.acam")
    for need, what, role in ((acam.deferred_softmax, "softmax = 'deferred'", "scaler"),
                             (acam.rsqrt_banks > 1, "rsqrt_banks > 1", "comparator"),
                             (acam.norm_out_banks > 1, "norm_out_banks > 1", "comparator")):
        if need and "acam" in mapping.get("by_kind", {}).values() and role not in comps:
            raise ArchError(f"{path}: mapping.acam.{what} needs a component {role!r}")
    arch = Architecture(
        name=name, title=str(raw.get("title", name)), path=path,
        node_nm=int(_positive(_need(raw, "node_nm", path), f"{path}: node_nm")),
        vdd_v=_positive(_need(raw, "vdd_v", path), f"{path}: vdd_v"),
        clock_hz=_positive(_need(raw, "clock_hz", path), f"{path}: clock_hz"),
        corner=str(raw.get("corner", "tt")), temp_c=float(raw.get("temp_c", 27.0)),
        workload=dict(_need(raw, "workload", path, dict)), mapping=mapping,
        floorplan=dict(raw.get("floorplan", {})), components=comps,
        notes=list(raw.get("notes", [])), raw=raw)
    _check_floorplan(arch)
    return arch


def show(arch: Architecture) -> str:
    """A readable listing: components, parameters and each figure's source."""
    L = [f"{arch.name}: {arch.title}", f"  file: {arch.path}",
         f"  node {arch.node_nm} nm, {arch.vdd_v:g} V, clock {arch.clock_hz / 1e6:g} MHz, "
         f"corner {arch.corner}, {arch.temp_c:g} C",
         f"  workload: {arch.workload}",
         f"  mapping: {arch.mapping}"]
    if arch.floorplan:
        L.append(f"  floorplan: {arch.floorplan}")
    for c in arch.components.values():
        L.append(f"  [{c.name}] {c.description}")
        if c.params:
            L.append("      " + ", ".join(f"{k}={v}" for k, v in c.params.items()))
        for f in c.figures.values():
            if f.source == "spice":
                src = (f"spice {f.fields['model']}:{f.fields['quantity']} "
                       f"at {f.fields.get('at', {})}")
            elif f.source == "literature":
                cells = f.fields.get("cells", {})
                src = "literature " + (" + ".join(f"{n} x {c}" for c, n in cells.items())
                                       or str(next(f.fields[k] for k in (
                                           "sram_macro", "ref", "citation") if k in f.fields)))
            else:
                src = f"assumption: {f.fields['note']}"
            val = f" {f.fields['value']} {f.fields['unit']}" if "value" in f.fields else ""
            L.append(f"      {f.what} per {f.per}:{val} [{src}] scaling={f.scaling or 'as its ref'}")
    for n in arch.notes:
        L.append(f"  note: {n}")
    return "\n".join(L)
