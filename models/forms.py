"""Closed forms a behavioral model may use, by name (numpy arrays or torch tensors).

A model file names its form (``form`` attribute of a function); the code that
evaluates it lives here (or in the family's own module, which adds its forms to the
:data:`FORMS` registry: the crossbar ladder forms in :mod:`imcspice.models.crossbar`), so
a file never carries anything executable. Each form
takes its input arrays (already broadcast) and its parameter array ``p`` of shape
``(..., n_params)`` (one parameter vector per point, interpolated from the model's
parameter grid), plus optional fixed arrays (``extra``, e.g. polynomial exponents). Each is written once against the namespace of its
inputs (:func:`~imcspice.models.array_api.namespace_of`): numpy in, numpy out; torch in,
torch out, differentiable.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..registry import Registry
from .array_api import namespace_of


@dataclass(frozen=True)
class Form:
    name: str
    params: tuple[str, ...] | None     # None: variable count (polynomials)
    n_inputs: int
    text: str                          # the equation, for humans and ``describe``
    func: Callable
    #: form inputs that are the model's own outputs (fed by the model, not the caller)
    composed: tuple[str, ...] = ()


def _memristor_sinh(x, p, extra):
    g_us, v = x
    xp = namespace_of(g_us, v, p)
    g_per_us, v0 = p[..., 0], p[..., 1]
    return g_per_us * g_us * v0 * xp.sinh(v / v0)


def _exp_linear(x, p, extra):
    (g,) = x
    xp = namespace_of(g, p)
    return p[..., 0] * xp.exp(-p[..., 1] * g) + p[..., 2] * g + p[..., 3]


def _poly(x, p, extra):
    """sum_k c_k * prod_i ((x_i - center_i) / half_i) ** e_ki  (inputs normalized to
    [-1, 1] with the fit's centers and half-widths, which keeps the fit well posed)."""
    exps = extra["exponents"]          # (n_terms, n_inputs) integers stored as float
    center = extra["center"]
    half = extra["half"]
    logs = extra.get("log_input", np.zeros(len(center)))   # 1: the input enters as ln(x)
    xp = namespace_of(*x, p)
    x = [xp.log(xi) if lg else xp.asfloat(xi) for xi, lg in zip(x, logs)]
    z = [(xi - float(c)) / float(h) for xi, c, h in zip(x, center, half)]
    maxe = int(exps.max()) if exps.size else 0
    powers = []
    for zi in z:
        pw = [xp.ones_like(zi)]
        for _ in range(maxe):
            pw.append(pw[-1] * zi)
        powers.append(pw)
    out = xp.zeros(tuple(xp.broadcast_arrays(*z)[0].shape) if z else ())
    for k, e in enumerate(exps.astype(int)):
        term = p[..., k]
        for i, ei in enumerate(e):
            if ei:
                term = term * powers[i][ei]
        out = out + term
    return out


def _saturating_linear(x, p, extra):
    """y = clip(gain * x + offset, lo, hi): an integrator/readout with rails."""
    (u,) = x
    xp = namespace_of(u, p)
    return xp.clip(p[..., 0] * u + p[..., 1], p[..., 2], p[..., 3])


def _time_scaled_curve(x, p, extra):
    """y(t) = curve(ln t - ln a): p = (ln a, y at each of extra["u_nodes"]), linear
    between nodes, the end values held beyond them."""
    (t,) = x
    xp = namespace_of(t, p)
    nodes = xp.asfloat(extra["u_nodes"])
    u = xp.log(t) - p[..., 0]
    k = xp.to_int(xp.clip(xp.searchsorted(nodes, u) - 1, 0, len(nodes) - 2))
    w = xp.clip((u - nodes[k]) / (nodes[k + 1] - nodes[k]), 0.0, 1.0)
    ys = xp.broadcast_to(p[..., 1:], tuple(k.shape) + (p.shape[-1] - 1,))
    y0 = xp.take_along_axis(ys, k[..., None], -1)[..., 0]
    y1 = xp.take_along_axis(ys, (k + 1)[..., None], -1)[..., 0]
    return (1.0 - w) * y0 + w * y1


def _knee_bend(u, shape):
    """Bend beyond a knee, u = distance past it in units of (rail - knee): slope 1 at
    u = 0, -> 1 for u -> inf. shape 1: 1 - exp(-u) (current falls linearly with the
    charge past the knee); shape 2: tanh(u) (falls quadratically: flat, then a sharper
    corner into the rail)."""
    xp = namespace_of(u, shape)
    return xp.where(shape >= 1.5, xp.tanh(u), -xp.expm1(-u))


def _bent_into_rails(z, klo, lo, khi, hi, slo, shi):
    """z passed unchanged between the knees; beyond a knee K toward its rail R,
    K + (R - K) * bend(|z - K| / |R - K|) (bend by shape, see _knee_bend); a knee equal
    to its rail is a hard clamp."""
    xp = namespace_of(z, klo, hi)
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
        dh = hi - khi
        up = xp.where(dh > 0, khi + dh * _knee_bend(xp.maximum(z - khi, 0) /
                                                    xp.where(dh > 0, dh, 1), shi), hi)
        dl = klo - lo
        dn = xp.where(dl > 0, klo - dl * _knee_bend(xp.maximum(klo - z, 0) /
                                                    xp.where(dl > 0, dl, 1), slo), lo)
    return xp.where(z > khi, up, xp.where(z < klo, dn, z))


def _integrator_ramp_lag(x, p, extra):
    """Integrated column: z = y0 + step * (1 - exp(-t / t_edge)) + gain * t (the step
    settles exponentially with time constant extra t_edge; a negative step is the
    integrator's start-up lag, z -> y0 + gain * (t - t_edge) once settled), passed
    unchanged between the knees and bent into each rail beyond its knee by
    ``shape_lo`` / ``shape_hi`` (see _bent_into_rails)."""
    (t,) = x
    gain, step, y0, klo, lo, khi, hi, slo, shi = (p[..., k] for k in range(9))
    te = float(np.asarray(extra.get("t_edge", 1e-10)).ravel()[0])
    xp = namespace_of(t, p)
    t = xp.asfloat(t)
    z = y0 + step * -xp.expm1(-t / te) + gain * t
    return _bent_into_rails(z, klo, lo, khi, hi, slo, shi)


def _integrator_ramp_feedthrough(x, p, extra):
    """As _integrator_ramp_lag plus the read path's feedthrough charge ``feedthrough``
    (params[9]), delivered whole once a pulse's edges have passed: z += feedthrough *
    min(t / t_ft, 1) (t_ft: extra, the word-line edge). Physics: the access devices
    connect the cell's internal nodes (between access and read transistors, idle at the
    read rails) to the bit line at every read; their junction and overlap capacitance
    exchanges a fixed charge with it, whatever the pulse width (circuits/gaincell.py
    read_path_subckt). No pulse (t = 0): no feedthrough."""
    (t,) = x
    gain, step, y0, klo, lo, khi, hi, slo, shi, ft = (p[..., k] for k in range(10))
    te = float(np.asarray(extra.get("t_edge", 1e-10)).ravel()[0])
    tf = float(np.asarray(extra.get("t_ft", 1e-10)).ravel()[0])
    xp = namespace_of(t, p)
    t = xp.asfloat(t)
    z = y0 + ft * xp.clip(t / tf, 0.0, 1.0) + step * -xp.expm1(-t / te) + gain * t
    return _bent_into_rails(z, klo, lo, khi, hi, slo, shi)


#: form name -> Form (``FORMS.add(form.name, form)``; a name is taken once)
FORMS: Registry[Form] = Registry("model form")
for _f in (
    Form("memristor-sinh", ("g_per_us", "v0"), 2,
         "I = (g_per_us * G_us) * v0 * sinh(V / v0)", _memristor_sinh),
    Form("exp-linear", ("a", "b", "c", "d"), 1,
         "y(G) = a * exp(-b * G) + c * G + d   (G in uS; ACAM threshold form, 6T2M)",
         _exp_linear),
    Form("poly", None, -1,
         "y = sum_k c_k * prod_i z_i^e_ki, z_i = (u_i - center_i) / half_i, u_i = x_i or "
         "ln(x_i) (log_input)", _poly),
    Form("saturating-linear", ("gain", "offset", "lo", "hi"), 1,
         "y = clip(gain * x + offset, lo, hi)", _saturating_linear),
    Form("time-scaled-curve", None, 1,
         "y(t) = curve(ln t - ln a), curve tabulated on fixed scaled-log-time nodes "
         "(time-temperature superposition: a thermally activated time scale a)",
         _time_scaled_curve),
    Form("integrator-ramp-lag", ("gain", "step", "y0", "knee_lo", "lo", "knee_hi", "hi",
                                 "shape_lo", "shape_hi"), 1,
         "z = y0 + step * (1 - exp(-t / t_edge)) + gain * t (t_edge: extra; step < 0: the "
         "integrator's start-up lag); y = z between the knees, K + (R - K) bend(|z - K| / "
         "|R - K|) beyond a knee K toward its rail R, bend = 1 - exp(-u) (shape 1) or "
         "tanh(u) (shape 2)",
         _integrator_ramp_lag),
    Form("integrator-ramp-feedthrough", ("gain", "step", "y0", "knee_lo", "lo", "knee_hi",
                                         "hi", "shape_lo", "shape_hi", "feedthrough"), 1,
         "z = y0 + feedthrough * min(t / t_ft, 1) + step * (1 - exp(-t / t_edge)) + gain * "
         "t (t_ft, t_edge: extra; feedthrough: the read path's internal-node charge, "
         "whole once the word-line edge has passed; step < 0: the integrator's start-up "
         "lag); rails as integrator-ramp-lag",
         _integrator_ramp_feedthrough),
):
    FORMS.add(_f.name, _f)


def get_form(name: str) -> Form:
    """The form called ``name``; UnknownNameError listing the known forms otherwise."""
    return FORMS[name]
