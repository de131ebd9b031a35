"""RACE-IT: memristor crossbars + Compute-ACAM, every operator in the analog domain.

Mapping (after the RACE-IT abstract, ../shared/seeds/000_*.md):

* static matrix products (Q/K/V/out projections, FFN) -> weight-stationary
  differential 1T1R crossbar tiles; inputs applied by DACs; the column currents
  are digitized by Compute-ACAM rows (no ADC);
* softmax (exp, sum, division), GELU, layernorm (1/sqrt) and the data-dependent
  products (Q·Kᵀ, P·V) -> Compute-ACAM lookups: an ACAM bank quantizes its analog
  input against programmed thresholds and emits the function's output code.

Accuracy: :class:`RaceItOps` runs a real transformer with the characterized
non-idealities: memristor read non-linearity and programming variability, IR drop
of the tile, ACAM threshold mismatch, DAC/ACAM resolution.
Cost: :func:`race_it_cost` charges every operator of a workload graph with
energies and times from the model files (crossbar read energy and settling, ACAM
search time and energy) and the periphery table (DACs, eDRAM buffers).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import periphery
from .analog import AcamQuantizer, CrossbarDevice, CrossbarLinear, quantize_uniform, seed_for
from .cost import CostSheet
from .hardware import scale_crossbar
from .ops import FP32Ops
from .workloads import operator_graph

SKY130_NM = 130
VDD_V = 1.8  # SKY130 core supply: periphery figures are projected to 130 nm at 1.8 V


@dataclass(frozen=True)
class RaceItConfig:
    """Architecture parameters (assumptions unless cited)."""

    tile_rows: int = 128          # ISAAC-style 128x128 tiles; REFERENCE.md: arrays 64-256 rows
    tile_cols: int = 128
    r_wire_ohm: float = 2.5       # per cell segment; REFERENCE.md: ~1-10 ohm
    in_bits: int = 8              # DAC resolution of crossbar inputs
    out_bits: int = 8             # Compute-ACAM output code width (replaces an 8-bit ADC)
    acam_cells_per_row: int = 8   # ACAM row length used per lookup (assumption)
    acam_parallel_rows: int = 65536  # ACAM rows searched per cycle chip-wide (assumption)
    cell_area_um2: float = 0.51   # 1T1R cell ~30 F^2 at F = 130 nm (assumption)
    acam_cell_area_um2: float = 2.0  # 6T2M cell ~120 F^2 at 130 nm (assumption)
    # Iterative write-verify programming stops once a device is within this tolerance
    # (uS); residual error ~ uniform, sigma = tol/sqrt(3). It also trims ACAM thresholds
    # (Li et al. 2020 program ACAM windows with write-verify). None: open-loop
    # programming, the memristor model's literature sigma. 1 uS is an assumption.
    write_verify_tol_us: float | None = 1.0
    w_clip_pct: float = 100.0        # weight percentile mapped to g_max (100: no clipping)
    nonideality_scale: float = 1.0   # multiplies every characterized sigma (sweeps)
    seed: int = 0


@dataclass(frozen=True)
class RaceItParts:
    """The characterized figures RACE-IT uses (SI units)."""

    xbar: CrossbarDevice
    e_xbar_col_read_j: float      # one column read of a tile (tile_rows cells)
    t_xbar_settle_s: float
    acam_sigma_rel: float         # ACAM threshold sigma / ACAM input window
    t_acam_search_s: float
    e_acam_search_j: float        # one row search of acam_cells_per_row cells


class RaceItOps(FP32Ops):
    """Operators as RACE-IT's analog hardware computes them."""

    def __init__(self, parts: RaceItParts, ranges: dict, cfg: RaceItConfig = RaceItConfig()):
        self.p, self.r, self.cfg = parts, ranges, cfg
        k = cfg.nonideality_scale
        self.dev = scale_crossbar(parts.xbar, k)
        self.sigma_rel = parts.acam_sigma_rel * k
        self._xbars: dict[str, CrossbarLinear] = {}
        self._acams: dict[tuple, AcamQuantizer] = {}

    def _acam(self, name: str, lo: float, hi: float, bits: int | None = None) -> AcamQuantizer:
        key = (name, lo, hi, bits)
        q = self._acams.get(key)
        if q is None:
            q = AcamQuantizer(bits or self.cfg.out_bits, lo, hi, self.sigma_rel,
                              seed_for(name, self.cfg.seed))
            self._acams[key] = q
        return q

    def _out(self, name: str, y: np.ndarray) -> np.ndarray:
        """Digitize an analog result through a Compute-ACAM bank over its range; a
        crossbar's columns each get a bank programmed for that column's range (one
        threshold-offset pattern per operator, scaled per column: a simplification)."""
        m = self.r[name].get("out_ch", self.r[name]["out"])
        return (self._acam(name + ".out", -1.0, 1.0)(y / m) * m).astype(np.float32)

    def linear(self, x, w, b, name):
        xb = self._xbars.get(name)
        if xb is None:
            xb = CrossbarLinear(w, self.dev, self.cfg.in_bits, self.r[name]["in_ch"],
                                seed_for(name, self.cfg.seed), self.cfg.w_clip_pct)
            self._xbars[name] = xb
        y = self._out(name, xb(x))
        return y if b is None else y + b

    def matmul(self, a, b, name):
        # both operands arrive as ACAM output codes; products by Compute-ACAM lookups
        r = self.r[name]
        aq = quantize_uniform(a, self.cfg.in_bits, -r["in"], r["in"])
        bq = quantize_uniform(b, self.cfg.in_bits, -r["in2"], r["in2"])
        return self._out(name, aq @ bq)

    def softmax(self, x, name, axis=-1):
        z = x - x.max(axis=axis, keepdims=True)
        lo = -self.r[name]["in"]
        e = self._acam(name + ".exp", lo, 0.0).lookup(np.maximum(z, lo), np.exp)
        e = np.where(z < lo, 0.0, e)            # below the programmed range: code 0
        s = e.sum(axis=axis, keepdims=True)     # current summation on a shared line
        n = x.shape[axis]
        recip = self._acam(name + ".recip", 1.0, float(n)).lookup(s, lambda v: 1.0 / v)
        p = e * recip
        return self._acam(name + ".out", 0.0, 1.0)(p).astype(np.float32)

    def gelu(self, x, name):
        m = self.r[name]["in"]
        gelu = super().gelu
        y = self._acam(name, -m, m).lookup(np.clip(x, -m, m), lambda v: gelu(v, name))
        return y.astype(np.float32)

    def layernorm(self, x, gamma, beta, eps, name):
        # mean and variance are analog current sums (no quantization); 1/sqrt is a
        # Compute-ACAM lookup over the calibrated variance range; the output is digitized
        r = self.r[name]
        mu = x.mean(axis=-1, keepdims=True)
        var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
        lo, hi = 0.5 * r["var_min"], 2.0 * r["var_max"]
        rs = self._acam(name + ".rsqrt", lo, hi).lookup(var, lambda v: 1.0 / np.sqrt(v + eps))
        return self._out(name, (x - mu) * rs * gamma + beta)


# --- performance -----------------------------------------------------------------------
def race_it_cost(parts: RaceItParts, shape, seq_len: int, batch: int = 1,
                 cfg: RaceItConfig = RaceItConfig(), mode: str = "prefill",
                 context_len: int | None = None, outlier_fraction: float = 0.0) -> CostSheet:
    """Latency, energy and area of one forward pass of ``shape`` on RACE-IT at SKY130.

    Crossbar MVM per token: every tile of the layer reads in parallel (DAC drive per
    row, column reads, one ACAM conversion per column); tokens stream one after
    another through a tile. ACAM lookups (non-linear ops and data-dependent products)
    run ``acam_parallel_rows`` at a time, ``out_bits`` row searches per lookup
    (one row per Gray-coded output bit). Activations move through eDRAM buffers.
    ``outlier_fraction`` of the products' input rows run on digital FP16 units (see
    :class:`~.analog.CrossbarLinear`), in parallel with the crossbars.
    """
    sheet = CostSheet()
    e_dac = periphery.energy_pj("dac_1b", SKY130_NM, vdd_v=VDD_V) * 1e-12
    e_buf_bit = periphery.energy_pj("edram_64kb", SKY130_NM, vdd_v=VDD_V) * 1e-12 / 256
    e_lookup = cfg.out_bits * parts.e_acam_search_j
    e_mac = (periphery.energy_pj("fp16_mult", SKY130_NM, vdd_v=VDD_V)
             + periphery.energy_pj("fp16_add", SKY130_NM, vdd_v=VDD_V)) * 1e-12
    n_tiles_total = 0
    from .workloads import get_workload
    shape = get_workload(shape) if isinstance(shape, str) else shape
    for op in operator_graph(shape, seq_len, batch=batch, mode=mode, context_len=context_len,
                             bytes_per_el=1):
        if op.kind == "linear":
            row_tiles = -(-op.k // cfg.tile_rows)
            col_tiles = -(-op.n // cfg.tile_cols)
            tiles = row_tiles * col_tiles
            n_tiles_total += tiles
            reads = op.m * op.batch  # token vectors through the layer
            e_x = reads * tiles * cfg.tile_cols * 2 * parts.e_xbar_col_read_j  # G+ and G-
            e_d = reads * op.k * cfg.in_bits * e_dac * col_tiles
            e_a = reads * op.n * row_tiles * e_lookup
            sheet.add(op.layer, op.name, "crossbar", e_x, reads * parts.t_xbar_settle_s)
            sheet.add(op.layer, op.name, "dac", e_d)
            if outlier_fraction:
                sheet.add(op.layer, op.name, "digital_outliers",
                          outlier_fraction * op.flops / 2 * e_mac)
            sheet.add(op.layer, op.name, "acam", e_a, reads * parts.t_acam_search_s)
        else:
            lookups = _acam_lookups(op, shape.d_model)
            if lookups == 0:
                continue
            steps = -(-lookups * cfg.out_bits // cfg.acam_parallel_rows)
            sheet.add(op.layer, op.name, "acam", lookups * e_lookup,
                      steps * parts.t_acam_search_s)
        sheet.add(op.layer, op.name, "buffer", 8 * (op.act_in_bytes + op.act_out_bytes) * e_buf_bit)
    cell_mm2 = cfg.cell_area_um2 * 1e-6
    sheet.area_mm2["crossbar"] = n_tiles_total * 2 * cfg.tile_rows * cfg.tile_cols * cell_mm2
    sheet.area_mm2["acam"] = (cfg.acam_parallel_rows * cfg.acam_cells_per_row
                              * cfg.acam_cell_area_um2 * 1e-6)
    sheet.area_mm2["dac"] = n_tiles_total * cfg.tile_rows * periphery.area_mm2("dac_1b", SKY130_NM)
    sheet.area_mm2["buffer"] = n_tiles_total / 8 * periphery.area_mm2("edram_64kb", SKY130_NM)
    return sheet


def _acam_lookups(op, d_model: int) -> int:
    """Compute-ACAM lookups an operator needs (residual adds and embedding gathers
    need none: currents add on a wire, and a gather is a buffer read)."""
    if op.kind == "matmul":
        return op.batch * op.heads * op.m * op.k * op.n  # one lookup per product
    if op.kind == "softmax":
        return 2 * op.elements                           # exp, then e·(1/sum)
    if op.kind == "gelu" or (op.kind == "elementwise" and op.name.startswith("ffn")):
        return op.elements
    if op.kind == "layernorm":
        return op.elements + op.elements // d_model      # scale, plus one 1/sqrt per row
    return 0
