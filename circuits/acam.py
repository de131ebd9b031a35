"""Analog CAM (ACAM) netlists: the 6T2M cell, a match-line row, and Compute-ACAM programs.

The cell is the 6-transistor 2-memristor analog CAM of Li et al., "Analog
content-addressable memories with memristors", Nat. Commun. 11, 1638 (2020)
(../shared/REFERENCE.md, "ACAM cell"), built from SKY130 1.8 V devices. Its
subcircuit lives in ``netlists/acam.spice`` (``imc_acam_6t2m``); this module holds
its parameters (with units, defaults and the source of every default), the row
builder and the Compute-ACAM programming helpers (RACE-IT, REFERENCE.md).

Cell (one data line ``dl``, one match line ``ml``)::

    sl ─M1(g_low)─ g1 ─T1(gate dl)─ vss        T2: ml ─(gate g1)── pd_lo
    sl ─M2(g_high)─ g2 ─T3(gate dl)─ vss       T4/T5 inverter g2 -> g2b
                                               T6: ml ─(gate g2b)─ pd_hi

Which conductance moves which bound follows from the circuit: a rising DL turns T1
and T3 on and pulls g1 and g2 down; a larger memristor conductance holds its node
up, so the DL has to rise further. Hence the lower bound (where g1 drops below T2's
turn-on) RISES with ``g_low_us``, and the upper bound (where g2 drops below the
inverter's switching point, so g2b turns T6 on) RISES with ``g_high_us``. Each bound
depends on its own branch only; the other bound moves only through second-order
effects (none in DC: the branches share nothing but DL, SL and the supplies).

Row (``n_cells`` cells on one match line)::

    vdd ─P_pre(gate pre_b)─ ml0 ─Rw─ ml1 ─Rw─ ml2 ... ─Rw─ ml<n>
                             │        │cell 0  │cell 1        │cell n-1
                          sense inv   Cw+Cml   Cw+Cml         Cw+Cml
                             │
                           sa_out          pull-down sources of all cells: mlgnd
                                           mlgnd ─N_foot(gate eval)─ vss

* Cell k hangs on node ``ml<k+1>``; one wire segment (``r_wire_ohm``,
  ``c_wire_ff``) per cell, the sense inverter and the precharge pfet sit at ``ml0``,
  so cell n-1 is the far end (the slowest to sense).
* ``c_ml_ff`` per cell lumps the pull-down drain junctions and local match-line metal
  (the SKY130 instances carry no drain area, so BSIM adds no junction capacitance).
* A row footer nfet (``eval``) connects the pull-down sources to ground only during
  evaluation, so the search data can settle on the data lines while the match line is
  precharged without a crowbar current through mismatching cells. This is the usual
  precharge/evaluate scheme of dynamic match-line sensing; the footer is periphery,
  not part of the 6T2M cell.

Units: every quantity carries its unit in its name (``_us`` microsiemens, ``_um``
micrometres, ``_v`` volts, ``_ff`` femtofarads, ``_ohm``, ``_s``). MOSFET w/l are
micrometres because SKY130 sets ``.option scale=1.0u``.

Values handed to the builders are finite numbers (formatted at full precision) or
:class:`ParamRef` references to a ``.param`` (emitted as brace expressions so the
engine can ``alterparam`` them). No other text reaches a netlist.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Callable, Sequence

import numpy as np

from .netlist import IDENT, ParamRef, Value, num  # noqa: F401 (re-exported)

from .. import netlists

#: The constant-current turn-on criterion of a pull-down (per square, W/L = 1): a
#: pull-down conducting more than 100 nA * W/L at VDS = VDD is "on" (the common
#: constant-current threshold criterion, the same the nfet-iv recipe's vth_v uses).
I_ON_PER_SQUARE_A = 100e-9

#: SKY130 device names used inside netlists/acam.spice (must exist in the technology).
ACAM_DEVICES = ("sky130_fd_pr__nfet_01v8", "sky130_fd_pr__nfet_01v8_lvt",
                "sky130_fd_pr__pfet_01v8")



# --- netlist values --------------------------------------------------------------------




def _val(v: Value, scale: float = 1.0) -> str:
    if isinstance(v, ParamRef):
        return ParamRef(v.name, v.scale * scale).spice()
    return num(float(v) * scale)


def _node(name: str) -> str:
    if name == "0":
        return name
    if not isinstance(name, str) or not IDENT.match(name):
        raise ValueError(f"{name!r} is not a valid node name")
    return name


# --- parameters ------------------------------------------------------------------------
def _p(default, unit, lo, hi, doc, source):
    return field(default=default, metadata={"unit": unit, "min": lo, "max": hi, "doc": doc,
                                            "source": source})


@dataclass(frozen=True)
class AcamCell:
    """Parameters of one 6T2M cell and its bias. Each field's metadata holds its unit,
    valid range, meaning and the source of its default."""

    g_low_us: float = _p(10.0, "uS", 1.0, 150.0,
                         "conductance of M1 (sets the lower bound; larger = higher bound)",
                         "Li et al. 2020: programmable ~1-150 uS (REFERENCE.md); 10 uS is "
                         "an arbitrary mid-range assumption")
    g_high_us: float = _p(50.0, "uS", 1.0, 150.0,
                          "conductance of M2 (sets the upper bound; larger = higher bound)",
                          "Li et al. 2020: programmable ~1-150 uS (REFERENCE.md); 50 uS is "
                          "an arbitrary mid-range assumption")
    v0_v: float = _p(0.5, "V", 0.05, 10.0, "memristor sinh non-linearity voltage",
                     "netlists/memristor.spice default (an assumption stated there)")
    vdd_v: float = _p(1.8, "V", 1.2, 1.98, "supply of the inverter, precharge and sense",
                      "SKY130 1.8 V core devices nominal supply")
    vsl_v: float = _p(0.8, "V", 0.2, 1.8,
                      "source line (divider supply, SL_hi): the highest g1/g2 can go",
                      "Li et al. 2020 used 0.5 V in 16 nm, where it clears the pull-down's "
                      "threshold; SKY130's 1.8 V nfet needs ~0.6 V at 100 nA*W/L, so 0.5 V "
                      "would leave T2 in weak inversion. 0.8 V is our assumption, scaled "
                      "to keep the same headroom over Vt")
    w_t1_um: float = _p(0.42, "um", 0.42, 20.0, "T1 width (lower divider, gate = DL)",
                        "SKY130 minimum width; sizing is our design assumption")
    l_t1_um: float = _p(0.5, "um", 0.15, 20.0, "T1 length",
                        "assumption: a long T1 spreads the lower bound over ~0.6-1.3 V")
    w_t3_um: float = _p(0.42, "um", 0.42, 20.0, "T3 width (upper divider, gate = DL)",
                        "SKY130 minimum width; sizing is our design assumption")
    l_t3_um: float = _p(1.0, "um", 0.15, 20.0, "T3 length",
                        "assumption: T3 weaker than T1 so equal conductances give a "
                        "non-negative window (upper bound ~0.6-1.5 V)")
    w_pd_um: float = _p(1.0, "um", 0.42, 20.0, "T2/T6 match-line pull-down width",
                        "assumption")
    l_pd_um: float = _p(0.15, "um", 0.15, 20.0, "T2/T6 length", "SKY130 minimum length")
    w_invn_um: float = _p(1.0, "um", 0.42, 20.0, "T5 (inverter nfet, low-Vt) width",
                          "assumption")
    l_invn_um: float = _p(0.15, "um", 0.15, 20.0, "T5 length", "SKY130 minimum length")
    w_invp_um: float = _p(0.42, "um", 0.42, 20.0, "T4 (inverter pfet) width",
                          "SKY130 minimum width (a weak pfet lowers the switching point "
                          "below vsl_v)")
    l_invp_um: float = _p(1.0, "um", 0.15, 20.0, "T4 length", "assumption (weak pfet)")

    #: names passed to the imc_acam_6t2m instance (vdd_v, vsl_v are node voltages)
    SUBCKT_PARAMS = ("g_low_us", "g_high_us", "v0_v", "w_t1_um", "l_t1_um", "w_t3_um",
                     "l_t3_um", "w_pd_um", "l_pd_um", "w_invn_um", "l_invn_um",
                     "w_invp_um", "l_invp_um")

    @property
    def i_on_a(self) -> float:
        """Pull-down current that counts as 'on' (constant-current criterion), A."""
        return pulldown_on_current_a(self.w_pd_um, self.l_pd_um)


@dataclass(frozen=True)
class AcamRow:
    """Match-line (row) parameters beyond the cells."""

    n_cells: int = _p(8, "", 1, 128, "cells on the match line (structural)",
                      "assumption; Li et al. 2020 report windows shift ~20 mV at 64 "
                      "columns (REFERENCE.md)")
    c_ml_ff: float = _p(2.0, "fF", 0.0, 100.0,
                        "match-line capacitance per cell (pull-down drains, local metal)",
                        "assumption: two W=1 um SKY130 drain junctions (~0.5-1 fF each) "
                        "plus contacts")
    r_wire_ohm: float = _p(2.0, "ohm", 0.0, 1000.0, "match-line wire resistance per cell",
                           "REFERENCE.md: ~1-10 ohm per cell segment (crossbar wires)")
    c_wire_ff: float = _p(0.3, "fF", 0.0, 100.0, "match-line wire capacitance per cell",
                          "assumption: ~3 um of met1 at ~0.1 fF/um per cell pitch")
    w_pre_um: float = _p(2.0, "um", 0.42, 100.0, "precharge pfet width", "assumption")
    w_foot_um: float = _p(4.0, "um", 0.42, 200.0, "row footer nfet width",
                          "assumption: sinks one fully-on pull-down with little drop")
    v_sense_v: float = _p(0.9, "V", 0.1, 1.7,
                          "match-line sense threshold (ML below it = mismatch)",
                          "assumption: VDD/2, near the sense inverter's switching point")


def pulldown_on_current_a(w_pd_um: float, l_pd_um: float) -> float:
    """The match/mismatch criterion current of one pull-down, A: 100 nA * W/L."""
    return I_ON_PER_SQUARE_A * float(w_pd_um) / float(l_pd_um)


def field_specs(cls) -> list[dict]:
    """``[{name, default, unit, min, max, doc, source}]`` for a parameter dataclass, so
    recipes build their validated parameters from one definition."""
    out = []
    for f in fields(cls):
        m = dict(f.metadata)
        out.append({"name": f.name, "default": f.default, **m})
    return out


# --- netlist builders ------------------------------------------------------------------
def includes() -> list[str]:
    """The ``.include`` line an ACAM netlist needs (netlists/acam.spice is self-contained:
    its memristor is imc_memristor's equation with the conductance on a control node)."""
    return [netlists.include("acam.spice")]


def check_technology(tech) -> None:
    """netlists/acam.spice names SKY130 devices: refuse another technology clearly."""
    have = set(getattr(tech, "devices", {}).values())
    missing = [d for d in ACAM_DEVICES if d not in have]
    if missing:
        raise ValueError(f"netlists/acam.spice uses {', '.join(missing)}, which technology "
                         f"{getattr(tech, 'name', tech)!r} does not provide")


def cell_line(name: str, dl: str, ml: str, pd_lo: str, pd_hi: str, sl: str, vdd: str,
              vss: str, values: dict[str, Value]) -> str:
    """One ``imc_acam_6t2m`` instance. ``values`` maps (some of)
    :attr:`AcamCell.SUBCKT_PARAMS` to numbers or :class:`ParamRef`; missing ones keep
    the subcircuit defaults (which equal :class:`AcamCell`'s)."""
    if not IDENT.match(name):
        raise ValueError(f"{name!r} is not a valid instance name")
    args = []
    for k, v in values.items():
        if k not in AcamCell.SUBCKT_PARAMS:
            raise ValueError(f"imc_acam_6t2m has no parameter {k!r}")
        args.append(f"{k}={_val(v)}")
    nodes = " ".join(_node(n) for n in (dl, ml, pd_lo, pd_hi, sl, vdd, vss))
    return f"X{name} {nodes} imc_acam_6t2m " + " ".join(args)


def cell_gc_line(name: str, dl: str, ml: str, pd_lo: str, pd_hi: str, sl: str, vdd: str,
                 vss: str, glo: str, ghi: str, values: dict[str, Value]) -> str:
    """One ``imc_acam_6t2m_gc`` instance: conductances from the voltages of nodes ``glo``
    and ``ghi`` (1 V = 1 uS); ``values`` as in :func:`cell_line` without g_low_us/g_high_us
    (ignored if present)."""
    if not IDENT.match(name):
        raise ValueError(f"{name!r} is not a valid instance name")
    args = []
    for k, v in values.items():
        if k in ("g_low_us", "g_high_us"):
            continue
        if k not in AcamCell.SUBCKT_PARAMS:
            raise ValueError(f"imc_acam_6t2m_gc has no parameter {k!r}")
        args.append(f"{k}={_val(v)}")
    nodes = " ".join(_node(n) for n in (dl, ml, pd_lo, pd_hi, sl, vdd, vss, glo, ghi))
    return f"X{name} {nodes} imc_acam_6t2m_gc " + " ".join(args)


def cell_refs(**overrides: Value) -> dict[str, Value]:
    """Cell values that reference same-named recipe ``.param``s (``{g_low_us}`` ...),
    with ``overrides`` replacing single entries."""
    vals: dict[str, Value] = {k: ParamRef(k) for k in AcamCell.SUBCKT_PARAMS}
    vals.update(overrides)
    return vals


def row_lines(n_cells: int, dl_nodes: Sequence[str], cell_values: Sequence[dict],
              row: dict[str, Value], *, sl: str = "sl", vdd: str = "vdd", vss: str = "0",
              pre_b: str = "pre_b", eval_: str = "eval", prefix: str = "",
              g_nodes: Sequence[tuple[str, str]] | None = None) -> list[str]:
    """Netlist lines of one match-line row (see the module docstring for the topology).

    ``dl_nodes[k]`` and ``cell_values[k]`` are cell k's data-line node and its
    :func:`cell_line` values; ``row`` maps :class:`AcamRow` fields (``c_ml_ff``,
    ``r_wire_ohm``, ``c_wire_ff``, ``w_pre_um``, ``w_foot_um``) to values. Nodes:
    ``{prefix}ml0`` (sense end) ... ``{prefix}ml{n}``, ``{prefix}mlgnd`` (footer),
    ``{prefix}sa_out`` (sense inverter output). ``n_cells`` must be 1..128.
    ``g_nodes[k]`` = (glo, ghi): make cell k an ``imc_acam_6t2m_gc`` whose conductances
    are the voltages of those nodes (cells may share them); ``g_low_us``/``g_high_us`` in
    ``cell_values`` are then ignored. This is also the cheaper form to load: ngspice
    expands one subcircuit level less per cell.
    """
    n = int(n_cells)
    if n != n_cells or not 1 <= n <= 128:
        raise ValueError(f"n_cells must be an integer 1..128, got {n_cells!r}")
    if len(dl_nodes) != n or len(cell_values) != n:
        raise ValueError("need one data-line node and one value set per cell")
    if g_nodes is not None and len(g_nodes) != n:
        raise ValueError("need one (glo, ghi) node pair per cell")
    if prefix and not IDENT.match(prefix):
        raise ValueError(f"{prefix!r} is not a valid node prefix")
    pf = prefix
    ml = [f"{pf}ml{k}" for k in range(n + 1)]
    gnd = f"{pf}mlgnd"
    lines = [f"* ACAM row {pf or ''}: {n} cells"]
    # precharge pfet and sense inverter at the near end (ml0)
    lines.append(f"X{pf}pre {ml[0]} {_node(pre_b)} {_node(vdd)} {vdd} "
                 f"sky130_fd_pr__pfet_01v8 w={_val(row['w_pre_um'])} l=0.15")
    lines.append(f"X{pf}sa {ml[0]} {pf}sa_out {vdd} {_node(vss)} imc_acam_sense")
    lines.append(f"X{pf}foot {gnd} {_node(eval_)} {vss} {vss} "
                 f"sky130_fd_pr__nfet_01v8 w={_val(row['w_foot_um'])} l=0.15")
    for k in range(n):
        a, b = ml[k], ml[k + 1]
        # a zero-ohm segment would short two nodes: floor it at 1 mOhm (numerically inert)
        rtext = "{max(" + _val(row["r_wire_ohm"]).strip("{}") + ",1e-3)}"
        lines.append(f"R{pf}w{k} {a} {b} {rtext}")
        lines.append(f"C{pf}w{k} {b} {vss} {_cap(row['c_wire_ff'], row['c_ml_ff'])}")
        if g_nodes is None:
            lines.append(cell_line(f"{pf}c{k}", dl_nodes[k], b, gnd, gnd, sl, vdd, vss,
                                   cell_values[k]))
        else:
            glo, ghi = g_nodes[k]
            lines.append(cell_gc_line(f"{pf}c{k}", dl_nodes[k], b, gnd, gnd, sl, vdd, vss,
                                      glo, ghi, cell_values[k]))
    return lines


def _cap(c_wire: Value, c_ml: Value) -> str:
    """Wire + match-line capacitance per cell as one capacitor (farads)."""
    parts = []
    for v in (c_wire, c_ml):
        parts.append(_val(v, 1e-15).strip("{}"))
    return "{" + f"max({parts[0]}+{parts[1]},1e-21)" + "}"


# --- Compute-ACAM (RACE-IT) ---------------------------------------------------------------
def gelu(x):
    """GELU, tanh form (the transformer activation RACE-IT evaluates in ACAMs)."""
    x = np.asarray(x, dtype=float)
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


#: small target functions for Compute-ACAM demos: name -> (f, x_min, x_max)
FUNCTIONS: dict[str, tuple[Callable, float, float]] = {
    # softmax numerators after max-subtraction: exp on a non-positive range
    "exp": (np.exp, -3.0, 0.0),
    "gelu": (gelu, -3.0, 3.0),
}


def gray_encode(n):
    n = np.asarray(n, dtype=np.int64)
    return n ^ (n >> 1)


def gray_decode(g):
    g = np.asarray(g, dtype=np.int64)
    n = g.copy()
    shift = g >> 1
    while np.any(shift):
        n ^= shift
        shift = shift >> 1
    return n


def _quantizer(func: Callable, x_min: float, x_max: float, bits: int, n_ref: int = 4097):
    ref = np.asarray(func(np.linspace(x_min, x_max, n_ref)), dtype=float)
    fmin, fmax = float(np.min(ref)), float(np.max(ref))
    top = 2 ** int(bits) - 1

    def q(x):
        if fmax <= fmin:
            return np.zeros(np.shape(x), dtype=np.int64)
        y = (np.asarray(func(np.asarray(x, dtype=float)), dtype=float) - fmin) / (fmax - fmin)
        return np.clip(np.rint(y * top), 0, top).astype(np.int64)
    return q


def quantized_code(func: Callable, x, x_min: float, x_max: float, bits: int,
                   n_ref: int = 4097) -> np.ndarray:
    """Ideal output code of ``func`` at ``x``: ``func`` mapped linearly from its range over
    [x_min, x_max] (sampled at ``n_ref`` points) onto 0 .. 2**bits - 1 and rounded."""
    return _quantizer(func, x_min, x_max, bits, n_ref)(x)


@dataclass
class WindowModel:
    """Threshold curves of one cell: lower bound vs. g_low and upper bound vs. g_high.

    ``g_us`` (ascending, uS) with ``v_lo_v[i]`` = lower bound when g_low = g_us[i] and
    ``v_hi_v[i]`` = upper bound when g_high = g_us[i]. Both must rise with g (the 6T2M
    cell's physics; :func:`WindowModel.__post_init__` enforces monotonicity by a running
    maximum to absorb sweep noise). ``v_in_v``: the input (data-line) range that
    [x_min, x_max] maps onto; by default the voltages every bound can be programmed to,
    shrunk by ``margin_v`` on each side.
    """

    g_us: np.ndarray
    v_lo_v: np.ndarray
    v_hi_v: np.ndarray
    v_in_v: tuple[float, float] | None = None
    margin_v: float = 0.03

    def __post_init__(self):
        g = np.asarray(self.g_us, dtype=float)
        lo = np.asarray(self.v_lo_v, dtype=float)
        hi = np.asarray(self.v_hi_v, dtype=float)
        ok = np.isfinite(g) & np.isfinite(lo) & np.isfinite(hi) & (g > 0)
        if ok.sum() < 2:
            raise ValueError("a window model needs at least two finite (g, v_lo, v_hi) points")
        order = np.argsort(g[ok])
        self.g_us = g[ok][order]
        self.v_lo_v = np.maximum.accumulate(lo[ok][order])
        self.v_hi_v = np.maximum.accumulate(hi[ok][order])
        if self.v_in_v is None:
            a = max(self.v_lo_v[0], self.v_hi_v[0]) + self.margin_v
            b = min(self.v_lo_v[-1], self.v_hi_v[-1]) - self.margin_v
            if not b > a:
                raise ValueError("the lower- and upper-bound ranges do not overlap: no input "
                                 "range can be programmed")
            self.v_in_v = (float(a), float(b))

    @classmethod
    def from_callables(cls, v_lo: Callable, v_hi: Callable, g_min_us: float = 1.0,
                       g_max_us: float = 150.0, n: int = 64, **kw) -> "WindowModel":
        g = np.geomspace(g_min_us, g_max_us, n)
        return cls(g, np.asarray(v_lo(g), float), np.asarray(v_hi(g), float), **kw)

    @classmethod
    def reference(cls, **kw) -> "WindowModel":
        """The published functional-simulator curve for 6T2M (REFERENCE.md):
        V(G) = a*exp(-b*G) + c*G + d for both bounds (G in uS). For tests and offline
        use only: the SPICE-calibrated curves of our SKY130 cell differ."""
        def v(g):
            return -0.18858 * np.exp(-0.16351 * g) + 0.0051834 * g + 0.56901
        return cls.from_callables(v, v, **kw)

    @property
    def g_min_us(self) -> float:
        return float(self.g_us[0])

    @property
    def g_max_us(self) -> float:
        return float(self.g_us[-1])

    def _curve(self, which: str):
        # monotone cubic (PCHIP) in log(g): follows the convex threshold curves far
        # better than straight chords (which bias the inverse low by a few mV)
        from scipy.interpolate import PchipInterpolator
        cache = self.__dict__.setdefault("_pchip", {})
        if which not in cache:
            v = self.v_lo_v if which == "lo" else self.v_hi_v
            cache[which] = PchipInterpolator(np.log(self.g_us), v, extrapolate=False)
        return cache[which]

    def lo(self, g_us):
        """Lower bound (V) for g_low = ``g_us`` (clipped to the curve's range)."""
        lg = np.clip(np.log(g_us), np.log(self.g_min_us), np.log(self.g_max_us))
        return self._curve("lo")(lg)

    def hi(self, g_us):
        """Upper bound (V) for g_high = ``g_us`` (clipped to the curve's range)."""
        lg = np.clip(np.log(g_us), np.log(self.g_min_us), np.log(self.g_max_us))
        return self._curve("hi")(lg)

    def _inverse(self, which: str, target: float) -> float:
        """g (uS) whose bound is ``target``: bisection on the monotone curve, clipped to
        [g_min, g_max]."""
        f = self._curve(which)
        a, b = math.log(self.g_min_us), math.log(self.g_max_us)
        if not target > float(f(a)):
            return self.g_min_us
        if not target < float(f(b)):
            return self.g_max_us
        for _ in range(60):
            m = 0.5 * (a + b)
            if float(f(m)) < target:
                a = m
            else:
                b = m
        return float(math.exp(0.5 * (a + b)))

    def g_for_lo(self, v: float) -> float:
        """g_low (uS) whose lower bound is ``v``; -inf -> the lowest conductance (no lower
        bound in the input range), clipped to the curve's range."""
        if v == -math.inf:
            return self.g_min_us
        return self._inverse("lo", v)

    def g_for_hi(self, v: float) -> float:
        """g_high (uS) whose upper bound is ``v``; +inf -> the highest conductance."""
        if v == math.inf:
            return self.g_max_us
        return self._inverse("hi", v)

    def x_to_v(self, x, x_min: float, x_max: float):
        a, b = self.v_in_v
        return a + (np.asarray(x, dtype=float) - x_min) / (x_max - x_min) * (b - a)


def _code_boundaries(func, x_min, x_max, bits, n_grid=4097):
    """Intervals of constant ideal code: [(x_a, x_b, code)], boundaries refined by
    bisection on the quantized code."""
    x = np.linspace(x_min, x_max, n_grid)
    q = _quantizer(func, x_min, x_max, bits)
    c = q(x)

    def code_at(t):
        return int(q(np.array([t]))[0])

    cuts = []
    for i in np.flatnonzero(np.diff(c) != 0):
        a, b = x[i], x[i + 1]
        ca = c[i]
        for _ in range(50):
            m = 0.5 * (a + b)
            if code_at(m) == ca:
                a = m
            else:
                b = m
        cuts.append(0.5 * (a + b))
    edges = [x_min] + cuts + [x_max]
    codes = [int(c[0])] + [int(c[i + 1]) for i in np.flatnonzero(np.diff(c) != 0)]
    return [(edges[k], edges[k + 1], codes[k]) for k in range(len(codes))]


def compute_acam_program(func: Callable, x_min: float, x_max: float, bits: int,
                         window_model: WindowModel) -> list[list[tuple[float, float]]]:
    """The data-line ranges that produce each Gray-coded output bit of ``func``.

    ``func`` is quantized to ``bits`` output bits over [x_min, x_max]
    (:func:`quantized_code`), Gray-coded (one bit changes per code step, so a threshold
    error costs at most one LSB), and for every bit the input intervals where that bit
    is 1 are mapped to data-line voltages with ``window_model.x_to_v``. Result: one list
    per bit, LSB first, of ``(v_lo, v_hi)`` in volts; an interval open at the bottom
    (top) of the input range gets ``v_lo = -inf`` (``v_hi = +inf``): program it with the
    lowest (highest) conductance. Each range is one ACAM row (one cell on the input
    column); a bit is the OR of its rows' match lines.
    """
    bits = int(bits)
    if not 1 <= bits <= 8:
        raise ValueError("bits must be 1..8")
    if not x_max > x_min:
        raise ValueError("need x_max > x_min")
    segs = _code_boundaries(func, x_min, x_max, bits)
    out: list[list[tuple[float, float]]] = []
    for b in range(bits):
        ranges = []
        cur = None
        for xa, xb, code in segs:
            on = (int(gray_encode(code)) >> b) & 1
            if on and cur is None:
                cur = [xa, xb]
            elif on:
                cur[1] = xb
            elif cur is not None:
                ranges.append(tuple(cur))
                cur = None
        if cur is not None:
            ranges.append(tuple(cur))
        vr = []
        for xa, xb in ranges:
            va = -math.inf if xa <= x_min else float(window_model.x_to_v(xa, x_min, x_max))
            vb = math.inf if xb >= x_max else float(window_model.x_to_v(xb, x_min, x_max))
            vr.append((va, vb))
        out.append(vr)
    return out


def program_conductances(ranges: list[list[tuple[float, float]]],
                         window_model: WindowModel) -> list[list[tuple[float, float]]]:
    """(g_low_us, g_high_us) for every range of :func:`compute_acam_program`, through the
    inverse threshold curves of ``window_model``."""
    return [[(window_model.g_for_lo(a), window_model.g_for_hi(b)) for a, b in bit]
            for bit in ranges]


def decode_matches(match: np.ndarray, rows_per_bit: Sequence[int]) -> np.ndarray:
    """Output codes from row match flags. ``match``: bool array (..., n_rows), rows in
    :func:`compute_acam_program` order (bit 0's rows first). Each bit is the OR of its
    rows; the Gray code is converted to binary."""
    match = np.asarray(match, dtype=bool)
    gray = np.zeros(match.shape[:-1], dtype=np.int64)
    r = 0
    for b, k in enumerate(rows_per_bit):
        if k:
            bit = np.any(match[..., r:r + k], axis=-1)
            gray |= bit.astype(np.int64) << b
        r += k
    return gray_decode(gray)
