"""MOSFET I–V families (SKY130 1.8 V devices): Id over Vgs × Vds.

The nested DC sweep runs in one ngspice analysis per point, so a (W, L, corner,
temperature) point costs one ``dc`` call. For the pfet the source and bulk sit
at 0 V and gate/drain are driven negative; axes hold magnitudes |Vgs|, |Vds|
and the output is the drain current magnitude.

Inner grid (what a lookup table interpolates between, so it is dense where the
curves bend): |Vgs| 0–1.8 V in 50 mV steps (37 values); |Vds| 0–0.8 V in 25 mV
steps through the triode region and the saturation knee, where Id bends sharply
(a 100 mV step there leaves > 1 % of full scale between lines), then 0.9–1.8 V in
100 mV steps, where Id is nearly linear in Vds (43 values).
"""
from __future__ import annotations

import numpy as np

from ..engine import NATIVE_COMPAT_LINE
from ..params import Param
from ..recipe import Axis, Output, Recipe, register_recipe, sweep_values

# Over the 1.8 V core supply (SKY130 nominal VDD); see the module docstring.
_VGS = sweep_values(0.0, 1.8, 37)                       # 50 mV, as simulated
_VDS_SIM = sweep_values(0.0, 1.8, 73)                   # 25 mV, as simulated
#: the simulated |Vds| rows kept: every one up to 0.8 V, every fourth above
_VDS_ROWS = np.r_[np.arange(0, 33), np.arange(36, 73, 4)]
_VDS = tuple(round(_VDS_SIM[k], 6) for k in _VDS_ROWS)
_VDS_VTH = _VDS.index(0.1)                              # the row of the Vth criterion


class MosfetIV(Recipe):
    polarity = "n"
    outputs = (
        Output("id_a", "A", ("vds_v", "vgs_v"), "drain current magnitude"),
        Output("idsat_a", "A", (), "|Id| at |Vgs| = |Vds| = 1.8 V"),
        Output("vth_v", "V", (), "constant-current threshold: |Vgs| where |Id| = 100 nA·W/L "
                                 "at |Vds| = 0.1 V (a common extraction criterion)"),
    )
    #: 4: loaded without ngspice's HSPICE compatibility mode (ngspice.NATIVE_COMPAT_LINE);
    #: 3: 25 mV |Vds| steps up to 0.8 V (was 100 mV everywhere)
    version = 4
    params = (
        # SKY130 1.8 V device limits: W >= 0.42 um, L >= 0.15 um (SKY130 device rules).
        Param("w_um", 1.0, "um", "gate width", min=0.42, max=100.0),
        Param("l_um", 0.15, "um", "gate length", min=0.15, max=20.0),
    )

    def inner_axes(self, p):
        return [Axis("vds_v", "V", _VDS), Axis("vgs_v", "V", _VGS)]

    def body(self, tech, p):
        dev = tech.devices["nfet" if self.polarity == "n" else "pfet"]
        # without HSPICE compatibility: ngspice 46 then continues each dc sweep point from
        # the previous one (half the Newton iterations; same currents, ngspice.py)
        return [NATIVE_COMPAT_LINE, f"Xm d g 0 0 {dev} w={{w_um}} l={{l_um}}", "Vd d 0 0",
                "Vg g 0 0"]

    def commands(self, p):
        s = 1 if self.polarity == "n" else -1
        return [f"dc vg 0 {s * 1.8} {s * 0.05} vd 0 {s * 1.8} {s * 0.025}"]

    def measure(self, vec, p):
        # ngspice's nested sweep: first source fastest; current into Vd's + terminal.
        i = np.abs(vec["vd#branch"]).reshape(len(_VDS_SIM), len(_VGS))[_VDS_ROWS]
        vth = _threshold(i[_VDS_VTH], p["w_um"] / p["l_um"])  # |Vds| = 0.1 V row
        return {"id_a": i, "idsat_a": i[-1, -1], "vth_v": vth}


def _threshold(id_row: np.ndarray, w_over_l: float) -> float:
    target = 100e-9 * w_over_l
    logi = np.log(np.maximum(id_row, 1e-18))
    k = np.searchsorted(logi, np.log(target))
    if k <= 0 or k >= len(_VGS):
        return float("nan")
    x0, x1 = _VGS[k - 1], _VGS[k]
    y0, y1 = logi[k - 1], logi[k]
    return float(x0 + (np.log(target) - y0) * (x1 - x0) / (y1 - y0))


@register_recipe
class NfetIV(MosfetIV):
    name = "nfet-iv"
    summary = "SKY130 nfet_01v8 Id–Vgs/Id–Vds family, Vth and Idsat"
    polarity = "n"


@register_recipe
class PfetIV(MosfetIV):
    name = "pfet-iv"
    summary = "SKY130 pfet_01v8 |Id|–|Vgs|/|Vds| family, |Vth| and |Idsat|"
    polarity = "p"
