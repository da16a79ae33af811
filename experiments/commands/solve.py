"""`nsad solve FORMULA.cnf... [--solver NAME] [--time-limit S]`: decide formulas with a SAT solver."""

from __future__ import annotations

from nsad.experiments.commands._common import (EXIT_OK, EXIT_PROBLEM, EXIT_UNDECIDED, emit_json, for_each_file,
                                               positive_float)


SUMMARY = "decide CNF formulas with a SAT solver (python-sat, CP-SAT)"  # the one-line help, listed by `nsad --help` without importing the command


def register(sub) -> None:
    p = sub.add_parser("solve", help=SUMMARY,
                       description="Decide DIMACS formulas (one process for the whole batch). With --json: one "
                       "object per file and line: {file, verdict, solver, seconds, model, ...}, or {file, error} "
                       "for a file that could not be read. Exit code 3 when an answer is unknown (or, with --proof, "
                       "an UNSAT answer has no checked proof), 1 when a proof check fails.")
    p.add_argument("formulas", nargs="+", help="DIMACS CNF files (.cnf or .cnf.gz)")
    p.add_argument("--solver", default="cadical195", help="backend name or alias (see --list); default cadical195")
    p.add_argument("--time-limit", type=positive_float, default=None, metavar="S", help="seconds per formula")
    p.add_argument("--proof", action="store_true",
                   help="log a DRUP proof and check UNSAT answers with the in-library RUP checker "
                   "(SAT answers are checked by their model); reports proof: checked|unchecked|failed")
    p.add_argument("--json", action="store_true", help="JSON Lines output")
    p.set_defaults(func=run)


def run(args) -> int:
    from nsad.instances import read_dimacs
    from nsad.solvers import FORMULA_SOLVERS, solve_formula

    solver = FORMULA_SOLVERS.canonical(args.solver)  # fail fast on an unknown name

    def one(path: str) -> int:
        cnf = read_dimacs(path)
        if args.proof:
            from nsad.solvers.formula.proof import solve_with_proof

            v = solve_with_proof(cnf, solver=solver, time_limit=args.time_limit)
        else:
            v = solve_formula(cnf, solver=solver, time_limit=args.time_limit)
        obj = {"file": path, **v.to_json()}
        if args.proof:
            obj["proof"] = v.stats.get("proof", "unchecked")
        if args.json:
            emit_json(obj)
        else:
            extra = f" proof {obj['proof']}" if args.proof else ""
            print(f"{path}: {v.answer} ({v.backend}, {v.seconds * 1e3:.1f} ms){extra}"
                  + (f" [{v.reason}]" if v.reason and v.answer == "unknown" else ""))
        if args.proof and obj["proof"] == "failed":
            return EXIT_PROBLEM
        if v.answer == "unknown" or (args.proof and obj["proof"] != "checked"):
            return EXIT_UNDECIDED
        return EXIT_OK

    return for_each_file(args.formulas, one, json_mode=args.json)
