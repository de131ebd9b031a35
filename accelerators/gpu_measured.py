"""GPU measurements of our workloads, set beside the roofline model.

``data/gpu_measured.json`` is the output of ``benchmarks/gpu_measure.py`` run on an
NVIDIA H200 (2026-11-30, torch 2.11 + CUDA 13, transformers 5.17, FP16, random
weights: timing and energy do not depend on weight values): latency by CUDA events
(median of 200 calls), eager and as a replayed CUDA graph (the graph removes the host
launch overhead), energy by NVML's total-energy counter over >= 2.5 s of back-to-back
calls (whole board, idle included; ``energy_above_idle_j`` subtracts the idle power).
Eager latencies are host-launch bound and moved between runs on the same machine
(MiniLM seq 128 eager: 3.0 ms in a first run, 5.1 ms in the recorded one); graph
replays were stable (0.46-0.47 ms).
"""
from __future__ import annotations

import json
from pathlib import Path

MEASURED_PATH = Path(__file__).resolve().parent / "data" / "gpu_measured.json"
#: measurement key prefix -> (workload preset, mode) it measures
KEYS = {"minilm-": ("minilm", "prefill"), "bert-base-": ("bert-base", "prefill"),
        "causal-lm-attention": ("byte-lm", "decode")}


def load(path: Path | None = None) -> dict:
    return json.loads(Path(path or MEASURED_PATH).read_text())


def for_workload(workload: str, seq_len: int, mode: str, batch: int,
                 path: Path | None = None) -> list[dict]:
    """Measured rows of the same network shape, sequence (context) and batch."""
    try:
        d = load(path)
    except (OSError, ValueError):
        return []
    out = []
    for key, row in d.get("workloads", {}).items():
        match = next((v for k, v in KEYS.items() if key.startswith(k)), None)
        if match != (workload, mode) or row.get("batch", 1) != batch or "error" in row:
            continue
        if row.get("seq_len", row.get("context")) != seq_len:
            continue
        for how, p in (("eager", ""), ("CUDA graph", "graph_")):
            if row.get(p + "latency_s"):
                out.append({"device": d.get("device", "GPU"), "what": f"{key}, {how}",
                            "how": how, "latency_s": row[p + "latency_s"],
                            "energy_j": row.get(p + "energy_j"),
                            "energy_above_idle_j": row.get(p + "energy_above_idle_j"),
                            "source": f"measured: benchmarks/gpu_measure.py on "
                                      f"{d.get('device')}, {d.get('date_utc', '')[:10]}"})
    return out
