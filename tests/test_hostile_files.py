"""Corrupted, truncated, foreign, empty and oversized files at every command that reads
one: a clear one-line error (exit 2), nothing written, nothing lost."""
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from imcspice.accelerators.hardware import DEFAULT_MODELS_DIR
from imcspice.cli import main

GOOD_RAW = DEFAULT_MODELS_DIR / "raw" / "memristor.raw.h5"
GOOD_MODEL = DEFAULT_MODELS_DIR / "memristor.model.h5"


def _bad_files(d, good):
    data = good.read_bytes()
    out = {}
    out["truncated"] = d / "truncated.h5"
    out["truncated"].write_bytes(data[: len(data) // 2])
    out["random"] = d / "random.h5"
    out["random"].write_bytes(np.random.default_rng(0).bytes(4096))
    out["empty"] = d / "empty.h5"
    out["empty"].write_bytes(b"")
    out["foreign"] = d / "foreign.h5"
    with h5py.File(out["foreign"], "w") as f:
        f["x"] = np.arange(3)
        f.attrs["schema"] = "somebody.else/1"
    out["flipped"] = d / "flipped.h5"
    flipped = bytearray(data)
    for i in range(len(flipped) // 4, 3 * len(flipped) // 4, 7):
        flipped[i] ^= 0xFF
    out["flipped"].write_bytes(bytes(flipped))
    return out


KINDS = ["truncated", "random", "empty", "foreign", "flipped"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("command", ["show", "fit", "validate-model", "validate-against",
                                     "plot"])
def test_bad_file_gives_clear_error(tmp_path, capsys, kind, command):
    bad = _bad_files(tmp_path, GOOD_RAW if command in ("fit", "validate-against", "plot")
                     else GOOD_MODEL)[kind]
    out = tmp_path / "out.model.h5"
    args = {"show": ["show", str(bad)],
            "fit": ["fit", str(bad), "--out", str(out)],
            "validate-model": ["validate", str(bad)],
            "validate-against": ["validate", str(GOOD_MODEL), "--against", str(bad)],
            "plot": ["plot", str(bad), "--out", str(tmp_path / "p.png")]}[command]
    before = bad.read_bytes()
    rc = main(args)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "error" in err and len(err.strip().splitlines()) == 1
    assert not out.exists() and not (tmp_path / "p.png").exists()
    assert bad.read_bytes() == before  # the input is never modified


@pytest.mark.parametrize("kind", KINDS)
def test_bad_model_file_in_evaluate(tmp_path, capsys, kind):
    d = tmp_path / "models"
    d.mkdir()
    for p in DEFAULT_MODELS_DIR.glob("*.model.h5"):
        shutil.copy(p, d)
    bad = _bad_files(tmp_path, GOOD_MODEL)[kind]
    shutil.copy(bad, d / "zz-bad.model.h5")
    rc = main(["evaluate", "--arch", "race-it", "--models", str(d), "--quick", "--quiet",
               "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "zz-bad.model.h5" in err or "model" in err
    assert not (tmp_path / "o" / "report.json").exists()


def test_oversized_spec_and_foreign_raw_resume(tmp_path, capsys):
    big = tmp_path / "big.json"
    big.write_text('{"recipe": "nfet-iv", "axes": {"w_um": [' + "1.0," * 400_000 + "1.0]}}")
    assert main(["sweep", "--spec", str(big), "--quiet", "--out", str(tmp_path / "b.raw.h5")]) == 2
    assert "larger than" in capsys.readouterr().err
    foreign = tmp_path / "f.raw.h5"
    with h5py.File(foreign, "w") as f:
        f.attrs["schema"] = "x"
    before = foreign.read_bytes()
    rc = main(["sweep", "memristor-iv", "--quiet", "--resume", "--out", str(foreign)])
    assert rc == 2 and "schema" in capsys.readouterr().err
    assert foreign.read_bytes() == before


def test_oversized_raw_file_is_refused_before_reading(tmp_path, capsys):
    from imcspice.characterize import rawfile
    big = tmp_path / "big.raw.h5"
    shutil.copy(GOOD_RAW, big)
    with h5py.File(big, "a") as f:   # declares 2e9 float64 (16 GB) but stores nothing
        f["data"].create_dataset("huge", shape=(2_000_000_000,), dtype="f8", chunks=(1 << 20,))
    assert big.stat().st_size < 10_000_000
    with pytest.raises(rawfile.RawFileError, match="read limit"):
        rawfile.read(big)
    for args in (["show", str(big)], ["fit", str(big), "--out", str(tmp_path / "m.model.h5")]):
        assert main(args) == 2
        assert "read limit" in capsys.readouterr().err


def test_raw_file_declaring_more_than_it_can_hold_is_refused_before_allocation(tmp_path,
                                                                               capsys):
    import resource
    bad = tmp_path / "huge.raw.h5"
    shutil.copy(GOOD_RAW, bad)
    with h5py.File(bad, "a") as f:         # 32 GB declared in a ~16 KB file (never written)
        del f["seconds"]
        f.create_dataset("seconds", shape=(4000, 100000, 10), dtype="f8")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for cmd in (["show", str(bad)], ["fit", str(bad), "--out", str(tmp_path / "m.model.h5")]):
        assert main(cmd) == 2
        assert "declare" in capsys.readouterr().err
    # nothing near the declared size was allocated (peak RSS grew by < 200 MB)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024
    assert not (tmp_path / "m.model.h5").exists()


def _foreign(tmp_path):
    """A file outside the working set whose content must never be read or printed."""
    secret = tmp_path / "elsewhere" / "secret.h5"
    secret.parent.mkdir()
    with h5py.File(secret, "w") as f:
        f["x"] = np.full(8, 4242.0)
    raw_secret = tmp_path / "elsewhere" / "secret.bin"
    raw_secret.write_bytes(np.full(8, 4242.0).tobytes())
    return secret, raw_secret


def _plant(group, name, how, secret, raw_secret):
    """A dataset ``name`` in ``group`` whose data lives in the foreign files."""
    if how == "external_link":
        group[name] = h5py.ExternalLink(str(secret), "x")
    elif how == "virtual":
        layout = h5py.VirtualLayout(shape=(8,), dtype="f8")
        layout[:] = h5py.VirtualSource(str(secret), "x", shape=(8,))
        group.create_virtual_dataset(name, layout)
    elif how == "external_storage":
        group.create_dataset(name, shape=(8,), dtype="f8", external=[(str(raw_secret), 0, 64)])
    else:                           # 4e8 float64 declared (3.2 GB), nothing stored
        group.create_dataset(name, shape=(20000, 20000), dtype="f8", chunks=(1000, 1000))


@pytest.mark.parametrize("how", ["external_link", "virtual", "external_storage"])
def test_raw_file_pointing_at_other_files_is_refused(tmp_path, capsys, how):
    secret, raw_secret = _foreign(tmp_path)
    bad = tmp_path / "bad.raw.h5"
    shutil.copy(GOOD_RAW, bad)
    with h5py.File(bad, "a") as f:
        _plant(f["data"], "stolen", how, secret, raw_secret)
    for cmd in (["show", str(bad)], ["fit", str(bad), "--out", str(tmp_path / "m.model.h5")]):
        assert main(cmd) == 2
        io = capsys.readouterr()
        assert "4242" not in io.out + io.err
        assert ("Link" in io.err or "virtual" in io.err or "external" in io.err), io.err
    assert not (tmp_path / "m.model.h5").exists()


@pytest.mark.parametrize("how", ["virtual", "external_storage", "huge"])
def test_model_file_with_foreign_or_oversized_data_is_refused(tmp_path, capsys, how):
    from imcspice.models.base import ModelFileError
    from imcspice.models.store import load
    secret, raw_secret = _foreign(tmp_path)
    bad = tmp_path / "bad.model.h5"
    shutil.copy(GOOD_MODEL, bad)
    with h5py.File(bad, "a") as f:
        grp = f["functions"][next(iter(f["functions"]))]   # inside a real function
        _plant(grp, "v", how, secret, raw_secret)
    with pytest.raises(ModelFileError, match="virtual|external|more data"):
        load(bad)
    assert main(["validate", str(bad)]) == 2
    assert "4242" not in capsys.readouterr().out


def test_plot_never_follows_a_path_in_the_model_source_name(tmp_path, monkeypatch, capsys):
    from imcspice.models import store
    secret = tmp_path / "secret.raw.h5"              # outside the model's folders
    shutil.copy(GOOD_RAW, secret)
    d = tmp_path / "work" / "models"
    d.mkdir(parents=True)
    m = store.load(GOOD_MODEL)
    m.meta["source_name"] = "../../secret.raw.h5"    # a path, pointing at it
    store.save(m, d / "m.model.h5")
    opened = []
    real = store.sha256_file
    monkeypatch.setattr(store, "sha256_file", lambda p: opened.append(Path(p)) or real(p))
    assert main(["plot", str(d / "m.model.h5"), "--out", str(tmp_path / "p.png")]) == 2
    assert "--raw" in capsys.readouterr().err
    assert all(p.resolve().parent in (d.resolve(), (d / "raw").resolve()) for p in opened)
    assert secret.resolve() not in [p.resolve() for p in opened]


@pytest.mark.parametrize("attr, value, words", [
    ("heldout_error", '{"max_pct_fs": "x", "outputs": 5}', "max_pct_fs"),
    ("heldout_error", '{"outputs": {"i_a": {"max_pct_fs": [1]}}}', "outputs.i_a.max_pct_fs"),
    ("meta", '{"source_name": [1]}', "source_name"),
    ("meta", '{"choices": 3}', "choices"),
    ("valid_range", '[1, 2]', "JSON object"),
])
def test_checksummed_model_with_wrong_json_types_is_refused(tmp_path, capsys, attr, value,
                                                            words):
    from imcspice.models import store
    bad = tmp_path / "bad.model.h5"
    shutil.copy(GOOD_MODEL, bad)
    with h5py.File(bad, "a") as f:   # a consistent checksum over the wrong content
        f.attrs[attr] = value
        attrs = {k: store._text_attr(f, k, "x") for k in store.ROOT_ATTRS}
        datasets, gattrs = store._read_tree(f, "x")
        f.attrs["payload_sha256"] = store._payload_hash(attrs, datasets, gattrs)
    for cmd in (["show", str(bad)], ["validate", str(bad)]):
        assert main(cmd) == 2
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err


@pytest.mark.parametrize("how", ["vlen_data", "opaque_data", "string_data", "group_in_data",
                                 "axis_2d", "compound_axis", "string_status"])
def test_raw_file_with_exotic_dtypes_or_shapes_is_a_clear_error(tmp_path, capsys, how):
    bad = tmp_path / "x.raw.h5"
    shutil.copy(GOOD_RAW, bad)
    with h5py.File(bad, "a") as f:
        if how == "vlen_data":
            f["data"].create_dataset("v", (2,), dtype=h5py.vlen_dtype(np.float64))
        elif how == "opaque_data":
            f["data"]["o"] = np.void(b"\x00\x01\x02")
        elif how == "string_data":
            f["data"]["s"] = np.array([b"a", b"b"])
        elif how == "group_in_data":
            f["data"].create_group("g")
        elif how == "axis_2d":
            f["axes"]["bad"] = np.zeros((2, 2))
        elif how == "compound_axis":
            f["axes"]["bad"] = np.zeros(2, dtype=[("a", "f8"), ("b", "i4")])
        else:
            del f["status"]
            f["status"] = np.array([b"ok"])
    for cmd in (["show", str(bad)], ["fit", str(bad), "--out", str(tmp_path / "m.model.h5")]):
        assert main(cmd) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
