"""Hardware-aware fine-tuning for gain-cell attention (accelerators/finetune.py)."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from imcspice.accelerators import causal_lm as clm
from imcspice.accelerators import finetune as ft
from imcspice.accelerators.gaincell_physics import GainCellPhysics
from imcspice.accelerators.gaincell_torch import convert

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A random 2-layer byte GPT-2 with 128 positions, and the characterized machine
    with its window cut to 128 tokens."""
    from transformers import GPT2LMHeadModel
    torch.manual_seed(0)
    cfg = clm.gpt2_config(clm.CausalLMConfig(n_layers=2, d_model=32, n_heads=2, d_ff=64),
                          n_positions=128)
    path = tmp_path_factory.mktemp("tiny") / "tiny.safetensors"
    clm.save_gpt2(GPT2LMHeadModel(cfg), path)
    return path, replace(GainCellPhysics.from_arch(), window=128)


def test_finetuning_on_the_characterized_cells_lowers_the_loss(tiny):
    path, phys = tiny
    model, _ = clm.load_gpt2(path)
    convert(model, phys)
    s = ft.FinetuneSettings(batch=2, context=128, lr=3e-3, pair_lr=1e-2, warmup=1)
    r = ft.train_stage(model, 12, s, "test", progress=False)
    first, last = r["losses"][0], np.mean(r["losses"][-3:])
    # random init starts near ln(256) = 5.55 nats; byte statistics alone are learnable
    assert first > 5.0 and last < first - 0.3


def test_three_stages_write_every_perplexity_and_a_loadable_model(tiny, tmp_path):
    path, phys = tiny
    s = ft.FinetuneSettings(steps_linear=2, steps_nonlinear=2, batch=1, context=128,
                            eval_tokens=2 * 128 + 1, warmup=1, calib_iterations=2)
    res = ft.run(tmp_path / "out", model_path=path, settings=s, progress=False,
                 physics=phys)
    ppl = res["perplexity"]
    assert set(ppl) == {"fp32", "fp32_same_training", "linear_initial", "linear", "uncalibrated",
                        "statistics_matched", "calibrated", "fine_tuned"}
    # stage 2 keeps the iterate with the lowest calibration-batch loss
    kept = res["calibration_kept_iterate"]
    assert res["calibration_loss_per_iterate"][kept] == min(res["calibration_loss_per_iterate"])
    if kept == 0 and not res["calibration_output_regression"]["kept"]:
        assert ppl["calibrated"] == ppl["uncalibrated"]
    assert all(np.isfinite(v) and 1.0 < v < 1000 for v in ppl.values())
    saved = json.loads((tmp_path / "out" / "finetune.json").read_text())
    assert saved["perplexity"] == ppl and len(saved["loss_stage3"]) == 2
    # the saved weights + scale/offset pairs reproduce the fine-tuned perplexity
    model, summ = ft.load_finetuned(tmp_path / "out" / "model.safetensors", physics=phys)
    again = ft.perplexity(model, clm.corpus_tokens("heldout"), s)
    assert again == pytest.approx(ppl["fine_tuned"], rel=1e-5, abs=0)
    assert summ["physics"]["kv_bits"] == 3 and summ["physics"]["window"] == 128


def _ce(model, x):
    with torch.no_grad():
        lg = model(input_ids=x[:, :-1]).logits
    return float(torch.nn.functional.cross_entropy(lg.reshape(-1, 256), x[:, 1:].reshape(-1)))


def test_training_ends_on_the_best_validation_iterate(tiny):
    """A rate far too high for fine-tuning makes the loss wander; the model must end on
    the validated minimum, and that minimum is what it scores."""
    from imcspice.accelerators.train_causal_lm import train_loop
    path, phys = tiny
    model, _ = clm.load_gpt2(path)
    val = ft.calibration_batch(ft.FinetuneSettings(context=128, calib_sequences=2))
    r = train_loop(model, 6, 1, 128, 3e-2, 1, 0, log_every=0, val_x=val, val_every=2)
    steps = [k for k, _ in r["val_losses"]]
    assert steps == [0, 2, 4, 6]
    best = min(v for _, v in r["val_losses"])
    assert _ce(model, val) == pytest.approx(best, rel=1e-6, abs=0)


def test_time_budget_anneals_by_time_and_ends_the_stage(tiny, monkeypatch):
    """max_seconds: the cosine follows the spent share of the budget (here far ahead of
    the step share), the loop stops once the budget is spent, and a budget that ends
    between validations still ends on a validated iterate. A fake clock that advances
    1 s per reading: t0 = 0, step k starts at k + 1 s, so a 4 s budget runs 3 steps at
    spent shares 1/4, 1/2, 3/4: rates peak x (0.1 + 0.45 (1 + cos(pi t))) = 0.8682,
    0.55, 0.2318 x peak (no warm-up)."""
    from types import SimpleNamespace

    from imcspice.accelerators import train_causal_lm as tcl
    clock = iter(range(10_000))
    monkeypatch.setattr(tcl, "time", SimpleNamespace(perf_counter=lambda: float(next(clock))))
    model, _ = clm.load_gpt2(tiny[0])
    opt = tcl.make_optimizer(model, 1e-3)
    rates = []
    val = ft.calibration_batch(ft.FinetuneSettings(context=128, calib_sequences=2))
    r = tcl.train_loop(model, 100, 1, 128, 1e-3, 0, 0, log_every=0, opt=opt,
                       val_x=val, val_every=2, max_seconds=4.0,
                       after_step=lambda k: rates.append(opt.param_groups[0]["lr"]))
    assert len(r["losses"]) == 3
    np.testing.assert_allclose(rates, [0.868198e-3, 0.55e-3, 0.231802e-3], rtol=1e-5)
    assert [k for k, _ in r["val_losses"]] == [0, 2, 3]
    best = min(v for _, v in r["val_losses"])
    assert _ce(model, val) == pytest.approx(best, rel=1e-6, abs=0)


def test_weight_average_is_scored_and_kept_when_lower(tiny):
    """average_decay d: the average after k steps is d^k w0 + sum_j (1 - d) d^(k-j) w_j,
    recomputed here in float64 from the iterates themselves; each averaged validation
    scores exactly those weights, and the model ends on the lowest of all validations."""
    from imcspice.accelerators.train_causal_lm import train_loop
    model, _ = clm.load_gpt2(tiny[0])
    ref, _ = clm.load_gpt2(tiny[0])
    names = [n for n, _ in model.named_parameters()]
    snap = lambda: {n: p.detach().double().clone() for n, p in model.named_parameters()}
    iterates = [snap()]
    val = ft.calibration_batch(ft.FinetuneSettings(context=128, calib_sequences=2))
    d = 0.6
    r = train_loop(model, 4, 1, 128, 3e-2, 1, 0, log_every=0, val_x=val, val_every=2,
                   average_decay=d, after_step=lambda k: iterates.append(snap()))
    assert [k for k, _ in r["val_losses_average"]] == [2, 4]
    for k, v in r["val_losses_average"]:
        w = {n: d ** k * iterates[0][n] + sum((1 - d) * d ** (k - j) * iterates[j][n]
                                             for j in range(1, k + 1)) for n in names}
        ref.load_state_dict({n: t.float() for n, t in w.items()}, strict=False)
        assert _ce(ref, val) == pytest.approx(v, rel=1e-5, abs=0)
    scores = r["val_losses"] + r["val_losses_average"]
    best = min(v for _, v in scores)
    assert _ce(model, val) == pytest.approx(best, rel=1e-6, abs=0)
    kind = "average" if best in [v for _, v in r["val_losses_average"]] else "iterate"
    assert r["val_best_weights"] == kind
    with pytest.raises(ValueError, match="decay"):
        train_loop(model, 1, 1, 128, 1e-3, 0, 0, log_every=0, val_x=val, val_every=1,
                   average_decay=1.0)


def test_distillation_pulls_the_model_toward_the_teacher(tiny):
    """KL(teacher || student) on unseen training text falls when it is the loss term
    (weight 20 against the cross entropy) and a random student copies a teacher that
    knows byte statistics."""
    import torch.nn.functional as F

    from imcspice.accelerators.train_causal_lm import train_loop
    path, _ = tiny
    teacher, _ = clm.load_gpt2(path)
    train_loop(teacher, 15, 2, 128, 3e-3, 1, 1, log_every=0)   # learns byte frequencies
    student, _ = clm.load_gpt2(path)
    x = clm.corpus_tokens("train")[-128:][None]

    def kl():
        with torch.no_grad():
            t = F.log_softmax(teacher(input_ids=x).logits, -1)
            s = F.log_softmax(student(input_ids=x).logits, -1)
        return float((t.exp() * (t - s)).sum(-1).mean())

    before = kl()
    train_loop(student, 10, 2, 128, 3e-3, 1, 2, log_every=0, teacher=teacher.eval(),
               distill=20.0)
    assert kl() < 0.5 * before


def test_output_regression_fits_fp32_attention_better_than_matching_its_spread(tiny):
    """Least squares is the best affine map of the raw hardware output onto FP32
    softmax attention: its squared error is no larger than that of the map matching
    mean and standard deviation (the published calibration), per head."""
    from imcspice.accelerators.gaincell_torch import GainCellAttention
    _, phys = tiny
    torch.manual_seed(1)
    g = GainCellAttention(phys, 2)
    with torch.no_grad():
        for n, v in (("aq", 0.3), ("bq", 0.5), ("ak", 0.3), ("av", 0.3)):
            getattr(g, n).fill_(v)
    q, k, v = (torch.randn(1, 2, 128, 16) for _ in range(3))
    mask = torch.ones(128, 128).tril().bool()
    ref = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)

    def mse():
        with torch.no_grad():
            return ((g(q, k, v) - ref) ** 2).mean((0, 2, 3))

    with torch.no_grad():
        g.record = {}
        g(q, k, v)
        ft._match_affine(g.ao, g.bo, g.record["out"],
                         (ref.mean((0, 2, 3)), ref.std((0, 2, 3))), 1.0)
        g.record = {"regress": None}
        g(q, k, v)
        mo, mr, cov, var = g.record["regress"]
        g.record = None
    spread = mse()
    with torch.no_grad():
        g.ao.copy_(cov / var)
        g.bo.copy_(mr - g.ao * mo)
    assert (var > 0).all() and (mse() <= spread + 1e-7).all()


def test_calibration_moves_statistics_toward_the_linear_model(tiny):
    path, phys = tiny
    model, _ = clm.load_gpt2(path)
    s = ft.FinetuneSettings(batch=1, context=128, calib_sequences=2)
    x = ft.calibration_batch(s)
    convert(model, phys.as_linear())
    ft.initial_pairs(model, x)
    targets = ft.record(model, x)
    from imcspice.accelerators.gaincell_torch import set_physics
    set_physics(model, phys)
    hist = ft.calibrate(model, x, targets, iterations=4, damping=0.5)
    assert hist[-1] < hist[0]


def test_shipped_finetuned_model_loads_with_its_pairs():
    model, summ = ft.load_finetuned()
    from imcspice.accelerators.gaincell_torch import gaincell_layers
    layers = gaincell_layers(model)
    assert len(layers) == model.config.n_layer
    assert all(torch.isfinite(getattr(g, n)).all() for g in layers
               for n in ("aq", "bq", "ak", "bk", "av", "bv", "ao", "bo"))
    # trained pairs differ from the identity initialization
    assert not torch.allclose(layers[0].aq, torch.ones_like(layers[0].aq))
    phys = summ["physics"]
    assert (phys["q_bits"], phys["kv_bits"], phys["out_bits"], phys["tile"]) == (4, 3, 5, 64)
    assert phys["window"] >= 1024 and summ["settings"]["context"] == 1024
    assert set(summ["perplexity"]) >= {"fp32", "linear", "uncalibrated", "calibrated",
                                       "fine_tuned"}


@pytest.mark.slow
def test_shipped_finetuned_model_reproduces_its_recorded_perplexity():
    """Same held-out chunks as the regeneration run: the shipped weights + pairs give
    the perplexity it recorded (the file is what the run produced)."""
    model, summ = ft.load_finetuned()
    s = ft.FinetuneSettings(eval_tokens=summ["settings"]["eval_tokens"])
    ppl = ft.perplexity(model, clm.corpus_tokens("heldout"), s)
    assert ppl == pytest.approx(summ["perplexity"]["fine_tuned"], rel=1e-4, abs=0)


def test_shipped_finetuned_model_uses_its_attention():
    """The shipped weights were kept only with a live attention (run e's was dead:
    zeroing its output *lowered* its perplexity): on the quick evaluation's 2 held-out
    chunks, setting every head's output pair to 0 raises the perplexity, and the
    regeneration run recorded the same on its 16 chunks."""
    from imcspice.accelerators.finetune_resume import attention_zeroed
    model, summ = ft.load_finetuned()
    s = ft.FinetuneSettings(eval_tokens=2 * 1024 + 1)
    held = clm.corpus_tokens("heldout")
    assert attention_zeroed(model, held, s) > ft.perplexity(model, held, s)
    assert summ["perplexity"]["attention_zeroed"] > summ["perplexity"]["fine_tuned"]


def test_gaincell_target_fine_tuned_within_110_percent_of_fp32():
    """Issue 12's target on the shipped weights, as their regeneration run scored them
    (16 held-out chunks of 1024 bytes; the slow reproduction test above re-scores
    them): 4.30 = 1.089x FP32 3.95 after 27,805 CPU stage-3 steps (stage 3 resumed nine
    times; docs/gaincell_finetune.md)."""
    _, summ = ft.load_finetuned()
    p = summ["perplexity"]
    assert p["fine_tuned"] <= 1.10 * p["fp32"]


def test_finetune_refuses_hostile_checkpoints_before_making_out(tmp_path, capsys):
    """A --model file is untrusted: garbage, and a header whose configuration asks for a
    model far larger than the tensors it ships, are one-line errors; --out is not made."""
    import json

    import torch
    from safetensors.torch import save_file

    from imcspice.cli import main
    bad = tmp_path / "garbage.safetensors"
    bad.write_bytes(b"not a safetensors file")
    huge = tmp_path / "huge.safetensors"
    cfg = {"vocab_size": 256, "n_positions": 1024, "n_embd": 4096, "n_layer": 1000,
           "n_head": 32, "model_type": "gpt2", "bos_token_id": 0, "eos_token_id": 0}
    save_file({"wte.weight": torch.zeros(4, 4)}, str(huge),
              metadata={"gpt2_config": json.dumps(cfg)})
    for f in (bad, huge):
        out = tmp_path / f"out-{f.stem}"
        assert main(["finetune", "--model", str(f), "--out", str(out), "--quiet"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and str(f) in err[0], err
        assert not out.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine "
                    "without CUDA (CI's); with a GPU the flag is valid")
def test_finetune_device_cuda_without_a_gpu_is_a_one_line_error(tmp_path, capsys):
    from imcspice.cli import main
    out = tmp_path / "out"
    assert main(["finetune", "--device", "cuda", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--device cuda" in err[0], err
    assert not out.exists()


def test_resume_continues_stage_3_and_measures_the_attention(tiny, tmp_path):
    """--resume: the checkpoint's weights + pairs train further on the characterized
    cells; the record keeps the checkpoint's intermediate figures and the step count,
    the validation starts at the checkpoint (step 0 = its calibration-batch loss), and
    the result reloads to its fine-tuned perplexity."""
    from imcspice.accelerators.finetune_resume import attention_zeroed, resume
    path, phys = tiny
    s = ft.FinetuneSettings(steps_linear=1, steps_nonlinear=2, batch=1, context=128,
                            eval_tokens=2 * 128 + 1, warmup=1, calib_iterations=1,
                            fp32_control=False)
    first = ft.run(tmp_path / "a", model_path=path, settings=s, progress=False, physics=phys)
    res = resume(tmp_path / "b", tmp_path / "a" / "model.safetensors",
                 settings=replace(s, steps_nonlinear=3, seed=1, val_every=1),
                 progress=False, physics=phys)
    ppl = res["perplexity"]
    assert ppl["resumed_from"] == pytest.approx(first["perplexity"]["fine_tuned"], rel=1e-5, abs=0)
    assert ppl["fp32"] == pytest.approx(first["perplexity"]["fp32"], rel=1e-9, abs=0)
    assert ppl["calibrated"] == first["perplexity"]["calibrated"]
    assert res["resumed_from"]["stage3_steps_before"] == 2 and len(res["loss_stage3"]) == 3
    assert res["steps_done"] == {"stage3": 3} and first["steps_done"] == {"stage1": 1,
                                                                          "stage3": 2}
    assert [k for k, _ in res["validation_stage3"]] == [0, 1, 2, 3]
    model, summ = ft.load_finetuned(tmp_path / "b" / "model.safetensors", physics=phys)
    held = clm.corpus_tokens("heldout")
    assert ft.perplexity(model, held, s) == pytest.approx(ppl["fine_tuned"], rel=1e-5, abs=0)
    assert attention_zeroed(model, held, s) == pytest.approx(ppl["attention_zeroed"], rel=1e-5,
                                                             abs=0)
    # the helper restores the pairs it zeroed
    assert ft.perplexity(model, held, s) == pytest.approx(ppl["fine_tuned"], rel=1e-5, abs=0)


def test_resume_refuses_a_missing_checkpoint_and_a_model(tmp_path, capsys):
    """--resume FILE: a missing file, --model beside it (the checkpoint names its
    base), or a GPT-2 file that is not a gain-cell fine-tuned checkpoint is a one-line
    error; --out is not made."""
    from imcspice.cli import main
    for extra in (["--resume", str(tmp_path / "none.safetensors")],
                  ["--resume", str(ft.SHIPPED), "--model", str(clm.GPT2_CHECKPOINT)],
                  ["--resume", str(clm.GPT2_CHECKPOINT)]):   # not fine-tuned
        out = tmp_path / "out"
        assert main(["finetune", *extra, "--out", str(out), "--quiet"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "--resume" in err[0], err
        assert not out.exists()


def test_evaluation_calibrates_stage_0_as_the_fine_tuning_did(monkeypatch):
    """accuracy.gaincell_run's linear / uncalibrated / calibrated figures start from the
    stage 0 the shipped weights were trained from (the readout range calibration,
    recorded in their summary): accuracy and the fine-tuned model describe one
    pipeline. Stopped at stage 0 (no perplexity of the converted model is needed)."""
    from imcspice.accelerators import accuracy
    from imcspice.accelerators import arch as arch_mod
    seen = {}

    class Stop(Exception):
        pass

    def spy(model, x, ranges=False):
        seen["ranges"] = ranges
        raise Stop

    monkeypatch.setattr(ft, "initial_pairs", spy)
    with pytest.raises(Stop):
        accuracy.gaincell_run(arch_mod.load("gaincell"), None, quick=True, progress=False)
    _, summ = ft.load_finetuned()
    assert summ["settings"]["range_calibration"] is True
    assert seen["ranges"] is summ["settings"]["range_calibration"]


def test_history_unrolls_the_resumed_runs_oldest_first(tmp_path):
    """A hand-made chain: a full run of 300 stage-3 steps, resumed for 100 more (seed 1).
    The resumed run's validations are shifted by the 300 steps before it, and the plot
    draws exactly those points and each run's held-out perplexity at its last step."""
    from plotcheck import check_png, line_data, saved_figures

    from imcspice.accelerators import plots
    from imcspice.accelerators.finetune_resume import history
    first = {"settings": {"seed": 0, "steps_nonlinear": 300}, "heldout_tokens": 2048,
             "validation_stage3": [[0, 2.6], [300, 2.5]],
             "perplexity": {"fp32": 4.0, "fine_tuned": 12.0}}
    second = {"settings": {"seed": 1, "steps_nonlinear": 10 ** 6}, "heldout_tokens": 2048,
              "steps_done": {"stage3": 100}, "validation_stage3": [[0, 2.5], [100, 2.4]],
              "validation_stage3_average": [[100, 2.3]],
              "perplexity": {"fp32": 4.0, "fine_tuned": 10.0},
              "resumed_from": {"stage3_steps_before": 300, "record": first}}
    runs = history(second)
    assert [(r["seed"], r["stage3_steps_before"], r["stage3_steps"], r["resumed"])
            for r in runs] == [(0, 0, 300, False), (1, 300, 100, True)]
    assert runs[1]["validation"] == [[300, 2.5], [400, 2.4]]
    assert runs[1]["validation_average"] == [[400, 2.3]] and runs[0]["validation_average"] == []
    with saved_figures() as figs:
        plots.finetune_history(runs, tmp_path / "h.png", "test")
    (fig, path), = figs
    top, bottom = line_data(fig.axes[0]), line_data(fig.axes[1])
    drawn = [(list(x), list(y)) for x, y in top if len(x) > 1 or x[0] == 400]
    assert ([0, 300], [2.6, 2.5]) in drawn and ([300, 400], [2.5, 2.4]) in drawn
    assert ([400], [2.3]) in drawn
    ends = [(list(x), list(y)) for x, y in bottom]
    assert ([300, 400], [12.0, 10.0]) in ends and ([0, 1], [4.0, 4.0]) in ends
    assert ([0, 1], [pytest.approx(4.4, rel=1e-6, abs=0)] * 2) in ends
    check_png(fig, path)


def test_shipped_history_is_one_unbroken_chain_of_runs():
    """Each run of the shipped weights starts where the one before it ended (stage-3
    steps), and each run's held-out perplexity is below the one before it (a run is
    shipped only if it beats the shipped one)."""
    from safetensors import safe_open

    from imcspice.accelerators.finetune_resume import history
    with safe_open(str(ft.SHIPPED), "pt") as f:
        rec = json.loads(f.metadata()["gaincell_finetune"])
    runs = history(rec)
    assert not runs[0]["resumed"] and all(r["resumed"] for r in runs[1:])
    for a, b in zip(runs, runs[1:]):
        assert b["stage3_steps_before"] == a["stage3_steps_before"] + a["stage3_steps"]
    assert all(b["fine_tuned"] < a["fine_tuned"] for a, b in zip(runs, runs[1:]))
