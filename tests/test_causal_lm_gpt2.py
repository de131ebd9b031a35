"""The byte-level LM as a transformers GPT-2 model (accelerators/causal_lm.py)."""
from __future__ import annotations

import numpy as np
import torch

from imcspice.accelerators import causal_lm as clm

torch.set_num_threads(1)


def _numpy_forward(lm, tok: np.ndarray) -> np.ndarray:
    """Logits (B, T, 256) of the numpy-era checkpoint written out independently of
    transformers (pre-LN GPT, exact erf GELU, tied head): the reference that the GPT-2
    weight mapping is checked against."""
    from scipy.special import erf
    P, c = lm.params, lm.cfg
    B, T = tok.shape
    H, dh = c.n_heads, c.d_head

    def ln(x, n):
        mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + c.ln_eps) * P[n + ".weight"] + P[n + ".bias"]

    def lin(x, n):
        return x @ P[n + ".weight"].T + P[n + ".bias"]

    def heads(x):
        return x.reshape(B, T, H, dh).transpose(0, 2, 1, 3)

    h = (P["wte"][tok] + P["wpe"][:T]).astype(np.float64)
    future = np.triu(np.ones((T, T), bool), 1)
    for i in range(c.n_layers):
        p = f"layer{i}."
        a = ln(h, p + "ln1")
        q, k, v = (heads(lin(a, p + f"attn.{n}")) for n in "qkv")
        s = np.where(future, -np.inf, q @ k.swapaxes(-1, -2) / np.sqrt(dh))
        w = np.exp(s - s.max(-1, keepdims=True))
        ctx = (w / w.sum(-1, keepdims=True)) @ v
        h = h + lin(ctx.transpose(0, 2, 1, 3).reshape(B, T, c.d_model), p + "attn.out")
        f = lin(ln(h, p + "ln2"), p + "ffn.in")
        h = h + lin(0.5 * f * (1.0 + erf(f / np.sqrt(2.0))), p + "ffn.out")
    return ln(h, "ln_f") @ P["wte"].T


def test_gpt2_mapping_reproduces_the_numpy_forward():
    """gpt2_from_numpy is exact: transformers' GPT-2 and an independent numpy forward
    (float64, written in this test) give the same logits on the same weights."""
    lm = clm.CausalLM.load()
    m = clm.gpt2_from_numpy(lm).eval()
    x = clm.encode(clm.load_corpus("heldout"))[:2 * 96].reshape(2, 96)
    ref = _numpy_forward(lm, x)
    with torch.no_grad():
        got = m(input_ids=torch.from_numpy(x)).logits.numpy()
    assert np.abs(ref - got).max() < 1e-3 * np.abs(ref).max()
    assert m.config.n_positions == 1024 and m.config.vocab_size == 256


def test_safetensors_round_trip(tmp_path):
    torch.manual_seed(0)
    from transformers import GPT2LMHeadModel
    cfg = clm.gpt2_config(clm.CausalLMConfig(n_layers=1, d_model=16, n_heads=2, d_ff=32),
                          n_positions=64)
    m = GPT2LMHeadModel(cfg).eval()
    clm.save_gpt2(m, tmp_path / "m.safetensors", {"note": "test"})
    m2, meta = clm.load_gpt2(tmp_path / "m.safetensors")
    assert meta["note"] == "test" and meta["extra_tensors"] == {}
    x = torch.randint(0, 256, (2, 64))
    with torch.no_grad():
        assert torch.equal(m(input_ids=x).logits, m2(input_ids=x).logits)
    # the tied head stays tied after loading
    assert m2.lm_head.weight.data_ptr() == m2.transformer.wte.weight.data_ptr()


def _unigram_ppl(train: bytes, held: bytes) -> float:
    counts = np.bincount(np.frombuffer(train, np.uint8), minlength=256) + 1.0  # add-one
    logp = np.log(counts / counts.sum())
    h = np.frombuffer(held, np.uint8)
    return float(np.exp(-logp[h[1:]].mean()))


def test_shipped_gpt2_checkpoint_beats_a_unigram_model():
    m, meta = clm.load_gpt2()
    held = clm.corpus_tokens("heldout")
    ppl = clm.gpt2_perplexity(m, held, max_tokens=4 * 1024 + 1)
    # a byte-frequency (unigram) model of the same bytes, trained on the training text
    text = clm.load_corpus("heldout").encode()[:4 * 1024 + 1]
    unigram = _unigram_ppl(clm.load_corpus("train").encode(), text)
    assert unigram > 15                   # sanity of the baseline on English text
    assert ppl < unigram / 3
    # the numpy model it starts from reached 4.19 with 128 bytes of context
    # (train_causal_lm.py): a 1024-position model trained to use its window must do about as
    # well over 1024 bytes (the CPU-era checkpoint, 164 k tokens, was at 11.3)
    assert ppl < 4.5
    assert float(meta["heldout_ppl_fp32"]) < 4.5
    assert meta["context"] == "1024"
