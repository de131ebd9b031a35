"""Quasi-static relaxation of a floating storage node: C(V) dV/dt = -I_leak(V), solved by
quadrature of t(V) on a tabulated leakage current, with the interpolation a signed current
over many decades needs (asinh). Used by the gain-cell retention recipe; V in volts, t in
s, I in A, C in F."""
from __future__ import annotations

import numpy as np


def leak_zero(vs: np.ndarray, i_leak: np.ndarray, floor: float) -> float:
    """The relaxation level: first zero crossing of I_leak(V), interpolated the way the
    ODE interpolates (:func:`asinh_interp`) between the nearest resolved points
    (|I| >= floor) of opposite sign; NaN if those lie more than 2 grid steps apart."""
    ok = np.nonzero(np.abs(i_leak) >= floor)[0] if floor > 0 else np.arange(len(vs))
    step = float(vs[1] - vs[0])
    scale = max(float(np.max(np.abs(i_leak))) * 1e-9, 1e-30)
    for a, b in zip(ok[:-1], ok[1:]):
        if np.sign(i_leak[a]) * np.sign(i_leak[b]) < 0:
            if vs[b] - vs[a] > 2 * step + 1e-12:
                return float("nan")
            x = np.linspace(vs[a], vs[b], 401)
            y = asinh_interp(x, vs[[a, b]], i_leak[[a, b]], scale)
            k = int(np.nonzero(np.sign(y) != np.sign(y[0]))[0][0])
            return float(x[k - 1] - y[k - 1] * (x[k] - x[k - 1]) / (y[k] - y[k - 1]))
        if i_leak[b] == 0 and floor == 0:
            return float(vs[b])
    return float("nan")


def asinh_interp(x: np.ndarray, xp: np.ndarray, fp: np.ndarray, scale: float) -> np.ndarray:
    """Interpolate a signed current spanning many decades: within a grid cell whose ends
    have the same sign, linearly in asinh(f/scale) (log-like: subthreshold and junction
    currents are exponential in V); within a cell where the sign changes, linearly (a
    smooth zero crossing is linear)."""
    x = np.asarray(x, dtype=float)
    j = np.clip(np.searchsorted(xp, x) - 1, 0, len(xp) - 2)
    # |f| below scale is rounding noise (e.g. ~1e-34 A at Vds = 0 with ngspice 46): a zero,
    # not a resolved same-sign current to interpolate toward exponentially
    fp = np.where(np.abs(fp) < scale, 0.0, fp)
    f0, f1 = fp[j], fp[j + 1]
    w = np.clip((x - xp[j]) / (xp[j + 1] - xp[j]), 0.0, 1.0)
    a0, a1 = np.arcsinh(f0 / scale), np.arcsinh(f1 / scale)
    log_like = scale * np.sinh(a0 + w * (a1 - a0))
    linear = f0 + w * (f1 - f0)
    return np.where(f0 * f1 > 0, log_like, linear)


def relax_ode(vs, i_leak, vc, c_sn, v_start: float, t_start: float, floor: float = 0.0):
    """Solve C(V) dV/dt = -I(V) from (t_start, v_start) by quadrature of t(V).

    Returns (t, V, v_inf, complete): samples of the trajectory, the level it relaxes
    toward (the first zero of I in the direction of motion; the end of the grid if none),
    and whether it could be followed to v_inf: it stops where |I| falls below ``floor``
    (the simulator's current resolution), beyond which V(t) is unknown."""
    scale = max(float(np.max(np.abs(i_leak))) * 1e-9, 1e-30)
    i0 = float(asinh_interp(np.array([v_start]), vs, i_leak, scale)[0])
    if i0 == 0.0 or abs(i0) < floor:
        return np.array([t_start]), np.array([v_start]), v_start, False
    direction = -np.sign(i0)
    # the zero of I met first when moving from v_start in `direction`
    fine = np.linspace(vs[0], vs[-1], 20 * len(vs) + 1)
    fi = asinh_interp(fine, vs, i_leak, scale)
    sel = (fine - v_start) * direction > 0
    ahead, fa = fine[sel], fi[sel]
    if direction < 0:
        ahead, fa = ahead[::-1], fa[::-1]
    v_inf = float(ahead[-1]) if len(ahead) else v_start
    z = np.nonzero(np.sign(fa) != np.sign(i0))[0]
    if len(z):
        j = int(z[0])
        a, b = (ahead[j - 1], ahead[j]) if j > 0 else (v_start, ahead[0])
        fa_, fb_ = (fa[j - 1], fa[j]) if j > 0 else (i0, fa[0])
        v_inf = float(a - fa_ * (b - a) / (fb_ - fa_)) if fb_ != fa_ else float(b)
    # grid of the distance travelled, geometric near both the start and the end (v_inf)
    frac = np.concatenate([[0.0], np.geomspace(1e-8, 0.5, 400),
                           1.0 - np.geomspace(0.5, 1e-7, 400)[1:]])
    v = v_start + (v_inf - v_start) * frac
    i = asinh_interp(v, vs, i_leak, scale)
    c = np.interp(v, vc, c_sn)
    complete = True
    # beyond the current resolution the motion is unknown: stop there, unless that is
    # merely the approach to the zero crossing itself (within two grid steps of it)
    step = float(vs[1] - vs[0])
    lost = np.nonzero((np.abs(i) < floor) & (np.abs(v - v_inf) > 2 * step))[0]
    if len(lost):
        v, i, c = v[:lost[0]], i[:lost[0]], c[:lost[0]]
        complete = False
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = -i / c                          # dV/dt
        g = np.where(rate * direction > 0, 1.0 / rate, np.inf)   # dt/dV
    dt = 0.5 * (g[1:] + g[:-1]) * np.diff(v)
    t = t_start + np.concatenate([[0.0], np.cumsum(dt)])
    ok = np.isfinite(t)
    t, v = t[ok], v[ok]
    if not complete:
        return t, v, v_inf, False
    # the last stretch into the zero crossing is log-divergent in time and below the
    # interpolation's resolution: count the trajectory as complete within 2 grid steps
    return t, v, v_inf, bool(abs(v[-1] - v_inf) <= 2 * step)


def eval_traj(t_traj, v_traj, v_inf, complete, t_axis):
    """V on ``t_axis`` from trajectory samples (log-time interpolation); before the start
    the start value; after the last sample the relaxation level if the trajectory got
    there, NaN (unknown) if it was cut at the current resolution."""
    if len(t_traj) < 2:
        out = np.full_like(t_axis, v_traj[0])
        out[t_axis > t_traj[0]] = v_inf if complete else np.nan
        return out
    lt = np.log(np.maximum(t_traj, 1e-30))
    out = np.interp(np.log(t_axis), lt, v_traj, left=v_traj[0], right=v_traj[-1])
    out[t_axis > t_traj[-1]] = v_inf if complete else np.nan
    return out


def relax_tau(t: np.ndarray, v: np.ndarray, v_inf: float) -> float:
    """1/e time of |v - v_inf| relative to its value at t[0] (log-time interpolation);
    exponential extrapolation from the last point when not reached; inf if no decay."""
    if not np.isfinite(v_inf):
        return float("nan")
    dev = np.abs(v - v_inf)
    d0 = dev[0]
    if d0 <= 1e-9:
        return float("nan")
    target = d0 / np.e
    below = np.nonzero(dev <= target)[0]
    if len(below):
        k = int(below[0])
        if k == 0:
            return float(t[0])
        lt = np.log(t[k - 1:k + 1])
        ld = np.log(np.maximum(dev[k - 1:k + 1], 1e-30))
        return float(np.exp(lt[0] + (np.log(target) - ld[0]) * (lt[1] - lt[0]) / (ld[1] - ld[0])))
    ratio = dev[-1] / d0
    if ratio >= 1.0 - 1e-12:
        return float("inf")
    return float(t[-1] / -np.log(ratio))
