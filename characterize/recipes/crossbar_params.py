"""Parameters of the crossbar recipes: those shared by crossbar-column and crossbar-array
(the cell device, the wire resistances, the memristor law and access transistor, the
TIA), and crossbar-column's whole list (:func:`column_params`: its pattern, read, OTA
and read-window parameters)."""
from __future__ import annotations

import dataclasses

from ...circuits import crossbar as cb
from ...circuits import ota
from ..npy_param import IntParam
from ..params import Param, format_number

PATTERNS = ("random", "spread")
READ_WINDOWS = ("pulse", "settled")


def device_param():
    return Param("device", "1t1r", "", "cell: linear (ideal resistor) or 1t1r (memristor + "
                 "SKY130 nfet access transistor)", choices=cb.DEVICES, kind="choice",
                 structural=True)


def wire_params():
    # ~1–10 ohm per cell segment (REFERENCE.md, crossbar column); 5 ohm: mid-range.
    return (
        Param("r_wl_ohm", 5.0, "ohm", "word-line resistance per cell segment (driver to "
              "column 0, then between columns) [default: REFERENCE.md 1-10 ohm]",
              min=1e-6, max=1e4),
        Param("r_bl_ohm", 5.0, "ohm", "bit-line resistance per cell segment (between rows, "
              "then last row to the sense node) [default: REFERENCE.md 1-10 ohm]",
              min=1e-6, max=1e4),
    )


def device_params():
    return (
        # netlists/memristor.spice default (an assumption to replace with device data).
        Param("v0_v", 0.5, "V", "memristor sinh non-linearity voltage (1t1r only) "
              "[default: netlists/memristor.spice, assumption]", min=0.05, max=10.0),
        # Assumption: W = 1 um at minimum L gives ~0.9 kOhm on-resistance at Vgs = 1.8 V
        # (measured with the tt models), small next to Ron = 50 kOhm.
        Param("w_access_um", 1.0, "um", "access nfet width, L = 0.15 um (1t1r only) "
              "[default: assumption, ~0.9 kOhm on]", min=0.42, max=100.0),
    )


def structural_device_params():
    """:func:`device_params` with the access width structural: the recipes hoist the
    access transistor's model card to the top level of the deck, one bin of one geometry
    (circuits/technology.py Sky130.hoisted_device), so the width is a number in the deck."""
    return tuple(dataclasses.replace(q, structural=True) if q.name == "w_access_um" else q
                 for q in device_params())


def tia_params():
    return (
        # Assumption: 2 kOhm keeps a 256-row, half-ON column at 20 uS / 0.2 V within
        # +-1.8 V (the TIA model itself does not clip: |v_out_v| > 1.8 V flags an r_f
        # too large for the signal).
        Param("r_f_ohm", 2e3, "ohm", "TIA feedback resistance (V_out = -I·r_f at DC) "
              "[default: assumption, fits 1.8 V]", min=1.0, max=1e9),
        # Assumption: 100 dB, a typical op-amp DC gain (behavioral TIA).
        Param("a0_v_per_v", 1e5, "V/V", "TIA op-amp DC gain [default: assumption]",
              min=10.0, max=1e12),
    )


def ota_compensation_params():
    """The crossbar-column TIA's Miller compensation and output-stage floor (tia = ota).
    Recipe parameters, not circuits/ota.py OtaParams defaults: the gain-cell integrator
    recipes and the ota recipe share those and their shipped models. Defaults = OtaParams
    (cc_f, rz_ohm) and the one-copy floor of circuits/ota.py output_stage_scale, so the
    default deck is recipe version 5's.

    Design (Allen & Holberg sec. 6.2; ngspice operating point of the shipped sweep's deck:
    40 uA tail, r_f 25 ohm, 0.2 V, 27 C): GBW = gm1/(2 pi Cc) = 0.249 mS / (2 pi 250 fF)
    = 159 MHz; p2 ~ gm6 Cc / (C1 C2 + Cc (C1 + C2)), C1 = M6's gate (~98 fF per copy),
    C2 = M6/M7's drains plus the bit line through r_f (~1.3 fF per row): ~0.9 GHz at 32
    rows (n2 1.06, gm6 1.32 mS), ~0.6 GHz at 128 (n2 4.2, gm6 5.2 mS); the zero 1/(Cc
    (1/gm6 - Rz)) is in the left half-plane (1/gm6 = 0.76 / 0.19 kOhm): 0.51 / 0.35 GHz
    at Rz 2 kOhm, 0.37 / 0.28 at 2.5 kOhm; Rz's own pole 1/(Rz C1) 0.77 / 0.2 GHz at
    2 kOhm. PM ~ 90 - atan(GBW/p2) + atan(GBW/z) - atan(GBW/p3): 86 / 60 deg (Rz 2 kOhm),
    89 / 59 (2.5 kOhm). Measured on the recipe's deck (r_bl 1 ohm): with every cell OFF the
    word lines' step kicks the output 35-80x its ~0.1-1 mV step and the recovery passes
    the final value by 0.7-2.4 % of the step at Rz 2 kOhm (t_settle 10.2 -> 7.5 ns from 32
    to 48 rows at 27 C, as that overshoot crosses the 1 % band); 2.5 kOhm: <= 0.72 %,
    smooth in rows (8.6-9.1 ns at 27 C, 10.0-10.8 at 95 C); Cc 275 / 300 fF with 2.5 kOhm:
    <= 0.47 / 0.39 %, but the 128-row read at frac_on 1/16 slows 11.0 -> 11.8 (2.5 kOhm),
    13.1 (275 fF), 14.3 ns (300 fF). The 432-point sweep at Rz 2.5 kOhm (230 s, 1.04 s per
    point) held t_settle_s out at 0.43 % FS on the frac_on-0 lines (4.77 at 2 kOhm) but
    6.42 % at the one-copy floor's kink as a table in rows (32 rows, frac_on 0.625, 95 C,
    0.2 V: 6.08 at 2 kOhm); with the settling form that knows the kink
    (models/crossbar_kink.py) 3.12 % FS against 4.01 at 2 kOhm, so the shipped sweep runs
    at 2.5 kOhm (characterize/defaults.py; with rows 24 and 40 around the kink, 720
    points: 1.04 % FS; with frac_on in uniform 1/16 steps, 880 points: 0.52). A lower floor
    removes the kink but not the load: at 0.25 or 0.5 copy the 16-row, 0.2 V stage is 0.53
    copy, sized for the design load, and at frac_on 0.625 (2.5x it) cannot sink the column
    (95 C: v_out +2.59 mV instead of -1.83)."""
    from ...circuits.ota import OtaParams
    return (
        Param("ota_cc_ff", float(OtaParams.cc_f) * 1e15, "fF", "OTA Miller capacitor Cc "
              "(GBW = gm1/(2 pi Cc)) [tia=ota only; default: circuits/ota.py design]",
              min=10.0, max=1e4),
        Param("ota_rz_ohm", float(OtaParams.rz_ohm), "ohm", "OTA nulling resistor Rz in "
              "series with Cc (zero at 1/(Cc (1/gm6 - Rz)): left half-plane for Rz > "
              "1/gm6) [tia=ota only; default: circuits/ota.py design]", min=0.0, max=1e6),
        Param("ota_n2_min", 1.0, "", "floor of the output stage's copy count n2 "
              "(circuits/ota.py output_stage_scale) [tia=ota only; default: 1, the design's "
              "stage]", min=0.05, max=100.0),
    )


#: the OTA's device sizes a readout design may change (circuits/ota.py OtaParams fields)
OTA_SIZES = ("w1_um", "l1_um", "w3_um", "l3_um", "w6_um", "l6_um")
_SIZE_DOC = {"w1": "input pair width", "l1": "input pair length", "w3": "mirror load width",
             "l3": "mirror load length", "w6": "second-stage driver width",
             "l6": "second-stage driver length"}


def readout_params():
    """The column TIA's readout design (tia = ota): the OTA's device sizes, a feedback
    set per column by a swing target, and the sample-and-hold the converter reads. The
    defaults are the design before 2026-12-05 (circuits/ota.py sizes, r_f_ohm for every
    column, no hold); docs/devices.md has the redesign's measurements."""
    return tuple(Param(f"ota_{f}", getattr(ota.OtaParams, f), "um",
                       f"OTA {_SIZE_DOC[f[:2]]} [tia=ota only; default: circuits/ota.py]",
                       min=0.15, max=1000.0) for f in OTA_SIZES) + (
        Param("tia_swing_v", 0.0, "V", "feedback trimmed per column to this swing: r_f "
              "the smooth minimum of r_f_ohm and tia_swing_v / I_col (r_f_value), I_col "
              "the column's current with every input at v_read by the cell law at 27 C at "
              "its ON cells, no wires (trimmed once, r_f_ohm its largest setting); 0: "
              "r_f_ohm for every column [tia=ota only; default: 0]", min=0.0, max=0.6,
              structural=True),
        Param("c_hold_ff", 0.0, "fF", "sample-and-hold capacitor on the TIA output, through "
              "a closed transmission gate; the converter reads it (0: none) [tia=ota only; "
              "default: none]", min=0.0, max=1e5, structural=True),
        Param("w_hold_um", 1.0, "um", "hold switch width, n and p (L 0.15 um) [default: "
              "assumption, ~1 ns with 1 pF]", min=0.42, max=100.0),
    )


#: the swing rule's smooth minimum: r_f = (r_f_ohm^-P + (I / swing)^P)^(-1/P), the
#: smaller of the two within 6 % (16 % where they cross), with no kink for the tables to
#: bridge (a hard min held out 15-27 % FS on the crossbar-column sweep, measured)
SWING_NORM_P = 4


def r_f_value(r_max_ohm: float, swing_v: float, i_col_a: float) -> float:
    """The trimmed feedback (ohm) of a column whose full read draws ``i_col_a`` (A):
    :data:`SWING_NORM_P`-norm minimum of ``r_max_ohm`` and ``swing_v`` / ``i_col_a``."""
    p = SWING_NORM_P
    return float((r_max_ohm ** -p + (i_col_a / swing_v) ** p) ** (-1.0 / p))


def r_f_expr(p, g_col_s: str) -> str:
    """The TIA feedback (ohm) as a netlist expression: ``r_f_ohm``, or with
    ``tia_swing_v`` > 0 :func:`r_f_value` of ``r_f_ohm`` and the swing over the column's
    current, ``g_col_s`` (an expression, S) through the cell law at v_read."""
    if float(p.get("tia_swing_v", 0.0)) <= 0.0:
        return "r_f_ohm"
    law = "v0_v*sinh(v_read_v/v0_v)" if p.get("device", "1t1r") == "1t1r" else "v_read_v"
    n = SWING_NORM_P
    return (f"pow(pow(r_f_ohm,-{n})+pow(({g_col_s})*{law}/"
            f"{format_number(float(p['tia_swing_v']))},{n}),{-1.0 / n:g})")


def column_params():
    """crossbar-column's parameters, in the order its listing and sweeps show them."""
    return (
        # Arrays of 64–256 rows (REFERENCE.md, crossbar column); 64: the small end.
        IntParam("rows", 64, "", "cells in the column [default: REFERENCE.md 64-256]",
                 min=1, max=1024, structural=True),
        device_param(),
        # Ron ~6–100 kOhm (NeuroSim defaults, REFERENCE.md): 20 uS = 50 kOhm.
        Param("g_on_us", 20.0, "uS", "ON-cell conductance [default: REFERENCE.md Ron "
              "6-100 kOhm]", min=1e-3, max=1e4),
        # Roff ~0.9–1.7 MOhm (NeuroSim defaults, REFERENCE.md): 1 uS = 1 MOhm.
        Param("g_off_us", 1.0, "uS", "OFF-cell conductance [default: REFERENCE.md Roff "
              "0.9-1.7 MOhm]", min=1e-6, max=1e4),
        # Assumption: half the cells ON, every input active (a dense read).
        Param("frac_on", 0.5, "", "fraction of cells ON [default: assumption]",
              min=0.0, max=1.0, structural=True),
        Param("frac_active", 1.0, "", "fraction of inputs at v_read_v, others at 0 V "
              "[default: assumption]", min=0.0, max=1.0, structural=True),
        IntParam("pattern_seed", 0, "", "seed of the deterministic ON/active pattern",
                 min=0, max=2**31 - 1, structural=True),
        # "spread" places the ON cells (and active inputs) evenly along the column, so the
        # conductance load is uniform and the IR drop a smooth function of rows and
        # frac_on (a behavioral-model sweep); "random" (seeded) draws one placement, whose
        # far-end clustering moves the drop by up to ~+-3 % (absolute) from rows to rows.
        Param("pattern", "random", "", "placement of the ON cells / active inputs: random "
              "(by pattern_seed) or spread (evenly interleaved) [default: random]",
              choices=PATTERNS, kind="choice", structural=True),
        # Read at 0.2–0.55 V (REFERENCE.md, crossbar column): 0.2 V.
        Param("v_read_v", 0.2, "V", "read voltage on active word lines [default: "
              "REFERENCE.md 0.2-0.55 V]", min=0.01, max=1.0),
        *wire_params(),
        # Assumption: ~1 fF per cell and line (wire ~0.2 fF/um over a ~1–2 um cell pitch
        # plus the access transistor's junction); set 0 to drop the capacitors.
        Param("c_wl_cell_ff", 1.0, "fF", "word-line capacitance per cell [default: "
              "assumption]", min=0.0, max=1e4),
        Param("c_bl_cell_ff", 1.0, "fF", "bit-line capacitance per cell [default: "
              "assumption]", min=0.0, max=1e4),
        # the access width is structural: the hoisted model card is one bin of one geometry
        *structural_device_params(),
        *tia_params(),
        # issue 11: the SKY130 OTA by default; the behavioral op-amp a labelled option
        Param("tia", "ota", "", "bit-line sense amplifier: the SKY130 two-stage Miller OTA "
              "('ota', circuits/ota.py; default) or the behavioral single-pole op-amp "
              "('behavioral': labelled option, no supply, no output limit)", choices=cb.TIA_KINDS, kind="choice",
              structural=True),
        # Assumption: 0.45 V, in the PMOS pair's input range (~0-0.9 V), 0.3 V above the
        # output's low limit (~0.15 V), and low: the bit line is the access transistors'
        # source (128 rows, 1/16 ON, 0.2 V, r_bl 2.5 ohm: drop 15.0 % at 0 V (behavioral),
        # 16.7 % at 0.3 V, 21.9 % at 0.6 V, measured: gate overdrive and body effect)
        Param("v_cm_v", 0.45, "V", "TIA reference (virtual ground of the bit lines; inputs "
              "are referred to it) [tia=ota only; default: assumption]", min=0.0, max=0.9),
        # the 20 uA design point: at 100 uA the 1 % settling of 128 rows, half ON, r_f 25
        # ohm fell from 40 to 13 ns (0.2 V), but M6's Vdsat rose from ~0.19 to ~0.43 V
        # (same widths): an output below v_cm = 0.45 V put it in triode (offsets 2-5 mV)
        Param("ota_ibias_a", ota.OtaParams.ibias_a, "A", "OTA tail bias current; the "
              "output stage follows the column (circuits/ota.py output_stage_scale) "
              "[tia=ota only; default: circuits/ota.py design point]", min=1e-6, max=100e-6),
        # Assumption: a small feedback capacitor, as real TIAs use for phase margin and
        # noise bandwidth (r_f·c_f = 40 ps). The single-pole model is stable without it;
        # 20 fF slows the 1 % settling by ~3–4 % (measured at 64 and 256 rows).
        Param("c_f_ff", 20.0, "fF", "TIA feedback capacitance [default: assumption]",
              min=0.0, max=1e6),
        # Assumption: 500 MHz unity-gain frequency for a 130 nm op-amp (behavioral).
        Param("gbw_hz", 5e8, "Hz", "TIA op-amp unity-gain frequency [default: assumption]",
              min=1e6, max=1e12),
        # Assumption: 20 ns read pulse, long enough for the default TIA to settle a
        # 256-row column (~9 ns at 1 ohm/segment, measured).
        Param("t_read_s", 20e-9, "s", "read pulse width: the energy window [default: "
              "assumption]", min=1e-10, max=1e-5),
        # The OTA settles a 128-row column (load <= 0.25) in 24-46 ns at a 20 uA tail,
        # 14-25 ns at 40 uA (measured), past a 20 ns pulse: 'settled' ends the read
        # when the output has settled to 1 % (the converter samples it then), so the energies cover the same time the architectures price as the
        # read latency (t_settle_s) and the accuracy model (settled output) describes.
        Param("read_window", "pulse", "", "energy window of e_read_j / e_tia_j: 'pulse' "
              "(t_read_s) or 'settled' (0 to t_settle_s: the read lasts until the output "
              "has settled) [default: pulse]", choices=READ_WINDOWS, kind="choice",
              structural=True),
        # issue 12: the accelerators' mapped column loads are a median 0.020 and at most
        # 0.154 of the conductance span (MiniLM's weights mapped as RACE-IT maps them;
        # characterize/defaults.py, tests/test_crossbar_calibration.py). The always-on
        # class-A output stage is sized for that design load with a 1.6x margin (0.25),
        # not for every cell ON (4x its power at 0.25). Assumption, from that measurement.
        Param("i_design_frac", 0.25, "", "design load of the OTA output stage, as a "
              "fraction of the conductance span g_off..g_on with every input at v_read "
              "(I_design = rows·(g_off + f·(g_on - g_off))·law(v_read)); columns beyond "
              "it may lose the virtual ground (a recorded error) [tia=ota only; default: "
              "1.6 x the measured max mapped load 0.154, issue 12]", min=1e-3, max=1.0),
        *ota_compensation_params(),
        *readout_params(),
    )
