"""Behavioral models: fitted compact forms or lookup tables, evaluated vectorized.

A :class:`BehavioralModel` is a set of named :class:`Function` objects (one per
modeled quantity, e.g. ``id_a`` or ``v_lo_v``) plus its provenance: the model
kind, a text description of the fitted form, the valid input box, and the
error it makes on points of its sweep that the fit never saw (held out).

Each function is either

* ``form == "table"``: an n-D regular grid of values (corner x numeric axes),
  interpolated multilinearly (``imcspice.models.grid``), or
* a closed form from :mod:`imcspice.models.forms` whose parameter vector is
  tabulated over the remaining swept settings (temperature, widths, ...) and
  interpolated there (optionally Arrhenius-like: log(parameter) linear in 1/T).

Evaluating outside the valid box warns (:class:`OutOfRangeWarning`, naming the
input and the range) or, with ``strict=True``, raises ``ValueError``. This module
imports numpy only (torch only when handed tensors, :mod:`.array_api`): no PySpice,
nothing from ``imcspice.characterize``.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field

import numpy as np

from .array_api import is_torch, namespace_of
from .forms import get_form
from .grid import AXIS_SCALES, Grid
from ..errors import ImcspiceError, UnknownNameError
from ..registry import Registry

SCHEMA = "imcspice.model/1"

#: kind name -> model class; filled by :func:`register_kind` in each model module (the
#: package imports every module of ``models/``, so a new one needs no list)
KINDS: Registry[type["BehavioralModel"]] = Registry("model kind")


class OutOfRangeWarning(UserWarning):
    """A model was evaluated outside the input box it was fitted and validated on."""


class ModelFileError(ImcspiceError, ValueError):
    """A model file is missing, corrupted, truncated, foreign, or holds non-data content."""


def register_kind(cls):
    """Class decorator: register a :class:`BehavioralModel` subclass under its ``kind``."""
    return KINDS.add(cls.kind, cls)


@dataclass
class Function:
    """One modeled quantity.

    ``grid_inputs`` are the inputs the grid is over (table: all inputs; closed form:
    the settings its parameters vary with); ``form_inputs`` are the inputs the closed
    form takes (empty for a table). ``values`` has shape
    ``(n_corners, *[len(a) for a in grid_axes], n_params)``.
    """

    name: str
    unit: str
    form: str
    corners: list[str]
    grid_inputs: list[str]
    grid_axes: list[np.ndarray]
    values: np.ndarray
    form_inputs: list[str] = field(default_factory=list)
    param_names: list[str] = field(default_factory=lambda: ["value"])
    scales: list[str] | None = None            # per grid input, see grid.AXIS_SCALES
    param_transform: list[str] | None = None   # per parameter: "linear" | "log" | "asinh"
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    doc: str = ""

    def __post_init__(self):
        self.values = np.asarray(self.values, dtype=np.float64)
        self.grid_axes = [np.asarray(a, dtype=np.float64) for a in self.grid_axes]
        if self.scales is None:
            self.scales = ["linear"] * len(self.grid_inputs)
        if self.param_transform is None:
            self.param_transform = ["linear"] * len(self.param_names)
        self.extra = {k: np.asarray(v, dtype=np.float64) for k, v in self.extra.items()}
        self.validate()
        self.invalidate()

    def invalidate(self) -> None:
        """Drop the cached interpolation grids (after changing values, axes or scales)."""
        self._grids = None
        self._staged = None

    # --- consistency (also what a loaded file must satisfy) -------------------------
    def validate(self) -> None:
        if self.form != "table":
            form = get_form(self.form)
            if form.params is not None and tuple(self.param_names) != form.params:
                raise ValueError(f"function {self.name}: form {self.form} takes parameters "
                                 f"{form.params}, got {self.param_names}")
            if form.n_inputs >= 0 and len(self.form_inputs) != form.n_inputs:
                raise ValueError(f"function {self.name}: form {self.form} takes "
                                 f"{form.n_inputs} inputs, got {self.form_inputs}")
        elif self.form_inputs:
            raise ValueError(f"function {self.name}: a table has no form inputs")
        if len(self.grid_axes) != len(self.grid_inputs) or len(self.scales) != len(self.grid_inputs):
            raise ValueError(f"function {self.name}: one axis and scale per grid input")
        if any(s not in AXIS_SCALES for s in self.scales):
            raise ValueError(f"function {self.name}: unknown axis scale in {self.scales}")
        if any(t not in ("linear", "log", "asinh") for t in self.param_transform) or \
                len(self.param_transform) != len(self.param_names):
            raise ValueError(f"function {self.name}: bad parameter transforms")
        want = (len(self.corners),) + tuple(len(a) for a in self.grid_axes) + \
            (len(self.param_names),)
        if self.values.shape != want:
            raise ValueError(f"function {self.name}: values shape {self.values.shape}, "
                             f"expected {want}")
        if not np.all(np.isfinite(self.values)):
            raise ValueError(f"function {self.name}: non-finite values in the grid")
        if len(set(self.corners)) != len(self.corners) or not self.corners:
            raise ValueError(f"function {self.name}: corners must be unique and non-empty")
        if len(set(self.grid_inputs)) != len(self.grid_inputs) or \
                len(set(self.form_inputs)) != len(self.form_inputs):
            raise ValueError(f"function {self.name}: repeated input")
        if "asinh" in self.param_transform and (
                "asinh_scale" not in self.extra or
                self.extra["asinh_scale"].shape != (len(self.param_names),) or
                not np.all(self.extra["asinh_scale"] > 0)):
            raise ValueError(f"function {self.name}: asinh transform needs a positive "
                             "asinh_scale per parameter")
        for k, v in self.extra.items():
            if not np.all(np.isfinite(v)):
                raise ValueError(f"function {self.name}: non-finite extra array {k!r}")

    @property
    def inputs(self) -> list[str]:
        """The caller's inputs: the grid's, then the form's less those the model feeds
        from its own outputs (:attr:`composed`)."""
        return list(self.grid_inputs) + [i for i in self.form_inputs
                                         if i not in self.grid_inputs and i not in self.composed]

    @property
    def composed(self) -> tuple[str, ...]:
        """Form inputs that are other outputs of the same model (evaluated by it first)."""
        return () if self.form == "table" else get_form(self.form).composed

    @property
    def form_text(self) -> str:
        return "lookup table, multilinear interpolation" if self.form == "table" \
            else get_form(self.form).text

    def _grid(self, ci: int) -> Grid:
        if self._grids is None:
            self._grids = [None] * len(self.corners)
        if self._grids[ci] is None:
            self._grids[ci] = Grid(self.grid_axes, self.values[ci], self.scales)
        return self._grids[ci]

    def params_at(self, corner: str, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """The (interpolated) parameter vector at each point: shape ``(..., n_params)``
        (numpy arrays or torch tensors, as the inputs)."""
        ci = self.corners.index(corner)
        g = [inputs[n] for n in self.grid_inputs]
        xp = namespace_of(*g)
        p = self._grid(ci)(*g)
        if all(t == "linear" for t in self.param_transform):
            return p
        cols = []     # rebuilt column by column (no in-place writes: autograd-safe)
        for k, t in enumerate(self.param_transform):
            c = p[..., k]
            if t == "log":
                c = xp.exp(c)
            elif t == "asinh":   # signed quantities spanning decades: s * sinh(stored)
                c = float(self.extra["asinh_scale"][k]) * xp.sinh(c)
            cols.append(c)
        return xp.stack(cols, axis=-1)

    def __call__(self, corner: str, inputs: dict[str, np.ndarray]) -> np.ndarray:
        if self.form == "time-scaled-curve":
            return self._time_scaled(corner, inputs)
        p = self.params_at(corner, inputs)
        if self.form == "table":
            return p[..., 0]
        x = [inputs[n] for n in self.form_inputs]
        return get_form(self.form).func(x, p, self.extra)


    def _time_scaled(self, corner: str, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """``time-scaled-curve`` in two lookups, the same values as the generic path
        (multilinear interpolation is separable): ln a over the settings, then one
        multilinear lookup over (settings, u = ln t - ln a), instead of interpolating
        every curve node (hundreds) at every point."""
        ci = self.corners.index(corner)
        if self._staged is None:
            self._staged = {}
        if ci not in self._staged:
            nodes = self.extra["u_nodes"]
            self._staged[ci] = (
                Grid(self.grid_axes, self.values[ci][..., :1], self.scales),
                Grid(self.grid_axes + [nodes], self.values[ci][..., 1:, None],
                     list(self.scales) + ["linear"]))
        g_a, g_y = self._staged[ci]
        g = [inputs[n] for n in self.grid_inputs]
        (t,) = [inputs[n] for n in self.form_inputs]
        xp = namespace_of(t, *g)
        nodes = self.extra["u_nodes"]
        u = xp.clip(xp.log(t) - g_a(*g)[..., 0], float(nodes[0]), float(nodes[-1]))  # ends held
        return g_y(*g, u)[..., 0]


class BehavioralModel:
    """A fitted behavioral model. Subclasses set ``kind`` and add named helpers."""

    kind = "generic"
    #: the quantity ``model(...)`` evaluates when no output is named
    primary: str | None = None

    def __init__(self, functions: dict[str, Function], *, valid_range: dict,
                 heldout_error: dict, form: str, source_raw_sha256: str = "",
                 meta: dict | None = None, extra: dict[str, np.ndarray] | None = None,
                 created: str = "", imcspice_version: str = ""):
        self.functions = dict(functions)
        self.valid_range = dict(valid_range)
        self.heldout_error = dict(heldout_error)
        self.form = form
        self.source_raw_sha256 = source_raw_sha256
        self.meta = dict(meta or {})
        self.extra = {k: np.asarray(v, dtype=np.float64) for k, v in (extra or {}).items()}
        self.created = created
        self.imcspice_version = imcspice_version
        self.check()

    def check(self) -> None:
        """Structural checks shared by fitting and loading (raises ValueError)."""
        if not self.functions:
            raise ValueError("a model needs at least one function")
        for f in self.functions.values():
            for n in f.inputs:
                r = self.valid_range.get(n)
                if not (isinstance(r, list) and len(r) == 2 and
                        all(isinstance(x, (int, float)) for x in r) and r[0] <= r[1]):
                    raise ValueError(f"valid_range has no [lo, hi] for input {n!r} of {f.name}")
            corners = self.valid_range.get("corner")
            if not isinstance(corners, list) or not set(f.corners) <= set(corners):
                raise ValueError(f"valid_range 'corner' does not list the corners of {f.name}")

    # --- introspection ---------------------------------------------------------------
    @property
    def outputs(self) -> list[str]:
        return list(self.functions)

    @property
    def corners(self) -> list[str]:
        return list(self.valid_range.get("corner", []))

    def inputs(self, output: str | None = None) -> list[str]:
        return self.functions[self._output(output)].inputs

    def unit(self, name: str) -> str:
        if name in self.functions:
            return self.functions[name].unit
        return self.meta.get("input_units", {}).get(name, "")

    def _output(self, output):
        if output is None:
            output = self.primary if self.primary in self.functions else next(iter(self.functions))
        if output not in self.functions:
            raise UnknownNameError(f"model {self.kind} has no output {output!r}; it has "
                                   f"{', '.join(self.functions)}")
        return output

    # --- range checks ----------------------------------------------------------------
    def check_range(self, inputs: dict[str, np.ndarray], strict: bool = False,
                    corner: str | None = None) -> None:
        """Warn (or raise ``ValueError`` under ``strict``) for any input outside the box."""
        if corner is not None and corner not in self.corners:
            raise ValueError(f"corner {corner!r} not in the model's corners {self.corners}")
        for name, x in inputs.items():
            r = self.valid_range.get(name)
            if r is None:
                continue
            lo, hi = float(r[0]), float(r[1])
            x = namespace_of(x).to_numpy(x)
            if x.size == 0:
                continue
            xmin, xmax = float(np.nanmin(x)), float(np.nanmax(x))
            tol = 1e-9 * max(abs(lo), abs(hi), hi - lo, 1e-30)
            if xmin < lo - tol or xmax > hi + tol:
                unit = self.unit(name)
                msg = (f"{self.kind} model: input {name} spans [{xmin:.6g}, {xmax:.6g}]"
                       f"{' ' + unit if unit else ''}, outside the valid range "
                       f"[{lo:.6g}, {hi:.6g}] it was fitted on; results there are extrapolated")
                if strict:
                    raise ValueError(msg)
                warnings.warn(msg, OutOfRangeWarning, stacklevel=3)

    def _resolve(self, fn: Function, corner, inputs: dict) -> tuple[str, dict]:
        unknown = set(inputs) - set(fn.inputs)
        if unknown:
            raise TypeError(f"{fn.name} takes inputs {fn.inputs}; unknown: {sorted(unknown)}")
        if corner is None:
            if len(fn.corners) != 1:
                raise TypeError(f"{fn.name}: give corner= one of {fn.corners}")
            corner = fn.corners[0]
        if corner not in fn.corners:
            raise ValueError(f"corner {corner!r} not in the model's corners {fn.corners}")
        vals = {}
        for n in fn.inputs:
            if n in inputs:
                x = inputs[n]   # a torch tensor stays one (device, dtype, autograd kept)
                vals[n] = namespace_of(x).asfloat(x) if is_torch(x) else \
                    np.asarray(x, dtype=np.float64)
            else:
                lo, hi = self.valid_range[n]
                d = self.meta.get("defaults", {}).get(n)
                if lo == hi:
                    vals[n] = np.float64(lo)
                elif d is not None:
                    vals[n] = np.float64(d)
                else:
                    raise TypeError(f"{fn.name}: missing input {n!r} (valid range [{lo:g}, "
                                    f"{hi:g}] {self.unit(n)})")
        return corner, vals

    # --- evaluation ------------------------------------------------------------------
    def evaluate(self, output: str | None = None, *, corner: str | None = None,
                 strict: bool = False, **inputs) -> np.ndarray:
        """Evaluate ``output`` at broadcastable input arrays (vectorized).

        Inputs may be numpy arrays (float64 result) or torch tensors (a tensor on their
        device and floating dtype, differentiable in the inputs): one implementation,
        :mod:`.array_api`. Inputs whose valid range is a single value (a setting that
        was not swept) may be omitted. ``corner`` may be omitted when the model has one
        corner. A function whose form reads other outputs of this model
        (:attr:`Function.composed`) gets them evaluated first at the same inputs.
        """
        fn = self.functions[self._output(output)]
        corner, vals = self._resolve(fn, corner, inputs)
        self.check_range({k: v for k, v in vals.items() if k in inputs}, strict, corner)
        b = namespace_of(*vals.values()).broadcast_arrays(*vals.values())
        vals = dict(zip(vals.keys(), b))
        for n in fn.composed:   # a form reading this model's own outputs at these settings
            vals[n] = self.evaluate(n, corner=corner, strict=strict, **{
                k: v for k, v in vals.items() if k in self.functions[n].inputs})
        return fn(corner, vals)

    __call__ = evaluate

    # --- summaries -------------------------------------------------------------------
    def max_heldout_pct_fs(self) -> float:
        return float(self.heldout_error.get("max_pct_fs", float("nan")))

    def summary(self) -> dict:
        return {"kind": self.kind, "outputs": self.outputs, "valid_range": self.valid_range,
                "heldout_error": self.heldout_error}

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} kind={self.kind} outputs={self.outputs} "
                f"heldout max {self.max_heldout_pct_fs():.3g}% FS>")


def to_json(obj) -> str:
    return json.dumps(obj, sort_keys=True, allow_nan=True)
