"""Two-stage Miller OTA (recipe ``ota``): DC gain, gain-bandwidth, phase margin, slew
rate, output swing, supply power and input-referred noise of the SKY130 OTA of
``circuits/ota.py`` (the gain-cell column integrator's amplifier).

One deck, three benches, each on its own supply source:

* A (open loop): the OTA with unity DC feedback through 1 GOhm and 1 F to ground at
  the inverting input (the loop opens above ~1e-9 Hz), ``vin`` (AC 1) on the
  non-inverting input at ``vcm_v``, load ``cl_f``. ``op`` gives the supply power and
  the transistors' gm/gds; ``ac`` the open-loop gain, GBW (unity-gain frequency) and
  phase margin (180 deg + phase at the GBW); ``noise`` the input-referred noise
  density (its floor: the minimum between 1 Hz and the GBW). ngspice 46 runs noise only with the Sparse solver: the deck asks for it.
* B (unity-gain follower, load ``cl_f``): input steps (50 ps edges) between ``vcm_v``
  -+ half of ``step_v``; slew rate = the output's slope between its 40 % and 60 %
  crossings (mid-edge, where the step slews), rising and falling edges.
* C (inverting, gain -1 about vcm with 100 kOhm resistors): the input swept in DC near
  both ends of the output range (20 mV steps); the output swing is the range of
  outputs within 10 mV of the ideal 2 vcm - vin (the 10 mV crossing found in 20 mV
  input steps, then refined in 1 mV steps).
"""
from __future__ import annotations

import numpy as np

from ...circuits import ota
from ...circuits.netlist import ParamRef
from ..params import Param, format_number
from ..recipe import Output, Recipe, register_recipe
from ..waveform import crossings

_D = ota.OtaParams
T_STEP_UP_S, T_STEP_DN_S, T_END_S = 2e-9, 32e-9, 62e-9
SWING_TOL_V = 0.01        # output swing: |out - ideal| within 10 mV (1/180 of the supply)
R_SWING_OHM = 100e3       # bench C's resistors (assumption: light load, <= 13 uA)

OP_QUANTITIES = (("gm1_s", "m1", "gm"), ("gm3_s", "m3", "gm"), ("gm6_s", "m6", "gm"),
                 ("gds2_s", "m2", "gds"), ("gds4_s", "m4", "gds"), ("gds6_s", "m6", "gds"),
                 ("gds7_s", "m7", "gds"), ("i5_a", "m5", "id"), ("i7_a", "m7", "id"))


@register_recipe
class Ota(Recipe):
    """Two-stage Miller OTA: open-loop AC, noise, slew, swing and supply power."""

    name = "ota"
    # v2: noise floor sought below the GBW; swing crossing refined in 1 mV input steps
    version = 3   # 3: junction areas on every transistor (circuits/ota.py)
    summary = ("two-stage Miller OTA (SKY130, PMOS input): gain, GBW, phase margin, slew, "
               "swing, supply power, input noise")
    params = (
        Param("ibias_a", _D.ibias_a, "A", "reference = tail current", min=1e-6,
              max=100e-6),  # design choice (circuits/ota.py): 20 uA, GBW ~100 MHz
        Param("k2", _D.k2, "", "second-stage / tail current ratio", min=1.0,
              max=16.0),  # design choice: 4
        Param("cc_f", _D.cc_f, "F", "Miller capacitor", min=20e-15,
              max=5e-12),  # design choice: 250 fF
        Param("rz_ohm", _D.rz_ohm, "Ohm", "nulling resistor in series with Cc", min=1.0,
              max=1e5),  # ~1/gm6 (Allen & Holberg eq. 7.2-35)
        Param("cl_f", 100e-15, "F", "load capacitance", min=1e-15,
              max=10e-12),  # assumption: comparator input + wiring
        Param("vcm_v", 0.45, "V", "input common-mode level", min=0.0,
              max=0.8),  # the gain-cell integrator's virtual ground (REFERENCE.md)
        Param("vdd_v", 1.8, "V", "supply", min=1.4, max=1.98),  # SKY130 1.8 V core
        Param("step_v", 0.4, "V", "follower input step for the slew rate", min=0.05,
              max=0.8),  # assumption: inside the PMOS pair's input range
    )
    outputs = (
        Output("a0_db", "dB", (), "open-loop DC gain (at 1 Hz)"),
        Output("gbw_hz", "Hz", (), "unity-gain frequency of the open-loop gain"),
        Output("pm_deg", "deg", (), "phase margin at the unity-gain frequency"),
        Output("sr_rise_v_per_s", "V/s", (), "follower slew rate, rising (40-60 % of a step_v step)"),
        Output("sr_fall_v_per_s", "V/s", (), "follower slew rate, falling (40-60 % of a step_v step)"),
        Output("v_out_min_v", "V", (), "lowest output within 10 mV of the ideal (gain -1)"),
        Output("v_out_max_v", "V", (), "highest output within 10 mV of the ideal"),
        Output("p_supply_w", "W", (), "supply power at the operating point (bias branch "
               "included)"),
        Output("vn_floor_v_per_rthz", "V/rtHz", (), "lowest input-referred noise density "
               "over 1 Hz .. GBW (the white floor between flicker and the roll-off)"),
        Output("vn_1khz_v_per_rthz", "V/rtHz", (), "input-referred noise density at 1 kHz "
               "(flicker)"),
    ) + tuple(Output(n, "S" if n.startswith("g") else "A", (), f"operating point: {w} of "
                     f"{d}") for n, d, w in OP_QUANTITIES)

    def inner_axes(self, p):
        return []

    def body(self, tech, p):
        op = ota.OtaParams(ibias_a=ParamRef("ibias_a"), k2=ParamRef("k2"),
                           cc_f=ParamRef("cc_f"), rz_ohm=ParamRef("rz_ohm"))
        r = format_number(R_SWING_OHM)
        return [
            # ngspice 46 refuses `noise` with KLU; this small deck solves with Sparse
            ".options sparse",
            *ota.subckt(),
            "Vdda vdda 0 {vdd_v}", "Vddb vddb 0 {vdd_v}", "Vddc vddc 0 {vdd_v}",
            "Vcm cm 0 {vcm_v}",
            # A: open loop, DC feedback only
            "Vin inpa cm DC 0 AC 1",
            ota.instance("a", "inpa", "inna", "outa", "vdda", "0", op),
            "Rfba outa inna 1e9", "Cbiga inna 0 1", "Cla outa 0 {cl_f}",
            # B: unity-gain follower, input steps
            "Vstep inpb 0 PULSE({vcm_v-step_v/2} {vcm_v+step_v/2} "
            f"{format_number(T_STEP_UP_S)} 50p 50p "
            f"{format_number(T_STEP_DN_S - T_STEP_UP_S - 50e-12)} 1)",
            ota.instance("b", "inpb", "outb", "outb", "vddb", "0", op),
            "Clb outb 0 {cl_f}",
            # C: inverting amplifier, gain -1 about vcm
            "Vsw vsw 0 0",
            f"R1c vsw innc {r}", f"R2c innc outc {r}",
            ota.instance("c", "cm", "innc", "outc", "vddc", "0", op),
            "Clc outc 0 {cl_f}",
        ]

    def simulate(self, ng, p):
        out = {}
        vec = ng.run(["op"])
        out["p_supply_w"] = float(p["vdd_v"] * -np.asarray(vec["vdda#branch"])[0])
        for name, dev, what in OP_QUANTITIES:
            out[name] = abs(_op_value(ng, ota.device_vector("a", dev, what)))
        vec = ng.run(["ac dec 40 1 1e10"])
        f = np.real(np.asarray(vec["frequency"]))
        h = np.asarray(vec["outa"])
        g = np.abs(h)
        out["a0_db"] = float(20 * np.log10(g[0]))
        ph = np.unwrap(np.angle(h)) * 180 / np.pi
        below = np.nonzero(g < 1.0)[0]
        if len(below) and below[0] > 0:
            k = int(below[0])
            # interpolate in log f / log |H| to |H| = 1
            a = np.log(g[k - 1]) / (np.log(g[k - 1]) - np.log(g[k]))
            lf = np.log(f[k - 1]) + a * (np.log(f[k]) - np.log(f[k - 1]))
            out["gbw_hz"] = float(np.exp(lf))
            out["pm_deg"] = float(180 + ph[k - 1] + a * (ph[k] - ph[k - 1]))
        else:
            out["gbw_hz"] = out["pm_deg"] = float("nan")
        vec = ng.run(["noise v(outa) vin dec 20 1 1e10"])
        spec = ng.vectors("noise1")
        fn = np.real(np.asarray(spec["frequency"]))
        vn = np.real(np.asarray(spec["inoise_spectrum"]))
        # the floor is sought below the GBW only: above it this OTA's input-referred
        # density peaks and falls again toward 10 GHz (the output noise no longer divided
        # by a gain), and at low bias that far end dipped under the in-band floor (5 uA:
        # 25 nV/rtHz at 10 GHz vs 49 nV/rtHz in band), a minimum in a band the amplifier
        # does not serve, which made the "floor" rise with bias up to 12 uA
        band = fn <= out["gbw_hz"] if np.isfinite(out["gbw_hz"]) else np.ones_like(fn, bool)
        out["vn_floor_v_per_rthz"] = float(np.min(vn[band]))
        out["vn_1khz_v_per_rthz"] = float(np.exp(np.interp(np.log(1e3), np.log(fn),
                                                           np.log(vn))))
        vec = ng.run([f"tran 10p {format_number(T_END_S)} 0 20p"])
        t, vb = np.asarray(vec["time"]), np.asarray(vec["outb"])
        lo_v, hi_v = p["vcm_v"] - p["step_v"] / 2, p["vcm_v"] + p["step_v"] / 2
        out["sr_rise_v_per_s"] = _slew(t, vb, lo_v, hi_v, T_STEP_UP_S, T_STEP_DN_S)
        out["sr_fall_v_per_s"] = _slew(t, vb, hi_v, lo_v, T_STEP_DN_S, T_END_S)
        # the two ends only (each DC point of this high-gain loop costs ~0.15 s): outputs
        # from 2 vcm + 0.5 V up to 2 vcm + 1.1 V and down to 2 vcm - 1.1 V, 20 mV steps
        vcm = p["vcm_v"]

        def swing_end(lo: float, hi: float, step: float):
            vec = ng.run([f"dc vsw {format_number(lo)} {format_number(hi)} "
                          f"{format_number(step)}"])
            vin = np.real(np.asarray(vec["v-sweep"]))
            vo = np.asarray(vec["outc"])
            ideal = 2 * vcm - vin
            return _swing_end(vo, np.abs(vo - ideal), np.abs(ideal - p["vdd_v"] / 2), vin)

        ends = []
        for a, b in ((-1.1, -0.5), (0.5, 1.1)):
            end = swing_end(a, b, 0.02)
            if np.isfinite(end[1][0]):
                # the error grows steeply near the rail: interpolating its 10 mV crossing
                # between 20 mV input steps put ~1 mV of step-to-step noise on the swing,
                # so the bracketing step is swept again in 1 mV steps
                end = swing_end(*sorted(end[1]), 0.001)
            ends.append(end[0])
        out["v_out_max_v"], out["v_out_min_v"] = ends
        return out


def _op_value(ng, vector: str) -> float:
    """One operating-point value printed by ngspice (``print``)."""
    for m in ng.command(f"print {vector}"):
        if "=" in m:
            return float(m.split("=", 1)[1].split()[0])
    raise RuntimeError(f"ngspice printed no value for {vector}")


def _swing_end(vo, err, depth, vin) -> tuple[float, tuple[float, float]]:
    """The output level where the error from the ideal first exceeds SWING_TOL_V, going
    outward (``depth``: the ideal output's distance from mid-supply), linearly
    interpolated (NaN if never within it), and the two inputs ``vin`` bracketing that
    crossing (NaN if there is none)."""
    order = np.argsort(depth)   # inside first
    vo, err, vin = vo[order], err[order], vin[order]
    nan = (float("nan"), float("nan"))
    if err[0] >= SWING_TOL_V:
        return float("nan"), nan
    bad = np.nonzero(err >= SWING_TOL_V)[0]
    if not len(bad):
        return float(vo[-1]), nan
    k = int(bad[0])
    a = (SWING_TOL_V - err[k - 1]) / (err[k] - err[k - 1])
    return float(vo[k - 1] + a * (vo[k] - vo[k - 1])), (float(vin[k - 1]), float(vin[k]))


def _slew(t, v, v0, v1, t0, t1) -> float:
    """|dV/dt| of the output between its 40 % and 60 % crossings of the v0 -> v1 step
    within [t0, t1], V/s: mid-edge, where a large step is slewing (the edge's start
    carries the input's feedthrough spike, its end the linear settling). NaN if the
    output does not get there."""
    m = (t >= t0) & (t <= t1)
    ts = []
    for frac in (0.4, 0.6):
        c = [tc for tc, _ in crossings(t[m], v[m], v0 + frac * (v1 - v0))]
        if not c:
            return float("nan")
        ts.append(c[0])
    return float(abs(0.2 * (v1 - v0)) / max(ts[1] - ts[0], 1e-15))
