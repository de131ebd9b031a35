"""Run one point of a recipe at its own numerics and at a tight-tolerance reference of the
same deck (tests/test_tight_tolerance.py, issue 11 item 4).

The reference is the recipe's deck with one more ``.options`` line at its end (ngspice
applies ``.options`` cards in deck order, so it overrides the recipe's own settings):
Gear (BDF-2) integration, which does not ring on steep edges as the trapezoidal rule
does, reltol 1e-5 (ngspice's default is 1e-3) and absolute current/voltage/charge
tolerances 100x / 10x / 100x below ngspice's defaults (1 pA, 1 uV, 1e-14 C); decks that
already run at reltol 1e-5 get 1e-6 and 10x tighter absolute tolerances
(:data:`TIGHTER_OPTIONS`; abstol 1e-15 A stops the 28T adder's transient with "timestep
too small", measured). Every ``tran`` command's print and maximum step
divided by :data:`STEP_DIV`. The recipe's ``simulate`` runs unchanged on a proxy of the
worker's ngspice that rewrites only the ``tran`` lines, so the measurement code (edge
detection, charge integration) is the same on both runs.

Runs in this process (one ngspice per process, the same one the engine's workers use).
"""
from __future__ import annotations

import re
import time

import numpy as np

from imcspice.characterize import ngspice
from imcspice.characterize.params import format_number
from imcspice.characterize.recipes import get_recipe
from imcspice.circuits.technology import Sky130

#: the reference's tolerances (see the module docstring)
TIGHT_OPTIONS = ".options method=gear reltol=1e-5 abstol=1e-14 vntol=1e-7 chgtol=1e-16"
#: ... for decks that already run at reltol 1e-5 (the gain-cell decks)
TIGHTER_OPTIONS = ".options method=gear reltol=1e-6 abstol=1e-15 vntol=1e-8 chgtol=1e-17"
#: the reference divides every tran print and maximum step by this
STEP_DIV = 4.0

_SUFFIX = {"t": 1e12, "g": 1e9, "meg": 1e6, "k": 1e3, "m": 1e-3, "u": 1e-6, "n": 1e-9,
           "p": 1e-12, "f": 1e-15}
_NUM = re.compile(r"^([-+]?[0-9.]+(?:e[-+]?[0-9]+)?)(meg|[tgkmunpf])?[a-z]*$", re.I)


def spice_number(text: str) -> float:
    m = _NUM.match(text.strip())
    if not m:
        raise ValueError(f"not a spice number: {text!r}")
    return float(m.group(1)) * _SUFFIX.get((m.group(2) or "").lower(), 1.0)


def tighten_tran(cmd: str, div: float = STEP_DIV) -> str:
    """``tran tstep tstop [tstart [tmax]] [uic]`` with tstep and tmax divided by ``div``
    (an absent tmax is ngspice's default, min(tstep, (tstop - tstart) / 50))."""
    tok = cmd.split()
    if not tok or tok[0].lower() != "tran":
        return cmd
    uic = [t for t in tok[1:] if t.lower() == "uic"]
    nums = [spice_number(t) for t in tok[1:] if t.lower() != "uic"]
    tstep, tstop = nums[0], nums[1]
    tstart = nums[2] if len(nums) > 2 else 0.0
    tmax = nums[3] if len(nums) > 3 else min(tstep, (tstop - tstart) / 50)
    return " ".join(["tran", format_number(tstep / div), format_number(tstop),
                     format_number(tstart), format_number(tmax / div)] + uic)


class TightNgspice:
    """The worker's ngspice with every ``tran`` analysis run at finer steps."""

    def __init__(self, ng, div: float = STEP_DIV):
        self._ng, self._div = ng, div
        self.tran_commands: list[str] = []

    def run(self, commands):
        cmds = [tighten_tran(c, self._div) for c in commands]
        self.tran_commands += [c for c in cmds if c.split()[0].lower() == "tran"]
        return self._ng.run(cmds)

    def __getattr__(self, name):
        return getattr(self._ng, name)


def tight_netlist(netlist: str, options: str = TIGHT_OPTIONS) -> str:
    """``netlist`` with ``options`` as its last card before ``.end``."""
    head, sep, tail = netlist.rpartition("\n.end\n")
    if not sep:
        raise ValueError("netlist does not end with .end")
    return f"{head}\n{options}{sep}{tail}"


def run_point(recipe_name: str, values: dict, tight: bool, *, corner: str = "tt",
              temp_c: float = 27.0, options: str = TIGHT_OPTIONS,
              div: float = STEP_DIV) -> tuple[dict, float, list[str]]:
    """One point in this process: (outputs, CPU seconds, the tran commands the reference
    ran)."""
    recipe = get_recipe(recipe_name)
    p = recipe.resolve(values)
    net = recipe.netlist(Sky130(), p, corner, temp_c)
    ng = ngspice.get()
    t0 = time.process_time()   # CPU time: the shared machine's load does not count
    ng.load(tight_netlist(net, options) if tight else net)
    sim = TightNgspice(ng, div) if tight else ng
    out = recipe.check_outputs(recipe.simulate(sim, p), recipe.inner_axes(p))
    return out, time.process_time() - t0, (sim.tran_commands if tight else [])


def rel_diff(std, ref, floor: float = 0.0) -> float:
    """max |std - ref| / max(|ref|, floor) over the finite entries (NaN in only one of the
    two counts as a miss)."""
    s, r = np.asarray(std, float), np.asarray(ref, float)
    if np.any(np.isnan(s) != np.isnan(r)):
        return float("inf")
    ok = ~np.isnan(r)
    if not ok.any():
        return 0.0
    return float(np.max(np.abs(s[ok] - r[ok]) / np.maximum(np.abs(r[ok]), floor)))
