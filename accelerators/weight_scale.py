"""The compiler's weight scaling: each matrix's weights to [-1, 1] differential
conductances, and the scale the digital side restores. One mapping for accuracy
(:class:`.analog.CrossbarLinear`, :class:`.thermal_reram.ThermalCrossbarLinear`) and for
cost (:mod:`.xbar_loads`, the bit-line loads the energy prices)."""
from __future__ import annotations

import numpy as np

W_SCALES = ("matrix", "column", "tile")


def normalized_weights(ws: np.ndarray, w_scale: str, w_clip_pct: float = 100.0,
                       tile_rows: int | None = None):
    """The compiler's weight mapping: ``ws`` (out, in) -> (``wn`` (in, out) in [-1, 1],
    each word line a row, G+ = g_min + span·max(wn, 0), G- = g_min + span·max(-wn, 0);
    ``w_max`` (tiles, out): the scale restored digitally for each ``tile_rows`` row tile
    and output column, with that tile column's converter range). ``w_scale="matrix"``:
    one scale, the ``w_clip_pct`` percentile of |w|; ``"column"``: each output column by
    its own percentile; ``"tile"``: each row tile's column by the percentile over its
    rows, so every tile bit-line pair spans the conductance range and its signal stands
    above the programming and read noise, which do not scale with the weights
    (``tile_rows`` required). Weights beyond the percentile saturate at g_max."""
    if w_scale not in W_SCALES:
        raise ValueError(f"w_scale must be one of {W_SCALES}, not {w_scale!r}")
    if w_scale == "tile" and not tile_rows:
        raise ValueError("w_scale 'tile' needs the tile's rows")
    a = np.abs(ws)
    n_in = a.shape[1]
    rows = int(tile_rows) if tile_rows else max(n_in, 1)
    n_tiles = max(-(-n_in // rows), 1)
    if not n_in:
        wm = np.ones((n_tiles, len(a)))
    elif w_scale == "tile":
        wm = np.stack([np.percentile(a[:, t:t + rows], w_clip_pct, axis=1)
                       for t in range(0, n_in, rows)])
    elif w_scale == "column":
        wm = np.broadcast_to(np.percentile(a, w_clip_pct, axis=1), (n_tiles, len(a)))
    else:
        wm = np.full((n_tiles, len(a)), float(np.percentile(a, w_clip_pct)))
    w_max = np.where(wm > 0, wm, 1.0)
    return np.clip(ws.T / row_scale(w_max, rows, n_in), -1.0, 1.0), w_max


def row_scale(w_max: np.ndarray, tile_rows: int, n_in: int) -> np.ndarray:
    """(n_in, out): each word line's scale, its row tile's ``w_max`` (tiles, out)."""
    return np.repeat(w_max, tile_rows, axis=0)[:n_in]
