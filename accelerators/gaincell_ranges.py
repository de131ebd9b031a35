"""Stage-0 range calibration of gain-cell attention: per layer and head, the scale and
offset pairs that put the scores into the charge-to-pulse readout's range.

Why (measured, byte-level GPT-2, linear cells, calibration batch of training text): with
each pair set from FP32 statistics alone (Q to the pulse range and K/V to the storage
range at ±3σ, :func:`.finetune.initial_pairs`), 95-100 % of the scores are negative;
the readout ``clip(S, 0, 1)`` gives no pulse for 97-100 % of the (query, key) pairs and
99-100 % of the tile outputs are under one 5-bit readout step. Layers 1 and 2 are then
exactly dead: their output pair regresses to ``ao = 0`` and the gradients of W_q, W_k,
W_v and of every pair are exactly 0 (the clip's slope is 0 below zero), so training
cannot revive them; the model (held-out perplexity 22.3, attention zeroed 22.4) learns
around its attention and ends near 13 whatever the steps. Softmax ignores a per-query
offset of the scores; the clipped readout does not, and nothing in the FP32 statistics
of Q, K, V alone fixes it.

What sets it here, with the hardware's own knobs (no cited bit, tile, window or cell
changes): the query is an unsigned pulse, so shifting the K offset ``bk`` by δ adds
about ``g·δ·Σ_d q'_d`` to every score of a query (``g``: the cell current's slope per
volt over ``i_unit``), a threshold; scaling ``aq``, ``ak`` (and ``av``) by c spreads the
scores (and the tile sums) over more readout steps at the cost of clipping. Per layer,
in order (upstream layers already set, so each layer sees the hardware's inputs), and
per head, a small grid of (c_qk, the fraction p of window pairs with a positive score,
c_v) is tried on the layer's captured q, k, v, and the head keeps the point whose raw
output best predicts the FP32 softmax attention output on the same q, k, v (largest
squared correlation: the share of the FP32 head output a least-squares output pair
can recover); its output pair is that least-squares fit.
"""
from __future__ import annotations

import numpy as np

# grid (assumption: a coarse sweep; each point costs one gain-cell pass of the layer)
SCALES_QK = (1.0, 1.5, 2.0, 3.0)     # x the ±3σ mapping's aq, ak
POSITIVE_FRACTIONS = (0.02, 0.1, 0.3)  # share of window pairs with a positive score
SCALES_V = (1.0, 2.0)                # x the ±3σ mapping's av


class _Stop(Exception):
    pass


def _capture(model, layer, x):
    """(q, k, v) that layer ``layer``'s gain-cell module receives on ``x``."""
    import torch
    box = {}

    def hook(mod, args):
        box["qkv"] = tuple(a.detach() for a in args[:3])
        raise _Stop

    h = layer.register_forward_pre_hook(hook)
    try:
        with torch.no_grad():
            model(input_ids=x)
    except _Stop:
        pass
    finally:
        h.remove()
    return box["qkv"]


def _scores(g, q, k):
    """Scores of the window pairs per head, (H, n) (linear cells, no leakage: the
    offset is a calibration estimate; leakage over 1024 tokens is < 0.1 %)."""
    import torch

    from .gaincell_physics import V_MAX_V
    from .gaincell_torch import quantize, window_mask
    p, h = g.phys, g._h
    qp = quantize(h(g.aq) * q + h(g.bq), 0.0, 1.0, p.q_bits)
    kw = quantize(h(g.ak) * k + h(g.bk), 0.0, V_MAX_V, p.kv_bits)
    s = qp @ g.read_current(kw).transpose(-1, -2)
    m = window_mask(k.shape[-2], p.window, q.device)[k.shape[-2] - q.shape[-2]:]
    return torch.stack([s[:, i][m.expand_as(s[:, i])] for i in range(s.shape[1])]), qp


def _set_threshold(g, q, k, frac: float, iterations: int = 3) -> None:
    """Shift each head's bk so that ``frac`` of its window pairs score above zero."""
    import torch

    from .gaincell_physics import V_MAX_V
    slope = float(g.read_current(torch.tensor([V_MAX_V]))
                  - g.read_current(torch.tensor([0.0]))) / V_MAX_V
    for _ in range(iterations):
        s, qp = _scores(g, q, k)
        lift = -torch.quantile(s[:, :: max(1, s.shape[1] // 200_000)], 1.0 - frac, dim=1)
        qsum = qp.sum(-1).mean((0, 2))                      # mean Σ_d q'_d per head
        g.bk.add_((lift / (slope * qsum.clamp_min(1e-3))).clamp(-0.45, 0.45))


def _fit(g, q, k, v):
    """Per head: squared correlation of the raw output with FP32 attention, and the
    least-squares output pair (a, b)."""
    import torch
    g.record = {"regress": None}
    g(q, k, v)
    mo, mr, cov, var = g.record["regress"]
    g.record = None
    a = torch.where(var > 1e-12, cov / var.clamp_min(1e-12), torch.zeros_like(var))
    return cov ** 2 / var.clamp_min(1e-12), a, mr - a * mo


def calibrate_ranges(model, x, base: list[dict]) -> list[dict]:
    """Set every layer's pairs (see the module doc). ``base``: per layer the ±3σ pairs
    ``{name: tensor (heads,)}`` and the FP32 input means ``mu_q, mu_k, mu_v``. Returns
    per layer the chosen (c_qk, p, c_v) per head and the squared correlations."""
    import torch

    from .gaincell_physics import V_MID_V
    from .gaincell_torch import attention_modules
    chosen = []
    for att in attention_modules(model):
        g = att.gaincell
        q, k, v = _capture(model, g, x)
        b = base[len(chosen)]
        best = None
        with torch.no_grad():
            for cqk in SCALES_QK:
                for frac in POSITIVE_FRACTIONS:
                    g.aq.copy_(cqk * b["aq"])
                    g.bq.copy_(0.5 - g.aq * b["mu_q"])
                    g.ak.copy_(cqk * b["ak"])
                    g.bk.copy_(V_MID_V - g.ak * b["mu_k"])
                    _set_threshold(g, q, k, frac)
                    bk = g.bk.clone()
                    for cv in SCALES_V:
                        g.av.copy_(cv * b["av"])
                        g.bv.copy_(V_MID_V - g.av * b["mu_v"])
                        r2, a, bo = _fit(g, q, k, v)
                        point = torch.tensor([cqk, frac, cv]).expand(len(r2), 3)
                        now = {"r2": r2, "aq": g.aq.clone(), "bq": g.bq.clone(),
                               "ak": g.ak.clone(), "bk": bk, "av": g.av.clone(),
                               "bv": g.bv.clone(), "ao": a, "bo": bo, "point": point}
                        if best is None:
                            best = now
                        else:
                            win = r2 > best["r2"]
                            best = {n: torch.where(win[:, None] if t.dim() == 2 else win,
                                                   t, best[n]) for n, t in now.items()}
            for n in ("aq", "bq", "ak", "bk", "av", "bv", "ao", "bo"):
                getattr(g, n).copy_(best[n])
        chosen.append({"point_c_qk_p_c_v": best["point"].tolist(),
                       "r2_unnormalised": best["r2"].tolist()})
    return chosen


def ranges_from_reference(ref: list[dict]) -> list[dict]:
    """Stage 0's ±3σ scales (Q onto the 0-1 pulse range, K/V onto the 0-0.9 V storage
    range; :func:`.finetune.initial_pairs` sets its pairs from them) and the FP32 input
    means, from the FP32 record of each layer (``q_in``, ``k_in``, ``v_in``: per-head
    mean, std)."""
    from .gaincell_physics import V_MID_V
    out = []
    for r in ref:
        d = {}
        for n, key, half in (("q", "q_in", 0.5), ("k", "k_in", V_MID_V),
                             ("v", "v_in", V_MID_V)):
            mu, sd = r[key]
            d["a" + n] = half / (3.0 * sd.clamp_min(1e-6))
            d["mu_" + n] = mu
        out.append(d)
    return out


def describe(chosen: list[dict]) -> str:
    pts = np.array([c["point_c_qk_p_c_v"] for c in chosen])   # (layers, heads, 3)
    return "; ".join(f"L{i}: " + " ".join(f"({a:g},{b:g},{c:g})" for a, b, c in layer)
                     for i, layer in enumerate(pts))
