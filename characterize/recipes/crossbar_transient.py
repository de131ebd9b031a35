"""crossbar-column's read transient: the inputs step from 0 V at t = 0 and the recipe
reads the energy the input drivers and the OTA supply deliver over the read and the TIA
output's 1 % settling time (:class:`.crossbar.CrossbarColumn` says what each output
means), plus the operating-point check that the OTA kept its virtual ground."""
from __future__ import annotations

import math

import numpy as np

from ...circuits import crossbar as cb
from ..params import format_number
from ..waveform import settling_time, window_energy

# Transient time step: t_read_s / 200 (ngspice adds points where needed; the 1 %
# crossing is interpolated; checked against t_read_s / 2000: < 0.1 % change).
TRAN_POINTS = 200
# Settling band (1 % of the output step) and how far the transient is extended (in read
# pulses, x4 at a time) when the output has not settled within one pulse.
SETTLE_TOL = 0.01
SETTLE_MAX_PULSES = 64
# OTA TIA bit line within this of v_cm, V (offset + finite gain: ~1 mV measured)
VG_TOL_V = 0.02


def tran_command(t_stop_s: float) -> str:
    """The ngspice transient over 0..``t_stop_s`` (s), TRAN_POINTS steps."""
    dt = format_number(t_stop_s / TRAN_POINTS)
    return f"tran {dt} {format_number(t_stop_s)} 0 {dt}"


def read_transient(ng, tran_cmd: str, p, rows, v_out: float, cm: float,
                   node: str | None = None) -> dict:
    """Run the read pulse's transient ``tran_cmd`` (after the operating point) and return
    ``e_read_j`` (input drivers ``rows``), ``e_tia_j`` (OTA supply; NaN for the behavioral
    TIA) and ``t_settle_s`` of ``node`` (default the TIA output; the sample-and-hold's
    capacitor where the converter reads that) relative to ``cm`` (V) towards its DC value
    ``v_out`` (V). The energy window is the pulse ``t_read_s``, or 0..t_settle_s with
    ``read_window = settled``."""
    t_read = p["t_read_s"]
    node = cb.out_node(0) if node is None else node
    tr = ng.run([tran_cmd])
    e_read = source_energy(tr, rows, t_read)
    e_tia = (supply_energy(tr, cb.TIA_SUPPLY, t_read) if p["tia"] == "ota"
             else math.nan)
    t_settle = settling_time(tr["time"], tr[node] - cm, v_out, SETTLE_TOL)
    t_stop = t_read
    # Not settled within the read pulse: extend the transient (the energy stays the
    # energy of one pulse of t_read_s) so the settling time is still measured.
    while math.isnan(t_settle) and v_out != 0.0 and t_stop < SETTLE_MAX_PULSES * t_read:
        t_stop *= 4
        tr = ng.run([tran_command(t_stop)])
        t_settle = settling_time(tr["time"], tr[node] - cm, v_out, SETTLE_TOL)
    if p["read_window"] == "settled":
        # the read ends at the settled output; tr (the last, longest transient)
        # covers it. NaN when the output never settled.
        if math.isnan(t_settle):
            e_read = e_tia = math.nan
        else:
            e_read = source_energy(tr, rows, t_settle)
            e_tia = (supply_energy(tr, cb.TIA_SUPPLY, t_settle) if p["tia"] == "ota"
                     else math.nan)
    return {"e_read_j": e_read, "e_tia_j": e_tia, "t_settle_s": t_settle}


def check_virtual_ground(err_v: float, v_node: float, i_a: float, p) -> None:
    """Refuse a point whose OTA TIA lost its virtual ground (r_f too large: the output
    clips, and the currents would describe the clipping, not the column)."""
    if abs(err_v) > VG_TOL_V:
        raise ValueError(f"TIA virtual ground lost: bit line {err_v * 1e3:.1f} mV from v_cm, "
                         f"output at {v_node:.3f} V with {i_a * 1e6:.4g} uA; "
                         + (f"tia_swing_v {p['tia_swing_v']:g}" if p.get("tia_swing_v", 0)
                            else f"r_f_ohm {p['r_f_ohm']:g}")
                         + " is too large for this column (r_f <= (v_cm - 0.15 V) / I)")


def source_energy(tr, rows, t_end: float) -> float:
    """∫_0^t_end Σ_r V_r·I_r dt delivered by input sources ``rows`` (trapezoid)."""
    t = tr["time"]
    power = np.zeros_like(t)
    for r in rows:
        # the branch current flows into the source's + node: delivered power is -V·I
        power -= tr[f"in{r}"] * tr[cb.input_source(r) + "#branch"]
    return window_energy(t, power, t_end)


def supply_energy(tr, source: str, t_end: float) -> float:
    """∫_0^t_end V·I dt delivered by the supply ``source`` (node of the same name)."""
    return window_energy(tr["time"], -tr[source] * tr[source + "#branch"], t_end)
