"""``memristor``: read current of a programmed memristor plus programming variability
(from recipe memristor-iv).

Form (fitted): ``I = (g_per_us * G_us) * v0 * sinh(V / v0)``, i.e. the low-field
conductance ``g = g_per_us * G_us`` [S] and the non-linearity voltage ``v0`` [V], with
``g_per_us`` and ``v0`` fitted per corner/temperature (and per ``v0_v`` setting when the
sweep varies it) by least squares on the sweep's I(V) curves.

Programming variability (NOT fitted: a literature value): the programmed conductance
is the target plus a bounded Gaussian error, sigma ~4.5 uS (the functional simulator
of Li et al., Nat. Commun. 2020, 6T2M ACAM; ../shared/REFERENCE.md). The model carries
``sigma(G) = program_sigma_us + program_sigma_rel * G`` (relative term 0 by default,
settable for conductance-dependent noise) truncated at ``program_bound_sigmas`` sigmas
(3, an assumption) and floored at 0 S.
"""
from __future__ import annotations

import numpy as np

from .base import BehavioralModel, register_kind

#: REFERENCE.md (Li et al. 2020 functional simulator): bounded Gaussian write noise
PROGRAM_SIGMA_US = 4.5
PROGRAM_SIGMA_REL = 0.0
PROGRAM_BOUND_SIGMAS = 3.0


def default_variability() -> dict[str, np.ndarray]:
    return {"program_sigma_us": np.array([PROGRAM_SIGMA_US]),
            "program_sigma_rel": np.array([PROGRAM_SIGMA_REL]),
            "program_bound_sigmas": np.array([PROGRAM_BOUND_SIGMAS])}


@register_kind
class MemristorModel(BehavioralModel):
    kind = "memristor"
    primary = "i_a"

    def current(self, v_v, g_us, *, corner=None, strict=False, **settings) -> np.ndarray:
        """Read current [A] of a cell programmed to ``g_us`` [uS] at voltage ``v_v`` [V]."""
        return self.evaluate("i_a", corner=corner, strict=strict, v_v=v_v, g_us=g_us, **settings)

    def fitted(self, *, corner=None, **settings) -> dict[str, np.ndarray]:
        """The fitted ``g_per_us`` and ``v0`` at the given settings."""
        fn = self.functions["i_a"]
        dummy = {n: 0.0 for n in fn.form_inputs}
        corner, vals = self._resolve(fn, corner, {**settings, **dummy})
        self.check_range(settings, False, corner)
        b = np.broadcast_arrays(*[vals[k] for k in fn.grid_inputs])
        p = fn.params_at(corner, dict(zip(fn.grid_inputs, b)))
        return {n: p[..., i] for i, n in enumerate(fn.param_names)}

    def _var(self, key, default):
        v = self.extra.get(key)
        return float(v.ravel()[0]) if v is not None and v.size else default

    def sigma_us(self, g_us) -> np.ndarray:
        """Programming error sigma [uS] at target conductance ``g_us`` (literature value)."""
        g = np.asarray(g_us, dtype=np.float64)
        return self._var("program_sigma_us", PROGRAM_SIGMA_US) + \
            self._var("program_sigma_rel", PROGRAM_SIGMA_REL) * np.abs(g)

    def program(self, g_target_us, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """Sample programmed conductances [uS]: target + bounded Gaussian error, >= 0."""
        rng = np.random.default_rng(rng)
        g = np.asarray(g_target_us, dtype=np.float64)
        bound = self._var("program_bound_sigmas", PROGRAM_BOUND_SIGMAS)
        z = np.clip(rng.standard_normal(g.shape), -bound, bound)
        return np.maximum(g + self.sigma_us(g) * z, 0.0)
