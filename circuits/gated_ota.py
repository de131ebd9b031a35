"""Wake-up benches of a power-gated OTA (``ota.gated_subckt``): the crossbar column's
transimpedance amplifier (:func:`tia_bench`) and the gain-cell column's integrator
(:func:`integrator_bench`), each with its bias line driven by the array's shared,
always-on generator.

Timing (s): the enable rises at ``T_ON_S`` (``EDGE_S`` edges) with no input: the
amplifier wakes before its read, so the read that follows is the one its own deck
measures from a biased OTA (crossbar-column, gaincell-readout) and the two energies add.
The read starts at ``T_READ_S`` (the column current steps on; the integrator's reset
opens and it integrates a charge), the enable falls at ``T_OFF_S``, the run ends at
``T_END_S``. ``on=True`` (TIA) holds it enabled and the current on throughout (DC
sources), for an operating point.

Nodes: ``out`` (the output), ``s`` (the bit line: the inverting input's side), ``vbp``
(the bias line); supplies ``Vdd`` (the OTA's, 1.8 V) and ``Vbg`` (the generator's); the
input current flows through the 0 V source ``Vsense`` (its branch current reads it back).
Every value is a number or a :class:`.netlist.ParamRef` (a sweep alters it in place).

The bias line is shared: ``n_share`` amplifiers on it wake together (a tile's 2 x cols
TIAs read at once). The bench simulates the observed amplifier and, as one instance
of multiplier n_share - 1 (suffix ``_o``), the others with their passives and input
scaled to match: identical columns, so each of them draws what the observed one does
(tests/test_wake_share.py checks it against explicit copies). ``Vdd`` feeds them all.
"""
from __future__ import annotations

from . import ota
from .logic import mos
from .netlist import Value, value

#: 100 ns for the wake (the slowest measured: 88 ns, with a weak bias line) and 60 ns for
#: the read (crossbar-column's settling: <= 50 ns over its sweep; an integration: 15 ns)
T_ON_S, T_READ_S, T_OFF_S, T_END_S = 5e-9, 105e-9, 165e-9, 225e-9
EDGE_S = 50e-12
VDD_V = 1.8
#: the integrator's input charge is drawn over this long (gain cell: the 15 ns query)
T_INTEGRATE_S = 15e-9


def _gated(p: ota.OtaParams, c_dec_f: Value, on: bool, reads: int = 1,
           period_s: float = T_END_S, hold: bool = False) -> list[str]:
    """The gated subcircuit, supplies, bias generator and enable sources (``reads``
    wake/read/disable cycles ``period_s`` apart; 1: the single cycle above; ``hold``:
    one wake, never disabled)."""
    hi = value(VDD_V)
    if hold:
        t_on, t_on_e = value(T_ON_S), value(T_ON_S + EDGE_S)
        en = f"Ven en 0 PWL(0 0 {t_on} 0 {t_on_e} {hi})"
        enb = f"Venb enb 0 PWL(0 {hi} {t_on} {hi} {t_on_e} 0)"
    elif on:
        en, enb = f"Ven en 0 {hi}", "Venb enb 0 0"
    else:
        up, down = ["0 0"], [f"0 {hi}"]
        for k in range(reads):
            t_on, t_off = T_ON_S + k * period_s, T_OFF_S + k * period_s
            edges = [(t_on, False), (t_on + EDGE_S, True), (t_off, True),
                     (t_off + EDGE_S, False)]
            up += [f"{value(t)} {hi if v else 0}" for t, v in edges]
            down += [f"{value(t)} {0 if v else hi}" for t, v in edges]
        en, enb = f"Ven en 0 PWL({' '.join(up)})", f"Venb enb 0 PWL({' '.join(down)})"
    return [*ota.gated_subckt(), f"Vdd vdd 0 {hi}", f"Vbg vbg 0 {hi}",
            *ota.bias_generator("vbp", "vbg", p), f"Cdec vbp 0 {value(c_dec_f)}", en, enb]


def _input(i_a: Value, t_end_s: float | None = None, tag: str = "", k: int = 1,
           reads: int = 1, period_s: float = T_END_S) -> list[str]:
    """``k`` x the input current ``i_a`` into ``s<tag>`` from ``T_READ_S`` (to
    ``t_end_s``, if given), through ``Vsense<tag>``; ``reads`` > 1: once per cycle
    ``period_s`` apart, each to its disable (``t_end_s`` or ``T_OFF_S``)."""
    i = value(i_a, k)
    wave = ["0 0"]
    for n in range(reads):
        r0 = T_READ_S + n * period_s
        wave += [f"{value(r0)} 0", f"{value(r0 + EDGE_S)} {i}"]
        end = t_end_s if reads == 1 else (t_end_s or T_OFF_S)
        if end is not None:
            end += n * period_s
            wave += [f"{value(end)} {i}", f"{value(end + EDGE_S)} 0"]
    return [f"Icol{tag} 0 icol{tag} PWL({' '.join(wave)})", f"Vsense{tag} icol{tag} s{tag} 0"]


def tia_bench(p: ota.OtaParams, i_col_a: Value, r_f_ohm: Value, c_f_f: Value,
              c_bl_f: Value, c_dec_f: Value, v_cm_v: Value, on: bool = False,
              n_share: int = 1, reads: int = 1, period_s: float = T_END_S,
              hold: bool = False) -> list[str]:
    """Netlist lines (no models, ``.temp`` or analysis): the OTA ``p`` (its ``n2``, the
    output stage's copies, set by the caller) in transimpedance feedback ``r_f_ohm``
    (ohm) and ``c_f_f`` (F), the bit line's ``c_bl_f`` (F) and column current ``i_col_a``
    (A, into the sense node, sunk by the output stage), reference ``v_cm_v`` (V), bias-line
    decoupling ``c_dec_f`` (F) shared by ``n_share`` such TIAs (>= 1, module docstring);
    ``reads`` wake/read/disable cycles ``period_s`` (s) apart (1: the single cycle);
    ``hold``: one wake and read, then enabled to the end."""
    def column(tag: str, k: int) -> list[str]:
        s, out = f"s{tag}", f"out{tag}"
        src = ([f"Icol{tag} 0 icol{tag} {value(i_col_a, k)}", f"Vsense{tag} icol{tag} {s} 0"]
               if on else _input(i_col_a, tag=tag, k=k, reads=reads, period_s=period_s))
        return [ota.gated_instance(f"tia{tag}", "vcm", s, out, "vdd", "vbp", "en", "enb",
                                   p=p, m=k),
                f"Rf{tag} {s} {out} {value(r_f_ohm, 1.0 / k)}",
                f"Cf{tag} {s} {out} {value(c_f_f, k)}", f"Cbl{tag} {s} 0 {value(c_bl_f, k)}",
                *src]
    return [*_gated(p, c_dec_f, on, reads, period_s, hold), f"Vcm vcm 0 {value(v_cm_v)}",
            *_shared(column, n_share)]


def integrator_bench(p: ota.OtaParams, cint_f: Value, i_in_a: Value, c_in_f: Value,
                     c_dec_f: Value, v_ref_v: Value, w_rst_um: float = 1.0,
                     n_share: int = 1) -> list[str]:
    """Netlist lines: the OTA ``p`` as the gain-cell column integrator of
    ``ota.integrator`` (``cint_f`` (F) from ``out`` to the inverting input, a SKY130
    nfet reset switch of ``w_rst_um`` across it, both inputs behind their poly gate
    resistance, reference ``v_ref_v`` (V), the bit line's ``c_in_f`` (F)). The reset is
    closed while it wakes (the OTA follows ``v_ref_v``) and opens at the read, when
    ``i_in_a`` (A) flows into the input for ``T_INTEGRATE_S`` (negative: drawn out, as the
    cells sink it): the output moves by -i_in x T_INTEGRATE_S / cint. ``n_share`` such
    integrators (>= 1) share the bias line and its ``c_dec_f`` (module docstring)."""
    rg = ota.gate_resistance_ohm(p.w1_um, p.l1_um)
    hi, r0 = value(VDD_V), value(T_READ_S)
    rst = f"Vrst rst 0 PWL(0 {hi} {r0} {hi} {value(T_READ_S + EDGE_S)} 0)"

    def column(tag: str, k: int) -> list[str]:
        s, out, gp, gn = f"s{tag}", f"out{tag}", f"gp{tag}", f"gn{tag}"
        r_g = rg if k == 1 else (f"{{({rg.strip('{}')})/{k}}}" if rg.startswith("{")
                                 else value(float(rg) / k))
        return [f"Rgp{tag} vref {gp} {r_g}", f"Rgn{tag} {s} {gn} {r_g}",
                ota.gated_instance(f"int{tag}", gp, gn, out, "vdd", "vbp", "en", "enb",
                                   p=p, m=k),
                f"Cint{tag} {out} {s} {value(cint_f, k)}",
                mos(f"rst{tag}", "n", out, "rst", s, "0", w_rst_um, 0.15, m=k),
                f"Cin{tag} {s} 0 {value(c_in_f, k)}", *([rst] if not tag else []),
                *_input(i_in_a, T_READ_S + T_INTEGRATE_S, tag, k)]
    return [*_gated(p, c_dec_f, False), f"Vref vref 0 {value(v_ref_v)}",
            *_shared(column, n_share)]


def _shared(column, n_share: int) -> list[str]:
    """The observed column (no suffix) and, for ``n_share`` > 1, the others as one
    instance of multiplier n_share - 1 (``column(tag, multiplier)``: its lines)."""
    if isinstance(n_share, bool) or not isinstance(n_share, int) or n_share < 1:
        raise ValueError(f"n_share must be a whole number >= 1, got {n_share!r}")
    return [*column("", 1), *(column("_o", n_share - 1) if n_share > 1 else [])]
