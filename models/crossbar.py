"""``crossbar-column``: a crossbar column read through a TIA (from recipe crossbar-column).

Modeled quantities, each over the sweep's swept settings (rows, conductances, read
voltage, wire resistances, ON fraction, ...; settings the sweep did not vary are pinned
by the valid range):

    i_out_a      bit-line current into the TIA (device non-linearity, access transistor
                 and wire IR drop included, as ngspice solved them)
    v_out_v      TIA output
    ir_drop_rel  (i_ideal - i_out) / i_ideal: the IR-drop (+ access-device) correction as a
                 function of rows, wire resistance and conductance load
    e_read_j     read energy over the read (the pulse, or 0..t_settle_s: read_window)
    t_settle_s   TIA output 1 % settling time

Form (per output, recorded in ``meta["outputs_form"]``): the distributed bit-line
ladder. A column of N = rows cells of mean conductance g = frac_on*g_on + (1 - frac_on)*g_off
(S) on a bit line of r = r_bl_ohm per segment, read at the end, carries

    i_out / (N * g * law(V)) = a * T * (1 + c * (1 - T)),
    T = tanh(sqrt(b * u)) / sqrt(b * u),   u = r * g * (N + 1) * (N + 1/2)

(u: the dimensionless wire load, ~ r*g*N^2; T(u) is the exact continuum solution of
the uniform ladder, and (N+1)(N+1/2) = 3*sum_k k^2/N makes its small-load limit u/3
exact for the lumped ladder, cell k sitting k segments from the sense node). ``a`` is the wire-free fraction (access transistor in series with the
cell, ~0.9 for 1T1R, 1 for linear cells), ``b`` the effective / nominal cell conductance,
``c`` the device non-linearity (cells see less voltage as the drop grows). ir_drop_rel =
1 - that ratio (form crossbar-ir-drop), i_out_a and v_out_v are it times the ideal
current (crossbar-column-current), e_read_j and t_settle_s are quadratic in the column
conductance Gc = N*g*a*T*(1 + c*(1 - T)) the TIA sees (crossbar-load-quadratic: the
TIA's noise gain 1 + r_f*Gc sets its closed-loop time constant, and the charge missed
while settling the energy). a, b, c (and d0..d2) are fitted per corner and temperature
and interpolated in temperature; the forms extrapolate along u with the ladder's physics.
An output whose form misses 1 % of full scale on its training points falls back to a
lookup table over the swept settings (tensor-cubic refined, multilinear interpolation).
The forms hold for an evenly loaded column (recipe ``pattern=spread``); with a random
placement the drop moves by a few percent from one placement to another. The settling
form holds where the column conductance sets the TIA's noise gain (the default sweep:
g_on 100 uS, 4-192 ON cells); for light columns (a few uA) the bit-line capacitance
(~rows) sets the settling instead, the form misses its training points and t_settle_s
falls back to the table.

Swept read voltage (the shipped sweep: v_read_v 0.1-0.55 V): the ``-v`` forms
(crossbar-ir-drop-v, crossbar-column-current-v, crossbar-read-energy, crossbar-settling)
weight the wire load by the cells' small-signal conductance, u = law'(V)*r*g*(N+1)*(N+1/2),
shifted as the drop grows, T = T(b*u*(1 + k*(1 - T0))), T0 = T(b*u) (the far cells see
less voltage); read energy E = V*law(V)*(d0 + d1*Gc + d2*Gc^2); settling quadratic in the
small-signal column conductance law'(V)*Gc (it rises 10-25 % from 0.1 to 0.55 V with
cosh(V/v0)). Their parameters are fitted per read-voltage line and interpolated linearly
in V, so v_read_v is held out like any setting (near-edge + interior lines).

Access-aware forms (``-acc``, the shipped sweep from frac_on = 0; fitted by
characterize/fitters/crossbar.py): the wire-free fraction follows the load, g_eff = (f*g_on*a
+ (1-f)*m*g_off*a_off), a_off = 1/(1 + m*g_off*rho), rho = (1/a - 1)/g_on (an OFF cell
behind the same access transistor loses far less), m the OFF cell's read conductance
per siemens relative to the ON cell's (the filament + gap memristor law is
state-dependent), and the ladder runs on g_eff; the light-load settling form adds the
OFF cells' own settling d3*ln(100*w_off) and a bit-line term d4*rows.

Settling time of the shipped sweep (junction areas on, frac_on from 0): form
``crossbar-settling-off``, t = d0 + d1*Gs + d2*sqrt(Gs) + d3*ln(max(100*w_off, 1)) +
d4*rows + d5*w_off*rows. A single-pole TIA settles to 1 % in ln(100)*(1 + r_f*Gs)/(2*pi*GBW)
(linear in Gs: within ~5 % of ngspice at 16-128 rows, frac_on 0.5-0.75); the ladder's T
already bends Gs, and sqrt(Gs) carries what remains (a Gs^2 term extrapolated to the
held-out 128 rows by 20-40 % FS). With every cell OFF (w_off = 1) the column settles
SLOWER than at frac_on = 1/16 (ngspice: 6.7 vs 3.7 ns at 128 rows): the bit line's
capacitance (~rows) and the OFF cells' internal nodes (junction capacitance behind
~1 MOhm) then set it, hence d5*w_off*rows (w_off ~0.1 at 1/16). Its ladder (b, c, k, m,
a) is the IR-drop fit's, not refitted. Held out (seed 0: rows 128, frac_on 0.25 and 0.75)
8.2 % FS max, 2.5 % rms; the worst points are frac_on = 0 at 128 rows, whose settling
(a ringing-dependent 1 % crossing) is not smooth in rows, temperature or r_bl; at the
accelerators' read point (128 rows, 2.5 ohm, 0.2 V, frac_on 0.5) within 3 % of ngspice.

TIA (recipe crossbar-column v5): the SKY130 two-stage OTA by default, its output stage
sized per column for the design load (``i_design_frac`` of the conductance span, 0.25:
1.6 x the heaviest mapped column, issue 12); its supply power ``p_tia_w`` and its supply
energy ``e_tia_j`` are lookup tables, linear in rows (they follow the output-stage rule
in rows, g_on and v_read, not the bit line's load). The shipped sweep integrates both
energies over 0..t_settle_s (``read_window = settled``: the read lasts until the output
has settled, the latency the architectures price); ``e_read_j`` is then a table too. With the OTA the
bit line sits at v_cm (0.45 V): the access transistors' source, so the drop is larger
than with the behavioral TIA's 0 V bit line, and the settling is the OTA's (two-stage,
slewing), not a single pole's; where the ladder forms miss their training points by more
than 1 % FS the output is a table (``meta["outputs_form"]``).

With the OTA the sense node also drifts from v_cm with the current the output stage
sinks (~2-3 mV at the design load): the shipped fit's current, IR-drop and TIA-output
forms carry it (``-vg``, :mod:`imcspice.models.crossbar_vg`), and the supply power is
a form of the output stage's size (``crossbar-tia-supply``). The settling time and TIA
energy may take the stage's copy count n2 and the load per copy
(``crossbar-settling-n2``, ``crossbar-tia-energy-n2``: :mod:`imcspice.models.crossbar_settle`;
on the shipped sweep, to 2.5x the design load, they miss and e_tia_j is a table); the
shipped settling time is ``crossbar-settling-kink`` (:mod:`imcspice.models.crossbar_kink`:
per column line in ln(n2), joined to the one-copy floor's piece where n2 leaves it). The read
energy over the settled read is a form of the model's own current and settling time
(``crossbar-read-energy-settled``, :mod:`imcspice.models.crossbar_energy`; the model's
evaluate feeds it those outputs, :attr:`.base.Function.composed`).

The device law the recipe uses for the ideal current is carried in ``meta`` (``device``,
``v0_v``), so :meth:`CrossbarColumnModel.ideal_current` computes sum_r I_cell(G_r, V_r) for
any pattern and :meth:`CrossbarColumnModel.correct` applies the fitted IR-drop correction.
"""
from __future__ import annotations

import numpy as np

from .array_api import namespace_of
from .base import BehavioralModel, register_kind
from .forms import FORMS, Form


# --- closed forms (added to the forms.FORMS registry; numpy or torch, .array_api) ---------
def ladder_t(u):
    """tanh(sqrt(u)) / sqrt(u): the current of a uniform resistive ladder (a bit line of
    cells read at one end) relative to its wire-free current; u >= 0 its dimensionless
    load (N * k)^2 = r * g * N^2. 1 - u/3 for u << 1, 1/sqrt(u) for u >> 1."""
    xp = namespace_of(u)
    u = xp.maximum(xp.asfloat(u), 0.0)
    big = u > 1e-8
    # sqrt of a safe value where u is tiny: the unused branch then has a finite gradient
    s = xp.sqrt(xp.where(big, u, 1.0))
    return xp.where(big, xp.tanh(s) / s, 1.0 - u / 3.0)


def _law(v, extra, slope: bool = False):
    """The cell law per siemens at V (v0*sinh(V/v0) for extra v0_v > 0, else V), or its
    slope dlaw/dV (cosh(V/v0), or 1): the large- and small-signal cell conductance."""
    xp = namespace_of(v)
    v0 = float(extra["v0_v"][0]) if "v0_v" in extra else 0.0
    if slope:
        return xp.cosh(v / v0) if v0 > 0 else xp.ones_like(v)
    return v0 * xp.sinh(v / v0) if v0 > 0 else v


def _ladder_ratio(x, p, weight=1.0, k=None):
    """(per-cell mean conductance g [S], i_out / (rows*g*law(V)) = a*T*(1 + c*(1-T))) from
    inputs (rows, r_bl_ohm, frac_on, g_on_us, g_off_us, ...), p = (a, b, c, ...):
    T = T(b*u) with u = weight*r*g*(N+1)*(N+1/2), or, given k, T = T(b*u*(1 + k*(1 - T0))),
    T0 = T(b*u): the load shifted as the drop grows (the far cells see less voltage, so
    a different slope of a non-linear law). (N+1)(N+1/2) = 3 * sum_k k^2 / N is the exact
    small-load drop of the lumped ladder (cell k sits k segments from the sense node),
    where the continuum has N^2."""
    rows, r_bl, frac, g_on_us, g_off_us = x[:5]
    g = (frac * g_on_us + (1.0 - frac) * g_off_us) * 1e-6
    bu = p[..., 1] * weight * r_bl * g * (rows + 1.0) * (rows + 0.5)
    t = ladder_t(bu if k is None else bu * (1.0 + k * (1.0 - ladder_t(bu))))
    return g, p[..., 0] * t * (1.0 + p[..., 2] * (1.0 - t))


def _column_ratio_v(x, p, extra):
    """The read-voltage forms' ratio, p = (a, b, c, k, ...), x = (..., v_read_v): the load
    weighted by the cells' small-signal conductance law'(V) (a wire drop dV moves a
    cell's current by g*law'(V)*dV) and shifted by k."""
    return _ladder_ratio(x, p, _law(x[5], extra, slope=True), p[..., 3])


def _current(x, extra, g, ratio):
    scale = float(extra["scale"][0]) if "scale" in extra else 1.0
    return scale * x[0] * g * _law(x[5], extra) * ratio


def _ir_drop_form(x, p, extra):
    return 1.0 - _ladder_ratio(x, p)[1]


def _current_form(x, p, extra):
    return _current(x, extra, *_ladder_ratio(x, p))


def _load_quadratic_form(x, p, extra):
    g, ratio = _ladder_ratio(x, p)
    gc = x[0] * g * ratio                             # column conductance seen by the TIA, S
    return p[..., 3] + p[..., 4] * gc + p[..., 5] * gc * gc


def _ir_drop_v_form(x, p, extra):
    return 1.0 - _column_ratio_v(x, p, extra)[1]


def _current_v_form(x, p, extra):
    return _current(x, extra, *_column_ratio_v(x, p, extra))


def _with_a(p):
    """(b, c, k, d...) -> (1, b, c, k, d...): the quadratic forms drop a (it only scales
    d1 and d2 there)."""
    xp = namespace_of(p)
    return xp.concatenate([xp.ones_like(p[..., :1]), p], axis=-1)


def _read_energy_form(x, p, extra):
    v = x[5]
    g, ratio = _column_ratio_v(x, _with_a(p), extra)
    gc = x[0] * g * ratio
    return v * _law(v, extra) * gc * (p[..., 3] + p[..., 4] * gc + p[..., 5] * gc * gc)


def _settling_form(x, p, extra):
    g, ratio = _column_ratio_v(x, _with_a(p), extra)
    gs = x[0] * g * ratio * _law(x[5], extra, slope=True)   # small-signal column conductance
    return p[..., 3] + p[..., 4] * gs + p[..., 5] * gs * gs


_LADDER = ("T = tanh(sqrt(b*u))/sqrt(b*u), u = r_bl*g*(rows+1)*(rows+1/2), g = (frac_on*g_on + "
           "(1 - frac_on)*g_off)*1e-6 S")
_LADDER_V = ("T = tanh(sqrt(s))/sqrt(s), s = b*u*(1 + k*(1 - T0)), T0 = T(b*u), u = "
             "law'(V)*r_bl*g*(rows+1)*(rows+1/2), g = (frac_on*g_on + (1 - frac_on)*g_off)"
             "*1e-6 S; law = v0*sinh(V/v0), law' = cosh(V/v0) (extra v0_v > 0) or V, 1  "
             "(k: the load's shift with the drop, the far cells seeing less voltage)")
#: inputs (rows, r_bl_ohm, frac_on, g_on_us, g_off_us[, v_read_v])
CROSSBAR_FORMS = (
    Form("crossbar-ir-drop", ("a", "b", "c"), 5,
         "drop = 1 - a*T*(1 + c*(1 - T)), " + _LADDER + "  (distributed bit-line ladder; "
         "a: wire-free fraction (access device), b: effective/nominal cell conductance, "
         "c: device non-linearity)", _ir_drop_form),
    Form("crossbar-column-current", ("a", "b", "c"), 6,
         "I = scale * rows*g*law(V) * a*T*(1 + c*(1 - T)), " + _LADDER + "; law = "
         "v0*sinh(V/v0) (extra v0_v > 0) or V; scale (extra): 1 for the current, "
         "-r_f*A0/(1+A0) for the TIA output", _current_form),
    Form("crossbar-load-quadratic", ("a", "b", "c", "d0", "d1", "d2"), 5,
         "y = d0 + d1*Gc + d2*Gc^2, Gc = rows*g*a*T*(1 + c*(1 - T)) S, " + _LADDER +
         "  (the column conductance the TIA sees: its noise gain 1 + r_f*Gc sets the "
         "settling time and the charge missed while settling the read energy)",
         _load_quadratic_form),
    # read-voltage forms (inputs ..., v_read_v; extra v0_v: the cell law, 0 = linear):
    # the load is weighted by the cells' small-signal conductance law'(V)
    Form("crossbar-ir-drop-v", ("a", "b", "c", "k"), 6,
         "drop = 1 - a*T*(1 + c*(1 - T)), " + _LADDER_V, _ir_drop_v_form),
    Form("crossbar-column-current-v", ("a", "b", "c", "k"), 6,
         "I = scale * rows*g*law(V) * a*T*(1 + c*(1 - T)), " + _LADDER_V + "; scale "
         "(extra): 1 for the current, -r_f*A0/(1+A0) for the TIA output", _current_v_form),
    Form("crossbar-read-energy", ("b", "c", "k", "d0", "d1", "d2"), 6,
         "E = V*law(V) * (d0 + d1*Gc + d2*Gc^2), Gc = rows*g*T*(1 + c*(1 - T)) S, " +
         _LADDER_V + "  (the drivers deliver V*I over the pulse, I = law(V)*Gc, less the "
         "charge missed while the TIA settles)", _read_energy_form),
    Form("crossbar-settling", ("b", "c", "k", "d0", "d1", "d2"), 6,
         "t = d0 + d1*Gs + d2*Gs^2, Gs = rows*g*law'(V)*T*(1 + c*(1 - T)) S, " + _LADDER_V +
         "  (the small-signal column conductance sets the TIA's noise gain 1 + r_f*Gs, so "
         "its closed-loop time constant)", _settling_form),
)
for _f in CROSSBAR_FORMS:
    FORMS.add(_f.name, _f)


# --- access-aware forms (the shipped sweep from frac_on = 0) ---------------------------
def _access_g(x, a_on, m=1.0):
    """(mean cell conductance g, effective conductance g_eff) [S] of the column's cells
    with the access transistor in series: an ON cell keeps ``a_on`` of its wire-free
    current, i.e. a series resistance rho = (1/a_on - 1)/g_on, and an OFF cell the
    larger 1/(1 + g_off*rho) of its own. ``m``: the OFF cell's read conductance per
    siemens relative to the ON cell's (the memristor law is state-dependent: an ON
    filament conducts largely ohmically, an OFF cell through its gap, with its own
    non-linearity and temperature activation), so g_eff weighs the cells by current.
    The wire-free fraction g_eff/g of the column thus moves with the load, from ~1
    (every cell OFF, frac_on = 0) to ~a_on."""
    xp = namespace_of(x[2], a_on)
    frac, g_on, g_off = x[2], x[3] * 1e-6, x[4] * 1e-6
    a_on = xp.asfloat(a_on)
    rho = (1.0 / a_on - 1.0) / g_on
    a_off = 1.0 / (1.0 + m * g_off * rho)
    g = frac * g_on + (1.0 - frac) * g_off * m
    return g, frac * g_on * a_on + (1.0 - frac) * g_off * m * a_off


def _ladder_ratio_acc(x, p, a_on, weight=1.0, k=None, m=1.0):
    """(g [S], i_out / (rows*g*law(V)) = (g_eff/g)*T*(1 + c*(1-T))), p = (., b, c, ...):
    the ladder of :func:`_ladder_ratio` on the access-reduced cell conductance g_eff
    (g here weighs the OFF cells by m as well: the ideal current's own mixture)."""
    rows, r_bl = x[0], x[1]
    g, g_eff = _access_g(x, a_on, m)
    bu = p[..., 1] * weight * r_bl * g_eff * (rows + 1.0) * (rows + 0.5)
    t = ladder_t(bu if k is None else bu * (1.0 + k * (1.0 - ladder_t(bu))))
    return g, g_eff / g * t * (1.0 + p[..., 2] * (1.0 - t))


def _ratio_acc_v(x, p, extra, a_on=None):
    """The access-aware ladder ratio; p = (a, b, c, k, m, ...), or, given ``a_on`` (the
    quadratic forms, whose p carries a = 1 in front), the ON cell's fraction from there."""
    return _ladder_ratio_acc(x, p, p[..., 0] if a_on is None else a_on,
                             _law(x[5], extra, slope=True), p[..., 3], p[..., 4])


def _a_on(extra):
    """The ON cell's wire-free fraction the quadratic forms take from the IR-drop fit."""
    return float(extra["a_on"][0]) if "a_on" in extra else 1.0


def _ir_drop_acc_form(x, p, extra):
    return 1.0 - _ratio_acc_v(x, p, extra)[1]


def _current_acc_form(x, p, extra):
    # the ideal current rows*g_nominal*law(V) times the ratio to the m-weighted mixture
    g, ratio = _ratio_acc_v(x, p, extra)
    g_nom = (x[2] * x[3] + (1.0 - x[2]) * x[4]) * 1e-6
    return _current(x, extra, g_nom, ratio * g / g_nom)


def _read_energy_acc_form(x, p, extra):
    # p = (b, c, k, m, d0, d1, d2)
    v = x[5]
    g, ratio = _ratio_acc_v(x, _with_a(p), extra, _a_on(extra))
    gc = x[0] * g * ratio
    return v * _law(v, extra) * gc * (p[..., 4] + p[..., 5] * gc + p[..., 6] * gc * gc)


def _settling_acc_form(x, p, extra):
    # p = (b, c, k, m, d0, d1, d2[, d3, d4])
    g, ratio = _ratio_acc_v(x, _with_a(p), extra, _a_on(extra))
    gs = x[0] * g * ratio * _law(x[5], extra, slope=True)
    return p[..., 4] + p[..., 5] * gs + p[..., 6] * gs * gs


def off_cell_share(x, a_on, m=1.0):
    """w_off: the OFF cells' share of the column current (1 with every cell OFF,
    ~(1 - f)*g_off/(f*g_on*a_on) once a few cells are ON)."""
    g_on, g_off = x[3] * 1e-6, x[4] * 1e-6
    a_off = 1.0 / (1.0 + m * g_off * (1.0 / a_on - 1.0) / g_on)
    return (1.0 - x[2]) * m * g_off * a_off / _access_g(x, a_on, m)[1]


def off_cell_tail(x, a_on, m=1.0):
    """ln(max(100*w_off, 1)), w_off = the OFF cells' share of the column current: they
    settle with their own time constant (the node between memristor and access
    transistor, its junction capacitance charged through the ~1 MOhm OFF cell) and
    reach the 1 % band after tau_off*ln(100*w_off); 0 where they carry < 1 %."""
    xp = namespace_of(x[2])
    return xp.log(xp.maximum(100.0 * off_cell_share(x, a_on, m), 1.0))


def _settling_light_form(x, p, extra):
    # + d3*tail: the OFF cells' own settling; + d4*rows: the bit line's capacitance
    # (~rows cells) in the TIA's noise gain; both set a light column's (frac_on ~ 0)
    # settling, where the column conductance Gs no longer does
    return (_settling_acc_form(x, p, extra) + p[..., 7] * off_cell_tail(x, _a_on(extra),
                                                                         p[..., 3])
            + p[..., 8] * x[0])


def _ladder_extra(extra):
    """The IR-drop fit's ladder parameters (1, b, c, k, m) carried in extra (``ladder``)."""
    return np.concatenate([[1.0], np.asarray(extra["ladder"], dtype=np.float64)])


def _settling_off_form(x, p, extra):
    # p = (d0, d1, d2, d3, d4, d5); the ladder (b, c, k, m) and a_on from the IR-drop fit:
    # t = d0 + d1*Gs + d2*sqrt(Gs) + d3*tail + d4*rows + d5*w_off*rows
    xp = namespace_of(x[0], p)
    lad = _ladder_extra(extra)
    lad_p = xp.asfloat(lad)
    a_on, m = _a_on(extra), float(lad[4])
    g, ratio = _ratio_acc_v(x, lad_p, extra, a_on)
    gs = xp.maximum(x[0] * g * ratio * _law(x[5], extra, slope=True), 0.0)
    return (p[..., 0] + p[..., 1] * gs + p[..., 2] * xp.sqrt(gs)
            + p[..., 3] * off_cell_tail(x, a_on, m) + p[..., 4] * x[0]
            + p[..., 5] * off_cell_share(x, a_on, m) * x[0])


_ACC = ("g_eff = (frac_on*g_on*a + (1 - frac_on)*m*g_off*a_off)*1e-6 S, a_off = 1/(1 + "
        "m*g_off*rho), rho = (1/a - 1)/g_on (m: the OFF cell's read conductance per siemens "
        "relative to the ON cell's, the state-dependent memristor law) (a: the ON cell's wire-free fraction, its access "
        "transistor in series; an OFF cell loses less); T = tanh(sqrt(s))/sqrt(s), s = "
        "b*u*(1 + k*(1 - T0)), T0 = T(b*u), u = law'(V)*r_bl*g_eff*(rows+1)*(rows+1/2); "
        "g = (frac_on*g_on + (1 - frac_on)*m*g_off)*1e-6 S; law = v0*sinh(V/v0), law' = "
        "cosh(V/v0) (extra v0_v > 0) or V, 1")
#: inputs (rows, r_bl_ohm, frac_on, g_on_us, g_off_us, v_read_v); valid from frac_on = 0
CROSSBAR_ACC_FORMS = (
    Form("crossbar-ir-drop-acc", ("a", "b", "c", "k", "m"), 6,
         "drop = 1 - (g_eff/g)*T*(1 + c*(1 - T)), " + _ACC, _ir_drop_acc_form),
    Form("crossbar-column-current-acc", ("a", "b", "c", "k", "m"), 6,
         "I = scale * rows*g*law(V) * (g_eff/g)*T*(1 + c*(1 - T)), " + _ACC + "; scale "
         "(extra): 1 for the current, -r_f*A0/(1+A0) for the TIA output", _current_acc_form),
    Form("crossbar-read-energy-acc", ("b", "c", "k", "m", "d0", "d1", "d2"), 6,
         "E = V*law(V) * (d0 + d1*Gc + d2*Gc^2), Gc = rows*g_eff*T*(1 + c*(1 - T)) S, " +
         _ACC + " (a: extra a_on, from the IR-drop fit)", _read_energy_acc_form),
    Form("crossbar-settling-acc", ("b", "c", "k", "m", "d0", "d1", "d2"), 6,
         "t = d0 + d1*Gs + d2*Gs^2, Gs = rows*g_eff*law'(V)*T*(1 + c*(1 - T)) S, " + _ACC +
         " (a: extra a_on, from the IR-drop fit)", _settling_acc_form),
    Form("crossbar-settling-light", ("b", "c", "k", "m", "d0", "d1", "d2", "d3", "d4"), 6,
         "t = d0 + d1*Gs + d2*Gs^2 + d3*ln(max(100*w_off, 1)) + d4*rows (the bit line's "
         "capacitance), w_off = (1 - frac_on)*m*g_off*"
         "a_off*1e-6/g_eff (the OFF cells' share of the current, settling with their own "
         "time constant d3), Gs = rows*g_eff*law'(V)*T*(1 + c*(1 - T)) S, " + _ACC +
         " (a: extra a_on, from the IR-drop fit)", _settling_light_form),
    # the shipped (junction-area) sweep: the TIA's settling grows sub-linearly with the
    # noise gain 1 + r_f*Gs (d1*Gs + d2*sqrt(Gs): a quadratic in Gs extrapolated to twice
    # the trained Gs by 20-40 % FS), the OFF cells' own settling (d3*tail), and the bit
    # line's capacitance (~rows) in the TIA's noise gain, which sets the settling of a
    # column with every cell OFF (d5*w_off*rows: w_off = 1 at frac_on = 0, ~0.1 at 1/16;
    # this is what makes frac_on = 0 settle slower than 1/16)
    Form("crossbar-settling-off", ("d0", "d1", "d2", "d3", "d4", "d5"),
         6, "t = d0 + d1*Gs + d2*sqrt(Gs) + d3*ln(max(100*w_off, 1)) + d4*rows + "
         "d5*w_off*rows, w_off = (1 - frac_on)*m*g_off*a_off*1e-6/g_eff (the OFF cells' "
         "share of the current), Gs = rows*g_eff*law'(V)*T*(1 + c*(1 - T)) S (the TIA's "
         "noise gain 1 + r_f*Gs), rows: the bit line's capacitance, " + _ACC +
         " (a: extra a_on; b, c, k, m: extra ladder; both from the IR-drop fit: the TIA "
         "sees the column conductance the IR-drop ladder measures)", _settling_off_form),
)
for _f in CROSSBAR_ACC_FORMS:
    FORMS.add(_f.name, _f)


@register_kind
class CrossbarColumnModel(BehavioralModel):
    kind = "crossbar-column"
    primary = "i_out_a"

    @property
    def device(self) -> str:
        return self.meta.get("device", "linear")

    def cell_current(self, g_s, v_v, v0_v: float | None = None,
                     temp_c: float = 27.0) -> np.ndarray:
        """Cell read current [A] by the recipe's device law: G*V (linear) or the
        imc_memristor filament + gap law at temp_c [C] (1t1r, :func:`.memristor.read_current`;
        the access transistor is not included)."""
        from .memristor import read_current
        xp = namespace_of(g_s, v_v)
        g, v = xp.asfloat(g_s), xp.asfloat(v_v)
        if self.device == "linear":
            return g * v
        v0 = float(v0_v if v0_v is not None else self.meta.get("v0_v", 0.5))
        return read_current(v, g, v0, temp_c, leak=False)

    def ideal_current(self, g_s, v_v, axis: int = -1, **kw) -> np.ndarray:
        """sum over rows of cell_current (no wires, no access device)."""
        return self.cell_current(g_s, v_v, **kw).sum(axis)

    @staticmethod
    def wire_load(rows, r_bl_ohm, frac_on, g_on_us, g_off_us) -> np.ndarray:
        """Dimensionless bit-line load u = r_bl * g * (rows+1) * (rows+1/2) (g = frac_on*g_on
        + (1 - frac_on)*g_off in S; ~ r_bl*g*rows^2): the one variable the wire IR drop of
        an evenly loaded column depends on (relative drop ~ u/3 for u << 1, exact for
        the lumped ladder; -> 1 - 1/sqrt(u) for u >> 1)."""
        xp = namespace_of(rows, r_bl_ohm, frac_on, g_on_us, g_off_us)
        f = xp.asfloat(frac_on)
        g = (f * g_on_us + (1.0 - f) * g_off_us) * 1e-6
        n = xp.asfloat(rows)
        return xp.asfloat(r_bl_ohm) * g * (n + 1.0) * (n + 0.5)

    def ir_drop(self, *, corner=None, strict=False, **settings) -> np.ndarray:
        """Relative IR drop (i_ideal - i_out) / i_ideal at the given settings."""
        return self.evaluate("ir_drop_rel", corner=corner, strict=strict, **settings)

    def correct(self, i_ideal, *, corner=None, strict=False, **settings) -> np.ndarray:
        """i_ideal * (1 - ir_drop(settings)): the ngspice-calibrated column current."""
        d = self.ir_drop(corner=corner, strict=strict, **settings)
        xp = namespace_of(i_ideal, d)
        return xp.asfloat(i_ideal) * (1.0 - d)

    def column_current(self, *, corner=None, strict=False, **settings) -> np.ndarray:
        return self.evaluate("i_out_a", corner=corner, strict=strict, **settings)

    def read_energy(self, *, corner=None, strict=False, **settings) -> np.ndarray:
        return self.evaluate("e_read_j", corner=corner, strict=strict, **settings)

    def settling_time(self, *, corner=None, strict=False, **settings) -> np.ndarray:
        return self.evaluate("t_settle_s", corner=corner, strict=strict, **settings)
