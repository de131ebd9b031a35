"""Fitting ``logic`` sweeps (ripple-carry adder of 28T mirror full adders) into the
``logic`` model kind: lookup tables of log(value) over the swept settings."""
from __future__ import annotations

from ..models.logic import LogicModel
from .fit_dac import fit_tables

RECIPE_KIND = {"logic": "logic"}
FITTERS = {"logic": "fit_logic:fit_logic"}

_QUANTITIES = ("e_fa_op_j", "e_add_j", "t_carry_per_bit_s", "p_leak_w")


def fit_logic(raw, *, raw_path, seed: int = 0) -> LogicModel:
    fns, err, rng, meta = fit_tables(raw, raw_path, "logic", _QUANTITIES, seed)
    form = ("logic (SKY130 28T mirror full adders in a ripple chain): e_fa_op_j (one "
            "full-adder op, random inputs), e_add_j, t_carry_per_bit_s, p_leak_w as lookup "
            "tables of log(value) over the swept settings; an N-bit add = N x e_fa_op_j")
    return LogicModel(fns, valid_range=rng, heldout_error=err, form=form, meta=meta)
