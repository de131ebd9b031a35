"""What an existing output path holds, so a command never overwrites a foreign file.

``guard_output(path, schema, force)`` lets a command write ``path`` when nothing is
there, when it holds an imcspice artifact of the same schema (re-running a sweep or a
fit), or when ``--force`` is given; anything else (a text file, a sweep where a model
would go, a model where a sweep would go, a directory) is refused with a one-line
error naming what is there. Reading the schema opens HDF5 read-only: nothing in the
file is executed.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ..errors import ImcspiceError


class OutputExistsError(ImcspiceError, ValueError):
    """The output path holds something this command must not overwrite."""


def schema_of(path: Path) -> str | None:
    """The root ``schema`` attribute of an HDF5 file, or None for anything else."""
    from ..models import isolate
    try:  # in a child with a deadline: damaged bytes can make HDF5 loop on this attribute
        return isolate.file_schema(path, OutputExistsError)
    except OutputExistsError:  # not HDF5, unreadable, hung: not an imcspice artifact
        return None


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


@contextlib.contextmanager
def output_lock(path: Path, error=OutputExistsError):
    """Hold an exclusive advisory lock (``flock``) on ``.NAME.lock`` beside ``path``
    while a command writes it: a second writer to the same output is refused at once
    (two sweeps on one --out used to both report ok while one's data was lost). The
    lock file is removed on release; a lock won on a file that was meanwhile removed
    (the inode check) counts as busy."""
    import fcntl
    lock = path.with_name(f".{path.name}.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.stat(lock).st_ino != os.fstat(fd).st_ino:
                raise OSError("lock file replaced")
        except OSError:
            raise error(f"{path} is being written by another imcspice process; wait for it "
                        "or choose another --out") from None
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                lock.unlink()             # still holding the lock: no one can win it now
    finally:
        os.close(fd)
