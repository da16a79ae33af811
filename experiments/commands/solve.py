"""`nsad solve FILE... [--solver NAME...] [--time-limit S] [--proof]`: decide formulas with a SAT solver."""

from __future__ import annotations

from nsad.experiments.commands._common import (EXIT_OK, EXIT_PROBLEM, EXIT_UNDECIDED, add_files, add_json, add_solver,
                                               add_time_limit, combine, dimacs_files, emit_json, for_each_file)


SUMMARY = "decide CNF formulas with a SAT solver (python-sat, CP-SAT)"  # the one-line help, listed by `nsad --help` without importing the command


def register(sub) -> None:
    p = sub.add_parser("solve", help=SUMMARY,
                       description="Decide DIMACS formulas (one process for the whole batch). With --json: one "
                       "object per (file, solver) and line: {file, verdict, solver, seconds, model, ...}, or "
                       "{file, error} for a file that could not be read. Exit code 3 when an answer is unknown (or, "
                       "with --proof, an UNSAT answer has no checked proof), 1 when a proof check fails or two "
                       "solvers disagree.")
    add_files(p, "formulas", what="DIMACS CNF files (.cnf, .cnf.gz) or folders of them", required=True)
    add_solver(p, many=True, help="formula solvers, one or more, each run on every file (nsad list solvers)")
    add_time_limit(p, help="seconds per formula and solver (default: none)")
    p.add_argument("--proof", action="store_true",
                   help="log a DRUP proof and check UNSAT answers with the in-library RUP checker "
                   "(SAT answers are checked by their model); reports proof: checked|unchecked|failed")
    add_json(p, help="JSON Lines output: one object per (file, solver)")
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    from nsad.instances import read_dimacs
    from nsad.solvers import FORMULA_SOLVERS, solve_formula

    solvers = [FORMULA_SOLVERS.canonical(s) for s in args.solver]  # fail fast on an unknown name

    def one(path: str) -> int:
        cnf = read_dimacs(path)
        codes, answers = [], set()
        for solver in solvers:
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
                codes.append(EXIT_PROBLEM)
            elif v.answer == "unknown" or (args.proof and obj["proof"] != "checked"):
                codes.append(EXIT_UNDECIDED)
            else:
                codes.append(EXIT_OK)
            if v.answer != "unknown":
                answers.add(v.answer)
        if len(answers) > 1:
            print(f"{path}: DISAGREEMENT between the solvers", file=sys.stderr)
            codes.append(EXIT_PROBLEM)
        return combine(codes)

    return for_each_file(dimacs_files(args.formulas), one, json_mode=args.json)
