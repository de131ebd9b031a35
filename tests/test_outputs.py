"""Output paths: nothing foreign is overwritten; a sweep with no good point says so."""
import json
import shutil

import numpy as np

from imcspice.accelerators.hardware import DEFAULT_MODELS_DIR
from imcspice.cli import main

RAW = DEFAULT_MODELS_DIR / "raw" / "memristor.raw.h5"
MODEL = DEFAULT_MODELS_DIR / "memristor.model.h5"


def test_sweep_does_not_overwrite_a_text_file_or_a_model(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    assert main(["sweep", "memristor-iv", "--quiet", "--out", str(notes)]) == 2
    assert "not an imcspice artifact" in capsys.readouterr().err
    assert notes.read_text() == "my notes\n"
    model = tmp_path / "m.model.h5"
    shutil.copy(MODEL, model)
    before = model.read_bytes()
    assert main(["sweep", "memristor-iv", "--quiet", "--out", str(model)]) == 2
    assert "imcspice.model/1" in capsys.readouterr().err and model.read_bytes() == before


def test_fit_does_not_overwrite_its_own_raw_file(tmp_path, capsys):
    raw = tmp_path / "mine.raw.h5"
    shutil.copy(RAW, raw)
    before = raw.read_bytes()
    assert main(["fit", str(raw), "--out", str(raw)]) == 2
    assert "imcspice.raw/1" in capsys.readouterr().err and raw.read_bytes() == before


def test_same_kind_or_force_may_be_overwritten(tmp_path, capsys):
    out = tmp_path / "m.model.h5"
    shutil.copy(MODEL, out)                       # an older model: refitting replaces it
    assert main(["fit", str(RAW), "--out", str(out)]) == 0
    capsys.readouterr()
    notes = tmp_path / "x.model.h5"
    notes.write_text("not a model")
    assert main(["fit", str(RAW), "--out", str(notes), "--force"]) == 0
    assert notes.read_bytes()[:4] == b"\x89HDF"


def test_sweep_where_no_point_succeeds_exits_nonzero(tmp_path, capsys):
    # 0.1 ms per point: no ngspice analysis finishes, every point times out
    rc = main(["sweep", "nfet-iv", "--set", "w_um=1,2", "--timeout", "1e-4", "--workers", "1",
               "--quiet", "--no-cache", "--out", str(tmp_path / "bad.raw.h5")])
    captured = capsys.readouterr()
    assert rc == 1
    assert json.loads(captured.out.strip().splitlines()[-1])["status"] == {"timeout": 2}
    assert "no point succeeded" in captured.err


def _listener():
    """A TCP listener that accepts connections and never answers (not a Dask scheduler)."""
    import socket
    import threading
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(4)
    conns = []
    threading.Thread(target=lambda: [conns.append(s.accept()) for _ in range(4)],
                     daemon=True).start()
    return s


def test_scheduler_that_never_answers_or_is_unreachable_is_a_one_line_error(
        tmp_path, capsys, monkeypatch):
    import socket
    import time

    from imcspice.characterize import dask_pool
    monkeypatch.setattr(dask_pool, "CONNECT_TIMEOUT_S", 2.0)
    silent = _listener()
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()                                   # nobody listens on this port now
    for addr, words in ((f"tcp://127.0.0.1:{silent.getsockname()[1]}", "no Dask handshake"),
                        (f"tcp://127.0.0.1:{port}", "cannot connect")):
        t = time.monotonic()
        assert main(["sweep", "memristor-iv", "--quiet", "--scheduler", addr,
                     "--out", str(tmp_path / "d.raw.h5")]) == 2
        assert time.monotonic() - t < 30
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err
    silent.close()


def test_show_escapes_terminal_control_sequences(tmp_path, capsys):
    import h5py
    raw = tmp_path / "esc.raw.h5"
    shutil.copy(RAW, raw)
    with h5py.File(raw, "a") as f:
        f.attrs["created"] = "2026\x1b[2J\x1b]0;owned\x07\r\u202eevil"
    assert main(["show", str(raw)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out and "\u202e" not in out
    assert "\\x1b[2J" in out and "\\u202e" in out


def test_a_second_writer_to_the_same_output_is_refused(tmp_path, capsys):
    from imcspice.characterize.artifacts import output_lock
    out = tmp_path / "s.raw.h5"
    with output_lock(out):                        # another sweep is writing out
        assert main(["sweep", "memristor-iv", "--quiet", "--out", str(out)]) == 2
        assert "another imcspice process" in capsys.readouterr().err
        assert not out.exists()
    assert main(["sweep", "memristor-iv", "--quiet", "--out", str(out)]) == 0
    assert out.exists() and not (tmp_path / ".s.raw.h5.lock").exists()


def test_sigterm_saves_finished_points_and_leaves_no_temp_files(tmp_path):
    import os
    import signal
    import subprocess
    import time

    from fault_recipes import HeldNfetIV, held_cli, held_cli_env
    from imcspice.characterize import rawfile
    out = tmp_path / "t.raw.h5"
    # nfet-iv at 4 widths on one worker, the widest held in it (HeldNfetIV): the 3 others
    # finish, then the sweep waits, so SIGTERM lands mid-sweep in a known state however
    # loaded the machine is (a race against a 100-point sweep could miss it)
    args = held_cli("sweep", HeldNfetIV.name, "--set", "w_um=0.5,1,2,3", "--workers", "1",
                    "--quiet", "--out", str(out))
    cache = str(tmp_path / "cache")
    with open(tmp_path / "err.txt", "wb") as err:
        p = subprocess.Popen(args + ["--timeout", "600"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                             stderr=err, start_new_session=True,
                             env=held_cli_env(3.0, IMCSPICE_CACHE=cache,
                                              IMCSPICE_CHECKPOINT_S="0"))
        try:
            deadline = time.monotonic() + 180
            done = 0
            while time.monotonic() < deadline and p.poll() is None and done < 3:
                time.sleep(0.2)
                try:                               # until a checkpoint holds the 3 points
                    done = rawfile.read(out).status_counts().get("ok", 0)
                except rawfile.RawFileError:       # not written yet, or replaced mid-read
                    pass
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=60)
        finally:                                   # a failed test leaves no held worker
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    assert p.returncode == 130, (tmp_path / "err.txt").read_text()
    raw = rawfile.read(out)
    assert raw.status_counts() == {"ok": 3, "pending": 1}
    assert not [f for f in os.listdir(tmp_path) if "tmp" in f]
    # the next run resumes with exactly the missing points
    r = subprocess.run(args + ["--resume"], cwd=tmp_path, capture_output=True, timeout=600,
                       env=held_cli_env(IMCSPICE_CACHE=cache))
    assert r.returncode == 0, r.stderr.decode()
    resumed = rawfile.read(out)
    assert resumed.status_counts() == {"ok": 4}
    kept = raw.status == rawfile.STATUS["ok"]
    np.testing.assert_array_equal(resumed.seconds[kept], raw.seconds[kept])
