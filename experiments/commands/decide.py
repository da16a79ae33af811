"""`nsad decide NET.npz... [--method NAME] [--time-limit S]`: the Clarke question on networks alone."""

from __future__ import annotations

from nsad.experiments.commands._common import emit_json, for_each_file, positive_float


SUMMARY = "decide whether dF(0) has two elements, from the network alone"  # the one-line help, listed by `nsad --help` without importing the command


def register(sub) -> None:
    p = sub.add_parser("decide", help=SUMMARY,
                       description="Decide, for each network, whether its Clarke subdifferential at 0 has two "
                       "distinct elements (docs/theory.md section 3). Two-subgradient answers carry a certificate "
                       "checked exactly; 'complete' says whether the method is complete for that network. "
                       "With --json: one object per file and line.")
    p.add_argument("networks", nargs="+", help="network files (.npz)")
    p.add_argument("--method", default=None, help="decider name or alias (default: the fastest complete one)")
    p.add_argument("--time-limit", type=positive_float, default=None, metavar="S", help="seconds per network")
    p.add_argument("--proof", action="store_true",
                   help="(portfolio, sat-grid) check the SAT solver's UNSAT answer with its DRUP proof")
    p.add_argument("--raw", action="store_true",
                   help="(portfolio, sat-grid, cpsat-grid) read the network as written: skip the normal form "
                   "under exact rewrites (docs/theory.md section 3.5)")
    p.add_argument("--json", action="store_true", help="JSON Lines output")
    p.set_defaults(func=run)


def run(args) -> int:
    from nsad.networks import ReluNetwork
    from nsad.solvers import NETWORK_DECIDERS, decide_network

    if args.method is not None:
        NETWORK_DECIDERS.canonical(args.method)

    def one(path: str) -> int:
        net = ReluNetwork.load(path)
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
            print(f"{path}: {v.answer} (method {v.backend}, {'complete' if v.complete else 'incomplete'}, "
                  f"argument {v.argument or 'none'}, {v.seconds * 1e3:.1f} ms)")
            if v.certificate is not None:
                c = v.to_json()["certificate"]
                print(f"  certificate points {c['points'][0]} and {c['points'][1]}")
                print(f"  gradients          {c['gradients'][0]} and {c['gradients'][1]}")
            if v.element is not None:
                print(f"  single subgradient {v.to_json()['element']}")
            if v.reason:
                print(f"  note: {v.reason}")
        return 3 if v.answer == "unknown" else 0  # exit codes: experiments/commands/_common.py

    return for_each_file(args.networks, one, json_mode=args.json)
