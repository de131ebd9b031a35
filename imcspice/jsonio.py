"""Strict JSON for every file and line imcspice writes for other programs to read.

Python's ``json`` writes a non-finite float as the bare token ``NaN`` / ``Infinity``,
which is not JSON (RFC 8259): ``jq``, JavaScript's ``JSON.parse`` and most other readers
refuse the whole file. A figure that does not exist (a held-out error where no point
could be held out, a sweep point that failed) is written as ``null`` instead, and
``allow_nan=False`` makes any non-finite value that slipped past this a loud error
rather than an unreadable artifact.
"""
from __future__ import annotations

import json
import math

import numpy as np


def finite_or_none(obj, default=None):
    """``obj`` with every non-finite float (Python or numpy) replaced by None, numpy
    scalars and arrays turned into Python numbers and lists; dicts, lists and tuples are
    walked recursively. Any other object goes through ``default`` (as in ``json.dumps``)
    when one is given, and its result is cleaned the same way."""
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return finite_or_none(obj.tolist())
    if isinstance(obj, dict):
        return {k: finite_or_none(v, default) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_or_none(v, default) for v in obj]
    if default is None or obj is None or isinstance(obj, (str, int, bool)):
        return obj
    return finite_or_none(default(obj), default)


def dumps(obj, *, default=None, **kw) -> str:
    """``json.dumps`` of :func:`finite_or_none` (``obj``, ``default``): strict JSON."""
    return json.dumps(finite_or_none(obj, default), allow_nan=False, **kw)
