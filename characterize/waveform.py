"""Measurements on simulated waveforms and sweeps, shared by every recipe: level
crossings (linear or log-linear interpolation), value at a time, integrals over a window
(charge, energy), time above a level, fall and settling times.

All take sample arrays as ngspice returns them (non-uniform time points); times in s,
whatever unit the samples carry."""
from __future__ import annotations

import math

import numpy as np


def zero_crossing(x: np.ndarray, y: np.ndarray) -> float:
    """First sign change of y(x), linearly interpolated; NaN if none."""
    s = np.sign(y)
    k = np.nonzero(s[:-1] * s[1:] < 0)[0]
    if not len(k):
        hits = np.nonzero(y == 0)[0]
        return float(x[hits[0]]) if len(hits) else float("nan")
    k = int(k[0])
    return float(x[k] - y[k] * (x[k + 1] - x[k]) / (y[k + 1] - y[k]))


def value_at(t: np.ndarray, y: np.ndarray, when: float) -> float:
    """y at time ``when`` (linear interpolation; held at the ends)."""
    return float(np.interp(when, t, y))


def charge(t: np.ndarray, i: np.ndarray, t0: float, t1: float) -> float:
    """Integral of i over [t0, t1] (trapezoid on the simulator's time points)."""
    m = (t > t0) & (t < t1)
    tt = np.concatenate([[t0], t[m], [t1]])
    ii = np.concatenate([[value_at(t, i, t0)], i[m], [value_at(t, i, t1)]])
    return float(np.trapezoid(ii, tt))


def crossings(t: np.ndarray, y: np.ndarray, level: float) -> list[tuple[float, int]]:
    """Times where y crosses ``level`` (linear interpolation) with direction +1/-1."""
    d = y - level
    out = []
    for k in np.nonzero(np.sign(d[:-1]) != np.sign(d[1:]))[0]:
        if d[k] == d[k + 1]:
            continue
        tc = t[k] - d[k] * (t[k + 1] - t[k]) / (d[k + 1] - d[k])
        out.append((float(tc), 1 if d[k + 1] > d[k] else -1))
    return out


def high_time(t: np.ndarray, y: np.ndarray, level: float) -> float:
    """Total time y spends above ``level`` (crossings linearly interpolated)."""
    total, start = 0.0, (float(t[0]) if y[0] > level else None)
    for tc, direction in crossings(t, y, level):
        if direction > 0:
            start = tc
        elif start is not None:
            total += tc - start
            start = None
    if start is not None:
        total += float(t[-1]) - start
    return total


def crossing_log(x: np.ndarray, i: np.ndarray, level: float, falling: bool) -> float:
    """x where the positive current ``i`` crosses ``level`` (log-linear interpolation):
    the first crossing downward (``falling``) or upward. NaN if it never crosses or
    already starts on the far side."""
    i = np.maximum(np.asarray(i, dtype=float), 1e-30)
    above = i >= level
    if falling:
        if not above[0]:
            return float("nan")
        k = np.flatnonzero(~above)
    else:
        if above[0]:
            return float("nan")
        k = np.flatnonzero(above)
    if not len(k):
        return float("nan")
    k = int(k[0])
    y0, y1 = math.log(i[k - 1]), math.log(i[k])
    t = (math.log(level) - y0) / (y1 - y0) if y1 != y0 else 0.5
    return float(x[k - 1] + t * (x[k] - x[k - 1]))


def energy(t, t0, t1, power):
    """Integral of ``power`` over the samples with t0 <= t <= t1 (trapezoid, no end
    interpolation), J for W."""
    m = (t >= t0) & (t <= t1)
    return float(np.trapezoid(power[m], t[m]))


def window_energy(t, power, t_end: float) -> float:
    """Trapezoid integral of ``power`` from t[0] to ``t_end``, the window closed exactly
    at t_end (interpolated), J for W."""
    keep = t <= t_end
    t_k, p_k = t[keep], power[keep]
    if t_k[-1] < t_end:
        t_k = np.append(t_k, t_end)
        p_k = np.append(p_k, np.interp(t_end, t, power))
    return float(np.sum(0.5 * (p_k[1:] + p_k[:-1]) * np.diff(t_k)))


def fall_time(t, v, level, t0, t1):
    """Time after ``t0`` at which ``v`` first falls below ``level`` (before ``t1``)."""
    m = np.flatnonzero((t >= t0) & (t <= t1) & (v < level))
    if not len(m):
        return float("nan")
    k = int(m[0])
    if k == 0:
        return 0.0
    ta, tb, va, vb = t[k - 1], t[k], v[k - 1], v[k]
    tc = ta + (level - va) * (tb - ta) / (vb - va) if vb != va else tb
    return float(max(tc, t0) - t0)


def settling_time(t: np.ndarray, y: np.ndarray, final: float, tol: float = 0.01) -> float:
    """Time after which ``y`` stays within ``tol``·|final − y[0]| of ``final``
    (linearly interpolated); NaN when the step is zero or ``y`` ends outside the band."""
    t, y = np.asarray(t, float), np.asarray(y, float)
    band = tol * abs(final - y[0])
    if not band > 0:
        return math.nan
    err = np.abs(y - final) - band
    outside = np.flatnonzero(err > 0)
    if not len(outside):
        return float(t[0])
    k = outside[-1]
    if k + 1 >= len(t):
        return math.nan
    return float(t[k] + (t[k + 1] - t[k]) * err[k] / (err[k] - err[k + 1]))
