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
