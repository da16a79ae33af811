"""Benchmark of the formula deciders on uniform random 3-SAT (measured, never asserted).

Protocol: for each ``n``, formulas ``random_ksat(n, ratio=ratio, seed=seed, index=i)`` for
``i < count``; every solver decides every formula once, in this process, in turn (solver order
rotates per formula so no solver always runs first); the time is ``Verdict.seconds`` (solver
construction, loading the clauses and solving; not the model check). One warm-up call per solver
before timing (CP-SAT's first call imports OR-Tools). Medians and the ratio to the fastest median
are reported; answers are cross-checked (all solvers must agree).

Run: ``python -m nsad.solvers.formula.benchmark [--n 50 100 150] [--count 21] [--solvers ...]``.

>>> rows = benchmark(ns=(20,), count=3, solvers=("minisat22", "cpsat"))
>>> [(r["n"], r["solver"], r["count"]) for r in rows]
[(20, 'minisat22', 3), (20, 'cpsat', 3)]
"""

from __future__ import annotations

import argparse
import statistics
from typing import Sequence

from nsad.instances import random_ksat
from nsad.solvers.formula.backends import FORMULA_SOLVERS, solve_formula

DEFAULT_SOLVERS = ("cadical195", "minisat22", "glucose4", "cpsat")


def benchmark(ns: Sequence[int] = (50, 100, 150), ratio: float = 4.26, count: int = 21, seed: int = 0,
              solvers: Sequence[str] = DEFAULT_SOLVERS) -> list[dict]:
    """Median solve time per (n, solver); one dict per pair with ``median``, ``ratio``, ``sat``.

    >>> benchmark(ns=(10,), count=1, solvers=("g4",))[0]["solver"]
    'glucose4'
    """
    names = [FORMULA_SOLVERS.canonical(s) for s in solvers]
    warm = random_ksat(10, ratio=ratio, seed=seed)
    for name in names:
        solve_formula(warm, name)
    rows = []
    for n in ns:
        times: dict[str, list[float]] = {name: [] for name in names}
        sat = 0
        for i in range(count):
            cnf = random_ksat(n, ratio=ratio, seed=seed, index=i)
            answers = set()
            order = names[i % len(names):] + names[:i % len(names)]
            for name in order:
                v = solve_formula(cnf, name)
                times[name].append(v.seconds)
                answers.add(v.answer)
            if len(answers) != 1:
                raise RuntimeError(f"solvers disagree on random_ksat({n}, ratio={ratio}, seed={seed}, index={i}): {answers}")
            sat += answers == {"sat"}
        medians = {name: statistics.median(t) for name, t in times.items()}
        best = min(medians.values())
        for name in names:
            rows.append({"n": n, "m": round(ratio * n), "solver": name, "count": count, "sat": sat,
                         "median": medians[name], "ratio": medians[name] / best if best > 0 else float("nan")})
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[50, 100, 150])
    parser.add_argument("--ratio", type=float, default=4.26)
    parser.add_argument("--count", type=int, default=21)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--solvers", nargs="+", default=list(DEFAULT_SOLVERS))
    args = parser.parse_args(argv)
    rows = benchmark(args.n, args.ratio, args.count, args.seed, args.solvers)
    print(f"{'n':>5} {'m':>5} {'solver':>12} {'median ms':>10} {'x fastest':>10} {'sat':>7}")
    for r in rows:
        print(f"{r['n']:>5} {r['m']:>5} {r['solver']:>12} {1000 * r['median']:>10.2f} {r['ratio']:>10.2f} "
              f"{r['sat']:>3}/{r['count']:<3}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
