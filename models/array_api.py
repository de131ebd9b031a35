"""One evaluation code for numpy arrays and torch tensors (array-API style).

Model evaluation (:mod:`.grid`, :mod:`.forms`, :mod:`.base`, the crossbar and ACAM
kinds) is written once against a namespace ``xp = namespace_of(*inputs)``: numpy when
every input is a numpy array or a number, torch when any input is a torch tensor.
Under torch the result is a tensor on the inputs' device and floating dtype, and
autograd flows through the interpolation and the closed forms (so the fitted cell
models can sit inside a training loop). Constants (grid values, axes, form extras)
stay numpy in the model and are moved to the tensor's device/dtype on use.

torch is imported only when a tensor is seen: ``models`` stays importable, and its
numpy path unchanged, without torch.
"""
from __future__ import annotations

import contextlib

import numpy as np


def is_torch(x) -> bool:
    """True for a torch tensor (checked by type, without importing torch)."""
    return type(x).__module__.split(".", 1)[0] == "torch"


class _Numpy:
    """numpy under the names the evaluation code uses (numpy's own where they exist)."""

    name = "numpy"
    float64 = np.float64

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def asfloat(x, like=None):
        return np.asarray(x, dtype=np.float64)

    @staticmethod
    def to_int(x):
        return np.asarray(x).astype(np.int64)

    @staticmethod
    def errstate(**kw):
        return np.errstate(**kw)

    @staticmethod
    def to_numpy(x):
        return np.asarray(x)

    @staticmethod
    def zeros(shape, like=None):
        return np.zeros(shape)

    @staticmethod
    def searchsorted(a, v, side="left"):
        return np.searchsorted(a, v, side=side)


class _Torch:
    """torch under numpy's names, for the functions the evaluation code uses."""

    name = "torch"

    def __init__(self, ref):
        import torch
        self.torch = torch
        self.device = ref.device
        self.dtype = ref.dtype if ref.is_floating_point() else torch.get_default_dtype()
        self.float64 = self.dtype

    def __getattr__(self, name):   # elementwise functions with numpy's names
        return getattr(self.torch, name)

    def asfloat(self, x, like=None):
        t = self.torch
        if isinstance(x, t.Tensor):
            return x if x.is_floating_point() else x.to(self.dtype)
        return t.as_tensor(np.ascontiguousarray(x, dtype=np.float64), dtype=self.dtype,
                           device=self.device)

    asarray = asfloat

    def to_int(self, x):
        return x.to(self.torch.int64)

    @staticmethod
    def errstate(**kw):
        return contextlib.nullcontext()

    @staticmethod
    def to_numpy(x):
        return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)

    def zeros(self, shape, like=None):
        return self.torch.zeros(shape, dtype=self.dtype, device=self.device)

    def ones_like(self, x):
        return self.torch.ones_like(self.asfloat(x))

    def broadcast_arrays(self, *xs):
        return list(self.torch.broadcast_tensors(*[self.asfloat(x) for x in xs]))

    def broadcast_to(self, x, shape):
        return self.torch.broadcast_to(self.asfloat(x), tuple(shape))

    def clip(self, x, lo, hi, out=None):
        x = self.asfloat(x)
        if lo is not None:
            x = self.torch.maximum(x, self.asfloat(lo))
        if hi is not None:
            x = self.torch.minimum(x, self.asfloat(hi))
        return x

    def maximum(self, a, b):
        return self.torch.maximum(self.asfloat(a), self.asfloat(b))

    def minimum(self, a, b):
        return self.torch.minimum(self.asfloat(a), self.asfloat(b))

    def where(self, c, a, b):
        return self.torch.where(self.torch.as_tensor(c, device=self.device),
                                self.asfloat(a), self.asfloat(b))

    def searchsorted(self, a, v, side="left"):
        a = self.asfloat(a).contiguous()
        return self.torch.searchsorted(a, self.asfloat(v).contiguous(), side=side)

    def take_along_axis(self, a, idx, axis):
        return self.torch.take_along_dim(a, idx, dim=axis)

    def stack(self, xs, axis=0):
        return self.torch.stack([self.asfloat(x) for x in xs], dim=axis)

    def concatenate(self, xs, axis=0):
        return self.torch.cat([self.asfloat(x) for x in xs], dim=axis)

    def log(self, x):
        return self.torch.log(self.asfloat(x))

    def exp(self, x):
        return self.torch.exp(self.asfloat(x))

    def sinh(self, x):
        return self.torch.sinh(self.asfloat(x))

    def cosh(self, x):
        return self.torch.cosh(self.asfloat(x))

    def tanh(self, x):
        return self.torch.tanh(self.asfloat(x))

    def sqrt(self, x):
        return self.torch.sqrt(self.asfloat(x))

    def expm1(self, x):
        return self.torch.expm1(self.asfloat(x))

    def floor(self, x):
        return self.torch.floor(self.asfloat(x))

    def abs(self, x):
        return self.torch.abs(self.asfloat(x))


NUMPY = _Numpy()


def namespace_of(*xs) -> "_Numpy | _Torch":
    """The namespace of the inputs: torch if any is a tensor (its device and floating
    dtype), else numpy (float64)."""
    for x in xs:
        if is_torch(x):
            return _Torch(x)
    return NUMPY


__all__ = ["NUMPY", "is_torch", "namespace_of"]
