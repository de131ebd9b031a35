"""Stage-0 readout range calibration of gain-cell attention (accelerators/gaincell_ranges.py).

The failure it fixes: per-head pairs from FP32 statistics alone leave a head's scores
below the readout's zero when its query and key dimensions carry opposite mean offsets
(a per-query score offset softmax ignores); the clipped readout then gives no pulse and
no gradient, and the head can never train."""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from imcspice.accelerators import gaincell_ranges as gr
from imcspice.accelerators.gaincell_physics import V_MID_V, GainCellPhysics
from imcspice.accelerators.gaincell_torch import GainCellAttention

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def phys():
    return replace(GainCellPhysics.from_arch(), window=128).as_linear()


def _qkv():
    """Per-dimension means +2 / -2 on q and the opposite on k: every q·k is negative
    on average (Σ_d q_d k_d ≈ -4 D), while the per-head mean of each is 0."""
    torch.manual_seed(3)
    sign = torch.tensor([1.0, -1.0]).repeat(8)                   # D = 16
    q = torch.randn(1, 2, 128, 16) + 2.0 * sign
    k = torch.randn(1, 2, 128, 16) - 2.0 * sign
    v = torch.randn(1, 2, 128, 16)
    return q, k, v


def _three_sigma(g, q, k, v):
    """The FP32-statistics pairs (finetune.initial_pairs): centre, ±3σ to the ends."""
    with torch.no_grad():
        for a, b, x, centre in ((g.aq, g.bq, q, 0.5), (g.ak, g.bk, k, V_MID_V),
                                (g.av, g.bv, v, V_MID_V)):
            mu, sd = x.mean((0, 2, 3)), x.std((0, 2, 3))
            a.copy_(centre / (3.0 * sd))
            b.copy_(centre - a * mu)


def _positive_fraction(g, q, k):
    with torch.no_grad():
        s, _ = gr._scores(g, q, k)
    return (s > 0).float().mean(1)


def test_three_sigma_pairs_leave_such_a_head_dead(phys):
    """The precondition of the fix: no positive score, no pulse, no gradient."""
    q, k, v = _qkv()
    g = GainCellAttention(phys, 2)
    _three_sigma(g, q, k, v)
    assert (_positive_fraction(g, q, k) < 0.01).all()
    qg = q.clone().requires_grad_(True)
    g(qg, k, v).sum().backward()
    assert qg.grad.abs().max() == 0.0


@pytest.mark.parametrize("frac", [0.1, 0.3])
def test_threshold_puts_the_chosen_share_of_scores_above_zero(phys, frac):
    """After the K-offset shift, ``frac`` of the window pairs score above the readout's
    zero (by construction of the quantile; tolerance: the 3-bit K grid moves scores in
    steps, so the share lands within a few points), and gradients reach the queries."""
    q, k, v = _qkv()
    g = GainCellAttention(phys, 2)
    _three_sigma(g, q, k, v)
    with torch.no_grad():
        gr._set_threshold(g, q, k, frac)
    got = _positive_fraction(g, q, k)
    assert torch.allclose(got, torch.full_like(got, frac), atol=0.06), got
    qg = q.clone().requires_grad_(True)
    g(qg, k, v).sum().backward()
    assert (qg.grad.abs().sum((0, 2, 3)) > 0).all()


def test_range_calibration_revives_every_layer_of_a_model(monkeypatch):
    """On a small GPT-2 whose first layer's query/key biases have opposite signs
    (the dead pattern above), the ±3σ pairs leave that layer without gradient; after
    the range calibration every layer's W_q, W_k get a gradient and every output pair
    is non-zero."""
    from transformers import GPT2LMHeadModel

    from imcspice.accelerators import causal_lm as clm
    from imcspice.accelerators import finetune as ft
    from imcspice.accelerators.gaincell_torch import convert, gaincell_layers
    torch.manual_seed(0)
    cfg = clm.gpt2_config(clm.CausalLMConfig(n_layers=2, d_model=32, n_heads=2, d_ff=64),
                          n_positions=128)
    model = GPT2LMHeadModel(cfg)
    with torch.no_grad():
        model.transformer.h[0].attn.c_attn.weight.mul_(10.0)   # content: std ~1 per dim
        b = model.transformer.h[0].attn.c_attn.bias
        sign = torch.tensor([1.0, -1.0]).repeat(16)
        b[:32] += 3.0 * sign            # query bias
        b[32:64] -= 3.0 * sign          # key bias: q·k strongly negative for every pair
    phys = replace(GainCellPhysics.from_arch(), window=128)
    monkeypatch.setattr(gr, "SCALES_QK", (1.0, 2.0))   # a smaller grid: CI time
    monkeypatch.setattr(gr, "SCALES_V", (1.0,))
    x = ft.calibration_batch(ft.FinetuneSettings(context=128, calib_sequences=2))

    def grads(m):
        m.zero_grad()
        lg = m(input_ids=x[:, :-1]).logits
        torch.nn.functional.cross_entropy(lg.reshape(-1, 256), x[:, 1:].reshape(-1)).backward()
        return [float(blk.attn.c_attn.weight.grad[:, :64].norm()) for blk in m.transformer.h]

    import copy
    old = convert(copy.deepcopy(model), phys.as_linear())
    ft.initial_pairs(old, x)
    ft.regress_output(old, x)
    assert grads(old)[0] == 0.0
    new = convert(copy.deepcopy(model), phys.as_linear())
    chosen = ft.initial_pairs(new, x, ranges=True)
    assert len(chosen) == 2
    got = grads(new)
    assert all(gq > 0.0 for gq in got), (got, chosen)
    assert all((g.ao.abs() > 0).all() for g in gaincell_layers(new))
