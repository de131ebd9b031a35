"""The crossbar column read priced at the mapped bit-line loads (issue 11: accuracy and
cost describe the same machine; accelerators/xbar_loads.py, components._at_mapped_loads).

Expected values are worked by hand (the loads of a small weight matrix) or read from
the crossbar-column model directly at those loads, never from the pricing code."""
from __future__ import annotations

import tomllib
import warnings

import numpy as np
import pytest

from imcspice.accelerators import arch, components, hardware
from imcspice.accelerators.analog import CrossbarLinear
from imcspice.accelerators.ir_profile import bitline_loads
from imcspice.accelerators.weight_scale import normalized_weights
from imcspice.accelerators.xbar_loads import MappedLoads, mapped_loads
from imcspice.errors import ArchError

# 2 output columns, 4 input rows, read in 2-row tiles, each column scaled by its own max
# |w| (w_scale = "column"): column 0 = (1, -1, 0.5, 0) / 1, column 1 = (0.2, 0.2, -0.4,
# 0) / 0.4 = (0.5, 0.5, -1, 0). Load of a bit line = mean over the tile's rows of
# max(+-w, 0):
#   G+: tile 0 (rows 0-1) col 0 (1 + 0)/2 = 0.5,  col 1 (0.5 + 0.5)/2 = 0.5
#       tile 1 (rows 2-3) col 0 (0.5 + 0)/2 = 0.25, col 1 (0 + 0)/2 = 0
#   G-: tile 0 col 0 (0 + 1)/2 = 0.5, col 1 0;  tile 1 col 0 0, col 1 (1 + 0)/2 = 0.5
W = np.array([[1.0, -1.0, 0.5, 0.0], [0.2, 0.2, -0.4, 0.0]])   # (out, in)
HAND = np.array([[[0.5, 0.5], [0.25, 0.0]], [[0.5, 0.0], [0.0, 0.5]]])   # (G+/G-, tile, out)


def test_bitline_loads_by_hand():
    wn, w_max = normalized_weights(W, "column")
    np.testing.assert_allclose(w_max, [[1.0, 0.4]])
    np.testing.assert_allclose(bitline_loads(wn, 2), HAND, atol=1e-15)


def test_bitline_loads_by_hand_with_tile_scales():
    # each 2-row tile's column by its own max |w|: column 0 tiles (1, -1) / 1, (0.5, 0) /
    # 0.5 = (1, 0); column 1 (0.2, 0.2) / 0.2 = (1, 1), (-0.4, 0) / 0.4 = (-1, 0)
    wn, w_max = normalized_weights(W, "tile", tile_rows=2)
    np.testing.assert_allclose(w_max, [[1.0, 0.2], [0.5, 0.4]])
    hand = np.array([[[0.5, 1.0], [0.5, 0.0]], [[0.5, 0.0], [0.0, 0.5]]])
    np.testing.assert_allclose(bitline_loads(wn, 2), hand, atol=1e-15)
    with pytest.raises(ValueError, match="tile"):
        normalized_weights(W, "tile")


@pytest.fixture(scope="module")
def hw():
    return hardware.HardwareModels.from_dir()


def _model_at(hw, quantity, loads):
    """The shipped crossbar-column model at RACE-IT's read point (128 rows, 2.5 ohm,
    0.2 V, 27 C: race-it.toml), every setting the sweep pinned at its value."""
    m = hw.need("crossbar-column")
    pt = {k: float(v[0]) for k, v in m.valid_range.items()
          if k != "corner" and v[0] == v[1] and k in m.functions[quantity].inputs}
    pt.update(rows=128.0, r_bl_ohm=2.5, v_read_v=0.2, temp_c=27.0,
              frac_on=np.asarray(loads, float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(m.evaluate(quantity, corner="tt", **pt), float).ravel()


def test_read_priced_at_the_mapped_loads(hw):
    """Latency: the slowest column's settling (the heaviest load, 0.5: settling grows
    with the load); energy per column read: the mean over the 8 bit lines of each
    one's energy at its own load, stretched to that window by its own average power."""
    L = HAND.ravel()
    figs = components.resolve(arch.load("race-it"), hw, MappedLoads(L, "hand-built W"))
    xb = figs["crossbar"]
    t = _model_at(hw, "t_settle_s", L)
    t_max_load = _model_at(hw, "t_settle_s", [0.5])[0]
    assert t_max_load == pytest.approx(t.max(), rel=1e-12, abs=0)
    assert xb["latency"].value == pytest.approx(t_max_load, rel=1e-9, abs=0)
    for fig, q in (("energy", "e_read_j"), ("tia_energy", "e_tia_j")):
        e = _model_at(hw, q, L)
        assert xb[fig].value == pytest.approx(np.mean(e / t) * t_max_load, rel=1e-9, abs=0)
        assert xb[fig].source == "spice"
        assert "mapped bit-line loads" in xb[fig].detail and "hand-built W" in xb[fig].detail
    # the light columns cost less than the heaviest one read over the same window
    e_heavy = _model_at(hw, "e_read_j", [0.5])[0]
    assert xb["energy"].value < e_heavy


def test_a_number_still_prices_one_stated_load(hw):
    raw = tomllib.loads(arch.resolve_path("race-it").read_text())
    for f in ("energy", "tia_energy", "latency"):
        raw["components"]["crossbar"][f]["at"] = {"frac_on": 0.2}
    figs = components.resolve(arch.from_dict(raw), hw)["crossbar"]
    assert figs["energy"].value == pytest.approx(_model_at(hw, "e_read_j", [0.2])[0],
                                                 rel=1e-9, abs=0)
    assert figs["latency"].value == pytest.approx(_model_at(hw, "t_settle_s", [0.2])[0],
                                                  rel=1e-9, abs=0)


def test_mapped_needs_the_latency_at_the_mapped_loads(hw):
    raw = tomllib.loads(arch.resolve_path("race-it").read_text())
    raw["components"]["crossbar"]["latency"]["at"] = {"frac_on": 0.2}
    with pytest.raises(arch.ArchError, match="read window"):
        components.resolve(arch.from_dict(raw), hw, MappedLoads(HAND.ravel(), "hand"))


def test_cost_and_accuracy_read_the_same_loads(hw):
    """One implementation: the loads the cost prices are those CrossbarLinear (the
    accuracy path) maps, outlier rows removed alike (calibration ranges with a few
    channels 10x the median), for every crossbar operator of RACE-IT on MiniLM, each cell
    set against its transistor and bit line as the shipped "compensated" mapping does."""
    from imcspice.accelerators.workloads import get_workload, operator_graph
    from imcspice.accelerators.xbar_loads import network_weights
    a = arch.load("race-it")
    xb = a.component("crossbar")
    weights = network_weights("minilm")
    ops = [op.qualified_name for op in operator_graph(get_workload("minilm"), 1)
           if a.engine_for(op.name, op.kind) == "crossbar"]
    assert len(ops) == 36            # 6 layers x (q, k, v, out, ffn.in, ffn.out)
    rng = np.random.default_rng(0)
    ranges = {}
    for n in ops:
        r = rng.uniform(1.0, 2.0, weights[n].shape[1])
        r[rng.choice(r.size, 3, replace=False)] *= 10.0       # 3 outliers
        ranges[n] = {"in_ch": r}
    assert xb["ir_profile"] == "compensated"
    got = mapped_loads(a, "minilm", ranges, hw)
    dev = hardware.crossbar_device(hw, xb)
    want = [CrossbarLinear(weights[n], dev, None, ranges[n]["in_ch"], 0,
                           float(xb["w_clip_pct"]), float(xb["outlier_factor"]),
                           w_scale=xb["w_scale"]).loads.ravel() for n in ops]
    np.testing.assert_allclose(got.loads, np.concatenate(want), rtol=1e-6, atol=1e-7)
    assert "108 outlier input rows digital" in got.source   # 36 x 3


def test_shape_only_workload_borrows_the_default_networks_loads():
    # the uncompensated targets' loads need no device models (the shipped HeTraX
    # compensates them: its loads need the models, and say so without them)
    a = arch.load("hetrax", ["crossbar.ir_profile=column"])
    with pytest.raises(ArchError, match="compensated.*need the models"):
        mapped_loads(arch.load("hetrax"))
    own, proxy = mapped_loads(a), mapped_loads(a, "bert-base")
    np.testing.assert_array_equal(own.loads, proxy.loads)
    assert "bert-base ships no weights" in proxy.source and "assumption" in proxy.source
