"""`nsad bench deciders [FILES...]`, `nsad bench fallback`, `nsad bench points`: network deciders.

``deciders``: reduce each formula (given DIMACS files, or uniform random 3-SAT at ``--ratio`` for
each ``--sizes`` n), save the networks as ``.npz``, then time both sides from file to answer: the
network side loads the ``.npz`` and runs each ``--methods`` decider, the formula side reads the
DIMACS file and runs ``--solver``. Prints per-n medians, the ratio network / formula, the time
breakdown of the network side, agreement and certificate checks (``--json``: one object with
``rows`` and ``summary``). Exit code 1 if any answer disagrees or any certificate fails.

``fallback``: the complete MILP fallback of the portfolio on random integer networks the simplifier
cannot certify (``--family zero``: identically 0, to be proved linear; ``odd``: nonlinear and odd),
n growing until one takes longer than ``--limit`` seconds.

The protocol is in :mod:`experiments.bench_deciders`.
"""

from __future__ import annotations

import json
import sys
import tempfile

import argparse

from nsad.experiments.commands._common import goal, positive_float, positive_int


SUMMARY = "benchmarks of the network deciders"  # the one-line help, listed by `nsad --help` without importing the command


def _ints(text: str) -> list[int]:
    import argparse

    try:
        vals = [int(v) for v in text.replace(",", " ").split()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas, got {text!r}") from None
    if not vals or min(vals) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return vals


def _names(text: str) -> list[str]:
    return [v for v in text.replace(",", " ").split() if v]


def register(sub) -> None:
    p = sub.add_parser("bench", help=SUMMARY,
                       description="Benchmarks of the network deciders (see `nsad bench deciders -h`).")
    bsub = p.add_subparsers(dest="bench", metavar="BENCH")
    d = bsub.add_parser("deciders", help="network deciders vs a SAT solver on the formula, file to answer",
                        description=__doc__.split("\n\n")[1])
    d.add_argument("formulas", nargs="*", help="DIMACS files (default: generate random 3-SAT)")
    d.add_argument("--sizes", type=_ints, default=None, metavar="N,N,...",
                   help="numbers of variables to generate (default 50,100,150,200,250 without files)")
    d.add_argument("--count", type=positive_int, default=10, help="formulas per size (default 10)")
    d.add_argument("--ratio", type=positive_float, default=4.26, help="clauses per variable (default 4.26)")
    d.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    d.add_argument("--methods", type=_names, default=["sat-grid"], metavar="M,M,...",
                   help="network methods (default sat-grid)")
    d.add_argument("--solver", default="cadical195", help="formula solver (default cadical195)")
    d.add_argument("--grid-solver", default=None, metavar="NAME",
                   help="python-sat backend of sat-grid on the network side (default: its own, cadical195)")
    d.add_argument("--repeat", type=positive_int, default=1, help="best of R runs per side (default 1)")
    d.add_argument("--time-limit", type=positive_float, default=None, metavar="S", help="seconds per run")
    d.add_argument("--workdir", default=None, help="where to write the .cnf/.npz files (default: a temp dir)")
    d.add_argument("--disguise", action="store_true",
                   help="also time every network disguised by exact rewrites (nsad disguise), and report "
                   "disguised / plain ratios, unknown counts and the argument of each answer")
    d.add_argument("--disguise-kinds", nargs="+", default=None, metavar="KIND",
                   help="rewrite kinds of --disguise (default: those of nsad disguise)")
    d.add_argument("--json", action="store_true", help="print one JSON object (rows and summary)")
    d.set_defaults(func=run_deciders)
    f = bsub.add_parser("fallback", help="the complete MILP fallback on networks the simplifier cannot certify",
                        description=__doc__.split("\n\n")[2])
    f.add_argument("--sizes", type=_ints, default=[5, 10, 15, 20, 30, 40, 60, 80, 120, 160],
                   metavar="N,N,...", help="numbers of inputs, increasing")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--limit", type=positive_float, default=60.0, help="seconds (default 60)")
    f.add_argument("--methods", type=_names, default=None, metavar="M,M,...",
                   help="deciders to compare (default exact,milp, and marabou where installed)")
    f.add_argument("--method", default=None, help=argparse.SUPPRESS)
    f.add_argument("--family", default="zero", choices=("zero", "odd"),
                   help="zero: identically 0 (must be proved linear, default); odd: G(x) - G(-x)")
    f.add_argument("--json", action="store_true")
    f.set_defaults(func=run_fallback)
    e = bsub.add_parser("engine", help="scheduling overhead, kill delay and verify throughput of the runner",
                        description="Benchmark the experiment engine (see experiments/bench_engine.py).")
    e.add_argument("--workers", type=int, default=2)
    e.add_argument("--n", type=int, default=50, help="formula size for the throughput measurement")
    e.add_argument("--count", type=int, default=300, help="formulas for the throughput measurement")
    e.add_argument("--json", action="store_true")
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
    pt.add_argument("--seed", type=int, default=0)
    pt.add_argument("--json", action="store_true", help="one JSON object per model, then a summary")
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
    methods = [deciders().canonical(m) for m in args.methods]
    sizes = args.sizes if args.sizes is not None else ([] if args.formulas else list(DEFAULT_SIZES))
    with tempfile.TemporaryDirectory(prefix="nsad-bench-") as tmp:
        work = args.workdir or tmp
        kinds = None
        if args.disguise:
            from nsad.networks.disguise import DEFAULT_KINDS

            kinds = list(args.disguise_kinds or DEFAULT_KINDS)
        records = prepare_instances(work, files=args.formulas, sizes=sizes, count=args.count, ratio=args.ratio,
                                    seed=args.seed, disguise_kinds=kinds)
        variants = ("plain", "disguised") if kinds else ("plain",)
        with Progress(len(records) * len(methods) * len(variants), "bench", enabled=not args.json) as bar:
            rows = bench_deciders(records, methods=methods, solver=solver, repeat=args.repeat,
                                  time_limit=args.time_limit, progress=bar, variants=variants,
                                  grid_solver=FORMULA_SOLVERS.canonical(args.grid_solver) if args.grid_solver else None)
    summary = summarize(rows)
    comparison = compare_variants(summary)
    bad = any(s["disagree"] or s["certificates_failed"] for s in summary)
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
        if bad:
            print("DISAGREEMENT or failed certificate: see --json rows", file=sys.stderr)
    return 1 if bad else 0


def run_fallback(args) -> int:
    from nsad.experiments.bench_deciders import bench_fallback, largest_answered
    from nsad.solvers.network import marabou

    methods = args.methods or ([args.method] if args.method else ["exact", "milp"] + (["marabou"] if marabou.available() else []))
    rows = bench_fallback(args.sizes, seed=args.seed, limit=args.limit, family=args.family, methods=methods)
    best = largest_answered(rows)
    if args.json:
        json.dump({"rows": rows, "largest_n": best}, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(f"{'method':<10} {'n':>5} {'units':>6} {'nnz':>6} {'answer':<17} {'argument':<12} {'seconds':>8}")
        for r in rows:
            print(f"{r['method']:<10} {r['n']:>5} {str(r['units']):>6} {str(r['nnz']):>6} {r['answer']:<17} "
                  f"{str(r['argument']):<12} {r['seconds']:8.2f}")
        for m, n in best.items():
            print(f"{m}: largest n answered within {args.limit:g} s: {n if n is not None else 'none'}")
        if "exact" in best and "milp" in best:
            target = 2 * (best["milp"] or 0)
            print(f"goal (issue 9): exact reaches at least twice the MILP's n ({target}): "
                  f"{goal(best['exact'] or 0, max(target, 1), at_most=False)}")
    return 0


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
    return 0 if res["verify_problems"] == 0 else 1
