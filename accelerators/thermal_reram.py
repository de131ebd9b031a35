"""The ReRAM tier read at its temperature: the memristor model's state-dependent
conductance drift and read noise on a programmed crossbar (HeTraX, :mod:`.hetrax`).

A chip is programmed (write-verify) and calibrated (TIA gain trims, converter ranges)
at the programming temperature, 27 C; the tier then runs at the temperature the stack's
thermal solution gives. Each cell programmed to G (its 27 C low-field conductance) is
read at ``v_read`` as the memristor model says (``models/memristor.py``, fitted from
netlists/memristor.spice): an effective read conductance I(v_read, G, T) / v_read, whose
temperature coefficient depends on the state (gap-dominated low G rises ~1.3 %/K,
filament-dominated high G ~0.2 %/K), so the differential pair G+ - G- no longer holds
the mapped weight, and every read adds noise (Johnson + RTN, :func:`read_sigma_s`).

:class:`ThermalCrossbarLinear` is an :class:`.analog.CrossbarLinear` whose programmed
conductances it recovers exactly (same generator, same draws: checked against the
parent's weights at construction) so it can re-read them at any temperature.

Temperature-tracking reference (``reference="tile"``): each row tile carries a
differential reference column pair on the same die, at the same temperature, programmed
(with its own programming error) to a known weight: G+ref = g_min + span * m_t, G-ref =
g_min, m_t the tile's mean mapped |weight| (known to the compiler). At calibration
(t_cal) its read current is recorded as nominal; at run time it is read again (same
drift law, its own read noise, averaged over ``ref_reads`` reads) and the tile's output
gain becomes I_nominal / I_read (two independent reads: a run-time read at t_cal itself
carries the read noise of both, so only the calibration pass reads gain 1 exactly): the
converter reference (equivalently the per-column digital scale) tracks it, so the tile's
weights and read noise scale together (with
``partial_sums = "analog"`` the tiles are summed before conversion: the per-tile gain is
then a trim of each tile's TIA, not the converter's reference). Only the
drift common to the tile's cells is removed: the state-dependent (differential) part,
cells whose secant drift differs from the reference level's, remains. In-array reference
bit lines that compensate an RRAM CIM array's gain are published (Gao et al., EDTM 2024,
doi:10.1109/EDTM58488.2024.10511775: redundant bit lines; Singh et al., DATE 2022:
referencing-in-array); tracking temperature with one, its level and per-tile granularity
are our design assumption.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..models.memristor import T_REF_C, read_sigma_s
from .analog import CrossbarLinear
from .ir_profile import tile_loads, tile_rows_of
from .weight_scale import row_scale

#: temperature-reference modes: "none" (gain fixed at calibration) or "tile" (one
#: differential reference column pair per row tile, :class:`ThermalCrossbarLinear`)
REFERENCE_MODES = ("none", "tile")


@dataclass
class ReramRead:
    """How a ReRAM tier reads a programmed cell, from the fitted memristor model ``mem``.

    ``v_read_v``: read voltage (V); ``k``: strength of the device non-idealities (1 = as
    characterized, 0 = an ideal linear cell): the read conductance is
    G + k (G_read(G, T) - G) and the read noise sigma is k times the model's."""

    mem: object
    v_read_v: float
    k: float = 1.0

    def _clip(self, name: str, x):
        lo, hi = self.mem.valid_range[name]
        return np.clip(x, lo, hi)

    def g_read_s(self, g_s: np.ndarray, temp_c: float) -> np.ndarray:
        """Effective read conductance (S) at ``temp_c`` of cells programmed to ``g_s``
        (S at 27 C): I(v_read) / v_read from the fitted form. Outside the model's
        conductance range the ratio at its edge applies (no extrapolation)."""
        g = np.asarray(g_s, dtype=np.float64)
        gu = self._clip("g_us", g * 1e6)
        t = float(self._clip("temp_c", temp_c))
        i = np.asarray(self.mem.current(self.v_read_v, gu, temp_c=t), dtype=np.float64)
        ratio = i / (gu * 1e-6 * self.v_read_v)
        return g * (1.0 + self.k * (ratio - 1.0))

    def read_sigma_s(self, g_hot_s: np.ndarray, temp_c: float) -> np.ndarray:
        """Per-read conductance noise (S) of cells whose read conductance is ``g_hot_s``."""
        rtn = self.mem.extra.get("read_rtn_rel")
        kw = {} if rtn is None else {"rtn_rel": float(np.ravel(rtn)[0])}
        return self.k * read_sigma_s(g_hot_s, temp_c, self.v_read_v, **kw)


class ThermalCrossbarLinear(CrossbarLinear):
    """:class:`.analog.CrossbarLinear` read through :class:`ReramRead` at a temperature
    set with :meth:`at` (initially ``T_REF_C``, the programming temperature). The TIA
    gain trims stay those of the mapped loads at programming (``dev.drop_law(True)``);
    the IR drop follows the load the hot cells present, with the law at the programming
    temperature in the calibration pass and at the device's read temperature otherwise
    (``dev`` is built for one read temperature: :func:`.hardware.crossbar_device`); the
    converter ranges are whatever :meth:`calibrate` saw.
    Read noise is drawn per read (per plane, row and column) from its own generator."""

    def __init__(self, w, dev, in_bits, x_max, seed, *args, read: ReramRead,
                 reference: str = "none", t_cal_c: float = T_REF_C, ref_reads: int = 1,
                 **kw):
        """``reference``: "none" or "tile" (see the module docstring); ``t_cal_c``: the
        calibration temperature (C) at which the reference's nominal current is read;
        ``ref_reads``: reads averaged per reference refresh (>= 1)."""
        if reference not in REFERENCE_MODES:
            raise ValueError(f"reference must be one of {REFERENCE_MODES}, not {reference!r}")
        if int(ref_reads) < 1:
            raise ValueError(f"ref_reads must be >= 1, not {ref_reads!r}")
        sig = dev.g_sigma_s
        seen = []

        def capture(g):                # the parent's mapped targets, G+ then G-
            seen.append(np.array(g, dtype=np.float64, copy=True))
            return sig(g) if sig is not None else np.zeros_like(g)
        super().__init__(w, replace(dev, g_sigma_s=capture), in_bits, x_max, seed, *args,
                         **kw)
        self.dev, self.read = dev, read
        rng = np.random.default_rng(seed)   # the parent's draws, in its order
        self._g = []
        for g0 in seen:
            z = rng.standard_normal(g0.shape)
            s = sig(g0) if sig is not None else 0.0
            self._g.append(np.clip(g0 + z * s, 0.0, None))
        self._noise = np.random.default_rng([int(seed), 0x5EED])
        self.seed, self.reference = int(seed), reference
        self.t_cal_c, self.ref_reads = float(t_cal_c), int(ref_reads)
        self.ref_gain = np.ones(self.n_tiles)
        self._ref = self._program_reference(seen, sig) if reference == "tile" else None
        self.temp_c, self.calibrating = None, False
        w_parent = self.w_eff
        self.at(T_REF_C, _ideal_read=True)
        if not np.allclose(self.w_eff, w_parent, rtol=1e-5, atol=1e-6 * float(
                np.abs(w_parent).max() or 1.0)):
            raise RuntimeError("ThermalCrossbarLinear: recovered conductances do not "
                               "reproduce CrossbarLinear's programming (analog.py changed?)")
        self.at(self.t_cal_c, calibrating=True)

    def at(self, temp_c: float, *, calibrating: bool = False,
           _ideal_read: bool = False) -> "ThermalCrossbarLinear":
        """Read the programmed cells at ``temp_c`` (C) from now on; ``calibrating``: the
        calibration pass, in which the reference's read is the nominal being recorded
        (tile gain 1); otherwise the run-time reference read sets the gain."""
        temp_c, calibrating = float(temp_c), bool(calibrating)
        if (temp_c, calibrating) == (self.temp_c, self.calibrating) and not _ideal_read:
            return self
        dev, span = self.dev, self.dev.g_max_s - self.dev.g_min_s
        r = dev.tile_rows
        tiles = [slice(t * r, (t + 1) * r) for t in range(self.n_tiles)]
        if _ideal_read:
            hot = [g.copy() for g in self._g]
        else:
            hot = [self.read.g_read_s(g, temp_c) for g in self._g]
        real = np.stack([tile_loads(g, dev) for g in hot])
        # the parent's own read (_ideal_read) is at the device's read temperature
        cold = calibrating and not _ideal_read
        d = np.broadcast_to(np.asarray(dev.drop_law(cold)(real), dtype=np.float64),
                            real.shape)
        for k, g in enumerate(hot):
            g *= dev.tile_read_factors(g, d[k], cold) * tile_rows_of(self.gain_trim[k], r,
                                                                     len(g))
        gp, gn = hot
        scale = row_scale(self.w_max, r, gp.shape[0]) / span
        w_eff = ((gp - gn) * scale).T
        var = None
        if not _ideal_read and self.read.k > 0:
            var = sum((self.read.read_sigma_s(g, temp_c) * scale) ** 2 for g in hot)
        self.ref_gain = np.ones(self.n_tiles)
        if self._ref is not None and not _ideal_read and not calibrating:
            # the converter reference of each tile tracks its reference column: the tile's
            # signal and read noise are scaled together
            self.ref_gain = self._ref_current(self.t_cal_c, "cal") / \
                self._ref_current(temp_c, "run")
            for t, sl in enumerate(tiles):
                w_eff[:, sl] *= self.ref_gain[t]
                if var is not None:
                    var[sl] *= self.ref_gain[t] ** 2
        self.w_eff = np.ascontiguousarray(w_eff, dtype=np.float32)
        # the TIAs' noise at this temperature, through the tile's reference gain too
        self.col_sigma, self.col_sigma_lf = (None, None) if _ideal_read else (
            self.tia_sigma(temp_c, self.ref_gain),
            self.tia_sigma(temp_c, self.ref_gain, lf=True))
        self._w_tiles = [np.ascontiguousarray(self.w_eff[:, sl].T) for sl in tiles]
        self._var_tiles = None if var is None else [
            np.ascontiguousarray(var[sl], dtype=np.float32) for sl in tiles]
        self.temp_c = None if _ideal_read else temp_c
        self.calibrating = calibrating
        return self

    def _program_reference(self, targets, sig) -> list:
        """Each tile's reference pair as programmed: (G+ref cells, G-ref cells, mapped
        loads), one cell per row of the tile, with its own programming error."""
        dev = self.dev
        span, r = dev.g_max_s - dev.g_min_s, dev.tile_rows
        gp0, gn0 = targets
        rng = np.random.default_rng([self.seed, 0x4EF])
        out = []
        for t in range(self.n_tiles):
            sl = slice(t * r, (t + 1) * r)
            m = float(np.abs(gp0[sl] - gn0[sl]).mean() / span)   # mean mapped |w| of the tile
            n = gp0[sl].shape[0]
            pair = []
            for g0 in (np.full(n, dev.g_min_s + span * m), np.full(n, dev.g_min_s)):
                s = sig(g0) if sig is not None else 0.0
                pair.append(np.clip(g0 + rng.standard_normal(n) * s, 0.0, None))
            out.append((pair[0], pair[1], np.array([m, 0.0])))
        return out

    def _ref_current(self, temp_c: float, read: str) -> np.ndarray:
        """Each tile's reference read at ``temp_c`` (C), all its rows driven at v_read:
        (I+ - I-) / v_read (S), with the bit lines' IR drop and TIA trim and one draw of
        the read noise (averaged over ``ref_reads``). The trims come from the drop law at
        the programming temperature, the drop of the read from the law of the read
        ("cal": programming, "run": the device's read temperature), so the reference
        tracks the IR drop's temperature change at its own loads (m_t and 0) as well.
        ``read``: "cal" (the calibration
        read, the nominal) or "run" (the run-time read): two independent standard-normal
        draws per chip, each the same at every temperature (only the noise amplitude
        depends on T), so the curves of one chip against temperature share them (common
        random numbers: their differences carry the physics, not a new draw)."""
        rng = np.random.default_rng([self.seed, 0x4EF, {"cal": 1, "run": 2}[read]])
        dev, span = self.dev, self.dev.g_max_s - self.dev.g_min_s
        out = np.empty(self.n_tiles)
        for t, (gp, gn, mapped) in enumerate(self._ref):
            hot = [self.read.g_read_s(g, temp_c) for g in (gp, gn)]
            real = np.clip([(h.mean() - dev.g_min_s) / span for h in hot], 0.0, 1.0)
            d = dev.trim_and_read_drops(mapped, real, read == "cal")
            f = (1.0 - d[1]) / (1.0 - d[0])
            i = f[0] * hot[0].sum() - f[1] * hot[1].sum()
            var = sum(fk ** 2 * float((self.read.read_sigma_s(h, temp_c) ** 2).sum())
                      for fk, h in zip(f, hot))
            var_lf = 0.0        # the TIAs' flicker: the same over the averaged reads
            if dev.tia_noise_a is not None:   # each bit line's TIA, through its trim
                def tia_var(law):
                    i_a = np.asarray(law(mapped, temp_c), dtype=np.float64)
                    return float((((i_a / (1.0 - d[0])) /
                                   dev.read_current_a(self.bit_serial)) ** 2).sum())
                var_lf = 0.0 if dev.tia_noise_lf_a is None else tia_var(dev.tia_noise_lf_a)
                var += tia_var(dev.tia_noise_a) - var_lf
            out[t] = i + np.sqrt(var / self.ref_reads + var_lf) * rng.standard_normal()
        return out

    def _partials(self, drive: np.ndarray):
        if self._var_tiles is None:
            yield from super()._partials(drive)
            return
        r = self.dev.tile_rows
        P, N, _ = drive.shape

        def var(t):                     # sum_i drive_i^2 sigma_i^2 of each column
            d = np.ascontiguousarray(drive[:, :, t * r:(t + 1) * r]).reshape(P * N, -1)
            return ((d * d) @ self._var_tiles[t]).reshape(P, N, -1)
        for t, p in super()._partials(drive):
            v = sum(var(u) for u in range(self.n_tiles)) if self.partial_sums == "analog" \
                else var(t)
            yield t, p + np.sqrt(v) * self._noise.standard_normal(p.shape).astype(np.float32)
