"""What an IMC compiler records to set its DAC, converter and lookup ranges: each
operator's input and output ranges on the calibration batches (:class:`RangeRecorder`,
wrapping an ops object of the numpy path)."""
from __future__ import annotations

import numpy as np

from .analog import running_mean


class RangeRecorder:
    """Wraps an ops object and records each operator's input and output ranges on the
    calibration batches, as an IMC compiler does to set DAC/ACAM ranges. Ranges are
    robust percentiles (``pct``) of |x|, so one outlier does not waste resolution.

    Each call is one calibration batch, and a range is the mean over batches of that
    batch's statistic (a percentile, a per-channel maximum, the extremes of a variance):
    the statistic of one batch of a fixed size (:data:`.torch_minilm.CALIB_BATCH_TOKENS`),
    estimated better with more batches instead of widening with them as a maximum over
    all texts does (MiniLM on RACE-IT, chip 1000, 16 evaluation texts: 4 / 8 / 16
    calibration texts in one batch read 0.9894 / 0.9881 / 0.9873; 16 and 32 texts in
    batches of 4, folded by the mean, 0.9885 / 0.9886). Only the operands' signs
    (``in_min``, ``in2_min``, ``out_min``) keep the minimum over all batches: whether an
    operand is ever negative decides its code, not its resolution."""

    SIGN_KEYS = frozenset({"in_min", "in2_min", "out_min"})

    def __init__(self, ops, pct: float = 99.9):
        self.ops, self.pct = ops, pct
        self.ranges: dict[str, dict[str, float]] = {}
        self._batches: dict[tuple[str, str], int] = {}

    def fold(self, name: str, **values) -> None:
        """Fold one batch's statistics of operator ``name`` into its ranges."""
        r = self.ranges.setdefault(name, {})
        for key, v in values.items():
            if key in self.SIGN_KEYS:
                r[key] = min(r.get(key, np.inf), v)
                continue
            n = self._batches[name, key] = self._batches.get((name, key), 0) + 1
            r[key] = running_mean(r.get(key), v, n)

    def _rec(self, name: str, key: str, x: np.ndarray) -> None:
        a = np.abs(np.asarray(x, dtype=np.float64))
        a = a[np.isfinite(a)]
        v = max(float(np.percentile(a, self.pct)), 1e-12) if a.size else 1.0
        kw = {key: v, key + "_max": float(a.max()) if a.size else 1.0}
        if key == "out":
            kw["out_min"] = float(np.min(x))
        self.fold(name, **kw)

    def linear(self, x, w, b, name):
        self._rec(name, "in", x)
        ch = np.abs(x).reshape(-1, x.shape[-1]).max(axis=0)
        self.fold(name, in_ch=np.maximum(ch, 1e-9))
        y = self.ops.linear(x, w, None, name)
        self._rec(name, "out", y)
        self._rec_ch(name, y)
        return y if b is None else y + b

    def matmul(self, a, b, name):
        self._rec(name, "in", a)
        self._rec(name, "in2", b)
        # the operands' signs: a non-negative operand (probabilities) is coded unsigned
        self.fold(name, in_min=float(np.min(a)), in2_min=float(np.min(b)))
        # scalar products a_ik·b_kj on a sample of rows and columns: the range of a
        # Compute-ACAM product lookup, over all heads and per head (axis -3 of (B, H, T, d)
        # operands: each head's products go to a lookup bank programmed for its range)
        p = np.abs(a[..., :16, :, None] * b[..., None, :, :16])
        self._rec(name, "prod", p)
        if p.ndim >= 5:
            ph = np.moveaxis(p, -4, 0).reshape(p.shape[-4], -1)
            self.fold(name, prod_head=np.maximum(np.percentile(ph, self.pct, axis=1), 1e-12))
        y = self.ops.matmul(a, b, name)
        self._rec(name, "out", y)
        return y

    def softmax(self, x, name, axis=-1):
        z = x - x.max(axis=axis, keepdims=True)
        # the row sums of exp(z) (>= 1): the input range of the 1/sum lookup
        s = np.exp(np.maximum(z, -80.0)).sum(axis=axis)
        self.fold(name, sum_min=float(s.min()), sum_max=float(s.max()))
        z = z[np.isfinite(z) & (z > -1e3)]  # masked positions carry -1e4: not a data range
        self._rec(name, "in", z)
        return self.ops.softmax(x, name, axis)

    def gelu(self, x, name):
        self._rec(name, "in", x)
        return self.ops.gelu(x, name)

    def layernorm(self, x, gamma, beta, eps, name):
        self._rec(name, "in", x)
        var = x.var(axis=-1)
        self.fold(name, var_min=float(var.min()), var_max=float(var.max()))
        y = self.ops.layernorm(x, gamma, beta, eps, name)
        self._rec(name, "out", y)
        self._rec_ch(name, y)
        return y

    def _rec_ch(self, name: str, y: np.ndarray) -> None:
        """Per-channel output maxima (each column's ACAM bank gets its own range), and the
        signed extremes per channel (an offset window)."""
        y2 = np.asarray(y).reshape(-1, y.shape[-1])
        self.fold(name, out_ch=np.maximum(np.abs(y2).max(axis=0), 1e-9),
                  out_lo_ch=y2.min(axis=0), out_hi_ch=y2.max(axis=0))
