"""``imcspice plot``: transfer curves of a raw sweep, or SPICE points vs a model.

* Raw file: the plotter registered for its recipe (:mod:`imcspice.characterize.plots`)
  when there is one (its errors are raised, not hidden), else generic curves: each
  quantity over its last axis, one curve per value of another swept axis.
* Model file: for each modeled quantity (up to 4), the raw sweep's points (markers)
  against the model (lines, densely evaluated), and below them the residuals in
  percent of full scale. The raw sweep is ``--raw`` or, by default, the model's source
  file next to it when its sha256 matches the one the model records.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..models import isolate
from ..models.store import load, sha256_file
from . import rawfile
from .fitting.grid import FitError, grid_data
from .plots.registry import pyplot, save_figure, set_labels
from .plots import get_plotter

MAX_CURVES = 6


def _schema(path: Path) -> str:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    return isolate.file_schema(path, rawfile.RawFileError) or ""


def plot_file(path, out, raw=None) -> Path:
    path, out = Path(path), Path(out)
    if not out.parent.exists():
        raise FileNotFoundError(f"output directory {out.parent} does not exist")
    schema = _schema(path)
    if schema == rawfile.SCHEMA:
        plot_raw(rawfile.read(path), out)
    elif schema.startswith("imcspice.model/"):
        model = load(path)
        raw_path = Path(raw) if raw else _find_source(path, model)
        plot_model(model, rawfile.read(raw_path), out, raw_name=raw_path.name)
    else:
        raise rawfile.RawFileError(f"{path}: schema {schema!r} is not an imcspice file")
    return out


def _find_source(model_path: Path, model) -> Path:
    name = model.meta.get("source_name", "")
    # the name comes from the (untrusted) model file: a bare file name only, never a
    # path, so a model cannot make us open or hash a file outside these two folders
    if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
        name = ""
    # next to the model, or in raw/ beside it (the build-defaults layout, models/data)
    dirs = [model_path.parent, model_path.parent / "raw"]
    cands = [d / name for d in dirs] if name else []
    cands += [c for d in dirs for c in sorted(d.glob("*.raw.h5"))]
    for c in cands:
        if c.is_file() and sha256_file(c) == model.source_raw_sha256:
            return c
    raise FitError(f"{model_path}: its source raw sweep (sha256 {model.source_raw_sha256[:12]}…, "
                   f"{name or 'unnamed'}) is neither next to it nor in raw/ beside it; give "
                   "--raw RAW.raw.h5")


def plot_raw(raw: rawfile.RawSweep, out: Path) -> None:
    """The recipe's registered plotter (:mod:`imcspice.characterize.plots`), else generic
    curves. A registered plotter that fails raises."""
    fn = get_plotter(str(raw.attrs.get("recipe", "")))
    if fn is None:
        _generic_raw(raw, out)
        return
    fn(raw, str(out))
    if not out.is_file():
        raise RuntimeError(f"{fn.__module__}.{fn.__name__} wrote no {out}")


def _generic_raw(raw: rawfile.RawSweep, out: Path) -> None:
    plt = pyplot()
    qs = [q for q in raw.data if np.isfinite(raw.data[q]).any()][:4]
    if not qs:
        raise FitError("the raw sweep has no successful points to plot")
    fig, axs = plt.subplots(len(qs), 1, figsize=(6.4, 3.2 * len(qs)), squeeze=False)
    for ax, q in zip(axs[:, 0], qs):
        names = raw.data_axes[q]
        live = [n for n in names if n not in ("corner", "mc") and len(raw.axis(n)) > 1]
        if not live:
            ax.text(0.5, 0.5, f"{q}: single point {np.nanmean(raw.data[q]):.4g} {raw.units[q]}",
                    ha="center", transform=ax.transAxes)
            continue
        x = live[-1]
        c = live[-2] if len(live) > 1 else None
        fixed = {n: raw.axis(n)[0] for n in names if n not in (x, c) and n != "mc"}
        arr, rest = raw.select(q, **fixed)
        if "mc" in rest:
            arr = np.nanmean(arr, axis=rest.index("mc"))
            rest.remove("mc")
        xs = raw.axis(x).astype(float)
        if c is None:
            ax.plot(xs, arr, "o-", ms=3)
        else:
            if rest[0] != c:
                arr = arr.T
            cv = raw.axis(c)
            for k in _subsample(len(cv)):
                ax.plot(xs, arr[k], "o-", ms=3, label=f"{c} = {cv[k]:g}")
            ax.legend(fontsize=7)
        set_labels(ax, f"{x} [{raw.axes[x][0]}]", f"{q} [{raw.units[q]}]")
        ax.grid(True, alpha=0.3)
        ax.set_title(f"{raw.attrs.get('recipe')}: {q}"
                     + (f"  ({', '.join(f'{k}={v}' for k, v in fixed.items())})" if fixed else ""),
                     fontsize=8)
    save_figure(fig, out, dpi=110)


def _subsample(n: int) -> list[int]:
    if n <= MAX_CURVES:
        return list(range(n))
    return sorted(set(np.linspace(0, n - 1, MAX_CURVES).round().astype(int).tolist()))


def plot_model(model, raw: rawfile.RawSweep, out: Path, raw_name: str = "") -> None:
    plt = pyplot()
    first = [model.primary] if model.primary in model.outputs else []
    names = [n for n in first + [o for o in model.outputs if o not in first]
             if n in raw.data][:4]
    if not names:
        raise FitError(f"the raw sweep ({raw.attrs.get('recipe')}) has none of the model's "
                       f"outputs ({', '.join(model.outputs)})")
    fig, axs = plt.subplots(2, len(names), figsize=(5.2 * len(names), 6.4), squeeze=False,
                            gridspec_kw={"height_ratios": [2.2, 1]})
    for j, name in enumerate(names):
        fn = model.functions[name]
        ax, axr = axs[0, j], axs[1, j]
        try:
            gd = grid_data(raw, name, settings=tuple(fn.inputs),
                           average_mc=bool(model.meta.get("average_mc")))
        except FitError as e:
            ax.text(0.5, 0.5, str(e), ha="center", wrap=True, transform=ax.transAxes)
            continue
        corner = next((c for c in gd.corners if c in fn.corners), None)
        if corner is None or not set(fn.inputs) <= set(gd.names):
            ax.text(0.5, 0.5, f"{name}: raw sweep does not cover the model's inputs",
                    ha="center", transform=ax.transAxes)
            continue
        ci = gd.corners.index(corner)
        live = [n for n in fn.inputs if len(gd.axis(n)) > 1]
        # x: the most densely swept input (ties: the innermost), curves: the next one
        by_size = sorted(live, key=lambda n: (len(gd.axis(n)), live.index(n)), reverse=True)
        x = by_size[0] if live else fn.inputs[-1]
        c = by_size[1] if len(live) > 1 else None
        idx = {n: 0 for n in gd.names}
        xs = gd.axis(x)
        logx = bool(np.all(xs > 0) and xs.max() / xs.min() > 100)   # times, G over decades
        xd = np.geomspace(xs.min(), xs.max(), 300) if logx else \
            np.linspace(xs.min(), xs.max(), 300)
        cvals = _subsample(len(gd.axis(c))) if c else [None]
        fs = gd.full_scale
        for k in cvals:
            sl = [ci]
            for n in gd.names:
                if n == x:
                    sl.append(slice(None))
                elif n == c:
                    sl.append(k)
                else:
                    sl.append(idx[n])
            y = gd.values[tuple(sl)]
            inp = {n: gd.axis(n)[idx[n]] for n in fn.inputs}
            if c:
                inp[c] = gd.axis(c)[k]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yd = fn(corner, {**{n: np.full_like(xd, v) for n, v in inp.items()}, x: xd})
                yp = fn(corner, {**{n: np.full_like(xs, v) for n, v in inp.items()}, x: xs})
            label = f"{c} = {gd.axis(c)[k]:g}" if c else None
            line, = ax.plot(xd, yd, "-", lw=1.2, label=label)
            ax.plot(xs, y, "o", ms=3, color=line.get_color())
            axr.plot(xs, 100 * (yp - y) / fs, "o-", ms=2.5, lw=0.8, color=line.get_color())
        fixed = ", ".join(f"{n}={gd.axis(n)[0]:g}" for n in fn.inputs
                          if n not in (x, c) and len(gd.axis(n)) > 1)
        ax.set_title(f"{model.kind}: {name} [{fn.unit}] ({fn.form}), corner {corner}"
                     + (f"\n{fixed}" if fixed else ""), fontsize=8)
        ax.set_ylabel(f"{name} [{fn.unit}]")
        if c:
            ax.legend(fontsize=7)
        ax.grid(True, alpha=0.3)
        if logx:
            ax.set_xscale("log")
            axr.set_xscale("log")
        set_labels(axr, f"{x} [{model.unit(x)}]", "model − SPICE (% FS)")
        axr.axhline(0, color="k", lw=0.6)
        axr.grid(True, alpha=0.3)
    fig.suptitle(f"SPICE points (markers, {raw_name}) vs model (lines); held-out max "
                 f"{model.max_heldout_pct_fs():.3g}% FS", fontsize=9)
    save_figure(fig, out, dpi=110)
