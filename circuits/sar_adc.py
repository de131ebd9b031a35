"""8-bit charge-redistribution SAR ADC: SKY130 StrongARM comparator + binary-weighted
capacitive DAC with transistor-level switches + a behavioral SAR controller.

Architecture (conventional switching; McCreary & Gray, JSSC 1975; energy analysis
Ginsburg & Chandrakasan, JSSC 2007)::

      vin ─TG(phs)─┐         ┌─ bp_k: bottom plate of C_k = 2^(N-1-k) C_u  (k = 0: MSB)
                   ├─ bp_k ──┤
     vref ─tristate driver ──┘  top plate ``top`` ──┬── comparator inp
      (pfet/nfet stacks,                            ├── TG(phs) ── vcm  (reset)
       enabled by en)          dummy C_u (bp_d) ────┘   comparator inn = vcm

* Sampling (``phs`` high): every bottom plate (dummy included) tracks ``vin`` through a
  transmission gate, the top plate is held at ``vcm``; the drivers are tri-stated.
* Conversion (``en`` high, N clock cycles of ``t_clk_s``): in cycle k the controller sets
  bit k to 1 (its bottom plate to ``vref``, all undecided bits at 0 V, the dummy at
  0 V), the DAC settles in the comparator's reset half, the comparator decides in the
  evaluate half, and the controller keeps bit k when ``top < vcm`` (``vin`` above the
  DAC level). The decision reaches the DAC at the next cycle's start, in the same
  switching event as the next trial; the last decision only sets the code. The top plate moves by ``(V_dac - vin) * C_tot / (C_tot + C_par)``, so
  top-plate parasitics scale the residue but never change its sign: the code is
  ``floor(vin / vref * 2^N)`` up to the comparator's offset.

Transistor level (SKY130 1.8 V devices, PDK subcircuits with junction areas): the
comparator (:mod:`.comparator`), every bottom-plate driver (a tri-state inverter: two
stacked pfets from ``vref``, two stacked nfets to ground) and every sampling and reset
transmission gate. Ideal: the capacitors (unit ``c_unit_ff``, see :class:`SarAdc`),
the sources ``vin``, ``vcm``, ``vref``, the clock and phase sources.

Behavioral (labelled, not energy-metered): the SAR controller. Each bit's state is a
small memory capacitor ``m_k`` preset to VDD while sampling and connected, by an ideal
voltage-controlled switch during a short window at the end of cycle k's evaluation, to
a B-source that reads the comparator's outputs; the driver input ``db_k`` is a B-source
of the cycle's trial flag and ``m_k``. Its energy is not part of the CDAC or comparator
supply currents. The SAR logic energy is estimated instead from two transistor-level
SKY130 flip-flops in the same deck (:func:`logic_probe_lines`, one holding, one toggling,
clocked like the logic) and a flop/toggle count (:func:`logic_energy_j`, the count is an
assumption: a one-hot sequencer + result register, no clock gating).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from .comparator import StrongArm, fet_line, strongarm_lines
from .netlist import num, param_field

N_BITS = 8
NFET, PFET = "sky130_fd_pr__nfet_01v8", "sky130_fd_pr__pfet_01v8"


_p = param_field


@dataclass(frozen=True)
class SarAdc:
    """CDAC and switch parameters (comparator sizes: :class:`.comparator.StrongArm`)."""

    c_unit_ff: float = _p(2.0, "fF", 0.5, 50.0, "CDAC unit capacitor",
                          "assumption: a 1 um^2 SKY130 MIM capacitor at the PDK's nominal "
                          "2 fF/um^2 (sw_cap_mim_ca, parameters_cap_nom.spice); 8-bit matching "
                          "and kT/C (512 fF in all: 90 uV rms against a 7 mV LSB) allow it")
    c_top_par_ff: float = _p(10.0, "fF", 0.0, 500.0,
                             "extra top-plate parasitic (routing, plate-to-substrate)",
                             "assumption: ~2 % of the array (MIM top-plate parasitic "
                             "is small; the comparator and switch junctions are simulated)")
    w_drv_n_um: float = _p(0.5, "um", 0.42, 20.0,
                           "driver nfet width per 8 unit capacitors (min 0.42 um)",
                           "assumption: driver R*C of every bit ~ equal, settles in < 1 ns")
    w_sw_um: float = _p(0.5, "um", 0.42, 20.0,
                        "sampling TG nfet width per 8 unit capacitors (pfet 2x)",
                        "assumption")
    w_rst_um: float = _p(2.0, "um", 0.42, 20.0, "top-plate reset TG nfet width (pfet 2x)",
                         "assumption")

    def weight(self, k: int) -> int:
        """Unit capacitors of bit k (k = 0: MSB); the dummy (k = N_BITS) has 1."""
        return 1 if k == N_BITS else 2 ** (N_BITS - 1 - k)

    def w_scaled(self, w_per8: float, k: int) -> float:
        return max(0.42, w_per8 * self.weight(k) / 8.0)


def field_specs(cls) -> list[dict]:
    return [{"name": f.name, "default": f.default, **dict(f.metadata)} for f in fields(cls)]


def sar_from(p: dict) -> SarAdc:
    return SarAdc(**{f.name: float(p[f.name]) for f in fields(SarAdc) if f.name in p})


def cdac_lines(s: SarAdc, *, vin="vin", vref="vref", vcm="vcm", top="top", vdd="vdd",
               phs="phs", phs_b="phs_b", en="en", en_b="en_b") -> list[str]:
    """Capacitors, sampling TGs, tri-state drivers (input ``db{k}``: low = bottom plate to
    vref), the dummy (driven like a bit whose input stays high) and the top-plate reset."""
    cu = s.c_unit_ff * 1e-15
    lines = ["* CDAC: binary-weighted, conventional switching, bottom-plate sampling"]
    for k in range(N_BITS + 1):
        bp = f"bp{k}"
        wn = s.w_scaled(s.w_drv_n_um, k)
        ws = s.w_scaled(s.w_sw_um, k)
        lines += [
            f"Cdac{k} {bp} {top} {num(cu * s.weight(k))}",
            fet_line(f"sn{k}", bp, phs, vin, "0", NFET, ws, 0.15),
            fet_line(f"sp{k}", bp, phs_b, vin, vdd, PFET, 2 * ws, 0.15),
            fet_line(f"dpe{k}", f"dpx{k}", en_b, vref, vdd, PFET, 2 * wn, 0.15),
            fet_line(f"dpd{k}", bp, f"db{k}", f"dpx{k}", vdd, PFET, 2 * wn, 0.15),
            fet_line(f"dnd{k}", bp, f"db{k}", f"dnx{k}", "0", NFET, wn, 0.15),
            fet_line(f"dne{k}", f"dnx{k}", en, "0", "0", NFET, wn, 0.15),
        ]
    lines += [
        f"Ctoppar {top} 0 {num(s.c_top_par_ff * 1e-15)}",
        fet_line("rn", top, phs, vcm, "0", NFET, s.w_rst_um, 0.15),
        fet_line("rp", top, phs_b, vcm, vdd, PFET, 2 * s.w_rst_um, 0.15),
    ]
    return lines


@dataclass(frozen=True)
class SarTiming:
    """Times of one conversion (s): sampling ``[0, t_sample)``, cycle k = ``[t_sample +
    k t_clk, t_sample + (k+1) t_clk)`` (reset half, then evaluate half), end at
    ``t_stop`` (the last cycle's reset half included: the comparator recharges)."""

    t_clk: float
    t_edge: float = 20e-12

    @property
    def t_sample(self) -> float:
        return self.t_clk

    def cycle_start(self, k: int) -> float:
        return self.t_sample + k * self.t_clk

    def latch_time(self, k: int) -> float:
        """Bit k is latched in [latch_time, latch_time + t_clk/16], late in its evaluation."""
        return self.cycle_start(k + 1) - self.t_clk / 8

    @property
    def t_stop(self) -> float:
        return self.cycle_start(N_BITS) + self.t_clk / 2


def controller_lines(tm: SarTiming, *, vdd_v: float, outp="outp", outm="outm",
                     vdd="vdd") -> list[str]:
    """The behavioral SAR controller and the phase/clock sources (see module docstring).
    Bit k's driver input ``db{k}`` is low (bottom plate at vref) from its trial onwards
    while ``m{k}`` holds 'keep'; the dummy's input ``db8`` stays high."""
    v, te = num(vdd_v), num(tm.t_edge)
    gap = tm.t_edge * 2        # non-overlap between sampling off and drivers on
    ts = tm.t_sample
    half = tm.t_clk / 2
    lines = [
        "* behavioral SAR controller (ideal sources, switches, B-sources)",
        f"Vphs phs 0 PWL(0 {v} {num(ts - gap - tm.t_edge)} {v} {num(ts - gap)} 0)",
        f"Vphsb phs_b 0 PWL(0 0 {num(ts - gap - tm.t_edge)} 0 {num(ts - gap)} {v})",
        f"Ven en 0 PWL(0 0 {num(ts)} 0 {num(ts + tm.t_edge)} {v})",
        f"Venb en_b 0 PWL(0 {v} {num(ts)} {v} {num(ts + tm.t_edge)} 0)",
        # comparator clock: evaluate in the second half of each cycle
        f"Vclk clk 0 PULSE(0 {v} {num(ts + half)} {te} {te} {num(half - tm.t_edge)} "
        f"{num(tm.t_clk)})",
        # 'keep' decision: inp (top) below inn (vcm) means vin is above the DAC level
        f"Bdec dec 0 V = {v} * (1 + tanh(20 * (v({outm}) - v({outp})))) / 2",
        ".model sarsw sw vt=0.5 vh=0 ron=100 roff=1e12",
        f"Vdb8 db8 0 {v}",
    ]
    for k in range(N_BITS):
        tk = tm.cycle_start(k)
        tl = tm.latch_time(k)
        lines += [
            f"Cm{k} m{k} 0 10e-15",
            f"Spre{k} {vdd} m{k} phs 0 sarsw",
            f"Vlat{k} lat{k} 0 PWL(0 0 {num(tl)} 0 {num(tl + tm.t_edge)} 1 "
            f"{num(tl + tm.t_clk / 16)} 1 {num(tl + tm.t_clk / 16 + tm.t_edge)} 0)",
            f"Slat{k} dec m{k} lat{k} 0 sarsw",
            # trial flag: a ramp of t_edge at the cycle start (after the previous latch)
            f"Btr{k} tr{k} 0 V = min(max((time - {num(tk)}) / {te}, 0), 1)",
        ]
        if k < N_BITS - 1:
            # bit k is 1 during its own cycle; its decision (m_k) reaches the DAC at the
            # next cycle's start, together with the next trial: one switching event per
            # cycle, as conventional SAR timing (and Ginsburg's energy analysis) has it
            lines.append(f"Bdb{k} db{k} 0 V = {v} * (1 - v(tr{k}) * (1 - v(tr{k + 1}) * "
                         f"(1 - v(m{k}) / {v})))")
        else:
            # the last decision only sets the code; the DAC does not switch again
            lines.append(f"Bdb{k} db{k} 0 V = {v} * (1 - v(tr{k}))")
    return lines


#: SAR logic counted per conversion (assumption, see :func:`logic_energy_j`): a one-hot
#: sequencer of N+1 flops plus N result flops, all clocked on each of the N+1 cycles; per
#: conversion the sequencer's token moves N+1 times (2 flops toggle each time) and each
#: result flop is set for its trial and cleared half the time
N_FF = 2 * N_BITS + 1
N_CYCLES = N_BITS + 1
N_TOGGLES = 2 * (N_BITS + 1) + N_BITS + N_BITS // 2


def logic_energy_j(e_hold_j: float, e_toggle_j: float) -> float:
    """SAR logic energy per conversion, J, from one flop's energy per clock cycle with its
    data held (``e_hold_j``) and toggling every cycle (``e_toggle_j``): every flop pays
    the clock each cycle, a toggle adds the difference."""
    return N_FF * N_CYCLES * e_hold_j + N_TOGGLES * (e_toggle_j - e_hold_j)


def dff_lines(name: str, d: str, clk: str, q: str, vdd: str) -> list[str]:
    """A static positive-edge master-slave transmission-gate D flip-flop (18 SKY130
    minimum-size transistors: local clock inverter, 4 TGs, 4 inverters; Rabaey,
    Chandrakasan & Nikolic, Digital Integrated Circuits, 2nd ed., Fig. 7-19)."""
    wn, wp, ln = 0.42, 0.84, 0.15
    c, cb = clk, f"{name}_cb"
    m1, m2, m3, s1, s3 = (f"{name}_{x}" for x in ("m1", "m2", "m3", "s1", "s3"))

    def inv(tag, a, y):
        return [fet_line(f"{name}_{tag}n", y, a, "0", "0", NFET, wn, ln),
                fet_line(f"{name}_{tag}p", y, a, vdd, vdd, PFET, wp, ln)]

    def tg(tag, a, y, gn, gp):
        return [fet_line(f"{name}_{tag}n", y, gn, a, "0", NFET, wn, ln),
                fet_line(f"{name}_{tag}p", y, gp, a, vdd, PFET, wp, ln)]

    return ([f"* TG master-slave DFF {name}"] + inv("ic", c, cb)
            + tg("t1", d, m1, cb, c) + inv("i1", m1, m2) + inv("i2", m2, m3)
            + tg("t2", m3, m1, c, cb)
            + tg("t3", m2, s1, c, cb) + inv("i3", s1, q) + inv("i4", q, s3)
            + tg("t4", s3, s1, cb, c))


def logic_probe_lines(tm: SarTiming, *, vdd_v: float) -> list[str]:
    """Two flip-flops clocked like the SAR logic during the conversion (clock ``clkl``, a
    copy of the comparator clock): ``fh`` holds D = 0, ``ft`` toggles D every cycle;
    supplies ``vddh`` / ``vddt`` meter them.

    Both slaves start at Q = 0 (``.ic``): with the clock low at t = 0 a slave latch is
    bistable, and the operating point left it at its metastable point (Q = 0.89 V, tt),
    which the transient resolved either way, so the holding flop's first edge toggled it
    or not: its energy per cycle jumped between 23.8 and 25.6 fJ from one temperature
    to the next (tt, 27-60 C; the SAR logic energy by +-3 %, measured). At Q = 0 the
    holding flop never toggles and the toggling one (D rises with the first edge)
    toggles on every edge."""
    v, te = num(vdd_v), num(tm.t_edge)
    half = tm.t_clk / 2
    # Q = 0 <=> the slave's storage node s1 (Q = not s1) high
    return ([f".ic v(fh_s1)={v} v(ft_s1)={v}", f"Vddh vddh 0 {v}", f"Vddt vddt 0 {v}",
             f"Vclkl clkl 0 PULSE(0 {v} {num(tm.t_sample + half)} {te} {te} "
             f"{num(half - tm.t_edge)} {num(tm.t_clk)})",
             "Vdh dh 0 0",
             f"Vdt dt 0 PULSE(0 {v} {num(tm.t_sample)} {te} {te} {num(tm.t_clk - tm.t_edge)} "
             f"{num(2 * tm.t_clk)})"]
            + dff_lines("fh", "dh", "clkl", "qh", "vddh")
            + dff_lines("ft", "dt", "clkl", "qt", "vddt"))


def adc_lines(s: SarAdc, sa: StrongArm, tm: SarTiming, *, vdd_v: float) -> list[str]:
    """The whole converter: CDAC + comparator (own supply ``vddc``) + controller."""
    return (cdac_lines(s)
            + strongarm_lines(sa, inp="top", inn="vcm", clk="clk", outp="outp",
                              outm="outm", vdd="vddc", prefix="sa")
            + controller_lines(tm, vdd_v=vdd_v)
            + logic_probe_lines(tm, vdd_v=vdd_v))
