"""The seeded hold-out split of a sweep's grid and the error statistics on held-out points
(method: see :mod:`imcspice.characterize.fit`)."""
from __future__ import annotations

import numpy as np

from ...models.base import Function
from .grid import GridData

HOLDOUT_FRAC = 0.15


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


def mesh_points(gd: GridData, masks: dict[str, np.ndarray], heldout: bool):
    """Coordinates and values of the held-out (or training) points, per corner."""
    keep_all = np.ones(gd.values.shape[1:], dtype=bool)
    for k, (n, _) in enumerate(gd.axes):
        shape = [1] * len(gd.axes)
        shape[k] = -1
        keep_all = keep_all & masks[n].reshape(shape)
    sel = ~keep_all if heldout else keep_all
    # per-axis indices of the selected points (np.meshgrid broadcasts its arrays
    # together, and np.broadcast takes at most 32: crossbar-column has more settings)
    where = np.nonzero(sel)
    coords = {n: np.asarray(v)[where[k]] for k, (n, v) in enumerate(gd.axes)}
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
    coords, sel = mesh_points(gd, masks, heldout=True)
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
