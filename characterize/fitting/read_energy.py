"""Fitting the crossbar column's read energy over the settled read as the closed form
``crossbar-read-energy-settled`` (models/crossbar_energy.py) on the model's own current
and settling time.

The form is linear in its parameters (a, b, c, d), so they are solved by least squares
per corner and per cell of the settings grid (temperature, read voltage, any single-valued
setting) on the TRAINING lines only, from the sweep's measured i_out_a and t_settle_s at
those points (the law between measured quantities). The held-out error is then taken the
way a user gets the energy: the form evaluated on the model's fitted i_out_a and
t_settle_s functions (their own held-out lines are the same grid lines: one quantity grid,
one seed), so the settling time's interpolation error is part of it.
"""
from __future__ import annotations

import itertools

import numpy as np

from ...models.base import Function
from ...models.crossbar_energy import COMPOSED, FORM, INPUTS
from .grid import FitError, GridData, grid_data
from .holdout import heldout_error, mesh_points, split_grid

#: settings that are both a parameter-grid axis and a form input (the form takes V)
GRID_TOO = ("v_read_v",)


class _Composed:
    """A Function's face for :func:`heldout_error`: the energy form fed by the fitted
    current and settling-time functions at the same points."""

    def __init__(self, fn: Function, deps: dict[str, Function]):
        self.fn, self.deps, self.corners = fn, deps, fn.corners
        self.inputs = [n for n in fn.inputs if n not in COMPOSED]

    def __call__(self, corner, inputs):
        vals = dict(inputs)
        for n, d in self.deps.items():
            vals[n] = d(corner, {k: inputs[k] for k in d.inputs})
        return self.fn(corner, vals)


def _columns(x, extra) -> np.ndarray:
    """The form's four terms per point (its value = columns @ (a, b, c, d))."""
    cols = []
    for k in range(4):
        p = np.zeros(4)
        p[k] = 1.0
        cols.append(FORM.func(x, p, extra))
    return np.stack(cols, axis=-1)


def fit_settled_read_energy(gd: GridData, dep_gd: dict[str, GridData],
                            deps: dict[str, Function], extra: dict, seed: int,
                            doc: str = "") -> tuple[Function, dict]:
    """(Function, held-out error) of ``gd`` (e_read_j) with the settled-read form;
    ``dep_gd``: the measured i_out_a / t_settle_s grids (same axes), ``deps``: their
    fitted functions. Raises FitError where the sweep cannot carry it."""
    missing = [n for n in INPUTS if n not in COMPOSED and n not in gd.names]
    if missing or set(dep_gd) != set(COMPOSED) or set(deps) != set(COMPOSED):
        raise FitError(f"crossbar-read-energy-settled needs the sweep axes {missing} and "
                       f"the outputs {COMPOSED}")
    for n in COMPOSED:
        if dep_gd[n].names != gd.names or dep_gd[n].values.shape != gd.values.shape:
            raise FitError(f"{n}: not on e_read_j's grid")
    masks = split_grid(gd, {}, seed)
    coords, sel = mesh_points(gd, masks, heldout=False)
    settings = [n for n in gd.names if n not in INPUTS or n in GRID_TOO]
    axes = [gd.axis(n) for n in settings]
    values = np.full((len(gd.corners),) + tuple(len(a) for a in axes) + (4,), np.nan)
    for ci in range(len(gd.corners)):
        x_all = [coords[n] if n not in COMPOSED else dep_gd[n].values[ci][sel]
                 for n in INPUTS]
        y_all = gd.values[ci][sel]
        for cell in itertools.product(*[range(len(a)) for a in axes]):
            m = np.isfinite(y_all)
            for n, a, k in zip(settings, axes, cell):
                m &= np.isclose(coords[n], a[k], rtol=1e-9, atol=0.0)  # SI values: no atol
            for xv in x_all:
                m &= np.isfinite(xv)
            if m.sum() < 8:
                raise FitError(f"crossbar-read-energy-settled: {int(m.sum())} training "
                               f"points at {dict(zip(settings, cell))}")
            a_mat = _columns([xv[m] for xv in x_all], extra)
            scale = np.abs(a_mat).max(axis=0)
            scale[scale == 0] = 1.0
            sol, *_ = np.linalg.lstsq(a_mat / scale, y_all[m], rcond=None)
            values[(ci,) + cell] = sol / scale
    fn = Function(gd.name, gd.unit, FORM.name, list(gd.corners), settings, axes, values,
                  form_inputs=list(INPUTS), param_names=list(FORM.params), extra=extra,
                  doc=f"{doc} [{FORM.text}]".strip())
    err = heldout_error(_Composed(fn, deps), gd, masks)
    return fn, err


def try_settled_energy(raw, settings, fixed: dict, seed: int, fns: dict, errs: dict,
                       extra: dict) -> None:
    """Replace the lookup table of ``fns["e_read_j"]`` (its held-out error in ``errs``)
    by the settled-read form where that holds out better, the table's figure recorded
    next to it; else note the form's figure. ``extra``: the cell law and output-stage
    sizing (v0_v, i_design_frac, i_floor_a; v_cm_v added from ``fixed``)."""
    if not all(n in fns for n in COMPOSED):
        return
    extra = dict(extra, v_cm_v=np.array([float(fixed.get("v_cm_v", 0.45))]))
    gd = grid_data(raw, "e_read_j", settings=settings)
    try:
        fn, err = fit_settled_read_energy(
            gd, {n: grid_data(raw, n, settings=settings) for n in COMPOSED},
            {n: fns[n] for n in COMPOSED}, extra, seed, doc=raw.docs.get("e_read_j", ""))
    except FitError as e:
        errs["e_read_j"]["settled_form_error"] = str(e)
        return
    table = errs["e_read_j"]["max_pct_fs"]
    if err["max_pct_fs"] < table:
        err.update(model=f"closed form {fn.form} on the model's {' and '.join(COMPOSED)}",
                   table_max_pct_fs=table)
        fns["e_read_j"], errs["e_read_j"] = fn, err
    else:
        errs["e_read_j"]["settled_form_max_pct_fs"] = err["max_pct_fs"]
