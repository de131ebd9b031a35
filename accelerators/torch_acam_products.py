"""Compute-ACAM scalar-product lookups of RACE-IT's attention in torch (Q·Kᵀ and P·V):
each product of two operand codes is looked up in the product ACAM's level table and the
levels of one output are summed (:mod:`.race_it_attention` is the numpy form).
Used by :class:`.torch_chip.AnalogChip`; the operands arrive as codes (:func:`operand`).
"""
from __future__ import annotations

import numpy as np
import torch

from .torch_bitserial import compiled
from .torch_quant import product_stats, quantize_pulse, quantize_symmetric


def product_sum(q, aq: torch.Tensor, bq: torch.Tensor, pm_h: list) -> torch.Tensor:
    """sum_k lookup(aq_ik * bq_kj), each head's lookup over its range ``pm_h[head]``
    (:meth:`.race_it.RaceItOps._product_sum`); ``q`` the products' level lookup (an
    :class:`.torch_quant.AcamLookup` over [-1, 1]). The value is always the inference
    form's (no graph); with gradients on, the exact product ``aq @ bq`` defines the
    backward pass (straight through, as the crossbars' ideal-DAC product does; a
    product clipped at its head's range passes its gradient too). Autograd through
    the per-product lookups kept a (heads, m, k, n) tensor per product and cost 6x
    the time (8 texts x 128 tokens, one layer's scores: 36 s -> 5.9 s, forward and
    backward, measured 2026-11-30 on the shared 2-core machine)."""
    lead = aq.shape[:-2]
    pm_all = torch.tensor(pm_h, dtype=aq.dtype, device=aq.device).expand(
        *lead if len(lead) else (1,)).reshape(-1, 1, 1, 1)
    A = aq.reshape(-1, *aq.shape[-2:])
    B = bq.expand(*lead, *bq.shape[-2:]).reshape(-1, *bq.shape[-2:])
    n, m, k = A.shape
    grad = torch.is_grad_enabled() and (aq.requires_grad or bq.requires_grad)
    # the value: fine-bin index of p/pm in one pass, one gather, sum, x pm (no graph:
    # a (c, m, k, n) product tensor per head kept for autograd cost GBs at 256 tokens)
    with torch.no_grad():
        A0, B0 = A.detach(), B.detach()
        table = q._table("level", None, aq.dtype)
        # the clip of p/pm to [-1, 1]: the fine bins the numpy lookup reads -1 and 1 in
        # (float32; -1 can fall exactly on a bin edge: 3/254 x 8128 = 96 at 8 bits)
        f = np.float32
        lo_bin, hi_bin = (float(np.floor((f(v) - f(q.lo)) * f(q.inv_bin))) for v in (-1, 1))
        scale = q.inv_bin / pm_all
        if q.stats is not None:     # level pass: the products each row matches
            product_stats(q, A0, B0, pm_all[:, 0])
        fused = compiled(lookup_sum)
        if fused is not None:       # one pass, no (c, m, k, n) products in memory
            y = fused(A0, B0, scale, q.lo * q.inv_bin, lo_bin, hi_bin, table) * \
                pm_all[..., 0]
        else:
            step = max(1, (1 << 24) // max(1, m * k * B.shape[-1]))   # bounded memory
            outs = []
            for i in range(0, n, step):
                p = A0[i:i + step, :, :, None] * B0[i:i + step, None, :, :]  # (c, m, k, n')
                idx = p.mul_(scale[i:i + step]).sub_(q.lo * q.inv_bin)
                idx = idx.clamp_(lo_bin, hi_bin).to(torch.int32)
                outs.append(gather_sum(table, idx) * pm_all[i:i + step, ..., 0])
            y = torch.cat(outs)
    if grad:     # straight through: the exact product A @ B defines the backward pass
        lin = torch.bmm(A, B)
        y = y + (lin - lin.detach())
    return y.reshape(*lead, m, B.shape[-1])


def lookup_sum(A, B, scale, off: float, lo_bin: float, hi_bin: float, table):
    """The fast loop of :func:`product_sum` as one expression (for
    ``torch.compile``): sum_k table[bin(A_ik B_kj scale - off)], (c, m, n)."""
    idx = (A[:, :, :, None] * B[:, None, :, :] * scale - off).clamp(lo_bin, hi_bin)
    return table[idx.to(torch.int64)].sum(-2)


def gather_sum(table: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """table[idx].sum(-2) for idx (c, m, k, n): the levels of one output's products."""
    return table.index_select(0, idx.reshape(-1)).view(idx.shape).sum(-2)


def operand(x: torch.Tensor, r: dict, key: str, bits: int) -> torch.Tensor:
    """A product lookup's operand as the code it arrives in, with a level at exactly 0
    (:meth:`.race_it.RaceItOps._operand`): unsigned over [0, its calibrated maximum] when
    the recorded minimum is >= 0 (probabilities), else sign + magnitude."""
    if r.get(key + "_min", -1.0) >= 0.0:
        hi = max(float(r.get(key + "_max", r[key])), 1e-12)
        return quantize_pulse(x / hi, bits) * hi
    return quantize_symmetric(x, bits, float(r[key]))
