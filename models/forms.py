"""Closed forms a behavioral model may use, by name (numpy only).

A model file names its form (``form`` attribute of a function); the code that
evaluates it lives here, so a file never carries anything executable. Each form
takes its input arrays (already broadcast) and its parameter array ``p`` of shape
``(..., n_params)`` (one parameter vector per point, interpolated from the model's
parameter grid), plus optional fixed arrays (``extra``, e.g. polynomial exponents).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Form:
    name: str
    params: tuple[str, ...] | None     # None: variable count (polynomials)
    n_inputs: int
    text: str                          # the equation, for humans and ``describe``
    func: Callable


def _memristor_sinh(x, p, extra):
    g_us, v = x
    g_per_us, v0 = p[..., 0], p[..., 1]
    return g_per_us * g_us * v0 * np.sinh(v / v0)


def _exp_linear(x, p, extra):
    (g,) = x
    return p[..., 0] * np.exp(-p[..., 1] * g) + p[..., 2] * g + p[..., 3]


def _relax_exp(x, p, extra):
    t, v0 = x
    vmid, tau = p[..., 0], p[..., 1]
    return vmid + (v0 - vmid) * np.exp(-t / tau)


def _poly(x, p, extra):
    """sum_k c_k * prod_i ((x_i - center_i) / half_i) ** e_ki  (inputs normalized to
    [-1, 1] with the fit's centers and half-widths, which keeps the fit well posed)."""
    exps = extra["exponents"]          # (n_terms, n_inputs) integers stored as float
    center = extra["center"]
    half = extra["half"]
    logs = extra.get("log_input", np.zeros(len(center)))   # 1: the input enters as ln(x)
    x = [np.log(xi) if lg else xi for xi, lg in zip(x, logs)]
    z = [(xi - c) / h for xi, c, h in zip(x, center, half)]
    maxe = int(exps.max()) if exps.size else 0
    powers = []
    for zi in z:
        pw = [np.ones_like(zi)]
        for _ in range(maxe):
            pw.append(pw[-1] * zi)
        powers.append(pw)
    out = np.zeros(np.broadcast(*z).shape if z else ())
    for k, e in enumerate(exps.astype(int)):
        term = p[..., k]
        for i, ei in enumerate(e):
            if ei:
                term = term * powers[i][ei]
        out = out + term
    return out


def _linear(x, p, extra):
    out = p[..., 0]
    for i, xi in enumerate(x):
        out = out + p[..., i + 1] * xi
    return out


def _saturating_linear(x, p, extra):
    """y = clip(gain * x + offset, lo, hi): an integrator/readout with rails."""
    (u,) = x
    return np.clip(p[..., 0] * u + p[..., 1], p[..., 2], p[..., 3])


FORMS: dict[str, Form] = {f.name: f for f in (
    Form("memristor-sinh", ("g_per_us", "v0"), 2,
         "I = (g_per_us * G_us) * v0 * sinh(V / v0)", _memristor_sinh),
    Form("exp-linear", ("a", "b", "c", "d"), 1,
         "y(G) = a * exp(-b * G) + c * G + d   (G in uS; ACAM threshold form, 6T2M)",
         _exp_linear),
    Form("relax-exp", ("v_mid", "tau"), 2,
         "V(t) = v_mid + (V0 - v_mid) * exp(-t / tau)   (tau Arrhenius-interpolated in T)",
         _relax_exp),
    Form("poly", None, -1,
         "y = sum_k c_k * prod_i z_i^e_ki, z_i = (u_i - center_i) / half_i, u_i = x_i or "
         "ln(x_i) (log_input)", _poly),
    Form("linear", None, -1, "y = p0 + sum_i p_i * x_i", _linear),
    Form("saturating-linear", ("gain", "offset", "lo", "hi"), 1,
         "y = clip(gain * x + offset, lo, hi)", _saturating_linear),
)}


def get_form(name: str) -> Form:
    try:
        return FORMS[name]
    except KeyError:
        raise KeyError(f"unknown model form {name!r}; known: {', '.join(sorted(FORMS))}") from None
