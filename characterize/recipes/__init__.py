"""The recipe registry: every measured quantity imcspice knows, by name."""
from __future__ import annotations

from ..recipe import Recipe
from .device_iv import NfetIV, PfetIV
from .memristor_iv import MemristorIV

_CLASSES: list[type[Recipe]] = [NfetIV, PfetIV, MemristorIV]



RECIPES: dict[str, Recipe] = {}


def _build() -> None:
    for cls in _CLASSES:
        r = cls()
        RECIPES[r.name] = r


def get_recipe(name: str) -> Recipe:
    if not RECIPES:
        _build()
    try:
        return RECIPES[name]
    except KeyError:
        raise KeyError(f"unknown recipe {name!r}; `imcspice recipes` lists them: "
                       f"{', '.join(sorted(RECIPES))}") from None


def all_recipes() -> list[Recipe]:
    if not RECIPES:
        _build()
    return list(RECIPES.values())
