"""`nsad report --db PATH [--out DIR]`: plots and a Markdown summary from the results store alone."""

from __future__ import annotations


SUMMARY = "plots (PNG, SVG) and a Markdown summary from a results database"  # the one-line help, listed by `nsad --help` without importing the command


def register(sub) -> None:
    p = sub.add_parser("report", help=SUMMARY,
                       description="Read the results store and write phase-transition and time-vs-n plots, "
                       "agreement counts and the AD experiments' plots when their rows are present.")
    p.add_argument("--db", default="nsad-results.db", help="results database (default nsad-results.db)")
    p.add_argument("--out", default="nsad-report", help="output folder (default nsad-report)")
    p.set_defaults(func=run)


def run(args) -> int:
    from nsad.experiments.report import build_report

    res = build_report(args.db, args.out)
    print(f"{res['rows']} verification rows; wrote {len(res['files'])} files to {args.out}:")
    for f in res["files"]:
        print(f"  {f}")
    return 0
