"""The plotter registry: recipe name -> function drawing a raw sweep of it into a PNG.

    @plotter("acam-window", "acam-mc")
    def plot_acam_window(raw, out_png) -> None: ...

A recipe without a registered plotter gets ``imcspice plot``'s generic curves; a
registered plotter that fails raises (its error is the user's answer, never hidden)."""
from __future__ import annotations

from typing import Callable

#: recipe name -> plotter(raw: RawSweep, out_png: str | Path) -> None
PLOTTERS: dict[str, Callable] = {}


def plotter(*recipes: str) -> Callable[[Callable], Callable]:
    """Register the decorated function as the plotter of ``recipes``."""
    def register(fn: Callable) -> Callable:
        for r in recipes:
            if r in PLOTTERS and PLOTTERS[r] is not fn:
                raise ValueError(f"recipe {r!r} already has a plotter "
                                 f"({PLOTTERS[r].__module__}.{PLOTTERS[r].__name__})")
            PLOTTERS[r] = fn
        return fn
    return register


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
