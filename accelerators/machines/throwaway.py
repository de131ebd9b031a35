"""Scratch: a throwaway accelerator (RACE-IT's ops without ACAM mismatch)."""
from .. import hardware
from ..race_it import RaceItOps
from . import machine


@machine("throwaway", mode="prefill")
def throwaway(a, hw, run, temp_c, progress, scales) -> dict:
    dev = hardware.crossbar_device(hw, a.component("crossbar"), temp_c)
    return run.run(lambda r, ni, seed: RaceItOps(a, dev, 0.0, r, ni, seed), scales, progress)
