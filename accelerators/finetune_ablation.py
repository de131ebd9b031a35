"""Diagnostic: can the softmax-free gain-cell attention form learn without its quantizers?

Stage 1 of :mod:`.finetune` (linear cells, range-calibrated stage 0) trained with one
attention form, then scored on the held-out text with the attention alive and zeroed
(``ao = bo = 0``). Forms (``--variant``):

- ``hardware``: the published machine (4-bit Q, 3-bit K/V, 5-bit scores and per-tile
  readout, linear cells with the characterized retention): stage 1 as shipped;
- ``float``: every quantizer off (:meth:`.gaincell_physics.GainCellPhysics.unquantized`),
  clamps, readout clip, window and tile sum kept; linear cells holding their level;
- ``float_noclip``: as ``float``, each tile output's ±1 clamp also off;
- ``none``: every attention output is 0 (the floor: what training reaches around no
  attention at all).

Stage 0 is the hardware one in every case (range calibration on the quantized linear
model, output pairs by least squares), cached in ``--stage0`` so every form starts from
the same weights and pairs. ``--steps N --rounds R``: R rounds of N steps, each with a
fresh optimizer and warm-up and batches of seed ``seed + round`` (docs/gpu.md's 60 + 60
protocol), scored after each round; ``--eval-every K`` also scores every K steps inside
a round (the same cosine run: a point at step k is not the end of a k-step run) and
rewrites ``--out`` after every point (``"complete": false`` until the end), so a run cut by
a time limit still leaves its curve. ``--device cuda`` runs it on a GPU (benchmarks/
gpu_session.sh). ``--steps 0``: stage 0 and its scores only (writes the cache). Not a
shipped path: nothing here is priced.

    python -m imcspice.accelerators.finetune_ablation --variant float --steps 60 \
        --rounds 2 --out /tmp/gcf/float.json
"""
from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from pathlib import Path

from .. import jsonio

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
    load it from ``cache``, written on the first call). Stage 0 sets only the gain-cell
    scale/offset pairs, so the cache holds those alone (kilobytes: it travels to a GPU
    machine); a cache of the whole state (older runs) loads too."""
    import torch

    from .finetune import calibration_batch, initial_pairs, regress_output
    from .gaincell_torch import convert
    convert(model, phys.as_linear())
    if cache is not None and cache.exists():
        state = torch.load(cache, weights_only=True,   # tensors only
                           map_location=next(model.parameters()).device)
        missing, unexpected = model.load_state_dict(state, strict=False)
        if unexpected or any(".gaincell." in k for k in missing):
            raise ValueError(f"{cache} is not a stage-0 cache of this model "
                             f"(unexpected {unexpected[:3]}, missing pairs)")
        return
    x = calibration_batch(s)
    initial_pairs(model, x, ranges=True)
    regress_output(model, x)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        torch.save({k: v for k, v in model.state_dict().items() if ".gaincell." in k}, cache)


def train_with_curve(model, steps: int, s, label: str, progress: bool, teacher,
                     every: int, point) -> dict:
    """:func:`.finetune.train_stage`, calling ``point(k)`` (model in eval mode, restored
    after) after the k-th optimizer step for every k < ``steps`` divisible by ``every``
    (0: never); the caller scores step ``steps``."""
    from .finetune import train_stage

    def after(k: int) -> None:
        if every > 0 and k % every == 0 and k < steps:
            was = model.training
            model.eval()
            try:
                point(k)
            finally:
                model.train(was)

    return train_stage(model, steps, s, label, progress, teacher, after_step=after)


def run(variant: str, steps: int, rounds: int, s, stage0_cache: Path | None,
        progress: bool = True, eval_every: int = 0, out: Path | None = None,
        save_state: Path | None = None) -> dict:
    """The diagnostic (module doc) on ``s.device``; with ``out``, the result so far is
    written after every scored point. ``save_state``: the trained model's state dict
    (weights and pairs of the converted model, ~4 MB), written at the end."""
    import copy

    import torch

    from . import causal_lm as clm
    from .finetune import perplexity
    from .finetune_resume import attention_zeroed
    from .gaincell_physics import GainCellPhysics
    from .gaincell_torch import gaincell_layers, set_physics
    torch.manual_seed(s.seed)
    model, _ = clm.load_gpt2()
    model.to(s.device)
    held = clm.corpus_tokens("heldout").to(s.device)
    rows: list = []
    res = {"variant": variant, "steps_per_round": steps, "rounds": rounds,
           "eval_every": eval_every, "complete": False, "device": s.device,
           "gpu": torch.cuda.get_device_name() if s.device.startswith("cuda") else None,
           "torch": torch.__version__, "settings": {k: getattr(s, k) for k in (
               "batch", "context", "lr", "pair_lr", "warmup", "distill", "seed", "eval_tokens")},
           "rows": rows}
    t_start = time.perf_counter()
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

    def score(k: int, **extra) -> None:
        rows.append({"steps": k, "perplexity": perplexity(model, held, s),
                     "attention_zeroed": attention_zeroed(model, held, s),
                     "wall_s": time.perf_counter() - t_start, **extra})
        if out is not None:
            write_result(res, out)
        if progress:
            print(f"[ablation] {variant} after {k} steps: {rows[-1]['perplexity']:.3f} "
                  f"(attention zeroed {rows[-1]['attention_zeroed']:.3f})", flush=True)

    score(0)
    for r in range(rounds if steps > 0 else 0):
        t0 = time.perf_counter()
        done = steps * r
        trained = train_with_curve(
            model, steps, replace(s, seed=s.seed + r), f"{variant} round {r}", progress,
            teacher, eval_every,
            lambda k: score(done + k, round=r, seconds=time.perf_counter() - t0))
        score(done + steps, round=r, seconds=time.perf_counter() - t0,
              losses=trained["losses"])
    res["complete"] = True
    if out is not None:
        write_result(res, out)
    if save_state is not None:
        torch.save(model.state_dict(), save_state)
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
    """Write ``res`` as JSON to ``out`` whole or not at all (a temporary file renamed:
    a run killed while writing leaves the previous version)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(jsonio.dumps(res, indent=1))
    os.replace(tmp, out)


def main(argv=None) -> None:
    from ..cli import count_arg, new_file_arg, positive_arg
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variant", choices=VARIANTS, required=True)
    ap.add_argument("--steps", type=count_arg, default=60)
    ap.add_argument("--rounds", type=positive_arg, default=1)
    ap.add_argument("--eval-every", type=count_arg, default=0,
                    help="also score every N steps inside a round (0: after each round)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--save-state", type=new_file_arg, default=None,
                    help="write the trained model's state dict here (.pt, a new file)")
    diagnostic_args(ap)
    a = ap.parse_args(argv)
    s = replace(diagnostic_settings(a), device=a.device)
    run(a.variant, a.steps, a.rounds, s, a.stage0, eval_every=a.eval_every, out=a.out,
        save_state=a.save_state)


if __name__ == "__main__":
    main()
