import os
import sys
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
