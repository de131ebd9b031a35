"""The simulation engine: points run in worker processes, one ngspice each.

* A worker loads a netlist (a *deck*) once and changes parameters in place
  (``alterparam`` + ``reset``) between points; it reloads only when the deck
  changes (another corner, temperature or topology). A fresh load is given the
  point's own values in its ``.param`` lines, so it needs no ``reset`` (a reset
  re-parses the whole deck: it was 32 % of gaincell-write's time per point).
* Every point ends with a status: ok / nonconverged / timeout / crashed / error.
  A hung point is killed after ``timeout_s``; a worker whose ngspice died is
  restarted and the point retried once before it is recorded as crashed.
* Results are content-addressed in a cache (key: netlist text, parameter values,
  MC seed, and the simulator: the ngspice library's content and the solver asked
  for), so re-running an identical point costs a file read, and a result of another
  ngspice build is never served.

:func:`run_task` is the unit of work; :class:`LocalPool` runs tasks on local
processes, :class:`DaskPool` on a Dask distributed cluster.
"""
from __future__ import annotations

import functools
import hashlib
import importlib
import json
import multiprocessing as mp
import os
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from ..circuits.technology import cache_dir
from .params import format_number

#: a deck line that has the deck loaded WITHOUT HSPICE compatibility (``ngbehavior``
#: unset instead of ``hsa``). Under ``hs`` ngspice's DC transfer-curve analysis
#: (dctrcurv.c) runs a full operating point from junction initialisation (CKTop,
#: MODEINITJCT) at every sweep point instead of Newton from the previous point's solution:
#: ngspice 46 took 11,615 Newton iterations for the nfet-iv sweep (703 points) in hsa mode
#: and 5,548 without it (measured; ngspice 39 is unaffected). A recipe whose deck parses
#: the same without the mode (checked: tests/test_simulator_compat.py) opts in with this
#: line (ngspice.Ngspice.load reads it); being netlist text, the point cache keys on it.
NATIVE_COMPAT_LINE = "* imcspice: ngbehavior native (no hsa: fast dc sweeps)"
#: points a worker runs before it is recycled (bounds ngspice's memory growth)
MAX_POINTS_PER_WORKER = 4000


@dataclass(frozen=True)
class Task:
    """One simulation point, self-contained so any worker process can run it."""

    index: int
    recipe_ref: str                 # "module:Class", imported by the worker
    deck_key: str
    netlist: str
    alters: tuple[tuple[str, float], ...]
    params: dict
    mc_seed: int | None = None
    cache_key: str | None = None
    #: (parameter, sha256) of every file parameter as planned: the worker checks the file
    #: still holds that content before it measures (a file replaced mid-sweep would
    #: pair the old netlist with a new measurement)
    files: tuple[tuple[str, str], ...] = ()


@dataclass
class Result:
    index: int
    status: str
    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    message: str = ""
    seconds: float = 0.0
    ngspice_version: str = ""
    fatal: bool = False


# --- cache ---------------------------------------------------------------------------
def point_cache_dir() -> Path:
    d = cache_dir() / "points"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _ngspice_library() -> Path | None:
    """The shared library PySpice loads (``NGSPICE_LIBRARY_PATH`` or ``libngspice.so`` on
    the loader's path), resolved to a file; None where it cannot be found."""
    import ctypes
    name = os.environ.get("NGSPICE_LIBRARY_PATH") or "libngspice.so"
    name = name.replace("{}", "")  # PySpice's per-instance placeholder
    if os.path.isabs(name):
        return Path(name) if os.path.isfile(name) else None
    try:
        ctypes.CDLL(name)  # only mapped: ngSpice_Init is never called here
    except OSError:
        return None
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split(maxsplit=5)[-1].strip()
                if os.path.basename(path).startswith("libngspice") and os.path.isfile(path):
                    return Path(path)
    except OSError:
        pass
    return None


@functools.lru_cache(maxsize=1)
def simulator_id() -> str:
    """Identity of the simulator results come from: sha256 of the ngspice shared
    library's bytes (a different release or build is a different simulator, even where
    results agree to 1e-13) and the solver option every deck is loaded with."""
    from .ngspice import SOLVER_OPTION  # noqa: PLC0415 (PySpice only where needed)
    lib = _ngspice_library()
    digest = hashlib.sha256(lib.read_bytes()).hexdigest()[:16] if lib else "no-libngspice"
    return f"ngspice:{digest}|{SOLVER_OPTION}"


@functools.lru_cache(maxsize=1)
def _netlist_library() -> str:
    from .. import netlists  # noqa: PLC0415
    return netlists.library_digest()


def cache_key(netlist_sha256: str, params: dict, mc_seed: int | None, recipe_ref: str) -> str:
    """Content address of one point: the deck's text (by its sha256, computed once per
    deck), the point's parameters, its Monte-Carlo seed, the recipe, the simulator
    (:func:`simulator_id`) and the shipped SPICE library the deck includes by path
    (:func:`imcspice.netlists.library_digest`: a changed device law is a different deck)."""
    blob = json.dumps([netlist_sha256, params, mc_seed, recipe_ref, simulator_id(),
                       _netlist_library()],
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _cache_path(key: str) -> Path:
    return point_cache_dir() / key[:2] / f"{key}.npz"


def _digest(key: str, meta: dict, outs: dict) -> str:
    """sha256 over the entry's key, its metadata and every output (name, dtype, shape,
    bytes): what a cache entry must still hold to be served."""
    h = hashlib.sha256(key.encode())
    h.update(json.dumps(meta, sort_keys=True).encode())
    for name in sorted(outs):
        a = np.ascontiguousarray(outs[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def cache_load(key: str, outputs=None) -> Result | None:
    """The cached result of point ``key``, or None to recompute it. The cache is
    untrusted: an entry is served only if it is a readable archive of plain arrays
    whose recorded digest matches its content and its key, and which holds exactly
    ``outputs`` (names) when given; anything else (damaged, truncated, edited, copied
    from another key, missing an output) is recomputed."""
    p = _cache_path(key)
    if not p.is_file():
        return None
    try:
        with np.load(p, allow_pickle=False) as z:
            meta = json.loads(str(z["__meta__"]))
            outs = {k: z[k] for k in z.files if k != "__meta__"}
        digest = meta.pop("sha256")
        if digest != _digest(key, meta, outs) or meta.get("key") != key:
            return None
        if outputs is not None and set(outs) != set(outputs):
            return None
    except Exception:  # noqa: BLE001 - zip, npy, json or key errors: recompute the point
        return None
    return Result(-1, "ok", outs, "", meta.get("seconds", 0.0), meta.get("ngspice_version", ""))


def cache_store(key: str, res: Result) -> None:
    """Write the entry atomically; a full or read-only cache costs the cache entry only
    (the result itself stands, and no temporary file is left behind)."""
    p = _cache_path(key)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp.npz")
    meta = {"key": key, "seconds": res.seconds, "ngspice_version": res.ngspice_version}
    meta["sha256"] = _digest(key, dict(meta), res.outputs)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        np.savez(tmp, __meta__=np.asarray(json.dumps(meta)), **res.outputs)
        os.replace(tmp, p)
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass


# --- the unit of work ------------------------------------------------------------------
def load_recipe(ref: str):
    module, _, cls = ref.partition(":")
    return getattr(importlib.import_module(module), cls)()


_recipes: dict[str, object] = {}


def run_task(task: Task, use_cache: bool = True) -> Result:
    """Run one point in this process's ngspice. Never raises for a simulation problem:
    the returned Result carries the status (and ``fatal`` when ngspice is unusable)."""
    from . import ngspice as ngs

    t0 = time.perf_counter()
    recipe = _recipes.get(task.recipe_ref) or _recipes.setdefault(
        task.recipe_ref, load_recipe(task.recipe_ref))
    version = ""
    try:
        ng = ngs.get()
        version = ng.version
        fresh = ng.loaded_key != task.deck_key
        if fresh:
            netlist, placed = with_values(task.netlist, task.alters)
            ng.load(netlist, task.deck_key)
        if not fresh or not placed or task.mc_seed is not None:
            # A fresh load holding this point's values needs no reset: a reset re-parses
            # the deck. Monte-Carlo points keep setseed + reset (the draws happen at
            # the re-parse), so a point's devices never depend on load order.
            for name, value in task.alters:
                ng.command(f"alterparam {name}={format_number(value)}")
            if task.mc_seed is not None:
                ng.command(f"setseed {int(task.mc_seed)}")
            ng.command("reset")
        for name, digest in task.files:
            if hashlib.sha256(Path(task.params[name]).read_bytes()).hexdigest() != digest:
                raise ValueError(f"parameter file {name!r} ({task.params[name]}) changed "
                                 "since the sweep was planned; rerun the sweep")
        out = recipe.simulate(ng, dict(task.params))
        out = recipe.check_outputs(out, recipe.inner_axes(task.params))
        version = f"{ng.version} ({ng.solver})" if ng.solver else ng.version
        res = Result(task.index, "ok", out, "", 0.0, version)
    except ngs.NgspiceFatal as e:
        res = Result(task.index, "crashed", message=_msg(e), ngspice_version=version, fatal=True)
    except ngs.NgspiceTimeout as e:
        res = Result(task.index, "timeout", message=_msg(e), ngspice_version=version)
    except ngs.NgspiceNonConvergence as e:
        res = Result(task.index, "nonconverged", message=_msg(e), ngspice_version=version)
    except Exception as e:  # noqa: BLE001 - a bad point (or recipe bug) costs that point only
        res = Result(task.index, "error", message=_msg(e), ngspice_version=version)
    res.seconds = time.perf_counter() - t0
    if res.status == "ok" and use_cache and task.cache_key:
        cache_store(task.cache_key, res)
    return res


def with_values(netlist: str, alters) -> tuple[str, bool]:
    """``netlist`` with its top-level ``.param NAME=...`` lines set to ``alters``' values
    (the lines :meth:`Recipe.netlist` writes, one per alterable parameter), and whether
    every alter found its line (else the caller falls back to alterparam + reset)."""
    lines = netlist.split("\n")
    where = {}
    for i, ln in enumerate(lines):
        if ln.startswith(".param ") and "=" in ln:
            name = ln[len(".param "):].split("=", 1)[0].strip()
            where[name] = None if name in where else i  # a repeated name: do not guess
    for name, value in alters:
        i = where.get(name)
        if i is None:
            return netlist, False
        lines[i] = f".param {name}={format_number(value)}"
    return "\n".join(lines), True


def _msg(e: Exception) -> str:
    msgs = getattr(e, "messages", None) or []
    tail = [m.strip() for m in msgs if m.strip()][-4:]
    return (f"{type(e).__name__}: {e}" + (" | " + " | ".join(tail) if tail else ""))[:2000]


# --- local process pool -----------------------------------------------------------------
def _worker_main(conn, use_cache: bool) -> None:
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the coordinator handles Ctrl-C
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        res = run_task(task, use_cache)
        conn.send(res)
        if res.fatal:
            os._exit(3)  # ngspice in this process is unusable; the pool starts a new one


class _Slot:
    def __init__(self, ctx, use_cache: bool):
        self.ctx, self.use_cache = ctx, use_cache
        self.task: Task | None = None
        self.deadline = 0.0
        self.done = 0
        self._start()

    def _start(self):
        self.conn, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_worker_main, args=(child, self.use_cache),
                                     daemon=True)
        self.proc.start()
        child.close()
        self.done = 0

    def restart(self):
        self.kill()
        self._start()

    def kill(self):
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)
        self.conn.close()

    def stop(self):
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self.proc.join(2)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(2)


class LocalPool:
    """``workers`` local processes, one ngspice each. :meth:`run` yields a Result per
    task in completion order. ``timeout_s`` bounds one point; ``retries`` re-runs a
    point whose worker died (its ngspice crashed or was killed)."""

    def __init__(self, workers: int = 0, timeout_s: float = 60.0, retries: int = 1,
                 use_cache: bool = True, max_points_per_worker: int = MAX_POINTS_PER_WORKER):
        self.workers = workers or max(1, os.cpu_count() or 1)
        self.timeout_s, self.retries = timeout_s, retries
        self.use_cache, self.max_points = use_cache, max_points_per_worker
        self._ctx = mp.get_context("spawn")  # no fork of a process with threads/ngspice
        self._slots: list[_Slot] = []

    def __enter__(self):
        self._slots = [_Slot(self._ctx, self.use_cache) for _ in range(self.workers)]
        return self

    def __exit__(self, *exc):
        for s in self._slots:
            s.stop()

    def worker_pids(self) -> list[int]:
        return [s.proc.pid for s in self._slots]

    def run(self, tasks: Iterable[Task]) -> Iterator[Result]:
        queue = deque(tasks)
        attempts: dict[int, int] = {}
        slots = self._slots
        while queue or any(s.task for s in slots):
            for s in slots:
                if s.task is None and queue:
                    if s.done >= self.max_points:
                        s.restart()
                    s.task = queue.popleft()
                    s.deadline = time.monotonic() + self.timeout_s
                    try:
                        s.conn.send(s.task)
                    except (BrokenPipeError, OSError):
                        pass  # noticed below as a dead worker
            busy = [s for s in slots if s.task]
            now = time.monotonic()
            wait([s.conn for s in busy] + [s.proc.sentinel for s in busy],
                 timeout=max(0.0, min(s.deadline for s in busy) - now) + 0.01)
            for s in busy:
                task = s.task
                res = None
                if s.conn.poll():
                    try:
                        res = s.conn.recv()
                    except (EOFError, OSError):
                        res = None
                if res is not None:
                    s.task = None
                    s.done += 1
                    if res.fatal:
                        s.restart()
                    yield res
                elif not s.proc.is_alive():
                    s.task = None
                    code = s.proc.exitcode
                    s.restart()
                    attempts[task.index] = attempts.get(task.index, 0) + 1
                    if attempts[task.index] <= self.retries:
                        queue.appendleft(task)
                    else:
                        yield Result(task.index, "crashed",
                                     message=f"worker process died (exit code {code}) "
                                             f"{attempts[task.index]} times on this point")
                elif time.monotonic() > s.deadline:
                    s.task = None
                    s.restart()
                    yield Result(task.index, "timeout", seconds=self.timeout_s,
                                 message=f"point exceeded the {self.timeout_s:g} s timeout; "
                                         "its worker was killed")
