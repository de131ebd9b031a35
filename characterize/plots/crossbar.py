"""Crossbar plots. The plot function itself still lives in ``recipes/crossbar.py`` (owned
by the simulator work); it is registered here, explicitly."""
from __future__ import annotations

from ..recipes.crossbar import plot_crossbar
from .registry import plotter

plotter("crossbar-column", "crossbar-array")(plot_crossbar)
