"""The query-blocked gain-cell forward (accelerators/gaincell_torch.py) against the
dense form it replaced (kept here verbatim as the reference): the same values and
gradients up to float32 rounding of sums taken in another order."""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn

from imcspice.accelerators import gaincell_torch as gt
from imcspice.accelerators.gaincell_physics import V_MAX_V, V_MID_V, GainCellPhysics
from imcspice.accelerators.gaincell_torch import GainCellAttention, window_mask

torch.set_num_threads(1)
EPS = torch.finfo(torch.float32).eps


def dense_forward(g: GainCellAttention, q, k, v):
    """The pre-blocking forward (commit 6295860, its quantizer and readout as autograd
    chains): every (query, key) pair of the full T x Tk score matrix, then every tile."""
    p, h = g.phys, g._h
    B, H, T, D = q.shape
    Tk = k.shape[-2]

    def leaky(x, w, f, keys_last):
        i0 = g._level_fn(w, g.i0_lv)
        out = x @ i0.transpose(-1, -2) if keys_last else x @ i0
        for r in range(g.rank):
            gr = g._level_fn(w, g.g_lv[r])
            out = out + ((x @ gr.transpose(-1, -2)) * f[r] if keys_last else (x * f[r]) @ gr)
        return out

    qp = _chain_quantize(h(g.aq) * q + h(g.bq), 0.0, 1.0, p.q_bits)
    kw = _chain_quantize(h(g.ak) * k + h(g.bk), 0.0, V_MAX_V, p.kv_bits)
    vw = _chain_quantize(h(g.av) * v + h(g.bv), 0.0, V_MAX_V, p.kv_bits)
    allowed = window_mask(Tk, p.window, q.device)[Tk - T:]
    f = g._f(T, Tk, q.device)
    s = leaky(qp, kw, f, keys_last=True)
    a = _chain_quantize(_chain_readout(g, s), 0.0, 1.0, p.out_bits) * allowed
    nt = -(-Tk // p.tile)
    pad = nt * p.tile - Tk
    if pad:
        a = nn.functional.pad(a, (0, pad))
        vw = nn.functional.pad(vw, (0, 0, 0, pad), value=V_MID_V)
        f = nn.functional.pad(f, (0, pad))
    a_t = a.view(B, H, T, nt, p.tile).transpose(2, 3)
    f_t = f.view(-1, T, nt, p.tile).transpose(1, 2)
    v_t = vw.view(B, H, nt, p.tile, D)
    o = leaky(a_t, v_t, f_t, keys_last=False)
    o = _chain_quantize(o, -1.0, 1.0, p.out_bits).sum(2)
    return h(g.ao) * o + h(g.bo)


def _layer(phys, heads=2, seed=0):
    """A layer whose pairs put q, k, v (unit normal) across the pulse and storage ranges
    with a K offset that leaves about half the scores positive (alive readout)."""
    g = GainCellAttention(phys, heads)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        g.aq.fill_(0.25), g.bq.fill_(0.5), g.ak.fill_(0.3), g.av.fill_(0.3)
        g.bk.copy_(0.6 + 0.02 * torch.randn(heads, generator=gen))
        g.ao.fill_(2.0), g.bo.fill_(0.1)
    return g


def _compare(g, T, Tk, D=16, B=2, seed=1):
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(B, g.heads, T, D, generator=gen).requires_grad_()
    k, v = (torch.randn(B, g.heads, Tk, D, generator=gen).requires_grad_() for _ in "kv")
    grads = []
    for fwd in (dense_forward, lambda m, *a: m(*a)):
        out = fwd(g, q, k, v)
        w = torch.randn(out.shape, generator=torch.Generator().manual_seed(2))
        params = (q, k, v, *g.parameters())
        grads.append((out.detach(), torch.autograd.grad((out * w).sum(), params)))
    (o_ref, g_ref), (o_new, g_new) = grads
    # the pulses and per-tile levels are the same float operations; only the digital
    # sum over tiles may be taken in another order: <= tiles x 1 ulp of its magnitude
    scale = o_ref.abs().max()
    tiles = -(-Tk // g.phys.tile)
    assert (o_new - o_ref).abs().max() <= tiles * EPS * scale
    assert o_ref.std() > 0.1 * scale          # not a degenerate (all-zero) readout
    for a, b in zip(g_ref, g_new):
        # gradient sums over keys/blocks in another order: float32 rounding of sums of
        # up to Tk terms, relative to the largest term's size
        tol = 4 * Tk * EPS * max(float(a.abs().max()), 1e-30)
        assert (a - b).abs().max() <= tol, ((a - b).abs().max(), tol)
        assert a.abs().max() > 0


@pytest.mark.parametrize("linear", [False, True])
def test_blocked_forward_equals_dense_on_the_characterized_machine(linear):
    phys = GainCellPhysics.from_arch("gaincell")
    g = _layer(phys.as_linear() if linear else phys)
    # 300 queries: blocks of 128, 128, 44; 300 keys: the last tile padded
    _compare(g, T=300, Tk=300)


def test_blocked_forward_equals_dense_with_history_and_sliding_window(monkeypatch):
    phys = replace(GainCellPhysics.from_arch("gaincell"), window=150)
    monkeypatch.setattr(gt, "QUERY_BLOCK", 48)   # blocks that cut through tiles
    g = _layer(phys, seed=3)
    # 100 new queries reading 260 keys (160 of history), window 150 < Tk
    _compare(g, T=100, Tk=260, seed=4)


def _chain_quantize(x, lo, hi, bits):
    """quantize() as the chain of autograd operations it was before the fused function."""
    import math

    from imcspice.accelerators.torch_quant import ste_round
    step = (hi - lo) / (2 ** bits - 1)
    k = ste_round(x.clamp(lo, hi) / step)
    return k.clamp(math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)) * step


def _chain_readout(g, s):
    a = gt.interp(s, g._a0, g._da, g.act_y).clamp(0.0, 1.0)
    return torch.where(s <= g._a0, torch.zeros_like(a), a)


def test_fused_quantizer_and_readout_equal_their_autograd_chains_bit_for_bit():
    g = GainCellAttention(GainCellPhysics.from_arch("gaincell"), 2)
    assert g._gain is None                     # the tabulated readout is what runs

    gen = torch.Generator().manual_seed(5)
    # scores across the readout's zero, its linear part and its saturation; tile
    # outputs across and beyond the +-1 clamp (the +-15 level clamp is active)
    s = (0.7 * torch.randn(2, 2, 64, 200, generator=gen)).requires_grad_()
    o = (0.8 * torch.randn(2, 2, 4, 64, 16, generator=gen)).requires_grad_()
    for fused, chain in ((lambda x: gt.quantize(g.readout(x), 0.0, 1.0, 5),
                          lambda x: _chain_quantize(_chain_readout(g, x), 0.0, 1.0, 5)),
                         (lambda x: gt.quantize(x, -1.0, 1.0, 5),
                          lambda x: _chain_quantize(x, -1.0, 1.0, 5))):
        for x in (s, o):
            w = torch.randn(x.shape, generator=gen)
            got, want = fused(x), chain(x)
            assert torch.equal(got, want)
            assert torch.equal(*(torch.autograd.grad((y * w).sum(), x)[0] for y in (got, want)))
            assert 0 < float((got == 0).float().mean()) < 1
