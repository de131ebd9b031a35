"""Shape-only transformer workloads: model presets and their operator graphs.

Nothing here touches weights or numbers; a workload is reduced to the list of
operators one forward pass executes, each with its matrix shape, FLOP count and
the bytes it moves. Accelerator models (RACE-IT, HeTraX, gain-cell attention)
and the GPU roofline baseline (:mod:`imcspice.accelerators.gpu`) price the same
list, so they are compared on identical work.

Presets (:data:`WORKLOADS`) and where their hyper-parameters come from:

* ``"minilm"`` -- sentence-transformers all-MiniLM-L6-v2 (model card and its
  ``config.json`` on the Hugging Face hub): BERT-style encoder, 6 layers,
  d_model 384, 12 heads, d_ff 1536, vocab 30522, 512 learned positions;
  22.7 M parameters.
* ``"bert-base"`` -- BERT-base, Devlin et al. 2019, "BERT: Pre-training of Deep
  Bidirectional Transformers for Language Understanding" (NAACL): 12 layers,
  768 hidden, 12 heads, d_ff 3072 (4 x hidden), WordPiece vocab 30522 (uncased
  checkpoint), 512 positions; ~110 M parameters.
* ``"gpt2"`` -- GPT-2 small, Radford et al. 2019, "Language Models are
  Unsupervised Multitask Learners": 12 layers, 768, 12 heads, d_ff 3072, BPE
  vocab 50257, 1024 positions, LM head tied to the token embedding; 124 M
  parameters including embeddings.
* ``"gpt2-xl"`` -- GPT-2 1.5B (same paper): 48 layers, 1600, 25 heads,
  d_ff 6400; 1.56 B parameters.
* ``"llama-7b"`` -- LLaMA-7B, Touvron et al. 2023, "LLaMA: Open and Efficient
  Foundation Language Models": 32 layers, 4096, 32 heads, d_ff 11008, SwiGLU
  feed-forward (three FFN matrices: gate, up, down), RMSNorm, rotary position
  embeddings (no position table), no biases, untied 32000-token LM head;
  6.74 B parameters.

GPT-2 uses the tanh approximation of GELU; both variants map to the ``"gelu"``
operator kind. RMSNorm maps to the ``"layernorm"`` kind (cheaper per element).

Conventions of :func:`operator_graph` (all counts are exact integers):

* A product ``A (m x k) @ B (k x n)`` costs ``2*m*k*n`` FLOPs (multiply + add).
  Bias adds are treated as fused into the product epilogue and not counted.
  The causal mask of decoders is ignored: dense kernels compute the full
  ``seq x context`` score matrix, and so does this count.
* ``m, k, n`` describe ONE product instance; an operator repeats it
  ``batch * heads`` times (``heads`` is 1 for static-weight linears, whose
  output spans all heads). ``elements`` is the total element count of a
  non-product operator over the whole batch and all heads.
* Bytes: ``weight_bytes`` are static parameters the operator reads from memory
  (for the embedding gather only the rows actually gathered);
  ``act_in_bytes`` / ``act_out_bytes`` are the activations read / written
  assuming no fusion between operators. For the attention matmuls the K and
  V operands are activations (in decode mode: the KV-cache read).
* Non-linear FLOPs per element (conventions, transcendental = 1 FLOP):
  softmax 6 (scale, max, subtract, exp, sum, divide), GELU 8 (tanh form),
  LayerNorm 7, RMSNorm 4, SwiGLU gate 5 (SiLU 4 + product), residual add 1,
  rotary embedding 3.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..errors import InputError

__all__ = [
    "TransformerShape", "Operator", "WORKLOADS", "OP_KINDS", "MAX_SEQ_LEN",
    "get_workload", "operator_graph", "total_flops", "total_bytes",
]

MAX_SEQ_LEN = 32768
"""Upper bound accepted for ``seq_len`` and ``context_len`` (tokens)."""

OP_KINDS = ("linear", "matmul", "softmax", "gelu", "layernorm", "elementwise")
"""``linear``: static-weight product; ``matmul``: data-dependent product
(Q.K^T, P.V); the others are element-/row-wise operators."""

OpKind = Literal["linear", "matmul", "softmax", "gelu", "layernorm", "elementwise"]

# FLOPs per element of the non-product operators (see module docstring).
FLOPS_PER_ELEMENT = {
    "softmax": 6, "gelu": 8, "layernorm": 7, "rmsnorm": 4,
    "swiglu": 5, "residual": 1, "rope": 3, "embed_add": 1,
}

TOKEN_ID_BYTES = 4  # int32 token ids read by the embedding gather


def _check_int(arg: str, value, lo: int, hi: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{arg} must be an int, got {value!r}")
    if value < lo or (hi is not None and value > hi):
        rng = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ValueError(f"{arg} must be {rng}, got {value}")


@dataclass(frozen=True)
class TransformerShape:
    """Hyper-parameters of a transformer, enough to derive every operator shape.

    Attributes:
        name: preset name.
        kind: ``"encoder"`` (bidirectional, post-LayerNorm, BERT-style) or
            ``"decoder"`` (causal, pre-norm, with final norm and LM head).
        layers: number of transformer blocks.
        d_model: hidden size (elements).
        heads: attention heads; ``d_model`` must be divisible by it.
        d_ff: feed-forward inner size (elements).
        vocab: vocabulary size (tokens).
        activation: ``"gelu"`` (2 FFN matrices) or ``"swiglu"`` (3 matrices).
        max_positions: rows of the learned position table (0 = rotary/none).
        type_vocab: rows of the token-type table (BERT segment ids; 0 = none).
        norm: ``"layernorm"`` (scale and shift) or ``"rmsnorm"`` (scale only).
        bias: whether linears and norms carry bias vectors.
        tied_embeddings: LM head shares the token-embedding matrix.
        pooler: BERT pooler (d_model x d_model dense) present in the
            checkpoint; counted in :attr:`params`, not in the operator graph.
    """

    name: str
    kind: Literal["encoder", "decoder"]
    layers: int
    d_model: int
    heads: int
    d_ff: int
    vocab: int
    activation: Literal["gelu", "swiglu"] = "gelu"
    max_positions: int = 0
    type_vocab: int = 0
    norm: Literal["layernorm", "rmsnorm"] = "layernorm"
    bias: bool = True
    tied_embeddings: bool = True
    pooler: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("encoder", "decoder"):
            raise ValueError(f"kind must be 'encoder' or 'decoder', got {self.kind!r}")
        if self.activation not in ("gelu", "swiglu"):
            raise ValueError(f"activation must be 'gelu' or 'swiglu', got {self.activation!r}")
        if self.norm not in ("layernorm", "rmsnorm"):
            raise ValueError(f"norm must be 'layernorm' or 'rmsnorm', got {self.norm!r}")
        for field in ("layers", "d_model", "heads", "d_ff", "vocab"):
            _check_int(field, getattr(self, field), 1)
        for field in ("max_positions", "type_vocab"):
            _check_int(field, getattr(self, field), 0)
        if self.d_model % self.heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by heads ({self.heads})")

    @property
    def d_head(self) -> int:
        """Per-head dimension (elements)."""
        return self.d_model // self.heads

    @property
    def ffn_matrices(self) -> int:
        """Number of FFN weight matrices: 2 for GELU, 3 for SwiGLU (gate, up, down)."""
        return 3 if self.activation == "swiglu" else 2

    @property
    def linear_weights_per_layer(self) -> int:
        """Static matrix weights of one block (Q, K, V, O and FFN), no biases/norms."""
        return 4 * self.d_model ** 2 + self.ffn_matrices * self.d_model * self.d_ff

    @property
    def params_per_layer(self) -> int:
        """All parameters of one block: matrices, biases and the two norms."""
        d, f = self.d_model, self.d_ff
        biases = (4 * d + (self.ffn_matrices - 1) * f + d) if self.bias else 0
        return self.linear_weights_per_layer + biases + 2 * self._norm_params

    @property
    def params_embedding(self) -> int:
        """Token, position and token-type tables (plus the embedding LayerNorm of encoders)."""
        d = self.d_model
        n = (self.vocab + self.max_positions + self.type_vocab) * d
        return n + (self._norm_params if self.kind == "encoder" else 0)

    @property
    def params(self) -> int:
        """Total parameter count of the checkpoint, embeddings included."""
        d = self.d_model
        n = self.params_embedding + self.layers * self.params_per_layer
        if self.kind == "decoder":
            n += self._norm_params  # final norm
            if not self.tied_embeddings:
                n += self.vocab * d
        if self.pooler:
            n += d * d + (d if self.bias else 0)
        return n

    @property
    def _norm_params(self) -> int:
        return (2 if self.norm == "layernorm" else 1) * self.d_model


WORKLOADS: dict[str, TransformerShape] = {
    "minilm": TransformerShape(
        "minilm", "encoder", layers=6, d_model=384, heads=12, d_ff=1536, vocab=30522,
        max_positions=512, type_vocab=2, pooler=True),
    "bert-base": TransformerShape(
        "bert-base", "encoder", layers=12, d_model=768, heads=12, d_ff=3072, vocab=30522,
        max_positions=512, type_vocab=2, pooler=True),
    "gpt2": TransformerShape(
        "gpt2", "decoder", layers=12, d_model=768, heads=12, d_ff=3072, vocab=50257,
        max_positions=1024),
    "gpt2-xl": TransformerShape(
        "gpt2-xl", "decoder", layers=48, d_model=1600, heads=25, d_ff=6400, vocab=50257,
        max_positions=1024),
    # the shipped byte-level causal LM, a GPT-2 configuration of 1024 positions
    # (accelerators/data/causal_lm_gpt2.safetensors, causal_lm.gpt2_config)
    "byte-lm": TransformerShape(
        "byte-lm", "decoder", layers=4, d_model=128, heads=4, d_ff=512, vocab=256,
        max_positions=1024),
    "llama-7b": TransformerShape(
        "llama-7b", "decoder", layers=32, d_model=4096, heads=32, d_ff=11008, vocab=32000,
        activation="swiglu", norm="rmsnorm", bias=False, tied_embeddings=False),
}
"""Preset shapes by name; sources in the module docstring."""


def get_workload(name: str) -> TransformerShape:
    """Return the preset called ``name`` (case-insensitive); ValueError lists valid names."""
    key = name.lower() if isinstance(name, str) else name
    try:
        return WORKLOADS[key]
    except (KeyError, TypeError):
        raise InputError(
            f"unknown workload {name!r}; valid names: {', '.join(sorted(WORKLOADS))}") from None


@dataclass(frozen=True)
class Operator:
    """One operator of a forward pass, shape-only.

    Attributes:
        layer: block index, or -1 for the embedding, final norm and LM head.
        name: operator within the block, e.g. ``"attn.q"``, ``"attn.scores"``,
            ``"ffn.act"``, ``"ln1"``; see :attr:`qualified_name`.
        kind: one of :data:`OP_KINDS`.
        flops: floating-point operations (multiply and add counted separately).
        weight_bytes: static parameter bytes read (bytes).
        act_in_bytes: activation bytes read (bytes).
        act_out_bytes: activation bytes written (bytes).
        m, k, n: rows, inner and columns of ONE product instance (products only).
        elements: total elements processed (non-product operators).
        heads: independent per-head instances (1 for linears).
        batch: independent sequences.
    """

    layer: int
    name: str
    kind: OpKind
    flops: int
    weight_bytes: float
    act_in_bytes: float
    act_out_bytes: float
    m: int = 0
    k: int = 0
    n: int = 0
    elements: int = 0
    heads: int = 1
    batch: int = 1

    @property
    def qualified_name(self) -> str:
        """``"layer3.attn.q"`` style name as used by :class:`imcspice.accelerators.FP32Ops`."""
        return self.name if self.layer < 0 else f"layer{self.layer}.{self.name}"

    @property
    def is_product(self) -> bool:
        return self.kind in ("linear", "matmul")

    @property
    def total_bytes(self) -> float:
        """weight + activation-in + activation-out bytes (no reuse across operators)."""
        return self.weight_bytes + self.act_in_bytes + self.act_out_bytes

    @property
    def arithmetic_intensity(self) -> float:
        """FLOPs per byte moved (FLOP/B)."""
        b = self.total_bytes
        return self.flops / b if b else float("inf")


def total_flops(ops: list[Operator]) -> int:
    """Sum of operator FLOPs."""
    return sum(op.flops for op in ops)


def total_bytes(ops: list[Operator]) -> float:
    """Sum of operator bytes (weights + activations in and out)."""
    return sum(op.total_bytes for op in ops)


def operator_graph(shape: TransformerShape | str, seq_len: int, batch: int = 1,
                   mode: Literal["prefill", "decode"] = "prefill",
                   context_len: int | None = None,
                   bytes_per_el: float = 2) -> list[Operator]:
    """Every operator of one forward pass, in execution order.

    Args:
        shape: a :class:`TransformerShape` or a preset name (see :data:`WORKLOADS`).
        seq_len: tokens per sequence processed in prefill, 1..32768. In decode
            mode it is the default for ``context_len``.
        batch: independent sequences (>= 1).
        mode: ``"prefill"`` processes ``seq_len`` tokens per sequence (encoders
            always run this way); ``"decode"`` is the cost of generating ONE
            token per sequence against a KV cache (decoders only).
        context_len: positions each new token attends to, KV cache included
            (the new token's own K/V row counts), 1..32768. Decode default:
            ``seq_len``. Prefill default: ``seq_len``; a larger value models a
            chunk appended to an existing cache (must be >= ``seq_len``).
        bytes_per_el: bytes per weight/activation element (2 for FP16/BF16).

    Returns:
        Operators of the embedding (layer -1), every block, and for decoders the
        final norm and LM head (layer -1; logits for every processed token).
    """
    if isinstance(shape, str):
        shape = get_workload(shape)
    if not isinstance(shape, TransformerShape):
        raise ValueError(f"shape must be a TransformerShape or preset name, got {type(shape).__name__}")
    _check_int("seq_len", seq_len, 1, MAX_SEQ_LEN)
    _check_int("batch", batch, 1)
    if mode not in ("prefill", "decode"):
        raise ValueError(f"mode must be 'prefill' or 'decode', got {mode!r}")
    if context_len is not None:
        _check_int("context_len", context_len, 1, MAX_SEQ_LEN)
    if isinstance(bytes_per_el, bool) or not isinstance(bytes_per_el, (int, float)) \
            or not bytes_per_el > 0:
        raise ValueError(f"bytes_per_el must be a positive number, got {bytes_per_el!r}")
    if mode == "decode" and shape.kind == "encoder":
        raise ValueError(f"mode='decode' needs a decoder; {shape.name!r} is an encoder")

    if mode == "decode":
        tokens, ctx = 1, (seq_len if context_len is None else context_len)
    else:
        tokens, ctx = seq_len, (seq_len if context_len is None else context_len)
        if ctx < tokens:
            raise ValueError(f"context_len ({ctx}) must be >= seq_len ({tokens}) in prefill")

    return _build(shape, tokens, ctx, batch, float(bytes_per_el))


def _build(s: TransformerShape, t: int, ctx: int, b: int, bpe: float) -> list[Operator]:
    """Graph for ``t`` new tokens per sequence attending to ``ctx`` positions."""
    d, f, h, dh = s.d_model, s.d_ff, s.heads, s.d_head
    rows = b * t  # token vectors flowing through the static-weight layers
    ops: list[Operator] = []

    def linear(layer: int, name: str, k: int, n: int, bias: bool = s.bias) -> None:
        w = (k * n + (n if bias else 0)) * bpe
        ops.append(Operator(layer, name, "linear", flops=2 * rows * k * n, weight_bytes=w,
                            act_in_bytes=rows * k * bpe, act_out_bytes=rows * n * bpe,
                            m=t, k=k, n=n, batch=b))

    def pointwise(layer: int, name: str, kind: OpKind, elements: int, per_el: int,
                  in_el: int | None = None, weight_el: int = 0, heads: int = 1) -> None:
        in_el = elements if in_el is None else in_el
        ops.append(Operator(layer, name, kind, flops=per_el * elements,
                            weight_bytes=weight_el * bpe, act_in_bytes=in_el * bpe,
                            act_out_bytes=elements * bpe, elements=elements, heads=heads,
                            batch=b))

    def norm(layer: int, name: str) -> None:
        pointwise(layer, name, "layernorm", rows * d, FLOPS_PER_ELEMENT[s.norm],
                  weight_el=s._norm_params)

    def residual(layer: int, name: str) -> None:
        pointwise(layer, name, "elementwise", rows * d, FLOPS_PER_ELEMENT["residual"],
                  in_el=2 * rows * d)

    # Embedding: gather token rows (+ position and token-type rows), sum them.
    tables = 1 + (s.max_positions > 0) + (s.type_vocab > 0)
    ops.append(Operator(-1, "embed", "elementwise",
                        flops=(tables - 1) * rows * d * FLOPS_PER_ELEMENT["embed_add"],
                        weight_bytes=tables * rows * d * bpe,
                        act_in_bytes=rows * TOKEN_ID_BYTES, act_out_bytes=rows * d * bpe,
                        elements=rows * d, batch=b))
    if s.kind == "encoder":
        norm(-1, "ln_emb")

    for L in range(s.layers):
        pre_norm = s.kind == "decoder"
        if pre_norm:
            norm(L, "ln1")
        linear(L, "attn.q", d, d)
        linear(L, "attn.k", d, d)
        linear(L, "attn.v", d, d)
        if s.max_positions == 0:  # rotary embedding applied to q and k
            pointwise(L, "attn.rope", "elementwise", 2 * rows * d, FLOPS_PER_ELEMENT["rope"])
        # Scores Q.K^T per head: (t x dh) @ (dh x ctx); K is read from the cache.
        ops.append(Operator(L, "attn.scores", "matmul", flops=2 * b * h * t * dh * ctx,
                            weight_bytes=0, act_in_bytes=b * h * (t + ctx) * dh * bpe,
                            act_out_bytes=b * h * t * ctx * bpe,
                            m=t, k=dh, n=ctx, heads=h, batch=b))
        pointwise(L, "attn.softmax", "softmax", b * h * t * ctx, FLOPS_PER_ELEMENT["softmax"],
                  heads=h)
        # Context P.V per head: (t x ctx) @ (ctx x dh); V is read from the cache.
        ops.append(Operator(L, "attn.context", "matmul", flops=2 * b * h * t * ctx * dh,
                            weight_bytes=0, act_in_bytes=b * h * (t * ctx + ctx * dh) * bpe,
                            act_out_bytes=b * h * t * dh * bpe,
                            m=t, k=ctx, n=dh, heads=h, batch=b))
        linear(L, "attn.out", d, d)
        residual(L, "res1")
        norm(L, "ln2" if pre_norm else "ln1")
        if s.activation == "swiglu":
            linear(L, "ffn.gate", d, f)
            linear(L, "ffn.in", d, f)
            pointwise(L, "ffn.act", "elementwise", rows * f, FLOPS_PER_ELEMENT["swiglu"],
                      in_el=2 * rows * f)
        else:
            linear(L, "ffn.in", d, f)
            pointwise(L, "ffn.act", "gelu", rows * f, FLOPS_PER_ELEMENT["gelu"])
        linear(L, "ffn.out", f, d)
        residual(L, "res2")
        if not pre_norm:
            norm(L, "ln2")

    if s.kind == "decoder":
        norm(-1, "ln_f")
        linear(-1, "lm_head", d, s.vocab, bias=False)  # LM heads carry no bias
    return ops
