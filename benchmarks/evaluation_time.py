"""Time of one full ``imcspice evaluate --quick`` per shipped accelerator, against the FP32
forward of the same texts measured in the same run.

Measured: ``imcspice evaluate --arch A --quick --out TMP`` in-process (accuracy
protocol -- hardware-path calibration, chip seeds, ablation unless ``--no-ablation``,
non-ideality scales 0 and 1 -- plus the cost model, plots and report files). Baseline:
the FP32 reference forward of the texts that evaluation simulates, with the same
implementation -- for RACE-IT and HeTraX the transformers all-MiniLM-L6-v2 (unconverted)
embedding of the QUICK protocol's evaluation texts
(:class:`imcspice.accelerators.accuracy.MiniLMRun`);
for gain-cell the FP32 perplexity pass of the shipped byte-level GPT-2 over the quick
held-out size (2 x 1024 bytes, :func:`imcspice.accelerators.accuracy.gaincell_run`).
Reported per accelerator: seconds, and ``over_fp32_forward`` (how many FP32 forwards of
the same texts one evaluation costs). Last line JSON.
``--calibration``: one chip's calibration (MiniLM, QUICK calibration texts) with the
hardware-path passes on the torch operators against the numpy passes in the same run;
measured 2026-12-01 (1 thread, shared 2-core machine): race-it 21.5 s -> 13.8 s (x1.55),
hetrax 19.1 s -> 8.9 s (x2.13); QUICK cosines 0.98095 -> 0.98055, 0.96956 -> 0.97078.
Pass 3 (centroid row levels) alone, RACE-IT chip 0, before/after the blocked converter
statistics (:meth:`imcspice.accelerators.torch_quant.BankLookup.read_counting_t`), both
forms in one process, alternating, 1 thread, shared 2-core machine, 2026-12-01: 5.43 s
-> 4.26 s (min of 3; means 5.81 -> 4.41 s); chip 1 5.78 -> 4.86 s (one run each); fitted
levels bit for bit the same (every lookup's and converter's level array, chips 0 and 1).
Run: ``nice .venv/bin/python benchmarks/evaluation_time.py [--arch race-it]
[--no-ablation] [--threads 1] [--calibration]`` (the three quick evaluations take tens of minutes on a
loaded 2-core machine).

Measured 2026-11-30 (``--arch race-it --arch gaincell --no-ablation``, 1 thread, load
~20 on 2 cores): race-it 337.8 s = 22.3x its FP32 forward (numpy MiniLM, 4 texts,
15.2 s under that load); gaincell 554.8 s = 128.8x its FP32 forward (4.3 s). (The
gain-cell figure predates the port of its report to the torch GPT-2: numpy model,
2048 bytes at context 128, plus the shipped model on 4 x 1024 bytes. After the port,
``imcspice evaluate --arch gaincell --quick`` took 380 s wall / 162 s CPU against 217 s /
130 s before, same loaded 2-core machine, 2026-11-30.)
"""
from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

from imcspice import jsonio


def fp32_forward_s(arch: str) -> tuple[float, str]:
    """Seconds of the FP32 reference forward of the texts ``arch``'s quick evaluation
    simulates, and what that forward is."""
    from imcspice.accelerators import arch as arch_mod
    from imcspice.accelerators.accuracy import QUICK, _subset, load_texts
    mode = arch_mod.load(arch).workload.get("mode", "prefill")
    if mode == "prefill":
        from imcspice.accelerators import torch_minilm as tm
        from imcspice.accelerators.minilm import MiniLMTokenizer
        tok, m = MiniLMTokenizer.load(), tm.load_hf_minilm()
        texts = _subset(load_texts("eval"), QUICK.sentences)
        tm.embed(m, tm.batches(tok, texts))              # warm-up (tokenizer, caches)
        t0 = time.perf_counter()
        tm.embed(m, tm.batches(tok, texts))
        return time.perf_counter() - t0, f"transformers MiniLM FP32, {len(texts)} texts"
    from imcspice.accelerators import causal_lm as clm
    from imcspice.accelerators import finetune as ft
    base, _ = clm.load_gpt2()
    held = clm.corpus_tokens("heldout")
    s = ft.FinetuneSettings(eval_tokens=2 * 1024 + 1)
    t0 = time.perf_counter()
    ft.perplexity(base, held, s)
    return time.perf_counter() - t0, "byte GPT-2 FP32 perplexity, 2 x 1024 bytes"


def calibration_s(arch: str, seed: int = 0) -> dict:
    """Seconds of one chip's calibration (:func:`imcspice.accelerators.convert.calibrate`
    on the QUICK protocol's calibration texts, MiniLM) with the hardware-path passes on
    the torch operators, against the numpy passes (``reference=True``) in the same run,
    and the QUICK cosine each leaves."""
    import copy

    import torch

    from imcspice.accelerators import arch as arch_mod
    from imcspice.accelerators.accuracy import MiniLMRun
    from imcspice.accelerators.analog import Nonideal
    from imcspice.accelerators.convert import calibrate, convert
    from imcspice.accelerators.retrieval import compare_embeddings
    from imcspice.accelerators.torch_chip import AnalogChip
    from imcspice.accelerators.torch_minilm import embed
    run = MiniLMRun(quick=True)
    a = arch_mod.load(arch)
    out = {}
    for ref in (True, False):
        chip = AnalogChip(a, nonideal=Nonideal.scaled(1.0), seed=seed)
        m = convert(copy.deepcopy(run.model), a, chip=chip)
        t0 = time.perf_counter()
        calibrate(m, run.calib_batches, reference=ref)
        t = time.perf_counter() - t0
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            cos = compare_embeddings(run.ref, embed(m, run.eval_batches).cpu().numpy())
        out["numpy" if ref else "torch"] = {"calibrate_s": round(t, 2),
                                             "cosine": round(cos["cosine_mean"], 5)}
    out["speedup"] = round(out["numpy"]["calibrate_s"] / out["torch"]["calibrate_s"], 2)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", action="append", help="repeatable (default: every shipped)")
    ap.add_argument("--no-ablation", action="store_true")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--calibration", action="store_true",
                    help="only one chip's calibration, torch passes vs numpy passes")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    import torch
    torch.set_num_threads(args.threads)
    if args.calibration:
        cal = {}
        for a in args.arch or ["race-it", "hetrax"]:
            cal[a] = calibration_s(a)
            print(f"{a:8s}: calibrate {cal[a]['numpy']['calibrate_s']:.1f} s (numpy passes) "
                  f"-> {cal[a]['torch']['calibrate_s']:.1f} s (torch), x{cal[a]['speedup']}",
                  flush=True)
        print(jsonio.dumps({"threads": args.threads, "calibration": cal}))
        return
    from imcspice.accelerators import arch as arch_mod
    from imcspice.cli import main as cli
    res = {}
    for a in args.arch or arch_mod.names():
        t_fp, what = fp32_forward_s(a)
        with tempfile.TemporaryDirectory() as d:
            cmd = ["evaluate", "--arch", a, "--quick", "--quiet", "--out", str(Path(d) / a)]
            if args.no_ablation:
                cmd.append("--no-ablation")
            t0 = time.perf_counter()
            rc = cli(cmd)
            t_ev = time.perf_counter() - t0
        if rc != 0:
            raise SystemExit(f"imcspice evaluate --arch {a} failed (exit {rc})")
        res[a] = {"evaluate_quick_s": round(t_ev, 1), "fp32_forward_s": round(t_fp, 3),
                  "fp32_forward": what, "over_fp32_forward": round(t_ev / t_fp, 1)}
        print(f"{a:8s}: evaluate --quick {t_ev:7.1f} s = {t_ev / t_fp:8.1f}x the FP32 "
              f"forward ({what}: {t_fp:.2f} s)", flush=True)
    print(jsonio.dumps({"threads": args.threads, "ablation": not args.no_ablation,
                      "evaluations": res}))


if __name__ == "__main__":
    main()
