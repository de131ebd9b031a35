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

Where a family fitter tries a closed form first, the choice is made on
the training points only: the table fallback is used when the form's training
error exceeds the tolerance.

The fitting of each family lives in ``fit_<family>.py``, the shared machinery in
:mod:`imcspice.characterize.fitting`; this module has the dispatch by model kind.
"""
from __future__ import annotations

import importlib
import json
from pathlib import Path

from ..models.base import BehavioralModel
from ..models.store import save, sha256_file
from . import fit_acam, fit_crossbar, fit_devices, fit_gaincell, fit_ota, rawfile
from .fitting.grid import FitError
from .fitting.validate import errors_against

#: the fitting families: each declares RECIPE_KIND (recipe -> default model kind) and
#: FITTERS (model kind -> "module:function" fitting it from a RawSweep). A new model kind:
#: its class in models/<family>.py (``@register_kind``, imported by models/__init__.py)
#: and its fitter in a family module listed here.
FAMILIES = (fit_devices, fit_acam, fit_crossbar, fit_gaincell, fit_ota)

#: recipe -> default model kind
RECIPE_KIND: dict[str, str] = {}
#: model kind -> "module:function" fitting it from a RawSweep
FITTERS: dict[str, str] = {}
for _family in FAMILIES:
    RECIPE_KIND.update(_family.RECIPE_KIND)
    FITTERS.update(_family.FITTERS)


def infer_kind(raw: rawfile.RawSweep) -> str:
    recipe = raw.attrs.get("recipe", "")
    if recipe not in RECIPE_KIND:
        raise FitError(f"no model kind is known for recipe {recipe!r}; known recipes: "
                       f"{', '.join(sorted(RECIPE_KIND))} (or give --kind)")
    return RECIPE_KIND[recipe]


def kinds() -> list[str]:
    return sorted(FITTERS)


def _fitter(kind: str):
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


__all__ = ["FitError", "fit", "fit_file", "errors_against", "infer_kind", "kinds"]
