"""One quantity of a raw sweep as a labelled grid (:class:`GridData`), and what a fit
reads from the raw file besides it (fixed settings, valid range, provenance)."""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ... import __version__
from .. import rawfile
from ...errors import ImcspiceError


class FitError(ImcspiceError, ValueError):
    """The raw sweep cannot be fitted into the requested model kind."""


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


def numeric_settings(raw: rawfile.RawSweep) -> tuple[str, ...]:
    """Every numeric recipe parameter: swept ones are axes already, fixed ones become
    length-1 axes, so the model's valid range pins the settings it was measured at."""
    return tuple(k for k, v in fixed_params(raw).items()
                 if isinstance(v, (int, float)) and not isinstance(v, bool))


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


def table_box(fns: dict, errs: dict, gds: list[GridData]) -> tuple[dict, dict, list, str]:
    """For per-quantity lookup tables ``fns`` (their held-out ``errs``, fitted from
    ``gds``): the input box and units (:func:`valid_range`), the inputs the sweep varied,
    and the held-out note naming the quantities no axis could hold a line out of."""
    rng, units = valid_range(gds)
    swept = [n for n in next(iter(fns.values())).inputs if rng[n][0] != rng[n][1]]
    scalars = [q for q, e in errs.items() if not e.get("n_heldout")]
    notes = (f"not held out (no axis of >= 4 values to split): {', '.join(scalars)}"
             if scalars else "")
    return rng, units, swept, notes


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
