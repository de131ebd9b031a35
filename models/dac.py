"""Crossbar input DAC models (from the ``dac`` and ``dac-multilevel`` recipes, SKY130).

``dac`` (bit-serial word-line driver, circuits/dac.py): ``e_drive_j`` (energy of one
'1' bit: the row line driven to ``v_wl_v`` and back, from VDD and the word-line rail),
``e_rail_j``, ``e_vdd_j`` and ``t_settle_s`` over ``n_cells`` (row length; the driver is
re-sized for each) and ``v_wl_v``. Lookup tables of log(value) over log(n_cells) and the
other swept settings (characterize/fitters/dac.py), held-out error recorded; outside the
swept box :meth:`BehavioralModel.evaluate` warns (or refuses under ``strict``).

``dac-multilevel`` (resistor string): ``e_conv_j``, ``t_settle_s``, ``p_static_w`` over
``n_cells`` and the swept settings, and the static linearity ``inl_max_lsb`` /
``dnl_max_lsb`` of the characterized string.
"""
from __future__ import annotations

from .base import BehavioralModel, register_kind


@register_kind
class DacModel(BehavioralModel):
    kind = "dac"
    primary = "e_drive_j"

    def drive_energy(self, n_cells, v_wl_v, *, corner=None, strict=False, **settings):
        """Energy [J] of one '1' bit driven onto a row of ``n_cells`` cells at ``v_wl_v``."""
        return self.evaluate("e_drive_j", corner=corner, strict=strict, n_cells=n_cells,
                             v_wl_v=v_wl_v, **settings)


@register_kind
class DacMultilevelModel(BehavioralModel):
    kind = "dac-multilevel"
    primary = "e_conv_j"
