"""``mosfet-iv``: drain current of a SKY130 1.8 V MOSFET (from recipes nfet-iv / pfet-iv).

Form: a lookup table ``Id(temp_c, [w_um, l_um,] vds_v, vgs_v)`` per process corner,
multilinear interpolation between the SPICE sweep's own grid points. BSIM4 curves
over the full 0–1.8 V box (subthreshold, triode, saturation, mobility degradation)
are not matched within 1 % of full scale by any few-parameter closed form
(EKV-style), so the table is the compact form here. Its grid (recipe nfet-iv /
pfet-iv): |Vgs| in 50 mV steps, |Vds| in 25 mV steps up to 0.8 V (the triode region
and saturation knee) and 100 mV steps above. Along W the table is linear: SKY130's
binned models are nearly linear in W within a bin, with slope kinks at the bin
edges (0.55, 1, 3, 5 um at L = 0.15 um), so a default sweep puts grid widths on the
edges it spans. For the pfet all voltages and the current are magnitudes (|Vgs|,
|Vds|, |Id|), as in the recipe. Valid inputs: the model's ``valid_range`` (outside it
values are extrapolated linearly, with a warning).
"""
from __future__ import annotations

import numpy as np

from .base import BehavioralModel, register_kind


@register_kind
class MosfetIVModel(BehavioralModel):
    kind = "mosfet-iv"
    primary = "id_a"

    @property
    def polarity(self) -> str:
        return self.meta.get("polarity", "n")

    def id(self, vds_v, vgs_v, *, corner=None, strict=False, **settings) -> np.ndarray:
        """Drain current magnitude [A] at |Vds|, |Vgs| (broadcast arrays)."""
        return self.evaluate("id_a", corner=corner, strict=strict, vds_v=vds_v, vgs_v=vgs_v,
                             **settings)
