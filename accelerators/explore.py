"""``imcspice explore``: a design-space grid over one architecture description.

Every point of the Cartesian product of a grid of description parameters
(``{"crossbar.rows": [64, 128, 256], "dac.bits": [4, 6, 8]}``) is one full
:func:`.evaluate.evaluate` run with those ``--set`` overrides, written to
``OUT/points/<index>/`` (its own report.json / report.md / plots). A row per point
collects the settings, energy per inference, latency, area, the accuracy metric and
the share of the energy that comes from SPICE-characterized figures; a point whose
description is inconsistent (say, provisioned < demanded) is recorded as failed
with its one-line message instead of stopping the exploration.

Outputs: ``OUT/explore.csv``, ``OUT/explore.json`` (rows + grid + arch name) and
two Pareto plots, ``OUT/pareto_energy_accuracy.png`` (energy per inference vs. the
accuracy metric) and ``OUT/pareto_latency_area.png`` (latency vs. area), the
Pareto-optimal points highlighted and labelled with their settings.

Grid keys are ``COMPONENT.PARAM`` (or a top-level scalar such as ``clock_hz``) as
for ``--set``; a bare name without a dot that is not a component is an alias:
``tile_rows`` -> ``crossbar.rows``, ``tile_cols`` -> ``crossbar.cols``.
"""
from __future__ import annotations

import csv
import itertools
import math
from pathlib import Path

from .. import jsonio
from . import arch as arch_mod
from .arch import ArchError
from ..errors import InputError

#: bare grid names accepted for the issue's spelling (``--set tile_rows=64,128``)
ALIASES = {"tile_rows": "crossbar.rows", "tile_cols": "crossbar.cols"}
#: accuracy metrics a report may carry: name -> higher is better
METRICS = {"cosine_mean": True, "perplexity.calibrated": False}
MAX_POINTS = 10_000
BASE_COLUMNS = ("index", "status", "energy_j", "latency_s", "area_mm2", "accuracy_metric",
                "accuracy", "spice_energy_share", "report")


# --- grid ---------------------------------------------------------------------------------
def parse_grid(items: list[str]) -> dict[str, list]:
    """``["crossbar.rows=64,128", "dac.bits=4,6"]`` -> ``{"crossbar.rows": [64, 128],
    "dac.bits": [4, 6]}`` (values parsed as for ``--set``: numbers, true/false, words).
    Syntax only; :func:`resolve_grid` checks the keys against a description."""
    if not items:
        raise InputError("explore needs at least one --set KEY=V1,V2,... (e.g. "
                         "--set dac.bits=4,6,8)")
    grid: dict[str, list] = {}
    for it in items:
        if not isinstance(it, str) or "=" not in it:
            raise InputError(f"--set {it!r}: expected KEY=V1,V2,... (e.g. dac.bits=4,6,8)")
        key, vals = (s.strip() for s in it.split("=", 1))
        if not key:
            raise InputError(f"--set {it!r}: empty parameter name")
        if key in grid:
            raise InputError(f"--set {key}: given twice; put all its values in one list")
        parts = [v.strip() for v in vals.split(",")]
        if not vals.strip() or any(not p for p in parts):
            raise InputError(f"--set {it!r}: empty value (values are comma-separated, "
                             "e.g. dac.bits=4,6,8)")
        grid[key] = [arch_mod.parse_set([f"{key}={p}"])[key] for p in parts]
    return grid


def canonical_key(key: str, components) -> str:
    """The ``COMPONENT.PARAM`` a grid key stands for (aliases resolved)."""
    if "." not in key and key not in components and key in ALIASES:
        return ALIASES[key]
    return key


def resolve_grid(arch: str, grid: dict) -> dict[str, list]:
    """Resolve aliases and check every key and value against the description ``arch``
    (a shipped name or a .toml file): an unknown key or a value of the wrong type is an
    error naming it, before anything is evaluated. Returns a new ``{key: [values]}``."""
    if not isinstance(grid, dict) or not grid:
        raise InputError("explore: the grid is empty; give at least one parameter with "
                         "a list of values")
    base = arch_mod.load(arch)
    raw, comps = base.raw, base.components
    out: dict[str, list] = {}
    for key, values in grid.items():
        if not isinstance(key, str) or not key:
            raise InputError(f"explore: grid key {key!r} must be a non-empty string")
        canon = canonical_key(key, comps)
        named = key if canon == key else f"{key} (alias of {canon})"
        if canon in out:
            raise InputError(f"explore: {named} appears twice in the grid")
        if "." not in canon and canon in comps:
            some = ", ".join(f"{canon}.{k}" for k, v in comps[canon].params.items()
                             if isinstance(v, (int, float)) and not isinstance(v, bool))
            raise ArchError(f"explore: {key!r} is a component of {base.name}, not a "
                            f"parameter: name one of its parameters ({some or 'none'})")
        if "." not in canon and canon not in raw:
            raise ArchError(
                f"explore: unknown parameter {key!r} for {base.name}: use COMPONENT.PARAM "
                f"(components: {', '.join(sorted(comps))}; e.g. crossbar.rows) or an alias "
                f"({', '.join(f'{a} = {c}' for a, c in ALIASES.items())})")
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            values = [values]
        values = list(values)
        if not values:
            raise InputError(f"explore: {named} has no values")
        if len(set(map(repr, values))) != len(values):
            raise InputError(f"explore: {named} lists a value twice: {values}")
        for v in values:
            if isinstance(v, float) and not math.isfinite(v):
                raise InputError(f"explore: {named}={v!r}: values must be finite")
            try:
                arch_mod.apply_overrides(raw, {canon: v})
            except ArchError as e:
                msg = str(e).replace(f"--set {canon}", f"--set {named}", 1)
                raise ArchError(f"explore ({base.name}): {msg}") from None
        out[canon] = values
    n = math.prod(len(v) for v in out.values())
    if n > MAX_POINTS:
        raise InputError(f"explore: {n} grid points is more than {MAX_POINTS}; each is a "
                         "full evaluation: narrow the grid")
    return out


def _fmt(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v) if isinstance(v, float) else str(v)


def point_sets(grid: dict[str, list]) -> list[dict]:
    """The Cartesian product as a list of ``{key: value}`` (last key varies fastest)."""
    keys = list(grid)
    return [dict(zip(keys, vals)) for vals in itertools.product(*grid.values())]


# --- Pareto -------------------------------------------------------------------------------
def pareto_front(points, minimize: tuple[bool, bool]) -> list[int]:
    """Indices (ascending) of the Pareto-optimal ``(x, y)`` pairs of ``points``.

    ``minimize[i]`` says whether smaller is better along axis ``i`` (else larger). A
    point is dominated when another is at least as good on both axes and strictly
    better on one; equal points do not dominate each other (both stay). Points with a
    None or non-finite coordinate are skipped: never on the front, never dominating.
    """
    sign = tuple(1.0 if m else -1.0 for m in minimize)
    if len(sign) != 2:
        raise ValueError("minimize needs one flag per axis: (x, y)")
    good = []
    for i, p in enumerate(points):
        try:
            x, y = p
            x, y = float(x), float(y)
        except (TypeError, ValueError):
            continue
        if math.isfinite(x) and math.isfinite(y):
            good.append((i, sign[0] * x, sign[1] * y))
    front = []
    for i, x, y in good:
        dominated = any(ox <= x and oy <= y and (ox < x or oy < y) for _, ox, oy in good)
        if not dominated:
            front.append(i)
    return front


# --- one point ----------------------------------------------------------------------------
def _accuracy(acc) -> tuple[str | None, float | None]:
    if not isinstance(acc, dict) or acc.get("simulated") is False:
        return None, None
    for name in METRICS:        # a dotted name is a nested key (perplexity.calibrated)
        v = acc
        for part in name.split("."):
            v = v.get(part) if isinstance(v, dict) else None
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return name, float(v)
    return None, None


def _spice_share(rep: dict):
    ps = rep.get("provenance_share")
    if isinstance(ps, dict):
        e = ps.get("energy", ps)
        if isinstance(e, dict) and isinstance(e.get("spice"), (int, float)):
            return float(e["spice"])
    return None


def _num(v):
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def row_from_report(index: int, sets: dict, rep: dict, report_path: str) -> dict:
    metric, value = _accuracy(rep.get("accuracy"))
    energy = {str(k): _num(v) for k, v in (rep.get("energy_breakdown_j") or {}).items()}
    return {"index": index, **sets, "status": "ok", "energy_j": _num(rep.get("energy_j")),
            "latency_s": _num(rep.get("latency_s")), "area_mm2": _num(rep.get("area_mm2")),
            "accuracy_metric": metric, "accuracy": value,
            "spice_energy_share": _spice_share(rep), "report": report_path,
            "energy_breakdown_j": energy}


def _failed_row(index: int, sets: dict, err: BaseException) -> dict:
    lines = str(err).strip().splitlines() or [type(err).__name__]
    msg = lines[0][:400]
    return {"index": index, **sets, "status": msg, "energy_j": None, "latency_s": None,
            "area_mm2": None, "accuracy_metric": None, "accuracy": None,
            "spice_energy_share": None, "report": None, "energy_breakdown_j": {}}


def _run_point(arch: str, index: int, sets: dict, point_dir: str, kw: dict) -> dict:
    """Evaluate one point (module level: picklable for worker processes)."""
    from .evaluate import evaluate
    try:
        rep = evaluate(arch, point_dir, sets=[f"{k}={_fmt(v)}" for k, v in sets.items()],
                       progress=False, **kw)
    except ValueError as e:  # ArchError (ConsistencyError, ProvisionError) included
        return _failed_row(index, sets, e)
    return row_from_report(index, sets, rep, str(Path(point_dir) / "report.json"))


# --- the exploration ----------------------------------------------------------------------
def explore(arch: str, grid: dict[str, list], out_dir, *, quick: bool = False,
            models_dir=None, progress: bool = True, workers: int = 1,
            workload: str | None = None, accuracy: bool = True,
            ablation: bool = True) -> list[dict]:
    """Evaluate every point of ``grid`` on ``arch``; write explore.csv, explore.json
    and the two Pareto plots into ``out_dir``. Returns the rows (one per point, in grid
    order). ``workers > 1`` runs points in that many local processes (each evaluation
    is CPU heavy: keep 1 on a small machine). ``accuracy=False`` prices the points
    without simulating the network (no accuracy metric; much faster); ``ablation=False``
    simulates it without the accuracy ablation (the metric, cosine_mean, does not
    need it)."""
    from tqdm import tqdm
    grid = resolve_grid(arch, grid)
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"explore: workers must be an integer >= 1, got {workers!r}")
    out = Path(out_dir)
    (out / "points").mkdir(parents=True, exist_ok=True)
    pts = point_sets(grid)
    kw = {"quick": quick, "models_dir": None if models_dir is None else str(models_dir),
          "workload": workload}
    if not accuracy:
        kw["accuracy"] = False
    if not ablation:
        kw["ablation"] = False
    jobs = [(i, s, str(out / "points" / str(i))) for i, s in enumerate(pts)]
    rows: list[dict | None] = [None] * len(pts)
    meta = {"arch": arch, "grid": grid, "quick": quick, "workload": workload,
            "accuracy_simulated": bool(accuracy), "ablation": bool(accuracy and ablation),
            "models_dir": kw["models_dir"]}
    bar = tqdm(total=len(pts), desc=f"explore {arch}", unit="pt", disable=not progress)
    try:
        if workers == 1:
            for i, s, d in jobs:
                bar.set_postfix_str(_label(s, grid))
                rows[i] = _run_point(arch, i, s, d, kw)
                bar.update(1)
                write_results(out, meta, rows, final=False)
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=ctx) as ex:
                futs = {ex.submit(_run_point, arch, i, s, d, kw): i for i, s, d in jobs}
                for f in as_completed(futs):
                    rows[futs[f]] = f.result()
                    bar.update(1)
                    write_results(out, meta, rows, final=False)
    finally:
        bar.close()
    write_results(out, meta, rows, final=True)
    return rows


def _label(sets: dict, grid: dict, sep: str = " ") -> str:
    """Short settings label: the parameter name alone where it is unambiguous."""
    short = [k.rsplit(".", 1)[-1] for k in grid]
    names = {k: (s if short.count(s) == 1 else k) for k, s in zip(grid, short)}
    return sep.join(f"{names.get(k, k)}={_fmt(v)}" for k, v in sets.items())


def write_results(out: Path, meta: dict, rows: list, final: bool = True) -> dict:
    """explore.csv + explore.json from the rows done so far (None = not yet run); the
    Pareto plots when ``final``. Returns the Pareto indices."""
    out = Path(out)
    grid = meta["grid"]
    done = [r for r in rows if r is not None]
    comps: list[str] = []
    for r in done:
        for c in r.get("energy_breakdown_j", {}):
            if c not in comps:
                comps.append(c)
    cols = ["index", *grid, *BASE_COLUMNS[1:], *(f"energy_{c}_j" for c in comps)]
    tmp = out / "explore.csv.tmp"
    with tmp.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for r in done:
            vals = [r.get(c) for c in ["index", *grid, *BASE_COLUMNS[1:]]]
            vals += [r.get("energy_breakdown_j", {}).get(c) for c in comps]
            w.writerow(["" if v is None else (repr(v) if isinstance(v, float) else v)
                        for v in vals])
    tmp.replace(out / "explore.csv")
    ok = [r for r in done if r["status"] == "ok"]
    pareto = _pareto_sets(done)
    doc = {**meta, "points": len(rows), "done": len(done), "ok": len(ok),
           "failed": len(done) - len(ok), "complete": len(done) == len(rows),
           "pareto": pareto, "rows": done}
    tmp = out / "explore.json.tmp"
    tmp.write_text(jsonio.dumps(doc, indent=2))
    tmp.replace(out / "explore.json")
    if final:
        plot_pareto(done, grid, out)
    return pareto


def _metric_of(rows):
    names = {r["accuracy_metric"] for r in rows if r.get("accuracy_metric")}
    return names.pop() if len(names) == 1 else None


def _pareto_sets(rows: list[dict]) -> dict:
    """Row indices (the rows' own ``index``) on each front."""
    metric = _metric_of(rows)
    ea = []
    if metric is not None:
        pts = [(r["energy_j"], r["accuracy"]) if r["status"] == "ok" and
               r.get("accuracy_metric") == metric else (None, None) for r in rows]
        ea = [rows[i]["index"] for i in pareto_front(pts, (True, not METRICS[metric]))]
    pts = [(r["latency_s"], r["area_mm2"]) if r["status"] == "ok" else (None, None)
           for r in rows]
    la = [rows[i]["index"] for i in pareto_front(pts, (True, True))]
    return {"energy_accuracy": ea, "accuracy_metric": metric, "latency_area": la}


# --- plots --------------------------------------------------------------------------------
def plot_pareto(rows: list[dict], grid: dict, out: Path) -> list[Path]:
    metric = _metric_of(rows)
    ok = [r for r in rows if r["status"] == "ok"]
    paths = []
    if metric is not None:
        pts = [r for r in ok if r.get("accuracy_metric") == metric]
        ylabel = {"cosine_mean": "accuracy: mean cosine vs FP32 (higher is better)",
                  "perplexity.calibrated": "accuracy: perplexity, calibrated (lower is better)"
                  }.get(metric, metric)
        paths.append(_scatter(pts, "energy_j", "accuracy", (True, not METRICS[metric]),
                              "energy per inference [J]", ylabel, grid,
                              out / "pareto_energy_accuracy.png",
                              f"{len(pts)} points; Pareto: low energy, "
                              f"{'high' if METRICS[metric] else 'low'} {metric}"))
    else:
        paths.append(_scatter([], "energy_j", "accuracy", (True, False),
                              "energy per inference [J]", "accuracy", grid,
                              out / "pareto_energy_accuracy.png",
                              "no accuracy metric: the network was not simulated"))
    paths.append(_scatter(ok, "latency_s", "area_mm2", (True, True), "latency per inference [s]",
                          "area [mm²]", grid, out / "pareto_latency_area.png",
                          f"{len(ok)} points; Pareto: low latency, small area"
                          + (f" ({len(rows) - len(ok)} failed, not shown)"
                             if len(rows) > len(ok) else "")))
    return paths


def _scatter(rows, xk, yk, minimize, xlabel, ylabel, grid, path: Path, title: str) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(7.2, 5.0))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    pts = [(r[xk], r[yk]) for r in rows]
    front = pareto_front(pts, minimize)
    shown = [i for i, (x, y) in enumerate(pts) if x is not None and y is not None
             and math.isfinite(x) and math.isfinite(y)]
    if shown:
        ax.scatter([pts[i][0] for i in shown], [pts[i][1] for i in shown], s=22,
                   color="0.6", label="design point", zorder=2)
    if front:
        f = sorted(front, key=lambda i: pts[i][0])
        ax.plot([pts[i][0] for i in f], [pts[i][1] for i in f], "-o", color="tab:red",
                ms=6, lw=1.2, label="Pareto-optimal", zorder=3)
        for n, i in enumerate(f):  # alternate above / below so neighbours stay legible
            sets = {k: rows[i][k] for k in grid}
            ax.annotate(f"#{rows[i]['index']} " + _label(sets, grid), pts[i],
                        textcoords="offset points", xytext=(6, 6 if n % 2 == 0 else -12),
                        fontsize=7, color="tab:red", zorder=4)
    for i in shown:
        if i not in front:
            ax.annotate(f"#{rows[i]['index']}", pts[i], textcoords="offset points",
                        xytext=(4, -9), fontsize=6, color="0.45")
    xs = [pts[i][0] for i in shown]
    if xs and min(xs) > 0 and max(xs) / min(xs) > 20:
        ax.set_xscale("log")
    unit = {"energy_j": "J", "latency_s": "s"}.get(xk)
    if unit:  # 150 µJ rather than 0.000150 on crowded ticks
        from matplotlib.ticker import EngFormatter
        ax.xaxis.set_major_formatter(EngFormatter(unit=unit))
        xlabel = xlabel.rsplit(" [", 1)[0]
    ax.margins(x=0.15, y=0.1)  # room for the labels of the extreme points
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(True, alpha=0.3)
    if shown:
        ax.legend(fontsize=8, loc="best")
    else:
        ax.text(0.5, 0.5, "no successful points", transform=ax.transAxes, ha="center")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path
