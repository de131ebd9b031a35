"""1T1R crossbar arrays in SPICE: time per point of the RACE-IT tile (128 x 128 1T1R)
with the current simulator path against the old one, in one run.

* new path : recipe ``crossbar-array`` (device 1t1r) through :func:`run_sweep`, one
             local worker (started before timing), cache off: ngspice 46 with KLU and
             the access transistor's SKY130 model bin hoisted to the top level, no
             reset after the load. Measured at 32 x 32, 64 x 64 and 128 x 128 (and
             256 x 256 with ``--max 256``).
* old path : the deck as it was before (the PDK nfet subcircuit expanded per cell with
             its 48 binned model cards), the Sparse 1.3 solver (``.options sparse``),
             load + reset + op, in this process. Measured at 16 x 16 and 32 x 32 on
             this ngspice and extrapolated to 128 x 128 with the power law fitted
             through the two (the same law applied to the ngspice 39.3 figure below).
* ngspice 39 : bookworm's ngspice 39.3 (no KLU), same old path through the engine,
             measured once on this machine before ./dev upgraded it (2026-11-30, 2 busy
             cores): 32 x 32 1T1R 313 s per point (load 195 s, reset 115 s, op 3.3 s).
             It cannot be re-measured in a run on ngspice 46: a recorded figure.

Inputs: conductances uniform in 1–160 uS (RRAM range of REFERENCE.md), inputs uniform
in 0–0.2 V (read voltage range), seeded. Times are wall clock (the machine may be
shared: the worker's CPU seconds are printed beside them; on an idle machine wall ~
CPU).

The last line is JSON: ``per_point_s_128`` (new path), ``old_per_point_s_128_extrap``,
``speedup_vs_old`` (their ratio), ``speedup_vs_ngspice39`` and the raw figures.
Run: ``.venv/bin/python benchmarks/array_scaling.py [--max 256]``.
"""
from __future__ import annotations

import argparse
import math
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from imcspice import jsonio
from imcspice.characterize import ngspice
from imcspice.characterize.engine import LocalPool
from imcspice.characterize.recipes.crossbar import CrossbarArray
from imcspice.characterize.runner import run_sweep
from imcspice.characterize.sweep import SweepSpec
from imcspice.circuits.technology import get_technology

#: ngspice 39.3 (Debian bookworm), old path, 32 x 32 1T1R, s per point: measured on this
#: machine before the upgrade (see the module docstring). A recorded figure.
NGSPICE39_32X32_S = 313.2


def arrays(n: int, out: Path) -> tuple[str, str]:
    rng = np.random.default_rng(n)
    gp, vp = out / f"g{n}.npy", out / f"v{n}.npy"
    np.save(gp, rng.uniform(1e-6, 160e-6, (n, n)))
    np.save(vp, rng.uniform(0.0, 0.2, n))
    return str(gp), str(vp)


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def new_path_seconds(n: int, pool, out: Path) -> tuple[float, float]:
    """(wall s, worker CPU s) of one point."""
    gp, vp = arrays(n, out)
    spec = SweepSpec("crossbar-array", {"conductances": [gp], "inputs": [vp],
                                        "device": ["1t1r"]})
    (pid,) = pool.worker_pids()
    c, t = _cpu_s(pid), time.perf_counter()
    raw = run_sweep(spec, out / f"new{n}.raw.h5", pool=pool, progress=False, use_cache=False)
    dt, dc = time.perf_counter() - t, _cpu_s(pid) - c
    assert raw.status_counts() == {"ok": 1}, raw.status_counts()
    return dt, dc


class _OldDeck(CrossbarArray):
    """crossbar-array as built before hoisting: the PDK subcircuit per cell."""

    hoist_model_card = False


def old_path_seconds(n: int, out: Path) -> float:
    gp, vp = arrays(n, out)
    r = _OldDeck()
    p = r.resolve({"conductances": gp, "inputs": vp, "device": "1t1r"})
    text = r.netlist(get_technology(), p, "tt", 27.0)
    title, _, rest = text.partition("\n")
    text = f"{title}\n.options sparse\n{rest}"        # overrides the engine's KLU line
    ng = ngspice.get()
    t = time.perf_counter()
    ng.load(text, f"old{n}")
    ng.command("reset")
    r.simulate(ng, p)
    dt = time.perf_counter() - t
    assert ng.solver.startswith("SPARSE"), ng.solver
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max", type=int, default=128, choices=(128, 256))
    a = ap.parse_args()
    sizes = [32, 64, 128] + ([256] if a.max == 256 else [])
    new: dict[int, float] = {}
    cpu: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as d, LocalPool(1, timeout_s=3600,
                                                       use_cache=False) as pool:
        out = Path(d)
        new_path_seconds(4, pool, out)      # warm the worker (ngspice start, libraries)
        for n in sizes:
            new[n], cpu[n] = new_path_seconds(n, pool, out)
            print(f"new path {n:3d} x {n:<3d} 1T1R: {new[n]:8.2f} s/point wall, "
                  f"{cpu[n]:7.2f} s CPU (worker)", flush=True)
        old = {n: old_path_seconds(n, out) for n in (16, 32)}
    for n, s in old.items():
        print(f"old path {n:3d} x {n:<3d} 1T1R: {s:8.2f} s/point (ngspice "
              f"{ngspice.get().version}, Sparse, PDK subcircuit per cell)")
    k = math.log(old[32] / old[16]) / math.log(4.0)     # t ~ cells^k
    k = max(k, 1.0)                                      # at least linear in cells
    old128 = old[32] * 16.0 ** k
    ng39_128 = NGSPICE39_32X32_S * 16.0 ** k
    res = {
        "ngspice": ngspice.get().version,
        "per_point_s": {str(n): round(s, 3) for n, s in new.items()},
        "per_point_s_128": round(new[128], 3),
        "cpu_s": {str(n): round(s, 2) for n, s in cpu.items()},
        "cpu_s_128": round(cpu[128], 2),
        "target_s_128": 15.0,
        "old_per_point_s": {str(n): round(s, 3) for n, s in old.items()},
        "old_cells_exponent": round(k, 3),
        "old_per_point_s_128_extrap": round(old128, 1),
        "speedup_vs_old": round(old128 / new[128], 1),
        "ngspice39_per_point_s_32": NGSPICE39_32X32_S,
        "ngspice39_per_point_s_128_extrap": round(ng39_128, 1),
        "speedup_vs_ngspice39": round(ng39_128 / new[128], 1),
        "benchmark_max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                      / 1024, 1),
    }
    print(f"old path at 128 x 128, extrapolated (cells^{k:.2f}): {old128:8.0f} s/point -> "
          f"new path is {res['speedup_vs_old']:.0f}x faster")
    print(f"ngspice 39 at 128 x 128, extrapolated from its 32 x 32 {NGSPICE39_32X32_S:.0f} s: "
          f"{ng39_128:8.0f} s/point -> new path is {res['speedup_vs_ngspice39']:.0f}x faster")
    print(jsonio.dumps(res))


if __name__ == "__main__":
    main()
