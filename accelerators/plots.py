"""Report plots (matplotlib Agg canvas: works without a display)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def _save(fig: Figure, out: Path) -> Path:
    FigureCanvasAgg(fig)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    return out


def energy_breakdown(by_unit: dict[str, float], out: Path, title: str) -> Path:
    fig = Figure(figsize=(6.4, 3.6))
    ax = fig.add_subplot()
    names = list(by_unit)
    vals = [by_unit[n] for n in names]
    ax.barh(names[::-1], vals[::-1], color="tab:blue")
    ax.set_xscale("log")
    ax.set_xlabel("energy per forward pass [J]")
    total = sum(vals)
    for i, v in enumerate(vals[::-1]):
        ax.text(v, i, f" {100 * v / total:.1f} %", va="center", fontsize=8)
    ax.set_title(f"{title}: energy by unit")
    return _save(fig, out)


def latency_per_layer(by_layer: dict[int, float], out: Path, title: str) -> Path:
    fig = Figure(figsize=(6.4, 3.4))
    ax = fig.add_subplot()
    layers = list(by_layer)
    ax.bar([str(k) if k >= 0 else "emb/head" for k in layers], [by_layer[k] * 1e6 for k in layers],
           color="tab:orange")
    ax.set_xlabel("layer")
    ax.set_ylabel("latency [µs]")
    ax.set_title(f"{title}: latency per layer")
    return _save(fig, out)


def accuracy_vs_strength(sweep: dict[str, dict], out: Path, title: str,
                         key: str | None = None) -> Path:
    fig = Figure(figsize=(5.6, 3.6))
    ax = fig.add_subplot()
    xs = [float(k) for k in sweep]
    if key is None:
        for k, label in (("cosine_mean", "cosine similarity (mean)"),
                         ("cosine_min", "cosine similarity (min)"),
                         ("nn_agreement", "nearest-neighbour agreement")):
            ax.plot(xs, [sweep[s][k] for s in sweep], "o-", label=label)
        ax.set_ylabel("vs. FP32")
        ax.legend(fontsize=8)
    else:
        ax.plot(xs, [sweep[s][key] for s in sweep], "o-")
        ax.set_ylabel(key)
    ax.axvline(1.0, color="grey", ls=":", lw=1)
    ax.set_xlabel("non-ideality scale (1 = as characterized in SPICE)")
    ax.set_title(title, fontsize=10)
    return _save(fig, out)


def accuracy_vs_temperature(curve: dict, out: Path, title: str,
                            marker_c: float | None = None) -> Path:
    """MiniLM accuracy vs. the ReRAM tier temperature (``curve``: the
    ``vs_temperature`` entry of a HeTraX accuracy report); ``marker_c``: the stack's
    predicted tier temperature, drawn as a dotted line on each panel.

    Top: the cosine mean over chip seeds with error bars of its std over seeds
    (``cosine_std``; none in a one-seed curve), the worst text's cosine and the
    nearest-neighbour agreement. Bottom (where the curve has ``diff_mean``): the paired
    difference to the programming temperature's point, mean over seeds with error bars
    of its two-sided 95 % Student-t interval (``diff_ci95``; 2 standard errors in a
    curve without it): a point whose bar misses 0 is a resolved change."""
    paired = "diff_mean" in curve
    fig = Figure(figsize=(5.6, 5.4 if paired else 3.6))
    ax = fig.add_subplot(2 if paired else 1, 1, 1)
    xs = curve["temp_c"]
    std = curve.get("cosine_std")
    n = len(curve.get("chip_seeds", [])) or 1
    ax.errorbar(xs, curve["cosine_mean"], yerr=std, fmt="o-", capsize=3,
                label=f"cosine similarity (mean \u00b1 std, {n} chip"
                      f"{'s' if n > 1 else ''})")
    for k, label in (("cosine_min", "cosine similarity (min)"),
                     ("nn_agreement", "nearest-neighbour agreement")):
        ax.plot(xs, curve[k], "o-", label=label)
    ax.set_ylabel("vs. FP32")
    ax.legend(fontsize=8)
    axes = [ax]
    if paired:
        bx = fig.add_subplot(2, 1, 2, sharex=ax)
        ci = curve.get("diff_ci95")
        bx.errorbar(xs, curve["diff_mean"],
                    yerr=ci if ci is not None else 2 * np.asarray(curve["diff_sem"]),
                    fmt="o-", capsize=3, color="tab:red",
                    label="paired difference, mean \u00b1 " +
                          ("95 % t interval" if ci is not None else "2 s/\u221an"))
        bx.axhline(0.0, color="grey", lw=0.8)
        bx.set_ylabel(f"cosine \u2212 cosine at {curve.get('ref_temp_c', 27.0):g} \u00b0C")
        bx.legend(fontsize=8)
        axes.append(bx)
    if marker_c is not None:
        for x in axes:
            x.axvline(marker_c, color="grey", ls=":", lw=1)
    axes[-1].set_xlabel(f"ReRAM tier temperature (\u00b0C); programmed and calibrated at "
                        f"{curve.get('t_program_c', 27.0):g} \u00b0C")
    ax.set_title(title, fontsize=10)
    return _save(fig, out)


def finetune_history(runs: list[dict], out: Path, title: str, target_ratio: float = 1.10) -> Path:
    """How a shipped gain-cell checkpoint was trained (``runs``:
    :func:`.finetune_resume.history`, oldest first). Top: each run's stage-3
    calibration-batch loss (training text) against the cumulative stage-3 step; a new
    run restarts the optimizer and its schedule. Bottom: held-out perplexity at the end
    of each run, beside FP32 and ``target_ratio`` x FP32."""
    fig = Figure(figsize=(6.4, 5.2))
    ax, bx = fig.add_subplot(2, 1, 1), fig.add_subplot(2, 1, 2)
    for i, r in enumerate(runs):
        for key, style in (("validation", "-"), ("validation_average", ":")):
            if r.get(key):
                x, y = np.asarray(r[key]).T
                ax.plot(x, y, style, lw=1, color=f"C{i % 10}",
                        label=f"run {i + 1} (seed {r['seed']})" if key == "validation"
                        else None)
        ax.axvline(r["stage3_steps_before"], color="k", ls=":", lw=0.6)   # a restart
    ax.set_ylabel("calibration-batch loss (nats)")
    ax.legend(fontsize=7, ncol=2)
    ends = [r["stage3_steps_before"] + r["stage3_steps"] for r in runs]
    bx.plot(ends, [r["fine_tuned"] for r in runs], "o-", label="fine-tuned (held-out)")
    fp32 = runs[-1]["fp32"]
    bx.axhline(fp32, color="k", lw=1, label=f"FP32 {fp32:.2f}")
    bx.axhline(target_ratio * fp32, color="k", ls="--", lw=1,
               label=f"target {target_ratio:g}x FP32 {target_ratio * fp32:.2f}")
    bx.set_ylabel("perplexity")
    bx.set_xlabel("stage-3 steps (fine-tuning on the characterized SKY130 Si cells)")
    bx.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    return _save(fig, out)
