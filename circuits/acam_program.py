"""Compute-ACAM programming (RACE-IT, ../shared/REFERENCE.md): a function quantized to
``bits`` output bits, Gray-coded, each output bit realised by ACAM rows whose match windows
cover the input intervals where that bit is 1; the window bounds come from a cell's
threshold-vs-conductance curves (:class:`WindowModel`), the conductances from inverting
them. Plus decoding of the rows' match pattern back to a code. Units as in
:mod:`imcspice.circuits.acam`: conductances in uS, voltages in V."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

def gelu(x):
    """GELU, tanh form (the transformer activation RACE-IT evaluates in ACAMs)."""
    x = np.asarray(x, dtype=float)
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


#: small target functions for Compute-ACAM demos: name -> (f, x_min, x_max)
FUNCTIONS: dict[str, tuple[Callable, float, float]] = {
    # softmax numerators after max-subtraction: exp on a non-positive range
    "exp": (np.exp, -3.0, 0.0),
    "gelu": (gelu, -3.0, 3.0),
}


def gray_encode(n):
    n = np.asarray(n, dtype=np.int64)
    return n ^ (n >> 1)


def gray_decode(g):
    g = np.asarray(g, dtype=np.int64)
    n = g.copy()
    shift = g >> 1
    while np.any(shift):
        n ^= shift
        shift = shift >> 1
    return n


def _quantizer(func: Callable, x_min: float, x_max: float, bits: int, n_ref: int = 4097):
    ref = np.asarray(func(np.linspace(x_min, x_max, n_ref)), dtype=float)
    fmin, fmax = float(np.min(ref)), float(np.max(ref))
    top = 2 ** int(bits) - 1

    def q(x):
        if fmax <= fmin:
            return np.zeros(np.shape(x), dtype=np.int64)
        y = (np.asarray(func(np.asarray(x, dtype=float)), dtype=float) - fmin) / (fmax - fmin)
        return np.clip(np.rint(y * top), 0, top).astype(np.int64)
    return q


def quantized_code(func: Callable, x, x_min: float, x_max: float, bits: int,
                   n_ref: int = 4097) -> np.ndarray:
    """Ideal output code of ``func`` at ``x``: ``func`` mapped linearly from its range over
    [x_min, x_max] (sampled at ``n_ref`` points) onto 0 .. 2**bits - 1 and rounded."""
    return _quantizer(func, x_min, x_max, bits, n_ref)(x)


@dataclass
class WindowModel:
    """Threshold curves of one cell: lower bound vs. g_low and upper bound vs. g_high.

    ``g_us`` (ascending, uS) with ``v_lo_v[i]`` = lower bound when g_low = g_us[i] and
    ``v_hi_v[i]`` = upper bound when g_high = g_us[i]. Both must rise with g (the 6T2M
    cell's physics; :func:`WindowModel.__post_init__` enforces monotonicity by a running
    maximum to absorb sweep noise). ``v_in_v``: the input (data-line) range that
    [x_min, x_max] maps onto; by default the voltages every bound can be programmed to,
    shrunk by ``margin_v`` on each side.
    """

    g_us: np.ndarray
    v_lo_v: np.ndarray
    v_hi_v: np.ndarray
    v_in_v: tuple[float, float] | None = None
    margin_v: float = 0.03

    def __post_init__(self):
        g = np.asarray(self.g_us, dtype=float)
        lo = np.asarray(self.v_lo_v, dtype=float)
        hi = np.asarray(self.v_hi_v, dtype=float)
        ok = np.isfinite(g) & np.isfinite(lo) & np.isfinite(hi) & (g > 0)
        if ok.sum() < 2:
            raise ValueError("a window model needs at least two finite (g, v_lo, v_hi) points")
        order = np.argsort(g[ok])
        self.g_us = g[ok][order]
        self.v_lo_v = np.maximum.accumulate(lo[ok][order])
        self.v_hi_v = np.maximum.accumulate(hi[ok][order])
        if self.v_in_v is None:
            a = max(self.v_lo_v[0], self.v_hi_v[0]) + self.margin_v
            b = min(self.v_lo_v[-1], self.v_hi_v[-1]) - self.margin_v
            if not b > a:
                raise ValueError("the lower- and upper-bound ranges do not overlap: no input "
                                 "range can be programmed")
            self.v_in_v = (float(a), float(b))

    @classmethod
    def from_callables(cls, v_lo: Callable, v_hi: Callable, g_min_us: float = 1.0,
                       g_max_us: float = 150.0, n: int = 64, **kw) -> "WindowModel":
        g = np.geomspace(g_min_us, g_max_us, n)
        return cls(g, np.asarray(v_lo(g), float), np.asarray(v_hi(g), float), **kw)

    @classmethod
    def reference(cls, **kw) -> "WindowModel":
        """The published functional-simulator curve for 6T2M (REFERENCE.md):
        V(G) = a*exp(-b*G) + c*G + d for both bounds (G in uS). For tests and offline
        use only: the SPICE-calibrated curves of our SKY130 cell differ."""
        def v(g):
            return -0.18858 * np.exp(-0.16351 * g) + 0.0051834 * g + 0.56901
        return cls.from_callables(v, v, **kw)

    @property
    def g_min_us(self) -> float:
        return float(self.g_us[0])

    @property
    def g_max_us(self) -> float:
        return float(self.g_us[-1])

    def _curve(self, which: str):
        # monotone cubic (PCHIP) in log(g): follows the convex threshold curves far
        # better than straight chords (which bias the inverse low by a few mV)
        from scipy.interpolate import PchipInterpolator
        cache = self.__dict__.setdefault("_pchip", {})
        if which not in cache:
            v = self.v_lo_v if which == "lo" else self.v_hi_v
            cache[which] = PchipInterpolator(np.log(self.g_us), v, extrapolate=False)
        return cache[which]

    def lo(self, g_us):
        """Lower bound (V) for g_low = ``g_us`` (clipped to the curve's range)."""
        lg = np.clip(np.log(g_us), np.log(self.g_min_us), np.log(self.g_max_us))
        return self._curve("lo")(lg)

    def hi(self, g_us):
        """Upper bound (V) for g_high = ``g_us`` (clipped to the curve's range)."""
        lg = np.clip(np.log(g_us), np.log(self.g_min_us), np.log(self.g_max_us))
        return self._curve("hi")(lg)

    def _inverse(self, which: str, target: float) -> float:
        """g (uS) whose bound is ``target``: bisection on the monotone curve, clipped to
        [g_min, g_max]."""
        f = self._curve(which)
        a, b = math.log(self.g_min_us), math.log(self.g_max_us)
        if not target > float(f(a)):
            return self.g_min_us
        if not target < float(f(b)):
            return self.g_max_us
        for _ in range(60):
            m = 0.5 * (a + b)
            if float(f(m)) < target:
                a = m
            else:
                b = m
        return float(math.exp(0.5 * (a + b)))

    def g_for_lo(self, v: float) -> float:
        """g_low (uS) whose lower bound is ``v``; -inf -> the lowest conductance (no lower
        bound in the input range), clipped to the curve's range."""
        if v == -math.inf:
            return self.g_min_us
        return self._inverse("lo", v)

    def g_for_hi(self, v: float) -> float:
        """g_high (uS) whose upper bound is ``v``; +inf -> the highest conductance."""
        if v == math.inf:
            return self.g_max_us
        return self._inverse("hi", v)

    def x_to_v(self, x, x_min: float, x_max: float):
        a, b = self.v_in_v
        return a + (np.asarray(x, dtype=float) - x_min) / (x_max - x_min) * (b - a)


def _code_boundaries(func, x_min, x_max, bits, n_grid=4097):
    """Intervals of constant ideal code: [(x_a, x_b, code)], boundaries refined by
    bisection on the quantized code."""
    x = np.linspace(x_min, x_max, n_grid)
    q = _quantizer(func, x_min, x_max, bits)
    c = q(x)

    def code_at(t):
        return int(q(np.array([t]))[0])

    cuts = []
    for i in np.flatnonzero(np.diff(c) != 0):
        a, b = x[i], x[i + 1]
        ca = c[i]
        for _ in range(50):
            m = 0.5 * (a + b)
            if code_at(m) == ca:
                a = m
            else:
                b = m
        cuts.append(0.5 * (a + b))
    edges = [x_min] + cuts + [x_max]
    codes = [int(c[0])] + [int(c[i + 1]) for i in np.flatnonzero(np.diff(c) != 0)]
    return [(edges[k], edges[k + 1], codes[k]) for k in range(len(codes))]


def compute_acam_program(func: Callable, x_min: float, x_max: float, bits: int,
                         window_model: WindowModel) -> list[list[tuple[float, float]]]:
    """The data-line ranges that produce each Gray-coded output bit of ``func``.

    ``func`` is quantized to ``bits`` output bits over [x_min, x_max]
    (:func:`quantized_code`), Gray-coded (one bit changes per code step, so a threshold
    error costs at most one LSB), and for every bit the input intervals where that bit
    is 1 are mapped to data-line voltages with ``window_model.x_to_v``. Result: one list
    per bit, LSB first, of ``(v_lo, v_hi)`` in volts; an interval open at the bottom
    (top) of the input range gets ``v_lo = -inf`` (``v_hi = +inf``): program it with the
    lowest (highest) conductance. Each range is one ACAM row (one cell on the input
    column); a bit is the OR of its rows' match lines.
    """
    bits = int(bits)
    if not 1 <= bits <= 8:
        raise ValueError("bits must be 1..8")
    if not x_max > x_min:
        raise ValueError("need x_max > x_min")
    segs = _code_boundaries(func, x_min, x_max, bits)
    out: list[list[tuple[float, float]]] = []
    for b in range(bits):
        ranges = []
        cur = None
        for xa, xb, code in segs:
            on = (int(gray_encode(code)) >> b) & 1
            if on and cur is None:
                cur = [xa, xb]
            elif on:
                cur[1] = xb
            elif cur is not None:
                ranges.append(tuple(cur))
                cur = None
        if cur is not None:
            ranges.append(tuple(cur))
        vr = []
        for xa, xb in ranges:
            va = -math.inf if xa <= x_min else float(window_model.x_to_v(xa, x_min, x_max))
            vb = math.inf if xb >= x_max else float(window_model.x_to_v(xb, x_min, x_max))
            vr.append((va, vb))
        out.append(vr)
    return out


def program_conductances(ranges: list[list[tuple[float, float]]],
                         window_model: WindowModel) -> list[list[tuple[float, float]]]:
    """(g_low_us, g_high_us) for every range of :func:`compute_acam_program`, through the
    inverse threshold curves of ``window_model``."""
    return [[(window_model.g_for_lo(a), window_model.g_for_hi(b)) for a, b in bit]
            for bit in ranges]


def decode_matches(match: np.ndarray, rows_per_bit: Sequence[int]) -> np.ndarray:
    """Output codes from row match flags. ``match``: bool array (..., n_rows), rows in
    :func:`compute_acam_program` order (bit 0's rows first). Each bit is the OR of its
    rows; the Gray code is converted to binary."""
    match = np.asarray(match, dtype=bool)
    gray = np.zeros(match.shape[:-1], dtype=np.int64)
    r = 0
    for b, k in enumerate(rows_per_bit):
        if k:
            bit = np.any(match[..., r:r + k], axis=-1)
            gray |= bit.astype(np.int64) << b
        r += k
    return gray_decode(gray)
