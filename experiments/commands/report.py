"""`nsad report --db PATH [--out DIR]`: plots and a Markdown summary from the results store alone."""

from __future__ import annotations

from nsad.experiments.commands._common import add_db, add_json, emit_json


SUMMARY = "plots (PNG, SVG) and a Markdown summary from a results database"  # the one-line help, listed by `nsad --help` without importing the command


def register(sub) -> None:
    p = sub.add_parser("report", help=SUMMARY,
                       description="Read the results store and write phase-transition and time-vs-n plots, "
                       "agreement counts and the AD experiments' plots when their rows are present. A missing "
                       "or foreign database is an error (exit 2) and leaves no output folder behind.")
    add_db(p, writes=False)
    p.add_argument("--out", default="nsad-report", metavar="DIR", help="output folder (default nsad-report)")
    add_json(p, help="print one JSON object: {file, out, rows, files}")
    p.set_defaults(func=run)


def run(args) -> int:
    from nsad.experiments.report import build_report

    res = build_report(args.db, args.out)
    if args.json:
        emit_json({"file": args.db, "out": args.out, "rows": res["rows"], "files": res["files"]})
        return 0
    print(f"{res['rows']} verification rows; wrote {len(res['files'])} files to {args.out}:")
    for f in res["files"]:
        print(f"  {f}")
    return 0
