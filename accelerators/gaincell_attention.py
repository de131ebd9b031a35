"""Gain-cell attention's view of the architecture description and of the characterized
cells (Leroux et al.; ../shared/seeds/002_*.md, REFERENCE.md).

Per generated token, K and V rows are written as capacitor voltages into gain-cell
arrays (64x64 tiles, sliding window); the query is applied as pulse widths on the
read word lines; each column integrates the cells' signed currents; a
charge-to-pulse stage acts as a clipped-linear activation in place of softmax; a
second array multiplies the activations (as pulse widths) with V. Stored voltages
relax (leak) over the token timeline.

:class:`GainCellConfig` reads the description's ``gaincell`` and ``readout`` components
and :class:`GainCellParts` holds the characterized figures
(:func:`.hardware.gaincell_parts`); the attention itself, on a real pretrained model,
is :mod:`.gaincell_torch` (the published form, differentiable), run by
:func:`.accuracy.gaincell_run` and :mod:`.finetune`. Its cost is priced from the same
description by :mod:`.mapping` and :mod:`.cost`. (The numpy attention operators and
their training-free statistics adaptation that lived here were retired with the numpy
forward of the byte-level LM, issue 12.)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

V_MID_V = 0.45       # storage range centre (REFERENCE.md: 0-0.9 V centred at 0.45 V)
V_SPAN_V = 0.45      # half range


@dataclass(frozen=True)
class GainCellConfig:
    """The accuracy model's view of the description's ``gaincell`` and ``readout``
    components (:meth:`from_arch`); defaults are REFERENCE.md's published figures."""

    q_bits: int = 4               # REFERENCE.md: Q 4-bit (pulse width)
    kv_bits: int = 3              # K/V 3-bit
    out_bits: int = 5             # outputs 5-bit
    tile: int = 64                # 64x64 arrays
    window: int = 1024            # sliding window (tokens); capped by the model context
    t_token_s: float = 10e-6      # time between generated tokens (assumption)
    write_device: str = "si"      # "si" or "osfet"

    @classmethod
    def from_arch(cls, arch, **kw) -> "GainCellConfig":
        gc, ro = arch.component("gaincell"), arch.component("readout")
        return cls(q_bits=int(gc["q_bits"]), kv_bits=int(gc["kv_bits"]),
                   out_bits=int(ro["out_bits"]), tile=int(gc["tile"]),
                   window=int(gc["window"]), t_token_s=float(gc["t_token_s"]),
                   write_device=str(gc["write_device"]), **kw)


@dataclass
class GainCellParts:
    """Characterized gain-cell figures (SI units)."""

    vs_table_v: np.ndarray        # stored voltage grid
    i_table_a: np.ndarray         # cell read current at the read word-line amplitude
    tau_s: float                  # retention time constant toward V_MID
    v_inf_v: float = V_MID_V      # level a stored voltage relaxes toward
    act_x: np.ndarray = field(default_factory=lambda: np.linspace(0, 1.5, 16))
    act_y: np.ndarray = field(default_factory=lambda: np.clip(np.linspace(0, 1.5, 16), 0, 1))

    def cell_current(self, vs: np.ndarray) -> np.ndarray:
        return np.interp(vs, self.vs_table_v, self.i_table_a)
