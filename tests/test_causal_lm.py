"""The byte-level causal LM's byte encoding, corpus and numpy-era checkpoint
(accelerators/causal_lm.py). Its numpy forward pass was retired (issue 12): the network
is the transformers GPT-2 of test_causal_lm_gpt2.py."""
from __future__ import annotations

import numpy as np
import pytest

from imcspice.accelerators.causal_lm import (DEFAULT_CHECKPOINT, CausalLM, decode, encode,
                                             load_corpus)


def test_checkpoint_loads_and_is_small():
    """The checkpoint the shipped GPT-2 started from (train_causal_lm.py --init numpy)."""
    lm = CausalLM.load()
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
    assert len(t) == len(s.encode("utf-8"))          # one token per UTF-8 byte
    assert decode(t) == s


def test_corpus_splits_are_disjoint_text():
    train, held = load_corpus("train"), load_corpus("heldout")
    assert len(train) > 10 * len(held) > 0
    assert held[:2000] not in train
    with pytest.raises(ValueError):
        load_corpus("test")
