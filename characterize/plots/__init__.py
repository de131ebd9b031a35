"""Plots of raw sweeps, one module per circuit family, registered by recipe name
(:mod:`.registry`; every module here is imported before the first lookup)."""
from __future__ import annotations

from .registry import PLOTTERS, plotter, pyplot


def get_plotter(recipe: str):
    """The registered plotter of ``recipe``, or None (generic curves)."""
    return PLOTTERS.get(recipe)


__all__ = ["PLOTTERS", "get_plotter", "plotter", "pyplot"]
