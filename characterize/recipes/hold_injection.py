"""The column readout's sample-and-hold as it opens (recipe ``hold-injection``).

The bench is recipe ``tia-noise``'s: crossbar-column's TIA held enabled, its output stage
and feedback as that deck sets them for the column at ``frac_on``, the column's read
current at ``level`` of its full read flowing (DC), its cells a resistor to the
reference, the bit line's capacitance;
on its output the hold of ``circuits/crossbar.sample_hold`` (a transmission gate of
``w_hold_um`` n and p into ``c_hold_ff``). Here the switch's gates are driven: tracking
until ``T_OPEN_S``, then the n gate falls to ground and the p gate rises to VDD together
in ``t_edge_s`` (assumption: one SKY130 inverter's edge into the two gates, ~100 ps).

What the opening leaves on the capacitor: the channel charge of both devices and their
gate-overlap coupling (charge injection and clock feed-through; a hand estimate is
W L Cox (VDD - v - Vt) / 2 / c_hold for each device, of opposite sign for n and p) and,
while the converters take the held outputs in turn, the switch's and capacitor's leakage
(droop). A noise analysis sees neither: it is a signal-dependent offset, which is what
matters here. The G+ and G- bit lines of a weight each have a hold, so their common
pedestal cancels in the difference; what does not cancel is its change with the
column's level.

Outputs: ``v_track_v`` (the hold's voltage just before it opens), ``pedestal_v`` (held
minus tracked, 3 ns after the edge, once the injected charge has settled between the
capacitor and the TIA's output), ``droop_v`` (the held voltage's change over
``t_hold_s`` after that), ``swing_v`` (v_cm - v_track: the read's signal at the hold),
``i_pedestal_a`` (the pedestal referred to the column current through the column's
trimmed feedback r_f, as the converter's gain trim reads it).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ...circuits.crossbar import sample_hold
from ...circuits.gated_ota import VDD_V
from ...circuits.netlist import ParamRef
from ..params import Param, format_number
from ..recipe import Output, Recipe, register_recipe
from ..waveform import value_at
from .crossbar import RF_PARAM
from .crossbar_params import readout_params
from .crossbar_transient import check_virtual_ground
from .tia_noise import column_bench
from .wake import tia_bench_params

#: the bench's own c_hold_ff text: a hold is required here (the readout's text allows none).
#: The default is the shipped readout's (characterize/defaults.py READOUT, which imports
#: the recipes, so it is restated here; tests/test_hold_injection.py holds them equal)
HOLD_DOC = ("sample-and-hold capacitor on the TIA output, through a closed transmission "
            "gate; the pedestal is read on it [default: the shipped readout's 1 pF]")

#: tracking until here (the bench starts at its operating point, so nothing settles)
T_OPEN_S = 2e-9
#: the pedestal is read this long after the edge ends (the injected charge shared
#: between the capacitor and the TIA output through the opening switch)
T_SETTLE_S = 3e-9


@register_recipe
class HoldInjection(Recipe):
    """The sample-and-hold on a crossbar column's TIA: pedestal and droop as it opens."""

    name = "hold-injection"
    version = 1
    summary = ("column readout's sample-and-hold opening (SKY130 transmission gate into "
               "the hold capacitor): charge-injection pedestal and droop (ngspice transient)")
    params = tia_bench_params() + (
        Param("frac_on", 0.25, "", "fraction of the column's cells ON (its conductance "
              "and feedback trim, as tia-noise) [default: assumption]", min=0.0, max=1.0),
        Param("level", 1.0, "", "the read's current as a fraction of the column's full "
              "read (every input at v_read): where the output sits, at the same trim "
              "[default: the full read]", min=0.0, max=1.0),
        # a hold is what this bench measures: none is refused where every input is checked
        *(dataclasses.replace(q, default=1000.0, min=1.0, doc=HOLD_DOC)
          if q.name == "c_hold_ff" else q
          for q in readout_params() if q.name in ("c_hold_ff", "w_hold_um")),
        Param("t_edge_s", 100e-12, "s", "the hold clock's edge [default: assumption, one "
              "SKY130 inverter into the switch's two gates]", min=10e-12, max=5e-9),
        Param("t_hold_s", 1e-6, "s", "how long the sample is held after the edge "
              "[default: assumption, longer than a tile's conversion pass]",
              min=1e-9, max=1e-3),
        Param("tight", "no", "", "numerics: 'no' (reltol 1e-4, steps <= t_edge_s) or "
              "'yes' (Gear, reltol 1e-6, steps <= t_edge_s / 10: the reference run)", choices=("no", "yes"),
              kind="choice", structural=True),
    )
    outputs = (
        Output("v_track_v", "V", (), "the hold's voltage just before it opens"),
        Output("pedestal_v", "V", (), "held minus tracked voltage after the edge"),
        Output("droop_v", "V", (), "the held voltage's change over t_hold_s"),
        Output("swing_v", "V", (), "v_cm minus the tracked voltage"),
        Output("i_pedestal_a", "A", (), "the pedestal over the column's trimmed r_f"),
    )

    def body(self, tech, p):
        t0, t1 = format_number(T_OPEN_S), format_number(T_OPEN_S + float(p["t_edge_s"]))
        hi = format_number(VDD_V)          # the bench's supply: the gates swing rail to rail
        return [*column_bench(p, "DC", "level"),
                f"Vrf rf_probe 0 {{{RF_PARAM}}}",      # the trimmed feedback, read back
                f"Vphi phi 0 PWL(0 {hi} {t0} {hi} {t1} 0)",
                f"Vphib phib 0 PWL(0 0 {t0} 0 {t1} {hi})",
                *sample_hold("", "out", "hold", "vdd", ParamRef("w_hold_um"),
                             float(p["c_hold_ff"]), phi="phi", phi_b="phib"),
                ".options reltol=1e-6 method=gear" if p["tight"] == "yes"
                else ".options reltol=1e-4"]

    def commands(self, p):
        # steps of at most one edge (a tenth in the reference run): the PWL breakpoints
        # land a step on each end of the edge, and the hold after it is quiet
        edge = float(p["t_edge_s"])
        t_max = edge / 10 if p["tight"] == "yes" else edge
        t_end = T_OPEN_S + edge + T_SETTLE_S + float(p["t_hold_s"])
        return [f"tran {format_number(edge / 10)} {format_number(t_end)} 0 "
                f"{format_number(t_max)}"]

    def measure(self, vec, p):
        t = np.real(np.asarray(vec["time"]))
        hold = np.real(np.asarray(vec["hold"]))
        out = np.real(np.asarray(vec["out"]))
        v_cm = float(np.real(np.asarray(vec["vcm"]))[0])
        i_col = abs(float(np.real(np.asarray(vec["vsense#branch"]))[0]))
        check_virtual_ground(float(np.real(np.asarray(vec["s"]))[0]) - v_cm,
                             float(out[0]), i_col, p)
        v_track = value_at(t, hold, T_OPEN_S)
        t_held = T_OPEN_S + float(p["t_edge_s"]) + T_SETTLE_S
        v_held = value_at(t, hold, t_held)
        pedestal = v_held - v_track
        swing = v_cm - v_track
        return {"v_track_v": v_track, "pedestal_v": pedestal,
                "droop_v": float(hold[-1]) - v_held, "swing_v": swing,
                "i_pedestal_a": pedestal / float(np.real(np.asarray(vec["rf_probe"]))[0])}
