"""Sweep planning cost per point against the number of points (it must stay flat).

Baseline, same run: planning a 10,000-sample Monte-Carlo nfet-iv spec. Measured: the
same spec at --mc 100,000 and 1,000,000 (the MC limit). The figure is each size's time
per point divided by the baseline's (1.0 = linear; it was ~N/10,000 before the outer
grid was built once per spec). Last line JSON.
Run: ``.venv/bin/python benchmarks/plan_scaling.py [--max 1000000]``.
"""
from __future__ import annotations

import argparse
import resource
import time

from imcspice import jsonio
from imcspice.characterize.runner import build_tasks
from imcspice.characterize.sweep import SweepSpec


def per_point_s(mc: int) -> float:
    spec = SweepSpec("nfet-iv", {"w_um": [1.0]}, mc=mc)
    t = time.perf_counter()
    tasks, _ = build_tasks(spec, range(spec.n_points))
    dt = time.perf_counter() - t
    assert len(tasks) == mc
    return dt / mc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max", type=int, default=1_000_000, help="largest --mc planned")
    args = ap.parse_args()
    base = per_point_s(10_000)
    out = {"baseline_us_per_point": round(base * 1e6, 1)}
    mc = 100_000
    while mc <= args.max:
        r = per_point_s(mc)
        out[f"mc{mc}_over_baseline"] = round(r / base, 3)
        out[f"mc{mc}_plan_s"] = round(r * mc, 1)
        print(f"--mc {mc:>9,}: {r * 1e6:6.1f} us/point = {r / base:.2f}x the 10k baseline, "
              f"{r * mc:.1f} s in all")
        mc *= 10
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(jsonio.dumps(out))


if __name__ == "__main__":
    main()
