"""The global clock distribution (accelerators/clock_tree.py): an H-tree's wire and
repeaters by hand and by drawing it, its energy against C V^2 f, and its refusals."""
from __future__ import annotations

import copy
import math
import tomllib

import pytest

from imcspice.accelerators import arch, clock_tree, components, cost, hardware, mapping
from imcspice.accelerators.workloads import get_workload
from imcspice.errors import ArchError


def _drawn_mm(x: float, y: float, side: float, levels: int) -> float:
    """Draw the H-tree: an H centred at (x, y) joining its square's quadrant centres,
    then a tree in each quadrant; sum the segments' lengths from their end points."""
    if levels == 0:
        return 0.0
    q = side / 4
    segs = [((x - q, y), (x + q, y)),               # the bar
            ((x - q, y - q), (x - q, y + q)),       # the left leg
            ((x + q, y - q), (x + q, y + q))]       # the right leg
    own = math.fsum(math.dist(a, b) for a, b in segs)
    return own + math.fsum(_drawn_mm(x + sx * q, y + sy * q, side / 2, levels - 1)
                           for sx in (-1, 1) for sy in (-1, 1))


@pytest.mark.parametrize("sinks,levels", [(1, 1), (4, 1), (5, 2), (16, 2), (17, 3), (648, 5)])
def test_wire_is_the_drawn_tree(sinks, levels):
    t = clock_tree.HTree(side_mm=4.0, sinks=sinks, segment_mm=1.0)
    assert t.levels == levels                       # the fewest k with 4^k >= sinks
    assert t.wire_mm == pytest.approx(_drawn_mm(0, 0, 4.0, levels), rel=1e-12, abs=0)
    assert t.wire_mm == pytest.approx(1.5 * 4.0 * (2 ** levels - 1), rel=1e-12, abs=0)


def test_repeaters_by_hand():
    # D = 4 mm, 16 sinks: 3 arms of 2 mm (root H) + 12 arms of 1 mm
    assert clock_tree.HTree(4.0, 16, 1.0).repeaters == 3 * 2 + 12 * 1
    # every 0.75 mm: ceil(2 / 0.75) = 3 and ceil(1 / 0.75) = 2 drivers per arm
    assert clock_tree.HTree(4.0, 16, 0.75).repeaters == 3 * 3 + 12 * 2
    # a pitch longer than every arm: one driver per arm, 3 + 12
    assert clock_tree.HTree(4.0, 16, 5.0).repeaters == 15


@pytest.fixture(scope="module")
def hw():
    return hardware.HardwareModels.from_dir()


def _race_it(raw=None):
    a = arch.from_dict(raw) if raw else arch.load("race-it")
    return a, get_workload("minilm")


def test_race_it_clock_energy_is_c_v2_f_of_its_wire(hw):
    """Each 1 mm piece is 0.231 fF/um of met3 (technology LEF, with its grounded
    neighbours): C V^2 per period. The driver's own charge and crowbar current come on
    top, so the SPICE figure sits a little above it (the deck measured 0.854 pJ)."""
    a, shape = _race_it()
    m = mapping.build(a, shape, 16, 1)
    sheet = cost.price(m, components.resolve(a, hw))
    (e,) = [x for x in sheet.energy if x.component == "clock_tree"]
    (ar,) = [x for x in sheet.area if x.component == "clock_tree"]
    side = math.sqrt(math.fsum(x.amount for x in sheet.area if x.component != "clock_tree"))
    wire_mm = 1.5 * side * (2 ** 5 - 1)          # 648 tiles: 4^4 < 648 <= 4^5
    cv2f = wire_mm * 1e3 * 0.231e-15 * 1.8 ** 2 * a.clock_hz * sheet.latency_s
    assert 1.0 < e.amount / cv2f < 1.3
    assert e.source == "spice" and "sram-periphery.model.h5" in e.detail
    assert f"{wire_mm:.4g} mm of wire" in e.detail
    assert ar.source == "assumption" and ar.amount == pytest.approx(
        clock_tree.HTree(side, 648, 1.0).repeaters * 21.9e-6, rel=1e-12, abs=0)


def _raw(name="race-it"):
    return copy.deepcopy(tomllib.loads((arch.ARCH_DIR / f"{name}.toml").read_text()))


@pytest.mark.parametrize("change,match", [
    ({"sinks": ["nowhere"]}, r"clock_tree\.sinks must list"),
    ({"sinks": "crossbar"}, r"clock_tree\.sinks must list"),
    ({"sinks": ["clock_tree"]}, r"clock_tree\.sinks must list"),
    ({"segment_mm": 0}, r"segment_mm \(the repeater pitch, mm\) must be a positive"),
])
def test_a_malformed_tree_is_refused_in_one_line(hw, change, match):
    raw = _raw()
    raw["components"]["clock_tree"].update(change)
    a = arch.from_dict(raw)
    m = mapping.build(a, get_workload("minilm"), 16, 1)
    with pytest.raises(ArchError, match=match):
        cost.price(m, components.resolve(a, hw))


def test_a_stacked_machine_needs_a_tree_per_die(hw):
    raw = _raw("hetrax")
    raw["components"]["clock_tree"] = _raw()["components"]["clock_tree"]
    raw["components"]["clock_tree"]["sinks"] = ["crossbar"]
    a = arch.from_dict(raw)
    m = mapping.build(a, get_workload("minilm"), 16, 1)
    with pytest.raises(ArchError, match=r"one die; a stacked machine"):
        cost.price(m, components.resolve(a, hw))
