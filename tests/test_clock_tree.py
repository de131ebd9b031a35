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


def _leaves_drawn(levels: int):
    """The H's of a tree drawn level by level, each as (level, its leaves' indices),
    leaves numbered quadrant by quadrant (so that a run of busy leaves sits together)."""
    out = []

    def node(j, first):
        span = 4 ** (levels - j)
        out.append((j, range(first, first + span)))
        if j + 1 < levels:
            for q in range(4):
                node(j + 1, first + q * span // 4)
    node(0, 0)
    return out


@pytest.mark.parametrize("busy", [1, 2, 5, 16, 17, 64, 100, 256])
def test_running_pieces_are_the_hs_above_the_busy_leaves(busy):
    """An H runs when one of its leaves is busy; the busy leaves are the first ones."""
    t = clock_tree.HTree(side_mm=8.0, sinks=256, segment_mm=0.5)     # 4 levels
    drawn = sum(3 * 8.0 / 2 ** (j + 1) for j, leaves in _leaves_drawn(4) if leaves[0] < busy)
    assert t.pieces(busy) == pytest.approx(drawn / 0.5, rel=1e-12, abs=0)
    assert t.pieces(None) == pytest.approx(t.wire_mm / 0.5, rel=1e-12, abs=0)
    # by hand, D = 4 mm, 16 sinks: one busy leaf runs the root H (3 x 2 mm) and one of
    # the four level-1 H's (3 x 1 mm); five run two of them
    t = clock_tree.HTree(4.0, 16, 1.0)
    assert (t.pieces(1), t.pieces(5), t.pieces(16), t.pieces(None)) == (9, 12, 18, 18)


def test_race_it_clock_energy_is_c_v2_f_of_its_running_wire(hw):
    """Each 1 mm piece is 0.231 fF/um of met3 (technology LEF, with its grounded
    neighbours): C V^2 per period. The driver's own charge and crowbar current come on
    top, so the SPICE figure sits a little above it (the deck measured 0.854 pJ). Every
    linear's tiles are its busy leaves (row tiles x column tiles)."""
    a, shape = _race_it()
    m = mapping.build(a, shape, 16, 1)
    assert m.busy == {op: {"crossbar": rt * ct} for op, (rt, ct) in m.tiles.items()}
    sheet = cost.price(m, components.resolve(a, hw))
    (e,) = [x for x in sheet.energy if x.component == "clock_tree"]
    (ar,) = [x for x in sheet.area if x.component == "clock_tree"]
    side = math.sqrt(math.fsum(x.amount for x in sheet.area if x.component != "clock_tree"))
    t = clock_tree.HTree(side, 648, 1.0)          # 648 tiles: 4^4 < 648 <= 4^5
    assert t.wire_mm == pytest.approx(1.5 * side * 31, rel=1e-12, abs=0)
    mm_s = 0.0                                    # running wire x time, mm s
    for x in sheet.latency:
        tiles = m.busy.get(x.op, {}).get("crossbar")
        mm_s += x.amount * (t.pieces(tiles) if tiles else t.wire_mm)
    cv2f = mm_s * 1e3 * 0.231e-15 * 1.8 ** 2 * a.clock_hz
    assert 1.0 < e.amount / cv2f < 1.3
    # gated, the tree costs a small part of running all of it for the whole latency
    assert e.amount < 0.2 * t.wire_mm * 1e3 * 0.231e-15 * 1.8 ** 2 * a.clock_hz * sheet.latency_s
    assert e.source == "spice" and "sram-periphery.model.h5" in e.detail
    assert f"{t.wire_mm:.4g} mm of wire" in e.detail
    assert ar.source == "assumption" and ar.amount == pytest.approx(
        t.repeaters * 21.9e-6, rel=1e-12, abs=0)


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


def test_busy_leaves_fill_one_die_after_another():
    """3 dies of a 4 mm tree to 16 leaves (18 pieces when all 16 run, 9 for one leaf, 12
    for five): 20 busy leaves run one die whole and 4 leaves of the next (3 x 2 + 3 x 1
    = 9 pieces); the third die idles, gated at its root."""
    d = clock_tree.Domain("reram", clock_tree.HTree(4.0, 16, 1.0), 3, ("crossbar",))
    assert d.pieces(20) == 18 + 9
    assert d.pieces(0) == 0 and d.pieces(48) == d.pieces(100) == d.pieces(None) == 3 * 18


def test_a_stack_has_a_tree_on_every_die_and_it_heats_its_tiers(hw):
    """HeTraX: the SM dies' trees reach every SM MAC (2 dies, 2000 a die), the ReRAM
    dies' every crossbar tile, each over the 110 mm^2 die; each group's tree energy is
    in its tiers' power."""
    from imcspice.accelerators import floorplan
    from imcspice.accelerators.hetrax import tier_powers
    a = arch.load("hetrax")
    m = mapping.build(a, get_workload("minilm"), 16, 1)
    sheet = cost.price(m, components.resolve(a, hw))
    clock = {e.op: e for e in sheet.energy if e.component == "clock_tree"}
    assert set(clock) == {"clock:sm", "clock:reram"}
    assert {e.figure for e in clock.values()} == {"sm_energy", "reram_energy"}
    side = math.sqrt(110.0)
    reram = a.floorplan["tiers"]["reram"]
    dies = floorplan.tier_count(reram)
    per_die = math.ceil(m.provisioned["crossbar"] / dies)
    assert f"2 x H-tree over {side:.3g} x {side:.3g} mm to 2000 sinks: 6 levels" \
        in clock["clock:sm"].detail
    assert f"{dies} x H-tree over {side:.3g} x {side:.3g} mm to {per_die} sinks" \
        in clock["clock:reram"].detail
    # the ReRAM dies' energy by hand: every linear's tiles on one die (each fits one)
    e = components.resolve(a, hw)["clock_tree"]["energy"].value
    t = clock_tree.HTree(side, per_die, 1.0)
    t_op = {}
    for x in sheet.latency:
        t_op[x.op] = t_op.get(x.op, 0.0) + x.amount
    want = 0.0
    for op, dt in t_op.items():
        tiles = m.busy.get(op, {}).get("crossbar", 0)
        assert tiles <= per_die
        if tiles:
            want += dt * a.clock_hz * t.pieces(tiles) * e
    assert clock["clock:reram"].amount == pytest.approx(want, rel=1e-12, abs=0)
    # an SM operator's leaves are the MACs its products use: all 4000, or a residual
    # add's 16 x 384 / 2 = 3072
    sm_ops = {op.qualified_name: op for op in m.ops if "sm_mac" in m.busy.get(op.qualified_name, {})}
    assert sm_ops and all(m.busy[q]["sm_mac"] == math.ceil(min(op.flops / 2, 4000))
                          for q, op in sm_ops.items())
    assert {m.busy[q]["sm_mac"] for q in sm_ops} == {4000, 3072}
    p = tier_powers(a, sheet)
    sm = sum(x.amount for x in sheet.energy if x.component in ("sm_mac", "sm_sram"))
    assert p["sm"] == pytest.approx((sm + clock["clock:sm"].amount) / sheet.latency_s / 2,
                                    rel=1e-12, abs=0)


def test_the_report_says_whether_the_clock_is_priced(tmp_path):
    """Cost-only gain-cell reports (gpt2, shape-only), with the shipped tree and with the
    description cut before it: the clock line gives the tree's share, or says it is not
    priced."""
    import re

    from imcspice.accelerators.evaluate import evaluate
    text = (arch.ARCH_DIR / "gaincell.toml").read_text()
    cut = re.sub(r"\n\[components\.clock_tree\]\n.*\Z", "\n", text, flags=re.S)
    assert "clock_tree" not in cut.split("[components.tile_adder]")[1]
    (tmp_path / "no-clock.toml").write_text(cut.replace('name = "gaincell"', 'name = "gc-nc"'))
    for desc, out in (("gaincell", "with"), (str(tmp_path / "no-clock.toml"), "without")):
        rep = evaluate(desc, tmp_path / out, workload="gpt2", accuracy=False, progress=False)
        md = (tmp_path / out / "report.md").read_text()
        clock = sum(e["amount"] for e in rep["energy_entries"] if e["component"] == "clock_tree")
        if out == "with":
            assert clock > 0 and (f"Clock distribution: {100 * clock / rep['energy_j']:.1f} % "
                                  "of the energy") in md
        else:
            assert clock == 0 and "Clock distribution: not priced (the description has no " \
                "clock_tree)." in md
