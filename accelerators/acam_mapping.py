"""The Compute-ACAM mapping of an architecture description (``[mapping.acam]``): how
operators are laid onto ACAM lookups. Parsed and validated with the description
(:func:`.arch.from_dict`); read by the accuracy model (:mod:`.race_it`) and the cost
(:mod:`.mapping`) alike."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ArchError


@dataclass(frozen=True)
class AcamMapping:
    """How operators are laid onto Compute-ACAM lookups (``[mapping.acam]``). The
    defaults are the plain mapping; the accuracy model (:mod:`.race_it`) and the cost
    (:mod:`.mapping`) read the same values.

    * ``softmax``: ``"probabilities"`` (exp, 1/sum, a probability output lookup per
      score) or ``"deferred"`` (P·V takes the exp codes; 1/sum scales each P·V output
      once, one digital multiply per output on the ``scaler`` component);
    * ``levels``: the value each ACAM row stores: ``"ideal"`` (the centre of its ideal
      input interval), ``"trimmed"`` (the centre of the interval it really matches,
      thresholds located once per chip by a calibration ramp of ``trim_ramp_div``
      points per output step) or ``"centroid"`` (the mean of the calibration inputs it
      matched, read on the hardware path; rows matched too rarely keep the trimmed
      centre);
    * ``rsqrt_banks``: ACAM banks provisioned for a layernorm's 1/sqrt lookup; the
      compiler spreads as many as its calibrated variance range needs at
      ``rsqrt_bank_ratio`` (hi/lo) each, at most ``rsqrt_banks``, geometrically; a row's
      bank is chosen by comparators at the inner edges, priced as ``rsqrt_banks - 1``
      decisions per row (an upper bound: every provisioned edge);
    * ``norm_out_banks``: a layernorm's output code from B (power of 2) banks of ``bits
      - log2(B)`` bits over 1/B of the channel's range each (subranging: mismatch 1/B of
      one bank's), chosen by ``B - 1`` comparator decisions per element;
    * ``norm_out_range``: where a layernorm output code's window sits per channel:
      ``"symmetric"`` (+-max |y_c|) or ``"offset"`` ([min y_c, max y_c], centred on the
      channel's own offset, so the levels a channel never reaches are not spent: the
      ACAM thresholds and the stored levels of each channel's bank are programmed
      anywhere, at no cost);
    * ``norm_out_margin``: the window's half-width is this x the calibrated half-width
      (the calibration texts' extremes; evaluation tokens beyond them clip);
    * ``product_banks``: the product lookups of one output's sum (Q·Kᵀ, P·V) run on
      this many ACAM banks at once, term ``k`` on bank ``k mod product_banks``, each
      bank its own threshold mismatch draw (1: every product of a matmul on one bank,
      so its mismatch error adds coherently over the sum). Lookups, searches and steps
      are priced alike (the banks are among the ``acam.count`` rows provisioned);
    * ``lookup_copies``: every element-wise lookup (GELU, the softmax's exp and 1/sum, a
      layernorm's 1/sqrt and output code) is read on this many ACAM banks at once, each
      its own threshold mismatch draw, and their output codes averaged digitally (one
      add per extra copy): independent thresholds dither each other, so the average
      errs less than one bank (the same idea as a redundant converter). Priced: each
      copy a lookup, each extra copy an add. 1: one bank;
    * ``product_copies``: the same for the products of Q·Kᵀ and P·V: every term of a
      product sum is read on this many banks (copy ``j`` of bank ``b`` its own mismatch
      draw), and the sum takes all copies' codes, its scale divided by the copies (folded
      into the product range the sum is scaled by). Priced: each copy a lookup, each
      extra copy's code one more add of the sum. 1: one read per term."""

    softmax: str = "probabilities"
    levels: str = "ideal"
    trim_ramp_div: int = 16
    rsqrt_banks: int = 1
    rsqrt_bank_ratio: float = 4.0
    norm_out_banks: int = 1
    norm_out_range: str = "symmetric"
    norm_out_margin: float = 1.0
    product_banks: int = 1
    lookup_copies: int = 1
    product_copies: int = 1

    SOFTMAX = ("probabilities", "deferred")
    LEVELS = ("ideal", "trimmed", "centroid")
    NORM_OUT_RANGE = ("symmetric", "offset")

    @property
    def deferred_softmax(self) -> bool:
        return self.softmax == "deferred"

    @classmethod
    def parse(cls, d, where: str) -> "AcamMapping":
        if not isinstance(d, dict):
            raise ArchError(f"{where}: must be a table")
        keys = ("softmax", "levels", "trim_ramp_div", "rsqrt_banks", "rsqrt_bank_ratio",
                "norm_out_banks", "norm_out_range", "norm_out_margin", "product_banks",
                "lookup_copies", "product_copies")
        bad = set(d) - set(keys)
        if bad:
            raise ArchError(f"{where}: unknown keys {sorted(bad)} ({', '.join(keys)})")
        m = cls(**d)
        if m.softmax not in cls.SOFTMAX:
            raise ArchError(f"{where}.softmax must be one of {', '.join(cls.SOFTMAX)}, "
                            f"got {m.softmax!r}")
        if m.levels not in cls.LEVELS:
            raise ArchError(f"{where}.levels must be one of {', '.join(cls.LEVELS)}, "
                            f"got {m.levels!r}")
        if m.norm_out_range not in cls.NORM_OUT_RANGE:
            raise ArchError(f"{where}.norm_out_range must be one of "
                            f"{', '.join(cls.NORM_OUT_RANGE)}, got {m.norm_out_range!r}")
        g = m.norm_out_margin
        if isinstance(g, bool) or not isinstance(g, (int, float)) or not 1.0 <= g <= 16.0:
            raise ArchError(f"{where}.norm_out_margin must be a number in [1, 16], got {g!r}")
        r = m.rsqrt_bank_ratio
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not 1.0 < r < 1e6:
            raise ArchError(f"{where}.rsqrt_bank_ratio must be a number > 1, got {r!r}")
        for k, hi in (("trim_ramp_div", 1024), ("rsqrt_banks", 64), ("norm_out_banks", 16),
                      ("product_banks", 1024), ("lookup_copies", 16),
                      ("product_copies", 16)):
            v = getattr(m, k)
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= hi:
                raise ArchError(f"{where}.{k} must be an integer in [1, {hi}], got {v!r}")
        if (b := m.norm_out_banks) & (b - 1):
            raise ArchError(f"{where}.norm_out_banks must be a power of two, got {b!r}")
        return m


def copy_name(name: str, copy: int) -> str:
    """The lookup name of copy ``copy`` of an element-wise lookup ``name`` (copy 0 keeps
    the operator's own name: its thresholds and mismatch draw are the one-copy lookup's)."""
    return name if copy == 0 else f"{name}.c{copy}"


def acam_lookups(op, d_model: int, context: int = 1, deferred: bool = False,
                 copies: int = 1, product_copies: int = 1) -> tuple[int, int]:
    """(lookups, adds) of an operator ``op`` (a :class:`.workloads.Operator`) on the
    Compute-ACAM engine (:mod:`.mapping` prices them); ``context`` is the
    key length of a softmax (its rows are ``elements / context``); ``deferred``: the
    softmax has no probability output lookup (P·V takes its exp codes); ``copies``:
    each element-wise lookup (exp, 1/sum, GELU, 1/sqrt, layernorm output) is read on
    that many banks and averaged, one add per extra copy (mapping.acam.lookup_copies);
    ``product_copies``: each product of a matmul read on that many banks, the sum
    adding every copy's code (mapping.acam.product_copies)."""
    if op.kind == "matmul":
        outs = op.batch * op.heads * op.m * op.n
        terms = op.k * product_copies
        return outs * terms, outs * (terms - 1)
    if op.kind == "elementwise":
        return op.elements, 0
    rows = {"softmax": op.elements // context, "layernorm": op.elements // d_model,
            "gelu": 0}.get(op.kind)
    if rows is None:
        raise ArchError(f"no Compute-ACAM mapping for operator kind {op.kind!r}")
    each = op.elements + rows        # exp + 1/sum, GELU, output code + 1/sqrt
    probs = op.elements if op.kind == "softmax" and not deferred else 0
    return copies * each + probs, (copies - 1) * each
