"""Child processes with a hard time limit and a memory limit: the one helper every caller uses.

Solvers can ignore interrupts, trap SIGTERM, leak threads or allocate without bound; the only sure
limit is a separate process that is killed. Two entry points share one policy:

* :func:`run_function` runs ``fn(*args)`` in a forked child (``os.fork``: it works inside daemonic
  processes such as Dask's workers and the experiment runner's, where ``multiprocessing`` refuses
  to start children; ``spawn`` through ``multiprocessing`` where there is no fork) and returns its
  result;
* :func:`run_command` runs an executable (``argv``) and returns how it ended.

Policy: the child leads a process group of its own; at ``time_limit + grace`` seconds the whole
group (the child and anything it started) is killed with SIGKILL; ``memory_limit_mb`` caps the
child's address space (``RLIMIT_AS``); Ctrl-C or any exception in the caller kills the child
before it propagates. The outcome is a :class:`ChildOutcome` with ``status`` one of ``"ok"``,
``"error"`` (the function raised: ``error_type`` and ``reason`` say what), ``"timeout"``,
``"memory"`` (``MemoryError`` in the child, or a kill that the memory limit explains) and
``"crashed"`` (a signal or non-zero exit, with the reason).

>>> run_function(pow, 2, 10).value
1024
>>> import time
>>> out = run_function(time.sleep, 30, time_limit=0.2)
>>> out.status, out.reason
('timeout', 'time limit 0.2 s exceeded; killed with SIGKILL')
>>> out = run_function(bytearray, 2 ** 33, memory_limit_mb=512)
>>> out.status, out.reason
('memory', 'memory limit 512 MB exceeded')
>>> run_function(int, "x").status
'error'
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

__all__ = ["ChildOutcome", "run_function", "run_command", "kill_group", "limit_memory", "describe_exit",
           "EXIT_MEMORY"]

#: Exit code of a child (or a worker process) that stops because it ran out of memory where no
#: result could be sent back any more; :func:`describe_exit` reports it as the memory limit.
EXIT_MEMORY = 86


@dataclass(frozen=True)
class ChildOutcome:
    """How a child ended. ``value``: the function's result (``status == "ok"``); ``error_type``:
    the name of the exception it raised (``"error"``); ``exit_code``: as
    :func:`os.waitstatus_to_exitcode` (negative for a signal); ``seconds``: wall time seen by the
    caller; ``stderr_tail``: last non-empty line of a command's standard error; ``stderr``: the
    command's standard error (its last 64 KiB)."""

    status: str
    value: Any = None
    reason: str | None = None
    error_type: str | None = None
    exit_code: int | None = None
    seconds: float = 0.0
    stderr_tail: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def limit_memory(memory_limit_mb: float | None) -> None:
    """Cap this process's address space at ``memory_limit_mb`` MiB (no-op for ``None``/0)."""
    if memory_limit_mb:
        import resource

        cap = int(memory_limit_mb * 2**20)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def kill_group(pid: int) -> None:
    """SIGKILL the process group led by ``pid`` (and ``pid`` itself if it leads none)."""
    for kill, target in ((os.killpg, pid), (os.kill, pid)):
        try:
            kill(target, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def describe_exit(code: int | None, memory_limit_mb: float | None = None) -> tuple[str, str]:
    """``(status, reason)`` for a child that ended with ``code`` and no result.

    >>> describe_exit(EXIT_MEMORY, 512)
    ('memory', 'memory limit 512 MB exceeded')
    """
    if code == EXIT_MEMORY:
        return "memory", (f"memory limit {memory_limit_mb:g} MB exceeded" if memory_limit_mb
                          else "out of memory (MemoryError)")
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        if memory_limit_mb and -code in (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGKILL):
            return "memory", f"killed by {name}; memory limit {memory_limit_mb:g} MB probably exceeded"
        return "crashed", f"killed by {name}"
    return "crashed", f"ended with exit code {code} and no result"


def _child_main(fn, args, kwargs, memory_limit_mb) -> bytes:
    try:
        limit_memory(memory_limit_mb)
        payload = ("ok", fn(*args, **kwargs))
    except MemoryError:
        payload = ("memory", None)
    except BaseException as exc:  # reported to the parent
        payload = ("error", (type(exc).__name__, str(exc)))
    try:
        return pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # an unpicklable result
        return pickle.dumps(("error", ("PicklingError", f"result could not be sent back: {exc}")))


def _read_until(fd: int, deadline: float | None) -> tuple[bytes, bool]:
    """Read ``fd`` to EOF or the deadline; ``(data, finished)``."""
    chunks = []
    while True:
        wait = None if deadline is None else max(0.0, deadline - time.perf_counter())
        ready, _, _ = select.select([fd], [], [], wait)
        if not ready:
            return b"".join(chunks), False
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks), True
        chunks.append(chunk)


def _outcome(data: bytes, finished: bool, code: int | None, t0: float, time_limit, memory_limit_mb) -> ChildOutcome:
    secs = time.perf_counter() - t0
    if not finished:
        return ChildOutcome("timeout", reason=f"time limit {time_limit:g} s exceeded; killed with SIGKILL",
                            exit_code=code, seconds=secs)
    if data:
        try:
            status, value = pickle.loads(data)
        except Exception:  # truncated by a crash while writing
            status, value = None, None
        if status == "ok":
            return ChildOutcome("ok", value, exit_code=code, seconds=secs)
        if status == "memory":
            return ChildOutcome("memory", reason=f"memory limit {memory_limit_mb:g} MB exceeded"
                                if memory_limit_mb else "out of memory (MemoryError)", exit_code=code, seconds=secs)
        if status == "error":
            kind, message = value
            return ChildOutcome("error", reason=message, error_type=kind, exit_code=code, seconds=secs)
    status, reason = describe_exit(code, memory_limit_mb)
    return ChildOutcome(status, reason=reason, exit_code=code, seconds=secs)


def run_function(fn: Callable, *args, time_limit: float | None = None, grace: float = 0.0,
                 memory_limit_mb: float | None = None, start_method: str | None = None, **kwargs) -> ChildOutcome:
    """Run ``fn(*args, **kwargs)`` in a child process under the module's policy.

    ``start_method``: ``"fork"`` (the default where available) or ``"spawn"`` (``fn`` and the
    arguments must then be importable and picklable).
    """
    if start_method is None:
        start_method = "fork" if hasattr(os, "fork") else "spawn"
    if start_method == "spawn":
        return _run_spawned(fn, args, kwargs, time_limit, grace, memory_limit_mb)
    t0 = time.perf_counter()
    deadline = None if time_limit is None else t0 + time_limit + grace
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into the caller's code
        code = 0
        try:
            os.close(r)
            os.setpgid(0, 0)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
            data = _child_main(fn, args, kwargs, memory_limit_mb)
            with os.fdopen(w, "wb") as fh:
                fh.write(data)
        except MemoryError:
            code = EXIT_MEMORY
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    finished = False
    try:
        data, finished = _read_until(r, deadline)
    finally:
        os.close(r)
        if not finished:  # time limit, or the caller was interrupted: the child must not outlive us
            kill_group(pid)
        _, status = os.waitpid(pid, 0)
    return _outcome(data, finished, os.waitstatus_to_exitcode(status), t0, time_limit, memory_limit_mb)


def _spawn_entry(conn, fn, args, kwargs, memory_limit_mb) -> None:
    conn.send_bytes(_child_main(fn, args, kwargs, memory_limit_mb))
    conn.close()


def _run_spawned(fn, args, kwargs, time_limit, grace, memory_limit_mb) -> ChildOutcome:
    import multiprocessing

    t0 = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_spawn_entry, args=(send, fn, args, kwargs, memory_limit_mb))
    proc.start()
    send.close()
    data, finished = b"", False
    try:
        wait = None if time_limit is None else time_limit + grace
        if recv.poll(wait):
            try:
                data = recv.recv_bytes()
            except EOFError:
                pass
            finished = True
    finally:
        recv.close()
        if proc.is_alive() and not data:
            proc.kill()
        proc.join()
    return _outcome(data, finished, proc.exitcode, t0, time_limit, memory_limit_mb)


def run_command(argv: Sequence[str], *, time_limit: float | None = None, memory_limit_mb: float | None = None,
                env: dict | None = None, cwd: str | None = None) -> ChildOutcome:
    """Run ``argv`` (standard input closed, standard output discarded) under the module's policy.

    ``status`` is ``"ok"`` (exit 0), ``"timeout"``, ``"memory"`` or ``"crashed"``; ``stderr_tail`` is
    the last non-empty line of its standard error.

    >>> import sys
    >>> run_command([sys.executable, "-c", "import time; time.sleep(30)"], time_limit=0.2).status
    'timeout'
    >>> out = run_command([sys.executable, "-c", "import sys; sys.exit('boom')"], time_limit=20)
    >>> out.status, out.stderr_tail
    ('crashed', 'boom')
    """
    import tempfile

    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(list(map(str, argv)), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err, start_new_session=True, env=env, cwd=cwd,
                                preexec_fn=(lambda: limit_memory(memory_limit_mb)) if memory_limit_mb else None)
        timed_out = False
        try:
            try:
                proc.wait(timeout=time_limit)
            except subprocess.TimeoutExpired:
                timed_out = True
        finally:
            if proc.poll() is None:  # time limit, Ctrl-C or another exception: never leave it running
                kill_group(proc.pid)
                proc.wait()
        size = err.seek(0, os.SEEK_END)
        err.seek(max(0, size - 65536))
        text = err.read().decode("utf-8", "replace")
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    tail = lines[-1] if lines else ""
    secs = time.perf_counter() - t0
    if timed_out:
        return ChildOutcome("timeout", reason=f"time limit {time_limit:g} s exceeded; killed with SIGKILL",
                            exit_code=proc.returncode, seconds=secs, stderr_tail=tail, stderr=text)
    if proc.returncode == 0:
        return ChildOutcome("ok", exit_code=0, seconds=secs, stderr_tail=tail, stderr=text)
    status, reason = describe_exit(proc.returncode, memory_limit_mb)
    if tail and status == "crashed":
        reason = f"{reason}: {tail}"
    return ChildOutcome(status, reason=reason, exit_code=proc.returncode, seconds=secs, stderr_tail=tail,
                        stderr=text)
