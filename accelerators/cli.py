"""``imcspice evaluate`` and ``imcspice demo`` (registered by imcspice.cli)."""
from __future__ import annotations

import argparse

from .. import jsonio
from ..cli import count_arg, decay_arg, positive_arg, rate_arg
from ..errors import UsageError


def _cmd_evaluate(args) -> int:
    from .evaluate import evaluate
    from pathlib import Path
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a directory")
    if (out / "report.json").exists() and not args.force:
        raise UsageError(f"{out / 'report.json'} exists: choose another --out or pass --force")
    _check_device(args.device)
    rep = evaluate(args.arch, out, workload=args.workload, sets=args.set,
                   models_dir=args.models, quick=args.quick, seq_len=args.seq_len,
                   batch=args.batch, progress=not args.quiet, ablation=not args.no_ablation,
                   device=args.device)
    keys = ("arch", "workload", "latency_s", "energy_j", "area_mm2", "provenance_share")
    print(jsonio.dumps({k: rep[k] for k in keys} | {"report": str(out / "report.md")}))
    return 0


def _check_device(device: str) -> None:
    """--device cuda on a machine whose torch sees no CUDA GPU: a one-line usage error
    (exit 2) before anything is written."""
    if device == "cuda":
        import torch
        if not torch.cuda.is_available():
            raise UsageError(f"--device cuda: this torch ({torch.__version__}) sees no CUDA "
                             "GPU; use --device cpu (the default)")


def _cmd_arch_show(args) -> int:
    from . import arch
    if args.name is None:
        print("\n".join(arch.names()))
        return 0
    print(arch.show(arch.load(args.name, args.set)))
    return 0


def _cmd_demo(args) -> int:
    from ..demo import run_demo
    run_demo(args.out, workers=args.workers, progress=not args.quiet)
    return 0


def _cmd_explore(args) -> int:
    from pathlib import Path

    from .explore import explore, parse_grid
    out = Path(args.out)
    old = [f for f in ("explore.csv", "explore.json") if (out / f).exists()]
    if old and not args.force:
        raise UsageError(f"{out} already holds {' and '.join(old)} from an earlier "
                         "exploration: choose another --out or add --force to overwrite")
    rows = explore(args.arch, parse_grid(args.set), out, quick=args.quick,
                   models_dir=args.models, progress=not args.quiet, workers=args.workers,
                   workload=args.workload, accuracy=not args.no_accuracy,
                   ablation=not args.no_ablation)
    ok = sum(r["status"] == "ok" for r in rows)
    print(jsonio.dumps({"arch": args.arch, "points": len(rows), "ok": ok,
                        "failed": len(rows) - ok, "csv": str(out / "explore.csv"),
                        "json": str(out / "explore.json"),
                        "plots": [str(out / "pareto_energy_accuracy.png"),
                                  str(out / "pareto_latency_area.png")],
                        "points_dir": str(out / "points")}))
    return 0 if ok else 1


def _cmd_finetune(args) -> int:
    from pathlib import Path

    from .finetune import FinetuneSettings, run
    _check_device(args.device)
    if args.arch == "race-it":
        return _finetune_race_it(args)
    if args.arch != "gaincell":
        raise UsageError(f"finetune --arch {args.arch}: only 'gaincell' (the published "
                         "three-stage pipeline) and 'race-it' (MiniLM) are implemented")
    model = Path(args.model) if args.model else None
    if model is not None and not model.is_file():
        raise UsageError(f"--model {model}: no such file")
    if args.average_decay and not args.val_every:
        raise UsageError("--average-decay needs --val-every N: the average is kept only "
                         "when it scores lower on the calibration batch")
    out = Path(args.out)
    if (out / "finetune.json").exists() and not args.force:
        raise UsageError(f"{out / 'finetune.json'} exists: choose another --out or --force")
    s = FinetuneSettings(steps_linear=args.steps_linear, steps_nonlinear=args.steps_nonlinear,
                         batch=args.batch or 1, context=args.context,
                         eval_tokens=args.eval_chunks * args.context + 1, seed=args.seed,
                         device=args.device, fp32_control=not args.no_control,
                         lr=args.lr or 5e-4, pair_lr=args.pair_lr, warmup=args.warmup,
                         distill=args.distill, val_every=args.val_every,
                         range_calibration=not args.no_range_calibration,
                         transfer_steps=args.transfer_steps, max_minutes=args.max_minutes,
                         average_decay=args.average_decay)
    import torch
    torch.set_num_threads(args.threads)
    if args.resume:
        from .finetune_resume import resume
        if model is not None:
            raise UsageError("--resume continues a fine-tuned checkpoint: no --model")
        ckpt = Path(args.resume)
        if not ckpt.is_file():
            raise UsageError(f"--resume {ckpt}: no such file")
        res = resume(out, ckpt, arch=args.arch, settings=s, progress=not args.quiet)
    else:
        res = run(out, arch=args.arch, model_path=model, settings=s, progress=not args.quiet)
    print(jsonio.dumps({"perplexity": res["perplexity"],
                        "fine_tuned_over_fp32": res["ratio_fine_tuned_to_fp32"],
                        "fine_tuned_over_fp32_same_training":
                            res["ratio_fine_tuned_to_fp32_same_training"],
                        "weights": str(out / "model.safetensors"),
                        "summary": str(out / "finetune.json")}))
    return 0


def _finetune_race_it(args) -> int:
    """MiniLM on RACE-IT: distillation toward FP32 on fresh chips (.finetune_minilm)."""
    from dataclasses import fields
    from pathlib import Path

    from .finetune_minilm import WEIGHTS, MiniLMFinetuneSettings, run
    if args.model:
        raise UsageError("finetune --arch race-it fine-tunes the shipped MiniLM: no --model")
    out = Path(args.out)
    if (out / "finetune.json").exists() and not args.force:
        raise UsageError(f"{out / 'finetune.json'} exists: choose another --out or --force")
    d = {f.name: f.default for f in fields(MiniLMFinetuneSettings)}
    s = MiniLMFinetuneSettings(
        steps=args.steps if args.steps is not None else d["steps"],
        batch=args.batch or d["batch"], lr=d["lr"] if args.lr is None else args.lr,
        seed_every=args.seed_every or d["seed_every"],
        max_tokens=args.max_tokens or d["max_tokens"],
        calib_texts=args.calib_texts or d["calib_texts"],
        eval_sentences=args.eval_sentences or d["eval_sentences"],
        eval_seeds=tuple(1000 + i for i in range(args.eval_seeds)) if args.eval_seeds
        else d["eval_seeds"], seed=args.seed, threads=args.threads,
        evaluate_before=args.before, weight_lr=args.weight_lr, lora_rank=args.lora_rank,
        trainable=WEIGHTS if args.train_weights or args.lora_rank else d["trainable"])
    res = run(out, s, progress=not args.quiet)
    print(jsonio.dumps({"before": res.get("before"), "after": res["after"],
                        "weights": str(out / "model.safetensors"),
                        "summary": str(out / "finetune.json")}))
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "finetune", help="hardware-aware fine-tuning (gain cell: the published 3 stages)",
        description="Fine-tune the byte-level GPT-2 for gain-cell attention: QAT on the "
                    "linear hardware model, per-head scale/offset calibration to its "
                    "statistics, fine-tuning on the characterized SKY130 Si cells. Writes "
                    "DIR/model.safetensors and DIR/finetune.json (perplexities).")
    p.add_argument("--arch", default="gaincell", help="architecture (gaincell | race-it)")
    p.add_argument("--model", help="GPT-2 safetensors (default: the shipped "
                                   "data/causal_lm_gpt2.safetensors)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--steps-linear", type=count_arg, default=30,
                   help="gaincell stage 1 (QAT on the linear cells): optimizer steps")
    p.add_argument("--steps-nonlinear", type=count_arg, default=30,
                   help="gaincell stage 3 (the SKY130 Si cells): optimizer steps")
    p.add_argument("--batch", type=positive_arg, default=None,
                   help="sequences (gaincell, default 1) or texts (race-it) per step")
    p.add_argument("--context", type=positive_arg, default=1024,
                   help="gaincell: bytes per training sequence (default 1024, the "
                        "description's attention window: leakage over it)")
    p.add_argument("--eval-chunks", type=positive_arg, default=8,
                   help="held-out chunks of --context bytes scored per perplexity")
    p.add_argument("--lr", type=rate_arg, default=None,
                   help="peak rate of the weights (gaincell default 5e-4)")
    p.add_argument("--pair-lr", type=rate_arg, default=5e-3,
                   help="peak rate of the per-head scale/offset pairs")
    p.add_argument("--warmup", type=count_arg, default=5,
                   help="warm-up steps of each training stage")
    p.add_argument("--distill", type=rate_arg, default=0.0,
                   help="weight of KL(FP32 teacher || model) added to the loss")
    p.add_argument("--val-every", type=count_arg, default=0,
                   help="every N steps score the calibration batch (training text); each "
                        "stage ends on its best iterate (0: off)")
    p.add_argument("--no-range-calibration", action="store_true",
                   help="gaincell stage 0 without the readout range calibration "
                        "(gaincell_ranges.py; the pre-fix initialization)")
    p.add_argument("--transfer-steps", type=count_arg, default=0,
                   help="gaincell: stage 1a, N steps of per-layer attention transfer to the "
                        "FP32 attention outputs before stage 1 (finetune_transfer.py; 0: off)")
    p.add_argument("--resume", metavar="FILE",
                   help="gaincell: continue stage 3 of this fine-tuned checkpoint for "
                        "--steps-nonlinear steps (stages 0-2 not re-run; use another "
                        "--seed; finetune_resume.py)")
    p.add_argument("--max-minutes", type=rate_arg, default=0.0,
                   help="gaincell: wall-clock budget of each training stage; its cosine "
                        "schedule anneals by time and --steps-* become upper bounds (a run "
                        "sized to a machine's time; 0: off)")
    p.add_argument("--average-decay", type=decay_arg, default=0.0, metavar="D",
                   help="gaincell, with --val-every: also score an exponential moving "
                        "average of the weights (a = D a + (1 - D) w per step, D in [0, 1); "
                        "e.g. 0.999) and end on it when it scores lower (0: off)")
    p.add_argument("--seed", type=count_arg, default=0,
                   help="seed of the data order, noise draws and chips")
    p.add_argument("--threads", type=positive_arg, default=1, help="torch CPU threads")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                   help="torch device (cuda: the same code on a GPU)")
    g = p.add_argument_group("race-it (MiniLM; defaults: finetune_minilm.MiniLMFinetuneSettings)")
    g.add_argument("--steps", type=count_arg, default=None, help="optimizer steps")
    g.add_argument("--seed-every", type=positive_arg, default=None,
                   help="a fresh chip every this many steps")
    g.add_argument("--max-tokens", type=positive_arg, default=None,
                   help="training texts cut to this many tokens")
    g.add_argument("--calib-texts", type=positive_arg, default=None,
                   help="texts of minilm_calib.txt per chip calibration")
    g.add_argument("--eval-sentences", type=positive_arg, default=None,
                   help="texts of minilm_eval.txt scored after training")
    g.add_argument("--eval-seeds", type=positive_arg, default=None,
                   help="chips 1000, 1001, ... never used in training")
    g.add_argument("--train-weights", action="store_true",
                   help="train the encoder's crossbar matrices too (hardware-aware training "
                        "of all weights; the chips are programmed with the trained ones)")
    g.add_argument("--weight-lr", type=rate_arg, default=None,
                   help="Adam rate of the matrices (default: --lr)")
    g.add_argument("--lora-rank", type=positive_arg, default=None,
                   help="train the matrices as a low-rank change of this rank, stored as "
                        "its float16 factors (implies --train-weights)")
    g.add_argument("--before", action="store_true",
                   help="also evaluate the pretrained model on the evaluation chips "
                        "(evaluate's accuracy.fine_tuned does it on the same chips)")
    p.add_argument("--no-control", action="store_true",
                   help="skip training the FP32 model as many steps (the fair reference)")
    p.add_argument("--force", action="store_true",
                   help="overwrite a finished run's DIR/finetune.json")
    p.add_argument("--quiet", action="store_true", help="no progress bars or messages")
    p.set_defaults(func=_cmd_finetune)

    p = sub.add_parser(
        "evaluate", help="accelerator evaluation: accuracy + latency/energy/area vs GPUs",
        description="Run a real pretrained transformer through an accelerator's behavioral "
                    "models (accuracy) and price the same network on it (latency, energy, "
                    "area), against GPU rooflines, at SKY130 and projected to 7 nm. The "
                    "machine is an architecture description (TOML).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Every energy, latency and area entry of report.json/report.md names its "
               "source (spice model file, literature citation, or assumption);\n"
               "report.json has provenance_share per energy/latency/area.\n"
               "examples:\n"
               "  imcspice evaluate --arch race-it --out out/ri\n"
               "  imcspice evaluate --arch race-it --set dac.bits=6 --quick --out out/ri6\n"
               "  imcspice evaluate --arch my-variant.toml --workload bert-base --out out/v")
    p.add_argument("--arch", required=True, metavar="NAME|FILE",
                   help="a shipped description (race-it, hetrax, gaincell; `imcspice arch "
                        "show`) or your own .toml description file")
    p.add_argument("--set", action="append", default=[], metavar="COMPONENT.PARAM=VALUE",
                   help="override a parameter of the description, e.g. dac.bits=6 or "
                        "crossbar.rows=256 (repeatable)")
    p.add_argument("--workload", default=None,
                   help="default: the description's network (simulated and priced); "
                        "others (bert-base, gpt2, gpt2-xl, llama-7b) are priced shape-only")
    p.add_argument("--force", action="store_true", help="overwrite an existing report")
    p.add_argument("--models", default=None,
                   help="directory of *.model.h5 files (default: the shipped SKY130 models)")
    p.add_argument("--seq-len", type=positive_arg, default=None,
                   help="tokens per pass to price (default: the mean token count of the "
                        "sentences simulated, 128 for shape-only workloads); for gaincell the "
                        "KV-cache context of the decode step (default: the window, capped by "
                        "the model's context)")
    p.add_argument("--batch", type=positive_arg, default=None,
                   help="sequences per inference (default: the description's)")
    p.add_argument("--quick", action="store_true",
                   help="the small protocol: MiniLM 4 sentences, 2 chips; gain cell 4 x "
                        "1024 held-out bytes; non-ideality scales 0 and 1 only")
    p.add_argument("--no-ablation", action="store_true",
                   help="skip the accuracy ablation (each non-ideality alone, all but one: "
                        "about ten more network runs); seeds and scale sweep still run")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                   help="where the accuracy run's torch models run (default cpu)")
    p.add_argument("--out", required=True, help="output directory (report.json + plots)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or messages")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("arch", help="architecture descriptions: list or show one")
    asub = p.add_subparsers(dest="arch_cmd", required=True)
    q = asub.add_parser("show", help="print a description: components, counts, bit widths "
                                     "and the source of every figure")
    q.add_argument("name", nargs="?", default=None, help="shipped name or .toml file "
                                                         "(none: list the shipped ones)")
    q.add_argument("--set", action="append", default=[], metavar="COMPONENT.PARAM=VALUE",
                   help="override one parameter of the description (repeatable)")
    q.set_defaults(func=_cmd_arch_show)

    p = sub.add_parser(
        "demo", help="the whole pipeline on small defaults: sweeps -> fits -> "
                     "three evaluations -> report.md",
        description="Run small real ngspice sweeps of every circuit family (SKY130), fit "
                    "behavioral models\nfrom them (OUT/models, with held-out errors; plots "
                    "in OUT/figures), evaluate RACE-IT,\nHeTraX and the gain-cell design on "
                    "their networks and at their papers' configurations\n(six reports, "
                    "OUT/<arch>/report.md and report.json), and write OUT/report.md.\nAbout "
                    "a quarter of an hour on 2 cores with an empty point cache. The shipped "
                    "models\n(models/data) come from the larger `imcspice models "
                    "build-defaults` sweeps instead.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="out/demo", metavar="DIR",
                   help="output folder, created if missing (default: out/demo)")
    p.add_argument("--workers", type=count_arg, default=0,
                   help="ngspice worker processes (0, the default: one per core)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or messages")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser(
        "explore", help="design-space grid over one architecture: CSV + Pareto plots",
        description="Evaluate every point of a grid of description parameters (the "
                    "Cartesian product of the --set\nlists), one full evaluation per point "
                    "into OUT/points/<index>/. Writes OUT/explore.csv and\n"
                    "OUT/explore.json (one row per point: settings, energy per inference, "
                    "latency, area,\naccuracy metric, SPICE share of the energy, status), "
                    "OUT/pareto_energy_accuracy.png and\nOUT/pareto_latency_area.png "
                    "(Pareto-optimal points highlighted and labelled). A point whose\n"
                    "description is inconsistent (e.g. provisioned < demanded) is recorded "
                    "as failed with its\none-line message; the others still run. Ends with "
                    "a one-line JSON summary.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="--set KEY=V1,V2,...: KEY is COMPONENT.PARAM as in `imcspice evaluate --set` "
               "(e.g. crossbar.rows,\n"
               "  dac.bits, converter.per_tile) or a top-level scalar (clock_hz); values "
               "are comma-separated.\n"
               "  Aliases (a bare name without a dot that is not a component): "
               "tile_rows = crossbar.rows,\n"
               "  tile_cols = crossbar.cols.\n"
               "accuracy metric: cosine_mean of MiniLM embeddings vs FP32 (race-it, hetrax; "
               "higher is better),\n"
               "  perplexity.calibrated (gaincell, no training; lower is better).\n"
               "Each point is a full evaluation (CPU heavy): use --quick for a first look.\n"
               "example:\n"
               "  imcspice explore --arch race-it --set crossbar.rows=64,128,256 "
               "--set dac.bits=4,6,8 --quick --out out/explore\n"
               "  imcspice explore --arch race-it --set tile_rows=64,128,256 "
               "--set dac.bits=4,6,8 --quick --out out/explore")
    p.add_argument("--arch", required=True,
                   help="a shipped description (race-it, hetrax, gaincell) or a .toml file")
    p.add_argument("--set", action="append", required=True, metavar="KEY=V1,V2,...",
                   help="one grid axis (repeatable); see below for KEY and aliases")
    p.add_argument("--workload", default=None,
                   help="workload to price (default: the description's own)")
    p.add_argument("--models", default=None,
                   help="directory of *.model.h5 files (default: the shipped SKY130 models)")
    p.add_argument("--quick", action="store_true",
                   help="each point: fewer sentences / tokens, fewer sweeps")
    p.add_argument("--no-accuracy", action="store_true",
                   help="price the points only (no network simulation, no accuracy "
                        "metric): seconds per point instead of minutes")
    p.add_argument("--no-ablation", action="store_true",
                   help="simulate each point without the accuracy ablation (the metric "
                        "does not need it): several times faster")
    p.add_argument("--workers", type=positive_arg, default=1,
                   help="local processes evaluating points at once (default 1: each "
                        "evaluation is CPU heavy)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--force", action="store_true",
                   help="overwrite explore.csv / explore.json / points/ of an earlier run "
                        "in --out (refused otherwise)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_explore)
