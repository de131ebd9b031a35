"""What a characterization recipe is: a netlist, an analysis, and a measurement.

A recipe describes one measured quantity family (e.g. "nfet-iv"): its parameters
(validated, with units and defaults), the netlist it builds from them, the
ngspice commands it runs, and how the resulting vectors become named outputs
over the recipe's own inner axes (e.g. Id over Vgs x Vds). Recipes never touch
the engine's internals: the engine calls :meth:`Recipe.netlist` in the
coordinator and :meth:`Recipe.simulate` in a worker process.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..circuits.technology import Technology
from ..registry import Registry
from .params import Param, ParameterError, format_number


@dataclass(frozen=True)
class Axis:
    """A labeled axis: ``name`` (with the unit in it, e.g. ``vgs_v``), unit, values."""

    name: str
    unit: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class Output:
    """A measured quantity: name, unit, and the names of its inner axes (in order)."""

    name: str
    unit: str
    axes: tuple[str, ...] = ()
    doc: str = ""


class Recipe:
    """Base class. Subclasses set the class attributes and implement the methods, and are
    registered by :func:`register_recipe`."""

    name: str = ""
    summary: str = ""
    params: tuple[Param, ...] = ()
    outputs: tuple[Output, ...] = ()
    #: bump when the netlist or measurement changes, so cached points are not reused
    version: int = 1

    # --- parameters -------------------------------------------------------------
    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise ParameterError(f"recipe {self.name!r} has no parameter {name!r}; it has: "
                             f"{', '.join(p.name for p in self.params)}")

    def resolve(self, values: dict) -> dict:
        """Defaults overlaid by ``values``, every value validated."""
        for k in values:
            self.param(k)
        return {p.name: p.validate(values.get(p.name, p.default)) for p in self.params}

    def structural(self, p: dict) -> dict:
        """The parameters whose change requires a new netlist (not an alterparam)."""
        return {q.name: p[q.name] for q in self.params if q.structural or q.kind != "number"}

    def alterable(self, p: dict) -> dict[str, float]:
        return {q.name: p[q.name] for q in self.params if not q.structural and q.kind == "number"}

    # --- what subclasses provide -----------------------------------------------
    def inner_axes(self, p: dict) -> list[Axis]:
        """Axes of the outputs that one simulation produces (e.g. the DC sweep values)."""
        return []

    def body(self, tech: Technology, p: dict) -> list[str]:
        """Netlist lines (devices, sources) using ``{name}`` for alterable parameters."""
        raise NotImplementedError

    def timeout_s(self, p: dict) -> float:
        """Seconds a point may take before it is treated as hung (the sweep's default;
        ``--timeout`` overrides). Recipes with large decks raise it."""
        return 60.0

    def commands(self, p: dict) -> list[str]:
        """ngspice analysis commands for one point, e.g. ``["op"]``."""
        raise NotImplementedError

    def measure(self, vectors, p: dict) -> dict[str, np.ndarray]:
        """Outputs from the vectors of the last analysis (see :class:`ngspice.Vectors`)."""
        raise NotImplementedError

    def simulate(self, ng, p: dict) -> dict[str, np.ndarray]:
        """Run one (already loaded, already altered) point. Override for multi-analysis
        recipes; ``ng`` is the worker's :class:`imcspice.characterize.ngspice.Ngspice`."""
        return self.measure(ng.run(self.commands(p)), p)

    # --- assembled netlist -----------------------------------------------------
    def netlist(self, tech: Technology, p: dict, corner: str, temp_c: float,
                mismatch: bool = False) -> str:
        """The full netlist text for one deck (title, models, temperature, params, body)."""
        lines = [f"* imcspice recipe {self.name} v{self.version} ({tech.name} {corner}, "
                 f"{format_number(temp_c)} C{', mismatch' if mismatch else ''})"]
        lines += tech.model_lines(corner, mismatch)
        lines.append(f".temp {format_number(temp_c)}")
        for name, v in self.alterable(p).items():
            lines.append(f".param {name}={format_number(v)}")
        lines += self.body(tech, p)
        lines.append(".end")
        return "\n".join(lines) + "\n"

    def check_outputs(self, out: dict, axes: list[Axis]) -> dict[str, np.ndarray]:
        """Make sure a measurement returned every output with the declared shape."""
        sizes = {a.name: len(a.values) for a in axes}
        checked = {}
        for o in self.outputs:
            if o.name not in out:
                raise RuntimeError(f"recipe {self.name} did not return output {o.name!r}")
            arr = np.asarray(out[o.name], dtype=np.float64)
            shape = tuple(sizes[a] for a in o.axes)
            if arr.shape != shape:
                arr = arr.reshape(shape)
            checked[o.name] = arr
        return checked


#: recipe name -> recipe instance. Every module of ``characterize/recipes/`` is imported
#: before the first lookup, so a new module there needs no list. Registering another
#: instance of the same class again is allowed (workers and tests re-register).
RECIPES: Registry[Recipe] = Registry("recipe", discover="imcspice.characterize.recipes",
                                     same=lambda a, b: type(a) is type(b))


def register_recipe(cls: type[Recipe]) -> type[Recipe]:
    """Class decorator: register an instance of a :class:`Recipe` subclass under its
    ``name``. The class must be importable by module path (workers re-create it)."""
    RECIPES.add(cls.name, cls())
    return cls


def sweep_values(start: float, stop: float, n: int) -> tuple[float, ...]:
    return tuple(float(x) for x in np.linspace(start, stop, n))
