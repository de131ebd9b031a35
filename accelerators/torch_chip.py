"""One analog chip for a converted torch model: its operators in torch, its calibration.

:class:`AnalogChip` is built from an architecture description (``data/arch/*.toml``,
:mod:`.arch`) and the characterized model files (:class:`.hardware.HardwareModels`):
the crossbar device at the tier's temperature (:func:`.hardware.crossbar_device`; the
ReRAM tier of HeTraX is evaluated at ``temp_c``), the ACAM mismatch, and the numpy
hardware operators of the machine (:class:`.race_it.RaceItOps` when the description maps
operators to Compute-ACAM lookups, else :class:`.hetrax.HetraxOps`) as its factory. Each
operator is routed by the description's mapping (``arch.engine_for``) on names such as
``layer3.attn.q`` (the numpy path's names, so chip seeds agree).

Phases (:func:`calibrate` in :mod:`.convert` drives them, as the numpy protocol does;
then :meth:`AnalogChip.fit_levels` where the description stores centroid levels):

1. ``record``: exact FP32 in torch; input/output ranges recorded by the numpy path's
   :class:`.range_recorder.RangeRecorder` (calibration texts, not the evaluation texts);
2. ``hw_calibrate``: the hardware path built from those ranges (crossbars programmed
   per chip seed by the numpy factory) runs the calibration batch again on the torch
   operators, setting the converter ranges (:meth:`.torch_analog.TorchCrossbarLinear.
   calibrate`, written back to the programmed crossbars) and recording the lookup
   ranges on the hardware's own outputs (the same recorder); ``reference=True`` runs
   this pass on the numpy factory ops instead (the numpy protocol's calibration);
3. ``run``: every operator in torch (:class:`.torch_analog.TorchCrossbarLinear`, the
   Compute-ACAM lookups of :mod:`.torch_quant` with the same programmed thresholds),
   differentiable with straight-through estimators. The centroid level pass
   (:meth:`AnalogChip.fit_levels`) is a run-phase pass whose lookups count, per row,
   the inputs they match, into the numpy rows the levels are fitted in.

The torch and numpy passes compute the same quantities from the same inputs in other
float orders: outputs differ only where a code flips at an edge (tests/
test_torch_calibration.py compares them in lockstep; times in :mod:`.accuracy`).
"""
from __future__ import annotations

import warnings
import zlib

import numpy as np
import torch
import torch.nn.functional as F

from . import arch as arch_mod
from . import hardware
from .acam_mapping import copy_name
from .analog import Nonideal
from .range_recorder import RangeRecorder
from .torch_analog import TorchCrossbarLinear, _Calibrating, _Given, from_np, to_np
from .torch_acam_products import operand, product_sum
from .torch_quant import AcamLookup, bank_sel, quantize_pulse

PHASES = ("new", "record", "hw_calibrate", "run")


class AnalogChip:
    """The operators of one chip (``seed``) of ``arch`` with non-idealities ``nonideal``
    (:class:`.analog.Nonideal`; ``Nonideal.only([])`` = every non-ideality and every
    quantizer off: the FP32 machine). ``temp_c``: the temperature the crossbar (ReRAM
    tier) is evaluated at (default: the description's)."""

    def __init__(self, arch, *, nonideal: Nonideal | None = None, seed: int = 0,
                 temp_c: float | None = None, models_dir=None, hw=None):
        self.arch = arch_mod.load(arch) if isinstance(arch, str) else arch
        self.ni = nonideal if nonideal is not None else Nonideal()
        self.seed = int(seed)
        self.temp_c = float(self.arch.temp_c if temp_c is None else temp_c)
        self.hw = hw or hardware.HardwareModels.from_dir(models_dir, corner=self.arch.corner,
                                                         temp_c=self.temp_c)
        xb = self.arch.component("crossbar")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.dev = hardware.crossbar_device(self.hw, xb, self.temp_c)
        by_kind = self.arch.mapping.get("by_kind", {})
        self.kind = "race-it" if "acam" in by_kind.values() else "hetrax"
        self.acam_sigma = hardware.acam_sigma_rel(self.hw, xb.get("write_verify_tol_us")) \
            if self.kind == "race-it" else 0.0
        self.phase = "new"
        self.factory = None
        self._rec: RangeRecorder | None = None
        self._given = _Given()
        self._reference = False       # hardware-path passes on the numpy factory ops
        self._fitting = False         # a torch level pass (row statistics recorded)
        self._lookups: dict = {}
        self._xbars: dict[str, TorchCrossbarLinear] = {}
        self._recips: dict = {}       # 1/sum of a deferred softmax, until its P·V
        # (batch, tokens) bool: the real tokens of the model call in progress (its
        # attention mask, set by convert's hooks); None: every position is a token
        self.tokens: torch.Tensor | None = None

    # --- routing ------------------------------------------------------------------------
    def engine(self, name: str, kind: str) -> str | None:
        op = name.split(".", 1)[1] if name.startswith("layer") else name
        return self.arch.engine_for(op, kind)

    def _make_factory(self, ranges: dict):
        if self.kind == "race-it":
            from .race_it import RaceItOps
            # RaceItOps decides from crossbar.read_model whether it reads the model
            return RaceItOps(self.arch, self.dev, self.acam_sigma, ranges, self.ni, self.seed,
                             mem=self.hw.get("memristor"))
        from .hetrax import HetraxOps
        # the ReRAM tier reads its cells hot, programmed at t_program_c (as the numpy
        # machine does: accelerators/machines/hetrax.py)
        xb = self.arch.component("crossbar")
        return HetraxOps(self.arch, self.dev, ranges, self.seed, self.ni,
                         mem=self.hw.need("memristor"), temp_c=self.temp_c,
                         temp_cal_c=float(xb.get("t_program_c", 27.0)))

    # --- phases -------------------------------------------------------------------------
    def begin_record(self) -> None:
        self.phase, self._rec = "record", RangeRecorder(self._given)
        self._xbars.clear()
        self._lookups.clear()

    def begin_hw_calibrate(self, reference: bool = False) -> None:
        """The hardware-path calibration pass: the torch operators (``reference``: the
        numpy factory's, the numpy protocol bit for bit) on the FP32 ranges; the
        recorder sees their results."""
        if self.phase != "record":
            raise RuntimeError("record the FP32 ranges before calibrating the hardware path")
        self.factory = self._make_factory(self._rec.ranges)
        self.factory.calibrating = True
        self._reference = bool(reference)
        self._rec = RangeRecorder(_Calibrating(self.factory, self._given) if reference
                                  else self._given)
        self._xbars.clear()
        self._lookups.clear()
        self.phase = "hw_calibrate"

    def finish(self) -> None:
        if self.phase != "hw_calibrate":
            raise RuntimeError("run the hardware-path calibration pass first")
        self.factory.calibrating = False
        self.factory.recalibrate(self._rec.ranges)   # lookup ranges from the hardware path
        self.ranges = self.factory.r
        self._lookups.clear()
        self._xbars.clear()        # rebuilt from the calibrated (and, HeTraX, hot) crossbars
        self._recips.clear()
        self._rec, self.phase = None, "run"

    def reset_read_counts(self) -> None:
        """Start counting the crossbars' plane reads (:meth:`plane_read_fractions`)."""
        for xb in self._xbars.values():
            xb.reset_read_counts()

    def plane_read_fractions(self) -> dict[str, float]:
        """Per crossbar operator, the fraction of its scheduled plane reads made (the
        rest skipped: ``dac.skip_empty``) since :meth:`reset_read_counts`; operators
        without a plane schedule, or not run since, are absent."""
        return {n: xb.reads_made / xb.read_slots for n, xb in self._xbars.items()
                if xb.read_slots}

    def fit_levels(self, run, reference: bool = False) -> None:
        """``mapping.acam.levels = "centroid"``: ``run()`` pushes the calibration batches
        through the model once more on the calibrated operators (ranges now fixed); each
        lookup and converter row then stores the mean of the inputs it matched
        (:meth:`.race_it.RaceItOps.fit_levels`, the numpy protocol's pass: the torch
        lookups count them and hand them to their numpy rows; ``reference``: the numpy
        hardware ops run the pass). The torch operators are rebuilt from those levels."""
        if self.phase != "run":
            raise RuntimeError("fit the levels after the hardware-path calibration")
        if not getattr(self.factory, "centroid_levels", False):
            return
        self._lookups.clear()
        self._xbars.clear()
        if reference:
            self._reference, self.phase = True, "hw_calibrate"
            self._rec = RangeRecorder(_Calibrating(self.factory, self._given))
        else:
            self._fitting = True
        try:
            self.factory.fit_levels(lambda: (run(), self._flush_stats()))
        finally:
            self._rec, self.phase, self._fitting = None, "run", False
            self._lookups.clear()
            self._xbars.clear()

    def _flush_stats(self) -> None:
        """The torch level pass's row statistics into the numpy rows they describe."""
        for q in list(self._lookups.values()) + [xb.q for xb in self._xbars.values()]:
            if getattr(q, "stats", None) is not None:
                q.flush_stats()

    def _need_run(self):
        if self.phase == "new":
            raise RuntimeError("this converted model is not calibrated: call "
                               "imcspice.accelerators.convert.calibrate(model, batches)")

    def _recorded(self, method: str, y: torch.Tensor, *np_args, **kw) -> torch.Tensor:
        """Record through the numpy RangeRecorder with the torch result ``y``."""
        self._given.y = to_np(y)
        getattr(self._rec, method)(*np_args, **kw)
        self._given.y = None
        return y

    # --- operators ----------------------------------------------------------------------
    def linear(self, x: torch.Tensor, weight: torch.Tensor, bias, name: str) -> torch.Tensor:
        """x (..., in) @ weight (out, in).T + bias."""
        self._need_run()
        if self.phase == "record":
            y = self._recorded("linear", x @ weight.T, to_np(x), to_np(weight), None, name)
        elif self._numpy_pass():
            y = from_np(self._rec.linear(to_np(x), to_np(weight), None, name), x)
        else:
            y = self._crossbar(x, weight, name) if self.engine(name, "linear") == "crossbar" \
                else self._digital(x, weight.T)
            if self.phase == "hw_calibrate":
                self._recorded("linear", y, to_np(x), None, None, name)
        return y if bias is None else y + bias

    def _numpy_pass(self) -> bool:
        return self.phase == "hw_calibrate" and self._reference

    def _crossbar(self, x: torch.Tensor, weight: torch.Tensor, name: str) -> torch.Tensor:
        calib = self.phase == "hw_calibrate"
        xb = self._xbars.get(name)
        if xb is None:
            if calib:       # programmed now, from the FP32 DAC ranges (read at t_program)
                src = self.factory.crossbar(to_np(weight), name)
            elif name in self.factory._xbars:
                src = self.factory._xbars[name]
            else:
                raise RuntimeError(f"{name}: not programmed during calibration")
            # the calibration read draws its own read noise (not the evaluation's)
            seed = (self.seed, zlib.crc32(name.encode())) + ((1,) if calib else ())
            xb = self._xbars[name] = TorchCrossbarLinear(src, weight, seed).to(x.device)
            if self._fitting and hasattr(xb.q, "start_stats"):
                xb.q.start_stats()
        elif xb.delta.device != x.device:      # the model moved (model.to(device))
            xb = self._xbars[name] = xb.to(x.device)
        if calib:   # converter ranges from this read of every row, as the numpy pass
            fx = self.factory._xbars[name]
            fx.ranges, fx.n_calibrated = xb.calibrate(x, weight), xb.n_calibrated
            return xb(x, weight)
        tok = self.tokens
        if tok is not None and xb.fast and not self._fitting and not torch.is_grad_enabled() \
                and tuple(tok.shape) == tuple(x.shape[:-1]) and not bool(tok.all()):
            # the crossbars read the real tokens only (a padding position is no input
            # the hardware sees; its row stays 0 and is masked downstream). Row by
            # row the same read: only the plane/block grouping of the rows differs
            y = x.new_zeros(*x.shape[:-1], weight.shape[0])
            y[tok] = xb(x[tok], weight)
            return y
        return xb(x, weight)

    def _digital(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """A digital product: FP16 operands on HeTraX's SM tiers (quantization on), exact
        otherwise (RACE-IT has no digital products)."""
        if self.kind == "hetrax" and self.ni.quantization:
            return (a.half().float() @ b.half().float()).half().to(a.dtype)
        return a @ b

    def matmul(self, a: torch.Tensor, b: torch.Tensor, name: str) -> torch.Tensor:
        self._need_run()
        if self.phase == "record":
            return self._recorded("matmul", a @ b, to_np(a), to_np(b), name)
        if self._numpy_pass():
            return from_np(self._rec.matmul(to_np(a), to_np(b), name), a)
        y = self._digital(a, b) if (self.kind == "hetrax" or not self.ni.quantization) \
            else self._acam_matmul(a, b, name)
        if self.phase == "hw_calibrate":
            self._recorded("matmul", y, to_np(a), to_np(b), name)
        return y

    def softmax(self, x: torch.Tensor, name: str) -> torch.Tensor:
        self._need_run()
        if self.phase == "record":
            return self._recorded("softmax", torch.softmax(x, -1), to_np(x), name)
        if self._numpy_pass():
            return from_np(self._rec.softmax(to_np(x), name), x)
        y = torch.softmax(x, -1) if (self.kind == "hetrax" or not self.ni.quantization) \
            else self._acam_softmax(x, name)
        if self.phase == "hw_calibrate":
            self._recorded("softmax", y, to_np(x), name)
        return y

    def activation(self, x: torch.Tensor, name: str, func) -> torch.Tensor:
        """GELU / SiLU / ... (``func``: the model's own torch function): a Compute-ACAM
        lookup of ``func`` where the description maps it (kind ``gelu``)."""
        self._need_run()
        if self.phase == "record":
            return self._recorded("gelu", func(x), to_np(x), name)
        y = func(x) if (self.kind == "hetrax" or not self.ni.quantization) else \
            self._acam_act(x, name, func)
        if self.phase == "hw_calibrate":
            self._recorded("gelu", y, to_np(x), name)
        return y

    def layernorm(self, x, gamma, beta, eps: float, name: str) -> torch.Tensor:
        self._need_run()
        if self.phase == "record":
            y = F.layer_norm(x, x.shape[-1:], gamma, beta, eps)
            return self._recorded("layernorm", y, to_np(x), to_np(gamma), to_np(beta), eps, name)
        if self._numpy_pass():
            return from_np(self._rec.layernorm(to_np(x), to_np(gamma), to_np(beta), eps, name), x)
        y = F.layer_norm(x, x.shape[-1:], gamma, beta, eps) \
            if (self.kind == "hetrax" or not self.ni.quantization) else \
            self._acam_norm(x, gamma, beta, eps, name, rms=False)
        if self.phase == "hw_calibrate":
            self._recorded("layernorm", y, to_np(x), None, None, eps, name)
        return y

    def rmsnorm(self, x, gamma, eps: float, name: str) -> torch.Tensor:
        """RMSNorm (LLaMA): the mean square is an analog current sum, 1/sqrt a lookup over
        its calibrated range (recorded as the layernorm's variance range)."""
        self._need_run()
        exact = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * gamma
        if self.phase in ("record", "hw_calibrate"):
            y = exact if (self.phase == "record" or self.kind == "hetrax" or
                          not self.ni.quantization) else \
                self._acam_norm(x, gamma, None, eps, name, rms=True)
            ms = to_np(x.pow(2).mean(-1))
            self._rec.fold(name, var_min=float(ms.min()), var_max=float(ms.max()))
            self._rec._rec(name, "in", to_np(x))
            self._rec._rec(name, "out", to_np(y))
            self._rec._rec_ch(name, to_np(y))
            return y
        if self.kind == "hetrax" or not self.ni.quantization:
            return exact
        return self._acam_norm(x, gamma, None, eps, name, rms=True)

    # --- Compute-ACAM (RACE-IT), as race_it.RaceItOps computes them ---------------------
    def _lookup(self, name: str, lo: float, hi: float, device, bits=None) -> AcamLookup:
        key = (name, lo, hi, str(device), bits)
        q = self._lookups.get(key)
        if q is None:   # the factory's quantizer: the same seed, thresholds and mismatch
            q = AcamLookup(self.factory._acam(name, lo, hi, bits)).to(device)
            self._lookups[key] = q
            if self._fitting:
                q.start_stats()
        return q

    def _averaged(self, name: str, lo: float, hi: float, device, read, bits=None):
        """``read(q)`` of each of an element-wise lookup's ``lookup_copies`` banks,
        averaged, as :meth:`.race_it.RaceItOps._averaged` (the factory's thresholds and
        mismatch of each copy)."""
        qs = [self._lookup(copy_name(name, j), lo, hi, device, bits)
              for j in range(self.factory.lookup_copies)]
        return read(qs[0]) if len(qs) == 1 else sum(read(q) for q in qs) / len(qs)

    def _levels(self, name: str, lo: float, hi: float, device) -> AcamLookup:
        """The factory's level lookup (:meth:`.race_it.RaceItOps._acam_levels`)."""
        key = ("levels", name, lo, hi, str(device))
        q = self._lookups.get(key)
        if q is None:
            q = AcamLookup(self.factory._acam_levels(name, lo, hi)).to(device)
            self._lookups[key] = q
            if self._fitting:
                q.start_stats()
        return q

    def _r(self, name: str) -> dict:
        return self.ranges[name] if self.phase == "run" else self.factory.r[name]

    def _acam_matmul(self, a, b, name):
        r = self._r(name)
        bits = self.factory.in_bits
        rc = self._recips.pop(name.rsplit(".", 1)[0], None)
        if rc is not None and rc.shape == a.shape[:-1] + (1,):
            return self._deferred_context(a, b, rc, name)
        aq, bq = operand(a, r, "in", bits), operand(b, r, "in2", bits)
        lead = aq.shape[:-2]
        # the product range of each head (recorded on the hardware path), as RaceItOps
        ph = r.get("prod_head")
        heads = lead[-1] if len(lead) else 1
        pm_h = [float(ph[h]) if (ph is not None and len(lead) and np.ndim(ph) == 1
                                 and len(ph) > h) else float(r["prod"]) for h in range(heads)]
        return self._product_sum(aq, bq, pm_h, name)

    def _product_sum(self, aq, bq, pm_h, name):
        """:func:`.torch_acam_products.product_sum` with this chip's product lookups of
        ``name`` (the factory's thresholds and mismatch; every term on each of the
        ``product_copies`` copies of its bank, the sum / copies)."""
        half = 2 ** (self.factory.bits - 1)
        C = self.factory.product_copies
        y = None
        for j in range(C):
            banks = self.factory.product_lookup_names(name, aq.shape[-1], j)
            B = len(banks)   # term k on bank k mod B (mapping.acam.product_banks)
            s = sum(product_sum(self._levels(b, -half / (half - 1), 1.0, aq.device),
                                aq[..., i::B], bq[..., i::B, :], pm_h)
                    for i, b in enumerate(banks))
            y = s if y is None else y + s
        return y / C if C > 1 else y

    def _deferred_context(self, a, b, rc, name):
        """P·V on the softmax's exp codes, 1/sum applied to each output sum
        (:meth:`.race_it.RaceItOps._deferred_context`)."""
        bits = self.factory.in_bits
        e = quantize_pulse(a / rc, bits)
        bq = operand(b, self._r(name), "in2", bits)
        heads = b.shape[-3] if b.dim() >= 3 else 1
        if self.phase == "hw_calibrate":        # each head's |V| range, on this pass
            self.factory.record_vrange(name, to_np(bq))
        vh = self.factory._vrange.get(name)
        pm_h = [float(vh[h]) if vh is not None else float(self._r(name)["in2"])
                for h in range(heads)]
        return self._product_sum(e, bq, pm_h, name) * rc

    def _acam_softmax(self, x, name):
        z = x - x.max(-1, keepdim=True).values
        lo = -float(self._r(name)["in"])
        deferred, bits = self.factory.deferred_softmax, self.factory.in_bits
        if deferred:    # window: the inputs with a non-zero exp code (RaceItOps.softmax)
            lo = max(lo, float(np.log(0.5 / (2 ** bits - 1))))
        zc = torch.clamp(z, min=lo)
        e = self._averaged(name + ".exp", lo, 0.0, x.device,
                           lambda q: q.lookup(zc, torch.exp, key="exp"))
        e = torch.where(z < lo, torch.zeros_like(e), e)       # below the range: code 0
        if deferred:                                          # the exp lookup's output code
            e = quantize_pulse(e, bits)
        s = e.sum(-1, keepdim=True)                           # current sum on a shared line
        # 1/sum over the calibrated range of the sums, within [1, n] (as RaceItOps)
        n, r = float(x.shape[-1]), self._r(name)
        s_lo = min(max(1.0, r.get("sum_min", 1.0)), n - 1e-6)
        s_hi = max(min(n, r.get("sum_max", n)), s_lo + 1e-6)
        recip = self._averaged(name + ".recip", s_lo, s_hi, x.device,
                               lambda q: q.lookup(s, torch.reciprocal, key="recip"))
        p = e * recip
        if self.factory.deferred_softmax:     # P·V takes the exp codes, 1/sum after the sum
            self._recips[name.rsplit(".", 1)[0]] = recip
            return p
        return self._levels(name + ".out", 0.0, 1.0, x.device)(p)

    def _acam_act(self, x, name, func):
        m = float(self._r(name)["in"])
        if self._numpy_pass() and getattr(self.factory, "_fitting", False):
            # the numpy level pass: what each row matches
            xn = np.clip(to_np(x), -m, m)
            self.factory._averaged(name, -m, m, lambda q: q.code(xn))
        xc = torch.clamp(x, -m, m)
        return self._averaged(name, -m, m, x.device, lambda q: q.lookup(xc, func, key="act"))

    def _acam_norm(self, x, gamma, beta, eps, name, rms: bool):
        r = self._r(name)
        mu = 0.0 if rms else x.mean(-1, keepdim=True)
        var = ((x - mu) ** 2).mean(-1, keepdim=True)
        lo, hi = 0.5 * float(r["var_min"]), 2.0 * float(r["var_max"])
        # 1/sqrt in geometric banks (RaceItOps.rsqrt_windows); a variance goes to the bank
        # whose window holds it
        banks = self.factory.rsqrt_windows(lo, hi)
        rs = None
        for i, (blo, bhi) in enumerate(banks):
            sel = bank_sel(var, banks, i)
            y = self._averaged(f"{name}.rsqrt{i}" if i else name + ".rsqrt", blo, bhi,
                               x.device, lambda q: q.lookup(var, lambda v: torch.rsqrt(v + eps),
                                                            key=f"rsqrt{eps!r}", sel=sel))
            rs = y if rs is None else torch.where(var >= blo, y, rs)
        y = (x - mu) * rs * gamma
        if beta is not None:
            y = y + beta
        # each channel's window (RaceItOps.norm_out_window): code of (y - c) / m
        c, m = (torch.as_tensor(a, device=x.device).to(x.dtype)
                for a in self.factory.norm_out_window(r))
        wins, bits = self.factory.out_windows()
        if len(wins) == 1:
            v = (y - c) / m
            return self._averaged(name + ".out", -1.0, 1.0, x.device, lambda q: q(v)) * m + c
        # subranging banks (RaceItOps._out): the bank whose window holds (y - c) / m
        v, out = (y - c) / m, None
        for i, (lo, hi) in enumerate(wins):
            def read(q, sel=bank_sel(v, wins, i)):
                q.record(v, sel)                     # (a level pass) the bank's own inputs
                stats, q.stats = q.stats, None
                yq = q(v)
                q.stats = stats
                return yq
            yi = self._averaged(f"{name}.out{i}", lo, hi, x.device, read, bits)
            out = yi if out is None else torch.where(v >= lo, yi, out)
        return out * m + c


__all__ = ["AnalogChip", "PHASES"]
