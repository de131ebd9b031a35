"""A long Monte-Carlo campaign: throughput and worker memory over 10,000 points.

Runs ``nfet-iv`` (W = 0.5 um, SKY130 tt mismatch) with ``--mc 10000`` on a local
pool of 2 workers, cache off, while a sampler thread reads every worker's resident
memory from /proc. Workers are recycled every ``MAX_POINTS_PER_WORKER`` points, so
memory stays flat however long the campaign runs.

Baseline measured in the same run: the first 500 points of the campaign (same
recipe, same pool), so the ratio ``throughput_vs_first_500`` shows whether a long
campaign slows down. Last line JSON.
Run: ``.venv/bin/python benchmarks/mc_campaign.py [--points 10000] [--workers 2]``.
"""
from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from imcspice import jsonio
from imcspice.characterize import engine
from imcspice.characterize.engine import LocalPool
from imcspice.characterize.runner import run_sweep
from imcspice.characterize.sweep import SweepSpec


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    samples: list[tuple[float, float]] = []
    stop = threading.Event()
    with tempfile.TemporaryDirectory() as d, LocalPool(args.workers, timeout_s=120,
                                                       use_cache=False) as pool:
        def sample():
            t0 = time.monotonic()
            while not stop.is_set():
                samples.append((time.monotonic() - t0,
                                float(np.nansum([rss_mb(p) for p in pool.worker_pids()]))))
                time.sleep(0.5)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        t = time.perf_counter()
        base = run_sweep(SweepSpec("nfet-iv", {"w_um": [0.5]}, mc=500, seed=99),
                         Path(d) / "base.raw.h5", pool=pool, progress=False, use_cache=False)
        t_base = time.perf_counter() - t
        t = time.perf_counter()
        raw = run_sweep(SweepSpec("nfet-iv", {"w_um": [0.5]}, mc=args.points, seed=1),
                        Path(d) / "mc.raw.h5", pool=pool, progress=True, use_cache=False)
        t_all = time.perf_counter() - t
        stop.set()
        th.join()
    vth = raw.data["vth_v"].ravel()
    mem = np.array([m for _, m in samples])
    q = max(1, len(mem) // 10)
    out = {
        "points": args.points, "workers": args.workers,
        "status": raw.status_counts(),
        "points_per_s": round(args.points / t_all, 1),
        "baseline_points_per_s": round(500 / t_base, 1),
        "throughput_vs_first_500": round((args.points / t_all) / (500 / t_base), 3),
        "worker_rss_mb_first_10pct": round(float(np.median(mem[:q])), 1),
        "worker_rss_mb_last_10pct": round(float(np.median(mem[-q:])), 1),
        "worker_rss_mb_max": round(float(mem.max()), 1),
        "recycle_every_points": engine.MAX_POINTS_PER_WORKER,
        "vth_mean_v": round(float(np.nanmean(vth)), 5),
        "vth_sigma_mv": round(1e3 * float(np.nanstd(vth)), 3),
        "baseline_status": base.status_counts(),
    }
    print(f"{args.points} MC points: {out['points_per_s']} points/s "
          f"({out['throughput_vs_first_500']}x the first-500 rate); worker memory "
          f"{out['worker_rss_mb_first_10pct']} MB -> {out['worker_rss_mb_last_10pct']} MB "
          f"(max {out['worker_rss_mb_max']} MB); Vth sigma {out['vth_sigma_mv']} mV")
    print(jsonio.dumps(out))


if __name__ == "__main__":
    main()
