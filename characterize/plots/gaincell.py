"""Gain-cell plots, one per recipe. The first corner / temperature / swept value is
drawn unless the plot is itself over those axes (retention draws every corner and
temperature)."""
from __future__ import annotations

import itertools

import numpy as np

from .registry import plotter, pyplot, save_figure, set_labels


def _first(raw, q):
    """data[q] with every outer axis at its first value; returns (array, inner axes)."""
    arr = raw.data[q]
    names = raw.data_axes[q]
    idx = tuple(0 if n in raw.outer else slice(None) for n in names)
    return arr[idx], [n for n in names if n not in raw.outer]


@plotter("gaincell-mac")
def plot_gaincell_mac(raw, out_png) -> None:
    """I(Vs) per word-line voltage, and column charge vs query pulse width (first
    corner / temperature / swept value)."""
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    i, _ = _first(raw, "i_cell_a")
    vs, vwl = raw.axis("vs_v"), raw.axis("vwl_v")
    for k, w in enumerate(vwl):
        a1.plot(vs, i[k] * 1e6, label=f"{w:.1f} V")
    a1.axhline(0, color="k", lw=0.5)
    set_labels(a1, "stored voltage Vs (V)",
               "cell current, sunk from bit line (µA)",
               "cell read current I(Vs) per word-line voltage")
    a1.legend(title="Vwl", fontsize=7, ncol=2)
    q, _ = _first(raw, "q_col_c")
    t = raw.axis("t_pulse_s")
    a2.plot(t * 1e9, q * 1e15, "o-")
    set_labels(a2, "read word-line pulse width (ns)",
               "column charge (fC)",
               "column charge vs query pulse width")
    save_figure(fig, out_png, dpi=110)


@plotter("gaincell-retention")
def plot_gaincell_retention(raw, out_png) -> None:
    """Stored voltage vs hold time and the hold-state leakage, every corner and
    temperature (up to 12 outer points)."""
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5))
    t = raw.axis("t_s")
    vs = raw.axis("vs_v")
    outer = raw.outer
    combos = list(itertools.product(*[range(len(raw.axis(n))) for n in outer]))[:12]
    styles = {"si": "-", "osfet": "--"}
    for c, idx in enumerate(combos):
        lab = " ".join(f"{raw.axis(n)[i]}" + (" C" if n == "temp_c" else "")
                       for n, i in zip(outer, idx))
        dev = str(raw.axis("write_device")[idx[outer.index("write_device")]]) \
            if "write_device" in outer else "si"
        traj = raw.data["v_sn_v"][idx]
        for k in range(traj.shape[0]):
            a1.semilogx(t, traj[k], styles.get(dev, "-"), color=f"C{c % 10}",
                        label=lab if k == 0 else None)
        i_leak = raw.data["i_leak_a"][idx]
        a2.semilogy(vs, np.abs(i_leak), styles.get(dev, "-"), color=f"C{c % 10}",
                    label=lab)
        a2.axvline(float(raw.data["v_inf_v"][idx]), color=f"C{c % 10}", lw=0.6, ls=":")
    set_labels(a1, "hold time (s)",
               "stored voltage (V)",
               "retention after writing 0 / 0.225 / 0.675 / 0.9 V")
    a1.legend(fontsize=7)
    set_labels(a2, "stored voltage (V)",
               "|hold-state leakage current| (A)",
               "storage-node leakage (dotted: relaxation level, sign change)")
    a2.legend(fontsize=7)
    save_figure(fig, out_png, dpi=110)


def _transfer_panels(raw, out_png, x: str, x_scale: float, x_label: str, panels,
                     figsize: tuple[float, float]) -> None:
    """One panel per ``(quantity, y scale, y label, title)``: the quantity at the first
    outer point vs inner axis ``x``."""
    plt = pyplot()
    fig, axs = plt.subplots(1, len(panels), figsize=figsize)
    xv = raw.axis(x) * x_scale
    for ax, (q, y_scale, y_label, title) in zip(axs, panels):
        ax.plot(xv, _first(raw, q)[0] * y_scale, "o-")
        set_labels(ax, x_label, y_label, title)
    save_figure(fig, out_png, dpi=110)


@plotter("gaincell-write")
def plot_gaincell_write(raw, out_png) -> None:
    """Settling time, charge injection and write energy vs written voltage."""
    _transfer_panels(raw, out_png, "v_write_v", 1.0, "written voltage (V)", [
        ("t_settle_s", 1e9, "settling time (ns)", "write settling"),
        ("dv_inj_v", 1e3, "storage-node step at WWL fall (mV)", "charge injection"),
        ("e_write_j", 1e15, "write energy (fJ)", "driver energy per write")], (13, 4))


@plotter("gaincell-readout")
def plot_gaincell_readout(raw, out_png) -> None:
    """Charge-to-pulse and integrator transfer."""
    _transfer_panels(raw, out_png, "q_in_c", 1e15, "input charge (fC)", [
        ("t_out_s", 1e9, "output pulse width (ns)", "charge-to-pulse transfer"),
        ("v_int_v", 1.0, "integrator output (V)", "column integrator transfer")], (11, 4.2))


@plotter("gaincell-superposition")
def plot_gaincell_superposition(raw, out_png) -> None:
    """Column charge vs summed single-cell charges, and the error."""
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    qc = raw.data["q_col_c"].ravel()
    qs = raw.data["q_sum_c"].ravel()
    a1.plot(qs * 1e15, qc * 1e15, "o")
    lim = [np.nanmin([qs, qc]) * 1e15, np.nanmax([qs, qc]) * 1e15]
    a1.plot(lim, lim, "k--", lw=0.7)
    set_labels(a1, "sum of single-cell charges (fC)",
               "column charge, all rows at once (fC)",
               "superposition (one point per pattern)")
    a2.plot(qs * 1e15, raw.data["err_c"].ravel() * 1e15, "o")
    a2.axhline(0, color="k", lw=0.5)
    set_labels(a2, "sum of single-cell charges (fC)",
               "superposition error q_col - q_sum (fC)",
               "superposition error")
    save_figure(fig, out_png, dpi=110)


@plotter("gaincell-array")
def plot_gaincell_array(raw, out_png) -> None:
    """Per-column charge, effective pulse width and relative charge error of a
    ``gaincell-array`` raw sweep (every outer point of the first corner/temperature,
    up to 8 curves)."""
    plt = pyplot()
    col = np.asarray(raw.axis("col"))
    outer = list(raw.outer)
    combos = list(itertools.product(*[range(len(raw.axis(n))) for n in outer]))
    # first corner / temperature only
    combos = [c for c in combos if all(i == 0 for n, i in zip(outer, c)
                                       if n in ("corner", "temp_c", "mc"))][:8]
    fig, axs = plt.subplots(1, 3, figsize=(14, 4.2))
    specs = [("q_col_c", 1e15, "column charge (fC)"),
             ("t_pulse_eff_s", 1e9, "effective pulse width at the column (ns)"),
             ("q_err_rel", 100.0, "charge error vs column 0 (%)")]
    for c in combos:
        lab = " ".join(f"{n}={raw.axis(n)[i]}" for n, i in zip(outer, c)
                       if len(raw.axis(n)) > 1)
        for ax, (q, s, _) in zip(axs, specs):
            ax.plot(col, np.asarray(raw.data[q][c]) * s, ".-", label=lab or None)
    for ax, (_, _, yl) in zip(axs, specs):
        set_labels(ax, "column index (distance from the word-line driver)", yl)
    axs[0].set_title("column charge")
    axs[1].set_title("query pulse width above 50 % at the column")
    axs[2].set_title("relative charge error vs column 0")
    if any(len(raw.axis(n)) > 1 for n in outer):
        axs[2].legend(fontsize=7)
    save_figure(fig, out_png, dpi=110)
