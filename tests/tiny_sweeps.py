"""The accelerator tests' behavioral models, fitted from real (tiny) ngspice sweeps, built
once per test session (conftest's ``tiny_models``) and shared by the xdist workers.

The build costs ~100 s of ngspice on 2 cores; the evaluation tests that use it sit in
several files (tests/test_accelerators.py, test_race_it_evaluation.py,
test_hetrax_evaluation.py) so that ``--dist loadfile`` can run them on different workers.
The first worker to need the models builds them while holding an exclusive lock; the others
wait for it and read the finished directory (waiting costs no more than building: the build
already keeps both cores busy with its two ngspice workers).
"""
import fcntl
import hashlib
import json
import os
import shutil
from pathlib import Path

from imcspice.characterize import defaults as D
from imcspice.circuits.ota import OtaParams
from imcspice.demo import DEMO

S = D.DefaultSweep
TINY = {
    "memristor": S("memristor-iv", {"g_us": [1.0, 30.0, 150.0]}, ["tt"], [27]),
    "crossbar-column": S("crossbar-column", {"rows": [16, 32, 64], "g_on_us": [100.0],
                                             "r_f_ohm": [25.0]},   # OTA TIA in its swing
                         ["tt"], [27, 85]),
    "acam-window": S("acam-window", {"g_low_us": D._geom(1, 150, 6),
                                     "g_high_us": D._geom(1, 150, 6)}, ["tt"], [27]),
    "acam-mismatch": S("acam-mc", {"g_low_us": [5.0, 50.0], "g_high_us": [20.0]}, ["tt"], [27],
                       mc=4),
    "acam-search": S("acam-search", {"n_cells": [4, 8], "dv_v": [0.01, 0.05, 0.2]}, ["tt"],
                     [27]),
    # the gain-cell sweeps are already small: the demo's own entries, but the MAC at its
    # one default stored voltage (the demo's 5 voltages cost ~50 s more of ngspice; the
    # priced 0.225 V read is clipped to it and says so)
    **{k: v for k, v in DEMO.items() if k.startswith("gaincell")},
    "gaincell-mac": S("gaincell-mac", {}, ["tt"], [27]),
    # the word-line driver and the adder logic the descriptions price
    "dac": S("dac", {"n_cells": [128, 256]}, ["tt"], [27]),
    "logic": S("logic", {"n_bits": [2], "n_vectors": [8]}, ["tt"], [27]),
    # HeTraX's SAR converter and the gain-cell readout's comparator
    "sar-adc": S("sar-adc", {"n_codes": [1]}, ["tt"], [27]),
    "comparator": S("comparator", {"v_cm_v": [0.9, 1.0]}, ["tt"], [27], mc=2),
    # the SRAM buffers of race-it/hetrax (one short column: two transients, seconds)
    "sram": S("sram", {"rows": [32]}, ["tt"], [27]),
    # ... and their row decoder + data bus (16 rows: ~2 s; the 256 priced is clipped to it
    # and says so)
    "sram-periphery": S("sram-periphery", {"rows": [16], "bus_mm": [0.5, 2.0]}, ["tt"],
                        [27]),
    # each read's gated-amplifier wake-up: the crossbar TIA at its priced 128 rows, the
    # gain-cell integrator at its 20 uA (~2 s a point)
    "tia-wake": S("tia-wake", {}, ["tt"], [27, 85]),    # HeTraX's hot tiers, as above
    "integrator-wake": S("integrator-wake", {}, ["tt"], [27]),
    # the bit-line TIA's noise: the tiny crossbar-column sweep's amplifier (its recipe
    # defaults: the accuracy path refuses another TIA's noise), at the machines' 128 rows
    "tia-noise": S("tia-noise", {"rows": [64, 128], "frac_on": [0.0, 0.25, 0.5],
                                 "ota_ibias_a": [float(OtaParams.ibias_a)],
                                 "ota_rz_ohm": [float(OtaParams.rz_ohm)]}, ["tt"], [27, 85]),
}

#: written last, atomically: its presence means the directory beside it is complete
_DONE = "tiny-summary.json"


def _key(table: dict) -> str:
    """A digest of the sweep definitions (the dataclasses' reprs hold every axis value,
    corner, temperature and Monte-Carlo count), so a changed table never reads another's
    models."""
    text = "\n".join(f"{k}={v!r}" for k, v in sorted(table.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build_once(root: Path, table: dict = TINY) -> tuple[Path, dict]:
    """Fit ``table``'s models into ``root/tiny-models-<digest>`` unless a finished build is
    already there; return ``(directory, D.build's summary)``.

    ``root`` is the test session's temporary root (shared by its xdist workers, fresh for
    every session: a session never reads models that an older checkout built). An
    exclusive ``flock`` serializes the workers: the first builds, the others block until
    it is done and then read its summary. A build that died half-way left no summary file
    and is started over; a build whose fits failed is kept (its summary says so, and
    tests/test_accelerators.py's test_models_built_from_real_sweeps fails on it)."""
    d = root / f"tiny-models-{_key(table)}"
    with open(root / f"{d.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)           # released when the file is closed
        done = d / _DONE
        if done.is_file():
            return d, json.loads(done.read_text())
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
        summary = D.build(table, d, workers=2, progress=False)
        tmp = d / f".{_DONE}.tmp"
        tmp.write_text(json.dumps(summary, default=str))
        os.replace(tmp, done)
        # every worker reads the same summary: the file's
        return d, json.loads(done.read_text())
