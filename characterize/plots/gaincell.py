"""Gain-cell plots, one per recipe. The first corner / temperature / swept value is
drawn unless the plot is itself over those axes (retention draws every corner and
temperature)."""
from __future__ import annotations

import itertools

import numpy as np

from .registry import plotter, pyplot


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
    a1.set_xlabel("stored voltage Vs (V)")
    a1.set_ylabel("cell current, sunk from bit line (µA)")
    a1.set_title("cell read current I(Vs) per word-line voltage")
    a1.legend(title="Vwl", fontsize=7, ncol=2)
    q, _ = _first(raw, "q_col_c")
    t = raw.axis("t_pulse_s")
    a2.plot(t * 1e9, q * 1e15, "o-")
    a2.set_xlabel("read word-line pulse width (ns)")
    a2.set_ylabel("column charge (fC)")
    a2.set_title("column charge vs query pulse width")
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)
    plt.close(fig)


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
    a1.set_xlabel("hold time (s)")
    a1.set_ylabel("stored voltage (V)")
    a1.set_title("retention after writing 0 / 0.225 / 0.675 / 0.9 V")
    a1.legend(fontsize=7)
    a2.set_xlabel("stored voltage (V)")
    a2.set_ylabel("|hold-state leakage current| (A)")
    a2.set_title("storage-node leakage (dotted: relaxation level, sign change)")
    a2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)
    plt.close(fig)


@plotter("gaincell-write")
def plot_gaincell_write(raw, out_png) -> None:
    """Settling time, charge injection and write energy vs written voltage."""
    plt = pyplot()
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(13, 4))
    vw = raw.axis("v_write_v")
    a1.plot(vw, _first(raw, "t_settle_s")[0] * 1e9, "o-")
    a1.set_xlabel("written voltage (V)")
    a1.set_ylabel("settling time (ns)")
    a1.set_title("write settling")
    a2.plot(vw, _first(raw, "dv_inj_v")[0] * 1e3, "o-")
    a2.set_xlabel("written voltage (V)")
    a2.set_ylabel("storage-node step at WWL fall (mV)")
    a2.set_title("charge injection")
    a3.plot(vw, _first(raw, "e_write_j")[0] * 1e15, "o-")
    a3.set_xlabel("written voltage (V)")
    a3.set_ylabel("write energy (fJ)")
    a3.set_title("driver energy per write")
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)
    plt.close(fig)


@plotter("gaincell-readout")
def plot_gaincell_readout(raw, out_png) -> None:
    """Charge-to-pulse and integrator transfer."""
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    q = raw.axis("q_in_c")
    a1.plot(q * 1e15, _first(raw, "t_out_s")[0] * 1e9, "o-")
    a1.set_xlabel("input charge (fC)")
    a1.set_ylabel("output pulse width (ns)")
    a1.set_title("charge-to-pulse transfer")
    a2.plot(q * 1e15, _first(raw, "v_int_v")[0], "o-")
    a2.set_xlabel("input charge (fC)")
    a2.set_ylabel("integrator output (V)")
    a2.set_title("column integrator transfer")
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)
    plt.close(fig)


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
    a1.set_xlabel("sum of single-cell charges (fC)")
    a1.set_ylabel("column charge, all rows at once (fC)")
    a1.set_title("superposition (one point per pattern)")
    a2.plot(qs * 1e15, raw.data["err_c"].ravel() * 1e15, "o")
    a2.axhline(0, color="k", lw=0.5)
    a2.set_xlabel("sum of single-cell charges (fC)")
    a2.set_ylabel("superposition error q_col - q_sum (fC)")
    a2.set_title("superposition error")
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)
    plt.close(fig)


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
        ax.set_xlabel("column index (distance from the word-line driver)")
        ax.set_ylabel(yl)
    axs[0].set_title("column charge")
    axs[1].set_title("query pulse width above 50 % at the column")
    axs[2].set_title("relative charge error vs column 0")
    if any(len(raw.axis(n)) > 1 for n in outer):
        axs[2].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)
    plt.close(fig)
