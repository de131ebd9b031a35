"""``imcspice evaluate``: one architecture description, one workload -> report.

The description (:mod:`.arch`) is resolved into figures with sources
(:mod:`.components`), the workload is mapped onto it once (:mod:`.mapping`), priced
(:mod:`.cost`, checked for consistency), and, where the workload is the network we
simulate (MiniLM for RACE-IT/HeTraX, the byte-level LM for gain cells), the same
machine runs it for accuracy. Shape-only workloads (``bert-base``, ``gpt2``, ...) are
priced and labelled as such. The report adds GPU baselines (roofline with the launch
term separate, measured where we have a measurement) and a node projection in which
only digital logic and memories scale.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .. import jsonio
from . import arch as arch_mod
from .accuracy import _log
from . import (clock_tree, components, cost, floorplan, hardware, mapping, plots, scaling,
               thermal_coupled, tia_gating, xbar_loads)
from . import gpu as gpu_mod
from .gpu_anchors import anchor_comparison
from .machines import machine_of
from .plane_schedule import plane_schedule
from .workloads import get_workload

PROJECT_NM = 7
SIMULATED = {"minilm": "minilm", "byte-lm": "byte-lm"}   # networks with an accuracy run
#: node-projection rule per figure scaling kind: does energy / latency / area scale?
SCALES = {"logic": (True, True, True), "sram": (True, True, True),
          "adc": (True, True, True), "wire": (True, False, True),
          "offchip": (False, False, False), "analog": (False, False, False)}


def evaluate(arch: str, out_dir, *, workload: str | None = None, sets=None, models_dir=None,
             quick: bool = False, seq_len: int | None = None, batch: int | None = None,
             progress: bool = True, accuracy: bool = True, scales=None,
             ablation: bool = True, device: str = "cpu") -> dict:
    """Evaluate description ``arch`` (shipped name or .toml) with ``sets`` overrides
    (``["dac.bits=6"]``); writes report.json, report.md and plots into ``out_dir``.
    ``scales``: non-ideality multipliers of the accuracy sweep (default 0, 1 when
    ``quick``, else 0, 0.5, 1, 2, 4; 1 must be among them). ``ablation=False`` skips the
    accuracy ablation (each non-ideality alone / all but one: about ten more runs of
    the network); the seeds and the scale sweep still run. ``device``: where the
    accuracy run's torch models run ("cpu", "cuda")."""
    if scales is not None and 1.0 not in [float(k) for k in scales]:
        raise ValueError("scales must include 1 (the characterized machine)")
    t0 = time.perf_counter()
    a = arch_mod.load(arch, sets or [])
    wl = workload or a.workload["default"]
    shape = get_workload(wl)
    hw = hardware.HardwareModels.from_dir(models_dir, corner=a.corner, temp_c=a.temp_c)
    # crossbar reads priced at the loads of this workload's mapped weights (xbar_loads);
    # an accuracy run re-prices them with its outlier rows removed (_prefill)
    loads = xbar_loads.mapped_loads(a, wl, hw=hw) if components.needs_loads(a) else None
    figures = components.resolve(a, hw, loads)
    if "dac" in a.components:    # the DAC's mode and encoding, before anything is written
        mapping.input_planes(a)
    if clock_tree.CLOCK in a.components:
        clock_tree.check(a)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)   # after every input check: a refusal creates nothing
    simulate = accuracy and SIMULATED.get(wl) == a.workload["default"]
    batch = batch or int(a.workload.get("batch", 1))
    mode = a.workload.get("mode", "prefill")
    _log(f"{a.name} ({a.path}) on {wl}: {'simulated and priced' if simulate else 'priced'}",
         progress)
    if mode == "decode":
        rep = _decode(a, hw, figures, shape, out, quick, seq_len, batch, simulate, progress,
                      scales, device)
    else:
        rep = _prefill(a, hw, figures, shape, out, quick, seq_len, batch, simulate, progress,
                       scales, ablation, device, loads)
    rep.update({"arch": a.name, "arch_file": a.path, "title": a.title, "workload": wl,
                "overrides": list(sets or []), "batch": batch, "quick": quick,
                "technology": f"SKY130 {a.corner} {a.temp_c:g} C, {a.node_nm} nm",
                "description": a.raw, "models": hw.provenance(),
                "wall_time_s": time.perf_counter() - t0})
    if not simulate:
        why = (f"{wl} is priced shape-only: the accuracy run simulates "
               f"{a.workload['default']} on this machine" if accuracy else
               "not requested (cost only)")
        rep["accuracy"] = {"simulated": False, "reason": why}
    (out / "report.json").write_text(jsonio.dumps(rep, indent=2))
    from .report import write_markdown
    write_markdown(rep, out / "report.md")
    _log(f"wrote {out / 'report.json'} and report.md in {rep['wall_time_s']:.1f} s", progress)
    return rep


def _price(a, figures, shape, seq_len, batch, mode="prefill", context=None, digital=None,
           reads=None):
    m = mapping.build(a, shape, seq_len, batch, mode, context, digital, reads)
    sheet = cost.price(m, figures)
    cost.check(a, m, sheet)
    return m, sheet


def _prefill(a, hw, figures, shape, out, quick, seq_len, batch, simulate, progress, scales,
             ablation=True, device="cpu", loads=None):
    from .accuracy import MiniLMRun
    # map once before the (slow) accuracy run: a description that cannot hold the
    # network is refused at once
    xb_ops = [op.qualified_name for op in mapping.build(a, shape, seq_len or 128, batch).ops
              if a.engine_for(op.name, op.kind) == "crossbar"]
    run = MiniLMRun(quick, device=device) if simulate else None
    if seq_len is None:
        seq_len = run.seq_len if run is not None else 128
    # input channels kept digital, by the description's crossbar outlier factor
    factor = float(a.component("crossbar").get("outlier_factor", 6.0)) \
        if "crossbar" in a.components else 6.0
    digital = run.digital_rows(xb_ops, a, hw, factor) if run is not None else {}
    if loads is not None and run is not None:   # the simulated machine's own bit lines
        loads = xbar_loads.mapped_loads(a, shape.name, run.fp32_ranges(a, hw), hw=hw)
        figures = components.resolve(a, hw, loads)
    rep = {"seq_len": seq_len, "mode": "prefill"}
    if loads is not None:
        rep["crossbar_priced_loads"] = loads.summary()
    def price(reads=None):
        """(mapping, sheet, solved temperature): every scheduled plane read priced, or
        the fraction of them ``reads`` the accuracy run made."""
        if not a.floorplan:
            return _price(a, figures, shape, seq_len, batch, digital=digital,
                          reads=reads) + (a.temp_c,)

        def price_at(temps):  # the stack's temperature and its tiers' price together
            f = components.resolve(a, hw, loads, temps)
            return (f,) + _price(a, f, shape, seq_len, batch, digital=digital, reads=reads)
        coupled = thermal_coupled.solve(a, hw, price_at)
        rep["thermal"], temp_c = _thermal(a, coupled.sheet, out, progress, coupled)
        rep["thermal"].update(thermal_coupled.report(a, hw, coupled))
        return coupled.mapping, coupled.sheet, temp_c
    # priced before the (slow) accuracy run: a description the cost refuses is refused
    # at once, and a stack's solved temperature is where the accuracy runs
    m, sheet, temp_c = price()
    if run is not None:
        rep["accuracy"] = _accuracy(a, hw, run, temp_c, quick, progress, scales, ablation)
        if run.plane_reads:   # the reads the characterized chip made, priced (mapping)
            m, sheet, _ = price(run.plane_reads)
        plots.accuracy_vs_strength(rep["accuracy"]["vs_nonideality_scale"],
                                   out / "accuracy_vs_nonideality.png",
                                   f"{a.name}: MiniLM embeddings vs. FP32")
        if "ablation" in rep["accuracy"]:
            from .report import plot_ablation
            plot_ablation(rep["accuracy"], out / "accuracy_ablation.png",
                          f"{a.name}: MiniLM cosine to FP32")
        if "vs_temperature" in rep["accuracy"]:
            plots.accuracy_vs_temperature(rep["accuracy"]["vs_temperature"],
                                          out / "accuracy_vs_temperature.png",
                                          f"{a.name}: MiniLM vs. ReRAM tier temperature",
                                          marker_c=temp_c)
    if "dac" in a.components and getattr(plane_schedule(a), "skip_empty", False):
        rep["crossbar_plane_reads"] = _plane_reads(run.plane_reads if run else {}, temp_c)
    rep.update(_perf(a, m, sheet, _gpu_ops(shape, m), out,
                     f"{a.name}, {shape.name}, seq {seq_len}"))
    return rep


def _accuracy(a, hw, run, temp_c, quick, progress, scales, ablation=True):
    scales = scales or ((0.0, 1.0) if quick else (0.0, 0.5, 1.0, 2.0, 4.0))
    acc = machine_of(a).accuracy(a, hw, run, temp_c, progress, scales, ablation=ablation)
    acc["temp_c"] = temp_c
    loads = acc["crossbar_loads"] = _loads(run.chip_ops)
    if loads:   # what this run's IR drop assumes (report.py, docs/devices.md)
        driven = hw.need("crossbar-column").valid_range.get("frac_active")
        if driven is not None:
            loads["ir_law_rows_driven"] = [float(v) for v in driven]
        loads["ir_profile"] = str(a.component("crossbar").get("ir_profile", "column"))
    from .accuracy import target_check
    acc["target"] = target_check(a, acc)
    return acc


def _plane_reads(fractions: dict, temp_c: float) -> dict:
    """What the cost's plane reads come from: the accuracy run's characterized chip
    (seed 0), the reads its plane schedule made of those it scheduled, per crossbar
    operator (``dac.skip_empty`` skips a plane that drives no row of a tile)."""
    if not fractions:
        return {"made_fraction_mean": 1.0, "source": "no accuracy run, no inputs: every "
                "scheduled plane read priced (an upper bound on what skip_empty reads)"}
    f = np.array(list(fractions.values()))
    return {"made_fraction_mean": float(f.mean()), "made_fraction_min": float(f.min()),
            "made_fraction_max": float(f.max()), "per_operator": dict(fractions),
            "accuracy_temp_c": temp_c,
            "source": "the accuracy run's chip 0 on the evaluation texts (pretrained "
            "network, every non-ideality on): reads made / reads scheduled per crossbar "
            "operator, over its plane reads, tokens and converter groups"}


def _loads(ops) -> dict:
    """The mapped bit-line loads (fraction of the conductance span) of the last run's
    crossbars, the TIA gain trims that calibrate their IR drops, and the spans the compensated
    mapping cut (``span_cut``: fraction of tile bit-line pairs, ``span_min``: the least),
    and each cell's access transistor at the read temperature (``r_access_ohm``)."""
    xbs = getattr(ops, "_xbars", {}).values()
    if not xbs:
        return {}
    loads = np.concatenate([x.loads.ravel() for x in xbs])
    trims = np.concatenate([(x.gain_trim / x.span_gain[None]).ravel() for x in xbs])
    span = 1.0 / np.concatenate([x.span_gain.ravel() for x in xbs])
    return {"median": float(np.median(loads)), "max": float(loads.max()),
            "min": float(loads.min()), "gain_trim_min": float(trims.min()),
            "gain_trim_max": float(trims.max()),
            "span_cut": float((span < 1.0 - 1e-9).mean()), "span_min": float(span.min()),
            "r_access_ohm": float(next(iter(xbs)).dev.r_access_ohm)}


def _thermal(a, sheet, out, progress, coupled=None):
    """The stack's thermal report; ``coupled``: its solution from
    :func:`.thermal_coupled.solve` (None: solved once from ``sheet``)."""
    from .hetrax import stack_thermal, tier_powers
    from .thermal import plot_temperature_map
    powers = tier_powers(a, sheet)
    res, feas = (coupled.result, coupled.feasibility) if coupled else stack_thermal(a, powers)
    t_reram = float(max((pk for pk, t in zip(res.peak_c, res.stack.tiers)
                         if t.kind == "reram"), default=a.temp_c))
    it = (f" after {coupled.iteration.iterations} pricing/thermal iterations "
          f"(converged={coupled.iteration.converged})" if coupled else "")
    _log(f"stack: tier powers {', '.join(f'{g} {p:.3g} W' for g, p in powers.items())} -> "
         f"ReRAM peak {t_reram:.1f} C, feasible={bool(feas)}{it}", progress)
    plot_temperature_map(res, out / "temperature_map.png")
    tiers = sum(floorplan.tier_count(t) for t in a.floorplan["tiers"].values())
    areas = floorplan.tier_areas(a, sheet)
    th = {"die_mm2": a.floorplan["die_mm2"], "tiers": tiers,
          "tier_group_dies": {g: floorplan.tier_count(t) for g, t in a.floorplan["tiers"].items()},
          "tier_group_fitted": [g for g, t in a.floorplan["tiers"].items()
                                if t["count"] == floorplan.FIT],
          "tier_group_area_mm2": {g: u for g, (u, _) in areas.items()},
          "tier_group_capacity_mm2": {g: c for g, (_, c) in areas.items()},
          "tier_power_w": {t.name: float(p) for t, p in zip(res.stack.tiers, res.power_w)},
          "tier_peak_c": {t.name: float(p) for t, p in zip(res.stack.tiers, res.peak_c)},
          "reram_peak_c": t_reram, "feasible": bool(feas),
          "violations": [c.name for c in feas.violations],
          "limits_c": {"reram": feas.limits.reram_max_c, "logic": feas.limits.logic_max_c}}
    return th, t_reram


def _decode(a, hw, figures, shape, out, quick, seq_len, batch, simulate, progress, scales,
            device="cpu"):
    rep = {"mode": "decode"}
    if simulate:
        rep["accuracy"], window = machine_of(a).accuracy(a, hw, quick, progress, scales,
                                                         device=device)
        plots.accuracy_vs_strength(rep["accuracy"]["vs_nonideality_scale"],
                                   out / "accuracy_vs_nonideality.png",
                                   "Gain-cell attention: perplexity (calibrated, no training)",
                                   key="perplexity")
        plots.finetune_history(rep["accuracy"]["finetuned"]["history"],
                               out / "gaincell_finetune_history.png",
                               "Gain-cell attention: how the shipped fine-tuned weights "
                               "were trained")
    else:
        window = min(int(a.component("gaincell")["window"]), shape.max_positions or 10 ** 9)
    ctx = seq_len or window
    m, sheet = _price(a, figures, shape, ctx, batch, "decode", ctx)
    rep["seq_len"] = ctx
    attn = [o for o in _gpu_ops(shape, m, ctx)
            if o.name in ("attn.scores", "attn.softmax", "attn.context")]
    rep.update(_perf(a, m, sheet, attn, out, f"gain-cell attention, {shape.name}, context {ctx}"))
    rep["scope"] = ("attention of one decode step (K/V write, scores, activation, context) "
                    "vs. the same kernels on GPUs, as in Leroux et al.; projections, FFN "
                    "and norms are digital and not priced")
    return rep


def _gpu_ops(shape, m, context: int | None = None):
    """The same operators as the GPU runs them: FP16 weights and activations (the
    accelerator's own activation width may be narrower)."""
    from .workloads import operator_graph
    return operator_graph(shape, m.seq_len, batch=m.batch, mode=m.mode, context_len=context,
                          bytes_per_el=2)


def _perf(a, m, sheet, gpu_ops, out: Path, title: str) -> dict:
    s = sheet.summary()
    s["mapping"] = {"provisioned": m.provisioned, "demanded": m.demanded,
                    "tiles": {k: list(v) for k, v in m.tiles.items()},
                    "serialized": m.notes, "not_priced": m.unmapped,
                    "digital_rows": m.digital_rows}
    s["gpu"] = gpu_comparison(gpu_ops, sheet.latency_s, sheet.energy_j)
    s["tia_gating"] = tia_gating.bracket(m, sheet)
    from .gpu_measured import for_workload
    meas = for_workload(m.workload, m.seq_len, m.mode, m.batch)
    h200 = s["gpu"].get("h200", {})
    for r in meas:  # the roofline's error against the measurement of the same shape
        model = h200.get("latency_s") if r["how"] == "eager" else h200.get("roofline_latency_s")
        r["h200_model_latency_s"] = model
        r["model_error"] = model / r["latency_s"] - 1 if model else None
        r["speedup"] = r["latency_s"] / sheet.latency_s
        if r.get("energy_j"):
            r["energy_ratio"] = r["energy_j"] / sheet.energy_j
    s["gpu_measured"] = meas
    s["gpu_anchors"] = [{k: r[k] for k in ("id", "gpu", "workload", "scope", "batch",
                                           "seq_len", "context_len", "precision", "software",
                                           "citation", "measured_latency_s",
                                           "roofline_latency_s", "latency_s", "roofline_error",
                                           "latency_error") if k in r}
                        for r in anchor_comparison()]
    s["projection"] = projection(sheet)
    s["projection"]["gpu"] = gpu_comparison(gpu_ops, s["projection"]["latency_s"],
                                            s["projection"]["energy_j"])
    plots.energy_breakdown(sheet.by(sheet.energy, "component"), out / "energy_breakdown.png",
                           title)
    plots.latency_per_layer(sheet.by(sheet.latency, "layer"), out / "latency_per_layer.png",
                            title)
    return s


def gpu_comparison(ops, latency_s: float, energy_j: float) -> dict:
    out = {}
    for key in gpu_mod.BASELINE_GPUS:
        spec = gpu_mod.GPUS[key]
        g = gpu_mod.gpu_estimate(ops, spec)
        out[key] = {"name": spec.name, "latency_s": g["latency_s"], "energy_j": g["energy_j"],
                    "roofline_latency_s": g.get("roofline_latency_s"),
                    "roofline_energy_j": g.get("roofline_energy_j"),
                    "launch_time_s": g.get("launch_time_s"), "fusion": g.get("fusion"),
                    "speedup": g["latency_s"] / latency_s if latency_s else None,
                    "energy_ratio": g["energy_j"] / energy_j if energy_j else None}
        if latency_s and energy_j:  # energy-delay product ratio, GPU / ours
            out[key]["edp_ratio"] = out[key]["speedup"] * out[key]["energy_ratio"]
        if g.get("roofline_latency_s") and latency_s:
            out[key]["speedup_no_launch"] = g["roofline_latency_s"] / latency_s
            out[key]["energy_ratio_no_launch"] = g["roofline_energy_j"] / energy_j
    return out


def projection(sheet, node_nm: int = PROJECT_NM) -> dict:
    """Project entry by entry: only figures whose scaling kind is logic, SRAM or
    converter logic move with Stillmaker & Baas (wire energy with the wire rule);
    ``analog`` figures (array RC and read energies, pulse widths, ACAM search,
    capacitor charges, bias currents) and off-chip parts keep their SKY130 values, and
    so does leakage (``static``): Stillmaker & Baas fit dynamic energy and delay, not
    leakage power, which does not fall with them."""
    pr = scaling.project_from_sky130(node_nm)

    def proj(entries, which):
        total, kept, moved = 0.0, set(), set()
        for e in entries:
            scales = SCALES[e.scaling][which] and e.figure != "static"
            if not scales:
                v = e.amount
                kept.add(e.component)
            elif which == 0:
                v = pr.energy(e.amount, e.scaling)
            elif which == 1:
                v = pr.delay(e.amount)
            else:
                v = pr.area(e.amount, e.scaling if e.scaling != "analog" else "logic")
            if scales:
                moved.add(e.component)
            total += v
        return total, sorted(moved), sorted(kept - moved)

    e, e_moved, e_kept = proj(sheet.energy, 0)
    t, t_moved, t_kept = proj(sheet.latency, 1)
    ar, a_moved, a_kept = proj(sheet.area, 2)
    return {"label": pr.label, "node_nm": node_nm, "energy_j": e, "latency_s": t,
            "area_mm2": ar, "notes": list(pr.notes),
            "scaled": {"energy": e_moved, "latency": t_moved, "area": a_moved},
            "kept_at_sky130": {"energy": e_kept, "latency": t_kept, "area": a_kept},
            "rule": "only digital logic, SRAM/eDRAM and converter logic scale (Stillmaker & "
                    "Baas 2017), and wires (the clock tree) as C V^2 with their "
                    "length following the die; analog array physics (RC settling, read pulses, ACAM "
                    "search, capacitor charges, bias currents) and leakage (static: "
                    "the fits are of dynamic energy and delay) keep their SKY130 "
                    "values"}
