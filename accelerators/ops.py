"""The operator interface every transformer workload runs through.

A workload (MiniLM encoder, causal LM) calls these methods for each operator of
its graph; :class:`FP32Ops` is the exact reference, and each accelerator supplies
a subclass whose methods apply the behavioral models of the hardware unit that
the operator is mapped to. ``name`` identifies the operator instance
(e.g. ``"layer3.attn.q"``) so mappings and statistics can be per layer and head.

All arrays are float32/float64 numpy arrays; shapes are given per method.
"""
from __future__ import annotations

import numpy as np


class FP32Ops:
    """Exact floating-point operators (the reference the analog results are compared to)."""

    def linear(self, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, name: str) -> np.ndarray:
        """Static-weight product ``x @ w.T + b``; x (..., in), w (out, in), b (out,)."""
        y = x @ w.T
        return y if b is None else y + b

    def matmul(self, a: np.ndarray, b: np.ndarray, name: str) -> np.ndarray:
        """Data-dependent product (attention scores Q·Kᵀ, probabilities·V): ``a @ b``."""
        return a @ b

    def softmax(self, x: np.ndarray, name: str, axis: int = -1) -> np.ndarray:
        z = x - x.max(axis=axis, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=axis, keepdims=True)

    def gelu(self, x: np.ndarray, name: str) -> np.ndarray:
        """Exact (erf) GELU, as BERT-family models use."""
        from scipy.special import erf
        return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))

    def layernorm(self, x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float,
                  name: str) -> np.ndarray:
        mu = x.mean(axis=-1, keepdims=True)
        var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * gamma + beta
