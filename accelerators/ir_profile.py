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
  transistor, device law) is shared by the cells' access transistors (a cell of
  conductance g behind ``r_access_ohm`` passes ``1/(1 + g·r_access_ohm)``: ON cells
  lose most, as ngspice's OFF-cell reads showed) and, for what remains, equally, so that
  the all-rows column current still matches the characterized law (:func:`row_factors`).
* ``"compensated"``: read as ``"ladder"``, but the mapping set each cell's target
  against its transistor and position first (:func:`compensated_targets`), as the
  Dot-Product Engine's conversion algorithm maps matrices onto a real crossbar (Hu et
  al., DAC 2016, doi:10.1145/2897937.2898010), and as a write-verify that reads each cell
  through its own transistor and bit line would. A far or large cell needs more
  conductance than its target: where that passes g_max, the tile's bit-line pair is
  mapped onto a smaller span and its TIA gain raised to match
  (:func:`mapped_conductances`); what is left is the signal that span gives up against
  the noise, and zero weights of near rows held at g_min.

Only the bit line's wire enters ``t_r``; the word lines' segments (the cells' column
position) do not.
"""
from __future__ import annotations

import numpy as np

PROFILES = ("column", "ladder", "compensated")


def tile_loads(g_s: np.ndarray, dev) -> np.ndarray:
    """(tiles, out): each ``dev.tile_rows`` row tile's bit lines' load as programmed or
    read, the mean of their conductances ``g_s`` (in, out; S) above g_min as a fraction
    of the span, clipped to [0, 1] (the crossbar-column model's ``frac_on``)."""
    span = dev.g_max_s - dev.g_min_s
    r = dev.tile_rows
    return np.clip(np.stack([(g_s[t:t + r].mean(axis=0) - dev.g_min_s) / span
                             for t in range(0, g_s.shape[0], r)]), 0.0, 1.0)


def bitline_loads(wn: np.ndarray, tile_rows: int) -> np.ndarray:
    """(2, tiles, out): the mapped load of every bit line (G+ then G-) of every
    ``tile_rows`` row tile of ``wn`` (in, out; :func:`.weight_scale.
    normalized_weights`): the mean of its cells' mapped conductance above g_min as a
    fraction of the span, i.e. the mean of max(±wn, 0) over the tile's rows (a last,
    partial tile over the rows it holds). The crossbar-column model's ``frac_on`` is
    this load."""
    tiles = [slice(t, t + tile_rows) for t in range(0, wn.shape[0], tile_rows)]
    return np.stack([np.stack([np.clip(s * wn[sl], 0.0, None).mean(axis=0) for sl in tiles])
                     for s in (1.0, -1.0)])


def tile_blocks(n_rows: int, tile_rows: int):
    """``(first, stop, rows)`` of the row tiles of an ``n_rows`` matrix, taken together:
    the full ``tile_rows`` tiles as one block, a last partial tile as another. Every bit
    line is its own column problem, so a block's tiles are solved side by side
    (:func:`as_columns`): the arithmetic per bit line is a per-tile loop's, in far fewer
    numpy calls."""
    full = n_rows // tile_rows * tile_rows
    return [(a, b, min(tile_rows, b - a)) for a, b in ((0, full), (full, n_rows)) if b > a]


def as_columns(g: np.ndarray, rows: int) -> np.ndarray:
    """(tiles·rows, out) -> (rows, tiles·out): each row tile's bit lines side by side."""
    return g.reshape(-1, rows, g.shape[1]).transpose(1, 0, 2).reshape(rows, -1)


def from_columns(c: np.ndarray, out: int) -> np.ndarray:
    """The inverse of :func:`as_columns`: (rows, tiles·out) -> (tiles·rows, out)."""
    return c.reshape(c.shape[0], -1, out).transpose(1, 0, 2).reshape(-1, out)


def tile_rows_of(per_tile: np.ndarray, tile_rows: int, n_rows: int) -> np.ndarray:
    """(n_rows, out): a per-tile quantity (tiles, out) repeated on each of its tile's rows."""
    return np.repeat(per_tile, tile_rows, axis=0)[:n_rows]


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
    gs = 1.0 / float(r_seg_ohm)
    diag = g + gs
    diag[1:] += gs                      # every node but the far end has a segment above it
    # Thomas forward sweep; the right-hand side is zero but at the sense node's row, so
    # the eliminated right-hand side stays zero above it and the back substitution is a
    # running product of the sweep's ratios q_i = -c'_i from the sense node up (its
    # own q is t there, gs / m)
    q = np.empty_like(g)
    q[0] = gs / diag[0]
    for i in range(1, g.shape[0]):
        np.divide(gs, diag[i] - gs * q[i - 1], out=q[i])
    for i in range(g.shape[0] - 2, -1, -1):   # row by row: contiguous, unlike cumprod
        q[i] *= q[i + 1]
    return q


def row_factors(g_s: np.ndarray, loss_col, r_seg_ohm: float,
                r_access_ohm: float = 0.0) -> np.ndarray:
    """(rows, cols) factor on each cell's conductance: its access transistor's share
    (``1 / (1 + g·r_access_ohm)``: a cell in series with ``r_access_ohm`` ohm passes that
    fraction of its own current, so ON cells lose most), times its position's share of the
    wire (:func:`bitline_transfer` of those series conductances; none where ``r_seg_ohm``
    is 0), times the rest of the loss (OTA sense node, the drop's voltage non-linearity),
    the same for every cell of the bit line, so that with every row driven the column
    passes ``1 - loss_col`` (cols,) of its ideal current, as the characterized law says."""
    g = np.asarray(g_s, dtype=np.float64)
    acc = 1.0 / (1.0 + g * float(r_access_ohm))
    shape = acc * (bitline_transfer(g * acc, r_seg_ohm) if r_seg_ohm > 0 else 1.0)
    kept = (shape * g).sum(axis=0) / np.maximum(g.sum(axis=0), 1e-300)
    rest = (1.0 - np.asarray(loss_col, dtype=np.float64)) / kept
    return shape * rest[None, :]


def compensated_targets(g_target: np.ndarray, loss_of, r_seg_ohm: float, g_min_s: float,
                        g_max_s: float, r_access_ohm: float = 0.0,
                        iterations: int = 6) -> np.ndarray:
    """(rows, cols) conductances to program so that every cell's share of its bit line's
    current, read with :func:`row_factors`, is its target's share: ``g_target / rel`` with
    ``rel`` = the cell's factor over its column's mean loss, clipped to [g_min_s,
    g_max_s] (S; ``np.inf``: what each cell would need). ``rel`` depends on the
    programmed column itself: a fixed point, within ~1e-5 of the span after 6 iterations
    on 128-row tiles of 100 uS cells, 2.5 ohm and 1.4 kohm access transistors.
    ``loss_of(g)`` (cols,): the characterized loss of columns programmed with ``g``."""
    g_t = np.asarray(g_target, dtype=np.float64)
    g = g_t.copy()
    for _ in range(iterations):
        loss = np.asarray(loss_of(g), dtype=np.float64)
        rel = row_factors(g, loss, r_seg_ohm, r_access_ohm) / (1.0 - loss)[None, :]
        g = np.clip(g_t / rel, g_min_s, g_max_s)
    return g


def mapped_conductances(wn: np.ndarray, dev):
    """(G+ (in, out), G- (in, out), their loads (2, tiles, out), TIA gain (tiles, out)):
    the conductances (S) the mapping programs for normalized weights ``wn`` (in, out;
    :func:`.weight_scale.normalized_weights`) on the tile ``dev`` (:class:`.analog.
    CrossbarDevice`), g_min + span * max(+-wn, 0), with the TIA gain that restores them.

    Where ``dev.ir_profile`` is "compensated", each cell is set against its access
    transistor and its position along the bit line (the trims' drop law and transistor:
    the programming temperature's). A tile's bit-line pair whose compensation would need
    more than g_max on a cell (a large weight far from the sense node, or any large
    weight behind its transistor) is mapped onto the span that fits, ``s`` < 1 of it, and
    its TIA gain raised by ``1/s`` (the per-bit-line gain the trims already set); its
    floor is raised as far as its cells that pass more than the pair's mean (OFF cells
    near the sense node) need, a common offset that G+ - G- cancels. No weight is
    clipped (but for the small shift of the column law with the new loads); the pair's
    signal falls to ``s`` against the programming and read noise. Elsewhere the targets
    are unchanged and the gain 1. The cost prices the same
    loads (:mod:`.xbar_loads`)."""
    span = dev.g_max_s - dev.g_min_s
    gp0 = dev.g_min_s + span * np.clip(wn, 0, None)
    gn0 = dev.g_min_s + span * np.clip(-wn, 0, None)
    n_tiles = -(-wn.shape[0] // dev.tile_rows)
    gain = np.ones((n_tiles, wn.shape[1]))
    r_acc = dev.access_ohm(True)
    if dev.ir_profile != "compensated" or (dev.r_bl_ohm <= 0 and r_acc <= 0):
        return gp0, gn0, bitline_loads(wn, dev.tile_rows), gain
    law = dev.drop_law(True)

    def compensate(g0, g_min_s, g_max_s):         # bit lines of one tile's rows each
        return compensated_targets(
            g0, lambda g: np.asarray(law(tile_loads(g, dev)[0]), dtype=np.float64),
            dev.r_bl_ohm, g_min_s, g_max_s, r_acc)
    g_lo, g_hi = dev.g_min_s, dev.g_max_s
    r, out = dev.tile_rows, wn.shape[1]
    for first, stop, rows in tile_blocks(wn.shape[0], r):
        nt, t0 = (stop - first) // rows, first // r
        tgt = np.concatenate([as_columns(g0[first:stop], rows) for g0 in (gp0, gn0)], axis=1)
        rel = (tgt / compensate(tgt, 0.0, np.inf)).reshape(rows, 2, nt, out)
        tgt = tgt.reshape(rows, 2, nt, out)
        # targets k·g_lo + s·(g - g_lo) per tile's bit-line pair (G+ and G- rows): the
        # floor raised until no cell needs less than g_lo (cells that pass more than the
        # pair's mean), the span cut until none needs more than g_hi; the offset cancels
        # in G+ - G-, the TIA gain 1/s restores the span
        k = np.maximum(1.0, np.where(tgt <= g_lo, rel, 0.0).max(axis=(0, 1)))
        up = tgt > g_lo
        s = np.minimum(1.0, np.where(up, (g_hi * rel - k * g_lo) / np.where(up, tgt - g_lo, 1.0),
                                     np.inf).min(axis=(0, 1)))
        gain[t0:t0 + nt] = 1.0 / s
        # the new targets' loads shift rel a little: clip the rest
        g = compensate((k * g_lo + s * (tgt - g_lo)).reshape(rows, -1), g_lo, g_hi)
        for j, g0 in enumerate((gp0, gn0)):
            g0[first:stop] = from_columns(g.reshape(rows, 2, -1)[:, j], out)
    return gp0, gn0, np.stack([tile_loads(gp0, dev), tile_loads(gn0, dev)]), gain
