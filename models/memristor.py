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

import math

import numpy as np

from .array_api import namespace_of
from .base import BehavioralModel, register_kind

# --- read law (netlists/memristor.spice, imc_memristor): filament + gap ------------------
#: Boltzmann constant, eV/K (CODATA 2018)
K_B_EV = 8.617333262e-5
#: reference (programming) temperature of ``g``, C
T_REF_C = 27.0
#: metallic filament TCR, 1/K. ASSUMPTION (LRS of HfOx RRAM is metallic: Fang et al., IEEE
#: EDL 31(5) 2010; Walczyk et al., IEEE TED 58(9) 2011; value not read off their figures)
ALPHA_FIL_PER_K = 1.0e-3
#: activation energy of the gap (HRS, trap-assisted tunneling) current, eV. ASSUMPTION
#: (thermally activated HfOx HRS: Yu, Guan, Wong, APL 99 063507, 2011; value assumed)
EA_GAP_EV = 0.10
#: metallic/tunneling crossover conductance: the conductance quantum 2e^2/h, S (CODATA)
G_Q_S = 7.748091729e-5
#: numerical leak across the cell (netlists/memristor.spice ``Rleak``), ohm
R_LEAK_OHM = 1e12


def read_current(v_v, g_s, v0_v=0.5, temp_c=T_REF_C, dg_s=0.0, *, alpha_per_k=ALPHA_FIL_PER_K,
                 ea_ev=EA_GAP_EV, g_q_s=G_Q_S, t_ref_c=T_REF_C, leak=True):
    """Read current [A] of ``imc_memristor`` (netlists/memristor.spice), numpy or torch.

    ``g_s``: programmed low-field conductance [S] at ``t_ref_c`` (1-150 uS in use);
    ``dg_s``: per-instance programming error [S]; ``v_v``: cell voltage [V] (|V| <= ~0.6 V
    read range); ``v0_v``: gap-path sinh voltage [V]; ``temp_c``: read temperature [C].

    I = f_m gs V / (1 + alpha (T - T0)) + (1 - f_m) gs v0 sinh(V/v0) exp(Ea/kB (1/T0 - 1/T)),
    gs = max(g + dg, 0), f_m = gs^2 / (gs^2 + G_Q^2). The gap term is the Stanford-PKU
    HfOx read law I0 exp(-gap/g0) sinh(V/V0) (Guan, Yu, Wong, IEEE EDL 33(10) 2012; Jiang
    et al., IEEE TED 63(5) 2016) with its low-field conductance as the state; alpha, Ea
    are labelled assumptions (see the module constants)."""
    xp = namespace_of(v_v, g_s)
    v = xp.asfloat(v_v)
    gs = xp.asfloat(g_s) + dg_s
    gs = gs * (gs > 0)
    fm = gs * gs / (gs * gs + g_q_s * g_q_s)
    t0_k = t_ref_c + 273.15
    if np.ndim(temp_c) == 0 and not hasattr(temp_c, "requires_grad"):
        act = math.exp(ea_ev / K_B_EV * (1.0 / t0_k - 1.0 / (float(temp_c) + 273.15)))
    else:
        act = xp.exp(ea_ev / K_B_EV * (1.0 / t0_k - 1.0 / (xp.asfloat(temp_c) + 273.15)))
    i = fm * gs * v / (1.0 + alpha_per_k * (temp_c - t_ref_c)) + \
        (1.0 - fm) * gs * v0_v * xp.sinh(v / v0_v) * act
    return i + v / R_LEAK_OHM if leak else i


def conductance_tc(g_s, temp_c=T_REF_C, **kw):
    """Low-field conductance [S] at ``temp_c`` of a cell programmed to ``g_s`` at T0
    (the V -> 0 limit of :func:`read_current` without the leak)."""
    return read_current(1e-9, g_s, 0.5, temp_c, leak=False, **kw) / 1e-9

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
