"""The crossbar column TIA's own output noise, against the read it must resolve.

The bench is the enabled TIA of recipe ``tia-wake`` (``circuits/gated_ota.py``
``tia_bench``, on: DC column current, :func:`.ota_wake.deck`), the SKY130 OTA of the
shipped crossbar-column sweep (40 uA tail, r_f 25 ohm, Rz 2.5 kOhm) at the design
current of a 128-row, 0.2 V column (672 uA). ngspice ``noise`` (Sparse: ngspice 46
refuses it with KLU) gives the output density; its square is integrated from ``f_lo``
up to ``f_hi`` (trapezoids in f). What the read must resolve: the swing I x r_f, and one
differential cell pair at full weight, (g_on - g_off) x v0 sinh(v_read / v0) (the 1T1R
law of crossbar-column, v0 0.5 V): 20.3 uA at 100/1 uS and 0.2 V.

Why it matters: a TIA refers its OTA's input noise v_n to its input as a current
v_n (1 / r_f + 1 / Z_bl); a 25 ohm feedback makes that large against the cells' currents.
The accuracy model's column reads carry the cells' read noise, not this one (docs/
devices.md, "The crossbar TIA's own noise"). Run ``python -m
imcspice.characterize.tia_noise [--r-f 25 100] [--i-col 672e-6]``.
"""
from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

import numpy as np

from ..cli import positive_float_arg
from . import ngspice, ota_wake

#: the shipped crossbar-column sweep's cell and read (characterize/defaults.py)
G_ON_S, G_OFF_S, V_READ_V, V0_V = 100e-6, 1e-6, 0.2, 0.5
#: one differential cell pair at full weight, read at V_READ_V (A)
I_CELL_A = (G_ON_S - G_OFF_S) * V0_V * math.sinh(V_READ_V / V0_V)


@dataclass(frozen=True)
class TiaNoise:
    f_hz: np.ndarray            # frequencies of the noise analysis (Hz)
    density_v: np.ndarray       # output noise density (V/rtHz)
    swing_v: float              # the read's swing I x r_f (V)
    r_f_ohm: float

    def rms_v(self, f_lo_hz: float = 1e3, f_hi_hz: float = 1e10) -> float:
        """Output noise (V rms) integrated over [f_lo_hz, f_hi_hz]."""
        m = (self.f_hz >= f_lo_hz) & (self.f_hz <= f_hi_hz)
        return float(np.sqrt(np.trapezoid(self.density_v[m] ** 2, self.f_hz[m])))

    def cells(self, f_lo_hz: float = 1e3, f_hi_hz: float = 1e10) -> float:
        """That noise referred to the input, in full-weight cell pairs (I_CELL_A)."""
        return self.rms_v(f_lo_hz, f_hi_hz) / self.r_f_ohm / I_CELL_A

    def density_at(self, f_hz: float) -> float:
        return float(np.exp(np.interp(np.log(f_hz), np.log(self.f_hz),
                                      np.log(self.density_v))))


def measure(c: ota_wake.WakeCase) -> TiaNoise:
    """The enabled TIA of ``c`` (its column current flowing), output noise 1 kHz-10 GHz."""
    deck = ota_wake.deck(c, on=True)
    # an AC-capable input source for `noise` (its input-referred figure is not used)
    deck = deck.replace("Vcm vcm 0 ", "Vcm vcm 0 AC 0 DC ", 1)
    deck = deck.replace("\n.end\n", "\n.options sparse\n.end\n")
    ng = ngspice.get()
    ng.load(deck)
    ng.run(["op"])
    ng.run(["noise v(out) vcm dec 40 1e3 1e10"])
    s = ng.vectors("noise1")
    return TiaNoise(np.real(np.asarray(s["frequency"])),
                    np.real(np.asarray(s["onoise_spectrum"])), c.i_col_a * c.r_f_ohm,
                    c.r_f_ohm)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m imcspice.characterize.tia_noise",
        description="Output noise of the crossbar column's SKY130 OTA TIA (ngspice noise "
                    "analysis), against its read swing and one full-weight cell pair's "
                    f"current ({I_CELL_A * 1e6:.1f} uA at 100/1 uS, 0.2 V).")
    ap.add_argument("--r-f", type=positive_float_arg, nargs="+", default=[25.0],
                    help="feedback resistances, ohm (25: the shipped sweep's)")
    ap.add_argument("--i-col", type=positive_float_arg, default=672e-6,
                    help="column current, A (672 uA: 128 rows at the design load)")
    ap.add_argument("--f-band", type=positive_float_arg, nargs="+", default=[150e6, 1e10],
                    help="upper integration limits, Hz (150 MHz: the OTA's GBW)")
    ap.add_argument("--temp", type=float, default=27.0, help="temperature, C")
    a = ap.parse_args(argv)
    print("| r_f | swing | band | output noise | % of swing | cell pairs (input-referred) |")
    print("|---|---|---|---|---|---|")
    for r_f in a.r_f:
        n = measure(ota_wake.WakeCase(i_col_a=a.i_col, r_f_ohm=r_f, temp_c=a.temp))
        for f_hi in a.f_band:
            v = n.rms_v(f_hi_hz=f_hi)
            print(f"| {r_f:g} ohm | {n.swing_v * 1e3:.2f} mV | 1 kHz-{f_hi:.3g} Hz | "
                  f"{v * 1e3:.3f} mV | {100 * v / n.swing_v:.2f} | {n.cells(f_hi_hz=f_hi):.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
