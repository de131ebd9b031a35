"""A Compute-ACAM bank whose stored output levels are trimmed to its own thresholds, and
optionally refitted to the inputs each row matched (centroid levels): the ``levels``
calibration of the description's ``[mapping.acam]``, which :mod:`.race_it`'s lookups use
(the crossbar converters, :class:`.converters.ConverterBank`, store their levels the
same way)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .analog import AcamQuantizer
from .acam_mapping import AcamMapping


@dataclass
class TrimmedAcam(AcamQuantizer):
    """A Compute-ACAM bank whose stored output levels are trimmed to its own thresholds.

    The thresholds keep their mismatch (:class:`.analog.AcamQuantizer`: ideal place +
    N(0, sigma_rel x window), drawn per chip); what calibration changes is the value
    each row *stores* (an ACAM row stores any output value, written digitally). A ramp
    over the input window (``ramp_div`` points per step: the description's
    ``[mapping.acam] trim_ramp_div``) locates the thresholds
    once per chip; each row then stores the centre of the input interval it really
    matches instead of the centre of its ideal interval, so a threshold that moved by a
    step no longer shifts every input of that row by a step. ``keep``: an input value
    whose row stores it exactly (0 for probabilities and products: small terms of a long
    sum then add nothing). Rows whose interval vanished (thresholds crossed) keep the
    centre of the empty interval; they are never matched."""

    keep: float | None = None
    ramp_div: int = AcamMapping.trim_ramp_div

    def __post_init__(self):
        super().__post_init__()
        step = (self.hi - self.lo) / 2 ** self.bits
        res = step / self.ramp_div
        # a ramp point reads the row code; a threshold is located to the ramp's step
        t = np.clip(self.lo + (np.floor((self.thresholds - self.lo) / res) + 0.5) * res,
                    self.lo, self.hi)
        edges = np.concatenate([[self.lo], t, [self.hi]])
        levels = 0.5 * (edges[:-1] + edges[1:])
        if self.keep is not None and self.lo <= self.keep <= self.hi:
            levels[int(np.searchsorted(self.thresholds, self.keep, side="right"))] = self.keep
        self.levels = levels
        self._stats = None

    def code(self, x: np.ndarray) -> np.ndarray:
        c = super().code(x)
        if self._stats is not None:         # a level-fitting pass: what each row matched
            n = len(self.levels)
            xc = np.clip(np.asarray(x, dtype=np.float64), self.lo, self.hi).ravel()
            self._stats[0] += np.bincount(c.ravel(), weights=xc, minlength=n)
            self._stats[1] += np.bincount(c.ravel(), minlength=n)
        return c

    def start_stats(self) -> None:
        """Begin recording, per row, the inputs it matches (a calibration pass)."""
        n = len(self.levels)
        self._stats = [np.zeros(n), np.zeros(n)]

    def fit_levels(self, min_count: int = 4) -> None:
        """Each row stores the mean of the calibration inputs it matched (the MMSE value
        of its code for the real input distribution; Lloyd's centroid condition); rows
        matched fewer than ``min_count`` times keep their trimmed centre, the ``keep``
        row keeps its value."""
        if self._stats is None:
            return
        s, n = self._stats
        self._stats = None
        ok = n >= min_count
        lv = self.levels.copy()
        lv[ok] = s[ok] / n[ok]
        if self.keep is not None and self.lo <= self.keep <= self.hi:
            lv[int(np.searchsorted(self.thresholds, self.keep, side="right"))] = self.keep
        self.levels = lv
