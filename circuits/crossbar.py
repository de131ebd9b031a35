"""Crossbar netlists: a 1T1R (or linear-resistor) column and an R x C array.

Topology (fixed by the crossbar issue; node names are part of the API, the recipes
read these vectors)::

    Vin<r> ─ in<r> ─Rw─ wl<r>_0 ─Rw─ wl<r>_1 ─Rw─ ... ─ wl<r>_<C-1>   (word line r)
                          │cell        │cell                │cell
                        bl<r>_0      bl<r>_1              bl<r>_<C-1>
                          │Rb          │Rb                  │Rb
                        bl<r+1>_0    ...                                 (bit lines)
                          ...
                        bl<R-1>_c ─Rb─ sn<c> ─Vsense<c>(0 V)─ s<c> ─ TIA<c> ─ out<c>

* Inputs drive the word lines from the column-0 end: one word-line segment of
  ``r_wl_ohm`` from the driver to column 0 and one between adjacent columns (C
  segments per word line).
* Bit lines run from row 0 down to the sense node past the last row: one segment of
  ``r_bl_ohm`` between adjacent rows and one from row R-1 to the sense node (R
  segments per bit line). Each bit line ends in a transimpedance amplifier whose
  inverting input ``s<c>`` is a virtual ground (netlists/crossbar.spice ``imc_tia``,
  behavioral). The zero-volt source ``Vsense<c>`` measures the bit-line current
  flowing into the virtual ground: ``i(Vsense<c>) > 0`` for positive inputs.
* Cell (r, c) connects ``wl<r>_<c>`` to ``bl<r>_<c>``: ``imc_cell_lin`` (ideal
  resistor) or ``imc_cell_1t1r`` (imc_memristor + SKY130 nfet access transistor,
  gate on the select line ``sel`` held at ``v_select_v``).
* Optional wire/cell capacitance to ground on every word-line and bit-line node
  (``c_wl_cell_ff``, ``c_bl_cell_ff``), for transient analyses.

Values handed to the builders are either finite floats (formatted here at full
precision) or :class:`ParamRef` references to a ``.param`` the recipe declares
(emitted as brace expressions, so the engine can ``alterparam`` them). No other
text ever reaches the netlist.
"""
from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from . import logic, ota
from .netlist import ParamRef, Value, num  # noqa: F401 (re-exported)
from .technology import Technology

from .. import netlists

#: SKY130 1.8 V nfet (circuits/technology.py SKY130_DEVICES["nfet"]): the access device.
NFET_DEFAULT = "sky130_fd_pr__nfet_01v8"
#: numerical leak across every imc_memristor (netlists/memristor.spice, ``Rleak``), ohm
MEMRISTOR_R_LEAK_OHM = 1e12
#: device (cell) kinds the builders know
DEVICES = ("linear", "1t1r")







def spice_value(v: Value) -> str:
    """Netlist text of a value: a full-precision number or a ``{param}`` expression."""
    return v.spice() if isinstance(v, ParamRef) else num(v)


def _is_zero(v: Value) -> bool:
    return not isinstance(v, ParamRef) and float(v) == 0.0


# --- parameter groups (units in the names) ---------------------------------------------
@dataclass(frozen=True)
class WireParams:
    """Interconnect per cell.

    r_wl_ohm, r_bl_ohm: resistance of one word-/bit-line segment (one per cell), ohm;
        ~1–10 ohm per cell segment (../shared/REFERENCE.md, crossbar column). Valid
        > 0 (use a tiny value, e.g. 1e-6, for an ideal wire).
    c_wl_cell_ff, c_bl_cell_ff: capacitance to ground of each word-/bit-line node, fF;
        0 omits the capacitors (DC analyses). Valid 0–1e4 fF.
    """

    r_wl_ohm: Value = 5.0
    r_bl_ohm: Value = 5.0
    c_wl_cell_ff: Value = 0.0
    c_bl_cell_ff: Value = 0.0


@dataclass(frozen=True)
class AccessTransistor:
    """1T1R access nfet (SKY130 1.8 V). w_um >= 0.42, l_um >= 0.15 (SKY130 device
    rules); v_select_v: select-line (gate) voltage, V, nominally VDD = 1.8 V."""

    w_um: Value = 1.0
    l_um: Value = 0.15
    v_select_v: Value = 1.8
    device: str = NFET_DEFAULT


@dataclass(frozen=True)
class MemristorParams:
    """imc_memristor read law I = g·v0·sinh(V/v0) (netlists/memristor.spice);
    v0_v in V, valid 0.05–10 V (larger is more linear)."""

    v0_v: Value = 0.5


#: the sense amplifiers the builders know: ``behavioral`` (netlists/crossbar.spice
#: ``imc_tia``, a single-pole B-source op-amp, no supply, no output limit) or ``ota``
#: (the SKY130 two-stage Miller OTA of circuits/ota.py, its own supply)
TIA_KINDS = ("behavioral", "ota")


@dataclass(frozen=True)
class TiaParams:
    """The bit line's transimpedance amplifier: feedback r_f_ohm (ohm, > 0) in parallel
    with c_f_ff (fF, >= 0) around an inverting amplifier whose + input is the reference
    ``v_cm_v`` (V): the bit lines sit at that virtual ground and every word-line input
    is referred to it (driven at v_cm + v_in). DC transfer V(out) - v_cm = -I·r_f·A/(1+A).

    ``kind`` ``behavioral``: netlists/crossbar.spice ``imc_tia``, single-pole op-amp
    with DC gain a0_v_per_v (V/V, >= 10) and unity-gain frequency gbw_hz (Hz, > 0); no
    supply, no output limit (see the subcircuit's comment); v_cm_v must be 0 (its +
    input is ground). ``ota``: the SKY130 two-stage Miller OTA (circuits/ota.py
    ``imc_ota2``, sizes ``ota``) on a ``vdd_v`` supply (V); a0/gbw are its own then.
    Its PMOS input pair needs v_cm_v in ~0-0.9 V, and its output swings from ~0.15 V
    to ~vdd - 0.2 V: for a column that sinks its current into the TIA the output falls
    by I·r_f from v_cm, so r_f <= (v_cm - 0.15 V) / I_full-scale (recipe
    crossbar-column, tia=ota).

    ``c_hold_ff`` (fF, a number; 0: none) puts a sample-and-hold on each OTA output: a
    transmission gate of ``w_hold_um`` n and p (L 0.15 um), held closed (tracking), into
    that capacitor to ground, at :func:`sample_node`, which the converter reads."""

    r_f_ohm: Value = 2e3
    c_f_ff: Value = 20.0
    a0_v_per_v: Value = 1e5
    gbw_hz: Value = 5e8
    kind: str = "behavioral"
    v_cm_v: Value = 0.0
    vdd_v: Value = 1.8
    ota: ota.OtaParams = ota.OtaParams()
    c_hold_ff: float = 0.0
    w_hold_um: Value = 1.0


# --- node and source names ---------------------------------------------------------------
def wl_node(r: int, c: int) -> str:
    return f"wl{int(r)}_{int(c)}"


def bl_node(r: int, c: int) -> str:
    return f"bl{int(r)}_{int(c)}"


def out_node(c: int) -> str:
    return f"out{int(c)}"


def sense_source(c: int) -> str:
    """Zero-volt source whose branch current is bit line c's current into the TIA."""
    return f"vsense{int(c)}"


def input_source(r: int) -> str:
    return f"vin{int(r)}"


# --- builders ----------------------------------------------------------------------------
def crossbar_netlist(g_s, v_in_v: Sequence[Value], device: str = "linear",
                     wires: WireParams = WireParams(), tia: TiaParams = TiaParams(),
                     access: AccessTransistor = AccessTransistor(),
                     memristor: MemristorParams = MemristorParams(),
                     step_rise_s: Value | None = None,
                     hoist: Technology | None = None) -> list[str]:
    """Netlist lines (includes, sources, cells, wires, TIAs) of an R x C crossbar.

    g_s: (R, C) nested sequence/array of cell conductances, siemens (floats > 0 or
        ParamRef); for ``1t1r`` this is the memristor's low-field conductance.
    v_in_v: R word-line input voltages, V (floats or ParamRef).
    device: ``linear`` (imc_cell_lin) or ``1t1r`` (imc_cell_1t1r).
    step_rise_s: None for DC drivers; otherwise every input is a step from its
        reference (``tia.v_cm_v``, 0 V with the behavioral TIA) at t = 0 with this rise
        time (s): DC value for ``op``, the step for ``tran``. Inputs are referred to
        the TIA reference: word line r is driven at v_cm + v_in_v[r].
    hoist: for ``1t1r``, the technology whose access device is used with its model
        card hoisted to the top level (``imc_cell_1t1r_h``, the transistor a plain
        ``M`` line; same equations, same per-instance mismatch, one card instead of
        ~48 per cell:
        :meth:`Sky130.hoisted_device`; needs numeric ``access.w_um``/``l_um``); None
        keeps the PDK subcircuit as it is.
    """
    if device not in DEVICES:
        raise ValueError(f"device {device!r} is not one of {', '.join(DEVICES)}")
    g = np.empty((0, 0), dtype=object) if g_s is None else np.asarray(g_s, dtype=object)
    if g.ndim != 2 or g.shape[0] < 1 or g.shape[1] < 1:
        raise ValueError(f"conductances must be a non-empty 2-D array, got shape {g.shape}")
    rows, cols = g.shape
    if len(v_in_v) != rows:
        raise ValueError(f"{len(v_in_v)} inputs for {rows} rows")
    if tia.kind not in TIA_KINDS:
        raise ValueError(f"TIA kind {tia.kind!r} is not one of {', '.join(TIA_KINDS)}")
    if tia.kind == "behavioral" and not _is_zero(tia.v_cm_v):
        raise ValueError("the behavioral TIA's + input is ground: v_cm_v must be 0")
    for x in g.ravel():
        if not isinstance(x, ParamRef) and not float(x) > 0:
            raise ValueError(f"cell conductance {x!r} must be > 0 S")
    rw, rb = spice_value(wires.r_wl_ohm), spice_value(wires.r_bl_ohm)
    for r_ in (wires.r_wl_ohm, wires.r_bl_ohm):
        if not isinstance(r_, ParamRef) and not float(r_) > 0:
            raise ValueError(f"wire segment resistance {r_!r} must be > 0 ohm")
    cwl = None if _is_zero(wires.c_wl_cell_ff) else _scaled_ff(wires.c_wl_cell_ff)
    cbl = None if _is_zero(wires.c_bl_cell_ff) else _scaled_ff(wires.c_bl_cell_ff)

    lines = [netlists.include("memristor.spice"), netlists.include("crossbar.spice"),
             f"* crossbar {rows} x {cols}, cells: {device}"]
    if device == "1t1r":
        lines.append(f"Vsel sel 0 {spice_value(access.v_select_v)}")
    rise = None if step_rise_s is None else spice_value(step_rise_s)
    cm0 = spice_value(tia.v_cm_v)
    for r in range(rows):
        v = spice_value(_referred(v_in_v[r], tia.v_cm_v))
        if rise is None:
            lines.append(f"{input_source(r)} in{r} 0 dc {v}")
        else:
            # the step starts from the reference (the bit lines' DC level): 0 V input
            lines.append(f"{input_source(r)} in{r} 0 dc {v} pwl(0 {cm0} {rise} {v})")
    for r in range(rows):
        prev = f"in{r}"
        for c in range(cols):
            lines.append(f"Rw{r}_{c} {prev} {wl_node(r, c)} {rw}")
            prev = wl_node(r, c)
    for c in range(cols):
        for r in range(rows):
            nxt = bl_node(r + 1, c) if r + 1 < rows else f"sn{c}"
            lines.append(f"Rb{r}_{c} {bl_node(r, c)} {nxt} {rb}")
    if device == "linear":
        for r in range(rows):
            for c in range(cols):
                lines.append(f"Xc{r}_{c} {wl_node(r, c)} {bl_node(r, c)} imc_cell_lin "
                             f"g={spice_value(g[r, c])}")
    else:
        tail = (f"v0={spice_value(memristor.v0_v)} w={spice_value(access.w_um)} "
                f"l={spice_value(access.l_um)}")
        if access.device != NFET_DEFAULT:
            raise ValueError(f"access device {access.device!r}: imc_cell_1t1r uses "
                             f"{NFET_DEFAULT}")
        cell = CELL_1T1R
        if hoist is None:
            lines += _cell_1t1r()
        else:
            lines += _hoisted_cell(hoist, access)
            cell = HOISTED_CELL
            tail = f"v0={spice_value(memristor.v0_v)}"
        for r in range(rows):
            for c in range(cols):
                lines.append(f"Xc{r}_{c} {wl_node(r, c)} {bl_node(r, c)} sel {cell} "
                             f"g={spice_value(g[r, c])} {tail}")
    if cwl or cbl:
        for r in range(rows):
            for c in range(cols):
                if cwl:
                    lines.append(f"Cw{r}_{c} {wl_node(r, c)} 0 {cwl}")
                if cbl:
                    lines.append(f"Cb{r}_{c} {bl_node(r, c)} 0 {cbl}")
    lines += _tias(cols, tia)
    return lines


def _tias(cols: int, tia: TiaParams) -> list[str]:
    """One TIA per bit line, each behind its zero-volt sense source."""
    lines = []
    if tia.kind == "behavioral":
        tia_params = (f"rf={spice_value(tia.r_f_ohm)} cf={_scaled_ff(tia.c_f_ff)} "
                      f"a0={spice_value(tia.a0_v_per_v)} gbw={spice_value(tia.gbw_hz)}")
        for c in range(cols):
            lines.append(f"{sense_source(c)} sn{c} s{c} 0")
            lines.append(f"Xtia{c} s{c} {out_node(c)} imc_tia {tia_params}")
        return lines
    lines += [f"{TIA_SUPPLY} vdd_tia 0 {spice_value(tia.vdd_v)}",
              f"Vcm vcm 0 {spice_value(tia.v_cm_v)}"] + ota.subckt()
    rf, cf = spice_value(tia.r_f_ohm), _scaled_ff(tia.c_f_ff)
    for c in range(cols):
        lines.append(f"{sense_source(c)} sn{c} s{c} 0")
        lines.append(ota.instance(f"tia{c}", "vcm", f"s{c}", out_node(c), "vdd_tia", "0",
                                  tia.ota))
        lines.append(f"Rf{c} s{c} {out_node(c)} {rf}")
        if not _is_zero(tia.c_f_ff):
            lines.append(f"Cf{c} s{c} {out_node(c)} {cf}")
        if tia.c_hold_ff > 0:
            lines += sample_hold(str(c), out_node(c), sample_node(c, True), "vdd_tia",
                                 tia.w_hold_um, tia.c_hold_ff)
    return lines


def sample_hold(name: str, out: str, hold: str, vdd: str, w_um: Value,
                c_hold_ff: float, phi: str | None = None, phi_b: str = "0") -> list[str]:
    """A sample-and-hold: a transmission gate of ``w_um`` n and p (L 0.15 um) from
    ``out`` into ``c_hold_ff`` (fF) to ground at ``hold``. Its gates at ``phi`` (n,
    default ``vdd``) and ``phi_b`` (p, default ground): in its tracking phase unless the
    caller drives them (recipe ``hold-injection`` opens it)."""
    return logic.tgate(f"hs{name}", out, hold, phi or vdd, phi_b, vdd, "0", w_um, w_um) + [
        f"Chold{name} {hold} 0 {_scaled_ff(c_hold_ff)}"]


def sample_node(c: int, hold: bool) -> str:
    """The node the converter reads for column ``c``: the hold's capacitor (``hold``:
    an OTA TIA with ``c_hold_ff`` > 0), or the TIA output."""
    return f"hold{c}" if hold else out_node(c)


#: the OTA TIAs' supply source (its branch current is their supply current)
TIA_SUPPLY = "vdd_tia"


def _referred(v: Value, v_cm: Value) -> Value:
    """An input voltage referred to the TIA reference: v + v_cm (numbers, or a
    ``{v+v_cm}`` parameter sum)."""
    if _is_zero(v_cm):
        return v
    if not isinstance(v, ParamRef) and not isinstance(v_cm, ParamRef):
        return float(v) + float(v_cm)
    if not isinstance(v, ParamRef) and float(v) == 0.0:
        return v_cm
    if (isinstance(v, ParamRef) and isinstance(v_cm, ParamRef) and v.scale == 1.0
            and v_cm.scale == 1.0 and not v_cm.plus):
        return ParamRef(v.name, plus=tuple(v.plus) + (v_cm.name,))
    raise ValueError("an input referred to a parameter reference must be a plain "
                     "parameter or 0 V")


#: the 1T1R cell subcircuit a non-hoisted deck defines itself (:func:`_cell_1t1r`)
CELL_1T1R = "imc_cell_1t1r"


def _cell_1t1r() -> list[str]:
    """``imc_cell_1t1r wl bl sel`` (g, v0, w, l): imc_memristor from the word line to an
    internal node, then the SKY130 1.8 V nfet access transistor (PDK subcircuit, gate on
    the select line, bulk at ground) to the bit line, with its drain/source junction
    areas (circuits/logic.py ``mos``: ad = as = w·0.29 um, pd = ps = 2·(w + 0.29) um)."""
    return [f".subckt {CELL_1T1R} wl bl sel g=10u v0=0.5 w=1 l=0.15",
            "Xm wl m imc_memristor g={g} v0={v0}",
            logic.mos("a", "n", "m", "sel", "bl", "0", ParamRef("w"), ParamRef("l")),
            f".ends {CELL_1T1R}"]


def _junctions(instance: str, w_um: float) -> str:
    """A hoisted instance's parameters with the PDK's zero junction areas replaced by
    circuits/logic.py's diffusion (ad = as = w·DIFF_EXT_UM, pd = ps = 2·(w + DIFF_EXT_UM))."""
    area = repr(w_um * logic.DIFF_EXT_UM)
    perim = repr(2 * (w_um + logic.DIFF_EXT_UM))
    out, n = re.subn(r"\b(ad|as|pd|ps)=\{\(0\)\}",
                     lambda m: f"{m.group(1)}={area if m.group(1)[0] == 'a' else perim}",
                     instance)
    if n != 4:
        raise ValueError("the hoisted instance line does not carry ad/as/pd/ps = 0 as "
                         "expected; junction areas not set")
    return out


#: the 1T1R cell subcircuit a hoisted deck defines itself (:func:`_hoisted_cell`)
HOISTED_CELL = "imc_cell_1t1r_h"


def _hoisted_cell(tech: Technology, access: AccessTransistor) -> list[str]:
    """The ``.include`` of ``tech``'s access device with its model card hoisted for
    this one geometry, and ``imc_cell_1t1r_h``: netlists/crossbar.spice's
    ``imc_cell_1t1r`` (same nodes, same memristor, same transistor equations and
    per-instance mismatch) with the transistor as a plain ``M`` line on that card
    (no PDK subcircuit to expand per cell). Width and length must be numbers (the
    card is the model bin of one geometry)."""
    if tech.devices.get("nfet") != NFET_DEFAULT:
        raise ValueError(f"technology {tech.name} has no {NFET_DEFAULT} to hoist")
    if isinstance(access.w_um, ParamRef) or isinstance(access.l_um, ParamRef):
        raise ValueError("a hoisted access transistor needs numeric w_um and l_um")
    dev = tech.hoisted_device("nfet", float(access.w_um), float(access.l_um))
    return [dev.include,
            f".subckt {HOISTED_CELL} wl bl sel g=10u v0=0.5",
            "Xm wl m imc_memristor g={g} v0={v0}",
            f"Ma m sel bl 0 {dev.model} {_junctions(dev.instance, float(access.w_um))}",
            f".ends {HOISTED_CELL}"]


def _scaled_ff(v: Value) -> str:
    if isinstance(v, ParamRef):
        return ParamRef(v.name, v.scale * 1e-15).spice()
    return num(float(v) * 1e-15)


def column_netlist(rows: int, on: np.ndarray, active: np.ndarray, g_on: Value, g_off: Value,
                   v_read: Value, device: str = "1t1r", **kw) -> list[str]:
    """One column of ``rows`` cells: cell r has ``g_on`` where ``on[r]`` else ``g_off``
    (siemens), input r is ``v_read`` (V) where ``active[r]`` else 0 V. Other keyword
    arguments go to :func:`crossbar_netlist`."""
    rows = int(rows)
    on, active = np.asarray(on, bool), np.asarray(active, bool)
    if on.shape != (rows,) or active.shape != (rows,):
        raise ValueError("on/active patterns must have one entry per row")
    g = np.array([[g_on if on[r] else g_off] for r in range(rows)], dtype=object)
    v = [v_read if active[r] else 0.0 for r in range(rows)]
    return crossbar_netlist(g, v, device, **kw)


# --- patterns and the ideal (wire-free) result --------------------------------------------
def _rank(seed: int, kind: str, n: int) -> np.ndarray:
    """Rows ordered by a SHA-256 key of (seed, kind, row): a permutation that depends
    only on these values (not on numpy's random streams or version)."""
    keys = [hashlib.sha256(f"{int(seed)}:{kind}:{r}".encode()).digest() for r in range(n)]
    return np.array(sorted(range(n), key=lambda r: keys[r]), dtype=int)


def column_pattern(rows: int, frac_on: float, frac_active: float,
                   seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic (on, active) boolean patterns over ``rows`` cells: exactly
    floor(frac·rows + 0.5) cells ON and inputs active, chosen by ``seed`` (integer)."""
    rows = int(rows)
    on = np.zeros(rows, bool)
    act = np.zeros(rows, bool)
    on[_rank(seed, "on", rows)[:int(math.floor(frac_on * rows + 0.5))]] = True
    act[_rank(seed, "active", rows)[:int(math.floor(frac_active * rows + 0.5))]] = True
    return on, act


def cell_current(v_v, g_s, device: str, v0_v: float = 0.5, temp_c: float = 27.0):
    """Current (A) of an ideal cell (no wires, ideal access device) at voltage v_v [V],
    programmed conductance g_s [S at 27 C], read at temp_c [C]: ``linear``: g·V (an
    ideal, temperature-independent resistor); ``1t1r``: the imc_memristor read law
    (netlists/memristor.spice: metallic filament + Stanford-PKU gap sinh term, state- and
    temperature-dependent) plus its numerical leak V/1e12, i.e.
    :func:`imcspice.models.memristor.read_current`."""
    from ..models.memristor import read_current   # pure numpy law shared with the model
    v = np.asarray(v_v, dtype=float)
    g = np.asarray(g_s, dtype=float)
    if device == "linear":
        return g * v
    if device == "1t1r":
        return read_current(v, g, v0_v, temp_c)
    raise ValueError(f"device {device!r} is not one of {', '.join(DEVICES)}")


def ideal_currents(g_s, v_in_v, device: str, v0_v: float = 0.5,
                   temp_c: float = 27.0) -> np.ndarray:
    """Bit-line currents (A, one per column) of the ideal crossbar: Σ_r I_cell(G[r,c], V[r])
    at temp_c (C) with zero wire resistance and the bit lines at exactly 0 V."""
    g = np.asarray(g_s, dtype=float)
    v = np.asarray(v_in_v, dtype=float)
    return cell_current(v[:, None], g, device, v0_v, temp_c).sum(axis=0)


#: a node whose DC voltage is the circuit temperature in C (``temper``): the recipes read
#: it back so the ideal current uses the memristor law at the simulated temperature
TEMP_NODE = "temp_c_probe"


def temperature_probe() -> list[str]:
    """Two lines making V(TEMP_NODE) = ngspice's ``temper`` (C); no effect elsewhere."""
    return [f"Btemp {TEMP_NODE} 0 V = temper", f"Rtemp {TEMP_NODE} 0 1e6"]
