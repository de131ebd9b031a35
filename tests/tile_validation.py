"""A RACE-IT crossbar tile in SPICE against the behavioral crossbar model the
accelerators use (accelerators/analog.py CrossbarLinear, accelerators/hardware.py
crossbar_device), with a real MiniLM weight tile.

Mapping, as CrossbarLinear does it: W (out, in) scaled by max |W| (w_clip_pct = 100)
to [-1, 1]; G+ = g_min + span·max(w, 0), G- = g_min + span·max(-w, 0); rows are word
lines (inputs), each output a differential pair of adjacent columns (G+, G-). Inputs
are bit-serial (race-it.toml ``dac.mode``): one binary read per bit plane, a row at
v_read or 0 V. The behavioral column current is (1 - ir_drop_rel(load))·Σ_r G·d(v_r),
d(v) = v0·sinh(v/v0), load = the column's mean conductance in [g_min, g_max] units.
Full scale: rows·g_max·d(v_read), every cell at g_max and every row driven.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class TileCase:
    g_s: np.ndarray          # (rows, cols) conductances, S
    planes: np.ndarray       # (P, rows) 0/1 input bit planes
    plane_bits: tuple        # which bit of the code each plane is
    v_read_v: float
    v0_v: float
    r_bl_ohm: float
    r_wl_ohm: float
    dev: object              # accelerators.analog.CrossbarDevice


def race_it_tile(rows: int = 128, cols: int = 128, bits=(7, 4), layer: int = 0) -> TileCase:
    """The first ``rows`` x ``cols / 2`` block of MiniLM layer ``layer``'s query weight,
    mapped to ``cols`` physical columns, and bit planes ``bits`` of the [CLS] token's
    input to that layer (embeddings + layer norm), quantized to the DAC's 8 bits."""
    from safetensors.numpy import load_file

    from imcspice.accelerators import arch, hardware, minilm

    a = arch.load("race-it")
    xb = a.component("crossbar")
    dev = hardware.crossbar_device(hardware.HardwareModels.from_dir(), xb)
    t = load_file(str(minilm.find_weights_dir() / "model.safetensors"))
    w = t[f"encoder.layer.{layer}.attention.self.query.weight"].astype(np.float64)  # (out, in)
    e = {k: t[f"embeddings.{k}"].astype(np.float64) for k in (
        "word_embeddings.weight", "position_embeddings.weight",
        "token_type_embeddings.weight", "LayerNorm.weight", "LayerNorm.bias")}
    x = (e["word_embeddings.weight"][101] + e["position_embeddings.weight"][0]
         + e["token_type_embeddings.weight"][0])                 # [CLS] at position 0
    x = (x - x.mean()) / np.sqrt(x.var() + 1e-12) * e["LayerNorm.weight"] + \
        e["LayerNorm.bias"]
    wn = (w / np.abs(w).max())[: cols // 2, :rows].T             # (rows, outputs)
    span = dev.g_max_s - dev.g_min_s
    g = np.empty((rows, cols))
    g[:, 0::2] = dev.g_min_s + span * np.clip(wn, 0, None)
    g[:, 1::2] = dev.g_min_s + span * np.clip(-wn, 0, None)
    in_bits = int(a.component("dac")["bits"])
    full = 2 ** (in_bits - 1) - 1
    xs = x[:rows] / np.abs(x[:rows]).max()
    code = np.clip(np.round(xs * full), -full - 1, full).astype(np.int64)
    code = np.where(code < 0, code + 2 ** in_bits, code)        # two's complement
    planes = np.stack([(code >> b) & 1 for b in bits]).astype(float)
    xbm = hardware.HardwareModels.from_dir().need("crossbar-column")
    r_wl = float(xbm.valid_range["r_wl_ohm"][0])                 # pinned in the model
    return TileCase(g, planes, tuple(bits), float(dev.v_read_v), float(dev.v0_v),
                    float(xb["r_bl_ohm"]), r_wl, dev)


def behavioral_currents(case: TileCase, plane: np.ndarray) -> np.ndarray:
    """Column currents (A) the behavioral model gives for one bit plane."""
    dev = case.dev
    d = case.v0_v * np.sinh(case.v_read_v / case.v0_v)
    ideal = (case.g_s * (plane[:, None] * d)).sum(axis=0)
    load = np.clip((case.g_s.mean(axis=0) - dev.g_min_s) / (dev.g_max_s - dev.g_min_s), 0, 1)
    return (1.0 - np.asarray(dev.ir_drop_rel(load))) * ideal


def full_scale_a(case: TileCase) -> float:
    rows = case.g_s.shape[0]
    return rows * case.dev.g_max_s * case.v0_v * np.sinh(case.v_read_v / case.v0_v)
