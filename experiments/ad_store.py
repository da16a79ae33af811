"""Result tables of the AD experiments (``nsad matmul``, ``nsad cheapgrad``).

One table per experiment, in the common results database (default ``nsad-results.db``, WAL mode;
written through :class:`experiments.store.ResultStore`, so the file stays one nsad database). Each
row is one measured configuration, keyed by a content hash of (experiment, run id, configuration):
a run never overwrites another run's rows. Column types are SQLite's; ``details`` holds JSON.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "r.db")
>>> write_rows(path, "matmul_runs", [{"run_id": "r1", "width": 8, "p": 2, "dtype": "float64"}])
1
>>> [r["width"] for r in read_rows(path, "matmul_runs")]
[8]
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
import uuid
from typing import Any, Iterable

from experiments.store import ResultStore

COMMON = {
    "key": "TEXT PRIMARY KEY",
    "run_id": "TEXT",
    "host": "TEXT",
    "blas": "TEXT",  # internal_api version architecture threads (threadpoolctl)
    "finished_at": "REAL",
    "details": "TEXT",
}

TABLES: dict[str, dict[str, str]] = {
    "matmul_runs": {
        **COMMON,
        "width": "INTEGER",
        "depth": "INTEGER",
        "p": "INTEGER",
        "dtype": "TEXT",
        "repeats": "INTEGER",
        "t_products": "REAL",  # the same matrix products alone (median seconds)
        "t_dd_zero": "REAL",  # batched directional derivatives at x = 0
        "t_dd_random": "REAL",  # ... at a random x
        "ratio_zero": "REAL",
        "ratio_random": "REAL",
        "t_matmul": "REAL",  # A @ B
        "t_matmul_dd": "REAL",  # A @ B through 2p directional derivatives
        "ratio_matmul": "REAL",
        "t_torch": "REAL",  # torch.func.vmap(jvp) at the random x (None without torch)
        "ratio_torch": "REAL",  # t_torch / t_dd_random
        "ops_dd": "INTEGER",
    },
    "cheapgrad_runs": {
        **COMMON,
        "family": "TEXT",  # sparse | reduction
        "n": "INTEGER",
        "m": "INTEGER",
        "depth": "INTEGER",
        "units": "INTEGER",
        "nnz": "INTEGER",
        "ops_eval": "INTEGER",
        "ops_backward": "INTEGER",
        "ops_forward": "INTEGER",  # full gradient by n directions
        "ops_ld": "INTEGER",
        "ops_ratio_backward": "REAL",
        "ops_ratio_forward": "REAL",
        "ops_ratio_ld": "REAL",
        "t_eval": "REAL",
        "t_backward": "REAL",
        "t_forward": "REAL",
        "t_ld": "REAL",
        "time_ratio_backward": "REAL",
        "time_ratio_forward": "REAL",
        "time_ratio_ld": "REAL",
        "repeats": "INTEGER",
    },
}


def new_run_id() -> str:
    """A fresh 12-hex-digit id for one invocation.

    >>> len(new_run_id())
    12
    """
    return uuid.uuid4().hex[:12]


def host() -> str:
    """Where the rows were measured (node, machine, CPU count).

    >>> "cpus=" in host()
    True
    """
    return f"{platform.node()} {platform.machine()} cpus={os.cpu_count()}"


def row_key(table: str, row: dict[str, Any]) -> str:
    """Content hash of a row's identity columns (times and ratios excluded).

    >>> a = row_key("matmul_runs", {"run_id": "a", "p": 1, "t_products": 1.0})
    >>> a == row_key("matmul_runs", {"run_id": "a", "p": 1}) != row_key("matmul_runs", {"run_id": "a", "p": 2})
    True
    """
    ident = {k: v for k, v in row.items() if k in TABLES[table] and not k.startswith(("t_", "ratio", "time_"))
             and k not in ("finished_at", "details", "key")}
    return hashlib.sha256(json.dumps([table, ident], sort_keys=True, default=str).encode()).hexdigest()[:24]


def write_rows(path, table: str, rows: Iterable[dict[str, Any]]) -> int:
    """Append measured rows to ``table`` (created on first use); returns how many were written.

    Keys not among the table's columns go to ``details`` (JSON). Example: the module docstring.
    """
    if table not in TABLES:
        raise ValueError(f"unknown AD results table {table!r}")
    count = 0
    with ResultStore(path) as store:
        store.create_table(table, TABLES[table])
        cols = TABLES[table]
        for row in rows:
            r = {k: v for k, v in row.items() if k in cols}
            extra = {k: v for k, v in row.items() if k not in cols}
            if extra and "details" not in r:
                r["details"] = json.dumps(extra, sort_keys=True, default=str)
            r.setdefault("finished_at", time.time())
            r["key"] = row_key(table, r)
            store.put(table, r)
            count += 1
    return count


def read_rows(path, table: str, run_id: str | None = None) -> list[dict[str, Any]]:
    """Rows of ``table`` (of one run when ``run_id`` is given), in insertion order.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "r.db")
    >>> _ = write_rows(path, "cheapgrad_runs", [{"run_id": "x", "n": 10}, {"run_id": "y", "n": 20}])
    >>> [r["n"] for r in read_rows(path, "cheapgrad_runs", run_id="y")]
    [20]
    """
    with ResultStore(path, readonly=True) as store:
        if table not in store.tables():
            return []
        if run_id is None:
            return list(store.rows(table, "ORDER BY rowid"))
        return list(store.rows(table, "WHERE run_id = ? ORDER BY rowid", (run_id,)))
