"""`nsad decide FILE... [--at POINT] [--output K|all] [--method NAME...] [--time-limit S] [--proof]`: the
Clarke question on networks alone, at 0 or at any point (docs/theory.md sections 3 and 3.7)."""

from __future__ import annotations

from nsad.experiments.commands._common import (EXIT_OK, EXIT_PROBLEM, EXIT_UNDECIDED, add_files, add_json, add_method,
                                               add_time_limit, combine, emit_json, for_each_file, load_network,
                                               output_choice)


SUMMARY = "decide whether dF(x) has two elements, at 0 or at a point, from the network alone"  # the one-line help, listed by `nsad --help` without importing the command


def register(sub) -> None:
    p = sub.add_parser("decide", help=SUMMARY,
                       description="Decide, for each network, whether its Clarke subdifferential at 0 has two "
                       "distinct elements (docs/theory.md section 3). A DIMACS formula is reduced first "
                       "(reductions.sat_to_relu) and the decider sees only the network. Two-subgradient answers "
                       "carry a certificate checked exactly; 'complete' says whether the method is complete for "
                       "that network. With --json: one object per (file, method) and line; with --proof a "
                       "singleton answer of sat-grid/portfolio carries its checked DRUP proof in the 'drup' field, "
                       "which `nsad check NET VERDICT` checks again against the grid CNF rebuilt from the network. "
                       "With --at (or for a network with biases, or --output): the question at that point, "
                       "docs/theory.md section 3.7: the local network G is built exactly and decided (one hidden "
                       "layer: class (c), exact and linear time; deeper: the portfolio); two-subgradient answers carry "
                       "points x0 + s p that keep every unit nonzero at x0 on its side, checked exactly on F itself; "
                       "JSON as at 0 plus 'at' and 'output' (docs/points.md). "
                       "Exit code 1 when two methods disagree, 3 when an answer is unknown.")
    add_files(p, "networks", what="network files (.npz, .onnx with biases and several outputs) or DIMACS formulas "
              "(.cnf, .cnf.gz: reduced first)", required=True)
    p.add_argument("--at", metavar="POINT", default=None,
                   help="the point: comma-separated rationals or decimals such as 1/2,0,-3,0.25 (taken exactly), or "
                   "a .npy file or a text file with one point per row (default: 0)")
    p.add_argument("--output", type=output_choice, default=None, metavar="K|all",
                   help="the output to ask about (networks with several outputs), or 'all'")
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


def _print(where: str, v, obj=None) -> None:
    print(f"{where}: {v.answer} (method {v.backend}, {'complete' if v.complete else 'incomplete'}, "
          f"argument {v.argument or 'none'}, {v.seconds * 1e3:.1f} ms)")
    if v.certificate is not None:
        c = v.to_json()["certificate"]
        print(f"  certificate points {c['points'][0]} and {c['points'][1]}")
        print(f"  gradients          {c['gradients'][0]} and {c['gradients'][1]}")
    if v.element is not None:
        print(f"  single subgradient {v.to_json()['element']}")
    if obj is not None and "drup" in obj:
        print(f"  DRUP proof: {len(obj['drup'])} lines, checked (kept in the verdict with --json)")
    if v.reason:
        print(f"  note: {v.reason}")


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

    def at_points(path: str, net) -> int:
        from fractions import Fraction

        from nsad.experiments.commands._common import outputs_of
        from nsad.solvers.network.local import _num, decide_at, parse_point

        if args.proof or args.raw:
            from nsad.errors import SolverError

            raise SolverError("--proof and --raw apply at 0 to bias-free networks only")
        points = (parse_point(args.at, net.n_inputs) if args.at is not None
                  else [tuple(Fraction(0) for _ in range(net.n_inputs))])
        codes = []
        for x in points:
            at = [_num(c) for c in x]
            for k in outputs_of(net, args.output):
                answers = set()
                for method in methods:
                    v = decide_at(net, x, output=k if net.n_outputs > 1 else None, method=method,
                                  time_limit=args.time_limit)
                    if args.json:
                        emit_json({"file": path, "at": at, "output": k, **v.to_json()})
                    else:
                        short = ",".join(map(str, at)) if len(at) <= 12 else ",".join(map(str, at[:12])) + ",..."
                        _print(path + f" at ({short})" + (f" output {k}" if net.n_outputs > 1 else ""), v)
                    _tally(v, codes, answers)
                _disagreement(f"{path} at {at}", answers, codes)
        return combine(codes)

    def one(path: str) -> int:
        net, cnf = load_network(path)
        if args.at is not None or args.output is not None or net.has_biases:
            return at_points(path, net)
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
                _print(path, v, obj)
            _tally(v, codes, answers)
        _disagreement(path, answers, codes)
        return combine(codes)  # exit codes: experiments/commands/_common.py

    return for_each_file(args.networks, one, json_mode=args.json)


def _tally(v, codes: list, answers: set) -> None:
    """One method's verdict: its exit code, and its answer unless it is unknown."""
    if v.answer == "unknown":
        codes.append(EXIT_UNDECIDED)
    else:
        answers.add(v.answer)
        codes.append(EXIT_OK)


def _disagreement(where: str, answers: set, codes: list) -> None:
    """Two methods that answered differently on the same question: said on stderr, exit code 1."""
    if len(answers) > 1:
        print(f"{where}: DISAGREEMENT between the methods: {' vs '.join(sorted(answers))}", file=sys.stderr)
        codes.append(EXIT_PROBLEM)
