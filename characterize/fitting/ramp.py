"""Fitting the gain-cell integrator's ramp (form ``integrator-ramp-feedthrough``, see
:mod:`imcspice.models.gaincell`): the column charge / integrator output against the pulse
width per setting, with the read path's feedthrough charge, the start-up lag and the
rails it clamps at."""
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
FORM = "integrator-ramp-feedthrough"
PARAM_NAMES = ["gain", "step", "y0", "knee_lo", "lo", "knee_hi", "hi", "shape_lo",
               "shape_hi", "feedthrough"]


def ramp_curves(gd, seed, axis: str):
    """The training curves of a ramp fit over ``axis`` (the pulse width): the hold-out
    masks, the parameter axes and their values, the training points ``sub`` (shape
    ``pshape`` + the axis), the axis values and each curve's reset level ``y0`` (same
    unit as the output). None for an output with no reset level (RESET_LEVEL)."""
    src = RESET_LEVEL.get(gd.name)
    if src is None or (isinstance(src, str) and src not in gd.names):
        return None
    masks = split_grid(gd, {axis: "form"}, seed)
    param_axes, axes, sub, pshape, xs = training_grid(gd, masks, [axis])
    if isinstance(src, str):
        k = param_axes.index(src)
        y0 = np.broadcast_to(axes[src].reshape([1] * (k + 1) + [-1] +
                                                [1] * (len(param_axes) - k - 1)), pshape)
    else:
        y0 = np.full(pshape, float(src))
    return masks, param_axes, axes, sub, pshape, xs[0], np.array(y0, dtype=np.float64)


def fit_ramp(gd, seed, axis: str = "t_pulse_s"):
    """Form ``integrator-ramp-feedthrough`` over the pulse width per setting (q_col_c,
    v_int_v).

    Physics: with no pulse the integrator stays at its reset level y0 (v_int: vref_v,
    q: 0 -- a setting, not fitted); any pulse exchanges the read path's feedthrough
    charge with the bit line, whole once the word-line edge has passed (``feedthrough``:
    the cells' internal nodes, idle at the read rails, joined to the bit line by the
    access devices); a step settling with a shared time constant (``step``: the
    integrator's start-up lag, negative) and then the column integrates a nearly
    constant cell current (``gain``) until the integrator clamps. The clamp is hard on
    v_int; the charge keeps trickling in after the clamp while the bit line settles, so
    q bends into its rail from a knee (slope-continuous exponential approach). Rails:
    the values the training curves sit on (shared by all settings; a rail no curve
    reaches is not imposed); knees: one per side, shared, chosen on a grid by the worst
    training error; gain, step and feedthrough per setting by least squares (step and
    feedthrough from the corner's median where a curve has fewer than three unclamped
    points). gain stored as
    asinh(gain / s). Returns (Function, held-out error) or (None, None) when the
    training error exceeds the tolerance."""
    from scipy.optimize import least_squares  # start-up time
    curves = ramp_curves(gd, seed, axis)
    if curves is None:
        return None, None
    masks, param_axes, axes, sub, pshape, t, y0 = curves
    fs = gd.full_scale
    f = get_form(FORM).func
    lo, hi = _reached_rails(sub, fs)
    ex = {"t_edge": np.array([_step_time(t, sub, y0, lo, hi, fs, T_READ_EDGE_S)]),
          "t_ft": np.array([T_READ_EDGE_S])}
    gscale = fs / max(float(np.max(t)), 1e-30)

    cw = np.zeros(pshape)                          # per-curve worst training error, % FS
    upward = np.nan_to_num(sub[..., -1] - y0) > 0  # curves ending above their reset level

    cols = _columns(ex)

    def fit_all(klo, khi, slo=1.0, shi=1.0):
        out = np.full(pshape + (10,), np.nan)
        band = 0.01 * fs
        # parameters free per curve: 3 (gain, step, feedthrough) where the curve has
        # _FT_POINTS unclamped points, 2 (gain, step; feedthrough: the corner's median)
        # where it has two, else 1 (gain; step too from the corner's median)
        level = np.zeros(pshape, dtype=int)
        oks = {}
        for idx in np.ndindex(*pshape):
            y = sub[idx]
            oks[idx] = ok = np.isfinite(y) & (t > 0) & (y > klo + band) & (y < khi - band)
            if ok.sum() >= _FT_POINTS:
                (g, st, ft), *_ = np.linalg.lstsq(cols(t[ok]), y[ok] - y0[idx], rcond=None)
                out[idx] = [g, st, y0[idx], klo, lo, khi, hi, slo, shi, ft]
                level[idx] = 3
        ft_med = [float(np.median(out[c][level[c] == 3][:, 9])) if (level[c] == 3).any()
                  else 0.0 for c in range(pshape[0])]
        for idx in np.ndindex(*pshape):
            ok = oks[idx]
            if level[idx] == 0 and ok.sum() >= 2:
                a = cols(t[ok])
                (g, st), *_ = np.linalg.lstsq(a[:, :2], sub[idx][ok] - y0[idx] -
                                              ft_med[idx[0]] * a[:, 2], rcond=None)
                out[idx] = [g, st, y0[idx], klo, lo, khi, hi, slo, shi, ft_med[idx[0]]]
                level[idx] = 2
        free = level >= 2
        if not free.any():
            return None, np.inf
        worst = 0.0
        for idx in np.ndindex(*pshape):
            y = sub[idx]
            ok = np.isfinite(y)
            if ok.sum() < 2:
                return None, np.inf
            if free[idx]:
                start = out[idx][[0, 1, 9]].copy()
            else:
                step = float(np.median(out[idx[0]][free[idx[0]]][:, 1]))
                ft = ft_med[idx[0]]
                tt, yy = t[ok & (t > 0)], y[ok & (t > 0)]
                first = cols(tt[:1])[0]
                start = np.array([(yy[0] - y0[idx] - step * first[1] - ft * first[2])
                                  / max(tt[0], 1e-30), step, ft])
            # a curve on a hard clamp (knee = rail: v_int) after one point: its gain and
            # step together (the start-up is steepest where the current is largest; the
            # corner's median step left a v_int curve 1.3 % FS off at its first clamped
            # point, measured); a bent knee (q_col_c) keeps the median step
            n = max(int(level[idx]), 2 if (klo == lo and khi == hi) else 1)

            def resid(p, idx=idx, n=n, fixed=start):
                g, st, ft = np.concatenate([p, fixed[len(p):]])
                q = np.array([g, st, y0[idx], klo, lo, khi, hi, slo, shi, ft])
                return (f([t[ok]], q, ex) - y[ok]) / fs
            p0 = start[:n]
            sc = np.array([gscale, fs, fs])[:n]
            r = least_squares(resid, p0, x_scale=sc, max_nfev=500)
            p = np.concatenate([r.x, start[n:]])
            out[idx] = [p[0], p[1], y0[idx], klo, lo, khi, hi, slo, shi, p[2]]
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
    fn = Function(name=gd.name, unit=gd.unit, form=FORM,
                  corners=list(gd.corners), grid_inputs=param_axes,
                  grid_axes=[axes[n] for n in param_axes], values=out, form_inputs=[axis],
                  param_names=PARAM_NAMES,
                  scales=scales, param_transform=["asinh"] + ["linear"] * 9,
                  extra={"asinh_scale": np.array([s] + [1.0] * 9), **ex},
                  doc=f"column integrator vs {axis}: feedthrough, start-up step, linear "
                      "ramp, rails")
    fn.validate()
    err = heldout_error(fn, gd, masks)
    err["training_max_pct_fs"] = worst
    err["knees"] = {"lo": float(klo), "hi": float(khi), "rail_lo": lo, "rail_hi": hi,
                    "shape_lo": slo, "shape_hi": shi, "t_edge_s": float(ex["t_edge"][0])}
    err["feedthrough"] = {"min": float(np.min(out[..., 9])),
                          "max": float(np.max(out[..., 9]))}
    return fn, err


#: unclamped training points a curve needs for its own feedthrough (fewer: the corner's
#: median; with three or four points gain, step and feedthrough fit any curve exactly)
_FT_POINTS = 6
#: candidate settling times of the ramp's step: the integrator's start-up (its slope is
#: reached only after ~1 ns)
_STEP_TIMES_S = (0.25e-9, 0.5e-9, 0.75e-9, 1.0e-9, 1.5e-9, 2.0e-9)


def _columns(ex):
    """Design matrix of the linear part: [t, 1 - exp(-t / t_edge), min(t / t_ft, 1)]."""
    te, tf = float(ex["t_edge"][0]), float(ex["t_ft"][0])
    return lambda tt: np.stack([tt, -np.expm1(-tt / te), np.clip(tt / tf, 0.0, 1.0)],
                               axis=1)


def _step_time(t, sub, y0, lo, hi, fs, t_edge_s):
    """The step's time constant shared by all curves: the candidate of _STEP_TIMES_S
    whose linear least-squares fit of y - y0 = gain * t + step * (1 - exp(-t / te)) +
    feedthrough * min(t / t_edge_s, 1) to the unclamped training points of every curve
    has the smallest worst residual. Candidates below half the shortest sampled pulse
    are skipped: there the step is complete at every sample and indistinguishable from
    the feedthrough."""
    band = 0.01 * fs
    lo_ = lo if np.isfinite(lo) else -np.inf
    hi_ = hi if np.isfinite(hi) else np.inf
    t_min = float(np.min(t[t > 0])) if (t > 0).any() else 0.0
    cands = [te for te in _STEP_TIMES_S if te >= 0.5 * t_min] or [max(_STEP_TIMES_S)]
    best = (np.inf, cands[0])
    for te in cands:
        cols = _columns({"t_edge": [te], "t_ft": [t_edge_s]})
        worst = 0.0
        for idx in np.ndindex(*sub.shape[:-1]):
            y = sub[idx]
            ok = np.isfinite(y) & (t > 0) & (y > lo_ + band) & (y < hi_ - band)
            if ok.sum() < 4:
                continue
            a = cols(t[ok])
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
