"""Fitting device sweeps: ``mosfet-iv`` (nfet-iv / pfet-iv) and ``memristor`` (memristor-iv)."""
from __future__ import annotations

import numpy as np

from ...models.memristor import MemristorModel, default_variability
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
    g_us, v = x
    small = np.abs(v) <= np.percentile(np.abs(v), 40)
    small &= np.abs(v) > 0
    gus = np.where(g_us > 0, g_us, np.nan)
    k = np.nanmedian(y[small] / (gus[small] * v[small])) if small.any() else 1e-6
    return [k if np.isfinite(k) and k > 0 else 1e-6, 0.5]


@fitter("memristor", recipes=("memristor-iv",))
def fit_memristor(raw, *, raw_path, seed: int = 0) -> MemristorModel:
    if raw.attrs.get("recipe") != "memristor-iv":
        raise FitError(f"memristor fits memristor-iv sweeps, not {raw.attrs.get('recipe')!r}")
    gd = grid_data(raw, "i_a", settings=("g_us", "v0_v"))
    form_inputs = ["g_us", "v_v"]
    modes = {"g_us": "form", "v_v": "form"}
    masks = split_grid(gd, modes, seed)
    fn, worst = form_function(
        gd, masks, "memristor-sinh", form_inputs, _p0_memristor,
        bounds=([1e-12, 1e-3], [1e-2, 100.0]), param_transform=["log", "log"],
        doc="read current I = g * v0 * sinh(V / v0), g = g_per_us * G_us")
    err = {"i_a": heldout_error(fn, gd, masks)}
    rng, units = valid_range([gd])
    form = ("memristor: I = (g_per_us * G_us) * v0 * sinh(V / v0); g_per_us [S/uS] and v0 [V] "
            "fitted per corner/temperature" + (" and v0_v setting" if len(gd.axis("v0_v")) > 1
                                              else "") +
            "; programming error: bounded Gaussian, sigma(G) = program_sigma_us + "
            "program_sigma_rel * G, literature value (Li et al. 2020), not fitted")
    meta = base_meta(raw, raw_path, units, training_max_pct_fs=worst,
                     variability_source="literature (REFERENCE.md: Li et al., Nat. Commun. "
                                        "2020 functional simulator), not fitted",
                     defaults={"temp_c": 27.0} if rng["temp_c"][0] <= 27 <= rng["temp_c"][1]
                     else {})
    if worst > DEFAULT_TOL_PCT:
        meta["warning"] = f"sinh form training error {worst:.3g}% FS exceeds {DEFAULT_TOL_PCT}%"
    return MemristorModel({"i_a": fn}, valid_range=rng, heldout_error=summarize(err, seed),
                          form=form, meta=meta, extra=default_variability())
