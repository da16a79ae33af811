"""Running a declared grid of tasks: resume from the store, an executor, a progress bar, a summary.

:func:`run_grid` is the plain-value API behind ``nsad verify`` and ``nsad scale`` (the commands
only parse options into these values): give it the tasks, the database path and the executor's
options, and it runs every task whose key is not already in the store, writing each row as it
finishes.

>>> import os, tempfile
>>> from nsad.experiments.verify import expand_grid
>>> db = os.path.join(tempfile.mkdtemp(), "r.db")
>>> tasks = expand_grid([5], [4.26], count=2, seed=1)
>>> run_grid(tasks, db, ExecutorOptions(workers=1), progress=False).groups()[0]["agree"]
2
>>> len(run_grid(tasks, db, ExecutorOptions(workers=1), progress=False).rows)  # resumed: nothing re-run
2
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from typing import Callable, Sequence

__all__ = ["ExecutorOptions", "run_grid"]


@dataclass(frozen=True)
class ExecutorOptions:
    """Where and how tasks run: ``workers`` local processes (default: the number of cores) or a Dask
    ``scheduler`` (``tcp://HOST:PORT``, or ``"local-dask"``); ``time_limit`` seconds per decider call
    (each task is SIGKILLed after ``2 * time_limit + 1`` s, room for both sides); ``memory_limit_mb``
    per worker process (``None``: the limit ``worker_memory_mb`` of :mod:`nsad.limits`, 8192 MiB by
    default; a task beyond it is recorded as unknown with the reason "memory limit ... exceeded")."""

    workers: int | None = None
    scheduler: str | None = None
    time_limit: float | None = None
    memory_limit_mb: float | None = None


#: Columns read back from the store for the summary of resumed tasks (``details`` stays on disk).
_SUMMARY_COLUMNS = ("key", "n", "ratio", "formula_answer", "network_answer", "agree", "error", "certificate",
                    "proof", "network_proof", "network_seconds", "formula_seconds", "reduce_seconds")


def run_grid(tasks: Sequence, db: str, executor_options: ExecutorOptions = ExecutorOptions(), *,
             resume: bool = True, label: str = "verify", on_row: Callable[[dict], None] | None = None,
             progress: bool = True, limits=None):
    """Run the verification ``tasks`` (:class:`nsad.experiments.verify.VerifyTask`) into ``db``.

    ``resume``: tasks whose key already has a row without error are not run again (their rows count
    in the summary). ``limits`` (default: the current :mod:`nsad.limits`) go with every task to its
    worker, so a raised limit holds on any executor. If the database cannot be written any more,
    the run stops with a ``StoreError`` saying how many rows this run wrote (all kept). Returns the
    :class:`nsad.experiments.verify.Summary` of every task.
    """
    from nsad import limits as _limits
    from nsad.errors import StoreError
    from nsad.experiments.progress import Progress
    from nsad.experiments.runner import make_executor
    from nsad.experiments.store import ResultStore
    from nsad.experiments.verify import Summary, failure_row, run_task

    lim = _limits.resolve(limits)
    summary = Summary(proofs=any(getattr(t, "proofs", False) for t in tasks))
    opts = executor_options
    memory = opts.memory_limit_mb if opts.memory_limit_mb is not None else lim.worker_memory_mb
    with ResultStore(db) as store:
        have = store.columns("verify")
        cols = [c for c in _SUMMARY_COLUMNS if c in have]
        done = {}
        if resume:
            for r in store.rows_for_keys("verify", [t.key for t in tasks], cols):
                if not r.get("error"):
                    done[r["key"]] = r
        todo = [t for t in tasks if t.key not in done]
        for t in tasks:
            if t.key in done:
                summary.add(done[t.key])
        if done and len(todo) < len(tasks):
            print(f"resuming: {len(tasks) - len(todo)} of {len(tasks)} tasks already in {db}", file=sys.stderr)
        if not todo:
            return summary
        hard_limit = 2 * opts.time_limit + 1.0 if opts.time_limit else None
        executor = make_executor(opts.workers, opts.scheduler, time_limit=hard_limit, memory_limit_mb=memory)
        written = 0
        try:
            with Progress(len(todo), label, enabled=progress) as bar:
                for _t, row in executor.map(functools.partial(_limits.call_with, lim, run_task), todo,
                                            on_failure=failure_row):
                    try:
                        store.put("verify", row)
                    except StoreError as exc:
                        raise StoreError(f"{exc}; this run wrote {written} rows before it stopped here (rerun the "
                                         f"same command to resume)") from None
                    written += 1
                    summary.add(row)
                    tag = "error" if row.get("error") else (
                        "DISAGREE" if row.get("agree") == 0 else row.get("formula_answer") or "?")
                    bar.update(tag)
                    if on_row is not None:
                        on_row(row)
        finally:
            if hasattr(executor, "close"):
                executor.close()
    return summary
