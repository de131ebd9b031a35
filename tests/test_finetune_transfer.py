"""Attention transfer (accelerators/finetune_transfer.py): the per-layer target, that a
few steps lower it, and that nothing outside the attention modules moves."""
from __future__ import annotations

import copy
from dataclasses import replace

import pytest
import torch

from imcspice.accelerators import causal_lm as clm
from imcspice.accelerators import finetune as ft
from imcspice.accelerators import finetune_transfer as fx
from imcspice.accelerators.gaincell_torch import attention_modules, convert

from tiny_lm import tiny_gpt2_and_machine

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny():
    """A random 2-layer byte GPT-2 (128 positions) and the machine cut to 128 tokens."""
    model, phys = tiny_gpt2_and_machine()
    return model.eval(), phys


def test_the_target_is_the_fp32_attention_output_and_its_error_is_relative(tiny):
    fp32, _ = tiny
    x = torch.randint(0, 256, (2, 128), generator=torch.Generator().manual_seed(1))
    io = fx.attention_io(fp32, x)
    assert len(io) == 2 and all(h.shape == y.shape == (2, 128, 32) for h, y in io)
    # an unconverted copy computes exactly the teacher's attention: error 0
    same = copy.deepcopy(fp32)
    assert max(fx.relative_errors(same, fp32, x)) < 1e-10
    # an attention whose output is identically 0 (W_o = 0, bias 0) scores
    # mean(y^2) / var(y) per layer, by the definition of the relative MSE
    with torch.no_grad():
        for m in attention_modules(same):
            m.c_proj.weight.zero_()
            m.c_proj.bias.zero_()
    want = [float((y.double() ** 2).mean() / y.double().var(unbiased=False)) for _, y in io]
    assert fx.relative_errors(same, fp32, x) == pytest.approx(want, rel=1e-3, abs=0)


def test_a_few_transfer_steps_lower_the_error_and_touch_only_the_attention(tiny):
    fp32, phys = tiny
    model = copy.deepcopy(fp32)
    convert(model, phys.as_linear())
    s = ft.FinetuneSettings(batch=2, context=128, lr=3e-3, pair_lr=1e-2, warmup=1)
    x = ft.calibration_batch(s)
    ft.initial_pairs(model, x)
    ft.regress_output(model, x)
    before_state = {k: t.detach().clone() for k, t in model.state_dict().items()}
    before = fx.relative_errors(model, fp32, x)
    r = fx.transfer(model, fp32, 15, s, progress=False)
    after = fx.relative_errors(model, fp32, x)
    assert len(r["losses"]) == 15 and len(r["losses"][0]) == 2
    assert sum(after) < sum(before)
    # attention_parameters names them "<layer>.<name in the attention module>"
    attn = set()
    for n, _ in fx.attention_parameters(model):
        layer, name = n.split(".", 1)
        attn.add(f"transformer.h.{layer}.attn.{name}")
    assert {k for k in attn if ".gaincell." in k} and attn <= set(before_state)
    now = model.state_dict()
    moved = [k for k in attn if not torch.equal(now[k], before_state[k])]
    assert moved, "the attention parameters should train"
    for k, t in now.items():
        if k not in attn:
            assert torch.equal(t, before_state[k]), k


def test_pipeline_runs_stage_1a_only_when_asked(tiny, tmp_path):
    fp32, phys = tiny
    path = tmp_path / "tiny.safetensors"
    clm.save_gpt2(fp32, path)
    s = ft.FinetuneSettings(steps_linear=1, steps_nonlinear=1, batch=1, context=128,
                            eval_tokens=128 + 1, warmup=1, calib_iterations=1,
                            fp32_control=False, transfer_steps=2)
    res = ft.run(tmp_path / "out", model_path=path, settings=s, progress=False, physics=phys)
    assert "linear_transferred" in res["perplexity"] and len(res["loss_transfer"]) == 2
    res0 = ft.run(tmp_path / "out0", model_path=path, progress=False, physics=phys,
                  settings=replace(s, transfer_steps=0))
    assert "linear_transferred" not in res0["perplexity"] and "loss_transfer" not in res0
