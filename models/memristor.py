"""``memristor``: read current of a programmed HfOx RRAM cell (state- and temperature-
dependent), its programming variability and read noise (from recipe memristor-iv).

Read law (netlists/memristor.spice ``imc_memristor``; :func:`read_current` is its numpy /
torch mirror; the fitted form ``memristor-filament-gap`` has the same shape)::

    I(V, T) = f_m g V / (1 + alpha (T - T0)) + (1 - f_m) g v0 sinh(V / v0) exp(Ea/kB (1/T0 - 1/T))
    f_m = g^2 / (g^2 + g_q^2)

``g`` [S] is the programmed low-field conductance at T0 = 27 C (1-150 uS in use). The
gap term is the read equation of the Stanford-PKU HfOx RRAM compact model
I0 exp(-gap/g0) sinh(V/V0) (Guan, Yu, Wong, IEEE EDL 33(10) 1405, 2012; Jiang et al.,
IEEE TED 63(5) 1884, 2016; nanoHUB Verilog-A v1.0.0 doi:10.4231/D37H1DN48: I0 = 1 mA,
g0 = 0.25 nm, V0 = 0.25 V) with its low-field conductance as the state (gap =
g0 ln(I0 / (V0 g_gap))). The metallic filament share f_m grows with the state, so the
shape and the temperature coefficient change with it: conductance rises with T in the
HRS (Ea) and falls in a strong LRS (alpha), as measured in HfOx RRAM (Walczyk et al.,
IEEE TED 58(9) 2011; Fang et al., IEEE EDL 31(5) 2010). alpha = 1e-3 /K, Ea = 0.10 eV
and g_q = 2e^2/h are labelled ASSUMPTIONS (numbers not taken from measured figures).
Fitted: g_per_us, v0, g_q_us, alpha_per_k, ea_ev per corner over (G, V, T); the held-out
lines are whole states, voltages and temperatures.

Programming variability (NOT fitted: literature): bounded Gaussian around the target,
``sigma(G) = sqrt((program_sigma_us + program_sigma_rel G)^2 + program_g_defect_us G)``
[uS]. The sqrt(G) term is Poisson statistics of the number of defects in the filament
(sigma_G / G = sqrt(G_defect / G); Ambrogio et al., "Statistical fluctuations in HfOx
resistive-switching memory: Part I", IEEE TED 61(8) 2912, 2014: relative spread grows
toward high resistance); its amplitude is an ASSUMPTION anchored to the ~4.5 uS of Li et
al., Nat. Commun. 2020 (REFERENCE.md) at the middle of the 1-150 uS range (75 uS):
G_defect = 4.5^2/75 = 0.27 uS. Truncated at ``program_bound_sigmas`` (3, assumption),
floored at 0 S.

Read noise (per read, NOT fitted): Johnson-Nyquist current noise sqrt(4 kB T G df)
(df = 1 / (2 t_read), a physical law) plus random-telegraph / 1/f conductance noise
sigma_G = read_rtn_rel * sqrt(G g_q), i.e. 0.5 % of G at G = g_q, growing as 1/sqrt(G)
toward the HRS (the resistance-dependent RTN amplitude of Ielmini et al., APL 96 053503,
2010 and Ambrogio et al., IEEE TED 61(8) 2920, 2014, Part II; the 0.5 % amplitude is an
ASSUMPTION). Only the Johnson part depends on T directly; both follow G(T).
"""
from __future__ import annotations

import math

import numpy as np

from .array_api import namespace_of
from .base import BehavioralModel, register_kind
from .forms import FORMS, Form

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

def _filament_gap(x, p, extra):
    """The fitted read law (inputs g_us [uS at T_REF_C], v_v [V], temp_c [C])."""
    g_us, v, t_c = x
    xp = namespace_of(g_us, v, t_c, p)
    k, v0, gq_us, alpha, ea = (p[..., i] for i in range(5))
    gs = k * g_us
    gq = k * gq_us
    fm = gs * gs / (gs * gs + gq * gq)
    act = xp.exp(ea / K_B_EV * (1.0 / (T_REF_C + 273.15) - 1.0 / (t_c + 273.15)))
    return fm * gs * v / (1.0 + alpha * (t_c - T_REF_C)) + \
        (1.0 - fm) * gs * v0 * xp.sinh(v / v0) * act


FORMS.add("memristor-filament-gap", Form(
    "memristor-filament-gap", ("g_per_us", "v0", "g_q_us", "alpha_per_k", "ea_ev"), 3,
    "I = f_m g V / (1 + alpha (T - 27 C)) + (1 - f_m) g v0 sinh(V / v0) "
    "exp(Ea/kB (1/T0 - 1/T)), g = g_per_us G_us, f_m = G^2 / (G^2 + g_q^2)  (metallic "
    "filament + Stanford-PKU gap term)", _filament_gap))


#: where the temperature dependence comes from (model meta)
TEMPERATURE_SOURCE = (
    "netlists/memristor.spice: metallic filament TCR alpha and gap activation energy Ea "
    "(HfOx LRS metallic / HRS thermally activated: Walczyk et al. IEEE TED 58(9) 2011, "
    "Fang et al. IEEE EDL 31(5) 2010, Yu/Guan/Wong APL 99 063507 2011); alpha=1e-3/K, "
    "Ea=0.10 eV and the crossover g_q=2e^2/h are labelled ASSUMPTIONS (not read off "
    "measured figures); fitted back from the SPICE sweep")
#: where the programming/read variability comes from (model meta)
VARIABILITY_SOURCE = ("literature (REFERENCE.md: Li et al., Nat. Commun. 2020 functional "
                      "simulator, sigma ~4.5 uS), not fitted")

#: REFERENCE.md (Li et al. 2020 functional simulator): ~4.5 uS write noise. Constant and
#: relative terms 0 by default: the Poisson term below carries it, anchored to 4.5 uS at
#: 75 uS (ASSUMPTION: where in 1-150 uS the published constant applies)
PROGRAM_SIGMA_US = 0.0
PROGRAM_SIGMA_REL = 0.0
PROGRAM_ANCHOR_SIGMA_US, PROGRAM_ANCHOR_G_US = 4.5, 75.0
#: Poisson defect-number term (Ambrogio et al., IEEE TED 61(8) 2014): sigma^2 = G_defect G
PROGRAM_G_DEFECT_US = PROGRAM_ANCHOR_SIGMA_US ** 2 / PROGRAM_ANCHOR_G_US
PROGRAM_BOUND_SIGMAS = 3.0
#: RTN / 1/f read noise: sigma_G / G at G = g_q (ASSUMPTION; Ielmini et al. APL 2010 form)
READ_RTN_REL = 0.005
#: read pulse (s) for the Johnson bandwidth 1/(2 t): the crossbar recipes' 20 ns pulse
READ_T_S = 20e-9


def default_variability() -> dict[str, np.ndarray]:
    return {"program_sigma_us": np.array([PROGRAM_SIGMA_US]),
            "program_sigma_rel": np.array([PROGRAM_SIGMA_REL]),
            "program_g_defect_us": np.array([PROGRAM_G_DEFECT_US]),
            "program_bound_sigmas": np.array([PROGRAM_BOUND_SIGMAS]),
            "read_rtn_rel": np.array([READ_RTN_REL])}


def program_sigma_s(g_s, sigma0_s=PROGRAM_SIGMA_US * 1e-6, rel=PROGRAM_SIGMA_REL,
                    g_defect_s=PROGRAM_G_DEFECT_US * 1e-6) -> np.ndarray:
    """Programming error sigma [S] at target conductance ``g_s`` [S] (see module doc)."""
    g = np.abs(np.asarray(g_s, dtype=np.float64))
    return np.sqrt((sigma0_s + rel * g) ** 2 + g_defect_s * g)


def read_sigma_s(g_s, temp_c=T_REF_C, v_read_v=0.2, t_read_s=READ_T_S,
                 rtn_rel=READ_RTN_REL, g_q_s=G_Q_S) -> np.ndarray:
    """Per-read noise of a cell's apparent conductance [S] (one read of ``t_read_s`` at
    ``v_read_v``), ``g_s`` its conductance at the read temperature ``temp_c`` [C]:
    Johnson sqrt(4 kB T G / (2 t_read)) / V (physical law) and RTN rtn_rel sqrt(G g_q)
    (assumption), in quadrature."""
    g = np.abs(np.asarray(g_s, dtype=np.float64))
    t_k = np.asarray(temp_c, dtype=np.float64) + 273.15
    johnson = np.sqrt(4 * K_B_EV * 1.602176634e-19 * t_k * g / (2 * t_read_s)) / v_read_v
    return np.sqrt(johnson ** 2 + rtn_rel ** 2 * g * g_q_s)


def sample_dg_s(g_s, rng: np.random.Generator | int | None, *, temp_c=T_REF_C,
                read: bool = True, v_read_v=0.2, bound=PROGRAM_BOUND_SIGMAS,
                sigma_fn=program_sigma_s) -> np.ndarray:
    """Per-instance conductance offsets [S] for a Monte-Carlo SPICE sample (``dg`` of
    imc_memristor): a bounded Gaussian programming error around each target ``g_s`` [S],
    plus (``read``) one frozen read-noise draw at ``temp_c``. The result keeps
    g + dg >= 0. Deterministic in ``rng`` (a seed or Generator)."""
    rng = np.random.default_rng(rng)
    g = np.asarray(g_s, dtype=np.float64)
    z = np.clip(rng.standard_normal(g.shape), -bound, bound)
    gp = np.maximum(g + sigma_fn(g) * z, 0.0)
    if read:
        gt = conductance_tc(gp, temp_c)
        gp = np.maximum(gp + read_sigma_s(gt, temp_c, v_read_v) * rng.standard_normal(g.shape)
                        * gp / np.where(gt > 0, gt, 1.0), 0.0)
    return gp - g


@register_kind
class MemristorModel(BehavioralModel):
    kind = "memristor"
    primary = "i_a"

    def current(self, v_v, g_us, *, corner=None, strict=False, **settings) -> np.ndarray:
        """Read current [A] of a cell programmed to ``g_us`` [uS] at voltage ``v_v`` [V]."""
        return self.evaluate("i_a", corner=corner, strict=strict, v_v=v_v, g_us=g_us, **settings)

    def fitted(self, *, corner=None, **settings) -> dict[str, np.ndarray]:
        """The fitted form parameters (``g_per_us``, ``v0``, ``g_q_us``, ``alpha_per_k``,
        ``ea_ev``) at the given settings."""
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
        """Programming error sigma [uS] at target conductance ``g_us`` (literature value,
        conductance-dependent: see the module doc)."""
        return program_sigma_s(np.asarray(g_us, dtype=np.float64) * 1e-6,
                               self._var("program_sigma_us", PROGRAM_SIGMA_US) * 1e-6,
                               self._var("program_sigma_rel", PROGRAM_SIGMA_REL),
                               self._var("program_g_defect_us", 0.0) * 1e-6) * 1e6

    def program(self, g_target_us, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """Sample programmed conductances [uS]: target + bounded Gaussian error, >= 0."""
        rng = np.random.default_rng(rng)
        g = np.asarray(g_target_us, dtype=np.float64)
        bound = self._var("program_bound_sigmas", PROGRAM_BOUND_SIGMAS)
        z = np.clip(rng.standard_normal(g.shape), -bound, bound)
        return np.maximum(g + self.sigma_us(g) * z, 0.0)

    def conductance_us(self, g_us, temp_c, *, corner=None) -> np.ndarray:
        """Low-field conductance [uS] at ``temp_c`` [C] of a cell programmed to ``g_us``
        [uS] at 27 C, from the fitted form (the V -> 0 slope, by a 1 mV chord)."""
        g = np.asarray(g_us, dtype=np.float64)
        v = 1e-3
        return np.asarray(self.current(v, g, corner=corner, temp_c=temp_c)) / v * 1e6

    def read_sigma_us(self, g_us, temp_c, v_read_v=0.2, t_read_s=READ_T_S) -> np.ndarray:
        """Per-read noise of the apparent conductance [uS] of a cell whose conductance at
        ``temp_c`` is ``g_us`` (see :func:`read_sigma_s`)."""
        return read_sigma_s(np.asarray(g_us, dtype=np.float64) * 1e-6, temp_c, v_read_v,
                            t_read_s, self._var("read_rtn_rel", READ_RTN_REL)) * 1e6
