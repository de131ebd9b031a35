"""Crossbar-column settling time in the OTA output stage's own coordinates, two pieces
joined where its copy count leaves the floor (``crossbar-settling-kink``; recipe
crossbar-column with tia = ota; fitted by characterize/fitting/settle_kink.py).

The OTA's class-A output stage is n2 = max(n2_min, I_design/(FS_PER_I7*k2*ibias))
copies (circuits/ota.py ``output_stage_scale``), I_design = rows*(g_off + i_design_frac*
(g_on - g_off))*1e-6*law(V) the column's design current (the recipe's
``full_scale_expr``: v0*sinh(V/v0), the gap law's shape at 27 C, at every temperature),
i_floor_a = n2_min*FS_PER_I7*k2*ibias the floor's current. Both are known functions of
the model's inputs, so the settling time is written in them, per column line (corner,
temperature, r_bl, frac_on, read voltage; parameters interpolated between lines, along
frac_on by a cubic spline: characterize/fitting/settle_kink.py), with q =
I_design/i_floor_a:

    t = c0 + c1*y + c2*u + c3*u^2 + c4*u^3,   u = ln(max(q, 1)),  y = max(1 - q, 0)

* above the floor (q >= 1, y = 0) the stage has n2 = q*n2_min copies and the load per
  copy L = Gs/n2 is ~constant in rows: the settling follows the copies (their gates
  and drains load the first stage and the output: the non-dominant pole moves in),
  a cubic in ln(n2) (the rows tables' log(rows) coordinate, shifted to the floor);
* below it (u = 0) the stage is the floor's, and L grows with rows: linear in rows up to
  the kink q = 1, c0 (~31 rows at 0.2 V with the shipped 40 uA tail, k2 = 4,
  i_design_frac 0.25, g_on 100 uS; below 16 rows at 0.55 V, outside the sweep).

The step at the kink is what the lookup table in rows could not follow (shipped sweep,
ngspice: 95 C, 0.2 V, frac_on 0.625, r_bl 1 ohm: 27.2 ns at 16 rows, 34.9 at 24, 40.9 at
32, 40.1 at 40, 40.3 at 48; the sweep has rows 24 and 40 to bracket it). The
fit (characterize/fitting/settle_kink.py) takes c0 at the kink from the floor's own line
at the same load per copy (the training rows below the kink, across frac_on: t is a
function of L on the floor), so the kink is placed by the circuit rule, not by the data.

Extras: ``v0_v`` (the cell law), ``i_design_frac``, ``i_floor_a`` (A, > 0), and, for
provenance, the OTA design values the floor is made of (``ota_k2``, ``ota_fs_per_i7``,
``ota_ibias_a``, ``ota_n2_min``: circuits/ota.py OtaParams.k2, FS_PER_I7, the sweep's
tail bias and the recipe's floor).
"""
from __future__ import annotations

import numpy as np

from .array_api import namespace_of
from .crossbar_vg import output_stage_current
from .forms import FORMS, Form


def design_current(x, extra):
    """I_design [A]: the column's design current the output stage is sized for, without
    the floor; x = (rows, r_bl_ohm, frac_on, g_on_us, g_off_us, v_read_v)."""
    return output_stage_current(x, dict(extra, i_floor_a=np.array([0.0])))


def kink_coords(x, extra):
    """(u, y): u = ln(max(q, 1)) (the output stage's copies over its floor, 0 at and
    below it), y = max(1 - q, 0) (how far below the floor), q = I_design/i_floor_a."""
    xp = namespace_of(x[0])
    q = design_current(x, extra) / float(extra["i_floor_a"][0])
    return xp.log(xp.maximum(q, 1.0)), xp.maximum(1.0 - q, 0.0)


def kink_rows(x, extra):
    """The rows where the stage leaves its floor (q = 1) at the other inputs of x."""
    one = [x[0] * 0.0 + 1.0] + list(x[1:])
    return float(extra["i_floor_a"][0]) / design_current(one, extra)


def _settling_kink_form(x, p, extra):
    u, y = kink_coords(x, extra)
    return (p[..., 0] + p[..., 1] * y + p[..., 2] * u + p[..., 3] * u * u
            + p[..., 4] * u * u * u)


#: inputs (rows, r_bl_ohm, frac_on, g_on_us, g_off_us, v_read_v)
FORM = Form(
    "crossbar-settling-kink", ("c0", "c1", "c2", "c3", "c4"), 6,
    "t = c0 + c1*y + c2*u + c3*u^2 + c4*u^3, u = ln(max(q, 1)), y = max(1 - q, 0), q = "
    "I_design/i_floor_a, I_design = rows*(g_off + i_design_frac*(g_on - g_off))*1e-6*"
    "v0*sinh(V/v0) (the OTA output stage's copies n2 = n2_min*max(q, 1), circuits/ota.py "
    "output_stage_scale; i_floor_a = n2_min*FS_PER_I7*k2*ibias); c per corner, "
    "temperature, r_bl, frac_on and read voltage (c0: the value at the kink, from the "
    "floor's line at the same load per copy)", _settling_kink_form)
FORMS.add(FORM.name, FORM)
