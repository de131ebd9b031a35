"""Validation of every value that can reach a netlist.

Nothing a user types is pasted into netlist text: a value is parsed here into a
float (or a name from a fixed set, or a file path read as numbers), and
netlist builders format that float themselves. ngspice control blocks can run
shell commands, so the parser accepts ASCII only (no unicode digits or
look-alikes), one token, no dots that would start a card, no quotes.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..errors import ImcspiceError

# SPICE scale suffixes (ngspice manual, "2.1.3 Numbers"); case-insensitive except
# that "meg"/"mil" must be matched before "m".
_SCALE = {"t": 1e12, "g": 1e9, "meg": 1e6, "k": 1e3, "mil": 25.4e-6, "m": 1e-3,
          "u": 1e-6, "n": 1e-9, "p": 1e-12, "f": 1e-15}
_NUMBER = re.compile(
    r"\A([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(meg|mil|[tgkmunpf])?([a-z]{0,3})\Z",
    re.I | re.A)


class ParameterError(ImcspiceError, ValueError):
    """A parameter value was refused; the message names the parameter and what to fix."""


def parse_number(name: str, text: str | float | int) -> float:
    """``"1.5u"`` -> 1.5e-6. Accepts an optional SPICE scale suffix and a short unit
    (``"10uS"``, ``"0.5V"``, ``"2meg"``). Refuses anything else, naming ``name``."""
    if isinstance(text, bool):
        raise ParameterError(f"parameter {name!r}: expected a number, got a boolean")
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        if not isinstance(text, str):
            raise ParameterError(f"parameter {name!r}: expected a number, got {type(text).__name__}")
        s = text.strip()
        if not s.isascii() or not s.isprintable():
            raise ParameterError(f"parameter {name!r}: {text!r} contains non-ASCII or control "
                                 "characters; give a plain number such as 1.5 or 1.5u")
        m = _NUMBER.match(s)
        if m is None:
            raise ParameterError(f"parameter {name!r}: {text!r} is not a number with an optional "
                                 "SPICE suffix (examples: 0.9, 1e-6, 1.5u, 10k, 2meg)")
        value = float(m.group(1)) * _SCALE.get((m.group(2) or "").lower(), 1.0)
    if not math.isfinite(value):
        raise ParameterError(f"parameter {name!r}: {text!r} is not finite")
    return value


def format_number(value: float) -> str:
    """A float as netlist text: always a plain, full-precision number."""
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParameterError(f"refusing to format {value!r} into a netlist")
    return repr(float(value))


@dataclass(frozen=True)
class Param:
    """One recipe parameter.

    ``unit`` is documentation (the unit the value is given in, e.g. "um", "V", "uS");
    ``choices`` makes it a name from a fixed set; ``kind="file"`` a path to a ``.npy``
    array; ``structural`` marks parameters that change the netlist's topology (the
    engine reloads the netlist when they change; others are set with ``alterparam``).
    """

    name: str
    default: float | str
    unit: str = ""
    doc: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = field(default_factory=tuple)
    kind: str = "number"  # "number" | "choice" | "file"
    structural: bool = False

    def validate(self, value) -> float | str:
        if self.kind == "choice" or self.choices:
            if not isinstance(value, str) or value not in self.choices:
                raise ParameterError(f"parameter {self.name!r}: {value!r} is not one of "
                                     f"{', '.join(self.choices)}")
            return value
        if self.kind == "file":
            return _validate_path(self.name, value)
        v = parse_number(self.name, value)
        if self.min is not None and v < self.min or self.max is not None and v > self.max:
            raise ParameterError(f"parameter {self.name!r}: {v:g} {self.unit} is outside "
                                 f"[{self.min:g}, {self.max:g}] {self.unit}")
        return v


def _validate_path(name: str, value) -> str:
    import os
    if not isinstance(value, str) or not value.isprintable() or not value.endswith(".npy"):
        raise ParameterError(f"parameter {name!r}: expected a path to a .npy file, got {value!r}")
    if not os.path.isfile(value):
        raise ParameterError(f"parameter {name!r}: file {value!r} does not exist")
    return os.path.abspath(value)


_SPICE_NAME = re.compile(r"\A[a-z_][a-z0-9_]*\Z", re.A)


def check_identifier(name: str) -> str:
    """Parameter and node names that reach ngspice: lower-case ASCII identifiers only."""
    if not isinstance(name, str) or not _SPICE_NAME.match(name):
        raise ParameterError(f"{name!r} is not a valid parameter name "
                             "(lower-case letters, digits and _ only)")
    return name
