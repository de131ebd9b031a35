"""The crossbar column TIA's own noise (recipe ``tia-noise``), referred to its input.

The bench is recipe ``tia-wake``'s TIA held enabled (``circuits/gated_ota.py``
``tia_bench``, ``on``: DC sources), with crossbar-column's parameter names and meaning
and its output stage sized for the column's design current I_design (crossbar-column's
``full_scale_expr``), its feedback as that deck sets it (``r_f_ohm``, or with
``tia_swing_v`` > 0 trimmed to the column at ``frac_on``), and the column's read current
at ``frac_on`` flowing (every input at v_read by the 27 C cell law, no wires; I_design
until 2026-12-05). The column's cells load the bit line: a
resistor of the column's conductance G_col = rows x (g_off + frac_on x (g_on - g_off)) from
the bit line to the reference, noiseless (``noisy=0``: the cells' own Johnson and RTN
noise is the memristor's read noise, :mod:`imcspice.models.memristor`, not the
amplifier's), and the bit line's rows x ``c_bl_cell_ff``. The cells are taken at their
conductance g (the sinh law's slope at 0 V; a driven cell's is cosh(v_read / v0) g,
+8 % at 0.2 V) without their access transistors (which cut a g_on cell's conductance by
~12 %): G_col, and so the noise, is read slightly high (conservative).

Why the load matters: the OTA's input noise v_n appears at the output with the noise gain
1 + r_f G_col, so referred to the input as a current it is v_n (1 / r_f + G_col): a
larger r_f lowers the first term, the column's conductance sets a floor (measured at
r_f 400 ohm and 128 rows with the design current flowing: 0.53 uA rms with every cell
OFF, 0.94 uA half ON; with the column's own current a light column's output stage sits
at its bias alone, and is noisier: 1.58 uA all OFF; docs/devices.md).

ngspice ``noise`` (Sparse: ngspice 46 refuses it with KLU) gives the output density,
integrated from ``F_LO_HZ`` to ``F_HI_HZ`` (trapezoids in f): at the TIA output the
whole of it (the density has fallen by 10 GHz); with a sample-and-hold (``c_hold_ff`` >
0: a transmission gate of ``w_hold_um`` n and p, closed, into c_hold to ground, as
crossbar-column builds it) on its capacitor, which band-limits it. The lower limit:
below 1 kHz the drift is slower than the calibration of the converter ranges
(assumption). The readout's other settings (the OTA's device sizes ``ota_w1_um`` ...,
its feedback ``tia_swing_v``) are crossbar-column's; ``hardware`` refuses a model whose
readout is not the priced crossbar-column model's. With a hold the noise is read on it: what the
switch leaves on the capacitor when it opens is the tracking phase's noise there (the
TIA's, filtered by the switch and c_hold, plus the switch's own: kT/C); charge injection
and clock feed-through, a signal-dependent offset, are not in a noise analysis.

Outputs, all scalars: ``v_noise_v`` (V rms at the output, or on the hold), ``swing_v``
(V: the read's DC swing v_cm - v_out at the column's read current, the OTA's offset
included), ``z_t_ohm`` (the small-signal transimpedance at 1 kHz: the output density
over the density ngspice refers to the column current, the analysis' input),
``i_noise_a`` (A rms: ``v_noise_v`` / ``z_t_ohm``, what the accuracy model adds to each
bit-line read), ``vn_out_1khz_v_per_rthz`` (the output density at 1 kHz),
``i_noise_lf_a`` (the part of ``i_noise_a`` below ``F_LF_HZ``: the flicker noise a
correlated double sample would cancel), ``tau_hold_s`` (the hold's time constant from
its -3 dB frequency against the TIA output; NaN without a hold).
"""
from __future__ import annotations

import math
import re

import numpy as np

from ...circuits.crossbar import sample_hold
from ...circuits.netlist import ParamRef
from ..params import Param
from ..recipe import Output, Recipe, register_recipe
from .crossbar_params import readout_params
from .crossbar_transient import check_virtual_ground
from .wake import tia_bench_params, tia_lines

#: integration band of the output noise (Hz): module docstring
F_LO_HZ, F_HI_HZ = 1e3, 1e10
#: below it the noise is flicker's and moves little over a read: ``i_noise_lf_a``
F_LF_HZ = 1e6


def column_bench(p, source: str, level: str = "") -> list[str]:
    """The enabled TIA of ``tia_lines`` with the column at ``frac_on`` on its bit line:
    its cells a noiseless resistor G_col to the reference, and its own read current
    (every input at v_read, the 27 C cell law, no wires: what the feedback's swing rule
    reads; times ``level``, a parameter name, if given) from a ``source`` ("AC 1 DC":
    the noise analysis' input; "DC")."""
    g_col = f"{int(p['rows'])}*(g_off_us+frac_on*(g_on_us-g_off_us))*1e-6"
    i_col = f"{{{level + '*' if level else ''}({g_col})*v0_v*sinh(v_read_v/v0_v)}}"
    return [*(re.sub(r"^Icol 0 icol .*$", f"Icol 0 icol {source} {i_col}", ln)
              for ln in tia_lines(p, 1e-9, on=True, g_col_s=g_col)),
            f"Rcol s vcm {{1/({g_col})}} noisy=0"]


@register_recipe
class TiaNoise(Recipe):
    """The crossbar column's TIA: output noise, and referred to its input current."""

    name = "tia-noise"
    version = 3     # 2: refuses a lost virtual ground; 3: OTA sizes, hold, i_noise_lf_a
    summary = ("bit-line TIA (SKY130 OTA of crossbar-column) at its column's load: output "
               "noise and input-referred noise current (ngspice noise analysis)")
    params = tia_bench_params() + (
        Param("frac_on", 0.25, "", "fraction of the column's cells ON: its conductance "
              "rows x (g_off + frac_on x (g_on - g_off)) loads the bit line [default: "
              "assumption]", min=0.0, max=1.0),
        *(q for q in readout_params() if q.name in ("c_hold_ff", "w_hold_um")),
    )
    outputs = (
        Output("v_noise_v", "V", (), "output noise, rms over 1 kHz-10 GHz"),
        Output("swing_v", "V", (), "the read's DC swing v_cm - v_out at the column's current"),
        Output("z_t_ohm", "ohm", (), "small-signal transimpedance at 1 kHz"),
        Output("i_noise_a", "A", (), "output noise referred to the input current by the "
               "small-signal transimpedance"),
        Output("vn_out_1khz_v_per_rthz", "V/rtHz", (), "output noise density at 1 kHz"),
        Output("i_noise_lf_a", "A", (), "the part of i_noise_a below 1 MHz (flicker)"),
        Output("tau_hold_s", "s", (), "the hold's time constant (NaN without a hold)"),
    )

    @staticmethod
    def node(p) -> str:
        """Where the noise is read: on the hold's capacitor if there is one."""
        return "hold" if p["c_hold_ff"] > 0 else "out"

    def body(self, tech, p):
        # the column current is the noise analysis' input: ngspice refers the output
        # noise to it, so their ratio at 1 kHz is the small-signal transimpedance (the
        # bias line's decoupling does not matter at the operating point)
        hold = [] if p["c_hold_ff"] <= 0 else sample_hold(
            "", "out", "hold", "vdd", ParamRef("w_hold_um"), float(p["c_hold_ff"]))
        return [*column_bench(p, "AC 1 DC"), *hold,
                # ngspice 46 runs noise only with the Sparse solver
                ".options sparse"]

    def commands(self, p):
        return ["op", f"noise v({self.node(p)}) icol dec 40 {F_LO_HZ:g} {F_HI_HZ:g}",
                f"ac dec 40 {F_LF_HZ:g} {F_HI_HZ:g}"]

    def simulate(self, ng, p):
        op_cmd, noise_cmd, ac_cmd = self.commands(p)
        vec = ng.run([op_cmd])
        # a TIA that lost its virtual ground (r_f too large for the design current, the
        # output at its rail) has no transimpedance to refer its noise by: refused, as
        # crossbar-column refuses it
        check_virtual_ground(float(vec["s"][0]) - float(vec["vcm"][0]), float(vec["out"][0]),
                             abs(float(vec["vsense#branch"][0])), p)
        swing = float(vec["vcm"][0]) - float(vec["out"][0])
        ng.run([noise_cmd])
        s = ng.vectors("noise1")
        f = np.real(np.asarray(s["frequency"]))
        d = np.real(np.asarray(s["onoise_spectrum"]))
        z_t = float(d[0] / np.real(np.asarray(s["inoise_spectrum"]))[0])
        v_n = float(np.sqrt(np.trapezoid(d ** 2, f)))
        lf = f <= F_LF_HZ
        v_lf = float(np.sqrt(np.trapezoid(d[lf] ** 2, f[lf])))
        return {"v_noise_v": v_n, "swing_v": swing, "z_t_ohm": z_t, "i_noise_a": v_n / z_t,
                "vn_out_1khz_v_per_rthz": float(d[0]), "i_noise_lf_a": v_lf / z_t,
                "tau_hold_s": self._tau_hold(ng, ac_cmd) if p["c_hold_ff"] > 0 else math.nan}

    @staticmethod
    def _tau_hold(ng, ac_cmd: str) -> float:
        """1 / (2 pi f_3dB) of the hold's transfer from the TIA output (log-interpolated)."""
        a = ng.run([ac_cmd])
        f = np.real(np.asarray(a["frequency"]))
        h = np.abs(np.asarray(a["hold"]) / np.asarray(a["out"]))
        k = int(np.argmax(h < 2 ** -0.5))
        if k == 0:
            return math.nan                # never (or always) below -3 dB in the band
        lf3 = np.interp(2 ** -0.5, h[[k, k - 1]], np.log(f[[k, k - 1]]))
        return float(1.0 / (2 * np.pi * np.exp(lf3)))
