"""ACAM (6T2M analog CAM) behavioral models.

``acam-window`` (from recipe acam-window): the match window of one cell.
    v_lo_v(g_low_us)  lower bound, set by M1's conductance
    v_hi_v(g_high_us) upper bound, set by M2's conductance
    Form: V(G) = a * exp(-b * G) + c * G + d (G in uS; the published functional-simulator
    form for 6T2M, Li et al. 2020, REFERENCE.md), a, b, c, d fitted per corner and
    temperature (interpolated linearly in T between swept temperatures); a lookup table
    over log(G) is used instead for a bound where the form misses by more than 2.5 mV
    on its training points (the file's ``form`` says which).
    Inverse map (target threshold -> conductance): :meth:`AcamWindowModel.conductance_for`,
    a numeric inverse of the forward curve on a fine (4096-point, log-spaced) G grid.

``acam-mismatch`` (from recipe acam-mc, a sweep with ``--mc N``): the threshold
    mismatch: sigma_v_lo_v(g_low_us), sigma_v_hi_v(g_high_us) (sample standard deviation
    over the MC samples, one set of mismatch realizations shared by every conductance, so
    the curve is smooth in G): a table of log(sigma) or sigma over ln(G), spline refined,
    per corner/temperature. sigma is flat (~12 mV, the input pair's Pelgrom offset) at low G
    and rises steeply where the threshold curve steepens toward the supply; power-law
    forms miss that rise by ~10 % when extrapolated. The MC-mean bounds mean_v_lo_v /
    mean_v_hi_v are tables over ln(G). With fewer than 4 swept conductances (too few to
    hold any out) sigma is the polynomial through the points.

``acam-search`` (from recipe acam-search, version 2: gated source line, line resistance,
    junction capacitance, StrongARM sensing): a row search with the test cell ``dv_v``
    outside its in-row window edge (dv_v > 0: a mismatch): t_discharge_s (match-line
    discharge time), e_search_j (energy of a mismatching search: VDD, the gated source
    line, the comparator's decision and the control-gate drivers), over
    dv_v and n_cells (row length) and any other swept setting, and e_search_match_j
    (all cells matching) over n_cells. Lookup tables, monotone-cubic refined along dv_v:
    t_discharge_s as log(value) over ln(n_cells), ln(dv_v); the energies as values linear
    in n_cells (a search's energy is affine in the row length: per-cell terms plus fixed
    periphery) over ln(dv_v). The sense margin is not modeled (near the window edge it is
    a nearly step-like function of dv_v).
"""
from __future__ import annotations

import warnings

import numpy as np

from .array_api import namespace_of
from .base import BehavioralModel, OutOfRangeWarning, register_kind
from ..errors import UnknownNameError

_BOUND = {"lo": ("v_lo_v", "g_low_us"), "hi": ("v_hi_v", "g_high_us")}


@register_kind
class AcamWindowModel(BehavioralModel):
    kind = "acam-window"
    primary = "v_lo_v"
    INVERSE_POINTS = 4096

    def thresholds(self, g_low_us, g_high_us, *, corner=None, strict=False, **settings):
        """(lower, upper) window bounds [V] for programmed conductances [uS]."""
        lo = self.evaluate("v_lo_v", corner=corner, strict=strict, g_low_us=g_low_us,
                           **_only(self, "v_lo_v", settings))
        hi = self.evaluate("v_hi_v", corner=corner, strict=strict, g_high_us=g_high_us,
                           **_only(self, "v_hi_v", settings))
        return lo, hi

    def conductance_for(self, v_target, bound: str = "lo", *, corner=None, strict=False,
                        **settings) -> np.ndarray:
        """Conductance [uS] that programs the ``bound`` ("lo" or "hi") to ``v_target`` [V].

        Numeric inverse of the forward curve on a fine log-spaced grid over the valid
        conductance range, at scalar settings (corner, temperature, ...). Targets the
        curve cannot reach give NaN, with a warning (ValueError under ``strict``)."""
        if bound not in _BOUND:
            raise ValueError(f"bound must be 'lo' or 'hi', got {bound!r}")
        out_name, g_name = _BOUND[bound]
        lo, hi = self.valid_range[g_name]
        g = np.geomspace(max(lo, 1e-9), hi, self.INVERSE_POINTS) if lo > 0 else \
            np.linspace(lo, hi, self.INVERSE_POINTS)
        kw = _only(self, out_name, settings)
        for k, v in kw.items():
            if np.ndim(v):
                raise ValueError(f"conductance_for takes scalar settings; {k} is an array")
        v = self.evaluate(out_name, corner=corner, strict=strict, **{g_name: g}, **kw)
        # the bound rises with G (6T2M physics); a running maximum absorbs fit ripple
        v = np.maximum.accumulate(v)
        keep = np.concatenate([[True], np.diff(v) > 0])
        g, v = g[keep], v[keep]
        t = np.asarray(v_target, dtype=np.float64)
        outside = (t < v[0]) | (t > v[-1])
        if np.any(outside):
            msg = (f"acam-window: target {bound} threshold(s) {np.unique(t[outside])[:5]} V "
                   f"outside the programmable range [{v[0]:.4f}, {v[-1]:.4f}] V "
                   f"({g_name} in [{lo:g}, {hi:g}] uS); returning NaN there")
            if strict:
                raise ValueError(msg)
            warnings.warn(msg, OutOfRangeWarning, stacklevel=2)
        res = np.interp(t, v, g)
        return np.where(outside, np.nan, res)

    def programmable_range(self, bound: str = "lo", *, corner=None, **settings):
        out_name, g_name = _BOUND[bound]
        lo, hi = self.valid_range[g_name]
        v = self.evaluate(out_name, corner=corner, **{g_name: np.array([lo, hi])},
                          **_only(self, out_name, settings))
        return float(v[0]), float(v[1])


@register_kind
class AcamMismatchModel(BehavioralModel):
    kind = "acam-mismatch"
    primary = "sigma_v_lo_v"

    def sigma(self, bound: str, g_us, *, corner=None, strict=False, **settings):
        """Threshold mismatch sigma [V] of the ``bound`` at conductance ``g_us``."""
        out_name, g_name = _BOUND[bound]
        name = "sigma_" + out_name
        if name not in self.functions:
            raise UnknownNameError(f"this mismatch model has no {name} (its sweep did not vary "
                                   f"{g_name})")
        return self.evaluate(name, corner=corner, strict=strict, **{g_name: g_us},
                             **_only(self, name, settings))

    def sample(self, v_nominal, bound: str, g_us, rng=None, **kw):
        """Thresholds with Gaussian mismatch: v_nominal + sigma(g) * N(0, 1)."""
        rng = np.random.default_rng(rng)   # numpy draws: the same chip for either namespace
        s = self.sigma(bound, g_us, **kw)
        xp = namespace_of(v_nominal, s)
        v = xp.asfloat(v_nominal)
        z = rng.standard_normal(tuple(xp.broadcast_arrays(v, s)[0].shape))
        return v + s * xp.asfloat(z)


@register_kind
class AcamSearchModel(BehavioralModel):
    kind = "acam-search"
    primary = "t_discharge_s"

    def discharge_time(self, dv_v, n_cells, *, corner=None, strict=False, **settings):
        """Match-line discharge time [s] for a test cell ``dv_v`` [V] outside its window."""
        return self.evaluate("t_discharge_s", corner=corner, strict=strict, dv_v=dv_v,
                             **_with(self, "t_discharge_s", strict, n_cells=n_cells, **settings))

    def search_energy(self, dv_v, n_cells, *, corner=None, strict=False, **settings):
        """Energy [J] of one search cycle with one mismatching cell."""
        return self.evaluate("e_search_j", corner=corner, strict=strict, dv_v=dv_v,
                             **_with(self, "e_search_j", strict, n_cells=n_cells, **settings))

    def match_energy(self, n_cells, *, corner=None, strict=False, **settings):
        """Energy [J] of one search cycle with every cell matching."""
        return self.evaluate("e_search_match_j", corner=corner, strict=strict,
                             **_with(self, "e_search_match_j", strict, n_cells=n_cells,
                                   **settings))


def _only(model: BehavioralModel, output: str, settings: dict) -> dict:
    ins = set(model.functions[output].inputs)
    return {k: v for k, v in settings.items() if k in ins}


def _with(model: BehavioralModel, output: str, strict: bool = False, **settings) -> dict:
    """The settings ``output`` takes as inputs. A setting the sweep held fixed (kept in
    the meta's ``fixed_settings``, not as a length-1 axis) is not an input: a value other
    than the fixed one warns (``OutOfRangeWarning``; ``ValueError`` under ``strict``), as
    an input outside its valid range does, instead of being dropped silently."""
    fixed = model.meta.get("fixed_settings") or {}
    ins = set(model.functions[output].inputs)
    for k, v in settings.items():
        if k in ins or k not in fixed:
            continue
        try:
            x = np.asarray(namespace_of(v).to_numpy(v), dtype=np.float64)
            f = float(fixed[k])
        except (TypeError, ValueError):
            continue        # a non-numeric setting: nothing to compare on a scale
        if x.size and not np.allclose(x, f, rtol=1e-9, atol=0.0):
            msg = (f"{model.kind} model: {k} = {np.unique(x)[:5]} but the model was fitted "
                   f"with {k} fixed at {f:g}; the result is the {k} = {f:g} value")
            if strict:
                raise ValueError(msg)
            warnings.warn(msg, OutOfRangeWarning, stacklevel=3)
    return _only(model, output, settings)
