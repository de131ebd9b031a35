"""Static CMOS logic models (from the ``logic`` recipe: a SKY130 ripple-carry adder of
28T mirror full adders with its result register, circuits/logic.py).

``logic``: ``e_add_bit_j`` (one bit of a registered add: ``e_fa_op_j + e_dff_j``),
``e_fa_op_j`` (one full-adder operation, averaged over random input transitions),
``e_dff_j`` (one flip-flop clocked once, random data), ``e_add_j`` (one ``n_bits`` add),
``p_leak_fa_w`` and ``p_leak_dff_w`` (the leakage of one full adder and of one flip-flop
at rest, the clock stopped: what a clock-gated unit draws while idle) and the timing below over the swept settings (``n_bits``, ``vdd_v``, ...):
lookup tables (characterize/fitters/logic.py), held-out error recorded where an axis has
enough values (>= 4) to hold one out; a sweep with no such axis (the demo's and the
tests' single-point sweeps) has no held-out points, its ``max_pct_fs`` is NaN, and the
pricing says "no held-out error" instead (accelerators/components.py
``heldout_text``); outside the swept box evaluation warns (or refuses under
``strict``). An N-bit registered ripple add costs N × ``e_add_bit_j`` (the adder's
linearity in N is checked by tests/test_logic.py); architecture descriptions compose it
with ``times``. Timing: ``t_carry_per_bit_s`` (the worst-case ripple per bit),
``t_clk_q_s`` and ``t_setup_s`` (the result flip-flop); a registered N-bit add fits a
clock period of ``t_clk_q_s + N x t_carry_per_bit_s + t_setup_s``, which the
descriptions round up to whole cycles (``whole_cycles``, accelerators/components.py).
"""
from __future__ import annotations

from .base import BehavioralModel, register_kind


@register_kind
class LogicModel(BehavioralModel):
    kind = "logic"
    primary = "e_fa_op_j"
