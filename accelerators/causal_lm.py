"""A small pretrained byte-level causal (decoder-only) language model, numpy inference only.

Workload for evaluating gain-cell attention hardware (Leroux et al., "Analog in-memory
computing attention mechanism for fast and energy-efficient LLMs"): K/V go to gain
cells, attention may be restricted to a sliding ``window``, and an accelerator's ops
subclass may replace the softmax by a clipped-linear activation of the scores and
calibrate per-layer/per-head scale and offset. Every operator goes through an
:class:`~imcspice.accelerators.ops.FP32Ops`-like ``ops`` object (default: exact FP32).

Model (GPT-2 style, pre-LayerNorm), trained by ``accelerators/train_causal_lm.py`` on
the docstrings of the CPython 3.11 standard library (``data/corpus/``)::

    tokens: bytes 0..255 (UTF-8 of the text; no vocabulary file)
    h = wte[tok] + wpe[pos]                                   (learned absolute positions)
    for each layer i:
        a = ops.layernorm(h, ln1.g, ln1.b, eps, "layer{i}.ln1")
        q,k,v = ops.linear(a, W, b, "layer{i}.attn.{q,k,v}")  -> split into heads (H,T,dh)
        s = ops.matmul(q, kᵀ, "layer{i}.attn.scores") / sqrt(dh)
        s[masked] = MASK_VALUE      (causal, and outside the sliding window if given)
        p = ops.softmax(s, "layer{i}.attn.softmax")
        c = ops.matmul(p, v, "layer{i}.attn.context")          -> merge heads (T, d)
        h = h + ops.linear(c, Wo, bo, "layer{i}.attn.out")
        f = ops.layernorm(h, ln2.g, ln2.b, eps, "layer{i}.ln2")
        h = h + ops.linear(ops.gelu(ops.linear(f, W1, b1, "layer{i}.ffn.in"),
                                    "layer{i}.ffn.gelu"), W2, b2, "layer{i}.ffn.out")
    logits = ops.linear(ops.layernorm(h, ..., "ln_f"), wte, None, "lm_head")  (tied)

Shapes seen by ``ops``: ``linear``, ``layernorm`` and ``gelu`` get token rows of shape
(B*T, features) (batch-major, so row ``b*T + t`` is token t of sequence b); the attention ``matmul``
and ``softmax`` get per-head arrays (B, H, T, dh)/(B, H, dh, T) -> scores (B, H, T, T),
so axis 1 is the head (for per-head calibration), axis -2 the query and axis -1 the key
position. Masked score entries are set to the finite ``MASK_VALUE`` (not -inf, so that a
replacement activation ``phi(a*s + b)`` never produces NaN); they must map to zero weight.

Why this numpy forward stays (issue 12 retired the MiniLM one): the gain-cell report's
training-free adaptation (:func:`.accuracy.gaincell_run`: perplexities without / with
adaptation, linear cells, the non-ideality sweep) runs on it with the numpy gain-cell
operators of :mod:`.gaincell_attention`, which have no GPT-2 port yet; and the shipped
GPT-2 checkpoint starts from these weights (``train_causal_lm.py --init numpy``, its
metadata ``init: numpy``), mapped by :func:`gpt2_from_numpy`.

Sliding window ``w``: query position t attends to key positions s with
``t - w < s <= t`` (itself and the w-1 previous tokens). With L layers the receptive
field of the logits at t is therefore ``L*(w-1)`` tokens back.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError

from .ops import FP32Ops

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "data" / "causal_lm.safetensors"
CORPUS_DIR = Path(__file__).resolve().parent / "data" / "corpus"
MASK_VALUE = -1e9


@dataclass(frozen=True)
class CausalLMConfig:
    vocab_size: int = 256
    context: int = 128
    n_layers: int = 4
    d_model: int = 128
    n_heads: int = 4
    d_ff: int = 512
    ln_eps: float = 1e-5

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, s: str) -> "CausalLMConfig":
        return cls(**json.loads(s))


def param_names(cfg: CausalLMConfig) -> list[str]:
    """Checkpoint tensor names (shared with the torch training script)."""
    names = ["wte", "wpe"]
    for i in range(cfg.n_layers):
        p = f"layer{i}."
        names += [p + "ln1.weight", p + "ln1.bias"]
        for n in ("q", "k", "v", "out"):
            names += [p + f"attn.{n}.weight", p + f"attn.{n}.bias"]
        names += [p + "ln2.weight", p + "ln2.bias",
                  p + "ffn.in.weight", p + "ffn.in.bias", p + "ffn.out.weight", p + "ffn.out.bias"]
    names += ["ln_f.weight", "ln_f.bias"]
    return names


def encode(text: str) -> np.ndarray:
    """UTF-8 bytes of ``text`` as int64 tokens 0..255."""
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.int64)


def decode(tokens) -> str:
    return bytes(int(t) for t in np.asarray(tokens).ravel()).decode("utf-8", errors="replace")


def attention_mask(t: int, window: int | None = None) -> np.ndarray:
    """Boolean (t, t) array, True where query row i may attend to key column j."""
    i = np.arange(t)[:, None]
    j = np.arange(t)[None, :]
    allowed = j <= i
    if window is not None:
        if window < 1:
            raise ValueError("window must be >= 1")
        allowed &= j > i - window
    return allowed


def _log_softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


class CausalLM:
    """Byte-level pre-LN GPT; weights as float32 numpy arrays in ``self.params``."""

    def __init__(self, cfg: CausalLMConfig, params: dict[str, np.ndarray]):
        missing = set(param_names(cfg)) - set(params)
        if missing:
            raise ValueError(f"checkpoint lacks {sorted(missing)[:5]}...")
        self.cfg = cfg
        self.params = {k: np.asarray(v, dtype=np.float32) for k, v in params.items()}

    # ------------------------------------------------------------------ I/O
    @classmethod
    def load(cls, path: str | Path | None = None) -> "CausalLM":
        """Load a safetensors checkpoint (default: the committed ``data/causal_lm.safetensors``).

        The config is the JSON string under metadata key ``"config"``.
        """
        from safetensors import safe_open

        path = Path(path) if path is not None else DEFAULT_CHECKPOINT
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            params = {k: f.get_tensor(k) for k in f.keys()}
        if "config" not in meta:
            raise ValueError(f"{path}: no 'config' in safetensors metadata")
        return cls(CausalLMConfig.from_json(meta["config"]), params)

    def save(self, path: str | Path, dtype=np.float16, extra_metadata: dict | None = None) -> None:
        from safetensors.numpy import save_file

        meta = {"config": self.cfg.to_json(), **(extra_metadata or {})}
        save_file({k: np.ascontiguousarray(v.astype(dtype)) for k, v in self.params.items()},
                  str(path), metadata=meta)

    @property
    def n_params(self) -> int:
        return int(sum(v.size for v in self.params.values()))

    # -------------------------------------------------------------- forward
    def forward(self, tokens, ops=None, window: int | None = None) -> np.ndarray:
        """Logits (…, T, 256) for int tokens of shape (T,) or (B, T), T <= context."""
        ops = FP32Ops() if ops is None else ops
        cfg, P = self.cfg, self.params
        tok = np.asarray(tokens, dtype=np.int64)
        squeeze = tok.ndim == 1
        if squeeze:
            tok = tok[None]
        if tok.ndim != 2:
            raise ValueError("tokens must have shape (T,) or (B, T)")
        B, T = tok.shape
        if T > cfg.context:
            raise ValueError(f"sequence length {T} > context {cfg.context}")
        if T == 0:
            raise ValueError("empty token sequence")
        if tok.min() < 0 or tok.max() >= cfg.vocab_size:
            raise ValueError("token ids out of range")
        H, dh = cfg.n_heads, cfg.d_head
        scale = np.float32(1.0 / math.sqrt(dh))
        allowed = attention_mask(T, window)

        def heads(x):  # (B*T, d) -> (B, H, T, dh)
            return x.reshape(B, T, H, dh).transpose(0, 2, 1, 3)

        # Token-wise parts run on (B*T, d) rows: one GEMM per linear (numpy's stacked
        # matmul is much slower than a single 2-D BLAS call).
        h = (P["wte"][tok] + P["wpe"][:T]).reshape(B * T, cfg.d_model)
        for i in range(cfg.n_layers):
            p = f"layer{i}."
            a = ops.layernorm(h, P[p + "ln1.weight"], P[p + "ln1.bias"], cfg.ln_eps, p + "ln1")
            q = heads(ops.linear(a, P[p + "attn.q.weight"], P[p + "attn.q.bias"], p + "attn.q"))
            k = heads(ops.linear(a, P[p + "attn.k.weight"], P[p + "attn.k.bias"], p + "attn.k"))
            v = heads(ops.linear(a, P[p + "attn.v.weight"], P[p + "attn.v.bias"], p + "attn.v"))
            s = ops.matmul(q, k.swapaxes(-1, -2), p + "attn.scores") * scale
            s = np.where(allowed, s, np.float32(MASK_VALUE))
            pr = ops.softmax(s, p + "attn.softmax")
            c = ops.matmul(pr, v, p + "attn.context")  # (B, H, T, dh)
            c = c.transpose(0, 2, 1, 3).reshape(B * T, cfg.d_model)
            h = h + ops.linear(c, P[p + "attn.out.weight"], P[p + "attn.out.bias"], p + "attn.out")
            f = ops.layernorm(h, P[p + "ln2.weight"], P[p + "ln2.bias"], cfg.ln_eps, p + "ln2")
            f = ops.linear(f, P[p + "ffn.in.weight"], P[p + "ffn.in.bias"], p + "ffn.in")
            f = ops.gelu(f, p + "ffn.gelu")
            h = h + ops.linear(f, P[p + "ffn.out.weight"], P[p + "ffn.out.bias"], p + "ffn.out")
        h = ops.layernorm(h, P["ln_f.weight"], P["ln_f.bias"], cfg.ln_eps, "ln_f")
        logits = ops.linear(h, P["wte"], None, "lm_head").reshape(B, T, cfg.vocab_size)
        return logits[0] if squeeze else logits

    __call__ = forward

    # ----------------------------------------------------------- evaluation
    def nll(self, text_or_tokens, ops=None, window: int | None = None,
            max_tokens: int | None = None, stride: int | None = None,
            batch_size: int = 32) -> tuple[float, int]:
        """Summed negative log-likelihood (nats) and number of predicted tokens.

        See :meth:`perplexity` for the chunking.
        """
        tok = (encode(text_or_tokens) if isinstance(text_or_tokens, str)
               else np.asarray(text_or_tokens, dtype=np.int64).ravel())
        if max_tokens is not None:
            tok = tok[:max_tokens]
        n = len(tok)
        if n < 2:
            raise ValueError("need at least 2 tokens")
        ctx = self.cfg.context
        stride = ctx if stride is None else int(stride)
        if not 1 <= stride <= ctx:
            raise ValueError("stride must be in [1, context]")
        # Windows [b, b+L) of inputs predicting tok[b+1 : b+L+1]; score only targets
        # whose index >= first_new (not scored by an earlier window).
        jobs = []  # (begin, length, first scored offset in window)
        scored_to = 1  # next target index to score
        b = 0
        while scored_to < n:
            L = min(ctx, n - 1 - b)
            jobs.append((b, L, scored_to - 1 - b))
            scored_to = b + L + 1
            b += stride
            if b + 1 > scored_to - 1:  # never leave a gap
                b = scored_to - 1
        total, count = 0.0, 0
        for L in sorted({j[1] for j in jobs}):
            group = [j for j in jobs if j[1] == L]
            for g in range(0, len(group), batch_size):
                chunk = group[g:g + batch_size]
                x = np.stack([tok[b0:b0 + L] for b0, _, _ in chunk])
                y = np.stack([tok[b0 + 1:b0 + L + 1] for b0, _, _ in chunk])
                lp = _log_softmax(np.asarray(self.forward(x, ops=ops, window=window),
                                             dtype=np.float64))
                ll = np.take_along_axis(lp, y[..., None], axis=-1)[..., 0]
                for r, (_, _, off) in enumerate(chunk):
                    total -= float(ll[r, off:].sum())
                    count += L - off
        assert count == n - 1, (count, n)
        return total, count

    def perplexity(self, text, ops=None, window: int | None = None,
                   max_tokens: int | None = None, stride: int | None = None,
                   batch_size: int = 32) -> float:
        """Per-byte perplexity ``exp(mean NLL)`` of ``text`` (str, or int tokens).

        ``text`` is truncated to its first ``max_tokens`` bytes. Every byte after the
        first is predicted exactly once. With ``stride=None`` (default) the text is
        cut into non-overlapping chunks of ``context`` inputs (each chunk restarts
        with no history, so early positions in a chunk have short context). With
        ``stride < context`` windows of ``context`` inputs start every ``stride``
        bytes and only their last ``stride`` targets are scored (each scored byte
        then has at least ``context - stride`` bytes of history; slower).
        ``window`` is the sliding attention window passed to :meth:`forward`.
        """
        total, count = self.nll(text, ops=ops, window=window, max_tokens=max_tokens,
                                stride=stride, batch_size=batch_size)
        return math.exp(total / count)

    def generate(self, prompt: str, n: int = 100, ops=None, window: int | None = None,
                 temperature: float = 0.0, seed: int = 0) -> str:
        """Greedy (temperature 0) or sampled byte continuation of ``prompt`` (demo aid)."""
        rng = np.random.default_rng(seed)
        tok = list(encode(prompt)) or [10]
        for _ in range(n):
            logits = self.forward(np.array(tok[-self.cfg.context:]), ops=ops, window=window)[-1]
            if temperature <= 0:
                nxt = int(np.argmax(logits))
            else:
                pz = np.exp(_log_softmax(logits.astype(np.float64) / temperature))
                nxt = int(rng.choice(len(pz), p=pz / pz.sum()))
            tok.append(nxt)
        return decode(tok[len(encode(prompt)):] if prompt else tok[1:])


def load_corpus(split: str = "heldout") -> str:
    """Text of ``data/corpus/{train,heldout}.txt``."""
    if split not in ("train", "heldout"):
        raise ValueError("split must be 'train' or 'heldout'")
    return (CORPUS_DIR / f"{split}.txt").read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------
# The same model family as a Hugging Face ``transformers`` GPT-2 configuration (torch).
# GPT-2 is pre-LN with learned absolute positions and a tied LM head, like the numpy model
# above; ``activation_function="gelu"`` is the exact erf GELU and ``layer_norm_epsilon``
# 1e-5, so a numpy checkpoint maps onto it exactly (:func:`gpt2_from_numpy`). Its
# context (``n_positions``) is 1024 bytes, so a 1024-token gain-cell window is exercised.
GPT2_CHECKPOINT = Path(__file__).resolve().parent / "data" / "causal_lm_gpt2.safetensors"
GPT2_CONTEXT = 1024


def gpt2_config(cfg: CausalLMConfig = CausalLMConfig(), n_positions: int = GPT2_CONTEXT,
                dropout: float = 0.0):
    """``transformers.GPT2Config`` of the byte-level LM: vocabulary = the 256 byte values
    (no special tokens: the corpus is plain UTF-8 and no text needs a BOS/EOS id)."""
    from transformers import GPT2Config
    return GPT2Config(vocab_size=cfg.vocab_size, n_positions=n_positions,
                      n_embd=cfg.d_model, n_layer=cfg.n_layers, n_head=cfg.n_heads,
                      n_inner=cfg.d_ff, activation_function="gelu",
                      layer_norm_epsilon=cfg.ln_eps, resid_pdrop=dropout, embd_pdrop=dropout,
                      attn_pdrop=0.0, bos_token_id=None, eos_token_id=None,
                      pad_token_id=None, tie_word_embeddings=True)


def gpt2_from_numpy(lm: CausalLM, n_positions: int = GPT2_CONTEXT):
    """A ``GPT2LMHeadModel`` holding the numpy model's weights (float32). Positions beyond
    the numpy model's context start as copies of its last learned position (training
    then moves them). GPT-2's ``Conv1D`` stores ``W.T``; q/k/v are concatenated."""
    import torch
    from transformers import GPT2LMHeadModel
    m = GPT2LMHeadModel(gpt2_config(lm.cfg, n_positions))
    P = {k: torch.from_numpy(v.astype(np.float32)) for k, v in lm.params.items()}
    sd = {"transformer.wte.weight": P["wte"], "transformer.ln_f.weight": P["ln_f.weight"],
          "transformer.ln_f.bias": P["ln_f.bias"]}
    n_old = P["wpe"].shape[0]
    sd["transformer.wpe.weight"] = torch.cat(
        [P["wpe"], P["wpe"][-1:].expand(n_positions - n_old, -1)]) if n_positions > n_old \
        else P["wpe"][:n_positions]
    for i in range(lm.cfg.n_layers):
        p, h = f"layer{i}.", f"transformer.h.{i}."
        for a, b in (("ln1", "ln_1"), ("ln2", "ln_2")):
            sd[h + b + ".weight"], sd[h + b + ".bias"] = P[p + a + ".weight"], P[p + a + ".bias"]
        sd[h + "attn.c_attn.weight"] = torch.cat([P[p + f"attn.{n}.weight"].T for n in "qkv"], 1)
        sd[h + "attn.c_attn.bias"] = torch.cat([P[p + f"attn.{n}.bias"] for n in "qkv"])
        for a, b in (("attn.out", "attn.c_proj"), ("ffn.in", "mlp.c_fc"),
                     ("ffn.out", "mlp.c_proj")):
            sd[h + b + ".weight"] = P[p + a + ".weight"].T.contiguous()
            sd[h + b + ".bias"] = P[p + a + ".bias"]
    sd["lm_head.weight"] = P["wte"]
    missing, unexpected = m.load_state_dict(sd, strict=False)
    if unexpected or [k for k in missing if not k.endswith("attn.bias")]:
        raise ValueError(f"weight mapping incomplete: {missing} {unexpected}")
    return m


def save_gpt2(model, path: str | Path, metadata: dict[str, str] | None = None) -> None:
    """Write a GPT-2 model's weights (float32 safetensors; the tied LM head once) with
    its ``GPT2Config`` as JSON under metadata key ``"gpt2_config"``."""
    from safetensors.torch import save_file
    sd = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()
          if k != "lm_head.weight"}
    meta = {"gpt2_config": model.config.to_json_string(), **(metadata or {})}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file(sd, str(tmp), metadata=meta)
    tmp.replace(path)


def load_gpt2(path: str | Path | None = None, strict: bool = True):
    """(GPT2LMHeadModel in eval mode, metadata) from :func:`save_gpt2`'s file. Extra
    tensors (e.g. the gain-cell calibration of a fine-tuned model) are returned in
    ``metadata["extra_tensors"]`` rather than loaded."""
    from safetensors import SafetensorError, safe_open
    from transformers import GPT2Config, GPT2LMHeadModel
    path = Path(path) if path is not None else GPT2_CHECKPOINT
    if not path.is_file():
        raise InputError(f"{path}: no such checkpoint (see train_causal_lm.py)")
    try:   # safetensors holds tensors and a JSON header only: nothing is executed
        with safe_open(str(path), framework="pt") as f:
            meta = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError) as e:
        raise InputError(f"{path}: not a readable safetensors checkpoint ({e})") from None
    try:
        cfg = GPT2Config.from_dict(json.loads(meta["gpt2_config"]))
        dims = [int(cfg.vocab_size), int(cfg.n_positions), int(cfg.n_embd), int(cfg.n_layer)]
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"{path}: no valid 'gpt2_config' in the safetensors metadata "
                         f"({e})") from None
    # memory bounded by the file: the configuration may not describe a model larger than
    # the tensors it ships (a header could otherwise ask for any size)
    vocab, n_pos, d, layers = dims
    n_params = (vocab + n_pos) * d + layers * 12 * d * d
    n_file = sum(t.numel() for t in tensors.values())
    if min(dims) <= 0 or n_params > 1.5 * n_file + 1_000_000:
        raise InputError(f"{path}: its gpt2_config describes {n_params:,} parameters but "
                         f"the file holds {n_file:,}")
    m = GPT2LMHeadModel(cfg)
    own = set(m.state_dict())
    extra = {k: v for k, v in tensors.items() if k not in own}
    missing, _ = m.load_state_dict({k: v for k, v in tensors.items() if k in own},
                                   strict=False)
    missing = [k for k in missing if k != "lm_head.weight" and not k.endswith("attn.bias")]
    if strict and missing:
        raise InputError(f"{path}: checkpoint lacks {missing[:5]}")
    m.tie_weights()
    meta["extra_tensors"] = extra
    return m.eval(), meta


def corpus_tokens(split: str):
    """The corpus split as an int64 torch tensor of bytes."""
    import torch
    return torch.from_numpy(encode(load_corpus(split)).copy())


def gpt2_nll(model, tokens, context: int = GPT2_CONTEXT, batch: int = 4,
             max_tokens: int | None = None) -> tuple[float, int]:
    """Summed NLL (nats) and count over non-overlapping ``context``-byte chunks of
    ``tokens`` (each chunk starts without history, as :meth:`CausalLM.perplexity` with
    ``stride=None``). Only whole chunks are scored."""
    import torch
    import torch.nn.functional as F
    tok = tokens[:max_tokens] if max_tokens else tokens
    n = (len(tok) - 1) // context
    if n < 1:
        raise ValueError(f"need more than {context} tokens, got {len(tok)}")
    x = tok[:n * context].view(n, context)
    y = tok[1:n * context + 1].view(n, context)
    tot = 0.0
    with torch.no_grad():
        for i in range(0, n, batch):
            logits = model(input_ids=x[i:i + batch]).logits
            tot += F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(),
                                   y[i:i + batch].reshape(-1), reduction="sum").item()
    return tot, n * context


def gpt2_perplexity(model, tokens, **kw) -> float:
    total, count = gpt2_nll(model, tokens, **kw)
    return math.exp(total / count)
