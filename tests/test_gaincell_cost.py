"""Gain-cell cost: the mapping prices the published machine the accuracy run simulates
(gaincell_torch.py: unsigned query in one pulse phase, no softmax, no normalization, a
readout per 64-row tile and context column, a digital sum of the tile codes).

Every count below is worked out by hand from the shipped byte-level LM (4 layers,
d_model 128, 4 heads -> dh = 32) and the description (64-row tiles, 5-bit readout,
9-bit tile adders), never from the mapping's own output."""
from __future__ import annotations

import copy
import math

import pytest

from imcspice.accelerators import accuracy, arch, components, cost, hardware, mapping
from imcspice.accelerators.workloads import get_workload

L, H, DH = 4, 4, 32          # byte-lm: layers, heads, d_model / heads


@pytest.fixture(scope="module")
def hw():
    return hardware.HardwareModels.from_dir()


def _build(a, ctx: int):
    return mapping.build(a, get_workload("byte-lm"), ctx, 1, "decode", ctx)


def _actions(m, comp: str, figure: str = "energy") -> float:
    return math.fsum(c.actions for c in m.charges
                     if c.component == comp and c.figure == figure)


def _steps(m, comp: str, figure: str = "latency") -> float:
    return math.fsum(s.steps for s in m.steps if s.component == comp and s.figure == figure)


def _variant(**sets):
    raw = copy.deepcopy(arch.load("gaincell").raw)
    for key, v in sets.items():
        comp, param = key.split("__")
        raw["components"][comp][param] = v
    return arch.from_dict(raw)


def test_shipped_description_is_the_simulated_form():
    a = arch.load("gaincell")
    assert accuracy._unsimulated(a) == []      # report: accuracy.priced_not_simulated
    assert "divider" not in a.components
    assert "integrator_energy" not in a.component("gaincell").figures   # one query phase


def test_window_1024_counts_by_hand(hw):
    """w = 1024 keys, nt = 1024/64 = 16 V row tiles per head. Per layer: K and V rows
    written 2·H·dh = 256 cells; K and V cells read 2·H·w·dh = 262144; readouts H·w = 4096
    score columns + H·dh·nt = 2048 tile context columns; adds H·dh·(nt-1) = 1920 of 9
    bits. Critical path per layer: write, 2 pulses, 2 readouts, log2(16) = 4 tree levels."""
    a = arch.load("gaincell")
    m = _build(a, 1024)
    assert _actions(m, "gaincell") == L * 256
    assert _actions(m, "gaincell", "read_energy") == L * 262144
    assert _actions(m, "readout") == _actions(m, "readout", "decision_energy") == L * 6144
    assert _actions(m, "readout", "wake_energy") == L * 6144      # one wake per conversion
    assert _actions(m, "tile_adder") == L * 1920 * 9
    assert "divider" not in {c.component for c in m.charges}
    assert _steps(m, "gaincell") == L
    assert _steps(m, "gaincell", "read_latency") == L * 2
    assert _steps(m, "readout") == L * 2
    assert _steps(m, "tile_adder") == L * 4
    # provisioned per layer: K (1 x 16) + V (16 x 1) tiles per head; readouts for 1024
    # score columns + 16 x 32 tile columns per head; 15 adders per head column
    assert m.provisioned == {"gaincell": L * H * 32, "readout": L * H * (1024 + 16 * 32),
                             "tile_adder": L * H * DH * 15}
    f = components.resolve(a, hw)
    sheet = cost.price(m, f)
    v = {(c, n): f[c][n].value for c in f for n in f[c]}
    # + the integrators' wake before the first operator's query (no operator before it
    # to hide it behind; every later one follows an operator longer than the wake)
    assert v["readout", "wake_latency"] < min(2 * 15e-9, v["readout", "latency"] + 15e-9)
    latency = L * (v["gaincell", "latency"] + 2 * 15e-9 + 2 * v["readout", "latency"]
                   + 4 / a.clock_hz) + v["readout", "wake_latency"]
    # + the provisioned adders' leakage (W per adder) over the whole latency
    energy = (L * 256 * v["gaincell", "energy"] + L * 262144 * v["gaincell", "read_energy"]
              + L * 6144 * (v["readout", "energy"] + v["readout", "decision_energy"]
                            + v["readout", "wake_energy"])
              + L * 1920 * 9 * v["tile_adder", "energy"]
              + L * H * DH * 15 * v["tile_adder", "static"] * latency
              # + the provisioned integrators' leakage while gated off (W per readout)
              + L * H * (1024 + 16 * 32) * v["readout", "static"] * latency
              # + each array's always-on bias generator (W per 64x64 array)
              + L * H * 32 * v["gaincell", "static"] * latency)
    # + the clock tree to the 512 arrays: 5 levels (4^4 < 512 <= 4^5) over the side D of
    # the clocked area, in 1 mm pieces, every clock period. Each operator reads one
    # layer's K (or V) arrays, H x 16 of them (H = 4: 64), placed together: the H's
    # above them run, ceil(64 / 4^(5-j)) = 1, 1, 1, 4, 16 at levels 0-4, 3 arms of
    # D / 2^(j+1) each: D (1.5 + 0.75 + 0.375 + 0.75 + 1.5) = 4.875 D of wire
    assert H == 4 and all(b == {"gaincell": 64} for b in m.busy.values()) and len(m.busy) == 2 * L
    side_mm = math.sqrt(math.fsum(e.amount for e in sheet.area if e.component != "clock_tree"))
    energy += 4.875 * side_mm / 1.0 * latency * a.clock_hz * v["clock_tree", "energy"]
    assert sheet.energy_j == pytest.approx(energy, rel=1e-12, abs=0)
    assert sheet.latency_s == pytest.approx(latency, rel=1e-12, abs=0)
    # issue 11: at least 80 % of the gain-cell energy from SPICE-sourced figures
    assert sheet.provenance_share()["energy"]["spice"] >= 0.80


def test_partial_windows_tile_by_hand():
    """w = 100: nt = 2 tiles (64 + 36 rows), one add per context column (1 tree level,
    the sum needs 5 + 1 = 6 <= 9 bits); w = 64: one tile, nothing to sum."""
    m = _build(arch.load("gaincell"), 100)
    assert _actions(m, "readout") == L * (H * 100 + H * DH * 2)
    assert _actions(m, "tile_adder") == L * H * DH * 1 * 9
    assert _steps(m, "tile_adder") == L * 1
    assert m.provisioned["tile_adder"] == L * H * DH
    m = _build(arch.load("gaincell"), 64)
    assert _actions(m, "readout") == L * (H * 64 + H * DH)
    assert _actions(m, "tile_adder") == 0 and _steps(m, "tile_adder") == 0


@pytest.mark.parametrize("key,value", [("gaincell__normalize", "row-sum-column"),
                                       ("gaincell__partial_sums", "analog"),
                                       ("gaincell__context_tiles", "sequential")])
def test_unsimulated_forms_are_refused_in_one_line(key, value):
    a = _variant(**{key: value})
    name = key.split("__")[1]
    assert len(accuracy._unsimulated(a)) == 1 and name in accuracy._unsimulated(a)[0]
    with pytest.raises(arch.ArchError, match=f"gaincell.{name} = '{value}'") as e:
        _build(a, 1024)
    assert "\n" not in str(e.value)


def test_head_dimension_beyond_a_tile_and_narrow_accumulator_are_refused():
    with pytest.raises(arch.ArchError, match="head dimension 32 > tile rows 16"):
        _build(_variant(gaincell__tile=16), 1024)
    # 16 tiles of 5-bit codes need 5 + 4 = 9 bits
    with pytest.raises(mapping.ProvisionError, match="tile_adder.bits = 8 < 9"):
        _build(_variant(tile_adder__bits=8), 1024)


def test_evaluate_refuses_an_unsimulated_form_before_simulating(tmp_path, capsys):
    """The accuracy run refuses first (seconds), not the pricing after minutes of it."""
    from imcspice.cli import main
    assert main(["evaluate", "--arch", "gaincell", "--set", "gaincell.partial_sums=analog",
                 "--quick", "--quiet", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "gaincell.partial_sums = 'analog'" in err[0], err
    assert not (tmp_path / "o" / "report.json").exists()
