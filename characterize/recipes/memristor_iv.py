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
from ..params import Param
from ..recipe import Axis, Output, Recipe, register_recipe, sweep_values

_V = sweep_values(-0.6, 0.6, 25)  # covers the 0.2–0.55 V read range (REFERENCE.md)


@register_recipe
class MemristorIV(Recipe):
    name = "memristor-iv"
    version = 2   # 2: filament + gap law with temperature (netlists/memristor.spice)
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
