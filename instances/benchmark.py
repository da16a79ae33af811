"""Throughput of the instances package: ``python -m nsad.instances.benchmark [--clauses M] [--repeat R]``.

Prints the best of ``R`` wall times for generating, formatting and parsing a random 3-SAT formula
with ``M`` clauses (``n = M / 4``), and the ratio of the careful line scan (the fall-back that
locates errors) to the vectorised parse. Figures, not assertions: tests never time anything.

>>> row = measure(2_000, repeat=1)
>>> sorted(row) == sorted(["clauses", "megabytes", "random_ksat", "planted_ksat", "format",
...                        "parse", "line_scan", "clauses_tuple"])
True
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

from .dimacs import _parse_slow, format_dimacs, parse_dimacs
from .generators import planted_ksat, random_ksat


def _best(function: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def measure(clauses: int = 1_000_000, repeat: int = 3) -> dict[str, float]:
    """Best-of-``repeat`` seconds for each step on a random 3-SAT formula with ``clauses`` clauses."""
    n = max(3, clauses // 4)
    cnf = random_ksat(n, m=clauses, seed=0)
    text = format_dimacs(cnf)
    data = text.encode()
    return {
        "clauses": clauses,
        "megabytes": len(data) / 1e6,
        "random_ksat": _best(lambda: random_ksat(n, m=clauses, seed=1), repeat),
        "planted_ksat": _best(lambda: planted_ksat(n, m=clauses, seed=1), repeat),
        "format": _best(lambda: format_dimacs(cnf), repeat),
        "parse": _best(lambda: parse_dimacs(data), repeat),
        "line_scan": _best(lambda: _parse_slow(data, "<bench>"), repeat),
        "clauses_tuple": _best(lambda: parse_dimacs(data).clauses, repeat),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nsad.instances.benchmark", description=__doc__.split("\n")[0])
    parser.add_argument("--clauses", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    row = measure(args.clauses, args.repeat)
    print(f"random 3-SAT, {row['clauses']:,} clauses, {row['megabytes']:.1f} MB of DIMACS; best of {args.repeat}")
    for key in ("random_ksat", "planted_ksat", "format", "parse", "line_scan", "clauses_tuple"):
        print(f"  {key:14s} {row[key]:7.3f} s   {row['clauses'] / row[key] / 1e6:6.2f} M clauses/s")
    print(f"  line scan / vectorised parse: {row['line_scan'] / row['parse']:.2f}x")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
