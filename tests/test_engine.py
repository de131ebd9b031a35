"""The engine on real ngspice and real SKY130 models: physics sanity, faults, resume."""
import json
import os
import signal
import subprocess
import time

import numpy as np
import pytest

from imcspice.characterize import rawfile
from imcspice.characterize.recipes import register
from imcspice.characterize.runner import run_sweep
from imcspice.characterize.sweep import SweepSpec

from fault_recipes import FaultProbe, HeldNfetIV, held_cli, held_cli_env

register(FaultProbe())


def test_corner_ordering_of_drive_current(tmp_path, pool):
    for recipe in ("nfet-iv", "pfet-iv"):
        spec = SweepSpec(recipe, {"w_um": [1.0]}, corners=["ss", "tt", "ff"])
        raw = run_sweep(spec, tmp_path / f"{recipe}.raw.h5", pool=pool, progress=False)
        assert raw.status_counts() == {"ok": 3}
        idsat = raw.data["idsat_a"][:, 0, 0]
        assert idsat[2] > idsat[1] > idsat[0] > 0, (recipe, idsat)
        vth = raw.data["vth_v"][:, 0, 0]
        assert vth[0] > vth[1] > vth[2], (recipe, vth)  # slow devices: higher |Vth|


def test_temperature_dependence_sign(tmp_path, pool):
    spec = SweepSpec("nfet-iv", {"w_um": [1.0]}, temps_c=[-40, 27, 125])
    raw = run_sweep(spec, tmp_path / "t.raw.h5", pool=pool, progress=False)
    ivg, axes = raw.select("id_a", corner="tt", w_um=1.0, vds_v=1.8)
    assert axes == ["temp_c", "vgs_v"]
    vgs = raw.axis("vgs_v")
    sub = ivg[:, np.argmin(abs(vgs - 0.3))]      # subthreshold: thermally activated
    strong = ivg[:, np.argmin(abs(vgs - 1.8))]   # strong inversion: mobility falls
    assert sub[0] < sub[1] < sub[2]
    assert strong[0] > strong[1] > strong[2]
    vth = raw.data["vth_v"][0, :, 0]
    assert vth[0] > vth[1] > vth[2]              # Vth falls as temperature rises


def test_monte_carlo_spread_reproducible(tmp_path, pool):
    def run(seed, name):
        spec = SweepSpec("nfet-iv", {"w_um": [0.5]}, mc=8, seed=seed)
        return run_sweep(spec, tmp_path / name, pool=pool, progress=False, use_cache=False)
    a, b, c = run(7, "a.raw.h5"), run(7, "b.raw.h5"), run(8, "c.raw.h5")
    va, vb, vc = (r.data["vth_v"].ravel() for r in (a, b, c))
    assert np.all(np.isfinite(va))
    assert np.std(va) > 1e-3                     # mismatch sigma of a 0.5x0.15 um device
    np.testing.assert_array_equal(va, vb)        # same seed -> same samples
    assert not np.allclose(va, vc)               # other seed -> other samples
    nominal = run_sweep(SweepSpec("nfet-iv", {"w_um": [0.5]}), tmp_path / "n.raw.h5",
                        pool=pool, progress=False).data["vth_v"].ravel()[0]
    assert abs(np.mean(va) - nominal) < 4 * np.std(va)


def test_nonconverging_point_is_recorded_not_fatal(tmp_path, pool):
    spec = SweepSpec("test-fault-probe", {"c": [0.0, 0.1, 1.0, 0.2]})
    raw = run_sweep(spec, tmp_path / "nc.raw.h5", pool=pool, progress=False)
    st = [rawfile.STATUS_NAMES[int(s)] for s in raw.status.ravel()]
    assert st == ["ok", "ok", "nonconverged", "ok"]
    v = raw.data["v_n"].ravel()
    assert np.isnan(v[2])
    np.testing.assert_allclose(v[1], (-1 + np.sqrt(1 - 0.4)) / 2, rtol=1e-6)  # V^2+V+0.1=0
    assert "convergence" in raw.message.ravel()[2].lower() or "timestep" in \
        raw.message.ravel()[2].lower()


def test_killed_worker_costs_one_point(tmp_path):
    spec = SweepSpec("test-fault-probe", {"c": [0.0, 0.05, 0.1, 0.15, 0.2],
                                          "trigger": [0.1], "action": ["kill"]})
    raw = run_sweep(spec, tmp_path / "kill.raw.h5", workers=2, progress=False, use_cache=False)
    st = [rawfile.STATUS_NAMES[int(s)] for s in raw.status.ravel()]
    assert st == ["ok", "ok", "crashed", "ok", "ok"]
    assert "died" in raw.message.ravel()[2]


def test_hung_point_times_out(tmp_path):
    from imcspice.characterize.engine import LocalPool

    # A point's deadline starts when it is sent, so it includes a fresh worker's start-up
    # (imports, ngspice, the deck: over 3 s on a loaded machine, where the first point
    # timed out too): the 3 s deadline is applied to a warm worker only.
    def sweep(name, cs):
        spec = SweepSpec("test-fault-probe", {"c": cs, "trigger": [0.1], "action": ["hang"]})
        return run_sweep(spec, tmp_path / name, pool=pool, progress=False, use_cache=False)
    with LocalPool(1, timeout_s=120) as pool:
        assert sweep("warm.raw.h5", [0.05]).status_counts() == {"ok": 1}
        pool.timeout_s = 3
        t = time.monotonic()
        raw = sweep("hang.raw.h5", [0.0, 0.2, 0.1])
        assert time.monotonic() - t < 30
        pool.timeout_s = 120
        after = sweep("after.raw.h5", [0.15])      # on the worker that replaced the hung one
    st = [rawfile.STATUS_NAMES[int(s)] for s in raw.status.ravel()]
    assert st == ["ok", "ok", "timeout"]
    assert after.status_counts() == {"ok": 1}


def test_cache_makes_repeat_free(tmp_path, pool):
    spec = SweepSpec("memristor-iv", {"g_us": [5.0, 50.0, 150.0]})
    a = run_sweep(spec, tmp_path / "a.raw.h5", pool=pool, progress=False)
    # With no pool at all, every point must come from the cache.
    b = run_sweep(spec, tmp_path / "b.raw.h5", pool=_NoPool(), progress=False)
    np.testing.assert_array_equal(a.data["i_a"], b.data["i_a"])


class _NoPool:
    def run(self, tasks):
        raise AssertionError(f"{len(list(tasks))} points were not served from the cache")


def test_memristor_iv_matches_device_equation(tmp_path, pool):
    spec = SweepSpec("memristor-iv", {"g_us": [10.0, 100.0]})
    raw = run_sweep(spec, tmp_path / "m.raw.h5", pool=pool, progress=False)
    v = raw.axis("v_v")
    gq = 2 * 1.602176634e-19 ** 2 / 6.62607015e-34     # netlists/memristor.spice, 27 C
    for k, g in enumerate([10e-6, 100e-6]):
        i = raw.data["i_a"][0, 0, k]
        f = g * g / (g * g + gq * gq)                   # metallic share of the filament
        np.testing.assert_allclose(i, f * g * v + (1 - f) * g * 0.5 * np.sinh(v / 0.5) +
                                   v / 1e12, rtol=1e-6, atol=1e-15)


def test_resume_after_partial_run_equals_full_run(tmp_path, pool):
    spec = SweepSpec("memristor-iv", {"g_us": [1, 2, 5, 10, 20, 50, 100, 150]})
    full = run_sweep(spec, tmp_path / "full.raw.h5", pool=pool, progress=False)
    # an interrupted run: half the points still pending on disk
    part = rawfile.read(tmp_path / "full.raw.h5")
    part.status.ravel()[1::2] = rawfile.STATUS["pending"]
    for arr in part.data.values():
        arr.reshape(part.status.size, -1)[1::2] = np.nan
    rawfile.write(tmp_path / "part.raw.h5", part)
    ran = []

    class Spy:
        def run(self, tasks):
            tasks = list(tasks)
            ran.extend(t.index for t in tasks)
            yield from pool.run(tasks)

    res = run_sweep(spec, tmp_path / "part.raw.h5", resume=True, pool=Spy(), progress=False,
                    use_cache=False)
    assert sorted(ran) == [1, 3, 5, 7]           # only the pending points, once each
    for q in full.data:
        np.testing.assert_array_equal(res.data[q], full.data[q])
    assert res.status_counts() == {"ok": 8}


def test_resume_refuses_a_different_spec(tmp_path, pool):
    from imcspice.characterize.runner import SweepError
    run_sweep(SweepSpec("memristor-iv", {"g_us": [1, 2]}), tmp_path / "x.raw.h5", pool=pool,
              progress=False)
    with pytest.raises(SweepError, match="different sweep"):
        run_sweep(SweepSpec("memristor-iv", {"g_us": [1, 3]}), tmp_path / "x.raw.h5",
                  resume=True, pool=pool, progress=False)


def test_sigkilled_coordinator_resumes_without_loss_or_duplicates(tmp_path, pool):
    # nfet-iv over 4 widths x 2 corners, with the widest point of each corner held in its
    # worker (HeldNfetIV): points are dispatched in flat order to 2 workers, so the 6
    # others finish and then both workers sit on the 2 held points. The kill thus lands
    # in one known state on any machine, instead of racing the sweep's speed (the test
    # once waited for "5 points done" of 300, which under CPU contention could be missed
    # entirely: a checked read of a file rewritten every 0.2 s kept failing).
    widths = [0.5, 1.0, 2.0, 4.0]
    out = tmp_path / "k.raw.h5"
    args = held_cli("sweep", HeldNfetIV.name, "--set", "w_um=" + ",".join(map(str, widths)),
                    "--corner", "tt,ss", "--workers", "2", "--quiet", "--no-cache",
                    "--out", str(out))
    # a checkpoint after every point; the held points outlive the wait below
    err = open(tmp_path / "err.txt", "wb")
    proc = subprocess.Popen(args + ["--timeout", "600"],
                            env=held_cli_env(4.0, IMCSPICE_CHECKPOINT_S="0"),
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=err)
    expect_done = 2 * 3                           # 3 widths below 4.0 um, 2 corners
    deadline = time.monotonic() + 180
    done = 0
    try:
        while time.monotonic() < deadline and proc.poll() is None and done < expect_done:
            time.sleep(0.2)
            try:
                done = rawfile.read(out).status_counts().get("ok", 0)
            except rawfile.RawFileError:          # not written yet, or replaced mid-read
                continue
        assert proc.poll() is None, (tmp_path / "err.txt").read_text()
        assert done == expect_done, f"{done} points done after 180 s"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # coordinator and its workers, no cleanup
        proc.wait()
        err.close()
    part = rawfile.read(out)
    assert part.status_counts() == {"ok": expect_done, "pending": 2}
    held = part.axis("w_um") == 4.0
    assert (part.status[..., held] == rawfile.STATUS["pending"]).all()
    r = subprocess.run(args + ["--resume"], env=held_cli_env(), capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["status"] == {"ok": 8}
    resumed = rawfile.read(out)
    # points completed before the kill were kept, not recomputed
    kept = part.status == rawfile.STATUS["ok"]
    np.testing.assert_array_equal(resumed.seconds[kept], part.seconds[kept])
    # and the whole file equals the plain nfet-iv sweep run in one go
    ref = run_sweep(SweepSpec("nfet-iv", {"w_um": widths}, corners=["tt", "ss"]),
                    tmp_path / "ref.raw.h5", pool=pool, progress=False, use_cache=False)
    np.testing.assert_allclose(resumed.data["id_a"], ref.data["id_a"], rtol=1e-9, atol=1e-18)


def test_ngspice_fatal_exit_costs_one_point(tmp_path):
    spec = SweepSpec("test-fault-probe", {"c": [0.0, 0.05, 0.1, 0.15], "trigger": [0.05],
                                          "action": ["quit"]})
    raw = run_sweep(spec, tmp_path / "quit.raw.h5", workers=1, progress=False, use_cache=False)
    st = [rawfile.STATUS_NAMES[int(s)] for s in raw.status.ravel()]
    assert st == ["ok", "crashed", "ok", "ok"]   # one worker: it was replaced after the exit
    assert "cannot recover" in raw.message.ravel()[1]


def test_disk_full_keeps_previous_file(tmp_path, monkeypatch):
    import errno

    import h5py as _h5py
    spec = SweepSpec("memristor-iv", {"g_us": [1.0, 2.0]})
    out = tmp_path / "full.raw.h5"
    first = run_sweep(spec, out, workers=1, progress=False)
    before = out.read_bytes()
    real = _h5py.File

    def full_disk(path, mode="r", *a, **k):
        if mode == "w":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, mode, *a, **k)

    monkeypatch.setattr(rawfile.h5py, "File", full_disk)
    with pytest.raises(rawfile.RawFileError, match="No space left"):
        rawfile.write(out, first)
    assert out.read_bytes() == before            # the previous file is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full.raw.h5"]


@pytest.mark.parametrize("damage", ["missing_quantity", "unknown_status"])
def test_resume_refuses_an_incomplete_file(tmp_path, pool, damage):
    from imcspice.characterize.runner import SweepError
    spec = SweepSpec("memristor-iv", {"g_us": [1, 2]})
    run_sweep(spec, tmp_path / "x.raw.h5", pool=pool, progress=False)
    raw = rawfile.read(tmp_path / "x.raw.h5")
    if damage == "missing_quantity":
        q = next(iter(raw.data))
        del raw.data[q], raw.data_axes[q], raw.units[q], raw.docs[q]
        words = "lacks quantities"
    else:
        raw.status.ravel()[0] = 9
        words = "unknown status"
    rawfile.write(tmp_path / "x.raw.h5", raw)
    with pytest.raises(SweepError, match=words):
        run_sweep(spec, tmp_path / "x.raw.h5", resume=True, pool=pool, progress=False)
