"""StrongARM latch comparator (clocked sense amplifier) on SKY130 1.8 V devices.

Topology: B. Razavi, "The StrongARM Latch", IEEE Solid-State Circuits Magazine 7(2),
12-17, 2015 (Fig. 2: clocked tail, input pair, cross-coupled nfet/pfet latch, four
precharge pfets)::

    M1  tail nfet       d=tail  g=clk   s=vss
    M2  input nfet      d=dp    g=inp   s=tail        M3: d=dn g=inn s=tail
    M4  latch nfet      d=outm  g=outp  s=dp          M5: d=outp g=outm s=dn
    M6  latch pfet      d=outm  g=outp  s=vdd         M7: d=outp g=outm s=vdd
    S1..S4 precharge pfets (g=clk) from vdd to outp, outm, dn, dp
    C_load on outp and on outm

* clk low (reset): the tail is off, S1-S4 pull outp, outm, dp, dn to VDD.
* clk high (evaluate): the pair discharges dp/dn at rates set by inp/inn; when they are
  about a Vtn below VDD the latch nfets conduct, the outputs fall until a latch pfet
  turns on, and positive feedback regenerates. ``inp > inn``: dp falls first, so
  ``outm`` (on dp's side) goes to 0 and ``outp`` returns to VDD.

Junction areas: every instance carries SKY130 drain/source areas and perimeters with a
0.29 um diffusion extension (ad = as = 0.29 W, pd = ps = 2 (W + 0.29)), the defaults of
the SKY130 xschem device symbols (sky130_fd_pr/*_01v8.sym), so node capacitances hold
junction capacitance (elsewhere the repo's instances have none).

Units: w/l in micrometres (SKY130 sets ``.option scale=1.0u``), capacitance in fF.
Sizes are structural (one deck per geometry, numbers formatted at full precision).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from .logic import NFET, PFET, mos
from .netlist import IDENT, Value, node, num, require_devices, value, param_field

COMPARATOR_DEVICES = (NFET, PFET)


_p = param_field


@dataclass(frozen=True)
class StrongArm:
    """Device sizes of the StrongARM latch (um) and its output load (fF). Sizing is
    ours for 1.8 V SKY130, following Razavi 2015's guidance: a wide, longer input pair
    (its Vt mismatch dominates the offset and it sets the first-phase gain), minimum
    length latch and precharge devices (speed), tail wide enough to discharge dp/dn
    within ~100 ps."""

    w_tail_um: float = _p(4.0, "um", 0.42, 50.0, "tail nfet M1 width (gate = clk)",
                          "assumption (sizing)")
    l_tail_um: float = _p(0.15, "um", 0.15, 2.0, "tail length", "SKY130 minimum length")
    w_in_um: float = _p(4.0, "um", 0.42, 50.0, "input pair M2/M3 width", "assumption")
    l_in_um: float = _p(0.3, "um", 0.15, 4.0, "input pair length",
                        "assumption: 2x minimum to halve the pair's Vt mismatch area term")
    w_ln_um: float = _p(2.0, "um", 0.42, 20.0, "latch nfets M4/M5 width", "assumption")
    l_ln_um: float = _p(0.15, "um", 0.15, 2.0, "latch nfet length", "SKY130 minimum")
    w_lp_um: float = _p(2.0, "um", 0.42, 20.0, "latch pfets M6/M7 width", "assumption")
    l_lp_um: float = _p(0.15, "um", 0.15, 2.0, "latch pfet length", "SKY130 minimum")
    w_pre_um: float = _p(1.0, "um", 0.42, 20.0, "precharge pfets S1-S4 width",
                         "assumption: recharges the nodes within ~0.2 ns")
    l_pre_um: float = _p(0.15, "um", 0.15, 2.0, "precharge pfet length", "SKY130 minimum")
    c_load_ff: float = _p(5.0, "fF", 0.0, 200.0, "explicit load on each output (next stage "
                          "SR latch / logic inputs)",
                          "assumption: ~4 minimum SKY130 gate loads (~1.2 fF each)")

    SIZES = ("w_tail_um", "l_tail_um", "w_in_um", "l_in_um", "w_ln_um", "l_ln_um",
             "w_lp_um", "l_lp_um", "w_pre_um", "l_pre_um")


def field_specs(cls) -> list[dict]:
    """``[{name, default, unit, min, max, doc, source}]`` of a parameter dataclass."""
    return [{"name": f.name, "default": f.default, **dict(f.metadata)} for f in fields(cls)]


def check_technology(tech) -> None:
    require_devices(tech, COMPARATOR_DEVICES, "the StrongARM comparator")


def fet_line(name: str, d: str, g: str, s: str, b: str, device: str, w_um: float,
             l_um: float) -> str:
    """One SKY130 PDK-subcircuit MOSFET instance (``device`` by its PDK name) with junction
    areas/perimeters: :func:`.logic.mos`. The PDK subcircuit keeps its per-instance
    mismatch (``delvto`` with AGAUSS) on its instance line."""
    w, ln = float(w_um), float(l_um)
    if not (w > 0 and ln > 0):
        raise ValueError(f"{name}: w and l must be positive, got {w_um!r}, {l_um!r}")
    return mos(name, {NFET: "n", PFET: "p"}[device], d, g, s, b, w, ln)


def strongarm_lines(sa: StrongArm, *, inp: str, inn: str, clk: str, outp: str, outm: str,
                    vdd: str = "vdd", vss: str = "0", prefix: str = "sa",
                    c_load: Value | None = None) -> list[str]:
    """Netlist lines of one StrongARM latch. Internal nodes ``{prefix}_tail``,
    ``{prefix}_dp``, ``{prefix}_dn``. ``c_load`` (farads, a number or ParamRef; default
    ``sa.c_load_ff``) is put on each output. ``outp`` ends high when ``inp > inn``."""
    if not IDENT.match(prefix):
        raise ValueError(f"{prefix!r} is not a valid prefix")
    n, pch = "sky130_fd_pr__nfet_01v8", "sky130_fd_pr__pfet_01v8"
    t, dp, dn = f"{prefix}_tail", f"{prefix}_dp", f"{prefix}_dn"
    s = sa
    cl = value(c_load) if c_load is not None else num(s.c_load_ff * 1e-15)
    return [
        f"* StrongARM latch {prefix} (Razavi, IEEE SSC Magazine 2015)",
        fet_line(f"{prefix}_m1", t, clk, vss, vss, n, s.w_tail_um, s.l_tail_um),
        fet_line(f"{prefix}_m2", dp, inp, t, vss, n, s.w_in_um, s.l_in_um),
        fet_line(f"{prefix}_m3", dn, inn, t, vss, n, s.w_in_um, s.l_in_um),
        fet_line(f"{prefix}_m4", outm, outp, dp, vss, n, s.w_ln_um, s.l_ln_um),
        fet_line(f"{prefix}_m5", outp, outm, dn, vss, n, s.w_ln_um, s.l_ln_um),
        fet_line(f"{prefix}_m6", outm, outp, vdd, vdd, pch, s.w_lp_um, s.l_lp_um),
        fet_line(f"{prefix}_m7", outp, outm, vdd, vdd, pch, s.w_lp_um, s.l_lp_um),
        fet_line(f"{prefix}_s1", outp, clk, vdd, vdd, pch, s.w_pre_um, s.l_pre_um),
        fet_line(f"{prefix}_s2", outm, clk, vdd, vdd, pch, s.w_pre_um, s.l_pre_um),
        fet_line(f"{prefix}_s3", dn, clk, vdd, vdd, pch, s.w_pre_um, s.l_pre_um),
        fet_line(f"{prefix}_s4", dp, clk, vdd, vdd, pch, s.w_pre_um, s.l_pre_um),
        f"C{prefix}_lp {node(outp)} {node(vss)} {cl}",
        f"C{prefix}_lm {node(outm)} {node(vss)} {cl}",
    ]


def strongarm_from(p: dict) -> StrongArm:
    """A :class:`StrongArm` from a recipe's resolved parameters (same field names)."""
    return StrongArm(**{f.name: float(p[f.name]) for f in fields(StrongArm) if f.name in p})
