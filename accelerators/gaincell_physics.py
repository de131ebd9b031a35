"""The machine a gain-cell attention layer simulates, as tables (SI units).

:class:`GainCellPhysics` holds what :class:`.gaincell_torch.GainCellAttention` reads
from the characterized model files and ``data/arch/gaincell.toml``: the cell current at
the 0.9 V read word line (``gaincell-mac``), the stored voltage of a level ``age``
tokens after it was written (``gaincell-retention-<device>``: write kick-back and
level-dependent relaxation toward ``v_inf``; :func:`retention_table`), and the
charge-to-pulse readout with its saturation charge ``q_sat`` (``gaincell-readout``);
``i_unit = q_sat / t_pulse_max`` is the current that fills q_sat in one 15 ns pulse
(REFERENCE.md). The *linear* hardware model (stage 1 of the published pipeline) replaces
the cell current by its straight line through the storage centre, ``g·(V - 0.45 V)``;
:meth:`GainCellPhysics.scaled` multiplies the cells' deviations (current from that line,
stored voltage from the written level) by k for the report's non-ideality sweep.
No torch here: the module turns these tables into tensors.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

V_MID_V = 0.45        # storage range centre (REFERENCE.md: 0-0.9 V centred at 0.45 V)
V_MAX_V = 0.9         # storage range top
T_PULSE_MAX_S = 15e-9  # REFERENCE.md: query pulse amplitude 0.9 V, max 15 ns


@dataclass(frozen=True)
class GainCellPhysics:
    """The machine the module simulates (SI units). Build it with :meth:`from_arch`."""

    vs_grid_v: tuple           # uniform stored-voltage grid of the current table
    i_cell_a: tuple            # characterized cell current at the read word line (A)
    tau_s: float               # retention time constant of the write device
    v_inf_v: float             # level the stored voltage relaxes toward
    q_sat_c: float             # readout saturation charge
    act_x: tuple               # readout transfer: input charge / q_sat ...
    act_y: tuple               # ... -> output pulse / maximum pulse
    t_token_s: float = 10e-6
    window: int = 1024
    tile: int = 64
    q_bits: int = 4
    kv_bits: int = 3
    out_bits: int = 5
    linear: bool = False       # True: the linear hardware model (straight-line cells)
    nonideality_scale: float = 1.0  # k: cell-current and stored-voltage deviations x k
    stored_v: tuple | None = None  # [age][level] stored voltage (retention model), or
                                   # None: v_inf + (level - v_inf)·exp(-age·t_token/τ)
    source: str = ""
    quantizers: bool = True    # diagnostic (:meth:`unquantized`), never priced
    tile_clip: bool = True     # diagnostic: the ±1 clamp of each tile output

    def __post_init__(self):
        if self.quantizers and not self.tile_clip:
            raise ValueError("tile_clip=False needs quantizers=False (a quantizer clamps)")

    @classmethod
    def from_arch(cls, arch=None, hw=None, **kw) -> "GainCellPhysics":
        """From ``data/arch/gaincell.toml`` (``arch``: name or Architecture) and the
        characterized model files (``hw``: :class:`~.hardware.HardwareModels`, default
        the shipped SKY130 models at the description's corner and temperature)."""
        from . import arch as arch_mod
        from .gaincell_attention import GainCellConfig
        from .hardware import HardwareModels, _scalar, gaincell_parts
        a = arch_mod.load(arch or "gaincell") if isinstance(arch, (str, type(None))) else arch
        hw = hw or HardwareModels.from_dir(corner=a.corner, temp_c=a.temp_c)
        cfg = GainCellConfig.from_arch(a)
        p = gaincell_parts(hw, cfg)
        ro = hw.need("gaincell-readout")
        q_sat = _scalar(ro.evaluate("q_sat_c", corner=hw.corner))
        stored = retention_table(hw, cfg.write_device, cfg.window, cfg.t_token_s, cfg.kv_bits)
        return cls(stored_v=tuple(map(tuple, stored)),vs_grid_v=tuple(map(float, p.vs_table_v)),
                   i_cell_a=tuple(map(float, p.i_table_a)), tau_s=float(p.tau_s),
                   v_inf_v=float(p.v_inf_v), q_sat_c=float(q_sat),
                   act_x=tuple(map(float, p.act_x)), act_y=tuple(map(float, p.act_y)),
                   t_token_s=cfg.t_token_s, window=cfg.window, tile=cfg.tile,
                   q_bits=cfg.q_bits, kv_bits=cfg.kv_bits, out_bits=cfg.out_bits,
                   source=f"gaincell-mac, gaincell-retention-{cfg.write_device}, "
                          f"gaincell-readout at {a.corner}, {a.temp_c:g} C; {a.name}.toml",
                   **kw)

    def as_linear(self) -> "GainCellPhysics":
        return replace(self, linear=True)

    def unquantized(self, tile_clip: bool = True) -> "GainCellPhysics":
        """Diagnostic, not the machine (cost reads GainCellConfig, not this): Q, K/V,
        scores and tile outputs unrounded, clamps kept; ``tile_clip`` False also drops
        each tile output's ±1 clamp (docs/gpu.md, "Can the attention form learn")."""
        return replace(self, quantizers=False, tile_clip=tile_clip)

    def scaled(self, k: float) -> "GainCellPhysics":
        """The machine with its cell non-idealities multiplied by ``k`` >= 0 (the
        report's sweep): the cell current's deviation from its straight line and the
        stored voltage's deviation from the written level (write kick-back and
        leakage over the window) both x k. 0: linear cells that hold their level;
        1: the characterized machine. Bits, tiles and readout are unchanged."""
        if not k >= 0.0:
            raise ValueError(f"non-ideality scale must be >= 0, not {k}")
        return replace(self, nonideality_scale=float(k))

    @property
    def i_unit_a(self) -> float:
        """Current that fills q_sat in one maximum pulse."""
        return self.q_sat_c / T_PULSE_MAX_S

    def current_table(self) -> np.ndarray:
        """I(V)/i_unit on the grid: characterized, or its straight line (linear model)."""
        v, i = np.asarray(self.vs_grid_v), np.asarray(self.i_cell_a)
        g = (np.interp(V_MAX_V, v, i) - np.interp(0.0, v, i)) / V_MAX_V
        line = g * (v - V_MID_V)
        k = 0.0 if self.linear else self.nonideality_scale
        return (i if k == 1.0 else line + k * (i - line)) / self.i_unit_a

    def levels_v(self) -> np.ndarray:
        """Written voltages of the 2^kv_bits levels (zero-anchored grid on 0..0.9 V)."""
        return np.linspace(0.0, V_MAX_V, 2 ** self.kv_bits)

    def decay(self, age_tokens) -> np.ndarray:
        """exp(-age·t_token/τ): the exponential form with the median characterized τ."""
        return np.exp(-np.asarray(age_tokens, dtype=np.float64) * self.t_token_s / self.tau_s)

    def stored_table(self) -> np.ndarray:
        """(window, levels) stored voltage of a cell written ``age`` tokens ago."""
        lv = self.levels_v()[None, :]
        if self.stored_v is not None:
            st = np.asarray(self.stored_v, dtype=np.float64)
        else:
            st = self.v_inf_v + (lv - self.v_inf_v) * self.decay(np.arange(self.window))[:, None]
        k = self.nonideality_scale
        return st if k == 1.0 else lv + k * (st - lv)

    def read_table(self) -> np.ndarray:
        """(window, levels) cell read current / i_unit of each level at each age."""
        v, i = np.asarray(self.vs_grid_v), self.current_table()
        return np.interp(self.stored_table(), v, i)


def retention_table(hw, write_device: str, window: int, t_token_s: float,
                    kv_bits: int) -> np.ndarray:
    """Stored voltage [age, level] from the characterized retention model's v_sn_v(v0, t)
    (write kick-back at t -> 0 and level-dependent leakage included), at the models'
    temperature; t = age·t_token_s, clipped to the model's valid time range."""
    import warnings

    from .hardware import _centered, _clip_to
    ret = hw.need("gaincell-retention", write_device=write_device)
    lv = np.linspace(0.0, V_MAX_V, 2 ** kv_bits)
    lo, hi = ret.valid_range["t_s"]
    t = np.clip(np.arange(window) * t_token_s, lo, hi)
    tt, vv = np.meshgrid(t, lv, indexing="ij")
    kw = {"temp_c": _clip_to(ret, "temp_c", hw.temp_c)} if "temp_c" in ret.valid_range else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = ret.evaluate("v_sn_v", corner=hw.corner,
                           **_centered(ret, "v_sn_v", v0_v=vv.ravel(), t_s=tt.ravel(), **kw))
    return np.asarray(out, dtype=np.float64).reshape(window, len(lv))
