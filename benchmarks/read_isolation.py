"""Cost of reading untrusted raw/model files in a forked child first (models/isolate.py),
and of ``imcspice.open_raw``.

Each shipped file is copied to a temporary folder (shipped data is trusted and read
in-process), then read there with the child (default) and without it
(``IMCSPICE_ISOLATE=0``); the best of ``--repeat`` runs each. Also: a child that reads
nothing (fork, pipe, wait), and ``open_raw`` on the shipped sweeps. Last line JSON.
Run: ``.venv/bin/python benchmarks/read_isolation.py [--repeat 5]``.
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from imcspice import jsonio
from imcspice.accelerators.hardware import DEFAULT_MODELS_DIR
from imcspice.characterize import rawfile
from imcspice.characterize.dataset import open_raw
from imcspice.models import isolate, store


def best_s(fn, path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(path)
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    files = sorted((DEFAULT_MODELS_DIR / "raw").glob("*.raw.h5")) + \
        sorted(DEFAULT_MODELS_DIR.glob("*.model.h5"))
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for src in files:
            p = Path(d) / src.name
            shutil.copy(src, p)
            fn = rawfile.read if p.name.endswith(".raw.h5") else store.load
            os.environ["IMCSPICE_ISOLATE"] = "0"
            plain = best_s(fn, p, args.repeat)
            os.environ["IMCSPICE_ISOLATE"] = "1"
            isolated = best_s(fn, p, args.repeat)
            row = {"file": src.name, "bytes": p.stat().st_size, "in_process_ms": 1e3 * plain,
                   "isolated_ms": 1e3 * isolated, "overhead_ms": 1e3 * (isolated - plain)}
            rows.append(row)
            print(f"{src.name:36s} {row['bytes'] / 1e6:7.3f} MB  in-process "
                  f"{row['in_process_ms']:7.1f} ms  isolated {row['isolated_ms']:7.1f} ms",
                  flush=True)
        p = Path(d) / "memristor.raw.h5"
        fork_ms = 1e3 * best_s(lambda q: isolate.check_in_child(
            lambda _: None, q, rawfile.RawFileError, 1 << 30), p, 3 * args.repeat)
    print(f"child reading nothing (fork, pipe, wait): {fork_ms:.1f} ms")
    xr_rows = []
    for src in files[:len([f for f in files if f.name.endswith(".raw.h5")])]:
        ms = 1e3 * best_s(open_raw, src, args.repeat)
        xr_rows.append({"file": src.name, "open_raw_ms": ms})
        print(f"open_raw {src.name:36s} {ms:7.1f} ms", flush=True)
    print(jsonio.dumps({"reads": rows, "fork_ms": fork_ms, "open_raw": xr_rows}))


if __name__ == "__main__":
    main()
