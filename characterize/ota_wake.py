"""How long a power-gated SKY130 OTA TIA takes to wake, and what the wake costs.

The analog periphery is priced for its own read or conversion window only, as if
power-gated between uses with a free, instant wake-up (the stated assumption of every
TIA and integrator figure, docs/devices.md). This measures what that leaves out, on
the transimpedance readout of a bit line: the OTA of ``circuits/ota.py`` gated by
``gated_subckt`` (tail and output stage switched off between reads, the bias line
``vbp`` kept by one always-on generator shared by the array), in feedback with ``r_f``
and ``c_f`` on a bit line of ``c_bl_f``. At ``T_ON_S`` the enable rises and the column
current steps on (``i_col_a`` into the bit line, sunk by the output stage as a crossbar
column's is: the read's inputs start with the enable); at ``T_OFF_S`` the enable falls.

Outputs (``Wake``):

* ``t_wake_s``: enable to the last time the output is further than ``settle_frac`` of
  the swing from its value 1 ns before the disable;
* ``p_on_w``: the OTA's supply power at the end of the on window (its steady read);
* ``e_wake_j``: the OTA's supply energy over the wake ``[T_ON_S, T_ON_S + t_wake_s]``;
  per-read gating adds it to each read, next to ``p_on_w`` x the read window;
* ``e_off_j``: the OTA's supply energy after the disable (the pull-up turning M5 and M7
  off), to the end of the run; ``p_bias_w``: the shared generator's power;
* ``p_off_w``: the OTA's supply power 1 ns before the enable (gated off: leakage);
* ``v_out_v``: the settled output (a DC check: ``v_cm - i_col x r_f``).

Run ``python -m imcspice.characterize.ota_wake`` for the table in docs/devices.md.
Numerics: reltol 1e-4, 5 ps maximum step; ``tight=True`` is the reference (Gear,
reltol 1e-6, 1 ps steps; tests/test_ota_wake.py compares them).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

from ..circuits import ota
from ..circuits.technology import get_technology
from . import ngspice
from .params import format_number as f
from .waveform import charge, value_at

T_ON_S, T_OFF_S, T_END_S = 5e-9, 105e-9, 165e-9
EDGE_S = 50e-12


@dataclass(frozen=True)
class WakeCase:
    """One gated TIA: OTA tail ``ibias_a`` (A; 40 uA and ``r_f_ohm`` 25 ohm as the
    shipped crossbar-column sweep's TIAs), column current ``i_col_a`` (A; the output
    stage's copies n2 follow it as in that deck, circuits/ota.py output_stage_scale),
    reference ``v_cm_v``, bit-line ``c_bl_f`` and feedback ``c_f_f`` (F), bias-line
    decoupling ``c_dec_f`` (F, shared by the array; 1 nF: a stiff line, as a bias
    buffer would make it; assumption), settled within ``settle_frac`` of the swing
    ``i_col x r_f`` (1 %: the deck's t_settle_s band), ``temp_c`` (C), SKY130 ``corner``."""

    ibias_a: float = 40e-6
    i_col_a: float = 672e-6
    r_f_ohm: float = 25.0
    v_cm_v: float = 0.45
    c_bl_f: float = 170e-15
    c_f_f: float = 20e-15
    c_dec_f: float = 1e-9
    settle_frac: float = 0.01
    temp_c: float = 27.0
    corner: str = "tt"

    @property
    def n2(self) -> float:
        return ota.output_stage_scale(self.i_col_a, ota.OtaParams(ibias_a=self.ibias_a))

    @property
    def band_v(self) -> float:
        return self.settle_frac * self.i_col_a * self.r_f_ohm


@dataclass(frozen=True)
class Wake:
    t_wake_s: float
    p_on_w: float
    e_wake_j: float
    e_off_j: float
    p_bias_w: float
    p_off_w: float
    v_out_v: float


def deck(c: WakeCase, tight: bool = False, on: bool = False) -> str:
    """The netlist (models, the gated OTA, its bias generator, the bit line); ``on``:
    enabled and the column current on throughout (DC sources), for an operating point."""
    tech = get_technology()
    p = ota.OtaParams(ibias_a=c.ibias_a, n2=c.n2)
    t_on, off, e = f(T_ON_S), f(T_OFF_S), EDGE_S
    L = ["* gated OTA TIA wake-up (imcspice.characterize.ota_wake)"]
    L += tech.model_lines(c.corner, False)
    L += [f".temp {f(c.temp_c)}", *ota.gated_subckt(),
          "Vdd vdd 0 1.8", "Vbg vbg 0 1.8", *ota.bias_generator("vbp", "vbg", p),
          f"Cdec vbp 0 {f(c.c_dec_f)}",
          "Ven en 0 1.8" if on else
          f"Ven en 0 PWL(0 0 {t_on} 0 {f(T_ON_S + e)} 1.8 {off} 1.8 {f(T_OFF_S + e)} 0)",
          "Venb enb 0 0" if on else
          f"Venb enb 0 PWL(0 1.8 {t_on} 1.8 {f(T_ON_S + e)} 0 {off} 0 {f(T_OFF_S + e)} 1.8)",
          f"Vcm vcm 0 {f(c.v_cm_v)}",
          ota.gated_instance("tia", "vcm", "s", "out", "vdd", "vbp", "en", "enb", p=p),
          f"Rf s out {f(c.r_f_ohm)}", f"Cf s out {f(c.c_f_f)}", f"Cbl s 0 {f(c.c_bl_f)}",
          f"Icol 0 s {f(c.i_col_a)}" if on else
          f"Icol 0 s PWL(0 0 {t_on} 0 {f(T_ON_S + e)} {f(c.i_col_a)})",
          ".options reltol=1e-6 method=gear" if tight else ".options reltol=1e-4",
          ".end"]
    return "\n".join(L) + "\n"


def measure(c: WakeCase, tight: bool = False) -> Wake:
    """Simulate ``c`` and return its :class:`Wake` (module docstring)."""
    ng = ngspice.get()
    ng.load(deck(c, tight))
    step = 1e-12 if tight else 5e-12
    r = ng.run([f"tran {f(step)} {f(T_END_S)} 0 {f(step)}"])
    t = np.asarray(r["time"])
    v = np.asarray(r["out"])
    p_ota = -1.8 * np.asarray(r["vdd#branch"])
    v_set = value_at(t, v, T_OFF_S - 1e-9)
    on = (t >= T_ON_S) & (t <= T_OFF_S)
    outside = np.nonzero(on & (np.abs(v - v_set) > c.band_v))[0]
    t_wake = float(t[outside[-1]] - T_ON_S) if len(outside) else 0.0
    return Wake(t_wake, value_at(t, p_ota, T_OFF_S - 1e-9),
                charge(t, p_ota, T_ON_S, T_ON_S + t_wake), charge(t, p_ota, T_OFF_S, T_END_S),
                float(-1.8 * np.asarray(r["vbg#branch"])[-1]),
                value_at(t, p_ota, T_ON_S - 1e-9), v_set)


def settled_op_v(c: WakeCase) -> float:
    """The output at the DC operating point of the enabled TIA (another path to the
    value the transient settles to)."""
    ng = ngspice.get()
    ng.load(deck(c, on=True))
    return float(np.asarray(ng.run(["op"])["out"])[0])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m imcspice.characterize.ota_wake",
        description="Wake-up time and energy of a power-gated SKY130 OTA TIA (ngspice): "
                    "what the periphery's 'gated between uses, wake-up free' pricing "
                    "leaves out. One row per column current; the output stage follows "
                    "it as in the crossbar-column deck (circuits/ota.py output_stage_scale).")
    ap.add_argument("--ibias", type=float, default=40e-6, help="OTA tail current, A")
    ap.add_argument("--r-f", type=float, default=25.0, help="feedback resistance, ohm")
    ap.add_argument("--i-col", type=float, nargs="+",
                    default=[168e-6, 336e-6, 672e-6, 1344e-6],
                    help="full-scale column currents, A (default: n2 = 1, 2.1, 4.2, 8.4)")
    ap.add_argument("--c-dec", type=float, nargs="+", default=[1e-9, 20e-12],
                    help="bias-line decoupling, F (1 nF: a stiff line, as a bias buffer "
                         "would make it; 20 pF: the generator's diode alone)")
    ap.add_argument("--temp", type=float, default=27.0, help="temperature, C")
    a = ap.parse_args(argv)
    print("| bias line | I_col | n2 | t_wake | P on | E wake | P on x t_wake | E after disable |")
    print("|---|---|---|---|---|---|---|---|")
    for cd in a.c_dec:
        for i in a.i_col:
            c = WakeCase(ibias_a=a.ibias, i_col_a=i, r_f_ohm=a.r_f, c_dec_f=cd, temp_c=a.temp)
            w = measure(c)
            print(f"| {cd * 1e12:g} pF | {i * 1e6:g} uA | {c.n2:.3g} | {w.t_wake_s * 1e9:.1f} ns | "
                  f"{w.p_on_w * 1e3:.3f} mW | {w.e_wake_j * 1e12:.2f} pJ | "
                  f"{w.p_on_w * w.t_wake_s * 1e12:.2f} pJ | {w.e_off_j * 1e12:.3f} pJ |")
    print(f"(bias generator, shared by the array: {w.p_bias_w * 1e6:.1f} uW)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
