"""crossbar-column at the light loads the transformers put on their bit lines (frac_on
from 0) against an independent nodal analysis, junction areas on the 1T1R access
transistors, and the SKY130 OTA as the TIA (output inside the rails, hand gain)."""
import numpy as np

from imcspice.characterize.runner import run_sweep
from imcspice.characterize.sweep import SweepSpec
from imcspice.circuits import crossbar as cb
from test_crossbar import nodal_solution


def _sweep(tmp_path, name, axes, pool):
    raw = run_sweep(SweepSpec("crossbar-column", axes), tmp_path / f"{name}.raw.h5",
                    pool=pool, progress=False)
    assert raw.status_counts() == {"ok": raw.status.size}, raw.message.ravel()
    return raw


def test_column_with_every_cell_off_matches_nodal_analysis(tmp_path, pool):
    # frac_on = 0: all 32 cells at g_off = 1 uS, all inputs at 0.2 V; r_bl = 10 and
    # 1000 ohm per segment (u = r*g*rows^2 ~ 0.01 and ~1: a 0.36 % and a ~28 % drop)
    rows, r_wl = 32, 5.0
    raw = _sweep(tmp_path, "off", {"device": ["linear"], "rows": [rows], "frac_on": [0.0],
                                   "pattern": ["spread"], "r_bl_ohm": [10.0, 1000.0],
                                   "a0_v_per_v": [1e12]}, pool)
    i = raw.data["i_out_a"].ravel()
    d = raw.data["ir_drop_rel"].ravel()
    g = np.full((rows, 1), 1e-6)
    v = np.full(rows, 0.2)
    i_ideal = rows * 1e-6 * 0.2                        # by hand: sum of G*V
    for k, r_bl in enumerate((10.0, 1000.0)):
        i_ref = nodal_solution(g, v, r_wl, r_bl)[0][0]
        np.testing.assert_allclose(i[k], i_ref, rtol=1e-6)
        np.testing.assert_allclose(d[k], 1 - i_ref / i_ideal, rtol=1e-5, atol=1e-9)
    assert 0.003 < d[0] < 0.005 and 0.2 < d[1] < 0.4


def test_access_transistors_carry_junction_areas():
    # the 1T1R cell (PDK subcircuit) and the hoisted flat instance: ad = as = w*0.29 um^2,
    # pd = ps = 2*(w + 0.29) um (circuits/logic.py, SKY130 diffusion rules)
    text = "\n".join(cb.crossbar_netlist([[1e-5]], [0.2], "1t1r"))
    line = next(ln for ln in text.splitlines() if ln.startswith("Xa "))
    assert "ad={w*0.29}" in line and "pd={2*(w+0.29)}" in line and "ps={2*(w+0.29)}" in line
    from imcspice.circuits.technology import get_technology
    hoisted = cb.crossbar_netlist([[1e-5]], [0.2], "1t1r",
                                  access=cb.AccessTransistor(2.0), hoist=get_technology())
    m = next(ln for ln in hoisted if ln.startswith("Ma "))
    assert f"ad={2.0 * 0.29!r}" in m and f"as={2.0 * 0.29!r}" in m
    assert f"pd={2 * 2.29!r}" in m and f"ps={2 * 2.29!r}" in m and "={(0)}" not in m.split(
        "nrd")[0]


def test_ota_tia_output_inside_the_rails_with_the_hand_gain(tmp_path, pool):
    # 16 rows of 20 uS / 1 uS cells read at 0.2 V above v_cm = 0.6 V. Full scale (every
    # cell ON): I_fs = 16 * 20 uS * 0.2 V = 64 uA (+ the sinh excess); the output falls by
    # I*r_f from v_cm and must stay above the OTA's ~0.15 V low limit: r_f <=
    # (0.6 - 0.15) / 64 uA = 7.0 kOhm -> 5 kOhm. DC transfer: V(out) - v_cm =
    # -I * r_f * A / (1 + A), A the OTA's DC gain (>= 40 dB: within 1 %).
    rf = 5e3
    raw = _sweep(tmp_path, "ota", {"rows": [16], "tia": ["ota"], "r_f_ohm": [rf],
                                   "g_on_us": [20.0], "frac_on": [0.5, 1.0],
                                   "pattern": ["spread"], "v_read_v": [0.2]}, pool)
    i = raw.data["i_out_a"].ravel()
    v_out = raw.data["v_out_v"].ravel()
    node = raw.data["v_tia_out_v"].ravel()
    assert np.all(i > 0)
    np.testing.assert_allclose(v_out, -i * rf, rtol=0.01)
    np.testing.assert_allclose(node, 0.6 + v_out, atol=1e-9)
    assert np.all(node > 0.15) and np.all(node < 1.8 - 0.2)
    # the full-scale column: the hand bound above holds (64 uA less the access drop)
    assert 0.6 - 64.7e-6 * rf < node[1] < 0.6 - 0.8 * 64e-6 * rf
    # the bit line sits at the virtual ground v_cm (OTA offset + IR rise: a few mV)
    assert np.all(np.abs(raw.data["v_bl_far_v"].ravel()) < 5e-3)
    # supply: bias diode M8 + tail M5 (1x ibias each) + second stage M7 (k2 = 4 x ibias)
    # = 6 x 20 uA from 1.8 V = 216 uW (mirror ratios within ~10 %)
    np.testing.assert_allclose(raw.data["p_tia_w"].ravel(), 1.8 * 6 * 20e-6, rtol=0.1)
