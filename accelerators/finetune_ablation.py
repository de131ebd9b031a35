"""Diagnostic: can the softmax-free gain-cell attention form learn without its quantizers?

Stage 1 of :mod:`.finetune` (linear cells, range-calibrated stage 0) trained with one
attention form, then scored on the held-out text with the attention alive and zeroed
(``ao = bo = 0``). Forms (``--variant``):

- ``hardware``: the published machine (4-bit Q, 3-bit K/V, 5-bit scores and per-tile
  readout, linear cells with the characterized retention): stage 1 as shipped;
- ``float``: every quantizer off (:meth:`.gaincell_torch.GainCellPhysics.unquantized`),
  clamps, readout clip, window and tile sum kept; linear cells holding their level;
- ``float_noclip``: as ``float``, each tile output's ±1 clamp also off;
- ``none``: every attention output is 0 (the floor: what training reaches around no
  attention at all).

Stage 0 is the hardware one in every case (range calibration on the quantized linear
model, output pairs by least squares), cached in ``--stage0`` so every form starts from
the same weights and pairs. ``--steps N --rounds R``: R rounds of N steps, each with a
fresh optimizer and warm-up and batches of seed ``seed + round`` (docs/gpu.md's 60 + 60
protocol), scored after each round. Not a shipped path: nothing here is priced.

    python -m imcspice.accelerators.finetune_ablation --variant float --steps 60 \
        --rounds 2 --out /tmp/gcf/float.json
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

VARIANTS = ("hardware", "float", "float_noclip", "none")


def form(phys, variant: str):
    """The physics of ``variant`` from the characterized machine ``phys``."""
    if variant in ("hardware", "none"):
        return phys.as_linear()
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
    return phys.as_linear().scaled(0.0).unquantized(tile_clip=variant == "float")


def stage0(model, phys, s, cache: Path | None):
    """Convert to the linear hardware model and set the range-calibrated stage 0 (or
    load it from ``cache``, written on the first call)."""
    import torch

    from .finetune import calibration_batch, initial_pairs, regress_output
    from .gaincell_torch import convert
    convert(model, phys.as_linear())
    if cache is not None and cache.exists():
        model.load_state_dict(torch.load(cache, weights_only=True))  # tensors only
        return
    x = calibration_batch(s)
    initial_pairs(model, x, ranges=True)
    regress_output(model, x)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), cache)


def run(variant: str, steps: int, rounds: int, s, stage0_cache: Path | None,
        progress: bool = True) -> dict:
    import copy

    import torch

    from . import causal_lm as clm
    from .finetune import perplexity, train_stage
    from .finetune_resume import attention_zeroed
    from .gaincell_torch import GainCellPhysics, gaincell_layers, set_physics
    torch.manual_seed(s.seed)
    model, _ = clm.load_gpt2()
    held = clm.corpus_tokens("heldout")
    res = {"variant": variant, "settings": {k: getattr(s, k) for k in (
        "batch", "context", "lr", "pair_lr", "warmup", "distill", "seed", "eval_tokens")}}
    res["fp32"] = perplexity(model, held, s)
    teacher = copy.deepcopy(model).eval() if s.distill > 0 else None
    for p in (teacher.parameters() if teacher is not None else ()):
        p.requires_grad_(False)
    phys = GainCellPhysics.from_arch()
    stage0(model, phys, s, stage0_cache)
    set_physics(model, form(phys, variant))
    if variant == "none":
        for g in gaincell_layers(model):
            g.forward = lambda q, k, v: torch.zeros_like(q)
    rows = [{"steps": 0, "perplexity": perplexity(model, held, s),
             "attention_zeroed": attention_zeroed(model, held, s)}]
    for r in range(rounds):
        t0 = time.perf_counter()
        out = train_stage(model, steps, replace(s, seed=s.seed + r), f"{variant} round {r}",
                          progress, teacher)
        rows.append({"steps": steps * (r + 1), "perplexity": perplexity(model, held, s),
                     "attention_zeroed": attention_zeroed(model, held, s),
                     "seconds": time.perf_counter() - t0, "losses": out["losses"]})
        if progress:
            print(f"[ablation] {variant} after {rows[-1]['steps']} steps: "
                  f"{rows[-1]['perplexity']:.3f} (attention zeroed "
                  f"{rows[-1]['attention_zeroed']:.3f})", flush=True)
    res["rows"] = rows
    return res


def diagnostic_args(ap: argparse.ArgumentParser) -> None:
    """The training and evaluation options every stage-1 diagnostic shares (this module's
    and :mod:`.finetune_transfer`'s)."""
    from ..cli import new_file_arg
    ap.add_argument("--chunks", type=int, default=4, help="held-out 1024-byte chunks")
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--pair-lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--distill", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--stage0", type=Path, default=None, help="stage-0 state cache (.pt)")
    ap.add_argument("--out", type=new_file_arg, required=True, help="result JSON (a new file)")


def diagnostic_settings(a: argparse.Namespace):
    """The :class:`.finetune.FinetuneSettings` of :func:`diagnostic_args`' options (batch 2,
    1 thread, no FP32 control run)."""
    import torch

    from .finetune import FinetuneSettings
    torch.set_num_threads(1)
    return FinetuneSettings(batch=2, lr=a.lr, pair_lr=a.pair_lr, warmup=a.warmup,
                            distill=a.distill, seed=a.seed,
                            eval_tokens=a.chunks * 1024 + 1, fp32_control=False)


def write_result(res: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variant", choices=VARIANTS, required=True)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=1)
    diagnostic_args(ap)
    a = ap.parse_args(argv)
    s = diagnostic_settings(a)
    write_result(run(a.variant, a.steps, a.rounds, s, a.stage0), a.out)


if __name__ == "__main__":
    main()
