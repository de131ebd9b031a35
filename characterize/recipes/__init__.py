"""The recipes: every measured quantity imcspice knows, by name.

Each module in this package holds one circuit family's recipes, each class registered
with ``@register_recipe`` (:data:`imcspice.characterize.recipe.RECIPES`); the registry
imports every module here before its first lookup, so a new module needs no list.
"""
from __future__ import annotations

from ..recipe import RECIPES, Recipe


def register(recipe: Recipe) -> Recipe:
    """Add a recipe instance (e.g. a user's own, or a test's) to the registry.
    Its class must be importable by module path, since workers re-create it."""
    return RECIPES.add(recipe.name, recipe)


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``; UnknownNameError listing the known ones otherwise."""
    return RECIPES[name]


def all_recipes() -> list[Recipe]:
    return list(RECIPES.values())
