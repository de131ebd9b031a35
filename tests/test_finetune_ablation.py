"""The attention-form diagnostic (accelerators/finetune_ablation.py): which machine each
variant simulates, the attention-zeroed score, and that the unquantized form trains."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from imcspice.accelerators import finetune as ft
from imcspice.accelerators import finetune_ablation as fa
from imcspice.accelerators.finetune_resume import attention_zeroed
from imcspice.accelerators.gaincell_torch import convert, gaincell_layers

from tiny_lm import tiny_gpt2_and_machine

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny():
    """A random 2-layer byte GPT-2 (128 positions) and the machine cut to 128 tokens."""
    return tiny_gpt2_and_machine()


def test_variants_are_the_documented_machines(tiny):
    _, phys = tiny
    hw, fl, nc = (fa.form(phys, v) for v in ("hardware", "float", "float_noclip"))
    # hardware: stage 1 as shipped (linear cells, retention, every quantizer on)
    assert hw == phys.as_linear() and hw.quantizers and hw.tile_clip
    # float: no quantizer, tile clip kept, cells that hold their level
    assert (fl.linear, fl.quantizers, fl.tile_clip, fl.nonideality_scale) == (True, False, True, 0.0)
    st = fl.stored_table()    # every age reads the written level: 3-bit grid on 0-0.9 V
    np.testing.assert_allclose(st, np.broadcast_to(np.arange(8) * 0.9 / 7, st.shape))
    assert (nc.quantizers, nc.tile_clip) == (False, False)
    # bits, tile and window are the machine's own in every form
    assert {(p.q_bits, p.kv_bits, p.out_bits, p.tile, p.window) for p in (hw, fl, nc)} == \
        {(phys.q_bits, phys.kv_bits, phys.out_bits, phys.tile, phys.window)}
    with pytest.raises(ValueError):
        fa.form(phys, "softmax")


def test_zeroed_perplexity_is_the_model_without_attention_and_restores_it(tiny, monkeypatch):
    import copy
    model, phys = copy.deepcopy(tiny[0]), tiny[1]
    convert(model, fa.form(phys, "float"))
    torch.manual_seed(1)
    with torch.no_grad():
        for g in gaincell_layers(model):
            g.ao.uniform_(0.5, 1.5)
            g.bo.uniform_(-0.2, 0.2)
    tok = torch.randint(0, 256, (2 * 128 + 1,))
    s = ft.FinetuneSettings(context=128, eval_tokens=2 * 128 + 1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    alive = ft.perplexity(model, tok, s)
    zeroed = attention_zeroed(model, tok, s)
    # another route to the same network: every attention module returns zeros
    for g in gaincell_layers(model):
        monkeypatch.setattr(g, "forward", lambda q, k, v: torch.zeros_like(q))
    assert zeroed == pytest.approx(ft.perplexity(model, tok, s), rel=1e-6, abs=0)
    monkeypatch.undo()
    assert zeroed != pytest.approx(alive, rel=1e-4, abs=0)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_the_unquantized_form_trains(tiny):
    import copy
    model, phys = copy.deepcopy(tiny[0]), tiny[1]
    convert(model, fa.form(phys, "float_noclip"))
    s = ft.FinetuneSettings(batch=2, context=128, lr=3e-3, pair_lr=1e-2, warmup=1)
    r = ft.train_stage(model, 12, s, "test", progress=False)
    # random init starts near ln(256) = 5.55 nats; byte statistics alone are learnable
    assert r["losses"][0] > 5.0 and np.mean(r["losses"][-3:]) < r["losses"][0] - 0.3
    assert all(g.ao.grad is not None for g in gaincell_layers(model))


def test_the_diagnostics_never_overwrite_a_result(tmp_path, capsys):
    """--out must be a new file: an existing one is refused before any work, unchanged."""
    from imcspice.accelerators import finetune_per_chip, finetune_transfer
    old = tmp_path / "result.json"
    old.write_text("earlier run")
    for main, extra in ((fa.main, ["--variant", "float"]), (finetune_transfer.main, []),
                        (finetune_per_chip.main, ["--chip", "1000"])):
        with pytest.raises(SystemExit) as e:
            main([*extra, "--out", str(old)])
        assert e.value.code == 2 and "exists" in capsys.readouterr().err
    assert old.read_text() == "earlier run"


def test_stage0_cache_holds_only_the_pairs_and_restores_stage0(tiny, tmp_path):
    """Stage 0 sets the gain-cell pairs alone; its cache (pairs only, so it travels to a
    GPU machine) rebuilds the same stage-0 model from the base weights."""
    import copy
    base, phys = tiny
    s = ft.FinetuneSettings(context=128)
    cache = tmp_path / "stage0.pt"
    first = copy.deepcopy(base)
    fa.stage0(first, phys, s, cache)
    state = first.state_dict()
    kept = torch.load(cache, weights_only=True)
    assert kept and all(".gaincell." in k for k in kept)
    assert set(kept) == {k for k in state if ".gaincell." in k}
    # nothing outside the pairs moved, and the pairs left their identity start
    assert all(torch.equal(v, state[k]) for k, v in base.state_dict().items())
    assert any(not torch.equal(g.aq, torch.ones_like(g.aq)) for g in gaincell_layers(first))
    again = copy.deepcopy(base)
    fa.stage0(again, phys, s, cache)
    assert all(torch.equal(v, state[k]) for k, v in again.state_dict().items())


def test_curve_points_are_the_model_after_that_many_steps(tiny):
    """--eval-every: point(k) sees the model after exactly k optimizer steps, in eval
    mode, and scoring it does not change the training."""
    import copy

    from torch.optim.optimizer import register_optimizer_step_post_hook
    model, phys = copy.deepcopy(tiny[0]), tiny[1]
    convert(model, fa.form(phys, "hardware"))
    plain = copy.deepcopy(model)
    s = ft.FinetuneSettings(batch=2, context=128, lr=3e-3, pair_lr=1e-2, warmup=1,
                            eval_tokens=2 * 128 + 1)
    tok = torch.randint(0, 256, (2 * 128 + 1,), generator=torch.Generator().manual_seed(3))
    after: list = []   # the state after every step, taken by a hook of our own
    handle = register_optimizer_step_post_hook(
        lambda o, a, k: after.append({n: t.detach().clone() for n, t in model.state_dict().items()}))
    points: list = []
    try:
        fa.train_with_curve(model, 5, s, "test", False, None, 2,
                            lambda k: points.append((k, model.training, ft.perplexity(model, tok, s))))
    finally:
        handle.remove()
    assert [(k, training) for k, training, _ in points] == [(2, False), (4, False)]
    for k, _, ppl in points:
        probe = copy.deepcopy(model)
        probe.load_state_dict(after[k - 1])
        assert ppl == ft.perplexity(probe, tok, s)
    assert points[0][2] != points[1][2]
    ft.train_stage(plain, 5, s, "test", False)   # the same training, never scored
    assert all(torch.equal(v, model.state_dict()[n]) for n, v in plain.state_dict().items())
    n = len(after)   # the hook is gone: a later optimizer step scores nothing
    ft.train_stage(model, 1, s, "test", False)
    assert len(points) == 2 and len(after) == n


@pytest.mark.parametrize("opt,value", [("--steps", "-1"), ("--rounds", "0"),
                                       ("--eval-every", "-5"), ("--steps", "ten")])
def test_cli_refuses_counts_that_are_not_counts(tmp_path, capsys, opt, value):
    """A negative step count, zero rounds or a non-integer is a one-line usage error
    before any work (nothing written)."""
    out = tmp_path / "r.json"
    with pytest.raises(SystemExit) as e:
        fa.main(["--variant", "float", opt, value, "--out", str(out)])
    assert e.value.code == 2 and f"argument {opt}" in capsys.readouterr().err
    assert not out.exists()
