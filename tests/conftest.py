import os
import sys

# ngspice workers run beside the test process on 2 cores: one BLAS thread each keeps
# OpenBLAS from spinning against them (set before numpy is imported)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# ... and an xdist worker (one per core) runs torch on one thread: two threads each on 2
# cores made a partial run's network tests up to 3x slower than in the whole suite, where
# some test modules happened to set it on import
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
from pathlib import Path

import pytest

# Workers are spawned processes: they import test recipes by module path.
sys.path.insert(0, str(Path(__file__).parent))


def pytest_configure(config):
    # A private point cache per test session, so a test never passes on a stale hit.
    if "IMCSPICE_CACHE" not in os.environ:
        import tempfile
        os.environ["IMCSPICE_CACHE"] = tempfile.mkdtemp(prefix="imcspice-test-cache-")


#: The test files that take longest on one worker, started first (the suite's --durations
#: on 2 workers, 1 Dec 2026, shared machine at load 4-6, so ~3x a quiet run: race-it
#: evaluation 1091 s of which the model build it starts 379 s, gaincell 551 s, hetrax
#: evaluation 374 s, tight tolerance 333 s, accelerators 203 s; the next, test_acam, 263 s).
#: `./dev test` runs xdist's loadfile with --no-loadscope-reorder, so the workers take files
#: in collection order: these first, the short files last, so that no long file starts last
#: while the other worker runs out of work (xdist's default orders files by test count,
#: which put the 3-test evaluation files last: 2528 s instead of 2162 s, simulated from
#: those durations). A stale list costs time, never a result.
LONG_FILES = ("test_race_it_evaluation.py", "test_gaincell.py", "test_tight_tolerance.py",
              "test_accelerators.py", "test_hetrax_evaluation.py")


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONG_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: rest as is
    if os.environ.get("IMCSPICE_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow full-size run: set IMCSPICE_SLOW=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def pool():
    """Two ngspice worker processes shared by the tests that just need simulations run
    (fault-injection tests start pools of their own)."""
    from imcspice.characterize.engine import LocalPool
    # a hang guard, not a speed check: a 64-row gain-cell MAC point (OTA integrator)
    # took over 120 s on a loaded 2-core machine
    with LocalPool(2, timeout_s=600) as p:
        yield p


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """``(directory, summary)`` of the accelerator tests' models fitted from real tiny
    ngspice sweeps (tests/tiny_sweeps.py): built once per session, in the session's
    temporary root, which xdist's workers share (each worker's basetemp is a
    ``popen-gwN`` folder inside it)."""
    from tiny_sweeps import build_once
    base = tmp_path_factory.getbasetemp()
    return build_once(base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base)


@pytest.fixture
def protocol(request, monkeypatch):
    """The parametrized protocol stands in for --quick's (None: --quick's own)
    (tests/evaluation_checks.py's PROTOCOLS)."""
    from imcspice.accelerators import accuracy
    if request.param is not None:
        monkeypatch.setattr(accuracy, "QUICK", request.param)
    return accuracy.QUICK


@pytest.fixture(scope="session")
def shipped_figures():
    """``get(name)``: a shipped description's figures resolved from the shipped models at
    its own temperature, once per session (resolving RACE-IT prices its mapped crossbar
    loads, ~20 s)."""
    from imcspice.accelerators import arch, components, hardware
    hw = hardware.HardwareModels.from_dir(None)
    cache: dict = {}

    def get(name: str) -> dict:
        if name not in cache:
            cache[name] = components.resolve(arch.load(name), hw)
        return cache[name]
    return get


@pytest.fixture
def minilm_two_layers(monkeypatch):
    """MiniLMRun (and all else that loads the pretrained MiniLM) on its first two of six
    layers, the FP32 reference alike: for tests of how chips are built, calibrated and
    compared, which hold at any depth, at a third of the network's cost. The six-layer
    figures are the shipped-artifact tests' and `./dev demo`'s."""
    from imcspice.accelerators import torch_minilm as tm
    load = tm.load_hf_minilm

    def first_two_layers(device=None):
        m = load(device)
        m.encoder.layer = m.encoder.layer[:2]
        m.config.num_hidden_layers = 2
        return m
    monkeypatch.setattr(tm, "load_hf_minilm", first_two_layers)
