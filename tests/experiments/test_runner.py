"""The experiment engine: hard limits, crash rows, resume after SIGKILL, local vs Dask rows."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nsad.experiments.runner import LocalExecutor
from nsad.experiments.store import ResultStore

ROOT = Path(__file__).resolve().parents[2]


def _task(t):
    """Module-level (picklable) task function with misbehaving cases."""
    if t == "trap":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        while True:
            time.sleep(0.05)
    if t == "crash":
        os._exit(3)
    if t == "raise":
        raise RuntimeError("boom")
    if t == "memory":
        return len(bytearray(4 * 2**30))
    return {"value": t}


def _fail(task, reason):
    return {"failed": task, "reason": reason}


def test_limits_crashes_and_errors_become_rows():
    ex = LocalExecutor(2, time_limit=2.0, memory_limit_mb=2048)  # well above a normal task, also under load
    tasks = ["a", "trap", "crash", "raise", "memory", "b"] + list(range(20))
    t0 = time.perf_counter()
    out = dict(ex.map(_task, tasks, on_failure=_fail))
    elapsed = time.perf_counter() - t0
    assert set(out) == set(tasks)  # every task exactly once
    assert out["a"] == {"value": "a"} and out[7] == {"value": 7}
    assert "time limit" in out["trap"]["reason"] and "SIGKILL" in out["trap"]["reason"]
    assert "crashed" in out["crash"]["reason"]
    assert "RuntimeError: boom" in out["raise"]["reason"]
    assert "memory" in out["memory"]["reason"].lower() or "crashed" in out["memory"]["reason"]
    assert elapsed < 2.0 + 10  # generous: the trapping task is stopped, never a hang
    assert len(ex.kill_delays) == 1 and ex.kill_delays[0] < 10


VERIFY_ARGS = ["verify", "--n", "3", "4", "5", "--ratio", "3.5", "4.26", "--count", "4", "--seed", "5",
               "--workers", "2"]


def _rows(db):
    with ResultStore(db) as store:
        return {r["key"]: r for r in store.rows("verify")}


def _stable(row):
    drop = {"finished_at", "details"}
    return {k: v for k, v in row.items() if not k.endswith("_seconds") and k not in drop}


def test_sigkill_part_way_then_resume_equals_uninterrupted(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    killed_db, clean_db = tmp_path / "killed.db", tmp_path / "clean.db"
    proc = subprocess.Popen([sys.executable, "-m", "nsad", *VERIFY_ARGS, "--db", str(killed_db)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline:  # wait until some rows are written, then kill the whole group
        if killed_db.exists():
            try:
                if len(_rows(killed_db)) >= 3:
                    break
            except Exception:
                pass
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = _rows(killed_db)
    assert 0 < len(partial) < 24, "the run should have been killed part-way"
    res = subprocess.run([sys.executable, "-m", "nsad", *VERIFY_ARGS, "--db", str(killed_db)],
                         env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "resuming" in res.stderr
    res = subprocess.run([sys.executable, "-m", "nsad", *VERIFY_ARGS, "--db", str(clean_db)],
                         env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    resumed, clean = _rows(killed_db), _rows(clean_db)
    assert len(resumed) == len(clean) == 24
    assert {k: _stable(v) for k, v in resumed.items()} == {k: _stable(v) for k, v in clean.items()}
    for key, row in partial.items():  # rows written before the kill were kept as they were
        assert _stable(resumed[key]) == _stable(row)


def test_dask_and_local_give_identical_rows(tmp_path):
    pytest.importorskip("dask.distributed")
    from nsad.experiments.cli import main

    args = ["verify", "--n", "4", "5", "--count", "3", "--seed", "9"]
    assert main(args + ["--db", str(tmp_path / "local.db"), "--workers", "2"]) == 0
    assert main(args + ["--db", str(tmp_path / "dask.db"), "--scheduler", "local-dask", "--workers", "2"]) == 0
    local, dask = _rows(tmp_path / "local.db"), _rows(tmp_path / "dask.db")
    assert len(local) == 6
    assert {k: _stable(v) for k, v in local.items()} == {k: _stable(v) for k, v in dask.items()}


def test_time_limit_rows_are_unknown_not_lost(tmp_path, monkeypatch):
    """A task killed at the limit becomes an UNKNOWN row with its reason."""
    from nsad.experiments.verify import VerifyTask, failure_row

    row = failure_row(VerifyTask(1, 0, 5, 4.26), "time limit 3 s exceeded; killed with SIGKILL")
    assert row["network_answer"] == row["formula_answer"] == "unknown" and row["agree"] is None
    assert "error" not in row
    crash = failure_row(VerifyTask(1, 0, 5, 4.26), "worker crashed (exit code -11)")
    assert crash["error"].startswith("worker crashed")


def test_engine_benchmark_reports_its_figures():
    from nsad.experiments.bench_engine import measure

    res = measure(workers=2, tasks=50, kills=1, time_limit=0.2, n=8, count=6)
    assert res["verify_formulas"] == 6 and res["verify_problems"] == 0
    assert res["kill_delay_s_median"] is not None and 0 <= res["kill_delay_s_median"] < 10
    assert res["overhead_ms_per_task"] > 0


def test_version_1_databases_are_rekeyed_and_resume(tmp_path):
    """Schema 1 keyed the default decider's tasks with ``method = None``; schema 2 re-keys those rows
    so that a resumed run neither re-runs them nor duplicates them."""
    import sqlite3

    from nsad.experiments.grid import ExecutorOptions, run_grid
    from nsad.experiments.store import ResultStore, _v1_key
    from nsad.experiments.verify import expand_grid, run_task

    db = tmp_path / "old.db"
    tasks = expand_grid([5], [4.26], count=3, seed=2)
    with ResultStore(db) as store:
        for t in tasks:
            row = run_task(t)
            spec = dict(run_seed=t.run_seed, index=t.index, n=t.n, ratio=t.ratio, k=t.k, family=t.family,
                        solver=t.solver, experiment=t.experiment, proofs=t.proofs)
            row.update(key=_v1_key(spec), method="default")
            store.put("verify", row)
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version=1")
    summary = run_grid(tasks, str(db), ExecutorOptions(workers=1), progress=False)
    with ResultStore(db, readonly=True) as store:
        rows = list(store.rows("verify"))
        version = store.conn.execute("PRAGMA user_version").fetchone()[0]
    assert version == 2 and len(rows) == 3 and len(summary.rows) == 3
    assert {r["key"] for r in rows} == {t.key for t in tasks} and {r["method"] for r in rows} == {"portfolio"}
