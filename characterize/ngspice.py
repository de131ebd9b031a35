"""One ngspice per process, through PySpice's shared-library interface.

PySpice 1.5 treats every stderr line that does not start with "Warning:" as an
error, but ngspice 39 prints informational lines there ("Note: ...", "Using
SPARSE 1.3 ...", progress), so this wrapper collects the messages and
classifies them itself (../shared/REFERENCE.md, toolchain facts).

A fatal ngspice error ("cannot recover and awaits to be detached") leaves the
library unusable for the rest of the process: :class:`NgspiceFatal` tells the
caller to let the process die; the engine restarts it.

Solver: every deck is loaded with ``.options klu`` (:data:`SOLVER_OPTION`; a deck with a
``.nodeset`` with Sparse, :func:`solver_option`). ngspice 46
(bookworm-backports, ``./dev install``) is built with KLU and says "Using KLU as Direct
Linear Solver" at each analysis; ngspice 39 (bookworm's own) ignores the option and
says "Using SPARSE 1.3". :attr:`Ngspice.solver` records what ngspice reported, so the
solver actually used is part of every result's provenance. KLU and Sparse agree to
~1e-13 relative on the crossbar decks (REFERENCE.md, toolchain facts).
"""
from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass

import numpy as np

# PySpice logs "Unsupported Ngspice version 39" on every start: harmless (REFERENCE.md).
logging.getLogger("PySpice").setLevel(logging.CRITICAL)

from PySpice.Spice.NgSpice.Shared import NgSpiceShared, ffi, ffi_string_utf8  # noqa: E402

from .engine import NATIVE_COMPAT_LINE  # noqa: E402  (PySpice-free: recipes import it)

_NONCONVERGED = re.compile(
    r"(no convergence|timestep too small|singular matrix|gmin stepping failed|"
    r"source stepping failed|iteration limit reached|transient op failed|"
    r"dc solution failed)", re.I)
#: ngspice's operating point falls back from gmin stepping to source stepping; when that
#: completes, the operating point converged (messages "Warning: True gmin stepping
#: failed", "Note: Starting source stepping", "Note: Source stepping completed")
_GMIN_FAILED = re.compile(r"gmin stepping failed", re.I)
_SOURCE_STEPPING_DONE = re.compile(r"source stepping completed", re.I)


def nonconverged(msgs: list[str]) -> bool:
    """True when ngspice's messages report a failed analysis (a gmin-stepping failure that
    source stepping then recovered from is not one)."""
    bad = [m for m in msgs if _NONCONVERGED.search(m)]
    if bad and all(_GMIN_FAILED.search(m) for m in bad) \
            and any(_SOURCE_STEPPING_DONE.search(m) for m in msgs):
        return False
    return bool(bad)


_FATAL = re.compile(r"(cannot recover|awaits to be detached|ngspice\.dll cannot recover|"
                    r"fatal error)", re.I)
_ERROR = re.compile(r"^\s*(error|fatal)\b|\berror:", re.I)
_SOLVER = re.compile(r"Using (.+?) as Direct Linear Solver", re.I)
#: the line every deck gets after its title: the KLU sparse solver where ngspice has it
SOLVER_OPTION = ".options klu"
#: ... except a deck with a ``.nodeset``: ngspice 46's KLU cannot add the matrix element a
#: nodeset on a node without a DC path of its own (e.g. a gate-only reset line) needs
#: ("The needed element doesn't exist ... doAnalyses: out of memory"); Sparse creates it.
#: Both agree to ~1e-13 (tests/test_simulator.py), and the solver used is recorded.
NODESET_SOLVER_OPTION = ".options sparse"
_NODESET = re.compile(r"^\s*\.nodeset\b", re.I | re.M)


#: the compatibility mode decks are parsed in, unless they hold NATIVE_COMPAT_LINE
_DEFAULT_BEHAVIOR = "hsa"


def solver_option(netlist: str) -> str:
    """The solver line for ``netlist`` (see :data:`SOLVER_OPTION`)."""
    return NODESET_SOLVER_OPTION if _NODESET.search(netlist) else SOLVER_OPTION


class NgspiceError(RuntimeError):
    """ngspice rejected a netlist or command; ``messages`` holds what it printed."""

    def __init__(self, msg: str, messages: list[str] | None = None):
        super().__init__(msg)
        self.messages = messages or []


class NgspiceNonConvergence(NgspiceError):
    """The analysis did not converge at this point."""


class NgspiceFatal(NgspiceError):
    """ngspice cannot continue in this process."""


class NgspiceTimeout(NgspiceError):
    """An analysis ran past the in-process deadline and was halted."""


class _Shared(NgSpiceShared):
    """PySpice's NgSpiceShared with our own message handling (never raises on stderr)."""

    def __init__(self, *a, **kw):
        self.messages: list[str] = []
        self.bg_ended = threading.Event()  # set when ngspice's background thread finishes
        super().__init__(*a, **kw)

    @staticmethod
    def _send_char(message_c, ngspice_id, user_data):
        self = ffi.from_handle(user_data)
        message = ffi_string_utf8(message_c)
        _, _, content = message.partition(" ")
        self.messages.append(content)
        return 0

    @staticmethod
    def _background_thread_running(not_running, ngspice_id, user_data):
        # the flag means "background thread NOT running" (ngspice manual, shared
        # library callbacks): true when the thread ends
        if not_running:
            ffi.from_handle(user_data).bg_ended.set()
        return 0

    @staticmethod
    def _exit(exit_status, immediate_unloding, quit_exit, ngspice_id, user_data):
        self = ffi.from_handle(user_data)
        self.messages.append(f"fatal error: ngspice requested exit (status {exit_status})")
        return exit_status


@dataclass
class Vectors:
    """Real vectors of one analysis plot, by lower-case ngspice name."""

    plot: str
    data: dict[str, np.ndarray]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.data[name.lower()]


_instance: "Ngspice | None" = None


def _in_empty_home(start):
    """Call ``start()`` with the working directory, HOME and XDG_CONFIG_HOME pointing
    at a fresh empty private directory; restore them afterwards."""
    import tempfile
    keys = ("HOME", "XDG_CONFIG_HOME")
    saved = {k: os.environ.get(k) for k in keys}
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="imcspice-ngspice-") as empty:
        try:
            os.chdir(empty)
            for k in keys:
                os.environ[k] = empty
            return start()
        finally:
            os.chdir(cwd)
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


class Ngspice:
    """The process's ngspice. Use :func:`get` (the shared library is a singleton)."""

    def __init__(self):
        # ngspice reads .spiceinit from the working directory and from $HOME (and
        # $XDG_CONFIG_HOME) when it starts: untrusted files (a `shell` line runs, an
        # `option` changes every result). It starts in an empty private directory that
        # is also its home; the settings SKY130 needs are sent as commands instead.
        self._ng = _in_empty_home(_Shared.new_instance)
        for cmd in (f"set ngbehavior={_DEFAULT_BEHAVIOR}", "set skywaterpdk", "set ng_nomodcheck",
                    "set nomoremode", "set num_threads=1"):
            self._ng.exec_command(cmd)
        self.loaded_key: str | None = None
        #: the linear solver ngspice reported at its last analysis ("KLU", "SPARSE 1.3");
        #: "" before the first analysis
        self.solver = ""
        #: seconds an analysis may run before it is halted (None: no in-process limit;
        #: the local pool kills a hung worker instead, Dask workers use this)
        self.timeout_s: float | None = None
        self.version = self._version()

    def _version(self) -> str:
        self.command("version")
        for line in self._ng.messages:
            m = re.search(r"ngspice-(\S+)", line)
            if m:
                return m.group(1)
        return "unknown"

    def command(self, cmd: str) -> list[str]:
        """Run one control command; return ngspice's messages; raise on fatal errors."""
        self._ng.messages = []
        try:
            self._ng.exec_command(cmd)
        except NameError as e:  # ngSpice_Command returned non-zero: the library gave up
            raise NgspiceFatal(f"ngspice refused {cmd!r} ({e}); it cannot recover in this "
                               "process", self._ng.messages) from None
        msgs = self._ng.messages
        if any(_FATAL.search(m) for m in msgs):
            raise NgspiceFatal(f"ngspice fatal error on {cmd!r}", msgs)
        return msgs

    def load(self, netlist: str, key: str | None = None) -> None:
        """Parse ``netlist`` (full text, title line first). Raises NgspiceError if rejected."""
        self._ng.messages = []
        self.loaded_key = None
        try:
            self.command("remcirc")
        except NgspiceError:
            pass
        self._ng.messages = []
        # the compatibility mode is read when a deck is parsed and stays with the deck
        self._ng.exec_command("unset ngbehavior" if NATIVE_COMPAT_LINE in netlist
                              else f"set ngbehavior={_DEFAULT_BEHAVIOR}")
        self._ng.messages = []
        title, _, rest = netlist.partition("\n")
        self._ng.load_circuit(f"{title}\n{solver_option(rest)}\n{rest}")
        msgs = self._ng.messages
        if any(_FATAL.search(m) for m in msgs):
            raise NgspiceFatal("ngspice fatal error while loading the netlist", msgs)
        errs = [m for m in msgs if _ERROR.search(m)]
        if errs:
            raise NgspiceError("ngspice rejected the netlist: " + "; ".join(errs[:5]), msgs)
        self.loaded_key = key

    def run(self, commands: list[str]) -> Vectors:
        """Run analysis ``commands`` (e.g. ``["op"]``) and return the last plot's vectors."""
        self.command("destroy all")
        msgs: list[str] = []
        for cmd in commands:
            msgs += self.command(cmd) if self.timeout_s is None else self._bounded(cmd)
        for m in msgs:
            found = _SOLVER.search(m)
            if found:
                self.solver = found.group(1).strip()
        if nonconverged(msgs):
            raise NgspiceNonConvergence("no convergence", msgs)
        errs = [m for m in msgs if _ERROR.search(m)]
        if errs:
            raise NgspiceError("; ".join(errs[:5]), msgs)
        plot = self._ng.last_plot
        if plot == "const":
            raise NgspiceNonConvergence("analysis produced no data", msgs)
        return Vectors(plot, self.vectors(plot))

    def _bounded(self, cmd: str) -> list[str]:
        """Run ``cmd`` in ngspice's background thread; halt it at the deadline."""
        self._ng.messages = []
        self._ng.bg_ended.clear()
        self._ng.exec_command(f"bg_{cmd}")
        if not self._ng.bg_ended.wait(self.timeout_s):
            self._ng.exec_command("bg_halt")
            self._ng.bg_ended.wait(10.0)
            raise NgspiceTimeout(f"{cmd!r} exceeded {self.timeout_s:g} s and was halted")
        msgs = self._ng.messages
        if any(_FATAL.search(m) for m in msgs):
            raise NgspiceFatal(f"ngspice fatal error on {cmd!r}", msgs)
        return msgs

    def vectors(self, plot: str) -> dict[str, np.ndarray]:
        lib = self._ng._ngspice_shared
        names = lib.ngSpice_AllVecs(plot.encode())
        out: dict[str, np.ndarray] = {}
        i = 0
        while names[i] != ffi.NULL:
            vname = ffi_string_utf8(names[i])
            info = lib.ngGet_Vec_Info(f"{plot}.{vname}".encode())
            n = info.v_length
            if info.v_realdata != ffi.NULL:
                arr = np.frombuffer(ffi.buffer(info.v_realdata, n * 8), dtype=np.float64).copy()
            else:
                raw = np.frombuffer(ffi.buffer(info.v_compdata, n * 16), dtype=np.float64)
                arr = raw[0::2] + 1j * raw[1::2]
            out[vname.lower()] = arr
            i += 1
        return out


def get() -> Ngspice:
    """This process's ngspice, started on first use."""
    global _instance
    if _instance is None:
        _instance = Ngspice()
    return _instance


def pid() -> int:
    return os.getpid()
