"""`nsad scale`: phase transition and time-vs-n experiments (see experiments/scale.py)."""

from __future__ import annotations

import sys

from nsad.experiments.commands._common import nonneg_int, positive_float, positive_int


SUMMARY = "phase-transition and time-vs-n experiments (network vs formula side)"  # the one-line help, listed by `nsad --help` without importing the command


def register(sub) -> None:
    from nsad.experiments.scale import DEFAULT_COUNT, DEFAULT_N, DEFAULT_RATIOS

    p = sub.add_parser("scale", help=SUMMARY,
                       description="Run the phase-transition grid (fraction satisfiable vs clause ratio, both "
                       "sides) and the time-vs-n grid (per network method), writing one row per (formula, "
                       "method) to the results store; resumable. Plot with `nsad report`.")
    p.add_argument("--n", type=positive_int, nargs="+", default=list(DEFAULT_N))
    p.add_argument("--ratios", type=positive_float, nargs="+", default=list(DEFAULT_RATIOS))
    p.add_argument("--count", type=positive_int, default=DEFAULT_COUNT, help="formulas per (n, ratio)")
    p.add_argument("--methods", nargs="+", default=[None], help="network deciders (default: the default one)")
    p.add_argument("--solver", default="cadical195")
    p.add_argument("--seed", type=nonneg_int, default=0)
    p.add_argument("--time-limit", type=positive_float, default=None, metavar="S")
    p.add_argument("--workers", type=positive_int, default=None)
    p.add_argument("--scheduler", default=None, metavar="ADDR")
    p.add_argument("--memory-limit", type=positive_float, default=None, metavar="MB")
    p.add_argument("--db", default="nsad-results.db")
    p.set_defaults(func=run)


def run(args) -> int:
    from nsad.experiments.commands.verify import executor_options
    from nsad.experiments.grid import run_grid
    from nsad.experiments.verify import expand_grid
    from nsad.solvers import FORMULA_SOLVERS, NETWORK_DECIDERS

    methods = [NETWORK_DECIDERS.canonical(m) if m else None for m in args.methods]
    tasks = expand_grid(args.n, args.ratios, args.count, args.seed, methods=methods,
                        solver=FORMULA_SOLVERS.canonical(args.solver), time_limit=args.time_limit,
                        experiment="scale")
    summary = run_grid(tasks, args.db, executor_options(args), label="scale")
    print(summary.table())
    print()
    print(summary.verdict())
    print(f"{len(summary.rows)} tasks; rows in {args.db}; plots: nsad report --db {args.db}", file=sys.stderr)
    return summary.exit_code()
