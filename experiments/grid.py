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

import sys
from dataclasses import dataclass
from typing import Callable, Sequence

__all__ = ["ExecutorOptions", "run_grid"]


@dataclass(frozen=True)
class ExecutorOptions:
    """Where and how tasks run: ``workers`` local processes (default: the number of cores) or a Dask
    ``scheduler`` (``tcp://HOST:PORT``, or ``"local-dask"``); ``time_limit`` seconds per decider call
    (each task is SIGKILLed after ``2 * time_limit + 1`` s, room for both sides); ``memory_limit_mb``
    per worker process."""

    workers: int | None = None
    scheduler: str | None = None
    time_limit: float | None = None
    memory_limit_mb: float | None = None


def run_grid(tasks: Sequence, db: str, executor_options: ExecutorOptions = ExecutorOptions(), *,
             resume: bool = True, label: str = "verify", on_row: Callable[[dict], None] | None = None,
             progress: bool = True):
    """Run the verification ``tasks`` (:class:`nsad.experiments.verify.VerifyTask`) into ``db``.

    ``resume``: tasks whose key already has a row without error are not run again (their rows count
    in the summary). Returns the :class:`nsad.experiments.verify.Summary` of every task.
    """
    from nsad.experiments.progress import Progress
    from nsad.experiments.runner import make_executor
    from nsad.experiments.store import ResultStore
    from nsad.experiments.verify import Summary, failure_row, run_task

    summary = Summary()
    opts = executor_options
    with ResultStore(db) as store:
        done = {r["key"]: r for r in store.rows("verify") if not r.get("error")} if resume else {}
        todo = [t for t in tasks if t.key not in done]
        for t in tasks:
            if t.key in done:
                summary.add(done[t.key])
        if done and len(todo) < len(tasks):
            print(f"resuming: {len(tasks) - len(todo)} of {len(tasks)} tasks already in {db}", file=sys.stderr)
        if not todo:
            return summary
        hard_limit = 2 * opts.time_limit + 1.0 if opts.time_limit else None
        executor = make_executor(opts.workers, opts.scheduler, time_limit=hard_limit,
                                 memory_limit_mb=opts.memory_limit_mb)
        try:
            with Progress(len(todo), label, enabled=progress) as bar:
                for _t, row in executor.map(run_task, todo, on_failure=failure_row):
                    store.put("verify", row)
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
