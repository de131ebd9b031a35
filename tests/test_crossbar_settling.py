"""The shipped crossbar-column model's TIA settling time (t_settle_s) against expectations
that do not come from its fit: the bandwidth bound of the SKY130 OTA that reads the
column (its own characterized model), and the ngspice raw sweep it was fitted from
(points the fit held out)."""
import math
from pathlib import Path

import numpy as np
import pytest

from imcspice.characterize.rawfile import read
from imcspice.models.store import load

DATA = Path(__file__).resolve().parents[1] / "models" / "data"
MODEL = DATA / "crossbar-column.model.h5"
RAW = DATA / "raw" / "crossbar-column.raw.h5"


@pytest.fixture(scope="module")
def model():
    return load(MODEL)


def _raw_axis(name):
    return [float(x) for x in read(RAW).axis(name)]


def _raw(quantity, **at):
    """One ngspice point of the shipped raw sweep (every outer axis pinned by ``at`` or
    single-valued)."""
    raw = read(RAW)
    idx = []
    for name in raw.outer:
        ax = raw.axis(name)
        if name in at:
            idx.append(int(np.flatnonzero(ax == at[name] if ax.dtype.kind in "OUS"
                                          else np.isclose(ax, at[name]))[0]))
        else:
            assert len(ax) == 1, name
            idx.append(0)
    return float(raw.data[quantity][tuple(idx)])


@pytest.mark.parametrize("rows, frac", [(16, 0.25), (128, 0.0), (128, 0.25)])
def test_settling_is_bounded_by_the_ota_bandwidth(model, rows, frac):
    # The TIA is the SKY130 OTA (the shipped sweep's 40 uA tail): a loop around an
    # amplifier of unity-gain frequency GBW, feedback factor <= 1, settles to 1 % no
    # faster than a single pole at GBW: ln(100) / (2*pi*GBW). GBW = gm1/(2*pi*Cc), and gm1
    # grows at most linearly with the tail current (gm/I is largest in weak inversion), so
    # GBW(40 uA) <= 2 x GBW(20 uA) of the OTA's own characterized model (recipe ota,
    # 200 fF load: ~87 MHz -> bound ~4.2 ns)
    assert _raw_axis("ota_ibias_a") == [40e-6]
    gbw = 2 * float(load(DATA / "ota.model.h5").evaluate("gbw_hz", ibias_a=20e-6,
                                                         cl_f=200e-15))
    bound = math.log(100) / (2 * math.pi * gbw)
    t = float(model.settling_time(rows=float(rows), r_bl_ohm=2.5, frac_on=frac,
                                  v_read_v=0.2, temp_c=27.0))
    spice = _raw("t_settle_s", rows=rows, r_bl_ohm=2.5, frac_on=frac, v_read_v=0.2,
                 temp_c=27.0)
    assert spice > bound and t > bound


@pytest.mark.parametrize("temp", [27.0, 95.0])
def test_settling_at_the_accelerators_read_point(model, temp):
    # race-it / hetrax read their crossbars at rows 128, r_bl 2.5 ohm, 0.2 V and price
    # the read at frac_on 0.154 (accelerators/data/arch/*.toml), between the swept 1/8
    # and 3/16; the 96-row line is held out of the fit (seed 0; 128 rows is the grid's
    # edge, trained), so this compares with ngspice points the fit did not see, next to
    # the read point
    spice = _raw("t_settle_s", rows=96, r_bl_ohm=2.5, frac_on=0.1875, v_read_v=0.2,
                 temp_c=temp)
    t = float(model.settling_time(rows=96.0, r_bl_ohm=2.5, frac_on=0.1875, v_read_v=0.2,
                                  temp_c=temp))
    assert t == pytest.approx(spice, rel=TOL_READ_POINT)


#: measured on the shipped model (OTA TIA, 240-point sweep, form crossbar-settling-n2):
#: next to the read point the held-out settling is within 2.2 % (27 C) and 1.8 % (95 C)
#: of ngspice (the trained 128-row line: 0.4 %, 0.8 %; with crossbar-settling-off 1.9,
#: 3.4, 1.0, 0.4 %); the tolerance is an earlier fit's held-out t_settle_s error (9.0 %
#: FS; the worst held-out point now, 6.80 % FS, is at 16 rows, frac_on 1/16, 95 C)
TOL_READ_POINT = 0.09
