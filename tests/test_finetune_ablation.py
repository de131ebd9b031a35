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
    assert zeroed == pytest.approx(ft.perplexity(model, tok, s), rel=1e-6)
    monkeypatch.undo()
    assert zeroed != pytest.approx(alive, rel=1e-4)
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
