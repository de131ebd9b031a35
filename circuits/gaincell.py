"""Gain-cell dot-product array (Leroux et al., analog in-memory attention): netlist builders.

The subcircuits live in ``netlists/gaincell.spice``; this module writes the instance and
source lines that wire them into test benches and columns, and draws the family's
transfer curves from a raw sweep file (:func:`plot_gaincell`).

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
* a column integrator (behavioral op-amp + integration capacitor) turns the summed
  charge into a voltage, and a ramp-compare charge-to-pulse stage turns that into an
  output pulse width, clipped at 0 and at the ramp window (a clipped linear activation).

Units: W/L in micrometres (SKY130 sets ``.option scale=1.0u``), capacitances in F,
times in s, voltages in V, currents in A. Sign convention: cell and column currents and
charges are positive when the cells *sink* current from the bit line (stored voltage
above the zero crossing); the integrator output then rises above ``vref``.

Every field of the parameter dataclasses may be a number or a brace expression naming a
recipe ``.param`` (``"{cs_f}"``), so recipes can change it with ``alterparam``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Union

from .. import netlists
from ..errors import ImcspiceError

Value = Union[float, str]

#: spice file with the subcircuits this module instantiates
SPICE_FILE = "gaincell.spice"
#: storage range (REFERENCE.md: K/V stored as 0–0.9 V centered at 0.45 V)
V_STORE_MIN_V, V_STORE_MAX_V, V_STORE_MID_V = 0.0, 0.9, 0.45
#: query pulse: amplitude 0.9 V, at most 15 ns (REFERENCE.md)
V_QUERY_V, T_QUERY_MAX_S = 0.9, 15e-9
#: bits (REFERENCE.md): Q 4-bit (pulse width), K/V 3-bit, outputs 5-bit
Q_BITS, KV_BITS, OUT_BITS = 4, 3, 5
#: arrays are 64 x 64 (REFERENCE.md)
ARRAY_ROWS = 64

_EXPR = re.compile(r"\A\{[a-z_][a-z0-9_]*(?:\s*[-+*/]\s*(?:[a-z_][a-z0-9_]*|\d+(?:\.\d*)?"
                   r"(?:e[-+]?\d+)?))*\}\Z", re.A)
_NODE = re.compile(r"\A[a-z_][a-z0-9_]*\Z", re.A)


class ParameterError(ImcspiceError, ValueError):
    """A value that cannot be written into a netlist."""


def format_number(value: float) -> str:
    """A float as netlist text (plain, full precision); same rule as
    ``characterize.params.format_number`` (circuits does not import characterize)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value):
        raise ParameterError(f"refusing to format {value!r} into a netlist")
    return repr(float(value))


def val(x: Value) -> str:
    """A dataclass field as netlist text: a float via :func:`format_number`, or a brace
    expression over recipe parameter names (``"{cs_f}"``, ``"{vrp_v-vwl_v}"``)."""
    if isinstance(x, str):
        if not _EXPR.match(x):
            raise ParameterError(f"{x!r} is not a brace expression over parameter names")
        return x
    return format_number(x)


def node(name: str) -> str:
    if not isinstance(name, str) or not _NODE.match(name):
        raise ParameterError(f"{name!r} is not a valid node name")
    return name


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
        return " ".join(f"{k}={val(v)}" for k, v in a.items())


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
    """Column integrator (``imc_gc_integrator``): BEHAVIORAL single-pole op-amp.

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
def include_line() -> str:
    """``.include`` of ``netlists/gaincell.spice`` (needs the SKY130 models first), after a
    comment with the file's content hash: the engine's point cache keys on the netlist
    text, so an edited subcircuit file must change that text."""
    import hashlib
    digest = hashlib.sha256(netlists.path(SPICE_FILE).read_bytes()).hexdigest()[:16]
    return f"* {SPICE_FILE} sha256:{digest}\n{netlists.include(SPICE_FILE)}"


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
            f"imc_gc_integrator cint={val(p.cint_f)} a0={val(p.a0)} gbw={val(p.gbw_hz)} "
            f"vlo={val(p.vlo_v)} vhi={val(p.vhi_v)}")


def c2p(name: str, vint: str, ramp: str, en: str, pout: str,
        p: ReadoutParams = ReadoutParams()) -> str:
    """Charge-to-pulse comparator instance."""
    return (f"X{node(name)} {node(vint)} {node(ramp)} {node(en)} {node(pout)} imc_gc_c2p "
            f"vsm={val(p.vsm_v)}")


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
    return (f"PULSE({val(v_idle)} {val(v_active)} "
            + " ".join(format_number(x) for x in nums) + ")")


def pwl(name: str, n_plus: str, points: list[tuple[float, Value]]) -> str:
    """Voltage source ``V<name>`` with a piecewise-linear waveform (times in s)."""
    txt = " ".join(f"{format_number(t)} {val(v)}" for t, v in points)
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
        out.append(f"Cbl_{node(bl)} {node(bl)} 0 {val(cbl_f)}")
    return out


# --- plots --------------------------------------------------------------------------------
def plot_gaincell(raw, out_png) -> None:
    """Transfer curves of a gain-cell raw sweep file, by recipe: gaincell-mac (I(Vs) per
    Vwl, column charge vs pulse width), gaincell-retention (stored voltage vs hold time),
    gaincell-write (settling, injection, energy vs written voltage), gaincell-readout
    (pulse width vs charge), gaincell-superposition (column vs summed single-cell charge).
    The first corner / temperature / swept value is drawn unless the recipe's family
    is itself over those axes (retention draws every corner and temperature)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    recipe = raw.attrs.get("recipe", "")

    def first(q):
        """data[q] with every outer axis at its first value; returns (array, inner axes)."""
        arr = raw.data[q]
        names = raw.data_axes[q]
        idx = tuple(0 if n in raw.outer else slice(None) for n in names)
        return arr[idx], [n for n in names if n not in raw.outer]

    if recipe == "gaincell-mac":
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
        i, _ = first("i_cell_a")
        vs, vwl = raw.axis("vs_v"), raw.axis("vwl_v")
        for k, w in enumerate(vwl):
            a1.plot(vs, i[k] * 1e6, label=f"{w:.1f} V")
        a1.axhline(0, color="k", lw=0.5)
        a1.set_xlabel("stored voltage Vs (V)")
        a1.set_ylabel("cell current, sunk from bit line (µA)")
        a1.set_title("cell read current I(Vs) per word-line voltage")
        a1.legend(title="Vwl", fontsize=7, ncol=2)
        q, _ = first("q_col_c")
        t = raw.axis("t_pulse_s")
        a2.plot(t * 1e9, q * 1e15, "o-")
        a2.set_xlabel("read word-line pulse width (ns)")
        a2.set_ylabel("column charge (fC)")
        a2.set_title("column charge vs query pulse width")
    elif recipe == "gaincell-retention":
        import itertools
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5))
        t = raw.axis("t_s")
        vs = raw.axis("vs_v")
        outer = raw.outer
        combos = list(itertools.product(*[range(len(raw.axis(n))) for n in outer]))[:12]
        styles = {"si": "-", "osfet": "--"}
        for c, idx in enumerate(combos):
            lab = " ".join(f"{raw.axis(n)[i]}" + (" C" if n == "temp_c" else "")
                           for n, i in zip(outer, idx))
            dev = str(raw.axis("write_device")[idx[outer.index("write_device")]]) \
                if "write_device" in outer else "si"
            traj = raw.data["v_sn_v"][idx]
            for k in range(traj.shape[0]):
                a1.semilogx(t, traj[k], styles.get(dev, "-"), color=f"C{c % 10}",
                            label=lab if k == 0 else None)
            i_leak = raw.data["i_leak_a"][idx]
            a2.semilogy(vs, np.abs(i_leak), styles.get(dev, "-"), color=f"C{c % 10}",
                        label=lab)
            a2.axvline(float(raw.data["v_inf_v"][idx]), color=f"C{c % 10}", lw=0.6, ls=":")
        a1.set_xlabel("hold time (s)")
        a1.set_ylabel("stored voltage (V)")
        a1.set_title("retention after writing 0 / 0.225 / 0.675 / 0.9 V")
        a1.legend(fontsize=7)
        a2.set_xlabel("stored voltage (V)")
        a2.set_ylabel("|hold-state leakage current| (A)")
        a2.set_title("storage-node leakage (dotted: relaxation level, sign change)")
        a2.legend(fontsize=7)
    elif recipe == "gaincell-write":
        fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(13, 4))
        vw = raw.axis("v_write_v")
        a1.plot(vw, first("t_settle_s")[0] * 1e9, "o-")
        a1.set_xlabel("written voltage (V)")
        a1.set_ylabel("settling time (ns)")
        a1.set_title("write settling")
        a2.plot(vw, first("dv_inj_v")[0] * 1e3, "o-")
        a2.set_xlabel("written voltage (V)")
        a2.set_ylabel("storage-node step at WWL fall (mV)")
        a2.set_title("charge injection")
        a3.plot(vw, first("e_write_j")[0] * 1e15, "o-")
        a3.set_xlabel("written voltage (V)")
        a3.set_ylabel("write energy (fJ)")
        a3.set_title("driver energy per write")
    elif recipe == "gaincell-readout":
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
        q = raw.axis("q_in_c")
        a1.plot(q * 1e15, first("t_out_s")[0] * 1e9, "o-")
        a1.set_xlabel("input charge (fC)")
        a1.set_ylabel("output pulse width (ns)")
        a1.set_title("charge-to-pulse transfer")
        a2.plot(q * 1e15, first("v_int_v")[0], "o-")
        a2.set_xlabel("input charge (fC)")
        a2.set_ylabel("integrator output (V)")
        a2.set_title("column integrator transfer")
    elif recipe == "gaincell-superposition":
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
        qc = raw.data["q_col_c"].ravel()
        qs = raw.data["q_sum_c"].ravel()
        a1.plot(qs * 1e15, qc * 1e15, "o")
        lim = [np.nanmin([qs, qc]) * 1e15, np.nanmax([qs, qc]) * 1e15]
        a1.plot(lim, lim, "k--", lw=0.7)
        a1.set_xlabel("sum of single-cell charges (fC)")
        a1.set_ylabel("column charge, all rows at once (fC)")
        a1.set_title("superposition (one point per pattern)")
        a2.plot(qs * 1e15, raw.data["err_c"].ravel() * 1e15, "o")
        a2.axhline(0, color="k", lw=0.5)
        a2.set_xlabel("sum of single-cell charges (fC)")
        a2.set_ylabel("superposition error q_col - q_sum (fC)")
        a2.set_title("superposition error")
    else:
        raise ValueError(f"plot_gaincell: {recipe!r} is not a gain-cell recipe")
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)
    plt.close(fig)
