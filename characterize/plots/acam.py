"""ACAM plots: match window vs conductance, search discharge time, Compute-ACAM codes."""
from __future__ import annotations

import numpy as np

from .registry import plotter, pyplot, save_figure, set_labels


@plotter("acam-window", "acam-mc")
def plot_acam_window(raw, out_png) -> None:
    """Threshold vs. conductance curves of an acam-window (or acam-mc) sweep, one colour
    per corner: v_lo_v vs. g_low_us (solid) and v_hi_v vs. g_high_us (dashed), at the
    first temperature and the first value of the other conductance; with ``--mc`` the
    mean and a +/-1 sigma band."""
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    corners = [str(c) for c in raw.axis("corner")]
    temp = float(raw.axis("temp_c")[0])
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    drew = False
    from ..recipes.acam import tied_sweep
    # a tied sweep (g_high_from=g_low) programs M2 like M1: v_hi over the g_low_us axis
    hi_axes = ("g_low_us", "g_high_us") if tied_sweep(raw) else ("g_high_us", "g_low_us")
    for ci, corner in enumerate(corners):
        for q, gname, other, style, label in (
                ("v_lo_v", "g_low_us", "g_high_us", "-", "lower bound"),
                ("v_hi_v", *hi_axes, "--", "upper bound")):
            if gname not in raw.axes or gname not in raw.data_axes[q]:
                continue
            where = {"corner": corner, "temp_c": temp}
            if other in raw.data_axes[q]:
                where[other] = float(raw.axis(other)[0])
            arr, axes = raw.select(q, **where)
            arr = np.asarray(arr, dtype=float)
            g = raw.axis(gname)
            arr = np.moveaxis(arr, axes.index(gname), -1).reshape(-1, len(g))
            mean = np.nanmean(arr, axis=0) if np.isfinite(arr).any() else arr[0]
            c = colors[ci % len(colors)]
            ax.plot(g, mean, style, color=c, marker="o", ms=3, label=f"{corner} {label}")
            if arr.shape[0] > 1:
                sd = np.nanstd(arr, axis=0)
                ax.fill_between(g, mean - sd, mean + sd, color=c, alpha=0.2)
            drew = True
    if not drew:
        plt.close(fig)
        raise ValueError("plot_acam_window needs an acam-window sweep over g_low_us and/or "
                         "g_high_us")
    ax.set_xscale("log")
    set_labels(ax, "memristor conductance (uS)",
               "window bound, data-line voltage (V)",
               f"6T2M ACAM match window vs. conductance ({temp:g} C)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, out_png, dpi=120)


@plotter("compute-acam")
def plot_compute_acam(raw, out_png) -> None:
    """Decoded output code vs. input (and the ideal quantized function) of a compute-acam
    sweep, one panel per swept point (corner x temperature x func x bits, up to 6)."""
    plt = pyplot()

    code = np.asarray(raw.data["code"], float)
    ideal = np.asarray(raw.data["code_ideal"], float)
    x = np.asarray(raw.data["x"], float)
    outer = code.shape[:-1]
    idx = list(np.ndindex(*outer))[:6]
    ncol = min(3, len(idx))
    nrow = -(-len(idx) // ncol)
    fig, axs = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.4 * nrow), squeeze=False)
    names = raw.data_axes["code"][:-1]
    for ax in axs.ravel()[len(idx):]:
        ax.set_visible(False)
    for ax, i in zip(axs.ravel(), idx):
        ax.step(x[i], ideal[i], where="mid", color="0.6", lw=3, label="ideal")
        ax.step(x[i], code[i], where="mid", color="C3", lw=1.2, label="ACAM (SPICE)")
        label = ", ".join(f"{n}={raw.axis(n)[k]}" for n, k in zip(names, i)
                          if len(raw.axis(n)) > 1 or n == "corner")
        ax.set_title(label, fontsize=9)
        set_labels(ax, "input x", "output code (LSB)")
        ax.grid(True, alpha=0.3)
    axs[0][0].legend(fontsize=8)
    save_figure(fig, out_png, dpi=110)


@plotter("acam-search")
def plot_acam_search(raw, out_png) -> None:
    """ML discharge time vs. the test input's distance outside its window, one curve per
    n_cells (needs a sweep over dv_v; other axes at their first value)."""
    plt = pyplot()

    if "dv_v" not in raw.axes:
        raise ValueError("plot_acam_search needs an acam-search sweep over dv_v")
    where = {n: raw.axis(n)[0] for n in raw.outer if n not in ("dv_v", "n_cells")}
    t, axes = raw.select("t_discharge_s", **where)
    t = np.asarray(t, float)
    if "n_cells" in axes:
        t = np.moveaxis(t, axes.index("n_cells"), 0)
        ns = raw.axis("n_cells")
    else:
        t, ns = t[None], [raw.attrs.get("params", "")]
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for k, n in enumerate(ns):
        label = f"{int(n)} cells" if isinstance(n, (int, float, np.floating)) else "row"
        ax.plot(raw.axis("dv_v") * 1e3, t[k] * 1e9, marker="o", ms=3, label=label)
    set_labels(ax, "test input outside its window edge, dv (mV)",
               "ML discharge time to sense threshold (ns)",
               "ACAM search: discharge time (missing: row stays matched)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, out_png, dpi=120)
