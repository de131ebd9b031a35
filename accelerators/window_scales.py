"""Learned converter window scales for RACE-IT fine-tuning (LSQ-style learned ranges).

A crossbar column's Compute-ACAM converter reads ``v = p / r`` over the window [-1, 1]
(``r``: the column's range, the 99.99th percentile of |p| on the calibration texts'
hardware path, :meth:`.torch_analog.TorchCrossbarLinear.calibrate`). The range is a
calibration value programmed per chip, so a factor on it is one as well: here each
crossbar matrix (one per linear, e.g. ``layer0.attn.q``) gets a learned log-scale
``theta`` and its converters use ``r * exp(theta)`` (thresholds, their mismatch and the
stored levels move with the window; a calibrated chip's ranges are multiplied before
its centroid level pass, :func:`calibrate`, so the rows store the means of the inputs
they match in the scaled window, as a deployed chip would be calibrated).

Gradient (learned step size, Esser et al. 2020, arXiv:1902.08153; learned clipping,
Choi et al. 2018, arXiv:1805.06085): a plane's converted value is
``f = r s q(u)``, ``u = clip(p / (r s), -1, 1)``, ``q`` the converter's level (STE:
``dq/du = 1``), so ``df/dtheta = s df/ds = r s q(u) - p [|p| < r s]`` -- the
quantization error inside the window and the full converted value where it clips
(which pulls the window out). Summed over the bit planes (their two's-complement
weights) and the row tiles. The forward value is the chip's read: the planes' converted
codes shift-added (the reference path of :class:`.torch_analog.TorchCrossbarLinear`;
the inference form differs only in float summation order).

Only bit-serial crossbars with Compute-ACAM converters (RACE-IT's) are scaled.
"""
from __future__ import annotations

import torch

#: the key prefix of a window log-scale in a fine-tuned delta file
PREFIX = "window_scale."


def scale_ranges(chip, log_scales: dict) -> None:
    """Multiply each programmed crossbar's converter ranges (the numpy factory's, which
    the torch operators are built from) by ``exp(log_scales[name])``."""
    for name, xb in chip.factory._xbars.items():
        if name in log_scales and getattr(xb, "ranges", None) is not None:
            xb.ranges = xb.ranges * float(torch.exp(log_scales[name].detach()))
    chip._xbars.clear()


def calibrate(model, batches, log_scales: dict) -> None:
    """:func:`.convert.calibrate` (torch passes) with the converter windows scaled after
    the hardware-path range pass and before the centroid level pass."""
    chip = model._imcspice_chip
    batches = list(batches)
    with torch.no_grad():
        chip.begin_record()
        for b in batches:
            model(**b)
        chip.begin_hw_calibrate()
        for b in batches:
            model(**b)
        chip.finish()
        scale_ranges(chip, log_scales)
        chip.fit_levels(lambda: [model(**b) for b in batches])


def matrix_names(model, batch) -> list[str]:
    """The crossbar matrices of a calibrated converted model (one small read builds its
    operators)."""
    chip = model._imcspice_chip
    with torch.no_grad():
        model(**batch)
    return sorted(n for n, xb in chip._xbars.items() if _scalable(xb))


def _scalable(xb) -> bool:
    return xb.q is not None and xb.bit_serial and xb.in_bits is not None and \
        xb.read_var is None and xb.partial_sums != "analog" and xb.ranges is not None


def install(model, batch, log_scales: dict) -> None:
    """Make the chip's crossbars read with windows ``r0 * exp(theta)`` (``r0``: the
    ranges the chip was calibrated to, divided by the scale it was calibrated with) and
    pass the gradient of :func:`read` to the log-scales. ``batch``: one small input that
    builds the operators."""
    chip = model._imcspice_chip
    with torch.no_grad():
        model(**batch)
    for name, xb in chip._xbars.items():
        theta = log_scales.get(name)
        if theta is None or not _scalable(xb):
            continue
        r0 = (xb.ranges / torch.exp(theta.detach())).detach()
        xb.forward = (lambda x, weight, xb=xb, theta=theta, r0=r0:
                      read(xb, x, weight, theta, r0))


def read(xb, x: torch.Tensor, weight: torch.Tensor, theta: torch.Tensor,
         r0: torch.Tensor) -> torch.Tensor:
    """:meth:`.torch_analog.TorchCrossbarLinear.forward` of a bit-serial crossbar with its
    converter windows ``r0 * exp(theta)`` (r0 (tiles, out)); gradients: the ideal-DAC
    product's to ``x`` and ``weight`` (as there), the LSQ one to ``theta``."""
    dt = torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype
    x2 = x.reshape(-1, x.shape[-1]).to(dt)
    xa = x2.index_select(1, xb.analog_idx) / xb.x_max
    w_eff = weight.index_select(1, xb.analog_idx).to(dt) * xb.x_max + xb.delta.to(dt)
    with torch.no_grad():
        s = torch.exp(theta.detach()).to(dt)
        weights, bits = xb._bit_planes(torch.clamp(xa, -1.0, 1.0))
        y = g = 0.0
        for t, p in enumerate(xb._groups(bits.to(dt), w_eff)):
            r = r0[t].to(dt) * s
            u = torch.clamp(p / r, -1.0, 1.0)
            c = (xb.q(u, t) if xb.bank else xb.q(u)) * r        # the converted value
            y = y + torch.tensordot(weights, c, dims=([0], [0]))
            err = torch.where(p.abs() < r, c - p, c)             # df/dtheta per plane
            g = g + torch.tensordot(weights, err, dims=([0], [0]))
    if torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad or
                                    theta.requires_grad):
        lin = torch.clamp(xa, -1.0, 1.0) @ w_eff.T
        y = y + (lin - lin.detach()) + (theta - theta.detach()).to(dt) * g
    if xb.digital_idx.numel():
        y = y + x2.index_select(1, xb.digital_idx) @ \
            weight.index_select(1, xb.digital_idx).to(dt).T
    return y.reshape(*x.shape[:-1], -1).to(x.dtype)
