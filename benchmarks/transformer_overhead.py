"""Cost of evaluating a transformer through the analog behavioral models.

Baseline (same run, same implementation): the FP32 forward of the numpy
all-MiniLM-L6-v2 over the shipped 64-sentence set. Measured: the same forward
with RACE-IT's operators (bit-serial crossbar products with programmed
conductances, per-tile Compute-ACAM converters, ACAM lookups and product lookups) from the shipped SKY130 models.
The chip is programmed once (first call) and not timed, as it would be on
hardware. Last line JSON with ``analog_over_fp32`` and ``sentences_per_s``.
Run: ``.venv/bin/python benchmarks/transformer_overhead.py [--models DIR] [--repeat 3]``.
"""
from __future__ import annotations

import argparse
import json
import time
import warnings

from imcspice.accelerators import arch, hardware
from imcspice.accelerators.analog import RangeRecorder
from imcspice.accelerators.minilm import MiniLM
from imcspice.accelerators.ops import FP32Ops
from imcspice.accelerators.race_it import RaceItOps
from imcspice.accelerators.retrieval import compare_embeddings, load_sentences


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=None, help="model directory (default: shipped)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    model = MiniLM.load()
    sents = load_sentences()
    rec = RangeRecorder(FP32Ops())
    model.embed(sents[::4], ops=rec)
    hw = hardware.HardwareModels.from_dir(args.models)
    a = arch.load("race-it")
    xb = a.component("crossbar")
    ops = RaceItOps(a, hardware.crossbar_device(hw, xb), hardware.acam_sigma_rel(
        hw, xb.get("write_verify_tol_us")), rec.ranges)
    ref = model.embed(sents)
    ops.calibrating = True       # programs the crossbars, sets converter ranges (untimed)
    model.embed(sents[::4], ops=ops)
    ops.calibrating = False
    t_fp = best_of(lambda: model.embed(sents), args.repeat)
    t_an = best_of(lambda: model.embed(sents, ops=ops), args.repeat)
    acc = compare_embeddings(ref, model.embed(sents, ops=ops))
    out = {"sentences": len(sents), "fp32_s": round(t_fp, 4), "analog_s": round(t_an, 4),
           "analog_over_fp32": round(t_an / t_fp, 3),
           "sentences_per_s": round(len(sents) / t_an, 1),
           "fp32_sentences_per_s": round(len(sents) / t_fp, 1),
           "cosine_mean": round(acc["cosine_mean"], 4)}
    print(f"FP32 forward  : {t_fp * 1e3:8.1f} ms for {len(sents)} sentences")
    print(f"RACE-IT models: {t_an * 1e3:8.1f} ms = {out['analog_over_fp32']:.2f}x the FP32 "
          f"forward ({out['sentences_per_s']} sentences/s); cosine to FP32 "
          f"{out['cosine_mean']}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
