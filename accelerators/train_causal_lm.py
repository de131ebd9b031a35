"""Train the small byte-level causal LM of :mod:`imcspice.accelerators.causal_lm` (needs torch).

torch is not a project dependency; install the CPU wheel into the venv first::

    /work/venv/bin/pip install torch==2.13.0        # the local +cpu wheel, no CUDA

The committed checkpoint ``accelerators/data/causal_lm.safetensors`` was produced with::

    /work/venv/bin/python accelerators/train_causal_lm.py --steps 1200 --seed 0

(torch 2.13.0+cpu, 2 threads, 1200 steps x 64 x 128 bytes = 9.8 M tokens, ~8 epochs).
Here it took 34 min 49 s wall (2070 s in the training loop, 1712 s CPU user time, peak
RSS 1.0 GB) because the 2 cores were shared with other jobs (load average ~5); an
uncontended step takes 0.35-0.45 s, so ~8-9 min on an idle 2-core machine. Result:
train perplexity 3.97 (first 1000 chunks), held-out 4.19 (float32) / 4.18 (numpy,
float16 weights), vs 25.5 for a unigram model; 842,496 parameters, 1.69 MB checkpoint.
Determinism: an earlier start with another --steps logged identical losses through the
shared warm-up (steps 1-200), i.e. same seed -> same batches and updates on this machine.

Architecture: identical to ``causal_lm.py`` (pre-LN GPT, learned absolute positions,
erf GELU, LayerNorm eps 1e-5, separate q/k/v/out projections with biases, LM head tied
to the byte embedding), so the numpy forward reproduces the torch logits up to the
float16 rounding of the stored weights (checked at the end of training and printed:
max |logit difference| 2.3e-05 for the committed checkpoint).

Data: random windows of ``context+1`` bytes from ``data/corpus/train.txt`` (seeded
numpy generator); held-out loss on non-overlapping chunks of ``data/corpus/heldout.txt``.
Optimiser: AdamW (betas 0.9/0.95, weight decay 0.1 on matrices only), linear warm-up then
cosine decay to 10 % of the peak LR, gradient clipping at 1.0, residual/embedding
dropout 0.1 (training only).
Everything is seeded (torch, numpy); ``torch.use_deterministic_algorithms(True)`` and a
fixed thread count make a rerun on the same machine reproduce the losses.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from pathlib import Path

import numpy as np


def _keep_freed_memory() -> None:
    """Ask glibc malloc not to hand freed buffers back to the OS.

    On this (virtualised) machine, torch's large per-step temporaries were otherwise
    unmapped and faulted back in, making some steps ~10x slower (0.3 s -> 2.5 s).
    """
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-1, 1 << 34)   # M_TRIM_THRESHOLD
        libc.mallopt(-2, 1 << 30)   # M_TOP_PAD
        libc.mallopt(-3, 1 << 25)   # M_MMAP_THRESHOLD (glibc maximum, 32 MiB)
    except (OSError, AttributeError):
        pass


_keep_freed_memory()

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

try:
    from imcspice.accelerators.causal_lm import (CORPUS_DIR, DEFAULT_CHECKPOINT, CausalLM,
                                                 CausalLMConfig, param_names)
except ImportError:  # run from a checkout without the editable install
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from accelerators.causal_lm import (CORPUS_DIR, DEFAULT_CHECKPOINT, CausalLM,  # type: ignore
                                        CausalLMConfig, param_names)


class Block(nn.Module):
    def __init__(self, cfg: CausalLMConfig, dropout: float):
        super().__init__()
        d = cfg.d_model
        self.cfg = cfg
        self.ln1 = nn.LayerNorm(d, eps=cfg.ln_eps)
        self.q, self.k, self.v, self.out = (nn.Linear(d, d) for _ in range(4))
        self.ln2 = nn.LayerNorm(d, eps=cfg.ln_eps)
        self.ffn_in = nn.Linear(d, cfg.d_ff)
        self.ffn_out = nn.Linear(cfg.d_ff, d)
        self.drop = nn.Dropout(dropout)  # residual dropout only (keeps the fast SDPA path)

    def forward(self, h):
        B, T, d = h.shape
        H, dh = self.cfg.n_heads, self.cfg.d_head
        a = self.ln1(h)
        q, k, v = (m(a).view(B, T, H, dh).transpose(1, 2) for m in (self.q, self.k, self.v))
        c = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # softmax(qk^T/sqrt(dh))v
        h = h + self.drop(self.out(c.transpose(1, 2).reshape(B, T, d)))
        f = self.ffn_out(F.gelu(self.ffn_in(self.ln2(h))))  # exact erf GELU
        return h + self.drop(f)


class TorchCausalLM(nn.Module):
    def __init__(self, cfg: CausalLMConfig, dropout: float = 0.1):
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.wpe = nn.Embedding(cfg.context, cfg.d_model)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(cfg, dropout) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model, eps=cfg.ln_eps)
        self.apply(self._init)
        for b in self.blocks:  # GPT-2 scaled init of residual projections
            for m in (b.out, b.ffn_out):
                nn.init.normal_(m.weight, 0.0, 0.02 / math.sqrt(2 * cfg.n_layers))

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, 0.0, 0.02)

    def forward(self, tok):
        T = tok.shape[1]
        h = self.drop(self.wte(tok) + self.wpe(torch.arange(T, device=tok.device)))
        for b in self.blocks:
            h = b(h)
        return self.ln_f(h) @ self.wte.weight.T  # tied LM head

    # mapping to the numpy checkpoint names
    def numpy_params(self) -> dict[str, np.ndarray]:
        sd = {"wte": self.wte.weight, "wpe": self.wpe.weight,
              "ln_f.weight": self.ln_f.weight, "ln_f.bias": self.ln_f.bias}
        for i, b in enumerate(self.blocks):
            p = f"layer{i}."
            for name, mod in (("ln1", b.ln1), ("attn.q", b.q), ("attn.k", b.k), ("attn.v", b.v),
                              ("attn.out", b.out), ("ln2", b.ln2), ("ffn.in", b.ffn_in),
                              ("ffn.out", b.ffn_out)):
                sd[p + name + ".weight"] = mod.weight
                sd[p + name + ".bias"] = mod.bias
        out = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in sd.items()}
        assert sorted(out) == sorted(param_names(self.cfg))
        return out

    def load_numpy_params(self, params: dict[str, np.ndarray]) -> None:
        cur = self.numpy_params()
        with torch.no_grad():
            named = dict(self._named_tensors())
            for k in cur:
                named[k].copy_(torch.from_numpy(np.asarray(params[k], dtype=np.float32)))

    def _named_tensors(self):
        yield "wte", self.wte.weight
        yield "wpe", self.wpe.weight
        yield "ln_f.weight", self.ln_f.weight
        yield "ln_f.bias", self.ln_f.bias
        for i, b in enumerate(self.blocks):
            for name, mod in (("ln1", b.ln1), ("attn.q", b.q), ("attn.k", b.k), ("attn.v", b.v),
                              ("attn.out", b.out), ("ln2", b.ln2), ("ffn.in", b.ffn_in),
                              ("ffn.out", b.ffn_out)):
                yield f"layer{i}.{name}.weight", mod.weight
                yield f"layer{i}.{name}.bias", mod.bias


def load_bytes(split: str) -> np.ndarray:
    return np.frombuffer((CORPUS_DIR / f"{split}.txt").read_bytes(), dtype=np.uint8)


@torch.no_grad()
def eval_loss(model: TorchCausalLM, data: np.ndarray, max_chunks: int | None = None) -> float:
    """Mean NLL (nats/byte) over non-overlapping chunks (as CausalLM.perplexity, stride=None)."""
    model.eval()
    ctx = model.cfg.context
    n_chunks = (len(data) - 1) // ctx
    if max_chunks is not None:
        n_chunks = min(n_chunks, max_chunks)
    x = torch.from_numpy(data[:n_chunks * ctx].astype(np.int64)).view(n_chunks, ctx)
    y = torch.from_numpy(data[1:n_chunks * ctx + 1].astype(np.int64)).view(n_chunks, ctx)
    tot = 0.0
    for i in range(0, n_chunks, 64):
        logits = model(x[i:i + 64])
        tot += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y[i:i + 64].reshape(-1),
                               reduction="sum").item()
    model.train()
    return tot / (n_chunks * ctx)


def save(model: TorchCausalLM, args, cfg: CausalLMConfig, extra: dict[str, str]) -> None:
    """Write the weights as a float16 safetensors checkpoint with config + run metadata."""
    meta = {
        "train_steps": str(args.steps), "seed": str(args.seed), "batch": str(args.batch),
        "lr": str(args.lr), "dropout": str(args.dropout), "torch": torch.__version__,
        "corpus_sha256": json.dumps({s: hashlib.sha256((CORPUS_DIR / f"{s}.txt").read_bytes())
                                     .hexdigest() for s in ("train", "heldout")}),
        "tokenizer": "utf-8 bytes 0..255", **extra,
    }
    np_model = CausalLM(cfg, model.numpy_params())
    meta["n_params"] = str(np_model.n_params)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    np_model.save(tmp, dtype=np.float16, extra_metadata=meta)
    tmp.replace(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, float16) {extra}", flush=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="Train the byte-level causal LM (torch, CPU).")
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--out", type=Path, default=DEFAULT_CHECKPOINT)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--log-every", type=int, default=100)
    ap.add_argument("--no-save-partial", dest="save_partial", action="store_false",
                    help="do not overwrite --out with a checkpoint at each evaluation")
    args = ap.parse_args(argv)

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(args.seed)

    cfg = CausalLMConfig()
    train, held = load_bytes("train"), load_bytes("heldout")
    model = TorchCausalLM(cfg, dropout=args.dropout)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"config {cfg.to_json()}  params {n_params}  train {len(train)} B  heldout {len(held)} B",
          flush=True)

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))

    def lr_at(step):
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        t = (step - args.warmup) / max(1, args.steps - args.warmup)
        return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))

    ctx = cfg.context
    t0 = time.time()
    run_loss = None
    for step in range(args.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        starts = rng.integers(0, len(train) - ctx - 1, size=args.batch)
        xy = torch.from_numpy(np.stack([train[s:s + ctx + 1] for s in starts]).astype(np.int64))
        logits = model(xy[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, cfg.vocab_size), xy[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        run_loss = loss.item() if run_loss is None else 0.95 * run_loss + 0.05 * loss.item()
        if (step + 1) % args.log_every == 0 or step == 0:
            print(f"step {step + 1:5d}  loss {loss.item():.4f}  (ema {run_loss:.4f}, "
                  f"ppl {math.exp(run_loss):.3f})  lr {lr_at(step):.2e}  {time.time() - t0:6.1f}s",
                  flush=True)
        if (step + 1) % args.eval_every == 0 and step + 1 < args.steps:
            hl = eval_loss(model, held)
            print(f"  heldout loss {hl:.4f}  ppl {math.exp(hl):.3f}", flush=True)
            if args.save_partial:  # a usable checkpoint even if the run is stopped
                save(model, args, cfg, {"partial_step": str(step + 1),
                                        "heldout_ppl_fp32": f"{math.exp(hl):.4f}",
                                        "train_seconds": f"{time.time() - t0:.0f}"})
    train_time = time.time() - t0

    model.eval()
    tr_l = eval_loss(model, train, max_chunks=1000)
    hl = eval_loss(model, held)
    print(f"done in {train_time:.1f}s: train(first 1000 chunks) ppl {math.exp(tr_l):.3f}  "
          f"heldout ppl {math.exp(hl):.3f}", flush=True)

    save(model, args, cfg, {"train_seconds": f"{train_time:.0f}",
                            "train_ppl_fp32": f"{math.exp(tr_l):.4f}",
                            "heldout_ppl_fp32": f"{math.exp(hl):.4f}"})

    # Check: numpy forward of the stored (float16) weights == torch forward of the same weights.
    loaded = CausalLM.load(args.out)
    model.load_numpy_params(loaded.params)
    model.eval()
    x = torch.from_numpy(held[:4 * ctx].astype(np.int64)).view(4, ctx)
    with torch.no_grad():
        ref = model(x).numpy()
    got = loaded.forward(x.numpy())
    print(f"numpy vs torch max |dlogit| = {np.abs(ref - got).max():.2e}", flush=True)
    print(f"heldout ppl (numpy, float16 weights): {loaded.perplexity(held.tobytes().decode()):.3f}",
          flush=True)


if __name__ == "__main__":
    main()
