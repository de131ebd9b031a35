"""accelerators/converters.py: a crossbar matrix's Compute-ACAM converters, per_tile per
tile (the description's figure), each with its own threshold mismatch draw; the crossbar
reads each column through its own converter (numpy and torch alike)."""
import warnings

import numpy as np
import torch

from imcspice.accelerators.analog import CrossbarDevice, CrossbarLinear
from imcspice.accelerators.converters import ConverterBank, converter_index
from imcspice.accelerators.trimmed_acam import TrimmedAcam
from imcspice.accelerators.torch_analog import TorchCrossbarLinear

torch.set_num_threads(1)
warnings.simplefilter("ignore")


def test_converter_index_by_hand():
    """300 columns on 128-column tiles (3 column tiles), 8 converters per tile: 16
    contiguous columns share one; the second row tile's converters follow the first's
    3 x 8 = 24."""
    c = converter_index(2, 300, 128, 8)
    assert c.shape == (2, 300)
    cols = [0, 15, 16, 127, 128, 143, 144, 256, 299]
    #        tile 0        | tile 1: 8 + ...    | tile 2: 16 + 43 // 16 = 18
    np.testing.assert_array_equal(c[0, cols], [0, 0, 1, 7, 8, 8, 9, 16, 18])
    np.testing.assert_array_equal(c[1, cols], np.array([0, 0, 1, 7, 8, 8, 9, 16, 18]) + 24)


def test_one_converter_bank_is_the_trimmed_lookup():
    """n = 1: the same draw, levels and codes as trimmed_acam.TrimmedAcam (one converter)."""
    b = ConverterBank(8, 1, -1.0, 1.0, 1 / 256, 5, ramp_div=16)
    t = TrimmedAcam(8, -1.0, 1.0, 1 / 256, 5, ramp_div=16)
    np.testing.assert_array_equal(b.thresholds[0], t.thresholds)
    np.testing.assert_array_equal(b.levels[0], t.levels)
    x = np.random.default_rng(0).uniform(-1.1, 1.1, (200, 3))
    np.testing.assert_array_equal(b(x, np.zeros(3, int)), t(x))


def test_each_converter_draws_its_own_mismatch():
    """sigma = 0.1 step (thresholds keep their order): each converter's offsets from
    the ideal thresholds have the drawn sigma, and two converters' offsets are
    uncorrelated (one draw per matrix would make them identical)."""
    step = 2.0 / 256
    b = ConverterBank(8, 64, -1.0, 1.0, 0.1 * step / 2.0, 3)
    off = b.thresholds - (-1.0 + step * np.arange(1, 256))
    assert abs(off.std() / (0.1 * step) - 1.0) < 0.03          # 64 x 255 draws
    r = np.corrcoef(off)[np.triu_indices(64, 1)]
    assert np.abs(r).max() < 0.3 and abs(r.mean()) < 0.02
    # codes: the number of the converter's own thresholds at or below x (exact away
    # from a threshold by more than one fine bin, 1/64 step)
    x = np.random.default_rng(1).uniform(-1.0, 1.0, (500, 64))
    got = b.code(x, np.arange(64))
    exact = np.stack([np.searchsorted(b.thresholds[j], x[:, j], side="right")
                      for j in range(64)], axis=1)
    near = np.stack([np.min(np.abs(x[:, j, None] - b.thresholds[j]), axis=1)
                     for j in range(64)], axis=1) < step / 64
    np.testing.assert_array_equal(got[~near], exact[~near])


def _ideal_device(rows):
    return CrossbarDevice(g_min_s=1e-6, g_max_s=1e-4, v_read_v=0.2, v0_v=1e9,
                          tile_rows=rows, ir_drop_rel=lambda load: np.zeros_like(load))


def test_columns_read_through_their_own_converters():
    """Every column holds the same weights and sees the same input: with one converter
    for the matrix every column reads the same value; with 2 converters per 8-column
    tile, columns 0-3 (converter 0) agree among themselves, and the 8 converters of the
    32 columns give different values (mismatch of 2 steps); torch reads the same."""
    w = np.tile(np.linspace(-0.5, 0.5, 16)[None, :], (32, 1)).astype(np.float32)
    x = np.random.default_rng(2).normal(0, 1, (8, 16)).astype(np.float32)

    def build(per_tile):
        sig = 2.0 / 256
        if per_tile:
            q, kw = (lambda b, s, n: ConverterBank(b, n, -1.0, 1.0, sig, s)), \
                dict(tile_cols=8, converters_per_tile=per_tile)
        else:
            q, kw = (lambda b, s: ConverterBank(b, 1, -1.0, 1.0, sig, s)), {}
            q1 = q
            q = lambda b, s: _Single(q1(b, s))  # noqa: E731
        xb = CrossbarLinear(w, _ideal_device(16), 8, np.abs(x).max(0), 0, outlier_factor=None,
                            bit_serial=True, out_bits=8, quantizer=q, w_scale="column", **kw)
        xb.calibrate(x)
        return xb
    one = build(None)(x)
    assert np.all(one == one[:, :1])
    xb = build(2)
    y = xb(x)
    np.testing.assert_array_equal(y[:, :4], np.repeat(y[:, :1], 4, axis=1))
    firsts = y[:, ::4]                     # one column of each of the 8 converters
    assert len({tuple(np.round(c, 6)) for c in firsts.T}) == 8
    m = TorchCrossbarLinear(xb, torch.tensor(w))
    with torch.no_grad():
        got = m(torch.tensor(x), torch.tensor(w)).numpy()
        m.fast = False
        ref = m(torch.tensor(x), torch.tensor(w)).numpy()
    np.testing.assert_allclose(ref, y, atol=1e-5 * np.abs(y).max())
    np.testing.assert_allclose(got, y, atol=1e-5 * np.abs(y).max())


class _Single:
    """One converter for every column (the call without a column index)."""

    def __init__(self, bank):
        self.bank = bank

    def __call__(self, v):
        return self.bank(v, np.zeros(v.shape[-1], int))


def test_outlier_factor_is_the_descriptions():
    """crossbar.outlier_factor: an input channel whose calibrated range exceeds that
    multiple of the median runs digitally. Ranges 1 (x 6 channels), 3.5 and 5 (median
    1): at 6.0 every channel is analog; at 3.0 the two largest are digital,
    so the DAC full scale drops from 5 to 1."""
    from imcspice.accelerators import arch
    from imcspice.accelerators.analog import Nonideal
    from imcspice.accelerators.race_it import RaceItOps
    in_ch = np.array([1.0] * 6 + [3.5, 5.0])
    w = np.random.default_rng(3).normal(0, 0.1, (4, 8)).astype(np.float32)
    x = (np.random.default_rng(4).uniform(-1, 1, (16, 8)) * in_ch).astype(np.float32)
    got = {}
    for f in (6.0, 3.0):
        a = arch.load("race-it", [f"crossbar.outlier_factor={f}", "crossbar.read_model=false"])
        ops = RaceItOps(a, _ideal_device(128), 0.0, {"lin": {"in_ch": in_ch}},
                        Nonideal.only([]), 0)
        ops.linear(x, w, None, "lin")
        got[f] = (ops._xbars["lin"].digital.tolist(), ops._xbars["lin"].x_max)
    assert got[6.0] == ([False] * 8, 5.0)
    assert got[3.0] == ([False] * 6 + [True, True], 1.0)


def _two_gather_levels(b: ConverterBank, x, conv):
    """The bank's conversion as written before the one-gather form: fine bin by floor and
    clip, the row from the converter's code table, its level (a second implementation)."""
    i = np.clip(np.floor((x - b.lo) * b._inv_bin), 0, b.bins - 1).astype(np.int64)
    c = b.lut.ravel()[conv * b.bins + i].astype(np.int64)
    return b.levels.ravel()[conv * b.levels.shape[1] + c]


def test_one_gather_conversion_is_the_two_gather_one():
    """The fused (converter, fine bin) -> level table and the truncating index give the
    same levels bit for bit, also at the bin edges, outside the window and after centroid
    fitting, and the torch bank reads the same table."""
    from imcspice.accelerators.torch_quant import BankLookup
    b = ConverterBank(6, 5, -1.0, 1.0, 0.01, 3, ramp_div=16)
    rng = np.random.default_rng(2)
    conv = rng.integers(0, 5, 40)
    edges = (b.lo + np.arange(b.bins + 1) / b._inv_bin).astype(np.float32)
    for x in (rng.uniform(-1.3, 1.3, (300, 40)).astype(np.float32),
              rng.choice(edges, (200, 40)),                     # exactly on fine-bin edges
              rng.uniform(-1.3, 1.3, (50, 40))):                # float64 input
        np.testing.assert_array_equal(b(x, conv), _two_gather_levels(b, x, conv))
    b.start_stats()
    x = rng.normal(0.0, 0.3, (400, 40)).astype(np.float32)
    np.testing.assert_array_equal(b(x, conv), _two_gather_levels(b, x, conv))
    b.fit_levels()
    np.testing.assert_array_equal(b(x, conv), _two_gather_levels(b, x, conv))
    tb = BankLookup(b, conv[None, :])
    idx = rng.integers(0, b.bins, (30, 40))
    ref = b.levels.ravel()[conv * b.levels.shape[1] +
                           b.lut.ravel()[conv * b.bins + idx].astype(np.int64)]
    got = tb.levels_at(torch.as_tensor(idx, dtype=torch.int32), 0, torch.float64)
    np.testing.assert_array_equal(got.numpy(), ref)
