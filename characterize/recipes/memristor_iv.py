"""Memristor read I–V: the device model the ACAM and crossbar circuits use.

The cell (``netlists/memristor.spice``) is conductance-parameterized: a metallic
filament (ohmic, TCR alpha) in parallel with the Stanford-PKU HfOx gap term
(sinh(V/v0), thermally activated), the metallic share growing with the programmed state.
This recipe measures I(V) over the read range for a programmed ``g`` (its 27 C low-field
conductance) at the sweep's temperatures (``.temp``, read by the subcircuit through
ngspice's ``temper``), so the fitted behavioral model and the circuit netlists share one
device definition.
"""
from __future__ import annotations

import numpy as np

from ... import netlists
from ...models import memristor as mem
from ..params import Param
from ..recipe import Axis, Output, Recipe, register_recipe, sweep_values

_V = sweep_values(-0.6, 0.6, 25)  # covers the 0.2–0.55 V read range (REFERENCE.md)


@register_recipe
class MemristorIV(Recipe):
    name = "memristor-iv"
    version = 3   # 2-3: filament + gap law with temperature (netlists/memristor.spice)
    summary = "memristor read current vs. voltage for a programmed conductance"
    params = (
        # 1–150 uS programming range of 6T2M ACAM cells (Li et al., Nat. Commun. 2020).
        Param("g_us", 50.0, "uS", "programmed low-field conductance at 27 C", min=0.1,
              max=1000.0),
        Param("v0_v", 0.5, "V", "gap-path sinh voltage (see netlists/memristor.spice)",
              min=0.05, max=10.0),
    )
    outputs = (
        Output("i_a", "A", ("v_v",), "read current"),
        Output("g_read_s", "S", ("v_v",), "chord conductance I/V (NaN at 0 V)"),
    )

    def inner_axes(self, p):
        return [Axis("v_v", "V", _V)]

    def body(self, tech, p):
        return [netlists.include("memristor.spice"),
                "Xm p 0 imc_memristor g={g_us*1e-6} v0={v0_v}",
                "Vp p 0 0"]

    def commands(self, p):
        return ["dc vp -0.6 0.6 0.05"]

    def measure(self, vec, p):
        i = -vec["vp#branch"]
        v = np.asarray(_V)
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(np.abs(v) > 1e-12, i / v, np.nan)
        return {"i_a": i, "g_read_s": g}


def mc_conductance_lines(src: str, out: str, switch: str | None = None) -> list[str]:
    """``.param`` line defining ``out`` [uS] as recipe parameter ``src`` [uS] (a target
    conductance) with one Monte-Carlo draw of the memristor's programming error and read
    noise when the global MC_MM_SWITCH is 1 (SKY130's mismatch switch, on under --mc;
    seeded by the engine's setseed), else exactly ``src``. For recipes that hold the
    conductance as a number or control voltage (netlists/acam.spice) instead of an
    imc_memristor instance, which draws its own. Same statistics as imc_memristor:
    sigma_prog = sqrt(G_defect G) bounded at +-3 sigma, read sigma = rtn sqrt(G g_q)
    (here at the target G: the draw must appear once per parameter, ngspice re-draws a
    .param at every use). ``out`` must be used exactly once (one cell). ``switch``: an
    optional 0/1 recipe parameter that gates the draw as well."""
    for name in (src, out) + ((switch,) if switch else ()):
        if not name.isidentifier():
            raise ValueError(f"{name!r} is not a parameter name")
    b = mem.PROGRAM_BOUND_SIGMAS
    prog = f"sqrt({mem.PROGRAM_G_DEFECT_US:.10g}*{src})*max(-{b}, min({b}, agauss(0, 1, 1)))"
    read = f"{mem.READ_RTN_REL:.10g}*sqrt({src}*{mem.G_Q_S * 1e6:.10g})*agauss(0, 1, 1)"
    gate = f"MC_MM_SWITCH*{switch}" if switch else "MC_MM_SWITCH"
    return [f".param {out}={{max({src} + {gate}*({prog} + {read}), 0)}}"]
