"""`nsad kinks`: how often backprop's gradient depends on relu'(0), per float format (see experiments/kinks.py)."""

from __future__ import annotations

import sys

from nsad.experiments.commands._common import (EXIT_OK, EXIT_PROBLEM, add_alias, add_db, add_json, add_list, add_seed, emit_json, nonneg_int,
                                               positive_float, positive_int)


SUMMARY = "train a digits MLP; count minibatches where the gradient changes with relu'(0)"  # the one-line help, listed by `nsad --help` without importing the command


def register(sub) -> None:
    from nsad.experiments.kinks import DTYPES

    p = sub.add_parser(
        "kinks", help=SUMMARY,
        description="Train a small MLP in float32 by SGD on scikit-learn's digits and, at every step, compute "
        "the parameter gradient by backprop with relu'(0) = 0 and = 1 in each float format; count the steps "
        "where the two differ, where some hidden pre-activation is 0.0 in float, and where one is exactly 0 "
        "in rational arithmetic on the same numbers, with 95%-Wilson intervals. Writes one row per dtype "
        "to the results database (table kinks_runs).")
    p.add_argument("--steps", type=positive_int, default=200, metavar="N",
                   help="training steps measured (default 200)")
    p.add_argument("--batch", type=positive_int, default=128, metavar="B", help="minibatch size (default 128)")
    add_seed(p, help="seed of the split, the initialisation and the batches")
    dt = add_list(p, "--dtype", default=list(DTYPES), allowed=DTYPES, metavar="DTYPE",
                  help=f"float formats of backprop, one or more (default: {' '.join(DTYPES)})")
    add_alias(p, "--dtypes", dt)
    add_list(p, "--hidden", item=positive_int, default=[32, 32], metavar="W",
             help="hidden layer widths, one or more (default 32 32)")
    p.add_argument("--lr", type=positive_float, default=0.1, help="SGD learning rate (default 0.1)")
    p.add_argument("--audit", type=nonneg_int, default=5, metavar="K",
                   help="random steps whose whole minibatch is also evaluated exactly, to check the screen "
                   "(default 5)")
    add_db(p)
    p.add_argument("--no-db", action="store_true", help="do not write rows")
    p.add_argument("--plot", metavar="FILE.png", help="write the bar chart to FILE.png (and .svg)")
    add_json(p, help="one JSON object per dtype on stdout")
    p.set_defaults(func=run)


def run(args) -> int:
    from nsad.experiments import store as ad_store
    from nsad.experiments.kinks import format_table, plot, run as run_kinks
    from nsad.experiments.progress import Progress

    run_id = ad_store.new_run_id()
    print(f"kinks: MLP 64-{'-'.join(map(str, args.hidden))}-10 on sklearn digits, {args.steps} steps of batch "
          f"{args.batch}, dtypes {' '.join(args.dtype)}; run {run_id}", file=sys.stderr)
    with Progress(args.steps, "kinks", enabled=not args.json) as bar:
        out = run_kinks(steps=args.steps, batch=args.batch, seed=args.seed, dtypes=args.dtype,
                        hidden=args.hidden, lr=args.lr, audit=args.audit, progress=bar)
    rows = out["rows"]
    for r in rows:
        r.update(run_id=run_id, host=ad_store.host())
    if args.json:
        for r in rows:
            emit_json(r)
    else:
        print(format_table(rows))
    tr = out["train"]
    print(f"training: loss {tr['first_loss']:.3f} -> {tr['last_loss']:.3f}, test accuracy "
          f"{tr['test_accuracy']:.3f}; {tr['seconds']:.1f} s; audit mismatches "
          f"{sum(r['audit_mismatches'] for r in rows)} (on {rows[0]['audited'] if rows else 0} steps)",
          file=sys.stderr)
    if not args.no_db:
        ad_store.write_rows(args.db, "kinks_runs", rows)
        print(f"wrote {len(rows)} rows to {args.db} (table kinks_runs; --no-db to skip)", file=sys.stderr)
    if args.plot:
        print(f"plot: {', '.join(plot(rows, args.plot))}", file=sys.stderr)
    mismatches = sum(r["audit_mismatches"] for r in rows)
    if mismatches:  # the float screen missed an exact zero: a failed check
        print(f"FAILED: the exact audit found {mismatches} steps the float screen got wrong", file=sys.stderr)
        return EXIT_PROBLEM
    return EXIT_OK
