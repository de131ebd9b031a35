"""Reading an untrusted HDF5 file first in a forked child, with a deadline and a memory cap.

HDF5 is a C library, and damaged or hostile bytes can make it crash, loop or allocate
without bound before any Python check runs. A raw-file byte fuzz found a 15 KB file on
which reading a dimension label (``H5DSget_label``) aborts the process ("double free or
corruption", SIGSEGV): in-process, that kills ``imcspice`` (or a notebook kernel) with no
message; about 1 in 1500 random mutations makes HDF5 loop forever on the first
attribute it reads (100 % CPU, constant memory). So the readers (``rawfile.read``, ``store.load``) first run the whole read in a
child forked from this process. The child's verdict is one short message through a pipe
(nothing from it is unpickled); only if it read the file cleanly does the caller read
it in-process, on the same bytes (the file's identity is checked on both sides of the
read). The child:

* has ``DEADLINE_S`` plus ``DEADLINE_S_PER_MIB`` per MiB of file to finish (a loop in
  HDF5 is a one-line error after it, not a hang);
* may hold at most ``memory_bytes`` of its own memory. Two guards, both one line:
  its address space may grow by at most that much beyond what it inherited
  (``RLIMIT_AS``: an allocation beyond is a ``MemoryError`` or a failed ``malloc`` at
  once), and the parent stops it when the pages it holds alone (``Private_*`` of
  ``/proc/PID/smaps_rollup``: its copy-on-write copies and new pages) pass the cap. The
  second is needed because glibc serves an allocation from free heap the child
  inherited without growing the address space: a test worker that had freed over 1 GiB
  of heap let a 1 GiB allocation through the first guard alone. The watch runs every
  ``POLL_S`` or five times the cost of one look (~9 ms for a 1.7 GB parent), whichever
  is longer, so a child filling memory at a few GB/s may overshoot by that interval's
  worth before it is stopped; pages the parent itself rewrites meanwhile count to the
  child (the parent only waits);
* exits with ``os._exit``: no atexit handler or buffered output of the parent runs twice.

Cost: a ``fork`` (20-40 ms here) and a second read, slower in the child (copy-on-write
pages); measured by ``benchmarks/read_isolation.py``, figures in ``docs/security.md``.
The package's own data (``models/data``, trusted like its code) is read in-process
directly. ``IMCSPICE_ISOLATE=0`` turns the child off (without ``fork`` it is off).
"""
from __future__ import annotations

import gc
import os
import resource
import select
import signal
import time
from pathlib import Path

from ..errors import ImcspiceError

#: deadline of the child: this many seconds, plus DEADLINE_S_PER_MIB per MiB on disk
#: (imcspice reads its largest shipped file, 17 MB, in about 1 s on one core)
DEADLINE_S = float(os.environ.get("IMCSPICE_READ_TIMEOUT_S", 20))
DEADLINE_S_PER_MIB = 1.0
#: the parent looks at the child's own memory at least this often (s)
POLL_S = 0.01
#: the verdict the child sends back is at most this long (one error line)
_MAX_MESSAGE = 4096


class _Verdict:
    OK, ERROR, BUG = b"K", b"E", b"B"


#: the package's shipped models and sweeps: trusted (docs/security.md), read in-process
SHIPPED = Path(__file__).resolve().parent / "data"


def needed(path: str | Path) -> bool:
    """Whether ``path`` is read in a child first: every file but the shipped data (a
    symlink placed there is judged by its target)."""
    if not hasattr(os, "fork") or os.environ.get("IMCSPICE_ISOLATE", "1") == "0":
        return False
    return not Path(path).resolve().is_relative_to(SHIPPED)


def _identity(path: Path):
    st = path.stat()
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def read_guarded(read, path: Path, error: type[Exception], memory_bytes: int):
    """``read(path)``, first run in a child (deadline, ``memory_bytes`` cap) when the
    file is untrusted, then in this process, refusing a file changed in between."""
    if not needed(path):
        return read(path)
    ident = check_in_child(read, path, error, memory_bytes)
    out = read(path)
    check_unchanged(path, ident, error)
    return out


def check_in_child(read, path: str | Path, error: type[Exception], memory_bytes: int) -> tuple:
    """Run ``read(path)`` in a forked child and raise ``error`` (one line) when it fails
    with ``error``, crashes, outlives its deadline or exceeds ``memory_bytes``. Returns
    the file's identity (device, inode, size, mtime), for :func:`check_unchanged` after
    the caller's own read. An exception of another type in the child is not reported
    here: the caller's own read raises it again, with its traceback (a bug)."""
    return _in_child(read, path, error, memory_bytes)[0]


def file_schema(path: str | Path, error: type[Exception]) -> str | None:
    """The root ``schema`` attribute of an HDF5 file (None when absent or not text),
    read in a child: opening a file and reading its first attribute is already where
    damaged bytes can make HDF5 loop (found by fuzzing: 100 % CPU, no end) or crash.
    A file HDF5 cannot open raises ``error``."""
    text = _in_child(_schema_text, path, error, 256 << 20)[1]
    return text[1:] if text[:1] == "s" else None


def _schema_text(path: Path) -> str:
    import h5py
    try:
        with h5py.File(path, "r") as f:
            v = f.attrs.get("schema") if "schema" in f.attrs else None
    except OSError as e:
        raise _OpenError(f"{path}: not a readable HDF5 file ({e})") from None
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    return "s" + v if isinstance(v, str) else "-"


class _OpenError(ImcspiceError):
    pass


def _in_child(read, path, error, memory_bytes) -> tuple[tuple, str]:
    path = Path(path)
    ident = _identity(path)
    deadline = DEADLINE_S + DEADLINE_S_PER_MIB * ident[2] / 2**20
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:                                         # the child
        code = _Verdict.BUG
        msg = b""
        try:
            os.close(rfd)
            _quiet()
            gc.freeze()          # a collection in the child would copy every inherited object
            _cap_memory(memory_bytes)
            result = read(path)
            code = _Verdict.OK
            if isinstance(result, str):
                msg = result.encode("utf-8", "surrogatepass")
        except (error, _OpenError) as e:
            code, msg = _Verdict.ERROR, str(e).encode("utf-8", "replace")
        except MemoryError:
            code, msg = _Verdict.ERROR, _too_much(path, memory_bytes).encode()
        except BaseException:
            pass
        finally:
            try:
                os.write(wfd, code + msg[:_MAX_MESSAGE])
            finally:
                os._exit(0)
    os.close(wfd)
    try:
        reply, status = _collect(pid, rfd, deadline, memory_bytes)
    except BaseException:                # Ctrl-C, SIGTERM: the child goes too
        _kill(pid)
        raise
    finally:
        os.close(rfd)
    if status == _DEADLINE:
        raise error(f"{path}: reading it took longer than {deadline:.0f} s, so it was "
                    "stopped (HDF5 can loop on damaged files; IMCSPICE_READ_TIMEOUT_S)")
    if status == _MEMORY:
        raise error(_too_much(path, memory_bytes))
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else sig
        raise error(f"{path}: the HDF5 library crashed reading it ({name}): a damaged or "
                    "hostile file")
    if reply[:1] == _Verdict.ERROR:
        raise error(reply[1:].decode("utf-8", "replace").splitlines()[0] if reply[1:]
                    else f"{path}: unreadable")
    return ident, reply[1:].decode("utf-8", "replace")


def check_unchanged(path: str | Path, ident: tuple, error: type[Exception]) -> None:
    """The file is still the one the child checked (not replaced or rewritten since)."""
    if _identity(Path(path)) != ident:
        raise error(f"{path}: the file changed while it was read; read it again")


def _quiet() -> None:
    """The child prints nothing: its crash is reported by the parent in one line (not
    glibc's "double free" message, nor a faulthandler dump when one is enabled)."""
    import faulthandler
    faulthandler.disable()
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.close(null)


def _cap_memory(memory_bytes: int) -> None:
    """Limit the child's address space to what it inherited plus ``memory_bytes``."""
    with open("/proc/self/statm") as f:
        vsz = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = vsz + memory_bytes
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _too_much(path, memory_bytes: int) -> str:
    return (f"{path}: reading it needs more than {memory_bytes / 2**20:.4g} MiB, more "
            "than its size on disk justifies")


#: _collect's status when it stopped the child
_DEADLINE, _MEMORY = "deadline", "memory"


def _collect(pid: int, rfd: int, deadline_s: float, memory_bytes: int):
    """The child's reply and wait status, or ``_DEADLINE`` / ``_MEMORY`` when the child
    outlived its deadline or held more than ``memory_bytes`` of its own (it is then
    killed)."""
    end = time.monotonic() + deadline_s
    wait_s = POLL_S
    chunks = []
    while True:
        left = end - time.monotonic()
        if left <= 0:
            _kill(pid)
            return b"", _DEADLINE
        if not select.select([rfd], [], [], min(left, wait_s))[0]:
            t = time.monotonic()
            if _own_bytes(pid) > memory_bytes:
                _kill(pid)
                return b"", _MEMORY
            wait_s = max(POLL_S, 5 * (time.monotonic() - t))
            continue
        chunk = os.read(rfd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    while True:
        try:
            return b"".join(chunks), os.waitpid(pid, 0)[1]
        except InterruptedError:     # pragma: no cover - PEP 475 retries already
            continue


def _own_bytes(pid: int) -> int:
    """Bytes of memory the child holds alone (pages no other process maps: what it wrote
    since the fork, and new pages); 0 once it has exited or where /proc is absent."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            lines = f.read().splitlines()
    except OSError:
        return 0
    return 1024 * sum(int(line.split()[1]) for line in lines
                      if line.startswith(("Private_Clean:", "Private_Dirty:")))


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
