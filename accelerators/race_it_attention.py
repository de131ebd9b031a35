"""RACE-IT's attention on Compute-ACAM (:class:`AcamAttention`, a mixin of
:class:`.race_it.RaceItOps`): the data-dependent products (Q·Kᵀ, P·V) as one product
lookup per scalar product over the calibrated product range, summed digitally, and the
softmax's exp and 1/sum lookups, with the deferred normalization (P·V takes the exp
codes, 1/sum scales each output sum once)."""
from __future__ import annotations

import numpy as np

from .acam_mapping import copy_name
from .analog import quantize_symmetric, running_mean


class AcamAttention:
    """The attention operators of :class:`.race_it.RaceItOps` (matmul, softmax), placed
    before :class:`.ops.FP32Ops` in its bases (the exact operators without quantization).
    The host supplies the lookups (``_acam``, ``_acam_levels``, ``_averaged``), the
    ranges ``r``, the non-idealities ``ni``, ``bits``, ``in_bits``, ``deferred_softmax``,
    ``product_banks``, ``calibrating`` and the ``_recips`` / ``_vrange`` /
    ``_vrange_batches`` stores."""

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
        rc = self._pending_recip(a, name)
        if rc is not None:
            return self._deferred_context(a, b, rc, name)
        r = self.r[name]
        aq, bq = self._operand(a, r, "in"), self._operand(b, r, "in2")
        ph = r.get("prod_head")
        pms = [float(ph[i[-1]]) if (ph is not None and len(i) >= 1 and np.ndim(ph) == 1
                                    and len(ph) > i[-1]) else r["prod"]
               for i in np.ndindex(*aq.shape[:-2])]
        return self._product_sum(aq, bq, pms, name)

    def product_lookup_names(self, name: str, k: int, copy: int = 0) -> list[str]:
        """The ACAM banks (their names: each its own mismatch draw) of copy ``copy`` of a
        product sum over ``k`` terms: term ``j`` on bank ``j mod product_banks``."""
        return [copy_name(name + ".prod" + (str(b) if b else ""), copy)
                for b in range(min(self.product_banks, k))]

    def _product_sum(self, aq, bq, pms, name):
        """sum_k lookup(aq_ik * bq_kj) over leading (batch, head) blocks, the lookup's
        range ``pms[block]``, term k on bank ``k mod product_banks``; with
        ``product_copies`` C, every term read on C banks and the sum / C."""
        half = 2 ** (self.bits - 1)        # levels j / (half - 1), j = -half .. half - 1
        C = self.product_copies
        qs = [[self._acam_levels(b, -half / (half - 1), 1.0)
               for b in self.product_lookup_names(name, aq.shape[-1], j)] for j in range(C)]
        B = len(qs[0])
        out = np.empty(aq.shape[:-1] + (bq.shape[-1],), np.float32)
        for n, i in enumerate(np.ndindex(*aq.shape[:-2])):  # bounded memory
            pm = pms[n]
            p = aq[i][:, :, None] * bq[i][None, :, :]
            v = np.clip(p / pm, -1.0, 1.0)
            out[i] = sum((q(v[:, b::B]) * pm).sum(axis=1) for cq in qs
                         for b, q in enumerate(cq))
            if C > 1:
                out[i] /= C
        return out

    # --- deferred softmax normalization (P·V on the exp codes, 1/sum applied once) -----
    # ``deferred_softmax`` (mapping.acam.softmax = "deferred"): the softmax hands P·V its
    # exp codes and 1/sum scales each output sum (the 1/sum lookup, one digital multiply
    # per output on the scaler, instead of a quantized probability per score)

    def _pending_recip(self, a, name: str):
        """The 1/sum a deferred softmax of the same attention block left for this product
        (``a`` its probabilities, shape (..., T, T)), or None."""
        pend = getattr(self, "_recips", None)
        if not pend:
            return None
        rc = pend.pop(name.rsplit(".", 1)[0], None)
        return rc if (rc is not None and rc.shape == a.shape[:-1] + (1,)) else None

    def _deferred_context(self, a, b, rc, name):
        """sum_j lookup(e_ij · v_jk) x 1/sum_i: ``e = a / (1/sum)`` is the exp code the
        softmax produced (<= 1), coded unsigned over [0, 1]; V sign + magnitude; each
        head's product lookup spans that head's calibrated |V| (|e·V| <= |V|: no product
        clips), recorded on the hardware path."""
        r = self.r[name]
        e = (a / rc).astype(np.float32)
        n = 2 ** self.in_bits - 1
        eq = (np.round(np.clip(e, 0.0, 1.0) * n) / n).astype(np.float32)
        bq = self._operand(b, r, "in2")
        heads = b.shape[-3] if b.ndim >= 3 else 1
        if self.calibrating:
            self.record_vrange(name, bq)
        vh = self._vrange.get(name)
        if vh is None:
            vh = np.full(heads, float(r["in2"]))
        pms = [float(vh[i[-1]]) if len(i) else float(vh[0])
               for i in np.ndindex(*eq.shape[:-2])]
        return (self._product_sum(eq, bq, pms, name) * rc).astype(np.float32)

    def record_vrange(self, name: str, bq: np.ndarray) -> None:
        """Calibration pass: each head's |V| range of a deferred P·V lookup (the 99.9th
        percentile of its V codes ``bq``, heads on axis -3), the mean over batches
        (:class:`.range_recorder.RangeRecorder`)."""
        heads = bq.shape[-3] if bq.ndim >= 3 else 1
        flat = np.abs(np.moveaxis(bq, -3, 0).reshape(heads, -1)) if bq.ndim >= 3 \
            else np.abs(bq).reshape(1, -1)
        v = np.maximum(np.percentile(flat, 99.9, axis=1), 1e-12)
        n = self._vrange_batches[name] = self._vrange_batches.get(name, 0) + 1
        self._vrange[name] = running_mean(self._vrange.get(name), v, n)

    def softmax(self, x, name, axis=-1):
        if not self.ni.quantization:
            return super().softmax(x, name, axis)
        z = x - x.max(axis=axis, keepdims=True)
        lo = -self.r[name]["in"]
        if self.deferred_softmax:
            # the exp codes are P·V's operands (in_bits, unsigned over [0, 1]): below
            # exp(z) = half a code step they are 0 anyway, so the lookup's window spans
            # only the inputs that give a non-zero code (its step 6.2/256 instead of the
            # calibrated score range's /256)
            n_code = 2 ** self.in_bits - 1
            lo = max(lo, float(np.log(0.5 / n_code)))
        zc = np.maximum(z, lo)
        e = self._averaged(name + ".exp", lo, 0.0, lambda q: q.lookup(zc, np.exp))
        e = np.where(z < lo, 0.0, e)            # below the programmed range: code 0
        if self.deferred_softmax:               # the exp lookup's output code
            e = np.round(np.clip(e, 0.0, 1.0) * n_code) / n_code
        s = e.sum(axis=axis, keepdims=True)     # current summation on a shared line
        # 1/sum over the calibrated range of the sums (recorded on the hardware path),
        # within [1, n]; sums outside it clip to the end rows
        n = float(x.shape[axis])
        r = self.r[name]
        lo = min(max(1.0, r.get("sum_min", 1.0)), n - 1e-6)
        hi = max(min(n, r.get("sum_max", n)), lo + 1e-6)
        recip = self._averaged(name + ".recip", lo, hi, lambda q: q.lookup(s, lambda v: 1.0 / v))
        p = e * recip
        if self.deferred_softmax:
            self._recips[name.rsplit(".", 1)[0]] = recip
            return p.astype(np.float32)
        return self._acam_levels(name + ".out", 0.0, 1.0)(p).astype(np.float32)
