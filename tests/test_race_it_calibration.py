"""accelerators/race_it.py calibration and mapping: ACAM rows store levels trimmed to the
chip's own thresholds (the thresholds keep their mismatch), and the deferred softmax
normalization (P·V on the exp codes, 1/sum once per output) -- numpy and the torch
mirror (torch_chip.py) computing the same numbers."""
import warnings

import numpy as np
import pytest
import torch

from imcspice.accelerators.analog import AcamQuantizer
from imcspice.accelerators import arch
from imcspice.accelerators.trimmed_acam import TrimmedAcam
from imcspice.accelerators.torch_chip import AnalogChip

torch.set_num_threads(1)
warnings.simplefilter("ignore")
#: the shipped description's calibration ramp (points per output step)
TRIM_RAMP_DIV = arch.load("race-it").acam_mapping().trim_ramp_div


def _rms_error(q, x):
    return float(np.sqrt(np.mean((q(x) - x) ** 2)))


def test_trimmed_levels_without_mismatch_are_the_ideal_levels():
    ideal, trim = AcamQuantizer(6, -1.0, 1.0, 0.0, 1), TrimmedAcam(6, -1.0, 1.0, 0.0, 1)
    step = 2.0 / 64
    # interior thresholds are located to the ramp's resolution: a level moves by at most
    # half a ramp step (its two thresholds each read res/2 late)
    assert np.abs(trim.levels - ideal.levels).max() <= step / TRIM_RAMP_DIV / 2 + 1e-12
    np.testing.assert_array_equal(trim.thresholds, ideal.thresholds)


def test_trimmed_levels_follow_mismatched_thresholds():
    """sigma = one step (RACE-IT's ACAM: 0.0039 of the window at 8 bits). A row's level at
    the centre of the interval it really matches gives the quantization error of those
    intervals, sqrt(sum w^3 / 12 / sum w) (uniform input; hand calculation from the
    drawn thresholds), well below the error of the ideal levels."""
    bits, sig = 8, 1.0 / 256
    x = np.linspace(-1.0, 1.0, 400_001)[1:-1]
    e_ideal, e_trim, e_pred = [], [], []
    for seed in range(4):
        raw = AcamQuantizer(bits, -1.0, 1.0, sig, seed)
        trim = TrimmedAcam(bits, -1.0, 1.0, sig, seed)
        np.testing.assert_array_equal(raw.thresholds, trim.thresholds)   # mismatch kept
        w = np.diff(np.concatenate([[-1.0], np.clip(raw.thresholds, -1, 1), [1.0]]))
        e_pred.append(np.sqrt(np.sum(w ** 3) / 12 / np.sum(w)))
        e_ideal.append(_rms_error(raw, x))
        e_trim.append(_rms_error(trim, x))
    step = 2.0 / 2 ** bits
    np.testing.assert_allclose(e_trim, e_pred, rtol=0.05)
    assert np.mean(e_trim) < 0.75 * np.mean(e_ideal)
    assert np.mean(e_ideal) > 1.5 * step / np.sqrt(12)     # the mismatch costs without it


def test_kept_value_is_stored_exactly():
    for seed in range(5):
        q = TrimmedAcam(8, -1.0 - 1 / 255, 1.0 + 1 / 255, 1.0 / 256, seed, keep=0.0)
        assert q(np.array([0.0]))[0] == 0.0


def test_centroid_levels_by_hand():
    """2 bits over [0, 4], no mismatch (thresholds 1, 2, 3): after a pass of inputs
    0.1, 0.2 | 1.5, 1.7, 1.9 | (none) | 3.9 each row stores the mean of what it matched
    (0.15, 1.7), a row matched fewer than min_count times keeps its centre (2.5); the kept
    row keeps its value exactly."""
    q = TrimmedAcam(2, 0.0, 4.0, 0.0, 0)
    np.testing.assert_allclose(q.levels, [0.5, 1.5, 2.5, 3.5], atol=4 / 4 / TRIM_RAMP_DIV)
    q.start_stats()
    q(np.array([0.1, 0.2, 1.5, 1.7, 1.9, 3.9]))
    q.fit_levels(min_count=1)
    np.testing.assert_allclose(q.levels[[0, 1, 3]], [0.15, 1.7, 3.9])
    assert abs(q.levels[2] - 2.5) <= 1 / TRIM_RAMP_DIV
    assert q._stats is None and q(np.array([1.2]))[0] == pytest.approx(1.7, rel=1e-6, abs=0)
    k = TrimmedAcam(2, -2.0, 2.0, 0.0, 0, keep=0.0)
    k.start_stats()
    k(np.array([0.3, 0.5, 0.9]))                 # row [0, 1): mean 0.57, but it keeps 0
    k.fit_levels(min_count=1)
    assert k(np.array([0.5]))[0] == 0.0


def test_centroid_levels_remove_the_bias_of_mismatched_rows():
    """Products of codes (8-bit exp codes, mostly small, x 8-bit V codes: a P·V lookup's
    inputs) through an 8-bit lookup with sigma = 1.24 steps (RACE-IT's ACAM after
    write-verify). With trimmed centres a row's inputs are not centred in its interval
    (a lattice of products, falling density), so each chip has a bias that a sum over
    keys multiplies. Levels fitted as the mean of what each row matched (on one sample)
    leave, on a fresh sample of n, only sampling noise: |bias| <= 10 x rms error /
    sqrt(n) (the centroid condition makes the error zero-mean on the distribution);
    the mean squared error does not grow."""
    rng = np.random.default_rng(3)
    n = 200_000

    def sample():
        e = np.round(np.exp(-rng.exponential(2.0, n)) * 255) / 255
        v = np.round(np.clip(rng.normal(0, 0.35, n), -1, 1) * 127) / 127
        return e * v
    fit, test = sample(), sample()
    before = []
    for seed in range(4):
        q = TrimmedAcam(8, -1.0, 1.0, 1.24 / 256, seed)
        err0 = q(test) - test
        q.start_stats()
        q(fit)
        q.fit_levels()
        err = q(test) - test
        bound = 10 * np.sqrt(np.mean(err ** 2)) / np.sqrt(n)
        assert abs(err.mean()) <= bound, (seed, err.mean(), bound)
        assert np.mean(err ** 2) <= np.mean(err0 ** 2)
        before.append(abs(err0.mean()) / bound)
    assert np.mean(before) > 2.0, before           # the bias it removes is real


def _chip():
    chip = AnalogChip("race-it", seed=2)
    ranges = {"a.softmax": {"in": 8.0, "sum_min": 1.0, "sum_max": 12.0},
              "a.context": {"in": 1.0, "in_min": 0.0, "in_max": 1.0, "in2": 2.0,
                            "in2_min": -2.0, "prod": 2.0}}
    chip.factory = chip._make_factory(ranges)
    chip.ranges, chip.phase = chip.factory.r, "run"
    return chip


def test_deferred_softmax_context_is_p_v_and_torch_agrees():
    rng = np.random.default_rng(0)
    s = rng.normal(0, 2.0, (1, 2, 12, 12)).astype(np.float32)
    v = rng.normal(0, 0.6, (1, 2, 12, 8)).astype(np.float32)
    chip = _chip()
    f = chip.factory
    assert f.deferred_softmax and f.level_trim
    f.calibrating = True                 # records each head's |V| range (hardware path)
    f.matmul(f.softmax(s, "a.softmax"), v, "a.context")
    f.calibrating = False
    want = f.matmul(f.softmax(s, "a.softmax"), v, "a.context")
    got = chip.matmul(chip.softmax(torch.tensor(s), "a.softmax"), torch.tensor(v),
                      "a.context").numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)
    # against the exact softmax(s) @ v: 8-bit exp codes (those below half a step, 0) and
    # products over each head's |V| range (~2: a product step 2/127, half a step per term
    # at worst, 12 terms, x 1/sum <= 1 -> <= 0.1), on average far below |out|
    p = np.exp(s - s.max(-1, keepdims=True))
    exact = (p / p.sum(-1, keepdims=True)) @ np.clip(v, -2, 2)
    err = np.abs(want - exact)
    assert err.max() < 0.1 and err.mean() < 0.1 * np.abs(exact).mean(), err.mean()
    # the pending 1/sum is used once: a second product without a softmax is an ordinary one
    assert not f._recips and not chip._recips


def test_rsqrt_banks_cover_a_wide_variance_range():
    """Variance over 0.15 .. 256 (a MiniLM FFN layernorm's calibrated range, x0.5 / x2):
    geometric banks of <= 4x keep 1/sqrt within a row step (<= 3/256 of the value ->
    1.2 % in var, ~0.6 % in 1/sqrt) plus mismatch: under 1 % of the row's largest output
    (the output converter bypassed); one linear bank puts var 0.45 in its first row
    (centre ~0.7: 1/sqrt off by ~20 %). The output converter then adds at most half of
    the widest interval one of its rows matches (its drawn mismatch: bound by hand)."""
    f = _chip().factory
    f.norm_out_range, f.norm_out_margin = "symmetric", 1.0     # output window +-4
    banks = f.rsqrt_windows(0.15, 256.0)
    assert len(banks) == 6 and banks[0][0] == 0.15 and abs(banks[-1][1] - 256.0) < 1e-9
    assert all(b[1] / b[0] <= 4.0 + 1e-9 for b in banks)
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (64, 32)).astype(np.float32) * np.geomspace(0.5, 15, 64)[:, None]
    g, b = np.ones(32, np.float32), np.zeros(32, np.float32)
    f.r["n"] = {"var_min": 0.3, "var_max": 128.0, "out": 4.0, "out_ch": np.full(32, 4.0)}
    exact = np.clip((x - x.mean(-1, keepdims=True)) / x.std(-1, keepdims=True), -4, 4)
    got = f.layernorm(x, g, b, 1e-12, "n")
    # the 1/sqrt lookups alone (the output converter bypassed): within 1 %
    out = f._out
    f._out = lambda name, y: y.astype(np.float32)
    rs = f.layernorm(x, g, b, 1e-12, "n")
    rel_rs = np.abs(rs - exact).max(-1) / np.abs(exact).max(-1)
    assert rel_rs.max() < 0.01, rel_rs.max()
    f.rsqrt_banks = 1
    one = f.layernorm(x, g, b, 1e-12, "n")
    assert (np.abs(one - exact).max(-1) / np.abs(exact).max(-1)).max() > 0.1
    f.rsqrt_banks = 6
    f._out = out
    # with the output converter (8 bits over +-4, trimmed rows, the chip's drawn
    # threshold mismatch, sigma ~1.2 steps): each output within half the widest interval
    # a row of that converter really matches (hand bound from its drawn thresholds) plus
    # half a calibration-ramp step, x 4, of the 1/sqrt result
    q = f._acam("n.out", -1.0, 1.0)
    w = np.diff(np.concatenate([[-1.0], np.clip(q.thresholds, -1, 1), [1.0]]))
    res = 2.0 / 2 ** f.bits / TRIM_RAMP_DIV
    assert np.abs(got - rs).max() <= 4.0 * (w.max() + res) / 2 + 1e-6
    chip = _chip()
    chip.factory.r["n"] = f.r["n"]
    chip.factory.norm_out_range, chip.factory.norm_out_margin = "symmetric", 1.0
    t = torch.tensor
    np.testing.assert_allclose(chip.layernorm(t(x), t(g), t(b), 1e-12, "n").numpy(), got,
                               atol=1e-5)


def _norm_out_ops(banks: int, sigma_rel: float, seed: int):
    from imcspice.accelerators.analog import CrossbarDevice, Nonideal
    from imcspice.accelerators.race_it import RaceItOps
    # the window +-max|y| (the banks split the channel's calibrated range)
    a = arch.load("race-it", ["crossbar.read_model=false", f"mapping.acam.norm_out_banks={banks}",
                              "mapping.acam.norm_out_range=symmetric",
                              "mapping.acam.norm_out_margin=1.0",
                              "mapping.acam.lookup_copies=1"])     # one bank's mismatch
    dev = CrossbarDevice(1e-6, 1e-4, 0.2, 1e9, 128, lambda load: 0.0 * load)   # unused
    return RaceItOps(a, dev, sigma_rel, {"ln": {"out": 1.0}}, Nonideal(0, 0, 1, True), seed)


def test_norm_out_banks_by_hand():
    """B = 2 banks of 7 bits over [-1, 0] and [0, 1]: the same 256 levels as one 8-bit
    bank; B = 3 is refused (not a power of two)."""
    assert _norm_out_ops(1, 0.0, 0).out_windows() == ([(-1.0, 1.0)], 8)
    assert _norm_out_ops(2, 0.0, 0).out_windows() == ([(-1.0, 0.0), (0.0, 1.0)], 7)
    y = np.linspace(-1, 1, 20001)[1:-1].astype(np.float32)
    one, two = _norm_out_ops(1, 0.0, 0)._out("ln", y), _norm_out_ops(2, 0.0, 0)._out("ln", y)
    assert np.abs(one - two).max() <= 2.0 / 256 / TRIM_RAMP_DIV    # ideal thresholds
    with pytest.raises(arch.ArchError):
        arch.load("race-it", ["mapping.acam.norm_out_banks=3"])


def test_norm_out_banks_halve_the_mismatch():
    """Subranging: each bank's thresholds carry a mismatch sigma that is a fraction of
    its own window, so B = 2 halves sigma at the same step s. Levels at the centres of
    the intervals matched (trimmed), uniform input: rms error^2 = E[w^3] / (12 E[w]) with
    w = s + d_(k+1) - d_k, Var(w) = 2 sigma^2, i.e. s^2 (1 + 6 (sigma/s)^2) / 12 (hand
    calculation, crossings neglected): sigma = 0.4 s -> 0.404 s, 0.2 s -> 0.321 s."""
    s = 2.0 / 256
    y = np.linspace(-1, 1, 200001)[1:-1].astype(np.float32)
    rms = {b: np.mean([np.sqrt(np.mean((_norm_out_ops(b, 0.4 / 256, k)._out("ln", y) - y)
                                       ** 2)) for k in range(6)]) / s for b in (1, 2)}
    assert rms[1] == pytest.approx(np.sqrt((1 + 6 * 0.16) / 12), rel=0.1, abs=0)
    assert rms[2] == pytest.approx(np.sqrt((1 + 6 * 0.04) / 12), rel=0.1, abs=0)


def _window_ops(rng_kind: str, margin: float):
    from imcspice.accelerators.analog import CrossbarDevice, Nonideal
    from imcspice.accelerators.race_it import RaceItOps
    a = arch.load("race-it", ["crossbar.read_model=false", f"mapping.acam.norm_out_range={rng_kind}",
                              f"mapping.acam.norm_out_margin={margin}"])
    dev = CrossbarDevice(1e-6, 1e-4, 0.2, 1e9, 128, lambda load: 0.0 * load)   # unused
    r = {"ln": {"out": 3.0, "out_ch": np.array([3.0, 0.5]),
                "out_lo_ch": np.array([1.0, -0.5]), "out_hi_ch": np.array([3.0, 0.25])}}
    return RaceItOps(a, dev, 0.0, r, Nonideal(0, 0, 0, True), 0)


def test_norm_out_window_by_hand():
    """Channel 0 calibrated over [1, 3], channel 1 over [-0.5, 0.25]: symmetric windows
    +-max|y| (3, 0.5), offset windows centred on the range (2, -0.125) with half-widths
    (1, 0.375); the margin multiplies the half-width."""
    c, m = _window_ops("symmetric", 1.0).norm_out_window(_window_ops("symmetric", 1.0).r["ln"])
    np.testing.assert_allclose(c, 0.0)
    np.testing.assert_allclose(m, [3.0, 0.5])
    ops = _window_ops("offset", 2.0)
    c, m = ops.norm_out_window(ops.r["ln"])
    np.testing.assert_allclose(c, [2.0, -0.125])
    np.testing.assert_allclose(m, [2.0, 0.75])
    with pytest.raises(arch.ArchError):
        arch.load("race-it", ["mapping.acam.norm_out_range=minmax"])
    with pytest.raises(arch.ArchError):
        arch.load("race-it", ["mapping.acam.norm_out_margin=0.5"])


def test_norm_out_margin_trades_a_step_for_headroom():
    """No mismatch, 8-bit code: a value inside the calibrated range is coded within half
    a step of its window (2 m / 256 / 2, plus half a ramp step of the trimmed levels); a
    value 1.5x as far from the window's centre as the calibrated extreme (symmetric: 4.5
    and -0.75; offset: 2 + 1.5 x 1 = 3.5 and -0.125 - 1.5 x 0.375 = -0.6875) clips to
    the window's edge at margin 1 and passes within half a step at margin 2. The offset
    window (half-width 1 for [1, 3]) has a step 3x finer than the symmetric one (3)."""
    inside = np.array([1.7, 0.1], np.float32)
    beyond = {"symmetric": ([4.5, -0.75], [3.0, -0.5]), "offset": ([3.5, -0.6875], [3.0, -0.5])}
    for kind, margin, m in (("symmetric", 1.0, [3.0, 0.5]), ("symmetric", 2.0, [6.0, 1.0]),
                            ("offset", 1.0, [1.0, 0.375]), ("offset", 2.0, [2.0, 0.75])):
        ops = _window_ops(kind, margin)
        y = np.array([inside, beyond[kind][0]], np.float32)
        got = ops._out("ln", y)
        half = np.array(m) / 256 * (1 + 1 / TRIM_RAMP_DIV)
        assert np.all(np.abs(got[0] - y[0]) <= half + 1e-6), (kind, margin, got[0])
        if margin == 1.0:
            np.testing.assert_allclose(got[1], beyond[kind][1], atol=half.max() + 1e-6)
        else:
            assert np.all(np.abs(got[1] - y[1]) <= half + 1e-6), (kind, margin, got[1])
    # torch mirror: the same codes
    chip = AnalogChip("race-it", seed=0)
    chip.factory = _window_ops("offset", 2.0)
    chip.ranges, chip.phase = chip.factory.r, "run"
    x = torch.tensor(np.random.default_rng(0).normal(0, 1, (5, 2)), dtype=torch.float32)
    g, b = torch.tensor([1.0, 0.3]), torch.tensor([2.0, -0.1])
    chip.factory.r["ln"].update(var_min=0.1, var_max=10.0)
    want = chip.factory.layernorm(x.numpy(), g.numpy(), b.numpy(), 1e-12, "ln")
    np.testing.assert_allclose(chip.layernorm(x, g, b, 1e-12, "ln").numpy(), want, atol=1e-5)


def _product_ops(banks: int, sigma_rel: float, seed: int):
    from imcspice.accelerators.analog import CrossbarDevice, Nonideal
    from imcspice.accelerators.race_it import RaceItOps
    a = arch.load("race-it", ["crossbar.read_model=false", "mapping.acam.lookup_copies=1",
                              f"mapping.acam.product_banks={banks}",
                              "mapping.acam.product_copies=1"])
    dev = CrossbarDevice(1e-6, 1e-4, 0.2, 1e9, 128, lambda load: 0.0 * load)   # unused
    return RaceItOps(a, dev, sigma_rel, {}, Nonideal(0, 0, 1, True), seed)


def _torch_products_match_numpy(overrides: list[str]):
    """A torch chip of race-it with ``overrides``: its product sums equal its numpy
    factory's (the same banks and copies); returns the chip."""
    chip = AnalogChip(arch.load("race-it", ["crossbar.read_model=false", *overrides]),
                      seed=2)
    chip.factory = chip._make_factory({})
    chip.ranges, chip.phase = chip.factory.r, "run"
    x = np.random.default_rng(2).uniform(-1, 1, (2, 3, 10)).astype(np.float32)
    y = np.random.default_rng(3).uniform(-1, 1, (2, 10, 5)).astype(np.float32)
    want = chip.factory._product_sum(x, y, [2.0, 2.0], "b")
    got = chip._product_sum(torch.tensor(x), torch.tensor(y), [2.0, 2.0], "b").numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)
    return chip


def test_product_banks_add_their_mismatch_errors_independently():
    """One output's K = 64 product lookups, all of the same value p: on one bank (one
    threshold set) the error of the sum is K e(p), coherent; on K banks (each its own
    mismatch draw) it is a sum of K independent errors, sqrt(K) = 8 times smaller in rms
    over many p (a sum of independent terms). Ideal thresholds: the banks agree."""
    K, n = 64, 2000
    p = np.random.default_rng(1).uniform(-0.9, 0.9, n).astype(np.float32)
    aq = np.ones((1, 1, K), np.float32)
    bq = np.broadcast_to(p, (1, K, n)).copy()
    exact = K * p
    rms = {}
    for banks in (1, K):
        err = [_product_ops(banks, 1.24 / 256, s)._product_sum(aq, bq, [1.0], "a")[0, 0]
               - exact for s in range(3)]
        rms[banks] = float(np.sqrt(np.mean(np.square(err))))
    assert rms[1] / rms[K] == pytest.approx(np.sqrt(K), rel=0.35, abs=0), rms
    ideal = [_product_ops(b, 0.0, 0)._product_sum(aq, bq, [1.0], "a") for b in (1, K)]
    np.testing.assert_allclose(ideal[0], ideal[1], rtol=0, atol=1e-5 * K)
    # the torch chip sums the same banks
    chip = _torch_products_match_numpy(["mapping.acam.product_banks=4"])
    assert len(chip.factory.product_lookup_names("b", 10)) == 4
    with pytest.raises(arch.ArchError):
        arch.load("race-it", ["mapping.acam.product_banks=0"])


def test_lookup_copies_average_their_mismatch_independently():
    """An element-wise lookup read on R = 4 copies (mapping.acam.lookup_copies), each its
    own threshold mismatch draw, averaged: around the mean over many draws (64 copies),
    the average of 4 independent draws errs sqrt(4) = 2 times less in rms than one draw
    (a mean of independent terms). One copy is the one-bank lookup, bit for bit; the
    torch chip averages the same copies."""
    x = np.linspace(-0.95, 0.95, 4001).astype(np.float32)
    sigma = 1.24 / 256                    # ~ the characterized ACAM sigma / window

    def ops(copies, seed=0):
        o = _product_ops(1, sigma, seed)
        o.lookup_copies = copies
        return o
    many = ops(64)._averaged("g", -1.0, 1.0, lambda q: q(x))     # the ensemble mean
    dev = {r: [ops(r, s)._averaged("g", -1.0, 1.0, lambda q: q(x)) - many
               for s in range(1, 4)] for r in (1, 4)}
    rms = {r: float(np.sqrt(np.mean(np.square(d)))) for r, d in dev.items()}
    assert rms[1] / rms[4] == pytest.approx(2.0, rel=0.2, abs=0), rms
    one = ops(1, 5)
    np.testing.assert_array_equal(one._averaged("g", -1.0, 1.0, lambda q: q(x)),
                                  one._acam("g", -1.0, 1.0)(x))
    # the torch chip reads the factory's copies and averages them alike
    chip = AnalogChip(arch.load("race-it", ["crossbar.read_model=false",
                                            "mapping.acam.lookup_copies=3"]), seed=2)
    chip.factory = chip._make_factory({})
    want = chip.factory._averaged("t", -1.0, 1.0, lambda q: q.lookup(x, np.tanh))
    got = chip._averaged("t", -1.0, 1.0, "cpu",
                         lambda q: q.lookup(torch.tensor(x), torch.tanh, key="tanh"))
    np.testing.assert_allclose(got.numpy(), want, atol=1e-6)
    assert len({id(q) for q in chip.factory._acams.values()}) == 3


def test_product_copies_average_their_mismatch_independently():
    """Every term of a product sum read on R = 4 banks (mapping.acam.product_copies),
    each its own threshold mismatch draw, the sum / R: K = 16 terms of one value p on
    one bank per copy, so one copy's error is K e(p), coherent. Around the mean over
    many draws (64 copies), R independent draws err sqrt(4) = 2 times less in rms than
    one. Copy 0 is the one-copy bank, by name; the torch chip sums the same copies."""
    K, n = 16, 2000
    p = np.random.default_rng(1).uniform(-0.9, 0.9, n).astype(np.float32)
    aq = np.ones((1, 1, K), np.float32)
    bq = np.broadcast_to(p, (1, K, n)).copy()

    def psum(copies, seed):
        o = _product_ops(1, 1.24 / 256, seed)
        o.product_copies = copies
        return o._product_sum(aq, bq, [1.0], "a")[0, 0]
    many = psum(64, 0)
    rms = {r: float(np.sqrt(np.mean(np.square([psum(r, s) - many for s in range(1, 4)]))))
           for r in (1, 4)}
    assert rms[1] / rms[4] == pytest.approx(2.0, rel=0.2, abs=0), rms
    o = _product_ops(4, 0.0, 0)
    assert o.product_lookup_names("a", 16, 0) == o.product_lookup_names("a", 16)
    assert o.product_lookup_names("a", 16, 2) == ["a.prod.c2", "a.prod1.c2", "a.prod2.c2",
                                                 "a.prod3.c2"]
    chip = _torch_products_match_numpy(["mapping.acam.product_banks=2",
                                        "mapping.acam.product_copies=3"])
    assert len({id(q) for q in chip.factory._acams.values()}) == 6


def test_converter_range_pct_is_read_from_the_description():
    """converter.range_pct sets the percentile of each column's calibration outputs that
    becomes its converter range, in the numpy crossbar and its torch twin alike; below
    the maximum (100) a range is smaller; outside (0, 100] the description is refused
    when it is loaded."""
    from imcspice.accelerators.analog import CrossbarDevice, Nonideal
    from imcspice.accelerators.race_it import RaceItOps
    from imcspice.accelerators.torch_analog import TorchCrossbarLinear
    dev = CrossbarDevice(1e-6, 1e-4, 0.2, 1e9, 128, lambda load: 0.0 * load)
    rng = np.random.default_rng(0)
    w, x = rng.normal(size=(8, 16)), rng.normal(size=(64, 16)).astype(np.float32)

    def ranges(pct):
        a = arch.load("race-it", ["crossbar.read_model=false", f"converter.range_pct={pct}"])
        ops = RaceItOps(a, dev, 0.0, {"l": {"in_ch": np.full(16, 3.0)}},
                        Nonideal(0, 0, 0, True), 0)
        xb = ops.crossbar(w, "l")
        tx = TorchCrossbarLinear(xb, torch.tensor(w, dtype=torch.float32))
        assert xb.range_pct == tx.range_pct == pct
        xb.calibrate(x)
        np.testing.assert_allclose(tx.calibrate(torch.tensor(x),
                                                torch.tensor(w, dtype=torch.float32)),
                                   xb.ranges, rtol=1e-5)
        return xb.ranges
    assert np.all(ranges(90.0) < ranges(100.0))
    for bad in ("100.5", "0", '"high"', "true"):
        with pytest.raises(arch.ArchError, match="range_pct"):
            arch.load("race-it", [f"converter.range_pct={bad}"])
    with pytest.raises(arch.ArchError, match="w_clip_pct must be a percentile"):
        arch.load("race-it", ["crossbar.w_clip_pct=150"])
