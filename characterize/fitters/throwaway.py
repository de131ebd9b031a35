"""Scratch: fitter of the throwaway kind (memristor sweep as a lookup table)."""
from ..fit import fitter
from .devices import fit_memristor
from ...models.throwaway import ThrowawayModel


@fitter("throwaway-iv", recipes=())
def fit_throwaway(raw, *, raw_path, seed: int = 0):
    m = fit_memristor(raw, raw_path=raw_path, seed=seed)
    return ThrowawayModel(m.functions, valid_range=m.valid_range,
                          heldout_error=m.heldout_error, form=m.form, meta=m.meta)
