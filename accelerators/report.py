"""report.md of an evaluation: where every joule, second and mm² comes from.

Headline figures, the provenance shares (fraction of energy / latency / area from
``spice`` models, ``literature`` and ``assumption``), the entry tables with each
entry's source, GPU baselines (roofline without and with the launch term, measured
where available), the node projection's rule, the thermal check, and the comparison
with the paper. The word "characterized" is used for spice-sourced figures only.
"""
from __future__ import annotations

import math
from pathlib import Path

from . import tia_gating
from .clock_tree import CLOCK
from .papers import comparison_section, fmt, load_papers


def _pct(v: float) -> str:
    return f"{100 * v:.1f} %"


def _entries(rows: list, unit: str, total: float) -> list[str]:
    L = ["| component | figure | count | amount | share | source | detail |",
         "|---|---|---|---|---|---|---|"]
    for r in rows:
        det = r["detail"].replace("|", "/")
        L.append(f"| {r['component']} | {r['figure']} | {r['count']:.4g} | "
                 f"{fmt(r['amount'], unit)} | {_pct(r['amount'] / total if total else 0)} | "
                 f"{r['source']} | {det} |")
    return L


def render(rep: dict, level: int = 1) -> list[str]:
    h = "#" * level
    acc = rep["accuracy"]
    share = rep["provenance_share"]
    L = [f"{h} {rep['title']}: {rep['workload']}"
         + ("" if acc.get("simulated") else " (shape-only)"), "",
         f"Description `{rep['arch_file']}`"
         + (f" with `--set {' '.join(rep['overrides'])}`" if rep["overrides"] else "")
         + f"; {rep['technology']}; workload **{rep['workload']}**, {rep['mode']}, "
           f"seq/context {rep['seq_len']}, batch {rep['batch']}.", ""]
    if rep.get("scope"):
        L += [f"Scope: {rep['scope']}.", ""]
    if not acc.get("simulated"):
        L.append(f"Accuracy: not simulated ({acc['reason']}).")
    elif "cosine_mean" in acc:
        L += _minilm_accuracy(acc, h)
    else:
        ppl, ft = acc["perplexity"], acc["finetuned"]
        L.append(f"Accuracy ({acc['workload']}, window {acc['window']}, "
                 f"{acc['heldout_tokens']} held-out bytes; {acc['attention_form']}): "
                 f"perplexity FP32 {ppl['fp32']:.3f}; without training: linear cells "
                 f"{ppl['linear']:.3f}, uncalibrated {ppl['uncalibrated']:.3f}, calibrated "
                 f"{ppl['calibrated']:.3f}; fine-tuned (shipped, `imcspice finetune`, "
                 f"weights {ft['weights']}) **{ppl['fine_tuned']:.3f}** "
                 f"({acc['fine_tuned_over_fp32']:.3f}x FP32; target <= "
                 f"{ft['target_ratio']:.2f}x).")
        rec = ft["recorded_by_regeneration_run"]
        L += ["", f"The fine-tuning run itself recorded ({ft['recorded_heldout_tokens']} "
              f"bytes): linear cells after stage 1 {rec['linear']:.3f}, uncalibrated "
              f"{rec['uncalibrated']:.3f}, calibrated {rec['calibrated']:.3f}, fine-tuned "
              f"{rec['fine_tuned']:.3f} ({rec['fine_tuned'] / rec['fp32']:.3f}x its FP32 "
              f"{rec['fp32']:.3f})."]
        if acc.get("priced_not_simulated"):
            L += ["", "Priced but not simulated (the simulated form is the published one): "
                  + "; ".join(acc["priced_not_simulated"]) + "."]
    pr = rep["projection"]
    L += ["", "| | latency | energy | area |", "|---|---|---|---|",
          f"| SKY130, this description | {fmt(rep['latency_s'], 's')} | "
          f"{fmt(rep['energy_j'], 'J')} | {fmt(rep['area_mm2'], 'mm²')} |",
          f"| {pr['node_nm']} nm (projection) | {fmt(pr['latency_s'], 's')} | "
          f"{fmt(pr['energy_j'], 'J')} | {fmt(pr['area_mm2'], 'mm²')} |", "",
          f"{h}# Where the numbers come from", "",
          "| | spice (characterized) | literature | assumption |", "|---|---|---|---|"]
    for k in ("energy", "latency", "area"):
        s = share[k]
        L.append(f"| {k} | {_pct(s['spice'])} | {_pct(s['literature'])} | "
                 f"{_pct(s['assumption'])} |")
    L += ["", "Energy per inference:", ""]
    L += _entries(rep["energy_entries"], "J", rep["energy_j"])
    L += ["", "Latency (critical path; operators and their steps run one after another):", ""]
    L += _entries(rep["latency_entries"], "s", rep["latency_s"])
    L += ["", "Area (provisioned instances):", ""]
    L += _entries(rep["area_entries"], "mm²", rep["area_mm2"])
    clock = [e for e in rep["energy_entries"] if e["component"] == CLOCK]
    said = (f"{_pct(sum(e['amount'] for e in clock) / rep['energy_j'])} of the energy "
            f"({CLOCK} above: the H-tree to its leaves, each H gated while the leaves below "
            f"it idle)" if clock else f"not priced (the description has no {CLOCK})")
    L += ["", f"Clock distribution: {said}. Each registered block's own clock pins and "
              "buffers are in its energy."]
    if rep.get("tia_gating"):
        L += ["", tia_gating.sentence(rep["tia_gating"], lambda j: fmt(j, "J"))]
    pl = rep.get("crossbar_priced_loads")
    if pl:
        L += ["", f"Crossbar column reads priced at the mapped bit-line loads ({pl['bit_lines']} "
                  f"bit lines, median {pl['median']:.3f}, max {pl['max']:.3f} of the "
                  f"conductance span; {pl['source']}): read window = the slowest column's "
                  "settling time, energies the mean over the bit lines."]
    made = rep.get("crossbar_plane_reads")
    if made:
        span = (f" (mean over the crossbar operators, {made['made_fraction_min']:.1%} to "
                f"{made['made_fraction_max']:.1%})" if "per_operator" in made else "")
        L += ["", f"Crossbar plane reads priced: {made['made_fraction_mean']:.1%} of the "
                  f"scheduled ones{span}, empty planes skipped (dac.skip_empty); "
                  f"{made['source']}. Each tile's decision per plane is priced (skip_or)."]
    mp = rep["mapping"]
    if mp["serialized"]:
        n = len(mp["serialized"])
        L += ["", f"Serialized on a shared pool ({n} operators), e.g. {mp['serialized'][0]}."]
    if mp["not_priced"]:
        L += ["", f"Not priced (outside this accelerator): {', '.join(mp['not_priced'][:8])}"
                  + (" ..." if len(mp["not_priced"]) > 8 else "") + "."]
    if "thermal" in rep:
        th = rep["thermal"]
        L += ["", f"{h}# Floorplan and thermal", "",
              f"Die {th['die_mm2']:g} mm² per tier, {th['tiers']} tiers ("
              + ", ".join(f"{g} {n}" + (" fitted to its area" if g in th.get(
                  "tier_group_fitted", ()) else "") for g, n in th.get(
                  "tier_group_dies", {}).items()) + "): area "
              f"{rep['area_mm2']:.4g} mm² <= {th['die_mm2'] * th['tiers']:.4g} mm²; per tier "
              "group " + ", ".join(f"{g} {u:.4g} of {th['tier_group_capacity_mm2'][g]:.4g} mm²"
                                   for g, u in th["tier_group_area_mm2"].items()) + ". "
              f"ReRAM tiers peak {th['reram_peak_c']:.1f} °C (accuracy evaluated there); "
              f"feasible: {th['feasible']} (limits {th['limits_c']})."]
        if "iterations" in th:   # cost priced at the same temperatures (thermal_coupled)
            its = th["iterations"]
            L += ["", "Cost and temperature solved together: "
                  + " -> ".join(", ".join(f"{g} {t:.2f}" for g, t in i["priced_c"].items())
                                or "described" for i in its)
                  + f" °C priced ({len(its)} thermal solves, converged: {th['converged']}, "
                  f"residual {th['residual_c']:.3f} °C < {th['tol_c']:g}); components priced "
                  "at their tier's peak: " + ", ".join(
                      f"{c} {t:.1f} °C" for c, t in th["component_temp_c"].items())
                  + ("; models characterized at fewer temperatures (clipped): "
                     + ", ".join(th["component_model_temp_range_c"])
                     if th["component_model_temp_range_c"] else "")
                  + (f"; at the described {a_t:g} °C (no temperature-swept model): "
                     + ", ".join(th["at_described_temp_c"])
                     if (a_t := next(iter(th["at_described_temp_c"].values()), None))
                     is not None else "") + "."]
    L += ["", f"{h}# GPU baselines (same operators)", "",
          "| GPU | roofline | + launch | latency used | energy | speed-up | energy gain | "
          "speed-up w/o launch | 7 nm speed-up / energy gain |",
          "|---|---|---|---|---|---|---|---|---|"]
    for k, g in rep["gpu"].items():
        gp = pr["gpu"][k]
        L.append(f"| {g['name']} | {fmt(g.get('roofline_latency_s'), 's')} | "
                 f"{fmt(g.get('launch_time_s'), 's')} | {fmt(g['latency_s'], 's')} | "
                 f"{fmt(g['energy_j'], 'J')} | {g['speedup']:.3g}x | {g['energy_ratio']:.3g}x | "
                 f"{g.get('speedup_no_launch', float('nan')):.3g}x | "
                 f"{gp['speedup']:.3g}x / {gp['energy_ratio']:.3g}x |")
    fusion = next((g.get("fusion") for g in rep["gpu"].values() if g.get("fusion")), None)
    if fusion:
        L += ["", f"GPU model: roofline per kernel, launch overhead a separate term; fusion: "
                  f"{fusion}."]
    if rep.get("gpu_measured"):
        L += ["", "Measured on a GPU, same network shape, sequence and batch (energy: NVML, "
                  "whole board incl. idle; the model row is the H200 roofline with launch "
                  "for eager, without for a CUDA graph):", "",
              "| measurement | latency | energy (above idle) | H200 model | model error | "
              "speed-up | energy gain |", "|---|---|---|---|---|---|---|"]
        for m in rep["gpu_measured"]:
            err = f"{100 * m['model_error']:+.0f} %" if m.get("model_error") is not None \
                else "n/a"
            L.append(f"| {m['device']}: {m['what']} | {fmt(m['latency_s'], 's')} | "
                     f"{fmt(m.get('energy_j'), 'J')} ({fmt(m.get('energy_above_idle_j'), 'J')})"
                     f" | {fmt(m.get('h200_model_latency_s'), 's')} | {err} | "
                     f"{m['speedup']:.3g}x | {m.get('energy_ratio', float('nan')):.3g}x |")
        L += ["", f"Source: {rep['gpu_measured'][0]['source']}."]
    if rep.get("gpu_anchors"):
        L += ["", "The GPU model against published measurements of the same kernels (error = "
                  "model / measured - 1):", "",
              "| anchor | GPU | software | measured | roofline (error) | + launch (error) |",
              "|---|---|---|---|---|---|"]
        for a in rep["gpu_anchors"]:
            L.append(f"| {a['id']} | {a['gpu']} | {a['software']} | "
                     f"{fmt(a['measured_latency_s'], 's')} | {fmt(a['roofline_latency_s'], 's')} "
                     f"({100 * a['roofline_error']:+.0f} %) | {fmt(a['latency_s'], 's')} "
                     f"({100 * a['latency_error']:+.0f} %) |")
        L += ["", "Anchor sources: " + "; ".join(dict.fromkeys(
            a["citation"].split(";")[0] for a in rep["gpu_anchors"])) + "."]
    L += ["", f"Projection: {pr['label']}. Rule: {pr['rule']}. Scaled: energy "
              f"{', '.join(pr['scaled']['energy']) or '-'}; kept at SKY130: energy "
              f"{', '.join(pr['kept_at_sky130']['energy']) or '-'}, latency "
              f"{', '.join(pr['kept_at_sky130']['latency']) or '-'}.", ""]
    if rep["arch"] not in load_papers():   # a variant or a new accelerator: no paper yet
        return L + ["", f"No published figures for {rep['arch']} in data/papers.toml to "
                        "compare with."]
    L += [line.replace("### ", h + "# ", 1) if line.startswith("### ") else line
          for line in comparison_section(rep["arch"], rep)]
    return L


def _calib_batches(p: dict) -> str:
    """The calibration batching of protocol ``p`` for the accuracy sentence ('' for one
    batch, or a report written before the protocol recorded it)."""
    n, k = p.get("calibration_batches", 1), p.get("calibration_batch_tokens_min")
    return f" in {n} batches of >= {k} tokens, ranges averaged over them" if n > 1 else ""


def _decimals(std: float) -> int:
    """Decimals that show a spread: 4, or as many as a smaller nonzero std needs for
    its first digit (a std of 2e-5 printed at 4 decimals reads as no spread)."""
    return 4 if not 0.0 < std < 5e-5 else math.ceil(-math.log10(std))


def _pm(mean: float, std: float) -> str:
    d = _decimals(std)
    return f"{mean:.{d}f} ± {std:.{d}f}"


def _over_chips(s: dict) -> str:
    """Mean ± std of a cosine over chips; one chip's figure is named as such (its std
    is no spread)."""
    if len(s.get("seeds", [])) > 1:
        return _pm(s["cosine_mean"], s["cosine_std"])
    return f"{s['cosine_mean']:.4f} (1 chip)"


def _minilm_accuracy(acc: dict, h: str) -> list[str]:
    """The accuracy paragraph and ablation table of a MiniLM run."""
    p = acc.get("protocol", {})
    d = _decimals(acc.get("cosine_std", 0.0))
    seeds = ", ".join(f"{c:.{d}f}" for c in acc.get("seeds", []))
    L = [f"Accuracy ({acc['workload']}; protocol: {acc['sentences']} texts, mean "
         f"{acc['tokens_mean']:.1f} tokens (max {acc.get('tokens_max', 'n/a')}), "
         f"{p.get('seeds', 1)} chip seeds, {p.get('calibration_sentences', '?')} calibration "
         f"texts{_calib_batches(p)}; the network priced below): cosine to FP32 "
         f"**{_pm(acc['cosine_mean'], acc.get('cosine_std', 0.0))}** (mean ± std over "
         f"seeds: {seeds}), min "
         f"{acc['cosine_min']:.4f}; nearest-neighbour agreement {acc['nn_agreement']:.3f}."]
    t = acc.get("target")
    if t:
        if "reached" in t:
            L += ["", f"Target ({t['what']}): {'reached' if t['reached'] else 'not reached'} "
                      f"with {acc['cosine_mean']:.4f}"
                      + (" by a model without what is stated below" if acc.get("omitted")
                         else "")
                      + ("" if t["protocol_complete"] else
                         f" (this run: {len(acc.get('seeds', []))} seeds, a smaller protocol"
                         " than the target's)") + "."]
        else:
            L += ["", f"Target: {t['what']}: {acc['cosine_mean']:.4f} at "
                      f"{acc.get('temp_c', float('nan')):.1f} °C."]
        if acc.get("crossbar_read_model") is False:
            L[-1] += (" The crossbar cells are read as linear conductances without read "
                      "noise (`crossbar.read_model = false`, an assumption): with the "
                      "memristor read model HeTraX's tiers use (`--set "
                      "crossbar.read_model=true`) the figure is lower (docs/devices.md).")
    if acc.get("omitted"):
        L += ["", "**Not in this accuracy figure**, though the circuit priced below has "
                  "it: " + "; ".join(acc["omitted"]) + "."]
    if "vs_temperature" in acc:
        L += _temperature_curve(acc["vs_temperature"], h)
    ft = acc.get("fine_tuned")
    if ft:
        pre = ft.get("pretrained_same_chips")
        trained = ft.get("trained", "LayerNorm and bias tensors")
        L += ["", f"Hardware-aware fine-tuned (`imcspice finetune --arch race-it`, "
                  f"{trained} {ft['weights']}; {ft['sentences']} texts, chips "
                  f"{', '.join(str(c) for c in ft['chips'])} never trained on): cosine to "
                  f"FP32 **{_over_chips(ft)}**"
                  + (f" against {_over_chips(pre)} pretrained on the same chips and texts"
                     if pre else "")
                  + f" (target >= {ft['target_cosine_mean_min']:.2f})."]
        rec = ft.get("recorded_by_regeneration_run", {})
        if "after" in rec:
            ov = ft.get("regeneration_overrides") or []
            L[-1] += (f" The regeneration run recorded {_over_chips(rec['after'])} over "
                      f"chips {', '.join(str(c) for c in ft['regeneration_chips'])} "
                      f"({ft['regeneration_sentences']} texts"
                      + (f"; on the description with {', '.join(ov)}" if ov else "")
                      + (f"; on chips without {', '.join(ft['regeneration_without'])}, "
                         "which the figure above has" if ft.get("regeneration_without")
                         else "") + ")"
                      + (f" against {_over_chips(rec['before'])} pretrained"
                         if "before" in rec else "") + ".")
    if "ablation" in acc:
        keys = list(acc["ablation"])
        wq = acc.get("ablation_with_quantization", {})
        L += ["", f"{h}# Accuracy ablation (seed {acc.get('ablation_seed', 0)}; cosine to "
                  "FP32)", "",
              f"All off (ideal converters and devices): {acc['all_off']:.4f}; quantization "
              f"only: {acc['quantization_only']:.4f}. ACAM mismatch moves quantizer "
              "thresholds, so alone (without quantization) it changes nothing.", "",
              "| non-ideality | only this one | all but this one | with quantization |",
              "|---|---|---|---|"]
        for k in keys:
            w = f"{wq[k]:.4f}" if k in wq else "-"
            L.append(f"| {k} | {acc['ablation'][k]:.4f} | {acc['ablation_all_but'][k]:.4f} | "
                     f"{w} |")
        ld = acc.get("crossbar_loads")
        if ld:
            L += ["", f"Crossbar bit-line loads (fraction of the conductance span, mapped): "
                      f"median {ld['median']:.3f}, max {ld['max']:.3f}; each bit line's TIA "
                      f"gain trimmed at its own load ({ld['gain_trim_min']:.3f}-"
                      f"{ld['gain_trim_max']:.3f})."]
            L[-1] += _ir_profile_sentence(ld)
    return L


def _ir_profile_sentence(ld: dict) -> str:
    """What the IR drop of the accuracy run assumes: the rows its law was characterized
    with, and how a bit line's loss is shared by its cells (``crossbar.ir_profile``)."""
    out = ""
    lo, hi = ld.get("ir_law_rows_driven", (None, None))
    profile = ld.get("ir_profile")
    r_acc = ld.get("r_access_ohm", 0.0) if profile in ("ladder", "compensated") else 0.0
    cell = (f"its access transistor ({r_acc:.0f} ohm, from the crossbar-column model's "
            "fitted wire-free fraction) and its position" if r_acc > 0 else "its position")
    if lo is not None and lo == hi:
        out += (f" The IR-drop law was characterized with {lo:.0%} of a column's rows "
                "driven (crossbar-column `frac_active`). A bit-plane read drives fewer: "
                "ngspice finds the loss nearly independent of how many, but not of the "
                "driven cells' states, which the law carries "
                + ("only through each cell's access transistor" if r_acc > 0 else
                   "not at all") + " (docs/devices.md).")
    if profile == "column":
        out += (" Every cell of a bit line takes its column's loss (`crossbar.ir_profile "
                "= \"column\"`), which the trims restore: an assumption that the mapping "
                "compensated each cell's position along the wire, at no cost (docs/devices.md "
                "measures it against `\"compensated\"`, which models that mapping, and "
                "`\"ladder\"`, which has none).")
    elif profile == "ladder":
        out += (f" Each cell's share of the loss follows {cell} along the bit line "
                "(`crossbar.ir_profile = \"ladder\"`, the column's nodal equations); the "
                "trims restore each column's mean only.")
    elif profile == "compensated":
        out += (f" Each cell's share of the loss follows {cell} along the bit line, and "
                "the mapping set each cell's target against it (`crossbar.ir_profile = "
                "\"compensated\"`, the Dot-Product Engine's conversion, Hu et al. DAC 2016)")
        if ld.get("span_cut"):
            out += (f"; {ld['span_cut']:.1%} of the tiles' bit-line pairs needed more "
                    f"than g_max and were mapped onto a smaller span (down to "
                    f"{ld['span_min']:.2f} of it), their TIA gain raised to match, which "
                    "gives up signal against the noise")
        out += (". The cost prices the compensated conductances' loads (docs/devices.md).")
    return out


def _temperature_curve(c: dict, h: str) -> list[str]:
    """The accuracy-vs-tier-temperature table (machines/hetrax.py): mean ± std over
    chip seeds and the paired difference to the programming temperature's point."""
    n = len(c.get("chip_seeds", [])) or 1
    L = ["", f"{h}# Accuracy vs. ReRAM tier temperature ({n} chip seeds, the same chips at "
             f"every temperature; programmed and calibrated at {c['t_program_c']:g} °C, "
             f"temperature reference: {c['temp_reference']})", "",
         f"| tier (°C) | cosine mean ± std | per seed | paired diff. to "
         f"{c.get('ref_temp_c', c['t_program_c']):g} °C (mean ± std) | resolved "
         "(95 % t interval excludes 0) |", "|---|---|---|---|---|"]
    for i, t in enumerate(c["temp_c"]):
        std = c["cosine_std"][i] if "cosine_std" in c else 0.0
        d = _decimals(std)
        per = ", ".join(f"{v:.{d}f}" for v in c["cosine_per_seed"][i]) \
            if "cosine_per_seed" in c else "-"
        diff = (f"{c['diff_mean'][i]:+.5f} ± {c['diff_std'][i]:.5f}"
                if "diff_mean" in c else "-")
        res = ("yes" if c["resolved"][i] else "no") if "resolved" in c else "-"
        L.append(f"| {t:.1f} | {_pm(c['cosine_mean'][i], std)} | {per} | {diff} | {res} |")
    return L


def plot_ablation(acc: dict, out: Path, title: str) -> Path:
    """Bar chart of the ablation (only / all but / with quantization) with the all-on
    mean ± std over seeds as a band."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    keys = list(acc["ablation"])
    wq = acc.get("ablation_with_quantization", {})
    fig = Figure(figsize=(6.8, 4.4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    x = range(len(keys))
    for off, (label, vals) in zip((-0.27, 0.0, 0.27), (
            ("only this one", [acc["ablation"][k] for k in keys]),
            ("all but this one", [acc["ablation_all_but"][k] for k in keys]),
            ("with quantization", [wq.get(k, float("nan")) for k in keys]))):
        ax.bar([i + off for i in x], vals, width=0.27, label=label)
    m, sd = acc["cosine_mean"], acc.get("cosine_std", 0.0)
    ax.axhspan(m - sd, m + sd, color="k", alpha=0.15)
    ax.axhline(m, color="k", lw=1, label=f"all on: {m:.4f} ± {sd:.4f} "
                                          f"({len(acc.get('seeds', []))} seeds)")
    lo = min([acc["all_off"], m - sd] + [v for d in (acc["ablation"], acc["ablation_all_but"],
                                                     wq) for v in d.values()])
    # from 0, or below it where a configuration's cosine is negative (noise-dominated)
    ax.set_ylim(min(0.0, lo - 0.02) if lo < 0.0 else max(0.0, lo - 0.02), 1.002)
    if lo < 0.0:
        ax.axhline(0.0, color="k", lw=0.5)
    ax.set_xticks(list(x), keys)
    ax.set_ylabel("cosine to FP32")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    return out


def write_markdown(rep: dict, path: Path) -> Path:
    L = render(rep)
    L += [""] + [f"![{p.stem}]({p.name})" for p in sorted(path.parent.glob("*.png"))]
    path.write_text("\n".join(L) + "\n")
    return path
