"""The stack's temperature and its ReRAM tiers' price solved together
(accelerators/thermal_coupled.py; issue 11: accuracy and cost describe the same machine).

Expected values: the fixed point of a one-tier, one-cell stack with a linear power(T)
worked by hand (series thermal resistances), the crossbar-column model evaluated
directly at the pricing temperature, and the residual T - thermal(power(T)) recomputed
here from the converged pricing temperature."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from imcspice.accelerators import arch, components, cost, hardware, mapping, thermal
from imcspice.accelerators import thermal_coupled as tc
from imcspice.accelerators.hetrax import stack_thermal, tier_powers
from imcspice.accelerators.workloads import get_workload
from imcspice.accelerators.xbar_loads import MappedLoads, mapped_loads

# one tier, one cell, no spreader: heat flows through the die's silicon and the TIM to
# the sink node, then through r_sink to ambient, all in series:
#   R = (t_si/k_si + t_tim/k_tim)/A + r_sink
#     = (50e-6/130 + 20e-6/4)/1e-4 + 0.2 = 0.0538462 + 0.2 = 0.2538462 K/W
T_AMB, R_HAND = 45.0, (50e-6 / 130 + 20e-6 / 4) / 1e-4 + 0.2
P0, DPDT, T_REF = 50.0, 1.0, 27.0      # power(T) = P0 + DPDT (T - T_REF), W


def _one_cell(power_w: float) -> float:
    stack = thermal.StackSpec(tiers=[thermal.TierSpec("r0", "reram", power_w=power_w)],
                              die_mm2=100.0, grid=1, ambient_c=T_AMB,
                              spreader_thickness_um=None)
    return float(thermal.solve(stack).peak_c[0])


def _power(t_c: float) -> float:
    return P0 + DPDT * (t_c - T_REF)


def test_one_cell_stack_is_the_hand_resistance():
    assert _one_cell(10.0) == pytest.approx(T_AMB + R_HAND * 10.0, rel=1e-12, abs=0)


def test_fixed_point_of_a_one_cell_stack_by_hand():
    """T = T_amb + R (P0 + k (T - T_ref))  =>  T* = (T_amb + R (P0 - k T_ref)) / (1 - R k).
    The plain iteration's error shrinks by R k each step; its residual g(T_n) - T_n =
    (R k - 1)(T_n - T*), so it stops at the first n with (1 - R k)(R k)^n |T_0 - T*| < tol."""
    rk = R_HAND * DPDT
    t_star = (T_AMB + R_HAND * (P0 - DPDT * T_REF)) / (1 - rk)
    n = next(i for i in range(50) if (1 - rk) * rk ** i * abs(T_REF - t_star) < tc.TOL_C)
    fp = tc.fixed_point(lambda t: ({"reram": _one_cell(_power(t["reram"]))}, None),
                        {"reram": T_REF})
    assert fp.converged and fp.iterations == n + 1
    t = fp.priced_c[-1]["reram"]
    assert t == pytest.approx(t_star + rk ** n * (T_REF - t_star), abs=1e-9)
    assert abs(t - t_star) < tc.TOL_C / (1 - rk)
    residual = T_AMB + R_HAND * _power(t) - t       # by hand, not from the iteration
    assert abs(residual) < tc.TOL_C and fp.residual_c == pytest.approx(abs(residual), rel=1e-9, abs=0)


def test_damping_converges_where_plain_iteration_diverges():
    """g(T) = a + b T with b = -1.5: plain iteration multiplies the error by b (diverges);
    damping d multiplies it by 1 + d (b - 1) = -0.25 at d = 0.5. Fixed point a / (1 - b)."""
    a, b = 100.0, -1.5

    def g(t):
        return {"x": a + b * t["x"]}, None
    plain = tc.fixed_point(g, {"x": 0.0}, max_iter=6)
    assert not plain.converged and plain.iterations == 6     # said, not raised
    damped = tc.fixed_point(g, {"x": 0.0}, damping=0.5)
    assert damped.converged
    assert damped.priced_c[-1]["x"] == pytest.approx(a / (1 - b), abs=tc.TOL_C)


@pytest.fixture(scope="module")
def hw():
    return hardware.HardwareModels.from_dir()


def _xbar_model_at(hw, quantity, loads, temp_c):
    """The shipped crossbar-column model at HeTraX's read point (128 rows, 2.5 ohm,
    0.2 V: hetrax.toml) at ``temp_c``, every setting the sweep pinned at its value."""
    m = hw.need("crossbar-column")
    pt = {k: float(v[0]) for k, v in m.valid_range.items()
          if k != "corner" and v[0] == v[1] and k in m.functions[quantity].inputs}
    pt.update(rows=128.0, r_bl_ohm=2.5, v_read_v=0.2, temp_c=temp_c,
              frac_on=np.asarray(loads, float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(m.evaluate(quantity, corner="tt", **pt), float).ravel()


def test_components_priced_at_their_temperature(hw):
    """Two points (27 and 80 C, inside the models' 27-95 C): the crossbar's latency and
    energy and the word-line driver's energy equal their models at that temperature; past
    the characterized range (110 C) the driver keeps its 95 C value and says it was
    clipped; a component not named stays at the description's temperature."""
    a = arch.load("hetrax")
    L = np.array([0.05, 0.1, 0.2, 0.3])
    loads = MappedLoads(L, "hand loads")
    base = components.resolve(a, hw, loads)
    seen = {}
    for t_c in (27.0, 80.0):
        f = components.resolve(a, hw, loads, {"crossbar": t_c, "dac": t_c})
        t = _xbar_model_at(hw, "t_settle_s", L, t_c)
        assert f["crossbar"]["latency"].value == pytest.approx(t.max(), rel=1e-9, abs=0)
        e = _xbar_model_at(hw, "e_read_j", L, t_c)
        assert f["crossbar"]["energy"].value == pytest.approx(np.mean(e / t) * t.max(),
                                                              rel=1e-9, abs=0)
        assert f"'temp_c': {t_c:g}" in f["crossbar"]["energy"].detail.replace(".0,", ",")
        # hetrax.toml: the driver of a 256-cell row at v_wl_v 0.2 V, per bit drive
        drive = hw.need("dac").evaluate("e_drive_j", corner="tt", n_cells=256.0,
                                        v_wl_v=0.2, temp_c=t_c)
        assert f["dac"]["energy"].value == pytest.approx(float(drive), rel=1e-9, abs=0)
        assert "clipped" not in f["dac"]["energy"].detail
        assert f["sm_sram"]["energy"].value == base["sm_sram"]["energy"].value
        seen[t_c] = f["crossbar"]["energy"].value, f["dac"]["energy"].value
    assert seen[80.0][0] != pytest.approx(seen[27.0][0], rel=1e-3, abs=0)  # T entered
    assert seen[80.0][1] != pytest.approx(seen[27.0][1], rel=1e-3, abs=0)
    hot = components.resolve(a, hw, loads, {"dac": 110.0})["dac"]["energy"]
    assert "temp_c=110 clipped to the characterized [27, 95]" in hot.detail
    at95 = components.resolve(a, hw, loads, {"dac": 95.0})["dac"]["energy"]
    assert hot.value == at95.value


def test_hetrax_cost_at_its_own_temperature(hw):
    """The converged HeTraX pricing (MiniLM weights, 16 tokens) satisfies
    T = thermal(power(T)) to the tolerance in both tier groups, recomputed here: the
    ReRAM tiers (crossbar, periphery) and the SM tiers (their SRAM buffers' model is
    characterized at 27, 60 and 95 C) are each priced at their hottest tier's peak."""
    a = arch.load("hetrax")
    loads = mapped_loads(a, hw=hw)
    shape = get_workload("minilm")

    def price(temps):
        f = components.resolve(a, hw, loads, temps)
        m = mapping.build(a, shape, 16, 1)
        return f, m, cost.price(m, f)
    c = tc.solve(a, hw, price)
    tiers = a.floorplan["tiers"]
    assert c.repriced == {"sm": True, "reram": True}
    assert c.iteration.converged and c.iteration.iterations <= 4
    assert set(c.temps_c) == set(tiers["reram"]["components"]) | set(tiers["sm"]["components"])
    t = {g: c.temps_c[tiers[g]["components"][0]] for g in tiers}
    for g in tiers:
        assert all(c.temps_c[k] == t[g] for k in tiers[g]["components"])
    # the residual, from the pricing temperatures alone
    f, m, sheet = price(dict(c.temps_c))
    res, _ = stack_thermal(a, tier_powers(a, sheet))
    for g in tiers:
        peak = max(p for p, tier in zip(res.peak_c, res.stack.tiers) if tier.kind == g)
        assert abs(peak - t[g]) < tc.TOL_C, g
    assert t["reram"] > a.temp_c + 10     # the ReRAM tiers run hot: ~46 C over a 45 C ambient
    assert t["sm"] > a.temp_c
    for comp in ("crossbar", "dac", "sm_sram"):
        g = "sm" if comp.startswith("sm") else "reram"
        assert f"'temp_c': {float(f'{t[g]:.6g}')!r}" in c.figures[comp]["energy"].detail, comp
    assert sheet.energy_j == pytest.approx(c.sheet.energy_j, rel=1e-12, abs=0)
    rep = tc.report(a, hw, c)
    assert rep["at_described_temp_c"] == {}
    assert rep["component_model_temp_range_c"] == {}     # every model measured there
    assert math.isfinite(rep["residual_c"]) and rep["residual_c"] < tc.TOL_C
