"""The area of a column readout, drawn from the netlist it was simulated as.

A bit line's readout is its transimpedance amplifier, the power-gated two-stage OTA of
``circuits/ota.py gated_subckt`` (the TIA the tia-wake model wakes and the
crossbar-column model reads with: its input pair, mirror, tail, output stage, Miller
capacitor and gating switches), and its sample-and-hold (``circuits/crossbar.py
sample_hold``: a transmission gate into a MIM capacitor). Both are laid out by
:func:`.layouts.netlist_area_mm2` at the sizes the crossbar-column model was swept at:
its pinned settings (the OTA's sizes, tail current, Cc, the hold), else the recipe's
defaults. The output stage's copies ``n2`` are the ones the crossbar-column
deck gives a column of the tile's rows read at its voltage: the recipe's own expression
(``output_stage_scale_expr`` of its design current), evaluated, not re-derived.

Not drawn (each report's detail says so): the feedback resistor r_f with its per-column
trim, the nulling resistor Rz (poly resistors of a few squares), and the tile's one
always-on bias generator (a reference and one diode, shared by its 2 x cols TIAs).

The gain-cell column's readout (:func:`integrator_area_mm2`) likewise: the power-gated
OTA at the gaincell-readout model's tail current, its integrating capacitor and reset
switch (``circuits/ota.py integrator``, the lines the deck simulates), and the StrongARM
latch whose decisions the comparator model prices (``circuits/comparator.py``).
"""
from __future__ import annotations

from ..characterize.recipes.crossbar import CrossbarColumn
from ..characterize.recipes.gaincell_readout import GainCellReadout
from ..circuits import comparator, crossbar, ota
from . import layouts
from .hardware import HardwareModels

#: the crossbar-column settings of the OTA's sizes (OtaParams field ``w1_um`` as
#: ``ota_w1_um``; its subcircuit parameter ``w1``)
_SIZES = ("ota_w1_um", "ota_l1_um", "ota_w3_um", "ota_l3_um", "ota_w6_um", "ota_l6_um")


def _settings(model, recipe=CrossbarColumn) -> dict[str, float]:
    """A model's settings: pinned in its sweep, else its recipe's defaults."""
    out = {p.name: float(p.default) for p in recipe.params
           if isinstance(p.default, (int, float)) and not isinstance(p.default, bool)}
    for name, rng in model.valid_range.items():
        if len(rng) == 2 and isinstance(rng[0], (int, float)) and rng[0] == rng[1]:
            out[name] = float(rng[0])
    return out


def readout_netlist(hw: HardwareModels, rows: int, v_read_v: float
                    ) -> tuple[list[str], dict[str, float], float]:
    """(netlist lines of one bit line's TIA and hold, their parameter values, n2) for a
    tile of ``rows`` rows read at ``v_read_v`` (V), at the crossbar-column model's
    settings."""
    xbm = hw.need("crossbar-column")
    s = _settings(xbm)
    p = {"rows": int(rows), "device": getattr(xbm, "device", "1t1r")}
    env = {**s, "v_read_v": float(v_read_v)}
    n2 = layouts.evaluate_expr(ota.output_stage_scale_expr(
        CrossbarColumn.full_scale_expr(p), "ota_ibias_a", float(ota.OtaParams.k2),
        "ota_n2_min"), env)
    sub, head = _gated_ota(s["ota_ibias_a"], n2, cc=s["ota_cc_ff"] * 1e-15,
                           **{f[4:-3]: s[f] for f in _SIZES if f in s})
    lines = list(sub)
    c_hold = float(s.get("c_hold_ff", 0.0))
    if c_hold > 0:
        lines += crossbar.sample_hold("0", "out", "hold", "vdd", float(s.get("w_hold_um", 1.0)),
                                      c_hold)
    return lines, head, n2


def tia_area_mm2(hw: HardwareModels, rows: int, v_read_v: float,
                 node_nm: int) -> tuple[float, str]:
    """(mm^2 at ``node_nm``, detail) of one bit line's readout (module docstring)."""
    lines, env, n2 = readout_netlist(hw, rows, v_read_v)
    mm2, detail = layouts.netlist_area_mm2(lines, env, node_nm)
    return mm2, (f"one bit line's TIA (power-gated two-stage OTA, output stage n2 = "
                 f"{n2:.3g} copies at {rows} rows, {v_read_v:g} V) and sample-and-hold, "
                 f"from the crossbar-column model's netlist: {detail}; not drawn: r_f and "
                 "its trim, Rz, the tile's bias generator")


def _gated_ota(ibias_a: float, n2: float = 1.0, **sizes) -> tuple[list[str], dict]:
    """The power-gated OTA's subcircuit lines and their parameter values."""
    sub = ota.gated_subckt()
    env = {k: layouts.evaluate_expr(v, {}) for k, v in
           (t.split("=", 1) for t in sub[0].split() if "=" in t)}
    env.update({"ibias": float(ibias_a), "n2": float(n2), **sizes})
    return sub, env


def integrator_area_mm2(hw: HardwareModels, node_nm: int) -> tuple[float, str]:
    """(mm^2 at ``node_nm``, detail) of one gain-cell column readout (module docstring)."""
    s = _settings(hw.need("gaincell-readout"), GainCellReadout)
    sub, env = _gated_ota(s["ota_ibias_a"])
    lines = [ln for ln in ota.integrator("int", "vref", "in", "out", "vdd", "rst",
                                         s["cint_f"]) if not ln.startswith("Xint ")]
    # the latch alone: its load capacitors are the next stage's gates (0 F here, not drawn)
    latch = comparator.strongarm_lines(comparator.StrongArm(), inp="out", inn="ramp",
                                       clk="clk", outp="p", outm="m", c_load=0.0)
    mm2, detail = layouts.netlist_area_mm2(sub + lines + latch, env, node_nm)
    return mm2, (f"one column's integrator (power-gated two-stage OTA at "
                 f"{s['ota_ibias_a'] * 1e6:g} uA, {s['cint_f'] * 1e15:g} fF integrating "
                 f"capacitor, reset switch) and StrongARM latch, from the gaincell-readout "
                 f"and comparator netlists: {detail}; not drawn: Rz, the bias generator, "
                 "the ramp generator")
