"""Plots of raw sweeps, one module per circuit family, registered by recipe name
(:mod:`.registry`). Importing this package registers every family's plotters."""
from __future__ import annotations

from . import acam, crossbar, gaincell  # noqa: F401  (each registers its plotters)
from .registry import PLOTTERS, plotter, pyplot


def get_plotter(recipe: str):
    """The registered plotter of ``recipe``, or None (generic curves)."""
    return PLOTTERS.get(recipe)


__all__ = ["PLOTTERS", "get_plotter", "plotter", "pyplot"]
