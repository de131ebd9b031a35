"""Continue stage 3 (fine-tuning on the characterized cells) of a gain-cell fine-tuned
checkpoint (:mod:`.finetune`): ``imcspice finetune --arch gaincell --resume FILE``.

Stages 0-2 are not re-run: the checkpoint's weights and scale/offset pairs are loaded
onto the characterized cells and trained ``steps_nonlinear`` more steps with the same
optimizer groups, rates, distillation and best-iterate validation as stage 3 (a fresh
warm-up and cosine schedule: the checkpoint stores no optimizer state). Use another
``--seed`` than the checkpoint's run, or the batches repeat. The intermediate
perplexities (``linear_initial``, ``linear``, ``uncalibrated``, ``statistics_matched``,
``calibrated``) are the ones the checkpoint recorded (they need the intermediate
models); ``fp32`` and ``fine_tuned`` are measured now on the same held-out bytes.
``attention_zeroed`` (every head's output pair ao = bo = 0: what the network scores
without its attention) is measured on the result, so a run whose attention died is
visible: a live attention makes it higher than ``fine_tuned``.
"""
from __future__ import annotations

import copy
import time
from dataclasses import asdict
from pathlib import Path

from ..errors import InputError


def attention_zeroed(model, held, s) -> float:
    """Held-out perplexity with every gain-cell head's output pair set to 0 (the model
    is restored afterwards)."""
    import torch

    from .finetune import perplexity
    from .gaincell_torch import gaincell_layers
    layers = gaincell_layers(model)
    saved = [(g.ao.detach().clone(), g.bo.detach().clone()) for g in layers]
    with torch.no_grad():
        for g in layers:
            g.ao.zero_()
            g.bo.zero_()
    try:
        return perplexity(model, held, s)
    finally:
        with torch.no_grad():
            for g, (a, b) in zip(layers, saved):
                g.ao.copy_(a)
                g.bo.copy_(b)


def history(record: dict) -> list[dict]:
    """The runs that made a fine-tuned checkpoint, oldest first, from its record (each
    resumed run nests its checkpoint's record under ``resumed_from.record``): per run
    its seed, the stage-3 steps before it and done in it, its stage-3 validations as
    [cumulative stage-3 step, calibration-batch loss (nats, training text)] (of its
    iterates, and of its weight average where it had one) and its
    held-out perplexities ``fp32`` and ``fine_tuned`` (``heldout_tokens`` bytes)."""
    runs, r = [], record
    while r is not None:
        before = r.get("resumed_from", {}).get("stage3_steps_before", 0)
        steps = r.get("steps_done", {}).get("stage3", r["settings"]["steps_nonlinear"])
        runs.append({"seed": r["settings"]["seed"], "stage3_steps_before": before,
                     "stage3_steps": steps, "resumed": "resumed_from" in r,
                     **{name: [[before + k, v] for k, v in r.get(key) or []] for name, key
                        in (("validation", "validation_stage3"),
                            ("validation_average", "validation_stage3_average"))},
                     "fp32": r["perplexity"]["fp32"],
                     "fine_tuned": r["perplexity"]["fine_tuned"],
                     "heldout_tokens": r.get("heldout_tokens")})
        r = r.get("resumed_from", {}).get("record")
    return runs[::-1]


def resume(out_dir, checkpoint, arch="gaincell", settings=None, progress: bool = True,
           physics=None) -> dict:
    """Stage 3 continued from ``checkpoint`` (a :func:`.finetune.run` output); writes
    ``out_dir/model.safetensors`` and ``out_dir/finetune.json`` like ``run`` (with
    ``resumed_from``: the checkpoint's path and record). ``settings.steps_linear`` and
    ``range_calibration`` are unused; ``fp32_control`` is not run (the checkpoint's
    run is the reference for its own training)."""
    import torch

    from . import causal_lm as clm
    from . import finetune as ft
    from .gaincell_physics import GainCellPhysics
    s = settings or ft.FinetuneSettings()
    out = Path(out_dir)
    torch.manual_seed(s.seed)
    t_start = time.perf_counter()
    if "gaincell_finetune" not in clm.load_gpt2(checkpoint)[1]:   # before the cell models
        raise InputError(f"--resume {checkpoint}: not a gain-cell fine-tuned checkpoint")
    phys = physics or GainCellPhysics.from_arch(arch)
    try:
        model, prev = ft.load_finetuned(checkpoint, arch, physics=phys)
    except ValueError as e:   # a GPT-2 file without the gain-cell record or pairs
        raise InputError(f"--resume {e}") from None
    if prev["settings"]["context"] != s.context:
        raise InputError(f"--context {s.context}: {checkpoint} was trained with "
                         f"{prev['settings']['context']}")
    base_path = prev.get("base_model") or None
    base, meta = clm.load_gpt2(base_path if base_path and Path(base_path).is_file() else None)
    model.to(s.device)
    base.to(s.device)
    out.mkdir(parents=True, exist_ok=True)
    held = clm.corpus_tokens("heldout").to(s.device)
    ppl = {"fp32": ft.perplexity(base, held, s)}
    for k in ("linear_initial", "linear", "uncalibrated", "statistics_matched", "calibrated"):
        if prev["perplexity"].get(k) is not None:
            ppl[k] = prev["perplexity"][k]
    ppl["resumed_from"] = ft.perplexity(model, held, s)
    ft._log(f"fp32 {ppl['fp32']:.3f}; checkpoint {ppl['resumed_from']:.3f}", progress)
    teacher = None
    if s.distill > 0:
        teacher = copy.deepcopy(base).eval()
        for p in teacher.parameters():
            p.requires_grad_(False)
    del base
    x = ft.calibration_batch(s)
    r3 = ft.train_stage(model, s.steps_nonlinear, s, "stage 3 continued", progress,
                        teacher, x)
    ppl["fine_tuned"] = ft.perplexity(model, held, s)
    ppl["attention_zeroed"] = attention_zeroed(model, held, s)
    ft._log(f"stage 3 continued: {ppl['fine_tuned']:.3f} ({ppl['fine_tuned'] / ppl['fp32']:.3f}x "
         f"FP32); attention zeroed {ppl['attention_zeroed']:.3f}", progress)
    done = prev.get("steps_done", {}).get("stage3", prev["settings"]["steps_nonlinear"])
    before = done + (prev["resumed_from"]["stage3_steps_before"] if "resumed_from" in prev
                     else 0)
    res = {"perplexity": ppl, "ratio_fine_tuned_to_fp32": ppl["fine_tuned"] / ppl["fp32"],
           "ratio_fine_tuned_to_fp32_same_training": None, "target_ratio": 1.10,
           "settings": asdict(s), "seconds": {"stage3_s": r3["seconds"]},
           "tokens_per_s": {"stage3": r3["tokens_per_s"]},
           "steps_done": {"stage3": len(r3["losses"])},
           "total_seconds": time.perf_counter() - t_start,
           "loss_stage1": [], "loss_stage3": r3["losses"],
           "validation_stage1": None, "validation_stage3": r3.get("val_losses"),
           **ft.validation_average("stage3", r3),
           "heldout_tokens": (min(s.eval_tokens, len(held)) - 1) // s.context * s.context,
           "physics": ft.physics_record(phys),
           "resumed_from": {"checkpoint": str(checkpoint), "stage3_steps_before": before,
                            "record": {k: v for k, v in prev.items()
                                       if k not in ("base_model_meta",)}},
           "base_model": prev.get("base_model"),
           "base_model_meta": {k: v for k, v in meta.items() if k != "extra_tensors"}}
    ft.write_run(out, res, model)
    return res
