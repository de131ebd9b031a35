"""Cost of mapping weights onto crossbar conductances (``accelerators/ir_profile.py``,
the "compensated" profile every RACE-IT and HeTraX chip is programmed with).

Each row tile's bit lines are independent column problems, so ``mapped_conductances``
solves all full tiles' G+ and G- bit lines as the columns of one array. Baseline, in the
same run: the same function called once per row tile (what the mapping did before,
tile by tile), whose results must be bitwise the same. Also the bit-line transfer
(``bitline_transfer``, the Thomas sweep vectorized over columns) against SciPy's banded
solver column by column (another solver: agreement to 1e-12 is checked).

Matrices: the MiniLM linear shapes (in x out) and a narrow one (64 outputs) on the
shipped race-it tile (128 rows), random weights (seed 0; the work does not depend on
their values: 6 fixed iterations). Measured 2026-12-04 on 2 cores: side by side is
0.7-1.7x the per-tile calls at MiniLM widths (memory-bound either way; runs vary) and
3.3x on narrow ones, where numpy's per-call cost dominates; the transfer's sweep is ~50x
SciPy's per-column solve.
Last line JSON. Run: ``.venv/bin/python benchmarks/crossbar_mapping.py [--repeat 3]``.
"""
from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
from scipy.linalg import solve_banded

from imcspice.accelerators import arch, hardware
from imcspice.accelerators.ir_profile import bitline_transfer, mapped_conductances

SHAPES = ((384, 384), (384, 1536), (1536, 384), (384, 64))


def best_s(fn, repeat: int):
    out, times = None, []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def per_tile(wn, dev):
    """The mapping called on each row tile alone, its results stacked."""
    r = dev.tile_rows
    parts = [mapped_conductances(wn[t:t + r], dev) for t in range(0, wn.shape[0], r)]
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts], axis=1), np.concatenate([p[3] for p in parts]))


def transfer_by_scipy(g, r_seg_ohm):
    """Each column's nodal system solved by scipy.linalg.solve_banded (LAPACK gtsv)."""
    gs = 1.0 / r_seg_ohm
    n = g.shape[0]
    out = np.empty_like(g)
    rhs = np.zeros(n)
    rhs[-1] = gs
    for c in range(g.shape[1]):
        diag = g[:, c] + gs
        diag[1:] += gs
        ab = np.zeros((3, n))
        ab[0, 1:] = ab[2, :-1] = -gs
        ab[1] = diag
        out[:, c] = solve_banded((1, 1), ab, rhs)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="best of this many runs each")
    args = ap.parse_args()
    warnings.simplefilter("ignore")        # the tile's loads are outside the tiny fit: fine
    a = arch.load("race-it")
    hw = hardware.HardwareModels.from_dir(None, corner=a.corner, temp_c=a.temp_c)
    dev = hardware.crossbar_device(hw, a.component("crossbar"))
    rng = np.random.default_rng(0)
    rows = []
    for n_in, n_out in SHAPES:
        wn = np.clip(0.3 * rng.standard_normal((n_in, n_out)), -1.0, 1.0)
        base_s, base = best_s(lambda: per_tile(wn, dev), args.repeat)
        new_s, new = best_s(lambda: mapped_conductances(wn, dev), args.repeat)
        same = all(np.array_equal(x, y) for x, y in zip(base, new))
        rows.append({"shape": [n_in, n_out], "per_tile_s": base_s, "batched_s": new_s,
                     "speedup": base_s / new_s, "bitwise_equal": same})
        print(f"map {n_in:5d} x {n_out:5d}: per tile {base_s:6.3f} s, batched {new_s:6.3f} s "
              f"({base_s / new_s:4.1f}x), bitwise equal: {same}", flush=True)
    g = rng.uniform(dev.g_min_s, dev.g_max_s, (dev.tile_rows, 768))
    ref_s, ref = best_s(lambda: transfer_by_scipy(g, 2.5), args.repeat)
    our_s, ours = best_s(lambda: bitline_transfer(g, 2.5), args.repeat)
    err = float(np.max(np.abs(ours - ref)))
    print(f"bit-line transfer, {g.shape[0]} rows x {g.shape[1]} columns: scipy per column "
          f"{1e3 * ref_s:.1f} ms, vectorized {1e3 * our_s:.1f} ms ({ref_s / our_s:.0f}x), "
          f"max difference {err:.1e}")
    if err > 1e-12 or not all(r["bitwise_equal"] for r in rows):
        raise SystemExit("crossbar_mapping: results differ from the baseline")
    print(json.dumps({"mapping": rows, "transfer": {
        "scipy_per_column_s": ref_s, "vectorized_s": our_s, "speedup": ref_s / our_s,
        "max_abs_difference": err}}))


if __name__ == "__main__":
    main()
