"""The raw sweep file (``*.raw.h5``, schema ``imcspice.raw/1``).

Layout::

    /                  attrs: schema, recipe, recipe_version, netlist, technology,
                              corner, temp_c, ngspice_version, imcspice_version,
                              created, spec (JSON), spec_hash, params (JSON), units (JSON)
    /axes/<name>       1-D dimension scales (outer grid axes, then recipe inner axes);
                       attrs: unit
    /data/<quantity>   float64 over outer axes + the quantity's inner axes; NaN where
                       the point did not succeed; attrs: unit, doc
    /status            int8 over the outer axes; attrs: codes (JSON name -> code)
    /message           variable-length UTF-8 text per point (empty when ok)
    /seconds           float32 wall time per point

Every write goes to a temporary file in the same directory, then ``os.replace``:
a reader sees the old file or the new one, never a half-written one.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np

from ..models import isolate
from ..models.store import foreign_storage
from ..errors import ImcspiceError

SCHEMA = "imcspice.raw/1"

STATUS = {"pending": 0, "ok": 1, "nonconverged": 2, "timeout": 3, "crashed": 4, "error": 5}
STATUS_NAMES = {v: k for k, v in STATUS.items()}


#: largest dataset read into memory (elements); a file declaring more is refused rather
#: than exhausting memory (a 10^6-point sweep of 700-value curves is 7e8: split it)
MAX_ELEMENTS = int(os.environ.get("IMCSPICE_MAX_ELEMENTS", 1_000_000_000))
#: memory a raw file may make us allocate: at most this many bytes, and at most
#: READ_BYTES_PER_FILE_BYTE times its size on disk (imcspice's own files compress
#: measured data by a few x; a 20 KB file declaring gigabytes is refused, not read)
MAX_READ_BYTES = int(os.environ.get("IMCSPICE_MAX_READ_BYTES", 8 << 30))
READ_BYTES_PER_FILE_BYTE = 200
MIN_READ_BUDGET = 64 << 20


class RawFileError(ImcspiceError, ValueError):
    """The file is not a readable imcspice raw sweep file."""


@dataclass
class RawSweep:
    """A raw sweep in memory: axes, data, status, provenance attributes."""

    attrs: dict
    axes: dict[str, tuple[str, np.ndarray]]       # name -> (unit, values)
    outer: list[str]                               # names of the outer axes, in order
    data: dict[str, np.ndarray]                    # quantity -> array
    data_axes: dict[str, list[str]]                # quantity -> axis names
    units: dict[str, str]                          # quantity -> unit
    docs: dict[str, str]
    status: np.ndarray
    message: np.ndarray
    seconds: np.ndarray

    def status_counts(self) -> dict[str, int]:
        vals, counts = np.unique(self.status, return_counts=True)
        return {STATUS_NAMES.get(int(v), str(v)): int(c) for v, c in zip(vals, counts)}

    def axis(self, name: str) -> np.ndarray:
        return self.axes[name][1]

    def select(self, quantity: str, **where) -> tuple[np.ndarray, list[str]]:
        """``data[quantity]`` indexed by axis values (``corner="tt"``, ``temp_c=27``):
        returns the sub-array and the names of its remaining axes."""
        arr = self.data[quantity]
        names = list(self.data_axes[quantity])
        index = []
        keep = []
        for n in names:
            if n in where:
                vals = self.axes[n][1]
                want = where[n]
                if vals.dtype.kind in "SUO":
                    hits = np.nonzero(np.asarray([str(v) for v in vals]) == str(want))[0]
                else:
                    # relative only: numpy's default atol (1e-8) matched every value of
                    # an axis in farads or seconds (50 fF "equals" 200 fF)
                    hits = np.nonzero(np.isclose(vals.astype(float), float(want),
                                                 rtol=1e-9, atol=0.0))[0]
                if not len(hits):
                    raise KeyError(f"{n}={want!r} not on axis {n} ({list(vals)})")
                index.append(int(hits[0]))
            else:
                index.append(slice(None))
                keep.append(n)
        return arr[tuple(index)], keep


def _axis_values(values) -> np.ndarray:
    if len(values) and isinstance(values[0], str):
        return np.asarray(values, dtype=h5py.string_dtype())
    return np.asarray(values, dtype=np.float64)


def write(path: str | Path, sweep: RawSweep) -> None:
    """Write ``sweep`` to ``path`` atomically (temp file + rename)."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise RawFileError(f"output directory {path.parent} does not exist")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with h5py.File(tmp, "w", libver="latest") as f:  # dense attrs: netlists > 64 KiB
            for k, v in sweep.attrs.items():
                f.attrs[k] = v
            g_axes = f.create_group("axes")
            scales = {}
            for name, (unit, values) in sweep.axes.items():
                ds = g_axes.create_dataset(name, data=_axis_values(list(values)))
                ds.attrs["unit"] = unit
                ds.make_scale(name)
                scales[name] = ds
            g_data = f.create_group("data")
            for q, arr in sweep.data.items():
                ds = g_data.create_dataset(q, data=arr, compression="gzip", compression_opts=1,
                                           shuffle=True)
                ds.attrs["unit"] = sweep.units.get(q, "")
                ds.attrs["doc"] = sweep.docs.get(q, "")
                for i, n in enumerate(sweep.data_axes[q]):
                    ds.dims[i].label = n
                    ds.dims[i].attach_scale(scales[n])
            for name, arr in (("status", sweep.status), ("seconds", sweep.seconds)):
                ds = f.create_dataset(name, data=arr)
                for i, n in enumerate(sweep.outer):
                    ds.dims[i].label = n
                    ds.dims[i].attach_scale(scales[n])
            f["status"].attrs["codes"] = json.dumps(STATUS)
            f.create_dataset("message", data=sweep.message.astype(object),
                             dtype=h5py.string_dtype())
        os.replace(tmp, path)
    except OSError as e:
        _discard(tmp)
        raise RawFileError(f"cannot write {path}: {e.strerror or e}; the previous file (if "
                           "any) is unchanged") from None
    except BaseException:
        _discard(tmp)
        raise


def _discard(tmp: Path) -> None:
    try:
        tmp.unlink()
    except OSError:
        pass


def read(path: str | Path) -> RawSweep:
    """Read a raw sweep file; a missing, corrupted or foreign file raises RawFileError.

    The file is read first in a forked child with a deadline and a memory cap
    (:mod:`imcspice.models.isolate`): HDF5 crashing, looping or allocating on damaged
    bytes is a one-line RawFileError, not a dead or hung process."""
    path = Path(path)
    if not path.is_file():
        raise RawFileError(f"{path}: no such file")
    return isolate.read_guarded(_read, path, RawFileError, _memory_cap(path))


def _read_budget(path: Path) -> int:
    """Bytes the datasets of ``path`` may declare (see MAX_READ_BYTES)."""
    return min(MAX_READ_BYTES, max(MIN_READ_BUDGET,
                                   READ_BYTES_PER_FILE_BYTE * path.stat().st_size))


def _memory_cap(path: Path) -> int:
    """Memory the isolated read may allocate: the datasets' budget twice (the message
    texts are decoded into a second array) and 256 MiB for HDF5, h5py and numpy."""
    return 2 * _read_budget(path) + (256 << 20)


def _read(path: Path) -> RawSweep:
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise RawFileError(f"{path}: not a readable HDF5 file ({e})") from None
    with f:
        try:
            schema = f.attrs.get("schema")
        except (OSError, KeyError, ValueError, RuntimeError) as e:
            raise RawFileError(f"{path}: damaged HDF5 file ({e})") from None
        if isinstance(schema, bytes):
            schema = schema.decode("utf-8", "replace")
        if not isinstance(schema, str) or schema != SCHEMA:
            raise RawFileError(f"{path}: schema is {str(schema)[:40]!r}, expected {SCHEMA!r} "
                               "(not an imcspice raw sweep file)")
        try:
            _check_declared_size(path, f)
        except RawFileError:
            raise
        except (KeyError, OSError, ValueError, RuntimeError, TypeError) as e:
            raise RawFileError(f"{path}: damaged imcspice raw file ({e})") from None
        try:
            attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
            if not isinstance(attrs.get("netlist", ""), str):
                raise ValueError("attribute 'netlist' is not text")
            axes = {}
            for name, ds in f["axes"].items():
                vals = ds[()]
                if vals.dtype.kind in "SO":
                    vals = np.asarray([v.decode() if isinstance(v, bytes) else v for v in vals])
                axes[name] = (str(ds.attrs.get("unit", "")), vals)
            data, data_axes, units, docs = {}, {}, {}, {}
            for q, ds in f["data"].items():
                if ds.size > MAX_ELEMENTS:
                    raise RawFileError(f"{path}: dataset {q!r} declares {ds.size:.3g} elements, "
                                       f"more than the {MAX_ELEMENTS:.3g} read limit "
                                       "(IMCSPICE_MAX_ELEMENTS); split the sweep")
                data[q] = ds[()]
                data_axes[q] = [d.label for d in ds.dims]
                units[q] = str(ds.attrs.get("unit", ""))
                docs[q] = str(ds.attrs.get("doc", ""))
            status = f["status"][()]
            outer = [d.label for d in f["status"].dims]
            message = np.asarray([m.decode() if isinstance(m, bytes) else m
                                  for m in f["message"][()].ravel()], dtype=object
                                 ).reshape(status.shape)
            seconds = f["seconds"][()]
        except (KeyError, OSError, ValueError, RuntimeError, TypeError) as e:
            raise RawFileError(f"{path}: damaged imcspice raw file ({e})") from None
    _check_labels(path, axes, outer, status, seconds, data, data_axes)
    return RawSweep(attrs, axes, outer, data, data_axes, units, docs, status, message, seconds)


def _check_labels(path, axes, outer, status, seconds, data, data_axes) -> None:
    """Every dimension of status, seconds and each quantity is labelled with an axis of
    the file, once, and has that axis's length; the quantities start with the outer
    axes (every consumer indexes them by these labels)."""
    def check(what, shape, names):
        if len(set(names)) != len(names):
            raise RawFileError(f"{path}: {what} names an axis twice ({names})")
        for n, size in zip(names, shape):
            if n not in axes:
                raise RawFileError(f"{path}: {what} has a dimension labelled {n[:40]!r}, "
                                   "which is not an axis of the file")
            if len(axes[n][1]) != size:
                raise RawFileError(f"{path}: {what} has {size} values along {n!r}, its axis "
                                   f"{len(axes[n][1])}")
    check("/status", status.shape, outer)
    if seconds.shape != status.shape:
        raise RawFileError(f"{path}: /seconds has shape {seconds.shape}, /status "
                           f"{status.shape}")
    for q, arr in data.items():
        check(f"/data/{q}", arr.shape, data_axes[q])
        if data_axes[q][:len(outer)] != outer:
            raise RawFileError(f"{path}: /data/{q} does not start with the outer axes "
                               f"{outer}")


#: dtype kinds imcspice writes, by dataset: numbers (f, i, u) or text (h5py strings)
_KINDS = {"axes": "fiuT", "data": "f", "status": "iu", "message": "T", "seconds": "f"}


def _unexpected_layout(full: str, ds) -> str | None:
    """Why a dataset is not laid out as imcspice writes it (dtype, rank), or None."""
    allowed = _KINDS[full.strip("/").split("/")[0]]
    text = h5py.check_string_dtype(ds.dtype) is not None
    kind = "T" if text else ds.dtype.kind
    if kind not in allowed or ds.dtype.names or ds.dtype.subdtype is not None:
        return f"of dtype {ds.dtype} (expected {'text' if allowed == 'T' else 'numbers'})"
    if full.startswith("/axes/") and ds.ndim != 1:
        return f"a {ds.ndim}-D axis"
    return None


def _check_declared_size(path: Path, f) -> None:
    """Refuse before allocating: the datasets read (axes, data, status, message,
    seconds) may declare at most the budget above (strings counted at 64 bytes)."""
    budget = _read_budget(path)
    total = 0
    members = []
    for group in ("axes", "data"):
        g = f.get(group, getlink=True)
        if g is not None and not isinstance(g, h5py.HardLink):
            raise RawFileError(f"{path}: /{group} is a {type(g).__name__}; raw files hold "
                               "no links")
        g = f.get(group)
        for name in (g if isinstance(g, h5py.Group) else ()):
            members.append((f"/{group}/{name}", g, name))
    members += [(f"/{name}", f, name) for name in ("status", "message", "seconds")]
    for full, parent, name in members:
        link = parent.get(name, getlink=True)
        if link is None:
            continue
        if not isinstance(link, h5py.HardLink):
            raise RawFileError(f"{path}: {full} is a {type(link).__name__}; raw files hold "
                               "no links")
        ds = parent[name]
        if not isinstance(ds, h5py.Dataset):
            raise RawFileError(f"{path}: {full} is a {type(ds).__name__}, not a dataset")
        why = foreign_storage(ds) or _unexpected_layout(full, ds)
        if why:
            raise RawFileError(f"{path}: {full} is {why}; not an imcspice raw sweep file")
        total += ds.size * max(ds.dtype.itemsize, 64 if ds.dtype.kind in "OSU" else 0)
    if total > budget:
        raise RawFileError(f"{path}: its datasets declare {total / 2**20:.4g} MiB, more than "
                           f"this {path.stat().st_size / 2**10:.4g} KiB file can hold "
                           f"(read limit {budget / 2**20:.4g} MiB; IMCSPICE_MAX_READ_BYTES)")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
