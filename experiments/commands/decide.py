"""`nsad decide NET... [--at POINT] [--output K|all] [--method NAME] [--time-limit S]`: the Clarke
question on networks alone, at 0 or at any point (docs/theory.md sections 3 and 3.7)."""

from __future__ import annotations

from nsad.experiments.commands._common import emit_json, for_each_file, output_choice, positive_float


SUMMARY = "decide whether dF(x) has two elements, at 0 or at a point, from the network alone"  # the one-line help, listed by `nsad --help` without importing the command


def register(sub) -> None:
    p = sub.add_parser("decide", help=SUMMARY,
                       description="Decide, for each network, whether its Clarke subdifferential at 0 (or at the "
                       "points of --at) has two distinct elements (docs/theory.md sections 3 and 3.7). Networks: "
                       ".npz, .onnx (biases, several outputs) or a DIMACS formula (its reduction network). At a "
                       "point, the local network G is built exactly and decided (one hidden layer: class (c), exact "
                       "and linear time; deeper: the portfolio); two-subgradient answers carry points x0 + s p that "
                       "keep every unit nonzero at x0 on its side, checked exactly on F itself. 'complete' says "
                       "whether the method is complete for that network. With --json: one object per file, point "
                       "and output, and line.")
    p.add_argument("networks", nargs="+", help="network files (.npz, .onnx, .cnf)")
    p.add_argument("--at", metavar="POINT", default=None,
                   help="the point: comma-separated rationals or decimals such as 1/2,0,-3,0.25 (taken exactly), or "
                   "a .npy file or a text file with one point per row (default: 0)")
    p.add_argument("--output", type=output_choice, default=None, metavar="K|all",
                   help="the output to ask about (networks with several outputs), or 'all'")
    p.add_argument("--method", default=None,
                   help="decider name or alias (default: at 0 the portfolio; at a point class (c) for one hidden "
                   "layer, else the portfolio)")
    p.add_argument("--time-limit", type=positive_float, default=None, metavar="S", help="seconds per question")
    p.add_argument("--proof", action="store_true",
                   help="(portfolio, sat-grid; at 0) check the SAT solver's UNSAT answer with its DRUP proof")
    p.add_argument("--raw", action="store_true",
                   help="(portfolio, sat-grid, cpsat-grid; at 0) read the network as written: skip the normal form "
                   "under exact rewrites (docs/theory.md section 3.5)")
    p.add_argument("--json", action="store_true", help="JSON Lines output")
    p.set_defaults(func=run)


def _print(path: str, v, where: str = "") -> None:
    print(f"{path}{where}: {v.answer} (method {v.backend}, {'complete' if v.complete else 'incomplete'}, "
          f"argument {v.argument or 'none'}, {v.seconds * 1e3:.1f} ms)")
    if v.certificate is not None:
        c = v.to_json()["certificate"]
        print(f"  certificate points {c['points'][0]} and {c['points'][1]}")
        print(f"  gradients          {c['gradients'][0]} and {c['gradients'][1]}")
    if v.element is not None:
        print(f"  single subgradient {v.to_json()['element']}")
    if v.reason:
        print(f"  note: {v.reason}")


def run(args) -> int:
    from nsad.experiments.commands._common import combine, outputs_of, read_network
    from nsad.solvers import NETWORK_DECIDERS, decide_network

    if args.method is not None:
        NETWORK_DECIDERS.canonical(args.method)

    def at_zero(path: str, net) -> int:
        opts = {"proof": True} if args.proof else {}
        if args.raw:
            opts["raw"] = True
        v = decide_network(net, method=args.method, time_limit=args.time_limit, **opts)
        obj = {"file": path, **v.to_json()}
        if args.proof:
            obj["proof"] = v.stats.get("proof", "unchecked")
        if args.json:
            emit_json(obj)
        else:
            _print(path, v)
        return 3 if v.answer == "unknown" else 0  # exit codes: experiments/commands/_common.py

    def at_points(path: str, net) -> int:
        from fractions import Fraction

        from nsad.solvers.network.local import _num, decide_at, parse_point

        points = parse_point(args.at, net.n_inputs) if args.at is not None else [tuple(Fraction(0) for _ in range(net.n_inputs))]
        outs = outputs_of(net, args.output)
        codes = []
        for x in points:
            for k in outs:
                v = decide_at(net, x, output=k if net.n_outputs > 1 else None, method=args.method,
                              time_limit=args.time_limit)
                at = [_num(c) for c in x]
                if args.json:
                    emit_json({"file": path, "at": at, "output": k, **v.to_json()})
                else:
                    short = ",".join(map(str, at)) if len(at) <= 12 else ",".join(map(str, at[:12])) + ",..."
                    _print(path, v, f" at ({short})" + (f" output {k}" if net.n_outputs > 1 else ""))
                codes.append(3 if v.answer == "unknown" else 0)
        return combine(codes)

    def one(path: str) -> int:
        net = read_network(path)
        if args.at is None and args.output is None and not net.has_biases:
            return at_zero(path, net)
        if args.proof or args.raw:
            from nsad.errors import SolverError

            raise SolverError("--proof and --raw apply at 0 to bias-free networks only")
        return at_points(path, net)

    return for_each_file(args.networks, one, json_mode=args.json)
