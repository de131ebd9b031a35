"""Parameters that are read, not typed: integers, and ``.npy`` arrays read safely.

A ``.npy`` file is checked when it is given (size before reading, header before
parsing, plain numeric dtype, never pickle, shape and range), read once into memory and
parsed from those bytes, so what was validated is exactly what a netlist is built from.
"""
from __future__ import annotations

import hashlib
import io
import math
import os
from dataclasses import dataclass

import numpy as np

from .params import Param, ParameterError


@dataclass(frozen=True)
class IntParam(Param):
    """A numeric parameter that must be an integer (returned as a float)."""

    def validate(self, value):
        v = super().validate(value)
        if v != math.floor(v):
            raise ParameterError(f"parameter {self.name!r}: {v:g} is not an integer")
        return float(v)


@dataclass(frozen=True)
class NpyParam(Param):
    """A ``.npy`` file parameter whose contents are checked when it is given: plain
    numeric dtype (never pickled objects), ``ndim`` dimensions of at most ``max_len``
    each, finite values in [``lo``, ``hi``]."""

    kind: str = "file"
    structural: bool = True
    ndim: int = 1
    max_len: int = 256
    lo: float = -math.inf
    hi: float = math.inf

    def validate(self, value):
        if value in ("", None):
            raise ParameterError(f"parameter {self.name!r} is required: give "
                                 f"--set {self.name}=FILE.npy ({self.doc})")
        path = super().validate(value)
        load_npy(self, path)
        return path


# Largest .npy file read: 256 x 256 values (the largest array recipe) of at most 16 bytes
# plus a header; a parameter's own shape limit is checked from the header.
MAX_NPY_DIM = 256
MAX_NPY_BYTES = MAX_NPY_DIM * MAX_NPY_DIM * 16 + 65536

_npy_cache: dict[tuple[str, str], np.ndarray] = {}


def _read_bytes(name: str, path: str) -> bytes:
    try:
        size = os.stat(path).st_size
        if size > MAX_NPY_BYTES:
            raise ParameterError(f"parameter {name!r}: {path!r} is {size} bytes, more than a "
                                 f"{MAX_NPY_DIM} x {MAX_NPY_DIM} array needs")
        with open(path, "rb") as f:
            return f.read(MAX_NPY_BYTES + 1)
    except OSError as e:
        raise ParameterError(f"parameter {name!r}: cannot read {path!r}: {e.strerror}") from None


def file_digest(name: str, path: str) -> str:
    """SHA-256 (16 hex digits) of a file's contents."""
    return hashlib.sha256(_read_bytes(name, path)).hexdigest()[:16]


def load_npy(param: NpyParam, path: str) -> np.ndarray:
    """Read and check a ``.npy`` file for ``param``; ParameterError (naming the
    parameter) on anything but a finite, in-range numeric array of the right shape.
    The file is read once into memory and parsed from there (cached by content hash),
    so what was validated is exactly what the netlist is built from."""
    name = param.name
    data = _read_bytes(name, path)
    key = (name, hashlib.sha256(data).hexdigest())
    if key in _npy_cache:
        return _npy_cache[key]
    buf = io.BytesIO(data)
    try:
        # Check the header before parsing any data: a header can claim any shape/dtype.
        version = np.lib.format.read_magic(buf)
        if version == (1, 0):
            shape, _fortran, dtype = np.lib.format.read_array_header_1_0(buf)
        else:
            shape, _fortran, dtype = np.lib.format.read_array_header_2_0(buf)
    except (ValueError, OSError, EOFError) as e:
        raise ParameterError(f"parameter {name!r}: {path!r} is not a readable .npy array "
                             f"({e})") from None
    if dtype.hasobject or dtype.kind not in "fiu":
        raise ParameterError(f"parameter {name!r}: {path!r} holds dtype {dtype}; expected a "
                             "plain float or integer array (object/pickled, boolean, complex "
                             "and structured arrays are refused)")
    if len(shape) != param.ndim:
        want = "(rows, cols)" if param.ndim == 2 else "(rows,)"
        raise ParameterError(f"parameter {name!r}: {path!r} has shape {tuple(shape)}; "
                             f"expected {param.ndim}-D {want}")
    if any(n < 1 or n > param.max_len for n in shape):
        raise ParameterError(f"parameter {name!r}: shape {tuple(shape)} is outside 1..."
                             f"{param.max_len} per dimension")
    try:
        arr = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise ParameterError(f"parameter {name!r}: {path!r} could not be loaded without "
                             f"pickle ({e})") from None
    if not isinstance(arr, np.ndarray):  # e.g. an .npz archive renamed .npy
        raise ParameterError(f"parameter {name!r}: {path!r} is not a single .npy array")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ParameterError(f"parameter {name!r}: {path!r} holds NaN or infinite values")
    if arr.min() < param.lo or arr.max() > param.hi:
        raise ParameterError(f"parameter {name!r}: values must lie in [{param.lo:g}, "
                             f"{param.hi:g}] {param.unit}; {path!r} has "
                             f"[{arr.min():g}, {arr.max():g}]")
    arr.setflags(write=False)
    if len(_npy_cache) > 16:
        _npy_cache.clear()
    _npy_cache[key] = arr
    return arr
