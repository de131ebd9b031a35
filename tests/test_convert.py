"""imcspice.accelerators.convert(model, arch) on Hugging Face transformers models.

Independent expectation for the ideal machine: the FP32 reference is the unconverted
model (transformers' own forward). With every non-ideality and quantizer off, the
converted BERT / GPT-2 / LLaMA (tiny random configs) and the pretrained MiniLM (loaded
offline from the wheel) give its outputs within float tolerance."""
import copy
import warnings

import numpy as np
import pytest
import torch
from transformers import (BertConfig, BertModel, GPT2Config, GPT2LMHeadModel, LlamaConfig,
                          LlamaForCausalLM)

import imcspice.accelerators as acc
from imcspice.accelerators.analog import Nonideal
from imcspice.accelerators.convert import AnalogLinear, calibrate, op_name

torch.set_num_threads(1)
warnings.simplefilter("ignore")
IDEAL = Nonideal.only([])

TINY = {
    "bert": (BertModel, lambda: BertConfig(
        vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=64)),
    "gpt2": (GPT2LMHeadModel, lambda: GPT2Config(
        vocab_size=120, n_embd=32, n_layer=2, n_head=4, n_positions=64,
        bos_token_id=0, eos_token_id=0)),
    "llama": (LlamaForCausalLM, lambda: LlamaConfig(
        vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, intermediate_size=64, max_position_embeddings=64)),
}


def _tiny(kind):
    torch.manual_seed(0)
    cls, cfg = TINY[kind]
    return cls(cfg()).eval()


def _inputs(seed, b=2, t=12):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, 120, (b, t), generator=g)
    mask = torch.ones_like(ids)
    mask[-1, t - 3:] = 0                      # a padded row
    return {"input_ids": ids, "attention_mask": mask}


@pytest.mark.parametrize("kind", sorted(TINY))
def test_ideal_conversion_equals_unconverted(kind):
    m = _tiny(kind)
    x = _inputs(1)
    with torch.no_grad():
        ref = m(**x)[0]
    conv = acc.convert(copy.deepcopy(m), "race-it", nonideal=IDEAL, device="cpu",
                       calibration=[_inputs(2)])
    with torch.no_grad():
        out = conv(**x)[0]
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)
    # every linear is on the chip, and the attention products and softmax ran there
    assert not any(type(c) is torch.nn.Linear for c in conv.modules())
    assert sum(isinstance(c, AnalogLinear) for c in conv.modules()) >= 8
    r = conv._imcspice_chip.ranges
    assert {"layer0.attn.scores", "layer0.attn.softmax", "layer1.attn.context"} <= set(r)


@pytest.mark.parametrize("kind", sorted(TINY))
def test_characterized_conversion_differs_and_trains(kind):
    m = _tiny(kind)
    x = _inputs(1)
    with torch.no_grad():
        ref = m(**x)[0]
    # the TIAs' noise off: the shipped 25 ohm TIA's swamps the outputs (its effect is
    # the accuracy reports', tests/test_race_it_evaluation.py); here the conversion
    conv = acc.convert(copy.deepcopy(m), "race-it", calibration=[_inputs(2)],
                       nonideal=Nonideal(tia_noise=0.0))
    out = conv(**x)[0]
    err = (out - ref).abs().max().item()
    assert 1e-4 * ref.abs().max().item() < err < ref.abs().max().item()
    out.pow(2).mean().backward()              # gradients reach the weights (STE)
    grads = [p.grad for p in conv.parameters() if p.requires_grad]
    assert sum(g is not None and bool(g.abs().sum() > 0) for g in grads) >= 10


def test_uncalibrated_model_refuses():
    conv = acc.convert(_tiny("bert"), "race-it")
    with pytest.raises(RuntimeError, match="calibrate"):
        conv(**_inputs(0))
    calibrate(conv, [_inputs(2)])
    conv(**_inputs(0))


def test_op_names_follow_the_numpy_path():
    assert op_name("encoder.layer.3.attention.self.query") == "layer3.attn.q"
    assert op_name("bert.encoder.layer.0.intermediate.dense") == "layer0.ffn.in"
    assert op_name("transformer.h.1.attn.c_attn") == "layer1.attn.qkv"
    assert op_name("model.layers.2.mlp.down_proj") == "layer2.ffn.out"
    assert op_name("embeddings.LayerNorm") == "embeddings.ln"


@pytest.fixture(scope="module")
def minilm():
    from imcspice.accelerators import torch_minilm as tm
    from imcspice.accelerators.minilm import MiniLMTokenizer
    return tm.load_hf_minilm(), MiniLMTokenizer.load()


def test_minilm_offline_ideal_equals_fp32(minilm):
    from imcspice.accelerators import torch_minilm as tm
    from imcspice.accelerators.accuracy import load_texts
    model, tok = minilm
    texts, calib = load_texts("eval")[:3], load_texts("calib")[:2]
    ref = tm.embed(model, tm.batches(tok, texts))
    got = tm.converted_embeddings(model, "race-it", texts, calib, tok, nonideal=IDEAL)
    np.testing.assert_allclose(got, ref.numpy(), atol=2e-5)


def test_convert_onto_a_chip_already_made():
    """``chip=``: the model runs on that chip (its description, seed and temperature),
    not on one made from ``arch``."""
    from imcspice.accelerators.torch_chip import AnalogChip
    chip = AnalogChip("hetrax", nonideal=IDEAL, seed=3, temp_c=60.0)
    conv = acc.convert(copy.deepcopy(_tiny("bert")), "race-it", chip=chip,
                       calibration=[_inputs(2)])
    assert conv._imcspice_chip is chip and chip.phase == "run"
    assert chip.kind == "hetrax" and chip.engine("layer0.attn.q", "linear") == "sm"


def test_hetrax_ideal_equals_unconverted_and_routes_by_mapping():
    m = _tiny("bert")
    x = _inputs(1)
    with torch.no_grad():
        ref = m(**x)[0]
    conv = acc.convert(copy.deepcopy(m), "hetrax", nonideal=IDEAL, calibration=[_inputs(2)])
    with torch.no_grad():
        torch.testing.assert_close(conv(**x)[0], ref, rtol=1e-4, atol=1e-5)
    chip = conv._imcspice_chip
    # HeTraX: FFN products on the ReRAM crossbars, attention on the SM tiers
    assert chip.engine("layer0.ffn.in", "linear") == "crossbar"
    assert chip.engine("layer0.attn.q", "linear") == "sm"
    conv2 = acc.convert(copy.deepcopy(m), "hetrax", calibration=[_inputs(2)], temp_c=60.0)
    assert conv2._imcspice_chip.temp_c == 60.0
    with torch.no_grad():
        out = conv2(**x)[0]
    assert 0 < (out - ref).abs().max().item() < ref.abs().max().item()


def test_product_lookups_train_on_the_inference_values():
    """RACE-IT's attention products (sum_k lookup(a_ik b_kj), one Compute-ACAM lookup
    per scalar product) give the same values with gradients on as in inference (one
    no-graph pass; autograd no longer keeps a (heads, m, k, n) product tensor), the
    values of the per-product reference form (quantize p / pm, times pm, sum) up to
    float32 rounding of the bin index, and the exact product's gradient (STE)."""
    conv = acc.convert(_tiny("bert"), "race-it", calibration=[_inputs(2)])
    chip = conv._imcspice_chip
    name = "layer0.attn.scores"
    g = torch.Generator().manual_seed(3)
    a = torch.randn(2, 4, 12, 8, generator=g) * 0.3
    b = torch.randn(2, 4, 8, 12, generator=g) * 0.3
    # each head's product range just above its largest product: the lower clip point
    # -1 is exactly a fine-bin edge, which the two forms round to either side of it
    pm = [1.01 * float((a[:, h, :, :, None] * b[:, h, None]).abs().max()) for h in range(4)]
    with torch.no_grad():
        ref = chip._product_sum(a, b, pm, name)
    a1, b1 = a.clone().requires_grad_(), b.clone().requires_grad_()
    y = chip._product_sum(a1, b1, pm, name)
    assert torch.equal(y.detach(), ref)
    w = torch.randn(y.shape, generator=g)
    (y * w).sum().backward()
    a2, b2 = a.clone().requires_grad_(), b.clone().requires_grad_()
    ((a2 @ b2) * w).sum().backward()
    torch.testing.assert_close(a1.grad, a2.grad)
    torch.testing.assert_close(b1.grad, b2.grad)
    # the reference form: each product's level over its head's range, term k on bank
    # k mod B (mapping.acam.product_banks), summed over k, on each of the C copies of
    # the banks (mapping.acam.product_copies), the sum / C
    half = 2 ** (chip.factory.bits - 1)
    C = chip.factory.product_copies
    pmt = torch.tensor(pm)[None, :, None, None, None]
    p = torch.clamp(a[..., :, :, None] * b[..., None, :, :] / pmt, -1.0, 1.0)
    old = 0.0
    for j in range(C):
        banks = chip.factory.product_lookup_names(name, a.shape[-1], j)
        assert len(banks) == min(8, chip.factory.product_banks)
        for i, bank in enumerate(banks):
            q = chip._levels(bank, -half / (half - 1), 1.0, a.device)
            old = old + (q(p[..., i::len(banks), :]) * pmt).sum(-2)
    old = old / C
    # 8 C products per output, each level exact: float32 summation order only
    torch.testing.assert_close(ref, old, rtol=0,
                               atol=8 * C * 8 * torch.finfo().eps * max(pm))
