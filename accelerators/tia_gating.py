"""What gating the crossbar's column TIAs per read assumes, and what not gating them
would cost: a bracket around the priced machine, from its own entries.

The descriptions price each column TIA for its read window only (``tia_energy``) plus
one wake per read (``tia_wake_energy``): power-gated between reads. That wake was
simulated with one TIA on its bias line. A tile wakes its 2 x cols TIAs at once on one
generator and 1 nF, and ngspice shows that line starved (docs/devices.md, "The shared
bias line": recipe tia-wake, ``n_share``). The priced figure is then a lower bound on a
gated tile's. The other design the same models price is not to gate per read: each
operator's TIAs stay biased through all of its steps (its reads, conversions and adds,
which run one after another in the latency), at the power they draw while reading,
with one wake each per operator. That wake still lifts the shared line, so it leads the
operator by :data:`LEAD_S`, while the previous one runs, the TIAs biased meanwhile
(assumption: the lead overlaps the previous operator, and the latency is unchanged).
After it the line stays put.

:func:`bracket` computes both from a priced :class:`.cost.CostSheet`: per crossbar
operator, the TIA power P = (tia_energy per column read) / (the read window: its
crossbar latency per read step), the operator's TIAs N = busy tiles x 2 x cols
(:attr:`.mapping_record.Mapping.busy`), its time t (its latency entries), so biased it
draws P·N·(t + LEAD_S) + N x (wake energy per read). On a stack it is taken at the
tiers' priced temperatures; the thermal solution is not redone for it.
"""
from __future__ import annotations

import math
from collections import defaultdict

CROSSBAR = "crossbar"
READ, WAKE = "tia_energy", "tia_wake_energy"
#: s a tile's wake leads its operator when the TIAs stay biased through it: a 128-column
#: tile's 256 TIAs woken on their generator and 1 nF lift the line 0.21 V, and with
#: them enabled it is back within 1 mV 28.7 us later (ngspice, tests/test_wake_share.py)
LEAD_S = 30e-6


def bracket(mapping, sheet) -> dict | None:
    """``{"gated_j", "biased_j", "machine_j", "machine_biased_j", "tias_per_tile",
    "stack", "per_op"}`` (J) for a machine whose crossbar prices ``tia_energy`` per read, else
    None. ``per_op``: each crossbar operator's ``{"gated_j", "biased_j", "tias", "t_s",
    "p_tia_w"}``."""
    arch = mapping.arch
    if CROSSBAR not in arch.components or READ not in arch.component(CROSSBAR).figures:
        return None
    per_tile = 2 * int(arch.component(CROSSBAR)["cols"])
    energy: dict = defaultdict(lambda: [0.0, 0.0])        # (op, figure) -> [amount, count]
    for e in sheet.energy:
        if e.component == CROSSBAR and e.figure in (READ, WAKE):
            energy[e.op, e.figure][0] += e.amount
            energy[e.op, e.figure][1] += e.count
    t_op: dict = defaultdict(float)
    read_step: dict = {}
    for e in sheet.latency:
        t_op[e.op] += e.amount
        if e.component == CROSSBAR and e.figure == "latency" and e.count:
            read_step[e.op] = e.amount / e.count
    per_op = {}
    for (op, figure), (amount, count) in energy.items():
        if figure != READ or not count:
            continue
        n = mapping.busy.get(op, {}).get(CROSSBAR, 0) * per_tile
        p_w = amount / count / read_step[op]
        wake_j, wakes = energy.get((op, WAKE), (0.0, 0.0))
        e_wake = wake_j / wakes if wakes else 0.0
        per_op[op] = {"gated_j": amount + wake_j, "tias": n, "t_s": t_op[op], "p_tia_w": p_w,
                      "biased_j": n * (p_w * (t_op[op] + LEAD_S) + e_wake)}
    if not per_op:
        return None
    gated = math.fsum(v["gated_j"] for v in per_op.values())
    biased = math.fsum(v["biased_j"] for v in per_op.values())
    return {"gated_j": gated, "biased_j": biased, "machine_j": sheet.energy_j,
            "machine_biased_j": sheet.energy_j - gated + biased, "tias_per_tile": per_tile,
            "stack": bool(arch.floorplan), "per_op": per_op}


def sentence(b: dict, fmt) -> str:
    """The report's line for :func:`bracket`'s ``b`` (``fmt``: J -> text)."""
    return (f"Column TIAs gated per read: {fmt(b['gated_j'])} ({b['gated_j'] / b['machine_j']:.1%}"
            f" of the energy: tia_energy + tia_wake_energy), each wake simulated with one "
            f"TIA on a stiff bias line. A tile wakes its {b['tias_per_tile']} TIAs at once on "
            "one generator and 1 nF, which ngspice shows starved (docs/devices.md, 'The "
            "shared bias line'), so this is a lower bound on a gated tile. Biased instead "
            f"through each operator's steps, woken once {LEAD_S * 1e6:g} us ahead so that the "
            f"line recovers (assumption), they would draw {fmt(b['biased_j'])}: the machine at "
            f"{fmt(b['machine_biased_j'])} ({b['machine_biased_j'] / b['machine_j']:.2g}x"
            + ("; at the tiers' priced temperatures, the thermal solution not redone"
               if b["stack"] else "") + ").")
