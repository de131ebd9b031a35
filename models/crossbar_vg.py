"""Crossbar-column forms with the OTA TIA's virtual-ground drift (``-vg``; shipped sweep of
recipe crossbar-column v5, tia = ota; fitted by characterize/fitters/crossbar.py).

The SKY130 two-stage OTA holds the bit line's sense node at v_cm only to within a drift
that grows with the current its class-A output stage sinks: M6 carries I7 + I, so its
gate (the first stage's output) moves and the input pair follows by that over the first
stage's gain. ngspice (shipped sweep, v_err = v_out + I*r_f at the sense node) measures it
nearly proportional to the column current over the current the output stage is sized
for,

    v_err = E * q * (1 + h*(q - 1)),   q = I / max(I_design, I_floor),

E ~ 1.9 mV at 27 C and ~3.2 mV at 95 C (the same at 0.2 and 0.55 V read; at 16 rows and
0.2 V, where the stage sits at its one-copy floor I_floor, half as much): the drift at the
design current (q = 1). h bends it with the load: the shipped sweep reaches q ~ 2.5
(frac_on 0.625 against the design load 0.25), where the drift per unit q falls at 27 C
(32 rows, 0.2 V: 2.0 mV/q at q 0.24, 1.74 at q 2.03: M6's gate rises ~ as the square root
of its current) and rises at 95 C (2.6 -> 3.1 mV/q at q 0.33 -> 2.49; a first-stage gain
that falls as x climbs would do it, not separated here); linear in q (h = 0) the form
missed v_out_v there by 1.02 % FS held out (32 rows, 95 C, 0.2 V), with h 0.46 % (fitted
per corner, temperature and read voltage like E, on the training lines only; seed 0). I_design =
rows*g_design*law(V) and g_design = g_off + i_design_frac*(g_on - g_off) (recipe
``full_scale_expr``), and I_floor = FS_PER_I7*k2*ibias (circuits/ota.py
``output_stage_scale``: the stage is never smaller than one copy). The cells then read
V - v_err, so the access-aware ladder current I_lad (models/crossbar.py, ``-acc``) is
reduced to first order by law'(V)/law(V)*v_err:

    I = I_lad / (1 + s*v_err(q_lad)),   s = law'(V)/law(V),   q_lad = I_lad / I_max,

(I_max = max(I_design, I_floor); the linearised drift solved for I, exact for h = 0),
and the TIA output carries the drift itself, v_out = -r_f*A0/(1+A0)*I + v_err(I/I_max)
(with r_f = 25 ohm and |v_out| <= 42 mV, a 1.9 mV drift is 4.5 % of full scale: why the
plain current form missed v_out_v by 2.5 % FS in training). E (volts) and h
(dimensionless) are two more fitted parameters ``e``, ``h`` per corner, temperature and
read voltage (forms ``-vgh``; the ``-vg`` forms, h = 0, load the model files fitted
before); E ~0 for the behavioral TIA (no output stage).

The OTA's supply power (``crossbar-tia-supply``) follows the same size: P = d0 + d1*I_max
(the stage's quiescent current I7 = I_max comes from the supply; the column current flows
from the word-line drivers into M6). A table linear in rows missed the kink where the
stage leaves its one-copy floor (~31 rows at 0.2 V) by 1.05 % FS on a held-out 32-row line.

Extras: ``v0_v`` (cell law), ``scale`` (1 for i_out_a, -r_f*A0/(1+A0) for v_out_v),
``sense`` (1 where the output is the TIA's, so the drift adds to it; 0 for the current),
``i_design_frac`` and ``i_floor_a`` (0: no floor).
"""
from __future__ import annotations

from .array_api import namespace_of
from .crossbar import _ACC, _law, _ratio_acc_v
from .forms import FORMS, Form


def drift_v(q, p):
    """The sense node's drift v_err = e*q*(1 + h*(q - 1)), V, at the load q = I/I_max
    (p = (..., e, h): e the drift at the design current, V; h its bend with the load;
    h = 0 for the 6-parameter ``-vg`` forms, which model files fitted before h carry)."""
    v = p[..., 5] * q
    return v * (1.0 + p[..., 6] * (q - 1.0)) if p.shape[-1] > 6 else v


def _drift_ratio(x, p, extra):
    """(g [S], ratio, v_err): the access-aware ladder ratio i_out/(rows*g*law(V)) lowered
    by the sense node's drift, and that drift (V) at q = I/I_max, the current over the
    output stage's size; p = (a, b, c, k, m, e[, h]), e = E in volts."""
    v = x[5]
    g, r = _ratio_acc_v(x, p, extra)
    law = _law(v, extra)
    per = x[0] * g * law / output_stage_current(x, extra)      # q per unit ratio
    r = r / (1.0 + _law(v, extra, slope=True) / law * drift_v(per * r, p))
    return g, r, drift_v(per * r, p)


def output_stage_current(x, extra):
    """I_max [A]: the current the OTA's output stage is sized for, max(rows*(g_off +
    i_design_frac*(g_on - g_off))*1e-6*law(V), i_floor_a) (circuits/ota.py rule)."""
    xp = namespace_of(x[0])
    rows, g_on, g_off, v = x[0], x[3] * 1e-6, x[4] * 1e-6, x[5]
    frac_d = float(extra["i_design_frac"][0]) if "i_design_frac" in extra else 0.25
    i_floor = float(extra["i_floor_a"][0]) if "i_floor_a" in extra else 0.0
    return xp.maximum(rows * (g_off + frac_d * (g_on - g_off)) * _law(v, extra), i_floor)


def _supply_form(x, p, extra):
    # the class-A stage's quiescent current I7 = I_max (FS_PER_I7 = 1) from the supply,
    # plus the tail and bias branches (d0); the column current itself flows from the
    # word-line drivers into M6, not from this supply
    return p[..., 0] + p[..., 1] * output_stage_current(x, extra)


def _ir_drop_vg_form(x, p, extra):
    return 1.0 - _drift_ratio(x, p, extra)[1]


def _current_vg_form(x, p, extra):
    g, r, v_err = _drift_ratio(x, p, extra)
    scale = float(extra["scale"][0]) if "scale" in extra else 1.0
    sense = float(extra["sense"][0]) if "sense" in extra else 0.0
    return scale * x[0] * g * _law(x[5], extra) * r + sense * v_err


_VG = ("I = I_lad/(1 + s*v_err(q_lad)), v_err(q) = e*q*(1 + h*(q - 1)), s = law'(V)/"
       "law(V), q = I/I_max, I_max = max(rows*(g_off + i_design_frac*(g_on - g_off))*1e-6*"
       "law(V), i_floor_a) (e: the OTA sense node's drift at the output stage's design "
       "current, V; h: its bend with the load); I_lad = rows*g*law(V)*"
       "(g_eff/g)*T*(1 + c*(1 - T)), ")
#: inputs (rows, r_bl_ohm, frac_on, g_on_us, g_off_us, v_read_v)
CROSSBAR_VG_FORMS = (
    Form("crossbar-ir-drop-vgh", ("a", "b", "c", "k", "m", "e", "h"), 6,
         "drop = 1 - I/(rows*g*law(V)), " + _VG + _ACC, _ir_drop_vg_form),
    Form("crossbar-column-current-vgh", ("a", "b", "c", "k", "m", "e", "h"), 6,
         "y = scale*I + sense*v_err(q), " + _VG + _ACC + "; scale (extra): 1 for the current, "
         "-r_f*A0/(1+A0) for the TIA output; sense (extra): 1 for the TIA output (the "
         "drift appears on it), 0 for the current", _current_vg_form),
    Form("crossbar-tia-supply", ("d0", "d1"), 6,
         "P = d0 + d1*I_max, I_max = max(rows*(g_off + i_design_frac*(g_on - g_off))*1e-6*"
         "law(V), i_floor_a) (the OTA's supply power: its class-A output stage sized for "
         "I_max, never below one copy, plus the tail and bias branches)", _supply_form),
    # the drift linear in q (h = 0): model files fitted before the bend load with these
    Form("crossbar-ir-drop-vg", ("a", "b", "c", "k", "m", "e"), 6,
         "drop = 1 - I/(rows*g*law(V)), " + _VG.replace("*(1 + h*(q - 1))", "") + _ACC,
         _ir_drop_vg_form),
    Form("crossbar-column-current-vg", ("a", "b", "c", "k", "m", "e"), 6,
         "y = scale*I + sense*v_err(q), " + _VG.replace("*(1 + h*(q - 1))", "") + _ACC
         + "; scale, sense: as crossbar-column-current-vgh", _current_vg_form),
)
for _f in CROSSBAR_VG_FORMS:
    FORMS.add(_f.name, _f)
