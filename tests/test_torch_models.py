"""models/ evaluation takes torch tensors through the same code as numpy arrays
(models/array_api.py): every function of every shipped model gives the same numbers
from float64 tensors as from numpy arrays, keeps the tensor's device and dtype, and
is differentiable: torch.autograd.gradcheck (finite differences, an independent
derivative) on fitted models' evaluation with respect to their inputs."""
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from imcspice.models import load
from imcspice.models.array_api import NUMPY, namespace_of
from imcspice.models.grid import Grid

torch.set_num_threads(1)
DATA = Path(__file__).resolve().parent.parent / "models" / "data"
FILES = sorted(p.name for p in DATA.glob("*.model.h5"))


def _points(model, fn, rng, n=24, pad=0.0):
    """Random points inside the valid box (pad: fraction kept away from its faces)."""
    pts = {}
    for name in fn.inputs:
        lo, hi = model.valid_range[name]
        if lo == hi:
            continue
        a, b = lo + pad * (hi - lo), hi - pad * (hi - lo)
        scale = model.functions[fn.name].scales[fn.grid_inputs.index(name)] \
            if name in fn.grid_inputs else "linear"
        if scale == "log" or (name in ("t_s", "t_pulse_s") and lo > 0):
            pts[name] = np.exp(rng.uniform(np.log(a), np.log(b), n))
        else:
            pts[name] = rng.uniform(a, b, n)
    return pts


def test_namespace_of():
    assert namespace_of(np.ones(2), 1.0) is NUMPY
    xp = namespace_of(np.ones(2), torch.ones(2, dtype=torch.float32))
    assert xp.name == "torch" and xp.dtype == torch.float32


@pytest.mark.parametrize("fname", FILES)
def test_torch_float64_equals_numpy_on_every_shipped_function(fname):
    warnings.simplefilter("ignore")
    m = load(DATA / fname)
    rng = np.random.default_rng(0)
    for out, fn in m.functions.items():
        pts = _points(m, fn, rng)
        if not pts:      # nothing swept: a constant, no input to hand over as a tensor
            continue
        corner = fn.corners[0]
        want = m.evaluate(out, corner=corner, **pts)
        got = m.evaluate(out, corner=corner, **{k: torch.tensor(v) for k, v in pts.items()})
        assert isinstance(got, torch.Tensor) and got.dtype == torch.float64, (fname, out)
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-300,
                                   err_msg=f"{fname}:{out}")


def test_float32_tensor_stays_float32():
    m = load(DATA / "crossbar-column.model.h5")
    x = torch.tensor([0.3, 0.5], dtype=torch.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = m.ir_drop(frac_on=x, v_read_v=0.2, rows=128, r_bl_ohm=2.5, temp_c=27.0,
                      corner="tt")
    assert d.dtype == torch.float32


# (file, output, inputs to differentiate): a closed-form crossbar ladder, the memristor
# sinh law, an ACAM window table over a log axis, the gain-cell integrator ramp and its
# OTA's supply energy (quadrature over the ramp), the retention time-scaled curve and the
# readout's saturating line
GRAD_CASES = [
    ("crossbar-column.model.h5", "ir_drop_rel", ("frac_on", "v_read_v", "rows")),
    ("crossbar-column.model.h5", "i_out_a", ("frac_on", "g_on_us")),
    ("memristor.model.h5", "i_a", ("v_v", "g_us")),
    ("acam-window.model.h5", "v_lo_v", ("g_low_us",)),
    ("gaincell-mac.model.h5", "q_col_c", ("t_pulse_s", "vs_col_v")),
    ("gaincell-mac.model.h5", "e_int_j", ("t_pulse_s", "vs_col_v")),
    ("gaincell-retention-si.model.h5", "v_sn_v", ("t_s",)),
    ("gaincell-readout.model.h5", "t_out_s", ("q_in_c",)),
]


@pytest.mark.parametrize("fname,out,wrt", GRAD_CASES)
def test_gradcheck_fitted_model_evaluation(fname, out, wrt):
    warnings.simplefilter("ignore")
    m = load(DATA / fname)
    fn = m.functions[out]
    pts = _points(m, fn, np.random.default_rng(3), n=6, pad=0.05)
    fixed = {k: torch.tensor(v) for k, v in pts.items() if k not in wrt}
    free = [k for k in wrt if k in pts]
    assert free, f"{fname}:{out} does not vary {wrt}"
    # every input and the output in units of its own scale (conductances in uS, times in
    # s, voltages in V; charges ~1e-13 C, energies ~1e-12 J): one eps and one atol then
    # mean the same for each (an absolute atol of 1e-7 would pass any gradient of a
    # picojoule output, and one eps cannot suit nanoseconds and volts together)
    x_scale = [float(np.abs(pts[k]).max()) or 1.0 for k in free]
    args = tuple(torch.tensor(pts[k] / s, requires_grad=True) for k, s in zip(free, x_scale))

    def f(*xs):
        return m.evaluate(out, corner=fn.corners[0], **fixed,
                          **{k: x * s for k, x, s in zip(free, xs, x_scale)})
    y = f(*args)
    assert y.requires_grad
    y_scale = float(y.detach().abs().max()) or 1.0
    assert torch.autograd.gradcheck(lambda *xs: f(*xs) / y_scale, args, eps=1e-6,
                                    atol=1e-7, rtol=1e-3)


def test_grid_gradient_is_the_cell_slope():
    # 1-D grid 0, 1, 3 -> 0, 2, 3: slope 2 in the first cell, 0.5 in the second (by hand)
    g = Grid([np.array([0.0, 1.0, 3.0])], np.array([0.0, 2.0, 3.0]))
    x = torch.tensor([0.25, 2.0], dtype=torch.float64, requires_grad=True)
    y = g(x)
    assert y.tolist() == pytest.approx([0.5, 2.5], rel=1e-6, abs=0)
    y.sum().backward()
    assert x.grad.tolist() == pytest.approx([2.0, 0.5], rel=1e-6, abs=0)
