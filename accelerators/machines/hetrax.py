"""HeTraX's accuracy run: MiniLM with its FFN on ReRAM tiers at the stack temperature
(:mod:`..hetrax`), and optionally the accuracy against the ReRAM tier temperature.

The curve (:func:`accuracy_vs_temperature`) is evaluated on the run's own chip seeds
(those of the main accuracy figure) with common random numbers: every chip is the same
at every temperature (programming error, converter mismatch, and the standard-normal
draws of the read noise and of the reference read are functions of the chip seed and the
operator, never of the temperature; only their amplitudes follow T). The chip-to-chip
spread is then common to a seed's points, and the paired difference to the programming
temperature, c(T, s) - c(T_program, s), carries the temperature effect without it: a
trend is called resolved where its two-sided 95 % Student-t interval over the n seeds,
mean +- t(0.975, n - 1) std / sqrt(n), excludes 0 (t = 12.71, 4.30, 3.18, 2.78 for n = 2,
3, 4, 5: the demo's two chips resolve only a change ~6x their spread of differences).

Physics expectation (``crossbar.temp_reference = "tile"``): each tile's gain tracks its
reference column pair read at the tier temperature, so the conductance drift common to a
tile is taken out; what is left is (a) the state-dependent (differential) drift, cells
whose secant drift differs from the reference level's (low G rises ~1.3 %/K, high G
~0.2 %/K); (b) the read noise, whose Johnson part grows as sqrt(T G_read) and whose
RTN part as sqrt(G_read), G_read rising with T; (c) the IR drop's own T dependence:
the TIA trims are set at 27 C from the crossbar-column model's drop there, the reads see
the drop at the tier temperature (:func:`..hardware.crossbar_device`), a bit-line gain
(1 - d_T(L)) / (1 - d_27(L)) at load L (0.95 at L = 0.02, 0.90 at L = 0.1 at 95 C), of
which the reference removes the tile's common part (its pair at loads m_t and 0), not
the spread over the bit lines' loads. All three grow monotonically with T, so the
expected curve is flat to slowly falling.

Measured with the DAC full scale of ``crossbar.outlier_factor = 3`` (shipped since
2026-12-02; 4 texts, chips 0-3, docs/devices.md): 0.9890 +- 0.0006, 0.9848 +- 0.0006,
0.9729 +- 0.0015 at 27 / 61 / 95 C; paired difference to 27 C -0.0042 +- 0.0004 and
-0.0160 +- 0.0016, both resolved (~20 standard errors). The history below is at the
factor-6 full scale the accuracy path used before, where the read noise of the
sign-extension planes, referred to a twice larger full scale, hid most of the trend.

Measured (shipped models at 666dccb, trims at 27 C;
``imcspice evaluate --arch hetrax --quick``, 4 texts, 27 / 61 / 95 C; chips 0, 1 from
that run, chips 2, 3 from the same function): cosine 0.9713 +- 0.0011, 0.9697 +- 0.0013,
0.9589 +- 0.0014 (mean +- std, 4 chips); paired difference to 27 C: 61 C -0.0015 +-
0.0019 (per chip -0.0003, -0.0040, +0.0001, -0.0019; not resolved), 95 C -0.0123 +-
0.0020 (-0.0104, -0.0151, -0.0125, -0.0113; resolved, 12 standard errors). The same
chips trimmed at the read temperature (before 2026-12-01, same models): 0.9713, 0.9708,
0.9633; 95 C -0.0080 +- 0.0032: the IR drop's own T dependence costs 0.0044 +- 0.0025
(per chip -0.0037, -0.0030, -0.0080, -0.0028) at 95 C, 0.0011 at 61 C; 27 C is bitwise
the same. (An earlier measurement, on the models before the crossbar-column
regeneration, trimmed hot: 0.9724, 0.9699, 0.9642; 95 C -0.0082 +- 0.0023.) The main figure at the stack's 46 C: 0.9712 +- 0.0009 (chips 0, 1:
0.9718, 0.9706) against 0.9716 +- 0.0017 (0.9704, 0.9728) trimmed hot: within one
chip's code-flip noise (below).
As expected: a small monotonic fall (1.3 % of the cosine at 95 C), no gain collapse (the
reference removes the common drift; without it 0.34 at 95 C, docs/devices.md). The
floor of a paired difference is one chip's code-flip noise: a 0.1 % change of the tile
gains (the reference read's draw) moved chip 0's cosine at 46 C by 6e-4 and an ablation
point by 2.7e-3, so differences below ~3e-3 need more chips or texts. A 95 C point
reproduces bitwise when evaluated alone (the curve's common random numbers).
Where that noise comes from (2026-12-04, shipped models, chip 0, 1 thread): read at
45.10, 45.11, ..., 45.20 C (0.01 C steps, physically nothing), the QUICK cosine ranges
0.9852-0.9868, std 4.9e-4 over the 11 points. Between 45.13 and 45.14 C the same noise
draws are read (each operator's generator is consumed in a fixed shape), the converter
ranges are identical, and the first FFN product differs in 2 % of its outputs by at most
0.7 % of its range (ADC codes flipping at their edges); the flips then propagate: from
layer 1 on nearly every value differs, by up to 5-9 % of its range in layers 3-5. A
1e-4 gain change thus re-draws the quantization error of the whole network, and the
cosine re-rolls. It averages over texts: on 64 texts (45.10-45.20 C, 0.02 C steps, 6
points) the std is 1.07e-4, 4.6x smaller (sqrt(16) = 4), so FULL's 256 texts put one
chip's floor near 5e-5; the demo's QUICK figures (4 texts) move by ~1e-3 with any
change upstream, and differences that small are not resolved there.
Cost (same run, 1 thread, shared machine): 39 CPU s per chip; the curve 236 CPU s of
the run's 422 (6 chips; 4 points would be 8 chips, ~2.7x the run without a curve; the
one-seed curve was 4 chips).
"""
from __future__ import annotations

import time

import numpy as np
from scipy.stats import t as student_t

from ..accuracy import CROSSBAR_OMITTED
from . import machine

#: the range of the accuracy-vs-temperature curve (C): programming temperature to the
#: thermal model's ReRAM limit region (thermal.py: 85 C limit; 95 C beyond it)
CURVE_RANGE_C = (27.0, 95.0)


def _make(a, hw, temp_c):
    """Chips of ``a`` whose ReRAM tiers are read at ``temp_c`` (C), programmed and
    calibrated at ``crossbar.t_program_c`` (:class:`..torch_chip.AnalogChip`)."""
    from ..torch_chip import AnalogChip     # torch: only where the accuracy runs
    return lambda ni, seed: AnalogChip(a, nonideal=ni, seed=seed, temp_c=temp_c, hw=hw)


def curve_temperatures(n: int) -> list[float]:
    """``n`` temperatures (C) evenly over :data:`CURVE_RANGE_C` (n = 1: its start)."""
    return [float(t) for t in np.linspace(*CURVE_RANGE_C, n)] if n > 1 \
        else [CURVE_RANGE_C[0]]


def curve_points(xb, protocol) -> int:
    """Points of the curve: ``accuracy_temp_points`` of the crossbar component ``xb``,
    at most ``accuracy_temp_points_quick`` under a protocol smaller than the full one
    (the curve costs one chip run per point per seed; --quick keeps the seeds)."""
    from ..accuracy import FULL
    n = int(xb.get("accuracy_temp_points", 0))
    q = xb.get("accuracy_temp_points_quick")
    return min(n, int(q)) if q is not None and protocol != FULL else n


def paired_summary(temps_c, per_seed, ref_temp_c: float) -> dict:
    """Statistics of a curve over chip seeds. ``per_seed[i][s]``: the cosine at
    ``temps_c[i]`` on seed ``s`` (the same chips at every temperature); ``ref_temp_c``:
    the temperature the paired differences are taken to (the curve point nearest it).
    Returns per temperature: the mean and std (ddof 1; 0 with one seed) over seeds, the
    paired differences to the reference point per seed, their mean, std and standard
    error std / sqrt(n), the half-width of their two-sided 95 % Student-t interval
    ``diff_ci95`` = t(0.975, n - 1) standard errors, and ``resolved``: the interval
    excludes 0 (always False with fewer than 2 seeds, where no spread is known)."""
    c = np.asarray(per_seed, dtype=np.float64)            # (temperature, seed)
    if c.ndim != 2 or c.shape[0] != len(temps_c) or c.shape[1] < 1:
        raise ValueError(f"per_seed must be (temperatures, seeds), got shape {c.shape}")
    n = c.shape[1]
    i_ref = int(np.argmin(np.abs(np.asarray(temps_c, dtype=np.float64) - ref_temp_c)))
    d = c - c[i_ref]

    def std(x):
        return x.std(axis=1, ddof=1) if n > 1 else np.zeros(x.shape[0])
    d_mean, d_std = d.mean(axis=1), std(d)
    sem = d_std / np.sqrt(n)
    ci = sem * (float(student_t.ppf(0.975, n - 1)) if n > 1 else 0.0)
    return {"cosine_mean": c.mean(axis=1).tolist(), "cosine_std": std(c).tolist(),
            "ref_temp_c": float(temps_c[i_ref]),
            "diff_per_seed": d.tolist(), "diff_mean": d_mean.tolist(),
            "diff_std": d_std.tolist(), "diff_sem": sem.tolist(), "diff_ci95": ci.tolist(),
            "resolved": [bool(n > 1 and abs(m) > h) for m, h in zip(d_mean, ci)]}


def accuracy_vs_temperature(a, hw, run, temps_c, progress: bool, seeds=(0,)) -> dict:
    """MiniLM cosine to FP32 with the ReRAM tiers read at each temperature of
    ``temps_c`` (C), every non-ideality as characterized, on each chip of ``seeds``,
    programmed and calibrated at ``crossbar.t_program_c`` (27 C). The chips are the same
    at every temperature (module docstring). Returns the curve as lists per temperature
    (``cosine_mean``, ``cosine_std``: over seeds; ``cosine_min``: over texts and seeds;
    ``nn_agreement``: mean over seeds; ``cosine_per_seed``: one list per temperature)
    and the paired differences to the programming temperature (:func:`paired_summary`)."""
    from ..analog import Nonideal
    from ..retrieval import compare_embeddings
    kept = getattr(run, "chip_ops", None)
    seeds = [int(s) for s in seeds]
    xb = a.component("crossbar")
    t_prog = float(xb.get("t_program_c", 27.0))
    t0, c0 = time.perf_counter(), time.process_time()
    rows = []
    for t in temps_c:
        ms = []
        for s in seeds:
            t1 = time.perf_counter()
            m = compare_embeddings(run.ref, run.embeddings(_make(a, hw, float(t)),
                                                           Nonideal.scaled(1.0), s))
            ms.append(m)
            if progress:
                print(f"[evaluate] MiniLM at ReRAM {t:.1f} C (seed {s}): cosine "
                      f"{m['cosine_mean']:.4f} in {time.perf_counter() - t1:.0f} s",
                      flush=True)
        rows.append((float(t), ms))
    run.chip_ops = kept
    temps = [t for t, _ in rows]
    per_seed = [[m["cosine_mean"] for m in ms] for _, ms in rows]
    out = {"temp_c": temps, "chip_seeds": seeds, "cosine_per_seed": per_seed,
           "cosine_min": [min(m["cosine_min"] for m in ms) for _, ms in rows],
           "nn_agreement": [float(np.mean([m["nn_agreement"] for m in ms]))
                            for _, ms in rows]}
    out.update(paired_summary(temps, per_seed, t_prog))
    out.update({
        "t_program_c": t_prog, "temp_reference": str(xb.get("temp_reference", "none")),
        "eval_time_s": time.perf_counter() - t0, "eval_cpu_s": time.process_time() - c0,
        "statistics": "mean and std (ddof 1) over chip seeds; diff_*: paired difference "
                      "c(T, seed) - c(ref_temp_c, seed), the same chips at every T "
                      "(common random numbers); resolved: |diff_mean| > diff_ci95, the "
                      "two-sided 95 % Student-t half-width t(0.975, seeds - 1) diff_sem, "
                      "diff_sem = diff_std / sqrt(seeds)",
        "calibration": "programmed (write-verify) and calibrated (TIA trims, ADC "
                       "ranges) at t_program_c; read at the tier temperature (no hot "
                       "recalibration); temp_reference 'tile': each tile's gain tracks "
                       "its reference column pair read at the tier temperature",
        "device": "memristor model: state-dependent conductance drift at v_read and "
                  "read noise (Johnson + RTN); crossbar-column IR drop at the read "
                  "temperature, the TIA gain trims (and the calibration reads) from "
                  "its law at t_program_c; the bit-line TIAs' own noise (tia-noise "
                  "model) at the read temperature on every read, the reference "
                  "pair's too"})
    return out


@machine("hetrax", mode="prefill")
def hetrax(a, hw, run, temp_c, progress, scales, ablation=True) -> dict:
    acc = run.run(_make(a, hw, temp_c), scales, progress,
                  names=("ir_drop", "programming_noise", "tia_noise"), ablation=ablation)
    n = curve_points(a.component("crossbar"), run.protocol)
    if n > 0:   # on the chips of the main figure (the run's protocol seeds)
        acc["vs_temperature"] = accuracy_vs_temperature(
            a, hw, run, curve_temperatures(n), progress, range(run.protocol.seeds))
    acc["omitted"] = list(CROSSBAR_OMITTED)
    return acc
