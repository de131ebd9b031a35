#!/usr/bin/env python3
"""What the bit-line TIA's own noise costs a crossbar machine's accuracy, and what another
readout would buy (a what-if: the machine is priced at the shipped readout,
characterize/defaults.py READOUT: feedback trimmed per column to a 0.2 V swing, at most
800 ohm, and a 1 pF sample-and-hold; 400 ohm and 500 fF until 2026-12-05).

For each ``--r-f``: recipe tia-noise (ngspice) at the tile's 128 rows, 0.2 V read and
``--load`` (default: RACE-IT's median mapped bit-line load, 0.12), 27 C, with the shipped
readout's settings, that r_f, and the ``--readout`` overrides (the recipe's: e.g.
``--readout tia_swing_v=0 --readout c_hold_ff=0`` for a fixed r_f without a hold, the
design before 2026-12-05 at 25 ohm; ``--readout ota_w3_um=8`` a larger OTA mirror). Its
input-referred noise current over the shipped readout's at the same point is the scale
on the characterized non-ideality (``Nonideal(tia_noise=scale)``: one ratio for every bit
line, an approximation where the column's conductance floor moves it); then the QUICK
protocol's MiniLM cosine to FP32 on chip ``--seed`` with every other non-ideality as
characterized. Baselines of the same run: scale 0 (no TIA noise) and 1 (the shipped
readout). The what-ifs are not priced. Last line JSON.
Run: ``python benchmarks/tia_noise_accuracy.py --arch race-it --r-f 25 800
--readout tia_swing_v=0 --readout c_hold_ff=0``
"""
from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from imcspice import jsonio


def noise_a(load: float, out: Path, readout: dict) -> float:
    """The tia-noise recipe's input-referred noise current (A rms) with the shipped
    readout's settings, overridden by ``readout`` (the recipe's parameters)."""
    from imcspice.characterize.defaults import READOUT
    from imcspice.characterize.runner import run_sweep
    from imcspice.characterize.sweep import SweepSpec
    settings = {**READOUT, **{k: [float(v)] for k, v in readout.items()}}
    tag = f"tn{len(list(out.iterdir()))}"
    raw = run_sweep(SweepSpec("tia-noise", {"rows": [128], "frac_on": [load],
                                            "v_read_v": [0.2], "ota_ibias_a": [40e-6],
                                            "ota_rz_ohm": [2500.0], **settings},
                              ["tt"], [27]), out / f"{tag}.raw.h5", progress=False)
    return float(np.ravel(raw.data["i_noise_a"])[0])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", default="race-it", help="race-it or hetrax")
    ap.add_argument("--r-f", type=float, nargs="+", default=[25.0, 200.0, 400.0, 800.0],
                    help="TIA feedback resistances, ohm (the shipped readout's largest "
                    "setting: 800)")
    ap.add_argument("--load", type=float, default=0.12,
                    help="bit-line load the noise ratio is read at (RACE-IT's median)")
    ap.add_argument("--seed", type=int, default=0, help="chip seed")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a description override, e.g. crossbar.w_scale=tile (repeatable)")
    ap.add_argument("--readout", action="append", default=[], metavar="KEY=VALUE",
                    help="a tia-noise setting of the what-if readout (every --r-f), e.g. "
                    "tia_swing_v=0, c_hold_ff=0 or ota_w3_um=8 (repeatable; the baseline "
                    "stays the shipped readout)")
    a = ap.parse_args(argv)
    readout = {}
    for kv in a.readout:
        key, sep, val = kv.partition("=")
        try:
            readout[key.strip()] = float(val) if sep else None
        except ValueError:
            readout[key.strip()] = None
        if readout[key.strip()] is None:
            ap.error(f"--readout {kv!r}: write KEY=NUMBER (a tia-noise parameter)")
    from imcspice.characterize.recipe import RECIPES
    known = {q.name for q in RECIPES.get("tia-noise").params}
    if set(readout) - known:
        ap.error(f"--readout: {sorted(set(readout) - known)} not tia-noise parameters "
                 "(imcspice recipes shows them)")
    from imcspice.accelerators import arch as arch_mod, hardware
    from imcspice.accelerators.accuracy import MiniLMRun
    from imcspice.accelerators.analog import Nonideal
    from imcspice.accelerators.retrieval import compare_embeddings
    from imcspice.accelerators.torch_chip import AnalogChip
    warnings.simplefilter("ignore")
    desc = arch_mod.load(a.arch, a.set)
    hw = hardware.HardwareModels.from_dir(None, corner=desc.corner, temp_c=desc.temp_c)
    run = MiniLMRun(quick=True)

    def cosine(scale: float) -> float:
        e = run.embeddings(lambda ni, s: AnalogChip(desc, nonideal=ni, seed=s, hw=hw),
                           Nonideal(tia_noise=scale), a.seed)
        return float(compare_embeddings(run.ref, e)["cosine_mean"])
    rows = []
    with tempfile.TemporaryDirectory() as d:
        base_i = noise_a(a.load, Path(d), {})
        t = time.perf_counter()
        base, shipped = cosine(0.0), cosine(1.0)
        print(f"{a.arch}: no TIA noise: cosine {base:.4f}; the shipped readout "
              f"({base_i * 1e6:.3f} uA rms at the input): {shipped:.4f} "
              f"({time.perf_counter() - t:.0f} s)")
        for r_f in a.r_f:
            i_a = noise_a(a.load, Path(d), {"r_f_ohm": r_f, **readout})
            c = cosine(i_a / base_i)
            rows.append({"r_f_ohm": r_f, "i_noise_a": i_a, "scale": i_a / base_i,
                         "cosine": c, "cosine_over_noiseless": c / base})
            print(f"r_f {r_f:g} ohm: {i_a * 1e6:.3f} uA rms at the input (x{i_a / base_i:.4f}"
                  f" of the shipped readout's): cosine {c:.4f} ({c / base:.4f} of the "
                  "noiseless run)")
    print(jsonio.dumps({"arch": a.arch, "overrides": a.set, "readout": readout,
                        "load": a.load, "seed": a.seed,
                        "noiseless_cosine": base, "shipped_i_noise_a": base_i,
                        "shipped_cosine": shipped, "rows": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
