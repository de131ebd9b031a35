"""The plotter registry: recipe name -> function drawing a raw sweep of it into a PNG.

    @plotter("acam-window", "acam-mc")
    def plot_acam_window(raw, out_png) -> None: ...

A recipe without a registered plotter gets ``imcspice plot``'s generic curves; a
registered plotter that fails raises (its error is the user's answer, never hidden)."""
from __future__ import annotations

from typing import Callable

from ...registry import Registry

#: recipe name -> plotter(raw: RawSweep, out_png: str | Path) -> None; every module of
#: ``characterize/plots/`` is imported before the first lookup
PLOTTERS: Registry[Callable] = Registry("plotter", discover="imcspice.characterize.plots")


def plotter(*recipes: str) -> Callable[[Callable], Callable]:
    """Register the decorated function as the plotter of ``recipes`` (a recipe has one)."""
    return PLOTTERS.register(*recipes)


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend (imported on first use:
    matplotlib costs ~0.5 s of start-up)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, out_png, dpi: int = 110) -> None:
    """Lay out ``fig``, write it to ``out_png`` and release it."""
    fig.tight_layout()
    fig.savefig(out_png, dpi=dpi)
    pyplot().close(fig)


def set_labels(ax, xlabel: str, ylabel: str, title: str | None = None) -> None:
    """Axis labels (and title) of one panel."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
