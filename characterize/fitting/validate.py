"""Checking a model against a raw sweep (``imcspice validate --against``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...models.base import BehavioralModel
from .. import rawfile
from .grid import FitError, fixed_params, grid_data
from .holdout import error_stats, mesh_points
from .whole_cells import whole_cells_only


def errors_against(model: BehavioralModel, raw_path: str | Path) -> dict:
    """The model's error on every successful point of a raw sweep (``validate --against``).

    Each model output named like a quantity of the raw file, whose inputs are all axes
    (or fixed settings) of that quantity, is compared on all points. Points outside the
    model's valid box are counted separately and left out of the error. A crossbar
    column's points whose ON fraction is not whole cells are left out as the fit leaves
    them (fitting/whole_cells.py: they measure another load than their label)."""
    raw = rawfile.read(raw_path)
    n_part = 0
    if raw.attrs.get("recipe") == "crossbar-column":
        raw, n_part = whole_cells_only(raw, fixed_params(raw))
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
        coords, sel = mesh_points(gd, keep, heldout=True)
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
            # through the model: a composed output reads the model's own outputs
            preds.append(model.evaluate(name, corner=c, **inputs))
            targets.append(gd.values[ci][sel][inside])
            n_out += int(np.isfinite(gd.values[ci][sel][~inside]).sum())
        pred = np.concatenate(preds) if preds else np.zeros(0)
        target = np.concatenate(targets) if targets else np.zeros(0)
        # % of the model's own full scale (its held-out figures' measure), so that the
        # two modes of `validate` speak the same unit: a sweep's own range can be far
        # narrower (the SAR logic energy at one temperature over 5 capacitors: 0.4 fJ
        # off read 340 % of that range, 0.01 % of the model's)
        fs = model.heldout_error.get("outputs", {}).get(name, {}).get("full_scale")
        e = error_stats(pred, target, float(fs) if fs else gd.full_scale, gd.unit, 0)
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
    if n_part:
        res["n_not_whole_cells"] = n_part
    return res
