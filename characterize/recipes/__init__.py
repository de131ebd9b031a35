"""The recipe registry: every measured quantity imcspice knows, by name.

Each module in this package holds one circuit family's recipes; every
:class:`~imcspice.characterize.recipe.Recipe` subclass with a ``name`` defined in
a module here is registered automatically.
"""
from __future__ import annotations

import importlib
import pkgutil

from ..recipe import Recipe
from ...errors import UnknownNameError

RECIPES: dict[str, Recipe] = {}


def _build() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        mod = importlib.import_module(f"{__name__}.{info.name}")
        for obj in vars(mod).values():
            if (isinstance(obj, type) and issubclass(obj, Recipe) and obj.__module__ == mod.__name__
                    and obj.name and obj.name not in RECIPES):
                RECIPES[obj.name] = obj()


def register(recipe: Recipe) -> Recipe:
    """Add a recipe instance (e.g. a user's own, or a test's) to the registry.
    Its class must be importable by module path, since workers re-create it."""
    if not RECIPES:
        _build()
    RECIPES[recipe.name] = recipe
    return recipe


def get_recipe(name: str) -> Recipe:
    if not RECIPES:
        _build()
    try:
        return RECIPES[name]
    except KeyError:
        raise UnknownNameError(f"unknown recipe {name!r}; `imcspice recipes` lists them: "
                               f"{', '.join(sorted(RECIPES))}") from None


def all_recipes() -> list[Recipe]:
    if not RECIPES:
        _build()
    return list(RECIPES.values())
