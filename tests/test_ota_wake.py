"""The power-gated OTA TIA (circuits/ota.py gated_subckt, characterize/ota_wake.py): its
wake-up, measured in ngspice, against a tight-tolerance run and hand figures."""
import pytest

from imcspice.characterize import ota_wake
from imcspice.circuits import gated_ota, ota


@pytest.fixture(scope="module")
def runs():
    c = ota_wake.WakeCase(i_col_a=168e-6)         # 40 uA tail, n2 = 1.05, r_f 25 ohm
    return c, ota_wake.measure(c), ota_wake.measure(c, tight=True)


def test_wake_agrees_with_a_tight_tolerance_run(runs):
    _, w, ref = runs                              # Gear, reltol 1e-6, 1 ps steps
    assert w.t_wake_s == pytest.approx(ref.t_wake_s, rel=0.01)
    assert w.e_wake_j == pytest.approx(ref.e_wake_j, rel=0.01)
    assert w.v_out_v == pytest.approx(ref.v_out_v, abs=2e-4)


def test_gated_tia_settles_where_an_ideal_tia_would_and_draws_its_hand_current(runs):
    c, w, _ = runs
    # the transient settles to the enabled TIA's DC operating point (another analysis)
    assert w.v_out_v == pytest.approx(ota_wake.settled_op_v(c), abs=c.band_v / 2)
    # a TIA's transimpedance is r_f: doubling the column current moves the output by
    # -i_col r_f (the OTA's offset, ~2 mV here, cancels in the difference)
    v2 = ota_wake.settled_op_v(ota_wake.WakeCase(i_col_a=2 * c.i_col_a))
    assert (w.v_out_v - v2) / c.i_col_a == pytest.approx(c.r_f_ohm, rel=0.05)
    # on: tail I5 = ibias plus output stage I7 = k2 n2 ibias from the 1.8 V supply (the
    # bias diode M8 is the shared generator's); 15 %: channel-length modulation
    k2 = float(ota.OtaParams.k2)
    p_hand_w = 1.8 * c.ibias_a * (1 + k2 * c.n2)
    assert w.p_on_w == pytest.approx(p_hand_w, rel=0.15)
    # gated off: both stages' gates at vdd, leakage only (< 1e-5 of the on power)
    assert w.p_off_w < 1e-5 * w.p_on_w
    # it wakes inside the 100 ns before its read; class A, both stages draw at most
    # their bias from the supply while it wakes (no column current yet)
    assert 0 < w.t_wake_s < gated_ota.T_READ_S - gated_ota.T_ON_S - 5e-9
    assert 0 < w.e_wake_j <= 1.15 * p_hand_w * w.t_wake_s


def test_gated_subckt_is_the_ota_with_switched_bias():
    base, gated = ota.subckt(), ota.gated_subckt()
    same = [line for line in base if line.startswith(("Xm1 ", "Xm2 ", "Xm3 ", "Xm4 ", "Xm6 ",
                                                      "Rz ", "Cc "))]
    assert all(line in gated for line in same)
    assert not any(line.startswith(("Ib ", "Xm8 ")) for line in gated)
    assert sum(" vbl " in line for line in gated) == 5      # M5, M7 gates + three switches
