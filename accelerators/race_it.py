"""RACE-IT accuracy: a real transformer on the machine of ``data/arch/race-it.toml``.

Mapping (the description's ``[mapping]``; after the RACE-IT abstract, ../shared/seeds/000_*.md):

* static matrix products -> weight-stationary differential 1T1R crossbar tiles, inputs
  driven bit-serially (or multi-level) by the DACs, each row tile's columns converted
  by Compute-ACAM converters and summed by digital adders (:class:`.analog.CrossbarLinear`);
* softmax (exp, 1/sum), GELU, layernorm (1/sqrt) -> Compute-ACAM function lookups;
* data-dependent products (Q·Kᵀ, P·V) -> one Compute-ACAM product lookup per scalar
  product (``out_bits`` code over the calibrated product range), summed digitally.

Every bit width, DAC mode and quantization point is read from the description, so
:class:`RaceItOps` computes what :mod:`.mapping` counts and :mod:`.cost` prices.
Non-idealities: memristor read law and programming variability, IR drop per tile,
ACAM threshold mismatch (characterized models, :mod:`.hardware`).
"""
from __future__ import annotations

import numpy as np

from .analog import AcamQuantizer, CrossbarLinear, Nonideal, quantize_symmetric, seed_for
from .hardware import scale_crossbar
from .mapping import input_planes
from .ops import FP32Ops


class RaceItOps(FP32Ops):
    """Operators as RACE-IT's analog hardware computes them.

    ``arch``: the description; ``xbar``: the characterized crossbar device;
    ``acam_sigma_rel``: ACAM threshold sigma / input window; ``ranges``: calibration
    ranges (:class:`.analog.RangeRecorder`; an FP32 pass, then :meth:`recalibrate` on
    the hardware path); ``k``: a :class:`.analog.Nonideal` or a number scaling every
    characterized non-ideality (0 = ideal devices, quantization only); ``seed``: the
    chip (programming noise and ACAM mismatch are drawn per seed)."""

    def __init__(self, arch, xbar, acam_sigma_rel: float, ranges: dict, k=1.0,
                 seed: int = 0):
        self.arch, self.r, self.seed = arch, ranges, seed
        self.ni = k if isinstance(k, Nonideal) else Nonideal.scaled(float(k))
        xb = arch.component("crossbar")
        self.in_bits = int(arch.component("dac")["bits"])
        input_planes(arch)  # validates the DAC mode against its priced figure
        self.bit_serial = arch.component("dac")["mode"] == "bit-serial"
        conv = arch.component("converter")
        self.conv_bits = int(conv["bits"])
        self.bits = int(arch.component("acam")["bits"])
        self.partial_sums = xb["partial_sums"]
        self.w_clip_pct = float(xb.get("w_clip_pct", 100.0))
        self.w_scale = str(xb.get("w_scale", "matrix"))
        self.dev = scale_crossbar(xbar, ir_drop=self.ni.ir_drop,
                                  programming_noise=self.ni.programming_noise)
        self.sigma_rel = acam_sigma_rel * self.ni.acam_mismatch
        self._xbars: dict[str, CrossbarLinear] = {}
        self._acams: dict[tuple, AcamQuantizer] = {}
        self.calibrating = False

    def recalibrate(self, ranges: dict) -> None:
        """Lookup and product ranges recorded on this hardware's own path (the DAC ranges
        ``in_ch`` the crossbars were programmed with stay)."""
        self.r = {n: {**r, **{k: v for k, v in ranges.get(n, {}).items() if k != "in_ch"}}
                  for n, r in self.r.items()}
        self._acams.clear()

    def _acam(self, name: str, lo: float, hi: float, bits: int | None = None) -> AcamQuantizer:
        key = (name, lo, hi, bits)
        q = self._acams.get(key)
        if q is None:
            q = AcamQuantizer(bits or self.bits, lo, hi, self.sigma_rel,
                              seed_for(name, self.seed))
            self._acams[key] = q
        return q

    def _acam_levels(self, name: str, lo: float, hi: float) -> AcamQuantizer:
        """A lookup whose 2^bits programmed output levels run from ``lo`` to ``hi``
        inclusive (step (hi - lo) / (2^bits - 1)): an ACAM row stores any output value,
        so the mapping puts levels on the values that matter (0 for a probability or a
        product, so small terms of a long sum add nothing rather than half a step each)."""
        h = 0.5 * (hi - lo) / (2 ** self.bits - 1)
        return self._acam(name, lo - h, hi + h)

    def _converter(self, bits: int, seed: int) -> AcamQuantizer:
        return AcamQuantizer(bits, -1.0, 1.0, self.sigma_rel, seed)

    def _out(self, name: str, y: np.ndarray) -> np.ndarray:
        """A lookup's output code over the operator's calibrated per-channel range."""
        if not self.ni.quantization:
            return y.astype(np.float32)
        m = self.r[name].get("out_ch", self.r[name]["out"])
        return (self._acam(name + ".out", -1.0, 1.0)(y / m) * m).astype(np.float32)

    def linear(self, x, w, b, name):
        xb = self._xbars.get(name)
        if xb is None:
            q = self.ni.quantization
            xb = CrossbarLinear(w, self.dev, self.in_bits if q else None,
                                self.r[name]["in_ch"], seed_for(name, self.seed),
                                self.w_clip_pct, bit_serial=self.bit_serial,
                                out_bits=self.conv_bits if q else None,
                                partial_sums=self.partial_sums, quantizer=self._converter,
                                w_scale=self.w_scale)
            self._xbars[name] = xb
        if self.calibrating:
            xb.calibrate(x)
        y = xb(x)
        return y if b is None else y + b

    def _operand(self, x: np.ndarray, r: dict, key: str) -> np.ndarray:
        """A product lookup's operand as the code it arrives in (``in_bits``), with a level
        at exactly 0: a non-negative operand (probabilities, the softmax lookup's output
        code) unsigned over [0, its calibrated maximum]; a signed one (Q, K, V) sign +
        magnitude over its calibrated range. (A mid-rise code has no 0: every masked or
        zero probability would weigh V by half a step.)"""
        if r.get(key + "_min", -1.0) >= 0.0:
            n = 2 ** self.in_bits - 1
            hi = max(r.get(key + "_max", r[key]), 1e-12)
            return (np.round(np.clip(x / hi, 0.0, 1.0) * n) / n * hi).astype(np.float32)
        return quantize_symmetric(x, self.in_bits, r[key]).astype(np.float32)

    def matmul(self, a, b, name):
        # operands arrive as codes; each scalar product is one Compute-ACAM lookup over the
        # calibrated product range of its head, and the products of an output are added
        # digitally
        if not self.ni.quantization:
            return super().matmul(a, b, name)
        r = self.r[name]
        aq, bq = self._operand(a, r, "in"), self._operand(b, r, "in2")
        ph = r.get("prod_head")
        half = 2 ** (self.bits - 1)        # levels j / (half - 1), j = -half .. half - 1
        q = self._acam_levels(name + ".prod", -half / (half - 1), 1.0)
        out = np.empty(aq.shape[:-1] + (bq.shape[-1],), np.float32)
        for i in np.ndindex(*aq.shape[:-2]):  # one (batch, head) at a time: bounded memory
            pm = float(ph[i[-1]]) if (ph is not None and len(i) >= 1 and
                                      np.ndim(ph) == 1 and len(ph) > i[-1]) else r["prod"]
            p = aq[i][:, :, None] * bq[i][None, :, :]
            out[i] = (q(np.clip(p / pm, -1.0, 1.0)) * pm).sum(axis=1)
        return out

    def softmax(self, x, name, axis=-1):
        if not self.ni.quantization:
            return super().softmax(x, name, axis)
        z = x - x.max(axis=axis, keepdims=True)
        lo = -self.r[name]["in"]
        e = self._acam(name + ".exp", lo, 0.0).lookup(np.maximum(z, lo), np.exp)
        e = np.where(z < lo, 0.0, e)            # below the programmed range: code 0
        s = e.sum(axis=axis, keepdims=True)     # current summation on a shared line
        # 1/sum over the calibrated range of the sums (recorded on the hardware path),
        # within [1, n]; sums outside it clip to the end rows
        n = float(x.shape[axis])
        r = self.r[name]
        lo = min(max(1.0, r.get("sum_min", 1.0)), n - 1e-6)
        hi = max(min(n, r.get("sum_max", n)), lo + 1e-6)
        recip = self._acam(name + ".recip", lo, hi).lookup(s, lambda v: 1.0 / v)
        p = e * recip
        return self._acam_levels(name + ".out", 0.0, 1.0)(p).astype(np.float32)

    def gelu(self, x, name):
        if not self.ni.quantization:
            return super().gelu(x, name)
        m = self.r[name]["in"]
        gelu = super().gelu
        y = self._acam(name, -m, m).lookup(np.clip(x, -m, m), lambda v: gelu(v, name))
        return y.astype(np.float32)

    def layernorm(self, x, gamma, beta, eps, name):
        # mean and variance are analog current sums (no quantization); 1/sqrt is a
        # Compute-ACAM lookup over the calibrated variance range; the output is digitized
        if not self.ni.quantization:
            return super().layernorm(x, gamma, beta, eps, name)
        r = self.r[name]
        mu = x.mean(axis=-1, keepdims=True)
        var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
        lo, hi = 0.5 * r["var_min"], 2.0 * r["var_max"]
        rs = self._acam(name + ".rsqrt", lo, hi).lookup(var, lambda v: 1.0 / np.sqrt(v + eps))
        return self._out(name, (x - mu) * rs * gamma + beta)

    def digital_fraction(self) -> dict[str, float]:
        """Per linear operator: the fraction of input rows computed digitally (outliers)."""
        return {n: float(xb.digital.mean()) for n, xb in self._xbars.items()}
