"""Sweep throughput: the engine against the naive path and the floor, in one run.

* engine  : a 200-point SKY130 nfet-iv sweep (W swept; each point one nested DC
            analysis of 37 x 73 = 2701 bias points) through :func:`run_sweep`, cache off,
            with 1 and 2 local worker processes (pools started before timing).
* naive   : a fresh PySpice circuit per point that ``.lib``-includes the whole
            SKY130 library, loaded into ngspice and simulated; measured on
            ``--naive-points`` points (default 1) and extrapolated per point. With
            ngspice 46 (bookworm-backports) parsing the whole library takes minutes per
            point (measured 346 s under load ~9 on 2 cores; ngspice 39 took 5.2 s), so
            the three points this used to time made the run last over 15 min.
* floor   : the same trimmed netlist loaded once in this process, then a bare
            ``alterparam`` / ``reset`` / ``dc`` loop: what ngspice itself costs.

Prints each figure as a ratio; the last line is JSON with ``speedup_vs_naive``,
``per_point_ms``, ``floor_per_point_ms``, ``parallel_speedup_2_workers``.
Run: ``.venv/bin/python benchmarks/sweep_throughput.py [--points 200]``.

Measured 2026-11-30 (ngspice 46 with KLU, quiet 2-core machine, 200 points): engine
117.5 ms/point = 1.08x the floor (109.2 ms), 2 workers 2.00x faster than 1, naive path
76.0 s/point (one point) -> engine 1296x faster. Targets (issue 2): >= 200x naive,
<= 2x the floor, >= 1.7x on 2 workers: met.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from imcspice import jsonio
from imcspice.characterize import ngspice
from imcspice.characterize.engine import LocalPool
from imcspice.characterize.recipes import get_recipe
from imcspice.characterize.runner import run_sweep
from imcspice.characterize.sweep import SweepSpec
from imcspice.circuits.technology import Sky130, sky130_root


def engine_seconds(spec: SweepSpec, workers: int, out: Path) -> float:
    with LocalPool(workers, timeout_s=120, use_cache=False) as pool:
        # warm the workers (ngspice start) so the pool start-up is not timed
        run_sweep(SweepSpec("nfet-iv", {"w_um": [0.42 + 0.01 * k for k in range(workers)]}),
                  out.with_suffix(".warm.h5"), pool=pool, progress=False, use_cache=False)
        t = time.perf_counter()
        raw = run_sweep(spec, out, pool=pool, progress=False, use_cache=False)
        dt = time.perf_counter() - t
    assert raw.status_counts() == {"ok": spec.n_points}, raw.status_counts()
    return dt


def floor_seconds(spec: SweepSpec) -> float:
    recipe = get_recipe("nfet-iv")
    tech = Sky130()
    p = recipe.resolve({})
    ng = ngspice.get()
    ng.load(recipe.netlist(tech, p, "tt", 27.0))
    cmds = recipe.commands(p)
    t = time.perf_counter()
    for w in spec.axes["w_um"]:
        ng.command(f"alterparam w_um={w!r}")
        ng.command("reset")
        ng.run(cmds)
    return time.perf_counter() - t


def naive_seconds_per_point(n: int = 1) -> float:
    """A fresh PySpice Circuit per point, including the full SKY130 library."""
    from PySpice.Spice.Netlist import Circuit
    lib = sky130_root() / "combined_models" / "sky130.lib.spice"
    ng = ngspice.get()
    times = []
    for k in range(n):
        t = time.perf_counter()
        c = Circuit("naive nfet-iv")
        c.raw_spice = f'.lib "{lib}" tt'
        c.X("m", "sky130_fd_pr__nfet_01v8", "d", "g", 0, 0, w=1.0 + 0.1 * k, l=0.15)
        c.V("d", "d", c.gnd, 0)
        c.V("g", "g", c.gnd, 0)
        ng.load(str(c) + ".end\n")
        ng.run(["dc vg 0 1.8 0.05 vd 0 1.8 0.1"])
        times.append(time.perf_counter() - t)
    return float(np.mean(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=200)
    ap.add_argument("--naive-points", type=int, default=1,
                    help="points of the naive path to time (each parses the whole PDK)")
    args = ap.parse_args()
    spec = SweepSpec("nfet-iv", {"w_um": list(np.linspace(0.5, 20.0, args.points))})
    with tempfile.TemporaryDirectory() as d:
        t1 = engine_seconds(spec, 1, Path(d) / "w1.raw.h5")
        print(f"[sweep_throughput] engine, 1 worker: {t1:.1f} s", flush=True)
        t2 = engine_seconds(spec, 2, Path(d) / "w2.raw.h5")
        print(f"[sweep_throughput] engine, 2 workers: {t2:.1f} s", flush=True)
    tf = floor_seconds(spec)
    print(f"[sweep_throughput] floor: {tf:.1f} s", flush=True)
    naive = naive_seconds_per_point(args.naive_points)
    print(f"[sweep_throughput] naive: {naive:.1f} s per point", flush=True)
    n = spec.n_points
    per_point_ms = 1e3 * t1 / n
    floor_ms = 1e3 * tf / n
    eff_ms = 1e3 * min(t1, t2) / n
    out = {
        "points": n,
        "per_point_ms": round(per_point_ms, 3),
        "per_point_ms_2_workers": round(1e3 * t2 / n, 3),
        "floor_per_point_ms": round(floor_ms, 3),
        "naive_per_point_ms": round(1e3 * naive, 1),
        "engine_over_floor": round(per_point_ms / floor_ms, 3),
        "speedup_vs_naive": round(1e3 * naive / eff_ms, 1),
        "parallel_speedup_2_workers": round(t1 / t2, 3),
    }
    print(f"engine, 1 worker : {per_point_ms:8.2f} ms/point = {out['engine_over_floor']:.2f}x "
          f"the floor ({floor_ms:.2f} ms/point, bare ngspice loop)")
    print(f"engine, 2 workers: {1e3 * t2 / n:8.2f} ms/point = {out['parallel_speedup_2_workers']:.2f}x "
          "faster than 1 worker")
    print(f"naive path       : {1e3 * naive:8.1f} ms/point -> engine is "
          f"{out['speedup_vs_naive']:.0f}x faster")
    print(jsonio.dumps(out))


if __name__ == "__main__":
    main()
