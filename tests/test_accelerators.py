"""Accelerator compositions: the analog operators, the behavioral models fitted from real
(tiny) ngspice sweeps (conftest's tiny_models), the gain-cell evaluation on them and the
evaluate command's errors. RACE-IT's and HeTraX's evaluations on the same models:
tests/test_race_it_evaluation.py, tests/test_hetrax_evaluation.py."""

import numpy as np
import pytest

from evaluation_checks import consistent, strict_loads
from imcspice.accelerators.analog import (AcamQuantizer, CrossbarDevice, CrossbarLinear,
                                          quantize_uniform)
from imcspice.accelerators.range_recorder import RangeRecorder
from imcspice.accelerators.ops import FP32Ops
from imcspice.cli import main


def ideal_device(rows=128):
    return CrossbarDevice(1e-6, 100e-6, 0.2, 1e6, rows, lambda load: 0.0 * np.asarray(load))


def test_crossbar_linear_is_exact_for_ideal_devices():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((48, 300)).astype(np.float32)
    x = rng.standard_normal((7, 300)).astype(np.float32)
    y = CrossbarLinear(w, ideal_device(), 12, 4.5, seed=0, outlier_factor=None)(x)
    ref = x @ w.T
    assert np.abs(y - ref).max() < 2e-3 * np.abs(ref).max()  # 12-bit inputs only


def test_crossbar_outlier_rows_go_digital_and_noise_is_seeded():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((16, 64)).astype(np.float32)
    x_max = np.ones(64)
    x_max[5] = 50.0                              # one outlier feature
    xb = CrossbarLinear(w, ideal_device(), 8, x_max, seed=0)
    assert xb.digital.sum() == 1 and xb.digital[5]
    noisy = CrossbarDevice(1e-6, 100e-6, 0.2, 1e6, 128, lambda l: 0.0 * np.asarray(l),
                           lambda g: 2e-6 + 0 * g)
    a = CrossbarLinear(w, noisy, 8, 1.0, seed=3).w_eff
    b = CrossbarLinear(w, noisy, 8, 1.0, seed=3).w_eff
    c = CrossbarLinear(w, noisy, 8, 1.0, seed=4).w_eff
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_acam_quantizer_mismatch_moves_thresholds():
    x = np.linspace(-1, 1, 1001)
    ideal = AcamQuantizer(4, -1, 1)
    np.testing.assert_allclose(ideal(x), quantize_uniform(x, 4, -1, 1))
    off = AcamQuantizer(4, -1, 1, sigma_rel=0.01, seed=1)
    assert 0 < np.mean(off(x) != ideal(x)) < 0.2
    np.testing.assert_allclose(ideal.lookup(x, np.exp), np.exp(ideal(x)))


def test_range_recorder_is_transparent():
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal((3, 5, 8)), rng.standard_normal((4, 8)), np.ones(4)
    rec = RangeRecorder(FP32Ops())
    np.testing.assert_allclose(rec.linear(x, w, b, "l"), FP32Ops().linear(x, w, b, "l"))
    assert rec.ranges["l"]["in_ch"].shape == (8,)
    assert rec.ranges["l"]["out_ch"].shape == (4,)


def test_models_built_from_real_sweeps(tiny_models):
    d, summary = tiny_models
    for name in ("memristor", "crossbar-column", "acam-window", "acam-mismatch", "acam-search"):
        assert summary["models"][name]["ok"], summary["models"][name]
        assert (d / f"{name}.model.h5").is_file()


def test_missing_models_give_a_clear_error(tmp_path, capsys):
    rc = main(["evaluate", "--arch", "race-it", "--models", str(tmp_path), "--quick",
               "--out", str(tmp_path / "o")])
    assert rc == 2
    assert "model" in capsys.readouterr().err


@pytest.mark.parametrize("arch", ["gaincell", "race-it"])
def test_evaluate_device_cuda_without_cuda_is_a_one_line_error(arch, tmp_path, capsys,
                                                               monkeypatch):
    """`evaluate --device cuda` where torch sees no CUDA GPU (forced here, so the check
    runs on any machine): exit 2, one line naming the fix, nothing written."""
    import torch
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "o"
    assert main(["evaluate", "--arch", arch, "--quick", "--quiet", "--device", "cuda",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--device cuda" in err[0] and "--device cpu" in err[0], err
    assert not out.exists()


def test_gaincell_evaluation_without_and_with_training(tiny_models, tmp_path):
    d, _ = tiny_models
    # the description's default workload: no further flags needed
    rc = main(["evaluate", "--arch", "gaincell", "--models", str(d), "--quick", "--quiet",
               "--out", str(tmp_path)])
    assert rc == 0
    # strict JSON (RFC 8259): the tiny fits' held-out errors that do not exist are null
    rep = strict_loads((tmp_path / "report.json").read_text())
    assert any(m.get("heldout_max_pct_fs", 0) is None for m in rep["models"].values())
    acc = rep["accuracy"]
    ppl = acc["perplexity"]
    # issue 12: fp32 (the unconverted GPT-2), uncalibrated, calibrated, fine_tuned
    assert {"fp32", "linear", "uncalibrated", "calibrated", "fine_tuned"} <= set(ppl)
    assert ppl["fp32"] < 4.5                               # the pretrained byte-level GPT-2
    # stage 2 keeps the iterate with the lowest calibration-batch loss, iterate 0 being
    # the uncalibrated pairs: it can only lower that loss (held-out: not guaranteed)
    losses = acc["calibration"]["loss_per_iterate"]
    assert losses[acc["calibration"]["kept_iterate"]] == min(losses)
    # every hardware figure is worse than FP32 (a softmax-trained model, no softmax)
    assert min(v for k, v in ppl.items() if k != "fp32") > ppl["fp32"]
    sweep = acc["vs_nonideality_scale"]
    assert set(sweep) == {"0", "1"} and sweep["1"]["perplexity"] == ppl["calibrated"]
    assert acc["tau_s"] > 0 and 0.0 <= acc["v_inf_v"] <= 0.9
    assert rep["workload"] == "byte-lm" and rep["seq_len"] == acc["window"] == 1024
    assert acc["heldout_tokens"] == 2 * 1024 and acc["device"] == "cpu"
    # the shipped fine-tuned model, evaluated with this run's cell models against the
    # unconverted GPT-2 on the same held-out bytes
    assert acc["finetuned"]["perplexity"]["fp32"] == ppl["fp32"]
    assert acc["fine_tuned_over_fp32"] == pytest.approx(ppl["fine_tuned"] / ppl["fp32"],
                                                        rel=1e-12, abs=0)
    assert f"**{ppl['fine_tuned']:.3f}**" in (tmp_path / "report.md").read_text()
    # the regeneration run's own ratio (16 chunks), beside this run's quick one: the
    # file's record, 4.298 / 3.948 (docs/gaincell_finetune.md, run 10)
    assert "(1.089x its FP32 3.948)" in (tmp_path / "report.md").read_text()
    # how the shipped weights were trained: the runs' record, plotted and linked
    runs = acc["finetuned"]["history"]
    assert runs[-1]["fine_tuned"] == acc["finetuned"]["recorded_by_regeneration_run"][
        "fine_tuned"] and not runs[0]["resumed"]
    assert "(gaincell_finetune_history.png)" in (tmp_path / "report.md").read_text()
    # issue 12: accuracy and cost describe one machine (the published form)
    assert acc["priced_not_simulated"] == []
    assert {"gaincell", "readout", "tile_adder"} <= set(rep["energy_breakdown_j"])
    consistent(rep)


def test_calibration_ranges_estimate_one_batch_and_do_not_widen_with_more():
    # 64 batches of 10^4 standard normal values: the 99.9th percentile of |x| is
    # Phi^-1(0.9995) = 3.2905 (normal table); a batch's sample percentile scatters by
    # ~0.09 about it (sqrt(p (1-p) / n) / (2 phi(3.29))), the mean of 64 by ~0.011. A
    # maximum over the batches would read ~3.29 + 2.4 x 0.09 ~ 3.5.
    rng = np.random.default_rng(5)
    rec = RangeRecorder(FP32Ops())
    for _ in range(64):
        rec.gelu(rng.standard_normal(10_000), "g")
    assert rec.ranges["g"]["in"] == pytest.approx(3.2905, abs=0.05)
    # an operand's sign is the minimum over every batch: one negative batch makes it signed
    a, b = np.full((1, 2, 2), 0.5), np.ones((1, 2, 2))
    rec.matmul(a, b, "m")
    rec.matmul(-a, b, "m")
    rec.matmul(a, b, "m")
    assert rec.ranges["m"]["in_min"] == -0.5 and rec.ranges["m"]["in2_min"] == 1.0
