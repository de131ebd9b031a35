"""Parameters shared by the crossbar recipes (crossbar-column, crossbar-array): the cell
device, the wire resistances, the memristor law and access transistor, and the TIA."""
from __future__ import annotations

from ...circuits import crossbar as cb
from ..params import Param


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
