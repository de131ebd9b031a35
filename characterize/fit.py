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

The fitting of each family lives in ``fitters/<family>.py``, each fitter registered with
``@fitter(kind, recipes=...)`` (:data:`FITTERS`; every module of ``fitters/`` is imported
before the first lookup, so a new one needs no list); the shared machinery is in
:mod:`imcspice.characterize.fitting`; this module has the registry and the dispatch.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..models.base import BehavioralModel
from ..models.store import save, sha256_file
from ..registry import Registry, _origin
from . import rawfile
from .fitting.grid import FitError
from .fitting.validate import errors_against

_FITTERS_PACKAGE = "imcspice.characterize.fitters"


@dataclass(frozen=True)
class Fitter:
    """The fitter of one model kind: ``fit(raw, *, raw_path, seed) -> BehavioralModel``;
    ``recipes``: the recipes whose sweeps are fitted into this kind by default."""

    kind: str
    fit: Callable[..., BehavioralModel]
    recipes: tuple[str, ...] = ()


def _same_fitter(a: Fitter, b: Fitter) -> bool:
    return (a.kind, _origin(a.fit), a.recipes) == (b.kind, _origin(b.fit), b.recipes)


#: model kind -> its Fitter
FITTERS: Registry[Fitter] = Registry("model kind", discover=_FITTERS_PACKAGE,
                                     same=_same_fitter)
#: recipe -> its default model kind (a recipe defaults to one kind only)
RECIPE_KIND: Registry[str] = Registry("recipe with a default model kind",
                                      discover=_FITTERS_PACKAGE, same=lambda a, b: a == b)


def fitter(kind: str, *, recipes: tuple[str, ...] = ()) -> Callable[[Callable], Callable]:
    """Decorator: register the decorated function as the fitter of model ``kind`` (whose
    class is registered in ``models/``), the default kind of ``recipes``."""
    def deco(fn: Callable) -> Callable:
        FITTERS.add(kind, Fitter(kind, fn, tuple(recipes)))
        for r in recipes:
            RECIPE_KIND.add(r, kind)
        return fn
    return deco


def infer_kind(raw: rawfile.RawSweep) -> str:
    recipe = raw.attrs.get("recipe", "")
    if recipe not in RECIPE_KIND:
        raise FitError(f"no model kind is known for recipe {recipe!r}; known recipes: "
                       f"{', '.join(RECIPE_KIND.names())} (or give --kind)")
    return RECIPE_KIND[recipe]


def kinds() -> list[str]:
    return FITTERS.names()


def _fitter(kind: str) -> Callable[..., BehavioralModel]:
    if kind not in FITTERS:
        raise FitError(f"unknown model kind {kind!r}; known: {', '.join(kinds())}")
    return FITTERS[kind].fit


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


__all__ = ["FITTERS", "FitError", "Fitter", "RECIPE_KIND", "fit", "fit_file", "errors_against",
           "fitter", "infer_kind", "kinds"]
