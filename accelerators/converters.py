"""The Compute-ACAM converters of a crossbar matrix, one mismatch draw per converter.

A crossbar tile has ``converter.per_tile`` converters (the description's figure, the one
:mod:`.mapping` prices); its ``cols`` columns are time-multiplexed onto them in
contiguous groups of ``ceil(cols / per_tile)``. Each converter is a physical ACAM bank:
its 2^bits - 1 thresholds carry their own offsets ~ N(0, sigma_rel x window), so a
matrix of T tiles has ``T x per_tile`` independent threshold sets, not one.

:class:`ConverterBank` holds all of a matrix's converters as arrays (thresholds and
stored levels per converter, a code table per converter on a grid 64x finer than the
output step, as :class:`.analog.AcamQuantizer` reads one) and converts a (..., out)
array given each column's converter. Stored levels: ``"ideal"`` (the centre of each
row's ideal interval), ``"trimmed"`` (the centre of the interval it really matches,
thresholds located by a ramp of ``ramp_div`` points per output step, as
:class:`.trimmed_acam.TrimmedAcam`) and centroid fitting (:meth:`start_stats`,
:meth:`fit_levels`: each row stores the mean of the calibration inputs it matched).
"""
from __future__ import annotations

import numpy as np

#: fine bins of a converter's code table per output step (as .analog.AcamQuantizer)
FINE = 64


def converter_index(groups: int, out: int, cols: int, per_tile: int) -> np.ndarray:
    """(groups, out) index of the converter each column of each converter group (a row
    tile, or the analog sum over them) is read by: tile ``g·ceil(out/cols) + c // cols``,
    within it converter ``(c mod cols) // ceil(cols / per_tile)`` (contiguous columns
    share one converter, time-multiplexed)."""
    if cols < 1 or per_tile < 1:
        raise ValueError("cols and per_tile must be >= 1")
    ct = -(-out // cols)
    share = -(-cols // per_tile)
    c = np.arange(out)
    local = (c // cols) * per_tile + (c % cols) // share
    return (np.arange(groups)[:, None] * ct * per_tile + local[None, :]).astype(np.int64)


class ConverterBank:
    """``n`` converters over [lo, hi], ``bits`` each, threshold mismatch ``sigma_rel`` of
    the window drawn per converter from ``seed``; ``ramp_div`` None: ideal levels, else
    levels trimmed to each converter's thresholds located by that ramp."""

    def __init__(self, bits: int, n: int, lo: float = -1.0, hi: float = 1.0,
                 sigma_rel: float = 0.0, seed: int = 0, ramp_div: int | None = None):
        self.bits, self.n, self.lo, self.hi = int(bits), int(n), float(lo), float(hi)
        self.sigma_rel = float(sigma_rel)
        k = 2 ** self.bits
        span = self.hi - self.lo
        step = span / k
        ideal = self.lo + step * np.arange(1, k)
        off = np.random.default_rng(seed).normal(0.0, self.sigma_rel * span, (self.n, k - 1))
        self.thresholds = np.sort(ideal[None, :] + off, axis=1)            # (n, k - 1)
        if ramp_div is None:
            self.levels = np.tile(self.lo + (np.arange(k) + 0.5) * step, (self.n, 1))
        else:   # each row: the centre of the interval its ramp-located thresholds bound
            res = step / ramp_div
            t = np.clip(self.lo + (np.floor((self.thresholds - self.lo) / res) + 0.5) * res,
                        self.lo, self.hi)
            lo_c, hi_c = np.full((self.n, 1), self.lo), np.full((self.n, 1), self.hi)
            edges = np.concatenate([lo_c, t, hi_c], axis=1)
            self.levels = 0.5 * (edges[:, :-1] + edges[:, 1:])
        self.bins = FINE * k
        self._inv_bin = self.bins / span
        centres = self.lo + (np.arange(self.bins) + 0.5) / self._inv_bin
        # a fine bin's code: the number of its converter's thresholds at or below its
        # centre. Threshold t counts from the first centre >= t on, so each converter's
        # table is the running count of its thresholds' first bins (one search of the
        # n x (2^bits - 1) thresholds in the centres, not of the n x bins centres in the
        # thresholds: 1.6 s -> 0.1 s for MiniLM's 36 matrices)
        first = np.searchsorted(centres, self.thresholds, side="left")      # (n, k - 1)
        first += (self.bins + 1) * np.arange(self.n)[:, None]
        count = np.bincount(first.ravel(), minlength=self.n * (self.bins + 1))
        lut = np.cumsum(count.reshape(self.n, self.bins + 1), axis=1)[:, :self.bins]
        self.lut = lut.astype(np.uint8 if k <= 256 else np.int32)         # (n, bins)
        self._stats = None
        self._bin_levels = None          # levels[conv, lut[conv, bin]], built on first use

    def _flat_bins(self, x: np.ndarray, conv: np.ndarray) -> np.ndarray:
        """Index into the converters' concatenated fine-bin tables of each x (..., out):
        floor((x - lo) * bins / span) clipped to [0, bins - 1] (the clip first makes the
        floor a truncation: the same integers, two passes fewer), plus the column's
        converter offset ``conv * bins``."""
        i = (x - self.lo) * self._inv_bin
        i = np.clip(i, 0, self.bins - 1, out=i if i.dtype.kind == "f" else None)
        i = i.astype(np.int32)
        i += (conv * self.bins).astype(np.int32)
        return i

    def code(self, x: np.ndarray, conv: np.ndarray) -> np.ndarray:
        """Row matched by each x (..., out) in the converter ``conv`` (out,) of its column."""
        c = self.lut.ravel().take(self._flat_bins(x, conv)).astype(np.int64)
        if self._stats is not None:      # a level-fitting pass: what each row matched
            k = self.levels.shape[1]
            xc = np.clip(np.asarray(x, dtype=np.float64), self.lo, self.hi)
            g = (np.broadcast_to(conv, c.shape) * k + c).ravel()
            self._stats[0] += np.bincount(g, weights=xc.ravel(), minlength=self.levels.size)
            self._stats[1] += np.bincount(g, minlength=self.levels.size)
        return c

    def __call__(self, x: np.ndarray, conv: np.ndarray) -> np.ndarray:
        """The stored level of the matched row, (..., out)."""
        if self._stats is not None:      # a level-fitting pass records the rows matched
            k = self.levels.shape[1]
            return self.levels.ravel()[conv * k + self.code(x, conv)]
        if self._bin_levels is None:     # the stored level of each fine bin: one gather
            self._bin_levels = np.take_along_axis(
                self.levels, self.lut.astype(np.int64), axis=1).ravel()
        return self._bin_levels.take(self._flat_bins(x, conv))

    def start_stats(self) -> None:
        """Begin recording, per converter row, the inputs it matches."""
        self._stats = [np.zeros(self.levels.size), np.zeros(self.levels.size)]

    def fit_levels(self, min_count: int = 4) -> None:
        """Each row stores the mean of the calibration inputs it matched (rows matched
        fewer than ``min_count`` times keep their level), as
        :meth:`.trimmed_acam.TrimmedAcam.fit_levels` for one converter."""
        if self._stats is None:
            return
        s, m = self._stats
        self._stats = None
        ok = m >= min_count
        lv = self.levels.ravel().copy()
        lv[ok] = s[ok] / m[ok]
        self.levels = lv.reshape(self.levels.shape)
        self._bin_levels = None
