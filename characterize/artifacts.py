"""What an existing output path holds, so a command never overwrites a foreign file.

``guard_output(path, schema, force)`` lets a command write ``path`` when nothing is
there, when it holds an imcspice artifact of the same schema (re-running a sweep or a
fit), or when ``--force`` is given; anything else (a text file, a sweep where a model
would go, a model where a sweep would go, a directory) is refused with a one-line
error naming what is there. Reading the schema opens HDF5 read-only: nothing in the
file is executed.
"""
from __future__ import annotations

from pathlib import Path


class OutputExistsError(ValueError):
    """The output path holds something this command must not overwrite."""


def schema_of(path: Path) -> str | None:
    """The root ``schema`` attribute of an HDF5 file, or None for anything else."""
    try:
        import h5py
        with h5py.File(path, "r") as f:
            s = f.attrs.get("schema")
    except Exception:  # noqa: BLE001 - not HDF5, unreadable: not an imcspice artifact
        return None
    if isinstance(s, bytes):
        s = s.decode("utf-8", "replace")
    return s if isinstance(s, str) else None


def guard_output(path: str | Path, schema: str, force: bool = False) -> Path:
    p = Path(path)
    if not p.exists() and not p.is_symlink():
        return p
    if p.is_dir():
        raise OutputExistsError(f"--out {p} is a directory; give a file name")
    if force:
        return p
    have = schema_of(p) if p.is_file() and not p.is_symlink() else None
    if have == schema:
        return p
    what = f"an imcspice {have!r} file" if have else "a file that is not an imcspice artifact"
    raise OutputExistsError(f"--out {p} exists and holds {what}, not {schema!r}: choose "
                            "another --out or pass --force to overwrite it")
