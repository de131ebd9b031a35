"""Fitting ``logic`` sweeps (ripple-carry adder of 28T mirror full adders) into the
``logic`` model kind: lookup tables of log(value) over the swept settings."""
from __future__ import annotations

from ...models.logic import LogicModel
from ..fit import fitter
from .dac import fit_tables


#: energies and the register's timing (a registered add's clock period: t_clk_q_s +
#: n x t_carry_per_bit_s + t_setup_s, characterize/recipes/logic.py)
_QUANTITIES = ("e_add_bit_j", "e_fa_op_j", "e_dff_j", "e_add_j", "p_leak_fa_w",
               "p_leak_dff_w", "t_carry_per_bit_s", "t_clk_q_s", "t_setup_s")


@fitter("logic", recipes=("logic",))
def fit_logic(raw, *, raw_path, seed: int = 0) -> LogicModel:
    fns, err, rng, meta = fit_tables(raw, raw_path, "logic", _QUANTITIES, seed)
    form = ("logic (SKY130 28T mirror full adders in a ripple chain, result registered "
            "in master-slave flip-flops): e_add_bit_j = e_fa_op_j + e_dff_j, e_fa_op_j (one "
            "full-adder op, random inputs), e_dff_j, e_add_j, p_leak_fa_w "
            "and p_leak_dff_w (leakage of one full adder / flip-flop at rest), "
            "t_carry_per_bit_s (worst-case ripple per bit), t_clk_q_s and t_setup_s (the "
            "result flip-flop) as lookup tables of log(value) over the swept settings; an "
            "N-bit registered add = N x e_add_bit_j and fits a clock period of t_clk_q_s + "
            "N x t_carry_per_bit_s + t_setup_s")
    return LogicModel(fns, valid_range=rng, heldout_error=err, form=form, meta=meta)
