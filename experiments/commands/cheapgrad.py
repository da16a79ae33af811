"""`nsad cheapgrad`: backward vs forward-mode gradients as n grows (see experiments/cheapgrad.py)."""

from __future__ import annotations

import sys

from nsad.experiments.commands._common import (add_alias, add_db, add_json, add_list, add_n, add_seed, emit_json, goal,
                                               positive_float, positive_int)


SUMMARY = "the cheap gradient principle: backward / evaluation stays flat in n"  # the one-line help, listed by `nsad --help` without importing the command


def register(sub) -> None:
    from nsad.experiments.cheapgrad import DEFAULT_NS, FAMILIES

    p = sub.add_parser(
        "cheapgrad", help=SUMMARY,
        description="For input dimensions n (sparse random networks and reduction networks of random 3-SAT "
        "formulas), report backward / evaluation, (full forward gradient by n directions) / evaluation and "
        "LD-derivative / evaluation, in operation counts for every n and in time where one run stays under "
        "the time budget. Writes one row per (family, n) to the results database (table cheapgrad_runs).")
    n = add_n(p, default=list(DEFAULT_NS), help="input dimensions")
    add_alias(p, "--ns", n)
    fam = add_list(p, "--family", default=list(FAMILIES), allowed=FAMILIES,
                   help=f"network families, one or more (default {' '.join(FAMILIES)})")
    add_alias(p, "--families", fam)
    rp = p.add_argument("--repeat", type=positive_int, default=5, metavar="R",
                        help="rounds per network, the median reported (default 5)")
    add_alias(p, "--repeats", rp)
    p.add_argument("--time-budget", type=positive_float, default=3.0, metavar="S",
                   help="time forward-mode runs only when one is predicted under S seconds (default 3)")
    add_seed(p, help="seed of the networks")
    p.add_argument("--min-sample", type=positive_float, default=0.05, metavar="S",
                   help="time calls shorter than S seconds in back-to-back batches filling S (default 0.05)")
    p.add_argument("--quick", action="store_true",
                   help="a tiny grid (n = 10, 40; 3 rounds, 2 ms samples) for smoke tests")
    add_db(p)
    p.add_argument("--no-db", action="store_true", help="do not write rows")
    p.add_argument("--plot", metavar="PATH", help="write the ratio plot to PATH (.png and .svg)")
    add_json(p, help="one JSON object per (family, n) on stdout")
    p.set_defaults(func=run)


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


def run(args) -> int:
    from nsad.experiments import store as ad_store
    from nsad.experiments.cheapgrad import QUICK_NS, flatness, plot, run_grid
    from nsad.experiments.matmul_bench import blas_info
    from nsad.experiments.progress import Progress

    from nsad import limits as L

    ns, repeats, min_sample = args.n, args.repeat, args.min_sample
    if args.quick:
        ns, repeats, min_sample = list(QUICK_NS), min(repeats, 3), min(min_sample, 0.002)
    for n in ns:  # the sparse family's hidden layers have width n (the reduction family is sized by its generator)
        L.check("max_layer_width", n, f"--n {n}")
        L.check("max_units", 4 * n, f"n = {n} makes sparse networks of {4 * n} units")
    blas = blas_info()
    run_id = ad_store.new_run_id()
    print(f"BLAS: {blas['summary']}; run {run_id}", file=sys.stderr)
    if not args.json:
        print(f"{'family':9} {'n':>7} {'nnz':>9} {'t_eval':>10} | ops ratios: {'bwd':>4} {'fwd':>8} {'LD':>8} "
              f"| time ratios: {'bwd':>5} {'fwd':>8} {'LD':>8}")
    rows = []
    with Progress(len(ns) * len(args.family), "cheapgrad", enabled=not args.json) as bar:
        for row in run_grid(ns, args.family, repeats=repeats, seed=args.seed, time_budget=args.time_budget,
                            min_sample=min_sample, progress=bar):
            row.update(run_id=run_id, blas=blas["summary"], host=ad_store.host())
            rows.append(row)
            if args.json:
                emit_json(row)
            else:
                print(f"{row['family']:9} {row['n']:7d} {row['nnz']:9d} {row['t_eval'] * 1e3:8.3f}ms | "
                      f"{'':12}{row['ops_ratio_backward']:4.1f} {row['ops_ratio_forward']:8.0f} "
                      f"{row['ops_ratio_ld']:8.0f} | {'':13}{row['time_ratio_backward']:5.2f} "
                      f"{_fmt(row['time_ratio_forward'], '8.1f')} {_fmt(row['time_ratio_ld'], '8.1f')}", flush=True)
    if not args.no_db:
        ad_store.write_rows(args.db, "cheapgrad_runs", rows)
        print(f"wrote {len(rows)} rows to {args.db} (table cheapgrad_runs; --no-db to skip)", file=sys.stderr)
    if args.plot:
        print(f"plot: {', '.join(plot(rows, args.plot))}", file=sys.stderr)
    if not args.json:
        for fam in args.family:
            sel = [r for r in rows if r["family"] == fam]
            f = flatness(sel)
            worst = max(r["time_ratio_backward"] for r in sel)
            print(f"{fam}: backward/evaluation time ratio max {worst:.2f} (goal <= 2.5: {goal(worst, 2.5)}), "
                  f"max/min over n {f:.2f} (goal <= 1.3: {goal(f, 1.3)}); op-count ratio exactly 2", file=sys.stderr)
    return 0
