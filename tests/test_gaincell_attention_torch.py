"""Gain-cell attention as a torch module (accelerators/gaincell_torch.py): the published
form checked against hand computations, and the retention table against the model file."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from imcspice.accelerators.gaincell_physics import GainCellPhysics, retention_table
from imcspice.accelerators.gaincell_torch import GainCellAttention, quantize

torch.set_num_threads(1)

I_UNIT = 1e-5            # q_sat 1.5e-13 C / 15 ns


def _phys(**kw) -> GainCellPhysics:
    """A hand-sized machine: cell current linear, ±0.6 i_unit at the range ends; readout
    transfer = clip(x, 0, 1) (tabulated); no leakage unless ``tau_s`` is given."""
    base = dict(vs_grid_v=(0.0, 0.9), i_cell_a=(-0.6 * I_UNIT, 0.6 * I_UNIT), tau_s=1e30,
                v_inf_v=0.45, q_sat_c=1.5e-13, act_x=(0.0, 0.5, 1.0, 1.5), act_y=(0.0, 0.5, 1.0, 1.0),
                t_token_s=1.0, window=4, tile=2, q_bits=1, kv_bits=1, out_bits=2)
    base.update(kw)
    return GainCellPhysics(**base)


def _run(phys, q, k, v):
    g = GainCellAttention(phys, heads=1)
    t = [torch.tensor(x, dtype=torch.float32).view(1, 1, -1, 1) for x in (q, k, v)]
    with torch.no_grad():
        return g(*t).view(-1).numpy()


def test_per_tile_quantization_then_digital_sum_by_hand():
    # q' = 1 (1-bit pulse); k' = [0.9, 0, 0.9, 0.9] V (k + 0.45 V); v' = 0.9 V everywhere.
    # Scores = 1·I(k') = ±0.6 (units of q_sat); readout -> 0.6 or 0; 2-bit pulse levels
    # {0, 1/3, 2/3, 1}: A = 2/3 where k' = 0.9 V and j <= i. Each such key adds
    # A·I(0.9 V) = 2/3·0.6 = 0.4 to its tile's charge. Tiles of 2 keys, 2-bit outputs on
    # [-1, 1]: step 2/3, 0.4 -> 2/3, 0.8 -> 2/3, 0 -> 0.
    #   i=0: tile0 0.4 -> 2/3                     total 2/3
    #   i=1: key 1 has A = 0: same                total 2/3
    #   i=2: tile0 2/3 + tile1 (key 2) 0.4 -> 2/3 total 4/3
    #   i=3: tile0 2/3 + tile1 0.8 -> 2/3         total 4/3
    q, k, v = [1.0] * 4, [0.45, -0.45, 0.45, 0.45], [0.45] * 4
    out = _run(_phys(), q, k, v)
    np.testing.assert_allclose(out, [2 / 3, 2 / 3, 4 / 3, 4 / 3], atol=1e-6)
    # One 4-row tile quantizes the whole sum once: i=2 0.8 -> 2/3, i=3 1.2 -> clamp 1 ->
    # 2/3, so the per-tile readout and digital sum is what makes rows 2-3 differ.
    out1 = _run(_phys(tile=4), q, k, v)
    np.testing.assert_allclose(out1, [2 / 3, 2 / 3, 2 / 3, 2 / 3], atol=1e-6)


def test_no_softmax_unnormalized_sum_and_sliding_window():
    # Window 2: query i sees keys i-1 and i only. All keys at 0.9 V: every allowed
    # score 0.6 -> A = 0.6 (8-bit: 153/255 exactly), each key adds 0.6·0.6 = 0.36 to the
    # one 4-row tile; 8-bit outputs on [-1, 1] (step 2/255): 0.36 -> 46 steps, 0.72 ->
    # 92 steps. The sum grows with the number of keys read (no softmax normalization)
    # and stops growing at the window.
    out = _run(_phys(window=2, tile=4, out_bits=8), [1.0] * 4, [0.45] * 4, [0.45] * 4)
    step = 2 / 255
    np.testing.assert_allclose(out, [46 * step, 92 * step, 92 * step, 92 * step], atol=1e-6)


def test_leakage_by_hand_exponential_form():
    # Without a retention table the stored voltage relaxes as v_inf + (V_w - v_inf)e^{-t/τ};
    # τ = 2 tokens, v_inf = 0.2 V. One tile of 4 rows, fine quantizers (12-bit A and out)
    # so the hand formula below holds to ~1e-3.
    tau, v_inf = 2.0, 0.2
    phys = _phys(tau_s=tau, v_inf_v=v_inf, tile=4, out_bits=12)
    q, k, v = [1.0, 1.0, 1.0], [0.45, 0.45, -0.45], [0.45, -0.45, 0.45]
    kw = [0.9, 0.9, 0.0]           # written K voltages (1 bit)
    vw = [0.9, 0.0, 0.9]

    def cur(volt):                  # the linear cell: 0.6·(V - 0.45)/0.45 (units of q_sat)
        return 0.6 * (volt - 0.45) / 0.45

    def stored(w, age):
        return v_inf + (w - v_inf) * math.exp(-age / tau)

    expect = []
    for i in range(3):
        a = [min(max(cur(stored(kw[j], i - j)), 0.0), 1.0) if j <= i else 0.0
             for j in range(3)]
        expect.append(sum(a[j] * cur(stored(vw[j], i - j)) for j in range(3)))
    out = _run(phys, q, k, v)
    np.testing.assert_allclose(out, expect, atol=2e-3)
    # leakage matters in this example: without it row 2 differs by more than 0.05
    no_leak = _run(_phys(tile=4, out_bits=12), q, k, v)
    assert abs(no_leak[2] - out[2]) > 0.05


def test_quantizer_levels_and_straight_through_gradient():
    x = torch.tensor([-0.2, 0.0, 0.14, 0.5, 0.95, 1.3], requires_grad=True)
    y = quantize(x, 0.0, 1.0, 2)            # levels 0, 1/3, 2/3, 1
    np.testing.assert_allclose(y.detach().numpy(), [0, 0, 0, 2 / 3, 1, 1], atol=1e-6)
    y.sum().backward()
    # identity inside the range, zero where clamped
    np.testing.assert_allclose(x.grad.numpy(), [0, 1, 1, 1, 1, 0])
    z = quantize(torch.tensor([0.0, 0.99, -0.99]), -1.0, 1.0, 5)
    assert z[0] == 0.0 and abs(float(z[1]) - 15 * 2 / 31) < 1e-6   # 0 is a level; ±15 steps


def test_gradients_reach_every_scale_offset_pair():
    torch.manual_seed(0)
    g = GainCellAttention(_phys(q_bits=4, kv_bits=3, out_bits=5, window=8, tile=4), heads=2)
    with torch.no_grad():
        g.aq.fill_(0.3), g.bq.fill_(0.5), g.ak.fill_(0.2), g.av.fill_(0.2)
    q, k, v = (torch.randn(1, 2, 8, 3) for _ in range(3))
    g(q, k, v).pow(2).sum().backward()
    for n in ("aq", "bq", "ak", "bk", "av", "bv", "ao", "bo"):
        assert torch.isfinite(getattr(g, n).grad).all() and getattr(g, n).grad.abs().sum() > 0, n


def test_retention_table_is_the_model_and_relaxes_with_its_tau():
    """The stored-voltage table is the Si retention model's v_sn_v; at t = τ (the
    model's own time constant for that written level) a cell has relaxed to 1/e of its
    way to v_inf -- the exp(-t/τ) type check."""
    from imcspice.accelerators.hardware import HardwareModels, _centered
    hw = HardwareModels.from_dir()
    ret = hw.need("gaincell-retention", write_device="si")

    def ev(out, **kw):
        return float(np.asarray(ret.evaluate(out, corner="tt", **_centered(
            ret, out, temp_c=27.0, **kw))).ravel()[0])

    tau = ev("tau_s", v0_v=0.9)
    v_inf = ev("v_inf_v")
    tab = retention_table(hw, "si", window=2, t_token_s=tau, kv_bits=3)
    v0, v1 = tab[0, -1], tab[1, -1]           # top level (0.9 V) at age 0 and age τ
    assert abs((v1 - v_inf) / (v0 - v_inf) - math.exp(-1.0)) < 0.01
    # written at 0.9 V, the cell starts below it (write kick-back in the model), inside
    # 0.8-0.9 V, and the table is monotonic in the written level at every age
    assert 0.8 < v0 < 0.9
    assert np.all(np.diff(tab, axis=1) > 0)


def test_characterized_machine_over_a_1024_token_window():
    phys = GainCellPhysics.from_arch()
    assert phys.window >= 1024 and (phys.q_bits, phys.kv_bits, phys.out_bits) == (4, 3, 5)
    tab = phys.stored_table()
    assert tab.shape == (phys.window, 8)
    g = GainCellAttention(phys, heads=1)
    # the age x level split reproduces the read-current table within its tolerance
    assert g.rank_error <= 1e-3
    read = phys.read_table()
    w = torch.tensor(phys.levels_v(), dtype=torch.float32)
    for age in (0, 511, phys.window - 1):
        np.testing.assert_allclose(g.read_current(w, age).numpy(), read[age],
                                   atol=2e-3 * np.abs(read).max())
    # leakage over the window: the bottom level drifts by several mV in 1024 tokens
    assert abs(tab[-1, 0] - tab[0, 0]) > 5e-3


def test_nonideality_scale_by_hand():
    """The report's sweep (scaled(k)): a cell whose current bends (0, 0.2, 1.0 i_unit at
    0, 0.45, 0.9 V: straight line -1..+1 through 0 at 0.45 V, the bend 0.2 at mid-range)
    and a stored voltage that leaks 0.1 V toward v_inf = 0 per token (exponential form,
    tau = t_token / ln(0.9/0.8)): x0 is the straight line with no leakage; x2 doubles
    both deviations; x1 is the characterized machine itself."""
    tau = 1.0 / math.log(0.9 / 0.8)           # top level 0.9 V -> 0.8 V after one token
    p = _phys(vs_grid_v=(0.0, 0.45, 0.9), i_cell_a=(-0.0 * I_UNIT, 0.2 * I_UNIT, I_UNIT),
              tau_s=tau, v_inf_v=0.0)
    line = np.array([-0.5, 0.0, 0.5])   # g·(v - 0.45 V), g = (1 - 0) i_unit / 0.9 V
    np.testing.assert_allclose(p.scaled(0.0).current_table(), line, atol=1e-12)
    np.testing.assert_allclose(p.scaled(2.0).current_table(), [0.5, 0.4, 1.5], atol=1e-12)
    assert np.array_equal(p.scaled(1.0).current_table(), p.current_table())
    # stored voltage of the top level (0.9 V, kv_bits 1) at ages 0 and 1
    np.testing.assert_allclose(p.stored_table()[:2, 1], [0.9, 0.8], atol=1e-12)
    np.testing.assert_allclose(p.scaled(0.0).stored_table()[:2, 1], [0.9, 0.9], atol=1e-12)
    np.testing.assert_allclose(p.scaled(2.0).stored_table()[:2, 1], [0.9, 0.7], atol=1e-12)
    # without leakage the read current does not depend on age: a rank-0 split
    assert GainCellAttention(p.scaled(0.0), heads=1).rank == 0
    assert GainCellAttention(p, heads=1).rank > 0


def test_convert_puts_the_attention_on_the_models_device():
    """convert() after model.to(device) (what `finetune --device cuda` does) must make
    the pairs and tables on that device: on a CPU-only machine the "meta" device stands
    in for CUDA (a module left on the CPU is found the same way)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    from imcspice.accelerators.gaincell_torch import convert, gaincell_layers
    cfg = GPT2Config(vocab_size=16, n_positions=8, n_embd=8, n_layer=1, n_head=2)
    model = GPT2LMHeadModel(cfg).to("meta")
    convert(model, _phys(window=8))
    g = gaincell_layers(model)[0]
    tensors = list(g.parameters()) + list(g.buffers())
    assert len(tensors) >= 8 + 4
    assert {t.device.type for t in tensors} == {"meta"}


def test_unquantized_diagnostic_form_by_hand():
    # physics.unquantized(): the example above without rounding. q' = 0.7 (1-bit would
    # give 1), k' = [0.9, 0, 0.9, 0.9] V: scores 0.7·(±0.6) = ±0.42, readout 0.42 or 0
    # (2-bit would give 1/3), each such key adds 0.42·0.6 = 0.252 to its tile; tile
    # outputs unrounded: i=0, 1: 0.252; i=2: 0.504; i=3: 0.252 + 0.504 = 0.756.
    q, k, v = [0.7] * 4, [0.45, -0.45, 0.45, 0.45], [0.45] * 4
    np.testing.assert_allclose(_run(_phys().unquantized(), q, k, v),
                               [0.252, 0.252, 0.504, 0.756], atol=1e-6)
    # q' = 1: each key adds 0.36; one 4-row tile: i=3 reads 3·0.36 = 1.08, clamped to 1
    # by the tile readout, 1.08 with the tile clip off too.
    q = [1.0] * 4
    np.testing.assert_allclose(_run(_phys(tile=4).unquantized(), q, k, v),
                               [0.36, 0.36, 0.72, 1.0], atol=1e-6)
    np.testing.assert_allclose(_run(_phys(tile=4).unquantized(tile_clip=False), q, k, v),
                               [0.36, 0.36, 0.72, 1.08], atol=1e-6)
    # the hardware default is untouched; a quantizer without its clamp is not a form
    assert _phys().quantizers and _phys().tile_clip
    with pytest.raises(ValueError, match="tile_clip"):
        _phys(tile_clip=False)
