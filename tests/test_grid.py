"""models/grid.py (the interpolation engine of every table model) against another
solver, scipy's RegularGridInterpolator, on random grids: multilinear inside the box,
the edge cell extended linearly outside it (what grid.py documents; scipy's
``bounds_error=False, fill_value=None``), constant length-1 axes, descending axes,
trailing components, and the log / inverse-kelvin axis scales."""
import numpy as np
import pytest
from scipy.interpolate import RegularGridInterpolator

from imcspice.models.grid import KELVIN, Grid


def _axis(rng, n, uniform, descending):
    if n == 1:
        return np.array([rng.uniform(-5, 5)])
    if uniform:
        a = np.linspace(rng.uniform(-5, 0), rng.uniform(0.5, 5), n)
    else:                        # non-uniform, with cells from 0.05 to ~2 wide
        a = rng.uniform(-3, 3) + np.cumsum(rng.uniform(0.05, 2.0, n))
    return a[::-1].copy() if descending else a


def _reference(axes, values, pts):
    """scipy on the same data, length-1 axes dropped (scipy needs 2 points per axis;
    grid.py treats a length-1 axis as constant)."""
    live = [i for i, a in enumerate(axes) if len(a) > 1]
    v = values
    for i in sorted(set(range(len(axes))) - set(live), reverse=True):
        v = np.take(v, 0, axis=i)
    if not live:
        return np.broadcast_to(v, (len(pts),) + v.shape)
    rgi = RegularGridInterpolator([axes[i] for i in live], v, method="linear",
                                  bounds_error=False, fill_value=None)
    return rgi(pts[:, live])


@pytest.mark.parametrize("seed", range(40))
def test_random_grids_match_regular_grid_interpolator(seed):
    rng = np.random.default_rng(seed)
    nd = int(rng.integers(1, 5))
    shape = [int(rng.choice([1, 2, 3, 5, 8])) for _ in range(nd)]
    axes = [_axis(rng, n, uniform=bool(rng.integers(2)), descending=bool(rng.integers(2)))
            for n in shape]
    trailing = () if rng.integers(2) else (int(rng.integers(1, 4)),)
    values = rng.normal(size=tuple(shape) + trailing)
    g = Grid(axes, values)
    # points inside the box, on its faces, and up to one box width outside it
    lo = np.array([a.min() for a in axes])
    hi = np.array([a.max() for a in axes])
    span = np.where(hi > lo, hi - lo, 1.0)
    inside = lo + rng.uniform(0, 1, (300, nd)) * (hi - lo)
    outside = lo + rng.uniform(-1, 2, (300, nd)) * span
    nodes = np.stack([a[rng.integers(len(a), size=50)] for a in axes], axis=1)
    for pts in (inside, outside, nodes):
        got = g(*pts.T)
        want = _reference(axes, values, pts)
        assert got.shape == (len(pts),) + trailing
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_nodes_are_reproduced_exactly_and_the_edge_cell_extends_linearly():
    # hand calculation: f = 1 + 2x on x in {0, 1, 3} (the last cell has slope 2 too);
    # the value 4 at x=1 puts a kink there: the slope is 3 below x=1, 0.5 above it
    g = Grid([np.array([0.0, 1.0, 3.0])], np.array([1.0, 4.0, 5.0]))
    np.testing.assert_array_equal(g(np.array([0.0, 1.0, 3.0])), [1.0, 4.0, 5.0])
    np.testing.assert_allclose(g(np.array([-1.0, 0.5, 2.0, 5.0])),
                               [1.0 - 3.0, 2.5, 4.5, 5.0 + 2 * 0.5])


@pytest.mark.parametrize("scale", ["log", "inv_kelvin"])
def test_axis_scales_are_linear_in_the_transformed_coordinate(scale):
    rng = np.random.default_rng(11)
    a0 = np.sort(rng.uniform(1, 100, 6))             # > 0 for the log axis, in C or uS
    a1 = np.linspace(0, 1, 4)
    values = rng.normal(size=(6, 4))
    g = Grid([a0, a1], values, scales=[scale, "linear"])
    f = np.log if scale == "log" else (lambda t: 1.0 / (t + KELVIN))
    x0 = rng.uniform(0.5, 150, 200)
    x1 = rng.uniform(-0.5, 1.5, 200)
    # 1/(T + 273.15) falls with T: scipy takes the descending axis as it is
    rgi = RegularGridInterpolator([f(a0), a1], values, bounds_error=False, fill_value=None)
    np.testing.assert_allclose(g(x0, x1), rgi(np.stack([f(x0), x1], axis=1)), rtol=1e-10,
                               atol=1e-10)
