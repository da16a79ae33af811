"""Draw the figures of the docs with the toolkit's own commands: ``python docs/make_figures.py``.

Each figure is a list of shell lines run in order in a scratch folder (``nsad`` is the toolkit of the
interpreter running this script); the PNG it names is copied to ``docs/figures/``. The tutorial shows
the same lines next to each figure (``tests/test_docs.py`` checks that it does, and that every PNG
stays under 200 KB). ``python docs/make_figures.py three-clarke phase`` redraws only those figures.
Timings are of one run on the machine that ran it; the figures show what that machine measured.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time

THREE_CNF = ("printf 'c (x1 or x2 or x3) and (not x1 or not x2 or x3) and (x1 or not x2 or not x3)\\n"
             "p cnf 3 3\\n1 2 3 0\\n-1 -2 3 0\\n1 -2 -3 0\\n' > three.cnf")
UNSAT_CNF = "printf 'c (x1 or x2) and (not x1) and (not x2)\\np cnf 2 3\\n1 2 0\\n-1 0\\n-2 0\\n' > unsat.cnf"

#: name -> (the PNG the last line writes, the lines)
FIGURES: dict[str, tuple[str, list[str]]] = {
    "three-clarke": ("three-clarke.png", [
        THREE_CNF,
        "nsad reduce three.cnf --out three.npz",
        "nsad decide three.npz --json > three-verdict.json",
        "nsad clarke three.npz --certificate three-verdict.json --plot three-clarke.png",
    ]),
    "unsat-clarke": ("unsat-clarke.png", [
        UNSAT_CNF,
        "nsad reduce unsat.cnf --out unsat.npz",
        "nsad clarke unsat.npz --plot unsat-clarke.png",
    ]),
    "phase": ("report/phase_transition.png", [
        "nsad scale --n 10 20 30 --ratio 3 3.5 4 4.26 4.5 5 5.5 6 --count 40 --db phase.db",
        "nsad report --db phase.db --out report/",
    ]),
    "time": ("report/time_vs_n.png", [
        "nsad scale --n 10 20 30 40 50 --ratio 4.26 --count 40 --db time.db",
        "nsad report --db time.db --out report/",
    ]),
    "matmul": ("matmul.png", [
        "nsad matmul --width 256 1024 --p 4 16 64 256 --no-torch --no-db --plot matmul.png",
    ]),
    "cheapgrad": ("cheapgrad.png", [
        "nsad cheapgrad --n 10 100 1000 10000 --no-db --plot cheapgrad.png",
    ]),
    "kinks": ("kinks.png", [
        "nsad kinks --no-db --plot kinks.png",
    ]),
}

MAX_BYTES = 200_000


def _shims(folder: str) -> dict:
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "nsad")
    with open(path, "w") as fh:
        fh.write(f'#!/bin/sh\nexec "{sys.executable}" -m nsad "$@"\n')
    os.chmod(path, 0o755)
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PATH"] = folder + os.pathsep + env.get("PATH", "")
    return env


def draw(name: str, out_dir: str) -> str:
    """Run the lines of figure ``name`` in a scratch folder; copy its PNG to ``out_dir``; return it."""
    png, lines = FIGURES[name]
    with tempfile.TemporaryDirectory() as work:
        env = _shims(os.path.join(work, ".bin"))
        for line in lines:
            t0 = time.perf_counter()
            proc = subprocess.run(["bash", "-o", "pipefail", "-c", line], cwd=work, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if proc.returncode != 0:
                raise SystemExit(f"{name}: exit {proc.returncode}: {line}\n{proc.stderr[-2000:]}")
            print(f"{name}: {time.perf_counter() - t0:6.1f} s  {line}", file=sys.stderr)
        target = os.path.join(out_dir, f"{name}.png")
        shutil.copyfile(os.path.join(work, png), target)
    size = os.path.getsize(target)
    if size > MAX_BYTES:
        raise SystemExit(f"{target}: {size} bytes, more than {MAX_BYTES}: make the figure smaller")
    return target


def main(argv: list[str]) -> int:
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "figures")
    os.makedirs(out_dir, exist_ok=True)
    names = argv or list(FIGURES)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        print(f"unknown figure(s) {', '.join(unknown)}; choose from {', '.join(FIGURES)}", file=sys.stderr)
        return 2
    for name in names:
        print(draw(name, out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
