"""`nsad clarke NET.npz`: the Clarke polytope at 0 beside backpropagation (see experiments/clarke_plot.py)."""

from __future__ import annotations


from nsad.experiments.commands._common import emit_json, nonneg_int, positive_int


SUMMARY = "the exact Clarke subdifferential at 0 of a small network vs backpropagation"  # the one-line help, listed by `nsad --help` without importing the command


def register(sub) -> None:
    p = sub.add_parser(
        "clarke", help=SUMMARY,
        description="Enumerate the linear pieces of a small scalar network (n <= 6 inputs, a few dozen hidden "
        "units), print the Clarke subdifferential at 0 (piece gradients with exact witnesses, hull vertices), "
        "the points of the conservative set D^a_F(0) from vertex choices, and what backpropagation at 0 returns "
        "with relu'(0) = 0 and 1. A DIMACS formula (.cnf) is reduced first (reductions.sat_to_relu).")
    p.add_argument("network", help="network file (.npz), or a DIMACS CNF formula (.cnf, .cnf.gz) to reduce")
    p.add_argument("--max-points", type=positive_int, default=4096,
                   help="vertex choices of D^a_F(0): all when at most this many, else a sample of this size")
    p.add_argument("--max-regions", type=positive_int, default=5000, help="give up beyond this many regions")
    p.add_argument("--seed", type=nonneg_int, default=0, help="seed of the D^a_F(0) sample")
    p.add_argument("--plot", metavar="PATH", help="for n = 1 or 2: plot to PATH (.png and .svg)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(func=run)


def load_network(path: str):
    """A ReluNetwork from an .npz or .onnx file, or the reduction of a DIMACS formula."""
    from nsad.experiments.commands._common import read_network

    return read_network(path)


def run(args) -> int:
    import sys

    from nsad.experiments.clarke_plot import analyse, format_report, plot, public

    net = load_network(args.network)
    net.require_scalar()
    rep = analyse(net, max_points=args.max_points, seed=args.seed, max_regions=args.max_regions)
    if args.json:
        emit_json({"file": args.network, **public(rep)})
    else:
        print(f"{args.network}")
        print(format_report(rep))
    if args.plot:
        files = plot(rep, args.plot)
        print(f"plot: {', '.join(files)}", file=sys.stderr)
    return 0
