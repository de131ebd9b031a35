"""The accelerators whose accuracy ``imcspice evaluate`` simulates, one module each.

A description names its machine in ``[workload] machine = "race-it"`` (variants that
``extends`` a shipped description inherit it); the module registered under that name
runs the accuracy evaluation of the description's workload::

    @machine("race-it", mode="prefill")
    def race_it(arch, hw, run, temp_c, progress, scales, ablation=True) -> dict: ...

``prefill`` machines simulate MiniLM (``run`` is an :class:`..accuracy.MiniLMRun`) and
return its accuracy dict (``run`` holds the device); ``decode`` machines simulate the
byte-level causal LM and are called ``(arch, hw, quick, progress, scales, device=...)``
(device "cpu" or "cuda"), returning ``(accuracy dict, the context window simulated)``. Every module of this package is imported before the first lookup,
so a new accelerator is its module here plus its ``data/arch/<name>.toml``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ...registry import Registry, _origin
from ..arch import ArchError

MODES = ("prefill", "decode")


@dataclass(frozen=True)
class Machine:
    """An accelerator's accuracy simulation: ``mode`` (prefill / decode) and ``accuracy``
    (called as described in the module docstring)."""

    name: str
    mode: str
    accuracy: Callable


#: machine name ([workload] machine of a description) -> Machine
MACHINES: Registry[Machine] = Registry(
    "accelerator machine ([workload] machine)", discover=__name__,
    same=lambda a, b: (a.mode, _origin(a.accuracy)) == (b.mode, _origin(b.accuracy)))


def machine(name: str, *, mode: str) -> Callable[[Callable], Callable]:
    """Decorator: register the decorated function as the accuracy simulation of ``name``."""
    if mode not in MODES:
        raise ValueError(f"machine {name!r}: mode must be one of {MODES}, not {mode!r}")

    def deco(fn: Callable) -> Callable:
        MACHINES.add(name, Machine(name, mode, fn))
        return fn
    return deco


def machine_of(arch) -> Machine:
    """The registered machine of a loaded description, checked against its mode."""
    m = MACHINES[arch.workload.get("machine", "")]
    mode = arch.workload.get("mode", "prefill")
    if m.mode != mode:
        raise ArchError(f"{arch.name}: machine {m.name!r} simulates {m.mode}, the "
                        f"description's workload mode is {mode!r}")
    return m
