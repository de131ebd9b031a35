"""Numerical building blocks of analog hardware, shared by the accelerators.

* :class:`AcamQuantizer`: an ACAM row bank used as an analog-to-digital lookup
  (RACE-IT's Compute-ACAM): 2^bits - 1 programmed thresholds, each with a fixed
  per-chip offset drawn from the characterized mismatch sigma.
* :class:`CrossbarLinear`: a weight matrix programmed as differential memristor
  conductances, read with voltage inputs through the device's sinh law, with
  programming variability and IR-drop attenuation per tile.

Everything is vectorized numpy; randomness is seeded per operator name so a
"chip" is reproducible.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np


def seed_for(name: str, seed: int = 0) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:4], "little")


def quantize_uniform(x: np.ndarray, bits: int, lo: float, hi: float) -> np.ndarray:
    """Ideal uniform quantizer to 2^bits levels over [lo, hi] (mid-rise, clipped)."""
    n = 2 ** bits
    step = (hi - lo) / n
    code = np.clip(np.floor((x - lo) / step), 0, n - 1)
    return lo + (code + 0.5) * step


def quantize_symmetric(x: np.ndarray, bits: int, x_max: float) -> np.ndarray:
    """Signed mid-tread quantizer: sign + (bits-1)-bit magnitude, zero included
    (a pulse-width input with a sign phase)."""
    n = 2 ** (bits - 1) - 1
    return np.round(np.clip(x / x_max, -1, 1) * n) / n * x_max


def quantize_pulse(a: np.ndarray, bits: int) -> np.ndarray:
    """Unsigned pulse width in [0, 1] with 2^bits levels including zero (no pulse)."""
    n = 2 ** bits - 1
    return np.round(np.clip(a, 0, 1) * n) / n


@dataclass
class AcamQuantizer:
    """Input range [lo, hi] split by 2^bits - 1 thresholds; threshold k sits at its ideal
    place plus a fixed offset ~ N(0, sigma_rel * (hi - lo)). ``sigma_rel`` is the ACAM
    threshold mismatch sigma divided by the ACAM's analog input window (V/V)."""

    bits: int
    lo: float
    hi: float
    sigma_rel: float = 0.0
    seed: int = 0

    def __post_init__(self):
        n = 2 ** self.bits
        step = (self.hi - self.lo) / n
        ideal = self.lo + step * np.arange(1, n)
        rng = np.random.default_rng(self.seed)
        off = rng.normal(0.0, self.sigma_rel * (self.hi - self.lo), size=ideal.shape)
        self.thresholds = np.sort(ideal + off)
        self.levels = self.lo + (np.arange(n) + 0.5) * step
        bins = 64 * n
        self._inv_bin = bins / (self.hi - self.lo)
        centers = self.lo + (np.arange(bins) + 0.5) / self._inv_bin
        self._lut = np.searchsorted(self.thresholds, centers, side="right").astype(np.int16)

    def code(self, x: np.ndarray) -> np.ndarray:
        """Index of the matching row (number of thresholds at or below x), read from a
        table over a grid 64x finer than the output step: exact except within 1/64 step
        of a threshold, far below the thresholds' own mismatch, and several times faster
        than a search over the thresholds."""
        i = np.floor((x - self.lo) * self._inv_bin).astype(np.int32)
        return self._lut[np.clip(i, 0, len(self._lut) - 1)]
    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Quantized value (the level of the matching row)."""
        return self.levels[self.code(x)]

    def lookup(self, x: np.ndarray, func) -> np.ndarray:
        """Compute-ACAM: ``func`` evaluated at the quantized input level."""
        return func(self.levels)[self.code(x)]


@dataclass
class CrossbarDevice:
    """What a crossbar tile needs from the characterized models (units in names).

    ``ir_drop_rel(load)``: relative current loss of a column whose mean conductance is
    ``g_min + load·(g_max - g_min)`` (load in [0, 1]), at the tile's rows and wire
    resistance; the periphery's gain calibration divides by ``1 - ir_drop_rel(0.5)``,
    so what remains is the load-dependent part.
    """

    g_min_s: float
    g_max_s: float
    v_read_v: float
    v0_v: float                 # sinh non-linearity voltage of the memristor read
    tile_rows: int
    ir_drop_rel: object         # callable load -> relative loss
    g_sigma_s: object = None    # callable g -> programming sigma (S), or None


class CrossbarLinear:
    """``y = x @ W.T`` computed the way a differential 1T1R crossbar does it.

    W (out, in) is scaled to [-1, 1] by its max |w| and mapped to G+ / G- in
    [g_min, g_max]; programming variability is drawn once, at construction (a fixed
    chip). Inputs are quantized (DAC, ``in_bits``) and applied as voltages up to
    ``v_read``; each device contributes g·v0·sinh(v/v0), the memristor read law,
    which is separable in g and v, so a tile is one matrix product of conductances
    with transformed voltages. Each column of each ``tile_rows`` tile loses
    ``ir_drop_rel(load)`` of its current, ``load`` being that column's conductance load.
    """

    def __init__(self, w: np.ndarray, dev: CrossbarDevice, in_bits: int, x_max,
                 seed: int, w_clip_pct: float = 100.0, outlier_factor: float | None = 6.0):
        self.dev, self.in_bits = dev, in_bits
        # x_max per input channel (calibration maxima). Channels whose range exceeds
        # ``outlier_factor`` x the median are computed digitally (mixed-precision
        # decomposition, Dettmers et al., LLM.int8(), 2022): a few outlier features
        # would otherwise set the DAC full scale for every row. The other rows share
        # one DAC full scale, the largest of their ranges.
        x_max = np.broadcast_to(np.asarray(x_max, dtype=np.float64), (w.shape[1],))
        med = float(np.median(x_max))
        self.digital = (x_max > outlier_factor * med) if outlier_factor else \
            np.zeros(w.shape[1], bool)
        self.w_digital = w[:, self.digital].T.astype(np.float32)
        self.x_max = float(x_max[~self.digital].max())
        ws = w[:, ~self.digital] * self.x_max
        # weights beyond the clip percentile saturate at g_max
        self.w_max = float(np.percentile(np.abs(ws), w_clip_pct)) or 1.0
        wn = np.clip(ws / self.w_max, -1.0, 1.0).T  # (in, out): rows are word lines
        span = dev.g_max_s - dev.g_min_s
        gp = dev.g_min_s + span * np.clip(wn, 0, None)
        gn = dev.g_min_s + span * np.clip(-wn, 0, None)
        if dev.g_sigma_s is not None:
            rng = np.random.default_rng(seed)
            gp = np.clip(gp + rng.standard_normal(gp.shape) * dev.g_sigma_s(gp), 0.0, None)
            gn = np.clip(gn + rng.standard_normal(gn.shape) * dev.g_sigma_s(gn), 0.0, None)
        comp = 1.0 - float(dev.ir_drop_rel(0.5))
        for r0 in range(0, gp.shape[0], dev.tile_rows):  # per tile, per column load
            sl = slice(r0, r0 + dev.tile_rows)
            for g in (gp, gn):
                load = np.clip((g[sl].mean(axis=0) - dev.g_min_s) / span, 0.0, 1.0)
                g[sl] *= (1.0 - dev.ir_drop_rel(load)) / comp
        # y = I / (span · v_read) · w_max, with I = sum_i g_i · drive(x_i / x_max · v_read);
        # stored (out, in) like the weights, so the product runs as fast as FP32's
        self.w_eff = np.ascontiguousarray(((gp - gn) / span * self.w_max).T, dtype=np.float32)
        self.n_tiles = int(np.ceil(wn.shape[0] / dev.tile_rows))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        xa = x[..., ~self.digital]
        u = quantize_uniform(np.clip(xa / self.x_max, -1.0, 1.0), self.in_bits, -1.0, 1.0)
        v = u * self.dev.v_read_v
        drive = self.dev.v0_v * np.sinh(v / self.dev.v0_v)  # per-input read law
        y = (drive / self.dev.v_read_v).astype(np.float32) @ self.w_eff.T
        if self.w_digital.size:
            y = y + x[..., self.digital] @ self.w_digital
        return y


class RangeRecorder:
    """Wraps an ops object and records each operator's input and output ranges on a
    calibration batch, as an IMC compiler does to set DAC/ACAM ranges. Ranges are
    robust percentiles (``pct``) of |x|, so one outlier does not waste resolution."""

    def __init__(self, ops, pct: float = 99.9):
        self.ops, self.pct = ops, pct
        self.ranges: dict[str, dict[str, float]] = {}

    def _rec(self, name: str, key: str, x: np.ndarray) -> None:
        a = np.abs(np.asarray(x, dtype=np.float64))
        a = a[np.isfinite(a)]
        v = float(np.percentile(a, self.pct)) if a.size else 1.0
        r = self.ranges.setdefault(name, {})
        r[key] = max(r.get(key, 0.0), v, 1e-12)
        r[key + "_max"] = max(r.get(key + "_max", 0.0), float(a.max()) if a.size else 1.0)
        if key == "out":
            r["out_min"] = min(r.get("out_min", np.inf), float(np.min(x)))

    def linear(self, x, w, b, name):
        self._rec(name, "in", x)
        ch = np.abs(x).reshape(-1, x.shape[-1]).max(axis=0)
        r = self.ranges[name]
        r["in_ch"] = np.maximum(r.get("in_ch", 0.0), np.maximum(ch, 1e-9))
        y = self.ops.linear(x, w, None, name)
        self._rec(name, "out", y)
        self._rec_ch(name, y)
        return y if b is None else y + b

    def matmul(self, a, b, name):
        self._rec(name, "in", a)
        self._rec(name, "in2", b)
        y = self.ops.matmul(a, b, name)
        self._rec(name, "out", y)
        return y

    def softmax(self, x, name, axis=-1):
        z = x - x.max(axis=axis, keepdims=True)
        z = z[np.isfinite(z) & (z > -1e3)]  # masked positions carry -1e4: not a data range
        self._rec(name, "in", z)
        return self.ops.softmax(x, name, axis)

    def gelu(self, x, name):
        self._rec(name, "in", x)
        return self.ops.gelu(x, name)

    def layernorm(self, x, gamma, beta, eps, name):
        self._rec(name, "in", x)
        var = x.var(axis=-1)
        r = self.ranges.setdefault(name, {})
        r["var_min"] = min(r.get("var_min", np.inf), float(var.min()))
        r["var_max"] = max(r.get("var_max", 0.0), float(var.max()))
        y = self.ops.layernorm(x, gamma, beta, eps, name)
        self._rec(name, "out", y)
        self._rec_ch(name, y)
        return y

    def _rec_ch(self, name: str, y: np.ndarray) -> None:
        """Per-channel output maxima (each column's ACAM bank gets its own range)."""
        r = self.ranges[name]
        ch = np.abs(y).reshape(-1, y.shape[-1]).max(axis=0)
        r["out_ch"] = np.maximum(r.get("out_ch", 0.0), np.maximum(ch, 1e-9))
