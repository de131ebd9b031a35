"""Analog operators as torch modules: the crossbar linear and the chip that owns them.

One machine, two paths: the chip (programming noise, IR drop and its per-bit-line TIA
trim, ACAM thresholds with mismatch) is *built* by the numpy path's own code
(:class:`.analog.CrossbarLinear`, :class:`.race_it.RaceItOps`, :class:`.hetrax.HetraxOps`,
:func:`.hardware.crossbar_device`, all from the architecture description and the model
files), and then *calibrated and run* in torch (ranges recorded by
:class:`.range_recorder.RangeRecorder`; :meth:`TorchCrossbarLinear.calibrate` sets the
converter ranges as :meth:`.analog.CrossbarLinear.calibrate` does):
:class:`TorchCrossbarLinear` is made from a programmed :class:`.analog.CrossbarLinear`,
the lookups of :mod:`.torch_quant` from the same :class:`.analog.AcamQuantizer` objects.
So the accuracy of the torch path describes the machine the cost model prices, and the
numpy and torch figures agree up to float summation order (tests/test_convert.py,
tests/test_torch_calibration.py).

Differentiable: quantizers pass gradients straight through (:mod:`.torch_quant`); a
crossbar's effective weights are the layer's weights (a parameter) plus the programmed
chip's deviation from them (fixed at programming: noise injection, as in hardware-aware
training), so gradients reach the weights and the inputs. Nothing here names a device:
tensors are made on the input's device (``device="cuda"`` works unchanged).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .analog import (AcamQuantizer, CrossbarLinear, Nonideal, read_values, running_mean,
                     tia_parts)
from .plane_schedule import PlaneSchedule, scheduled
from .range_recorder import RangeRecorder
from .torch_bitserial import bitserial_acam
from .torch_quant import AcamLookup, BankLookup, UniformQuantizer, quantize_uniform


class TorchCrossbarLinear(nn.Module):
    """``y = x @ W.T`` as a programmed differential crossbar computes it (no bias).

    Made from a numpy :class:`.analog.CrossbarLinear` ``xb`` (mapping, programming noise
    per chip seed, IR drop at each bit line's programmed load and its TIA trim at the
    mapped load, outlier channels kept digital, converter ranges calibrated on the
    hardware path) and the layer's weight ``weight`` (out, in): the effective analog
    weights are ``weight[:, analog] * x_max + delta`` with ``delta`` the programmed
    chip's fixed deviation. Inputs drive the rows as the DAC does (bit-serial two's
    complement or sign-magnitude planes, multi-level through the memristor's sinh law,
    or ideal), each row
    tile's (or the analog sum's) column outputs are converted per plane by the chip's
    converter (Compute-ACAM with threshold mismatch, or an ideal ADC), and the codes are
    shift-added digitally. Quantized drives and conversions pass gradients straight
    through (the ideal-DAC product defines the backward pass)."""

    def __init__(self, xb: CrossbarLinear, weight: torch.Tensor, noise_seed=(0,)):
        super().__init__()
        # read noise comes from this operator's own CPU generator (``noise_seed``: e.g.
        # the chip seed and the operator's name), so a chip reads the same noise on any
        # device and whatever else draws random numbers
        self._noise_seed = int(np.random.SeedSequence(list(noise_seed)).generate_state(1)[0])
        self._gen: torch.Generator | None = None
        w = weight.detach().cpu().double().numpy()
        dig = np.asarray(xb.digital, bool)
        self.register_buffer("analog_idx", torch.as_tensor(np.flatnonzero(~dig)),
                             persistent=False)
        self.register_buffer("digital_idx", torch.as_tensor(np.flatnonzero(dig)),
                             persistent=False)
        self.x_max = float(xb.x_max)
        delta = xb.w_eff.astype(np.float64) - w[:, ~dig] * self.x_max
        self.register_buffer("delta", torch.as_tensor(delta, dtype=torch.float32),
                             persistent=False)
        ranges = xb.ranges if xb.q is not None else None
        self.register_buffer("ranges", None if ranges is None else
                             torch.as_tensor(np.asarray(ranges), dtype=torch.float32),
                             persistent=False)
        self.n_calibrated = xb.n_calibrated if ranges is not None else 0
        self.in_bits, self.bit_serial = xb.in_bits, xb.bit_serial
        self.range_pct = float(xb.range_pct)
        self.sign_magnitude = bool(getattr(xb, "sign_magnitude", False))
        self.schedule = getattr(xb, "schedule", None)       # .plane_schedule
        # plane reads the schedule made / scheduled (each plane read of each row by each
        # converter group) over the forward passes since reset_read_counts: what the
        # cost prices where empty planes are skipped (.mapping, read_fraction)
        self.reads_made = self.read_slots = 0
        # P -> (P, K) numpy: how a read's planes share the TIAs' flicker
        self.lf_mix = (self.schedule or PlaneSchedule()).lf_mix
        self.partial_sums, self.rows = xb.partial_sums, int(xb.dev.tile_rows)
        self.n_tiles = int(xb.n_tiles)
        self.v_read, self.v0 = float(xb.dev.v_read_v), float(xb.dev.v0_v)
        # per-read conductance noise of a ReRAM tier read hot (.thermal_reram), in
        # weight units squared per cell (in_analog, out); None: no read noise
        var = getattr(xb, "_var_tiles", None)
        self.register_buffer("read_var", None if var is None else torch.as_tensor(
            np.concatenate(var, axis=0), dtype=torch.float32), persistent=False)
        # the bit-line TIAs' own noise on every read (groups, out), or None
        sig = getattr(xb, "col_sigma", None)
        self.register_buffer("col_sigma", None if sig is None else torch.as_tensor(
            np.asarray(sig), dtype=torch.float32), persistent=False)
        # its part below 1 MHz, which every plane of one input's read shares, or None
        lf = getattr(xb, "col_sigma_lf", None) if sig is not None else None
        self.register_buffer("col_sigma_lf", None if lf is None else torch.as_tensor(
            np.asarray(lf), dtype=torch.float32), persistent=False)
        self.bank = getattr(xb, "conv", None) is not None   # converters per tile
        if xb.q is None:
            self.q = None
        elif self.bank:
            self.q = BankLookup(xb.q, xb.conv)
        elif isinstance(xb.q, AcamQuantizer):
            self.q = AcamLookup(xb.q)
        else:                           # the ideal ADC of .analog.uniform_quantizer
            self.q = UniformQuantizer(int(xb.out_bits))
        # bit-serial reads into per-tile Compute-ACAMs run in the inference form of
        # .torch_bitserial (same codes up to float32 summation order); False: the
        # reference form below (tests compare the two)
        self.fast = (self.bit_serial and self.in_bits is not None
                     and isinstance(self.q, (AcamLookup, BankLookup))
                     and self.partial_sums != "analog")

    def _law(self, u: torch.Tensor) -> torch.Tensor:
        """Multi-level drive in units of v_read through the cell law v0*sinh(v/v0)."""
        v = u * self.v_read
        return self.v0 * torch.sinh(v / self.v0) / self.v_read

    def _planes(self, xa: torch.Tensor):
        """(plane weights (P,), drives (P, N, in_analog)), xa = x / x_max."""
        one = torch.ones(1, dtype=xa.dtype, device=xa.device)
        if self.in_bits is None:
            return one, (xa if self.bit_serial else self._law(xa))[None]
        xc = torch.clamp(xa, -1.0, 1.0)
        if not self.bit_serial:
            return one, self._law(quantize_uniform(xc, self.in_bits, -1.0, 1.0))[None]
        weights, bits = self._bit_planes(xc)
        return weights, bits.to(xa.dtype)

    def _bit_planes(self, xc: torch.Tensor):
        """(plane weights (P,), planes (P, N, in_analog) as integers) of the DAC codes of
        xc in [-1, 1]: two's complement (binary), or sign-magnitude (``in_bits - 1``
        planes of -1 / 0 / +1)."""
        full = 2 ** (self.in_bits - 1) - 1
        if self.sign_magnitude:
            code = torch.clamp(torch.round(xc * full), -full, full).to(torch.int32)
            shifts = torch.arange(self.in_bits - 1, device=xc.device, dtype=torch.int32)
            bits = ((code.abs()[None] >> shifts[:, None, None]) & 1) * torch.sign(code)[None]
            weights = 2.0 ** torch.arange(self.in_bits - 1, device=xc.device).to(xc.dtype)
            return weights / full, bits.to(torch.int8)
        code = torch.clamp(torch.round(xc * full), -full - 1, full).to(torch.int32)
        code = code & (2 ** self.in_bits - 1)                          # two's complement
        small = torch.uint8 if self.in_bits <= 8 else torch.int32      # 1/4 of the traffic
        shifts = torch.arange(self.in_bits, device=xc.device, dtype=small)
        bits = (code.to(small)[None] >> shifts[:, None, None]) & 1
        weights = 2.0 ** torch.arange(self.in_bits, device=xc.device).to(xc.dtype) / full
        weights[-1] = -weights[-1]                                     # the MSB counts negative
        return weights, bits

    def _convert_sum(self, p: torch.Tensor, t: int, weights: torch.Tensor,
                     m: torch.Tensor | None = None) -> torch.Tensor:
        """Convert each plane's column outputs p (P, N, out) over the (tile, column) range
        and shift-add the planes: (N, out). ``m`` (P, N, groups): the plane schedule's
        multipliers (a skipped read is not converted, its code 0; each code times its
        plane's polarity), or None."""
        if m is not None:
            mt = m[:, :, t].to(p.dtype)
            if self.q is not None:
                sel, c = mt != 0, torch.zeros_like(p)
                if bool(sel.any()):
                    c = c.index_put((sel,), self._codes(p[sel][None], t)[0])
                p = c
            return torch.tensordot(weights, p * mt[..., None], dims=([0], [0]))
        if self.q is None:
            return torch.tensordot(weights, p, dims=([0], [0]))
        return torch.tensordot(weights, self._codes(p, t), dims=([0], [0]))

    def _codes(self, p: torch.Tensor, t: int) -> torch.Tensor:
        """The converted values of the column outputs p (A, B, out) of group ``t``."""
        if self.ranges is None:
            raise RuntimeError("TorchCrossbarLinear: its converter has no calibrated range")
        r = self.ranges[t].to(p.dtype)
        if isinstance(self.q, (AcamLookup, BankLookup)) and self.q.stats is None and \
                not (torch.is_grad_enabled() and p.requires_grad):
            # inference: the fine-bin index (p/r - lo) * inv_bin in one fused pass (the
            # table's clip is the converter's), one gather, the plane sum as one product
            q = self.q
            idx = torch.addcmul(torch.full_like(r, -q.lo * q.inv_bin), p, q.inv_bin / r)
            idx = idx.clamp_(0, q.n_bins - 1).to(torch.int32)
            return q.levels_at(idx, t, p.dtype) * r
        if self.bank and self.q.stats is not None and not torch.is_grad_enabled():
            # level pass: p / r written straight in (column, plane x row) order, the
            # order read_counting sums in (one pass fewer than dividing, then
            # transposing), 128 rows at a time (a block's reads and writes stay in cache)
            p2 = p.reshape(-1, p.shape[-1])
            vt = torch.empty(p2.shape[1], p2.shape[0], dtype=p.dtype, device=p.device)
            for i in range(0, p2.shape[0], 128):
                torch.div(p2[i:i + 128].T, r[:, None], out=vt[:, i:i + 128])
            vt.clamp_(-1.0, 1.0)
            c = self.q.read_counting_t(vt, t).T.reshape(p.shape) * r
        else:
            v = torch.clamp(p / r, -1.0, 1.0)     # (a level pass records v: the q's record)
            c = (self.q(v, t) if self.bank else self.q(v)) * r
        return c

    def _generator(self) -> torch.Generator:
        """The operator's own CPU generator of read-noise draws (seeded once)."""
        if self._gen is None:
            self._gen = torch.Generator().manual_seed(self._noise_seed)
        return self._gen

    def _randn(self, like: torch.Tensor) -> torch.Tensor:
        """Standard normal draws shaped like ``like``, from the operator's generator."""
        return torch.randn(like.shape, generator=self._generator(),
                           dtype=like.dtype).to(like.device)

    def _groups(self, drive, w_eff) -> list[torch.Tensor]:
        """Each converter group's column outputs (P, N, out): each row tile's (with the
        read noise of a hot ReRAM tier), or their analog sum, with the TIAs' noise."""
        P, N, _ = drive.shape
        r = self.rows
        d2 = drive.reshape(P * N, -1)       # row-tile slices are strided views: no copies
        parts = [d2[:, t * r:(t + 1) * r] @ w_eff[:, t * r:(t + 1) * r].T
                 for t in range(self.n_tiles)]
        if self.read_var is not None:    # read noise: sqrt(sum_i d_i^2 sigma_i^2) per column
            with torch.no_grad():
                var = self.read_var.to(d2.dtype)
                parts = [p + torch.sqrt((d2[:, t * r:(t + 1) * r] ** 2) @
                                        var[t * r:(t + 1) * r]) * self._randn(p)
                         for t, p in enumerate(parts)]
        groups = [sum(parts)] if self.partial_sums == "analog" else parts
        groups = [p.reshape(P, N, -1) for p in groups]
        if self.col_sigma is not None:      # a constant draw: the gradient passes
            hf, lf = tia_parts(self.col_sigma.to(d2.dtype), None if self.col_sigma_lf is None
                               else self.col_sigma_lf.to(d2.dtype))
            groups = [p + hf[g] * self._randn(p) for g, p in enumerate(groups)]
            if lf is not None:              # below 1 MHz: K draws mixed over the P planes
                mix = torch.as_tensor(self.lf_mix(P), dtype=d2.dtype, device=d2.device)
                groups = [p + lf[g] * torch.tensordot(mix, self._randn(
                    p[:1].expand(mix.shape[1], -1, -1)), dims=([1], [0]))
                    for g, p in enumerate(groups)]
        return groups

    def _scheduled(self, weights, drive, count: bool = True):
        """(plane weights, drive with the plane schedule's polarities, its multipliers or
        None), one plane per read scheduled; ``count``: add its reads made (multiplier
        not 0) and scheduled to :attr:`reads_made` and :attr:`read_slots`."""
        weights, drive, m = scheduled(self.schedule, weights, drive, self.rows,
                                      1 if self.partial_sums == "analog" else self.n_tiles)
        if count and m is not None:
            self.reads_made += int(torch.count_nonzero(m))
            self.read_slots += m.numel()
        return weights, drive, m

    def reset_read_counts(self) -> None:
        self.reads_made = self.read_slots = 0

    def _hardware(self, weights, drive, w_eff):
        weights, drive, m = self._scheduled(weights, drive)
        y = 0.0
        for t, p in enumerate(self._groups(drive, w_eff)):
            y = y + self._convert_sum(p, t, weights, m)
        return y

    @torch.no_grad()
    def calibrate(self, x: torch.Tensor, weight: torch.Tensor, pct: float | None = None):
        """The hardware-path calibration of the converter ranges, as
        :meth:`.analog.CrossbarLinear.calibrate`: each (group, column)'s ``pct``
        percentile (default ``range_pct``, the numpy crossbar's) of |column output| over
        all planes and rows of ``x`` (..., in); over several batches, the mean of theirs.
        Returns them as numpy (tiles or 1, out), float32."""
        pct = self.range_pct if pct is None else pct
        x2 = x.reshape(-1, x.shape[-1]).float()
        xa = x2.index_select(1, self.analog_idx) / self.x_max
        w_eff = weight.index_select(1, self.analog_idx).float() * self.x_max + \
            self.delta.float()
        weights, drive = self._planes(xa)
        _, drive, s = self._scheduled(weights, drive, count=False)
        m = torch.stack([percentile_cols(read_values(p, s, t).abs(), pct)
                         for t, p in enumerate(self._groups(drive, w_eff))])
        self.n_calibrated += 1
        self.ranges = running_mean(self.ranges, m.clamp_min(1e-12).float(), self.n_calibrated)
        return self.ranges.cpu().numpy()

    def forward(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """x (..., in) float, weight (out, in) the layer's (trainable) weight."""
        dt = torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype
        x2 = x.reshape(-1, x.shape[-1]).to(dt)
        xa = x2.index_select(1, self.analog_idx) / self.x_max
        w_a = weight.index_select(1, self.analog_idx).to(dt)
        w_eff = w_a * self.x_max + self.delta.to(dt)
        planes = self.in_bits is not None and self.bit_serial
        if planes:      # binary planes carry no gradient: the ideal-DAC product does
            with torch.no_grad():
                if self.fast and self.ranges is not None and self.q.stats is None:
                    weights, bits = self._bit_planes(torch.clamp(xa, -1.0, 1.0))
                    weights, bits, m = self._scheduled(weights, bits)
                    noise = None if self.read_var is None and self.col_sigma is None \
                        else (self.read_var, self._generator(), self.col_sigma,
                              self.col_sigma_lf, self.lf_mix(len(weights)))
                    y = bitserial_acam(weights, bits, w_eff, self.ranges, self.rows, self.q,
                                       noise, signed=self.sign_magnitude, planes_m=m)
                else:
                    weights, drive = self._planes(xa)
                    y = self._hardware(weights, drive, w_eff)
            if torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad):
                lin = torch.clamp(xa, -1.0, 1.0) @ w_eff.T
                y = y + (lin - lin.detach())
        else:
            weights, drive = self._planes(xa)
            y = self._hardware(weights, drive, w_eff)
        if self.digital_idx.numel():
            y = y + x2.index_select(1, self.digital_idx) @ \
                weight.index_select(1, self.digital_idx).to(dt).T
        return y.reshape(*x.shape[:-1], -1).to(x.dtype)


class _Given:
    """Inner operators of a :class:`.range_recorder.RangeRecorder` that return a result
    the torch path has already computed (so the recorder's bookkeeping is the numpy
    path's own)."""

    def __init__(self, fallback=None):
        self.y, self.fallback = None, fallback

    def _take(self, *a, **k):
        y, self.y = self.y, None
        return y

    linear = matmul = softmax = gelu = layernorm = _take


class _Calibrating:
    """A recorder's inner ops during the hardware-path calibration pass: the numpy
    hardware ops (the numpy path's calibration, bit for bit) for the operators they
    implement, the torch result (``given``) for the others (e.g. SiLU)."""

    def __init__(self, factory, given: _Given):
        self.factory, self.given = factory, given

    def __getattr__(self, name):
        if self.given.y is not None:
            return self.given._take
        return getattr(self.factory, name)


def percentile_cols(a: torch.Tensor, pct: float) -> torch.Tensor:
    """``np.percentile(a, pct, axis=0)`` (its default linear interpolation between the
    two ranks around ``pct/100 * (n - 1)``) of ``a`` (n, cols), float64, from the top
    ranks only (a 99.99th percentile needs the 1 + n/10^4 largest values of a column)."""
    n = a.shape[0]
    pos = pct / 100.0 * (n - 1)
    lo = int(np.floor(pos))
    # along contiguous rows: twice as fast as along dim 0 (measured, 2464 x 1536)
    top = torch.topk(a.T.contiguous(), n - lo, dim=1, largest=True, sorted=True).values
    top = top.double().T
    s_lo = top[n - lo - 1]
    s_hi = top[n - lo - 2] if n - lo >= 2 else s_lo
    return s_lo + (pos - lo) * (s_hi - s_lo)


def to_np(x: torch.Tensor) -> np.ndarray:
    return x.detach().float().cpu().numpy()


def from_np(y, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(np.asarray(y, dtype=np.float32), device=like.device).to(like.dtype)


__all__ = ["TorchCrossbarLinear", "Nonideal", "RangeRecorder", "to_np", "from_np"]
