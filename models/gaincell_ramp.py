"""Gain-cell column integrator with the SKY130 OTA's soft output saturation: form
``integrator-soft-rails`` (q_col_c, v_int_v of recipe gaincell-mac v9, integrator = ota;
fitted by characterize/fitting/ramp_soft.py).

Why the older forms (``integrator-ramp-feedthrough``, :mod:`imcspice.models.forms`) miss:
they clamp the ramp at a rail the data sits on, or bend it into that rail from a knee.
The behavioral op-amp has a hard 1.8 V clamp; the two-stage OTA of circuits/ota.py has
none. Its output node is the drain pair M6 (NMOS, to ground) / M7 (PMOS current source,
to VDD). Rising, the output leaves M7 less and less source-drain voltage: once it is
within M7's Vdsat (~0.2-0.3 V) of VDD, M7 enters triode, its output conductance rises
from lambda I7 towards beta7 (Vov7 - Vsd7) and the second stage's gain gm6 / (gds6 +
gds7) collapses smoothly; falling, M6 does the same within its Vdsat of ground. The
shipped sweep shows it: the 0.9 V column's output ramps at 0.1 V/ns, slows from ~1.4 V
on and creeps to 1.69 V by 15 ns, with no level it ever sits on (so no rail is "reached"
for the older fitter, which then fits an unclamped line: 5.9 % FS off).

Hand derivation. Let z be the ideal integrator output, reset level y0 plus the
column's charge over C_int (z = y0 + Q / C_int: feedthrough, start-up step and ramp as
in ``integrator-ramp-feedthrough``). A loop gain beta A(y) holds the virtual ground
to within (y - y0) / (beta A(y)), so the output falls behind z by that much,

    z - y = (y - y0) / (beta A(y)).

Near a rail R the gain collapses with the headroom left to the output transistor; to
first order beta A(y) = (R - y) / c, linear in the headroom and zero at R (c, in output
units, sets the knee's width: at z = R the output is ~sqrt(c (R - y0)) short of R,
the shipped fit, R = 1.716 V, c = 8.1 mV, is 0.10 V short there, of the order of M7's
Vdsat; the bottom rail 0.031 V with c = 2.5 mV, M6's). Then

    (z - y)(R - y) = c (y - y0),

a hyperbola through (y0, y0) with the asymptotes y = z (far below the rail: the linear
integrator, slope 1 / (1 + c / (R - y0)), the finite gain's) and y = R (the output can
never pass R, and approaches it as R - y ~ c (R - y0) / (z - R)); y is its lower root

    y = (b - sqrt(b^2 - 4 (z R + c y0))) / 2,   b = z + R + c.

Each side has its own rail and width (the top: M7 near VDD; the bottom, mirrored: M6
near ground), applied on its side of y0 (z >= y0: top; z < y0: bottom).

The column charge q_col_c is not stopped by the rail: while the output creeps, the
charge the cells still draw moves the input node instead (the virtual ground is lost),
and the cells' current falls as that node moves toward the level where their current
stops (the read devices' drain bias). The charge the output did not take, e = z - y
(charge units: z, y are charges, y = C_int (v_out - vref) up to the finite gain), is
then delivered at a rate falling linearly with what has already gone, dq_e / dQ =
1 - q_e / X (X = C_node * Delta V_stop: the input node's capacitance, C_int + bit line
+ OTA input gate, times how far it can move before the cells stop), so

    q = y + X (1 - exp(-e / X)),

X per side (excess_lo / excess_hi); 0 for the integrator's own output v_int_v (its
output holds nothing beyond y). With X -> inf, q = z: a charge measured through an
ideal virtual ground.

The ramp itself carries one term more than ``integrator-ramp-feedthrough``: a
curvature (z += curvature t^2). A column whose ramp asks for more than the OTA's slew
rate (I5 / Cc = 80 V/us; 64 rows at 0.9 V: ~0.1 V/ns) gets a current that falls through
the read (the shipped 0.9 V column: 54 -> 45 fC/ns from 3 to 9 ns, before any rail),
which a straight ramp misses by ~0.8 % FS; a quadratic is its first-order term.
The fitted rails of q_col_c are not C_int times those of v_int_v (the fit puts q's knee
lower, 0.40 pC, and its excess X_hi ~ 1 pC larger): for the charge they describe the
measured bend; they are not a separately measured rail.

Parameters, in output units (V for v_int_v, C for q_col_c): gain, step, y0,
feedthrough, curvature (per setting; z as in ``integrator-ramp-feedthrough`` plus the
curvature), rail_lo, c_lo, rail_hi, c_hi, excess_lo, excess_hi (shared by the settings
of a corner). Extras: t_edge (the step's settling time, s), t_ft (the word-line edge,
s).
"""
from __future__ import annotations

import numpy as np

from .array_api import namespace_of
from .forms import FORMS, Form

PARAM_NAMES = ("gain", "step", "y0", "feedthrough", "rail_lo", "c_lo", "rail_hi", "c_hi",
               "excess_lo", "excess_hi", "curvature")


def _hyperbola(z, y0, rail, c, xp):
    """Lower root y of (z - y)(rail - y) = c (y - y0), for rail > y0, c >= 0: y0 at
    z = y0, -> z far below the rail, -> rail as z -> inf (module docstring)."""
    b = z + rail + c
    # b^2 - 4 (z R + c y0), written without cancellation: > 0 for c > 0, rail > y0
    s = xp.sqrt((z - rail + c) ** 2 + 4.0 * c * (rail - y0))
    # the lower root (b - s) / 2, as 2 (z R + c y0) / (b + s) where b > 0 (no cancellation)
    pos = b > 0
    return xp.where(pos, 2.0 * (z * rail + c * y0) / xp.where(pos, b + s, 1.0),
                    (b - s) / 2.0)


def soft_rails(z, y0, rail_lo, c_lo, rail_hi, c_hi):
    """The output y of an ideal-integrator value z through the soft rails (top for
    z >= y0, the mirrored bottom below)."""
    xp = namespace_of(z, y0, rail_hi)
    up = _hyperbola(z, y0, rail_hi, c_hi, xp)
    dn = -_hyperbola(-z, -y0, -rail_lo, c_lo, xp)
    return xp.where(z >= y0, up, dn)


def _excess(e, x, xp):
    """X (1 - exp(-e / X)) for X > 0 (the charge past the output's share), 0 for X = 0."""
    ok = x > 0
    xs = xp.where(ok, x, 1.0)
    return xp.where(ok, -xs * xp.expm1(-e / xs), 0.0 * e)


def ramp_state(t, p, extra):
    """z(t): the ideal integrator's value after a pulse of width t (s):
    y0 + feedthrough min(t / t_ft, 1) + step (1 - exp(-t / t_edge)) + gain t +
    curvature t^2."""
    te = float(np.asarray(extra.get("t_edge", 1e-10)).ravel()[0])
    tf = float(np.asarray(extra.get("t_ft", 1e-10)).ravel()[0])
    xp = namespace_of(t, p)
    t = xp.asfloat(t)
    gain, step, y0, ft = (p[..., k] for k in range(4))
    return y0 + ft * xp.clip(t / tf, 0.0, 1.0) + step * -xp.expm1(-t / te) + gain * t + \
        p[..., 10] * t * t


def _integrator_soft_rails(x, p, extra):
    """The form (module docstring): z, its soft-railed output y, plus the excess charge."""
    (t,) = x
    xp = namespace_of(t, p)
    z = ramp_state(t, p, extra)
    y0 = p[..., 2]
    rlo, clo, rhi, chi, xlo, xhi = (p[..., k] for k in range(4, 10))
    y = soft_rails(z, y0, rlo, clo, rhi, chi)
    e = z - y
    return y + xp.where(e >= 0, _excess(e, xhi, xp), -_excess(-e, xlo, xp))


FORMS.add("integrator-soft-rails", Form(
    "integrator-soft-rails", PARAM_NAMES, 1,
    "z = y0 + feedthrough * min(t / t_ft, 1) + step * (1 - exp(-t / t_edge)) + gain * t; "
    "y: lower root of (z - y)(R - y) = c (y - y0) (the OTA's gain falling linearly with "
    "the output's headroom to the rail R: rail_hi/c_hi for z >= y0, mirrored rail_lo/"
    "c_lo below); output y + X (1 - exp(-(z - y) / X)), X = excess_hi/excess_lo (the "
    "charge the cells still deliver into the input node past the output's share; 0: "
    "none)", _integrator_soft_rails))
