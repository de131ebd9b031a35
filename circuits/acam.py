"""Analog CAM (ACAM) netlists: the 6T2M cell and a match-line row.

The cell is the 6-transistor 2-memristor analog CAM of Li et al., "Analog
content-addressable memories with memristors", Nat. Commun. 11, 1638 (2020)
(../shared/REFERENCE.md, "ACAM cell"), built from SKY130 1.8 V devices. Its
subcircuit lives in ``netlists/acam.spice`` (``imc_acam_6t2m``); this module holds
its parameters (with units, defaults and the source of every default) and the row
builder; the Compute-ACAM programming (RACE-IT) is :mod:`imcspice.circuits.acam_program`.

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

from dataclasses import dataclass, field, fields
from typing import Sequence

from .. import netlists
from .netlist import IDENT, ParamRef, Value, node, require_devices, value

#: The constant-current turn-on criterion of a pull-down (per square, W/L = 1): a
#: pull-down conducting more than 100 nA * W/L at VDS = VDD is "on" (the common
#: constant-current threshold criterion, the same the nfet-iv recipe's vth_v uses).
I_ON_PER_SQUARE_A = 100e-9

#: SKY130 device names used inside netlists/acam.spice (must exist in the technology).
ACAM_DEVICES = ("sky130_fd_pr__nfet_01v8", "sky130_fd_pr__nfet_01v8_lvt",
                "sky130_fd_pr__pfet_01v8")


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
    require_devices(tech, ACAM_DEVICES, "netlists/acam.spice")


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
        args.append(f"{k}={value(v)}")
    nodes = " ".join(node(n) for n in (dl, ml, pd_lo, pd_hi, sl, vdd, vss))
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
        args.append(f"{k}={value(v)}")
    nodes = " ".join(node(n) for n in (dl, ml, pd_lo, pd_hi, sl, vdd, vss, glo, ghi))
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
    lines.append(f"X{pf}pre {ml[0]} {node(pre_b)} {node(vdd)} {vdd} "
                 f"sky130_fd_pr__pfet_01v8 w={value(row['w_pre_um'])} l=0.15")
    lines.append(f"X{pf}sa {ml[0]} {pf}sa_out {vdd} {node(vss)} imc_acam_sense")
    lines.append(f"X{pf}foot {gnd} {node(eval_)} {vss} {vss} "
                 f"sky130_fd_pr__nfet_01v8 w={value(row['w_foot_um'])} l=0.15")
    for k in range(n):
        a, b = ml[k], ml[k + 1]
        # a zero-ohm segment would short two nodes: floor it at 1 mOhm (numerically inert)
        rtext = "{max(" + value(row["r_wire_ohm"]).strip("{}") + ",1e-3)}"
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
        parts.append(value(v, 1e-15).strip("{}"))
    return "{" + f"max({parts[0]}+{parts[1]},1e-21)" + "}"
