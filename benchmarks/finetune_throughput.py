"""Throughput of hardware-aware fine-tuning (``imcspice finetune``), against the FP32
training step of the same model measured in the same run.

Model: the shipped byte-level GPT-2 (``accelerators/data/causal_lm_gpt2.safetensors``,
the model ``imcspice finetune --arch gaincell`` fine-tunes). Baseline: the unconverted
model trained by the same loop (:func:`imcspice.accelerators.finetune.train_stage`:
AdamW, warm-up, ``--batch`` sequences of ``--context`` training bytes per step).
Measured: the same model converted to gain-cell attention with the characterized SKY130
Si cells (:func:`imcspice.accelerators.gaincell_torch.convert`, the physics of
``data/arch/gaincell.toml``: retention over the window, pulse/storage/output
quantizers with straight-through estimators) -- one stage-3 step each, forward and
backward. Both start with one untimed warm-up step. Reported: tokens/s of each and the
slowdown ``gaincell_over_fp32`` (time per step). Last line JSON.
Run: ``nice .venv/bin/python benchmarks/finetune_throughput.py [--steps 3]
[--context 256] [--device cpu] [--threads 1]``.

Measured 2026-11-30 (``--steps 2 --context 128``, 1 thread, load ~20 on 2 cores): FP32
108.7 tokens/s (1.18 s per step), gain cell 49.0 tokens/s (2.61 s per step) = 2.22x.
2026-12-01, ``--steps 2 --batch 2 --context 1024`` (the fine-tuning shape), 1 thread,
load ~6 on 2 cores, the dense forward (commit 6295860) then the query-blocked one with
the fused quantizer/readout: gain cell 38.8 -> 12.1 s per step (52.7 -> 169.7 tokens/s;
FP32 2.2 s per step, 5.2x); the same losses. On a quiet machine (load 0.3, a plain
training step, same shape): 10.7 -> ~1.8 s per step (192 -> ~1100 tokens/s; FP32 0.44 s,
4.6 k tokens/s).
"""
from __future__ import annotations

import argparse
import copy
import warnings

from imcspice import jsonio


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--context", type=int, default=256,
                    help="bytes per sequence (<= the gain-cell window, 1024)")
    ap.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    import torch
    torch.set_num_threads(args.threads)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    from imcspice.accelerators import causal_lm as clm
    from imcspice.accelerators import finetune as ft
    from imcspice.accelerators.gaincell_physics import GainCellPhysics
    from imcspice.accelerators.gaincell_torch import convert

    s = ft.FinetuneSettings(batch=args.batch, context=args.context, warmup=1,
                            device=device, fp32_control=False)
    model, _ = clm.load_gpt2()
    model.to(device)
    phys = GainCellPhysics.from_arch("gaincell")
    if args.context > phys.window:
        raise SystemExit(f"--context {args.context} > gain-cell window {phys.window}")

    def measure(m, label):
        ft.train_stage(m, 1, s, label + " warm-up", progress=False)
        return ft.train_stage(m, args.steps, s, label, progress=False)

    fp = measure(copy.deepcopy(model), "fp32")
    convert(model, phys)                 # characterized Si cells (stage 3's machine)
    model.to(device)
    gc = measure(model, "gain cell")
    n_par = sum(p.numel() for p in model.parameters())
    out = {"model": "causal_lm_gpt2.safetensors", "params": n_par, "device": device,
           "threads": args.threads, "steps": args.steps, "batch": args.batch,
           "context": args.context,
           "fp32_tokens_per_s": round(fp["tokens_per_s"], 1),
           "gaincell_tokens_per_s": round(gc["tokens_per_s"], 1),
           "fp32_step_s": round(fp["seconds"] / args.steps, 4),
           "gaincell_step_s": round(gc["seconds"] / args.steps, 4),
           "gaincell_over_fp32": round(fp["tokens_per_s"] / gc["tokens_per_s"], 3),
           "loss_fp32": [round(v, 4) for v in fp["losses"]],
           "loss_gaincell": [round(v, 4) for v in gc["losses"]],
           "physics": phys.source}
    print(f"FP32 training   : {out['fp32_tokens_per_s']:10.1f} tokens/s "
          f"({out['fp32_step_s']:.3f} s per step of {args.batch}x{args.context} bytes)")
    print(f"gain-cell (Si)  : {out['gaincell_tokens_per_s']:10.1f} tokens/s = "
          f"{out['gaincell_over_fp32']:.2f}x the FP32 step time")
    print(jsonio.dumps(out))


if __name__ == "__main__":
    main()
