"""Files nobody reviews: a .spiceinit in the working directory or home, and the cached
trimmed SKY130 library. Neither may run a command or change a result."""
import os
import subprocess
import sys

import h5py
import numpy as np

from imcspice.circuits.technology import get_technology

HOSTILE = "shell touch PWNED\noption rshunt=1k\n"


def _sweep(cwd, home, cache):
    env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home), IMCSPICE_CACHE=str(cache))
    out = cwd / "iv.raw.h5"
    r = subprocess.run([sys.executable, "-m", "imcspice.cli", "sweep", "nfet-iv", "--set",
                        "w_um=1", "--workers", "1", "--quiet", "--out", str(out)],
                       cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    with h5py.File(out, "r") as f:
        return np.asarray(f["data/id_a"])


def test_spiceinit_in_cwd_and_home_is_not_read(tmp_path):
    clean, dirty, home = (tmp_path / n for n in ("clean", "dirty", "home"))
    for d in (clean, dirty, home):
        d.mkdir()
    (dirty / ".spiceinit").write_text(HOSTILE)
    (home / ".spiceinit").write_text(HOSTILE)
    # separate caches: the dirty run cannot be served clean points (and vice versa)
    ref = _sweep(clean, tmp_path / "nohome", tmp_path / "cache1")
    got = _sweep(dirty, home, tmp_path / "cache2")
    assert not (dirty / "PWNED").exists() and not (home / "PWNED").exists()
    # rshunt=1k would move the drain current ~70x; the results are bitwise the same
    assert np.array_equal(ref, got, equal_nan=True)


def test_tampered_cached_library_is_rewritten_from_the_pdk(tmp_path, monkeypatch):
    monkeypatch.setenv("IMCSPICE_CACHE", str(tmp_path))
    tech = get_technology()
    path = tech.library_path("ff")
    good = path.read_bytes()
    with open(path, "a") as f:          # the attack: a control block appended in the cache
        f.write(".control\nshell touch PWNED\n.endc\n")
    again = tech.library_path("ff")
    assert again == path and path.read_bytes() == good
    path.write_text("* emptied\n")      # a truncated / replaced file is rebuilt too
    assert tech.library_path("ff").read_bytes() == good
