"""HeTraX: a 3D heterogeneous stack (../shared/seeds/001_*.md, REFERENCE.md).

Streaming-multiprocessor (SM) tiers with their memory controller run multi-head
attention (its operands change per input); ReRAM processing-in-memory tiers run
the feed-forward layers (static weights) on crossbars read by ADCs. The stack
must stay thermally feasible: the per-tier power of the workload feeds a
steady-state thermal RC model (:mod:`.thermal`), and the ReRAM tiers' accuracy is
evaluated at the temperature that model predicts, from temperature-swept models.

At SKY130 the SM tiers are modeled as arrays of FP16 multiply-accumulate units
(Horowitz 45 nm energies and areas, scaled to 130 nm / 1.8 V) fed from SRAM;
their count follows from the tier area given to them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import periphery, thermal
from .analog import CrossbarDevice, CrossbarLinear, quantize_uniform, seed_for
from .cost import CostSheet
from .ops import FP32Ops
from .workloads import get_workload, operator_graph

SKY130_NM = 130


@dataclass(frozen=True)
class HetraxConfig:
    """Stack parameters (assumptions unless cited)."""

    n_sm_tiers: int = 2
    n_reram_tiers: int = 2
    die_mm2: float = 100.0
    sm_mac_area_fraction: float = 0.4   # share of an SM tier's area spent on FP16 MACs
    f_clk_hz: float = 500e6            # SM clock at 130 nm (assumption)
    sm_static_w_per_mm2: float = 0.01  # leakage + clock tree of a 130 nm logic tier (assumption)
    tile_rows: int = 128               # ReRAM crossbar tile (ISAAC-like)
    tile_cols: int = 128
    r_wire_ohm: float = 2.5            # REFERENCE.md: ~1-10 ohm per segment
    adc_bits: int = 8                  # ISAAC-like column ADC
    in_bits: int = 8
    cell_area_um2: float = 0.51        # 1T1R, ~30 F^2 at 130 nm (assumption)
    sm_near_sink: bool = True
    write_verify_tol_us: float | None = 1.0  # as in RaceItConfig (assumption)
    w_clip_pct: float = 100.0
    nonideality_scale: float = 1.0
    seed: int = 0


def fp16_mac_area_mm2() -> float:
    return (periphery.area_mm2("fp16_mult", SKY130_NM) + periphery.area_mm2("fp16_add", SKY130_NM))


def sm_macs_per_tier(cfg: HetraxConfig) -> int:
    return int(cfg.die_mm2 * cfg.sm_mac_area_fraction / fp16_mac_area_mm2())


class HetraxOps(FP32Ops):
    """FFN products on ReRAM crossbars (ADC readout) at the ReRAM tier temperature;
    attention and every other operator on FP16 SM units."""

    def __init__(self, xbar: CrossbarDevice, ranges: dict, cfg: HetraxConfig = HetraxConfig()):
        self.dev, self.r, self.cfg = xbar, ranges, cfg
        self._xbars: dict[str, CrossbarLinear] = {}

    def linear(self, x, w, b, name):
        if ".ffn." not in name:
            y = (x.astype(np.float16) @ w.T.astype(np.float16)).astype(np.float32)
            return y if b is None else y + b
        xb = self._xbars.get(name)
        if xb is None:
            xb = CrossbarLinear(w, self.dev, self.cfg.in_bits, self.r[name]["in_ch"],
                                seed_for(name, self.cfg.seed), self.cfg.w_clip_pct)
            self._xbars[name] = xb
        # column ADCs digitize over each column's calibrated range (per-column gain)
        m = self.r[name].get("out_ch", self.r[name]["out"])
        y = (quantize_uniform(np.clip(xb(x) / m, -1.0, 1.0), self.cfg.adc_bits, -1.0, 1.0)
             * m).astype(np.float32)
        return y if b is None else y + b

    def matmul(self, a, b, name):
        return (a.astype(np.float16) @ b.astype(np.float16)).astype(np.float32)


def hetrax_cost(xbar_read_j: float, xbar_settle_s: float, shape, seq_len: int,
                batch: int = 1, cfg: HetraxConfig = HetraxConfig(), mode: str = "prefill",
                context_len: int | None = None) -> CostSheet:
    """Latency/energy/area of one forward pass: FFN products on ReRAM tiers, the rest
    on SM tiers (FP16 MACs at ``f_clk``, operands from 32 KB SRAM, 64-bit accesses)."""
    shape = get_workload(shape) if isinstance(shape, str) else shape
    sheet = CostSheet()
    vdd = 1.8
    e_mac = (periphery.energy_pj("fp16_mult", SKY130_NM, vdd_v=vdd)
             + periphery.energy_pj("fp16_add", SKY130_NM, vdd_v=vdd)) * 1e-12
    e_sram_b = periphery.energy_pj("sram_32kb_64b", SKY130_NM, vdd_v=vdd) * 1e-12 / 64
    e_adc = periphery.adc_energy_pj(cfg.adc_bits, SKY130_NM, vdd_v=vdd) * 1e-12
    e_dac = periphery.energy_pj("dac_1b", SKY130_NM, vdd_v=vdd) * 1e-12
    e_buf_b = periphery.energy_pj("edram_64kb", SKY130_NM, vdd_v=vdd) * 1e-12 / 256
    macs_per_s = sm_macs_per_tier(cfg) * cfg.n_sm_tiers * cfg.f_clk_hz
    t_adc = 1.0 / 1.2e9  # ISAAC's ADC rate (1.2 GS/s); 128 columns share 8 ADCs? one per column here
    n_tiles = 0
    for op in operator_graph(shape, seq_len, batch=batch, mode=mode, context_len=context_len,
                             bytes_per_el=2):
        if op.kind == "linear" and op.name.startswith("ffn"):
            row_tiles, col_tiles = -(-op.k // cfg.tile_rows), -(-op.n // cfg.tile_cols)
            n_tiles += row_tiles * col_tiles
            reads = op.m * op.batch
            sheet.add(op.layer, op.name, "reram_crossbar",
                      reads * row_tiles * col_tiles * cfg.tile_cols * 2 * xbar_read_j,
                      reads * (xbar_settle_s + t_adc))
            sheet.add(op.layer, op.name, "reram_adc", reads * op.n * row_tiles * e_adc)
            sheet.add(op.layer, op.name, "reram_dac", reads * op.k * cfg.in_bits * e_dac * col_tiles)
            sheet.add(op.layer, op.name, "reram_buffer",
                      8 * (op.act_in_bytes + op.act_out_bytes) * e_buf_b)
        else:
            macs = op.flops / 2
            sheet.add(op.layer, op.name, "sm_compute", macs * e_mac, macs / macs_per_s)
            sheet.add(op.layer, op.name, "sm_sram",
                      (op.weight_bytes + op.act_in_bytes + op.act_out_bytes) * 8 * e_sram_b)
    sheet.area_mm2["sm_tiers"] = cfg.n_sm_tiers * cfg.die_mm2
    xbar_mm2 = n_tiles * 2 * cfg.tile_rows * cfg.tile_cols * cfg.cell_area_um2 * 1e-6
    sheet.area_mm2["reram_crossbars"] = xbar_mm2
    sheet.area_mm2["reram_adc"] = n_tiles * cfg.tile_cols * periphery.adc_area_mm2(cfg.adc_bits, SKY130_NM)
    return sheet


def tier_powers(sheet: CostSheet, cfg: HetraxConfig) -> tuple[float, float]:
    """Average power per SM tier and per ReRAM tier (W) while the workload runs back to
    back; SM tiers add their static power."""
    by = sheet.energy_by_unit()
    t = max(sheet.latency_s, 1e-15)
    e_sm = sum(v for k, v in by.items() if k.startswith("sm_"))
    e_re = sum(v for k, v in by.items() if k.startswith("reram_"))
    p_sm = e_sm / t / cfg.n_sm_tiers + cfg.sm_static_w_per_mm2 * cfg.die_mm2
    p_re = e_re / t / cfg.n_reram_tiers
    return p_sm, p_re


def stack_thermal(p_sm_w: float, p_reram_w: float, cfg: HetraxConfig):
    sm = [thermal.TierSpec(f"sm{i}", "sm", power_w=p_sm_w) for i in range(cfg.n_sm_tiers)]
    re = [thermal.TierSpec(f"reram{i}", "reram", power_w=p_reram_w)
          for i in range(cfg.n_reram_tiers)]
    tiers = sm + re if cfg.sm_near_sink else re + sm
    res = thermal.solve(thermal.StackSpec(tiers=tiers, die_mm2=cfg.die_mm2))
    return res, thermal.feasible(res)
