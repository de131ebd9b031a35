"""RACE-IT's accuracy run: MiniLM on 1T1R crossbars + Compute-ACAM (:mod:`..race_it`),
and the shipped hardware-aware fine-tuned MiniLM (:mod:`..finetune_minilm`) on chips of
the same description (``accuracy.fine_tuned``)."""
from __future__ import annotations

from ..accuracy import CROSSBAR_OMITTED, FULL
from . import machine


@machine("race-it", mode="prefill")
def race_it(a, hw, run, temp_c, progress, scales, ablation=True) -> dict:
    from ..torch_chip import AnalogChip     # torch: only where the accuracy runs
    acc = run.run(lambda ni, seed: AnalogChip(a, nonideal=ni, seed=seed, temp_c=temp_c,
                                              hw=hw), scales, progress, ablation=ablation)
    # whether the cells were read through the memristor read model (read noise): the
    # report states it beside the target
    acc["crossbar_read_model"] = bool(a.component("crossbar").get("read_model", False))
    acc["omitted"] = list(CROSSBAR_OMITTED)
    # the shipped hardware-aware fine-tuned MiniLM on chips of this description (its
    # regeneration run's sentences and chips under the full protocol, else 4 and 1)
    from ..finetune_minilm import shipped_accuracy
    ft = shipped_accuracy(a, quick=run.protocol != FULL, progress=progress, hw=hw)
    if ft is not None:
        acc["fine_tuned"] = ft
    return acc
