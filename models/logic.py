"""Static CMOS logic models (from the ``logic`` recipe: a SKY130 ripple-carry adder of
28T mirror full adders, circuits/logic.py).

``logic``: ``e_fa_op_j`` (one full-adder operation, averaged over random input
transitions), ``e_add_j`` (one ``n_bits`` add), ``t_carry_per_bit_s`` (worst-case carry
ripple per bit) and ``p_leak_w`` over the swept settings (``n_bits``, ``vdd_v``, ...):
lookup tables (characterize/fit_logic.py), held-out error recorded where an axis has
enough values to hold one out; outside the swept box evaluation warns (or refuses under
``strict``). An N-bit ripple add costs N × ``e_fa_op_j`` (the recipe checks the
linearity by sweeping ``n_bits``); architecture descriptions compose it with ``times``.
"""
from __future__ import annotations

from .base import BehavioralModel, register_kind


@register_kind
class LogicModel(BehavioralModel):
    kind = "logic"
    primary = "e_fa_op_j"
