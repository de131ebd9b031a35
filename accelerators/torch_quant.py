"""Quantizers of the analog hardware as differentiable torch functions and modules.

The same transfers as the numpy path (:mod:`.analog`: ``quantize_uniform``,
``quantize_symmetric``, ``quantize_pulse``, :class:`.analog.AcamQuantizer`), with
straight-through estimators (STE, Bengio et al. 2013, arXiv:1308.3432): the forward
value is the quantized one; the backward pass treats the rounding as the identity
inside the converter's range and as a flat line outside it (clipped STE, as in
QAT practice: a clipped input has no gradient). Shapes are preserved; every tensor
a function creates lives on the input's device and dtype (no device is hard-coded).

:class:`AcamLookup` is a Compute-ACAM lookup built from a numpy
:class:`.analog.AcamQuantizer` (its thresholds already carry the chip's mismatch, drawn
per seed), so the torch and numpy paths quantize with the same programmed rows: the
forward value is ``func(level of the matching row)``, the gradient ``func'(x)``.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn


def ste(x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """``q`` in the forward pass, the gradient of ``x`` in the backward pass (``q`` itself,
    bit for bit, where no gradient is recorded)."""
    if not (torch.is_grad_enabled() and x.requires_grad):
        return q
    return x + (q - x).detach()


def ste_round(x: torch.Tensor) -> torch.Tensor:
    """round(x) forward, identity backward."""
    return ste(x, torch.round(x))


def _clip_ste(x: torch.Tensor, lo, hi) -> torch.Tensor:
    """clip(x, lo, hi) with the gradient of the clip (0 outside the range)."""
    return torch.clamp(x, lo, hi)


def quantize_uniform(x: torch.Tensor, bits: int, lo: float, hi: float) -> torch.Tensor:
    """Ideal mid-rise uniform quantizer to 2^bits levels over [lo, hi] (clipped), as
    :func:`.analog.quantize_uniform`; STE inside the range, zero gradient outside."""
    n = 2 ** bits
    step = (hi - lo) / n
    xc = _clip_ste(x, lo, hi)
    code = torch.clamp(torch.floor((x.detach() - lo) / step), 0, n - 1)
    return ste(xc, lo + (code + 0.5) * step)


def quantize_symmetric(x: torch.Tensor, bits: int, x_max: float) -> torch.Tensor:
    """Signed mid-tread quantizer (sign + (bits-1)-bit magnitude, zero included), as
    :func:`.analog.quantize_symmetric`; clipped STE."""
    n = 2 ** (bits - 1) - 1
    xc = _clip_ste(x / x_max, -1.0, 1.0)
    return ste(xc, torch.round(xc.detach() * n) / n) * x_max


def quantize_pulse(a: torch.Tensor, bits: int) -> torch.Tensor:
    """Unsigned pulse width in [0, 1] with 2^bits levels including zero, as
    :func:`.analog.quantize_pulse`; clipped STE."""
    n = 2 ** bits - 1
    ac = _clip_ste(a, 0.0, 1.0)
    return ste(ac, torch.round(ac.detach() * n) / n)


def _gather(table: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """table[idx] for a 1-D table (index_select takes int32 indices: half the traffic)."""
    return table.index_select(0, idx.reshape(-1)).view(idx.shape)


class UniformQuantizer(nn.Module):
    """An ideal ``bits`` converter over [lo, hi] (an ADC), STE; None bits = exact."""

    def __init__(self, bits: int | None, lo: float = -1.0, hi: float = 1.0):
        super().__init__()
        self.bits, self.lo, self.hi = bits, float(lo), float(hi)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bits is None:
            return x
        return quantize_uniform(x, self.bits, self.lo, self.hi)


class AcamLookup(nn.Module):
    """A Compute-ACAM bank (row thresholds with the chip's mismatch) as a torch module.

    Built from a numpy :class:`.analog.AcamQuantizer` ``q``: the same threshold table
    (its 64x-fine code table ``_lut``) and output levels, so a code here is the code
    the numpy path reads. ``forward(x)`` gives the level of the matching row (STE:
    identity gradient inside [lo, hi]); ``lookup(x, func)`` gives ``func`` at that
    level (STE: the gradient of ``func`` at x, clipped to the range). ``func`` must be
    a torch function of one tensor."""

    def __init__(self, q):
        super().__init__()
        self.lo, self.hi, self.bits = float(q.lo), float(q.hi), int(q.bits)
        self.inv_bin = float(q._inv_bin)
        self.register_buffer("lut", torch.as_tensor(q._lut.astype("int64")), persistent=False)
        self.register_buffer("levels", torch.as_tensor(q.levels, dtype=torch.float64),
                             persistent=False)
        # the output level of each fine bin: one gather per lookup instead of two
        self.register_buffer("bin_levels", self.levels[self.lut], persistent=False)
        self._tables: dict = {}
        self.source, self.stats = q, None      # the numpy rows; level-pass statistics

    def start_stats(self) -> None:
        """Record, per row, the sum and count of the inputs it matches (a centroid level
        pass, :meth:`.trimmed_acam.TrimmedAcam.code`'s statistics); :meth:`flush_stats` hands
        them to the numpy quantizer."""
        self.stats = _zero_stats(self.levels.numel(), self.lut.device)

    def record(self, x: torch.Tensor, sel: torch.Tensor | None = None,
               weights: torch.Tensor | None = None) -> None:
        """Level pass: add the inputs ``x`` (those where ``sel``, if given; each
        ``weights`` times) to the sums of the rows they match (clipped to the window, in
        float64, as the numpy rows)."""
        if self.stats is not None:
            x = x.detach() if sel is None else x.detach()[sel.expand_as(x)]
            _add_stats(self.stats, self.code(x).reshape(-1),
                       x.reshape(-1).double().clamp_(self.lo, self.hi), weights)

    def flush_stats(self) -> None:
        _flush(self.stats, self.source)
        self.stats = None

    @property
    def n_bins(self) -> int:
        return self.lut.numel()

    def levels_at(self, idx: torch.Tensor, t: int, dtype) -> torch.Tensor:
        """Stored level for fine-bin indices ``idx`` (clipped to the table); ``t`` is
        unused (one converter for every column), as :meth:`BankLookup.levels_at`."""
        return _gather(self._table("level", None, dtype), idx)

    def level_table(self, dtype) -> torch.Tensor:
        """The stored level of each fine bin (n_bins,), as :meth:`levels_at` reads it."""
        return self._table("level", None, dtype)

    def bins(self, x: torch.Tensor) -> torch.Tensor:
        """Fine-bin index of x (int32): floor((x - lo) * bins / (hi - lo)), clipped to
        the table (the clip first makes floor a truncation)."""
        n = self.lut.numel() - 1
        return ((x.detach() - self.lo) * self.inv_bin).clamp_(0, n).to(torch.int32)

    def code(self, x: torch.Tensor) -> torch.Tensor:
        """Index of the matching row, int64, shape of ``x``."""
        return _gather(self.lut, self.bins(x))

    def _table(self, key, func, dtype) -> torch.Tensor:
        t = self._tables.get((key, dtype))
        if t is None:
            t = (self.bin_levels if func is None else func(self.levels)[self.lut]).to(dtype)
            if key is not None:
                self._tables[(key, dtype)] = t
        return t

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.record(x)
        lv = _gather(self._table("level", None, x.dtype), self.bins(x))
        return ste(_clip_ste(x, self.lo, self.hi) if x.requires_grad else x, lv)

    def lookup(self, x: torch.Tensor, func: Callable[[torch.Tensor], torch.Tensor],
               key: str | None = None, sel: torch.Tensor | None = None) -> torch.Tensor:
        """``func`` at the quantized input level; ``key`` names ``func`` so its table over
        the rows is built once; ``sel``: the inputs this bank really receives (a level
        pass records only those)."""
        self.record(x, sel)
        y = _gather(self._table(key, func, x.dtype), self.bins(x))
        if not (torch.is_grad_enabled() and x.requires_grad):
            return y
        return ste(func(_clip_ste(x, self.lo, self.hi)), y)


class BankLookup(nn.Module):
    """A crossbar matrix's Compute-ACAM converters (:class:`.converters.ConverterBank`:
    ``per_tile`` converters per tile, each its own threshold mismatch) as a torch module.

    ``conv`` (groups, out): the converter each converter group's (row tile's) column is
    read by. The same code tables (64x-fine bins per converter) and stored levels as the
    numpy bank, so a code here is the code the numpy path reads. ``forward(x, t)``: the
    level of the matching row of each column's converter in group ``t`` (clipped STE)."""

    def __init__(self, bank, conv):
        super().__init__()
        self.lo, self.hi, self.bits = float(bank.lo), float(bank.hi), int(bank.bits)
        self.inv_bin, self.n_bins = float(bank._inv_bin), int(bank.bins)
        k = int(bank.levels.shape[1])
        conv = torch.as_tensor(conv, dtype=torch.int64)
        self.register_buffer("lut", torch.as_tensor(bank.lut.ravel().copy()), persistent=False)
        self.register_buffer("levels", torch.as_tensor(bank.levels.ravel(), dtype=torch.float64),
                             persistent=False)
        self.register_buffer("conv_bins", (conv * self.n_bins).to(torch.int32), persistent=False)
        self.register_buffer("conv_rows", (conv * k).to(torch.int32), persistent=False)
        self._tables: dict = {}
        self.source, self.stats = bank, None   # the numpy bank; level-pass statistics

    def start_stats(self) -> None:
        """As :meth:`AcamLookup.start_stats`, per (converter, row)."""
        self.stats = _zero_stats(self.levels.numel(), self.lut.device)

    def record(self, v: torch.Tensor, t: int) -> None:
        """Level pass: the converted values ``v`` (..., out) of group ``t``, in [lo, hi]."""
        if self.stats is not None:
            v = v.detach()
            i = ((v - self.lo) * self.inv_bin).clamp_(0, self.n_bins - 1).to(torch.int32)
            code = _gather(self.lut, i + self.conv_bins[t]).long()
            _add_stats(self.stats, (code + self.conv_rows[t]).reshape(-1),
                       v.reshape(-1).double().clamp_(self.lo, self.hi))

    def flush_stats(self) -> None:
        _flush(self.stats, self.source)
        self.stats = None

    def read_counting(self, v: torch.Tensor, t: int) -> torch.Tensor:
        """:meth:`read_counting_t` of ``v`` (..., out) in its own layout."""
        return self.read_counting_t(v.reshape(-1, v.shape[-1]).T.contiguous(), t) \
            .T.reshape(v.shape)

    def read_counting_t(self, vt: torch.Tensor, t: int) -> torch.Tensor:
        """Level pass: :meth:`forward`'s value (no gradient) of ``vt`` (out, m), already
        clipped to [lo, hi] and transposed (contiguous, a column's values together), as
        (out, m); its rows counted as :meth:`record` counts them, in one pass over the
        fine-bin indices (each (converter, fine bin)'s row from one table).

        In (column, plane x row) order -- a column's gathers read its converter's tables
        while they are cached (in (row, column) order each row sweeps every converter's)
        -- and in blocks of columns that stay in cache (a block's float64 copy is made
        for its sums only). A row's sum adds its inputs in the same order as one
        ``bincount`` over the whole read (``index_add_`` on a 1-D tensor adds element by
        element, in order, into a fresh zero sum), so the sums are the same bit for bit
        (pass-3 time: benchmarks/evaluation_time.py)."""
        rows = self._row_table()
        out, m = vt.shape
        cb = max(1, min(out, self._BLOCK // max(m, 1)))     # columns per block
        # a (converter, fine bin)'s level is its row's: gathered from the rows' levels
        # (a table that stays in cache), the values of level_table
        lv, cols = self._row_levels(vt.dtype), self.conv_bins[t]
        y = torch.empty_like(vt)
        s = torch.zeros(self.levels.numel(), dtype=torch.float64, device=vt.device)
        r = torch.empty(out * m, dtype=torch.int32, device=vt.device)
        for c0 in range(0, out, cb):
            c1 = min(out, c0 + cb)
            x = vt[c0:c1]
            i = x.add(-self.lo).mul_(self.inv_bin).clamp_(0, self.n_bins - 1)
            i = i.to(torch.int32).add_(cols[c0:c1, None]).view(-1)
            rb = r[c0 * m:c1 * m]
            torch.index_select(rows, 0, i, out=rb)
            s.index_add_(0, rb, x.reshape(-1).double())
            torch.index_select(lv, 0, rb, out=y[c0:c1].view(-1))
        self.stats[0] += s
        self.stats[1] += torch.bincount(r, minlength=s.numel()).double()
        return y

    #: elements per block of :meth:`read_counting_t` (its float32, int32 and float64
    #: copies, ~2.5 MiB together, stay in cache)
    _BLOCK = 1 << 17

    def _row_table(self) -> torch.Tensor:
        """The flat row (converter * rows + row) of each (converter, fine bin), int32."""
        rows = self._tables.get("rows")
        if rows is None:
            n = self.lut.numel() // self.n_bins
            k = self.levels.numel() // n
            rows = self._tables["rows"] = (self.lut.view(n, -1).int() + k * torch.arange(
                n, device=self.lut.device, dtype=torch.int32)[:, None]).view(-1)
        return rows

    def _row_levels(self, dtype) -> torch.Tensor:
        """The stored level of each (converter, row), flat, in ``dtype``."""
        lv = self._tables.get(("rows", dtype))
        if lv is None:
            lv = self._tables[("rows", dtype)] = self.levels.to(dtype)
        return lv

    def level_table(self, dtype) -> torch.Tensor:
        """The stored level of each (converter, fine bin), flat: converter ``k``'s fine
        bin ``i`` at ``k * n_bins + i`` (``conv_bins`` holds each column's ``k * n_bins``)."""
        lv = self._tables.get(dtype)
        if lv is None:   # the stored level of each (converter, fine bin): one gather, not two
            lv = self._tables[dtype] = self._row_levels(dtype).index_select(0, self._row_table())
        return lv

    def levels_at(self, idx: torch.Tensor, t: int, dtype) -> torch.Tensor:
        """Stored level for fine-bin indices ``idx`` (..., out) (already clipped to
        [0, n_bins - 1]) of group ``t``'s columns."""
        return _gather(self.level_table(dtype), idx + self.conv_bins[t])

    def forward(self, x: torch.Tensor, t: int) -> torch.Tensor:
        self.record(x, t)
        i = ((x.detach() - self.lo) * self.inv_bin).clamp_(0, self.n_bins - 1).to(torch.int32)
        lv = self.levels_at(i, t, x.dtype)
        return ste(_clip_ste(x, self.lo, self.hi) if x.requires_grad else x, lv)


def _zero_stats(n: int, device) -> list[torch.Tensor]:
    return [torch.zeros(n, dtype=torch.float64, device=device),
            torch.zeros(n, dtype=torch.float64, device=device)]


def _add_stats(stats: list[torch.Tensor], rows: torch.Tensor, x: torch.Tensor,
               weights: torch.Tensor | None = None) -> None:
    """Per row: the sum (float64) and the count of the inputs ``x`` that matched ``rows``
    (each ``weights`` times: float64 integers)."""
    n = stats[0].numel()
    stats[0] += torch.bincount(rows, weights=x if weights is None else x * weights,
                               minlength=n)
    stats[1] += torch.bincount(rows, weights=weights, minlength=n).double()


def _flush(stats, q) -> None:
    """Add a torch level pass's statistics to the numpy quantizer ``q``'s (its
    ``start_stats`` was called: :meth:`.race_it.RaceItOps.fit_levels`)."""
    if stats is None or getattr(q, "_stats", None) is None:
        return
    q._stats[0] += stats[0].cpu().numpy()
    q._stats[1] += stats[1].cpu().numpy()


def product_stats(q: AcamLookup, A: torch.Tensor, B: torch.Tensor, pm: torch.Tensor):
    """Level pass of a product lookup: each product A_ik B_kj / pm (clipped to [-1, 1]; A
    (c, m, k), B (c, k, n), pm (c, 1, 1)) counted to the row it matches, without forming
    the products. The operands are codes (a few hundred values): the products are counted
    per pair of operand values (a, b), sum_k #{i: A_ik = a} #{j: B_kj = b}, a product of
    the two operands' histograms (exact integers in float32 below 2^24)."""
    c, m, k = A.shape
    n = B.shape[-1]
    ua, ia = torch.unique(A, return_inverse=True)
    ub, ib = torch.unique(B, return_inverse=True)
    if c * len(ua) * len(ub) >= c * m * k * n or m * n * k >= 1 << 24:
        q.record((A[:, :, :, None] * B[:, None, :, :] / pm[..., None]).clamp_(-1.0, 1.0))
        return
    lane = torch.arange(c * k, device=A.device).view(c, 1, k)
    ha = torch.bincount((lane * len(ua) + ia).reshape(-1), minlength=c * k * len(ua))
    lane = lane.view(c, k, 1)
    hb = torch.bincount((lane * len(ub) + ib).reshape(-1), minlength=c * k * len(ub))
    cnt = torch.bmm(ha.view(c, k, -1).transpose(1, 2).float(), hb.view(c, k, -1).float())
    v = ((ua[:, None] * ub[None, :])[None] / pm).clamp_(-1.0, 1.0)   # as A_ik * B_kj / pm
    keep = cnt > 0
    q.record(v[keep], weights=cnt[keep].double())


def bank_sel(v: torch.Tensor, banks, i: int):
    """Where bank ``i`` of contiguous windows ``banks`` answers for ``v`` (the bank whose
    window holds it, the first / last beyond the ends; None: one bank)."""
    if len(banks) == 1:
        return None
    sel = v >= banks[i][0] if i else torch.ones_like(v, dtype=torch.bool)
    return sel & (v < banks[i + 1][0]) if i + 1 < len(banks) else sel
