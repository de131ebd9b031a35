"""accelerators/torch_bitserial.py: the inference form of a bit-serial crossbar read gives
the converter codes of exact arithmetic, except where float32 rounding can move a
fine-bin index across a code edge; so does the reference form it replaces.

The bound is the textbook one for a float32 sum (Higham, Accuracy and Stability of
Numerical Algorithms, 2nd ed., eq. 3.4 / Lemma 3.1): a sum of K terms computed in any
order is off by at most gamma_K * sum |terms|, gamma_K = K u / (1 - K u), u = 2^-24.
The fine-bin index of one plane, column and tile is ``offset + sum_i b_i w_i s`` over the
tile's K rows (s = inv_bin / range): <= K + 3 rounded operations (the scale, the
offset, the sparse path's sign plane + correction, whose two sums together count each
row at most twice), so both forms are within
``delta = gamma_(K+3) * (|offset| + 2 sum_i |w_i| s)`` of the exact index. A code may
differ from the exact one only where a code edge lies within ``delta``; everywhere
else the output must be the exact one up to the float32 shift-add of P x T terms."""
import warnings

import numpy as np
import pytest
import torch

from crossbar_layers import race_it_layer
from imcspice.accelerators import torch_bitserial
from imcspice.accelerators.analog import AcamQuantizer, CrossbarLinear
from imcspice.accelerators.converters import ConverterBank
from imcspice.accelerators.torch_analog import TorchCrossbarLinear

torch.set_num_threads(1)
warnings.simplefilter("ignore")
U = 2.0 ** -24


def gamma(n: int) -> float:
    return n * U / (1 - n * U)


@pytest.fixture(scope="module", params=["one", "per_tile", "per_tile_sign_magnitude"])
def layer(request):
    # without the TIAs' noise: the codes are compared with exact arithmetic on the same
    # inputs (the noise's distribution: test_tia_noise_has_its_distribution_in_both_forms)
    dev, w, x = race_it_layer()                  # 3 row tiles: 128, 128, 44
    if request.param == "one":      # one converter for the matrix
        conv, kw = (lambda bits, s: AcamQuantizer(bits, -1.0, 1.0, 0.002, s)), {}  # noqa: E731
    else:                           # 2 converters per 16-column tile, each its own draw
        conv = lambda bits, s, n: ConverterBank(bits, n, -1.0, 1.0, 0.002, s, 16)  # noqa: E731
        kw = dict(tile_cols=16, converters_per_tile=2)
    xb = CrossbarLinear(w, dev, 8, np.abs(x).max(0), 3, bit_serial=True, out_bits=8,
                        quantizer=conv, w_scale="column", outlier_factor=None,
                        sign_magnitude=request.param.endswith("sign_magnitude"), **kw)
    xb.calibrate(x)
    return xb, w, x


def exact_and_allowed(m: TorchCrossbarLinear, xb, w, x):
    """Output of exact arithmetic (float64) on the module's own bit planes, effective
    weights and converter, and the deviation float32 may cause at each output."""
    X, W = torch.tensor(x), torch.tensor(w)
    xa = X / m.x_max
    weights, bits = m._bit_planes(torch.clamp(xa, -1.0, 1.0))
    wts = weights.double().numpy()
    b64 = bits.double().numpy()                                     # (P, N, in)
    w_eff = (W * m.x_max + m.delta).double().numpy()               # as the module forms it
    q = m.q
    lut, lv = q.lut.numpy().astype(np.int64), q.levels.numpy()
    L, c = q.n_bins, -q.lo * q.inv_bin
    bank = m.bank      # per-tile converters: each column's own table and levels
    cb = q.conv_bins.numpy() if bank else np.zeros((m.n_tiles, 1), np.int64)
    cr = q.conv_rows.numpy() if bank else np.zeros((m.n_tiles, 1), np.int64)
    R = m.ranges.double().numpy()
    y = np.zeros((x.shape[0], w.shape[0]))
    allowed = np.zeros_like(y)
    for t in range(m.n_tiles):
        sl = slice(t * m.rows, (t + 1) * m.rows)
        K = w_eff[:, sl].shape[1]
        s = q.inv_bin / R[t]
        idx = b64[:, :, sl] @ w_eff[:, sl].T * s + c                # (P, N, out)
        delta = gamma(K + 3) * (abs(c) + 2 * np.abs(w_eff[:, sl]).sum(1) * s)
        def level(i):
            return lv[cr[t] + lut[cb[t] + np.clip(np.floor(i), 0, L - 1).astype(int)]]
        lev, lo, hi = level(idx), level(idx - delta), level(idx + delta)
        y += np.tensordot(wts, lev, (0, 0)) * R[t]
        allowed += np.tensordot(np.abs(wts), hi - lo, (0, 0)) * R[t]
        # float32 shift-add of the P x T converted values
        allowed += gamma(len(wts) * m.n_tiles + 2) * np.tensordot(np.abs(wts), np.abs(lev),
                                                                  (0, 0)) * R[t]
    return y, allowed


@pytest.mark.parametrize("sparse_max,block", [(0.0, None), (torch_bitserial.SPARSE_MAX, None),
                                              (1.0, None), (torch_bitserial.SPARSE_MAX, 1)])
def test_codes_are_exact_arithmetic_up_to_float32(layer, sparse_max, block, monkeypatch):
    xb, w, x = layer
    monkeypatch.setattr(torch_bitserial, "SPARSE_MAX", sparse_max)
    if block:       # blocks of 16 rows x 16 columns (the minimum): 4 x 2 blocks of the
        # 64 inputs x 24 outputs (the second column chunk a partial one)
        monkeypatch.setattr(torch_bitserial, "BLOCK_FLOATS", block)
        monkeypatch.setattr(torch_bitserial, "ROW_BLOCK", 16)
    m = TorchCrossbarLinear(xb, torch.tensor(w))
    assert m.fast
    y_exact, allowed = exact_and_allowed(m, xb, w, x)
    with torch.no_grad():
        got = m(torch.tensor(x), torch.tensor(w)).double().numpy()
        m.fast = False                                  # the reference (per-tile) form
        ref = m(torch.tensor(x), torch.tensor(w)).double().numpy()
    slack = 1e-12 * np.abs(y_exact).max()               # float64 reference's own rounding
    assert np.all(np.abs(got - y_exact) <= allowed + slack)
    assert np.all(np.abs(ref - y_exact) <= allowed + slack)
    # the check has teeth: most outputs have no code edge within float32 reach, so they
    # must equal exact arithmetic to the shift-add's rounding (~1e-7 relative)
    lsb = float(np.max(xb.ranges)) / 128
    assert np.mean(allowed < 1e-3 * lsb) > 0.5


@pytest.mark.slow      # the first torch.compile of a process takes minutes on 2 cores
def test_compiled_conversion_is_exact_arithmetic_up_to_float32(layer):
    xb, w, x = layer
    m = TorchCrossbarLinear(xb, torch.tensor(w))
    y_exact, allowed = exact_and_allowed(m, xb, w, x)
    torch_bitserial.use_compile(True)
    try:
        with torch.no_grad():
            got = m(torch.tensor(x), torch.tensor(w)).double().numpy()
        assert torch_bitserial._COMPILE["on"], "torch.compile fell back to eager"
    finally:
        torch_bitserial.use_compile(False)
    assert np.all(np.abs(got - y_exact) <= allowed + 1e-12 * np.abs(y_exact).max())


def test_high_planes_take_the_sparse_form(layer):
    # the layer above exercises the sparse path at the default threshold: the
    # second-highest plane differs from the sign plane (two's complement), the highest
    # magnitude plane from zero (sign-magnitude), in few inputs
    xb, w, x = layer
    m = TorchCrossbarLinear(xb, torch.tensor(w))
    _, bits = m._bit_planes(torch.clamp(torch.tensor(x) / m.x_max, -1.0, 1.0))
    frac = ((bits[-1] != 0) if m.sign_magnitude else (bits[-2] != bits[-1])).float().mean()
    assert 0.0 < frac.item() < torch_bitserial.SPARSE_MAX


def test_sign_magnitude_planes_by_hand():
    """8-bit sign-magnitude: 7 magnitude planes of weight 2^b / 127, each row driven -1,
    0 or +1. x = -3/127: planes 0 and 1 at -1; x = 100/127 (0b1100100): planes 2, 5, 6 at
    +1; x = 0: no plane driven; x = -1: all seven at -1."""
    from imcspice.accelerators.torch_analog import TorchCrossbarLinear as T
    m = T.__new__(T)
    m.in_bits, m.sign_magnitude = 8, True
    wts, bits = T._bit_planes(m, torch.tensor([[-3 / 127, 100 / 127, 0.0, -1.0]]))
    assert wts.tolist() == pytest.approx([2.0 ** b / 127 for b in range(7)], rel=1e-6, abs=0)
    assert bits[:, 0].T.tolist() == [[-1, -1, 0, 0, 0, 0, 0], [0, 0, 1, 0, 0, 1, 1],
                                     [0] * 7, [-1] * 7]
    # the numpy form draws the same planes
    from imcspice.accelerators.analog import CrossbarDevice
    xb = CrossbarLinear(np.eye(4, dtype=np.float32), CrossbarDevice(
        g_min_s=1e-6, g_max_s=1e-4, v_read_v=0.2, v0_v=0.5, tile_rows=4,
        ir_drop_rel=lambda load: 0.0 * np.asarray(load)), 8, np.ones(4), 0,
        bit_serial=True, outlier_factor=None, sign_magnitude=True)
    w_np, b_np = xb._planes(np.array([[-3 / 127, 100 / 127, 0.0, -1.0]], np.float32))
    np.testing.assert_allclose(w_np, wts.double().numpy())
    np.testing.assert_array_equal(b_np, bits.numpy())


def _both_forms(m, X, W, expect) -> dict:
    """The outputs of the inference (True) and the reference form (False), each checked
    to spread as ``expect`` (per column, to 4 %)."""
    got = {}
    with torch.no_grad():
        for fast in (True, False):
            m.fast = fast
            got[fast] = m(X, W).double()
    for y in got.values():
        np.testing.assert_allclose(y.std(0).numpy(), expect.numpy(), rtol=0.04)
    return got


def test_read_noise_has_its_distribution_in_both_forms(layer):
    """Per-read noise (crossbar.read_model): each plane's read of each tile adds
    N(0, sum_i b_i var_i) to a column before conversion, in the inference form as in the
    reference one (other draws). One token read 20000 times (a std to 0.5 %), each cell's
    variance set so a plane's noise is ~10 % of its column's smallest converter range (13
    or more code steps on the fullest plane; the token's plane sums lie within half the
    range, so the noise is not clipped); by hand, the output's variance of column c is
    sum_t sum_b w_b^2 (var_c n_bt + (2 R_tc / 256)^2 / 12), n_bt the rows plane b drives
    in tile t (the last term: the code step's rounding, on the planes driving any row)."""
    xb, w, x = layer
    W = torch.tensor(w)
    m = TorchCrossbarLinear(xb, W, (5,))
    X = torch.tensor(x[:1]).repeat(20000, 1)
    wts, bits = m._bit_planes(torch.clamp(X[:1] / m.x_max, -1.0, 1.0))
    b = bits[:, 0].double().abs()                                 # (P, in): b_i^2
    n_bt = torch.stack([b[:, t * m.rows:(t + 1) * m.rows].sum(1) for t in range(m.n_tiles)],
                       1)                                         # (P, T)
    var_c = (0.1 * m.ranges.double().min(0).values) ** 2 / float(n_bt.max())
    m.read_var = var_c[None, :].expand(w.shape[1], -1).float().contiguous()
    # plus each conversion's own rounding, uniform over a code step 2 R / 256 (Widrow's
    # model: the noise spans many steps), on the planes that drive any row of the tile
    step2 = (2.0 * m.ranges.double() / 256) ** 2 / 12                 # (T, out)
    on = (n_bt > 0).double()
    expect = torch.sqrt(var_c * float((wts.double()[:, None] ** 2 * n_bt).sum())
                        + ((wts.double()[:, None] ** 2 * on).sum(0)[:, None] * step2).sum(0))
    got = _both_forms(m, X, W, expect)
    np.testing.assert_allclose(got[True].std(0).numpy(), got[False].std(0).numpy(),
                               rtol=0.03)
    se = expect * np.sqrt(2.0 / X.shape[0])
    assert torch.all((got[True].mean(0) - got[False].mean(0)).abs() < 4 * se)
    # the inference form did read noise: without it the reads agree to float32 rounding
    m.read_var, m.fast = None, True
    with torch.no_grad():
        assert float(m(X[:200], W).double().std(0).max()) < 0.01 * float(expect.min())


@pytest.mark.parametrize("lf_part", [0.0, 0.5])
def test_tia_noise_has_its_distribution_in_both_forms(layer, lf_part):
    """The bit-line TIAs' noise (col_sigma, per tile and column): every plane's read adds
    N(0, col_sigma^2) before conversion, whatever the plane drives, its part below 1 MHz
    (col_sigma_lf, ``lf_part`` of it) one draw that every plane of the row's read shares,
    in the inference form as in the reference one (other draws). Set to 10 % of each
    converter range; by hand the output's variance of column c is sum_t ((1 - lf_part^2)
    s_tc^2 sum_b w_b^2 + lf_part^2 s_tc^2 (sum_b w_b)^2 + (2 R_tc / 256)^2 / 12
    sum_b w_b^2) (the code step's rounding on every plane: the noise spans ~26 steps)."""
    xb, w, x = layer
    W = torch.tensor(w)
    m = TorchCrossbarLinear(xb, W, (6,))
    X = torch.tensor(x[:1]).repeat(20000, 1)
    wts, _ = m._bit_planes(torch.clamp(X[:1] / m.x_max, -1.0, 1.0))
    s = 0.1 * m.ranges.double()                                       # (T, out)
    m.col_sigma = s.float()
    m.col_sigma_lf = (lf_part * s).float() if lf_part else None
    step2 = (2.0 * m.ranges.double() / 256) ** 2 / 12
    w2, w1 = float((wts.double() ** 2).sum()), float(wts.double().sum())
    expect = torch.sqrt(((1 - lf_part ** 2) * w2 * s ** 2 + lf_part ** 2 * w1 ** 2 * s ** 2
                         + w2 * step2).sum(0))
    _both_forms(m, X, W, expect)
