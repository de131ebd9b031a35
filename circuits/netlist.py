"""Safe netlist text: the only ways a value enters a netlist built by ``circuits``.

A value is a finite number (:func:`format_number`, full precision) or a
:class:`ParamRef` to a ``.param`` the recipe declares (changed per point by
``alterparam``); names are lower-case ASCII identifiers (:func:`node`). Nothing else is
formatted, so no user text can reach ngspice. :class:`ParameterError` is the one error
for a refused value (``characterize.params`` re-exports it for recipe parameters).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Union

import numpy as np

from ..errors import ImcspiceError

IDENT = re.compile(r"\A[a-z_][a-z0-9_]*\Z", re.A)


class ParameterError(ImcspiceError, ValueError):
    """A parameter value was refused; the message names the parameter and what to fix."""


def format_number(v) -> str:
    """A finite number as netlist text (``repr`` of the float: plain, full precision);
    anything else (bool, text, NaN, inf) is refused."""
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ParameterError(f"refusing to format {v!r} into a netlist")
    f = float(v)
    if not math.isfinite(f):
        raise ParameterError(f"refusing to format {v!r} into a netlist")
    return repr(f)


#: the short name the circuit builders use for :func:`format_number`
num = format_number


def node(name: str) -> str:
    """A node name as netlist text: ``"0"`` (ground) or a lower-case ASCII identifier."""
    if name == "0":
        return name
    if not isinstance(name, str) or not IDENT.match(name):
        raise ParameterError(f"{name!r} is not a valid node name")
    return name


@dataclass(frozen=True)
class ParamRef:
    """A reference to a netlist ``.param`` times ``scale``, plus the ``.param`` named in
    ``plus``: ``ParamRef("c_ml_ff", 1e-15)`` is ``{c_ml_ff*1e-15}``, ``ParamRef("rows_f",
    64)`` is ``{rows_f*64}`` (an int scale stays an int), ``ParamRef("a_v", plus=("b_v",))``
    is ``{a_v+b_v}`` (a sum takes no scale)."""

    name: str
    scale: float | int = 1.0
    plus: tuple[str, ...] = ()

    def __post_init__(self):
        for n in (self.name,) + tuple(self.plus):
            if not isinstance(n, str) or not IDENT.match(n):
                raise ParameterError(f"{n!r} is not a valid netlist parameter name")
        format_number(self.scale)
        if self.plus and self.scale != 1.0:
            raise ParameterError("a ParamRef sum takes no scale")

    def spice(self) -> str:
        text = "+".join((self.name,) + tuple(self.plus))
        if self.scale == 1.0:
            return "{" + text + "}"
        factor = str(self.scale) if isinstance(self.scale, int) else format_number(self.scale)
        return "{" + text + "*" + factor + "}"


Value = Union[float, int, ParamRef]


def value(v: Value, scale: float = 1.0) -> str:
    """A number or :class:`ParamRef` times ``scale`` as netlist text."""
    if isinstance(v, ParamRef):
        return (v if scale == 1.0 else ParamRef(v.name, v.scale * scale, v.plus)).spice()
    format_number(v)                      # refuses text, bool, NaN before any arithmetic
    return format_number(float(v) * scale) if scale != 1.0 else format_number(v)


def require_devices(tech, devices, user: str) -> None:
    """Refuse (ValueError, one line) a technology that lacks a device ``user`` (a netlist
    or circuit, for the message) instantiates."""
    have = set(getattr(tech, "devices", {}).values())
    missing = [d for d in devices if d not in have]
    if missing:
        raise ValueError(f"{user} uses {', '.join(missing)}, which technology "
                         f"{getattr(tech, 'name', tech)!r} does not provide")


def param_field(default, unit: str, lo, hi, doc: str, source: str):
    """A dataclass field of a circuit parameter: its default, unit, valid range [lo, hi],
    meaning and where its value comes from (the metadata recipes build their validated
    parameters from)."""
    return field(default=default, metadata={"unit": unit, "min": lo, "max": hi, "doc": doc,
                                            "source": source})
