"""The overhead benchmark's floor counts what the analog pass asks of torch.

Expectations by hand: an (m, k) @ (k, n) product is m*k*n multiply-adds; a linear layer
of (out, in) weights on x of shape (..., in) is x.numel() / in * out * in."""
import importlib.util
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

spec = importlib.util.spec_from_file_location(
    "transformer_overhead",
    Path(__file__).resolve().parents[1] / "benchmarks" / "transformer_overhead.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_counted_tallies_draws_and_multiply_adds_then_restores_torch():
    mm, addmm, randn, linear = torch.mm, torch.addmm, torch.randn, F.linear
    a, b = torch.ones(3, 4), torch.ones(4, 5)

    def work():
        torch.mm(a, b)                                  # 3*4*5 = 60
        torch.addmm(torch.zeros(1), a, b, out=torch.empty(3, 5))   # 60 more
        torch.randn(7, 2)                               # 14 draws
        F.linear(torch.ones(2, 6, 4), torch.ones(5, 4))  # 12 rows x 5 x 4 = 240
    got = bench.counted(work, "randn", "mm", "addmm", "linear")
    assert got == {"randn": 14, "mm": 60, "addmm": 60, "linear": 240}
    assert (torch.mm, torch.addmm, torch.randn, F.linear) == (mm, addmm, randn, linear)


def test_counted_restores_torch_when_the_pass_fails():
    mm = torch.mm

    def bad():
        torch.mm(torch.ones(2, 2), torch.ones(2, 2))
        raise RuntimeError("pass failed")
    with pytest.raises(RuntimeError, match="pass failed"):
        bench.counted(bad, "mm")
    assert torch.mm is mm
