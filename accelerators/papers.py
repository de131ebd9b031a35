"""Published headline figures of RACE-IT, HeTraX and gain-cell attention, set beside ours.

The data live in ``data/papers.toml`` (schema ``imcspice.papers/1``): per architecture a
citation, a version note, the paper's configuration and a list of figures. Each figure
has ``metric``, ``value`` (finite, > 0), ``unit``, ``baseline``, ``workload``,
``report_key``, ``source``, ``quote_or_location`` and ``difference`` (one line).

Units: ``"x"`` is a dimensionless ratio (baseline / accelerator for time and energy,
so > 1 means the accelerator is better); ``"s"`` seconds; ``"J"`` joules; anything else
is printed as given.

``report_key`` is a dotted path into an evaluation report (``report.json``), e.g.
``gpu.a100.speedup`` or ``projection.gpu.a100.energy_ratio``; empty when we have no
counterpart. A key ending in ``edp_ratio`` that the report lacks is computed from the
same GPU entry as ``speedup * energy_ratio`` (energy-delay product, GPU / ours).

A ``difference`` may name where our figure comes from as ``{energy_sources}``,
``{latency_sources}`` or ``{area_sources}``: the report's ``provenance_share`` at the
time it is rendered (e.g. "100 % spice, 0 % literature, 0 % assumption"), and a stacked
machine's dies as ``{stack}`` (the thermal solution's dies per tier group: "2 sm + 3
reram dies of 110 mm²"), and how far its column-TIA gating is from the design that
holds its bias line as ``{tia_gating}`` (``report["tia_gating"]``, accelerators/
tia_gating.py), so the line cannot go stale when a description changes.
"""
from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path

__all__ = ["SCHEMA", "ARCHS", "PAPERS_PATH", "load_papers", "comparison_section", "lookup", "fmt"]

SCHEMA = "imcspice.papers/1"
ARCHS = ("race-it", "hetrax", "gaincell")
PAPERS_PATH = Path(__file__).resolve().parent / "data" / "papers.toml"

_ARCH_FIELDS = ("citation", "version_note")
_FIG_TEXT = ("metric", "unit", "baseline", "workload", "source", "quote_or_location",
             "difference")
_KEY_RE = re.compile(r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$")
#: unit a report value carries, by the last segment of its key
_KEY_UNITS = {"latency_s": "s", "energy_j": "J", "speedup": "x", "energy_ratio": "x",
              "edp_ratio": "x", "area_mm2": "mm^2"}
_SLOT_RE = re.compile(r"\{([^{}]*)\}")
_SI = ((1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f"))


def load_papers(path: str | Path | None = None) -> dict:
    """Read and validate a papers file; return ``{arch: entry}`` for the three architectures.

    Each entry is the TOML table as read (``citation``, ``version_note``,
    ``configuration``, ``figures`` ...). Raises ValueError naming the file and the
    offending entry on a wrong schema, a missing architecture or field, an empty source
    or location, a value that is not a finite positive number, a malformed
    ``report_key`` or a unit that does not match the key's quantity.
    """
    p = Path(path) if path is not None else PAPERS_PATH
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ValueError(f"{p}: cannot read papers file: {e}") from None
    if data.get("schema") != SCHEMA:
        raise ValueError(f"{p}: schema must be {SCHEMA!r}, got {data.get('schema')!r}")
    extra = sorted(k for k, v in data.items() if isinstance(v, dict) and k not in ARCHS)
    if extra:
        raise ValueError(f"{p}: unknown architecture table(s) {extra}; expected {list(ARCHS)}")
    out = {}
    for arch in ARCHS:
        entry = data.get(arch)
        if not isinstance(entry, dict):
            raise ValueError(f"{p}: missing table [{arch}]")
        for f in _ARCH_FIELDS:
            _need_text(p, f"{arch}.{f}", entry.get(f))
        conf = entry.get("configuration")
        if not isinstance(conf, dict):
            raise ValueError(f"{p}: {arch}.configuration must be a table")
        node = conf.get("node_nm")
        if node != "not found" and not _positive(node):
            raise ValueError(f"{p}: {arch}.configuration.node_nm must be a positive number "
                             f"or 'not found', got {node!r}")
        figs = entry.get("figures")
        if not isinstance(figs, list) or not figs:
            raise ValueError(f"{p}: {arch}.figures must be a non-empty list of tables")
        for i, fig in enumerate(figs):
            _check_figure(p, arch, i, fig)
        out[arch] = entry
    return out


def _need_text(p: Path, where: str, v) -> None:
    if not isinstance(v, str) or not v.strip():
        raise ValueError(f"{p}: {where} must be a non-empty string, got {v!r}")


def _positive(v) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)
            and math.isfinite(v) and v > 0)


def _check_figure(p: Path, arch: str, i: int, fig) -> None:
    if not isinstance(fig, dict):
        raise ValueError(f"{p}: {arch}.figures[{i}] must be a table")
    name = f"{arch}.figures[{i}] ({fig.get('metric', '?')})"
    for f in _FIG_TEXT:
        _need_text(p, f"{name}.{f}", fig.get(f))
    if not _positive(fig.get("value")):
        raise ValueError(f"{p}: {name}.value must be a finite number > 0, "
                         f"got {fig.get('value')!r}")
    bad = [m for m in _SLOT_RE.findall(fig["difference"]) if m not in _SLOTS]
    if bad:
        raise ValueError(f"{p}: {name}.difference names unknown placeholder(s) {bad}; "
                         "known: " + ", ".join(f"{{{k}}}" for k in _SLOTS))
    key = fig.get("report_key")
    if not isinstance(key, str) or (key and not _KEY_RE.match(key)):
        raise ValueError(f"{p}: {name}.report_key must be '' or a dotted path, got {key!r}")
    want = _KEY_UNITS.get(key.rsplit(".", 1)[-1]) if key else None
    if want is not None and fig["unit"] != want:
        raise ValueError(f"{p}: {name}.unit is {fig['unit']!r} but report_key {key!r} "
                         f"is in {want!r}")


def lookup(report: dict, key: str):
    """Value at dotted ``key`` in ``report`` as a float, or None when absent/not finite."""
    if not key:
        return None
    node = report
    parts = key.split(".")
    for k in parts[:-1]:
        node = node.get(k) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        return None
    v = node.get(parts[-1])
    if v is None and parts[-1] == "edp_ratio":
        s, e = node.get("speedup"), node.get("energy_ratio")
        v = s * e if _positive(s) and _positive(e) else None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return float(v)


def fmt(v: float | None, unit: str = "") -> str:
    """``v`` with 3 significant digits (SI prefix for s/J/W, ``×`` for ratios; areas in
    mm², below 0.01 mm² in µm²: a prefix on mm² would read as milli-mm²); None -> n/a."""
    if v is None:
        return "n/a"
    if unit == "mm²" and 0 < abs(v) < 0.01:
        return f"{_sig3(v * 1e6)} µm²"
    if unit in ("s", "J", "W") and 1e-15 * 0.9995 <= abs(v) < 1e6:
        for scale, prefix in _SI:
            if abs(v) >= scale * 0.9995:
                return f"{_sig3(v / scale)} {prefix}{unit}"
    if unit == "x":
        return f"{_sig3(v)}×"
    return f"{_sig3(v)} {unit}".rstrip()


def _sig3(v: float) -> str:
    if v == 0:
        return "0"
    if not 1e-3 <= abs(v) < 1e6:
        return f"{v:.2e}"
    r = float(f"{v:.3g}")
    digits = max(0, 2 - int(math.floor(math.log10(abs(r)))))
    return f"{r:.{digits}f}"


def _cell(s: str) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def _our_config(report: dict, key: str) -> str:
    parts = key.split(".")
    if parts[0] == "projection":
        pr = report.get("projection") or {}
        where = f"{pr.get('node_nm', '?')} nm projection"
        gpu_path = parts[1:]
    else:
        where = str(report.get("technology", "SKY130 130 nm"))
        gpu_path = parts
    bits = [where, f"{report.get('workload', '?')}, seq {report.get('seq_len', '?')}"]
    if len(gpu_path) >= 2 and gpu_path[0] == "gpu":
        scope = report.get("projection", {}) if parts[0] == "projection" else report
        g = (scope.get("gpu") or {}).get(gpu_path[1]) if isinstance(scope, dict) else None
        rel = "on " if parts[-1] in ("latency_s", "energy_j") else "vs "
        bits.append(rel + (g.get("name") if isinstance(g, dict) and g.get("name")
                           else gpu_path[1]))
    return "; ".join(bits)


def _sources(report: dict, what: str) -> str:
    """``what``'s provenance share in ``report`` as one phrase, largest source first."""
    share = (report.get("provenance_share") or {}).get(what)
    if not isinstance(share, dict) or not share:
        return f"{what} sources not in this report"
    parts = sorted(share.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{100 * v:.0f} % {k}" for k, v in parts)


def _stack(report: dict) -> str:
    """A stacked machine's dies per tier group, from the report's thermal solution."""
    th = report.get("thermal") or {}
    dies = th.get("tier_group_dies")
    if not isinstance(dies, dict) or not dies:
        return "stack not in this report"
    return (" + ".join(f"{n} {g}" for g, n in dies.items())
            + f" dies of {fmt(th.get('die_mm2'), 'mm²')}")


def _tia_gating(report: dict) -> str:
    """How the report's column TIAs are gated, and the bracket's other end."""
    b = report.get("tia_gating")
    if not isinstance(b, dict) or not b.get("machine_j"):
        return "TIA gating not in this report"
    return ("column TIAs gated per read, each wake priced on a stiff bias line that a "
            "tile's shared line is not: a lower bound (biased through each operator "
            f"instead, the energy is {b['machine_biased_j'] / b['machine_j']:.2g}x)")


#: placeholders a ``difference`` may hold, each rendered from the report
_SLOTS = {"energy_sources": lambda r: _sources(r, "energy"),
          "latency_sources": lambda r: _sources(r, "latency"),
          "area_sources": lambda r: _sources(r, "area"),
          "stack": _stack, "tia_gating": _tia_gating}


def _difference(fig: dict, report: dict) -> str:
    return _SLOT_RE.sub(lambda m: _SLOTS[m.group(1)](report), fig["difference"])


def comparison_section(arch: str, report: dict, papers: dict | None = None) -> list[str]:
    """Markdown lines comparing the paper's headline figures for ``arch`` with ``report``.

    ``report`` is an evaluation report dict (see module docstring for the keys used);
    ``papers`` defaults to :func:`load_papers` on the shipped file. A figure whose
    counterpart is missing from ``report`` shows ``n/a``; nothing here raises on a
    partial report. Ratio column = ours / paper (same unit).
    """
    if papers is None:
        papers = load_papers()
    if arch not in papers:
        raise ValueError(f"no paper entry for arch {arch!r}; known: {', '.join(papers)}")
    p = papers[arch]
    report = report if isinstance(report, dict) else {}
    conf = p.get("configuration", {})
    lines = ["### Comparison with the paper", "",
             f"**Paper:** {p['citation']}", "",
             f"**Versions:** {p['version_note']}", ""]
    desc = [f"node {conf.get('node_nm', 'not found')}"
            + (" nm" if _positive(conf.get("node_nm")) else "")]
    for k in ("arrays", "bits"):
        if conf.get(k):
            desc.append(f"{k}: {conf[k]}")
    if conf.get("baseline_gpus"):
        desc.append("GPU baseline: " + ", ".join(conf["baseline_gpus"]))
    if conf.get("models"):
        desc.append("models: " + ", ".join(conf["models"]))
    lines += ["**Paper configuration:** " + "; ".join(desc) + ".", "",
              "| metric | paper (config) | ours (config) | ratio ours/paper | why they differ |",
              "|---|---|---|---|---|"]
    for fig in p["figures"]:
        unit, key = fig["unit"], fig.get("report_key", "")
        ours = lookup(report, key)
        ratio = ours / fig["value"] if ours is not None else None
        rel = "vs " if unit == "x" else "on "
        what = [x for x in (fig.get("version"), rel + fig["baseline"], fig["workload"]) if x]
        paper = f"{fmt(fig['value'], unit)} ({'; '.join(what)})"
        our_cfg = f"{fmt(ours, unit)} ({_our_config(report, key)})" if ours is not None else "n/a"
        lines.append("| " + " | ".join(_cell(c) for c in (
            fig["metric"], paper, our_cfg, fmt(ratio), _difference(fig, report))) + " |")
    lines += ["", "Sources: " + "; ".join(dict.fromkeys(f["source"] for f in p["figures"]))
              + ".", ""]
    return lines
