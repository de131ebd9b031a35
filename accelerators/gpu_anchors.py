"""Published GPU measurements of the same kernels, and the roofline's error on them.

``data/gpu_anchors.toml`` lists measurements with citations (software, precision,
batch, sequence, scope); :func:`anchor_comparison` rebuilds each anchor's operators,
prices them with :func:`.gpu.gpu_estimate` (with and without the launch term) and
returns ``model / measured - 1``.
"""
from __future__ import annotations

import math
import tomllib
from pathlib import Path

from .gpu import (DEFAULT_COMPUTE_EFFICIENCY, DEFAULT_LAUNCH_OVERHEAD_S,
                  DEFAULT_MEMORY_EFFICIENCY, GPUS, gpu_estimate)
from .workloads import WORKLOADS, Operator, operator_graph

ANCHORS_PATH = Path(__file__).parent / "data" / "gpu_anchors.toml"
"""Published GPU measurements of the same work, with citations (see that file)."""

_BYTES_PER_EL = {"fp16": 2, "bf16": 2, "fp32": 4}
_MODES = ("prefill", "decode")
_SCOPES = ("model", "layers", "attention")  # all ops / blocks only / attn.scores+context
_ATTN_PRODUCTS = ("attn.scores", "attn.context")
_STR_FIELDS = ("id", "citation", "gpu", "workload", "mode", "scope", "precision",
               "software", "note")
_POS_INT_FIELDS = ("batch", "seq_len")
_OPT_POS_INT_FIELDS = ("context_len", "layers")


def _fail(aid: str, field: str, why: str) -> None:
    raise ValueError(f"gpu anchor {aid!r}: field {field!r} {why}")


def _check_anchor(a: dict, i: int) -> dict:
    aid = a.get("id") if isinstance(a.get("id"), str) and a["id"].strip() else f"#{i}"
    for f in _STR_FIELDS:
        if not isinstance(a.get(f), str) or not a[f].strip():
            _fail(aid, f, "is missing or empty (a string is required)")
    for f in _POS_INT_FIELDS + _OPT_POS_INT_FIELDS:
        v = a.get(f)
        if v is None and f in _OPT_POS_INT_FIELDS:
            continue
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            _fail(aid, f, f"must be a positive integer, got {v!r}")
    for f in ("latency_s", "energy_j"):
        v = a.get(f)
        if v is None and f == "energy_j":
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                or v <= 0:
            _fail(aid, f, f"must be a positive number, got {v!r}")
    for f, typ in (("url", str), ("caveat", str), ("workload_description", str),
                   ("per_sample", bool), ("energy_idle_subtracted", bool)):
        if f in a and not isinstance(a[f], typ):
            _fail(aid, f, f"must be a {typ.__name__}, got {a[f]!r}")
    if not isinstance(a.get("fuse_attention"), bool):
        _fail(aid, "fuse_attention", f"must be true or false, got {a.get('fuse_attention')!r}")
    if "energy_j" in a and "energy_idle_subtracted" not in a:
        _fail(aid, "energy_idle_subtracted", "is missing (required with energy_j)")
    for f, valid in (("mode", _MODES), ("scope", _SCOPES), ("precision", tuple(_BYTES_PER_EL)),
                     ("workload", tuple(sorted(WORKLOADS)))):
        if a[f] not in valid:
            _fail(aid, f, f"must be one of {valid}, got {a[f]!r}")
    mat = a.get("materialized_operands", [])
    if not isinstance(mat, list) or any(m not in _ATTN_PRODUCTS for m in mat):
        _fail(aid, "materialized_operands", f"must be a list drawn from {_ATTN_PRODUCTS}")
    return {"per_sample": False, "materialized_operands": [], "context_len": None,
            "layers": None, **a}


def load_anchors(path: str | Path | None = None) -> list[dict]:
    """Read and validate the anchor file (default :data:`ANCHORS_PATH`).

    Raises ValueError naming the anchor and field on a missing citation, a
    non-positive number, an unknown workload/mode/scope/precision, or a
    duplicate id.
    """
    path = Path(path) if path is not None else ANCHORS_PATH
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{path}: not valid TOML: {e}") from None
    raw = data.get("anchor")
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{path}: no [[anchor]] tables")
    anchors, seen = [], set()
    for i, a in enumerate(raw):
        a = _check_anchor(a, i)
        if a["id"] in seen:
            _fail(a["id"], "id", "is duplicated")
        seen.add(a["id"])
        anchors.append(a)
    return anchors


def _anchor_ops(a: dict, copies: bool) -> list[Operator]:
    """The operators the anchor measured (see the schema in the anchor file)."""
    bpe = _BYTES_PER_EL[a["precision"]]
    ops = operator_graph(a["workload"], a["seq_len"], batch=a["batch"], mode=a["mode"],
                         context_len=a["context_len"], bytes_per_el=bpe)
    n_layers = a["layers"] or WORKLOADS[a["workload"]].layers
    if a["scope"] != "model":
        ops = [op for op in ops if op.layer >= 0]
    ops = [op for op in ops if op.layer < n_layers]
    if a["scope"] == "attention":
        ops = [op for op in ops if op.name in _ATTN_PRODUCTS]
    if not copies:
        return ops
    out = []
    for op in ops:
        if op.name in a["materialized_operands"]:
            # Contiguous copy of the second operand (K or V: k x n per head) before the product.
            el = op.batch * op.heads * op.k * op.n
            out.append(Operator(op.layer, op.name + ".operand_copy", "elementwise", flops=0,
                                weight_bytes=0, act_in_bytes=el * bpe, act_out_bytes=el * bpe,
                                elements=el, heads=op.heads, batch=op.batch))
        out.append(op)
    return out


def _versus(a: dict, r: dict, idle_w: float) -> dict:
    scale = 1.0 / a["batch"] if a["per_sample"] else 1.0
    t = a["latency_s"]
    row = {"roofline_latency_s": r["roofline_latency_s"] * scale,
           "latency_s": r["latency_s"] * scale,
           "launch_time_s": r["launch_time_s"] * scale,
           "kernels": r["kernels"], "bound_counts": r["bound_counts"]}
    row["roofline_error"] = row["roofline_latency_s"] / t - 1
    row["latency_error"] = row["latency_s"] / t - 1
    if "energy_j" in a:
        e, e_roof = r["energy_j"], r["roofline_energy_j"]
        if a["energy_idle_subtracted"]:
            e -= idle_w * r["latency_s"]
            e_roof -= idle_w * r["roofline_latency_s"]
        row["energy_j"], row["roofline_energy_j"] = e * scale, e_roof * scale
        row["energy_error"] = row["energy_j"] / a["energy_j"] - 1
        row["roofline_energy_error"] = row["roofline_energy_j"] / a["energy_j"] - 1
    return row


def anchor_comparison(path: str | Path | None = None, *,
                      compute_efficiency: float = DEFAULT_COMPUTE_EFFICIENCY,
                      memory_efficiency: float = DEFAULT_MEMORY_EFFICIENCY,
                      launch_overhead_s: float = DEFAULT_LAUNCH_OVERHEAD_S) -> list[dict]:
    """Roofline vs. published measurement, for every anchor whose GPU is in :data:`GPUS`.

    Each anchor's operator list is built with :func:`operator_graph` (its
    workload shape, batch, seq_len, context_len, mode and precision), cut to
    its ``scope`` and priced with the fusion its software used. Errors are
    relative: ``model / measured - 1`` (negative = the model is faster than
    the GPU was). ``roofline_error`` leaves launch overhead out,
    ``latency_error`` puts it in; the same for energy where one was published
    (idle power subtracted from the model when the measurement subtracted it).
    Anchors with ``materialized_operands`` also get ``with_operand_copies``:
    the same numbers with a contiguous copy of K / V before each named
    product, as the anchor's code does (see its note).

    Returns:
        list of dicts: ``id``, ``gpu``, ``workload``, ``mode``, ``scope``,
        ``batch``, ``seq_len``, ``context_len``, ``precision``, ``software``,
        ``per_sample``, ``fusion``, ``citation``, ``measured_latency_s``,
        ``measured_energy_j`` (None if not published), ``caveats`` (list),
        ``assumptions``, and the keys of the comparison described above.
    """
    rows = []
    for a in load_anchors(path):
        if a["gpu"] not in GPUS:
            continue
        spec = GPUS[a["gpu"]]
        kw = dict(compute_efficiency=compute_efficiency, memory_efficiency=memory_efficiency,
                  launch_overhead_s=launch_overhead_s, fuse_attention=a["fuse_attention"])
        r = gpu_estimate(_anchor_ops(a, copies=False), spec, **kw)
        caveats = [a["caveat"]] if a.get("caveat") else []
        if a["precision"] == "fp32":
            caveats.append("fp32 run priced with the FP16 tensor peak: compute time understated"
                           if r["bound_counts"]["compute"] else
                           "fp32 run: every kernel memory-bound, so the FP16 compute peak used "
                           "does not enter")
        row = {k: a[k] for k in ("id", "gpu", "workload", "mode", "scope", "batch", "seq_len",
                                 "context_len", "precision", "software", "per_sample",
                                 "citation")}
        row.update({"fusion": r["fusion"], "measured_latency_s": a["latency_s"],
                    "measured_energy_j": a.get("energy_j"), "caveats": caveats,
                    "assumptions": r["assumptions"]})
        row.update(_versus(a, r, spec.idle_w))
        if a["materialized_operands"]:
            rc = gpu_estimate(_anchor_ops(a, copies=True), spec, **kw)
            row["with_operand_copies"] = _versus(a, rc, spec.idle_w)
        rows.append(row)
    return rows
