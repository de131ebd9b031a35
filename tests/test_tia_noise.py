"""The crossbar TIA's own output noise (characterize/tia_noise.py), measured with
ngspice's noise analysis, against the OTA's input noise from another deck (recipe ota,
open loop: models/data/ota.model.h5) and the feedback law."""
import math
import warnings

import numpy as np
import pytest

from imcspice.accelerators import hardware
from imcspice.characterize import ota_wake, tia_noise


@pytest.fixture(scope="module")
def shipped():
    return tia_noise.measure(ota_wake.WakeCase())        # 40 uA tail, r_f 25 ohm, 672 uA


def _ota(q):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = hardware.HardwareModels.from_dir().get("ota")
        return float(np.ravel(m.evaluate(q, corner="tt", ibias_a=40e-6, cl_f=1e-13))[0])


def test_tia_output_noise_is_its_otas_input_noise(shipped):
    """Below ~100 MHz the bit line (128 fF, > 40 kOhm) barely loads the inverting input,
    so the noise gain 1 + r_f / Z_bl is 1 and the output density is the OTA's input-
    referred density, which the ota recipe measures open loop (556 nV/rtHz at 1 kHz,
    a floor of 18.1 nV/rtHz): measured 559 and 17.6 here."""
    assert shipped.density_at(1e3) == pytest.approx(_ota("vn_1khz_v_per_rthz"), rel=0.05)
    assert shipped.density_at(3e7) == pytest.approx(_ota("vn_floor_v_per_rthz"), rel=0.10)


def test_input_referred_current_falls_as_one_over_r_f(shipped):
    """Same output density at 1 MHz with 4x the feedback (noise gain 1), so the current
    referred to the input, v_n / r_f, is 4x smaller: the 25 ohm TIA's weakness."""
    r100 = tia_noise.measure(ota_wake.WakeCase(r_f_ohm=100.0))
    assert r100.density_at(1e6) == pytest.approx(shipped.density_at(1e6), rel=0.02)
    assert r100.swing_v == pytest.approx(4 * shipped.swing_v, rel=1e-12)


def test_shipped_tia_noise_against_one_cell(shipped):
    # one full-weight pair at 0.2 V: 99 uS x 0.5 V sinh(0.4) = 20.35 uA, by hand
    assert tia_noise.I_CELL_A == pytest.approx(99e-6 * 0.5 * math.sinh(0.4), rel=1e-12)
    # up to the OTA's 150 MHz GBW: about 18 nV/rtHz x sqrt(150 MHz) = 0.22 mV (the
    # density falls to 14.5 nV/rtHz at 100 MHz; the 1/f part adds a little), i.e. 0.22
    # mV / 25 ohm = 8.8 uA, 0.43 of a cell pair, referred to the input; measured
    # 2026-12-04: 0.208 mV, 0.408 pairs, 1.24 % of the 16.8 mV swing
    assert shipped.swing_v == pytest.approx(672e-6 * 25.0, rel=1e-12)
    assert shipped.rms_v(f_hi_hz=150e6) > 0.15e-3
    assert shipped.cells(f_hi_hz=150e6) > 0.3


@pytest.mark.parametrize("argv", [["--r-f", "-5"], ["--i-col", "abc"], ["--f-band", "inf"]])
def test_cli_refuses_non_physical_sizes_in_one_line(argv, capsys):
    with pytest.raises(SystemExit) as e:
        tia_noise.main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("python -m imcspice.characterize.tia_noise: error: argument")
