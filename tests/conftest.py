import os
import sys

# ngspice workers run beside the test process on 2 cores: one BLAS thread each keeps
# OpenBLAS from spinning against them (set before numpy is imported)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
from pathlib import Path

import pytest

# Workers are spawned processes: they import test recipes by module path.
sys.path.insert(0, str(Path(__file__).parent))


def pytest_configure(config):
    # A private point cache per test session, so a test never passes on a stale hit.
    if "IMCSPICE_CACHE" not in os.environ:
        import tempfile
        os.environ["IMCSPICE_CACHE"] = tempfile.mkdtemp(prefix="imcspice-test-cache-")


def pytest_collection_modifyitems(config, items):
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
