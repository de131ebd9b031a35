"""Safe netlist text: the only ways a value enters a netlist built by ``circuits``.

A value is a finite number (formatted at full precision) or a :class:`ParamRef`
to a ``.param`` the recipe declares (changed per point by ``alterparam``);
names are lower-case ASCII identifiers. Nothing else is formatted, so no user
text can reach ngspice.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Union

import numpy as np

IDENT = re.compile(r"\A[a-z_][a-z0-9_]*\Z", re.A)


def num(v) -> str:
    """A finite number as netlist text; anything else is refused."""
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ValueError(f"refusing to format {v!r} into a netlist")
    f = float(v)
    if not math.isfinite(f):
        raise ValueError(f"refusing to format {v!r} into a netlist")
    return repr(f)


@dataclass(frozen=True)
class ParamRef:
    """A reference to a netlist ``.param`` times ``scale``: ``ParamRef("c_ml_ff", 1e-15)``
    becomes ``{c_ml_ff*1e-15}``."""

    name: str
    scale: float = 1.0

    def __post_init__(self):
        if not isinstance(self.name, str) or not IDENT.match(self.name):
            raise ValueError(f"{self.name!r} is not a valid netlist parameter name")
        num(self.scale)

    def spice(self) -> str:
        if self.scale == 1.0:
            return "{" + self.name + "}"
        return "{" + self.name + "*" + num(self.scale) + "}"


Value = Union[float, int, ParamRef]
