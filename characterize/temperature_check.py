"""The periphery models' temperature axis checked against SPICE at a temperature they were
not fitted at.

HeTraX prices its ReRAM tiers' periphery (DAC, SAR ADC, adders, buffer SRAM, decoder and
bus) at the solved tier temperature. Those models are fitted on three temperature lines
(27, 60 and 95 C, ``defaults.PERIPHERY_TEMPS_C``) and interpolate log(value) linearly
between them; three lines leave nothing to hold out along T, so this check runs each
model's own default sweep again, tt only, at :data:`CHECK_TEMP_C`, and compares:

* ``interp_max_rel_pct``: the shipped model at 45 C against the new SPICE points
  (max |model - spice| / |spice|, %);
* ``interp_max_pct_fs``: the same error in % of the model's full scale, the measure of
  its held-out figures (``heldout_error``);
* ``at_27c_max_rel_pct``: the same against the model's 27 C value, the figure every
  hot-tier periphery entry carried while these models knew 27 C only (their
  "temp_c clipped" notes).

    python -m imcspice.characterize.temperature_check --out models/data/check

writes ``OUT/NAME.raw.h5`` per model (shipped; tests/test_periphery_temperature.py holds
the shipped models to them) and prints the table, JSON on the last line.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

from .. import jsonio
from ..errors import ImcspiceError
from ..models.store import load
from . import rawfile
from .defaults import FULL, spec_of
from .fitting.grid import grid_data
from .fitting.holdout import mesh_points
from .runner import run_sweep

#: between the fitted 27 and 60 C lines, near where HeTraX's tiers run (46-48 C in its
#: reports)
CHECK_TEMP_C = 45.0
#: the shipped models fitted on the periphery temperature lines (PERIPHERY_TEMPS_C)
PERIPHERY = ("dac", "logic", "sar-adc", "sram", "sram-periphery")


def check_sweeps() -> dict:
    """name -> the model's default sweep at tt and :data:`CHECK_TEMP_C` only."""
    return {n: replace(FULL[n], corners=["tt"], temps_c=[CHECK_TEMP_C]) for n in PERIPHERY}


def compare(model_path, raw_path) -> dict:
    """Per output of the model: the check described in the module docstring, plus the
    number of points compared."""
    model = load(model_path)
    raw = rawfile.read(raw_path)
    out = {}
    for q, fn in model.functions.items():
        if q not in raw.data or "temp_c" not in fn.inputs:
            continue
        gd = grid_data(raw, q, settings=tuple(fn.inputs))
        keep = {n: np.zeros(len(v), bool) for n, v in gd.axes}
        coords, sel = mesh_points(gd, keep, heldout=True)
        spice = gd.values[gd.corners.index("tt")][sel]
        ok = np.isfinite(spice)
        if not ok.any():
            continue

        def at(temp_c):
            pt = {n: coords[n][ok] for n in fn.inputs}
            pt["temp_c"] = np.full(int(ok.sum()), float(temp_c))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")   # the 27/95 C evaluations are on the box
                return np.asarray(model.evaluate(q, corner="tt", **pt), dtype=np.float64)

        ref = np.abs(spice[ok])
        err = np.abs(at(CHECK_TEMP_C) - spice[ok])
        fs = model.heldout_error["outputs"][q]["full_scale"]
        out[q] = {"interp_max_rel_pct": float(100 * np.max(err / ref)),
                  "interp_max_pct_fs": float(100 * np.max(err) / fs),
                  "at_27c_max_rel_pct": float(100 * np.max(np.abs(at(27.0) - spice[ok]) / ref)),
                  "n_points": int(ok.sum())}
    return out


def run(out_dir, models_dir="models/data", *, workers: int = 0, progress: bool = True
        ) -> dict:
    """Run the check sweeps into ``out_dir`` (the point cache makes a rerun cheap) and
    compare the models of ``models_dir`` with them."""
    out = Path(out_dir)
    for name in PERIPHERY:    # every model readable before any SPICE runs
        load(Path(models_dir) / f"{name}.model.h5")
    out.mkdir(parents=True, exist_ok=True)
    res = {"check_temp_c": CHECK_TEMP_C, "models": {}}
    for name, entry in check_sweeps().items():
        raw_path = out / f"{name}.raw.h5"
        run_sweep(spec_of(entry), raw_path, workers=workers, progress=progress)
        res["models"][name] = compare(Path(models_dir) / f"{name}.model.h5", raw_path)
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m imcspice.characterize.temperature_check",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="models/data/check",
                    help="directory of the check sweeps (default models/data/check)")
    ap.add_argument("--models", default="models/data",
                    help="directory of the models to check (default: the shipped ones)")
    ap.add_argument("--workers", type=int, default=0, help="local worker processes "
                    "(0: one per core)")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    a = ap.parse_args(argv)
    try:
        res = run(a.out, a.models, workers=a.workers, progress=not a.quiet)
    except (ImcspiceError, FileNotFoundError, PermissionError, NotADirectoryError,
            FileExistsError) as e:
        print(f"temperature_check: error: {e}", file=sys.stderr)
        return 2
    t = f"{CHECK_TEMP_C:g} C"
    print(f"max |error| against SPICE at {t} (tt), % of the SPICE value; % of the model's "
          "full scale (the held-out figures' measure)")
    print(f"{'model':<15} {'output':<16} {'points':>6} {'model at ' + t:>14} {'% FS':>6} "
          f"{'27 C value':>11}")
    for name, outs in res["models"].items():
        for q, e in outs.items():
            print(f"{name:<15} {q:<16} {e['n_points']:>6} {e['interp_max_rel_pct']:>13.2f}% "
                  f"{e['interp_max_pct_fs']:>6.2f} {e['at_27c_max_rel_pct']:>10.2f}%")
    print(jsonio.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
