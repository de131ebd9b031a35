"""HeTraX's accuracy run: MiniLM with its FFN on ReRAM tiers at the stack temperature
(:mod:`..hetrax`), and optionally the accuracy against the ReRAM tier temperature."""
from __future__ import annotations

import time

import numpy as np

from . import machine

#: the range of the accuracy-vs-temperature curve (C): programming temperature to the
#: thermal model's ReRAM limit region (thermal.py: 85 C limit; 95 C beyond it)
CURVE_RANGE_C = (27.0, 95.0)


def _make(a, hw, temp_c):
    """Chips of ``a`` whose ReRAM tiers are read at ``temp_c`` (C), programmed and
    calibrated at ``crossbar.t_program_c`` (:class:`..torch_chip.AnalogChip`)."""
    from ..torch_chip import AnalogChip     # torch: only where the accuracy runs
    return lambda ni, seed: AnalogChip(a, nonideal=ni, seed=seed, temp_c=temp_c, hw=hw)


def accuracy_vs_temperature(a, hw, run, temps_c, progress: bool, seed: int = 0) -> dict:
    """MiniLM cosine to FP32 with the ReRAM tiers read at each temperature of
    ``temps_c`` (C), every non-ideality as characterized, one chip (``seed``), programmed
    and calibrated at ``crossbar.t_program_c`` (27 C). Returns the curve as lists."""
    from ..analog import Nonideal
    from ..retrieval import compare_embeddings
    kept = getattr(run, "chip_ops", None)
    rows = []
    for t in temps_c:
        t0 = time.perf_counter()
        m = compare_embeddings(run.ref, run.embeddings(_make(a, hw, float(t)),
                                                       Nonideal.scaled(1.0), seed))
        rows.append((float(t), m))
        if progress:
            print(f"[evaluate] MiniLM at ReRAM {t:.1f} C: cosine {m['cosine_mean']:.4f} "
                  f"in {time.perf_counter() - t0:.0f} s", flush=True)
    run.chip_ops = kept
    xb = a.component("crossbar")
    return {"temp_c": [t for t, _ in rows],
            "cosine_mean": [m["cosine_mean"] for _, m in rows],
            "cosine_min": [m["cosine_min"] for _, m in rows],
            "nn_agreement": [m["nn_agreement"] for _, m in rows],
            "seed": seed, "t_program_c": float(xb.get("t_program_c", 27.0)),
            "temp_reference": str(xb.get("temp_reference", "none")),
            "calibration": "programmed (write-verify) and calibrated (TIA trims, ADC "
                           "ranges) at t_program_c; read at the tier temperature (no hot "
                           "recalibration); temp_reference 'tile': each tile's gain tracks "
                           "its reference column pair read at the tier temperature",
            "device": "memristor model: state-dependent conductance drift at v_read and "
                      "read noise (Johnson + RTN); crossbar-column IR drop at the "
                      "temperature (clipped to its characterized range)"}


@machine("hetrax", mode="prefill")
def hetrax(a, hw, run, temp_c, progress, scales, ablation=True) -> dict:
    acc = run.run(_make(a, hw, temp_c), scales, progress,
                  names=("ir_drop", "programming_noise"), ablation=ablation)
    n = int(a.component("crossbar").get("accuracy_temp_points", 0))
    if n > 0:
        temps = np.linspace(*CURVE_RANGE_C, n) if n > 1 else [CURVE_RANGE_C[0]]
        acc["vs_temperature"] = accuracy_vs_temperature(a, hw, run, temps, progress)
    return acc
