"""Lookup-table fits: NaN fill of failed points, spline refinement of the training lines,
and the choice of value transform / spline by an inner hold-out."""
from __future__ import annotations

import numpy as np

from ...models.base import Function
from ...models.grid import KELVIN, transform_axis
from .grid import FitError, GridData
from .holdout import heldout_error, split_grid

MAX_TABLE_VALUES = 2_000_000


def fill_nan(a: np.ndarray) -> tuple[np.ndarray, int]:
    """Fill NaN (failed points) along the last axes by linear interpolation/nearest; a
    table needs a complete grid. Returns the array and the number of points filled."""
    bad = ~np.isfinite(a)
    n = int(bad.sum())
    if not n:
        return a, 0
    a = a.copy()
    for ax in range(a.ndim - 1, -1, -1):
        if not (~np.isfinite(a)).any():
            break
        moved = np.moveaxis(a, ax, -1)
        flat = moved.reshape(-1, moved.shape[-1])
        x = np.arange(flat.shape[1])
        for row in flat:
            b = ~np.isfinite(row)
            if b.any() and (~b).sum() >= 1:
                xs, ys = x[~b], row[~b]
                filled = np.interp(x[b], xs, ys)
                if len(xs) >= 2:   # linear extrapolation past the ends, not a clamp
                    lo, hi = x[b] < xs[0], x[b] > xs[-1]
                    s0 = (ys[1] - ys[0]) / (xs[1] - xs[0])
                    s1 = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
                    filled[lo] = ys[0] + s0 * (x[b][lo] - xs[0])
                    filled[hi] = ys[-1] + s1 * (x[b][hi] - xs[-1])
                row[b] = filled
        a = np.moveaxis(flat.reshape(moved.shape), -1, ax)
    if (~np.isfinite(a)).any():
        raise FitError("too many failed points to build a complete table")
    return a, n


def refine_axis(x: np.ndarray, y: np.ndarray, axis: int, factor: int, method: str,
                scale: str = "linear") -> tuple[np.ndarray, np.ndarray]:
    """Resample ``y`` (sampled at ``x`` along ``axis``) onto a grid ``factor`` times finer
    with a cubic spline ("cubic", not-a-knot) or a monotone cubic ("pchip"), in the axis's
    interpolation coordinate (``scale``). The table then interpolates linearly between
    fine nodes, so evaluation stays 2^d gathers while the accuracy is the spline's."""
    from scipy.interpolate import PchipInterpolator, make_interp_spline  # start-up time
    if len(x) < 4 or factor <= 1:
        return x, y
    u = transform_axis(x, scale)
    t = np.linspace(0.0, 1.0, factor + 1)[:-1]
    fine_u = np.concatenate([u[i] + t * (u[i + 1] - u[i]) for i in range(len(u) - 1)] + [u[-1:]])
    if method == "pchip":
        f = PchipInterpolator(u, y, axis=axis)
    else:
        f = make_interp_spline(u, y, k=3, axis=axis)
    vals = f(fine_u)
    if scale == "log":
        fine = np.exp(fine_u)
    elif scale == "inv_kelvin":
        fine = 1.0 / fine_u - KELVIN
    else:
        fine = fine_u
    fine[0], fine[-1] = x[0], x[-1]
    # keep the training nodes exact
    fine[::factor] = x
    return fine, vals


def is_geometric(v: np.ndarray) -> bool:
    v = np.asarray(v, dtype=float)
    if len(v) < 3 or np.any(v <= 0):
        return False
    r = v[1:] / v[:-1]
    return bool(np.all(np.abs(r - r[0]) < 0.05 * r[0]) and abs(r[0] - 1) > 0.05)


def auto_scales(gd: GridData) -> dict[str, str]:
    """Interpolate in log(x) along geometric axes (rows 16, 32, 64...; log-spaced G)."""
    return {n: "log" for n, v in gd.axes if is_geometric(v)}


def table_function(gd: GridData, masks: dict[str, np.ndarray], *, name: str | None = None,
                   doc: str = "", scales: dict[str, str] | None = None,
                   transform: str = "linear", refine: dict[str, int] | None = None,
                   refine_method: str = "cubic") -> tuple[Function, int]:
    """A lookup-table function from the training sub-grid. ``transform="log"`` tabulates
    log(values) (positive quantities spanning decades, e.g. times). ``refine``: axis ->
    factor, resampled finer with a spline fitted to the training lines (see refine_axis)."""
    sub = gd.values
    axes = []
    for k, (n, v) in enumerate(gd.axes):
        sub = np.compress(masks[n], sub, axis=k + 1)
        axes.append(v[masks[n]])
    extra = {}
    if transform == "log":
        with np.errstate(divide="ignore", invalid="ignore"):
            sub = np.where(sub > 0, np.log(np.where(sub > 0, sub, 1.0)), np.nan)
    elif transform == "asinh":
        # signed values over decades: tabulate asinh(y / s), s = 1e-3 of the largest |y|
        scale = 1e-3 * float(np.nanmax(np.abs(gd.values))) or 1.0
        sub = np.arcsinh(sub / scale)
        extra["asinh_scale"] = np.array([scale])
    sub, filled = fill_nan(sub)
    scales = scales or {}
    for n, factor in (refine or {}).items():
        k = gd.names.index(n)
        axes[k], sub = refine_axis(axes[k], sub, k + 1, factor, refine_method,
                                   scales.get(n, "linear"))
    fn = Function(name=name or gd.name, unit=gd.unit, form="table", corners=list(gd.corners),
                  grid_inputs=gd.names, grid_axes=axes, values=sub[..., None],
                  scales=[scales.get(n, "linear") for n in gd.names],
                  param_transform=[transform], extra=extra, doc=doc)
    return fn, filled


def _restrict(gd: GridData, masks: dict[str, np.ndarray]) -> GridData:
    out = gd
    for n, m in masks.items():
        if not m.all():
            out = out.take(n, np.flatnonzero(m))
    out.fs = gd.full_scale          # errors stay in percent of the full sweep's scale
    return out


def _table_candidates(gd: GridData, transform: str | None, method: str | None):
    v = gd.values[np.isfinite(gd.values)]
    if transform:
        transforms = [transform]
    else:
        transforms = ["linear"]
        if v.size and np.all(v > 0) and v.max() / v.min() > 10:
            transforms.append("log")
        elif v.size and v.min() < 0 < v.max():
            transforms.append("asinh")
    methods = [method] if method else ["cubic", "pchip"]
    return [(t, m) for t in transforms for m in methods]


def _table_fit(gd, masks, transform, method, refine, doc, scales=None):
    scales = {**auto_scales(gd), **(scales or {})}
    size = int(np.prod([m.sum() for m in masks.values()])) * len(gd.corners)
    ref = {}
    for n, v in sorted(gd.axes, key=lambda a: -len(a[1])):
        k = int(masks[n].sum())
        if k >= 4 and n != "temp_c" and size * refine <= MAX_TABLE_VALUES:
            ref[n] = refine
            size = size // k * ((k - 1) * refine + 1)
    return table_function(gd, masks, scales=scales, transform=transform, refine=ref,
                          refine_method=method, doc=doc)


def fit_table_quantity(gd: GridData, seed: int, *, refine: int = 4,
                       transform: str | None = None, doc: str = "",
                       method: str | None = None, scales: dict[str, str] | None = None
                       ) -> tuple[Function, dict]:
    """Table fit of one quantity: log axes where geometric, cubic-spline (or monotone
    cubic) refinement of the longest axes within a size cap, values tabulated as is,
    as log (positive over decades) or asinh (signed over decades). ``scales``: axis ->
    "log" / "linear" where the caller knows better than the geometric-spacing guess.

    Where several (value transform, spline) variants apply, the choice is made by an
    inner hold-out on the TRAINING lines only (seed + 1); the outer held-out lines are
    never looked at before the chosen table is built."""
    masks = split_grid(gd, {}, seed)
    cands = _table_candidates(gd, transform, method)
    choice = cands[0]
    scores = {}
    if len(cands) > 1:
        train = _restrict(gd, masks)
        inner = split_grid(train, {}, seed + 1)
        if any((~m).any() for m in inner.values()):
            for t, m in cands:
                try:
                    fn, _ = _table_fit(train, inner, t, m, refine, doc, scales)
                    e = heldout_error(fn, train, inner)["max_pct_fs"]
                except FitError:
                    e = float("inf")
                scores[f"{t}/{m}"] = e if np.isfinite(e) else float("inf")
            choice = min(cands, key=lambda c: scores[f"{c[0]}/{c[1]}"])
    fn, filled = _table_fit(gd, masks, choice[0], choice[1], refine, doc, scales)
    err = heldout_error(fn, gd, masks)
    err["table"] = {"transform": choice[0], "spline": choice[1]}
    if scores:
        err["table"]["inner_holdout_max_pct_fs"] = scores
    if filled:
        err["nan_points_filled"] = filled
    return fn, err
