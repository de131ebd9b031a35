"""Resolve a description's figures to numbers, each with its source.

``spice`` figures are evaluated from the model files (:class:`.hardware.HardwareModels`)
at the stated operating point: ``at`` first, then the component's parameters whose
names are inputs of the model (``rows``, ``r_bl_ohm``, ``v_read_v``, ...), then the
description's temperature; every other input is a setting the sweep held fixed (the
centre of its valid range). ``times`` (optional, a positive number) composes a figure
from a smaller characterized one: ``{ model = "logic", quantity = "e_add_bit_j", times =
32, note = "..." }`` is 32 registered full-adder bits per action, and the figure's
detail says "32 x e_add_bit_j" with the note (a ``note`` is shown on any spice figure).
``plus`` (optional) adds further outputs of the same model at the same operating point:
``plus = [{ quantity = "e_dff_j", times = 32 }]`` (a MAC = N full-adder ops + M
flip-flops); the detail lists every term.
A point outside the model's valid box is clipped to it and the clip is written into the
figure's source, never hidden.

``literature`` figures with a ``ref`` come from :mod:`.periphery` (citation, node,
scaling kind), projected to the description's node and supply by Stillmaker & Baas
(the projection is named in the source). ``assumption`` figures are taken as written.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import periphery
from .arch import UNITS, Architecture, ArchError, FigureSpec


@dataclass(frozen=True)
class Figure:
    """A resolved figure: ``value`` in SI (J per action, s per action, mm² per
    instance or cell), its ``source`` kind and a one-line ``detail`` a reviewer can
    check (model file + quantity + operating point, citation, or the assumption)."""

    value: float
    per: str
    source: str
    detail: str
    scaling: str

    def as_dict(self) -> dict:
        return {"value": self.value, "per": self.per, "source": self.source,
                "detail": self.detail, "scaling": self.scaling}


def resolve(arch: Architecture, hw) -> dict[str, dict[str, Figure]]:
    """component -> {"energy" | "latency" | "area": Figure}."""
    out = {}
    for c in arch.components.values():
        out[c.name] = {what: _resolve(arch, c, spec, hw) for what, spec in c.figures.items()}
    return out


def _resolve(arch, comp, spec: FigureSpec, hw) -> Figure:
    where = f"{arch.name}: {comp.name}.{spec.what}"
    f = spec.fields
    if spec.source == "spice":
        value, detail = _spice(arch, comp, f, hw, where)
        return Figure(value, spec.per, "spice", detail, spec.scaling)
    if spec.source == "literature" and "ref" in f:
        refs = f["ref"] if isinstance(f["ref"], list) else [f["ref"]]
        entries = [periphery.get_entry(r) for r in refs]
        if spec.what == "energy":
            value = sum(periphery.energy_pj(r, arch.node_nm, vdd_v=arch.vdd_v) for r in refs) * 1e-12
        elif spec.what == "area":
            try:
                value = sum(periphery.area_mm2(r, arch.node_nm) for r in refs)
            except ValueError as e:
                raise ArchError(f"{where}: {e}") from None
        else:
            raise ArchError(f"{where}: a latency cannot come from a periphery 'ref' "
                            "(the table has energies and areas); give value, unit, citation")
        e0 = entries[0]
        moved = (f", projected {e0.node_nm} nm -> {arch.node_nm} nm at {arch.vdd_v:g} V "
                 "(Stillmaker & Baas 2017)" if e0.node_nm != arch.node_nm else "")
        cites = "; ".join(dict.fromkeys(
            (e.area_source if spec.what == "area" and e.area_source else e.source)
            for e in entries))
        names = " + ".join(refs)
        detail = f"{names}: {cites}{moved}"
        if spec.what == "area" and any(e.area_is_assumption for e in entries):
            return Figure(value, spec.per, "assumption",
                          detail + " (area derived or not re-checked: labelled assumption)",
                          spec.scaling or e0.scaling_kind)
        return Figure(value, spec.per, "literature", detail, spec.scaling or e0.scaling_kind)
    value = _si(f, arch, where)
    text = f["citation"] if spec.source == "literature" else f["note"]
    detail = f"{f['value']:g} {f['unit']}: {text}"
    return Figure(value, spec.per, spec.source, detail, spec.scaling)


def _si(f: dict, arch: Architecture, where: str) -> float:
    dim, k = UNITS[f["unit"]]
    if k is None:  # cycles of the description's clock
        return float(f["value"]) / arch.clock_hz
    return float(f["value"]) * k


def operating_point(arch: Architecture, comp, fields: dict, model, quantity: str):
    """(point, notes): the model inputs of ``quantity`` at this component's operating
    point, and what had to be clipped to the model's valid box."""
    fn = model.functions.get(quantity)
    if fn is None:
        raise ArchError(f"{comp.name}: model {model.kind!r} has no output {quantity!r} "
                        f"(outputs: {', '.join(model.functions)})")
    at = dict(fields.get("at", {}))
    for k, v in list(at.items()):
        if isinstance(v, str):  # a reference to a component parameter
            if v not in comp.params:
                raise ArchError(f"{comp.name}: 'at.{k} = \"{v}\"' names no parameter")
            at[k] = comp.params[v]
    point, notes = {}, []
    for name in fn.inputs:
        if name in at:
            v = at[name]
        elif name in comp.params and isinstance(comp.params[name], (int, float)):
            v = comp.params[name]
        elif name == "temp_c":
            v = arch.temp_c
        else:
            lo, hi = model.valid_range[name]
            point[name] = 0.5 * (lo + hi)
            continue
        lo, hi = model.valid_range[name]
        v = float(v)
        if not lo <= v <= hi:
            notes.append(f"{name}={v:g} clipped to the characterized [{lo:g}, {hi:g}]")
            v = min(max(v, lo), hi)
        point[name] = v
    return point, notes



def _positive_value(model, quantity: str, corner, point: dict, where: str) -> float:
    """``quantity`` of ``model`` at ``point`` (the range warnings are the operating
    point's notes); refused unless finite and positive."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v = float(np.asarray(model.evaluate(quantity, corner=corner, **point),
                             dtype=np.float64).ravel()[0])
    if not np.isfinite(v) or v <= 0:
        raise ArchError(f"{where}:{quantity} is {v!r} at {point}")
    return v

def _spice(arch, comp, f, hw, where):
    model = hw.get(f["model"], **f.get("choices", {}))
    if model is None:
        raise ArchError(f"{where}: no {f['model']!r} model with {f.get('choices', {})} in "
                        "the model directory; fit one with `imcspice fit` or rebuild the "
                        "defaults")
    point, notes = operating_point(arch, comp, f, model, f["quantity"])
    v = _positive_value(model, f["quantity"], arch.corner, point, f"{where}: {f['model']}")
    times = _times(f.get("times", 1), f["quantity"], comp, where)
    terms = [(f["quantity"], times, v)]
    plus = f.get("plus", [])
    if not isinstance(plus, list):
        raise ArchError(f"{where}: 'plus' must be a list of {{ quantity, times }} tables")
    for t in plus:
        if not isinstance(t, dict) or set(t) - {"quantity", "times"} or "quantity" not in t:
            raise ArchError(f"{where}: each 'plus' term is {{ quantity = \"...\", times = N }}")
        p2, n2 = operating_point(arch, comp, f, model, t["quantity"])
        v2 = _positive_value(model, t["quantity"], arch.corner, p2, f"{where}: {f['model']}")
        terms.append((t["quantity"], _times(t.get("times", 1), t["quantity"], comp, where), v2))
        notes += [n for n in n2 if n not in notes]
        point.update({k: x for k, x in p2.items() if k not in point})
    swept = {k: round(p, 6) for k, p in point.items()
             if model.valid_range[k][0] < model.valid_range[k][1]}
    path = Path(hw.files[id(model)]).name
    what = " + ".join(f"{n:g} x {q}" if n != 1 else q for q, n, _ in terms)
    detail = f"{path}: {what} at {swept} ({arch.corner}), {heldout_text(model)}"
    if f.get("note"):
        detail += f" [{f['note']}]"
    if notes:
        detail += "; " + "; ".join(notes)
    return sum(n * x for _, n, x in terms), detail


def _times(times, quantity: str, comp, where: str) -> float:
    if isinstance(times, bool) or not isinstance(times, (int, float)) or \
            not np.isfinite(times) or times <= 0:
        raise ArchError(f"{where}: 'times' must be a positive number (how many of the "
                        f"model's {quantity} one {comp.name} action is), got {times!r}")
    return times


def heldout_text(model) -> str:
    """'held-out error X % FS' of a model, or why it has none: a sweep whose every axis
    is too short to hold a line out (fewer than 4 values) has no held-out points, and
    its summary's max_pct_fs is NaN; that is said, never printed as 'nan %'."""
    err = model.heldout_error.get("max_pct_fs")
    if err is None:
        return "no held-out error recorded"
    if not np.isfinite(err):
        return ("no held-out error: no swept axis had enough lines (>= 4) to hold one "
                "out, so the fit is unchecked between its points")
    return f"held-out error {err:.2f} % FS"
