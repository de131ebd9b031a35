"""Sweeps on a Dask distributed cluster (a LocalCluster on loopback)."""
import numpy as np
import pytest

from imcspice.characterize import rawfile
from imcspice.characterize.dask_pool import DaskPool
from imcspice.characterize.recipes import register
from imcspice.characterize.runner import run_sweep
from imcspice.characterize.sweep import SweepSpec

from fault_recipes import FaultProbe

register(FaultProbe())


@pytest.fixture(scope="module")
def dask_pool():
    with DaskPool("local", workers=2, timeout_s=5, use_cache=False) as p:
        yield p


def test_dask_results_identical_to_local_pool(tmp_path, dask_pool):
    spec = SweepSpec("nfet-iv", {"w_um": [0.5, 1.0]}, corners=["tt", "ff"], mc=2, seed=11)
    a = run_sweep(spec, tmp_path / "dask.raw.h5", pool=dask_pool, progress=False,
                  use_cache=False)
    b = run_sweep(spec, tmp_path / "local.raw.h5", workers=2, progress=False, use_cache=False)
    assert a.status_counts() == {"ok": 8}
    for q in a.data:
        np.testing.assert_array_equal(a.data[q], b.data[q])


def test_dask_records_nonconvergence_and_timeouts(tmp_path, dask_pool):
    spec = SweepSpec("test-fault-probe", {"c": [0.0, 1.0, 0.1], "trigger": [0.1],
                                          "action": ["hang"]})
    raw = run_sweep(spec, tmp_path / "f.raw.h5", pool=dask_pool, progress=False,
                    use_cache=False)
    st = [rawfile.STATUS_NAMES[int(s)] for s in raw.status.ravel()]
    assert st == ["ok", "nonconverged", "timeout"]


def test_dask_worker_lost_mid_sweep(tmp_path, dask_pool):
    spec = SweepSpec("test-fault-probe", {"c": [0.0, 0.05, 0.1, 0.15], "trigger": [0.05],
                                          "action": ["kill"]})
    raw = run_sweep(spec, tmp_path / "k.raw.h5", pool=dask_pool, progress=False,
                    use_cache=False)
    st = [rawfile.STATUS_NAMES[int(s)] for s in raw.status.ravel()]
    assert st == ["ok", "crashed", "ok", "ok"]
    assert "Dask" in raw.message.ravel()[1]
