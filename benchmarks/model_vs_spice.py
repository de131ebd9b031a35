"""Behavioral models vs ngspice: held-out error and evaluation speed, per model kind.

    /work/venv/bin/python benchmarks/model_vs_spice.py [--out DIR] [--only NAME ...]

Per model family whose recipe is installed, in one run:

1. SPICE cost: a small REAL sweep of the family's recipe (``SMALL`` in
   characterize/defaults.py; no point cache, so every point's ``seconds`` is a fresh
   ngspice run), fitted too (the whole pipeline on fresh data; its held-out error is
   reported as ``small_sweep_heldout_max_pct_fs``: a few lines of one setting, so
   near-step quantities score worse there than on the full grid).
2. Model error: the shipped default sweep(s) of the family (``models/data/raw``, the
   ``FULL`` entries) refitted in this run: the held-out error of exactly the models
   that ship, recomputed, not read back from their files.
3. Model speed: the refitted shipped model's primary output evaluated on 1e6 random
   points inside its valid box.

Ratios printed per kind:

    speedup      = SPICE seconds per sweep point / model seconds per evaluated point
    speedup/val  = the same, per output VALUE: a sweep point of e.g. nfet-iv yields a whole
                   I-V family, so its time is divided over those values (conservative)
    held-out     = worst held-out error of the shipped fit, % of full scale (ACAM: mV too)

The last line is JSON: ``min_speedup_vs_spice``, ``min_speedup_per_value``,
``max_heldout_error_pct_fs`` (over the shipped fits) and per-kind details. Targets:
speedup >= 10,000x; held-out <= 1 % FS (ACAM thresholds <= 5 mV).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from imcspice import jsonio

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


def _heldout(model) -> dict:
    return {k: {"max_pct_fs": e["max_pct_fs"], "max_abs": e["max_abs"], "unit": e["unit"],
                "n": e["n_heldout"]} for k, e in model.heldout_error["outputs"].items()}


def main(argv=None) -> int:
    from imcspice import models as models_pkg
    from imcspice.characterize import rawfile
    from imcspice.characterize.defaults import FULL, SMALL, available, spec_of
    from imcspice.characterize.engine import LocalPool
    from imcspice.characterize.fit import fit
    from imcspice.characterize.runner import run_sweep

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=None, help="keep raw/model files here (default: temp)")
    ap.add_argument("--only", action="append", default=None,
                    help="a SMALL entry name (nfet, acam-window, gaincell-retention, ...)")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args(argv)
    out = Path(a.out) if a.out else Path(tempfile.mkdtemp(prefix="imcspice-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    shipped = Path(models_pkg.__file__).parent / "data" / "raw"
    entries = available(SMALL)
    if a.only:
        entries = {k: v for k, v in entries.items() if k in a.only}
    rng = np.random.default_rng(0)
    results = {}
    with LocalPool(a.workers, timeout_s=600) as pool:
        for name, entry in entries.items():
            try:   # 1. fresh SPICE cost on the small sweep (and the pipeline on it)
                raw_path = out / f"{name}.small.raw.h5"
                raw = run_sweep(spec_of(entry), raw_path, pool=pool, progress=False,
                                use_cache=False)
                ok = raw.status == rawfile.STATUS["ok"]
                if not ok.any():
                    raise RuntimeError(f"no successful point: {raw.status_counts()}")
                small = fit(raw_path)
            except Exception as e:  # report and go on with the other kinds
                results[name] = {"error": f"{type(e).__name__}: {e}"}
                print(f"{name:<26} FAILED: {type(e).__name__}: {e}")
                continue
            spice_s = float(np.mean(raw.seconds[ok]))
            # 2./3. the shipped default sweeps of this recipe, refitted; their speed
            for full_name, full in FULL.items():
                if full.recipe != entry.recipe or \
                        not (shipped / f"{full_name}.raw.h5").exists():
                    continue
                model = fit(shipped / f"{full_name}.raw.h5")
                output = model.primary if model.primary in model.functions \
                    else model.outputs[0]
                pts_s = _throughput(model, output, model.corners[0], rng)
                per_val = _values_per_point(raw, output) if output in raw.data else 1
                worst = model.heldout_error.get("max_pct_fs", float("nan"))
                r = {"kind": model.kind, "output": output, "spice_s_per_point": spice_s,
                     "small_sweep": name, "small_sweep_points": int(raw.status.size),
                     "small_sweep_heldout_max_pct_fs":
                         small.heldout_error.get("max_pct_fs", float("nan")),
                     "values_per_point": per_val, "model_points_per_s": pts_s,
                     "speedup": spice_s * pts_s, "speedup_per_value": spice_s / per_val * pts_s,
                     "heldout_max_pct_fs": worst, "heldout": _heldout(model)}
                extra = ""
                if model.kind == "acam-window":
                    mv = max(e["max_abs"] for e in r["heldout"].values()) * 1e3
                    r["heldout_max_mv"] = mv
                    extra = f" ({mv:.2f} mV, target 5 mV)"
                results[full_name] = r
                print(f"{full_name:<26} speedup {r['speedup']:>14,.0f}x  "
                      f"speedup/val {r['speedup_per_value']:>12,.0f}x  "
                      f"held-out {worst:6.3f}% FS{extra}  [SPICE {spice_s * 1e3:.1f} ms/pt, "
                      f"model {pts_s / 1e6:.1f} Mpt/s]", flush=True)
    good = [r for r in results.values() if "speedup" in r]
    fin = [r["heldout_max_pct_fs"] for r in good if np.isfinite(r["heldout_max_pct_fs"])]
    summary = {
        "min_speedup_vs_spice": min((r["speedup"] for r in good), default=None),
        "min_speedup_per_value": min((r["speedup_per_value"] for r in good), default=None),
        "max_heldout_error_pct_fs": max(fin, default=None),
        "max_small_sweep_heldout_pct_fs": max(
            (r["small_sweep_heldout_max_pct_fs"] for r in good
             if np.isfinite(r["small_sweep_heldout_max_pct_fs"])), default=None),
        "failed": sorted(k for k, r in results.items() if "error" in r),
        "kinds": results,
        "files": str(out),
    }
    print(jsonio.dumps(summary, default=float))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("IMCSPICE_CACHE", tempfile.mkdtemp(prefix="imcspice-bench-cache-"))
    sys.exit(main())
