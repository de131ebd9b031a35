"""The crossbar column's read energy over the settled read (e_read_j, form
crossbar-read-energy-settled, models/crossbar_energy.py): the form term by term by hand,
its composition with the model's own current and settling time, differentiable through
torch, and the shipped model against the ngspice raw sweep at the architectures' light
loads."""
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from imcspice.characterize.rawfile import read
from imcspice.models.store import load

DATA = Path(__file__).resolve().parents[1] / "models" / "data"
MODEL = DATA / "crossbar-column.model.h5"
RAW = DATA / "raw" / "crossbar-column.raw.h5"
FORM = "crossbar-read-energy-settled"


def test_settled_read_energy_form_by_hand():
    """A linear column (law = V) of 128 rows at frac_on 0.25 of 100 / 1 uS, 0.2 V read,
    v_cm 0.45 V: V_wl = 0.65 V; the output stage is sized for 128 x 25.75 uS x 0.2 V =
    659.2 uA (above the 160 uA one-copy floor), so a 1 mA column is at q = 1.5170.
    With a = 0.85, b = 1 ns, c = 1 fF, d = -0.02 and t_s = 20 ns:
    E = 0.65 x 1e-3 x (20e-9 x (0.85 - 0.02 x 1.5170) + 1e-9) + 1e-15 x 128 x 0.65^2."""
    import imcspice.models.crossbar_energy  # noqa: F401  (registers the form)
    from imcspice.models.forms import get_form
    ex = {"v0_v": np.array([0.0]), "v_cm_v": np.array([0.45]),
          "i_design_frac": np.array([0.25]), "i_floor_a": np.array([160e-6])}
    x = [np.array([128.0]), np.array([1.0]), np.array([0.25]), np.array([100.0]),
         np.array([1.0]), np.array([0.2]), np.array([1e-3]), np.array([20e-9])]
    p = np.array([0.85, 1e-9, 1e-15, -0.02])
    q = 1e-3 / (128 * 25.75e-6 * 0.2)
    assert q == pytest.approx(1.5170, abs=1e-4)
    want = 0.65 * 1e-3 * (20e-9 * (0.85 - 0.02 * q) + 1e-9) + 1e-15 * 128 * 0.65 ** 2
    f = get_form(FORM).func
    assert float(f(x, p, ex)[0]) == pytest.approx(want, rel=1e-12, abs=0)
    # below the floor (16 rows: 82.4 uA designed, 160 uA built) q is over the floor's current
    x16 = [np.array([16.0])] + x[1:6] + [np.array([50e-6]), np.array([20e-9])]
    want16 = 0.65 * 50e-6 * (20e-9 * (0.85 - 0.02 * 50e-6 / 160e-6) + 1e-9) \
        + 1e-15 * 16 * 0.65 ** 2
    assert float(f(x16, p, ex)[0]) == pytest.approx(want16, rel=1e-12, abs=0)
    # torch: dE/dt_s = V_wl*I*(a + d*q), by hand
    xt = [torch.tensor(v, dtype=torch.float64) for v in x]
    xt[7].requires_grad_(True)
    f(xt, torch.tensor(p), ex).sum().backward()
    assert float(xt[7].grad[0]) == pytest.approx(0.65 * 1e-3 * (0.85 - 0.02 * q), rel=1e-12, abs=0)


@pytest.fixture(scope="module")
def model():
    return load(MODEL)


def test_shipped_read_energy_is_a_table_and_says_why(model):
    """Since the 45 and 60 C lines were swept (2026-12-05), the hold-out takes the 60 C
    line out whole, and the settled form, whose parameters are fitted per temperature
    line, has no training point there: the fitter keeps the table (held out 1.58 % FS)
    and the file records why. The energy still obeys the read's physics: the drivers
    hold V_wl = v_cm + V = 0.65 V, so E ~ V_wl I t_s (short of it by the loop's recovery;
    the step's own charge ~1 fF per row)."""
    assert model.functions["e_read_j"].form == "table"
    assert round(model.heldout_error["outputs"]["e_read_j"]["max_pct_fs"], 2) == 1.58
    rows = np.array([32.0, 128.0])
    kw = dict(rows=rows, r_bl_ohm=2.5, frac_on=np.array([0.0625, 0.25]), v_read_v=0.2,
              temp_c=27.0)
    i = model.evaluate("i_out_a", **kw)
    t = model.evaluate("t_settle_s", **kw)
    e = model.read_energy(**kw)
    ratio = e / (0.65 * i * t)
    assert np.all((ratio > 0.75) & (ratio < 1.05)), ratio


def test_shipped_read_energy_differentiable_in_the_load(model):
    f = torch.tensor([0.0625, 0.125], dtype=torch.float64, requires_grad=True)
    e = model.read_energy(rows=torch.tensor(128.0, dtype=torch.float64), r_bl_ohm=2.5,
                          frac_on=f, v_read_v=0.2, temp_c=27.0)
    e.sum().backward()
    assert torch.all(torch.isfinite(f.grad)) and torch.all(f.grad > 0)   # more ON, more energy


def _raw(quantity, **at):
    raw = read(RAW)
    idx = []
    for name in raw.outer:
        ax = raw.axis(name)
        if name in at:
            idx.append(int(np.flatnonzero(np.isclose(ax.astype(float), at[name]))[0]))
        else:
            assert len(ax) == 1, name
            idx.append(0)
    return float(raw.data[quantity][tuple(idx)])


#: the light loads the architectures map (median ~0.12 of the span) read on the 128-row
#: tile: the 1/16 line is held out of the fit (seed 0), the 1/8 line trained. With the
#: readout trimmed per column (2026-12-05: light columns at its 400 ohm top, a 500 fF
#: hold) the energy, composed on the model's own settling time, misses the 1/16 line by
#: up to 3.6 % at the machines' 0.2 V and 10.6 % at 0.55 V (95 C, where the settling form
#: misses most), the 1/8 line by 1.0 and 0.7 %. Until then (25 ohm): -1.02 .. +1.29 %
TOL_LIGHT = {0.2: 0.04, 0.55: 0.11}


@pytest.mark.parametrize("frac", [0.0625, 0.125])
@pytest.mark.parametrize("temp", [27.0, 95.0])
@pytest.mark.parametrize("v_read", [0.2, 0.55])
def test_shipped_read_energy_at_light_loads_against_ngspice(model, frac, temp, v_read):
    for r_bl in (1.0, 2.5):
        spice = _raw("e_read_j", rows=128.0, r_bl_ohm=r_bl, frac_on=frac, v_read_v=v_read,
                     temp_c=temp)
        e = float(model.read_energy(rows=128.0, r_bl_ohm=r_bl, frac_on=frac,
                                    v_read_v=v_read, temp_c=temp))
        assert math.isfinite(spice) and e == pytest.approx(spice, rel=TOL_LIGHT[v_read],
                                                            abs=0)


def test_fit_keeps_the_table_where_the_form_cannot_be_fitted(model):
    """The fitter's choice (characterize/fitting/read_energy.py try_settled_energy) on the
    shipped sweep as the fitter sees it (its points that are not whole cells left out):
    the form cannot be fitted with a held-out temperature line, so the table stays,
    whatever its error, and the reason is recorded (the same as the shipped file's)."""
    from imcspice.characterize.fitting.grid import fixed_params, numeric_settings
    from imcspice.characterize.fitting.read_energy import try_settled_energy
    from imcspice.characterize.fitting.whole_cells import whole_cells_only
    raw = read(RAW)
    fixed = fixed_params(raw)
    raw, _ = whole_cells_only(raw, fixed)
    ex = {"v0_v": np.array([0.5]), "i_design_frac": np.array([0.25]),
          "i_floor_a": np.array([160e-6])}
    table = object()
    fns = {"e_read_j": table, "i_out_a": model.functions["i_out_a"],
           "t_settle_s": model.functions["t_settle_s"]}
    errs = {"e_read_j": {"max_pct_fs": 50.0}}
    try_settled_energy(raw, numeric_settings(raw), fixed, 0, fns, errs, ex)
    assert fns["e_read_j"] is table and errs["e_read_j"]["max_pct_fs"] == 50.0
    why = "crossbar-read-energy-settled: 0 training points at {'temp_c': 2,"
    assert errs["e_read_j"]["settled_form_error"].startswith(why)
    assert model.heldout_error["outputs"]["e_read_j"]["settled_form_error"].startswith(why)
