"""`nsad reduce FORMULA.cnf --out NET.npz`: the 3-SAT -> ReLU reduction (docs/theory.md section 2)."""

from __future__ import annotations

import time

from nsad.experiments.commands._common import add_json, emit_json


SUMMARY = "reduce a DIMACS CNF formula to a ReLU network (.npz)"  # the one-line help, listed by `nsad --help` without importing the command


def register(sub) -> None:
    p = sub.add_parser("reduce", help=SUMMARY,
                       description="Reduce a CNF formula to a bias-free ReLU network with weights in {-1,0,1} "
                       "whose Clarke subdifferential at 0 has two elements iff the formula is satisfiable.")
    p.add_argument("formula", metavar="FILE", help="DIMACS CNF file (.cnf or .cnf.gz)")
    p.add_argument("--out", required=True, metavar="FILE", help="output network file (.npz)")
    add_json(p, help="print the description as one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    from nsad.instances import read_dimacs
    from nsad.reductions.sat_to_relu import reduce

    cnf = read_dimacs(args.formula)
    t0 = time.perf_counter()
    net = reduce(cnf)
    seconds = time.perf_counter() - t0
    net.save(args.out)
    desc = {"file": args.formula, "out": args.out, "n": cnf.num_vars, "m": cnf.num_clauses,
            "seconds": round(seconds, 6), **net.describe()}
    if args.json:
        emit_json(desc)
    else:
        print(f"{args.formula}: n={cnf.num_vars} m={cnf.num_clauses} -> {args.out} in {seconds * 1e3:.1f} ms")
        for k, v in net.describe().items():
            if k == "widths" and len(v) > 12:
                v = f"{v[:6]} ... {v[-3:]}"
            print(f"  {k:14s} {v}")
    return 0
