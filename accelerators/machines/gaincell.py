"""Gain-cell attention's accuracy run: perplexity of the byte-level causal LM with its
attention on gain cells (:mod:`..gaincell_attention`, :func:`..accuracy.gaincell_run`),
and of the shipped model fine-tuned by the published three-stage pipeline
(:mod:`..finetune`, :mod:`..gaincell_torch`)."""
from __future__ import annotations

from .. import hardware
from ..accuracy import gaincell_run
from ..finetune import shipped_accuracy
from ..gaincell_attention import GainCellConfig
from . import machine


@machine("gaincell", mode="decode")
def gaincell(a, hw, quick, progress, scales) -> tuple[dict, int]:
    parts = hardware.gaincell_parts(hw, GainCellConfig.from_arch(a))
    acc, window = gaincell_run(a, parts, quick, progress, scales)
    acc["finetuned"] = shipped_accuracy(a, quick, progress, hw)
    acc["perplexity"] = acc["finetuned"]["perplexity"]
    return acc, window
