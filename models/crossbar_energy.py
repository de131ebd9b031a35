"""Read energy of a crossbar column over its settled read (``e_read_j`` of recipe
crossbar-column, read_window = settled, tia = ota): form ``crossbar-read-energy-settled``
(fitted by characterize/fitting/read_energy.py).

The energy is what the word-line drivers deliver from t = 0 to the TIA output's 1 %
settling time t_s: each active driver holds its word line at V_wl = v_cm + V (the bit
line's reference v_cm plus the read voltage, both to ground), so

    E = V_wl * integral_0^t_s I(t) dt + C_row * rows * V_wl^2,

I(t) the column current, which ends at the settled I (= i_out_a), and C_row the charge
per row and volt the step itself moves (the word line's wire and the access device's
junctions). The column current is not I from t = 0: the sense node starts off v_cm (the
word lines' step kicks it, and the loop pulls it back at the TIA's pace), so the cells
see less than V until the loop settles. For a response whose shape scales with its time
constant the missing charge is a fixed fraction of I*t_s; that fraction grows with the
load per output-stage copy (the second stage's gain gm6/G_load falls as the column's
conductance grows against the stage's size, so the recovery is slower relative to t_s):

    E = V_wl * I * (t_s * (a + d*q) + b) + c * rows * V_wl^2,   q = I / I_max,

I_max = max(rows*(g_off + i_design_frac*(g_on - g_off))*1e-6*law(V), i_floor_a) the
current the OTA's output stage is sized for (models/crossbar_vg.py, circuits/ota.py).
a (~0.8-0.9) and d (< 0) the delivered fraction, b (s) the fixed part of the lag (the
kick's recovery), c (F) the step's charge per row: fitted per corner, temperature and
read voltage by linear least squares on the sweep's measured i_out_a and t_settle_s.

The model evaluates it on its own i_out_a and t_settle_s functions
(``CrossbarColumnModel.evaluate``: the form's inputs ``i_out_a``, ``t_settle_s`` are
the model's outputs, :data:`COMPOSED`), so the energy prices the same read the latency
model describes. Rz 2 kOhm sweep (v5 deck, 432 points), seed 0: held out 0.63 % FS against
the lookup table's 1.35 % (Rz 2.5 kOhm, 432 points: 0.62 against 1.34; 720 points:
0.51 against 0.95; the shipped 880, frac_on in 1/16 steps: 0.56 against 1.32), and the
frac_on 1/16 line at 128 rows (the architectures' light loads) within -1.0..+1.3 % of
ngspice (720 points: -1.2..+1.2; a constant delivered
fraction, d = 0: -2.8 % at 95 C).
"""
from __future__ import annotations

from .crossbar_vg import output_stage_current
from .forms import FORMS, Form

#: form inputs that are the model's own outputs, evaluated first
COMPOSED = ("i_out_a", "t_settle_s")
#: the form's inputs: the column's load (models/crossbar.py order), then COMPOSED
INPUTS = ("rows", "r_bl_ohm", "frac_on", "g_on_us", "g_off_us", "v_read_v") + COMPOSED


def _read_energy_settled(x, p, extra):
    rows, v, i, t = x[0], x[5], x[6], x[7]
    v_wl = float(extra["v_cm_v"][0]) + v
    q = i / output_stage_current(x, extra)
    return (v_wl * i * (t * (p[..., 0] + p[..., 3] * q) + p[..., 1])
            + p[..., 2] * rows * v_wl * v_wl)


FORM = Form(
    "crossbar-read-energy-settled", ("a", "b", "c", "d"), len(INPUTS),
    "E = V_wl*I*(t_s*(a + d*q) + b) + c*rows*V_wl^2, V_wl = v_cm_v + V, I = i_out_a, t_s = "
    "t_settle_s (the model's own outputs), q = I/I_max, I_max = max(rows*(g_off + "
    "i_design_frac*(g_on - g_off))*1e-6*law(V), i_floor_a) (the word-line drivers' energy "
    "over the settled read: the column current's charge, short of I*t_s by the loop's "
    "recovery, plus the step's charge per row)", _read_energy_settled, composed=COMPOSED)
FORMS.add(FORM.name, FORM)
