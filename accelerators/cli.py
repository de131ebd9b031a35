"""``imcspice evaluate`` and ``imcspice demo`` (registered by imcspice.cli)."""
from __future__ import annotations

import argparse
import json


def _cmd_evaluate(args) -> int:
    from .evaluate import evaluate
    rep = evaluate(args.arch, args.workload, args.out, models_dir=args.models, quick=args.quick,
                   seq_len=args.seq_len, batch=args.batch, progress=not args.quiet)
    keys = ("arch", "workload", "latency_s", "energy_j", "area_mm2")
    print(json.dumps({k: rep[k] for k in keys} | {"report": f"{args.out}/report.json"}))
    return 0


def _cmd_demo(args) -> int:
    from ..demo import run_demo
    run_demo(args.out, workers=args.workers, progress=not args.quiet)
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "evaluate", help="accelerator evaluation: accuracy + latency/energy/area vs GPUs",
        description="Run a real pretrained transformer through an accelerator's behavioral "
                    "models (accuracy) and price a workload on it (latency, energy, area), "
                    "against GPU rooflines, at SKY130 and projected to 7 nm.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="workloads: minilm, bert-base, gpt2, gpt2-xl, llama-7b (shape-only for "
               "performance; accuracy uses all-MiniLM-L6-v2 for race-it/hetrax and the "
               "shipped causal LM for gaincell)\n"
               "example: imcspice evaluate --arch race-it --workload bert-base --out out/ri")
    p.add_argument("--arch", required=True, choices=("race-it", "hetrax", "gaincell"))
    p.add_argument("--workload", default="minilm")
    p.add_argument("--models", default=None,
                   help="directory of *.model.h5 files (default: the shipped SKY130 models)")
    p.add_argument("--seq-len", type=int, default=None,
                   help="sequence length (race-it/hetrax: tokens per pass, default 128; "
                        "gaincell: KV-cache context, default 1024)")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="fewer sentences / tokens, fewer sweeps")
    p.add_argument("--out", required=True, help="output directory (report.json + plots)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("demo", help="the whole pipeline on small defaults: sweeps -> fits -> "
                                    "three evaluations -> report.md")
    p.add_argument("--out", default="out/demo")
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_cmd_demo)
