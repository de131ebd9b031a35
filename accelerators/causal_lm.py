"""The byte-level causal LM: a Hugging Face ``transformers`` GPT-2 configuration
(:func:`gpt2_config`), its weights (:func:`load_gpt2`, :func:`save_gpt2`; shipped as
``data/causal_lm_gpt2.safetensors``, trained by ``accelerators/train_causal_lm.py``),
its perplexity (:func:`gpt2_perplexity`), the byte encoding (:func:`encode`,
:func:`decode`) and the corpus (:func:`load_corpus`: docstrings of the CPython 3.11
standard library, ``data/corpus/``).

Workload for evaluating gain-cell attention hardware (Leroux et al., "Analog in-memory
computing attention mechanism for fast and energy-efficient LLMs"): the FP32 reference
is the unconverted GPT-2; :mod:`.gaincell_torch` puts its attention on gain cells.

Model (GPT-2, pre-LayerNorm, learned absolute positions, tied LM head)::

    tokens: bytes 0..255 (UTF-8 of the text; no vocabulary file)
    4 layers, d_model 128, 4 heads of 32, d_ff 512, exact (erf) GELU, LN eps 1e-5,
    1024 positions

:class:`CausalLM` is only the container of the numpy-era checkpoint
(``data/causal_lm.safetensors``, trained at context 128) that the shipped GPT-2 started
from (``train_causal_lm.py --init numpy``, :func:`gpt2_from_numpy`). Its numpy forward
pass, and the numpy gain-cell operators run on it, were retired (issue 12): one
implementation of the network, the transformers one.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "data" / "causal_lm.safetensors"
CORPUS_DIR = Path(__file__).resolve().parent / "data" / "corpus"


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


class CausalLM:
    """The numpy-era checkpoint: its config and weights (float32 numpy arrays in
    ``self.params``), mapped onto GPT-2 by :func:`gpt2_from_numpy`."""

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
    ``tokens`` (each chunk starts without history). Only whole chunks are scored."""
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
