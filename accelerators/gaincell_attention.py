"""Gain-cell attention (Leroux et al.; ../shared/seeds/002_*.md, REFERENCE.md).

Per generated token, K and V rows are written as capacitor voltages into gain-cell
arrays (64x64 tiles, sliding window); the query is applied as pulse widths on the
read word lines; each column integrates the cells' signed currents; a
charge-to-pulse stage acts as a clipped-linear activation in place of softmax; a
second array multiplies the activations (as pulse widths) with V. Stored voltages
relax (leak) over the token timeline.

:class:`GainCellOps` computes attention this way for a real pretrained causal LM
(the rest of the model stays digital FP32, as in the paper); :func:`adapt`
calibrates per-layer, per-head scale/offset pairs by statistics matching so the
pretrained model tolerates the hardware. Its cost is priced from the architecture
description (data/arch/gaincell.toml) by :mod:`.mapping` and :mod:`.cost`.

Leakage: a stored voltage relaxes toward the characterized level ``v_inf`` (for
the Si cell on SKY130 that is near 0 V, not mid-supply: junction leakage wins),
v(age) = v_inf + (v0 - v_inf)·exp(-age/tau), inside the non-linear cell current.
Because K and V are stored with 3 bits, a cell holds one of 8 levels, so the cell
current is a table I[age, level]; a product over the cache is then an exact sum of
8 matrix products (one per level) weighted by that table, O(8·T²·d) instead of the
O(T²·d) per-triple evaluation.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .analog import quantize_pulse, quantize_symmetric, quantize_uniform
from .ops import FP32Ops

V_MID_V = 0.45       # storage range centre (REFERENCE.md: 0-0.9 V centred at 0.45 V)
V_SPAN_V = 0.45      # half range
PULSE_MAX_S = 15e-9  # REFERENCE.md: query pulse amplitude 0.9 V, max 15 ns


@dataclass(frozen=True)
class GainCellConfig:
    """The accuracy model's view of the description's ``gaincell`` and ``readout``
    components (:meth:`from_arch`); defaults are REFERENCE.md's published figures."""

    q_bits: int = 4               # REFERENCE.md: Q 4-bit (pulse width)
    kv_bits: int = 3              # K/V 3-bit
    out_bits: int = 5             # outputs 5-bit
    tile: int = 64                # 64x64 arrays
    window: int = 1024            # sliding window (tokens); capped by the model context
    t_token_s: float = 10e-6      # time between generated tokens (assumption)
    write_device: str = "si"      # "si" or "osfet"
    normalize: bool = True        # row-sum column + divider (not in the published design)
    nonideality_scale: float = 1.0
    ideal_cells: bool = False     # linear cells, no leakage: the "linear hardware model"

    @classmethod
    def from_arch(cls, arch, **kw) -> "GainCellConfig":
        gc, ro = arch.component("gaincell"), arch.component("readout")
        return cls(q_bits=int(gc["q_bits"]), kv_bits=int(gc["kv_bits"]),
                   out_bits=int(ro["out_bits"]), tile=int(gc["tile"]),
                   window=int(gc["window"]), t_token_s=float(gc["t_token_s"]),
                   write_device=str(gc["write_device"]),
                   normalize=gc.get("normalize", "none") != "none", **kw)


@dataclass
class GainCellParts:
    """Characterized gain-cell figures (SI units)."""

    vs_table_v: np.ndarray        # stored voltage grid
    i_table_a: np.ndarray         # cell read current at the read word-line amplitude
    tau_s: float                  # retention time constant toward V_MID
    v_inf_v: float = V_MID_V      # level a stored voltage relaxes toward
    act_x: np.ndarray = field(default_factory=lambda: np.linspace(0, 1.5, 16))
    act_y: np.ndarray = field(default_factory=lambda: np.clip(np.linspace(0, 1.5, 16), 0, 1))

    def cell_current(self, vs: np.ndarray) -> np.ndarray:
        return np.interp(vs, self.vs_table_v, self.i_table_a)

    @property
    def i_full_a(self) -> float:
        """Current magnitude at the storage range edges (normalizes charge to values)."""
        return 0.5 * (abs(self.cell_current(V_MID_V + V_SPAN_V) - self.cell_current(V_MID_V))
                      + abs(self.cell_current(V_MID_V) - self.cell_current(V_MID_V - V_SPAN_V)))


@dataclass
class HeadCalibration:
    """Per layer: arrays over heads. Applied as x' = gain·x (+ bias where given)."""

    q_gain: np.ndarray
    k_gain: np.ndarray
    v_gain: np.ndarray
    act_scale: np.ndarray      # clipped-linear activation input scale
    act_offset: np.ndarray
    out_gain: np.ndarray
    out_bias: np.ndarray

    @classmethod
    def identity(cls, heads: int) -> "HeadCalibration":
        one, zero = np.ones(heads), np.zeros(heads)
        return cls(one.copy(), one.copy(), one.copy(), one.copy(), zero.copy(), one.copy(),
                   zero.copy())


def _h(x: np.ndarray) -> np.ndarray:
    return x[None, :, None, None]


class GainCellOps(FP32Ops):
    """Attention on gain cells; everything else exact FP32.

    ``ranges[name]`` holds the calibration maxima of Q, K, V per layer (from a FP32
    pass); ``calib[layer]`` the per-head scale/offset pairs (identity: no adaptation).
    """

    def __init__(self, parts: GainCellParts, ranges: dict, calib: dict[int, HeadCalibration],
                 cfg: GainCellConfig = GainCellConfig()):
        self.p, self.r, self.calib, self.cfg = parts, ranges, calib, cfg
        self.stats: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.record = False

    @staticmethod
    def _layer(name: str) -> int:
        return int(name.split(".")[0][5:])

    def _codes(self, x: np.ndarray, xmax: float) -> np.ndarray:
        """Stored level (0 .. 2^kv_bits - 1) of each value: a uniform mid-rise grid."""
        n = 2 ** self.cfg.kv_bits
        return np.clip(np.floor((x / xmax + 1.0) * n / 2), 0, n - 1).astype(np.int8)

    def _table(self, t: int, xmax: float) -> np.ndarray:
        """I[age, level] in value units (range ``xmax``) for ages 0 .. t-1 tokens."""
        n = 2 ** self.cfg.kv_bits
        lv = (np.arange(n) + 0.5) / n * 2 - 1                 # ideal value / xmax
        ideal = np.broadcast_to(lv * xmax, (t, n))
        if self.cfg.ideal_cells:
            return ideal
        k = self.cfg.nonideality_scale
        f = np.exp(-np.arange(t) * self.cfg.t_token_s * k / self.p.tau_s)
        v0 = V_MID_V + V_SPAN_V * lv
        v = self.p.v_inf_v + np.multiply.outer(f, v0 - self.p.v_inf_v)
        real = (self.p.cell_current(v) - self.p.cell_current(V_MID_V)) / self.p.i_full_a * xmax
        return (1 - k) * ideal + k * real

    @staticmethod
    def _by_age(table: np.ndarray, level: int, t_q: int, t_k: int) -> np.ndarray:
        """(t_q, t_k) matrix of I[age = i - j, level]; zero where j > i (not yet written)."""
        age = np.subtract.outer(np.arange(t_q) + (t_k - t_q), np.arange(t_k))
        return np.where(age >= 0, table[np.clip(age, 0, None), level], 0.0)

    def matmul(self, a, b, name):
        L = self._layer(name)
        c = self.calib[L]
        r = self.r[f"layer{L}"]
        n = 2 ** self.cfg.kv_bits
        if name.endswith("attn.scores"):
            # a: Q (B,H,T,dh) as signed pulse widths; b: Kᵀ (B,H,dh,T) held in the cells
            qmax, kmax = r["q"], r["k"]
            q = quantize_symmetric(a * _h(c.q_gain), self.cfg.q_bits, qmax)
            codes = self._codes(b * _h(c.k_gain), kmax)
            tab = self._table(b.shape[-1], kmax)
            s = np.zeros(q.shape[:-1] + (b.shape[-1],), np.float32)
            for lvl in range(n):
                m = q @ (codes == lvl).astype(np.float32)
                s += m * self._by_age(tab, lvl, q.shape[-2], b.shape[-1]).astype(np.float32)
            return (s / (_h(c.q_gain) * _h(c.k_gain))).astype(np.float32)
        # context: a = activations (B,H,T,T) as pulse widths, b = V (B,H,T,dh) in cells
        vmax = r["v"]
        codes = self._codes(b * _h(c.v_gain), vmax)
        tab = self._table(b.shape[-2], vmax)
        ctx = np.zeros(a.shape[:-1] + (b.shape[-1],), np.float32)
        for lvl in range(n):
            w = a * self._by_age(tab, lvl, a.shape[-2], a.shape[-1]).astype(np.float32)
            ctx += w @ (codes == lvl).astype(np.float32)
        # One extra column per head stores the top level in every row: its charge is the
        # (leaky) row sum of the activations, and the output is divided by it, which
        # restores softmax's per-query normalization (1 column of 1 + d_head).
        if self.cfg.normalize:
            top = self._by_age(tab, n - 1, a.shape[-2], a.shape[-1]) / tab[0, n - 1]
            den = np.maximum((a * top.astype(np.float32)).sum(-1, keepdims=True), 1.0 / 2 ** 5)
            ctx = ctx / den
        ctx = ctx / _h(c.v_gain) * _h(c.out_gain) + _h(c.out_bias)
        m = r["ctx"]
        out = quantize_uniform(np.clip(ctx, -m, m), self.cfg.out_bits, -m, m)
        if self.record:
            self.stats[name] = (ctx.mean(axis=(0, 2, 3)), ctx.std(axis=(0, 2, 3)))
        return out.astype(np.float32)

    def softmax(self, x, name, axis=-1):
        """Charge-to-pulse stage: clipped-linear activation of the scores (5-bit pulse
        widths). Normalization happens in the second array (see :meth:`matmul`)."""
        c = self.calib[self._layer(name)]
        a = activation(x, c.act_scale, c.act_offset, self.p)
        return quantize_pulse(a, self.cfg.out_bits).astype(np.float32)


def activation(s: np.ndarray, scale: np.ndarray, offset: np.ndarray,
               parts: GainCellParts) -> np.ndarray:
    """Clipped-linear activation with the characterized readout's transfer (saturation),
    per head: phi(scale·s + offset); masked scores (-1e9) give 0."""
    z = s * _h(scale) + _h(offset)
    return np.interp(z, parts.act_x, parts.act_y, left=0.0)


class _Stats(FP32Ops):
    """FP32 reference pass recording per-head Q/K/V ranges and context statistics."""

    def __init__(self):
        self.ranges: dict[str, dict[str, float]] = {}
        self.stats: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.score_std: dict[int, np.ndarray] = {}
        self.tensors: dict[int, dict[str, np.ndarray]] = {}  # per layer: s, v, ctx

    def matmul(self, a, b, name):
        L = name.split(".")[0]
        r = self.ranges.setdefault(L, {})
        y = a @ b
        if name.endswith("attn.context"):
            self.tensors.setdefault(int(L[5:]), {}).update(v=b, ctx=y)
        if name.endswith("attn.scores"):
            r["q"] = max(r.get("q", 0), float(np.percentile(np.abs(a), 99.9)))
            r["k"] = max(r.get("k", 0), float(np.percentile(np.abs(b), 99.9)))
        else:
            r["v"] = max(r.get("v", 0), float(np.percentile(np.abs(b), 99.9)))
            r["ctx"] = max(r.get("ctx", 0), float(np.percentile(np.abs(y), 99.9)))
            self.stats[name] = (y.mean(axis=(0, 2, 3)), y.std(axis=(0, 2, 3)))
        return y

    def softmax(self, x, name, axis=-1):
        valid = x > -1e8
        L = int(name.split(".")[0][5:])
        xs = np.where(valid, x, np.nan)
        self.score_std[L] = np.nanstd(xs, axis=(0, 2, 3))
        self.tensors.setdefault(L, {})["s"] = x
        return super().softmax(x, name, axis)


def reference_statistics(model, tokens: np.ndarray, window: int | None):
    st = _Stats()
    model.forward(tokens, ops=st, window=window)
    return st


def initial_calibration(model, ref: _Stats) -> dict[int, HeadCalibration]:
    """The linear hardware mapping without adaptation: unit gains, activation
    clip(s, 0, 1) of the raw scores."""
    H = model.cfg.n_heads
    return {L: HeadCalibration.identity(H) for L in range(model.cfg.n_layers)}


def adapt(model, parts: GainCellParts, tokens: np.ndarray, cfg: GainCellConfig,
          window: int | None, iterations: int = 8, damping: float = 0.5):
    """Adaptation without training (REFERENCE.md, after Leroux et al.), on a calibration
    batch: (1) per layer and head, the activation's scale and offset are chosen on a grid
    to best reproduce the FP32 attention output from the FP32 scores and values (the
    clipped-linear stage then approximates softmax where it matters); (2) a damped
    fixed-point iteration on per-head output scale/offset pairs makes each head's
    attention-output mean/std on the hardware match the FP32 model's.
    Returns (ops, calib, history of the worst relative std mismatch)."""
    ref = reference_statistics(model, tokens, window)
    H = model.cfg.n_heads
    calib = {}
    for L in range(model.cfg.n_layers):
        c = HeadCalibration.identity(H)
        c.act_scale, c.act_offset = _fit_activation(ref.tensors[L], ref.score_std[L], parts,
                                                     cfg.normalize)
        calib[L] = c
    ops = GainCellOps(parts, ref.ranges, calib, cfg)
    history = []
    for _ in range(iterations):
        ops.record = True
        model.forward(tokens, ops=ops, window=window)
        ops.record = False
        err = 0.0
        for name, (mu_r, sd_r) in ref.stats.items():
            L = int(name.split(".")[0][5:])
            c = calib[L]
            mu_h, sd_h = ops.stats[name]
            # undo the current output affine to get the raw hardware statistics
            raw_sd = sd_h / np.maximum(np.abs(c.out_gain), 1e-9)
            raw_mu = (mu_h - c.out_bias) / np.where(np.abs(c.out_gain) > 1e-9, c.out_gain, 1.0)
            g_new = sd_r / np.maximum(raw_sd, 1e-9)
            b_new = mu_r - g_new * raw_mu
            c.out_gain = (1 - damping) * c.out_gain + damping * g_new
            c.out_bias = (1 - damping) * c.out_bias + damping * b_new
            err = max(err, float(np.max(np.abs(sd_h - sd_r) / np.maximum(sd_r, 1e-9))))
        history.append(err)
    return ops, calib, history


def _fit_activation(t: dict, score_std: np.ndarray, parts: GainCellParts,
                    normalize: bool = True, n_grid: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """Per head (scale, offset) minimizing |(a / sum(a)) @ v - ctx_ref|², a =
    phi(scale·s + offset), over a grid: scale = k/std(s), k in 0.25..8 (log), offset
    in -2..1."""
    s, v, ref = t["s"], t["v"], t["ctx"]
    best = np.full(s.shape[1], np.inf)
    out_s = 1.0 / np.maximum(score_std, 1e-6)
    out_o = np.zeros(s.shape[1])
    for k in np.geomspace(0.25, 8.0, n_grid):
        for off in np.linspace(-2.0, 1.0, n_grid):
            sc = k / np.maximum(score_std, 1e-6)
            a = activation(s, sc, np.full_like(sc, off), parts)
            den = np.maximum(a.sum(-1, keepdims=True), 1.0 / 2 ** 5) if normalize else 1.0
            ctx = (a / den) @ v
            err = ((ctx - ref) ** 2).mean(axis=(0, 2, 3))
            better = err < best
            best = np.where(better, err, best)
            out_s = np.where(better, sc, out_s)
            out_o = np.where(better, off, out_o)
    return out_s, out_o


def unadapted_ops(model, parts: GainCellParts, tokens: np.ndarray, cfg: GainCellConfig,
                  window: int | None) -> GainCellOps:
    ref = reference_statistics(model, tokens, window)
    return GainCellOps(parts, ref.ranges, initial_calibration(model, ref), cfg)
