"""Crossbar sweep points whose pattern cannot hold the labeled ON fraction.

The crossbar-column recipe sets exactly floor(frac·rows + 1/2) cells ON (and inputs
active: characterize/recipes/crossbar.py ``spread_pattern``, circuits/crossbar.py
``column_pattern``), so where frac·rows is not a whole number the point measures another
load than its label: at 40 rows, frac_on 1/16 is 3 cells (0.075), 3/16 is 8 (0.2), 5/16
is 13 (0.325). Fitted at their labels, such points read as model error (the 720-point
sweep, seed 0, held out with them: i_out_a 0.89, ir_drop_rel 1.61, t_settle_s 3.50,
e_tia_j 1.15 % FS; without: 0.29, 0.35, 1.04, 0.14). :func:`whole_cells_only` leaves them
out of the fit and the hold-out (NaN, like a failed point: tables fill them by
interpolation along their axes, forms and held-out statistics skip them); the raw
file keeps the measured values.
"""
from __future__ import annotations

import dataclasses

import numpy as np

#: the fraction parameters the pattern rounds to whole cells
FRACTIONS = ("frac_on", "frac_active")


def not_whole(raw, fixed: dict) -> np.ndarray:
    """Boolean over the raw sweep's outer grid: True where some fraction x rows is not a
    whole number of cells (rows and the fractions from the axes, else ``fixed``)."""
    shape = [len(raw.axis(n)) for n in raw.outer]

    def along(name):
        if name in raw.outer:
            k = raw.outer.index(name)
            return raw.axis(name).astype(float).reshape([-1 if i == k else 1
                                                         for i in range(len(shape))])
        return np.array(float(fixed.get(name, 1.0)))
    rows = along("rows")
    bad = np.zeros(shape, bool)
    for f in FRACTIONS:
        frac = along(f)
        bad |= np.abs(np.floor(frac * rows + 0.5) - frac * rows) > 1e-9
    return bad


def whole_cells_only(raw, fixed: dict):
    """(raw sweep with NaN data at the :func:`not_whole` points, how many points)."""
    if "rows" not in raw.outer and "rows" not in fixed:
        return raw, 0
    bad = not_whole(raw, fixed)
    if not bad.any():
        return raw, 0
    data = {}
    for q, arr in raw.data.items():
        ax = raw.data_axes[q]
        if list(ax[:len(raw.outer)]) != list(raw.outer) or arr.dtype.kind != "f":
            data[q] = arr
            continue
        mask = bad.reshape(bad.shape + (1,) * (arr.ndim - bad.ndim))
        data[q] = np.where(mask, np.nan, arr)
    return dataclasses.replace(raw, data=data), int(bad.sum())


def left_out_note(n: int) -> str:
    """The hold-out notes' clause on ``n`` left-out points ("" for none)."""
    return (f"; {n} points left out of fit and hold-out: frac x rows not whole cells "
            "(characterize/fitting/whole_cells.py)") if n else ""
