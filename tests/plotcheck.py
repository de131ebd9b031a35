"""Check what a plot shows, not that a PNG exists: capture every matplotlib figure saved
while a plotting function runs, then compare its axes' data with the numbers that should
have been drawn, and decode the written PNG.

    with saved_figures() as figs:
        plot_something(raw, out)
    (fig, path), = figs
    ys = line_data(fig.axes[0])          # [(x, y), ...] of the drawn lines
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def saved_figures():
    """Yields a list that receives ``(figure, path)`` for every ``Figure.savefig`` call
    (the file is still written; the figure object stays inspectable after ``plt.close``)."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    got: list = []
    real = Figure.savefig

    def spy(self, fname, *a, **k):
        got.append((self, Path(fname)))
        return real(self, fname, *a, **k)

    Figure.savefig = spy
    try:
        yield got
    finally:
        Figure.savefig = real


def line_data(ax) -> list[tuple[np.ndarray, np.ndarray]]:
    """(x, y) of every Line2D drawn on ``ax`` (grid lines are not Line2D children)."""
    return [(np.asarray(ln.get_xdata(), float), np.asarray(ln.get_ydata(), float))
            for ln in ax.get_lines()]


def image_data(ax) -> list[np.ndarray]:
    """The arrays of every image (imshow/pcolormesh) drawn on ``ax``."""
    out = [np.asarray(im.get_array()) for im in ax.get_images()]
    out += [np.asarray(c.get_array()) for c in ax.collections
            if hasattr(c, "get_array") and c.get_array() is not None]
    return out


def check_png(fig, path: Path, dpi: float | None = None) -> np.ndarray:
    """Decode the PNG written for ``fig``: its pixel size is the figure's inches x dpi
    (bbox not tightened; with ``dpi`` None, any one dpi for both sides), and it is not
    blank (over 1 % of the pixels differ from the corner background). Returns RGBA."""
    import matplotlib.image as mpimg
    px = mpimg.imread(path)
    w_in, h_in = fig.get_size_inches()
    if dpi is None:
        dpi = px.shape[1] / w_in
    assert abs(px.shape[0] - h_in * dpi) <= 1 and abs(px.shape[1] - w_in * dpi) <= 1, \
        (px.shape, w_in, h_in, dpi)
    bg = px[0, 0]
    assert np.mean(np.any(np.abs(px - bg) > 0.1, axis=-1)) > 0.01
    return px
