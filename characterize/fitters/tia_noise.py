"""Fitting ``tia-noise`` sweeps into the ``tia-noise`` kind
(:mod:`imcspice.models.tia_noise`): one lookup table per quantity over the swept
settings, as the wake models are fitted (:mod:`.wake`); the hold's time constant only
where the sweep has a hold."""
from __future__ import annotations

from ...models.tia_noise import TiaNoiseModel
from ..fit import fitter
from .wake import fit_tables


@fitter("tia-noise", recipes=("tia-noise",))
def fit_tia_noise(raw, *, raw_path, seed: int = 0) -> TiaNoiseModel:
    return fit_tables(raw, raw_path, seed, TiaNoiseModel, absent_ok=("tau_hold_s",))
