"""`nsad verify`: reduce random 3-SAT formulas, decide both sides, check certificates, compare."""

from __future__ import annotations


from nsad.experiments.commands._common import emit_json, nonneg_int, positive_float, positive_int


SUMMARY = "verify the reduction end to end on random 3-SAT formulas"  # the one-line help, listed by `nsad --help` without importing the command


def register(sub) -> None:
    from nsad.experiments.verify import DEFAULT_COUNT, DEFAULT_N, DEFAULT_RATIOS

    p = sub.add_parser(
        "verify", help=SUMMARY,
        description="For each random 3-SAT formula: reduce it to a ReLU network, decide the Clarke question on "
        "the network alone, solve the formula with a SAT solver, check every certificate with exact arithmetic, "
        "and compare. One row per (instance, method) goes to an SQLite database; re-running resumes. The "
        "summary counts each side's decisions, the agreements, the certificates and proofs checked. Exit code "
        "1 on any disagreement or failed check, 3 when an instance is not decided on both sides (time or memory "
        "limit, error) or, with --proofs, an UNSAT answer has no checked proof, 0 otherwise. The grid is "
        "estimated first and refused beyond the limits (nsad limits; raise one with --limit NAME=VALUE).")
    p.add_argument("--count", type=positive_int, default=DEFAULT_COUNT,
                   help=f"formulas per (n, ratio) pair (default {DEFAULT_COUNT})")
    p.add_argument("--n", type=positive_int, nargs="+", default=list(DEFAULT_N),
                   help=f"numbers of variables (default {' '.join(map(str, DEFAULT_N))})")
    p.add_argument("--ratio", type=positive_float, nargs="+", default=list(DEFAULT_RATIOS),
                   help="clause/variable ratios (default 4.26)")
    p.add_argument("--seed", type=nonneg_int, default=0, help="run seed (default 0)")
    p.add_argument("--method", default=None, help="network decider (default: the fastest complete one)")
    p.add_argument("--solver", default="cadical195", help="formula solver (default cadical195)")
    p.add_argument("--time-limit", type=positive_float, default=None, metavar="S", help="seconds per decider call")
    p.add_argument("--workers", type=positive_int, default=None,
                   help="local worker processes (default: number of cores)")
    p.add_argument("--scheduler", default=None, metavar="ADDR",
                   help="run on a Dask cluster (tcp://HOST:PORT, or 'local-dask' for a LocalCluster)")
    p.add_argument("--memory-limit", type=positive_float, default=None, metavar="MB",
                   help="address-space limit per worker process in MiB (default: the limit worker_memory_mb, "
                   "8192); a task beyond it is recorded as unknown, 'memory limit exceeded'")
    p.add_argument("--db", default="nsad-results.db", help="SQLite results database (default nsad-results.db)")
    p.add_argument("--proofs", action="store_true",
                   help="log and check a DRUP proof for every UNSAT answer: the SAT solver's on the formula, and "
                   "the grid encoding's on the network side (portfolio / sat-grid)")
    p.add_argument("--no-resume", action="store_true", help="recompute tasks already in the database")
    p.add_argument("--json", action="store_true", help="print one JSON object per task, then the summary")
    p.set_defaults(func=run)


def executor_options(args):
    """The executor options of the common ``--workers/--scheduler/--time-limit/--memory-limit`` flags."""
    from nsad.experiments.grid import ExecutorOptions

    return ExecutorOptions(workers=args.workers, scheduler=args.scheduler, time_limit=args.time_limit,
                           memory_limit_mb=args.memory_limit)


def run(args) -> int:
    from nsad.experiments.grid import run_grid
    from nsad.experiments.verify import expand_grid
    from nsad.solvers import FORMULA_SOLVERS, NETWORK_DECIDERS

    solver = FORMULA_SOLVERS.canonical(args.solver)
    method = NETWORK_DECIDERS.canonical(args.method) if args.method else None
    tasks = expand_grid(args.n, args.ratio, args.count, args.seed, method=method, solver=solver,
                        time_limit=args.time_limit, proofs=args.proofs)
    on_row = (lambda row: emit_json({k: v for k, v in row.items() if k != "details"})) if args.json else None
    summary = run_grid(tasks, args.db, executor_options(args), resume=not args.no_resume, on_row=on_row)
    code = summary.exit_code()
    if args.json:
        emit_json({"summary": summary.groups(), "ok": code == 0, "exit_code": code, "db": args.db})
    else:
        print(summary.table())
        print()
        print(summary.verdict())
        print(f"rows in {args.db}")
    return code
