"""Fitting device sweeps: ``mosfet-iv`` (nfet-iv / pfet-iv) and ``memristor`` (memristor-iv)."""
from __future__ import annotations

import numpy as np

from ...models.memristor import (T_REF_C, TEMPERATURE_SOURCE, VARIABILITY_SOURCE,
                                 MemristorModel, default_variability)
from ...models.mosfet import MosfetIVModel
from ..fit import fitter
from ..fitting.form import DEFAULT_TOL_PCT, form_function
from ..fitting.grid import FitError, base_meta, grid_data, valid_range
from ..fitting.holdout import heldout_error, split_grid, summarize
from ..fitting.table import table_function


@fitter("mosfet-iv", recipes=("nfet-iv", "pfet-iv"))
def fit_mosfet(raw, *, raw_path, seed: int = 0) -> MosfetIVModel:
    """|Id| table over every swept axis, multilinear, built from the training lines
    as simulated (no spline resampling).

    Linear interpolation is the right tool on each axis here: along W, SKY130's binned
    BSIM4 models make Id piecewise nearly linear in W with slope kinks at the bin edges
    (0.55, 1, 3, 5 um at L = 0.15 um), which a spline through the kinks overshoots;
    along Vds/Vgs the recipe's grid is dense where the curves bend (25 mV |Vds| steps
    through the knee), so the table needs no resampling and every node is a SPICE
    value."""
    recipe = raw.attrs.get("recipe", "")
    if recipe not in ("nfet-iv", "pfet-iv"):
        raise FitError(f"mosfet-iv fits nfet-iv / pfet-iv sweeps, not {recipe!r}")
    gd = grid_data(raw, "id_a", settings=("w_um", "l_um"))
    masks = split_grid(gd, {}, seed)   # every axis is a table axis
    fn, filled = table_function(
        gd, masks, doc="drain current magnitude |Id| over |Vds|, |Vgs| (lookup table)")
    err = {"id_a": heldout_error(fn, gd, masks)}
    rng, units = valid_range([gd])
    polarity = "n" if recipe == "nfet-iv" else "p"
    form = (f"mosfet-iv ({recipe}, SKY130 {'nfet' if polarity == 'n' else 'pfet'}_01v8): "
            f"|Id| = T_corner({', '.join(gd.names)}), a lookup table of the SPICE sweep's "
            "own grid points, multilinear interpolation between them (no few-parameter "
            "closed form reaches 1 % of full scale over the whole 0-1.8 V box)")
    meta = base_meta(raw, raw_path, units, polarity=polarity, nan_points_filled=filled,
                     defaults={"temp_c": 27.0} if rng["temp_c"][0] <= 27 <= rng["temp_c"][1]
                     else {})
    return MosfetIVModel({"id_a": fn}, valid_range=rng, heldout_error=summarize(err, seed),
                         form=form, meta=meta)


def _p0_memristor(x, y):
    g_us, v, t_c = x
    small = (np.abs(v) <= np.percentile(np.abs(v), 40)) & (np.abs(v) > 0) & \
        (np.abs(t_c - T_REF_C) < 1e-9) & (g_us > 0)
    k = np.nanmedian(y[small] / (g_us[small] * v[small])) if small.any() else 1e-6
    return [k if np.isfinite(k) and k > 0 else 1e-6, 0.5, 50.0, 1e-3, 0.1]


@fitter("memristor", recipes=("memristor-iv",))
def fit_memristor(raw, *, raw_path, seed: int = 0) -> MemristorModel:
    """One closed form per corner over (G, V, T): the filament + gap law of
    netlists/memristor.spice with its five constants fitted (g_per_us, v0, g_q_us,
    alpha_per_k, ea_ev). Held-out lines are whole states (G), voltages and temperatures
    (the edge ones extrapolated), so the held-out error tests that the law carries across
    states and temperatures; it is near zero because the SPICE device IS this law (there
    is no measured RRAM data here), not a claim about real devices."""
    if raw.attrs.get("recipe") != "memristor-iv":
        raise FitError(f"memristor fits memristor-iv sweeps, not {raw.attrs.get('recipe')!r}")
    gd = grid_data(raw, "i_a", settings=("g_us", "v0_v", "temp_c"))
    form_inputs = ["g_us", "v_v", "temp_c"]
    if len(gd.axis("g_us")) < 3:
        raise FitError("memristor: the filament + gap form needs >= 3 conductances (the "
                       "metallic/gap crossover g_q is fitted)")
    one_temp = len(gd.axis("temp_c")) < 2
    modes = {"g_us": "form", "v_v": "form", "temp_c": "form"}
    masks = split_grid(gd, modes, seed)
    fn, worst = form_function(
        gd, masks, "memristor-filament-gap", form_inputs, _p0_memristor,
        bounds=([1e-12, 1e-3, 1e-3, -0.05, -1.0], [1e-2, 100.0, 1e6, 0.05, 2.0]),
        param_transform=["log", "log", "log", "linear", "linear"],
        doc="read current: metallic filament + Stanford-PKU gap sinh term, T-dependent")
    err = {"i_a": heldout_error(fn, gd, masks)}
    rng, units = valid_range([gd])
    form = ("memristor: I = f_m g V / (1 + alpha (T - 27 C)) + (1 - f_m) g v0 sinh(V/v0) "
            "exp(Ea/kB (1/T0 - 1/T)), g = g_per_us * G_us (G: low-field conductance at 27 C), "
            "f_m = G^2/(G^2 + g_q^2); g_per_us, v0, g_q_us, alpha_per_k, ea_ev fitted per "
            "corner" + (" and v0_v setting" if len(gd.axis("v0_v")) > 1 else "") +
            " (gap term: Stanford-PKU HfOx model, Guan/Yu/Wong EDL 2012, Jiang et al. TED "
            "2016; alpha, Ea, g_q: netlists/memristor.spice, labelled assumptions); "
            "programming error sigma(G) and read noise: literature values, not fitted "
            "(see models/memristor.py)")
    meta = base_meta(raw, raw_path, units, training_max_pct_fs=worst,
                     variability_source=VARIABILITY_SOURCE,
                     temperature_source=TEMPERATURE_SOURCE,
                     defaults={"temp_c": T_REF_C} if rng["temp_c"][0] <= T_REF_C <=
                     rng["temp_c"][1] else {})
    if one_temp:   # dI/d(alpha), dI/d(Ea) vanish at 27 C: they keep their start values
        meta["temperature_note"] = ("one temperature swept: alpha_per_k and ea_ev are not "
                                    "identifiable and keep the netlist's values; the valid "
                                    "range pins temp_c")
    if worst > DEFAULT_TOL_PCT:
        meta["warning"] = (f"filament-gap form training error {worst:.3g}% FS exceeds "
                           f"{DEFAULT_TOL_PCT}%")
    return MemristorModel({"i_a": fn}, valid_range=rng, heldout_error=summarize(err, seed),
                          form=form, meta=meta, extra=default_variability())
