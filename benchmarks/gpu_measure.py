#!/usr/bin/env python3
"""Measure on a real NVIDIA GPU the work that imcspice's roofline GPU baseline prices.

Standalone (not imcspice): needs torch with CUDA, transformers (BertConfig /
BertModel only, random weights: no download), nvidia-ml-py (pynvml), numpy.
Ran in 71 s on an H200 (2026-11-30, ``wall_time_s`` of accelerators/data/
gpu_measured.json); ``GPU_MEASURE_BUDGET_S`` (default 210) skips what is left past it.
Units: seconds, joules, watts.

Workloads (FP16, batch 1, unless said):

a. ``minilm-{eager,sdpa}``: BertModel with the all-MiniLM-L6-v2 shape (6 layers,
   hidden 384, 12 heads, intermediate 1536, vocab 30522), seq 128, one forward
   (prefill), no pooler; attention implementation "eager" or "sdpa".
b. ``bert-base-{eager,sdpa}``: the same with BERT-base (12 layers, 768, 12, 3072).
c. ``gaincell-*``: the GPU baseline of Leroux et al. 2025 (Nature Computational
   Science, gain-cell attention; RTX 4090: 22.4 us, 7.18 mJ per token per
   sample): batch 64, 12 heads x 64, KV cache 1024, one decode token, only
   q@k^T and p@v (no softmax), eager. ``paper-layout`` keeps their cache layout
   (S, T, H, Dh) viewed as (S, H, T, Dh), as in their test_speed_energy.py
   (torch.matmul then copies K and V); ``contiguous`` stores (S, H, T, Dh).
   FP16, plus the paper layout in FP32 (their tensors were float32). The new
   token's K/V row is written at a fixed cache slot (same cost as cycling).
   ``per_token_per_sample_*`` divide by the batch of 64.
d. ``causal-lm-attention``: the project's small causal LM (4 layers, d_model
   128, 4 heads x 32, context 128), batch 1, one decode step: per layer
   QK^T, scale, softmax, PV; eager.

Every workload is launched eagerly and also replayed as a CUDA graph
(torch.cuda.CUDAGraph), which removes the CPU launch/dispatch overhead and
leaves the kernels; a capture failure is recorded as ``graph_error``.

Timing: CUDA events around each call after warm-up, synchronized between
calls (single-request latency); median, p10, p90 over up to 200 calls.
Energy: NVML nvmlDeviceGetTotalEnergyConsumption (mJ counter) read before and
after >= 2.5 s of back-to-back calls: ``energy_j`` = counter delta / calls
(nothing subtracted), ``energy_above_idle_j`` = (delta - idle_power_w x window)
/ calls, ``avg_power_w`` = delta / window; ``idle_power_w`` is measured from
the same counter over 3 s before any work.

Output: ``$OUT/gpu_measured.json`` (``./gpu_measured.json`` without OUT); the
same JSON is the last line printed.

Run:  OUT=/tmp/out python3 benchmarks/gpu_measure.py
"""
from __future__ import annotations

import datetime
import json
import math
import os
import sys
import time
import traceback

import numpy as np
import torch

ENERGY_WINDOW_S = 2.5   # per energy loop (>= 2 s so the mJ counter resolves it)
IDLE_WINDOW_S = 3.0
WARMUP_CALLS = 20
TIMED_CALLS = 200
TIMED_MAX_S = 3.0
# skip what is left past this, so the run stays < ~4 min (gpu_session.sh sets less)
TIME_BUDGET_S = float(os.environ.get("GPU_MEASURE_BUDGET_S", "210"))
T_START = time.perf_counter()
DEVICE = "cuda"         # builders only; "cpu" lets their code be smoke-tested without a GPU
RANDOM_WEIGHTS_NOTE = ("random weights (transformers BertConfig, no checkpoint): timing and "
                       "energy do not depend on weight values")


def log(msg: str) -> None:
    print(f"[gpu_measure {time.perf_counter() - T_START:6.1f}s] {msg}", flush=True)


def err(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"[:500]


def over_budget() -> bool:
    return time.perf_counter() - T_START > TIME_BUDGET_S


class Meter:
    """NVML energy counter and power of the GPU torch uses."""

    def __init__(self) -> None:
        self.handle, self.error, self.how = None, None, None
        try:
            import pynvml
            self.nv = pynvml
            pynvml.nvmlInit()
        except Exception as e:  # noqa: BLE001
            self.error = "NVML unavailable: " + err(e)
            return
        props = torch.cuda.get_device_properties(torch.cuda.current_device())
        uuid = getattr(props, "uuid", None)
        if uuid is not None:
            try:
                self.handle = pynvml.nvmlDeviceGetHandleByUUID("GPU-" + str(uuid))
                self.how = "uuid"
            except Exception:  # noqa: BLE001
                self.handle = None
        if self.handle is None:
            try:
                idx = 0 if pynvml.nvmlDeviceGetCount() == 1 else torch.cuda.current_device()
                self.handle = pynvml.nvmlDeviceGetHandleByIndex(idx)
                self.how = f"index {idx}"
            except Exception as e:  # noqa: BLE001
                self.error = "no NVML handle: " + err(e)
        if self.handle is not None:
            try:
                self.energy_j()
            except Exception as e:  # noqa: BLE001
                self.error, self.handle = "no energy counter: " + err(e), None

    def energy_j(self) -> float:
        return self.nv.nvmlDeviceGetTotalEnergyConsumption(self.handle) / 1e3

    def info(self) -> dict:
        out = {"nvml_handle_by": self.how, "nvml_error": self.error}
        if self.handle is None:
            return out
        for key, call, scale in (
                ("driver", lambda: self.nv.nvmlSystemGetDriverVersion(), None),
                ("power_limit_w", lambda: self.nv.nvmlDeviceGetEnforcedPowerLimit(self.handle),
                 1e-3),
                ("power_now_w", lambda: self.nv.nvmlDeviceGetPowerUsage(self.handle), 1e-3),
                ("temperature_c", lambda: self.nv.nvmlDeviceGetTemperature(self.handle, 0), None),
                ("sm_clock_max_mhz", lambda: self.nv.nvmlDeviceGetMaxClockInfo(self.handle, 1),
                 None),
                ("mem_clock_max_mhz", lambda: self.nv.nvmlDeviceGetMaxClockInfo(self.handle, 2),
                 None)):
            try:
                v = call()
                v = v.decode() if isinstance(v, bytes) else v
                out[key] = v * scale if scale else v
            except Exception as e:  # noqa: BLE001
                out[key] = None
                out.setdefault("nvml_info_errors", []).append(f"{key}: {err(e)}")
        return out

    def idle_power_w(self) -> float | None:
        if self.handle is None:
            return None
        torch.cuda.synchronize()
        time.sleep(0.5)
        e0, t0 = self.energy_j(), time.perf_counter()
        time.sleep(IDLE_WINDOW_S)
        e1, t1 = self.energy_j(), time.perf_counter()
        return (e1 - e0) / (t1 - t0)


def time_calls(fn) -> dict:
    """Single-call latency by CUDA events, synchronized between calls."""
    for _ in range(WARMUP_CALLS):
        fn()
    torch.cuda.synchronize()
    gpu, wall = [], []
    stop = time.perf_counter() + TIMED_MAX_S
    for _ in range(TIMED_CALLS):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        w0 = time.perf_counter()
        start.record()
        fn()
        end.record()
        end.synchronize()
        wall.append(time.perf_counter() - w0)
        gpu.append(start.elapsed_time(end) / 1e3)
        if time.perf_counter() > stop and len(gpu) >= 20:
            break
    a = np.asarray(gpu)
    return {"latency_s": float(np.median(a)), "latency_p10_s": float(np.percentile(a, 10)),
            "latency_p90_s": float(np.percentile(a, 90)),
            "wall_latency_s": float(np.median(wall)), "timed_calls": len(gpu)}


def energy_loop(fn, per_call_s: float, meter: Meter, idle_w: float | None) -> dict:
    """Back-to-back calls for >= ENERGY_WINDOW_S; energy from the NVML counter."""
    if meter.handle is None:
        return {"energy_error": meter.error}
    if over_budget():
        return {"energy_error": "skipped: time budget used up"}
    chunk = max(1, int(0.2 / max(per_call_s, 1e-7)))
    calls = 0
    torch.cuda.synchronize()
    e0, t0 = meter.energy_j(), time.perf_counter()
    while True:
        for _ in range(chunk):
            fn()
        calls += chunk
        torch.cuda.synchronize()
        if time.perf_counter() - t0 >= ENERGY_WINDOW_S:
            break
    t1 = time.perf_counter()
    e1 = meter.energy_j()
    window, delta = t1 - t0, e1 - e0
    out = {"energy_j": delta / calls, "avg_power_w": delta / window, "repetitions": calls,
           "energy_window_s": window, "loop_time_per_call_s": window / calls}
    if idle_w is not None:
        out["energy_above_idle_j"] = (delta - idle_w * window) / calls
    return out


def cuda_graph(fn):
    """Capture fn() into a CUDA graph; return its replay."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(side)
    torch.cuda.synchronize()
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        fn()
    torch.cuda.synchronize()
    return g.replay


# --------------------------------------------------------------------------- workloads

BERT_SHAPES = {
    "minilm": dict(num_hidden_layers=6, hidden_size=384, num_attention_heads=12,
                   intermediate_size=1536),
    "bert-base": dict(num_hidden_layers=12, hidden_size=768, num_attention_heads=12,
                      intermediate_size=3072),
}


def build_bert(shape: str, impl: str, seq: int = 128):
    from transformers import BertConfig, BertModel
    cfg = BertConfig(vocab_size=30522, max_position_embeddings=512, type_vocab_size=2,
                     hidden_act="gelu", **BERT_SHAPES[shape])
    try:
        cfg._attn_implementation = impl
    except Exception:  # noqa: BLE001
        pass
    try:
        model = BertModel(cfg, add_pooling_layer=False)
    except TypeError:
        model = BertModel(cfg)
    if hasattr(model, "set_attn_implementation"):
        try:
            model.set_attn_implementation(impl)
        except Exception:  # noqa: BLE001
            pass
    model = model.to(device=DEVICE, dtype=torch.float16).eval()
    used = getattr(model.config, "_attn_implementation", None)
    ids = torch.randint(0, 30522, (1, seq), device=DEVICE)

    def fn():
        return model(input_ids=ids).last_hidden_state

    info = {"model": "BertModel", "shape": {**BERT_SHAPES[shape], "vocab_size": 30522},
            "batch": 1, "seq_len": seq, "mode": "prefill", "precision": "fp16",
            "attn_implementation_requested": impl, "attn_implementation_used": used,
            "pooler": False, "attention_mask": None, "weights": RANDOM_WEIGHTS_NOTE,
            "parameters": sum(p.numel() for p in model.parameters())}
    return fn, info


S, H, DH, T = 64, 12, 64, 1024


def build_gaincell(layout: str, dtype):
    g = torch.Generator(device=DEVICE).manual_seed(0)
    kw = dict(device=DEVICE, dtype=dtype, generator=g)
    q_new = torch.randn(S, 1, H, DH, **kw)
    k_new, v_new = torch.randn(S, 1, H, DH, **kw), torch.randn(S, 1, H, DH, **kw)
    slot = T - 1
    if layout == "paper":  # (S, T, H, Dh) cache, transposed views as in the paper's script
        kc, vc = torch.randn(S, T, H, DH, **kw), torch.randn(S, T, H, DH, **kw)

        def fn():
            kc[:, slot:slot + 1] = k_new
            vc[:, slot:slot + 1] = v_new
            q, k, v = q_new.transpose(1, 2), kc.transpose(1, 2), vc.transpose(1, 2)
            x = torch.matmul(q, k.transpose(-1, -2))
            return torch.matmul(x, v)
    else:  # contiguous (S, H, T, Dh) cache: bmm reads it in place
        kc, vc = torch.randn(S, H, T, DH, **kw), torch.randn(S, H, T, DH, **kw)
        q_c, k_c, v_c = (t.transpose(1, 2).contiguous() for t in (q_new, k_new, v_new))

        def fn():
            kc[:, :, slot:slot + 1] = k_c
            vc[:, :, slot:slot + 1] = v_c
            x = torch.matmul(q_c, kc.transpose(-1, -2))
            return torch.matmul(x, vc)

    info = {"kernels": "q@k^T and p@v only (no softmax), plus the new K/V row write",
            "batch": S, "heads": H, "head_dim": DH, "kv_cache": T, "mode": "decode",
            "precision": "fp32" if dtype == torch.float32 else "fp16", "layout": layout,
            "allow_tf32": torch.backends.cuda.matmul.allow_tf32,
            "per_sample_divisor": S,
            "paper_reference_rtx4090": {"per_token_per_sample_latency_s": 22.4e-6,
                                        "per_token_per_sample_energy_j": 7.18e-3,
                                        "precision": "fp32", "energy": "idle-subtracted"}}
    return fn, info


def build_causal_lm():
    layers, heads, dh, ctx = 4, 4, 32, 128
    g = torch.Generator(device=DEVICE).manual_seed(0)
    kw = dict(device=DEVICE, dtype=torch.float16, generator=g)
    qs = [torch.randn(1, heads, 1, dh, **kw) for _ in range(layers)]
    ks = [torch.randn(1, heads, ctx, dh, **kw) for _ in range(layers)]
    vs = [torch.randn(1, heads, ctx, dh, **kw) for _ in range(layers)]
    scale = dh ** -0.5

    def fn():
        out = None
        for q, k, v in zip(qs, ks, vs):
            s = torch.matmul(q, k.transpose(-1, -2)) * scale
            out = torch.matmul(torch.softmax(s, dim=-1), v)
        return out

    info = {"kernels": "per layer: QK^T, scale, softmax, PV (no mask: decode sees the window)",
            "layers": layers, "d_model": heads * dh, "heads": heads, "head_dim": dh,
            "context": ctx, "batch": 1, "mode": "decode", "precision": "fp16"}
    return fn, info


CASES = [
    ("minilm-eager", lambda: build_bert("minilm", "eager")),
    ("minilm-sdpa", lambda: build_bert("minilm", "sdpa")),
    # the length our evaluations price: the mean token count of the simulated sentences
    # (12.5 for the 64-sentence set, 12.75 for the 24 of --quick): 13 tokens
    ("minilm-eager-seq13", lambda: build_bert("minilm", "eager", 13)),
    ("minilm-sdpa-seq13", lambda: build_bert("minilm", "sdpa", 13)),
    ("bert-base-eager", lambda: build_bert("bert-base", "eager")),
    ("bert-base-sdpa", lambda: build_bert("bert-base", "sdpa")),
    ("gaincell-paper-layout-fp16", lambda: build_gaincell("paper", torch.float16)),
    ("gaincell-contiguous-fp16", lambda: build_gaincell("contiguous", torch.float16)),
    ("gaincell-paper-layout-fp32", lambda: build_gaincell("paper", torch.float32)),
    ("causal-lm-attention", build_causal_lm),
]


def measure(fn, meter: Meter, idle_w, prefix: str) -> dict:
    t = time_calls(fn)
    e = energy_loop(fn, t["latency_s"], meter, idle_w)
    return {prefix + k: v for k, v in {**t, **e}.items()}


def per_sample(row: dict, n: int) -> None:
    for src, dst in (("latency_s", "latency_s"), ("graph_latency_s", "graph_latency_s"),
                     ("energy_j", "energy_j"), ("energy_above_idle_j", "energy_above_idle_j"),
                     ("graph_energy_j", "graph_energy_j"),
                     ("graph_energy_above_idle_j", "graph_energy_above_idle_j")):
        if isinstance(row.get(src), (int, float)):
            row["per_token_per_sample_" + dst] = row[src] / n


def clean(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    return x


def main() -> int:
    out_dir = os.environ.get("OUT") or "."
    result = {"schema": "imcspice.gpu_measured/1",
              "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(),
              "torch": torch.__version__, "cuda": torch.version.cuda, "python": sys.version,
              "numpy": np.__version__, "weights_note": RANDOM_WEIGHTS_NOTE,
              "method": {"timing": "CUDA events, warm-up then synchronized single calls; "
                                   "median / p10 / p90",
                         "energy": "NVML total-energy counter over >= %.1f s of back-to-back "
                                   "calls; energy_j = delta / calls (nothing subtracted); "
                                   "energy_above_idle_j subtracts idle_power_w x window"
                                   % ENERGY_WINDOW_S,
                         "graph": "torch.cuda.CUDAGraph capture of one call, replayed"},
              "workloads": {}}
    try:
        import transformers
        result["transformers"] = transformers.__version__
    except Exception as e:  # noqa: BLE001
        result["transformers"] = None
        result["transformers_error"] = err(e)
    if not torch.cuda.is_available():
        result["error"] = "CUDA not available"
        print(json.dumps(result))
        return 2
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 matmuls stay fp32 (as in the paper)
    result["device"] = torch.cuda.get_device_name()
    log(f"device {result['device']}, torch {torch.__version__}, CUDA {torch.version.cuda}")
    meter = Meter()
    result.update(meter.info())
    torch.zeros(1, device=DEVICE)
    idle_w = meter.idle_power_w()
    result["idle_power_w"] = idle_w
    log(f"idle power {idle_w} W (NVML energy counter over {IDLE_WINDOW_S} s); {meter.error or ''}")

    built = {}
    with torch.no_grad():
        for name, build in CASES:  # phase 1: eager launches
            row = result["workloads"].setdefault(name, {})
            try:
                fn, info = build()
                built[name] = fn
                row.update(info)
                row.update(measure(fn, meter, idle_w, ""))
                log(f"{name}: eager {row['latency_s'] * 1e6:.1f} us, "
                    f"{row.get('energy_j', float('nan')) * 1e3:.3f} mJ/call, "
                    f"{row.get('avg_power_w', float('nan')):.0f} W")
            except Exception as e:  # noqa: BLE001
                row["error"] = err(e)
                row["traceback"] = traceback.format_exc()[-1500:]
                log(f"{name}: FAILED {row['error']}")
                try:
                    torch.cuda.synchronize()
                except Exception:  # noqa: BLE001
                    pass
        # Phase 2: CUDA graphs, after every eager run and plain-torch cases first, so a
        # failed capture (e.g. a host sync inside transformers) can spoil the least.
        for name in sorted(built, key=lambda n: n.startswith(("minilm", "bert"))):
            row = result["workloads"][name]
            try:
                replay = cuda_graph(built[name])
                row.update(measure(replay, meter, idle_w, "graph_"))
                log(f"{name}: graph {row['graph_latency_s'] * 1e6:.1f} us")
            except Exception as e:  # noqa: BLE001
                row["graph_error"] = err(e)
                log(f"{name}: graph FAILED {row['graph_error']}")
                try:
                    torch.cuda.synchronize()
                except Exception:  # noqa: BLE001
                    pass
    for name, row in result["workloads"].items():
        if row.get("per_sample_divisor"):
            per_sample(row, row["per_sample_divisor"])
        if "latency_s" in row and "graph_latency_s" in row:
            row["launch_overhead_s"] = row["latency_s"] - row["graph_latency_s"]
    result["wall_time_s"] = time.perf_counter() - T_START
    result = clean(result)
    path = os.path.join(out_dir, "gpu_measured.json")
    try:
        os.makedirs(out_dir, exist_ok=True)
        with open(path, "w") as fh:
            json.dump(result, fh, indent=2)
        log(f"wrote {path}")
    except OSError as e:
        log(f"could not write {path}: {err(e)}")
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
