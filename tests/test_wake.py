"""A gated OTA's wake-up before its read, priced per read (recipes tia-wake and
integrator-wake, circuits/gated_ota.py, models/data/{tia,integrator}-wake.model.h5): the
shipped models against fresh ngspice points they were not fitted on, the benches against
hand figures, and each column read or conversion paying one wake."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from imcspice.accelerators import arch, components, cost, hardware, mapping
from imcspice.accelerators.workloads import get_workload
from imcspice.characterize import ngspice
from imcspice.characterize.defaults import READOUT_TIA
from imcspice.characterize.recipe import RECIPES
from imcspice.circuits import ota
from imcspice.circuits.technology import get_technology

# off every swept line: rows 16..128 (100 is not one), v_read 0.2 / 0.3, 27/45/60/95 C
POINT = {"rows": 100, "v_read_v": 0.25}
TEMP_C = 52.0


def _spice(recipe: str, point: dict, temp_c: float):
    r = RECIPES.get(recipe)
    p = r.resolve(point)
    ng = ngspice.get()
    ng.load(r.netlist(get_technology(), p, "tt", temp_c))
    return p, {k: float(np.asarray(v).ravel()[0]) for k, v in r.simulate(ng, p).items()}


@pytest.fixture(scope="module")
def fresh():
    """ngspice at POINT with the shipped sweep's TIA (40 uA, Rz 2.5 kOhm, its feedback
    trimmed as characterize/defaults.py READOUT sets it)."""
    return _spice("tia-wake", {**POINT, **{k: v[0] for k, v in READOUT_TIA.items()}}, TEMP_C)


#: off the integrator sweep's lines (10, 14.1, 20, 28.3, 40 uA; 27/45/60/95 C)
INT_POINT = {"ota_ibias_a": 17e-6}
INT_TEMP_C = 52.0


@pytest.fixture(scope="module")
def fresh_int():
    return _spice("integrator-wake", INT_POINT, INT_TEMP_C)


@pytest.fixture(scope="module")
def hw():
    return hardware.HardwareModels.from_dir()


def _model(hw, q, kind="tia-wake", **at):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(np.asarray(hw.get(kind).evaluate(q, corner="tt", **at)).ravel()[0])


def test_wake_model_reads_a_point_it_was_not_fitted_on(fresh, hw):
    """Held out in the fit (the trimmed feedback, 2026-12-05): t_wake_s 1.65 % FS (a
    known miss at the output stage's one-copy kink), e_wake_j 0.86 % FS. The read
    voltage has two lines (0.2, 0.3 V), too few to hold one out, so between them the
    table is unchecked by the fit: held here to 1 pJ (~4 % of the ~25-36 pJ wake), the
    time to 0.25 ns (2.34 % FS of the 25 ohm model's 10.7 ns span)."""
    _, s = fresh
    at = {**POINT, "temp_c": TEMP_C}
    assert _model(hw, "e_wake_j", **at) == pytest.approx(s["e_wake_j"], abs=1e-12)
    assert _model(hw, "t_wake_s", **at) == pytest.approx(s["t_wake_s"], abs=0.25e-9)


def test_bench_reads_the_design_current_and_draws_its_bias(fresh):
    p, s = fresh
    # I_design = rows (g_off + 0.25 (g_on - g_off)) v0 sinh(v_read / v0), by hand:
    # 100 x 25.75 uS x 0.5 V sinh(0.5) = 0.6709 mA
    i_design = 100 * (1.0 + 0.25 * 99.0) * 1e-6 * 0.5 * math.sinh(0.25 / 0.5)
    assert s["i_in_a"] == pytest.approx(i_design, rel=1e-6)
    # on: tail + output stage, I5 (1 + k2 n2) from 1.8 V; n2 = I_design / (k2 I5)
    k2 = float(ota.OtaParams.k2)
    n2 = i_design / (ota.FS_PER_I7 * k2 * 40e-6)
    assert s["p_on_w"] == pytest.approx(1.8 * 40e-6 * (1 + k2 * n2), rel=0.15)
    # the TIA holds v_cm - i r_f (its offset, a few mV, within 5 mV), r_f trimmed to the
    # design current: (800^-4 + (I / 0.2 V)^4)^-1/4 = 296.6 ohm, by hand
    r_f = (800.0 ** -4 + (i_design / 0.2) ** 4) ** -0.25
    assert r_f == pytest.approx(296.6, abs=0.1)
    assert s["v_out_v"] == pytest.approx(0.45 - i_design * r_f, abs=5e-3)
    # class A while it wakes: at most its bias power for the wake, and not free
    assert 0.3 * s["p_on_w"] * s["t_wake_s"] < s["e_wake_j"] < 1.15 * s["p_on_w"] * s["t_wake_s"]
    assert s["p_off_w"] < 1e-5 * s["p_on_w"]
    # the always-on generator: its 40 uA reference through the bias diode from 1.8 V
    assert s["p_bias_w"] == pytest.approx(1.8 * 40e-6, rel=0.05)


@pytest.mark.parametrize("name", ["race-it", "hetrax"])
def test_each_column_read_pays_one_wake(hw, name):
    a = arch.load(name)
    figs_all = components.resolve(a, hw)
    figs = figs_all["crossbar"]
    fig = figs["tia_wake_energy"]
    xb = a.component("crossbar")
    at = {"rows": xb.get("rows"), "v_read_v": xb.get("v_read_v"), "temp_c": a.temp_c}
    # one gating cycle per read: the wake and the disable
    want = _model(hw, "e_wake_j", **at) + _model(hw, "e_off_j", **at)
    assert fig.value == pytest.approx(want, rel=1e-12) and fig.source == "spice"
    # gated off, each of the tile's 2 x cols TIAs leaks p_off_w; the tile's bias
    # generator draws p_bias_w
    assert figs["static"].value == pytest.approx(
        2 * xb.get("cols") * _model(hw, "p_off_w", **at) + _model(hw, "p_bias_w", **at),
        rel=1e-12)
    assert "tia-wake.model.h5" in fig.detail
    t_fig = figs["tia_wake_latency"]
    assert t_fig.value == pytest.approx(_model(hw, "t_wake_s", **at), rel=1e-12)
    m = mapping.build(a, get_workload("bert-base"), 16)
    reads = {c.op: c.actions for c in m.charges if c.figure == "tia_energy"}
    wakes = {c.op: c.actions for c in m.charges if c.figure == "tia_wake_energy"}
    assert reads and wakes == reads
    # the wake hides while the tile idles: every crossbar operator's conversions and
    # adds take longer per read than t_wake (RACE-IT ~140 ns, HeTraX ~2.3 us vs ~21 ns),
    # so no read is lengthened
    sheet = cost.price(m, figs_all)
    steps = {e.op: e.count for e in sheet.latency if e.component == "crossbar"}
    for op, n in steps.items():
        idle = sum(e.amount for e in sheet.latency if e.op == op and e.component != "crossbar")
        assert idle / n > t_fig.value, op
    assert not [e for e in sheet.latency if e.figure == "tia_wake_latency"]


def test_integrator_wake_model_reads_a_point_it_was_not_fitted_on(fresh_int, hw):
    """Held out in the fit (the 60 C line among them): e_wake_j 3.80 % FS of 0.87 pJ
    (0.033 pJ), t_wake_s 2.17 % FS of 15.4 ns (0.33 ns)."""
    _, s = fresh_int
    at = {**INT_POINT, "temp_c": INT_TEMP_C}
    assert _model(hw, "e_wake_j", "integrator-wake", **at) == pytest.approx(s["e_wake_j"],
                                                                            abs=0.033e-12)
    assert _model(hw, "t_wake_s", "integrator-wake", **at) == pytest.approx(s["t_wake_s"],
                                                                            abs=0.33e-9)


def test_integrator_bench_integrates_its_charge_and_draws_its_bias(fresh_int):
    p, s = fresh_int
    # the read: 200 fC drawn out of the input onto 0.5 pF lifts the output 0.4 V above vref
    assert s["v_out_v"] == pytest.approx(0.45 + 200e-15 / 500e-15, abs=5e-3)
    assert s["i_in_a"] == pytest.approx(200e-15 / 15e-9, rel=1e-6)
    # one output-stage copy: I5 (1 + k2) from 1.8 V, 15 %: channel-length modulation
    k2 = float(ota.OtaParams.k2)
    assert s["p_on_w"] == pytest.approx(1.8 * 17e-6 * (1 + k2), rel=0.15)
    assert 0.3 * s["p_on_w"] * s["t_wake_s"] < s["e_wake_j"] < 1.15 * s["p_on_w"] * s["t_wake_s"]
    assert s["p_off_w"] < 1e-5 * s["p_on_w"]
    assert s["p_bias_w"] == pytest.approx(1.8 * 17e-6, rel=0.05)


def test_each_conversion_pays_one_integrator_wake(hw):
    a = arch.load("gaincell")
    resolved = components.resolve(a, hw)
    figs = resolved["readout"]
    at = {"ota_ibias_a": 20e-6, "temp_c": a.temp_c}     # gaincell-readout's design point
    assert figs["wake_energy"].value == pytest.approx(
        _model(hw, "e_wake_j", "integrator-wake", **at)
        + _model(hw, "e_off_j", "integrator-wake", **at), rel=1e-12)
    assert figs["static"].value == pytest.approx(
        _model(hw, "p_off_w", "integrator-wake", **at), rel=1e-12)
    # one always-on bias generator per 64x64 array, for its integrators
    assert resolved["gaincell"]["static"].value == pytest.approx(
        _model(hw, "p_bias_w", "integrator-wake", **at), rel=1e-12)
    m = mapping.build(a, get_workload("gpt2"), 1024, 1, "decode")
    conv = {c.op: c.actions for c in m.charges if c.component == "readout"
            and c.figure == "energy"}
    wakes = {c.op: c.actions for c in m.charges if c.figure == "wake_energy"}
    assert conv and wakes == conv


def test_a_wake_model_fitted_before_p_bias_w_is_refused_with_its_refit():
    """A models directory fitted before the recipes read the bias generator (stop 49's):
    one line naming the missing output and the command that refits it."""
    class Old:
        kind = "tia-wake"
        functions = {q: None for q in ("e_wake_j", "e_off_j", "p_off_w", "t_wake_s")}
    a = arch.load("race-it")
    with pytest.raises(arch.ArchError, match=r"no output 'p_bias_w'.*build-defaults --only "
                                             r"tia-wake"):
        components.operating_point(a, a.component("crossbar"), {}, Old(), "p_bias_w")
