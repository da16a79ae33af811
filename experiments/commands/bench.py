"""`nsad bench deciders [FILES...]`, `nsad bench fallback`, `nsad bench points`: network deciders.

``deciders``: reduce each formula (given DIMACS files, or uniform random 3-SAT at ``--ratio`` for
each ``--n``), save the networks as ``.npz``, then time both sides from file to answer: the
network side loads the ``.npz`` and runs each ``--method`` decider, the formula side reads the
DIMACS file and runs ``--solver``. Prints per-n medians, the ratio network / formula, the time
breakdown of the network side, agreement and certificate checks (``--json``: one object with
``rows`` and ``summary``). Files without a manifest.json label are labelled by ``--solver`` (and said
so); a manifest's labels are compared. Exit code 1 if any answer disagrees, a certificate fails or a
manifest label is contradicted, 3 if an answer is unknown.

``fallback``: the complete MILP fallback of the portfolio on random integer networks the simplifier
cannot certify (``--family zero``: identically 0, to be proved linear; ``odd``: nonlinear and odd),
n growing until one takes longer than ``--time-limit`` seconds. Exit code 1 if a method gives the
wrong answer (each family's answer is known by construction); past the limit, unknown is the
measurement.

The protocol is in :mod:`experiments.bench_deciders`.
"""

from __future__ import annotations

import json
import sys
import tempfile

import argparse

from nsad.experiments.commands._common import (EXIT_OK, EXIT_PROBLEM, EXIT_UNDECIDED, add_alias, add_count, add_files,
                                               add_json, add_list, add_method, add_n, add_ratio, add_seed, add_solver,
                                               add_time_limit, add_workers, dimacs_files, goal, manifest_labels,
                                               positive_float, positive_int)


SUMMARY = "benchmarks of the network deciders"  # the one-line help, listed by `nsad --help` without importing the command


class _SecondsOrLimit(argparse.Action):
    """The old ``bench fallback --limit S`` (seconds) beside the global ``--limit NAME=VALUE``: a number
    is the time limit, ``NAME=VALUE`` a resource limit."""

    def __call__(self, parser, namespace, value, option_string=None):
        if "=" in value:
            limits = list(getattr(namespace, "limit_sub", None) or [])
            namespace.limit_sub = limits + [value]
            return
        try:
            namespace.time_limit = positive_float(value)
        except argparse.ArgumentTypeError as exc:
            raise argparse.ArgumentError(self, str(exc)) from None


def register(sub) -> None:
    p = sub.add_parser("bench", help=SUMMARY,
                       description="Benchmarks of the network deciders (see `nsad bench deciders -h`).")
    bsub = p.add_subparsers(dest="bench", metavar="BENCH")
    d = bsub.add_parser("deciders", help="network deciders vs a SAT solver on the formula, file to answer",
                        description=__doc__.split("\n\n")[1])
    add_files(d, "formulas", what="DIMACS files or folders of them (default: generate random 3-SAT); first on the "
              "line, or after --")
    n = add_n(d, default=None, help="numbers of variables to generate (default 50 100 150 200 250 without files)")
    add_alias(d, "--sizes", n)
    add_count(d, default=10, help="formulas per n")
    add_ratio(d, many=False, default=4.26, help="clauses per variable of the generated formulas")
    add_seed(d, help="generator seed")
    m = add_method(d, default=["sat-grid"], help="network deciders, one or more (default sat-grid; nsad list deciders)")
    add_alias(d, "--methods", m)
    add_solver(d)
    d.add_argument("--grid-solver", default=None, metavar="NAME",
                   help="python-sat backend of sat-grid on the network side (default: its own, cadical195)")
    d.add_argument("--repeat", type=positive_int, default=1, metavar="R", help="best of R runs per side (default 1)")
    add_time_limit(d, help="seconds per run (default: none)")
    d.add_argument("--workdir", default=None, metavar="DIR",
                   help="where to write the .cnf/.npz files (default: a temp dir)")
    d.add_argument("--disguise", action="store_true",
                   help="also time every network disguised by exact rewrites (nsad disguise), and report "
                   "disguised / plain ratios, unknown counts and the argument of each answer")
    k = add_list(d, "--disguise-kind", default=None, metavar="KIND",
                 help="rewrite kinds of --disguise, one or more (default: those of nsad disguise)")
    add_alias(d, "--disguise-kinds", k)
    d.add_argument("--plot", metavar="PATH",
                   help="write the time-vs-n plot (medians, 95%% intervals, instance counts) to PATH (.png and .svg)")
    add_json(d, help="print one JSON object (rows and summary)")
    d.set_defaults(func=run_deciders)
    f = bsub.add_parser("fallback", help="the complete MILP fallback on networks the simplifier cannot certify",
                        description=__doc__.split("\n\n")[2])
    n = add_n(f, default=[5, 10, 15, 20, 30, 40, 60, 80, 120, 160], help="numbers of inputs, increasing")
    add_alias(f, "--sizes", n)
    add_seed(f, help="network seed")
    add_time_limit(f, default=60.0, help="seconds per network and method (default 60)")
    f.add_argument("--limit", action=_SecondsOrLimit, help=argparse.SUPPRESS)
    m = add_method(f, default=None, help="deciders to compare, one or more (default exact milp, and marabou where "
                   "installed)")
    add_alias(f, "--methods", m)
    f.add_argument("--family", default="zero", choices=("zero", "odd"),
                   help="zero: identically 0 (must be proved linear, default); odd: G(x) - G(-x)")
    add_json(f, help="print one JSON object (rows and largest n answered)")
    f.set_defaults(func=run_fallback)
    e = bsub.add_parser("engine", help="scheduling overhead, kill delay and verify throughput of the runner",
                        description="Benchmark the experiment engine (see experiments/bench_engine.py).")
    add_workers(e, default=2, help="worker processes (default 2)")
    add_n(e, many=False, default=50, help="formula size for the throughput measurement")
    add_count(e, default=300, help="formulas for the throughput measurement")
    add_json(e, help="print one JSON object")
    e.set_defaults(func=run_engine)
    pt = bsub.add_parser("points", help="the Clarke question at binary points of ONNX models (NeuroCodeBench)",
                         description="For each ONNX model (default: the twelve NeuroCodeBench 'SAT ReLU' models in "
                         "tests/data/neurocodebench): import, agreement with onnxruntime (float32 error bound on random "
                         "points of [0,1]^n, exact equality at binary points), then the exact Clarke answer for every "
                         "output at every binary point (n <= --max-exhaustive) or at --points random binary points, "
                         "with times; the VNN-LIB property checked exactly at those points. Protocol: "
                         "experiments/bench_points.py. Exit code 0 when the goal is met, 1 otherwise.")
    pt.add_argument("models", nargs="*", help="ONNX files or folders (default: the NeuroCodeBench models)")
    pt.add_argument("--points", type=positive_int, default=1000, help="random binary points per model (default 1000)")
    pt.add_argument("--max-exhaustive", type=int, default=12, metavar="N",
                    help="every binary point when n <= N (default 12)")
    pt.add_argument("--float-points", type=positive_int, default=100, help="random points for onnxruntime (default 100)")
    pt.add_argument("--backprop-points", type=int, default=50, metavar="N",
                    help="points where backprop (relu'(0) = 0 and 1) is compared with dF (default 50)")
    add_seed(pt, help="seed of the random points")
    add_json(pt, help="one JSON object per model, then a summary")
    pt.set_defaults(func=run_points)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_points(args) -> int:
    import os

    from nsad.experiments.bench_points import _env, bench_model, default_models, format_table, met
    from nsad.experiments.commands._common import emit_json
    from nsad.experiments.progress import Progress

    models = []
    for m in args.models or [None]:
        models += default_models(m) if m is None or os.path.isdir(m) else [m]
    if not models:
        from nsad.errors import NetworkError

        raise NetworkError("no ONNX model found (give files or a folder)")
    rows = []
    for m in models:
        with Progress(0, os.path.basename(m), enabled=not args.json) as bar:
            r = bench_model(m, points=args.points, max_exhaustive=args.max_exhaustive, float_points=args.float_points,
                            backprop_points=args.backprop_points, seed=args.seed, progress=bar)
        rows.append(r)
        if args.json:
            emit_json(r)
    ok = met(rows)
    summary = {"models": len(rows), "questions": sum(r["questions"] for r in rows),
               "unknown": sum(r["unknown"] for r in rows), "seconds": round(sum(r["seconds"] for r in rows), 3),
               "goal": "met" if ok else "missed", **_env()}
    if args.json:
        emit_json({"summary": summary})
    else:
        print(format_table(rows))
        print(f"\n{summary['questions']} questions on {summary['models']} models, {summary['unknown']} unknown, "
              f"{summary['seconds']} s of deciding (cpus {summary['cpus']}, load {summary['load']}); goal "
              f"(every question answered exactly, onnxruntime agreeing): {summary['goal']}")
    return 0 if ok else 1


def run_deciders(args) -> int:
    from nsad.experiments.bench_deciders import (DEFAULT_SIZES, bench_deciders, compare_variants, deciders,
                                                 format_table, prepare_instances, summarize)
    from nsad.experiments.progress import Progress
    from nsad.solvers import FORMULA_SOLVERS

    solver = FORMULA_SOLVERS.canonical(args.solver)
    methods = [deciders().canonical(m) for m in args.method]
    files = dimacs_files(args.formulas)
    sizes = args.n if args.n is not None else ([] if files else list(DEFAULT_SIZES))
    labels = manifest_labels(files)
    if files:
        print(f"{len(files)} files; their labels: " + (f"{len(labels)} from manifest.json (compared with {solver}), "
              f"{len(files) - len(labels)} computed by {solver}" if labels else f"computed by {solver} (no manifest.json "
              "gives them)"), file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="nsad-bench-") as tmp:
        work = args.workdir or tmp
        kinds = None
        if args.disguise:
            from nsad.networks.disguise import DEFAULT_KINDS

            kinds = list(args.disguise_kind or DEFAULT_KINDS)
        records = prepare_instances(work, files=files, sizes=sizes, count=args.count, ratio=args.ratio,
                                    seed=args.seed, disguise_kinds=kinds)
        variants = ("plain", "disguised") if kinds else ("plain",)
        with Progress(len(records) * len(methods) * len(variants), "bench", enabled=not args.json) as bar:
            rows = bench_deciders(records, methods=methods, solver=solver, repeat=args.repeat,
                                  time_limit=args.time_limit, progress=bar, variants=variants,
                                  grid_solver=FORMULA_SOLVERS.canonical(args.grid_solver) if args.grid_solver else None)
    summary = summarize(rows)
    comparison = compare_variants(summary)
    by_file = {r["cnf"]: r["name"] for r in records}
    contradicted = sorted({by_file[f] for f in labels for r in rows if r["name"] == by_file.get(f)
                           and r["formula"] in ("sat", "unsat") and r["formula"] != labels[f]})
    if args.plot:
        from nsad.experiments.bench_deciders import plot

        print(f"plot: {', '.join(plot(rows, args.plot, None if files else args.ratio))}", file=sys.stderr)
    bad = any(s["disagree"] or s["certificates_failed"] for s in summary) or bool(contradicted)
    undecided = any(r["agree"] is None for r in rows)
    if args.json:
        json.dump({"rows": rows, "summary": summary, "disguised_vs_plain": comparison}, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(format_table(summary))
        print("\ngoals (issue 13: network side / CaDiCaL, ratio of medians): <= 3x at n = 50 (milestone 5x), "
              "<= 2x at n = 100, <= 1.2x at n >= 150", file=sys.stderr)
        for srow in summary:
            if srow.get("variant", "plain") != "plain" or srow["ratio_of_medians"] is None:
                continue
            r, n = srow["ratio_of_medians"], srow["n"]
            lim = 3.0 if n <= 50 else (2.0 if n <= 100 else 1.2)
            extra = f" (milestone 5x: {goal(r, 5.0)})" if n <= 50 else ""
            print(f"  n = {n:>4} {srow['method']:<12} {r:7.2f}x  goal <= {lim:g}x: {goal(r, lim)}{extra}",
                  file=sys.stderr)
        if comparison:
            print(f"\n{'n':>5}  {'method':<12} {'plain ms':>9} {'disg. ms':>9} {'median x':>9} {'batch x':>8} "
                  f"{'unknown':>8}  goal: batch <= 2x (milestone 5x), unknown <= 2%")
            for c in comparison:
                met = (c["batch_ratio"] is not None and c["batch_ratio"] <= 2.0 and c["unknown_share"] <= 0.02)
                mile = (c["batch_ratio"] is not None and c["batch_ratio"] <= 5.0 and c["unknown_share"] <= 0.02)
                verdict = "met" if met else ("milestone met, goal missed" if mile else "missed")
                print(f"{c['n']:>5}  {c['method']:<12} {c['plain_median'] * 1e3:9.2f} {c['disguised_median'] * 1e3:9.2f} "
                      f"{c['median_ratio']:9.2f} {c['batch_ratio']:8.2f} {c['unknown']:>8}  {verdict}")
            args_seen = {}
            for s in summary:
                for a, k in s["arguments"].items():
                    args_seen[(s.get("variant", "plain"), a)] = args_seen.get((s.get("variant", "plain"), a), 0) + k
            print("arguments: " + ", ".join(f"{v} {a}: {k}" for (v, a), k in sorted(args_seen.items())))
        if contradicted:
            print(f"manifest labels CONTRADICTED by {solver}: {', '.join(contradicted[:5])}", file=sys.stderr)
        if bad:
            print("DISAGREEMENT or failed certificate: see --json rows", file=sys.stderr)
        elif undecided:
            print("UNDECIDED: some answers are unknown (time limit, or a method incomplete for the network)",
                  file=sys.stderr)
    return EXIT_PROBLEM if bad else (EXIT_UNDECIDED if undecided else EXIT_OK)


def run_fallback(args) -> int:
    from nsad.experiments.bench_deciders import bench_fallback, largest_answered
    from nsad.solvers.network import marabou

    methods = args.method or (["exact", "milp"] + (["marabou"] if marabou.available() else []))
    rows = bench_fallback(args.n, seed=args.seed, limit=args.time_limit, family=args.family, methods=methods)
    best = largest_answered(rows)
    expected = "singleton" if args.family == "zero" else "two-subgradients"  # by construction
    wrong = [r for r in rows if r["answer"] not in ("unknown", expected)]
    if args.json:
        json.dump({"rows": rows, "largest_n": best, "wrong_answers": len(wrong)}, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(f"{'method':<10} {'n':>5} {'units':>6} {'nnz':>6} {'answer':<17} {'argument':<12} {'seconds':>8}")
        for r in rows:
            print(f"{r['method']:<10} {r['n']:>5} {str(r['units']):>6} {str(r['nnz']):>6} {r['answer']:<17} "
                  f"{str(r['argument']):<12} {r['seconds']:8.2f}")
        for m, n in best.items():
            print(f"{m}: largest n answered within {args.time_limit:g} s: {n if n is not None else 'none'}")
        if "exact" in best and "milp" in best:
            target = 2 * (best["milp"] or 0)
            print(f"goal (issue 9): exact reaches at least twice the MILP's n ({target}): "
                  f"{goal(best['exact'] or 0, max(target, 1), at_most=False)}")
        for r in wrong:
            print(f"WRONG ANSWER: {r['method']} at n = {r['n']} said {r['answer']}; family {args.family} is "
                  f"{expected} by construction", file=sys.stderr)
    return EXIT_PROBLEM if wrong else EXIT_OK  # unknowns past the time limit are the measurement, not a failure


def run_engine(args) -> int:
    import json

    from nsad.experiments.bench_engine import measure

    res = measure(workers=args.workers, n=args.n, count=args.count)
    if args.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print(f"{k:32s} {v:.4g}" if isinstance(v, float) else f"{k:32s} {v}")
        rate = res.get("verify_formulas_per_s")
        print(f"goal (issue 13): verify >= 300 formulas/s end to end: {goal(rate, 300.0, at_most=False)}")
    return EXIT_OK if res["verify_problems"] == 0 else EXIT_PROBLEM
