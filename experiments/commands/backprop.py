"""`nsad backprop NET --at POINT [--relu-prime S] [--output K|all]`: what backprop returns at a point,
next to the exact Clarke answer there (nsad.solvers.network.backprop_at)."""

from __future__ import annotations

from nsad.experiments.commands._common import add_json, add_time_limit, emit_json, output_choice


SUMMARY = "backprop at a point with relu'(0) = S, beside the exact Clarke answer and float16/32/64"  # the one-line help, listed by `nsad --help` without importing the command


def register(sub) -> None:
    p = sub.add_parser("backprop", help=SUMMARY,
                       description="At each point: backprop with relu'(0) = S in exact rational arithmetic; the "
                       "exact Clarke answer there (nsad decide --at); whether the backprop output is a Clarke "
                       "element (yes / no / unknown, and how: an exact comparison when dF(x0) is a single point, "
                       "the zonotope of class (c) for one hidden layer, an exact enumeration of the regions at x0 "
                       "for small deeper networks, or the realisation of backprop's activation pattern near x0); and "
                       "backprop in float16, float32 and float64, with the pre-activations float arithmetic sees as "
                       "0.0 that are not exactly 0 on the same float data (rounding kinks) and those it misses. "
                       "Exit code 0 when every answer is known, 3 when one is unknown.")
    p.add_argument("network", metavar="NET", help="network file (.npz, .onnx), or a DIMACS formula (reduced first)")
    p.add_argument("--at", metavar="POINT", default=None,
                   help="comma-separated rationals or decimals (taken exactly), or a .npy / text file with one "
                   "point per row (default: 0)")
    p.add_argument("--relu-prime", default="0", metavar="S",
                   help="relu'(0) used by backprop, a rational in [0, 1] such as 0, 1 or 1/2 (default 0, PyTorch's)")
    p.add_argument("--output", type=output_choice, default=None, metavar="K|all",
                   help="the output to differentiate (networks with several outputs), or 'all'")
    p.add_argument("--max-kinks", type=int, default=12, metavar="K",
                   help="deeper networks: enumerate the regions at the point up to K kink units (default 12)")
    add_time_limit(p, help="seconds per point and output (default: none)")
    add_json(p, help="JSON Lines output, one object per point and output")
    p.set_defaults(func=run)


def run(args) -> int:
    from fractions import Fraction

    from nsad.experiments.commands._common import combine, load_network, outputs_of
    from nsad.solvers.network.backprop_at import backprop_at
    from nsad.solvers.network.local import parse_point

    net, _cnf = load_network(args.network)
    points = parse_point(args.at, net.n_inputs) if args.at is not None else [tuple(Fraction(0) for _ in range(net.n_inputs))]
    codes = []
    for x in points:
        for k in outputs_of(net, args.output):
            r = backprop_at(net, x, relu_prime=args.relu_prime, output=k if net.n_outputs > 1 else None,
                            max_kinks=args.max_kinks, time_limit=args.time_limit)
            codes.append(3 if r["is_clarke"] == "unknown" else 0)
            if args.json:
                emit_json({"file": args.network, **r})
                continue
            c = r["clarke"]
            at = r["at"] if len(r["at"]) <= 12 else r["at"][:12] + ["..."]
            print(f"{args.network} at ({','.join(map(str, at))})" + (f" output {k}" if net.n_outputs > 1 else "")
                  + f": F = {r['value']}, {r['kinks_at_x0']} units on their kink")
            print(f"  backprop, relu'(0) = {r['relu_prime']} (exact): {r['backprop']}")
            if c["verdict"] == "singleton":
                print(f"  Clarke: a single point {c['element']} ({c['method']}, {'exact' if c['complete'] else 'numerical'})")
            elif c["verdict"] == "two-subgradients":
                print(f"  Clarke: two elements or more, e.g. {c['certificate']['gradients'][0]} and "
                      f"{c['certificate']['gradients'][1]} (checked exactly)")
            else:
                print(f"  Clarke: unknown ({c['reason']})")
            print(f"  backprop is a Clarke element: {r['is_clarke']}{' (exact)' if r['exact'] else ''}: {r['how']}")
            for f in r["float"]:
                if "error" in f:
                    print(f"  {f['dtype']:>8}: {f['error']}")
                    continue
                same = "same as exact" if f["equals_exact_backprop"] else f"differs from exact: {f['backprop'][:8]}"
                print(f"  {f['dtype']:>8}: backprop {same}; {f['float_kinks']} units at 0.0, {f['exact_kinks_same_data']} "
                      f"exactly 0 on the same data ({f['rounding_kinks']} rounding kinks, {f['missed_kinks']} missed)"
                      + (f"; casting rounded {f['data_rounded']} numbers" if f["data_rounded"] else ""))
    return combine(codes)
