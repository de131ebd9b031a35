"""Which bit planes of a sign-magnitude read are made, and with which polarity.

A bit-serial crossbar read converts each input plane's column sums and shift-adds the
codes with the planes' weights ``w_b`` (2^b). Every converted plane read also carries
the bit-line TIA's own noise (``tia-noise``): a white part drawn anew per read, whose
weight in the result is ``sum_b w_b^2``, and a flicker part (below 1 MHz) that the
planes of one input's read share, weight ``(sum_b s_b w_b)^2``. Two levers of the
read's schedule change those weights without changing the tile, its TIAs or its
converters (``[components.dac]`` of the description):

* ``polarity = "balanced"``: plane ``b`` is driven with polarity ``s_b`` (+-v_read:
  the sign-magnitude row drivers make both; the converters' ranges are symmetric) and
  its code multiplied by ``s_b`` in the shift-add, so the signal is unchanged and the
  shared flicker enters with ``sum_b s_b w_b``: taking the planes from the heaviest
  down, each gets the polarity that brings the running sum toward 0 (``+`` at a sum
  <= 0): with every plane read ``|sum_b s_b w_b| <= min_b w_b`` (64 - 32 - ... - 1 = 1
  instead of 127); with planes skipped it can stay larger (planes 6 and 0: 64 - 1).
  This is chopper stabilization (C. C. Enz and G. C. Temes, "Circuit techniques for
  reducing the effects of op-amp imperfections", Proc. IEEE 84(11), 1996).
* ``skip_empty = true``: a plane with no driven row in a tile (for that input) is
  neither read nor converted there; its code is exactly 0 instead of the TIA's noise.
  The decision is one OR of the tile's row enables per plane (the description's
  ``skip_or`` component, priced per tile, plane and token). The cost prices the reads
  an accuracy run's chip made (:mod:`.mapping`, ``read_fraction``; the torch crossbars
  count them); a cost-only run, with no inputs, prices every scheduled read.
* ``plane_reads = [r_{P-1}, r_{P-2}, ...]`` (the most significant planes' read counts,
  heaviest first, each a power of two up to 16; planes not listed are read once, so
  the list holds for any ``dac.bits``): plane ``b`` is read and converted ``r_b``
  times in consecutive slots and its codes averaged (the shift-add weights each copy
  ``w_b / r_b``: a shift). The white part of its noise (and its converter rounding)
  then weighs ``w_b^2 / r_b``; the signal is unchanged. Each extra read is priced as a read, its conversions and an add
  (:func:`.mapping.input_planes` counts them).

The flicker's sharing is itself a model: plane ``b`` is read at ``t_b = (P-1-b) T``
(``plane_period_s`` = ``T``, the most significant plane first, every plane in its own
slot whether read or skipped), and a 1/f noise confined to ``[F_LO_HZ, F_LF_HZ]``
(where ``tia-noise`` integrates it) has the correlation

    rho(tau) = (Ci(2 pi f_hi tau) - Ci(2 pi f_lo tau)) / ln(f_hi / f_lo)

between reads ``tau`` apart (the cosine transform of a 1/f spectrum; Ci the cosine
integral). :meth:`PlaneSchedule.lf_mix` is a square root ``L`` of that correlation
matrix: the flicker of the planes is ``sigma_lf L z`` (``z`` standard normal), so
balanced polarity cancels only the part the planes actually share. Without a period
the planes share it fully (``L`` a column of ones: the model of the fixed schedule).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import sici

from ..characterize.recipes.tia_noise import F_LF_HZ, F_LO_HZ
from .arch import Architecture, ArchError

POLARITIES = ("fixed", "balanced")


@dataclass(frozen=True)
class PlaneSchedule:
    """``balanced``: balanced plane polarity; ``skip_empty``: empty planes not read;
    ``plane_period_s``: time between two planes' reads (s, > 0), None: the flicker
    fully shared by a read's planes; ``reads``: how many times the most significant
    planes are read (heaviest first; the others once), None: once each."""

    balanced: bool = False
    skip_empty: bool = False
    plane_period_s: float | None = None
    reads: tuple[int, ...] | None = None

    def n_reads(self, n_planes: int) -> int:
        """Reads made of ``n_planes`` planes (each repeat a read)."""
        return n_planes if self.reads is None else \
            n_planes - len(self.reads) + sum(self.reads)

    def expand(self, weights, drive):
        """(weights (P',), drive (P', N, in)): plane ``b`` of ``weights`` (P,) and
        ``drive`` (P, N, in) (numpy or torch; the most significant plane last) repeated
        ``r_b`` times in a row, each copy weighted ``w_b / r_b``; unchanged without
        ``reads``."""
        if self.reads is None:
            return weights, drive
        n = len(weights)
        if len(self.reads) > n:
            raise ValueError(f"plane reads {self.reads} for {n} planes")
        r = np.array([1] * (n - len(self.reads)) + list(self.reads)[::-1])
        idx = np.repeat(np.arange(n), r)
        div = np.repeat(r.astype(np.float64), r)
        if isinstance(drive, np.ndarray):
            return (np.asarray(weights)[idx] / div).astype(np.asarray(weights).dtype), \
                drive[idx]
        import torch
        i = torch.as_tensor(idx, device=drive.device)
        return weights[i.to(weights.device)] / torch.as_tensor(
            div, dtype=weights.dtype, device=weights.device), drive[i]

    def multipliers(self, weights, active: np.ndarray) -> np.ndarray:
        """(P, N, G) int8 in {-1, 0, +1}: each plane's polarity in each converter group
        for each input (0: skipped). ``weights`` (P,) plane weights; ``active`` (P, N, G)
        bool: the plane drives a row of the group."""
        w = np.abs(np.asarray(weights, dtype=np.float64))
        m = active.astype(np.int8) if self.skip_empty else \
            np.ones(active.shape, dtype=np.int8)
        if self.balanced:
            run = np.zeros(active.shape[1:])
            for b in np.argsort(-w, kind="stable"):       # heaviest plane first
                m[b] *= np.where(run <= 0.0, 1, -1).astype(np.int8)
                run += m[b] * w[b]
        return m

    def lf_mix(self, n_planes: int) -> np.ndarray:
        """(P, K) float32: the flicker of plane ``b`` is ``sigma_lf sum_k L[b, k] z_k``
        with ``z`` K independent standard normal draws per read (K = 1 with no period:
        one shared draw)."""
        if self.plane_period_s is None:
            return np.ones((n_planes, 1), dtype=np.float32)
        lag = np.abs(np.subtract.outer(np.arange(n_planes), np.arange(n_planes)))
        c = flicker_correlation(lag * float(self.plane_period_s))
        lam, v = np.linalg.eigh(c)
        keep = lam > 1e-12 * lam.max()
        return (v[:, keep] * np.sqrt(lam[keep])).astype(np.float32)


def flicker_correlation(tau_s, f_lo_hz: float = F_LO_HZ, f_hi_hz: float = F_LF_HZ):
    """Correlation of a 1/f noise confined to [f_lo_hz, f_hi_hz] between two instants
    ``tau_s`` apart (s, >= 0): 1 at 0, falling as 2 pi f_hi tau approaches 1."""
    tau = np.asarray(tau_s, dtype=np.float64)
    out = np.ones(tau.shape)
    pos = tau > 0
    ci = lambda f: sici(2.0 * np.pi * f * tau[pos])[1]         # noqa: E731
    out[pos] = (ci(f_hi_hz) - ci(f_lo_hz)) / np.log(f_hi_hz / f_lo_hz)
    return out


def scheduled(schedule: PlaneSchedule | None, weights, drive, rows: int, groups: int):
    """(plane weights, drive with each read's polarity, multipliers (P', N, groups) or
    None) for the planes ``weights`` (P,), ``drive`` (P, N, in) (numpy or torch; the
    multipliers the same kind, on its device) read by ``groups`` converter groups of
    ``rows`` rows each (1 group: the analog sum of every row): one entry per read made
    (:meth:`PlaneSchedule.expand`). None schedule: unchanged, no multipliers."""
    if schedule is None:
        return weights, drive, None
    weights, drive = schedule.expand(weights, drive)
    P, N, n_in = drive.shape
    span = rows if groups > 1 else n_in
    nz = drive != 0
    active = [nz[:, :, g * span:(g + 1) * span].any(-1) for g in range(groups)]
    torch_in = not isinstance(drive, np.ndarray)
    if torch_in:
        import torch
        act = torch.stack(active, -1).cpu().numpy()
        m = torch.as_tensor(schedule.multipliers(weights.cpu().numpy(), act),
                            device=drive.device)
        tile_of = torch.arange(n_in, device=drive.device) // span
    else:
        m = schedule.multipliers(weights, np.stack(active, -1))
        tile_of = np.arange(n_in) // span
    return weights, (drive * m[:, :, tile_of].to(drive.dtype) if torch_in else
                     drive * m[:, :, tile_of].astype(drive.dtype)), m


def plane_schedule(arch: Architecture) -> PlaneSchedule | None:
    """The description's read schedule (``dac.polarity``, ``dac.skip_empty``,
    ``dac.plane_period_s``, ``dac.plane_reads``), or None for every plane read once at
    +v_read (and for a multi-level drive, which reads once). The levers need a
    sign-magnitude bit-serial drive (ternary pulses; a two's-complement plane is 0 or
    +v_read), and balanced polarity a plane period (its cancellation depends on it)."""
    dac = arch.component("dac")
    pol = dac.get("polarity", "fixed")
    skip = dac.get("skip_empty", False)
    period = dac.get("plane_period_s")
    reads = dac.get("plane_reads")
    if pol not in POLARITIES:
        raise ArchError(f"dac.polarity must be one of {POLARITIES}, got {pol!r}")
    if not isinstance(skip, bool):
        raise ArchError(f"dac.skip_empty must be true or false, got {skip!r}")
    if period is not None and (isinstance(period, bool) or
                               not isinstance(period, (int, float)) or
                               not 0.0 < float(period) < 1e-3):
        raise ArchError(f"dac.plane_period_s must be a time in seconds in (0, 1e-3), "
                        f"got {period!r}")
    if (pol == "fixed" and not skip and reads is None) or dac.get("mode") != "bit-serial":
        return None             # a multi-level drive reads once: no planes to schedule
    if dac.get("encoding") != "sign-magnitude":
        raise ArchError("dac.polarity = 'balanced', dac.skip_empty and dac.plane_reads need "
                        "a bit-serial sign-magnitude drive (a two's-complement plane is 0 "
                        "or +v_read): set dac.polarity=fixed and dac.skip_empty=false and "
                        "leave dac.plane_reads out with it")
    if pol == "balanced" and period is None:
        raise ArchError("dac.polarity = 'balanced' needs dac.plane_period_s (s): how much "
                        "flicker the planes share depends on the time between them")
    return PlaneSchedule(pol == "balanced", skip,
                         None if period is None else float(period),
                         None if reads is None else _plane_reads(reads, dac))


def _plane_reads(reads, dac) -> tuple[int, ...]:
    """``dac.plane_reads`` checked: 1 to ``dac.bits - 1`` read counts (the most
    significant planes', heaviest first), each a power of two in [1, 16] (an average of
    r codes is a shift only for r a power of two)."""
    bits = dac.get("bits")
    n = bits - 1 if isinstance(bits, int) and not isinstance(bits, bool) else 0
    ok = isinstance(reads, (list, tuple)) and 1 <= len(reads) <= n and all(
        isinstance(r, int) and not isinstance(r, bool) and r in (1, 2, 4, 8, 16)
        for r in reads)
    if not ok:
        raise ArchError(f"dac.plane_reads must list 1 to {n if n else 'dac.bits - 1'} read "
                        "counts of the most significant planes, heaviest first, each 1, "
                        f"2, 4, 8 or 16, got {reads!r}")
    return tuple(reads)
