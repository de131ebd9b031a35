"""Tests of the numpy byte-level causal LM (accelerators/causal_lm.py); no torch needed."""
from __future__ import annotations

import math

import numpy as np
import pytest

from imcspice.accelerators.causal_lm import (DEFAULT_CHECKPOINT, MASK_VALUE, CausalLM,
                                             attention_mask, decode, encode, load_corpus)
from imcspice.accelerators.ops import FP32Ops


@pytest.fixture(scope="module")
def lm() -> CausalLM:
    return CausalLM.load()


@pytest.fixture(scope="module")
def heldout() -> str:
    return load_corpus("heldout")


@pytest.fixture(scope="module")
def sample(heldout) -> np.ndarray:
    return encode(heldout)[1000:1000 + 96]


class CountingOps(FP32Ops):
    def __init__(self):
        self.calls: list[tuple[str, str]] = []

    def linear(self, x, w, b, name):
        self.calls.append(("linear", name))
        return super().linear(x, w, b, name)

    def matmul(self, a, b, name):
        self.calls.append(("matmul", name))
        return super().matmul(a, b, name)

    def softmax(self, x, name, axis=-1):
        self.calls.append(("softmax", name))
        return super().softmax(x, name, axis=axis)

    def gelu(self, x, name):
        self.calls.append(("gelu", name))
        return super().gelu(x, name)

    def layernorm(self, x, gamma, beta, eps, name):
        self.calls.append(("layernorm", name))
        return super().layernorm(x, gamma, beta, eps, name)


class RecordingOps(FP32Ops):
    def __init__(self):
        self.probs: dict[str, np.ndarray] = {}

    def softmax(self, x, name, axis=-1):
        p = super().softmax(x, name, axis=axis)
        self.probs[name] = p
        return p


def test_checkpoint_loads_and_is_small(lm):
    assert DEFAULT_CHECKPOINT.exists()
    assert DEFAULT_CHECKPOINT.stat().st_size <= 3 * 1024 * 1024
    cfg = lm.cfg
    assert cfg.vocab_size == 256 and cfg.d_model % cfg.n_heads == 0
    assert 100_000 < lm.n_params < 1_600_000
    assert all(np.isfinite(v).all() for v in lm.params.values())


def test_encode_decode_roundtrip():
    s = "Return the value of x. Ünïcode ok"
    t = encode(s)
    assert t.dtype == np.int64 and t.max() < 256
    assert decode(t) == s


def test_forward_shapes_and_batch(lm, sample):
    logits = lm.forward(sample)
    assert logits.shape == (len(sample), 256)
    batch = lm.forward(np.stack([sample, sample[::-1]]))
    assert batch.shape == (2, len(sample), 256)
    np.testing.assert_allclose(batch[0], logits, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError):
        lm.forward(np.zeros(lm.cfg.context + 1, dtype=int))


def test_forward_is_causal(lm, sample):
    base = lm.forward(sample)
    j = 50
    changed = sample.copy()
    changed[j] = (changed[j] + 7) % 256
    out = lm.forward(changed)
    np.testing.assert_allclose(out[:j], base[:j], rtol=1e-5, atol=1e-5)
    assert np.abs(out[j:] - base[j:]).max() > 1e-2


def _unigram_ppl(train: bytes, held: bytes) -> float:
    counts = np.bincount(np.frombuffer(train, np.uint8), minlength=256) + 1.0  # add-one
    logp = np.log(counts / counts.sum())
    h = np.frombuffer(held, np.uint8)
    return float(np.exp(-logp[h[1:]].mean()))


def test_heldout_perplexity_beats_baselines(lm, heldout):
    unigram = _unigram_ppl(load_corpus("train").encode(), heldout.encode())
    ppl = lm.perplexity(heldout, max_tokens=4096)
    assert unigram > 15                   # sanity of the baseline on English text
    assert ppl < 256 / 10
    assert ppl < unigram / 3
    assert ppl < 6.0


def test_perplexity_chunking(lm, heldout):
    text = heldout[:1200]
    p_default = lm.perplexity(text)
    assert p_default == pytest.approx(lm.perplexity(text, stride=lm.cfg.context), rel=1e-12)
    total, count = lm.nll(text, stride=64)
    assert count == len(text.encode()) - 1
    # longer guaranteed history can only help a trained model on average
    assert math.exp(total / count) < p_default * 1.02
    # max_tokens truncates the text
    assert lm.nll(text, max_tokens=500)[1] == 499


def test_every_operator_goes_through_ops(lm, sample):
    ops = CountingOps()
    out = lm.forward(sample, ops=ops)
    np.testing.assert_allclose(out, lm.forward(sample), rtol=1e-6, atol=1e-6)
    expected = []
    for i in range(lm.cfg.n_layers):
        p = f"layer{i}."
        expected += [("layernorm", p + "ln1"), ("linear", p + "attn.q"), ("linear", p + "attn.k"),
                     ("linear", p + "attn.v"), ("matmul", p + "attn.scores"),
                     ("softmax", p + "attn.softmax"), ("matmul", p + "attn.context"),
                     ("linear", p + "attn.out"), ("layernorm", p + "ln2"),
                     ("linear", p + "ffn.in"), ("gelu", p + "ffn.gelu"), ("linear", p + "ffn.out")]
    expected += [("layernorm", "ln_f"), ("linear", "lm_head")]
    assert ops.calls == expected


@pytest.mark.parametrize("method", ["linear", "matmul", "softmax", "gelu", "layernorm"])
def test_operator_results_are_used(lm, sample, method):
    """Perturbing any one operator kind changes the logits (its output is really used)."""
    base_method = getattr(FP32Ops, method)

    def perturbed(self, *args, **kw):
        return base_method(self, *args, **kw) * 1.05

    ops = type("PerturbedOps", (FP32Ops,), {method: perturbed})()
    assert np.abs(lm.forward(sample, ops=ops) - lm.forward(sample)).max() > 1e-3


def test_attention_shapes_and_mask_value(lm, sample):
    class Shapes(FP32Ops):
        seen = {}

        def softmax(self, x, name, axis=-1):
            self.seen[name] = x.copy()
            return super().softmax(x, name, axis=axis)

    ops = Shapes()
    lm.forward(sample, ops=ops, window=16)
    s = ops.seen["layer0.attn.softmax"]
    T = len(sample)
    assert s.shape == (1, lm.cfg.n_heads, T, T)
    allowed = attention_mask(T, 16)
    assert np.all(s[..., ~allowed] == np.float32(MASK_VALUE))
    assert np.all(s[..., allowed] > MASK_VALUE / 2)


def test_window_restricts_attention_probabilities(lm, sample):
    w = 8
    ops = RecordingOps()
    lm.forward(sample, ops=ops, window=w)
    T = len(sample)
    i, j = np.meshgrid(np.arange(T), np.arange(T), indexing="ij")
    outside = (j > i) | (j <= i - w)
    for name, p in ops.probs.items():
        assert np.all(p[..., outside] == 0.0), name
        np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-5)
    # window >= T is the full causal attention
    np.testing.assert_allclose(lm.forward(sample, window=T), lm.forward(sample),
                               rtol=1e-6, atol=1e-6)


def test_window_restricts_receptive_field(lm, sample):
    """With window w and L layers, logits at t depend only on tokens t-L*(w-1) .. t."""
    w, L = 6, lm.cfg.n_layers
    reach = L * (w - 1)
    t = len(sample) - 1
    base = lm.forward(sample, window=w)[t]
    far = sample.copy()
    far[: t - reach] = (far[: t - reach] + 13) % 256   # everything beyond the receptive field
    np.testing.assert_allclose(lm.forward(far, window=w)[t], base, rtol=1e-5, atol=1e-5)
    near = sample.copy()
    near[t - 1] = (near[t - 1] + 13) % 256             # inside the window
    assert np.abs(lm.forward(near, window=w)[t] - base).max() > 1e-2
    # without a window, the same far tokens do matter
    assert np.abs(lm.forward(far)[t] - lm.forward(sample)[t]).max() > 1e-3
    with pytest.raises(ValueError):
        lm.forward(sample, window=0)
