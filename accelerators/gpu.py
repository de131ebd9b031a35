"""Roofline GPU baseline for the shape-only workloads of :mod:`.workloads`.

Each kernel takes a roofline time ``t_roof = max(flops / (peak * eta_c),
bytes / (bw * eta_m))`` plus a separately stated launch/dispatch overhead
``t_launch``; kernels run back to back. Units: seconds, joules, watts, bytes,
FLOP. :func:`gpu_estimate` reports the two terms apart (``roofline_latency_s``,
``launch_time_s``) because at small batch the launch term is most of the
total and it is an assumption, not a spec value. Published measurements of the
same work (:mod:`.gpu_anchors`) tell how
far either term is from real GPUs.

Spec sheets (dense tensor-core FP16/BF16 with FP32 accumulate, no 2:4 sparsity):

* **H100 SXM5** -- NVIDIA H100 Tensor Core GPU datasheet and "NVIDIA H100
  Tensor Core GPU Architecture" whitepaper: 989 TFLOPS dense FP16/BF16 (1979
  with sparsity), 3.35 TB/s HBM3, 700 W max TDP, GH100 die 814 mm^2, TSMC 4N.
* **H200 SXM** -- NVIDIA H200 Tensor Core GPU datasheet (nvidia.com/en-us/
  data-center/h200): FP16/BF16 tensor 1,979 TFLOPS with sparsity = 989 dense
  (same GH100 die and compute as the H100), 141 GB HBM3e at 4.8 TB/s, up to
  700 W (SXM); GH100 814 mm^2, TSMC 4N.
* **A100 SXM4 80GB** -- NVIDIA A100 datasheet and Ampere (GA100) whitepaper:
  312 TFLOPS dense FP16/BF16, 2039 GB/s HBM2e, 400 W TDP, GA100 die 826 mm^2,
  TSMC 7 nm (N7).
* **A100 40GB** -- same datasheet, 40 GB column: 312 TFLOPS dense FP16,
  1555 GB/s HBM2, 400 W (SXM4; the 40 GB PCIe card is 250 W with the same
  peak and bandwidth). Present because published BERT anchors ran on it.
* **RTX 4090** -- NVIDIA Ada Lovelace (AD102) architecture whitepaper, GeForce
  RTX 4090 column: peak FP16 tensor 330.3 TFLOPS with FP16 accumulate but
  165.2 TFLOPS with FP32 accumulate (GeForce parts run FP32-accumulate at half
  rate). Mixed-precision inference/training accumulates in FP32, so 165.2 is
  used. 1008 GB/s GDDR6X, 450 W total board power, AD102 608.5 mm^2, TSMC 4N.
* **Jetson AGX Orin 64GB** -- NVIDIA Jetson AGX Orin series datasheet and
  technical brief: the headline "275 TOPS" is sparse INT8 of the whole module
  (GPU 170 + two DLAs 105). GPU alone: 170 sparse INT8 TOPS -> 85 dense INT8
  -> 42.5 dense FP16 TFLOPS (Ampere tensor cores run FP16 at half the INT8
  rate), at the maximum (MAXN) GPU clock. Derived, not a published figure.
  204.8 GB/s LPDDR5 (shared with the CPU), 60 W maximum module power (15-60 W
  configurable), Samsung 8 nm. The Orin SoC die area is not published by
  NVIDIA, so ``die_area_mm2`` is None.

Assumptions (not spec values; change them through :func:`gpu_estimate`; every
result lists them with their values under ``assumptions``):

* Compute efficiency 0.7 of dense peak: large cuBLAS FP16 GEMMs typically
  sustain roughly 60-80 % of tensor-core peak; 0.7 is a mid value.
* Memory efficiency 0.8 of peak bandwidth: STREAM-like copy kernels typically
  reach about 80-90 % of HBM/GDDR peak.
* Kernel launch/dispatch overhead 5 us per kernel, added serially: a few us of
  CUDA launch latency plus eager-framework dispatch. Pessimistic for CUDA
  graphs / TensorRT (~1-2 us); it dominates small-batch work (BERT-base,
  batch 1, seq 128 on an H100: 146 kernels -> 730 us of launch against a
  99 us roofline), hence reported separately.
* Fused attention by default: scores, softmax and context run as one
  FlashAttention-style kernel that reads Q, K, V once and writes O (no
  materialized score matrix), as PyTorch SDPA / FlashAttention do. Every other
  operator is its own kernel with no fusion (an upper bound on kernel count
  for TensorRT / FasterTransformer, which also fuse bias, GELU and
  residual+LayerNorm). ``fusion`` in the result states which one was used.
* Idle power 10 % of TDP for every GPU (order of magnitude of what nvidia-smi
  reports for idle datacenter parts; not a datasheet number).

Energy model: during a kernel the limiting unit is busy for ``t_roof`` and the
whole kernel (launch gap included) lasts ``t_roof + t_launch``. Power = idle +
(TDP - idle) * busy fraction, so

    E = P_idle * latency + (TDP - P_idle) * sum(t_roof)      (energy_j)
    E_roof = TDP * sum(t_roof)                               (roofline_energy_j)

A saturated kernel therefore draws full TDP -- an upper-bound-leaning choice,
since memory-bound kernels in practice draw less than TDP.
"""
from __future__ import annotations

from dataclasses import dataclass

from .workloads import Operator

__all__ = ["GPUSpec", "GPUS", "BASELINE_GPUS", "get_gpu", "gpu_estimate", "kernel_time_s",
           "DEFAULT_COMPUTE_EFFICIENCY", "DEFAULT_MEMORY_EFFICIENCY",
           "DEFAULT_LAUNCH_OVERHEAD_S", "IDLE_FRACTION_OF_TDP"]

DEFAULT_COMPUTE_EFFICIENCY = 0.7
"""Assumed fraction of dense tensor-core peak sustained by a kernel."""
DEFAULT_MEMORY_EFFICIENCY = 0.8
"""Assumed fraction of peak DRAM bandwidth sustained by a kernel."""
DEFAULT_LAUNCH_OVERHEAD_S = 5e-6
"""Assumed per-kernel launch/dispatch overhead (seconds)."""
IDLE_FRACTION_OF_TDP = 0.1
"""Assumed idle power as a fraction of TDP."""

_FUSED_ATTENTION = ("attn.scores", "attn.softmax", "attn.context")
FUSION_FUSED = ("attention scores+softmax+context fused into one kernel (FlashAttention-style); "
                "every other operator one kernel")
FUSION_NONE = "no fusion: every operator one kernel (attention score matrix written to DRAM)"


@dataclass(frozen=True)
class GPUSpec:
    """Public spec-sheet figures of one GPU.

    Attributes:
        name: marketing name.
        peak_fp16_tflops: dense FP16/BF16 tensor-core peak, FP32 accumulate,
            no sparsity (1e12 FLOP/s).
        mem_bw_gbps: peak DRAM bandwidth (1e9 bytes/s).
        tdp_w: maximum board/module power (W).
        idle_w: idle power (W); an assumption, see :data:`IDLE_FRACTION_OF_TDP`.
        die_area_mm2: GPU die area (mm^2), None if not published.
        process_nm: nominal process name as a number (TSMC "4N" is an
            N5-family node; the number is the marketing name, not a pitch).
        process: foundry process name.
        source: where the figures come from.
    """

    name: str
    peak_fp16_tflops: float
    mem_bw_gbps: float
    tdp_w: float
    idle_w: float
    die_area_mm2: float | None
    process_nm: float
    process: str
    source: str

    def __post_init__(self) -> None:
        for field in ("peak_fp16_tflops", "mem_bw_gbps", "tdp_w"):
            if not getattr(self, field) > 0:
                raise ValueError(f"{field} must be > 0, got {getattr(self, field)!r}")
        if not 0 <= self.idle_w <= self.tdp_w:
            raise ValueError(f"idle_w must be in [0, tdp_w], got {self.idle_w!r}")

    @property
    def ridge_flop_per_byte(self) -> float:
        """Arithmetic intensity (FLOP/B) where the underated roofline turns compute-bound."""
        return self.peak_fp16_tflops * 1e12 / (self.mem_bw_gbps * 1e9)


def _spec(name: str, tflops: float, bw: float, tdp: float, area: float | None,
          nm: float, process: str, source: str) -> GPUSpec:
    return GPUSpec(name, tflops, bw, tdp, IDLE_FRACTION_OF_TDP * tdp, area, nm, process, source)


GPUS: dict[str, GPUSpec] = {
    "h100": _spec(
        "NVIDIA H100 SXM5", 989.0, 3350.0, 700.0, 814.0, 4, "TSMC 4N",
        "NVIDIA H100 datasheet / Hopper whitepaper: 989 TFLOPS dense FP16 tensor, "
        "3.35 TB/s HBM3, 700 W, 814 mm^2"),
    "h200": _spec(
        "NVIDIA H200 SXM", 989.0, 4800.0, 700.0, 814.0, 4, "TSMC 4N",
        "NVIDIA H200 datasheet: 1,979 TFLOPS FP16 tensor with sparsity = 989 dense "
        "(GH100, as H100), 141 GB HBM3e at 4.8 TB/s, up to 700 W, 814 mm^2"),
    "a100": _spec(
        "NVIDIA A100 SXM4 80GB", 312.0, 2039.0, 400.0, 826.0, 7, "TSMC N7",
        "NVIDIA A100 datasheet / Ampere whitepaper: 312 TFLOPS dense FP16 tensor, "
        "2039 GB/s HBM2e, 400 W, 826 mm^2"),
    "a100-40gb": _spec(
        "NVIDIA A100 40GB", 312.0, 1555.0, 400.0, 826.0, 7, "TSMC N7",
        "NVIDIA A100 datasheet, 40 GB column: 312 TFLOPS dense FP16 tensor, "
        "1555 GB/s HBM2, 400 W (SXM4; PCIe 250 W), 826 mm^2"),
    "rtx4090": _spec(
        "NVIDIA GeForce RTX 4090", 165.2, 1008.0, 450.0, 608.5, 4, "TSMC 4N",
        "NVIDIA Ada (AD102) whitepaper: 165.2 TFLOPS dense FP16 tensor with FP32 "
        "accumulate (330.3 with FP16 accumulate), 1008 GB/s GDDR6X, 450 W, 608.5 mm^2"),
    "jetson-orin": _spec(
        "NVIDIA Jetson AGX Orin 64GB", 42.5, 204.8, 60.0, None, 8, "Samsung 8N",
        "Jetson AGX Orin datasheet: 275 sparse INT8 TOPS module = GPU 170 + DLA 105; "
        "GPU 170 sparse INT8 / 2 (dense) / 2 (FP16) = 42.5 TFLOPS derived; "
        "204.8 GB/s LPDDR5, 60 W max; die area not published"),
}
"""GPU presets by key; figures and sources in the module docstring."""

BASELINE_GPUS = ("h100", "h200", "a100", "rtx4090", "jetson-orin")
"""Presets meant for accelerator-vs-GPU tables (``a100-40gb`` exists for anchors)."""


def get_gpu(name: str) -> GPUSpec:
    """Return the preset called ``name``; ValueError lists valid names."""
    try:
        return GPUS[name.lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"unknown gpu {name!r}; valid names: {', '.join(sorted(GPUS))}") from None


@dataclass(frozen=True)
class _Kernel:
    layer: int
    name: str
    flops: float
    bytes: float


def _kernels(ops: list[Operator], fuse_attention: bool) -> list[_Kernel]:
    """Group operators into GPU kernels (one each, except fused attention)."""
    out: list[_Kernel] = []
    i = 0
    while i < len(ops):
        op = ops[i]
        group = ops[i:i + 3]
        if (fuse_attention and len(group) == 3
                and tuple(g.name for g in group) == _FUSED_ATTENTION
                and len({g.layer for g in group}) == 1):
            scores, softmax, context = group
            # Q and K (scores input) + V (context input minus the probabilities P) + O.
            v_bytes = context.act_in_bytes - softmax.act_out_bytes
            out.append(_Kernel(op.layer, "attn.fused", sum(g.flops for g in group),
                               scores.act_in_bytes + v_bytes + context.act_out_bytes))
            i += 3
        else:
            out.append(_Kernel(op.layer, op.name, op.flops, op.total_bytes))
            i += 1
    return out


def kernel_time_s(flops: float, nbytes: float, gpu: GPUSpec,
                  compute_efficiency: float = DEFAULT_COMPUTE_EFFICIENCY,
                  memory_efficiency: float = DEFAULT_MEMORY_EFFICIENCY) -> tuple[float, float]:
    """Roofline (compute time, memory time) of one kernel in seconds, launch excluded."""
    t_c = flops / (gpu.peak_fp16_tflops * 1e12 * compute_efficiency)
    t_m = nbytes / (gpu.mem_bw_gbps * 1e9 * memory_efficiency)
    return t_c, t_m


def gpu_estimate(ops: list[Operator], gpu: GPUSpec | str, *,
                 compute_efficiency: float = DEFAULT_COMPUTE_EFFICIENCY,
                 memory_efficiency: float = DEFAULT_MEMORY_EFFICIENCY,
                 launch_overhead_s: float = DEFAULT_LAUNCH_OVERHEAD_S,
                 fuse_attention: bool = True) -> dict:
    """Roofline latency and energy of running ``ops`` on ``gpu``.

    Args:
        ops: operators from :func:`~imcspice.accelerators.workloads.operator_graph`.
        gpu: a :class:`GPUSpec` or a key of :data:`GPUS`.
        compute_efficiency: fraction of dense peak sustained, in (0, 1].
        memory_efficiency: fraction of peak bandwidth sustained, in (0, 1].
        launch_overhead_s: serial overhead per kernel (s), >= 0.
        fuse_attention: run scores/softmax/context as one fused kernel.

    Returns:
        dict with ``gpu`` (name); ``roofline_latency_s`` (sum over kernels of
        max(compute, memory) time, no launch), ``launch_time_s`` (kernels x
        ``launch_overhead_s``), ``latency_s`` (= roofline + launch);
        ``energy_j`` (launch gaps at idle power) and ``roofline_energy_j``
        (no launch term, = TDP x roofline latency); ``avg_power_w``;
        ``fusion`` (one line), ``launch_overhead_s``, ``assumptions`` (list of
        "name value" strings for every assumed constant);
        ``per_layer_latency_s`` (list, one entry per block), ``other_latency_s``
        (embedding, final norm, LM head), ``bound_counts`` ({"compute": n,
        "memory": n} kernels), ``compute_bound_time_s`` / ``memory_bound_time_s``
        (roofline time of the kernels of each class), ``kernels`` (count),
        ``flops``, ``bytes`` (after fusion) and ``per_kernel`` (list of dicts:
        layer, name, time_s (launch included), roofline_s, bound).
    """
    if isinstance(gpu, str):
        gpu = get_gpu(gpu)
    if not isinstance(gpu, GPUSpec):
        raise ValueError(f"gpu must be a GPUSpec or preset name, got {type(gpu).__name__}")
    for arg, v in (("compute_efficiency", compute_efficiency),
                   ("memory_efficiency", memory_efficiency)):
        if not 0 < v <= 1:
            raise ValueError(f"{arg} must be in (0, 1], got {v!r}")
    if not launch_overhead_s >= 0:
        raise ValueError(f"launch_overhead_s must be >= 0, got {launch_overhead_s!r}")
    if not ops:
        raise ValueError("ops must be a non-empty list of Operator")

    kernels = _kernels(list(ops), fuse_attention)
    n_layers = max(k.layer for k in kernels) + 1
    per_layer = [0.0] * n_layers
    other = 0.0
    bound_time = {"compute": 0.0, "memory": 0.0}
    bound_count = {"compute": 0, "memory": 0}
    roof_total = 0.0
    per_kernel = []
    for k in kernels:
        t_c, t_m = kernel_time_s(k.flops, k.bytes, gpu, compute_efficiency, memory_efficiency)
        bound = "compute" if t_c > t_m else "memory"
        t_roof = max(t_c, t_m)
        t = t_roof + launch_overhead_s
        roof_total += t_roof
        bound_time[bound] += t_roof
        bound_count[bound] += 1
        if k.layer >= 0:
            per_layer[k.layer] += t
        else:
            other += t
        per_kernel.append({"layer": k.layer, "name": k.name, "time_s": t,
                           "roofline_s": t_roof, "bound": bound})

    launch = launch_overhead_s * len(kernels)
    latency = roof_total + launch
    energy = gpu.idle_w * latency + (gpu.tdp_w - gpu.idle_w) * roof_total
    return {
        "gpu": gpu.name,
        "roofline_latency_s": roof_total,
        "launch_time_s": launch,
        "latency_s": latency,
        "energy_j": energy,
        "roofline_energy_j": gpu.tdp_w * roof_total,
        "avg_power_w": energy / latency if latency > 0 else gpu.idle_w,
        "fusion": FUSION_FUSED if fuse_attention else FUSION_NONE,
        "launch_overhead_s": launch_overhead_s,
        "assumptions": [
            f"compute efficiency {compute_efficiency:g} of dense FP16 tensor peak "
            f"({gpu.peak_fp16_tflops:g} TFLOPS)",
            f"memory efficiency {memory_efficiency:g} of peak DRAM bandwidth "
            f"({gpu.mem_bw_gbps:g} GB/s)",
            f"launch/dispatch overhead {launch_overhead_s * 1e6:g} us per kernel, serial",
            f"idle power {gpu.idle_w:g} W ({gpu.idle_w / gpu.tdp_w:g} of TDP {gpu.tdp_w:g} W)",
            "busy power: TDP while a kernel's limiting unit is busy (upper-leaning)",
            "fusion: " + (FUSION_FUSED if fuse_attention else FUSION_NONE),
        ],
        "per_layer_latency_s": per_layer,
        "other_latency_s": other,
        "bound_counts": bound_count,
        "compute_bound_time_s": bound_time["compute"],
        "memory_bound_time_s": bound_time["memory"],
        "kernels": len(kernels),
        "flops": sum(k.flops for k in kernels),
        "bytes": sum(k.bytes for k in kernels),
        "per_kernel": per_kernel,
    }
