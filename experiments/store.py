"""The results store: an embedded SQLite database, one row per (instance, method) task.

Conventions:

* Every row is written in its own transaction as its task finishes, so a killed run loses at most
  the tasks that were running, never a written row (rollback journal, see :class:`ResultStore`).
* Rows are keyed by ``key``, a content hash of the task spec (family, parameters, seed, index,
  methods): re-running the same command finds the finished keys and skips them (``has``/``keys``).
* The database carries ``PRAGMA application_id`` = ``0x6E736164`` ("nsad") and a schema version
  in ``PRAGMA user_version``; a file that is not SQLite, or an SQLite database of another
  application, raises :class:`StoreError` with one line, never a traceback.
* Experiments other than ``verify`` keep their own tables in the same file (``create_table``): the
  AD experiments (``nsad matmul``, ``nsad cheapgrad``, ``nsad kinks``) one table each (:data:`AD_TABLES`), one row
  per measured configuration keyed by a content hash of (experiment, run id, configuration), so a
  run never overwrites another run's rows (:func:`write_rows`, :func:`read_rows`).

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "r.db")
>>> with ResultStore(path) as store:
...     store.put("verify", {"key": "k1", "n": 5, "agree": 1})
...     store.has("verify", "k1"), store.count("verify")
(True, 1)
"""

from __future__ import annotations

from nsad.errors import StoreError

import hashlib
import json
import os
import platform
import sqlite3
import time
import urllib.parse
import uuid
from typing import Any, Iterable, Iterator

APPLICATION_ID = 0x6E736164  # "nsad"
#: What sqlite3 raises on a corrupt or foreign file (names that are not UTF-8 come as UnicodeDecodeError).
_SQL_ERRORS = (sqlite3.Error, UnicodeError, OverflowError)
SCHEMA_VERSION = 2
# Schema history: 1 -> 2 (nsad 0.2): task keys hash canonical method names; version-1 rows of the
# default decider (method NULL or "default", computed by "portfolio", the default since version 1
# was written) are re-keyed on first write access, so a resumed run neither re-runs them nor
# duplicates them.

#: Columns of the ``verify`` table (one row per formula and network method). Types are SQLite's.
VERIFY_COLUMNS: dict[str, str] = {
    "key": "TEXT PRIMARY KEY",
    "experiment": "TEXT",
    "run_seed": "INTEGER",
    "idx": "INTEGER",
    "family": "TEXT",
    "n": "INTEGER",
    "m": "INTEGER",
    "ratio": "REAL",
    "k": "INTEGER",
    "sha256": "TEXT",
    "method": "TEXT",
    "solver": "TEXT",
    "network_answer": "TEXT",
    "network_complete": "INTEGER",
    "network_backend": "TEXT",
    "network_seconds": "REAL",
    "formula_answer": "TEXT",
    "formula_seconds": "REAL",
    "reduce_seconds": "REAL",
    "check_seconds": "REAL",
    "proof": "TEXT",  # checked | unchecked | failed (with --proofs): the formula side
    "network_proof": "TEXT",  # checked | unchecked | failed (with --proofs): the network side's UNSAT answer
    "certificate": "TEXT",  # checked | failed | none | model-checked
    "certificate_reason": "TEXT",
    "agree": "INTEGER",
    "depth": "INTEGER",
    "units": "INTEGER",
    "nnz": "INTEGER",
    "error": "TEXT",
    "details": "TEXT",  # JSON: statistics of both sides, certificate, reasons
    "finished_at": "REAL",
}




class ResultStore:
    """An SQLite results database (see the module docstring).

    Every failure is a :class:`StoreError` naming the file, never an ``sqlite3`` exception: a file
    that is not SQLite or is corrupt, another application's database, a newer schema, a ``verify``
    (or AD) table whose ``key`` is not unique (rows would be duplicated), and a database that cannot
    be written: that one is found when the store is opened for writing (an immutable or read-only
    file, a read-only folder) by a write that changes nothing, and if it happens later, the row that
    could not be written is reported and every row written before it is kept.

    The journal is SQLite's rollback journal (``journal_mode=TRUNCATE``, ``synchronous=NORMAL``): no
    file is memory-mapped, so a database that becomes unwritable mid-run gives an error, never a
    SIGBUS (WAL mode maps its ``-shm`` index, and a write to that mapping kills the process when the
    file becomes immutable). Databases written in WAL mode by earlier versions are switched over.
    """

    def __init__(self, path: str | os.PathLike, *, readonly: bool = False):
        self.path = os.fspath(path)
        self.readonly = readonly
        self.conn = None
        if readonly and not os.path.exists(self.path):
            raise StoreError(f"{self.path}: no such results database")
        if os.path.isdir(self.path):
            raise StoreError(f"{self.path}: is a directory, not a results database")
        parent = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(parent):
            raise StoreError(f"{self.path}: folder {parent} does not exist")
        if not readonly:
            if os.path.exists(self.path) and not os.access(self.path, os.W_OK):
                raise StoreError(f"{self.path}: the results database cannot be written (read-only or immutable "
                                 f"file); use another --db")
            if not os.path.exists(self.path) and not os.access(parent, os.W_OK):
                raise StoreError(f"{self.path}: cannot create the results database: folder {parent} is not writable")
        try:
            if readonly:
                uri = "file:" + urllib.parse.quote(os.path.abspath(self.path)) + "?mode=ro"
                self.conn = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None)
            else:
                self.conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            self.conn.text_factory = _text  # a corrupt text value reads with replacement characters
            app = self.conn.execute("PRAGMA application_id").fetchone()[0]
            tables = [r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        except _SQL_ERRORS as exc:
            self.close()
            raise StoreError(f"{self.path}: not an SQLite results database ({exc})") from None
        if app != APPLICATION_ID and (app != 0 or tables):
            self.close()
            raise StoreError(f"{self.path}: an SQLite database of another application, not an nsad results database")
        if version > SCHEMA_VERSION:
            self.close()
            raise StoreError(f"{self.path}: written by a newer nsad (schema {version} > {SCHEMA_VERSION})")
        try:
            if not readonly:
                self.conn.execute("PRAGMA journal_mode=TRUNCATE")
                self.conn.execute("PRAGMA synchronous=NORMAL")
                with self._transaction():  # a write that changes nothing: fails now if the file cannot be written
                    self.conn.execute(f"PRAGMA user_version={version if app else SCHEMA_VERSION}")
                    if app == 0:
                        self.conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
                self.create_table("verify", VERIFY_COLUMNS)
                if app != 0 and version < SCHEMA_VERSION:
                    with self._transaction():
                        _migrate_1_to_2(self.conn)
                        self.conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            elif "verify" in tables:
                self._check_key("verify")
        except StoreError:
            self.close()
            raise
        except _SQL_ERRORS as exc:
            self.close()
            raise StoreError(f"{self.path}: cannot write the results database ({exc})") from None

    def _error(self, exc: Exception, what: str) -> StoreError:
        return StoreError(f"{self.path}: {what} ({exc})")

    # -- schema --------------------------------------------------------------------------------------
    def create_table(self, table: str, columns: dict[str, str]) -> None:
        """Create ``table`` if needed and add any missing columns (schemas only ever grow). A table
        whose ``key`` column is declared ``PRIMARY KEY`` here must have it unique in the file."""
        _check_name(table)
        cols = ", ".join(f'"{_check_name(c)}" {t}' for c, t in columns.items())
        try:
            self.conn.execute(f'CREATE TABLE IF NOT EXISTS "{table}" ({cols})')
            have = {r[1] for r in self.conn.execute(f'PRAGMA table_info("{table}")')}
            self.__dict__.get("_column_cache", {}).pop(table, None)
            for c, t in columns.items():
                if c not in have:
                    self.conn.execute(f'ALTER TABLE "{table}" ADD COLUMN "{c}" {t.replace("PRIMARY KEY", "")}')
        except _SQL_ERRORS as exc:
            raise self._error(exc, f"cannot create or extend table {table!r}") from None
        if "PRIMARY KEY" in columns.get("key", ""):
            self._check_key(table)

    def _check_key(self, table: str) -> None:
        """``StoreError`` unless ``key`` is the primary key of ``table`` or has a unique index of its own
        (otherwise ``INSERT OR REPLACE`` would add a second row for a key, e.g. with ``--no-resume``)."""
        try:
            info = list(self.conn.execute(f'PRAGMA table_info("{_check_name(table)}")'))
            if any(r[1] == "key" and r[5] == 1 for r in info) and sum(1 for r in info if r[5]) == 1:
                return
            for idx in self.conn.execute(f'PRAGMA index_list("{table}")'):
                if idx[2]:  # unique
                    cols = [r[2] for r in self.conn.execute(f'PRAGMA index_info("{idx[1]}")')]
                    if cols == ["key"]:
                        return
        except _SQL_ERRORS as exc:
            raise self._error(exc, f"cannot read the schema of table {table!r}") from None
        raise StoreError(f"{self.path}: table {table!r} has no primary key on 'key' (not written by nsad?); rows "
                         f"would be duplicated: use another --db")

    def tables(self) -> list[str]:
        try:
            return [r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        except _SQL_ERRORS as exc:
            raise self._error(exc, "cannot list the tables") from None

    def columns(self, table: str) -> list[str]:
        try:
            return [r[1] for r in self.conn.execute(f'PRAGMA table_info("{_check_name(table)}")')]
        except _SQL_ERRORS as exc:
            raise self._error(exc, f"cannot read the columns of table {table!r}") from None

    def _columns(self, table: str) -> frozenset:
        cache = self.__dict__.setdefault("_column_cache", {})
        if table not in cache:
            cache[table] = frozenset(self.columns(table))
        return cache[table]

    # -- rows ----------------------------------------------------------------------------------------
    def put(self, table: str, row: dict[str, Any]) -> None:
        """Insert or replace one row in its own transaction (values: numbers, strings, None, JSON-able).

        A failure to write (disk full, the file made read-only or immutable) is a ``StoreError``
        saying so; the rows written before are kept (each was committed on its own).
        """
        row = {k: (json.dumps(v, sort_keys=True) if isinstance(v, (dict, list, tuple)) else v) for k, v in row.items()}
        if "finished_at" in self._columns(table):
            row.setdefault("finished_at", time.time())
        names = ", ".join(f'"{_check_name(k)}"' for k in row)
        marks = ", ".join("?" for _ in row)
        try:
            with self._transaction():
                self.conn.execute(f'INSERT OR REPLACE INTO "{_check_name(table)}" ({names}) VALUES ({marks})',
                                  list(row.values()))
        except _SQL_ERRORS as exc:
            raise StoreError(f"{self.path}: cannot write a row to the results database ({exc}); the rows written "
                             f"before are kept") from None

    def put_many(self, table: str, rows: Iterable[dict[str, Any]]) -> None:
        for r in rows:
            self.put(table, r)

    def has(self, table: str, key: str) -> bool:
        try:
            return self.conn.execute(f'SELECT 1 FROM "{_check_name(table)}" WHERE key = ?', (key,)).fetchone() is not None
        except _SQL_ERRORS as exc:
            raise self._error(exc, f"cannot read table {table!r}") from None

    def keys(self, table: str) -> set[str]:
        try:
            return {r[0] for r in self.conn.execute(f'SELECT key FROM "{_check_name(table)}"')}
        except _SQL_ERRORS as exc:
            raise self._error(exc, f"cannot read table {table!r}") from None

    def count(self, table: str) -> int:
        try:
            return self.conn.execute(f'SELECT COUNT(*) FROM "{_check_name(table)}"').fetchone()[0]
        except _SQL_ERRORS as exc:
            raise self._error(exc, f"cannot read table {table!r}") from None

    def rows(self, table: str, where: str = "", params: tuple = (), columns: Iterable[str] | None = None
             ) -> Iterator[dict[str, Any]]:
        """The rows of ``table`` (all columns, or ``columns``), as dicts, streamed."""
        cols = "*" if columns is None else ", ".join(f'"{_check_name(c)}"' for c in columns)
        try:
            cur = self.conn.execute(f'SELECT {cols} FROM "{_check_name(table)}" {where}', params)
            names = [d[0] for d in cur.description]
            for r in cur:
                yield dict(zip(names, r))
        except _SQL_ERRORS as exc:
            raise self._error(exc, f"cannot read table {table!r}") from None

    def query(self, sql: str, params: tuple = ()) -> tuple[list[str], list[tuple]]:
        """``(column names, rows)`` of one SQL statement. On a store opened ``readonly`` SQLite
        refuses any statement that writes (a ``StoreError`` saying so); several statements are one
        ``StoreError`` too.

        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "q.db")
        >>> with ResultStore(path) as s:
        ...     s.put("verify", {"key": "a", "n": 5})
        >>> with ResultStore(path, readonly=True) as s:
        ...     s.query("SELECT n, COUNT(*) AS rows FROM verify GROUP BY n")
        (['n', 'rows'], [(5, 1)])
        """
        try:
            cur = self.conn.execute(sql, params)
            names = [d[0] for d in cur.description] if cur.description else []
            return names, cur.fetchall()
        except _SQL_ERRORS as exc:
            raise self._error(exc, "the query failed") from None

    def rows_for_keys(self, table: str, keys: Iterable[str], columns: Iterable[str] | None = None
                      ) -> Iterator[dict[str, Any]]:
        """The rows of ``table`` whose ``key`` is among ``keys`` (queried in batches)."""
        keys = list(keys)
        for i in range(0, len(keys), 500):
            batch = keys[i:i + 500]
            yield from self.rows(table, f"WHERE key IN ({', '.join('?' for _ in batch)})", tuple(batch), columns)

    def _transaction(self):
        conn = self.conn

        class _Tx:
            def __enter__(self_inner):
                conn.execute("BEGIN IMMEDIATE")

            def __exit__(self_inner, et, ev, tb):
                if et is None:
                    conn.execute("COMMIT")
                else:
                    try:
                        conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass  # the transaction may already be gone; the original error is what matters

        return _Tx()

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except sqlite3.Error:
                pass
            self.conn = None

    def __enter__(self) -> "ResultStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _migrate_1_to_2(conn) -> int:
    """Re-key version-1 rows of the default decider (see ``SCHEMA_VERSION``); returns how many.

    A row is re-keyed only when its stored key is the version-1 hash of the spec its columns
    describe (so rows of hand-made tasks are left alone).
    """
    from nsad.experiments.verify import VerifyTask

    moved = 0
    rows = conn.execute('SELECT rowid, key, experiment, run_seed, idx, n, ratio, k, family, solver FROM "verify" '
                        "WHERE method IS NULL OR method = 'default'").fetchall()
    for rowid, key, experiment, run_seed, idx, n, ratio, k, family, solver in rows:
        for proofs in (False, True):
            spec = dict(run_seed=run_seed, index=idx, n=n, ratio=ratio, k=k, family=family, solver=solver,
                        experiment=experiment, proofs=proofs)
            if _v1_key(spec) == key:
                new = VerifyTask(method="portfolio", **spec).key
                conn.execute('DELETE FROM "verify" WHERE key = ? AND rowid != ?', (new, rowid))
                conn.execute('UPDATE "verify" SET key = ?, method = ? WHERE rowid = ?', (new, "portfolio", rowid))
                moved += 1
                break
    return moved


def _v1_key(spec: dict) -> str:
    """The version-1 task key: the same hash with ``method = None`` (the default decider)."""
    import hashlib

    full = {"run_seed": spec["run_seed"], "index": spec["index"], "n": spec["n"], "ratio": spec["ratio"], "m": None,
            "k": spec["k"], "family": spec["family"], "method": None, "solver": spec["solver"],
            "experiment": spec["experiment"], "proofs": spec["proofs"]}
    return hashlib.sha256(json.dumps(full, sort_keys=True).encode()).hexdigest()[:32]


def _check_name(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise StoreError(f"bad table or column name {name!r}")
    return name


# ------------------------------------------------------------------------------------------------
# AD experiment tables

AD_COMMON = {
    "key": "TEXT PRIMARY KEY",
    "run_id": "TEXT",
    "host": "TEXT",
    "blas": "TEXT",  # internal_api version architecture threads (threadpoolctl)
    "finished_at": "REAL",
    "details": "TEXT",
}

AD_TABLES: dict[str, dict[str, str]] = {
    "matmul_runs": {
        **AD_COMMON,
        "width": "INTEGER",
        "depth": "INTEGER",
        "p": "INTEGER",
        "dtype": "TEXT",
        "repeats": "INTEGER",
        "t_products": "REAL",  # the same matrix products alone (median seconds)
        "t_dd_zero": "REAL",  # batched directional derivatives at x = 0
        "t_dd_random": "REAL",  # ... at a random x
        "ratio_zero": "REAL",
        "ratio_zero_lo": "REAL",  # 95 % bootstrap interval of ratio_zero over the timed rounds
        "ratio_zero_hi": "REAL",
        "ratio_random": "REAL",
        "ratio_random_lo": "REAL",
        "ratio_random_hi": "REAL",
        "t_matmul": "REAL",  # A @ B
        "t_matmul_dd": "REAL",  # A @ B through 2p directional derivatives
        "ratio_matmul": "REAL",  # the median of matmul_runs runs
        "ratio_matmul_lo": "REAL",  # 95 % bootstrap interval over the runs
        "ratio_matmul_hi": "REAL",
        "matmul_runs": "INTEGER",
        "t_torch": "REAL",  # torch.func.vmap(jvp) at the random x (None without torch)
        "ratio_torch": "REAL",  # t_torch / t_dd_random
        "ops_dd": "INTEGER",
    },
    "cheapgrad_runs": {
        **AD_COMMON,
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
        "time_ratio_backward_lo": "REAL",  # 95 % bootstrap intervals over the timed rounds
        "time_ratio_backward_hi": "REAL",
        "time_ratio_forward_lo": "REAL",
        "time_ratio_forward_hi": "REAL",
        "time_ratio_ld_lo": "REAL",
        "time_ratio_ld_hi": "REAL",
        "repeats": "INTEGER",
    },
    "kinks_runs": {
        **AD_COMMON,
        "dataset": "TEXT",
        "layers": "TEXT",  # e.g. 64-32-32-10
        "dtype": "TEXT",
        "batch": "INTEGER",
        "seed": "INTEGER",
        "lr": "REAL",
        "steps": "INTEGER",
        "differs": "INTEGER",  # steps where the gradient changes between relu'(0) = 0 and 1
        "float_zero": "INTEGER",  # steps with a hidden pre-activation 0.0 in float
        "exact_kink": "INTEGER",  # steps with a hidden pre-activation exactly 0 (rationals)
        "differs_exact": "INTEGER",  # differs and exact kink
        "rounding_kink": "INTEGER",  # a float zero that is not exactly 0
        "missed_kink": "INTEGER",  # an exact zero that is not 0.0 in float
        "float_zero_units": "INTEGER",
        "exact_zero_units": "INTEGER",
        "audited": "INTEGER",
        "audit_mismatches": "INTEGER",
        "test_accuracy": "REAL",
        "t_seconds": "REAL",
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
    ident = {k: v for k, v in row.items() if k in AD_TABLES[table] and not k.startswith(("t_", "ratio", "time_"))
             and k not in ("finished_at", "details", "key")}
    return hashlib.sha256(json.dumps([table, ident], sort_keys=True, default=str).encode()).hexdigest()[:24]


def write_rows(path, table: str, rows: Iterable[dict[str, Any]]) -> int:
    """Append measured rows to ``table`` (created on first use); returns how many were written.

    Keys not among the table's columns go to ``details`` (JSON). Example: the module docstring.
    """
    if table not in AD_TABLES:
        raise StoreError(f"unknown AD results table {table!r}")
    count = 0
    with ResultStore(path) as store:
        store.create_table(table, AD_TABLES[table])
        cols = AD_TABLES[table]
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
