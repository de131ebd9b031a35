"""Fitting raw sweeps into behavioral models (``imcspice fit``), and checking them.

    from imcspice.characterize.fit import fit_file
    model = fit_file("nfet.raw.h5", "nfet.model.h5")          # kind from the recipe
    print(model.heldout_error["max_pct_fs"])

Every fit holds out part of its sweep, seeded, and records the error the saved
model makes there (it is the model fitted WITHOUT those points that is saved):

* the sweep's grid is split by whole grid lines per axis: on an axis whose values a
  closed form takes, one true edge value (first or last, seeded) plus ~15 % random
  interior values; on a table axis (lookup-table outputs, or a closed form's
  parameter grid over temperature etc.), the value next to one edge (a table needs
  its boundary lines, so the near-edge line stands in for the edge) plus ~15 % random
  interior values; axes with fewer than 4 values are not split (too few to check);
* held-out points are all grid points lying on a held-out line; the model is built
  from the remaining sub-grid and evaluated on every held-out point;
* errors: max and RMS, absolute and in percent of full scale (the quantity's range
  max - min over the whole sweep).

Where a closed form is tried first (``fit_form_or_table``), the choice is made on
the training points only: the table fallback is used when the form's training
error exceeds the tolerance.

The fitting of each family lives in ``fit_<family>.py``; this module has the shared
machinery and the dispatch by model kind.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from ..models import base as mbase
from ..models.base import BehavioralModel, Function
from ..models.store import save, sha256_file
from . import rawfile
from ..errors import ImcspiceError

HOLDOUT_FRAC = 0.15
DEFAULT_TOL_PCT = 1.0

#: recipe -> default model kind
RECIPE_KIND = {
    "nfet-iv": "mosfet-iv",
    "pfet-iv": "mosfet-iv",
    "memristor-iv": "memristor",
}

#: model kind -> "module:function" fitting it from a RawSweep
FITTERS = {
    "mosfet-iv": "fit_devices:fit_mosfet",
    "memristor": "fit_devices:fit_memristor",
}


class FitError(ImcspiceError, ValueError):
    """The raw sweep cannot be fitted into the requested model kind."""


def register_family(recipe_kind: dict[str, str], fitters: dict[str, str]) -> None:
    RECIPE_KIND.update(recipe_kind)
    FITTERS.update(fitters)


_LOADED = False


def _load_families() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    import importlib
    for mod in ("fit_acam", "fit_crossbar", "fit_gaincell"):
        try:
            m = importlib.import_module(f"{__package__}.{mod}")
        except ModuleNotFoundError as e:
            if e.name != f"{__package__}.{mod}":
                raise
            continue
        register_family(getattr(m, "RECIPE_KIND", {}), getattr(m, "FITTERS", {}))


# --- gridded data --------------------------------------------------------------------
@dataclass
class GridData:
    """One quantity of a raw sweep as ``values[corner, axis0, axis1, ...]`` (float64,
    NaN where a point failed), with the numeric axes named as the raw file names them."""

    name: str
    unit: str
    corners: list[str]
    axes: list[tuple[str, np.ndarray]]
    values: np.ndarray
    units: dict[str, str] = field(default_factory=dict)
    fs: float | None = None        # full scale override (default: max - min)

    @property
    def names(self) -> list[str]:
        return [a for a, _ in self.axes]

    def axis(self, name: str) -> np.ndarray:
        return dict(self.axes)[name]

    @property
    def full_scale(self) -> float:
        if self.fs:
            return float(self.fs)
        v = self.values[np.isfinite(self.values)]
        if not v.size:
            raise FitError(f"{self.name}: no successful points in the sweep")
        fs = float(v.max() - v.min())
        return fs if fs > 0 else max(float(np.abs(v).max()), 1e-30)

    def take(self, name: str, idx) -> "GridData":
        """Restrict axis ``name`` to indices ``idx`` (e.g. one value: ``[i]``)."""
        k = self.names.index(name)
        axes = list(self.axes)
        axes[k] = (name, axes[k][1][idx])
        return GridData(self.name, self.unit, self.corners, axes,
                        np.take(self.values, idx, axis=k + 1), self.units, self.fs)


def fixed_params(raw: rawfile.RawSweep) -> dict:
    try:
        p = json.loads(raw.attrs.get("params", "{}"))
    except json.JSONDecodeError:
        return {}
    return p if isinstance(p, dict) else {}


def grid_data(raw: rawfile.RawSweep, quantity: str, *, settings: tuple[str, ...] = (),
              average_mc: bool = False, mc_reduce: str | None = None) -> GridData:
    """``raw.data[quantity]`` as a GridData. ``settings``: recipe parameters to carry as
    axes even when the sweep did not vary them (a length-1 axis at the fixed value), so
    the model records them and its valid range pins them. A Monte-Carlo axis is reduced
    by ``mc_reduce`` ("mean" or "std", sample std with ddof=1; ``average_mc``: "mean")."""
    if quantity not in raw.data:
        raise FitError(f"raw sweep of {raw.attrs.get('recipe')} has no quantity {quantity!r}; "
                       f"it has {', '.join(raw.data)}")
    arr = np.asarray(raw.data[quantity], dtype=np.float64)
    names = list(raw.data_axes[quantity])
    if "mc" in names:
        k = names.index("mc")
        mc_reduce = mc_reduce or ("mean" if average_mc else None)
        if mc_reduce not in ("mean", "std"):
            raise FitError(f"{quantity}: this sweep has Monte-Carlo samples (axis 'mc'); fit a "
                           "nominal sweep (no --mc) for this model kind")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            arr = np.nanmean(arr, axis=k) if mc_reduce == "mean" else \
                np.nanstd(arr, axis=k, ddof=1)
        names.pop(k)
    if names[0] != "corner":
        raise FitError(f"{quantity}: first axis is {names[0]!r}, expected 'corner'")
    corners = [str(c) for c in raw.axis("corner")]
    for k in range(len(names) - 1, 0, -1):  # a choice parameter (text axis): one value only
        vals = raw.axis(names[k])
        if vals.dtype.kind in "SUO":
            if len(vals) > 1:
                raise FitError(f"{quantity}: axis {names[k]!r} holds choices "
                               f"({', '.join(map(str, vals))}); a model covers one choice: "
                               f"sweep each value into its own raw file and fit each")
            arr = np.take(arr, 0, axis=k)
            names.pop(k)
    axes = [(n, np.asarray(raw.axis(n), dtype=np.float64)) for n in names[1:]]
    units = {n: raw.axes[n][0] for n in names[1:]}
    fixed = fixed_params(raw)
    n_outer = len([n for n in names[1:] if n in raw.outer])
    for s in settings:
        if s in units:
            continue
        if s not in fixed or not isinstance(fixed[s], (int, float)):
            continue
        axes.insert(n_outer, (s, np.array([float(fixed[s])])))
        arr = np.expand_dims(arr, n_outer + 1)
        n_outer += 1
        units[s] = json.loads(raw.attrs.get("units", "{}")).get(s, "")
    # status: points that did not succeed are NaN already; make sure of it
    return GridData(quantity, raw.units.get(quantity, ""), corners, axes, arr, units)


# --- hold-out split --------------------------------------------------------------------
def split_axis(n: int, rng: np.random.Generator, mode: str, frac: float = HOLDOUT_FRAC
               ) -> np.ndarray:
    """Keep-mask for one axis of ``n`` values. ``mode``: "form" (true edge held out),
    "table" (near-edge line held out, boundary kept), or "none"."""
    keep = np.ones(n, dtype=bool)
    if mode == "none" or n < 4:
        return keep
    if mode == "form":
        edge = int(rng.choice([0, n - 1]))
        lo, hi = 1, n - 2
    elif mode == "table":
        edge = int(rng.choice([1, n - 2]))
        lo, hi = 1, n - 2
    else:
        raise ValueError(f"unknown split mode {mode!r}")
    keep[edge] = False
    want = max(1, int(round(frac * n))) if n >= 6 else 0
    cand = np.arange(lo, hi + 1)
    rng.shuffle(cand)
    for i in cand:
        if want <= 0:
            break
        if not keep[i]:
            continue
        if (i > 0 and not keep[i - 1]) or (i < n - 1 and not keep[i + 1]):
            continue  # never two adjacent lines: the spacing at most doubles
        if mode == "table" and (i == 0 or i == n - 1):
            continue
        keep[i] = False
        want -= 1
    return keep


def split_grid(gd: GridData, modes: dict[str, str], seed: int,
               frac: float = HOLDOUT_FRAC) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {n: split_axis(len(v), rng, modes.get(n, "table"), frac) for n, v in gd.axes}


def _mesh_points(gd: GridData, masks: dict[str, np.ndarray], heldout: bool):
    """Coordinates and values of the held-out (or training) points, per corner."""
    keep_all = np.ones(gd.values.shape[1:], dtype=bool)
    for k, (n, _) in enumerate(gd.axes):
        shape = [1] * len(gd.axes)
        shape[k] = -1
        keep_all = keep_all & masks[n].reshape(shape)
    sel = ~keep_all if heldout else keep_all
    mesh = np.meshgrid(*[v for _, v in gd.axes], indexing="ij") if gd.axes else []
    coords = {n: m[sel] for (n, _), m in zip(gd.axes, mesh)}
    return coords, sel


def error_stats(pred: np.ndarray, target: np.ndarray, full_scale: float, unit: str,
                n_train: int) -> dict:
    ok = np.isfinite(target)
    d = (np.asarray(pred, dtype=np.float64) - target)[ok]
    if not d.size:
        return {"max_abs": float("nan"), "rms_abs": float("nan"), "max_pct_fs": float("nan"),
                "rms_pct_fs": float("nan"), "full_scale": full_scale, "unit": unit,
                "n_heldout": 0, "n_train": int(n_train)}
    bad = ~np.isfinite(d)
    mx = float(np.inf) if bad.any() else float(np.max(np.abs(d)))
    rms = float(np.sqrt(np.mean(d ** 2))) if not bad.any() else float(np.inf)
    return {"max_abs": mx, "rms_abs": rms, "max_pct_fs": 100 * mx / full_scale,
            "rms_pct_fs": 100 * rms / full_scale, "full_scale": full_scale, "unit": unit,
            "n_heldout": int(d.size), "n_train": int(n_train)}


def heldout_error(fn: Function, gd: GridData, masks: dict[str, np.ndarray]) -> dict:
    """Error of ``fn`` on the held-out points of ``gd`` (see the module doc)."""
    coords, sel = _mesh_points(gd, masks, heldout=True)
    preds, targets = [], []
    for ci, c in enumerate(gd.corners):
        if c not in fn.corners:
            continue
        inputs = {n: coords[n] for n in fn.inputs}
        preds.append(fn(c, inputs))
        targets.append(gd.values[ci][sel])
    n_train = int(np.isfinite(gd.values).sum()) - int(sum(np.isfinite(t).sum() for t in targets))
    pred = np.concatenate(preds) if preds else np.zeros(0)
    target = np.concatenate(targets) if targets else np.zeros(0)
    e = error_stats(pred, target, gd.full_scale, gd.unit, n_train)
    e["full_scale_def"] = "max |value|" if gd.fs else "max - min"
    return e


def summarize(errors: dict[str, dict], seed: int, frac: float = HOLDOUT_FRAC,
              notes: str = "") -> dict:
    vals = [e["max_pct_fs"] for e in errors.values() if np.isfinite(e["max_pct_fs"])]
    rms = [e["rms_pct_fs"] for e in errors.values() if np.isfinite(e["rms_pct_fs"])]
    out = {"outputs": errors,
           "max_pct_fs": max(vals) if vals else float("nan"),
           "rms_pct_fs": max(rms) if rms else float("nan"),
           "holdout": {"method": "grid lines: true edge + random interior on closed-form "
                                 "axes, near-edge + random interior on table axes",
                       "fraction": frac, "seed": seed}}
    if notes:
        out["holdout"]["notes"] = notes
    return out


# --- building functions ------------------------------------------------------------------
def _fill_nan(a: np.ndarray) -> tuple[np.ndarray, int]:
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
    from scipy.interpolate import PchipInterpolator, make_interp_spline

    from ..models.grid import transform_axis
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
        from ..models.grid import KELVIN
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


def auto_transform(gd: GridData) -> str:
    """Tabulate log(y) for strictly positive quantities spanning more than a decade."""
    v = gd.values[np.isfinite(gd.values)]
    if v.size and np.all(v > 0) and v.max() / v.min() > 10:
        return "log"
    return "linear"


def crop_finite(gd: GridData, name: str) -> tuple[GridData, list[float]]:
    """Keep the longest run of values along axis ``name`` whose slices are all finite
    (e.g. the input distances where the match line discharges at all). Returns the
    cropped data and the axis values dropped."""
    k = gd.names.index(name) + 1
    other = tuple(i for i in range(gd.values.ndim) if i != k)
    ok = np.all(np.isfinite(gd.values), axis=other)
    best, start = (0, 0), None
    for i, good in enumerate(list(ok) + [False]):
        if good and start is None:
            start = i
        elif not good and start is not None:
            if i - start > best[1] - best[0]:
                best = (start, i)
            start = None
    if best[1] - best[0] < 1:
        raise FitError(f"{gd.name}: no {name} value at which every point succeeded")
    idx = np.arange(best[0], best[1])
    dropped = [float(v) for i, v in enumerate(gd.axis(name)) if i not in set(idx.tolist())]
    return gd.take(name, idx), dropped


def collapse_axis(gd: GridData, name: str, tol: float) -> tuple[GridData, float]:
    """Average ``gd`` over axis ``name`` when it varies by less than ``tol`` across it
    (a setting the quantity does not depend on). Returns the (possibly) reduced data
    and the largest spread found."""
    if name not in gd.names:
        return gd, 0.0
    k = gd.names.index(name) + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        spread = float(np.nanmax(np.nanmax(gd.values, axis=k) - np.nanmin(gd.values, axis=k)))
        if not np.isfinite(spread):
            spread = 0.0
        if spread > tol:
            return gd, spread
        vals = np.nanmean(gd.values, axis=k)
    axes = [(n, v) for n, v in gd.axes if n != name]
    return GridData(gd.name, gd.unit, gd.corners, axes, vals, gd.units, gd.fs), spread


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
    sub, filled = _fill_nan(sub)
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


def _training_grid(gd, masks: dict, form_inputs: list[str]):
    """The training points of ``gd`` reordered to (corner, param axes..., form axes...):
    returns (param axis names, training axis values, values, parameter-grid shape,
    flattened form-input coordinates)."""
    param_axes = [n for n in gd.names if n not in form_inputs]
    sub = gd.values
    axes = {}
    for k, (n, v) in enumerate(gd.axes):
        sub = np.compress(masks[n], sub, axis=k + 1)
        axes[n] = v[masks[n]]
    order = [0] + [1 + gd.names.index(n) for n in param_axes] + \
        [1 + gd.names.index(n) for n in form_inputs]
    sub = np.transpose(sub, order)
    pshape = sub.shape[:1 + len(param_axes)]
    fmesh = np.meshgrid(*[axes[n] for n in form_inputs], indexing="ij")
    return param_axes, axes, sub, pshape, [m.ravel() for m in fmesh]


def form_function(gd: GridData, masks: dict[str, np.ndarray], form: str,
                  form_inputs: list[str], p0, *, bounds=(-np.inf, np.inf),
                  param_transform: list[str] | None = None, scales: dict[str, str] | None = None,
                  name: str | None = None, doc: str = "", x_scale="jac",
                  extra: dict | None = None) -> tuple[Function, float]:
    """Fit closed form ``form`` on the training points: one parameter vector per
    training point of the remaining (parameter-grid) axes and corner.

    ``p0(x_list, y) -> initial parameter vector``. Returns the function and its worst
    training error in % of full scale."""
    from scipy.optimize import least_squares

    from ..models.forms import get_form
    f = get_form(form)
    fs = gd.full_scale
    pnames = list(f.params)
    transform = param_transform or ["linear"] * len(pnames)
    param_axes, axes, sub, pshape, xs = _training_grid(gd, masks, form_inputs)
    out = np.zeros(pshape + (len(pnames),))
    worst = 0.0
    ex = extra or {}
    for idx in np.ndindex(*pshape):
        y = sub[idx].ravel()
        ok = np.isfinite(y)
        if ok.sum() < len(pnames):
            raise FitError(f"{gd.name}: too few successful points to fit {form} at "
                           f"{dict(zip(['corner'] + param_axes, idx))}")
        x = [xi[ok] for xi in xs]
        yy = y[ok]

        def resid(p):
            return (f.func(x, p, ex) - yy) / fs
        start = np.asarray(p0(x, yy), dtype=np.float64)
        lo, hi = bounds
        start = np.clip(start, np.asarray(lo, dtype=float) + 1e-12 if np.ndim(lo) else lo,
                        np.asarray(hi, dtype=float) - 1e-12 if np.ndim(hi) else hi)
        r = least_squares(resid, start, bounds=bounds, x_scale=x_scale, max_nfev=5000,
                          ftol=1e-14, xtol=1e-14, gtol=1e-14)
        p = r.x.copy()
        worst = max(worst, 100 * float(np.max(np.abs(resid(p)))))
        for k, t in enumerate(transform):
            if t == "log":
                p[k] = np.log(p[k])
        out[idx] = p
    scales = scales or {}
    fn = Function(name=name or gd.name, unit=gd.unit, form=form, corners=list(gd.corners),
                  grid_inputs=param_axes, grid_axes=[axes[n] for n in param_axes], values=out,
                  form_inputs=list(form_inputs), param_names=pnames,
                  scales=[scales.get(n, "linear") for n in param_axes],
                  param_transform=transform, extra=ex, doc=doc)
    return fn, worst


def poly_function(gd: GridData, masks: dict[str, np.ndarray], form_inputs: list[str],
                  degree: int | list[int], *, name: str | None = None, doc: str = "",
                  total_degree: int | None = None, log_inputs: tuple[str, ...] = ()
                  ) -> tuple[Function, float]:
    """Linear least-squares polynomial in ``form_inputs`` (per parameter-grid point);
    inputs named in ``log_inputs`` enter as ln(x)."""
    degs = [degree] * len(form_inputs) if isinstance(degree, int) else list(degree)
    exps = np.array([e for e in np.ndindex(*[d + 1 for d in degs])
                     if total_degree is None or sum(e) <= total_degree], dtype=np.float64)
    center, half = [], []
    for n in form_inputs:
        v = gd.axis(n)
        if n in log_inputs:
            v = np.log(v)
        c = 0.5 * (v.min() + v.max())
        h = 0.5 * (v.max() - v.min()) or 1.0
        center.append(c)
        half.append(h)
    extra = {"exponents": exps, "center": np.array(center), "half": np.array(half),
             "log_input": np.array([1.0 if n in log_inputs else 0.0 for n in form_inputs])}
    from ..models.forms import get_form
    f = get_form("poly")
    fs = gd.full_scale
    param_axes, axes, sub, pshape, xs = _training_grid(gd, masks, form_inputs)
    nt = len(exps)
    eye = np.eye(nt)
    A_full = np.stack([f.func(xs, eye[k], extra) for k in range(nt)], axis=1)
    out = np.zeros(pshape + (nt,))
    worst = 0.0
    for idx in np.ndindex(*pshape):
        y = sub[idx].ravel()
        ok = np.isfinite(y)
        if ok.sum() < nt:
            raise FitError(f"{gd.name}: too few points for a {nt}-term polynomial")
        coef, *_ = np.linalg.lstsq(A_full[ok], y[ok], rcond=None)
        out[idx] = coef
        worst = max(worst, 100 * float(np.max(np.abs(A_full[ok] @ coef - y[ok]))) / fs)
    fn = Function(name=name or gd.name, unit=gd.unit, form="poly", corners=list(gd.corners),
                  grid_inputs=param_axes, grid_axes=[axes[n] for n in param_axes], values=out,
                  form_inputs=list(form_inputs), param_names=[f"c{k}" for k in range(nt)],
                  extra=extra, doc=doc)
    return fn, worst


def numeric_settings(raw: rawfile.RawSweep) -> tuple[str, ...]:
    """Every numeric recipe parameter: swept ones are axes already, fixed ones become
    length-1 axes, so the model's valid range pins the settings it was measured at."""
    return tuple(k for k, v in fixed_params(raw).items()
                 if isinstance(v, (int, float)) and not isinstance(v, bool))


MAX_TABLE_VALUES = 2_000_000


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


def _table_fit(gd, masks, seed, transform, method, refine, doc, scales=None):
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
                    fn, _ = _table_fit(train, inner, seed, t, m, refine, doc, scales)
                    e = heldout_error(fn, train, inner)["max_pct_fs"]
                except FitError:
                    e = float("inf")
                scores[f"{t}/{m}"] = e if np.isfinite(e) else float("inf")
            choice = min(cands, key=lambda c: scores[f"{c[0]}/{c[1]}"])
    fn, filled = _table_fit(gd, masks, seed, choice[0], choice[1], refine, doc, scales)
    err = heldout_error(fn, gd, masks)
    err["table"] = {"transform": choice[0], "spline": choice[1]}
    if scores:
        err["table"]["inner_holdout_max_pct_fs"] = scores
    if filled:
        err["nan_points_filled"] = filled
    return fn, err


def valid_range(gds: list[GridData]) -> tuple[dict, dict]:
    """The input box (union over the given quantities) and the input units."""
    rng: dict = {"corner": []}
    units: dict[str, str] = {}
    for gd in gds:
        for c in gd.corners:
            if c not in rng["corner"]:
                rng["corner"].append(c)
        for n, v in gd.axes:
            lo, hi = float(np.min(v)), float(np.max(v))
            if n in rng:
                lo, hi = min(lo, rng[n][0]), max(hi, rng[n][1])
            rng[n] = [lo, hi]
            units[n] = gd.units.get(n, "")
    return rng, units


def base_meta(raw: rawfile.RawSweep, raw_path, units: dict, **more) -> dict:
    meta = {"recipe": raw.attrs.get("recipe", ""),
            "recipe_version": int(raw.attrs.get("recipe_version", 0)),
            "technology": raw.attrs.get("technology", ""),
            "source_name": Path(raw_path).name,
            "source_spec": raw.attrs.get("spec", ""),
            "input_units": units,
            # the choice parameters (text) the sweep was run with, e.g. write_device
            "choices": {k: v for k, v in fixed_params(raw).items() if isinstance(v, str)},
            "fit_imcspice_version": __version__}
    meta.update(more)
    return meta


# --- dispatch -----------------------------------------------------------------------------
def infer_kind(raw: rawfile.RawSweep) -> str:
    _load_families()
    recipe = raw.attrs.get("recipe", "")
    if recipe not in RECIPE_KIND:
        raise FitError(f"no model kind is known for recipe {recipe!r}; known recipes: "
                       f"{', '.join(sorted(RECIPE_KIND))} (or give --kind)")
    return RECIPE_KIND[recipe]


def kinds() -> list[str]:
    _load_families()
    return sorted(FITTERS)


def _fitter(kind: str):
    import importlib
    _load_families()
    if kind not in FITTERS:
        raise FitError(f"unknown model kind {kind!r}; known: {', '.join(kinds())}")
    mod, fn = FITTERS[kind].split(":")
    return getattr(importlib.import_module(f"{__package__}.{mod}"), fn)


def fit(raw_path: str | Path, kind: str | None = None, *, seed: int = 0) -> BehavioralModel:
    """Fit the raw sweep file into a model of ``kind`` (default: from its recipe)."""
    raw = rawfile.read(raw_path)
    kind = kind or infer_kind(raw)
    if raw.status.size and not (raw.status == rawfile.STATUS["ok"]).any():
        raise FitError(f"{raw_path}: no point of the sweep succeeded "
                       f"({json.dumps(raw.status_counts())})")
    model = _fitter(kind)(raw, raw_path=raw_path, seed=seed)
    model.source_raw_sha256 = sha256_file(raw_path)
    model.meta.setdefault("status_counts", raw.status_counts())
    model.meta.setdefault("fit_seed", seed)
    return model


def fit_file(raw_path: str | Path, out: str | Path, kind: str | None = None, *,
             seed: int = 0) -> BehavioralModel:
    model = fit(raw_path, kind, seed=seed)
    save(model, out)
    return model


# --- checking a model against a raw sweep ---------------------------------------------------
def errors_against(model: BehavioralModel, raw_path: str | Path) -> dict:
    """The model's error on every successful point of a raw sweep (``validate --against``).

    Each model output named like a quantity of the raw file, whose inputs are all axes
    (or fixed settings) of that quantity, is compared on all points. Points outside the
    model's valid box are counted separately and left out of the error."""
    raw = rawfile.read(raw_path)
    out = {}
    skipped = []
    for name, fn in model.functions.items():
        if name not in raw.data:
            skipped.append(name)
            continue
        try:
            gd = grid_data(raw, name, settings=tuple(fn.inputs),
                           average_mc="mc" in raw.data_axes[name] and model.meta.get(
                               "average_mc", False))
        except FitError as e:
            skipped.append(f"{name} ({e})")
            continue
        if not set(fn.inputs) <= set(gd.names):
            skipped.append(f"{name} (inputs {fn.inputs} not all in the raw file)")
            continue
        keep = {n: np.zeros(len(v), bool) for n, v in gd.axes}   # all points "held out"
        coords, sel = _mesh_points(gd, keep, heldout=True)
        inside = np.ones(int(sel.sum()), dtype=bool)
        for n in fn.inputs:
            lo, hi = model.valid_range[n]
            tol = 1e-9 * max(abs(lo), abs(hi), hi - lo, 1e-30)
            inside &= (coords[n] >= lo - tol) & (coords[n] <= hi + tol)
        preds, targets = [], []
        n_out = 0
        for ci, c in enumerate(gd.corners):
            if c not in fn.corners:
                n_out += int(np.isfinite(gd.values[ci][sel]).sum())
                continue
            inputs = {n: coords[n][inside] for n in fn.inputs}
            preds.append(fn(c, inputs))
            targets.append(gd.values[ci][sel][inside])
            n_out += int(np.isfinite(gd.values[ci][sel][~inside]).sum())
        pred = np.concatenate(preds) if preds else np.zeros(0)
        target = np.concatenate(targets) if targets else np.zeros(0)
        e = error_stats(pred, target, gd.full_scale, gd.unit, 0)
        e["n_points"] = e.pop("n_heldout")
        e.pop("n_train")
        e["n_outside_valid_range"] = n_out
        out[name] = e
    if not out:
        raise FitError(f"{raw_path}: none of the model's outputs ({', '.join(model.outputs)}) "
                       "can be compared with this raw file")
    vals = [e["max_pct_fs"] for e in out.values() if np.isfinite(e["max_pct_fs"])]
    res = {"against": str(raw_path), "outputs": out,
           "max_pct_fs": max(vals) if vals else float("nan")}
    if skipped:
        res["not_compared"] = skipped
    return res


def model_summary(model: BehavioralModel) -> dict:
    return {"kind": model.kind, "heldout_error": model.heldout_error}


__all__ = ["FitError", "GridData", "fit", "fit_file", "errors_against", "grid_data",
           "split_grid", "table_function", "form_function", "poly_function", "heldout_error",
           "summarize", "valid_range", "infer_kind", "kinds", "mbase"]
