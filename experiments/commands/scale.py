"""`nsad scale`: phase transition and time-vs-n experiments (see experiments/scale.py)."""

from __future__ import annotations

import sys

from nsad.experiments.commands._common import add_json, emit_json


SUMMARY = "phase-transition and time-vs-n experiments (network vs formula side)"  # the one-line help, listed by `nsad --help` without importing the command


def register(sub) -> None:
    from nsad.experiments.commands.verify import add_grid_options
    from nsad.experiments.scale import DEFAULT_COUNT, DEFAULT_N, DEFAULT_RATIOS

    p = sub.add_parser("scale", help=SUMMARY,
                       description="Run the phase-transition grid (fraction satisfiable vs clause ratio, both "
                       "sides) and the time-vs-n grid (per network method), writing one row per (formula, "
                       "method) to the results store (experiment 'scale', kept apart from verify's rows); "
                       "resumable. Plot with `nsad report`. Exit codes as nsad verify.")
    add_grid_options(p, default_n=DEFAULT_N, default_ratio=DEFAULT_RATIOS, default_count=DEFAULT_COUNT)
    add_json(p, help="one JSON object per task, then the summary")
    p.set_defaults(func=run, files=None)


def run(args) -> int:
    from nsad.experiments.commands.verify import executor_options, grid_tasks, row_json
    from nsad.experiments.grid import run_grid

    tasks, _ = grid_tasks(args, experiment="scale")
    on_row = (lambda row: emit_json(row_json(row))) if args.json else None
    summary = run_grid(tasks, args.db, executor_options(args), label="scale", on_row=on_row)
    code = summary.exit_code()
    if args.json:
        emit_json({"summary": summary.groups(), "ok": code == 0, "exit_code": code, "db": args.db})
        return code
    print(summary.table())
    print()
    print(summary.verdict())
    print(f"{len(summary.rows)} tasks; rows in {args.db}; plots: nsad report --db {args.db}", file=sys.stderr)
    return code
