"""Closed-form and polynomial fits per parameter-grid point (forms: :mod:`imcspice.models.forms`)."""
from __future__ import annotations

import numpy as np

from ...models.base import Function
from ...models.forms import get_form
from .grid import FitError, GridData

#: a closed form is kept when its worst training error is within this, % of full scale
DEFAULT_TOL_PCT = 1.0


def training_grid(gd, masks: dict, form_inputs: list[str]):
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
    from scipy.optimize import least_squares  # start-up time
    f = get_form(form)
    fs = gd.full_scale
    pnames = list(f.params)
    transform = param_transform or ["linear"] * len(pnames)
    param_axes, axes, sub, pshape, xs = training_grid(gd, masks, form_inputs)
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
    f = get_form("poly")
    fs = gd.full_scale
    param_axes, axes, sub, pshape, xs = training_grid(gd, masks, form_inputs)
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
