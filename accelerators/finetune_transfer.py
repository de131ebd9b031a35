"""Attention transfer (stage "1a" of :mod:`.finetune`): each layer's gain-cell attention
is trained to reproduce the FP32 model's softmax attention output, layer by layer with
teacher-forced inputs, before end-to-end training.

The idea is LoLCATs' stage 1 (Zhang et al. 2024, "LoLCATs: On Low-Rank Linearizing of
Large Language Models"; cf. Hedgehog, Zhang et al. 2024, which matches the attention
weights instead): the end-to-end language-model loss gives the softmax-free attention
only weak, indirect gradients (docs/gpu.md, "Can the attention form learn"), whereas a
per-layer regression target gives every layer a direct one. Here, on every step, for
every layer at once:

- the frozen FP32 model runs on a batch of training text and its attention modules'
  inputs ``h_l`` (the ln_1 outputs) and outputs ``y_l`` (after W_o) are captured;
- the hardware model's attention module ``l`` (its own W_q, W_k, W_v, W_o with biases
  and its scale/offset pairs, on the physics it is set to: quantizers, straight-through
  estimators, clamps, readout, cells, window and tile sum unchanged) runs on ``h_l``;
- the loss is ``mean_l  mean((att_l(h_l) - y_l)^2) / var(y_l)`` (the relative MSE:
  1.0 is what the constant mean output scores), so the layers are independent.

Only the attention modules' parameters train (AdamW, the stage's rates: ``lr`` for the
projections, weight decay 0.1 on matrices, ``pair_lr`` for the pairs; warm-up then
cosine, gradient clip 1.0); embeddings, layer norms, MLPs and head are not touched.

Diagnostic (CPU, from the cached range-calibrated stage 0 of :mod:`.finetune_ablation`;
per-layer relative MSE and perplexity on the held-out chunks, attention alive and
zeroed; then optional end-to-end stage-1 steps as the ablation's protocol)::

    python -m imcspice.accelerators.finetune_transfer --variant hardware --steps 300 \
        --e2e-steps 60 --stage0 /tmp/gcf/stage0.pt --out /tmp/gcx/hardware.json
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path


class _Stop(Exception):
    pass


def _stop(*_args):
    raise _Stop


def attention_io(teacher, x) -> list[tuple]:
    """Per layer (input, output) of the FP32 ``teacher``'s attention modules on token
    ids ``x`` (B, T): the teacher-forced input and the target, (B, T, C) each."""
    import torch

    from .gaincell_torch import attention_modules
    mods = attention_modules(teacher)
    box: dict = {}
    hooks = []
    for i, m in enumerate(mods):
        hooks.append(m.register_forward_pre_hook(
            lambda mod, args, kw, i=i: box.__setitem__(("in", i), (args[0] if args else
                                                                   kw["hidden_states"])),
            with_kwargs=True))
        hooks.append(m.register_forward_hook(
            lambda mod, args, out, i=i: box.__setitem__(("out", i), out[0])))
        if i == len(mods) - 1:   # nothing after the last attention module is needed
            hooks.append(m.register_forward_hook(_stop))
    was = teacher.training
    teacher.eval()
    try:
        with torch.no_grad():
            teacher(input_ids=x)
    except _Stop:
        pass
    finally:
        for h in hooks:
            h.remove()
        teacher.train(was)
    return [(box[("in", i)].detach(), box[("out", i)].detach()) for i in range(len(mods))]


def layer_errors(model, io) -> list:
    """Per layer relative MSE ``mean((att_l(h_l) - y_l)^2) / var(y_l)`` (tensors, with
    gradient when enabled) of ``model``'s attention modules on the captured ``io``."""
    from .gaincell_torch import attention_modules
    out = []
    for m, (h, y) in zip(attention_modules(model), io):
        pred = m(h)[0]
        out.append(((pred - y) ** 2).mean() / y.var().clamp_min(1e-12))
    return out


def attention_parameters(model) -> list:
    """(name, parameter) of every attention module (projections, biases, pairs)."""
    from .gaincell_torch import attention_modules
    return [(f"{i}.{n}", p) for i, m in enumerate(attention_modules(model))
            for n, p in m.named_parameters()]


def relative_errors(model, teacher, x, batch: int = 2) -> list[float]:
    """Per layer relative MSE on token ids ``x`` (rows scored ``batch`` at a time, no
    gradient; each row's squared error over the whole set's target variance)."""
    import torch

    from .gaincell_torch import attention_modules
    num, den, n = None, None, 0
    with torch.no_grad():
        for r in range(0, len(x), batch):
            io = attention_io(teacher, x[r:r + batch])
            se = [float(((m(h)[0] - y) ** 2).sum()) for m, (h, y) in
                  zip(attention_modules(model), io)]
            ys = [(float(y.sum()), float((y ** 2).sum())) for _, y in io]
            num = se if num is None else [a + b for a, b in zip(num, se)]
            den = ys if den is None else [(a + c, b + d) for (a, b), (c, d) in zip(den, ys)]
            n += io[0][1].numel()
    return [e / (s2 - s1 * s1 / n) for e, (s1, s2) in zip(num, den)]


def transfer(model, teacher, steps: int, s, progress: bool = True, log_every: int = 10,
             data=None) -> dict:
    """``steps`` attention-transfer steps on ``model`` (a converted gain-cell model) toward
    the frozen FP32 ``teacher`` (same architecture, unconverted), batches of ``s.batch``
    random ``s.context``-byte training windows (seed ``s.seed``; ``data``: the byte
    array, default the training corpus). Returns {losses (mean relative MSE per step),
    seconds, tokens_per_s}."""
    import numpy as np
    import torch

    from . import causal_lm as clm
    from .finetune import optimizer
    from .train_causal_lm import batches, cosine_lr
    if steps <= 0:
        return {"losses": [], "seconds": 0.0, "tokens_per_s": None}
    params = attention_parameters(model)
    opt = optimizer(params, s)
    data = clm.encode(clm.load_corpus("train")) if data is None else data
    it = batches(data, s.context, s.batch, np.random.default_rng(s.seed))
    was = model.training
    model.eval()   # no dropout: the target is the deterministic FP32 output
    losses, t0 = [], time.perf_counter()
    try:
        for step in range(steps):
            for g in opt.param_groups:
                g["lr"] = cosine_lr(step, steps, g["base_lr"], s.warmup)
            io = attention_io(teacher, next(it)[0].to(s.device))
            errs = layer_errors(model, io)
            loss = torch.stack(errs).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for _, p in params], 1.0)
            opt.step()
            losses.append([float(e.detach()) for e in errs])
            if log_every and progress and (step + 1) % log_every == 0:
                recent = np.mean(losses[-log_every:], axis=0)
                print(f"[transfer] step {step + 1}/{steps}: relative MSE per layer "
                      f"{np.round(recent, 4).tolist()} ({time.perf_counter() - t0:.0f} s)",
                      flush=True)
    finally:
        model.train(was)
    sec = time.perf_counter() - t0
    return {"losses": losses, "seconds": sec,
            "tokens_per_s": steps * s.batch * s.context / sec if steps else None}


def run(variant: str, steps: int, e2e_steps: int, s, stage0_cache: Path | None,
        transfer_cache: Path | None = None, progress: bool = True) -> dict:
    """The diagnostic (module doc): stage 0 from the cache, ``steps`` of transfer (or
    the transferred state from ``transfer_cache``, written when missing) in the
    ``variant``'s form (:data:`.finetune_ablation.VARIANTS`), then ``e2e_steps`` of
    end-to-end stage 1 in the same form (distillation ``s.distill``)."""
    import copy

    import torch

    from . import causal_lm as clm
    from .finetune import perplexity, train_stage
    from .finetune_ablation import form, stage0
    from .finetune_resume import attention_zeroed
    from .gaincell_physics import GainCellPhysics
    from .gaincell_torch import set_physics
    torch.manual_seed(s.seed)
    model, _ = clm.load_gpt2()
    held = clm.corpus_tokens("heldout")
    n = (s.eval_tokens - 1) // s.context
    held_x = held[:n * s.context].view(n, s.context)
    res = {"variant": variant, "transfer_steps": steps, "e2e_steps": e2e_steps,
           "settings": {k: getattr(s, k) for k in (
               "batch", "context", "lr", "pair_lr", "warmup", "distill", "seed", "eval_tokens")}}
    res["fp32"] = perplexity(model, held, s)
    teacher = copy.deepcopy(model).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    phys = GainCellPhysics.from_arch()
    stage0(model, phys, s, stage0_cache)
    set_physics(model, form(phys, variant))

    def row(label, **extra):
        r = {"stage": label, "perplexity": perplexity(model, held, s),
             "attention_zeroed": attention_zeroed(model, held, s),
             "relative_mse_heldout": relative_errors(model, teacher, held_x), **extra}
        if progress:
            print(f"[transfer] {variant} {label}: perplexity {r['perplexity']:.3f} (attention "
                  f"zeroed {r['attention_zeroed']:.3f}); held-out relative MSE per layer "
                  f"{[round(e, 4) for e in r['relative_mse_heldout']]}", flush=True)
        return r

    rows = [row("stage 0")]
    if transfer_cache is not None and transfer_cache.exists():
        model.load_state_dict(torch.load(transfer_cache, weights_only=True))
        rows.append(row(f"transfer (cached {transfer_cache})"))
    elif steps:
        out = transfer(model, teacher, steps, s, progress)
        if transfer_cache is not None:
            transfer_cache.parent.mkdir(parents=True, exist_ok=True)
            torch.save(model.state_dict(), transfer_cache)
        rows.append(row(f"transfer {steps}", seconds=out["seconds"], losses=out["losses"]))
    if e2e_steps:
        t0 = time.perf_counter()
        out = train_stage(model, e2e_steps, s, f"{variant} e2e", progress,
                          teacher if s.distill > 0 else None)
        rows.append(row(f"end-to-end {e2e_steps}", seconds=time.perf_counter() - t0,
                        losses=out["losses"]))
    res["rows"] = rows
    return res


def main(argv=None) -> None:
    from .finetune_ablation import VARIANTS, diagnostic_args, diagnostic_settings, write_result
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variant", choices=[v for v in VARIANTS if v != "none"],
                    default="hardware")
    ap.add_argument("--steps", type=int, default=300, help="transfer steps")
    ap.add_argument("--e2e-steps", type=int, default=0, help="end-to-end stage-1 steps after")
    ap.add_argument("--transfer-cache", type=Path, default=None,
                    help="transferred state (.pt): loaded if present, else written")
    diagnostic_args(ap)
    a = ap.parse_args(argv)
    s = diagnostic_settings(a)
    write_result(run(a.variant, a.steps, a.e2e_steps, s, a.stage0, a.transfer_cache), a.out)


if __name__ == "__main__":
    main()
