"""Chip-in-the-loop fine-tuning of MiniLM on RACE-IT: per-chip calibration by training.

A different deployment claim from the shipped delta (:mod:`.finetune_minilm`, one set of
tensors for every chip, trained on other chips than it is evaluated on): here each
deployed chip pays a short training run *on its own hardware* (its programming and
threshold-mismatch draw, chip ``seed``), on the training texts only
(:func:`.finetune_minilm.training_texts`), and is evaluated on the held-out evaluation
texts on that same chip, converted and calibrated again with the trained tensors as
:func:`.finetune_minilm.cosines` does. The same trainable tensors (LayerNorm gains and
offsets, biases: applied digitally, the programmed crossbar weights stay those of the
starting model: the pretrained one, or ``--start`` a shared fine-tuned file) and the
same settings as :class:`.finetune_minilm.MiniLMFinetuneSettings` otherwise; only the
training chip is the evaluated one (``seed_every = steps``).

Figures (measured, 1 torch thread): docs/race_it_finetune.md. Run::

    OPENBLAS_NUM_THREADS=1 nice python -m imcspice.accelerators.finetune_per_chip \\
        --chip 1000 --steps 40 --out /tmp/perchip1000.json
"""
from __future__ import annotations

import argparse
import copy
from dataclasses import asdict, replace

from .. import jsonio


def run(chip: int, steps: int = 40, progress: bool = True, before: bool = True,
        base=None, start=None, **settings) -> dict:
    """Train on chip ``chip`` for ``steps`` steps, evaluate on it before (``before``) and
    after (the 16 evaluation texts, cosine to FP32); returns the figures and the training
    record. ``base``: the BertModel (default: the pretrained MiniLM; tests pass a tiny
    one; it stays the FP32 teacher); ``start``: a fine-tuned file (e.g. a shared model,
    :func:`.finetune_minilm.load_finetuned`) to start from instead of ``base``, evaluated
    on the chip too; ``settings``: other :class:`.finetune_minilm.MiniLMFinetuneSettings`
    fields. A ``start`` file that is missing, not safetensors or not a MiniLM fine-tuned
    file raises :class:`~imcspice.errors.InputError` before any other work."""
    import torch

    from ..errors import InputError
    from . import finetune_minilm as fm
    from .minilm import MiniLMTokenizer
    from .torch_minilm import embed, load_hf_minilm
    tuned = None
    if start is not None:   # the user's file: read first, so a bad one costs nothing
        try:
            tuned = fm.load_finetuned(start)[0]
        except Exception as e:      # missing, unreadable, not safetensors, not MiniLM's
            raise InputError(f"--start {start}: "
                             f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    s = replace(fm.MiniLMFinetuneSettings(**settings), steps=steps, seed_every=steps,
                train_seed_base=chip, eval_seeds=(chip,))
    torch.set_num_threads(s.threads)
    torch.manual_seed(s.seed)
    hw = fm.load_hw(s.arch)
    base = load_hf_minilm() if base is None else base.eval()
    ev, calib = fm.eval_sets(MiniLMTokenizer.load(), s.eval_sentences, s.calib_texts)
    ref = embed(base, ev)
    pre = fm.cosines(base, s.arch, [chip], ev, ref, calib, hw, progress, "pretrained") \
        if before else [None]
    tuned = copy.deepcopy(base) if tuned is None else tuned
    first = None if start is None else \
        fm.cosines(tuned, s.arch, [chip], ev, ref, calib, hw, progress, "start")[0]
    tr = fm.train(tuned, s, progress, hw, teacher=base)
    after = fm.cosines(tuned, s.arch, [chip], ev, ref, calib, hw, progress,
                       "chip-in-the-loop")
    return {"deployment": "chip-in-the-loop (trained on the evaluated chip)",
            "chip": chip, "pretrained": pre[0], "start": start, "start_on_chip": first,
            "fine_tuned_on_chip": after[0],
            "settings": asdict(s),
            "training": {k: v for k, v in tr.items() if k != "trained"}}


def main(argv=None) -> int:
    from ..cli import new_file_arg
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--chip", type=int, required=True)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--out", type=new_file_arg, required=True,
                   help="JSON file for the figures (a new file)")
    p.add_argument("--no-before", action="store_true",
                   help="skip the pretrained model's evaluation on the chip")
    p.add_argument("--start", help="a fine-tuned file to start from (default: pretrained)")
    a = p.parse_args(argv)
    from ..errors import InputError
    try:
        res = run(a.chip, a.steps, before=not a.no_before, start=a.start)
    except InputError as e:     # a bad --start file: one line, before any work
        p.error(str(e))
    with open(a.out, "w") as f:
        f.write(jsonio.dumps(res, indent=1))
    print(jsonio.dumps({k: res[k] for k in ("chip", "pretrained", "start_on_chip",
                                            "fine_tuned_on_chip")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
