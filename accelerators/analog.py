"""Numerical building blocks of analog hardware, shared by the accelerators.

* :class:`AcamQuantizer`: an ACAM row bank used as an analog-to-digital lookup
  (RACE-IT's Compute-ACAM): 2^bits - 1 programmed thresholds, each with a fixed
  per-chip offset drawn from the characterized mismatch sigma.
* :class:`CrossbarLinear`: a weight matrix programmed as differential memristor
  conductances, read with voltage inputs through the device's sinh law, with
  programming variability and IR-drop attenuation per tile.

Everything is vectorized numpy; randomness is seeded per operator name so a
"chip" is reproducible.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from .ir_profile import (as_columns, from_columns, mapped_conductances, tile_blocks,
                         tile_loads, tile_rows_of)
from .plane_schedule import PlaneSchedule, scheduled
from .weight_scale import normalized_weights, row_scale


def seed_for(name: str, seed: int = 0) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:4], "little")


def quantize_uniform(x: np.ndarray, bits: int, lo: float, hi: float) -> np.ndarray:
    """Ideal uniform quantizer to 2^bits levels over [lo, hi] (mid-rise, clipped)."""
    n = 2 ** bits
    step = (hi - lo) / n
    code = np.clip(np.floor((x - lo) / step), 0, n - 1)
    return lo + (code + 0.5) * step


def quantize_symmetric(x: np.ndarray, bits: int, x_max: float) -> np.ndarray:
    """Signed mid-tread quantizer: sign + (bits-1)-bit magnitude, zero included
    (a pulse-width input with a sign phase)."""
    n = 2 ** (bits - 1) - 1
    return np.round(np.clip(x / x_max, -1, 1) * n) / n * x_max


def quantize_pulse(a: np.ndarray, bits: int) -> np.ndarray:
    """Unsigned pulse width in [0, 1] with 2^bits levels including zero (no pulse)."""
    n = 2 ** bits - 1
    return np.round(np.clip(a, 0, 1) * n) / n


@dataclass
class AcamQuantizer:
    """Input range [lo, hi] split by 2^bits - 1 thresholds; threshold k sits at its ideal
    place plus a fixed offset ~ N(0, sigma_rel * (hi - lo)). ``sigma_rel`` is the ACAM
    threshold mismatch sigma divided by the ACAM's analog input window (V/V)."""

    bits: int
    lo: float
    hi: float
    sigma_rel: float = 0.0
    seed: int = 0

    def __post_init__(self):
        n = 2 ** self.bits
        step = (self.hi - self.lo) / n
        ideal = self.lo + step * np.arange(1, n)
        rng = np.random.default_rng(self.seed)
        off = rng.normal(0.0, self.sigma_rel * (self.hi - self.lo), size=ideal.shape)
        self.thresholds = np.sort(ideal + off)
        self.levels = self.lo + (np.arange(n) + 0.5) * step
        bins = 64 * n
        self._inv_bin = bins / (self.hi - self.lo)
        centers = self.lo + (np.arange(bins) + 0.5) / self._inv_bin
        self._lut = np.searchsorted(self.thresholds, centers, side="right").astype(np.int16)

    def code(self, x: np.ndarray) -> np.ndarray:
        """Index of the matching row (number of thresholds at or below x), read from a
        table over a grid 64x finer than the output step: exact except within 1/64 step
        of a threshold, far below the thresholds' own mismatch, and several times faster
        than a search over the thresholds."""
        i = np.floor((x - self.lo) * self._inv_bin).astype(np.int32)
        return self._lut[np.clip(i, 0, len(self._lut) - 1)]
    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Quantized value (the level of the matching row)."""
        return self.levels[self.code(x)]

    def lookup(self, x: np.ndarray, func) -> np.ndarray:
        """Compute-ACAM: ``func`` evaluated at the quantized input level."""
        return func(self.levels)[self.code(x)]


#: the characterized non-idealities an accuracy run can switch (see :class:`Nonideal`)
NONIDEALITIES = ("ir_drop", "programming_noise", "acam_mismatch", "tia_noise")


@dataclass(frozen=True)
class Nonideal:
    """Which non-idealities a hardware model applies. ``ir_drop``, ``programming_noise``,
    ``acam_mismatch`` and ``tia_noise`` (the bit-line TIA's own noise on every read,
    recipe tia-noise) scale the characterized figure (1 = as characterized, 0 = off);
    ``quantization`` switches every DAC, converter and lookup resolution (off: exact
    values). ACAM mismatch moves quantizer thresholds, so it acts only with quantization
    on."""

    ir_drop: float = 1.0
    programming_noise: float = 1.0
    acam_mismatch: float = 1.0
    quantization: bool = True
    tia_noise: float = 1.0

    @classmethod
    def scaled(cls, k: float) -> "Nonideal":
        """Every characterized non-ideality x ``k``, quantization on (k = 0: quantization
        only)."""
        return cls(k, k, k, True, k)

    @classmethod
    def only(cls, names, quantization: bool = False) -> "Nonideal":
        """The named non-idealities at their characterized strength, the others off."""
        names = set(names)
        bad = names - set(NONIDEALITIES) - {"quantization"}
        if bad:
            raise ValueError(f"unknown non-ideality {sorted(bad)}; known: "
                             f"{', '.join(NONIDEALITIES + ('quantization',))}")
        return cls(**{n: float(n in names) for n in NONIDEALITIES},
                   quantization=quantization or "quantization" in names)


@dataclass
class CrossbarDevice:
    """What a crossbar tile needs from the characterized models (units in names).

    ``ir_drop_rel(load)``: relative current loss of a column whose mean conductance is
    ``g_min + load·(g_max - g_min)`` (load in [0, 1], the characterized ON fraction), at
    the tile's rows and wire resistance, at the temperature the tile is read at. The
    periphery trims each bit line's gain at the load the compiler mapped onto it
    (:class:`CrossbarLinear`), so what remains is the drop's change with the load the
    programming actually left. ``ir_drop_cal_rel(load)``: the same law at the
    programming temperature, where the trims are set and the calibration reads happen
    (HeTraX's ``t_program_c``); None: trimmed at the read temperature (the same law).
    ``ir_profile``: how a bit line's loss is shared by its cells (:meth:`read_factors`).
    ``tia_noise_a(load, temp_c=None)``: the noise one read of a bit line at ``load`` adds
    at its TIA's input (A rms; recipe tia-noise), at ``temp_c`` (None: the tile's read
    temperature); None: a noiseless amplifier.
    """

    g_min_s: float
    g_max_s: float
    v_read_v: float
    v0_v: float                 # sinh non-linearity voltage of the memristor read
    tile_rows: int
    ir_drop_rel: object         # callable load -> relative loss
    g_sigma_s: object = None    # callable g -> programming sigma (S), or None
    ir_drop_cal_rel: object = None  # callable load -> loss at programming T, or None
    ir_profile: str = "column"  # how a bit line's loss is shared by its cells (.ir_profile)
    r_bl_ohm: float = 0.0       # the bit line's wire per row (the "ladder" profile's)
    r_access_ohm: float = 0.0   # each cell's access transistor in series, at the read T
    r_access_cal_ohm: float | None = None   # the same at the programming T (None: same)
    tia_noise_a: object = None  # callable (load, temp_c=None) -> A rms per read, or None
    # the part of it below 1 MHz (flicker: the tia-noise model's i_noise_lf_a), which
    # moves little over one input's bit-serial read (P planes x ~30 ns): every plane of
    # the read carries the same draw of it; None: all of the noise drawn anew per plane
    tia_noise_lf_a: object = None

    def read_current_a(self, bit_serial: bool) -> float:
        """A cell's current (A) per siemens at one unit of drive: a binary or ternary
        plane drives v_read through the sinh law, v0 sinh(v_read / v0); a multi-level
        drive is normalized to v_read (CrossbarLinear._planes)."""
        if bit_serial:
            return self.v0_v * float(np.sinh(self.v_read_v / self.v0_v))
        return self.v_read_v

    def access_ohm(self, at_program: bool) -> float:
        """The access transistor (ohm) at the programming or the read temperature."""
        return self.r_access_cal_ohm if at_program and self.r_access_cal_ohm is not None \
            else self.r_access_ohm

    def read_factors(self, g_s: np.ndarray, loss_col, at_program: bool = False) -> np.ndarray:
        """Factor on the conductances ``g_s`` (rows, out) of one tile's bit lines read
        with relative losses ``loss_col`` (out,): the same for every cell (``"column"``)
        or shared by each cell's access transistor and position along the wire
        (``"ladder"``, ``"compensated"``: :mod:`.ir_profile`), with the transistor at
        the programming temperature (``at_program``) or the read temperature."""
        r_acc = self.access_ohm(at_program)
        if self.ir_profile in ("ladder", "compensated") and (self.r_bl_ohm > 0 or r_acc > 0):
            from .ir_profile import row_factors
            return row_factors(g_s, loss_col, self.r_bl_ohm, r_acc)
        return (1.0 - np.asarray(loss_col, dtype=np.float64))[None, :]

    def tile_read_factors(self, g_s: np.ndarray, loss_tiles: np.ndarray,
                          at_program: bool = False) -> np.ndarray:
        """(rows, out) :meth:`read_factors` of every row tile of ``g_s`` (rows, out; S),
        tile ``t`` read with the losses ``loss_tiles[t]`` (tiles, out)."""
        f = np.empty(g_s.shape, dtype=np.float64)
        for first, stop, rows in tile_blocks(g_s.shape[0], self.tile_rows):
            t0, nt = first // self.tile_rows, (stop - first) // rows
            cols = as_columns(g_s[first:stop], rows)
            fc = self.read_factors(cols, np.ravel(loss_tiles[t0:t0 + nt]), at_program)
            f[first:stop] = from_columns(np.broadcast_to(fc, cols.shape), g_s.shape[1])
        return f

    def drop_law(self, at_program: bool):
        """The IR-drop law at the programming temperature (``at_program``: trims and
        calibration reads) or at the read temperature."""
        return self.ir_drop_cal_rel if at_program and self.ir_drop_cal_rel is not None \
            else self.ir_drop_rel

    def trim_and_read_drops(self, mapped, real, read_at_program: bool = False) -> np.ndarray:
        """(2, *shape) relative IR drops of bit lines: [0] at their ``mapped`` loads by
        the law their TIA gains are trimmed with (the programming temperature's), [1] at
        the loads ``real`` they present when read, by the law at the read temperature (at
        the programming temperature with ``read_at_program``: a calibration read). One
        law for both where the tile is trimmed where it is read (RACE-IT)."""
        return np.stack([np.broadcast_to(np.asarray(self.drop_law(p)(x), dtype=np.float64),
                                         np.shape(x))
                         for p, x in ((True, mapped), (read_at_program, real))])


class CrossbarLinear:
    """``y = x @ W.T`` computed the way a differential 1T1R crossbar tile array does it.

    W (out, in) is scaled to [-1, 1] per matrix, output column or row tile's column
    (``w_scale``: :func:`normalized_weights`; the scale restored with each tile column's
    converter range) and mapped to G+ / G- in [g_min, g_max]; programming variability
    is drawn once, at construction (a fixed chip). Each bit line of each ``tile_rows``
    tile loses ``ir_drop_rel(load)`` of its current at its programmed load; its TIA gain
    is trimmed by ``1 / (1 - ir_drop_rel(load_mapped))`` at the load of the mapped (target)
    conductances, which the compiler knows (``gain_trim``, per tile and bit line), from
    the law at the programming temperature (``dev.ir_drop_cal_rel`` where set: a tile
    read hotter keeps the trims of the cold drop).

    Inputs, as the description's DAC drives them (the same counts the cost prices):

    * ``bit_serial``: the input is an ``in_bits`` two's-complement code; each bit plane
      is one binary read (0 or ``v_read``), so the memristor's sinh law is a constant
      gain on every plane (calibrated out); the MSB plane counts negative. With
      ``sign_magnitude`` the code is sign and ``in_bits - 1`` magnitude bits, each plane
      a ternary read (-v_read, 0 or +v_read: the odd sinh law keeps one gain).
      ``schedule`` (:class:`.plane_schedule.PlaneSchedule`, sign-magnitude only) sets
      each plane's polarity per converter group and input, and skips empty planes.
    * multi-level: one read at ``u·v_read`` through the device law g·v0·sinh(v/v0).
    * ``in_bits=None``: ideal drive (no DAC quantization or clipping; quantization off).

    Converters: each row tile's column output (``partial_sums="digital"``), or the sum
    over the row tiles (``"analog"``), is converted per plane to ``out_bits`` over a
    per-(tile, column) range calibrated on the hardware path (:meth:`calibrate`); the
    codes are added digitally (shift-add of planes, sum of tiles). ``quantizer(bits,
    seed)`` builds the converter's transfer (an ACAM with threshold mismatch, or an
    ideal ADC); None leaves the outputs unconverted (calibration and ideal checks).
    With ``converters_per_tile`` (and ``tile_cols``), each tile's columns share that
    many converters, each its own mismatch draw (``quantizer(bits, seed, n)`` builds
    all ``n`` of the matrix: :class:`.converters.ConverterBank`).
    """

    def __init__(self, w: np.ndarray, dev: CrossbarDevice, in_bits: int | None, x_max,
                 seed: int, w_clip_pct: float = 100.0, outlier_factor: float | None = 6.0,
                 *, bit_serial: bool = False, out_bits: int | None = None,
                 partial_sums: str = "digital", quantizer=None, w_scale: str = "matrix",
                 tile_cols: int | None = None, converters_per_tile: int | None = None,
                 sign_magnitude: bool = False, range_pct: float = 99.99,
                 schedule: PlaneSchedule | None = None):
        self.dev, self.in_bits = dev, in_bits
        self.sign_magnitude = bool(sign_magnitude)
        if schedule is not None and not (bit_serial and sign_magnitude):
            raise ValueError("a plane schedule needs bit-serial sign-magnitude planes")
        # which planes are read and with which polarity (.plane_schedule); an ideal
        # drive (in_bits None) reads one exact plane
        self.schedule = schedule if in_bits is not None else None
        self.range_pct = float(range_pct)     # the converters' calibration percentile
        self.bit_serial, self.out_bits, self.partial_sums = bit_serial, out_bits, partial_sums
        # x_max per input channel (calibration maxima). Channels whose range exceeds
        # ``outlier_factor`` x the median are computed digitally (mixed-precision
        # decomposition, Dettmers et al., LLM.int8(), 2022; priced as outlier MACs): a
        # few outlier features would otherwise set the DAC full scale for every row.
        x_max = np.broadcast_to(np.asarray(x_max, dtype=np.float64), (w.shape[1],))
        self.digital = outlier_channels(x_max, outlier_factor)
        self.w_digital = w[:, self.digital].T.astype(np.float32)
        self.x_max = float(x_max[~self.digital].max())
        wn, self.w_max = normalized_weights(w[:, ~self.digital] * self.x_max, w_scale,
                                            w_clip_pct, dev.tile_rows)  # rows: word lines
        span = dev.g_max_s - dev.g_min_s
        self.n_tiles = int(np.ceil(wn.shape[0] / dev.tile_rows))
        # mapped (target) conductances, their loads (2, tile, out) and the TIA gain that
        # restores a span the compensated mapping cut (tile, out)
        gp0, gn0, self.loads, self.span_gain = mapped_conductances(wn, dev)
        gp, gn = gp0.copy(), gn0.copy()
        if dev.g_sigma_s is not None:
            rng = np.random.default_rng(seed)
            gp = np.clip(gp + rng.standard_normal(gp.shape) * dev.g_sigma_s(gp), 0.0, None)
            gn = np.clip(gn + rng.standard_normal(gn.shape) * dev.g_sigma_s(gn), 0.0, None)
        # per tile and bit line: the drop at the programmed load, the TIA gain trimmed at
        # the mapped load (loads: (tile, out) each for G+ and G-)
        real = np.stack([tile_loads(gp, dev), tile_loads(gn, dev)])  # as programmed
        # trimmed at the programming temperature, read at the tile's
        d = dev.trim_and_read_drops(self.loads, real)
        self.gain_trim = self.span_gain[None] / (1.0 - d[0])
        for k, g in enumerate((gp, gn)):
            g *= dev.tile_read_factors(g, d[1, k]) * tile_rows_of(self.gain_trim[k],
                                                                  dev.tile_rows, len(g))
        # y = I / (span · v_read) · w_max, with I = sum_i g_i · drive(x_i / x_max · v_read)
        scale = row_scale(self.w_max, dev.tile_rows, wn.shape[0]) / span
        self.w_eff = np.ascontiguousarray(((gp - gn) * scale).T, dtype=np.float32)
        r = dev.tile_rows  # (in_t, out) per row tile, contiguous for the products
        self._w_tiles = [np.ascontiguousarray(self.w_eff[:, t * r:(t + 1) * r].T)
                         for t in range(self.n_tiles)]
        # the bit-line TIAs' own noise on each converted read (groups, out), or None
        self._tia_rng = np.random.default_rng([int(seed), 0x71A])
        self.col_sigma, self.col_sigma_lf = self.tia_sigma(), self.tia_sigma(lf=True)
        self.ranges: np.ndarray | None = None       # (tiles or 1, out) converter ranges
        self.n_calibrated = 0                       # calibration batches folded into them
        # converters: one per matrix (``quantizer(bits, seed)``), or ``converters_per_tile``
        # per tile of ``tile_cols`` columns, each with its own mismatch draw
        # (``quantizer(bits, seed, n)`` -> a .converters.ConverterBank; ``self.conv``:
        # (groups, out) the converter each group's column is read by)
        self.conv = None
        if quantizer and out_bits and converters_per_tile:
            from .converters import converter_index
            groups = 1 if partial_sums == "analog" else self.n_tiles
            self.conv = converter_index(groups, w.shape[0], int(tile_cols or w.shape[0]),
                                        int(converters_per_tile))
            self.q = quantizer(out_bits, seed + 1, int(self.conv.max()) + 1)
        else:
            self.q = quantizer(out_bits, seed + 1) if (quantizer and out_bits) else None

    def tia_sigma(self, temp_c: float | None = None, tile_gain: np.ndarray | None = None,
                  lf: bool = False) -> np.ndarray | None:
        """(groups, out): rms of the noise the bit-line TIAs add to each converted read,
        in the column output's units (weight x drive), read at ``temp_c`` (C; None: the
        device's read temperature), each tile's through ``tile_gain`` (tiles,; None: 1);
        None without a TIA noise model. Each bit line of a pair adds its TIA's input noise
        (A) at its mapped load, through its gain trim; a current I is the output
        I / (span x read current) x w_max. With analog partial sums every tile's TIA
        noise reaches the one conversion. ``lf``: only its part below 1 MHz (None
        without a model of it)."""
        f = self.dev.tia_noise_lf_a if lf else self.dev.tia_noise_a
        if f is None:
            return None
        span = self.dev.g_max_s - self.dev.g_min_s
        i_a = np.asarray(f(self.loads, temp_c), dtype=np.float64)     # (2, tiles, out)
        unit = self.w_max / (span * self.dev.read_current_a(self.bit_serial))
        var = ((self.gain_trim * i_a) ** 2).sum(axis=0) * unit ** 2
        if tile_gain is not None:
            var = var * np.asarray(tile_gain, dtype=np.float64)[:, None] ** 2
        if self.partial_sums == "analog":
            var = var.sum(axis=0, keepdims=True)
        return np.sqrt(var).astype(np.float32)

    def _tia_read(self, g: int, p: np.ndarray) -> np.ndarray:
        """Column outputs ``p`` (P, rows, out) of converter group ``g`` with the TIAs'
        noise: above 1 MHz one draw per plane read, row and column; below it the
        planes' flicker, correlated as :meth:`lf_mix` says (without a plane period one
        draw per row and column that every plane of the row's read carries)."""
        if self.col_sigma is None:
            return p
        hf, lf = tia_parts(self.col_sigma, self.col_sigma_lf)
        z = self._tia_rng.standard_normal(p.shape).astype(np.float32)
        p = p + hf[g] * z
        if lf is not None:      # K draws per row and column, mixed over the P planes
            mix = self.lf_mix(p.shape[0])
            z = self._tia_rng.standard_normal((mix.shape[1], *p.shape[1:])).astype(np.float32)
            p = p + lf[g] * np.tensordot(mix, z, axes=(1, 0))
        return p

    def lf_mix(self, n_planes: int) -> np.ndarray:
        """(P, K): how the P planes of a read share the TIAs' flicker
        (:meth:`.plane_schedule.PlaneSchedule.lf_mix`; no schedule: one shared draw)."""
        return (self.schedule or PlaneSchedule()).lf_mix(n_planes)

    def _scheduled_planes(self, x: np.ndarray):
        """(plane weights, drives with the schedule's polarities, multipliers (P, rows,
        groups) or None): :meth:`_planes` through the plane schedule."""
        weights, d = self._planes(x)
        return scheduled(self.schedule, weights, d, self.dev.tile_rows,
                         1 if self.partial_sums == "analog" else self.n_tiles)

    def _planes(self, x: np.ndarray):
        """(plane weights (P,), normalized drives (P, rows, in)): one read per plane,
        drive in units of v_read; ``x`` flattened to (rows, in)."""
        xa = x.reshape(-1, x.shape[-1])[:, ~self.digital] / self.x_max
        if self.in_bits is None:                 # ideal DAC: exact drive, no clipping
            if self.bit_serial:                  # binary reads: the law is a constant gain
                return np.ones(1), xa[None].astype(np.float32)
            v = xa * self.dev.v_read_v
            d = self.dev.v0_v * np.sinh(v / self.dev.v0_v) / self.dev.v_read_v
            return np.ones(1), d[None].astype(np.float32)
        xa = np.clip(xa, -1.0, 1.0)
        if not self.bit_serial:
            v = quantize_uniform(xa, self.in_bits, -1.0, 1.0) * self.dev.v_read_v
            d = self.dev.v0_v * np.sinh(v / self.dev.v0_v) / self.dev.v_read_v
            return np.ones(1), d[None].astype(np.float32)
        full = 2 ** (self.in_bits - 1) - 1
        if self.sign_magnitude:      # +-1 on the rows whose magnitude has bit b set
            code = np.clip(np.round(xa * full), -full, full).astype(np.int64)
            mag = np.abs(code)
            bits = np.stack([np.sign(code) * ((mag >> b) & 1)
                             for b in range(self.in_bits - 1)]).astype(np.float32)
            return 2.0 ** np.arange(self.in_bits - 1) / full, bits
        code = np.clip(np.round(xa * full), -full - 1, full).astype(np.int64)
        code = np.where(code < 0, code + 2 ** self.in_bits, code)   # two's complement
        bits = np.stack([(code >> b) & 1 for b in range(self.in_bits)]).astype(np.float32)
        weights = 2.0 ** np.arange(self.in_bits) / full
        weights[-1] = -weights[-1]                                  # the MSB counts negative
        return weights, bits

    def _partials(self, drive: np.ndarray):
        """Column outputs (P, rows, out) of each converter group, one at a time (memory
        bounded by one tile): each row tile, or their analog sum."""
        r = self.dev.tile_rows
        P, N, _ = drive.shape

        def tile(t):
            d = np.ascontiguousarray(drive[:, :, t * r:(t + 1) * r]).reshape(P * N, -1)
            return (d @ self._w_tiles[t]).reshape(P, N, -1)
        if self.partial_sums == "analog":
            yield 0, self._tia_read(0, sum(tile(t) for t in range(self.n_tiles)))
        else:
            for t in range(self.n_tiles):
                yield t, self._tia_read(t, tile(t))

    def calibrate(self, x: np.ndarray, pct: float | None = None) -> None:
        """Set each converter's range from the hardware path's own outputs on a
        calibration batch: per tile and column, the ``pct`` percentile (default the
        crossbar's ``range_pct``) of |output| over the reads made (all planes and rows,
        less the planes a schedule skips); over several batches, the mean of theirs
        (:class:`.range_recorder.RangeRecorder`)."""
        pct = self.range_pct if pct is None else pct
        _, d, s = self._scheduled_planes(x)
        m = np.stack([np.percentile(np.abs(read_values(p, s, t)), pct, axis=0)
                      for t, p in self._partials(d)])
        self.n_calibrated += 1
        self.ranges = running_mean(self.ranges, np.maximum(m, 1e-12).astype(np.float32),
                                   self.n_calibrated)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        weights, d, s = self._scheduled_planes(x)
        w = weights.astype(np.float32)
        y = 0.0
        for t, p in self._partials(d):                      # p: (P, rows, out)
            if self.q is not None:
                if self.ranges is None:
                    raise RuntimeError("CrossbarLinear: calibrate() before converting")
                R = self.ranges[t]

                def codes(v):
                    v = np.clip(v / R, -1.0, 1.0)
                    return (self.q(v) if self.conv is None else self.q(v, self.conv[t])) * R
                if s is None:
                    p = codes(p)
                else:                            # the skipped reads' codes stay 0
                    sel, c = s[:, :, t] != 0, np.zeros_like(p)
                    if sel.any():
                        c[sel] = codes(p[sel][None])[0]
                    p = c
            if s is not None:                    # each plane's code times its polarity
                p = p * s[:, :, t, None]
            y = y + np.tensordot(w, p, axes=(0, 0))          # shift-add of the planes
        y = np.asarray(y, dtype=np.float32).reshape(*x.shape[:-1], -1)
        if self.w_digital.size:
            y = y + x[..., self.digital] @ self.w_digital
        return y


def read_values(p, m, g: int):
    """The values of group ``g``'s column outputs ``p`` (P, N, out) that are read and
    converted, (reads, out): all of them, or with multipliers ``m`` (P, N, groups) the
    planes not skipped (all, should a batch drive none of the group's rows)."""
    if m is None:
        return p.reshape(-1, p.shape[-1])
    sel = m[:, :, g] != 0
    return p[sel] if sel.any() else p.reshape(-1, p.shape[-1])


def tia_parts(sigma, sigma_lf):
    """(the rms drawn anew per plane read, the rms every plane of a read shares) of the
    TIAs' noise ``sigma`` whose part below 1 MHz is ``sigma_lf`` (None: all per plane)."""
    if sigma_lf is None:
        return sigma, None
    return (sigma ** 2 - sigma_lf ** 2).clip(min=0) ** 0.5, sigma_lf


def outlier_channels(x_max: np.ndarray, factor: float | None) -> np.ndarray:
    """Input channels computed digitally: calibration range above ``factor`` x the
    median range (None: none)."""
    x_max = np.asarray(x_max, dtype=np.float64)
    if not factor:
        return np.zeros(x_max.shape, bool)
    return x_max > factor * float(np.median(x_max))


def uniform_quantizer(bits: int, seed: int = 0):
    """An ideal ``bits`` converter over [-1, 1] (ADC)."""
    return lambda v: quantize_uniform(v, bits, -1.0, 1.0)


def running_mean(mean, value, n: int):
    """The mean of ``n`` values (``n`` >= 1) from the mean of the first ``n - 1`` and the
    ``n``-th (scalars or arrays): how every calibration range folds its batches."""
    return value if n == 1 or mean is None else mean + (value - mean) / n
