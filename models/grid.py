"""Vectorized multilinear interpolation on a regular (rectilinear) grid, numpy or torch.

This is the lookup-table engine behind every table-backed behavioral model and
behind the parameter grids of closed-form models (a closed form's parameters are
tabulated over corner/temperature/other swept settings and interpolated here).

* Axes may be non-uniform; uniform axes (``np.linspace``) are detected and indexed
  arithmetically, which avoids a ``searchsorted`` per point and dimension.
* Axes of length 1 are constant: they cost nothing and take any value.
* Outside an axis the last cell is extended linearly (the caller decides whether
  that is allowed: :class:`~imcspice.models.base.BehavioralModel` warns or raises).
* Values may carry trailing components (``values.shape == grid shape + (k,)``), so a
  vector of closed-form parameters is interpolated in one pass.
"""
from __future__ import annotations

import numpy as np

from .array_api import NUMPY, namespace_of

KELVIN = 273.15

#: axis coordinate transforms: interpolation is linear in the transformed coordinate.
#: "inv_kelvin" makes log-transformed values Arrhenius-like: log(p) linear in 1/T.
AXIS_SCALES = ("linear", "log", "inv_kelvin")


def transform_axis(x, scale: str, xp=NUMPY):
    if scale == "linear":
        return x
    if scale == "log":
        return xp.log(x)
    if scale == "inv_kelvin":
        return 1.0 / (x + KELVIN)
    raise ValueError(f"unknown axis scale {scale!r}; expected one of {AXIS_SCALES}")


def _is_uniform(a: np.ndarray) -> bool:
    if len(a) < 3:
        return True
    d = np.diff(a)
    return bool(np.all(np.abs(d - d[0]) <= 1e-9 * max(abs(d[0]), 1e-300)))


class Grid:
    """A rectilinear grid of values: ``axes[i]`` (strictly monotonic after transform)
    and ``values`` of shape ``tuple(len(a) for a in axes) + trailing``."""

    def __init__(self, axes: list[np.ndarray], values: np.ndarray,
                 scales: list[str] | None = None):
        self.axes = [np.asarray(a, dtype=np.float64).ravel() for a in axes]
        self.values = np.asarray(values, dtype=np.float64)
        self.scales = list(scales) if scales is not None else ["linear"] * len(self.axes)
        nd = len(self.axes)
        if len(self.scales) != nd:
            raise ValueError("one scale per axis")
        if self.values.ndim < nd or self.values.shape[:nd] != tuple(len(a) for a in self.axes):
            raise ValueError(f"grid values shape {self.values.shape} does not match axes "
                             f"{tuple(len(a) for a in self.axes)}")
        self.trailing = self.values.shape[nd:]
        self._t = []   # transformed axes, increasing
        self._flip = []
        for a, s in zip(self.axes, self.scales):
            if len(a) == 0:
                raise ValueError("empty grid axis")
            t = transform_axis(a, s)
            if not np.all(np.isfinite(t)):
                raise ValueError("grid axis values must be finite (and > 0 for a log axis)")
            flip = len(t) > 1 and t[1] < t[0]
            if flip:
                t = t[::-1]
            if len(t) > 1 and not np.all(np.diff(t) > 0):
                raise ValueError("grid axis values must be strictly monotonic")
            self._t.append(t)
            self._flip.append(flip)
        v = self.values
        for i, f in enumerate(self._flip):
            if f:
                v = np.flip(v, axis=i)
        self._v = np.ascontiguousarray(v.reshape(v.shape[:nd] + (-1,)))
        self._uniform = [_is_uniform(t) for t in self._t]
        self._cache: dict = {}   # (device, dtype) -> torch copies of the constants

    def _consts(self, xp):
        """The transformed axes and flat values in ``xp`` (cached per device/dtype)."""
        if xp.name == "numpy":
            return self._t, self._v
        key = (str(xp.device), xp.dtype)
        c = self._cache.get(key)
        if c is None:
            c = ([xp.asfloat(t) for t in self._t], xp.asfloat(self._v))
            self._cache[key] = c
        return c

    def __call__(self, *coords):
        """Interpolate at broadcastable coordinate arrays, one per axis (numpy arrays or
        torch tensors: :func:`~imcspice.models.array_api.namespace_of`; under torch the
        result is differentiable in the coordinates). Returns ``broadcast shape +
        trailing``."""
        nd = len(self.axes)
        if len(coords) != nd:
            raise ValueError(f"grid needs {nd} coordinates, got {len(coords)}")
        xp = namespace_of(*coords)
        taxes, v = self._consts(xp)
        live = [i for i in range(nd) if len(self._t[i]) > 1]
        arrs = xp.broadcast_arrays(*[xp.asfloat(c) for c in coords])
        shape = tuple(arrs[0].shape) if arrs else ()
        n = int(np.prod(shape)) if shape else 1
        k = self._v.shape[-1]
        strides = np.ones(nd, dtype=np.int64)
        dims = self._v.shape[:nd]
        for i in range(nd - 2, -1, -1):
            strides[i] = strides[i + 1] * dims[i + 1]
        base = 0
        fracs = []
        for i in live:
            t = self._t[i]
            x = transform_axis(arrs[i].reshape(-1), self.scales[i], xp)
            m = len(t)
            if self._uniform[i]:
                h = (t[-1] - t[0]) / (m - 1)
                u = (x - t[0]) / h
                j = xp.clip(xp.floor(u), 0, m - 2)
                f = u - j
                j = xp.to_int(j)
            else:
                j = xp.clip(xp.searchsorted(taxes[i], x, side="right") - 1, 0, m - 2)
                j = xp.to_int(j)
                f = (x - taxes[i][j]) / (taxes[i][j + 1] - taxes[i][j])
            base = base + j * int(strides[i])
            fracs.append((f, int(strides[i])))
        if not fracs:
            base = xp.to_int(xp.zeros(n))
        flat = v.reshape(-1, k)
        out = xp.zeros((n, k))
        # 2^d corners of the cell; d counts only axes longer than 1
        for corner in range(1 << len(fracs)):
            w = None
            off = base
            for b, (f, s) in enumerate(fracs):
                if corner >> b & 1:
                    wf = f
                    off = off + s
                else:
                    wf = 1.0 - f
                w = wf if w is None else w * wf
            vals = flat[off]
            out = out + (vals if w is None else vals * w[:, None])
        return out.reshape(shape + self.trailing)
