"""Gain-cell attention's accuracy run: perplexity of the byte-level causal LM with its
attention on gain cells (:mod:`..gaincell_attention`, :func:`..accuracy.gaincell_run`)."""
from __future__ import annotations

from .. import hardware
from ..accuracy import gaincell_run
from ..gaincell_attention import GainCellConfig
from . import machine


@machine("gaincell", mode="decode")
def gaincell(a, hw, quick, progress, scales) -> tuple[dict, int]:
    parts = hardware.gaincell_parts(hw, GainCellConfig.from_arch(a))
    return gaincell_run(a, parts, quick, progress, scales)
