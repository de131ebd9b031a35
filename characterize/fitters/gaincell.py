"""Fitting gain-cell sweeps (recipes gaincell-*). Forms: see :mod:`imcspice.models.gaincell`."""
from __future__ import annotations

import numpy as np

from ...models.base import Function
from ...models.gaincell import (GainCellMacModel, GainCellReadoutModel, GainCellRetentionModel,
                               GainCellWriteModel)
from ..fit import fitter
from ..fitting.form import DEFAULT_TOL_PCT, form_function, training_grid
from ..fitting.grid import (FitError, base_meta, collapse_axis, grid_data, numeric_settings,
                           valid_range)
from ..fitting.holdout import heldout_error, split_grid, summarize
from ..fitting.ramp import RESET_LEVEL, fit_ramp
from ..fitting.ramp_soft import fit_soft_ramp
from ..fitting.supply_energy import fit_supply_energy
from ..fitting.table import fit_table_quantity

#: quantities that check the measurement rather than describe the circuit (not modeled)
DIAGNOSTICS = {"ode_err_v": "largest |quasi-static ODE - transient| over 1 us..1 ms, the "
               "check of the retention recipe's method"}

#: model kind (the recipe of the same name) -> class
_CLASSES = {"gaincell-mac": GainCellMacModel, "gaincell-retention": GainCellRetentionModel,
            "gaincell-write": GainCellWriteModel, "gaincell-readout": GainCellReadoutModel}

#: per quantity: (value transform, spline), chosen from the physics, not from the data:
#: a signed current over decades -> asinh; monotone curves with a saturation corner or an
#: exponential region -> monotone cubic (no overshoot)
PRIORS = {
    "i_cell_a": ("asinh", "pchip"),
    "i_vrp_a": ("asinh", "pchip"),
    "e_read_j": ("linear", "pchip"),
    "e_int_j": ("linear", "pchip"),
    "q_col_c": ("linear", "pchip"),
    "v_int_v": ("linear", "pchip"),
}


def _kind_of(raw) -> str:
    r = raw.attrs.get("recipe", "")
    if r not in _CLASSES:
        raise FitError(f"no gain-cell model kind for recipe {r!r}")
    return r


@fitter("gaincell-mac", recipes=("gaincell-mac",))
@fitter("gaincell-retention", recipes=("gaincell-retention",))
@fitter("gaincell-write", recipes=("gaincell-write",))
@fitter("gaincell-readout", recipes=("gaincell-readout",))
def fit_gaincell(raw, *, raw_path, seed: int = 0):
    kind = _kind_of(raw)
    settings = numeric_settings(raw)
    fns, errs, gds, skipped, notes, diag = {}, {}, [], [], {}, {}
    # the integrator's supply energy is fitted on its output's trajectory: after v_int_v
    for q in sorted(raw.data, key=lambda q: q in _ON_TRAJECTORY):
        try:
            gd = grid_data(raw, q, settings=settings, mc_reduce="mean" if "mc" in raw.outer
                           else None)
        except FitError as e:
            skipped.append(f"{q} ({e})")
            continue
        if not np.isfinite(gd.values).any():
            skipped.append(f"{q} (no successful points)")
            continue
        # a swept setting the quantity does not depend on (the cell's own I-V on the
        # column voltage vs_col_v of the charge measurement): averaged out, not tabulated
        for n in [n for n, v in gd.axes if len(v) > 1 and n in raw.outer and n != "temp_c"]:
            gd, _ = collapse_axis(gd, n, 1e-9 * gd.full_scale)
        transform, method = PRIORS.get(q, (None, None))
        scales_note = ""
        if q.startswith("tau"):
            transform = "log" if np.nanmin(gd.values) > 0 else transform
            scales_note = "Arrhenius: log(tau) linear in 1/T"
            gd, n_small = _drop_small_excursions(raw, gd, settings)
            if n_small:
                scales_note += (f"; {n_small} points with |v_start - v_inf| < "
                                f"{TAU_MIN_EXCURSION_V * 1e3:g} mV (no measurable 1/e time) "
                                "interpolated from their neighbours, not held out")
        fn = None
        if q in DIAGNOSTICS:
            # a check of the measurement itself, not a circuit behavior: recorded, not modeled
            diag[q] = float(np.nanmax(gd.values))
            skipped.append(f"{q} (diagnostic: {DIAGNOSTICS[q]}; max {diag[q]:.3g} "
                           f"{gd.unit}, in meta['diagnostics'])")
            continue
        if q == "v_sn_v" and {"t_s", "v0_v"} <= set(gd.names) and len(gd.axis("t_s")) >= 4:
            fn, err = _fit_time_scaled(gd, seed)
            if fn is not None:
                notes[q] = ("trajectory on a scaled log-time axis ln(t / a): a per corner, "
                            "temperature and setting (the median 1/e time over v0), ln(a) "
                            "interpolated linearly in 1/T (Arrhenius), the curve linearly in "
                            "v0 and 1/T at fixed scaled time")
        if q in RESET_LEVEL and "t_pulse_s" in gd.names and len(gd.axis("t_pulse_s")) >= 4:
            fn, err, notes[q] = _fit_integrator(gd, seed)
            if fn is None:
                del notes[q]
        if q in _ON_TRAJECTORY and "t_pulse_s" in gd.names and len(gd.axis("t_pulse_s")) >= 4:
            fn, err = fit_supply_energy(gd, fns.get(_ON_TRAJECTORY[q]), seed)
            if fn is not None:
                notes[q] = _SUPPLY_NOTE
        if q in _PER_READ and "t_pulse_s" in gd.names and (gd.axis("t_pulse_s") > 0).any():
            gd, notes[q] = _read_issued(gd)
        clip_axis = {"t_out_s": "q_in_c"}.get(q)
        if clip_axis in gd.names and len(gd.axis(clip_axis)) >= 4:
            fn, err = _fit_clipped(gd, seed, clip_axis)
            if fn is not None:
                notes[q] = (f"clip(gain * {clip_axis} + offset, lo, hi): lo/hi the rails "
                            "reached in the training data, gain interpolated as asinh(gain)")
        if fn is None:
            # thermally activated quantities: interpolated in 1/T between temperatures
            scales = {"temp_c": "inv_kelvin"} if q.startswith(_ARRHENIUS) else None
            fn, err = fit_table_quantity(gd, seed, transform=transform, method=method,
                                         scales=scales, doc=raw.docs.get(q, ""))
        fns[q], errs[q] = fn, err
        gds.append(gd)
        if scales_note:
            notes[q] = scales_note
    if not fns:
        raise FitError(f"{raw.attrs.get('recipe')}: no quantity could be fitted "
                       f"({'; '.join(skipped)})")
    rng, units = valid_range(gds)
    parts = []
    for q, fn in fns.items():
        if fn.form != "table":
            parts.append(f"{q}: {notes.get(q, fn.form_text)}, parameters per setting")
            continue
        t = errs[q].get("table", {})
        parts.append(f"{q}({', '.join(n for n in fn.inputs if rng[n][0] != rng[n][1])}): "
                     f"table of {t.get('transform', 'linear')}(value), "
                     f"{t.get('spline', 'cubic')}-refined" +
                     (f", {notes[q]}" if q in notes else ""))
    form = f"{kind}: " + "; ".join(parts) + "; multilinear interpolation per corner"
    scalars = [q for q, e in errs.items() if not e.get("n_heldout")]
    ho_notes = ""
    if scalars:
        ho_notes = (f"not held out (no axis of >= 4 values to split: one value per corner "
                    f"and setting): {', '.join(scalars)}")
    meta = base_meta(raw, raw_path, units, not_modeled=skipped, notes=notes,
                     diagnostics=diag,
                     defaults={"temp_c": 27.0} if rng["temp_c"][0] <= 27 <= rng["temp_c"][1]
                     else {})
    return _CLASSES[kind](fns, valid_range=rng, heldout_error=summarize(errs, seed, notes=ho_notes),
                                form=form,
                          meta=meta)


def _fit_integrator(gd, seed):
    """q_col_c / v_int_v against the pulse width: the closed form with the OTA's soft
    rails (integrator-soft-rails) and the older one with hard or bent rails
    (integrator-ramp-feedthrough, the behavioral op-amp's clamp), each where it meets
    the training tolerance; of the two, the one with the smaller worst TRAINING error
    (the held-out points play no part in the choice). Returns (fn, err, note) or
    (None, None, None): a table then."""
    cands = []
    fn, err = fit_soft_ramp(gd, seed)
    if fn is not None:
        cands.append((err["training_max_pct_fs"], fn, err, (
            "integrator-soft-rails in t_pulse_s: reset level (no pulse), the read path's "
            "feedthrough charge, a step settling with a shared time constant (the "
            "integrator's start-up), the column current's ramp with a curvature (the "
            "slewing OTA's sagging virtual ground), through the OTA's soft rails (loop "
            "gain falling linearly with the output's headroom: a hyperbolic knee per "
            "side, rails and knee widths shared by all settings)" +
            (", plus the charge the cells still deliver into the input node past the "
             "output's share, saturating exponentially (shared per side)"
             if gd.name == "q_col_c" else ""))))
    fn, err = fit_ramp(gd, seed)
    if fn is not None:
        cands.append((err["training_max_pct_fs"], fn, err, (
            "integrator-ramp-feedthrough in t_pulse_s: reset level (no pulse), the read "
            "path's feedthrough charge (whole once the word-line edge has passed), a step "
            "settling with a shared time constant (the internal nodes' settling and the "
            "integrator's start-up lag), linear ramp of the column current, rails shared "
            "by all settings (bent into each rail from a shared knee, exp or tanh: the "
            "column keeps discharging after the clamp)")))
    if not cands:
        return None, None, None
    _, fn, err, note = min(cands, key=lambda c: c[0])
    return fn, err, note


#: quantity -> the integrator output whose trajectory it is fitted on (form
#: integrator-supply-energy, models/gaincell_energy.py)
_ON_TRAJECTORY = {"e_int_j": "v_int_v"}
_SUPPLY_NOTE = (
    "integrator-supply-energy in t_pulse_s on the output trajectory of v_int_v's fit: the "
    "class-A OTA's bias energy over the window, plus the charge the output's excursion "
    "moves on the supply (M7's channel-length modulation over the time the output spends "
    "away from its reset level, the output node's junction charge per side, the bias "
    "node's lag behind M7's gate-drain coupling, M7's triode drop near the top rail, the "
    "input node moved by the excess beyond a rail), coefficients per setting pulled "
    "toward the corner's shared ones")


#: energies of one read: a step at t_pulse_s = 0 (no pulse, no read, no energy; any pulse
#: pays the word-line drivers' edge charge, ~0.9 fJ, then grows linearly with the width)
_PER_READ = ("e_read_j",)


def _read_issued(gd):
    """The read-issued branch (t_pulse_s > 0) of a per-read energy: a table across the
    t = 0 step interpolates half the edge energy into the first pulse widths (the held-out
    1 ns line missed by 2.7 % FS). The model returns 0 at t_pulse_s = 0 (no pulse issued;
    GainCellMacModel). Full scale stays the whole sweep's."""
    t = gd.axis("t_pulse_s")
    zero = gd.take("t_pulse_s", np.flatnonzero(t <= 0))
    out = gd.take("t_pulse_s", np.flatnonzero(t > 0))
    out.fs = gd.full_scale
    note = ("table over the read-issued widths t_pulse_s > 0 only; at t_pulse_s = 0 (no "
            "pulse) the model returns 0")
    if zero.values.size and np.isfinite(zero.values).any():
        note += (f" (measured there: at most {np.nanmax(np.abs(zero.values)):.2g} "
                 f"{gd.unit}, {100 * np.nanmax(np.abs(zero.values)) / gd.full_scale:.2g} % FS)")
    return out, note


def _rails(gd, masks):
    """Lowest and highest training value: the output's rails (integrator clamp, no pulse
    / full pulse), the same for every setting."""
    sub = gd.values
    for k, (n, _) in enumerate(gd.axes):
        sub = np.compress(masks[n], sub, axis=k + 1)
    return float(np.nanmin(sub)), float(np.nanmax(sub))


def _fit_clipped(gd, seed, axis: str):
    """y = clip(gain * x + offset, lo, hi) over ``axis`` per setting, or (None, None) when
    it misses the training points by more than 1 % FS. lo and hi are pinned to the rails
    (a curve that does not reach a rail must not invent its own, or interpolating between
    settings would clip too early); gain is stored as asinh(gain / s): the cell current
    behind it is exponential in the stored voltage below threshold."""
    masks = split_grid(gd, {axis: "form"}, seed)
    lo, hi = _rails(gd, masks)
    # rail slack: form_function nudges the start 1e-12 inside the bounds (absolute units)
    eps = max(1e-6 * gd.full_scale, 2e-12)
    span = gd.axis(axis).max() - gd.axis(axis).min()

    def p0(x, y):
        (u,) = x
        inner = (y > lo + 0.01 * (hi - lo)) & (y < hi - 0.01 * (hi - lo))
        if inner.sum() >= 2 and np.ptp(u[inner]) > 0:
            g, o = np.polyfit(u[inner], y[inner], 1)
        else:
            g, o = (y.max() - y.min()) / span, float(np.median(y))
        return [g, o, lo, hi]

    bounds = ([-np.inf, -np.inf, lo - eps, hi - eps], [np.inf, np.inf, lo + eps, hi + eps])
    try:
        fn, worst = form_function(gd, masks, "saturating-linear", [axis], p0, bounds=bounds,
                                  x_scale=np.array([gd.full_scale / span] + [gd.full_scale] * 3),
                                  doc=f"clipped linear in {axis}")
    except (FitError, ValueError):
        return None, None
    if worst > DEFAULT_TOL_PCT:
        return None, None
    g = fn.values[..., 0]
    s = 1e-3 * float(np.max(np.abs(g))) or 1.0
    fn.values[..., 0] = np.arcsinh(g / s)
    fn.param_transform = ["asinh", "linear", "linear", "linear"]
    fn.extra = {"asinh_scale": np.array([s, 1.0, 1.0, 1.0])}
    fn.invalidate()
    fn.validate()
    err = heldout_error(fn, gd, masks)
    err["training_max_pct_fs"] = worst
    return fn, err


#: scaled log-time nodes per decade of time (the curve is linear between nodes, and a Si
#: relaxation ends in a sharp corner in log-time: 16/decade misses the training points by
#: 0.9 % FS; 32/decade, half the recipe's t_s density, keeps the held-out error ~0.5 %)
_U_PER_DECADE = 32

#: retention/write priors (see PRIORS): voltages that change sign near a crossing are
#: tabulated linearly (asinh would flatten them through zero); the leakage current is a
#: signed current over decades (asinh), thermally activated (its table is interpolated
#: in 1/T, see _ARRHENIUS)
PRIORS.update({
    "v_err_v": ("linear", None),
    "dv_inj_v": ("linear", None),
    "i_leak_a": ("asinh", "pchip"),
})
#: quantities interpolated in 1/T across temperature (thermally activated)
_ARRHENIUS = ("tau", "i_leak_a")

#: a 1/e time needs an excursion well above the write's charge-injection step and
#: ngspice's voltage tolerance: below this |v_start - v_inf| the measured "tau" is the
#: ratio of two near-zero numbers (spikes of 1.5-2x between neighbouring v0 lines)
TAU_MIN_EXCURSION_V = 0.02


def _drop_small_excursions(raw, gd, settings):
    """``gd`` with tau set to NaN (not measured) where the relaxation starts within
    TAU_MIN_EXCURSION_V of its end level; returns (data, number of points dropped)."""
    if not {"v_start_v", "v_inf_v"} <= set(raw.data):
        return gd, 0
    vs = grid_data(raw, "v_start_v", settings=settings).values
    vi = grid_data(raw, "v_inf_v", settings=settings).values
    if vs.shape != gd.values.shape:
        return gd, 0
    vi = vi.reshape(vi.shape + (1,) * (vs.ndim - vi.ndim))
    small = np.abs(vs - vi) < TAU_MIN_EXCURSION_V
    n = int((small & np.isfinite(gd.values)).sum())
    if n:
        gd.values = np.where(small, np.nan, gd.values)
    return gd, n


def _fit_time_scaled(gd, seed):
    """Retention trajectory V(t) as a curve of scaled log-time u = ln(t / a(T)).

    Leakage is thermally activated, so a temperature change mostly rescales time: at a
    fixed u the curves of neighbouring temperatures nearly coincide, while at a fixed t
    they differ by a whole relaxation step (interpolating across a temperature line at
    fixed t misses by tens of percent of full scale). a is the median over v0 of each
    training curve's 1/e time (of |V - V_end| from its start), per corner and setting;
    ln(a) is interpolated linearly in 1/T (Arrhenius). Each training curve is resampled
    onto common u nodes with a monotone cubic in ln t (its end values held beyond its
    time range). Returns (None, None) where no time scale can be extracted."""
    from scipy.interpolate import PchipInterpolator  # start-up time
    masks = split_grid(gd, {"t_s": "form"}, seed)
    param_axes, axes, sub, pshape, xs = training_grid(gd, masks, ["t_s"])
    lt = np.log(axes["t_s"])
    kv = 1 + param_axes.index("v0_v")
    ln_tau = np.full(pshape, np.nan)
    for idx in np.ndindex(*pshape):
        y = sub[idx]
        ok = np.isfinite(y)
        if ok.sum() < 3:
            continue
        yy, ll = y[ok], lt[ok]
        dev = np.abs(yy - yy[-1])
        if dev[0] <= 0:
            continue
        k = np.nonzero(dev <= dev[0] / np.e)[0]
        if len(k) and k[0] > 0:
            j = int(k[0])
            a0, a1 = np.log(max(dev[j - 1], 1e-30)), np.log(max(dev[j], 1e-30))
            ln_tau[idx] = ll[j - 1] + (np.log(dev[0] / np.e) - a0) * (ll[j] - ll[j - 1]) / \
                (a1 - a0 if a1 != a0 else 1.0)
        ln_tau[idx] = ln_tau[idx]
    # the time scale of a (corner, temperature, setting): median over v0 of the 1/e times
    # of the curves with a large excursion (near the relaxation level the 1/e time of
    # the small injection step is ill-defined)
    exc = np.abs(sub[..., 0] - np.nanmin(sub, axis=-1) * 0 - sub[..., -1])
    big = exc >= 0.3 * np.nanmax(exc, axis=kv, keepdims=True)
    with np.errstate(all="ignore"):
        cand = np.where(big & np.isfinite(ln_tau), ln_tau, np.nan)
        ln_a = np.nanmedian(cand, axis=kv, keepdims=True)
    if not np.all(np.isfinite(ln_a)):
        return None, None
    ln_a = np.broadcast_to(ln_a, pshape)
    u_lo = float(np.min(lt[0] - ln_a))
    u_hi = float(np.max(lt[-1] - ln_a))
    step = np.log(10.0) / _U_PER_DECADE
    nodes = np.arange(u_lo, u_hi + step, step)
    out = np.zeros(pshape + (1 + len(nodes),))
    for idx in np.ndindex(*pshape):
        y = sub[idx]
        ok = np.isfinite(y)
        if ok.sum() < 2:
            raise FitError(f"{gd.name}: too few successful points on a trajectory")
        u = lt[ok] - ln_a[idx]
        f = PchipInterpolator(u, y[ok], extrapolate=False)
        v = f(np.clip(nodes, u[0], u[-1]))
        out[idx] = np.concatenate([[ln_a[idx]], v])
    scales = ["inv_kelvin" if n == "temp_c" else "linear" for n in param_axes]
    fn = Function(name=gd.name, unit=gd.unit, form="time-scaled-curve",
                  corners=list(gd.corners), grid_inputs=param_axes,
                  grid_axes=[axes[n] for n in param_axes], values=out, form_inputs=["t_s"],
                  param_names=["ln_a"] + [f"y{k}" for k in range(len(nodes))],
                  scales=scales, extra={"u_nodes": nodes},
                  doc="stored voltage vs hold time on a thermally scaled time axis")
    err = heldout_error(fn, gd, masks)
    return fn, err
