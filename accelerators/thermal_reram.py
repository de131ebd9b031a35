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
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..models.memristor import T_REF_C, read_sigma_s
from .analog import CrossbarLinear


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
    gain trims stay those of the mapped loads at programming; the IR drop follows the
    load the hot cells present; the converter ranges are whatever :meth:`calibrate` saw.
    Read noise is drawn per read (per plane, row and column) from its own generator."""

    def __init__(self, w, dev, in_bits, x_max, seed, *args, read: ReramRead, **kw):
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
        self.temp_c = None
        w_parent = self.w_eff
        self.at(T_REF_C, _ideal_read=True)
        if not np.allclose(self.w_eff, w_parent, rtol=1e-5, atol=1e-6 * float(
                np.abs(w_parent).max() or 1.0)):
            raise RuntimeError("ThermalCrossbarLinear: recovered conductances do not "
                               "reproduce CrossbarLinear's programming (analog.py changed?)")
        self.at(T_REF_C)

    def at(self, temp_c: float, *, _ideal_read: bool = False) -> "ThermalCrossbarLinear":
        """Read the programmed cells at ``temp_c`` (C) from now on."""
        temp_c = float(temp_c)
        if temp_c == self.temp_c and not _ideal_read:
            return self
        dev, span = self.dev, self.dev.g_max_s - self.dev.g_min_s
        r = dev.tile_rows
        tiles = [slice(t * r, (t + 1) * r) for t in range(self.n_tiles)]
        if _ideal_read:
            hot = [g.copy() for g in self._g]
        else:
            hot = [self.read.g_read_s(g, temp_c) for g in self._g]

        def load(g):
            return np.stack([(g[sl].mean(axis=0) - dev.g_min_s) / span for sl in tiles])
        real = np.clip(np.stack([load(g) for g in hot]), 0.0, 1.0)
        d = np.broadcast_to(np.asarray(dev.ir_drop_rel(real), dtype=np.float64), real.shape)
        for k, g in enumerate(hot):
            for t, sl in enumerate(tiles):
                g[sl] *= (1.0 - d[k, t]) * self.gain_trim[k, t]
        gp, gn = hot
        scale = self.w_max[None, :] / span
        self.w_eff = np.ascontiguousarray(((gp - gn) * scale).T, dtype=np.float32)
        self._w_tiles = [np.ascontiguousarray(self.w_eff[:, sl].T) for sl in tiles]
        self._var_tiles = None
        if not _ideal_read and self.read.k > 0:
            var = sum((self.read.read_sigma_s(g, temp_c) * scale) ** 2 for g in hot)
            self._var_tiles = [np.ascontiguousarray(var[sl], dtype=np.float32)
                               for sl in tiles]
        self.temp_c = None if _ideal_read else temp_c
        return self

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
