"""gaincell-array on real ngspice + SKY130: what the RC read word line does to the columns.

The word line is driven from column 0's end (circuits/gaincell_array.py), so the query
pulse reaches far columns later, with slower edges, and their charge deviates from
column 0's more the farther and the more resistive the line is. A one-column array is a
gaincell-mac column (REFERENCE.md "Gain-cell attention": 64x64 arrays, 0.9 V pulses).
"""
import numpy as np
import pytest

from imcspice.characterize.runner import run_sweep
from imcspice.characterize.sweep import SweepSpec

R_METAL, R_MID, R_POLY = 0.2, 500.0, 2000.0   # Ohm per column segment


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return tmp_path_factory.mktemp("gaincell_array")


def _ok(raw):
    assert raw.status_counts() == {"ok": raw.status.size}, list(raw.message.ravel())


#: the word line's effects do not depend on the column integrator; the behavioral op-amp
#: keeps 32 columns cheap (the OTA integrator adds 9 SKY130 devices per column: the
#: array with OTAs runs in tests/test_tight_tolerance.py and tests/test_gaincell_coverage.py)
INTEGRATOR = "behavioral"


@pytest.fixture(scope="module")
def arr(pool, out):
    spec = SweepSpec("gaincell-array", {"cols": [1, 8, 32], "rows": [4],
                                        "r_seg_ohm": [R_METAL, R_MID, R_POLY],
                                        "integrator": [INTEGRATOR]})
    raw = run_sweep(spec, out / "array.raw.h5", pool=pool, progress=False)
    _ok(raw)
    return raw


def _sel(raw, q, cols, r):
    v, axes = raw.select(q, corner="tt", temp_c=27, cols=cols, rows=4, r_seg_ohm=r,
                         integrator=INTEGRATOR)
    assert axes == ["col"]
    assert v.shape == (64,)
    return np.asarray(v)


def test_shape_nan_past_cols(arr):
    for cols in (1, 8, 32):
        q = _sel(arr, "q_col_c", cols, R_MID)
        assert np.all(np.isfinite(q[:cols])) and np.all(np.isnan(q[cols:]))
        assert np.all(q[:cols] > 0)          # vs = 0.6 V > zero crossing: cells sink
        assert _sel(arr, "q_err_rel", cols, R_MID)[0] == 0.0


def test_far_column_pulse_is_later_and_shorter(arr):
    d = _sel(arr, "t_delay_s", 32, R_POLY)
    w = _sel(arr, "t_pulse_eff_s", 32, R_POLY)
    assert np.all(np.diff(d[:32]) > 0)       # delay grows along the line
    assert d[31] > d[0] + 100e-12, d[[0, 31]]
    assert w[31] < w[0]                      # slowed edges: shorter above 50 %
    # a metal word line hardly delays the pulse
    assert _sel(arr, "t_delay_s", 32, R_METAL)[31] < 20e-12
    assert abs(_sel(arr, "t_pulse_eff_s", 32, R_METAL)[31] - 10e-9) < 5e-12


def test_charge_error_grows_with_column_and_resistance(arr):
    far = {}
    for r in (R_METAL, R_MID, R_POLY):
        e = np.abs(_sel(arr, "q_err_rel", 32, r)[:32])
        assert np.all(np.diff(e) >= -1e-6), (r, e)   # grows with the column index
        far[r] = e[31]
    assert far[R_METAL] < 1e-4                     # metal line: negligible
    assert far[R_METAL] < far[R_MID] < far[R_POLY]
    assert far[R_POLY] > 1e-2                      # poly-like line: percent level
    # a longer line (more columns) gives a larger far-end error at the same R per segment
    assert np.abs(_sel(arr, "q_err_rel", 8, R_POLY)[7]) < far[R_POLY]


def test_single_column_matches_gaincell_mac(arr, pool, out):
    spec = SweepSpec("gaincell-mac", {"rows": [4], "integrator": [INTEGRATOR]})
    mac = run_sweep(spec, out / "mac.raw.h5", pool=pool, progress=False)
    _ok(mac)
    q_mac, axes = mac.select("q_col_c", corner="tt", temp_c=27, rows=4,
                             integrator=INTEGRATOR)
    k = int(np.argmin(np.abs(np.asarray(mac.axis("t_pulse_s")) - 10e-9)))
    q_one = _sel(arr, "q_col_c", 1, R_METAL)[0]    # default t_pulse 10 ns, vs 0.6 V
    assert abs(q_one - q_mac[k]) < 0.03 * abs(q_mac[k]), (q_one, q_mac[k])
    # the integrator output follows the charge: vref + q/cint (cint 500 fF)
    v = _sel(arr, "v_int_v", 1, R_METAL)[0]
    assert abs(v - (0.45 + q_one / 500e-15)) < 0.01
