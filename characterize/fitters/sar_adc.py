"""Fitting the ``sar-adc`` model kind from a ``sar-adc`` sweep (see
:mod:`imcspice.models.sar_adc`)."""
from __future__ import annotations

import numpy as np

from ...circuits import sar_adc as sc
from ..fit import fitter
from ...models.sar_adc import SarAdcModel
from ..fitting.grid import FitError, base_meta, grid_data, numeric_settings, valid_range
from ..fitting.holdout import summarize
from ..fitting.table import fit_table_quantity


QUANTITIES = {
    "e_conversion_j": "energy per conversion: CDAC + comparator + SAR logic",
    "e_analog_j": "CDAC + comparator energy per conversion (SPICE supply integration)",
    "e_cdac_j": "CDAC switching energy from vref per conversion",
    "e_comparator_j": "comparator supply + clock energy per conversion (8 decisions)",
    "e_logic_j": "SAR logic: measured SKY130 flip-flop energies x assumed flop/toggle count",
    "t_conversion_s": "conversion time: sampling + 8 cycles of the deck's clock, at which "
                      "every code converted within 1 LSB after offset",
}


@fitter("sar-adc", recipes=('sar-adc',))
def fit_sar_adc(raw, *, raw_path, seed: int = 0) -> SarAdcModel:
    if raw.attrs.get("recipe") != "sar-adc":
        raise FitError(f"sar-adc fits sar-adc sweeps, not {raw.attrs.get('recipe')!r}")
    if "mc" in raw.outer:
        raise FitError("sar-adc: fit a nominal sweep (no --mc)")
    settings = numeric_settings(raw)
    fns, errs, gds = {}, {}, []
    for q, doc in QUANTITIES.items():
        gd = grid_data(raw, q, settings=settings)
        if not np.all(np.isfinite(gd.values)):
            raise FitError(f"sar-adc: {q} has failed points")
        # full scale = the largest energy: the comparator's and the logic's energies hardly
        # change with the CDAC's unit capacitor (a 2 % spread), so max - min would be the
        # sweep's numerical noise, not a scale (as for the ACAM mismatch sigma)
        gd.fs = float(np.nanmax(np.abs(gd.values)))
        fn, err = fit_table_quantity(gd, seed, transform="log", doc=doc)
        fns[q], errs[q] = fn, err
        gds.append(gd)
    code_err = np.asarray(raw.data["max_code_err_after_offset_lsb"], dtype=np.float64)
    offset = np.asarray(raw.data["code_offset_lsb"], dtype=np.float64)
    rng, units = valid_range(gds)
    form = ("sar-adc (8-bit, conventional switching, SKY130): energies per conversion and "
            "the conversion time as lookup tables of log(value) over the swept settings, "
            "spline-refined")
    meta = base_meta(
        raw, raw_path, units,
        logic_count={"flops": sc.N_FF, "cycles": sc.N_CYCLES, "toggles": sc.N_TOGGLES,
                     "source": "assumption: one-hot sequencer + result register, no "
                               "clock gating; flop energies measured (SKY130 TG DFF)"},
        controller="behavioral SAR controller (ideal switches, B-sources); analog parts "
                   "transistor level",
        code_offset_lsb=[float(np.nanmin(offset)), float(np.nanmax(offset))],
        max_code_err_after_offset_lsb=float(np.nanmax(code_err)),
        defaults={"temp_c": 27.0} if rng["temp_c"][0] <= 27 <= rng["temp_c"][1] else {})
    return SarAdcModel(fns, valid_range=rng, heldout_error=summarize(errs, seed), form=form,
                       meta=meta)
