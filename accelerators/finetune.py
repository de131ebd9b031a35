"""Hardware-aware fine-tuning of the byte-level GPT-2 for gain-cell attention: the
published three-stage pipeline (Leroux et al. 2025; REFERENCE.md "published pipeline").

0. The pretrained model (``data/causal_lm_gpt2.safetensors``) is converted
   (:func:`.gaincell_torch.convert`) to the *linear* hardware model. Its per-head
   scale/offset pairs start from FP32 statistics on a calibration batch of training
   text: Q onto the pulse range (mean at 0.5, ±3σ to the ends), K and V onto the storage
   range (mean at 0.45 V, ±3σ to the ends); then (``range_calibration``, default) the
   readout range calibration (:mod:`.gaincell_ranges`): per head the K offset that
   lifts a chosen share of the scores above the readout's zero and the Q/K/V scales,
   chosen on the calibration batch (without it 95-100 % of the scores are negative and
   layers 1-2 get exactly no gradient). The output pair is then fitted by least squares
   against the FP32 attention on the same q, k, v (:func:`regress_output`): matching
   the FP32 spread instead multiplied sub-step quantization noise by up to ~500.
1a. Optional (``transfer_steps``, default 0): attention transfer (:mod:`.finetune_transfer`).
1. Quantization-aware training of all weights and pairs on the linear model (STE, retention).
2. Calibration: the cells become the characterized SKY130 Si cells; a damped fixed-point
   iteration on the calibration batch sets each layer's and head's Q, K, V and output
   pairs so that the statistics of the pulse widths, stored cells' read currents and
   attention output match the *linear* model's (stage 1). On these cells that raises the
   loss, so the iterate (uncalibrated pairs included) with the lowest calibration-batch
   cross entropy is kept, then output pairs re-fitted by least squares if that lowers it.
3. Fine-tuning of the nonlinear model.

Training (stages 1 and 3) may add ``distill`` x KL(FP32 model || hardware model) to the
cross entropy, and with ``val_every`` ends each stage on the step with the lowest
calibration-batch loss. Every choice is made on training text; held-out text is only scored.

Perplexity (per byte) on ``data/corpus/heldout.txt``, non-overlapping 1024-byte chunks:
``fp32`` (unconverted, softmax), ``fp32_same_training`` (FP32 trained as many steps as
stages 1 + 3: the fair reference for an unconverged base), ``linear_initial`` (stage 0),
``linear_transferred`` (stage 1a), ``linear`` (stage 1), ``uncalibrated`` (characterized
cells, the linear model's pairs), ``statistics_matched`` (the full fixed-point iteration),
``calibrated`` (what stage 2 keeps), ``fine_tuned`` (stage 3); ``imcspice finetune --arch
gaincell --out DIR``. Defaults: 30 + 30 steps + FP32 control; ``--resume FILE`` continues
stage 3 (:mod:`.finetune_resume`). The shipped ``data/causal_lm_gaincell.safetensors``
(weights + pairs; its metadata ``gaincell_finetune`` records perplexities, settings,
times, tokens/s): regeneration commands, measured figures and findings in
docs/gaincell_finetune.md.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .. import jsonio
from ..errors import InputError

SHIPPED = Path(__file__).resolve().parent / "data" / "causal_lm_gaincell.safetensors"


@dataclass(frozen=True)
class FinetuneSettings:
    steps_linear: int = 30        # stage 1 optimizer steps
    steps_nonlinear: int = 30     # stage 3 optimizer steps
    batch: int = 1                # sequences of ``context`` bytes per step
    context: int = 1024           # = the gain-cell window: leakage over 1024 tokens
    lr: float = 5e-4              # weights (peak; warm-up then cosine)
    pair_lr: float = 5e-3         # scale/offset pairs
    warmup: int = 5
    calib_sequences: int = 2
    calib_iterations: int = 4
    damping: float = 0.5
    eval_tokens: int = 8 * 1024 + 1
    seed: int = 0
    device: str = "cpu"
    fp32_control: bool = True     # also train the FP32 model as much (fair reference)
    distill: float = 0.0          # weight of KL(FP32 teacher || model) in stages 1 and 3
    val_every: int = 0            # >0: keep the best iterate on the calibration batch
    range_calibration: bool = True  # stage 0 also sets the readout ranges (gaincell_ranges)
    transfer_steps: int = 0       # >0: stage 1a, attention transfer (finetune_transfer)
    max_minutes: float = 0.0      # >0: each training stage's wall-clock budget (its cosine
                                  # anneals by time; steps_* become upper bounds)
    average_decay: float = 0.0    # (0, 1) with val_every: also validate a weight EMA; 0: off


def _log(msg: str, progress: bool) -> None:
    if progress:
        print(f"[finetune] {msg}", flush=True)


def calibration_batch(s: FinetuneSettings):
    """``calib_sequences`` training-text windows (never the held-out text)."""
    import torch

    from .causal_lm import corpus_tokens
    tok = corpus_tokens("train")
    starts = np.linspace(0, len(tok) - s.context - 1, s.calib_sequences).astype(int)
    return torch.stack([tok[b:b + s.context] for b in starts]).to(s.device)


def record(model, x) -> list[dict]:
    """Per layer, per-head (mean, std) of the probes of one forward pass."""
    return record_and_loss(model, x)[0]


def record_and_loss(model, x) -> tuple[list[dict], float]:
    """:func:`record` and the mean next-byte cross entropy (nats) of the same pass on
    ``x`` (training text: the calibration batch)."""
    import torch
    import torch.nn.functional as F

    from .gaincell_torch import gaincell_layers
    layers = gaincell_layers(model)
    for g in layers:
        g.record = {}
    with torch.no_grad():
        logits = model(input_ids=x).logits
        loss = float(F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]),
                                     x[:, 1:].reshape(-1)))
    out = [g.record for g in layers]
    for g in layers:
        g.record = None
    return out, loss


def initial_pairs(model, x, ranges: bool = False) -> list | None:
    """Stage 0: pairs of every layer and head from FP32 statistics (see module doc);
    ``ranges``: then the readout range calibration (:mod:`.gaincell_ranges`: without
    it most scores sit below the readout's zero and whole layers start dead), whose
    per-head choices are returned."""
    import torch

    from .gaincell_physics import V_MID_V
    from .gaincell_torch import gaincell_layers
    layers = gaincell_layers(model)
    for g in layers:
        g.reference = True
    ref = record(model, x)
    for g in layers:
        g.reference = False
    from .gaincell_ranges import calibrate_ranges, ranges_from_reference
    base = ranges_from_reference(ref)          # the ±3σ scales and the FP32 means
    if ranges:
        return calibrate_ranges(model, x, base)
    with torch.no_grad():
        for g, p in zip(layers, base):
            for n, centre in (("q", 0.5), ("k", V_MID_V), ("v", V_MID_V)):
                a = getattr(g, "a" + n)
                a.copy_(p["a" + n])
                getattr(g, "b" + n).copy_(centre - a * p["mu_" + n])
    for _ in range(2):   # output pairs: upstream layers change what a layer sees
        hw = record(model, x)
        with torch.no_grad():
            for g, r, t in zip(layers, hw, ref):
                _match_affine(g.ao, g.bo, r["out"], t["ref_out"], 1.0)


def regress_output(model, x, passes: int = 2) -> None:
    """Each head's output pair (ao, bo) by least squares: the affine map of its raw
    hardware output that best predicts the FP32 softmax attention output on the same
    q, k, v (calibration batch). Unlike matching the standard deviations, a head whose
    raw output is mostly quantization noise (sub-step signal) gets a small ao instead
    of having the noise amplified to the FP32 spread. ``passes``: upstream layers'
    pairs change what a layer sees."""
    import torch

    from .gaincell_torch import gaincell_layers
    layers = gaincell_layers(model)
    for _ in range(passes):
        for g in layers:
            g.record = {"regress": None}
        with torch.no_grad():
            model(input_ids=x)
            for g in layers:
                mo, mr, cov, var = g.record["regress"]
                # a head whose raw output never leaves one level carries no
                # information: ao = 0 (its mean goes to bo) instead of a scale that
                # only passes straight-through gradients of flips that never happen
                a = torch.where(var > 1e-12, cov / var.clamp_min(1e-12),
                                torch.zeros_like(g.ao))
                g.ao.copy_(a)
                g.bo.copy_(mr - a * mo)
        for g in layers:
            g.record = None


def _match_affine(a, b, now, target, damping: float) -> None:
    """y = a·x + b: choose (a, b) so that y's (mean, std) become ``target``'s."""
    mu, sd = now
    mu_t, sd_t = target
    import torch
    raw_sd = sd / a.abs().clamp_min(1e-9)
    raw_mu = (mu - b) / torch.where(a.abs() > 1e-9, a, torch.ones_like(a))
    # a head whose output does not vary (all pulses quantized to zero) keeps its scale
    a_new = torch.where(raw_sd > 1e-6, sd_t / raw_sd.clamp_min(1e-6), a)
    b_new = mu_t - a_new * raw_mu
    a.copy_((1 - damping) * a + damping * a_new)
    b.copy_((1 - damping) * b + damping * b_new)


def calibrate(model, x, targets: list[dict], iterations: int, damping: float,
              losses: list | None = None) -> list[float]:
    """Stage 2: damped fixed-point iteration of the pairs of Q, K, V (through clamp,
    quantizer and cell nonlinearity: the local gain is estimated from the statistics)
    and of the output (affine) toward the linear model's statistics ``targets``.
    Returns the worst std mismatch (relative; absolute below a std of 1e-3) before
    each iteration; ``losses`` (a list) receives the calibration batch's cross entropy
    at each iterate (matching the statistics is a proxy: on these cells it can raise
    the loss, see :func:`run`)."""
    import torch

    from .gaincell_physics import V_MAX_V
    from .gaincell_torch import gaincell_layers
    layers = gaincell_layers(model)
    history = []
    losses = [] if losses is None else losses
    for _ in range(iterations + 1):
        now, loss = record_and_loss(model, x)
        losses.append(loss)
        err = max(float(((n[p][1] - t[p][1]).abs() / t[p][1].clamp_min(1e-3)).max())
                  for n, t in zip(now, targets) for p in ("q", "k", "v", "out"))
        history.append(err)
        if len(history) > iterations:
            break
        with torch.no_grad():
            for g, n, t in zip(layers, now, targets):
                for a, b, p, raw, span in ((g.aq, g.bq, "q", "q_in", 1.0),
                                           (g.ak, g.bk, "k", "k_in", V_MAX_V),
                                           (g.av, g.bv, "v", "v_in", V_MAX_V)):
                    (mu, sd), (mu_t, sd_t) = n[p], t[p]
                    # local gain d probe / d(a·x + b), estimated from the statistics;
                    # steps are bounded (ratio 1/2..2, offset ±span/4) so a clamped or
                    # quantized-flat head cannot throw the iteration off
                    gain = sd / (a.abs() * n[raw][1]).clamp_min(1e-9)
                    a_new = a * (sd_t / sd.clamp_min(1e-9)).clamp(0.5, 2.0)
                    b_new = b + ((mu_t - mu) / gain.clamp_min(1e-3)).clamp(-span / 4, span / 4)
                    a.copy_((1 - damping) * a + damping * a_new)
                    b.copy_((1 - damping) * b + damping * b_new)
                _match_affine(g.ao, g.bo, n["out"], t["out"], damping)
    return history


def optimizer(named: list, s: FinetuneSettings):
    """AdamW over ``named`` [(name, parameter)]: weight decay on matrices, pairs at pair_lr."""
    import torch
    pairs, weights = ([p for n, p in named if (".gaincell." in n) == k] for k in (True, False))
    decay = [p for p in weights if p.dim() >= 2]
    rest = [p for p in weights if p.dim() < 2]
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1, "base_lr": s.lr},
         {"params": rest, "weight_decay": 0.0, "base_lr": s.lr},
         {"params": pairs, "weight_decay": 0.0, "base_lr": s.pair_lr}],
        lr=s.lr, betas=(0.9, 0.95))


def train_stage(model, steps: int, s: FinetuneSettings, label: str, progress: bool,
                teacher=None, val_x=None, after_step=None) -> dict:
    from .train_causal_lm import train_loop
    if steps <= 0:
        return {"losses": [], "seconds": 0.0, "tokens_per_s": None}
    return train_loop(model, steps, s.batch, s.context, s.lr, s.warmup, s.seed,
                      s.device, log_every=10 if progress else 0, label=label,
                      opt=optimizer(list(model.named_parameters()), s), teacher=teacher,
                      distill=s.distill, val_x=val_x, val_every=s.val_every,
                      after_step=after_step, max_seconds=60.0 * s.max_minutes,
                      average_decay=s.average_decay)


def validation_average(k: str, r: dict) -> dict:
    """Stage ``k``'s averaged-weight validations and kept weights, if it had them
    (``train_loop(average_decay=...)``)."""
    return {} if "val_losses_average" not in r else {
        f"validation_{k}_average": r["val_losses_average"],
        f"kept_{k}": {"step": r["val_best_step"], "weights": r["val_best_weights"]}}


def perplexity(model, tokens, s: FinetuneSettings) -> float:
    from .causal_lm import gpt2_perplexity
    return gpt2_perplexity(model, tokens, context=s.context, batch=1,
                           max_tokens=s.eval_tokens)


def calibrate_stage(model, x, targets: list[dict], s: FinetuneSettings, score,
                    uncalibrated: float, score_matched: bool = True) -> dict:
    """Stage 2 on ``model`` (characterized cells, the linear model's pairs, whose score
    is ``uncalibrated``): :func:`calibrate` toward ``targets`` for ``s.calib_iterations``
    (scored by ``score()``: ``statistics_matched``), then the iterate with the lowest
    calibration-batch (``x``, training text) cross entropy is kept (iterate 0 = the
    uncalibrated pairs), then the output pairs by least squares against FP32 attention
    (:func:`regress_output`) if they lower that loss (``calibrated``). ``score_matched=
    False``: the full iteration is scored only if it is kept (else None)."""
    import torch
    pairs = [p for n, p in model.named_parameters() if ".gaincell." in n]
    start = [p.detach().clone() for p in pairs]
    calib_losses: list = []
    hist = calibrate(model, x, targets, s.calib_iterations, s.damping, calib_losses)
    best = int(np.argmin(calib_losses))
    matched = score() if score_matched or best == s.calib_iterations else None
    if best < s.calib_iterations:
        with torch.no_grad():
            for p, b in zip(pairs, start):
                p.copy_(b)
        calibrate(model, x, targets, best, s.damping)   # deterministic replay
    kept = [p.detach().clone() for p in pairs]
    regress_output(model, x)
    regressed_loss = record_and_loss(model, x)[1]
    regressed = regressed_loss < calib_losses[best]
    if not regressed:
        with torch.no_grad():
            for p, b in zip(pairs, kept):
                p.copy_(b)
    calibrated = (score() if regressed else uncalibrated if best == 0 else matched
                  if best == s.calib_iterations else score())
    return {"statistics_matched": matched, "calibrated": calibrated, "std_mismatch": hist,
            "loss_per_iterate": calib_losses, "kept_iterate": best,
            "output_regression_loss": regressed_loss, "output_regression_kept": bool(regressed)}


def run(out_dir: str | Path, arch="gaincell", model_path: str | Path | None = None,
        settings: FinetuneSettings = FinetuneSettings(), progress: bool = True,
        physics=None) -> dict:
    """The three stages; writes ``out_dir/model.safetensors`` (weights + pairs) and
    ``out_dir/finetune.json``; returns the latter's content."""
    import torch

    from . import causal_lm as clm
    from .gaincell_physics import GainCellPhysics
    from .gaincell_torch import convert, set_physics
    s = settings
    out = Path(out_dir)
    torch.manual_seed(s.seed)
    t_start = time.perf_counter()
    model, meta = clm.load_gpt2(model_path)   # refuses a bad file before --out is made
    model.to(s.device)
    if model.config.n_positions < s.context:
        raise InputError(f"model context {model.config.n_positions} < --context {s.context}")
    phys = physics or GainCellPhysics.from_arch(arch)
    if s.context > phys.window:
        raise InputError(f"--context {s.context} > gain-cell window {phys.window}")
    out.mkdir(parents=True, exist_ok=True)
    held = clm.corpus_tokens("heldout").to(s.device)
    ppl, times, tps = {}, {}, {}
    t0 = time.perf_counter()
    ppl["fp32"] = perplexity(model, held, s)
    times["eval_fp32_s"] = time.perf_counter() - t0
    _log(f"fp32 perplexity {ppl['fp32']:.3f}", progress)
    x = calibration_batch(s)
    if s.fp32_control:
        # control: the unconverted model trained with the same steps, batches and rates
        # as stages 1 + 3, so a gain from extra training is not credited to the hardware
        import copy
        ctl = copy.deepcopy(model)
        rc = train_stage(ctl, s.steps_linear + s.steps_nonlinear, s, "fp32 control",
                         progress)
        ppl["fp32_same_training"] = perplexity(ctl, held, s)
        tps["fp32_control"] = rc["tokens_per_s"]
        _log(f"fp32 with the same training: {ppl['fp32_same_training']:.3f}", progress)
        del ctl

    teacher = None
    if s.distill > 0 or s.transfer_steps:   # (train_loop distils only if distill > 0)
        import copy
        teacher = copy.deepcopy(model).eval()   # the FP32 model, frozen
        for p in teacher.parameters():
            p.requires_grad_(False)
    convert(model, phys.as_linear())
    t0 = time.perf_counter()
    chosen = initial_pairs(model, x, s.range_calibration)
    times["range_calibration_s"] = time.perf_counter() - t0
    if chosen:
        from .gaincell_ranges import describe
        _log(f"stage 0 (c_qk, share of positive scores, c_v) per head: {describe(chosen)}",
             progress)
    regress_output(model, x)
    t0 = time.perf_counter()
    ppl["linear_initial"] = perplexity(model, held, s)
    times["eval_gaincell_s"] = time.perf_counter() - t0
    _log(f"linear cells, initial pairs: {ppl['linear_initial']:.3f}", progress)
    from .finetune_transfer import transfer   # stage 1a; 0 steps: nothing happens
    rt = transfer(model, teacher, s.transfer_steps, s, progress)
    if s.transfer_steps:
        ppl["linear_transferred"] = perplexity(model, held, s)
        _log(f"stage 1a (attention transfer): {ppl['linear_transferred']:.3f}", progress)
    r1 = train_stage(model, s.steps_linear, s, "stage 1 linear", progress, teacher, x)
    ppl["linear"] = perplexity(model, held, s)
    _log(f"stage 1 (linear, fine-tuned): {ppl['linear']:.3f}", progress)
    targets = record(model, x)

    set_physics(model, phys)
    ppl["uncalibrated"] = perplexity(model, held, s)
    _log(f"characterized cells, uncalibrated: {ppl['uncalibrated']:.3f}", progress)
    st = calibrate_stage(model, x, targets, s, lambda: perplexity(model, held, s),
                         ppl["uncalibrated"])
    ppl["statistics_matched"], ppl["calibrated"] = st["statistics_matched"], st["calibrated"]
    hist, calib_losses, best = st["std_mismatch"], st["loss_per_iterate"], st["kept_iterate"]
    regressed_loss, regressed = st["output_regression_loss"], st["output_regression_kept"]
    _log(f"stage 2: statistics matched {ppl['statistics_matched']:.3f}; calibration-batch "
         f"loss per iterate {calib_losses}, kept iterate {best}; output regression "
         f"{regressed_loss:.4f} ({'kept' if regressed else 'rejected'}): "
         f"{ppl['calibrated']:.3f}; std mismatch {hist}", progress)

    r3 = train_stage(model, s.steps_nonlinear, s, "stage 3 nonlinear", progress, teacher, x)
    ppl["fine_tuned"] = perplexity(model, held, s)
    _log(f"stage 3 (fine-tuned): {ppl['fine_tuned']:.3f} "
         f"({ppl['fine_tuned'] / ppl['fp32']:.3f}x FP32)", progress)
    for k, r in (("stage1", r1), ("stage3", r3), ("transfer", rt))[:3 if s.transfer_steps else 2]:
        times[f"{k}_s"] = r["seconds"]
        tps[k] = r["tokens_per_s"]
    eps_max = float(-np.expm1(-(s.context - 1) * phys.t_token_s / phys.tau_s))
    ref = ppl.get("fp32_same_training", ppl["fp32"])
    res = {"perplexity": ppl, "ratio_fine_tuned_to_fp32": ppl["fine_tuned"] / ppl["fp32"],
           "ratio_fine_tuned_to_fp32_same_training": ppl["fine_tuned"] / ref,
           "target_ratio": 1.10, "range_calibration": chosen, "calibration_std_mismatch": hist,
           "calibration_loss_per_iterate": calib_losses, "calibration_kept_iterate": best,
           "calibration_output_regression": {"loss": regressed_loss, "kept": bool(regressed)},
           "settings": asdict(s), "seconds": times, "tokens_per_s": tps,
           "steps_done": {"stage1": len(r1["losses"]), "stage3": len(r3["losses"])},
           "total_seconds": time.perf_counter() - t_start,
           "loss_stage1": r1["losses"], "loss_stage3": r3["losses"],
           "validation_stage1": r1.get("val_losses"), "validation_stage3": r3.get("val_losses"),
           **validation_average("stage1", r1), **validation_average("stage3", r3),
           **({"loss_transfer": rt["losses"]} if s.transfer_steps else {}),
           "heldout_tokens": (min(s.eval_tokens, len(held)) - 1) // s.context * s.context,
           "physics": {**physics_record(phys), "retention_at_window_edge": 1.0 - eps_max},
           "base_model": str(model_path or clm.GPT2_CHECKPOINT),
           "base_model_meta": {k: v for k, v in meta.items() if k != "extra_tensors"}}
    write_run(out, res, model)
    return res


def physics_record(phys) -> dict:
    """The cell physics a run trained on, as its record stores it."""
    return {k: getattr(phys, k) for k in ("tau_s", "v_inf_v", "q_sat_c", "t_token_s",
                                          "window", "tile", "q_bits", "kv_bits",
                                          "out_bits", "source")}


def write_run(out: Path, res: dict, model) -> None:
    """OUT/finetune.json (the record) and OUT/model.safetensors (weights; record sans losses)."""
    from . import causal_lm as clm
    (out / "finetune.json").write_text(jsonio.dumps(res, indent=1))
    summary = {k: v for k, v in res.items() if not k.startswith("loss_")}
    clm.save_gpt2(model.cpu(), out / "model.safetensors",
                  {"gaincell_finetune": json.dumps(summary)})


def load_finetuned(path: str | Path | None = None, arch="gaincell", physics=None):
    """(model with gain-cell attention on the characterized cells, finetune summary)."""
    import torch

    from . import causal_lm as clm
    from .gaincell_physics import GainCellPhysics
    from .gaincell_torch import convert
    model, meta = clm.load_gpt2(path or SHIPPED)
    extra = meta.pop("extra_tensors")
    if "gaincell_finetune" not in meta:
        raise ValueError(f"{path or SHIPPED}: not a gain-cell fine-tuned checkpoint")
    convert(model, physics or GainCellPhysics.from_arch(arch))
    missing, unexpected = model.load_state_dict(extra, strict=False)
    want = {k for k, _ in model.named_parameters() if ".gaincell." in k}
    if unexpected or want - set(extra):
        raise ValueError(f"gain-cell pairs missing or unexpected: {sorted(want - set(extra))[:4]}"
                         f" {unexpected[:4]}")
    torch.manual_seed(0)
    return model.eval(), json.loads(meta["gaincell_finetune"])


def shipped_accuracy(arch="gaincell", quick: bool = True, progress: bool = False,
                     hw=None, device: str = "cpu", fp32: float | None = None,
                     chunks: int | None = None) -> dict:
    """``accuracy.finetuned`` of the gain-cell report from the shipped fine-tuned model
    (no training): ``fp32`` (unless given: the caller scored the unconverted model on
    the same bytes) and ``fine_tuned`` are evaluated now on the held-out text (``chunks``
    of 1024 bytes; default, ``quick``: 4, else the regeneration run's size) on ``device``; the
    intermediate stages (``linear``, ``uncalibrated``, ``calibrated``) are the figures
    the regeneration run measured, with its held-out size."""
    from . import causal_lm as clm
    from .finetune_resume import history
    from .gaincell_physics import GainCellPhysics
    model, summ = load_finetuned(physics=GainCellPhysics.from_arch(arch, hw))
    model.to(device)
    s = FinetuneSettings(eval_tokens=chunks * 1024 + 1 if chunks else 4 * 1024 + 1
                         if quick else summ["settings"]["eval_tokens"], device=device)
    held = clm.corpus_tokens("heldout").to(device)
    t0 = time.perf_counter()
    if fp32 is None:
        base, _ = clm.load_gpt2()
        fp32 = perplexity(base.to(device), held, s)
    now = {"fp32": fp32, "fine_tuned": perplexity(model, held, s)}
    _log(f"shipped gain-cell model: {now}", progress)
    rec = summ["perplexity"]
    ppl = {"fp32": now["fp32"], "linear": rec["linear"], "uncalibrated": rec["uncalibrated"],
           "calibrated": rec["calibrated"], "fine_tuned": now["fine_tuned"],
           "linear_initial": rec["linear_initial"]}
    if "fp32_same_training" in rec:
        ppl["fp32_same_training"] = rec["fp32_same_training"]
    return {"perplexity": ppl, "heldout_tokens": (s.eval_tokens - 1) // s.context * s.context,
            "fine_tuned_over_fp32": now["fine_tuned"] / now["fp32"], "target_ratio": 1.10,
            "recorded_by_regeneration_run": rec,
            "recorded_heldout_tokens": summ["heldout_tokens"], "history": history(summ),
            "weights": str(SHIPPED.name), "physics": summ["physics"],
            "eval_time_s": time.perf_counter() - t0,
            "note": "fp32 and fine_tuned evaluated now; linear, uncalibrated and calibrated "
                    "as recorded by the regeneration run (they need the intermediate models)"}
