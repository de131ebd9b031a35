"""Tests of the thermal stack model, Stillmaker-Baas scaling and periphery table."""
from __future__ import annotations

import math

import numpy as np
import pytest

from imcspice.accelerators import periphery, scaling, thermal
from imcspice.accelerators.thermal import StackSpec, TierSpec


# ----------------------------------------------------------------------------
# thermal
# ----------------------------------------------------------------------------
def _stack(powers=(15.0, 15.0, 3.0, 3.0), kinds=("sm", "sm", "reram", "reram"), **kw):
    tiers = [TierSpec(f"t{i}", k, power_w=p) for i, (p, k) in enumerate(zip(powers, kinds))]
    kw.setdefault("grid", 8)
    return StackSpec(tiers=tiers, die_mm2=100.0, **kw)


def _hotspot_map(grid=8):
    return thermal.block_power_map(grid, [(0.0, 0.0, 0.25, 0.5, 6.0)], background_w=2.0)


@pytest.mark.parametrize("kw", [{}, {"spreader_thickness_um": None},
                                {"r_secondary_k_per_w": 2.0}, {"tsv_area_fraction": 0.02}])
def test_energy_conservation(kw):
    tiers = [TierSpec("sm0", "sm", power_map=_hotspot_map()),
             TierSpec("rr0", "reram", power_w=3.0),
             TierSpec("sm1", "sm", power_w=7.5)]
    res = thermal.solve(StackSpec(tiers=tiers, die_mm2=80.0, grid=8, **kw))
    assert res.total_power_w == pytest.approx(18.5, rel=1e-12, abs=0)
    assert res.heat_out_w == pytest.approx(res.total_power_w, rel=1e-9, abs=0)
    if "r_secondary_k_per_w" in kw:
        assert res.heat_to_secondary_w > 0
    else:
        assert res.heat_to_secondary_w == 0.0
        # sink node: all heat passes r_sink
        assert res.sink_c - res.ambient_c == pytest.approx(18.5 * 0.2, rel=1e-9, abs=0)


def test_uniform_two_tier_stack_equals_series_resistances_by_hand():
    """Uniform power: no lateral flow, so the stack is a 1-D chain of Fourier slabs
    R = t / (k A) (the physical law, evaluated here by hand from the documented
    parameters, not from the solver). A = 100 mm^2 = 1e-4 m^2; P0 = 10 W (tier 0, sink
    side), P1 = 4 W.
      sink:      theta_s = (P0 + P1) * r_sink = 14 W * 0.2 K/W = 2.8 K
      spreader:  1 mm Cu, k 400: R = 1e-3 / (400 * 1e-4) = 0.025 K/W (whole thickness:
                 tier -> mid-plane -> sink)
      tier 0:    50 um Si (k 130): 50e-6 / (130 * 1e-4) = 3.846e-3 K/W, plus 20 um TIM
                 (k 4): 20e-6 / (4 * 1e-4) = 0.05 K/W; 14 W through all of it:
                 theta_0 = 2.8 + 14 * (0.025 + 0.003846 + 0.05) = 3.9038 K
      tier 1:    its 4 W through 50 um Si + 10 um bond (k 1) + 10 um BEOL (k 2):
                 3.846e-3 + 0.1 + 0.05 = 0.15385 K/W -> theta_1 = theta_0 + 0.6154 K"""
    tiers = [TierSpec("t0", "sm", power_w=10.0), TierSpec("t1", "reram", power_w=4.0)]
    res = thermal.solve(StackSpec(tiers=tiers, die_mm2=100.0, grid=6))
    a = 1e-4
    theta_s = 14.0 * 0.2
    theta_0 = theta_s + 14.0 * (1e-3 / (400 * a) + 50e-6 / (130 * a) + 20e-6 / (4 * a))
    theta_1 = theta_0 + 4.0 * (50e-6 / (130 * a) + 10e-6 / (1.0 * a) + 10e-6 / (2.0 * a))
    assert theta_0 == pytest.approx(3.9038, abs=1e-4)          # the hand numbers above
    assert res.sink_c - res.ambient_c == pytest.approx(theta_s, rel=1e-9, abs=0)
    np.testing.assert_allclose(res.temps_c[0] - res.ambient_c, theta_0, rtol=1e-9)
    np.testing.assert_allclose(res.temps_c[1] - res.ambient_c, theta_1, rtol=1e-9)


def test_lateral_spreading_against_an_independent_nodal_solve():
    """A single tier (no spreader) with a hot spot: lateral flow matters. Expected values
    from a separate dense nodal solve written here: square cells of side dx, lateral
    conductance k*t*dy/dx = k*t (Si 130 W/mK x 50 um plus BEOL 2 W/mK x 10 um), each cell
    to the sink node through (t_si/k_si + t_tim/k_tim)/dx^2, sink to ambient 0.2 K/W."""
    n = 4
    pmap = np.zeros((n, n))
    pmap[0, 0], pmap[2, 3] = 3.0, 1.0
    res = thermal.solve(StackSpec(tiers=[TierSpec("t0", "sm", power_map=pmap)], die_mm2=16.0,
                                  grid=n, spreader_thickness_um=None))
    dx = 4e-3 / n
    g_lat = 130 * 50e-6 + 2.0 * 10e-6
    g_down = dx * dx / (50e-6 / 130 + 20e-6 / 4.0)
    m = n * n + 1                                      # cells, then the sink node
    G = np.zeros((m, m))
    for r in range(n):
        for c in range(n):
            i = r * n + c
            for rr, cc in ((r + 1, c), (r, c + 1)):
                if rr < n and cc < n:
                    j = rr * n + cc
                    G[i, i] += g_lat; G[j, j] += g_lat; G[i, j] -= g_lat; G[j, i] -= g_lat
            G[i, i] += g_down; G[m - 1, m - 1] += g_down
            G[i, m - 1] -= g_down; G[m - 1, i] -= g_down
    G[m - 1, m - 1] += 1 / 0.2
    theta = np.linalg.solve(G, np.r_[pmap.ravel(), 0.0])      # W per cell, none at the sink
    np.testing.assert_allclose(res.temps_c[0] - res.ambient_c, theta[:-1].reshape(n, n),
                               rtol=1e-9)
    assert res.sink_c - res.ambient_c == pytest.approx(4.0 * 0.2, rel=1e-9, abs=0)


def test_temperature_monotone_in_power():
    prev = None
    for p in (0.0, 1.0, 5.0, 20.0, 40.0):
        res = thermal.solve(_stack(powers=(p, 15.0, 3.0, 3.0)))
        if p == 0.0:
            assert np.all(res.temps_c > res.ambient_c)
        if prev is not None:
            assert np.all(res.temps_c > prev.temps_c)
        prev = res
    zero = thermal.solve(_stack(powers=(0.0, 0.0, 0.0, 0.0)))
    assert np.allclose(zero.temps_c, zero.ambient_c)


def test_farthest_tier_hottest_at_equal_power():
    res = thermal.solve(_stack(powers=(5.0,) * 4))
    assert np.all(np.diff(res.peak_c) > 0)
    assert int(np.argmax(res.peak_c)) == 3


def test_uniform_power_gives_uniform_map():
    res = thermal.solve(_stack(grid=12))
    for t in res.temps_c:
        assert np.ptp(t) < 1e-9
    assert np.allclose(res.peak_c, res.mean_c)
    assert np.ptp(res.spreader_c) < 1e-9


def test_hotspot_is_hotter_than_rest_and_spreads():
    tiers = [TierSpec("sm0", "sm", power_map=_hotspot_map()), TierSpec("rr0", "reram", power_w=1.0)]
    res = thermal.solve(StackSpec(tiers=tiers, die_mm2=100.0, grid=8))
    t = res.temps_c[0]
    assert t[:4, :2].min() > t[:, 4:].max()
    assert res.peak_c[0] > res.mean_c[0]


def test_halving_sink_resistance_lowers_temperatures():
    hi = thermal.solve(_stack(r_sink_k_per_w=0.3))
    lo = thermal.solve(_stack(r_sink_k_per_w=0.15))
    assert np.all(lo.temps_c < hi.temps_c)
    # rise drops by exactly 36 W * 0.15 K/W at every cell (series element)
    assert np.allclose(hi.temps_c - lo.temps_c, 36.0 * 0.15)


def test_tsv_and_bond_conductivity_cool_far_tiers():
    base = thermal.solve(_stack())
    tsv = thermal.solve(_stack(tsv_area_fraction=0.01))
    assert tsv.peak_c[-1] < base.peak_c[-1]
    assert tsv.peak_c[0] == pytest.approx(base.peak_c[0], rel=1e-6, abs=0)


def test_power_map_scaled_by_power_w():
    m = np.ones((8, 8))
    a = thermal.solve(StackSpec([TierSpec("a", "sm", power_w=10.0, power_map=m)], die_mm2=50.0, grid=8))
    b = thermal.solve(StackSpec([TierSpec("a", "sm", power_w=10.0)], die_mm2=50.0, grid=8))
    assert np.allclose(a.temps_c, b.temps_c)


def test_feasibility_limits():
    res = thermal.solve(thermal.example_hetrax_stack(grid=8))
    rep = thermal.feasible(res)
    assert rep.ok and bool(rep)
    assert [c.limit_c for c in rep.checks] == [105.0, 105.0, 85.0, 85.0]
    hot = thermal.solve(thermal.example_hetrax_stack(sm_power_w=200.0, grid=8))
    bad = thermal.feasible(hot)
    assert not bad.ok
    assert {c.kind for c in bad.violations} >= {"reram"}
    strict = thermal.feasible(res, thermal.ThermalLimits(reram_max_c=50.0, logic_max_c=50.0))
    assert not strict.ok and all(c.margin_c < 0 for c in strict.violations)


def test_plot(tmp_path):
    res = thermal.solve(thermal.example_hetrax_stack(grid=8))
    from plotcheck import check_png, saved_figures
    with saved_figures() as figs:
        out = thermal.plot_temperature_map(res, tmp_path / "sub" / "map.png")
    (fig, path), = figs
    assert path == out
    check_png(fig, out)
    # one map per tier, drawing exactly that tier's temperatures on one shared colour scale
    maps = [ax for ax in fig.axes if ax.get_images()]
    assert len(maps) == len(res.stack.tiers)
    for ax, temp, tier in zip(maps, res.temps_c, res.stack.tiers):
        im, = ax.get_images()
        np.testing.assert_array_equal(im.get_array(), temp)
        assert im.get_clim() == (res.temps_c.min(), res.temps_c.max())
        assert ax.get_title().startswith(f"{tier.name} ({tier.kind})")
        assert f"peak {temp.max():.1f} C" in ax.get_title()
    with pytest.raises(ValueError, match=r"\.png"):
        thermal.plot_temperature_map(res, tmp_path / "map.jpg")


@pytest.mark.parametrize("make, msg", [
    (lambda: TierSpec("a", "gpu", power_w=1.0), "kind must be one of"),
    (lambda: TierSpec("a", "sm", power_w=-1.0), "power_w must be >= 0"),
    (lambda: TierSpec("a", "sm", power_w=float("nan")), "finite"),
    (lambda: TierSpec("a", "sm"), "give power_w, power_map"),
    (lambda: TierSpec("a", "sm", thickness_um=0, power_w=1.0), "thickness_um must be > 0"),
    (lambda: TierSpec("a", "sm", power_map=-np.ones((4, 4))), "finite and >= 0"),
    (lambda: TierSpec("a", "sm", power_map=np.ones((4, 3))), "square"),
    (lambda: TierSpec("", "sm", power_w=1.0), "non-empty"),
    (lambda: StackSpec([], die_mm2=1.0), "non-empty"),
    (lambda: StackSpec([TierSpec("a", "sm", power_w=1.0)], die_mm2=0.0), "die_mm2 must be > 0"),
    (lambda: StackSpec([TierSpec("a", "sm", power_w=1.0)], die_mm2=1.0, grid=0), "grid must be"),
    (lambda: StackSpec([TierSpec("a", "sm", power_w=1.0)], die_mm2=1.0, r_sink_k_per_w=0.0),
     "r_sink_k_per_w must be > 0"),
    (lambda: StackSpec([TierSpec("a", "sm", power_w=1.0)] * 2, die_mm2=1.0), "unique"),
    (lambda: StackSpec([TierSpec("a", "sm", power_map=np.ones((4, 4)))], die_mm2=1.0, grid=8),
     "does not match grid"),
    (lambda: StackSpec([TierSpec("a", "sm", power_w=1.0)], die_mm2=1.0, tsv_area_fraction=0.9),
     "tsv_area_fraction"),
    (lambda: thermal.solve("stack"), "needs a StackSpec"),
    (lambda: thermal.block_power_map(8, [(0.5, 0.0, 0.2, 1.0, 1.0)]), "x0 < x1"),
])
def test_thermal_bad_inputs(make, msg):
    with pytest.raises(ValueError, match=msg):
        make()


# ----------------------------------------------------------------------------
# scaling
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("node", scaling.NODES_NM)
def test_scaling_identity_same_node(node):
    assert scaling.scale_energy(3.7, node, node) == 3.7
    assert scaling.scale_delay(2.0, node, node) == 2.0
    assert scaling.scale_power(5.0, node, node) == 5.0
    assert scaling.scale_area(1.5, node, node) == 1.5
    p = scaling.project(node, node)
    assert p.energy_factor == p.delay_factor == p.area_factor == 1.0
    for kind in scaling.SCALING_KINDS:
        assert scaling.scale_energy_kind(1.0, node, node, kind) == 1.0


def test_scaling_monotone_with_node():
    nodes = scaling.NODES_NM  # descending
    e = [scaling.energy_factor(n) for n in nodes]
    p = [scaling.power_factor(n) for n in nodes]
    a = [scaling.area_factor(180, n) for n in nodes]
    assert all(x > y for x, y in zip(e, e[1:]))
    assert all(x > y for x, y in zip(p, p[1:]))
    assert all(x > y for x, y in zip(a, a[1:]))
    for src in nodes:  # every row of the area table decreases toward smaller nodes
        row = [scaling.AREA_FACTOR[src][n] for n in nodes]
        assert all(x > y for x, y in zip(row, row[1:]))
    # delay: monotone except the documented 32 nm -> 20 nm HP bump of the fits
    d = [scaling.delay_factor(n) for n in nodes]
    bumps = [(x, y) for (x, y), (dx, dy) in zip(zip(nodes, nodes[1:]), zip(d, d[1:])) if dy >= dx]
    assert bumps == [(32, 20)]
    # downscaling a value always lowers energy and area
    assert scaling.scale_energy(1.0, 130, 7) < scaling.scale_energy(1.0, 130, 45) < 1.0


def test_scaling_published_erratum_values():
    # Stillmaker & Baas erratum: 32 nm HP at 0.9 V -> 0.4571; 65 nm at 1.3 V -> 2.604
    assert scaling.energy_factor(32, 0.9) == pytest.approx(0.4571, abs=1e-4)
    assert scaling.energy_factor(65, 1.3) == pytest.approx(2.604, abs=1e-3)
    assert scaling.scale_energy(1.0, 65, 32, from_vdd_v=1.3, to_vdd_v=0.9) == pytest.approx(0.1755, abs=1e-4)


def test_scaling_roundtrip_and_voltage():
    x = scaling.scale_energy(scaling.scale_energy(1.0, 130, 7), 7, 130)
    assert x == pytest.approx(1.0, rel=1e-12, abs=0)
    # higher supply at the same node costs more energy
    assert scaling.energy_factor(130, 1.8) > scaling.energy_factor(130, 1.3)
    # numpy scalars are accepted
    assert scaling.scale_energy(np.float64(1.0), np.int64(130), np.int64(7)) == pytest.approx(
        scaling.scale_energy(1.0, 130, 7), rel=1e-6, abs=0)


def test_projection_label_and_kinds():
    p = scaling.project_from_sky130(7)
    assert p.label.startswith("projected from SKY130 (130 nm) to 7 nm by Stillmaker & Baas 2017 scaling")
    assert p.label.endswith("not simulated")
    assert any("extrapolated" in n for n in p.notes)
    assert p.from_vdd_v == 1.8 and p.to_vdd_v == 0.7
    assert p.energy(10.0, "memristor") == 10.0
    assert p.energy(10.0, "offchip") == 10.0
    assert p.energy(10.0, "logic") == pytest.approx(10.0 * p.energy_factor, rel=1e-6, abs=0)
    wire = p.energy(1.0, "wire")
    assert wire == pytest.approx(math.sqrt(0.0092) * (0.7 / 1.8) ** 2, rel=1e-6, abs=0)
    assert p.energy(1.0, "logic") < wire < 1.0
    assert p.area(1.0, "memristor") == pytest.approx(0.0092, rel=1e-6, abs=0)
    assert p.area(1.0, "offchip") == 1.0


def test_projection_keeps_leakage_at_sky130():
    """Stillmaker & Baas fit dynamic energy and delay: a logic add's energy moves by
    their energy factor, its leakage (static) keeps its SKY130 value."""
    from imcspice.accelerators.cost import CostSheet, Entry
    from imcspice.accelerators.evaluate import projection
    sheet = CostSheet()
    sheet.energy += [Entry(0, "ffn.in", "adder", "energy", 1, 2e-12, "spice", "", "logic"),
                     Entry(-1, "static", "adder", "static", 1, 3e-12, "spice", "", "logic")]
    sheet.latency.append(Entry(0, "ffn.in", "adder", "latency", 1, 1e-9, "spice", "", "logic"))
    p = scaling.project_from_sky130(7)
    got = projection(sheet)
    assert got["energy_j"] == pytest.approx(2e-12 * p.energy_factor + 3e-12, rel=1e-12, abs=0)
    assert "leakage" in got["rule"]


@pytest.mark.parametrize("call, msg", [
    (lambda: scaling.scale_energy(1.0, 22, 7), "no Stillmaker & Baas fit"),
    (lambda: scaling.scale_energy(1.0, 130, 5), "valid nodes"),
    (lambda: scaling.scale_energy(1.0, "130", 7), "node in nm"),
    (lambda: scaling.scale_energy(float("inf"), 130, 7), "finite"),
    (lambda: scaling.scale_area(-1.0, 130, 7), ">= 0"),
    (lambda: scaling.scale_energy(1.0, 130, 7, to_vdd_v=0.0), r"\(0, 2.0\]"),
    (lambda: scaling.scale_energy(1.0, 130, 7, to_vdd_v=5.0), r"\(0, 2.0\]"),
    (lambda: scaling.scale_energy(1.0, 130, 7, flavor="xp"), "flavor"),
    (lambda: scaling.scale_energy_kind(1.0, 130, 7, "analog"), "kind must be one of"),
    (lambda: scaling.project(130, 7, source_name=""), "source_name"),
])
def test_scaling_bad_inputs(call, msg):
    with pytest.raises(ValueError, match=msg):
        call()


# ----------------------------------------------------------------------------
# periphery
# ----------------------------------------------------------------------------
REFERENCE_VALUES = {  # ../shared/REFERENCE.md, "Periphery and digital energy"
    "adc_sar_4b": 0.79, "adc_sar_5b": 0.99, "adc_sar_6b": 1.20, "adc_sar_7b": 1.42,
    "adc_sar_8b": 1.67, "edram_64kb": 20.45, "router_256b": 20.74,
    "int8_add": 0.03, "int8_mult": 0.2, "fp16_add": 0.4, "fp16_mult": 1.1,
    "fp32_add": 0.9, "fp32_mult": 3.7,
    "sram_8kb_64b": 10.0, "sram_32kb_64b": 20.0, "sram_1mb_64b": 100.0,
}


@pytest.mark.parametrize("name, value", sorted(REFERENCE_VALUES.items()))
def test_periphery_matches_reference_at_native_node(name, value):
    e = periphery.get_entry(name)
    assert periphery.energy_pj(name) == pytest.approx(value, abs=1e-3)
    assert periphery.energy_pj(name, e.node_nm) == periphery.energy_pj(name)
    assert e.node_nm == (32 if name.startswith(("adc", "edram", "router")) else 45)
    assert e.source


def test_periphery_dac_dram_and_areas():
    assert periphery.energy_pj("dac_1b") == pytest.approx(0.42, abs=0.005)
    lo, hi = periphery.energy_range_pj("dram_64b")
    assert (lo, hi) == (1300.0, 2600.0) and lo <= periphery.energy_pj("dram_64b") <= hi
    assert periphery.area_mm2("adc_sar_8b") == pytest.approx(0.0012, rel=1e-6, abs=0)
    assert periphery.area_mm2("edram_64kb") == pytest.approx(0.083, rel=1e-6, abs=0)
    assert periphery.area_mm2("router_256b") == pytest.approx(0.151, rel=1e-6, abs=0)
    assert not periphery.get_entry("adc_sar_8b").area_is_assumption
    assert periphery.get_entry("adc_sar_4b").area_is_assumption
    areas = [periphery.adc_area_mm2(b) for b in periphery.ADC_BITS]
    energies = [periphery.adc_energy_pj(b) for b in periphery.ADC_BITS]
    assert all(x < y for x, y in zip(areas, areas[1:]))
    assert all(x < y for x, y in zip(energies, energies[1:]))


def test_periphery_scaling():
    e7 = periphery.energy_pj("adc_sar_8b", 7)
    assert e7 == pytest.approx(scaling.scale_energy(1.67, 32, 7), rel=1e-6, abs=0)
    assert e7 < 1.67
    # Horowitz numbers were reported at 0.9 V (45 nm): scaling starts from 0.9 V
    assert periphery.energy_pj("fp32_mult", 7) == pytest.approx(
        scaling.scale_energy(3.7, 45, 7, from_vdd_v=0.9), rel=1e-6, abs=0)
    assert periphery.energy_pj("dram_64b", 7) == 1950.0  # off-chip: not scaled
    assert periphery.energy_pj("edram_bus_1b", 7) == pytest.approx(
        0.054 * math.sqrt(scaling.AREA_FACTOR[32][7]) * (0.7 / 0.9) ** 2, rel=1e-6, abs=0)
    assert periphery.area_mm2("adc_sar_8b", 7) == pytest.approx(0.0012 * 0.13, rel=1e-6, abs=0)
    # larger node -> more energy
    assert periphery.energy_pj("int8_add", 130) > periphery.energy_pj("int8_add") > periphery.energy_pj("int8_add", 7)


@pytest.mark.parametrize("call, msg", [
    (lambda: periphery.energy_pj("adc_12b"), "unknown periphery entry"),
    (lambda: periphery.energy_pj("adc_sar_8b", 28), "no Stillmaker & Baas fit"),
    (lambda: periphery.adc_energy_pj(9), "ADC resolution"),
    (lambda: periphery.adc_energy_pj(True), "ADC resolution"),
    (lambda: periphery.area_mm2("sram_8kb_64b"), "no area recorded"),
    (lambda: periphery.energy_pj("int8_add", 45, flavor="bad"), "flavor"),
    (lambda: periphery.PeripheryEntry("x", "x", -1.0, "op", 45, "logic", "s"), "energy_pj must be > 0"),
    (lambda: periphery.PeripheryEntry("x", "x", 1.0, "op", 28, "logic", "s"), "node_nm"),
    (lambda: periphery.PeripheryEntry("x", "x", 1.0, "op", 45, "magic", "s"), "scaling_kind"),
])
def test_periphery_bad_inputs(call, msg):
    with pytest.raises(ValueError, match=msg):
        call()
