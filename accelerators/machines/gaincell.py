"""Gain-cell attention's accuracy run: perplexity of the byte-level GPT-2 with its
attention on gain cells (:mod:`..gaincell_torch`, :func:`..accuracy.gaincell_run`):
training-free (linear cells, uncalibrated, calibrated, the non-ideality sweep) and the
shipped model fine-tuned by the published three-stage pipeline (:mod:`..finetune`)."""
from __future__ import annotations

from . import machine


@machine("gaincell", mode="decode")
def gaincell(a, hw, quick, progress, scales, device: str = "cpu") -> tuple[dict, int]:
    from ..accuracy import gaincell_run     # torch: only where the accuracy runs
    return gaincell_run(a, hw, quick, progress, scales, device=device)
