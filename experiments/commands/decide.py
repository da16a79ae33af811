"""`nsad decide FILE... [--method NAME...] [--time-limit S] [--proof]`: the Clarke question on networks alone."""

from __future__ import annotations

from nsad.experiments.commands._common import (EXIT_OK, EXIT_PROBLEM, EXIT_UNDECIDED, add_files, add_json, add_method,
                                               add_time_limit, combine, emit_json, for_each_file, load_network)


SUMMARY = "decide whether dF(0) has two elements, from the network alone"  # the one-line help, listed by `nsad --help` without importing the command


def register(sub) -> None:
    p = sub.add_parser("decide", help=SUMMARY,
                       description="Decide, for each network, whether its Clarke subdifferential at 0 has two "
                       "distinct elements (docs/theory.md section 3). A DIMACS formula is reduced first "
                       "(reductions.sat_to_relu) and the decider sees only the network. Two-subgradient answers "
                       "carry a certificate checked exactly; 'complete' says whether the method is complete for "
                       "that network. With --json: one object per (file, method) and line; with --proof a "
                       "singleton answer of sat-grid/portfolio carries its checked DRUP proof in the 'drup' field, "
                       "which `nsad check NET VERDICT` checks again against the grid CNF rebuilt from the network. "
                       "Exit code 1 when two methods disagree, 3 when an answer is unknown.")
    add_files(p, "networks", what="network files (.npz) or DIMACS formulas (.cnf, .cnf.gz: reduced first)",
              required=True)
    add_method(p, help="network deciders, one or more, each run on every file (default: the fastest complete one; "
               "nsad list deciders)")
    add_time_limit(p, help="seconds per network and method (default: none)")
    p.add_argument("--proof", action="store_true",
                   help="(portfolio, sat-grid) check the SAT solver's UNSAT answer with its DRUP proof and keep the "
                   "proof in the verdict ('drup' field of --json) for nsad check")
    p.add_argument("--raw", action="store_true",
                   help="(portfolio, sat-grid, cpsat-grid) read the network as written: skip the normal form "
                   "under exact rewrites (docs/theory.md section 3.5)")
    add_json(p, help="JSON Lines output: one object per (file, method)")
    p.set_defaults(func=run)


def _proof_text(lines) -> list[str]:
    return [ln.decode() if isinstance(ln, bytes) else str(ln) for ln in lines]


def run(args) -> int:
    import sys

    from nsad.solvers import NETWORK_DECIDERS, decide_network

    from nsad.solvers.network.table import DECIDERS, DEFAULT_NETWORK_METHOD

    methods = [NETWORK_DECIDERS.canonical(m) for m in args.method] if args.method else [None]
    asked = {"proof": args.proof, "raw": args.raw}

    def options(method) -> dict:
        """--proof / --raw for the methods that take them (several methods: the others run without)."""
        takes = DECIDERS.get(method or DEFAULT_NETWORK_METHOD).options
        return {k: True for k, on in asked.items() if on and (k in takes or len(methods) == 1)}

    def one(path: str) -> int:
        net, cnf = load_network(path)
        if cnf is not None and not args.json:
            print(f"{path}: a DIMACS formula (n={cnf.num_vars}, m={cnf.num_clauses}), reduced first to a network "
                  f"of {net.n_units} units; the decider sees only the network", file=sys.stderr)
        codes, answers = [], set()
        for method in methods:
            v = decide_network(net, method=method, time_limit=args.time_limit, **options(method))
            obj = {"file": path, **v.to_json()}
            if cnf is not None:
                obj["reduced_from"] = {"format": "dimacs", "n": cnf.num_vars, "m": cnf.num_clauses}
            if args.raw:
                obj["raw"] = True
            if args.proof:
                obj["proof"] = v.stats.get("proof", "unchecked")
                if v.answer == "singleton" and v.stats.get("_drup") is not None:
                    obj["drup"] = _proof_text(v.stats["_drup"])
            if args.json:
                emit_json(obj)
            else:
                print(f"{path}: {v.answer} (method {v.backend}, {'complete' if v.complete else 'incomplete'}, "
                      f"argument {v.argument or 'none'}, {v.seconds * 1e3:.1f} ms)")
                if v.certificate is not None:
                    c = v.to_json()["certificate"]
                    print(f"  certificate points {c['points'][0]} and {c['points'][1]}")
                    print(f"  gradients          {c['gradients'][0]} and {c['gradients'][1]}")
                if v.element is not None:
                    print(f"  single subgradient {v.to_json()['element']}")
                if "drup" in obj:
                    print(f"  DRUP proof: {len(obj['drup'])} lines, checked (kept in the verdict with --json)")
                if v.reason:
                    print(f"  note: {v.reason}")
            if v.answer == "unknown":
                codes.append(EXIT_UNDECIDED)
            else:
                answers.add(v.answer)
                codes.append(EXIT_OK)
        if len(answers) > 1:
            print(f"{path}: DISAGREEMENT between the methods: {' vs '.join(sorted(answers))}", file=sys.stderr)
            codes.append(EXIT_PROBLEM)
        return combine(codes)  # exit codes: experiments/commands/_common.py

    return for_each_file(args.networks, one, json_mode=args.json)
