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

    vdd ─P_pre(gate pre_b)─ ml0 ─Rw─ ml1 ─Rw─ ml2 ... ─Rw─ ml<n>       match line
                             │        │cell 0  │cell 1        │cell n-1
                         StrongARM  Cw+Cml   Cw+Cml         Cw+Cml
                       (inp ml0, inn vref, clock sa_clk)
    sl ─N_sw(gate sl_en)─ sl0 ─Rsl─ sl1 ─Rsl─ ... sl<n>                 source line
                          sl0 ─N_pd(gate sl_en_b)─ 0  (line held at 0 V while off)
    0 ──────────────────── g0 ─Rg── g1 ─Rg── ...  g<n>                  ground line
    0 ─N_foot(gate eval)─ mg0 ─Rg── mg1 ─Rg── ... mg<n>                 pull-down line
    dl_nodes[k] ─Rdl─ dl<k> (cell k's data-line pin)

* Cell k hangs on ``ml<k+1>``, ``sl<k+1>``, ``g<k+1>`` (its dividers' and inverter's
  ground and body), ``mg<k+1>`` (its pull-down sources) and ``dl<k>``; the drivers
  (precharge, source-line switch, footer, comparator) sit at the near end, so cell n-1
  is the far end: the slowest to sense and the one with the largest IR drop.
* Line resistance per cell is one metal segment of the cell pitch (AcamRow: SKY130
  met1/met2 sheet resistance 0.125 ohm/sq, sky130_fd_sc_hd.tlef RESISTANCE RPERSQ; cell
  pitch 4.8 um along the row, 2.72 um across, an assumption stated in AcamRow). The
  source line carries every cell's static divider current (~10-40 uA per cell), so the
  far cell sees SL lowered and its ground raised by ~I*R*n(n+1)/2: its window shifts
  with the row length (Li et al. 2020 report ~20 mV at 64 columns).
* The source line is gated: an nfet switch (``w_slsw_um`` per cell, gate ``sl_en``)
  connects the divider supply only around the evaluation, so the dividers' static
  current flows only then (otherwise it is the bulk of the search energy).
* ``c_ml_ff`` per cell is local match-line metal and contacts; the pull-down drain
  junctions are in the device models (every SKY130 instance carries junction areas,
  :func:`imcspice.circuits.logic.mos`'s rule).
* A row footer nfet (``eval``) connects the pull-down line to ground only during
  evaluation, so the search data can settle on the data lines while the match line is
  precharged without a crowbar current through mismatching cells (the usual
  precharge/evaluate scheme of dynamic match-line sensing; periphery, not the cell).
* The match line is sensed by a StrongARM latch comparator
  (:mod:`imcspice.circuits.comparator`, its default sizes) against a reference
  ``vref``, clocked by ``sa_clk`` at the end of the evaluation, on its own supply node
  ``vdd_sa`` so its energy per decision can be read apart.
* ``meter_last``: cell n-1's two pull-down sources return to ``mg<n>`` through 0 V
  sources ``V{prefix}mtlo`` / ``V{prefix}mthi`` (inert in the transient), so a DC sweep
  can locate that far cell's window edges inside the row.

Units: every quantity carries its unit in its name (``_us`` microsiemens, ``_um``
micrometres, ``_v`` volts, ``_ff`` femtofarads, ``_ohm``, ``_s``). MOSFET w/l are
micrometres because SKY130 sets ``.option scale=1.0u``.

Values handed to the builders are finite numbers (formatted at full precision) or
:class:`ParamRef` references to a ``.param`` (emitted as brace expressions so the
engine can ``alterparam`` them). No other text reaches a netlist.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Sequence

from .. import netlists
from .comparator import StrongArm, strongarm_lines
from .logic import mos
from .netlist import IDENT, ParamRef, Value, node, require_devices, value, param_field

#: The constant-current turn-on criterion of a pull-down (per square, W/L = 1): a
#: pull-down conducting more than 100 nA * W/L at VDS = VDD is "on" (the common
#: constant-current threshold criterion, the same the nfet-iv recipe's vth_v uses).
I_ON_PER_SQUARE_A = 100e-9

#: SKY130 device names used inside netlists/acam.spice (must exist in the technology).
ACAM_DEVICES = ("sky130_fd_pr__nfet_01v8", "sky130_fd_pr__nfet_01v8_lvt",
                "sky130_fd_pr__pfet_01v8")


# --- parameters ------------------------------------------------------------------------
_p = param_field


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


#: SKY130 met1/met2 sheet resistance, ohm/sq (sky130_fd_sc_hd.tlef: RESISTANCE RPERSQ 0.125)
RSH_MET12_OHM_SQ = 0.125
#: cell pitch along the row, um (assumption: 6 transistors at the sky130_fd_sc_hd density
#: of ~2.2 um^2 per transistor (dfxtp_1: 24 T in 19.32 x 2.72 um) in one 2.72 um row)
PITCH_ROW_UM = 4.8
#: cell pitch across the row (data-line segment), um: one sky130_fd_sc_hd row height
PITCH_COL_UM = 2.72
#: source/ground rail width, um: the sky130_fd_sc_hd power-rail width (0.48 um met1)
W_RAIL_UM = 0.48
#: match-line and data-line width, um: SKY130 minimum met1/met2 width
W_SIGNAL_UM = 0.14


@dataclass(frozen=True)
class AcamRow:
    """Match-line (row) parameters beyond the cells."""

    n_cells: int = _p(8, "", 1, 128, "cells on the match line (structural)",
                      "assumption; Li et al. 2020 report windows shift ~20 mV at 64 "
                      "columns (REFERENCE.md)")
    c_ml_ff: float = _p(0.3, "fF", 0.0, 100.0,
                        "match-line capacitance per cell beyond the device junctions "
                        "(local metal, contacts)",
                        "assumption: the pull-down drain junctions are in the SKY130 "
                        "models (junction areas on every instance)")
    r_wire_ohm: float = _p(RSH_MET12_OHM_SQ * PITCH_ROW_UM / W_SIGNAL_UM, "ohm", 0.0, 1000.0,
                           "match-line wire resistance per cell",
                           "met1 0.125 ohm/sq (sky130_fd_sc_hd.tlef) x 4.8 um cell pitch / "
                           "0.14 um minimum width (pitch: assumption, see PITCH_ROW_UM)")
    c_wire_ff: float = _p(0.4, "fF", 0.0, 100.0, "match-line wire capacitance per cell",
                          "sky130_fd_sc_hd.tlef met1: 25.8 aF/um^2 area + 2 x 40 aF/um "
                          "edge over 4.8 um x 0.14 um (~0.4 fF)")
    r_sl_ohm: float = _p(RSH_MET12_OHM_SQ * PITCH_ROW_UM / W_RAIL_UM, "ohm", 0.0, 1000.0,
                         "source-line resistance per cell (one pitch of the SL rail)",
                         "met1 0.125 ohm/sq (sky130_fd_sc_hd.tlef) x 4.8 um pitch / "
                         "0.48 um rail (sc_hd power-rail width); pitch: assumption")
    r_gnd_ohm: float = _p(RSH_MET12_OHM_SQ * PITCH_ROW_UM / W_RAIL_UM, "ohm", 0.0, 1000.0,
                          "ground-line and pull-down-line resistance per cell",
                          "as r_sl_ohm (the same 0.48 um met1 rail)")
    r_dl_ohm: float = _p(RSH_MET12_OHM_SQ * PITCH_COL_UM / W_SIGNAL_UM, "ohm", 0.0, 1000.0,
                         "data-line resistance per cell (one met2 segment across the cell)",
                         "met2 0.125 ohm/sq (sky130_fd_sc_hd.tlef) x 2.72 um (sc_hd row "
                         "height) / 0.14 um minimum width")
    w_slsw_um: float = _p(4.0, "um", 0.42, 50.0,
                          "source-line switch nfet width PER CELL (the switch is "
                          "n_cells x this wide, minimum length)",
                          "assumption: ~10-15 mV drop at ~20-30 uA per cell with the gate at "
                          "VDD and the source at 0.8 V")
    w_pre_um: float = _p(2.0, "um", 0.42, 100.0, "precharge pfet width", "assumption")
    w_foot_um: float = _p(4.0, "um", 0.42, 200.0, "row footer nfet width",
                          "assumption: sinks one fully-on pull-down with little drop")
    v_sense_v: float = _p(0.9, "V", 0.1, 1.7,
                          "comparator reference: ML below it at the sense clock = mismatch",
                          "assumption: VDD/2 (an ideal reference shared by all rows)")


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
    """The ``.include`` lines an ACAM netlist needs: the memristor law
    (netlists/memristor.spice, imc_memristor_vc) and the ACAM cell, row and sense
    subcircuits (netlists/acam.spice)."""
    return [netlists.include("memristor.spice"), netlists.include("acam.spice")]


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


#: AcamRow fields the row builder reads from ``row``
ROW_KEYS = ("c_ml_ff", "r_wire_ohm", "c_wire_ff", "r_sl_ohm", "r_gnd_ohm", "r_dl_ohm",
            "w_slsw_um", "w_pre_um", "w_foot_um")


def row_lines(n_cells: int, dl_nodes: Sequence[str], cell_values: Sequence[dict],
              row: dict[str, Value], *, sl: str = "sl", vdd: str = "vdd", vss: str = "0",
              pre_b: str = "pre_b", eval_: str = "eval", sl_en: str = "sl_en",
              sl_en_b: str = "sl_en_b",
              sa_clk: str = "sa_clk", vref: str = "vref", vdd_sa: str = "vdd_sa",
              prefix: str = "", g_nodes: Sequence[tuple[str, str]] | None = None,
              meter_last: bool = False) -> list[str]:
    """Netlist lines of one match-line row (see the module docstring for the topology).

    ``dl_nodes[k]`` and ``cell_values[k]`` are cell k's data-line driver node and its
    :func:`cell_line` values; ``row`` maps the :data:`ROW_KEYS` fields of
    :class:`AcamRow` to values. ``sl`` is the (ungated) divider supply, ``sl_en`` the
    source-line switch gate, ``sa_clk`` the comparator clock, ``vref`` its reference,
    ``vdd_sa`` its supply. Nodes: ``{prefix}ml0`` (sense end) ... ``{prefix}ml{n}``,
    ``{prefix}sl0..``, ``{prefix}g1..``, ``{prefix}mg0..``, ``{prefix}dl0..``, comparator
    outputs ``{prefix}sa_p`` (high: ML above vref, match) and ``{prefix}sa_m``.
    ``n_cells`` must be 1..128. ``g_nodes[k]`` = (glo, ghi): make cell k an
    ``imc_acam_6t2m_gc`` whose conductances are the voltages of those nodes (cells may
    share them); ``g_low_us``/``g_high_us`` in ``cell_values`` are then ignored (also the
    cheaper form to load: ngspice expands one subcircuit level less per cell).
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
    missing = [k for k in ROW_KEYS if k not in row]
    if missing:
        raise ValueError(f"row values missing: {missing}")
    pf = prefix
    ml = [f"{pf}ml{k}" for k in range(n + 1)]
    sln = [f"{pf}sl{k}" for k in range(n + 1)]
    gn = [node(vss)] + [f"{pf}g{k}" for k in range(1, n + 1)]
    mg = [f"{pf}mg{k}" for k in range(n + 1)]
    lines = [f"* ACAM row {pf or ''}: {n} cells"]
    # drivers at the near end: precharge pfet, source-line switch, footer, comparator
    lines.append(mos(f"{pf}pre", "p", ml[0], pre_b, vdd, vdd, row["w_pre_um"]))
    w_sw = row["w_slsw_um"]
    w_sw = ParamRef(w_sw.name, w_sw.scale * n) if isinstance(w_sw, ParamRef) else \
        float(w_sw) * n
    lines.append(mos(f"{pf}slsw", "n", sl, sl_en, sln[0], vss, w_sw))
    # off-state of the gated line: a minimum nfet holds it at ground (a floating source
    # line left the transient's initial operating point without a solution)
    lines.append(mos(f"{pf}slpd", "n", sln[0], sl_en_b, vss, vss, 0.42))
    lines.append(mos(f"{pf}foot", "n", mg[0], eval_, vss, vss, row["w_foot_um"]))
    lines += strongarm_lines(StrongArm(), inp=ml[0], inn=vref, clk=sa_clk,
                             outp=f"{pf}sa_p", outm=f"{pf}sa_m", vdd=vdd_sa, vss=vss,
                             prefix=f"{pf}sa")

    def seg(kind, a, b, r):
        # a zero-ohm segment would short two nodes: floor it at 1 mOhm (numerically inert)
        return f"R{pf}{kind} {a} {b} " + "{max(" + value(r).strip("{}") + ",1e-3)}"

    for k in range(n):
        lines.append(seg(f"w{k}", ml[k], ml[k + 1], row["r_wire_ohm"]))
        lines.append(f"C{pf}w{k} {ml[k + 1]} {node(vss)} "
                     f"{_cap(row['c_wire_ff'], row['c_ml_ff'])}")
        lines.append(seg(f"s{k}", sln[k], sln[k + 1], row["r_sl_ohm"]))
        lines.append(seg(f"g{k}", gn[k], gn[k + 1], row["r_gnd_ohm"]))
        lines.append(seg(f"m{k}", mg[k], mg[k + 1], row["r_gnd_ohm"]))
        lines.append(seg(f"d{k}", node(dl_nodes[k]), f"{pf}dl{k}", row["r_dl_ohm"]))
        pd_lo = pd_hi = mg[k + 1]
        if meter_last and k == n - 1:
            pd_lo, pd_hi = f"{pf}tlo", f"{pf}thi"
            lines += [f"V{pf}mtlo {pd_lo} {mg[k + 1]} 0", f"V{pf}mthi {pd_hi} {mg[k + 1]} 0"]
        if g_nodes is None:
            lines.append(cell_line(f"{pf}c{k}", f"{pf}dl{k}", ml[k + 1], pd_lo, pd_hi,
                                   sln[k + 1], vdd, gn[k + 1], cell_values[k]))
        else:
            glo, ghi = g_nodes[k]
            lines.append(cell_gc_line(f"{pf}c{k}", f"{pf}dl{k}", ml[k + 1], pd_lo, pd_hi,
                                      sln[k + 1], vdd, gn[k + 1], glo, ghi, cell_values[k]))
    return lines


def _cap(c_wire: Value, c_ml: Value) -> str:
    """Wire + match-line capacitance per cell as one capacitor (farads)."""
    parts = []
    for v in (c_wire, c_ml):
        parts.append(value(v, 1e-15).strip("{}"))
    return "{" + f"max({parts[0]}+{parts[1]},1e-21)" + "}"
