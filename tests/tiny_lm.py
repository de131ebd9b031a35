"""A tiny random byte-level GPT-2 and the gain-cell machine cut to its context, for the
stage-1 diagnostics' tests (test_finetune_ablation.py, test_finetune_transfer.py)."""
from dataclasses import replace

import torch

from imcspice.accelerators import causal_lm as clm
from imcspice.accelerators.gaincell_physics import GainCellPhysics


def tiny_gpt2_and_machine():
    """A random 2-layer byte GPT-2 (128 positions, seed 0) and the machine cut to 128 tokens."""
    from transformers import GPT2LMHeadModel
    torch.manual_seed(0)
    cfg = clm.gpt2_config(clm.CausalLMConfig(n_layers=2, d_model=32, n_heads=2, d_ff=64),
                          n_positions=128)
    return GPT2LMHeadModel(cfg), replace(GainCellPhysics.from_arch(), window=128)
