"""The results store: an embedded SQLite database, one row per (instance, method) task.

Conventions:

* WAL journal mode; every row is written in its own transaction as its task finishes, so a killed
  run loses at most the tasks that were running, never a written row.
* Rows are keyed by ``key``, a content hash of the task spec (family, parameters, seed, index,
  methods): re-running the same command finds the finished keys and skips them (``has``/``keys``).
* The database carries ``PRAGMA application_id`` = ``0x6E736164`` ("nsad") and a schema version
  in ``PRAGMA user_version``; a file that is not SQLite, or an SQLite database of another
  application, raises :class:`StoreError` with one line, never a traceback.
* Experiments other than ``verify`` keep their own tables in the same file (``create_table``).

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "r.db")
>>> with ResultStore(path) as store:
...     store.put("verify", {"key": "k1", "n": 5, "agree": 1})
...     store.has("verify", "k1"), store.count("verify")
(True, 1)
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from typing import Any, Iterable, Iterator

APPLICATION_ID = 0x6E736164  # "nsad"
SCHEMA_VERSION = 1

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
    "proof": "TEXT",  # checked | unchecked | failed (with --proofs)
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


class StoreError(ValueError):
    """The database file is unusable: not SQLite, another application's, or a newer schema."""


class ResultStore:
    """An SQLite results database (see the module docstring)."""

    def __init__(self, path: str | os.PathLike, *, readonly: bool = False):
        self.path = os.fspath(path)
        if readonly and not os.path.exists(self.path):
            raise StoreError(f"{self.path}: no such results database")
        if os.path.isdir(self.path):
            raise StoreError(f"{self.path}: is a directory, not a results database")
        parent = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(parent):
            raise StoreError(f"{self.path}: folder {parent} does not exist")
        try:
            uri = f"file:{self.path}?mode=ro" if readonly else self.path
            self.conn = sqlite3.connect(uri, uri=readonly, timeout=30.0, isolation_level=None)
            app = self.conn.execute("PRAGMA application_id").fetchone()[0]
            tables = [r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: not an SQLite results database ({exc})") from None
        if app != APPLICATION_ID and (app != 0 or tables):
            self.conn.close()
            raise StoreError(f"{self.path}: an SQLite database of another application, not an nsad results database")
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            self.conn.close()
            raise StoreError(f"{self.path}: written by a newer nsad (schema {version} > {SCHEMA_VERSION})")
        if not readonly:
            try:
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=NORMAL")
                if app == 0:
                    self.conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
                    self.conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                self.create_table("verify", VERIFY_COLUMNS)
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"{self.path}: cannot write the results database ({exc})") from None

    # -- schema --------------------------------------------------------------------------------------
    def create_table(self, table: str, columns: dict[str, str]) -> None:
        """Create ``table`` if needed and add any missing columns (schemas only ever grow)."""
        _check_name(table)
        cols = ", ".join(f'"{_check_name(c)}" {t}' for c, t in columns.items())
        self.conn.execute(f'CREATE TABLE IF NOT EXISTS "{table}" ({cols})')
        have = {r[1] for r in self.conn.execute(f'PRAGMA table_info("{table}")')}
        self.__dict__.get("_column_cache", {}).pop(table, None)
        for c, t in columns.items():
            if c not in have:
                self.conn.execute(f'ALTER TABLE "{table}" ADD COLUMN "{c}" {t.replace("PRIMARY KEY", "")}')

    def tables(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]

    def columns(self, table: str) -> list[str]:
        return [r[1] for r in self.conn.execute(f'PRAGMA table_info("{_check_name(table)}")')]

    def _columns(self, table: str) -> frozenset:
        cache = self.__dict__.setdefault("_column_cache", {})
        if table not in cache:
            cache[table] = frozenset(self.columns(table))
        return cache[table]

    # -- rows ----------------------------------------------------------------------------------------
    def put(self, table: str, row: dict[str, Any]) -> None:
        """Insert or replace one row in its own transaction (values: numbers, strings, None, JSON-able)."""
        row = {k: (json.dumps(v, sort_keys=True) if isinstance(v, (dict, list, tuple)) else v) for k, v in row.items()}
        if "finished_at" in self._columns(table):
            row.setdefault("finished_at", time.time())
        names = ", ".join(f'"{_check_name(k)}"' for k in row)
        marks = ", ".join("?" for _ in row)
        with self._transaction():
            self.conn.execute(f'INSERT OR REPLACE INTO "{_check_name(table)}" ({names}) VALUES ({marks})', list(row.values()))

    def put_many(self, table: str, rows: Iterable[dict[str, Any]]) -> None:
        for r in rows:
            self.put(table, r)

    def has(self, table: str, key: str) -> bool:
        return self.conn.execute(f'SELECT 1 FROM "{_check_name(table)}" WHERE key = ?', (key,)).fetchone() is not None

    def keys(self, table: str) -> set[str]:
        return {r[0] for r in self.conn.execute(f'SELECT key FROM "{_check_name(table)}"')}

    def count(self, table: str) -> int:
        return self.conn.execute(f'SELECT COUNT(*) FROM "{_check_name(table)}"').fetchone()[0]

    def rows(self, table: str, where: str = "", params: tuple = ()) -> Iterator[dict[str, Any]]:
        cur = self.conn.execute(f'SELECT * FROM "{_check_name(table)}" {where}', params)
        names = [d[0] for d in cur.description]
        for r in cur:
            yield dict(zip(names, r))

    def _transaction(self):
        conn = self.conn

        class _Tx:
            def __enter__(self_inner):
                conn.execute("BEGIN IMMEDIATE")

            def __exit__(self_inner, et, ev, tb):
                conn.execute("COMMIT" if et is None else "ROLLBACK")

        return _Tx()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "ResultStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _check_name(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise StoreError(f"bad table or column name {name!r}")
    return name
