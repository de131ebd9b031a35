"""Crossbar plots: IR drop of a column sweep, bit-line currents of an array sweep."""
from __future__ import annotations

import json

from .registry import plotter, pyplot, save_figure


@plotter("crossbar-column", "crossbar-array")
def plot_crossbar(raw, out_png) -> None:
    """Transfer curves from a crossbar raw file, saved as a PNG.

    crossbar-column: relative IR drop vs the number of rows (or the first swept axis),
    one curve per value of a second swept parameter (r_bl_ohm, r_wl_ohm, or any other).
    crossbar-array: bit-line currents vs column index (SPICE and ideal Σ G·V) and the
    relative IR drop per bit line. Other swept axes are taken at their first value
    (named in the title).
    """
    plt = pyplot()

    recipe = raw.attrs.get("recipe", "")
    units = _units(raw)
    swept = [a for a in raw.outer if len(raw.axis(a)) > 1]

    def pinned(skip):
        names = [a for a in swept if a not in skip]
        return ", ".join(f"{a} = {_fmt(raw.axis(a)[0])}" for a in names)

    if recipe == "crossbar-array":
        first = {a: raw.axis(a)[0] for a in raw.outer}
        i_out, _ = raw.select("i_out_a", **first)
        i_id, _ = raw.select("i_ideal_a", **first)
        drop, _ = raw.select("ir_drop_rel", **first)
        col = raw.axis("col")
        fig, (ax, ax2) = plt.subplots(2, 1, figsize=(6, 6), sharex=True)
        ax.plot(col, i_out * 1e6, "o-", label="ngspice (wires, device)")
        ax.plot(col, i_id * 1e6, "k--", label="ideal Σ G·V (no wires)")
        ax.set_ylabel("bit-line current (µA)")
        ax.legend()
        ax.set_title("crossbar-array: bit-line currents" +
                     (f"\n({pinned(())})" if swept else ""))
        ax2.plot(col, 100 * drop, "o-", color="C3")
        ax2.set_xlabel("bit line (column index)")
        ax2.set_ylabel("relative IR drop (%)")
        for a in (ax, ax2):
            a.grid(True, alpha=0.3)
    else:
        fig, ax = plt.subplots(figsize=(6, 4.2))
        xname = "rows" if "rows" in swept else (swept[0] if swept else raw.outer[-1])
        others = [a for a in swept if a != xname and a not in ("corner", "temp_c", "mc")]
        pref = [a for a in ("r_bl_ohm", "r_wl_ohm") if a in others]
        cname = pref[0] if pref else (others[0] if others else None)
        fixed = {a: raw.axis(a)[0] for a in raw.outer if a not in (xname, cname)}
        y, names = raw.select("ir_drop_rel", **fixed)
        x = raw.axis(xname).astype(float)
        if cname is None:
            ax.plot(x, 100 * y, "o-")
        else:
            if names[0] != xname:
                y = y.T
            for k, cv in enumerate(raw.axis(cname)):
                ax.plot(x, 100 * y[:, k], "o-",
                        label=f"{cname} = {_fmt(cv)} {units.get(cname, '')}".rstrip())
            ax.legend()
        xunit = " (cells)" if xname == "rows" else (f" ({units[xname]})"
                                                      if units.get(xname) else "")
        ax.set_xlabel(xname + xunit)
        ax.set_ylabel("relative IR drop (i_ideal − i_out)/i_ideal (%)")
        rest = pinned((xname, cname))
        ax.set_title("crossbar-column: IR drop" + (f"\n({rest})" if rest else ""))
        if xname == "rows" and x.min() > 0:
            ax.set_xscale("log", base=2)
        ax.grid(True, alpha=0.3)
    save_figure(fig, out_png, dpi=120)


def _fmt(v) -> str:
    return v if isinstance(v, str) else f"{float(v):g}"


def _units(raw) -> dict:
    try:
        return json.loads(raw.attrs.get("units", "{}"))
    except ValueError:
        return {}
