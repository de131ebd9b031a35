"""Untrusted HDF5 bytes that crash or hang the HDF5 library itself: raw and model files
are read first in a forked child with a deadline and a memory cap (models/isolate.py).

The two fixtures are byte mutations of the shipped memristor sweep that fuzzing found
(tests/test_fuzz.py's stream, and a random census of 1500 mutations):

* ``data/hdf5-crash.h5``: 2 bytes changed (offsets 3674 and 5720); reading a dimension
  label (H5DSget_label) crashes the process ("double free or corruption" / SIGSEGV);
* ``data/hdf5-loop.h5``: 6 bytes changed; opening the file and reading its first root
  attribute loops forever in HDF5 (100 % CPU, constant memory);
* ``data/hdf5-crash-model.h5``, ``data/hdf5-loop-model.h5``: mutations of the shipped
  memristor model (2 crashes and 3 endless loops in a census of 1000), crashing in a
  root text attribute and looping on the ``schema`` attribute.

Each test first shows, in a plain subprocess, that the fixture really does this to an
unprotected reader (so the defence is tested against the real failure, not a mock)."""
import mmap
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from imcspice.accelerators.hardware import DEFAULT_MODELS_DIR
from imcspice.characterize import rawfile
from imcspice.cli import main
from imcspice.models import isolate, store
from imcspice.models.base import ModelFileError

DATA = Path(__file__).parent / "data"
CRASH, LOOP = DATA / "hdf5-crash.h5", DATA / "hdf5-loop.h5"
CRASH_MODEL, LOOP_MODEL = DATA / "hdf5-crash-model.h5", DATA / "hdf5-loop-model.h5"
GOOD_RAW = DEFAULT_MODELS_DIR / "raw" / "memristor.raw.h5"
GOOD_MODEL = DEFAULT_MODELS_DIR / "memristor.model.h5"
UNPROTECTED = ("import sys; from pathlib import Path; from imcspice.characterize import "
               "rawfile; rawfile._read(Path(sys.argv[1]))")


def _unprotected(path, timeout):
    return subprocess.run([sys.executable, "-c", UNPROTECTED, str(path)], timeout=timeout,
                          capture_output=True, env={**os.environ, "IMCSPICE_ISOLATE": "0"})


def test_crashing_file_is_a_one_line_error_and_the_process_survives(tmp_path, capsys):
    r = _unprotected(CRASH, 60)
    assert r.returncode < 0, "fixture no longer crashes HDF5 in-process"   # killed by a signal
    with pytest.raises(rawfile.RawFileError, match="crashed") as e:
        rawfile.read(CRASH)
    assert "\n" not in str(e.value)
    for cmd in (["show", str(CRASH)], ["fit", str(CRASH), "--out", str(tmp_path / "m.model.h5")]):
        assert main(cmd) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "crashed" in err
    assert not (tmp_path / "m.model.h5").exists()


def test_looping_file_stops_at_the_deadline(monkeypatch, tmp_path):
    with pytest.raises(subprocess.TimeoutExpired):
        _unprotected(LOOP, 5)                   # unprotected: still reading after 5 s
    monkeypatch.setattr(isolate, "DEADLINE_S", 2.0)
    t = time.monotonic()
    with pytest.raises(rawfile.RawFileError, match="longer than 2 s") as e:
        rawfile.read(LOOP)
    assert time.monotonic() - t < 6 and "\n" not in str(e.value)
    # the first thing every command reads, the root schema, loops too: file_schema bounds it
    with pytest.raises(rawfile.RawFileError, match="longer than"):
        isolate.file_schema(LOOP, rawfile.RawFileError)
    assert isolate.file_schema(GOOD_RAW, rawfile.RawFileError) == rawfile.SCHEMA
    # commands that read the schema first: show, plot, and the --out guard of a sweep
    t = time.monotonic()
    assert main(["show", str(LOOP)]) == 2
    assert main(["plot", str(LOOP), "--out", str(tmp_path / "x.png")]) == 2
    assert not (tmp_path / "x.png").exists()
    assert time.monotonic() - t < 12


def test_model_files_that_crash_or_hang_hdf5(monkeypatch, capsys):
    r = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; from "
                        "imcspice.models import store; store._load(Path(sys.argv[1]))",
                        str(CRASH_MODEL)], timeout=60, capture_output=True)
    assert r.returncode < 0, "fixture no longer crashes HDF5 in-process"
    assert main(["validate", str(CRASH_MODEL)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "crashed" in err
    monkeypatch.setattr(isolate, "DEADLINE_S", 2.0)
    with pytest.raises(ModelFileError, match="longer than 2 s"):
        store.load(LOOP_MODEL)


def test_child_memory_cap_and_bugs():
    def hog(path):
        return bytearray(1 << 30)              # 1 GiB, over a 64 MiB cap
    with pytest.raises(rawfile.RawFileError, match="needs more than 64 MiB"):
        isolate.check_in_child(hog, GOOD_RAW, rawfile.RawFileError, 64 << 20)

    def bug(path):
        raise KeyError("a bug, not a bad file")
    # a bug in the reader is not dressed up as a file error: the caller's own read
    # raises it again with its traceback
    assert isolate.check_in_child(bug, GOOD_RAW, rawfile.RawFileError, 64 << 20)


def test_child_memory_cap_holds_in_address_space_it_inherited(monkeypatch):
    """RLIMIT_AS caps only the growth of the address space, and a child inherits its
    parent's: glibc serves an allocation from free heap the child inherited, so a test
    worker that had freed more than 1 GiB let a 1 GiB allocation through (a flake of the
    test above; measured: VSZ unchanged by the allocation). Here the inherited room is
    made deterministic, a 1 GiB private mapping the parent never touched; the child
    fills it. The address-space cap alone lets that through, the parent's watch on the
    child's own pages stops it."""
    room = mmap.mmap(-1, 1 << 30, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)

    def fill(path):
        np.frombuffer(room, dtype=np.uint8)[:] = 1
        return "filled"
    try:
        with monkeypatch.context() as m:                  # the address-space cap alone
            m.setattr(isolate, "_own_bytes", lambda pid: 0)
            assert isolate.check_in_child(fill, GOOD_RAW, rawfile.RawFileError, 64 << 20)
        with pytest.raises(rawfile.RawFileError, match="needs more than 64 MiB") as e:
            isolate.check_in_child(fill, GOOD_RAW, rawfile.RawFileError, 64 << 20)
        assert "\n" not in str(e.value)
    finally:
        room.close()


def test_a_file_replaced_while_read_is_refused(tmp_path, monkeypatch):
    f = tmp_path / "x.raw.h5"
    shutil.copy(GOOD_RAW, f)
    real = rawfile._read

    def swap_then_read(path):          # after the child's check, before the parent reads
        if os.getpid() == parent:
            tmp = tmp_path / "y"
            shutil.copy(GOOD_RAW, tmp)
            os.replace(tmp, f)
        return real(path)
    parent = os.getpid()
    monkeypatch.setattr(rawfile, "_read", swap_then_read)
    with pytest.raises(rawfile.RawFileError, match="changed while it was read"):
        rawfile.read(f)


def test_only_files_outside_the_shipped_data_are_isolated(tmp_path):
    assert not isolate.needed(GOOD_RAW) and not isolate.needed(GOOD_MODEL)
    copy = tmp_path / "m.model.h5"
    shutil.copy(GOOD_MODEL, copy)
    assert isolate.needed(copy)
    link = tmp_path / "link.model.h5"          # a link is judged by its target
    link.symlink_to(GOOD_MODEL)
    assert not isolate.needed(link)
    assert store.load(copy).kind == store.load(GOOD_MODEL).kind == "memristor"


def _poly_model(path, exponent):
    """The shipped memristor model with i_a = c0 + c1 * g_us**exponent + c2 * v_v (a
    'poly' form, c = 1e-6, centers 0, half-widths 1); a valid checksum (the hash is
    public, so a hostile writer can make one)."""
    from imcspice.models.base import Function
    m = store.load(GOOD_MODEL)
    f = m.functions["i_a"]
    exps = np.array([[0.0, 0.0], [exponent, 0.0], [0.0, 1.0]])
    fn = Function(name="i_a", unit="A", form="poly", corners=["tt"],
                  grid_inputs=f.grid_inputs, grid_axes=f.grid_axes,
                  values=np.full((1,) + tuple(len(a) for a in f.grid_axes) + (3,), 1e-6),
                  form_inputs=["g_us", "v_v"],
                  param_names=["c0", "c1", "c2"],
                  extra={"exponents": exps, "center": np.zeros(2), "half": np.ones(2)})
    store.save(type(m)({"i_a": fn}, valid_range=m.valid_range,
                       heldout_error=m.heldout_error, form=m.form, meta=m.meta,
                       extra=m.extra), path)
    return path


def test_polynomial_exponents_are_bounded_by_the_terms_the_file_stores(tmp_path, capsys):
    """A 15 KB model declaring g**1e9 made `validate --against` build powers without end
    (3 GB after 14 s, 6.5 GB after 33 s); now it is refused at load."""
    ok = _poly_model(tmp_path / "ok.model.h5", 1.0)
    # temperature is a form input of the shipped law, not a grid axis: this stand-in
    # polynomial takes only g_us and v_v (and the grid's v0_v)
    i = store.load(ok).evaluate("i_a", corner="tt", g_us=100.0, v_v=0.5, v0_v=0.5)
    assert float(i) == pytest.approx(1e-6 * (1 + 100 + 0.5), rel=1e-12, abs=0)   # by hand
    bad = _poly_model(tmp_path / "bad.model.h5", 1e9)
    assert bad.stat().st_size < 20_000
    t = time.monotonic()
    rc = main(["validate", str(bad), "--against", str(GOOD_RAW)])
    err = capsys.readouterr().err
    assert rc == 2 and "less than its 3 terms" in err
    assert err.count("\n") == 1 and time.monotonic() - t < 10


@pytest.mark.parametrize("degrees, total", [((3,), None), ((2, 3), None), ((4, 4), 4),
                                            ((1, 2, 3), None), ((5, 5, 5), 2)])
def test_the_fitters_exponent_sets_pass_the_bound(degrees, total):
    """The exponent sets fit.poly_function writes (a full grid 0..d per input, or its
    total-degree cut): 1 + the sum of per-input maxima never exceeds the term count."""
    exps = np.array([e for e in np.ndindex(*[d + 1 for d in degrees])
                     if total is None or sum(e) <= total], dtype=np.float64)
    n = len(degrees)
    store._check_poly("functions/f", {"exponents": exps, "center": np.zeros(n),
                                      "half": np.ones(n)}, len(exps), n, "x")


def test_model_data_may_not_exceed_the_file(tmp_path):
    """imcspice writes model datasets uncompressed: a compressed dataset of zeros declaring
    more bytes than the file holds is refused before it is read."""
    bad = tmp_path / "z.model.h5"
    shutil.copy(GOOD_MODEL, bad)
    with h5py.File(bad, "a") as f:
        f["extra"].create_dataset("zeros", data=np.zeros(1_000_000), compression="gzip")
    assert bad.stat().st_size < 200_000         # 8 MB of zeros in a few KB
    with pytest.raises(ModelFileError, match="declares more data than this"):
        store.load(bad)
