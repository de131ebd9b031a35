"""RACE-IT's accuracy run: MiniLM on 1T1R crossbars + Compute-ACAM (:mod:`..race_it`)."""
from __future__ import annotations

from .. import hardware
from ..race_it import RaceItOps
from . import machine


@machine("race-it", mode="prefill")
def race_it(a, hw, run, temp_c, progress, scales, ablation=True) -> dict:
    dev = hardware.crossbar_device(hw, a.component("crossbar"), temp_c)
    sig = hardware.acam_sigma_rel(hw, a.component("crossbar").get("write_verify_tol_us"))
    return run.run(lambda r, ni, seed: RaceItOps(a, dev, sig, r, ni, seed), scales, progress,
                   ablation=ablation)
