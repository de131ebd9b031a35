"""The hardware-path calibration on the torch operators against the numpy one.

:func:`imcspice.accelerators.convert.calibrate` runs its hardware-path passes (converter
and lookup ranges, centroid row levels) on the torch operators; ``reference=True`` runs
them on the numpy hardware ops (the numpy protocol's calibration). The two compute the
same quantities from the same inputs in float32, in another summation order. Compared
here in lockstep (:func:`lockstep`): two chips of one seed, every operator of the
reference pass fed to both, so each operator sees identical inputs and any difference is
that operator's own:

* a quantity before any quantizer (the FP32-recorded inputs, the first crossbars'
  column sums) agrees to float32 rounding: a sum of K terms carries at most
  gamma_K = K u / (1 - K u) of its terms' magnitudes (u = 2^-24; Higham, Accuracy and
  Stability of Numerical Algorithms, 2nd ed., eq. 3.4), K the rows of a tile;
* a quantizer's code can differ only for an input within that rounding of a code edge
  (one edge per output step): the fraction of outputs that differ is bounded by the
  rounding over the step, summed over the conversions behind one output;
* each row's centroid level is a mean of the inputs it matched: where both passes
  matched the same inputs, equal to the float64 sums' rounding.
"""
from __future__ import annotations

import copy
import functools
import warnings

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertModel

import imcspice.accelerators as acc
from imcspice.accelerators import arch as arch_mod
from imcspice.accelerators.analog import Nonideal

torch.set_num_threads(1)
warnings.simplefilter("ignore")
U = 2.0 ** -24
OPS = ("linear", "matmul", "softmax", "layernorm", "activation", "rmsnorm")


def lockstep(model, arch, batches, seed=0, nonideal=None):
    """Calibrate two chips of ``arch`` (seed ``seed``) on ``batches``: ``R`` on the numpy
    hardware ops, ``T`` on the torch ones, every operator call of R's passes also made on
    T with the same inputs. Returns (R, T, outputs: name -> list of (R's, T's) outputs)."""
    mR = acc.convert(copy.deepcopy(model), arch, seed=seed, nonideal=nonideal)
    mT = acc.convert(copy.deepcopy(model), arch, seed=seed, nonideal=nonideal)
    R, T = mR._imcspice_chip, mT._imcspice_chip
    outs: dict = {}

    def tie(meth):
        r_op, t_op = getattr(R, meth), getattr(T, meth)

        def both(*a, **k):
            yr = r_op(*a, **k)
            yt = t_op(*a, **k)
            outs.setdefault(a[-1] if isinstance(a[-1], str) else a[1], []).append(
                (yr.detach().double().numpy(), yt.detach().double().numpy()))
            return yr
        return both
    with torch.no_grad():
        R.begin_record()
        T.begin_record()
        for b in batches:
            mR(**b)
            mT(**b)
        R.begin_hw_calibrate(reference=True)
        T.begin_hw_calibrate()
        for m in OPS:
            setattr(R, m, tie(m))
        for b in batches:
            mR(**b)
        R.finish()
        T.finish()
        stats: dict = {}
        outs["stats"] = stats
        if not getattr(R.factory, "centroid_levels", False):
            return R, T, outs
        # the level pass: T counts in torch while R runs the numpy pass
        T._fitting = T.factory._fitting = True
        for q in T.factory._quantizers():
            q.start_stats()
        R.fit_levels(lambda: ([mR(**b) for b in batches], stats.update(R=_stats(R.factory))),
                     reference=True)
        T._flush_stats()
        stats["T"] = _stats(T.factory)
        T._fitting = T.factory._fitting = False
        for q in T.factory._quantizers():
            q.fit_levels()
    return R, T, outs


def _stats(f) -> dict:
    """Each fitted quantizer's row statistics (sums, counts) of a level pass, by its key."""
    qs = {**{k: q for k, q in f._acams.items()},
          **{n: xb.q for n, xb in f._xbars.items() if xb.q is not None}}
    return {k: (q._stats[0].copy(), q._stats[1].copy()) for k, q in qs.items()
            if getattr(q, "_stats", None) is not None}


def _tiny_bert():
    torch.manual_seed(0)
    return BertModel(BertConfig(vocab_size=120, hidden_size=32, num_hidden_layers=2,
                                num_attention_heads=4, intermediate_size=64,
                                max_position_embeddings=64)).eval()


def _batches():
    out = []
    for s in (2, 3):
        g = torch.Generator().manual_seed(s)
        ids = torch.randint(0, 120, (3, 16), generator=g)
        mask = torch.ones_like(ids)
        mask[-1, 11:] = 0                              # a padded row
        out.append({"input_ids": ids, "attention_mask": mask})
    return out


#: HeTraX without programming noise: its ReRAM read noise (scaled with it) is drawn from
#: numpy's generator on the numpy path and torch's on the torch path; RACE-IT with its
#: cells read as linear conductances for the same reason (crossbar.read_model = false)
#: (the TIAs' noise, drawn by each path's own generator, off in both)
CASES = {"race-it": Nonideal(tia_noise=0.0),
         "hetrax": Nonideal(1.0, 0.0, 1.0, True, tia_noise=0.0)}
ARCHS = {"race-it": arch_mod.load("race-it", ["crossbar.read_model=false"]),
         "hetrax": "hetrax"}


@functools.cache
def _pair(kind: str):
    return (kind,) + lockstep(_tiny_bert(), ARCHS[kind], _batches(), seed=3,
                              nonideal=CASES[kind])


@pytest.fixture(params=sorted(CASES))
def pair(request):
    return _pair(request.param)


def test_converter_ranges_agree_to_float32_rounding(pair):
    """Each (tile, column) converter range is a percentile of that column's sums over
    every plane and row; percentiles move by at most the largest change of an element
    (1-Lipschitz in the max norm), and a sum of K <= tile_rows drives in [-1, 1] times the
    programmed weights differs by at most gamma_K x sum_i |w_i| between two orders."""
    _, R, T, _ = pair
    assert R.factory._xbars, "no crossbar was calibrated"
    for name, xb in R.factory._xbars.items():
        xt = T.factory._xbars[name]
        rows = xb.dev.tile_rows
        g = rows * U / (1 - rows * U)
        w = np.abs(xb.w_eff.astype(np.float64))                  # (out, in_analog)
        s = np.stack([w[:, t * rows:(t + 1) * rows].sum(axis=1) for t in range(xb.n_tiles)])
        if xb.partial_sums == "analog":
            s = s.sum(axis=0, keepdims=True)
        bound = 2 * g * s + 4 * U * xb.ranges         # + the percentile's interpolation
        assert xt.ranges.shape == xb.ranges.shape
        assert np.all(np.abs(xt.ranges - xb.ranges) <= bound), name


def test_operator_outputs_differ_only_by_code_flips(pair):
    """Each operator, fed identical inputs: its outputs equal to float32 rounding except
    where a code flipped (an input within rounding of a code edge). A conversion's input
    carries a rounding of typically sqrt(K) u of its scale (random-walk summation error;
    the tiny model's sums have K <= 64 terms) against a step of 2^-8 of it: a flip in
    ~sqrt(64) x 6e-8 x 256 ~ 1.2e-4 of the conversions; an output element is one
    conversion (lookups) or one per bit plane (8) of its one tile: at most ~1e-3."""
    _, R, T, outs = pair
    n_all = n_diff = 0
    for name, calls in outs.items():
        if name == "stats":
            continue
        for yr, yt in calls:
            scale = np.abs(yr).max() or 1.0
            n_all += yr.size
            n_diff += int(np.sum(np.abs(yr - yt) > 1e-4 * scale))
    assert n_all > 10_000 and n_diff <= 1e-3 * n_all


def test_level_pass_counts_every_input_once():
    """The torch level pass counts each lookup's and converter's inputs to their rows as
    the numpy pass does: every quantizer, the same total (integers); the product lookups
    (operands are identical codes, product and division the same float32 operations)
    row by row, their sums to float64 rounding; the others row by row up to the few
    inputs a code flip upstream moved."""
    _, R, T, outs = _pair("race-it")            # (HeTraX's ideal ADCs store no levels)
    sr, st = outs["stats"]["R"], outs["stats"]["T"]
    assert sr and set(sr) == set(st)
    for k, (s_r, n_r) in sr.items():
        s_t, n_t = st[k]
        assert n_t.sum() == n_r.sum(), k
        if isinstance(k, tuple) and k[0].endswith(".prod"):
            np.testing.assert_array_equal(n_t, n_r)
            np.testing.assert_allclose(s_t, s_r, rtol=1e-12, atol=1e-12 * np.abs(s_r).max())
        else:
            assert np.abs(n_t - n_r).sum() <= 1e-3 * n_r.sum() + 2, k


def test_centroid_levels_agree():
    """Levels after the pass (centroid: the mean of a row's inputs): where a row counted
    the same inputs, equal up to those inputs' own float32 rounding (each operator
    computes its lookup inputs from the shared operands in its own order: a few u of the
    window's end); a flipped input moves a row's mean by less than its distance to the
    mean over the row's count (>= 4, ``min_count``): below half a step for inputs within
    two steps (adjacent rows)."""
    _, R, T, _ = _pair("race-it")
    assert R.factory.centroid_levels
    pairs = [(k, q, T.factory._acams[k]) for k, q in R.factory._acams.items()] + \
        [(n, xb.q, T.factory._xbars[n].q) for n, xb in R.factory._xbars.items()]
    for k, q, qt in pairs:
        step = (q.hi - q.lo) / 2 ** q.bits
        d = np.abs(qt.levels - q.levels)
        near = d <= 8 * U * max(abs(q.lo), abs(q.hi))
        assert d.max() < 0.5 * step and np.mean(~near) <= 0.05, k


def test_calibrate_defaults_to_the_torch_passes():
    """``calibrate`` runs the torch passes; ``reference=True`` the numpy ones; both leave
    a chip whose outputs differ from FP32 by the hardware's error, and from each other by
    less (float-order code flips only)."""
    from imcspice.accelerators.convert import calibrate
    m = _tiny_bert()
    x = _batches()[0]
    with torch.no_grad():
        ref = m(**x)[0]
    ys = []
    for reference in (False, True):
        conv = acc.convert(copy.deepcopy(m), ARCHS["race-it"], seed=3,
                           nonideal=CASES["race-it"])
        calibrate(conv, _batches(), reference=reference)
        assert conv._imcspice_chip._reference is reference
        with torch.no_grad():
            ys.append(conv(**x)[0])
    err = (ys[1] - ref).norm().item()
    assert (ys[0] - ys[1]).norm().item() < 0.5 * err


def test_product_counts_by_operand_pairs_equal_counting_each_product():
    """:func:`.torch_quant.product_stats` counts the products by pairs of operand codes
    (a histogram product) instead of forming them: the same row counts (integers) and
    sums (float64, another order) as recording every product A_ik B_kj / pm, clipped.
    Operands: 8-bit sign + magnitude codes, ranges that clip some products."""
    from imcspice.accelerators.trimmed_acam import TrimmedAcam
    from imcspice.accelerators.torch_quant import AcamLookup, product_stats
    g = torch.Generator().manual_seed(5)
    n = 127
    A = torch.round(torch.randn(3, 64, 48, generator=g).clamp(-3, 3) / 3 * n) / n * 2.5
    B = torch.round(torch.randn(3, 48, 40, generator=g).clamp(-3, 3) / 3 * n) / n * 1.5
    pm = torch.tensor([0.8, 1.1, 2.0]).view(3, 1, 1)
    counted = []
    for pairs in (True, False):
        q = AcamLookup(TrimmedAcam(8, -128 / 127 - 1 / 254, 1 + 1 / 254, 0.004, 7, keep=0.0))
        q.start_stats()
        if pairs:
            product_stats(q, A, B, pm)
        else:
            q.record((A[:, :, :, None] * B[:, None, :, :] / pm[..., None]).clamp(-1, 1))
        counted.append([t.numpy() for t in q.stats])
    (s_p, n_p), (s_e, n_e) = counted
    assert n_e.sum() == A.shape[0] * A.shape[1] * A.shape[2] * B.shape[2]
    p = A[:, :, :, None] * B[:, None, :, :] / pm[..., None]
    assert p.max() > 1 and p.min() < -1                 # products clipped at both ends
    np.testing.assert_array_equal(n_p, n_e)
    np.testing.assert_allclose(s_p, s_e, rtol=1e-12, atol=1e-9)
