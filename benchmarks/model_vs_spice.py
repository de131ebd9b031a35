"""Behavioral models vs ngspice: held-out error and evaluation speed, per model kind.

    /work/venv/bin/python benchmarks/model_vs_spice.py [--out DIR] [--only KIND ...]

For each model family whose recipe is installed, runs a small REAL sweep (no point
cache, so every point's ``seconds`` is a fresh ngspice run), fits it, then evaluates the
model's primary output on 1e6 random points inside its valid box. Prints one line per
kind with ratios:

    speedup      = SPICE seconds per sweep point / model seconds per evaluated point
    speedup/val  = the same, per output VALUE: a sweep point of e.g. nfet-iv yields a whole
                   19 x 37 I-V family, so its time is divided over those values (the
                   conservative comparison)
    held-out     = worst held-out error of the fit, % of full scale (ACAM: also in mV)

The last line is JSON: ``min_speedup_vs_spice`` (per sweep point, as the raw file's
``seconds`` measure it), ``min_speedup_per_value``, ``max_heldout_error_pct_fs`` and the
per-kind details. Targets: speedup >= 10,000x; held-out <= 1 % FS (ACAM <= 5 mV).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N_EVAL = 1_000_000


def _eval_inputs(model, output, rng):
    fn = model.functions[output]
    inputs = {}
    for n in fn.inputs:
        lo, hi = model.valid_range[n]
        if lo == hi:
            continue
        inputs[n] = rng.uniform(lo, hi, N_EVAL)
    return inputs


def _throughput(model, output, corner, rng, repeats=3) -> float:
    x = _eval_inputs(model, output, rng)
    model.evaluate(output, corner=corner, strict=True, **{k: v[:1000] for k, v in x.items()})
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        y = model.evaluate(output, corner=corner, strict=True, **x)
        best = min(best, time.perf_counter() - t)
    assert np.shape(y) == (N_EVAL,) or not x, np.shape(y)
    return N_EVAL / best


def _values_per_point(raw, output) -> int:
    inner = [a for a in raw.data_axes.get(output, []) if a not in raw.outer]
    return int(np.prod([len(raw.axis(a)) for a in inner])) if inner else 1


def main(argv=None) -> int:
    from imcspice.characterize import rawfile
    from imcspice.characterize.defaults import SMALL, available, spec_of
    from imcspice.characterize.engine import LocalPool
    from imcspice.characterize.fit import fit
    from imcspice.characterize.runner import run_sweep

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=None, help="keep raw/model files here (default: temp)")
    ap.add_argument("--only", action="append", default=None)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args(argv)
    out = Path(a.out) if a.out else Path(tempfile.mkdtemp(prefix="imcspice-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    entries = available(SMALL)
    if a.only:
        entries = {k: v for k, v in entries.items() if k in a.only}
    rng = np.random.default_rng(0)
    results = {}
    with LocalPool(a.workers, timeout_s=600) as pool:
        for name, entry in entries.items():
            spec = spec_of(entry)
            raw_path = out / f"{name}.raw.h5"
            try:
                raw = run_sweep(spec, raw_path, pool=pool, progress=False, use_cache=False)
                ok = raw.status == rawfile.STATUS["ok"]
                if not ok.any():
                    raise RuntimeError(f"no successful point: {raw.status_counts()}")
                model = fit(raw_path)
            except Exception as e:  # report and go on with the other kinds
                results[name] = {"error": f"{type(e).__name__}: {e}"}
                print(f"{name:<20} FAILED: {type(e).__name__}: {e}")
                continue
            spice_s = float(np.mean(raw.seconds[ok]))
            output = model.primary if model.primary in model.functions else model.outputs[0]
            corner = model.corners[0]
            pts_s = _throughput(model, output, corner, rng)
            model_s = 1.0 / pts_s
            per_val = _values_per_point(raw, output) if output in raw.data else 1
            he = model.heldout_error
            worst = he.get("max_pct_fs", float("nan"))
            r = {"kind": model.kind, "output": output, "spice_s_per_point": spice_s,
                 "sweep_points": int(raw.status.size), "values_per_point": per_val,
                 "model_points_per_s": pts_s, "speedup": spice_s / model_s,
                 "speedup_per_value": spice_s / per_val / model_s,
                 "heldout_max_pct_fs": worst,
                 "heldout": {k: {"max_pct_fs": e["max_pct_fs"], "max_abs": e["max_abs"],
                                 "unit": e["unit"], "n": e["n_heldout"]}
                             for k, e in he["outputs"].items()}}
            extra = ""
            if model.kind == "acam-window":
                mv = max(e["max_abs"] for e in he["outputs"].values()) * 1e3
                r["heldout_max_mv"] = mv
                extra = f" ({mv:.2f} mV, target 5 mV)"
            results[name] = r
            print(f"{name:<20} {model.kind:<18} speedup {r['speedup']:>12,.0f}x  "
                  f"speedup/val {r['speedup_per_value']:>10,.0f}x  "
                  f"held-out {worst:6.3f}% FS{extra}  "
                  f"[SPICE {spice_s * 1e3:.1f} ms/pt, model {pts_s / 1e6:.1f} Mpt/s]",
                  flush=True)
    good = [r for r in results.values() if "speedup" in r]
    summary = {
        "min_speedup_vs_spice": min((r["speedup"] for r in good), default=None),
        "min_speedup_per_value": min((r["speedup_per_value"] for r in good), default=None),
        "max_heldout_error_pct_fs": max((r["heldout_max_pct_fs"] for r in good
                                         if np.isfinite(r["heldout_max_pct_fs"])), default=None),
        "failed": sorted(k for k, r in results.items() if "error" in r),
        "kinds": results,
        "files": str(out),
    }
    print(json.dumps(summary, default=float))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("IMCSPICE_CACHE", tempfile.mkdtemp(prefix="imcspice-bench-cache-"))
    sys.exit(main())
