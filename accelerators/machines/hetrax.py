"""HeTraX's accuracy run: MiniLM with its FFN on ReRAM tiers at the stack temperature
(:mod:`..hetrax`)."""
from __future__ import annotations

from .. import hardware
from ..hetrax import HetraxOps
from . import machine


@machine("hetrax", mode="prefill")
def hetrax(a, hw, run, temp_c, progress, scales, ablation=True) -> dict:
    dev = hardware.crossbar_device(hw, a.component("crossbar"), temp_c)
    return run.run(lambda r, ni, seed: HetraxOps(a, dev, r, seed, ni), scales, progress,
                   names=("ir_drop", "programming_noise"), ablation=ablation)
