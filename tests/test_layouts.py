"""Areas from published SKY130 layouts (accelerators/layouts.py), re-derived by hand.

The expected numbers are the published footprints themselves, typed here from their
sources, never read back from the code's table:

* SkyWater SKY130 PDK, sky130_fd_sc_hd: ``sky130_fd_sc_hd__fa_1.lef`` and
  ``sky130_fd_sc_hd__dfxtp_1.lef`` both declare ``SIZE 7.360000 BY 2.720000`` (um);
* OpenLane's default floorplan: ``FP_CORE_UTIL 50`` (configuration/floorplan.tcl);
* OpenRAM's ``sky130_sram_2kbyte_1rw_32x512_8.lef``: ``SIZE 483.86 BY 326.1`` (um).
"""
from __future__ import annotations

import copy
import math
import tomllib

import pytest

from imcspice.accelerators import arch, hardware, scaling
from imcspice.accelerators.components import _resolve

FA_UM2 = DFF_UM2 = 7.36 * 2.72           # LEF SIZE of fa_1 and dfxtp_1
UTIL = 0.50                              # OpenLane FP_CORE_UTIL default
SRAM_2KB_MM2 = 483.86 * 326.1 * 1e-6     # OpenRAM 2 KB single-port macro


@pytest.fixture(scope="module")
def hw():
    return hardware.HardwareModels.from_dir()


def area(a, comp, hw):
    c = a.components[comp]
    return _resolve(a, c, c.figures["area"], hw)


@pytest.mark.parametrize("name, comp, fa, dff", [
    ("hetrax", "sm_mac", 270, 32), ("race-it", "outlier_mac", 270, 32),
    ("race-it", "adder", 32, 32), ("race-it", "scaler", 140, 24),
    ("gaincell", "tile_adder", 9, 9)])
def test_logic_blocks_are_their_cells_at_openlane_utilization(hw, name, comp, fa, dff):
    """The same composition as the block's energy and leakage (spice figures reading
    p_leak_fa_w x fa + p_leak_dff_w x dff), now as cell footprints."""
    a = arch.load(name)
    c = a.components[comp]
    static = c.figures["static"].fields                 # the area composes what leaks
    counts = [c.params.get(t, t) for t in (static["times"], static["plus"][0]["times"])]
    assert counts == [fa, dff]
    f = area(a, comp, hw)
    assert f.source == "literature" and f.per == "instance"
    assert f.value == pytest.approx((fa * FA_UM2 + dff * DFF_UM2) / UTIL * 1e-6, rel=1e-12)
    assert "sky130_fd_sc_hd" in f.detail and "FP_CORE_UTIL" in f.detail


def test_cell_counts_follow_the_components_parameters(hw):
    a = arch.load("gaincell", ["tile_adder.bits=12"])
    assert area(a, "tile_adder", hw).value == pytest.approx(24 * FA_UM2 / UTIL * 1e-6,
                                                            rel=1e-12)


@pytest.mark.parametrize("name, comp, macros", [
    ("hetrax", "sm_sram", 16), ("hetrax", "buffer", 32), ("race-it", "buffer", 32)])
def test_srams_are_copies_of_the_published_macro(hw, name, comp, macros):
    a = arch.load(name)
    f = area(a, comp, hw)
    assert f.source == "literature"
    assert f.value == pytest.approx(macros * SRAM_2KB_MM2, rel=1e-12)
    # the bus the energy prices crosses a square macro of this area (the file's comment)
    assert a.components[comp].params["bus_mm"] == pytest.approx(math.sqrt(f.value), abs=0.01)
    # a capacity that is not a whole number of macros takes one more
    b = arch.load(name, [f"{comp}.capacity_bytes=3000"])
    assert area(b, comp, hw).value == pytest.approx(2 * SRAM_2KB_MM2, rel=1e-12)


def test_off_node_areas_are_projections(hw):
    a = arch.load("race-it", ["node_nm=7"])
    f = area(a, "adder", hw)
    assert f.value == pytest.approx(64 * FA_UM2 / UTIL * 1e-6
                                    * scaling.area_factor_kind("logic", 130, 7), rel=1e-9)
    assert "projected 130 nm -> 7 nm" in f.detail


def _raw(name):
    with open(arch.resolve_path(name), "rb") as fh:
        return tomllib.load(fh)


@pytest.mark.parametrize("edit, words", [
    (lambda c: c["adder"]["area"]["cells"].update(fa_2=3), ["'adder'.area", "unknown standard cell 'fa_2'"]),
    (lambda c: c["adder"]["area"].update(cells=[]), ["'cells' must be a table"]),
    (lambda c: c["adder"].update(energy={"source": "literature", "per": "add", "scaling": "logic",
                                         "cells": {"fa_1": 1}}), ["prices an area"]),
    (lambda c: c["buffer"]["area"].update(sram_macro="openram_64kb"), ["unknown SRAM macro"]),
    (lambda c: c["buffer"]["area"].update(cells={"fa_1": 1}), ["one of them"]),
])
def test_bad_layout_figures_fail_in_one_line(edit, words):
    raw = copy.deepcopy(_raw("race-it"))
    edit(raw["components"])
    with pytest.raises(arch.ArchError) as e:
        arch.from_dict(raw, "race-it.toml")
    assert "\n" not in str(e.value)
    for w in words:
        assert w in str(e.value), (w, str(e.value))


def test_bad_counts_fail_when_priced(hw):
    raw = copy.deepcopy(_raw("race-it"))
    raw["components"]["adder"]["area"]["cells"]["fa_1"] = "lanes"     # no such parameter
    del raw["components"]["buffer"]["capacity_bytes"]
    a = arch.from_dict(raw, "race-it.toml")
    with pytest.raises(arch.ArchError, match=r"'cells.fa_1' must be a positive number"):
        area(a, "adder", hw)
    with pytest.raises(arch.ArchError, match="needs the component's capacity_bytes"):
        area(a, "buffer", hw)
