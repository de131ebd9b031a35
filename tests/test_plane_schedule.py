"""accelerators/plane_schedule.py: balanced plane polarity and skipped empty planes.

Expectations by hand: the greedy polarities of given planes, the flicker correlation
of a 1/f band by direct numerical integration of its spectrum, the output spread of a
read from the variances of its reads (white: sum of squares of the plane weights that
are read; flicker: the quadratic form of the signed weights with that correlation)."""
import copy
import numpy as np
import pytest
import torch
from crossbar_layers import race_it_layer

from imcspice.accelerators import arch as arch_mod
from imcspice.accelerators.analog import CrossbarLinear
from imcspice.accelerators.arch import ArchError
from imcspice.accelerators.converters import ConverterBank
from imcspice.accelerators.plane_schedule import (PlaneSchedule, flicker_correlation,
                                                  plane_schedule, scheduled)
from imcspice.accelerators.torch_analog import TorchCrossbarLinear

torch.set_num_threads(1)
W7 = 2.0 ** np.arange(7)                  # sign-magnitude plane weights (x 127)


def test_balanced_polarity_by_hand():
    """All planes read: 64 +, then 32, 16, ... 1 each -: the signed sum 64 - 63 = 1.
    Planes 0, 2, 5 driven, skipping: 32 + (sum 32), 4 - (28), 1 - (27); the others 0.
    Without skipping the polarities do not depend on what is driven."""
    bal = PlaneSchedule(balanced=True)
    m = bal.multipliers(W7, np.ones((7, 1, 1), bool))[:, 0, 0]
    assert m.tolist() == [-1, -1, -1, -1, -1, -1, 1]
    assert float(m @ W7) == 1.0
    act = np.zeros((7, 1, 1), bool)
    act[[0, 2, 5]] = True
    assert PlaneSchedule(True, True).multipliers(W7, act)[:, 0, 0].tolist() == \
        [-1, 0, -1, 0, 0, 1, 0]
    assert bal.multipliers(W7, act)[:, 0, 0].tolist() == m.tolist()
    assert PlaneSchedule(False, True).multipliers(W7, act)[:, 0, 0].tolist() == \
        [1, 0, 1, 0, 0, 1, 0]
    # a skipped plane leaves the running sum alone: planes 6 and 0 give 64 - 1
    act = np.zeros((7, 1, 1), bool)
    act[[0, 6]] = True
    assert PlaneSchedule(True, True).multipliers(W7, act)[:, 0, 0] @ W7 == 63.0


def test_flicker_correlation_is_the_cosine_transform_of_one_over_f():
    """rho(tau) = int cos(2 pi f tau) / f df / ln(f_hi / f_lo) over [1 kHz, 1 MHz],
    integrated numerically on a fine log grid (f df/f = d ln f)."""
    u = np.linspace(np.log(1e3), np.log(1e6), 400001)
    for tau in (0.0, 5e-8, 3e-7, 1e-6, 1e-5):
        num = np.trapezoid(np.cos(2 * np.pi * np.exp(u) * tau), u) / (u[-1] - u[0])
        assert float(flicker_correlation(tau)) == pytest.approx(num, abs=1e-6)
    # L L^T is that correlation over the plane slots
    L = PlaneSchedule(True, False, 5e-8).lf_mix(7)
    lag = np.abs(np.subtract.outer(np.arange(7), np.arange(7)))
    np.testing.assert_allclose(L @ L.T, flicker_correlation(lag * 5e-8), atol=1e-6)
    assert PlaneSchedule().lf_mix(7).tolist() == [[1.0]] * 7


def test_repeated_reads_by_hand():
    """Reads [4, 2] (most significant first) of planes of weight 1, 2, 4: plane 2 four
    times and plane 1 twice, plane 0 once; each copy w_b / r_b, so seven reads of
    weight 1, the drive rows repeated in that order; the balanced polarities of the seven
    equal reads alternate from +; the white weight sum of squares falls from 1 + 4 + 16
    = 21 to 1 + 2 + 4 = 7. More counts than planes are refused."""
    sch = PlaneSchedule(True, False, 5e-8, (4, 2))
    d = np.arange(3 * 2 * 1, dtype=np.float32).reshape(3, 2, 1)
    for kind in (np.asarray, torch.as_tensor):
        w, e = sch.expand(kind(np.array([1.0, 2.0, 4.0], np.float32)), kind(d))
        assert np.asarray(w).tolist() == [1.0] * 7
        assert np.asarray(e)[:, 0, 0].tolist() == [0, 2, 2, 4, 4, 4, 4]
    ww, _, m = scheduled(sch, np.array([1.0, 2.0, 4.0]), d + 1, 2, 1)
    assert m[:, 0, 0].tolist() == [1, -1, 1, -1, 1, -1, 1]
    assert float((ww ** 2).sum()) == 7.0
    assert PlaneSchedule().expand(np.ones(3), d)[1] is d
    with pytest.raises(ValueError):
        PlaneSchedule(reads=(1, 1, 1, 2)).expand(np.ones(3), d)


def _variant(**dac):
    """race-it with these DAC keys (None: the key left out)."""
    raw = copy.deepcopy(arch_mod.load("race-it").raw)
    raw["components"]["dac"].update(dac)
    for k in [k for k, v in dac.items() if v is None]:
        del raw["components"]["dac"][k]
    return arch_mod.from_dict(raw)


def test_description_keys_are_checked():
    assert plane_schedule(arch_mod.load("race-it")) == PlaneSchedule(True, True, 5e-8, (4, 2))
    assert plane_schedule(arch_mod.load("hetrax")) is None
    assert plane_schedule(_variant(polarity="fixed", skip_empty=False, plane_reads=None)) \
        is None
    assert plane_schedule(_variant(mode="multi-level")) is None     # one read, no planes
    assert plane_schedule(_variant(plane_reads=[8])).reads == (8,)
    assert plane_schedule(_variant(polarity="fixed", skip_empty=False, plane_reads=[1] * 7)) \
        == PlaneSchedule(False, False, 5e-8, (1,) * 7)
    bad = [dict(encoding="twos-complement"), dict(polarity="chopped"),
           dict(skip_empty="yes"), dict(plane_period_s=-1.0), dict(plane_period_s=True),
           dict(plane_period_s=None, polarity="balanced"), dict(plane_reads=[2] * 8),
           dict(plane_reads=[]), dict(plane_reads=[4, 3]), dict(plane_reads=[32]),
           dict(plane_reads=4), dict(plane_reads=[True]),
           dict(polarity="fixed", skip_empty=False, plane_reads=[2],
                encoding="twos-complement")]
    for d in bad:
        with pytest.raises(ArchError, match="dac|plane_period_s|plane_reads"):
            plane_schedule(_variant(**d))
    with pytest.raises(ArchError, match="a list, not a scalar: set it in a variant file"):
        arch_mod.load("race-it", ["dac.plane_reads=4"])


def test_plane_period_is_at_least_the_priced_plane_step(shipped_figures):
    """The flicker's sharing assumes planes 50 ns apart: no closer than the cost model's
    plane step (a crossbar read, then the tile's columns through its converters), or the
    accuracy would take less decorrelation than the priced machine has."""
    a = arch_mod.load("race-it")
    f = shipped_figures("race-it")
    conv = a.component("converter")
    step = f["crossbar"]["latency"].value + \
        int(np.ceil(int(a.component("crossbar")["cols"]) / int(conv["per_tile"]))) * \
        f["converter"]["latency"].value
    assert 20e-9 < step <= float(a.component("dac")["plane_period_s"])


@pytest.fixture(scope="module")
def layer():
    dev, w, x = race_it_layer()                 # 3 row tiles: 128, 128, 44
    conv = lambda bits, s, n: ConverterBank(bits, n, -1.0, 1.0, 0.002, s, 16)  # noqa: E731
    out = {}
    for name, sch in (("fixed", None), ("balanced-skip", PlaneSchedule(True, True, 5e-8))):
        xb = CrossbarLinear(w, dev, 8, np.abs(x).max(0), 3, bit_serial=True, out_bits=8,
                            quantizer=conv, w_scale="column", outlier_factor=None,
                            sign_magnitude=True, tile_cols=16, converters_per_tile=2,
                            schedule=sch)
        xb.calibrate(x)
        out[name] = xb
    return out, w, x


def test_three_forms_agree_and_skipped_planes_leave_ranges_alone(layer):
    """numpy, torch reference and torch inference forms give the same codes (up to
    float32 at code edges: at most 2 of 1536 outputs), with or without the schedule;
    the schedule changes the result by converter rounding only (the polarities cancel
    in the shift-add). Calibration sees the reads made: with noise-free reads an empty
    plane reads exactly 0, so the ranges are the percentile over the non-empty reads,
    worked out here from the bit planes directly."""
    xbs, w, x = layer
    X, W = torch.tensor(x), torch.tensor(w)
    ys = {}
    for name, xb in xbs.items():
        m = TorchCrossbarLinear(xb, W)
        with torch.no_grad():
            fast = m(X, W).numpy()
            m.fast = False
            ref = m(X, W).numpy()
        yn = xb(x)
        assert np.sum(np.abs(fast - yn) > 1e-5) <= 2 and np.sum(np.abs(ref - yn) > 1e-5) <= 2
        ys[name] = yn
    lsb = float(xbs["fixed"].ranges.max()) / 128
    assert np.abs(ys["balanced-skip"] - ys["fixed"]).max() < 8 * lsb
    xb = xbs["balanced-skip"]
    _, d = xb._planes(x)
    for t in range(xb.n_tiles):
        sl = slice(t * 128, (t + 1) * 128)
        p = np.einsum("pni,oi->pno", d[:, :, sl], xb.w_eff[:, sl])
        driven = np.abs(d[:, :, sl]).sum(-1) > 0
        want = np.percentile(np.abs(p[driven]), xb.range_pct, axis=0)
        np.testing.assert_allclose(xb.ranges[t], want, rtol=1e-5)
        assert 0 < driven.mean() < 1             # some reads are skipped


def test_torch_forms_count_the_reads_they_make(layer):
    """The reads a forward pass makes (what the cost prices, mapping read_fraction): a
    (plane, token, tile) read is made where the plane drives a row of the tile, counted
    here from the bit planes directly; both torch forms count the same, a calibration
    read counts nothing, and a reset starts again."""
    xbs, w, x = layer
    xb = xbs["balanced-skip"]
    _, d = xb._planes(x)                                       # (7, 64, 300)
    driven = np.stack([np.abs(d[:, :, t * 128:(t + 1) * 128]).sum(-1) > 0
                       for t in range(3)], -1)                 # (7, 64, 3)
    X, W = torch.tensor(x), torch.tensor(w)
    m = TorchCrossbarLinear(xb, W)
    with torch.no_grad():
        m.calibrate(X, W)
        assert (m.reads_made, m.read_slots) == (0, 0)
        for fast in (True, False):
            m.fast = fast
            m.reset_read_counts()
            m(X, W)
            assert (m.reads_made, m.read_slots) == (int(driven.sum()), 7 * 64 * 3)
    assert 0 < driven.mean() < 1                 # some reads are skipped


@pytest.mark.parametrize("form", ["numpy", "reference", "inference"])
@pytest.mark.parametrize("case", ["once", "slow-planes", "repeated"])
def test_read_spread_follows_the_schedule(layer, form, case):
    """One token read 20000 times with the TIAs' noise at 10 % of each range. The token
    drives tiles 0 and 1 only. ``once``: balanced polarity, empty planes skipped (tile
    2 adds nothing), planes 50 ns apart, half the noise's variance below 1 MHz.
    ``slow-planes``: balanced, nothing skipped, planes 1 us apart, all of it below 1 MHz
    (so the flicker the planes do not share is what remains). ``repeated``: the ``once``
    schedule with planes 5 and 6 read 2 and 4 times (11 reads: each copy of plane b
    weighs w_b / r_b, each its own slot). By hand, for column c: sum
    over tiles t of (1 - f) s^2 sum_b m_bt^2 w_b^2 + f s^2 (m_t w)^T C (m_t w)
    + (2 R / 256)^2 / 12 sum_b m_bt^2 w_b^2,
    m_bt the polarity of plane b in tile t (0: skipped), f the part below 1 MHz, C the
    flicker correlation of the planes' slots; the same formula with every m = +1 and
    C = 1 is the fixed schedule's (several times larger)."""
    xbs, w, x = layer
    xb = xbs["balanced-skip"]
    reads = np.array([1, 1, 1, 1, 1, 2, 4]) if case == "repeated" else np.ones(7, int)
    sch, f = {"once": (xb.schedule, 0.5),
              "slow-planes": (PlaneSchedule(True, False, 1e-6), 1.0),
              "repeated": (PlaneSchedule(True, True, 5e-8, (4, 2)), 0.5)}[case]
    tok = x[:1].copy()
    tok[:, 256:] = 0.0
    s = 0.1 * xb.ranges.astype(np.float64)                           # (T, out)
    saved = xb.schedule
    xb.schedule = sch
    xb.col_sigma, xb.col_sigma_lf = s.astype(np.float32), (s * np.sqrt(f)).astype(np.float32)
    try:
        w7, d = xb._planes(tok)
        wts = np.repeat(w7 / reads, reads)                           # one per read
        act7 = np.stack([np.abs(d[:, :, t * 128:(t + 1) * 128]).sum(-1) > 0
                         for t in range(3)], -1)                     # (7, 1, T)
        act = act7.repeat(reads, 0)                                  # (P, 1, T)
        mult = sch.multipliers(wts, act)[:, 0].astype(float)         # (P, T)
        assert (mult[:, 2] == 0).all() == sch.skip_empty
        lag = np.abs(np.subtract.outer(np.arange(len(wts)), np.arange(len(wts))))
        C = flicker_correlation(lag * sch.plane_period_s)
        step2 = (2.0 * xb.ranges.astype(np.float64) / 256) ** 2 / 12
        sw = mult * wts[:, None]
        white = (sw ** 2).sum(0)                                       # (T,)
        lf = np.einsum("bt,bc,ct->t", sw, C, sw)
        var = ((1 - f) * s ** 2 * white[:, None] + f * s ** 2 * lf[:, None]
               + step2 * white[:, None]).sum(0)
        fixed = ((s ** 2 * (1 - f) * (w7 ** 2).sum() + f * s ** 2 * w7.sum() ** 2
                  + step2 * (w7 ** 2).sum())).sum(0)
        assert np.all(fixed > 3 * var)
        if sch.skip_empty:            # white weight: the driven planes' w_b^2 / r_b
            np.testing.assert_allclose(white, ((w7 ** 2 / reads)[:, None] * act7[:, 0]).sum(0))
        if case == "slow-planes":     # fully shared, the flicker would nearly cancel
            shared = (f * s ** 2 * (sw.sum(0) ** 2)[:, None] +
                      step2 * white[:, None]).sum(0)
            assert np.all(var > 2 * shared)
        n = 20000
        T = np.repeat(tok, n, 0)
        if form == "numpy":
            y = np.concatenate([xb(T[i:i + 2000]) for i in range(0, n, 2000)])
        else:
            m = TorchCrossbarLinear(xb, torch.tensor(w), (9,))
            m.fast = form == "inference"
            with torch.no_grad():
                y = m(torch.tensor(T), torch.tensor(w)).numpy()
        np.testing.assert_allclose(y.astype(np.float64).std(0), np.sqrt(var), rtol=0.04)
    finally:
        xb.col_sigma = xb.col_sigma_lf = None
        xb.schedule = saved
