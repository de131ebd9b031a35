"""Fitting the gain-cell integrator's ramp (form ``integrator-ramp-lag``, see
:mod:`imcspice.models.gaincell`): the column charge / integrator output against the pulse
width per setting, with the start-up lag and the rails it clamps at."""
from __future__ import annotations

import numpy as np

from ...circuits.gaincell import T_READ_EDGE_S
from ...models.base import Function
from ...models.forms import get_form
from .form import DEFAULT_TOL_PCT, training_grid
from .holdout import heldout_error, split_grid


def _reached_rails(sub, fs: float, tol: float = 1e-3):
    """(lo, hi) of the training values along the last axis; a rail counts as reached
    only where some curve sits on it at two or more points (a clamp is flat), otherwise
    it is pushed far out (no clipping on that side: a curve that merely ends near its
    own extreme must not be clipped there)."""
    lo, hi = float(np.nanmin(sub)), float(np.nanmax(sub))
    at_lo = np.sum(np.abs(sub - lo) <= tol * fs, axis=-1) >= 2
    at_hi = np.sum(np.abs(sub - hi) <= tol * fs, axis=-1) >= 2
    return (lo if at_lo.any() else lo - 100 * fs), (hi if at_hi.any() else hi + 100 * fs)


#: the integrator's output before any pulse: its reset level (an input setting) / no charge
RESET_LEVEL = {"v_int_v": "vref_v", "q_col_c": 0.0}


def fit_ramp(gd, seed, axis: str = "t_pulse_s"):
    """Form ``integrator-ramp-lag`` over the pulse width per setting (q_col_c, v_int_v).

    Physics: with no pulse the integrator stays at its reset level y0 (v_int: vref_v,
    q: 0 -- a setting, not fitted); the word-line edges couple a charge step through the
    cell (``step``, reached within the edge time); then the column integrates a nearly
    constant cell current (``gain``) until the integrator clamps. The clamp is hard on
    v_int; the charge keeps trickling in after the clamp while the bit line settles, so
    q bends into its rail from a knee (slope-continuous exponential approach). Rails:
    the values the training curves sit on (shared by all settings; a rail no curve
    reaches is not imposed); knees: one per side, shared, chosen on a grid by the worst
    training error; gain and step per setting by least squares (step from the
    corner's median where a curve has fewer than two unclamped points). gain stored as
    asinh(gain / s). Returns (Function, held-out error) or (None, None) when the
    training error exceeds the tolerance."""
    from scipy.optimize import least_squares  # start-up time
    src = RESET_LEVEL.get(gd.name)
    if src is None or (isinstance(src, str) and src not in gd.names):
        return None, None
    masks = split_grid(gd, {axis: "form"}, seed)
    param_axes, axes, sub, pshape, xs = training_grid(gd, masks, [axis])
    fs = gd.full_scale
    t = xs[0]
    f = get_form("integrator-ramp-lag").func
    lo, hi = _reached_rails(sub, fs)
    if isinstance(src, str):
        k = param_axes.index(src)
        y0 = np.broadcast_to(axes[src].reshape([1] * (k + 1) + [-1] +
                                                [1] * (len(param_axes) - k - 1)), pshape)
    else:
        y0 = np.full(pshape, float(src))
    ex = {"t_edge": np.array([_step_time(t, sub, y0, lo, hi, fs, T_READ_EDGE_S)])}
    gscale = fs / max(float(np.max(t)), 1e-30)

    cw = np.zeros(pshape)                          # per-curve worst training error, % FS
    upward = np.nan_to_num(sub[..., -1] - y0) > 0  # curves ending above their reset level

    def fit_all(klo, khi, slo=1.0, shi=1.0):
        out = np.full(pshape + (9,), np.nan)
        band = 0.01 * fs
        free = np.zeros(pshape, dtype=bool)
        for idx in np.ndindex(*pshape):
            y = sub[idx]
            ok = np.isfinite(y) & (t > 0) & (y > klo + band) & (y < khi - band)
            if ok.sum() >= 2:
                g, o = np.polyfit(t[ok], y[ok], 1)
                out[idx] = [g, o - y0[idx], y0[idx], klo, lo, khi, hi, slo, shi]
                free[idx] = True
        if not free.any():
            return None, np.inf
        worst = 0.0
        for idx in np.ndindex(*pshape):
            y = sub[idx]
            ok = np.isfinite(y)
            if ok.sum() < 2:
                return None, np.inf
            if free[idx]:
                start = out[idx][:2].copy()
            else:
                step = float(np.median(out[idx[0]][free[idx[0]]][:, 1]))
                tt, yy = t[ok & (t > 0)], y[ok & (t > 0)]
                start = np.array([(yy[0] - y0[idx] - step) / max(tt[0], 1e-30), step])

            def resid(p, idx=idx, free_=free[idx], step0=start[1]):
                q = np.array([p[0], p[1] if free_ else step0, y0[idx], klo, lo, khi, hi,
                              slo, shi])
                return (f([t[ok]], q, ex) - y[ok]) / fs
            p0 = start if free[idx] else start[:1]
            sc = np.array([gscale, fs])[:len(p0)]
            r = least_squares(resid, p0, x_scale=sc, max_nfev=500)
            p = np.array([r.x[0], r.x[1] if free[idx] else start[1]])
            out[idx] = [p[0], p[1], y0[idx], klo, lo, khi, hi, slo, shi]
            cw[idx] = 100 * float(np.max(np.abs(resid(r.x))))
            worst = max(worst, cw[idx])
        _extrapolate_clamped_gain(out, free)
        return out, worst

    span = (hi if np.isfinite(hi) else np.nanmax(sub)) - (lo if np.isfinite(lo) else
                                                          np.nanmin(sub))
    fr = np.array([0.0, 0.01, 0.02, 0.03, 0.04, 0.055, 0.07, 0.085, 0.1, 0.125, 0.15, 0.2,
                   0.25, 0.3])
    klo, khi, slo, shi = lo, hi, 1.0, 1.0
    # one side at a time (each knee bends a different set of curves); per side the knee
    # and the bend shape (1: exponential, 2: tanh -- flat longer, sharper into the rail)
    for side in ("hi", "lo"):
        cands = []
        for shape in (1.0, 2.0):
            for a in fr:
                if side == "hi":
                    kl, kh, sl, sh = klo, hi - a * span, slo, shape
                else:
                    kl, kh, sl, sh = lo + a * span, khi, shape, shi
                out, w = fit_all(kl, kh, sl, sh)
                # judged on the curves ending on this side (the other side's knee is
                # still to be chosen and would mask the difference)
                ws = float(np.max(cw[upward], initial=0.0) if side == "hi" else
                           np.max(cw[~upward], initial=0.0)) if np.isfinite(w) else w
                cands.append((ws, a, kl, kh, sl, sh, out))
        w, a, kl, kh, sl, sh, out = min(cands, key=lambda c: c[0])
        klo, khi, slo, shi = kl, kh, sl, sh
    out, worst = fit_all(klo, khi, slo, shi)      # worst over all curves
    if out is None or worst > DEFAULT_TOL_PCT:
        return None, None
    g = out[..., 0]
    s = 1e-3 * float(np.max(np.abs(g))) or 1.0
    out[..., 0] = np.arcsinh(g / s)
    scales = ["inv_kelvin" if n == "temp_c" else "linear" for n in param_axes]
    fn = Function(name=gd.name, unit=gd.unit, form="integrator-ramp-lag",
                  corners=list(gd.corners), grid_inputs=param_axes,
                  grid_axes=[axes[n] for n in param_axes], values=out, form_inputs=[axis],
                  param_names=["gain", "step", "y0", "knee_lo", "lo", "knee_hi", "hi",
                               "shape_lo", "shape_hi"],
                  scales=scales, param_transform=["asinh"] + ["linear"] * 8,
                  extra={"asinh_scale": np.array([s] + [1.0] * 8), **ex},
                  doc=f"column integrator vs {axis}: edge step, linear ramp, rails")
    fn.validate()
    err = heldout_error(fn, gd, masks)
    err["training_max_pct_fs"] = worst
    err["knees"] = {"lo": float(klo), "hi": float(khi), "rail_lo": lo, "rail_hi": hi,
                    "shape_lo": slo, "shape_hi": shi, "t_edge_s": float(ex["t_edge"][0])}
    return fn, err


#: candidate settling times of the ramp's step: the word-line edge, or the integrator's
#: start-up (its slope is reached only after ~1 ns)
_STEP_TIMES_S = (0.25e-9, 0.5e-9, 0.75e-9, 1.0e-9, 1.5e-9, 2.0e-9)


def _step_time(t, sub, y0, lo, hi, fs, t_edge_s):
    """The step's time constant shared by all curves: the candidate (the word-line edge
    ``t_edge_s`` or one of _STEP_TIMES_S) whose linear least-squares fit of
    y - y0 = gain * t + step * (1 - exp(-t / te)) to the unclamped training points of every
    curve has the smallest worst residual."""
    band = 0.01 * fs
    lo_ = lo if np.isfinite(lo) else -np.inf
    hi_ = hi if np.isfinite(hi) else np.inf
    best = (np.inf, t_edge_s)
    for te in (t_edge_s,) + _STEP_TIMES_S:
        worst = 0.0
        for idx in np.ndindex(*sub.shape[:-1]):
            y = sub[idx]
            ok = np.isfinite(y) & (t > 0) & (y > lo_ + band) & (y < hi_ - band)
            if ok.sum() < 3:
                continue
            a = np.stack([t[ok], -np.expm1(-t[ok] / te)], axis=1)
            c, *_ = np.linalg.lstsq(a, y[ok] - y0[idx], rcond=None)
            worst = max(worst, float(np.max(np.abs(a @ c - (y[ok] - y0[idx])))))
        if worst < best[0]:
            best = (worst, te)
    return best[1]


def _extrapolate_clamped_gain(out, free):
    """A curve clamped from its first pulse step only bounds its gain from below; take
    the gain of the nearest well-determined curve along the longest parameter axis where
    that is steeper (same sign) than the bound (the gain is monotone along the stored
    voltage; extrapolating its trend overshoots where the cell current saturates)."""
    if free.all() or out.ndim < 3:
        return
    ax = 1 + int(np.argmax(out.shape[1:-1]))
    s = 1e-3 * float(np.nanmax(np.abs(out[..., 0]))) or 1.0
    o = np.moveaxis(out, ax, -2)            # view: (..., n_line, 7)
    fr = np.moveaxis(free, ax, -1)
    for idx in np.ndindex(*o.shape[:-2]):
        line, fl = o[idx], fr[idx]
        good = np.flatnonzero(fl)
        if len(good) < 2:
            continue
        a = np.arcsinh(line[:, 0] / s)
        for i in np.flatnonzero(~fl):
            near = good[np.argsort(np.abs(good - i))[:2]]
            j, k = sorted(near)
            if j == k:
                continue
            ext = a[good[np.argmin(np.abs(good - i))]]
            g = s * np.sinh(ext)
            if np.sign(g) == np.sign(line[i, 0]) and abs(g) > abs(line[i, 0]):
                line[i, 0] = g
