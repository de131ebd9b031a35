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
  Stability of Numerical Algorithms, 2nd ed., eq. 3.4), K <= 64 rows here;
* a quantizer's code can differ only for an input within that rounding of a code edge
  (one edge per output step): the fraction of outputs that differ is bounded by the
  rounding over the step, summed over the conversions behind one output;
* each row's centroid level is a mean of the inputs it matched: where both passes
  matched the same inputs, equal to the float64 sums' rounding.
"""
from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertModel

import imcspice.accelerators as acc
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
        # the level pass: T counts in torch while R runs the numpy pass
        T._fitting = T.factory._fitting = True
        for q in T.factory._quantizers():
            q.start_stats()
        R.fit_levels(lambda: [mR(**b) for b in batches], reference=True)
        T._flush_stats()
        T._fitting = T.factory._fitting = False
        for q in T.factory._quantizers():
            q.fit_levels()
    return R, T, outs
