"""Benchmark of ``sat_to_relu.reduce`` on large random k-SAT (not run by the tests).

``python -m nsad.reductions.benchmark [--n 250000] [--m 1000000] [--k 3] [--repeats 3]`` prints, for each
repeat, the time of the three phases of ``reduce`` (cleaning, building the CSR matrices, and
``ReluNetwork``'s validation and copy), their total (wall clock, and the process's CPU time), the
ratio of the total to the 2 s goal of issue 2, and nanoseconds per nonzero. The first repeat of a
fresh process includes first-touch page faults on newly allocated memory, a large share of the
cost on a VM (here about 2 s per GB touched for the first time).

>>> row = time_reduction(50, 200, seed=1)
>>> sorted(row) == ['build', 'clean', 'cpu', 'depth', 'm', 'n', 'network', 'nnz', 'total', 'units']
True
"""

from __future__ import annotations

import argparse
import time

from nsad.goals import goal
from nsad.instances import random_ksat
from nsad.networks import ReluNetwork
from nsad.reductions import sat_to_relu

GOAL_SECONDS = 2.0


def time_reduction(n: int, m: int, k: int = 3, seed: int = 0, cnf=None) -> dict:
    """Time one ``reduce`` of a random k-SAT formula (or of ``cnf``), phase by phase."""
    cnf = cnf if cnf is not None else random_ksat(n, m=m, k=k, seed=seed)
    c0 = time.process_time()
    t0 = time.perf_counter()
    cleaned = sat_to_relu.clean(cnf)
    t1 = time.perf_counter()
    mats = sat_to_relu._matrices(cleaned)
    t2 = time.perf_counter()
    net = ReluNetwork(mats)
    t3 = time.perf_counter()
    c3 = time.process_time()
    return {
        "n": cnf.num_vars, "m": cnf.num_clauses, "depth": net.depth, "units": net.n_units, "nnz": net.nnz,
        "clean": t1 - t0, "build": t2 - t1, "network": t3 - t2, "total": t3 - t0,
        "cpu": c3 - c0,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nsad.reductions.benchmark", description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=250_000)
    parser.add_argument("--m", type=int, default=1_000_000)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    cnf = random_ksat(args.n, m=args.m, k=args.k, seed=args.seed)
    print(f"random {args.k}-SAT n={args.n} m={args.m} (formula generated once, not timed)")
    for r in range(args.repeats):
        row = time_reduction(args.n, args.m, cnf=cnf)
        print(
            f"run {r + 1}: clean {row['clean']:.3f} s, build {row['build']:.3f} s, ReluNetwork {row['network']:.3f} s,"
            f" total {row['total']:.3f} s (cpu {row['cpu']:.3f} s) = {row['total'] / GOAL_SECONDS:.2f} x goal"
            f" ({goal(row['total'], GOAL_SECONDS)}),"
            f" {1e9 * row['total'] / row['nnz']:.1f} ns/nonzero (depth {row['depth']}, units {row['units']},"
            f" nnz {row['nnz']})"
        )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
