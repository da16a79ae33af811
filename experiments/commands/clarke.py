"""`nsad clarke NET.npz`: the Clarke polytope at 0 beside backpropagation (see experiments/clarke_plot.py)."""

from __future__ import annotations

from nsad.experiments.commands._common import (EXIT_PROBLEM, add_json, add_seed, emit_json, load_network, naming,
                                               positive_int)


SUMMARY = "the exact Clarke subdifferential at 0 of a small network vs backpropagation"  # the one-line help, listed by `nsad --help` without importing the command


def register(sub) -> None:
    p = sub.add_parser(
        "clarke", help=SUMMARY,
        description="Enumerate the linear pieces of a small scalar network (n <= 6 inputs, a few dozen hidden "
        "units), print the Clarke subdifferential at 0 (piece gradients with exact witnesses, hull vertices), "
        "the points of the conservative set D^a_F(0) from vertex choices, and what backpropagation at 0 returns "
        "with relu'(0) = 0 and 1. A DIMACS formula (.cnf) is reduced first (reductions.sat_to_relu).")
    p.add_argument("network", help="network file (.npz), or a DIMACS CNF formula (.cnf, .cnf.gz) to reduce")
    p.add_argument("--slice", type=positive_int, nargs=2, metavar=("I", "J"), default=None,
                   help="for a network with more inputs than the enumeration takes (n > 6): look at F on the plane "
                   "of the coordinates x_I, x_J through 0 (the others 0), simplified by exact rewrites first; "
                   "its Clarke subdifferential at 0 is that of the restriction, not the projection of dF(0)")
    p.add_argument("--max-points", type=positive_int, default=4096,
                   help="vertex choices of D^a_F(0): all when at most this many, else a sample of this size")
    p.add_argument("--max-regions", type=positive_int, default=5000, help="give up beyond this many regions")
    add_seed(p, help="seed of the D^a_F(0) sample")
    p.add_argument("--plot", metavar="PATH", help="for n <= 3 (or a --slice): plot to PATH (.png and .svg); n = 3 as three projections on the coordinate planes")
    p.add_argument("--certificate", metavar="VERDICT", default=None,
                   help="a verdict of nsad decide --json (or a bare {points, gradients}) for this network: its "
                   "certificate is checked exactly and its two gradients are marked on the plot")
    add_json(p, help="print the result as one JSON object")
    p.set_defaults(func=run)


def _certificate_gradients(path: str, net) -> tuple[list | None, str]:
    """``(the two gradients, "")`` of the certificate in ``path`` when it checks exactly, else
    ``(None, why)``; a file without a certificate is a NetworkError (an input error)."""
    from nsad import limits as L
    from nsad.errors import NetworkError
    from nsad.networks import Certificate, check

    obj = L.load_json(path, error=NetworkError, what="the verdict file")
    raw = obj.get("certificate", obj) if isinstance(obj, dict) else None
    if not isinstance(raw, dict):
        raise NetworkError(f"{path}: no certificate (a two-subgradients verdict of nsad decide --json carries one)")
    cert = Certificate.from_json(raw)
    res = check(net, cert)
    if not res.ok:
        return None, f"{path}: the certificate does not check: {res.reason}"
    return [tuple(g) for g in cert.gradients], ""


def plane(net, i: int, j: int):
    """``(G, C)``: ``G(s, t) = C * F(s e_i + t e_j)`` (coordinates 1-based) as a 2-input network in the
    normal form of exact rewrites (``solvers.network.normal_form``), ``C > 0`` its recorded factor.

    >>> from nsad.networks import ReluNetwork
    >>> g, c = plane(ReluNetwork([[[1, 0, 0], [-1, 0, 0]], [[1, 1]]]), 1, 2)     # |x1| on (x1, x2)
    >>> g.n_inputs, c
    (2, Fraction(1, 1))
    """
    from nsad.networks import ReluNetwork
    from nsad.solvers.network.normal_form import normal_form

    net.require_bias_free("nsad clarke --slice")
    n = int(net.n_inputs)
    if not (1 <= i <= n and 1 <= j <= n and i != j):
        raise ValueError(f"--slice {i} {j}: expected two different coordinates in 1..{n}")
    first, *rest = net.matrices
    nf = normal_form(ReluNetwork([first[:, [i - 1, j - 1]], *rest]))
    return nf.to_network(), nf.factor


def run(args) -> int:
    with naming(args.network, args.certificate):
        return _run(args)


def _run(args) -> int:
    import os
    import sys

    from nsad.errors import NetworkError
    from nsad.experiments.clarke_plot import analyse, format_report, plot, public

    net, _cnf = load_network(args.network)
    net.require_scalar()
    if args.certificate and args.slice:
        raise ValueError("--certificate marks gradients of the whole network; it does not go with --slice")
    marked = None
    if args.certificate:  # checked before any work: a failed check is exit 1
        marked, why = _certificate_gradients(args.certificate, net)
        if marked is None:
            print(f"nsad: {why}", file=sys.stderr)
            return EXIT_PROBLEM
    head, extra = f"{args.network}", {}
    if args.slice:
        i, j = args.slice
        net, factor = plane(net, i, j)
        head += (f": F on the plane of x_{i}, x_{j} (other inputs 0), simplified by exact rewrites to "
                 f"{net.n_units} units" + (f"; shown: C * F with C = {factor}" if factor != 1 else ""))
        extra = {"slice": [i, j], "factor": str(factor)}
    try:
        rep = analyse(net, max_points=args.max_points, seed=args.seed, max_regions=args.max_regions)
    except NetworkError as exc:
        if args.slice or "small networks" not in str(exc):
            raise
        raise NetworkError(f"{args.network}: {exc}; look at a plane through 0 with --slice I J (e.g. --slice 1 2), "
                           f"or decide the question with nsad decide {args.network}") from None
    if args.json:
        emit_json({"file": args.network, **extra, **public(rep)})
    else:
        print(head)
        print(format_report(rep))
    if args.plot:
        files = plot(rep, args.plot, name=os.path.basename(args.network), certificate=marked)
        print(f"plot: {', '.join(files)}", file=sys.stderr)
    return 0
