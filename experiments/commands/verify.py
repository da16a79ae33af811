"""`nsad verify [FILE|FOLDER...]`: reduce formulas, decide both sides, check certificates, compare.

Without files: uniform random 3-SAT formulas, ``--count`` per (``--n``, ``--ratio``). With DIMACS
files or folders of them: those formulas (the formula side's labels are the SAT solver's answers;
where a ``manifest.json`` beside them gives expected labels, they are compared too).
"""

from __future__ import annotations

import sys

from nsad.experiments.commands._common import (EXIT_PROBLEM, add_alias, add_count, add_db, add_files, add_json,
                                               add_method, add_n, add_ratio, add_seed, add_solver, add_time_limit,
                                               add_workers, combine, dimacs_files, emit_json, manifest_labels,
                                               positive_float)


SUMMARY = "verify the reduction end to end on random 3-SAT formulas or your own"  # the one-line help, listed by `nsad --help` without importing the command


def add_executor_options(p) -> None:
    """``--workers``, ``--scheduler``, ``--memory-limit``: where and how the grid's tasks run."""
    add_workers(p)
    p.add_argument("--scheduler", default=None, metavar="ADDR",
                   help="run on a Dask cluster (tcp://HOST:PORT, or 'local-dask' for a LocalCluster)")
    p.add_argument("--memory-limit", type=positive_float, default=None, metavar="MB",
                   help="address-space limit per worker process in MiB (default: the limit worker_memory_mb, "
                   "8192); a task beyond it is recorded as unknown, 'memory limit exceeded'")


def add_grid_options(p, *, default_n, default_ratio, default_count) -> None:
    """The options ``verify`` and ``scale`` share: the grid, the deciders, the executor, the store."""
    add_n(p, default=list(default_n), help="numbers of variables of the random formulas")
    ratio = add_ratio(p, default=list(default_ratio), help="clause/variable ratios of the random formulas")
    add_alias(p, "--ratios", ratio)
    add_count(p, default=default_count)
    add_seed(p, help="run seed: formula i is drawn from SeedSequence([S, i])")
    method = add_method(p)
    add_alias(p, "--methods", method)
    add_solver(p)
    add_time_limit(p, help="seconds per decider call (default: none)")
    add_executor_options(p)
    add_db(p)


def register(sub) -> None:
    from nsad.experiments.verify import DEFAULT_COUNT, DEFAULT_N, DEFAULT_RATIOS

    p = sub.add_parser(
        "verify", help=SUMMARY,
        description="For each formula (random 3-SAT, or DIMACS files and folders given first): reduce it to a "
        "ReLU network, decide the Clarke question on the network alone, solve the formula with a SAT solver, "
        "check every certificate with exact arithmetic, and compare. One row per (instance, method) goes to an "
        "SQLite database; re-running resumes. The summary counts each side's decisions, the agreements, the "
        "certificates and proofs checked. Exit code 1 on any disagreement or failed check, 3 when an instance "
        "is not decided on both sides (time or memory limit, error) or, with --proof, an UNSAT answer has no "
        "checked proof, 0 otherwise. The grid is estimated first and refused beyond the limits (nsad limits; "
        "raise one with --limit NAME=VALUE).")
    add_files(p, what="DIMACS files or folders of them to verify instead of random formulas (first on the line, "
              "or after --)")
    add_grid_options(p, default_n=DEFAULT_N, default_ratio=DEFAULT_RATIOS, default_count=DEFAULT_COUNT)
    proof = p.add_argument("--proof", action="store_true",
                           help="log and check a DRUP proof for every UNSAT answer: the SAT solver's on the formula, "
                           "and the grid encoding's on the network side (portfolio / sat-grid)")
    add_alias(p, "--proofs", proof)
    p.add_argument("--no-resume", action="store_true", help="recompute tasks already in the database")
    add_json(p, help="one JSON object per task, then the summary")
    p.set_defaults(func=run)


def executor_options(args):
    """The executor options of the common ``--workers/--scheduler/--time-limit/--memory-limit`` flags."""
    from nsad.experiments.grid import ExecutorOptions

    return ExecutorOptions(workers=args.workers, scheduler=args.scheduler, time_limit=args.time_limit,
                           memory_limit_mb=args.memory_limit)


def grid_tasks(args, *, experiment: str, proofs: bool = False):
    """The tasks of ``verify``/``scale``: one per (formula, method), the formulas generated from
    ``--n/--ratio/--count/--seed`` or read from the files given; and ``{task key: expected label}``
    where a manifest gives one."""
    from nsad.experiments.verify import expand_files, expand_grid
    from nsad.solvers import FORMULA_SOLVERS, NETWORK_DECIDERS

    methods = [NETWORK_DECIDERS.canonical(m) for m in args.method] if args.method else [None]
    solver = FORMULA_SOLVERS.canonical(args.solver)
    files = getattr(args, "files", None)
    if files:
        paths = dimacs_files(files)
        tasks = expand_files(paths, methods=methods, solver=solver, time_limit=args.time_limit, seed=args.seed,
                             experiment=experiment, proofs=proofs)
        import os

        labels = {os.path.abspath(p): label for p, label in manifest_labels(paths).items()}
        expected = {t.key: labels[t.file] for t in tasks if t.file in labels}
        print(f"{len(paths)} files; formula side: {solver} decides each file"
              + (f"; {len(labels)} expected labels from manifest.json compared" if labels else
                 " (no manifest.json gives labels)"), file=sys.stderr)
        return tasks, expected
    tasks = expand_grid(args.n, args.ratio, args.count, args.seed, methods=methods, solver=solver,
                        time_limit=args.time_limit, proofs=proofs, experiment=experiment)
    return tasks, {}


def label_mismatches(summary, expected: dict) -> list[str]:
    """Keys of rows whose formula answer contradicts the manifest's expected label."""
    return [r["key"] for r in summary.rows if r.get("key") in expected
            and r.get("formula_answer") in ("sat", "unsat") and r["formula_answer"] != expected[r["key"]]]


def row_json(row: dict) -> dict:
    """A result row as ``--json`` prints it: without its details, and with ``file`` first for a task
    of the user's own formula."""
    obj = {k: v for k, v in row.items() if k != "details"}
    details = row.get("details")
    return {"file": details["file"], **obj} if isinstance(details, dict) and details.get("file") else obj


def run(args) -> int:
    from nsad.experiments.grid import run_grid

    tasks, expected = grid_tasks(args, experiment="verify", proofs=args.proof)
    on_row = (lambda row: emit_json(row_json(row))) if args.json else None
    summary = run_grid(tasks, args.db, executor_options(args), resume=not args.no_resume, on_row=on_row)
    code = summary.exit_code()
    bad_labels = label_mismatches(summary, expected)
    if bad_labels:
        code = combine([code, EXIT_PROBLEM])
    if args.json:
        emit_json({"summary": summary.groups(), "ok": code == 0, "exit_code": code, "db": args.db,
                   **({"labels_compared": len(expected), "labels_contradicted": len(bad_labels)} if expected else {})})
    else:
        print(summary.table())
        print()
        print(summary.verdict())
        if expected:
            print(f"manifest labels: {len(expected) - len(bad_labels)} of {len(expected)} match the formula side"
                  + (f", {len(bad_labels)} CONTRADICTED" if bad_labels else ""))
        print(f"rows in {args.db}")
    return code
