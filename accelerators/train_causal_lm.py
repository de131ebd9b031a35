"""Train the byte-level causal LM as a ``transformers`` GPT-2 model (torch, CPU or GPU).

Writes ``accelerators/data/causal_lm_gpt2.safetensors`` (float32 weights, the
``GPT2Config`` and the run's settings in the metadata; read it with
:func:`imcspice.accelerators.causal_lm.load_gpt2`). The model is
:func:`~imcspice.accelerators.causal_lm.gpt2_config`: 4 layers, d_model 128, 4 heads of
32, d_ff 512, exact GELU, tied byte embedding, **1024 learned positions** (so a
1024-token gain-cell window, and the leakage over it, is exercised).

Two ways to start (``--init``):

- ``numpy`` (default, the shipped checkpoint): the weights of the numpy byte-LM
  ``data/causal_lm.safetensors`` (trained at context 128 by this script's numpy-era
  version, commit d006d8e: 1200 steps x 64 x 128 bytes), mapped exactly onto GPT-2 by
  :func:`~imcspice.accelerators.causal_lm.gpt2_from_numpy`; positions 128..1023 start
  as copies of position 127. Training on 1024-byte windows then extends the context.
  This is what makes the training affordable on 2 shared CPU cores.
- ``scratch``: GPT-2's own random initialization (needs ~10 M tokens, i.e. hours on
  2 cores; minutes on a GPU with ``--device cuda``).

The shipped checkpoint was produced on an NVIDIA H200 (docs/gpu.md) with::

    python accelerators/train_causal_lm.py --device cuda --threads 2 --steps 600 \
        --batch 16 --warmup 30

Measured for the shipped file (metadata holds the same): 600 x 16 x 1024 = 9.8 M tokens
(~8 passes over the 1.2 MB training text) in 10 s at 1.0 M tokens/s; held-out perplexity
at 1024 bytes of context 19.1 at the start (the copied positions) -> **4.20**, the numpy
model's 4.19 at 128 bytes now held over the whole 1024-byte window. The same command with
``--device cpu`` runs here at ~2-4 k tokens/s (about an hour on 2 quiet cores). The
checkpoint it replaces (80 x 2 x 1024 = 164 k tokens on 2 shared CPU cores) reached 11.3:
its positions 128..1023 were undertrained, and every gain-cell ratio measured against it
flattered the hardware (docs/gpu.md).

Data: random windows of ``context+1`` bytes of ``data/corpus/train.txt`` (seeded numpy
generator); held-out perplexity on non-overlapping 1024-byte chunks of
``data/corpus/heldout.txt`` (each chunk starts without history). Optimizer: AdamW
(betas 0.9/0.95, weight decay 0.1 on matrices), linear warm-up then cosine decay to
10 % of the peak rate, gradient clipping at 1.0. Seeded (torch, numpy).
"""
from __future__ import annotations

import argparse
import hashlib
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

try:
    from imcspice.accelerators import causal_lm as clm
except ImportError:  # run from a checkout without the editable install
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from imcspice.accelerators import causal_lm as clm  # type: ignore


def batches(data: np.ndarray, context: int, batch: int, rng: np.random.Generator):
    """Endless (x, y) pairs of random ``context``-byte windows and their next bytes."""
    while True:
        starts = rng.integers(0, len(data) - context - 1, size=batch)
        xy = torch.from_numpy(np.stack([data[s:s + context + 1] for s in starts])
                              .astype(np.int64))
        yield xy[:, :-1], xy[:, 1:]


def cosine_lr(step: int, steps: int, peak: float, warmup: int, time_frac: float = 0.0) -> float:
    """Linear warm-up over ``warmup`` steps, then a cosine from ``peak`` to 0.1 x peak at
    the later of the step fraction and ``time_frac`` (a wall-clock budget's spent
    fraction, 0 without one)."""
    if step < warmup:
        return peak * (step + 1) / warmup
    t = min(1.0, max((step - warmup) / max(1, steps - warmup), time_frac))
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t)))


def make_optimizer(model, lr: float) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    rest = [p for p in params if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                              {"params": rest, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.95))


def train_loop(model, steps: int, batch: int, context: int, lr: float, warmup: int,
               seed: int, device: str = "cpu", log_every: int = 10, label: str = "train",
               data: np.ndarray | None = None, opt: torch.optim.Optimizer | None = None,
               teacher=None, distill: float = 0.0, val_x: torch.Tensor | None = None,
               val_every: int = 0, after_step=None, max_seconds: float | None = None,
               average_decay: float = 0.0) -> dict:
    """Train ``model`` (any module returning ``.logits`` from ``input_ids``) on the
    training corpus; returns {losses, seconds, tokens_per_s}. ``opt``: an optimizer
    whose groups carry ``base_lr`` (default: AdamW over all parameters at ``lr``).
    ``teacher`` (a frozen model) with ``distill`` > 0: the loss is the cross entropy
    plus ``distill`` x KL(teacher || model) per token (knowledge distillation: every
    byte's full next-byte distribution is a target, not only the observed byte);
    ``losses`` are the cross entropies alone. ``val_x`` (training-text sequences) with
    ``val_every`` > 0: the cross entropy on ``val_x`` is measured before training and
    every ``val_every`` steps, and the model ends on the lowest one (``val_losses``,
    ``val_best_step`` in the result): with one noisy sequence per step a late update
    can undo the gain, and the held-out text is never looked at. ``after_step(k)`` is
    called after the k-th optimizer step (k = 1 .. steps; e.g. a learning curve).
    ``max_seconds`` > 0: a wall-clock budget for the loop: the schedule's cosine follows
    the later of the step and the time fraction, and the loop ends after the step that
    spends the budget, so a run sized by time still anneals (``steps`` is then an upper
    bound; ``len(losses)`` the steps done). ``average_decay`` d in (0, 1) with validation:
    an exponential moving average of the trained parameters (Polyak averaging, a ~1/(1-d)
    step horizon; a = d a + (1 - d) w after each step, starting from the initial
    weights) is scored at each validation too (``val_losses_average``), and the model
    ends on whichever of iterates and averages scored lowest (``val_best_weights``:
    "iterate" or "average"): one noisy sequence per step moves the calibration loss of
    consecutive iterates by ~0.03 nats late in a run, which an average smooths."""
    data = clm.encode(clm.load_corpus("train")) if data is None else data
    rng = np.random.default_rng(seed)
    opt = opt or make_optimizer(model, lr)
    for g in opt.param_groups:
        g.setdefault("base_lr", lr)
    model.train()
    it = batches(data, context, batch, rng)
    losses, t0 = [], time.perf_counter()
    val: list = []
    val_avg: list = []
    best = (float("inf"), None, 0, "iterate")
    validating = val_x is not None and val_every > 0
    if average_decay and not (0.0 < average_decay < 1.0):
        raise ValueError(f"average_decay {average_decay}: give a decay in (0, 1)")
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    avg = ({n: p.detach().clone() for n, p in params.items()}
           if average_decay and validating else None)

    def score(step: int, kind: str) -> float:
        nonlocal best
        model.eval()
        with torch.no_grad():
            lg = model(input_ids=val_x[:, :-1].to(device)).logits
            v = float(F.cross_entropy(lg.reshape(-1, lg.shape[-1]),
                                      val_x[:, 1:].to(device).reshape(-1)))
        model.train()
        if v < best[0]:
            best = (v, {k: t.detach().clone() for k, t in model.state_dict().items()}, step,
                    kind)
        return v

    def validate(step: int):
        val.append((step, score(step, "iterate")))
        msg = f"validation loss {val[-1][1]:.4f}"
        if avg is not None and step > 0:        # (at step 0 the average is the iterate)
            live = {n: p.detach().clone() for n, p in params.items()}
            with torch.no_grad():
                for n, a in avg.items():
                    params[n].copy_(a)
                val_avg.append((step, score(step, "average")))
                for n, w in live.items():
                    params[n].copy_(w)
            msg += f", average {val_avg[-1][1]:.4f}"
        if log_every:
            print(f"[{label}] after {step} steps: {msg}", flush=True)

    if validating:
        validate(0)
    budget = max_seconds if max_seconds and max_seconds > 0 else None
    for step in range(steps):
        spent = (time.perf_counter() - t0) / budget if budget else 0.0
        if spent >= 1.0:
            break
        for g in opt.param_groups:
            g["lr"] = cosine_lr(step, steps, g["base_lr"], warmup, spent)
        x, y = next(it)
        logits = model(input_ids=x.to(device)).logits
        logits = logits.reshape(-1, logits.shape[-1])
        loss = F.cross_entropy(logits, y.to(device).reshape(-1))
        total = loss
        if teacher is not None and distill > 0:
            with torch.no_grad():
                t_logp = F.log_softmax(teacher(input_ids=x.to(device)).logits, -1)
            total = loss + distill * F.kl_div(F.log_softmax(logits, -1),
                                              t_logp.reshape(logits.shape),
                                              log_target=True, reduction="batchmean")
        opt.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if avg is not None:
            with torch.no_grad():
                for n, a in avg.items():
                    a.lerp_(params[n].detach(), 1.0 - average_decay)
        if after_step is not None:
            after_step(step + 1)
        losses.append(loss.item())
        if log_every and ((step + 1) % log_every == 0 or step == 0):
            dt = time.perf_counter() - t0
            print(f"[{label}] step {step + 1:4d}/{steps}  loss {loss.item():.4f}  "
                  f"{dt:6.1f} s  {(step + 1) * batch * context / dt:7.0f} tok/s", flush=True)
        if val and ((step + 1) % val_every == 0 or step + 1 == steps):
            validate(step + 1)
    if val and val[-1][0] != len(losses):    # ended by the budget between validations
        validate(len(losses))
    model.eval()
    dt = time.perf_counter() - t0
    out = {"losses": losses, "seconds": dt,
           "tokens_per_s": len(losses) * batch * context / dt if dt > 0 else None}
    if val:
        model.load_state_dict(best[1])
        out.update(val_losses=val, val_best_step=best[2], val_best_weights=best[3])
        if avg is not None:
            out.update(val_losses_average=val_avg, average_decay=average_decay)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="Train the byte-level GPT-2 causal LM.")
    ap.add_argument("--init", choices=("numpy", "scratch"), default="numpy")
    ap.add_argument("--steps", type=int, default=80)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--context", type=int, default=clm.GPT2_CONTEXT)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--out", type=Path, default=clm.GPT2_CHECKPOINT)
    args = ap.parse_args(argv)

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    if args.init == "numpy":
        model = clm.gpt2_from_numpy(clm.CausalLM.load(), args.context)
    else:
        from transformers import GPT2LMHeadModel
        model = GPT2LMHeadModel(clm.gpt2_config(n_positions=args.context))
    model.to(args.device)
    held = clm.corpus_tokens("heldout").to(args.device)
    n_params = sum(p.numel() for p in model.parameters())
    ppl0 = clm.gpt2_perplexity(model, held, context=args.context)
    print(f"GPT-2 byte LM: {n_params} parameters; held-out perplexity at start "
          f"({args.init}) {ppl0:.3f}", flush=True)
    r = train_loop(model, args.steps, args.batch, args.context, args.lr, args.warmup,
                   args.seed, args.device)
    ppl = clm.gpt2_perplexity(model, held, context=args.context)
    print(f"done: {r['seconds']:.0f} s, {r['tokens_per_s']:.0f} tokens/s, held-out "
          f"perplexity {ppl:.3f}", flush=True)
    meta = {"init": args.init, "steps": str(args.steps), "batch": str(args.batch),
            "context": str(args.context), "lr": str(args.lr), "seed": str(args.seed),
            "threads": str(args.threads), "device": args.device, "torch": torch.__version__,
            "train_seconds": f"{r['seconds']:.0f}", "tokens_per_s": f"{r['tokens_per_s']:.0f}",
            "heldout_ppl_start": f"{ppl0:.4f}", "heldout_ppl_fp32": f"{ppl:.4f}",
            "final_train_loss": f"{np.mean(r['losses'][-20:]):.4f}",
            "corpus_train_sha256": hashlib.sha256(
                (clm.CORPUS_DIR / "train.txt").read_bytes()).hexdigest(),
            "command": "accelerators/train_causal_lm.py " + " ".join(argv or sys.argv[1:])}
    clm.save_gpt2(model.cpu(), args.out, meta)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)", flush=True)


if __name__ == "__main__":
    main()
