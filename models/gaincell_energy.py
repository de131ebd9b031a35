"""Supply energy of the gain-cell column integrator's SKY130 OTA over the read window:
form ``integrator-supply-energy`` (e_int_j of recipe gaincell-mac v9, integrator = ota;
fitted by characterize/fitting/supply_energy.py).

The OTA (circuits/ota.py) is class A: every branch that touches its 1.8 V supply is a
PMOS current source, M8 (the bias diode, Iref), M5 (the tail, Iref) and M7 (the output
stage, 4 Iref), so the charge the output delivers into the integration capacitor is
NOT drawn from the supply: M7 keeps sourcing its current and M6 sinks less. The read
costs the bias, VDD (2 + k2) Iref T = 1.8 V x 120 uA x 20 ns ~ 4.3 pJ, and moves it
only through the sources' second-order dependences on the nodes the read moves
(measured per device in the transient of the shipped deck, 64 rows: at most
-0.20 pJ at 0.9 V / 15 ns, +0.046 pJ at 0 V, 1-5 % of the bias):

* M7's drain current falls with the output level (channel-length modulation: Vsd7 =
  VDD - v_out), I7 = I7(v0) - g_o (v - v0): the charge -g_o times the time integral
  of the output's excursion over the window (~60 % of the change);
* the output node's capacitance to the supply (M7's drain junction, bulk at VDD;
  SKY130 junction areas on the instance) gives back C (v_end - v0) as the output rises
  (~35 %): a state function of where the output ends; junction capacitance grows as
  its reverse bias VDD - v falls, so a quadratic term per side;
* M7's gate-drain capacitance couples the output's slope into the bias node vbp,
  which the diode M8 restores with tau = C_bp / gm8 (~0.57 pF of M5/M7/M8 gates over
  ~180 uS: ~3 ns): while vbp is disturbed M5, M7 and M8 carry less (a rising output)
  or more current; the charge is proportional to the output's step once vbp has
  recovered, but an output that moves within ~tau of the window's end has not paid it
  yet: the lag term ∫ v'(s) exp(-(T_hold - s) / tau) ds;
* near the top rail M7 leaves saturation: its current collapses over a few tens of mV
  of headroom (the integrator's soft rail, models/gaincell_ramp.py), an extra drop
  exp((v - rail_hi) / w_triode) integrated over the time spent there;
* past either rail the virtual ground is lost and the column's excess charge moves
  the OTA's input node (the tail node follows it; M5's drain junction and Vsd): a
  state that saturates as the cells stop, X (1 - exp(-e / X)) of the excess e = z - y
  of the integrator form, per side.

The output trajectory is the integrator output's own fit (``integrator-soft-rails``,
its parameters copied into this form, in V): during a pulse of width t the output at
time s after the pulse starts is taken as the form's value for a pulse of width s,
y(s); after the pulse it holds y(t) to the end of the window (t_hold after the pulse
start). With Delta(s) = y(s) - y0 and Gauss-Legendre quadrature over [0, t]:

    E(t) = e_static + k_out_hi max(D, 0) + k_out_lo min(D, 0) + k_out_hi2 max(D, 0)^2
           + k_out_lo2 min(D, 0)^2 + k_hold [∫_0^t Delta ds + (t_hold - t) D]
           + k_bias_lag [D exp(-(t_hold - t) / tau) - ∫_0^t Delta(s) exp(-(t_hold - s)
           / tau) ds / tau] + k_triode [∫_0^t g(y) ds + (t_hold - t) g(y(t)) - t_hold
           g(y0)] + k_input_hi X (1 - exp(-e+ / X)) - k_input_lo X (1 - exp(-e- / X)),

D = Delta(t), g(y) = exp((y - rail_hi) / w_triode), e+- the excess beyond each rail at
the pulse's end. Every term is 0 at t = 0 (no pulse: y = z = y0): E(0) = e_static, the
bias energy. The coefficients are the circuit's (g_o VDD, C VDD, ...), in J per V, J
per V s, J per s; fitted per setting, pulled toward the values shared by all settings
of the corner. Extras: t_edge, t_ft (the trajectory's, s), t_hold (s), tau_bias (s),
w_triode (V), x_input (V).
"""
from __future__ import annotations

import numpy as np

from .array_api import namespace_of
from .forms import FORMS, Form
from .gaincell_ramp import PARAM_NAMES as TRAJECTORY_NAMES
from .gaincell_ramp import ramp_state, soft_rails

ENERGY_NAMES = ("e_static", "k_out_hi", "k_out_lo", "k_out_hi2", "k_out_lo2", "k_hold",
                "k_bias_lag", "k_triode", "k_input_hi", "k_input_lo")
PARAM_NAMES = tuple(TRAJECTORY_NAMES) + ENERGY_NAMES
N_TRAJ = len(TRAJECTORY_NAMES)
#: Gauss-Legendre nodes on [0, 1] for the time integrals over the pulse (the trajectory
#: is smooth but for the 100 ps feedthrough edge; 32 nodes: the integrals of the shipped
#: fit change by < 1e-4 of their value from 32 to 64 nodes)
N_QUAD = 32
_U, _W = np.polynomial.legendre.leggauss(N_QUAD)
_U, _W = (_U + 1.0) / 2.0, _W / 2.0


def _extra(extra, key, default):
    return float(np.asarray(extra.get(key, default)).ravel()[0])


def trajectory(t, p, extra):
    """(y, z): the integrator output after a pulse of width t (s) and the ideal
    integrator's value behind it (models/gaincell_ramp.py), V."""
    z = ramp_state(t, p, extra)
    y = soft_rails(z, p[..., 2], p[..., 4], p[..., 5], p[..., 6], p[..., 7])
    return y, z


def features(t, p, extra):
    """The terms of the module docstring at pulse width t (s) for trajectory parameters
    p[..., :N_TRAJ]: a list, in ENERGY_NAMES order after e_static (each 0 at t = 0)."""
    xp = namespace_of(t, p)
    t = xp.asfloat(t)
    th = _extra(extra, "t_hold", 18e-9)
    tau = _extra(extra, "tau_bias", 3e-9)
    wt = _extra(extra, "w_triode", 0.05)
    xs = _extra(extra, "x_input", 0.1)
    y0, rail = p[..., 2], p[..., 6]
    u, w = xp.asfloat(_U), xp.asfloat(_W)
    s = t[..., None] * u                         # quadrature nodes over the pulse
    ys, _ = trajectory(s, p[..., None, :], extra)
    ye, ze = trajectory(t, p, extra)
    d, ds = ye - y0, ys - y0[..., None]
    left = xp.where(t < th, th - t, 0.0 * t)     # the hold after the pulse
    zero = 0.0 * d
    hi, lo = xp.where(d > 0, d, zero), xp.where(d < 0, d, zero)
    hold = t * (ds * w).sum(-1) + left * d
    lag = d * xp.exp(-left / tau) - \
        t * (ds * xp.exp(-(th - s) / tau) * w).sum(-1) / tau
    g0 = xp.exp((y0 - rail) / wt)
    tri = t * (xp.exp((ys - rail[..., None]) / wt) * w).sum(-1) + \
        left * xp.exp((ye - rail) / wt) - th * g0
    e = ze - ye
    e_hi, e_lo = xp.where(e > 0, e, zero), xp.where(e < 0, -e, zero)
    in_hi = -xs * xp.expm1(-e_hi / xs)
    in_lo = xs * xp.expm1(-e_lo / xs)
    return [hi, lo, hi * hi, lo * lo, hold, lag, tri, in_hi, in_lo]


def _integrator_supply_energy(x, p, extra):
    (t,) = x
    out = p[..., N_TRAJ]
    for k, f in enumerate(features(t, p, extra)):
        out = out + p[..., N_TRAJ + 1 + k] * f
    return out


FORMS.add("integrator-supply-energy", Form(
    "integrator-supply-energy", PARAM_NAMES, 1,
    "E = e_static + k_out_hi/lo D+- + k_out_hi2/lo2 D+-^2 + k_hold (int_0^t Delta ds + "
    "(t_hold - t) D) + k_bias_lag (lag of the bias node, tau_bias) + k_triode (time near "
    "the top rail, exp((y - rail_hi) / w_triode)) + k_input_hi/lo X (1 - exp(-e / X)): "
    "Delta = y(s) - y0 the integrator output's trajectory (integrator-soft-rails "
    "parameters), D = Delta(t), e the excess beyond a rail (models/gaincell_energy.py)",
    _integrator_supply_energy))
