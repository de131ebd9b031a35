"""Sweep specifications: a grid over recipe parameters × corners × temperatures × MC.

The outer grid's axes are, in order: ``corner``, ``temp_c``, ``mc`` (only when
Monte-Carlo samples are asked for), then each swept recipe parameter in the
order given. Each grid point is one ngspice simulation; its outputs add the
recipe's inner axes after the outer ones.
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field

import numpy as np

from ..circuits.technology import get_technology
from .params import ParameterError, check_identifier, parse_number
from .recipe import Axis
from .recipes import get_recipe

MAX_POINTS = 2_000_000


def parse_values(name: str, text: str) -> list:
    """The value syntax of ``--set NAME=...``: a number (``0.9``, ``1.5u``), a list
    ``V1,V2,...``, a linear range ``START:STOP:N`` or a log range ``log:START:STOP:N``.
    Choice and file parameters take their plain text (validated by the recipe)."""
    if not isinstance(text, str) or not text.isascii() or not text.isprintable():
        raise ParameterError(f"parameter {name!r}: value {text!r} has non-ASCII or control "
                             "characters")
    t = text.strip()
    if t.startswith("log:"):
        parts = t[4:].split(":")
        if len(parts) != 3:
            raise ParameterError(f"parameter {name!r}: log range is log:START:STOP:N, got {text!r}")
        a, b = parse_number(name, parts[0]), parse_number(name, parts[1])
        n = _count(name, parts[2])
        if a <= 0 or b <= 0:
            raise ParameterError(f"parameter {name!r}: log range needs positive ends")
        return [float(x) for x in np.geomspace(a, b, n)]
    if ":" in t:
        parts = t.split(":")
        if len(parts) != 3:
            raise ParameterError(f"parameter {name!r}: range is START:STOP:N, got {text!r}")
        a, b = parse_number(name, parts[0]), parse_number(name, parts[1])
        return [float(x) for x in np.linspace(a, b, _count(name, parts[2]))]
    items = [s.strip() for s in t.split(",")]
    if not all(items):
        raise ParameterError(f"parameter {name!r}: empty item in {text!r}")
    return items


def _count(name: str, s: str) -> int:
    if not s.strip().isdigit() or not 1 <= int(s) <= 100_000:
        raise ParameterError(f"parameter {name!r}: point count {s!r} must be an integer 1..100000")
    return int(s)


@dataclass
class SweepSpec:
    """A full sweep: recipe, swept and fixed parameters, corners, temperatures, MC.

    ``axes`` maps swept parameter names to their values (validated by the recipe);
    ``mc`` is the number of Monte-Carlo mismatch samples (0: nominal devices), drawn
    reproducibly from ``seed``.
    """

    recipe: str
    axes: dict[str, list] = field(default_factory=dict)
    corners: list[str] = field(default_factory=lambda: ["tt"])
    temps_c: list[float] = field(default_factory=lambda: [27.0])
    mc: int = 0
    seed: int = 1
    technology: str = "sky130"

    def __post_init__(self):
        if not isinstance(self.recipe, str):
            raise ParameterError(f"recipe must be a name, got {self.recipe!r}")
        if not isinstance(self.axes, dict):
            raise ParameterError("axes must map parameter names to lists of values")
        for k, v in self.axes.items():
            if not isinstance(v, (list, tuple)):
                raise ParameterError(f"parameter {k!r}: values must be a list, got {v!r}")
        for name in ("corners", "temps_c"):
            if not isinstance(getattr(self, name), (list, tuple)):
                raise ParameterError(f"{name} must be a list")
        try:
            r = get_recipe(self.recipe)
        except KeyError as e:
            raise ParameterError(e.args[0]) from None
        if not isinstance(self.technology, str):
            raise ParameterError(f"technology must be a name, got {self.technology!r}")
        tech = get_technology(self.technology)
        self.axes = {check_identifier(k): [r.param(k).validate(v) for v in vals]
                     for k, vals in self.axes.items()}
        for k, vals in self.axes.items():
            if not vals:
                raise ParameterError(f"parameter {k!r}: no values")
            _no_repeats(f"parameter {k!r}", vals)
        self.corners = [tech.check_corner(c) if isinstance(c, str) else
                        tech.check_corner(repr(c)) for c in self.corners]
        self.temps_c = [parse_number("temp", t) for t in self.temps_c]
        if not self.corners or not self.temps_c:
            raise ParameterError("give at least one corner and one temperature")
        _no_repeats("--corner", self.corners)
        _no_repeats("--temp", self.temps_c)
        for t in self.temps_c:
            if not -60.0 <= t <= 200.0:
                raise ParameterError(f"temperature {t:g} C outside -60..200 C")
        if isinstance(self.mc, bool) or not isinstance(self.mc, int) or \
                not 0 <= self.mc <= 1_000_000:
            raise ParameterError(f"--mc must be an integer 0..1000000, got {self.mc!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or \
                not 0 <= self.seed < 2**31:
            raise ParameterError(f"--seed must be an integer 0..2^31-1, got {self.seed!r}")
        if self.mc and not tech.supports_mismatch:
            raise ParameterError(f"technology {tech.name} has no mismatch models for --mc")
        if self.n_points > MAX_POINTS:
            raise ParameterError(f"sweep has {self.n_points} points; the limit is {MAX_POINTS}")

    # --- grid ---------------------------------------------------------------------
    @functools.cached_property
    def outer_axes(self) -> list[Axis]:
        """The outer grid (corner, temp_c, mc, swept parameters); computed once: point()
        runs per grid point, and rebuilding an mc axis of N samples there made planning
        quadratic in --mc."""
        r = get_recipe(self.recipe)
        axes = [Axis("corner", "", tuple(self.corners)),
                Axis("temp_c", "degC", tuple(self.temps_c))]
        if self.mc:
            axes.append(Axis("mc", "", tuple(range(self.mc))))
        for k, vals in self.axes.items():
            axes.append(Axis(k, r.param(k).unit, tuple(vals)))
        return axes

    @functools.cached_property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(a.values) for a in self.outer_axes)

    @property
    def n_points(self) -> int:
        return int(np.prod(self.shape))

    def point(self, flat: int) -> dict:
        """The grid point at flat (C-order) index: corner, temp_c, mc_seed, params."""
        idx = np.unravel_index(flat, self.shape)
        axes = self.outer_axes
        vals = {a.name: a.values[i] for a, i in zip(axes, idx)}
        swept = {k: vals[k] for k in self.axes}
        return {
            "corner": vals["corner"],
            "temp_c": vals["temp_c"],
            "mc_seed": self.mc_seed(vals["mc"]) if self.mc else None,
            "params": get_recipe(self.recipe).resolve(swept),
        }

    def mc_seed(self, sample: int) -> int:
        """Seed of MC sample ``sample``: depends only on (seed, sample), not on the
        order points run in or the worker they land on, so results are reproducible."""
        h = hashlib.sha256(f"{self.seed}:{sample}".encode()).digest()
        return int.from_bytes(h[:4], "little") % (2**31 - 1) + 1

    def to_json(self) -> str:
        return json.dumps({"recipe": self.recipe, "axes": self.axes, "corners": self.corners,
                           "temps_c": self.temps_c, "mc": self.mc, "seed": self.seed,
                           "technology": self.technology}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "SweepSpec":
        d = json.loads(text, object_pairs_hook=_unique_keys)
        if not isinstance(d, dict):
            raise ParameterError("sweep spec must be a JSON object")
        allowed = {"recipe", "axes", "corners", "temps_c", "mc", "seed", "technology"}
        extra = set(d) - allowed
        if extra:
            raise ParameterError(f"unknown sweep spec keys: {', '.join(sorted(extra))}")
        if "recipe" not in d:
            raise ParameterError("sweep spec needs a 'recipe'")
        return cls(**d)

    @property
    def spec_hash(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()


MAX_SPEC_BYTES = 1 << 20


def _unique_keys(pairs):
    """JSON objects with a key given twice are refused (json keeps the last silently)."""
    d = {}
    for k, v in pairs:
        if k in d:
            raise ParameterError(f"key {k!r} appears twice in the JSON object")
        d[k] = v
    return d


def _no_repeats(what: str, values) -> None:
    seen = set()
    for v in values:
        key = repr(v)
        if key in seen:
            raise ParameterError(f"{what}: value {v!r} given twice")
        seen.add(key)


def load_spec_file(path: str) -> SweepSpec:
    """A sweep spec from a JSON file (at most 1 MiB), validated like CLI input."""
    import os
    if not os.path.isfile(path):
        raise ParameterError(f"spec file {path!r} does not exist")
    if os.path.getsize(path) > MAX_SPEC_BYTES:
        raise ParameterError(f"spec file {path!r} is larger than {MAX_SPEC_BYTES} bytes")
    try:
        text = open(path, encoding="utf-8").read()
        return SweepSpec.from_json(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ParameterError(f"spec file {path!r} is not valid UTF-8 JSON: {e}") from None
    except RecursionError:
        raise ParameterError(f"spec file {path!r} is nested too deeply") from None
    except OverflowError as e:               # e.g. a 400-digit number as a float
        raise ParameterError(f"spec file {path!r}: a value is out of range ({e})") from None
    except ValueError as e:
        if "digits" not in str(e):           # validation errors are already one line
            raise
        raise ParameterError(f"spec file {path!r}: a number is too long ({e})") from None
    except TypeError as e:
        raise ParameterError(f"spec file {path!r}: {e}") from None
