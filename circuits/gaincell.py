"""Gain-cell dot-product array (Leroux et al., analog in-memory attention): netlist builders.

The subcircuits live in ``netlists/gaincell.spice``; this module writes the instance and
source lines that wire them into test benches and columns (the family's plots are in
:mod:`imcspice.characterize.plots.gaincell`).

Circuit (../shared/REFERENCE.md, "Gain-cell attention"):

* a cell stores K or V as a capacitor voltage in 0–0.9 V centered at 0.45 V, written
  through a write transistor (SKY130 ``nfet_01v8``, or an oxide-semiconductor FET
  modelled by the behavioral card ``imc_osfet``);
* the query is a pulse width (amplitude 0.9 V, at most 15 ns) on the read word line;
* the signed push-pull read path (NMOS read + access device to the rail ``vrn``, PMOS
  read + access device to the rail ``vrp``) sinks ``I_N(Vs) - I_P(Vs)`` from the bit line,
  which a column integrator holds at a virtual ground ``vref`` (0.45 V). The PMOS rail
  ``vrp`` = 1.13 V puts the zero crossing at ~0.45 V (tt, 27 C): see
  ``netlists/gaincell.spice`` for the reasoning;
* a column integrator (:func:`column_integrator`: by default the SKY130 two-stage OTA of
  ``circuits/ota.py`` with :func:`imcspice.circuits.ota.integrator`; the behavioral
  single-pole op-amp ``imc_gc_integrator`` as a labelled option) turns the summed charge
  into a voltage, and a ramp-compare charge-to-pulse stage turns that into an
  output pulse width, clipped at 0 and at the ramp window (a clipped linear activation).

Units: W/L in micrometres (SKY130 sets ``.option scale=1.0u``), capacitances in F,
times in s, voltages in V, currents in A. Sign convention: cell and column currents and
charges are positive when the cells *sink* current from the bit line (stored voltage
above the zero crossing); the integrator output then rises above ``vref``.

Every field of the parameter dataclasses may be a number or a
:class:`~imcspice.circuits.netlist.ParamRef` to a recipe ``.param`` (``ParamRef("cs_f")``),
so recipes can change it with ``alterparam``; values reach the netlist only through
:mod:`imcspice.circuits.netlist`.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .. import netlists
from . import ota
from .logic import mos   # the one SKY130 MOSFET line with junction areas
from .netlist import ParameterError, ParamRef, Value, format_number, node, value

#: spice file with the subcircuits this module instantiates
SPICE_FILE = "gaincell.spice"
#: storage range (REFERENCE.md: K/V stored as 0–0.9 V centered at 0.45 V)
V_STORE_MIN_V, V_STORE_MAX_V, V_STORE_MID_V = 0.0, 0.9, 0.45
#: query pulse: amplitude 0.9 V, at most 15 ns (REFERENCE.md)
V_QUERY_V, T_QUERY_MAX_S = 0.9, 15e-9
#: read word-line edge time, s (assumption); the fits of the column reads model the
#: charge step coupled through the cell within this edge
T_READ_EDGE_S = 100e-12
#: bits (REFERENCE.md): Q 4-bit (pulse width), K/V 3-bit, outputs 5-bit
Q_BITS, KV_BITS, OUT_BITS = 4, 3, 5
#: arrays are 64 x 64 (REFERENCE.md)
ARRAY_ROWS = 64


@dataclass(frozen=True)
class GainCellParams:
    """Device sizes of one gain cell (``imc_gaincell_si`` / ``imc_gaincell_osfet``).

    Defaults are this project's design choices (assumptions), sized for the SKY130
    1.8 V devices; valid ranges follow the SKY130 device rules (W >= 0.42 um,
    L >= 0.15 um) and keep the cell plausible:

    * ``cs_f`` storage capacitor, F, 1e-16..1e-13 (default 5 fF, MIM-class)
    * ``w_write_um``/``l_write_um`` write transistor, um (0.42/0.15: minimum size, least
      injected channel charge; the minimum-length SKY130 nfet also leaks less at Vgs = 0);
      ``ad_write_um2``/``pd_write_um`` its storage-side diffusion area/perimeter (Si only;
      0.42 um x 0.29 um)
    * ``w_rn_um``/``l_rn_um``, ``w_rp_um``/``l_rp_um`` NMOS/PMOS read transistors, um
    * ``w_an_um``/``w_ap_um``/``l_access_um`` NMOS/PMOS access (word-line) devices, um
    * ``ioff_a_per_um`` OSFET off-current at 27 C, A/um, 1e-22..1e-15 (default 1e-19,
      published IGZO TFT range 1e-18–1e-19 A/um); ``ea_ev`` its activation energy, eV,
      0.1..1.5 (default 0.6: assumption)
    """

    cs_f: Value = 5e-15
    w_write_um: Value = 0.42
    l_write_um: Value = 0.15
    ad_write_um2: Value = 0.1218
    pd_write_um: Value = 1.42
    w_rn_um: Value = 0.42
    l_rn_um: Value = 0.5
    w_rp_um: Value = 1.0
    l_rp_um: Value = 0.5
    w_an_um: Value = 0.42
    w_ap_um: Value = 0.84
    l_access_um: Value = 0.15
    ioff_a_per_um: Value = 1e-19
    ea_ev: Value = 0.6

    def subckt_args(self, write_device: str) -> str:
        """``name=value`` arguments of the cell subcircuit for ``write_device``."""
        a = {"cs": self.cs_f, "ww": self.w_write_um, "lw": self.l_write_um}
        if write_device == "si":
            a.update(adw=self.ad_write_um2, pdw=self.pd_write_um)
        elif write_device == "osfet":
            a.update(ioff=self.ioff_a_per_um, ea=self.ea_ev)
        else:
            raise ParameterError(f"write_device must be 'si' or 'osfet', got {write_device!r}")
        a.update(wrn=self.w_rn_um, lrn=self.l_rn_um, wrp=self.w_rp_um, lrp=self.l_rp_um,
                 wan=self.w_an_um, wap=self.w_ap_um, la=self.l_access_um)
        return " ".join(f"{k}={value(v)}" for k, v in a.items())


@dataclass(frozen=True)
class BiasParams:
    """Array biases, V.

    * ``vrn_v`` NMOS read rail (0 V) and ``vrp_v`` PMOS read rail (1.13 V: puts the
      cell's zero-current point at ~0.45 V, mid storage range, in tt at 27 C); vrp in
      0.9..1.8 V
    * ``vref_v`` bit-line virtual ground held by the integrator, 0.45 V (mid storage
      range), and ``vwbl_idle_v`` write-bit-line idle level during hold, 0.45 V, so the
      write transistor's channel leakage pulls the stored voltage toward 0.45 V
      (REFERENCE.md); in the Si cell the storage junction's leakage to ground dominates
      above ~0.1 V, so it relaxes lower (``netlists/gaincell.spice``)
    * ``vwl_v`` read word-line pulse amplitude, 0.9 V (REFERENCE.md); the complementary
      line swings from ``vrp_v`` down to ``vrp_v - vwl_v``
    * ``v_wwl_v`` write word-line high level 1.8 V (SKY130 core-device maximum, enough to
      pass 0.9 V) and ``v_wwl_hold_v`` its hold level, 0 V
    """

    vrn_v: Value = 0.0
    vrp_v: Value = 1.13
    vref_v: Value = 0.45
    vwbl_idle_v: Value = 0.45
    vwl_v: Value = 0.9
    v_wwl_v: Value = 1.8
    v_wwl_hold_v: Value = 0.0


@dataclass(frozen=True)
class IntegratorParams:
    """Column integrator (``imc_gc_integrator``): BEHAVIORAL single-pole op-amp (the
    transistor-level integrator is :func:`imcspice.circuits.ota.integrator`).

    * ``cint_f`` integration capacitor, F, 1e-14..1e-11 (500 fF: assumption; with the
      0.9 V ramp span it gives a 450 fC full scale)
    * ``a0`` DC gain, 10..1e6 (1000 = 60 dB: assumption); ``gbw_hz`` gain-bandwidth,
      1e7..1e11 Hz (1 GHz: assumption)
    * ``vlo_v``/``vhi_v`` output clamp, V (0 / 1.8 V: SKY130 core supply)
    """

    cint_f: Value = 500e-15
    a0: Value = 1000.0
    gbw_hz: Value = 1e9
    vlo_v: Value = 0.0
    vhi_v: Value = 1.8


@dataclass(frozen=True)
class ReadoutParams:
    """Charge-to-pulse stage: ramp from ``v_ramp0_v`` rising by ``ramp_span_v`` over
    ``t_ramp_s``; the output pulse lasts while the integrator output exceeds the ramp.

    Defaults: ramp from vref = 0.45 V (zero charge -> no pulse) over 0.9 V in 15 ns (the
    15 ns maximum pulse width of REFERENCE.md, so the output can drive the next array's
    word lines); the pulse width is clip(Q/(cint*S), 0, 15 ns) with S = span/t_ramp.
    ``vdd_v`` = 0.9 V logic level (assumption); ``vsm_v`` comparator smoothing, V.
    """

    v_ramp0_v: Value = 0.45
    ramp_span_v: Value = 0.9
    t_ramp_s: Value = 15e-9
    vdd_v: Value = 0.9
    vsm_v: Value = 1e-3


# --- instance lines -------------------------------------------------------------------------
def read_path_subckt() -> list[str]:
    """``.subckt imc_gc_read``: the signed push-pull read path (4 SKY130 transistors,
    topology and reasoning in ``netlists/gaincell.spice``), written here with
    :func:`imcspice.circuits.logic.mos` so every instance carries its drain/source
    junction areas and perimeters (issue 11, coverage: ``ad = as = w * 0.29 um``,
    ``pd = ps = 2 (w + 0.29 um)``, SKY130 diffusion rules, see circuits/logic.py). The
    junctions load the internal nodes dn/dp and, through the access devices, the bit line
    (~0.1-0.2 fF per device at 0.42-1 um); they do not touch the storage node (gates only).
    Parameters as in the spice file: widths/lengths in um."""
    w = {k: ParamRef(k) for k in ("wrn", "lrn", "wrp", "lrp", "wan", "wap", "la")}
    return [".subckt imc_gc_read sn rwl rwlb bl vrn vrp wrn=0.42 lrn=0.5 wrp=1.0 lrp=0.5 "
            "wan=0.42 wap=0.84 la=0.15",
            mos("rn", "n", "dn", "sn", "vrn", "0", w["wrn"], w["lrn"]),
            mos("an", "n", "bl", "rwl", "dn", "0", w["wan"], w["la"]),
            mos("rp", "p", "dp", "sn", "vrp", "vrp", w["wrp"], w["lrp"]),
            mos("ap", "p", "bl", "rwlb", "dp", "vrp", w["wap"], w["la"]),
            ".ends imc_gc_read"]


def include_line() -> str:
    """``.include`` of ``netlists/gaincell.spice`` (needs the SKY130 models first), after a
    comment with the file's content hash (the engine's point cache keys on the netlist
    text, so an edited subcircuit file must change that text), followed by the read-path
    subcircuit :func:`read_path_subckt` that the file's cells instantiate."""
    digest = hashlib.sha256(netlists.path(SPICE_FILE).read_bytes()).hexdigest()[:16]
    return "\n".join([f"* {SPICE_FILE} sha256:{digest}", netlists.include(SPICE_FILE),
                      *read_path_subckt()])


def cell(name: str, wbl: str, wwl: str, rwl: str, rwlb: str, bl: str, sn: str,
         vrn: str, vrp: str, write_device: str = "si",
         p: GainCellParams = GainCellParams()) -> str:
    """One gain cell instance (``X<name>``)."""
    sub = {"si": "imc_gaincell_si", "osfet": "imc_gaincell_osfet"}.get(write_device)
    if sub is None:
        raise ParameterError(f"write_device must be 'si' or 'osfet', got {write_device!r}")
    nodes = " ".join(node(n) for n in (wbl, wwl, rwl, rwlb, bl, sn, vrn, vrp))
    return f"X{node(name)} {nodes} {sub} {p.subckt_args(write_device)}"


def integrator(name: str, inp: str, out: str, vref: str, rst: str,
               p: IntegratorParams = IntegratorParams()) -> str:
    """Column integrator instance: V(out) = vref + Q_sunk/cint, clamped to [vlo, vhi]."""
    return (f"X{node(name)} {node(inp)} {node(out)} {node(vref)} {node(rst)} "
            f"imc_gc_integrator cint={value(p.cint_f)} a0={value(p.a0)} "
            f"gbw={value(p.gbw_hz)} vlo={value(p.vlo_v)} vhi={value(p.vhi_v)}")


#: column integrator amplifiers (:func:`column_integrator`); the first is the default
INTEGRATORS = ("ota", "behavioral")


def column_integrator(name: str, inp: str, out: str, vref: str, rst: str, vdd: str,
                      kind: str = "ota", ip: IntegratorParams = IntegratorParams(),
                      op: ota.OtaParams = ota.OtaParams()) -> list[str]:
    """The column integrator ``kind`` (one of :data:`INTEGRATORS`) from input ``inp`` to
    output ``out`` around the reference ``vref``, reset while ``rst`` is high (1.8 V):

    * ``"ota"``: :func:`imcspice.circuits.ota.integrator`, the SKY130 two-stage OTA
      (``op``) with ``ip.cint_f`` in feedback and an nfet reset switch, supplied from the
      node ``vdd`` (1.8 V; the deck must define the OTA subcircuit, ``ota.subckt()``, and
      the supply, whose current is the integrator's power);
    * ``"behavioral"``: :func:`integrator`, the single-pole B-source op-amp (``ip``: a0,
      gbw, clamp), which draws no supply (``vdd`` unused).

    Both give V(out) = V(vref) + Q/cint for a charge Q drawn out of ``inp``."""
    if kind == "ota":
        return ota.integrator(name, vref, inp, out, vdd, rst, ip.cint_f, op)
    if kind == "behavioral":
        return [integrator(name, inp, out, vref, rst, ip)]
    raise ParameterError(f"integrator must be one of {INTEGRATORS}, got {kind!r}")


def c2p(name: str, vint: str, ramp: str, en: str, pout: str,
        p: ReadoutParams = ReadoutParams()) -> str:
    """Charge-to-pulse comparator instance."""
    return (f"X{node(name)} {node(vint)} {node(ramp)} {node(en)} {node(pout)} imc_gc_c2p "
            f"vsm={value(p.vsm_v)}")


def pulse(name: str, n_plus: str, v_idle: Value, v_active: Value, t_start_s: float,
          width_s: float, t_edge_s: float = 100e-12) -> str:
    """Voltage source ``V<name>``: one trapezoidal pulse whose full width at half
    amplitude is ``width_s`` (edges ``t_edge_s``); width 0 gives no pulse at all."""
    return f"V{node(name)} {node(n_plus)} 0 " + pulse_spec(v_idle, v_active, t_start_s,
                                                           width_s, t_edge_s)


def pulse_values(v_idle: float, v_active: float, t_start_s: float, width_s: float,
                 t_edge_s: float = 100e-12) -> list[float]:
    """The 7 numbers of ngspice's PULSE for :func:`pulse` (for ``alter @v[pulse]``)."""
    if width_s <= 0:
        v_active = v_idle
        width_s = t_edge_s
    pw = max(width_s - t_edge_s, 0.0)
    return [v_idle, v_active, t_start_s, t_edge_s, t_edge_s, pw, 1.0]


def pulse_spec(v_idle: Value, v_active: Value, t_start_s: float, width_s: float,
               t_edge_s: float = 100e-12) -> str:
    if width_s <= 0:
        v_active = v_idle
    nums = pulse_values(0.0, 1.0, t_start_s, width_s, t_edge_s)[2:]
    return (f"PULSE({value(v_idle)} {value(v_active)} "
            + " ".join(format_number(x) for x in nums) + ")")


def pwl(name: str, n_plus: str, points: list[tuple[float, Value]]) -> str:
    """Voltage source ``V<name>`` with a piecewise-linear waveform (times in s)."""
    txt = " ".join(f"{format_number(t)} {value(v)}" for t, v in points)
    return f"V{node(name)} {node(n_plus)} 0 PWL({txt})"


def column(rows: int, bl: str = "bl", write_device: str = "si",
           p: GainCellParams = GainCellParams(), wbl: str = "wbl_idle",
           wwl: str = "wwl_hold", vrn: str = "vrn", vrp: str = "vrp",
           rwl: str = "rwl{r}", rwlb: str = "rwlb{r}", sn: str = "sn{r}",
           cbl_f: Value | None = None) -> list[str]:
    """``rows`` cells sharing bit line ``bl`` and the (idle) write lines. Row ``r`` (0-based)
    uses the nodes named by the templates ``rwl``, ``rwlb``, ``sn`` (``{r}`` is replaced
    by the row number; a template without it gives a line shared by all rows).
    ``cbl_f`` adds the bit line's wiring capacitance (total, F) from ``bl`` to ground."""
    if isinstance(rows, bool) or int(rows) != rows or not 1 <= int(rows) <= 4096:
        raise ParameterError(f"rows must be an integer 1..4096, got {rows!r}")
    out = [cell(f"c{r}", wbl, wwl, rwl.replace("{r}", str(r)), rwlb.replace("{r}", str(r)),
                bl, sn.replace("{r}", str(r)), vrn, vrp, write_device, p)
           for r in range(int(rows))]
    if cbl_f is not None:
        out.append(f"Cbl_{node(bl)} {node(bl)} 0 {value(cbl_f)}")
    return out
