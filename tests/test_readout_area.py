"""The crossbar bit lines' readout area (accelerators/readout_area.py) and the floorplan's
fitted tiers, against a hand layout of the TIA the netlists simulate.

The hand figures, typed from the design (circuits/ota.py's docstring and OtaParams, the
shipped sweep's settings in characterize/defaults.py), not read from the code: the OTA's
input pair 20/0.5 um, mirror 2/1, tail 16/1, driver 16/1 and load 4 x 16/1 (k2 = 4), the
last two n2 times; gating switches 4/0.15 (two) and 2/0.15; the hold's transmission gate
1/0.15 (n and p); every device's drain and source diffusions 0.29 um long (SKY130 rule);
Cc 250 fF and the 1 pF hold at the PDK's 2.00 fF/um^2 MIM (camimc); devices at 50 % fill.
n2 by hand: the output stage sinks the column's design current, 128 rows x (g_off +
0.25 (g_on - g_off)) = 25.75 uS per cell x v0 sinh(0.2 V / v0), v0 = 0.5 V, over
FS_PER_I7 (1) x k2 (4) x the 40 uA tail.
"""
from __future__ import annotations

import math

import pytest

from imcspice.accelerators import arch, components, cost, floorplan, hardware, layouts, mapping
from imcspice.accelerators.workloads import get_workload
from imcspice.errors import ImcspiceError

DIFF_UM = 0.29


def _fet(w, l_, m=1.0):
    return m * (w * l_ + 2 * w * DIFF_UM)


@pytest.fixture(scope="module")
def hw():
    return hardware.HardwareModels.from_dir()


def test_readout_area_is_the_hand_layout_of_the_simulated_tia(hw):
    i_design = 128 * (1.0 + 0.25 * 99.0) * 1e-6 * 0.5 * math.sinh(0.2 / 0.5)
    n2 = i_design / (1.0 * 4 * 40e-6)
    assert n2 == pytest.approx(4.231, abs=1e-3)
    devices = (2 * _fet(20, 0.5) + 2 * _fet(2, 1) + _fet(16, 1) + _fet(16, 1, n2)
               + _fet(64, 1, n2) + 2 * _fet(4, 0.15) + _fet(2, 0.15) + 2 * _fet(1, 0.15))
    per_tia_um2 = devices / 0.5 + (250 + 1000) / 2.0
    for name in ("race-it", "hetrax"):
        a = arch.load(name)
        c = a.components["crossbar"]
        fig = components._resolve(a, c, c.figures["readout_area"], hw)
        assert fig.source == "assumption" and fig.per == "instance"
        # a G+ and a G- bit line per column, 128 columns
        assert fig.value == pytest.approx(2 * 128 * per_tia_um2 * 1e-6, rel=1e-9)
        assert "camimc" in fig.detail and "n2 = 4.23" in fig.detail
    # the readout is most of a tile: ~28x its 128 x 256 1T1R cells at 0.51 um^2
    assert 2 * 128 * per_tia_um2 > 20 * 128 * 256 * 0.51


def test_gaincell_readout_area_is_the_hand_layout_of_its_integrator_and_latch(hw):
    """The gain-cell column readout: the gated OTA at one output-stage copy (20 uA tail),
    its 1/0.15 um reset switch, Cc and the 500 fF integrating capacitor, and the StrongARM
    latch of circuits/comparator.py (tail 4/0.15, input pair 4/0.3, latch 2/0.15 n and p
    pairs, four 1/0.15 precharge switches)."""
    ota_um2 = (2 * _fet(20, 0.5) + 2 * _fet(2, 1) + _fet(16, 1) + _fet(16, 1) + _fet(64, 1)
               + 2 * _fet(4, 0.15) + _fet(2, 0.15) + _fet(1, 0.15))
    latch_um2 = _fet(4, 0.15) + 2 * _fet(4, 0.3) + 4 * _fet(2, 0.15) + 4 * _fet(1, 0.15)
    want = (ota_um2 + latch_um2) / 0.5 + (250 + 500) / 2.0
    a = arch.load("gaincell")
    c = a.components["readout"]
    fig = components._resolve(a, c, c.figures["area"], hw)
    assert fig.source == "assumption"
    assert fig.value == pytest.approx(want * 1e-6, rel=1e-9)
    assert want == pytest.approx(830.9, abs=0.05)   # twice the 400 um^2 once typed in


def test_readout_area_is_priced_per_tile(hw):
    a = arch.load("race-it")
    figs = components.resolve(a, hw)
    m = mapping.build(a, get_workload("minilm"), 16, 1)
    sheet = cost.price(m, figs)
    tiles = m.provisioned["crossbar"]
    ro = [e for e in sheet.area if e.component == "crossbar" and e.figure == "readout_area"]
    assert len(ro) == 1 and ro[0].source == "assumption"
    assert ro[0].amount == pytest.approx(tiles * figs["crossbar"]["readout_area"].value,
                                         rel=1e-12)


@pytest.mark.parametrize("text", ["__import__('os').system('true')", "w1.real", "w1**2",
                                  "open('x')", "unknown_name"])
def test_netlist_expressions_are_evaluated_not_executed(text):
    with pytest.raises(ValueError, match="cannot evaluate"):
        layouts.evaluate_expr("{" + text + "}", {"w1": 2.0})
    assert layouts.evaluate_expr("{max(1,(w1*k2)*0.29)}", {"w1": 2.0, "k2": 4.0}) == \
        pytest.approx(2.32)


def test_fitted_tiers_are_the_fewest_dies_and_unpriced_is_refused(hw):
    raw = arch.load("hetrax").raw
    a = arch.from_dict(raw, "hetrax.toml")
    with pytest.raises(ImcspiceError, match="price the workload first"):
        floorplan.tier_count(a.floorplan["tiers"]["reram"])
    bad = {**raw, "floorplan": {**raw["floorplan"], "tiers": {
        **raw["floorplan"]["tiers"], "reram": {**raw["floorplan"]["tiers"]["reram"],
                                               "count": "many"}}}}
    with pytest.raises(ImcspiceError, match="whole number >= 1 or \"fit\""):
        arch.from_dict(bad, "bad.toml")
