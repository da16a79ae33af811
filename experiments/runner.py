"""Executors for task grids: local worker processes (default) or a Dask distributed cluster.

A task is a small picklable spec; ``fn(task) -> row`` regenerates its instance and returns a flat
dict. Executors yield ``(task, row)`` pairs as tasks finish, in completion order, so the caller can
write each row in its own transaction at once.

Limits that hold:

* ``time_limit`` (seconds per task) is enforced by killing the process that runs the task with
  SIGKILL ``grace`` seconds after the limit, whatever the code inside does (solvers that trap or
  ignore SIGTERM and interrupts included). The task then yields ``on_failure(task, reason)``: an
  UNKNOWN row with its reason, never a hang or a lost row.
* ``memory_limit_mb`` caps the address space of the worker (``RLIMIT_AS``); a task that exceeds it
  fails with ``MemoryError`` or dies, and yields ``on_failure(task, "memory limit ... exceeded")``
  (``nsad verify`` records it as unknown with that reason).
* A worker that crashes (segfault, ``os._exit``) becomes an error row; a fresh worker replaces it.

Local workers are persistent processes (started once, by the ``forkserver`` method where available,
replaced only after a kill or crash), so the scheduling overhead per task is a pipe round trip. On
Dask, each task runs in a child process of the Dask worker (``fork``), killed at the limit the same way.
With more than one local worker, each worker limits BLAS to one thread (threadpoolctl) so the workers
do not oversubscribe the cores.

>>> rows = list(LocalExecutor(workers=1).map(abs, [-3, 4]))
>>> sorted(r for _, r in rows)
[3, 4]
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import signal
import threading
import time
import traceback
from collections import deque
from multiprocessing.connection import wait
from typing import Any, Callable, Iterable, Iterator

from nsad.child import EXIT_MEMORY, describe_exit, limit_memory, run_function


def default_failure(task: Any, reason: str) -> dict:
    return {"error": reason}


def _single_thread_blas() -> None:
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except Exception:  # threadpoolctl missing or no BLAS loaded: nothing to limit
        pass


def _worker_main(conn, memory_limit_mb, single_thread) -> None:
    """A worker's loop; it never lets an exception out (the parent would see a traceback on stderr):
    running out of memory anywhere ends it with ``EXIT_MEMORY``, anything else with exit code 1."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    try:
        limit_memory(memory_limit_mb)
        if single_thread:
            _single_thread_blas()
        _serve(conn, memory_limit_mb)
    except MemoryError:
        os._exit(EXIT_MEMORY)
    except BaseException:
        os._exit(1)


def _serve(conn, memory_limit_mb) -> None:
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        tid, fn, task = msg
        try:
            out = ("ok", fn(task))
        except MemoryError:
            out = ("error", f"memory limit {memory_limit_mb:g} MB exceeded" if memory_limit_mb
                   else "out of memory (MemoryError)")
        except BaseException as exc:  # report, keep serving
            out = ("error", f"{type(exc).__name__}: {exc} | {traceback.format_exc(limit=-3)!r}")
        try:
            conn.send((tid, out))
        except (OSError, ValueError) as exc:  # unpicklable result
            conn.send((tid, ("error", f"result could not be sent back: {exc}")))


def _context():
    methods = mp.get_all_start_methods()
    return mp.get_context("forkserver" if "forkserver" in methods else "spawn")


class _Worker:
    def __init__(self, ctx, memory_limit_mb, single_thread):
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, memory_limit_mb, single_thread), daemon=True)
        if ctx.get_start_method() == "forkserver":
            from multiprocessing import forkserver

            with _sigint_ignored():  # only while the forkserver (and the resource tracker) are spawned
                forkserver.ensure_running()
            self.proc.start()  # forked by the forkserver, which hands its SIG_IGN to the worker
        else:
            with _sigint_ignored():
                self.proc.start()
        child.close()
        self.task = None
        self.tid = None
        self.deadline = None

    def kill(self) -> None:
        try:
            os.kill(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, TypeError):
            pass
        self.proc.join(5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.proc.join(2)
        if self.proc.is_alive():
            self.kill()


@contextlib.contextmanager
def _sigint_ignored():
    """Ignore SIGINT in this process while a worker process starts. A disposition of SIG_IGN is
    inherited across fork and exec, and Python leaves an inherited SIG_IGN in place, so the
    forkserver, the resource tracker and every worker (the forkserver hands its own disposition to
    the workers it forks) never turn a Ctrl-C in the terminal into a traceback while they start;
    the parent alone handles Ctrl-C. Only the spawning itself (a fork and an exec: milliseconds) is
    covered; a Ctrl-C in that moment is ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


class LocalExecutor:
    """Persistent local worker processes with hard per-task time and memory limits."""

    name = "local"

    def __init__(self, workers: int | None = None, *, time_limit: float | None = None,
                 memory_limit_mb: float | None = None, grace: float = 0.25):
        self.workers = max(1, int(workers or os.cpu_count() or 1))
        self.time_limit = time_limit
        self.memory_limit_mb = memory_limit_mb
        self.grace = grace
        self.kill_delays: list[float] = []  # seconds past the limit at which killed tasks stopped

    def map(self, fn: Callable, tasks: Iterable, on_failure: Callable = default_failure) -> Iterator[tuple]:
        ctx = _context()
        pending = deque(enumerate(tasks))
        if not pending:
            return
        single = self.workers > 1
        pool = [_Worker(ctx, self.memory_limit_mb, single) for _ in range(min(self.workers, len(pending)))]
        try:
            while pending or any(w.task is not None for w in pool):
                for i, w in enumerate(pool):
                    if w.task is None and pending:
                        tid, task = pending.popleft()
                        w.tid, w.task = tid, task
                        w.start = time.perf_counter()
                        w.deadline = w.start + self.time_limit + self.grace if self.time_limit else None
                        try:
                            w.conn.send((tid, fn, task))
                        except (OSError, ValueError) as exc:
                            yield task, on_failure(task, f"could not send the task to a worker: {exc}")
                            w.kill()
                            pool[i] = _Worker(ctx, self.memory_limit_mb, single)
                busy = [w for w in pool if w.task is not None]
                deadlines = [w.deadline for w in busy if w.deadline is not None]
                timeout = max(0.0, min(deadlines) - time.perf_counter()) if deadlines else None
                ready = wait([w.conn for w in busy], timeout=timeout)
                for i, w in enumerate(pool):
                    if w.task is None:
                        continue
                    if w.conn in ready:
                        try:
                            tid, (status, payload) = w.conn.recv()
                        except (EOFError, OSError):
                            w.proc.join(1)
                            status, reason = describe_exit(w.proc.exitcode, self.memory_limit_mb)
                            yield w.task, on_failure(w.task, reason if status == "memory" else f"worker crashed: {reason}")
                            w.kill()
                            pool[i] = _Worker(ctx, self.memory_limit_mb, single)
                            continue
                        task = w.task
                        w.task = None
                        yield task, payload if status == "ok" else on_failure(task, payload)
                    elif w.deadline is not None and time.perf_counter() >= w.deadline:
                        task = w.task
                        w.kill()
                        stopped = time.perf_counter()
                        self.kill_delays.append(stopped - (w.start + self.time_limit))
                        pool[i] = _Worker(ctx, self.memory_limit_mb, single)
                        yield task, on_failure(task, f"time limit {self.time_limit:g} s exceeded; "
                                                     f"killed with SIGKILL")
        finally:
            for w in pool:
                if w.task is not None:
                    w.kill()
                else:
                    w.stop()


def _run_in_child(fn, task, time_limit, grace, memory_limit_mb):
    """Run ``fn(task)`` in a child of the Dask worker (:func:`nsad.child.run_function`: ``os.fork``,
    since Dask's worker processes are daemonic); ``(status, row or reason)``."""
    out = run_function(fn, task, time_limit=time_limit, grace=grace, memory_limit_mb=memory_limit_mb)
    if out.ok:
        return "ok", out.value
    if out.status == "error":
        return "error", f"{out.error_type}: {out.reason}"
    if out.status == "crashed":
        return "error", f"task process {out.reason}"
    return "error", out.reason


class DaskExecutor:
    """Tasks on a Dask distributed cluster (``pip install nsad[dask]``).

    ``scheduler``: a ``tcp://HOST:PORT`` address, or ``None`` for a ``LocalCluster`` of processes.
    Each task runs in a killable child process of its Dask worker, so limits hold as locally.
    """

    name = "dask"

    def __init__(self, scheduler: str | None = None, *, workers: int | None = None,
                 time_limit: float | None = None, memory_limit_mb: float | None = None, grace: float = 0.25):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise ValueError("the Dask executor needs the dask extra: pip install 'nsad[dask]'") from None
        self.time_limit, self.grace, self.memory_limit_mb = time_limit, grace, memory_limit_mb
        self._cluster = None
        try:
            if scheduler:
                self.client = Client(scheduler, timeout="10s")
            else:
                self._cluster = LocalCluster(n_workers=max(1, int(workers or os.cpu_count() or 1)),
                                             threads_per_worker=1, processes=True, dashboard_address=None,
                                             silence_logs=logging.ERROR)
                self.client = Client(self._cluster)
        except (OSError, TimeoutError) as exc:
            raise ValueError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None

    def map(self, fn: Callable, tasks: Iterable, on_failure: Callable = default_failure) -> Iterator[tuple]:
        from dask.distributed import as_completed

        tasks = list(tasks)
        futures = {}
        for t in tasks:
            fut = self.client.submit(_run_in_child, fn, t, self.time_limit, self.grace, self.memory_limit_mb,
                                     pure=False)
            futures[fut] = t
        for fut in as_completed(futures):
            task = futures[fut]
            try:
                status, payload = fut.result()
            except Exception as exc:
                status, payload = "error", f"dask task failed: {type(exc).__name__}: {exc}"
            yield task, payload if status == "ok" else on_failure(task, payload)

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(workers: int | None = None, scheduler: str | None = None, **limits):
    """``scheduler`` given (or ``"local-dask"``): Dask; otherwise local processes."""
    if scheduler:
        return DaskExecutor(None if scheduler == "local-dask" else scheduler, workers=workers, **limits)
    return LocalExecutor(workers, **limits)
