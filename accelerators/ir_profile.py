"""How a bit line's IR drop is shared among its cells (``crossbar.ir_profile``).

The crossbar-column model gives one relative loss per bit line, a function of the
column's conductance load, measured with every row driven. Three ways to apply it:

* ``"column"``: every cell of the bit line loses that fraction. The TIA trim at the
  mapped load then restores every weight; equivalently, programming compensated each
  cell's position (see docs/devices.md).
* ``"ladder"``: the wire's share follows each cell's position. In a linear resistive
  column with undriven rows held at the reference and the sense node a virtual ground,
  superposition makes the current that reaches the TIA from row r a fixed fraction
  ``t_r`` of that cell's ideal current, whatever the other inputs (ngspice,
  docs/devices.md: the loss barely moves with the rows driven). ``t_r`` comes from the
  column's nodal equations, one tridiagonal solve per bit line (:func:`bitline_transfer`):
  far rows lose most, rows next to the sense node least. The rest of the loss (access
  transistor, device law) is taken as equal for every cell, so that the all-rows
  column current still matches the characterized law (:func:`row_factors`).
* ``"compensated"``: read as ``"ladder"``, but the mapping set each cell's target
  against its position first (:func:`compensated_targets`), as the Dot-Product Engine's
  conversion algorithm maps matrices onto a real crossbar (Hu et al., DAC 2016,
  doi:10.1145/2897937.2898010). A far cell needs more conductance than its target; the
  largest targets of far rows saturate at g_max (and zero weights of near rows at
  g_min), which is what is left of the drop.

Only the bit line's wire enters ``t_r``; the word lines' segments (the cells' column
position) do not.
"""
from __future__ import annotations

import numpy as np

PROFILES = ("column", "ladder", "compensated")


def bitline_transfer(g_s: np.ndarray, r_seg_ohm: float) -> np.ndarray:
    """(rows, cols) fraction of each cell's ideal current that reaches the sense node.

    ``g_s`` (rows, cols): cell conductances (S, > 0 where it matters) of independent bit
    lines; row 0 is the far end, row ``rows - 1`` the one next to the sense node.
    ``r_seg_ohm`` > 0: the wire between adjacent rows and from the last row to the sense
    node. By reciprocity, t = A⁻¹ (e_last / r_seg) with A the column's nodal matrix
    (each cell to its held word line, segments between nodes): one Thomas solve per
    column, vectorized over columns."""
    g = np.asarray(g_s, dtype=np.float64)
    if g.ndim != 2 or not r_seg_ohm > 0:
        raise ValueError("bitline_transfer needs (rows, cols) conductances and r_seg_ohm > 0")
    n = g.shape[0]
    gs = 1.0 / float(r_seg_ohm)
    diag = g + gs
    diag[1:] += gs                      # every node but the far end has a segment above it
    cp = np.empty_like(g)
    dp = np.zeros_like(g)
    cp[0] = -gs / diag[0]
    for i in range(1, n):
        m = diag[i] + gs * cp[i - 1]
        cp[i] = -gs / m
        dp[i] = (gs if i == n - 1 else 0.0) + gs * dp[i - 1]
        dp[i] /= m
    if n == 1:
        dp[0] = gs / diag[0]
    t = np.empty_like(g)
    t[-1] = dp[-1]
    for i in range(n - 2, -1, -1):
        t[i] = dp[i] - cp[i] * t[i + 1]
    return t


def row_factors(g_s: np.ndarray, loss_col, r_seg_ohm: float) -> np.ndarray:
    """(rows, cols) factor on each cell's conductance: its position's share of the wire
    (:func:`bitline_transfer`) times the rest of the loss, the same for every cell of the
    bit line, so that with every row driven the column passes ``1 - loss_col`` (cols,) of
    its ideal current, as the characterized law says."""
    g = np.asarray(g_s, dtype=np.float64)
    t = bitline_transfer(g, r_seg_ohm)
    wire = 1.0 - (t * g).sum(axis=0) / np.maximum(g.sum(axis=0), 1e-300)
    rest = (1.0 - np.asarray(loss_col, dtype=np.float64)) / (1.0 - wire)
    return t * rest[None, :]


def compensated_targets(g_target: np.ndarray, loss_of, r_seg_ohm: float, g_min_s: float,
                        g_max_s: float, iterations: int = 4) -> np.ndarray:
    """(rows, cols) conductances to program so that every cell's share of its bit line's
    current, read with :func:`row_factors`, is its target's share: ``g_target / rel`` with
    ``rel`` = the cell's factor over its column's mean loss, clipped to [g_min_s,
    g_max_s] (S). ``rel`` depends on the programmed column itself: a fixed point, within
    ~1e-5 of the span after 4 iterations on 128-row tiles of 100 uS cells and 2.5 ohm.
    ``loss_of(g)`` (cols,): the characterized loss of columns programmed with ``g``."""
    g_t = np.asarray(g_target, dtype=np.float64)
    g = g_t.copy()
    for _ in range(iterations):
        loss = np.asarray(loss_of(g), dtype=np.float64)
        rel = row_factors(g, loss, r_seg_ohm) / (1.0 - loss)[None, :]
        g = np.clip(g_t / rel, g_min_s, g_max_s)
    return g


def mapped_conductances(wn: np.ndarray, dev):
    """(G+ (in, out), G- (in, out), their loads (2, tiles, out)): the conductances (S) the
    mapping programs for normalized weights ``wn`` (in, out;
    :func:`.analog.normalized_weights`) on the tile ``dev`` (:class:`.analog.
    CrossbarDevice`), g_min + span * max(+-wn, 0), each set against its cell's position
    along the bit line where ``dev.ir_profile`` is "compensated" (by the trims' drop law;
    targets unchanged without a wire, the IR drop switched off). The cost prices the same
    loads (:mod:`.xbar_loads`)."""
    from .analog import bitline_loads, tile_loads
    span = dev.g_max_s - dev.g_min_s
    gp0 = dev.g_min_s + span * np.clip(wn, 0, None)
    gn0 = dev.g_min_s + span * np.clip(-wn, 0, None)
    if dev.ir_profile != "compensated" or dev.r_bl_ohm <= 0:
        return gp0, gn0, bitline_loads(wn, dev.tile_rows)
    law = dev.drop_law(True)

    def compensate(g0):         # one tile's rows
        return compensated_targets(
            g0, lambda g: np.asarray(law(tile_loads(g, dev)[0]), dtype=np.float64),
            dev.r_bl_ohm, dev.g_min_s, dev.g_max_s)
    tiles = [slice(t, t + dev.tile_rows) for t in range(0, wn.shape[0], dev.tile_rows)]
    gp0, gn0 = (np.concatenate([compensate(g0[sl]) for sl in tiles]) for g0 in (gp0, gn0))
    return gp0, gn0, np.stack([tile_loads(gp0, dev), tile_loads(gn0, dev)])
