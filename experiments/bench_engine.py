"""Benchmark of the experiment engine (``nsad bench engine``).

Protocol, all in one run on this machine:

1. **Scheduling overhead**: ``LocalExecutor(workers).map`` over ``tasks`` trivial tasks (``abs``);
   overhead per task = wall time / tasks (pipe round trip, pickling, bookkeeping).
2. **Kill delay**: ``kills`` tasks that trap SIGTERM and SIGINT and sleep forever, run with a time
   limit; the delay is the time from the limit to the moment the worker is dead (includes the
   ``grace`` the executor grants before SIGKILL).
3. **Verify throughput**: ``nsad verify``'s task function on ``count`` random 3-SAT formulas at
   n = ``n`` (reduce, default network decider, CaDiCaL, exact certificate checks) with ``workers``
   local workers; formulas per second between the start of the map and the last row (worker start-up
   included), and the same excluding the first row (steady state).
"""

from __future__ import annotations

import signal
import statistics
import time


def _trap(_):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        time.sleep(0.05)


def measure(*, workers: int = 2, tasks: int = 5000, kills: int = 3, time_limit: float = 0.5,
            n: int = 50, count: int = 300, seed: int = 0) -> dict:
    from nsad.experiments.runner import LocalExecutor
    from nsad.experiments.verify import expand_grid, failure_row, run_task

    ex = LocalExecutor(workers)
    t0 = time.perf_counter()
    done = sum(1 for _ in ex.map(abs, range(tasks)))
    overhead_ms = (time.perf_counter() - t0) / done * 1e3

    ex = LocalExecutor(workers, time_limit=time_limit)
    list(ex.map(_trap, range(kills), on_failure=lambda t, r: r))
    delays = ex.kill_delays

    grid = expand_grid([n], [4.26], count, seed)
    ex = LocalExecutor(workers)
    stamps = []
    t0 = time.perf_counter()
    bad = 0
    for _task, row in ex.map(run_task, grid, on_failure=failure_row):
        stamps.append(time.perf_counter())
        bad += bool(row.get("error")) or row.get("agree") == 0 or row.get("certificate") == "failed"
    total = stamps[-1] - t0
    steady = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else None
    return {
        "workers": workers,
        "overhead_ms_per_task": overhead_ms,
        "kill_delay_s_median": statistics.median(delays) if delays else None,
        "kill_delay_s_max": max(delays) if delays else None,
        "verify_n": n,
        "verify_formulas": len(stamps),
        "verify_problems": bad,
        "verify_formulas_per_s": len(stamps) / total,
        "verify_formulas_per_s_steady": steady,
    }
