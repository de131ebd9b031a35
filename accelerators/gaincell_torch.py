"""Gain-cell attention as a differentiable torch module, in the published form
(Leroux et al., Nat. Comput. Sci. 2025; REFERENCE.md "published pipeline").

Per layer and head, for queries i and keys j (causal, sliding window of ``window``)::

    q' = Q4( clamp(aq·q + bq, 0, 1) )             query pulse width / t_pulse_max (4 bit)
    k' = Q3( clamp(ak·k + bk, 0, 0.9 V) )         K written as a capacitor voltage (3 bit)
    v' = Q3( clamp(av·v + bv, 0, 0.9 V) )         V likewise
    V_s(age, k') = v_sn(v0 = k', t = (i - j)·t_token_s)      characterized retention
    S[i, j] = Σ_d q'[i, d]·I(V_s(age, k'_d)) / i_unit        column charge / q_sat
    A = Q5( r(S) )                 charge-to-pulse readout r (clipped linear): no softmax
    per 64-key tile m:  O_m = Σ_{j in m} A[i, j]·I(V_s(age, v'_j)) / i_unit
    out = ao · Σ_m Q5( clamp(O_m, -1, 1) ) + bo             per-tile readout, digital sum

``v_sn`` (the write device's stored-voltage surface), ``I`` (the cell current),
``r`` (the readout transfer), ``q_sat`` and ``i_unit`` are the tables of
:class:`.gaincell_physics.GainCellPhysics`; bits, tile, window and token period come
from ``data/arch/gaincell.toml``, so accuracy and cost describe one machine. The
*linear* hardware model (stage 1 of the published pipeline) is the same module with
``I`` replaced by its straight line (:meth:`.gaincell_physics.GainCellPhysics.as_linear`).

The forward runs in blocks of ``QUERY_BLOCK`` queries, each reading only the key tiles
up to its last query (later tiles hold no pulse and read out exactly 0). Leakage at the
cost of a few matrix products: K and V hold one of 2^kv_bits levels, so
the read current is a table over (age, level); it is split as
``I(0, level) + Σ_r f_r(age)·g_r(level)`` (SVD, smallest rank within ``RANK_TOL`` of
full scale, exact at full rank), and each term is one masked product.

Quantizers are straight-through (identity gradient inside the clamp); the clamp,
the readout and the cell current carry their own piecewise-linear derivatives. Masked
pairs (future keys, keys outside the window) contribute nothing: their rows are not
driven. The straight-through rounding is :func:`.torch_quant.ste_round`, the one the
crossbar and ACAM operators use.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .gaincell_physics import V_MAX_V, V_MID_V, GainCellPhysics
from .torch_quant import ste_round

RANK_TOL = 1e-3       # largest error of the age x level split, fraction of full scale
QUERY_BLOCK = 128     # query rows per block of the forward pass: any size gives the same
                      # values; keys after a block are skipped (causal: ~44 % of the pairs
                      # at 1024 tokens) and a block's score matrix stays cache-sized


# ----------------------------------------------------------------- differentiable pieces
def quantize(x: torch.Tensor, lo: float, hi: float, bits: int) -> torch.Tensor:
    """Clamp to [lo, hi] and round to the zero-anchored grid k·step, step = (hi - lo) /
    (2^bits - 1) (the published quantizer: 0 is a level, so undriven rows add nothing),
    keeping k inside the range; straight-through inside it."""
    if torch.is_grad_enabled() and x.requires_grad:
        return _Quantize.apply(x, lo, hi, bits)
    step = (hi - lo) / (2 ** bits - 1)
    k = ste_round(x.clamp(lo, hi) / step)
    return k.clamp(math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)) * step


class _Quantize(torch.autograd.Function):
    """:func:`quantize` where gradients are recorded: the same operations, values and
    gradient (clamp masks, x·step/step), but one saved bool mask instead of the graph of
    five operations (the training step spends most of its time on such elementwise
    passes over the score and tile-output blocks)."""

    @staticmethod
    def forward(ctx, x, lo, hi, bits):
        step = (hi - lo) / (2 ** bits - 1)
        u = x.clamp(lo, hi) / step
        k = u + (torch.round(u) - u)      # ste_round's value when it records a gradient
        k_lo, k_hi = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
        ctx.save_for_backward((x >= lo) & (x <= hi) & (k >= k_lo) & (k <= k_hi))
        ctx.step = step
        return k.clamp(k_lo, k_hi) * step

    @staticmethod
    def backward(ctx, g):
        (inside,) = ctx.saved_tensors
        return g * ctx.step / ctx.step * inside, None, None, None


class _Readout(torch.autograd.Function):
    """Tabulated readout ``where(s <= x0, 0, clamp(interp(s), 0, 1))`` with its
    autograd gradient (the table's slope where the clamp passes and s > x0), saving
    that one tensor instead of the graph."""

    @staticmethod
    def forward(ctx, s, x0, dx, y):
        val, sk = interp(s, x0, dx, y, slope_out=True)
        a = val.clamp(0.0, 1.0)
        ctx.save_for_backward(sk * ((s > x0) & (val >= 0.0) & (val <= 1.0)))
        return torch.where(s <= x0, torch.zeros_like(a), a)

    @staticmethod
    def backward(ctx, g):
        (slope,) = ctx.saved_tensors
        return g * slope, None, None, None


def interp(x: torch.Tensor, x0: float, dx: float, y: torch.Tensor,
           slope_out: bool = False):
    """Piecewise-linear y(x) on the uniform grid x0 + k·dx, linear extrapolation at the
    ends; with ``slope_out`` also the local slope dy/dx."""
    n = y.shape[0]
    k = ((x - x0) / dx).detach().floor().clamp(0, n - 2).long()
    s = (y[1:] - y[:-1]) / dx
    flat = k.reshape(-1)   # index_select: the same gather as s[k], ~10x faster on CPU
    sk = s.index_select(0, flat).view(k.shape)
    val = y.index_select(0, flat).view(k.shape) + (x - (x0 + k * dx)) * sk
    return (val, sk) if slope_out else val


def readout_gain(phys: GainCellPhysics, tol: float = 1e-3) -> float | None:
    """g when the characterized readout transfer equals clip(g·x, 0, 1) on its grid
    within ``tol`` of full scale (default 1e-3, 1/30 of a 5-bit step), else None (the
    table is then interpolated). g: least squares over the unsaturated points."""
    x, y = np.asarray(phys.act_x), np.asarray(phys.act_y)
    lin = (y < 1.0 - tol) & (x > 0)
    if x[0] != 0.0 or lin.sum() < 2:
        return None
    g = float(np.sum(x[lin] * y[lin]) / np.sum(x[lin] ** 2))
    return g if np.max(np.abs(np.clip(g * x, 0.0, 1.0) - y)) <= tol else None


def window_mask(t: int, window: int, device=None) -> torch.Tensor:
    """(t, t) bool, True where query i may read key j: ``i - window < j <= i``."""
    i = torch.arange(t, device=device)[:, None]
    j = torch.arange(t, device=device)[None, :]
    return (j <= i) & (j > i - window)


class GainCellAttention(nn.Module):
    """One layer's gain-cell attention with per-head scale/offset pairs (the published
    calibration parameters): ``aq, bq, ak, bk, av, bv, ao, bo`` of shape (heads,)."""

    def __init__(self, phys: GainCellPhysics, heads: int):
        super().__init__()
        self.phys = phys
        self.heads = heads
        for n, init in (("aq", 1.0), ("bq", 0.0), ("ak", 1.0), ("bk", V_MID_V),
                        ("av", 1.0), ("bv", V_MID_V), ("ao", 1.0), ("bo", 0.0)):
            self.register_parameter(n, nn.Parameter(torch.full((heads,), init)))
        self.set_physics(phys)
        self.record: dict | None = None   # when a dict: per-head statistics of the probes
        self.reference = False            # True: exact FP32 softmax attention (statistics)

    def set_physics(self, phys: GainCellPhysics) -> None:
        """Tabulate the machine: the read current of each level at each age, split as
        I(age, level) = I(0, level) + Σ_r f_r(age)·g_r(level) with the smallest rank r
        whose largest error is ≤ RANK_TOL of full scale (at most the number of levels,
        where it is exact), so a leaky product costs 1 + r matrix products."""
        self.phys = phys
        tab = phys.read_table()                                   # (window, levels)
        i0, d = tab[0], tab - tab[:1]
        u, sv, vt = np.linalg.svd(d, full_matrices=False)
        full = max(float(np.abs(tab).max()), 1e-30)
        rank = len(sv)
        for r in range(len(sv) + 1):
            if np.abs(d - (u[:, :r] * sv[:r]) @ vt[:r]).max() <= RANK_TOL * full:
                rank = r
                break
        self.rank = rank
        self.rank_error = float(np.abs(d - (u[:, :rank] * sv[:rank]) @ vt[:rank]).max() / full)
        f32 = dict(dtype=torch.float32, device=self.aq.device)   # the module's device
        self.register_buffer("i0_lv", torch.tensor(i0, **f32), persistent=False)
        self.register_buffer("g_lv", torch.tensor(vt[:rank], **f32), persistent=False)
        self.register_buffer("f_age", torch.tensor((u[:, :rank] * sv[:rank]).T, **f32),
                             persistent=False)
        self._step = V_MAX_V / (2 ** phys.kv_bits - 1)
        self._gain = readout_gain(phys)
        self.register_buffer("act_y", torch.tensor(phys.act_y, **f32), persistent=False)
        ax = np.asarray(phys.act_x)
        self._a0, self._da = float(ax[0]), float((ax[-1] - ax[0]) / (len(ax) - 1))
        gv = np.asarray(phys.vs_grid_v)
        if np.ptp(np.diff(ax)) > 1e-9 * self._da or np.ptp(np.diff(gv)) > 1e-9 * np.ptp(gv):
            raise ValueError("the readout and cell-current grids must be uniform")
        self._f_cache: dict = {}
        self._mask_cache: dict = {}

    # --- parts -------------------------------------------------------------------------
    @staticmethod
    def _h(p: torch.Tensor) -> torch.Tensor:
        return p[None, :, None, None]

    def _level_fn(self, w: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        """A per-level quantity at written voltages ``w`` (on the level grid; the
        gradient is the slope between neighbouring levels)."""
        return interp(w, 0.0, self._step, table)

    def read_current(self, w: torch.Tensor, age: int = 0) -> torch.Tensor:
        """I/i_unit of cells written at ``w`` and read ``age`` tokens later."""
        out = self._level_fn(w, self.i0_lv)
        for r in range(self.rank):
            out = out + self.f_age[r, age] * self._level_fn(w, self.g_lv[r])
        return out

    def readout(self, s: torch.Tensor) -> torch.Tensor:
        """Characterized charge-to-pulse transfer; negative charge gives no pulse. A
        transfer that is clip(g·x, 0, 1) (checked by :func:`readout_gain`) is
        evaluated in that form (2 operations on the score matrix instead of ~10)."""
        if self._gain is not None:
            return (s * self._gain).clamp(0.0, 1.0)
        if torch.is_grad_enabled() and s.requires_grad:
            return _Readout.apply(s, self._a0, self._da, self.act_y)
        a = interp(s, self._a0, self._da, self.act_y).clamp(0.0, 1.0)
        return torch.where(s <= self._a0, torch.zeros_like(a), a)

    def _f(self, t_q: int, t_k: int, device) -> torch.Tensor:
        """(rank, t_q, t_k): f_r(age) of every (query, key) pair (cached per shape)."""
        key = (t_q, t_k, str(device))
        if key not in self._f_cache:
            age = (torch.arange(t_q, device=device)[:, None] + (t_k - t_q)
                   - torch.arange(t_k, device=device)[None, :])
            age = age.clamp(0, self.f_age.shape[1] - 1)          # masked pairs anyway
            self._f_cache = {key: self.f_age.to(device)[:, age]}
        return self._f_cache[key]

    def _mask(self, t_q: int, t_k: int, device) -> torch.Tensor:
        """(t_q, t_k) bool: which keys each query reads (cached per shape)."""
        key = (t_q, t_k, str(device))
        if key not in self._mask_cache:
            self._mask_cache = {key: window_mask(t_k, self.phys.window, device)[t_k - t_q:]}
        return self._mask_cache[key]

    # --- forward -----------------------------------------------------------------------
    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """q, k, v: (B, H, T, D) projections -> (B, H, T, D) attention output."""
        p, h = self.phys, self._h
        B, H, T, D = q.shape
        Tk = k.shape[-2]
        if self.record is not None:
            for name, x in (("q_in", q), ("k_in", k), ("v_in", v)):
                self.record[name] = (x.detach().mean((0, 2, 3)), x.detach().std((0, 2, 3)))
        if self.reference:
            m = window_mask(Tk, p.window, q.device)[Tk - T:]
            out = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m)
            if self.record is not None:
                self.record["ref_out"] = (out.detach().mean((0, 2, 3)),
                                          out.detach().std((0, 2, 3)))
            return out
        if D > p.tile:
            raise ValueError(f"head dimension {D} > tile rows {p.tile}: a score would span "
                             "two tiles (not modelled)")
        qz = quantize if p.quantizers else (lambda x, lo, hi, _bits: x.clamp(lo, hi))
        qp = qz(h(self.aq) * q + h(self.bq), 0.0, 1.0, p.q_bits)
        kw = qz(h(self.ak) * k + h(self.bk), 0.0, V_MAX_V, p.kv_bits)
        vw = qz(h(self.av) * v + h(self.bv), 0.0, V_MAX_V, p.kv_bits)
        allowed = self._mask(T, Tk, q.device)
        f = self._f(T, Tk, q.device)
        nt = -(-Tk // p.tile)
        pad = nt * p.tile - Tk
        if pad:
            vw = nn.functional.pad(vw, (0, 0, 0, pad), value=V_MID_V)
        # per-level cell currents of the stored K and V, once for every query block
        ik = [self._level_fn(kw, t) for t in (self.i0_lv, *self.g_lv)]
        v_t = vw.view(B, H, nt, p.tile, D)
        iv = [self._level_fn(v_t, t) for t in (self.i0_lv, *self.g_lv)]
        blocks = []
        for r0 in range(0, T, QUERY_BLOCK):
            r1 = min(T, r0 + QUERY_BLOCK)
            # keys after the block's last query are never read (causal): their tiles
            # hold no pulse, each reads out exactly 0 and adds nothing to the sum
            hi = min(Tk, r1 + Tk - T)
            ntb = -(-hi // p.tile)
            qb, fb = qp[:, :, r0:r1], f[:, r0:r1, :hi]
            s = qb @ ik[0][:, :, :hi].transpose(-1, -2)
            for r in range(self.rank):
                s = s + (qb @ ik[r + 1][:, :, :hi].transpose(-1, -2)) * fb[r]
            a = qz(self.readout(s), 0.0, 1.0, p.out_bits) * allowed[r0:r1, :hi]
            if ntb * p.tile > hi:
                a = nn.functional.pad(a, (0, ntb * p.tile - hi))
                fb = nn.functional.pad(fb, (0, ntb * p.tile - hi))
            a_t = a.view(B, H, r1 - r0, ntb, p.tile).transpose(2, 3)   # (B, H, ntb, rows, tile)
            f_t = fb.view(-1, r1 - r0, ntb, p.tile).transpose(1, 2)     # (rank, ntb, rows, tile)
            o = a_t @ iv[0][:, :, :ntb]
            for r in range(self.rank):
                o = o + (a_t * f_t[r]) @ iv[r + 1][:, :, :ntb]
            o = qz(o, -1.0, 1.0, p.out_bits) if p.tile_clip else o
            blocks.append(o.sum(2))                             # per-tile readout, sum
        o = torch.cat(blocks, 2) if len(blocks) > 1 else blocks[0]
        out = h(self.ao) * o + h(self.bo)
        if self.record is not None and "regress" in self.record:
            # per head: moments of the raw output o and of the FP32 softmax attention
            # on the same q, k, v, for a least-squares fit of (ao, bo) (finetune.py)
            ref = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
            od, rd = o.detach(), ref.detach()
            mo, mr = od.mean((0, 2, 3)), rd.mean((0, 2, 3))
            self.record["regress"] = (mo, mr, ((od - h(mo)) * (rd - h(mr))).mean((0, 2, 3)),
                                      ((od - h(mo)) ** 2).mean((0, 2, 3)))
        if self.record is not None:
            for name, x in (("q", qp), ("k", self.read_current(kw)),
                            ("v", self.read_current(vw)), ("out", out)):
                self.record[name] = (x.detach().mean((0, 2, 3)), x.detach().std((0, 2, 3)))
        return out


# ------------------------------------------------------------ transformers integration
ATTN_NAME = "imcspice_gaincell"


def _attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0,
               **kwargs):
    """``transformers`` attention interface: the module's gain-cell attention instead of
    softmax(QKᵀ)V. Causal + window masking is the hardware's own (``attention_mask``,
    i.e. padding, is not supported: score unpadded text)."""
    gc = module.gaincell
    if key.shape[1] != query.shape[1]:   # grouped-query attention: heads share K/V
        rep = query.shape[1] // key.shape[1]
        key, value = key.repeat_interleave(rep, 1), value.repeat_interleave(rep, 1)
    out = gc(query, key, value)
    return out.transpose(1, 2).contiguous(), None


def _register() -> None:
    from transformers import AttentionInterface
    AttentionInterface.register(ATTN_NAME, _attention)


def attention_modules(model) -> list:
    """The self-attention modules of a GPT-2 or LLaMA-family ``transformers`` model."""
    base = getattr(model, "transformer", None) or getattr(model, "model", None)
    layers = getattr(base, "h", None) or getattr(base, "layers", None)
    if layers is None:
        raise ValueError("not a GPT-2 or LLaMA-family causal LM")
    return [getattr(b, "attn", None) or b.self_attn for b in layers]


def convert(model, phys: GainCellPhysics):
    """Put gain-cell attention (identity calibration) into every layer of ``model``, in
    place; returns the model. :func:`set_physics` switches linear/characterized cells."""
    _register()
    heads = model.config.num_attention_heads
    for m in attention_modules(model):
        if not hasattr(m, "gaincell"):
            device = next(m.parameters()).device   # on the model's device (cpu, cuda)
            m.gaincell = GainCellAttention(phys, heads).to(device)
        else:
            m.gaincell.set_physics(phys)
    model.config._attn_implementation = ATTN_NAME
    for mod in model.modules():   # some models cache the implementation name
        if hasattr(mod, "_attn_implementation") and mod is not model.config:
            try:
                mod._attn_implementation = ATTN_NAME
            except AttributeError:
                pass
    return model


def set_physics(model, phys: GainCellPhysics) -> None:
    for m in attention_modules(model):
        m.gaincell.set_physics(phys)


def gaincell_layers(model) -> list[GainCellAttention]:
    return [m.gaincell for m in attention_modules(model)]
