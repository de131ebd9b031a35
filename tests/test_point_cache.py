"""The point cache is untrusted: tampered, truncated, foreign or incomplete entries are
recomputed, never served; a full cache costs cache entries, not results."""
import numpy as np
import pytest

from imcspice.characterize import engine, rawfile
from imcspice.characterize.runner import run_sweep
from imcspice.characterize.sweep import SweepSpec

SPEC = SweepSpec("memristor-iv", {"g_us": [5.0, 50.0]})


class _NoPool:
    """Refuses to simulate: every point must come from the cache."""

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return None

    def run(self, tasks):
        raise AssertionError(f"{len(list(tasks))} points were simulated, not served")


def _entries(cache):
    return sorted((cache / "points").rglob("*.npz"))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("IMCSPICE_CACHE", str(d))
    return d


def _fresh(tmp_path, name):
    return run_sweep(SPEC, tmp_path / f"{name}.raw.h5", workers=1, progress=False)


def test_intact_entries_are_served(tmp_path, cache):
    a = _fresh(tmp_path, "a")
    b = run_sweep(SPEC, tmp_path / "b.raw.h5", pool=_NoPool(), progress=False)
    np.testing.assert_array_equal(a.data["i_a"], b.data["i_a"])


def _rewrite(path, edit):
    with np.load(path, allow_pickle=False) as z:
        d = {k: z[k] for k in z.files}
    edit(d)
    np.savez(path.with_suffix(""), **d)  # np.savez appends .npz


@pytest.mark.parametrize("attack", ["values", "missing_output", "truncated", "other_key"])
def test_damaged_or_tampered_entries_are_recomputed(tmp_path, cache, attack):
    ref = _fresh(tmp_path, "ref")
    files = _entries(cache)
    assert len(files) == 2
    target = files[0]
    if attack == "values":                          # the attack of the issue: x 70
        _rewrite(target, lambda d: d.update(i_a=d["i_a"] * 70.0))
    elif attack == "missing_output":
        _rewrite(target, lambda d: d.pop("i_a"))
    elif attack == "truncated":
        target.write_bytes(target.read_bytes()[:200])
    else:                                           # another point's entry under this key
        target.write_bytes(files[1].read_bytes())
    again = run_sweep(SPEC, tmp_path / "again.raw.h5", workers=1, progress=False)
    assert [rawfile.STATUS_NAMES[int(s)] for s in again.status.ravel()] == ["ok", "ok"]
    np.testing.assert_array_equal(again.data["i_a"], ref.data["i_a"])


def test_a_full_cache_costs_entries_not_results(tmp_path, cache, monkeypatch):
    def full(*a, **k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(np, "savez", full)
    res = engine.Result(0, "ok", {"i_a": np.ones(3)}, "", 0.1, "x")
    engine.cache_store("ab" * 32, res)               # no exception, nothing left behind
    assert not list(cache.rglob("*.tmp*")) and engine.cache_load("ab" * 32) is None
