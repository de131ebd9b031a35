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
flip-flops), or of another model at its own operating point (``model`` and ``at``, the
component's parameters filling the rest as above): ``{ model = "sram-periphery",
quantity = "e_decode_j", at = { rows = "bitline_rows" } }`` (an SRAM access = its columns
+ the row decoder); the detail lists every term and every model file.
A point outside the model's valid box is clipped to it and the clip is written into the
figure's source, never hidden.

``at = { frac_on = "mapped" }`` prices a crossbar column read at the loads of the
evaluated machine's columns (:mod:`.xbar_loads`: every bit line of the mapped
network's weights), not at one typed-in load (:func:`_at_mapped_loads`): the
component's latency is the read window, the slowest mapped column's settling time,
and each energy is the mean over the bit lines of its own figure stretched to that
window.

``whole_cycles = true`` (a latency) makes a registered operation of a characterized
time: the figure (e.g. ``t_clk_q_s + 32 x t_carry_per_bit_s + t_setup_s``) rounded up to
whole periods of the description's ``clock_hz``; both are in the detail.

``literature`` figures with a ``ref`` come from :mod:`.periphery` (citation, node,
scaling kind), projected to the description's node and supply by Stillmaker & Baas
(the projection is named in the source). ``assumption`` figures are taken as written.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import layouts, periphery
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


#: an ``at`` value standing for the loads of the mapped weights (:mod:`.xbar_loads`)
MAPPED = "mapped"


def needs_loads(arch: Architecture) -> bool:
    """Whether a spice figure of ``arch`` is priced at the mapped loads."""
    return any(s.source == "spice" and _mapped_keys(s.fields)
               for c in arch.components.values() for s in c.figures.values())


def _mapped_keys(f: dict) -> list[str]:
    at = f.get("at", {})
    return [k for k, v in at.items() if v == MAPPED] if isinstance(at, dict) else []


def resolve(arch: Architecture, hw, loads=None,
            temps_c: dict[str, float] | None = None) -> dict[str, dict[str, Figure]]:
    """component -> {"energy" | "latency" | "area": Figure}. ``loads``: the
    :class:`.xbar_loads.MappedLoads` the ``at = { frac_on = "mapped" }`` figures are
    priced at (None: those of the description's default network's weights, every
    input row on the crossbar). ``temps_c``: component -> the temperature (C) its
    spice figures are priced at, e.g. its tier's temperature from the stack's thermal
    solution (:mod:`.thermal_coupled`); a component not named is priced at the
    description's ``temp_c``. A model characterized at fewer temperatures clips the
    point to its valid box and says so in the figure's detail."""
    if loads is None and needs_loads(arch):
        from .xbar_loads import mapped_loads
        loads = mapped_loads(arch, hw=hw)
    out = {}
    for c in arch.components.values():
        t = (temps_c or {}).get(c.name)
        out[c.name] = {what: _resolve(arch, c, spec, hw, loads, t)
                       for what, spec in c.figures.items()}
    return out


def _resolve(arch, comp, spec: FigureSpec, hw, loads=None, temp_c: float | None = None) -> Figure:
    where = f"{arch.name}: {comp.name}.{spec.what}"
    f = spec.fields
    if spec.source == "spice":
        value, detail = (_at_mapped_loads(arch, comp, spec, hw, loads, where, temp_c)
                         if _mapped_keys(f) else _spice(arch, comp, f, hw, where, temp_c))
        if f.get("whole_cycles"):
            value, detail = _whole_cycles(value, arch.clock_hz, detail)
        return Figure(value, spec.per, "spice", detail, spec.scaling)
    if spec.source == "literature" and ("cells" in f or "sram_macro" in f):
        if "cells" in f:
            value, detail = layouts.cells_area_mm2(
                {c: _times(n, c, comp, where, f"cells.{c}") for c, n in f["cells"].items()},
                arch.node_nm)
        else:
            if "capacity_bytes" not in comp.params:
                raise ArchError(f"{where}: an area of 'sram_macro' copies needs the "
                                f"component's capacity_bytes")
            value, detail = layouts.sram_area_mm2(
                f["sram_macro"], _times("capacity_bytes", "bytes", comp, where,
                                        "capacity_bytes"), arch.node_nm)
        if f.get("note"):
            detail += f" [{f['note']}]"
        return Figure(value, spec.per, "literature", detail, spec.scaling)
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
        native = sum(periphery.energy_pj(r) * 1e-12 if spec.what == "energy"
                     else periphery.area_mm2(r) for r in refs)
        moved = ("" if e0.node_nm == arch.node_nm else
                 f", projected {e0.node_nm} nm -> {arch.node_nm} nm at {arch.vdd_v:g} V "
                 "(Stillmaker & Baas 2017)" if not math.isclose(value, native, rel_tol=1e-12)
                 # e.g. off-chip DRAM: another process and interface than this node's
                 else f", as published (scaling {e0.scaling_kind!r}: not moved to "
                      f"{arch.node_nm} nm)")
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
    if "readout" in f:
        from .readout_area import integrator_area_mm2, tia_area_mm2
        value, detail = (tia_area_mm2(hw, int(comp.params["rows"]),
                                      float(comp.params["v_read_v"]), arch.node_nm)
                         if f["readout"] == "crossbar-column" else
                         integrator_area_mm2(hw, arch.node_nm))
        n = _times(f.get("times", 1), "readouts", comp, where)
        return Figure(value * n, spec.per, "assumption",
                      f"{n:g} x {detail} [{f['note']}]", spec.scaling)
    value = _si(f, arch, where)
    text = f["citation"] if spec.source == "literature" else f["note"]
    detail = f"{f['value']:g} {f['unit']}: {text}"
    return Figure(value, spec.per, spec.source, detail, spec.scaling)


def _whole_cycles(t_s: float, clock_hz: float, detail: str) -> tuple[float, str]:
    """A registered operation's latency: the characterized time ``t_s`` (s) rounded up
    to whole periods of the description's clock (a relative 1e-9 of slack so that a time
    of exactly N periods stays N)."""
    n = max(1, math.ceil(t_s * clock_hz * (1 - 1e-9)))
    return n / clock_hz, (f"{detail}; {t_s * 1e9:.3g} ns -> {n} cycle{'s' * (n > 1)} of "
                          f"{1e9 / clock_hz:.3g} ns (the description's clock_hz)")


def _si(f: dict, arch: Architecture, where: str) -> float:
    dim, k = UNITS[f["unit"]]
    if k is None:  # cycles of the description's clock
        return float(f["value"]) / arch.clock_hz
    return float(f["value"]) * k


def operating_point(arch: Architecture, comp, fields: dict, model, quantity: str,
                    temp_c: float | None = None):
    """(point, notes): the model inputs of ``quantity`` at this component's operating
    point, and what had to be clipped to the model's valid box. ``temp_c``: the
    component's temperature (C; None: the description's ``temp_c``)."""
    fn = model.functions.get(quantity)
    if fn is None:
        raise ArchError(f"{comp.name}: model {model.kind!r} has no output {quantity!r} "
                        f"(outputs: {', '.join(model.functions)}); if it was fitted before "
                        "its recipe measured that, sweep and fit it again (imcspice models "
                        f"build-defaults --only {model.kind} --out DIR)")
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
            v = arch.temp_c if temp_c is None else temp_c
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

def _spice(arch, comp, f, hw, where, temp_c=None):
    model = _model(hw, f["model"], f.get("choices", {}), where)
    point, notes = operating_point(arch, comp, f, model, f["quantity"], temp_c)
    v = _positive_value(model, f["quantity"], arch.corner, point, f"{where}: {f['model']}")
    times = _times(f.get("times", 1), f["quantity"], comp, where)
    terms = [(f["quantity"], times, v)]
    plus = f.get("plus", [])
    if not isinstance(plus, list):
        raise ArchError(f"{where}: 'plus' must be a list of {{ quantity, times }} tables")
    others = {}   # model file name -> (model, its operating point, its outputs read)
    own = [f["quantity"]]   # the outputs read from the figure's own model
    for t in plus:
        if not isinstance(t, dict) or set(t) - {"quantity", "times", "model", "at"} or \
                "quantity" not in t:
            raise ArchError(f"{where}: each 'plus' term is {{ quantity = \"...\", times = N "
                            "}, optionally with model = \"...\" and at = { ... } (another "
                            "model's output at its own operating point)")
        if "model" in t and t["model"] != f["model"]:
            m2 = _model(hw, t["model"], {}, where)
            p2, n2 = operating_point(arch, comp, {"at": t.get("at", {})}, m2, t["quantity"],
                                     temp_c)
            v2 = _positive_value(m2, t["quantity"], arch.corner, p2, f"{where}: {t['model']}")
            name2 = Path(hw.files[id(m2)]).name
            entry = others.setdefault(name2, (m2, {}, []))
            entry[1].update(p2)
            entry[2].append(t["quantity"])
            q = f"{name2}:{t['quantity']}"
        else:
            p2, n2 = operating_point(arch, comp, f, model, t["quantity"], temp_c)
            v2 = _positive_value(model, t["quantity"], arch.corner, p2, f"{where}: {f['model']}")
            point.update({k: x for k, x in p2.items() if k not in point})
            q = t["quantity"]
            own.append(q)
        terms.append((q, _times(t.get("times", 1), t["quantity"], comp, where), v2))
        notes += [n for n in n2 if n not in notes]
    path = Path(hw.files[id(model)]).name
    what = " + ".join(f"{n:g} x {q}" if n != 1 else q for q, n, _ in terms)
    detail = (f"{path}: {what} at {_swept(model, point)} ({arch.corner}), "
              f"{heldout_text(model, tuple(dict.fromkeys(own)))}")
    for name2, (m2, p2, qs) in others.items():
        detail += f"; {name2} at {_swept(m2, p2)}, {heldout_text(m2, tuple(dict.fromkeys(qs)))}"
    if f.get("note"):
        detail += f" [{f['note']}]"
    if notes:
        detail += "; " + "; ".join(notes)
    return sum(n * x for _, n, x in terms), detail


def _at_mapped_loads(arch, comp, spec: FigureSpec, hw, loads, where: str,
                     temp_c: float | None = None):
    """A crossbar column-read figure at the mapped bit-line loads ``loads.loads``.

    The read of a tile lasts until its slowest column has settled (the model's
    energies cover 0..t_settle of their own column, ``read_window = "settled"``), and
    the read timing is one chip-wide constant (assumption: the periphery does not
    adapt it per tile), so the window is the largest settling time over every mapped
    bit line. The component's ``latency`` (same model, ``frac_on = "mapped"``) is that
    window. An energy (per column read) is the mean over the bit lines of the model's
    energy at each one's own load, stretched from its own settling time to the window
    by its average power over its own read: E = mean_i e(L_i) · t_window / t(L_i).
    Assumption: after settling a column draws what it drew on average while settling.
    Checked on RACE-IT's MiniLM loads (27 C, 128 rows, 0.2 V) against extending each
    column by its DC draw instead: the OTA's e_tia_j / t_settle_s is its DC supply power
    p_tia_w within 0.01 %; the cell drivers' mean comes out 1.2 % below extending them
    by (v_cm + v_read)·i_out_a. Loads outside the model's fitted ``frac_on`` range are
    clipped to it, and the clip is noted."""
    f = spec.fields
    if _mapped_keys(f) != ["frac_on"] or f.get("plus") or f.get("times", 1) != 1:
        raise ArchError(f"{where}: only at.frac_on can be \"mapped\" (the bit-line load), "
                        "without 'times' or 'plus'")
    lat = comp.figures.get("latency")
    if lat is None or lat.source != "spice" or lat.fields.get("model") != f["model"] \
            or _mapped_keys(lat.fields) != ["frac_on"]:
        raise ArchError(f"{where}: a figure at the mapped loads needs the component's "
                        "latency from the same model at the mapped loads (the read window)")
    if spec.what != "latency" and not spec.what.endswith("energy"):
        raise ArchError(f"{where}: only energies and the latency can be priced at the "
                        "mapped loads")
    model = _model(hw, f["model"], f.get("choices", {}), where)
    lo, hi = (float(x) for x in model.valid_range["frac_on"])
    raw = np.asarray(loads.loads, dtype=np.float64)
    L = np.clip(raw, lo, hi)
    notes = [] if np.array_equal(L, raw) else [
        f"{int((L != raw).sum())} of {raw.size} loads ({raw.min():.3g}..{raw.max():.3g}) "
        f"clipped to the fitted frac_on [{lo:g}, {hi:g}]"]

    def at_loads(fields):       # the quantity at every load (its other inputs as usual)
        q = fields["quantity"]
        pt, n = operating_point(arch, comp, {**fields, "at": {
            k: v for k, v in fields.get("at", {}).items() if k != "frac_on"}}, model, q,
            temp_c)
        notes.extend(x for x in n if x not in notes and not x.startswith("frac_on"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            v = np.asarray(model.evaluate(q, corner=arch.corner, **{**pt, "frac_on": L}),
                           dtype=np.float64).ravel()
        v = np.broadcast_to(v, L.shape) if v.size == 1 else v
        if not np.all(np.isfinite(v)) or np.any(v <= 0):
            raise ArchError(f"{where}: {f['model']}:{q} is not finite and positive at "
                            "every mapped load")
        return v, pt
    t_own, _ = at_loads(lat.fields)
    i_win = int(np.argmax(t_own))
    t_win = float(t_own[i_win])
    tq = lat.fields["quantity"]
    s = loads.summary()
    head = (f"at the mapped bit-line loads ({s['bit_lines']} bit lines, median "
            f"{s['median']:.3f}, max {s['max']:.3f} of the span; {loads.source})")
    if spec.what == "latency":
        value, pt = t_win, at_loads(f)[1]
        how = (f"the read lasts until the slowest column has settled: max of {tq} over "
               f"them = {t_win * 1e9:.3g} ns (load {L[i_win]:.3f})")
    else:
        e, pt = at_loads(f)
        value = float(np.mean(e * (t_win / t_own)))
        how = (f"mean over them of {f['quantity']} at each one's own load, stretched from "
               f"its own {tq} to the read window {t_win * 1e9:.3g} ns by its own average "
               f"power (assumption: after settling it draws that power); at its own "
               f"settling time alone {float(np.mean(e)):.4g} J")
    path = Path(hw.files[id(model)]).name
    swept = {k: v for k, v in _swept(model, pt).items() if k != "frac_on"}
    read = tuple(dict.fromkeys((f["quantity"], tq)))   # an energy is stretched by tq
    detail = (f"{path}: {f['quantity']} at {swept} ({arch.corner}), "
              f"{heldout_text(model, read)}; {head}: {how}")
    if f.get("note"):
        detail += f" [{f['note']}]"
    if notes:
        detail += "; " + "; ".join(notes)
    return value, detail


def _model(hw, name: str, choices: dict, where: str):
    model = hw.get(name, **choices)
    if model is None:
        raise ArchError(f"{where}: no {name!r} model with {choices} in "
                        "the model directory; fit one with `imcspice fit` or rebuild the "
                        "defaults")
    return model


def _swept(model, point: dict) -> dict:
    """The operating point's swept inputs (those the model's valid box spans), to 6
    significant digits: inputs are in SI units, so a pulse of 7.5e-9 s must not round
    to 0."""
    return {k: float(f"{p:.6g}") for k, p in point.items()
            if model.valid_range[k][0] < model.valid_range[k][1]}


def _times(times, quantity: str, comp, where: str, key: str = "times") -> float:
    """``times``: a positive number, the name of one of the component's numeric
    parameters (``times = "bits"``), as in ``at``, or a list of those, multiplied
    (``times = [8, "capacity_bytes"]``: the bits of a memory). ``key``: where it was
    written (``times``, or ``cells.NAME`` for a count of standard cells)."""
    if isinstance(times, list) and times:
        return math.prod(_times(t, quantity, comp, where, key) for t in times)
    if isinstance(times, str) and times in comp.params:
        times = comp.params[times]
    if isinstance(times, bool) or not isinstance(times, (int, float)) or \
            not np.isfinite(times) or times <= 0:
        what = ("" if key != "times" else
                f" (how many of the model's {quantity} one {comp.name} action is)")
        raise ArchError(f"{where}: '{key}' must be a positive number, a numeric "
                        f"parameter of {comp.name} or a list of those{what}, got {times!r}")
    return times


def heldout_text(model, quantities=()) -> str:
    """'held-out error X % FS' of the outputs ``quantities`` a figure reads (the worst of
    them), else of the whole model; or why there is none: a sweep whose every axis is
    too short to hold a line out (fewer than 4 values) has no held-out points, and its
    summary's max_pct_fs is NaN; that is said, never printed as 'nan %'."""
    per = model.heldout_error.get("outputs", {})
    own = [per[q].get("max_pct_fs") for q in quantities if isinstance(per.get(q), dict)]
    if quantities and len(own) == len(quantities) and all(
            e is not None and np.isfinite(e) for e in own):
        return f"held-out error {max(own):.2f} % FS ({', '.join(quantities)})"
    err = model.heldout_error.get("max_pct_fs")
    if err is None:
        return "no held-out error recorded"
    if not np.isfinite(err):
        return ("no held-out error: no swept axis had enough lines (>= 4) to hold one "
                "out, so the fit is unchecked between its points")
    return f"held-out error {err:.2f} % FS (the model's worst output)"
