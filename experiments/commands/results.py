"""`nsad results export --db PATH --format csv|jsonl|parquet [--table T] [--out FILE]`, `nsad results tables`,
`nsad results query SQL --db PATH [--json]`."""

from __future__ import annotations

import csv
import json
import sys

from nsad.experiments.commands._common import add_db, add_json, emit_json


SUMMARY = "read the results database"  # the one-line help, listed by `nsad --help` without importing the command


def register(sub) -> None:
    p = sub.add_parser("results", help=SUMMARY, description="Work with the results store.")
    s = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    e = s.add_parser("export", help="export a table as CSV, JSON Lines or parquet",
                     description="Export one table of the SQLite results store (default: verify).")
    add_db(e, writes=False)
    e.add_argument("--format", choices=("csv", "jsonl", "parquet"), default="csv",
                   help="output format (default csv; parquet needs pyarrow and --out)")
    e.add_argument("--table", default="verify", help="table to export (default verify; see `nsad results tables`)")
    e.add_argument("--out", default=None, metavar="FILE", help="output file (default: stdout; required for parquet)")
    e.set_defaults(func=run_export)
    t = s.add_parser("tables", help="list the tables and their row counts",
                     description="List the tables of the results store and their row counts.")
    add_db(t, writes=False)
    add_json(t, help="one JSON object per table: {file, table, rows}")
    t.set_defaults(func=run_tables)
    q = s.add_parser("query", help="run one read-only SQL statement and print its rows",
                     description="Run one SQL statement on the results store, opened read-only (a statement that "
                     "writes is refused), and print its rows as tab-separated text with a header line, or as JSON "
                     "Lines with --json. SQLite's functions apply, json_extract on the details column included.")
    q.add_argument("sql", metavar="SQL", help="one SQL statement, e.g. \"SELECT n, COUNT(*) FROM verify GROUP BY n\"")
    add_db(q, writes=False)
    add_json(q, help="one JSON object per row: {column: value}")
    q.set_defaults(func=run_query)


def run_tables(args) -> int:
    from nsad.experiments.store import ResultStore

    with ResultStore(args.db, readonly=True) as store:
        for name in store.tables():
            if args.json:
                emit_json({"file": args.db, "table": name, "rows": store.count(name)})
            else:
                print(f"{name}\t{store.count(name)}")
    return 0


def run_export(args) -> int:
    from nsad.experiments.store import ResultStore, StoreError

    with ResultStore(args.db, readonly=True) as store:
        if args.table not in store.tables():
            raise StoreError(f"{args.db}: no table {args.table!r}; tables: {', '.join(store.tables()) or 'none'}")
        cols = store.columns(args.table)
        rows = list(store.rows(args.table))
    if args.format == "parquet":
        if not args.out:
            raise ValueError("--format parquet needs --out FILE")
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise ValueError("parquet export needs pyarrow: pip install pyarrow") from None
        pq.write_table(pa.Table.from_pylist(rows), args.out)
        print(f"wrote {len(rows)} rows to {args.out}", file=sys.stderr)
        return 0
    out = open(args.out, "w", newline="", encoding="utf-8") if args.out else sys.stdout
    try:
        if args.format == "csv":
            w = csv.DictWriter(out, fieldnames=cols)
            w.writeheader()
            w.writerows(rows)
        else:
            for r in rows:
                out.write(json.dumps(r) + "\n")
    finally:
        if args.out:
            out.close()
    return 0


def run_query(args) -> int:
    from nsad.experiments.store import ResultStore

    with ResultStore(args.db, readonly=True) as store:
        names, rows = store.query(args.sql)
    if args.json:
        for r in rows:
            emit_json(dict(zip(names, r)))
        return 0
    print("\t".join(names))
    for r in rows:
        print("\t".join("" if v is None else (f"{v:.6g}" if isinstance(v, float) else str(v)) for v in r))
    return 0
