"""How long a power-gated SKY130 OTA TIA takes to wake, and what the wake costs: a
table at chosen column currents and bias-line decouplings.

The bench is recipe ``tia-wake``'s (``circuits/gated_ota.py``; the recipe's module
docstring says what is measured), which sweeps the crossbar column's own TIA over rows,
read voltage and temperature into the shipped model that prices each read's wake-up
(``models/data/tia-wake.model.h5``). Here the column current ``i_col_a`` and the OTA's
sizes are given directly (``WakeCase``), and the shared bias generator's power is read
too (``Wake.p_bias_w``).

Run ``python -m imcspice.characterize.ota_wake`` for the table in docs/devices.md;
``--share`` puts that many TIAs, woken together, on the one bias line (a tile's 2 x cols)
and ``--reads`` makes it a train of wakes (docs/devices.md "The shared bias line").
Numerics: reltol 1e-4, 5 ps maximum step; ``tight=True`` is the reference (Gear,
reltol 1e-6, 1 ps steps; tests/test_ota_wake.py compares them).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

from ..circuits import gated_ota, ota
from ..circuits.technology import get_technology
from ..cli import positive_arg, positive_float_arg
from . import ngspice
from .params import format_number as f
from .recipes import wake as recipe


#: the shortest cycle a train takes: enable to disable, and 10 ns off
MIN_PERIOD_S = gated_ota.T_OFF_S + 10e-9


@dataclass(frozen=True)
class WakeCase:
    """One gated TIA: OTA tail ``ibias_a`` (A), nulling resistor ``rz_ohm`` and feedback
    ``r_f_ohm`` (ohm; 40 uA, 2.5 kOhm and 25 ohm as the shipped crossbar-column sweep's
    TIAs), column current ``i_col_a`` (A; the output
    stage's copies n2 follow it as in that deck, circuits/ota.py output_stage_scale),
    reference ``v_cm_v``, bit-line ``c_bl_f`` (128 rows x 1 fF, crossbar-column's
    c_bl_cell_ff) and feedback ``c_f_f`` (F), bias-line
    decoupling ``c_dec_f`` (F, shared by the array; 1 nF: a stiff line, as a bias
    buffer would make it; assumption) shared by ``n_share`` TIAs woken together (1: this
    one alone, as the shipped models price it; a tile reads 2 x cols at once), settled
    within ``settle_frac`` of the swing ``i_col x r_f`` (1 %: the deck's t_settle_s
    band), ``temp_c`` (C), SKY130 ``corner``."""

    ibias_a: float = 40e-6
    i_col_a: float = 672e-6
    rz_ohm: float = 2500.0
    r_f_ohm: float = 25.0
    v_cm_v: float = 0.45
    c_bl_f: float = 128e-15
    c_f_f: float = 20e-15
    c_dec_f: float = 1e-9
    n_share: int = 1
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
    dv_bias_v: float
    dv_bias_max_v: float


def deck(c: WakeCase, tight: bool = False, on: bool = False, reads: int = 1,
         period_s: float = gated_ota.T_END_S, hold: bool = False) -> str:
    """The netlist (models, the bench of circuits/gated_ota.py); ``on``: enabled and the
    column current on throughout (DC sources), for an operating point; ``reads``
    wake/read/disable cycles ``period_s`` (s) apart; ``hold``: woken once, never
    disabled (TIAs biased through an operator)."""
    tech = get_technology()
    p = ota.OtaParams(ibias_a=c.ibias_a, rz_ohm=c.rz_ohm, n2=c.n2)
    L = ["* gated OTA TIA wake-up (imcspice.characterize.ota_wake)"]
    L += tech.model_lines(c.corner, False)
    L += [f".temp {f(c.temp_c)}",
          *gated_ota.tia_bench(p, c.i_col_a, c.r_f_ohm, c.c_f_f, c.c_bl_f, c.c_dec_f,
                               c.v_cm_v, on=on, n_share=c.n_share, reads=reads,
                               period_s=period_s, hold=hold),
          ".options reltol=1e-6 method=gear" if tight else ".options reltol=1e-4", ".end"]
    return "\n".join(L) + "\n"


def transient(text: str, t_end_s: float, step_s: float = recipe.STEP_S):
    """ngspice's vectors (:class:`.ngspice.Vectors`, numpy arrays by name) of the
    netlist ``text`` over 0..``t_end_s`` (s), at most ``step_s`` (s) a step."""
    ng = ngspice.get()
    ng.load(text)
    step = f(step_s)
    return ng.run([f"tran {step} {f(t_end_s)} 0 {step}"])


def wake_of(r, c: WakeCase) -> Wake:
    """The :class:`Wake` in the single-cycle vectors ``r`` of ``c``'s bench (its ``Vdd``
    feeds all ``n_share`` TIAs: the observed one's share)."""
    w = recipe.wake(r["time"], r["out"], -gated_ota.VDD_V * r["vdd#branch"] / c.n_share,
                    c.band_v, c.i_col_a, -gated_ota.VDD_V * r["vbg#branch"], r["vbp"])
    return Wake(w["t_wake_s"], w["p_on_w"], w["e_wake_j"], w["e_off_j"], w["p_bias_w"],
                w["p_off_w"], w["v_out_v"], w["dv_bias_v"], w["dv_bias_max_v"])


def measure(c: WakeCase, tight: bool = False) -> Wake:
    """Simulate ``c`` and return its :class:`Wake` (module docstring)."""
    return wake_of(transient(deck(c, tight), gated_ota.T_END_S,
                             recipe.STEP_TIGHT_S if tight else recipe.STEP_S), c)


def train(c: WakeCase, reads: int, period_s: float) -> tuple[list[float], list[float]]:
    """``reads`` wake/read/disable cycles ``period_s`` (s, >= :data:`MIN_PERIOD_S`) apart:
    the bias line at each read's start less its value before the
    first enable (V), and the output at each read's end (V). Each wake swings the gates
    of every TIA on the line from VDD to it, and between wakes only the generator's
    reference current sinks that charge, so a shared line climbs read after read."""
    if reads < 1 or period_s < MIN_PERIOD_S:
        raise ValueError(f"give reads >= 1 and a period >= {MIN_PERIOD_S:g} s")
    r = transient(deck(c, reads=reads, period_s=period_s), reads * period_s)
    t, v, out = r["time"], r["vbp"], r["out"]
    rest = float(np.interp(gated_ota.T_ON_S - 1e-9, t, v))
    return ([float(np.interp(gated_ota.T_READ_S + k * period_s, t, v)) - rest
             for k in range(reads)],
            [float(np.interp(gated_ota.T_OFF_S - 1e-9 + k * period_s, t, out))
             for k in range(reads)])


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
    ap.add_argument("--ibias", type=positive_float_arg, default=40e-6,
                    help="OTA tail current, A")
    ap.add_argument("--r-f", type=positive_float_arg, default=25.0,
                    help="feedback resistance, ohm")
    ap.add_argument("--i-col", type=positive_float_arg, nargs="+",
                    default=[168e-6, 336e-6, 672e-6, 1344e-6],
                    help="full-scale column currents, A (default: n2 = 1, 2.1, 4.2, 8.4)")
    ap.add_argument("--c-dec", type=positive_float_arg, nargs="+", default=[1e-9, 20e-12],
                    help="bias-line decoupling, F (1 nF: a stiff line, as a bias buffer "
                         "would make it; 20 pF: the generator's diode alone)")
    ap.add_argument("--share", type=positive_arg, nargs="+", default=[1],
                    help="TIAs on the bias line, woken together (1: this one alone, as the "
                         "shipped models price it; a 128-column tile reads 256 at once)")
    ap.add_argument("--temp", type=float, default=27.0, help="temperature, C")
    ap.add_argument("--reads", type=positive_arg, default=1,
                    help="wake/read/disable cycles in a row (> 1: also print the bias line "
                         "at each read and the output at each read's end)")
    ap.add_argument("--period", type=positive_float_arg, default=200e-9,
                    help="with --reads: s from one enable to the next (>= 175 ns: the "
                         "disable 165 ns after the enable, and 10 ns off; default 200 ns, "
                         "about RACE-IT's read step plus its tile's conversions)")
    a = ap.parse_args(argv)
    if a.reads > 1:
        if a.period < MIN_PERIOD_S:
            ap.error(f"--period must be >= {MIN_PERIOD_S:g} s (a cycle's enable to disable, "
                     "and 10 ns off)")
        for n in a.share:
            for cd in a.c_dec:
                for i in a.i_col:
                    c = WakeCase(ibias_a=a.ibias, i_col_a=i, r_f_ohm=a.r_f, c_dec_f=cd,
                                 n_share=n, temp_c=a.temp)
                    dv, out = train(c, a.reads, a.period)
                    print(f"{n} TIAs, {cd * 1e12:g} pF, {i * 1e6:g} uA: line at each read "
                          + " ".join(f"{x * 1e3:+.1f}" for x in dv) + " mV; output at each "
                          "read's end " + " ".join(f"{x:.4f}" for x in out) + " V")
        return 0
    print("| TIAs on the line | bias line | I_col | n2 | t_wake | P on | E wake | "
          "P on x t_wake | E after disable | line at the read | largest excursion |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n in a.share:
        for cd in a.c_dec:
            for i in a.i_col:
                c = WakeCase(ibias_a=a.ibias, i_col_a=i, r_f_ohm=a.r_f, c_dec_f=cd,
                             n_share=n, temp_c=a.temp)
                w = measure(c)
                print(f"| {n} | {cd * 1e12:g} pF | {i * 1e6:g} uA | {c.n2:.3g} | "
                      f"{w.t_wake_s * 1e9:.1f} ns | {w.p_on_w * 1e3:.3f} mW | "
                      f"{w.e_wake_j * 1e12:.2f} pJ | {w.p_on_w * w.t_wake_s * 1e12:.2f} pJ | "
                      f"{w.e_off_j * 1e12:.3f} pJ | {w.dv_bias_v * 1e3:+.1f} mV | "
                      f"{w.dv_bias_max_v * 1e3:.1f} mV |")
    print(f"(bias generator, shared by the array: {w.p_bias_w * 1e6:.1f} uW)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
