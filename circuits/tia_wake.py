"""The wake-up bench of a power-gated bit-line TIA: one gated OTA (``ota.gated_subckt``)
in transimpedance feedback on a bit line, its bias line driven by the array's shared,
always-on generator.

Timing (s): the enable rises at ``T_ON_S`` (``EDGE_S`` edges) with no column current:
the amplifier wakes before its read, so the read that follows is the one the
crossbar-column deck measures (from a biased OTA) and the two energies add. The column
current steps on at ``T_READ_S`` (the read), the enable falls at ``T_OFF_S``, the run ends
at ``T_END_S``. ``on=True`` holds the TIA enabled and the
current on throughout (DC sources), for an operating point.

Nodes: ``out`` (the TIA output), ``s`` (the bit line / sense node), ``vbp`` (the bias
line); supplies ``Vdd`` (the OTA's, 1.8 V) and ``Vbg`` (the generator's); the column
current flows through the 0 V source ``Vsense`` (its branch current reads it back).
Every value is a number or a :class:`.netlist.ParamRef` (a sweep alters it in place).
"""
from __future__ import annotations

from . import ota
from .netlist import Value, value

#: 100 ns for the wake (the slowest measured: 82 ns, with a weak bias line) and 60 ns for
#: the read (crossbar-column's settling: <= 50 ns over its sweep)
T_ON_S, T_READ_S, T_OFF_S, T_END_S = 5e-9, 105e-9, 165e-9, 225e-9
EDGE_S = 50e-12
VDD_V = 1.8


def bench(p: ota.OtaParams, i_col_a: Value, r_f_ohm: Value, c_f_f: Value, c_bl_f: Value,
          c_dec_f: Value, v_cm_v: Value, on: bool = False) -> list[str]:
    """Netlist lines (no models, ``.temp`` or analysis): the OTA ``p`` (its ``n2``, the
    output stage's copies, set by the caller) gated by ``en``/``enb``, feedback ``r_f_ohm``
    (ohm) and ``c_f_f`` (F), the bit line's ``c_bl_f`` (F) and column current ``i_col_a``
    (A, into the sense node, sunk by the output stage), reference ``v_cm_v`` (V), bias-line
    decoupling ``c_dec_f`` (F)."""
    t_on, t_off, t_read = value(T_ON_S), value(T_OFF_S), value(T_READ_S)
    t_on_e, t_off_e = value(T_ON_S + EDGE_S), value(T_OFF_S + EDGE_S)
    hi = value(VDD_V)
    if on:
        en, enb, icol = f"Ven en 0 {hi}", "Venb enb 0 0", f"Icol 0 icol {value(i_col_a)}"
    else:
        en = f"Ven en 0 PWL(0 0 {t_on} 0 {t_on_e} {hi} {t_off} {hi} {t_off_e} 0)"
        enb = f"Venb enb 0 PWL(0 {hi} {t_on} {hi} {t_on_e} 0 {t_off} 0 {t_off_e} {hi})"
        icol = (f"Icol 0 icol PWL(0 0 {t_read} 0 {value(T_READ_S + EDGE_S)} "
                f"{value(i_col_a)})")
    return [*ota.gated_subckt(), f"Vdd vdd 0 {hi}", f"Vbg vbg 0 {hi}",
            *ota.bias_generator("vbp", "vbg", p), f"Cdec vbp 0 {value(c_dec_f)}",
            en, enb, f"Vcm vcm 0 {value(v_cm_v)}",
            ota.gated_instance("tia", "vcm", "s", "out", "vdd", "vbp", "en", "enb", p=p),
            f"Rf s out {value(r_f_ohm)}", f"Cf s out {value(c_f_f)}",
            f"Cbl s 0 {value(c_bl_f)}", icol, "Vsense icol s 0"]
