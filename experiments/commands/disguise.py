"""`nsad disguise NET.npz --seed S --out OUT.npz`: hide a network's structure by exact rewrites."""

from __future__ import annotations

from nsad.experiments.commands._common import (add_alias, add_json, add_list, add_seed, emit_json, naming,
                                               positive_float)


SUMMARY = "rewrite a network into an exactly equivalent one that hides its structure"  # the one-line help, listed by `nsad --help` without importing the command


def register(sub) -> None:
    from nsad.networks.disguise import DEFAULT_KINDS, KINDS

    p = sub.add_parser(
        "disguise", help=SUMMARY,
        description="Apply a seeded random composition of exact rewrites (identity layers, positive row "
        "scaling, unit splits, cancelling groups, permutations; optionally negated units and the "
        "min-sign-fact rewrite, which the deciders' normal form does not undo). The result computes "
        "C * F for a recorded integer C > 0, has integer weights and at most --max-growth times the "
        "units and nonzeros; the seed, C and every step are stored in the file's provenance.")
    p.add_argument("network", help="network file (.npz)")
    p.add_argument("--out", required=True, metavar="FILE", help="output network file (.npz)")
    add_seed(p, help="random seed of the rewrites")
    kind = add_list(p, "--kind", default=list(DEFAULT_KINDS), allowed=KINDS, metavar="KIND",
                    help=f"rewrite kinds to draw from, one or more (default: {' '.join(DEFAULT_KINDS)}; all: "
                    f"{' '.join(KINDS)})")
    add_alias(p, "--kinds", kind)
    p.add_argument("--max-growth", type=positive_float, default=2.0,
                   help="size bound: units and nonzeros at most this times the input's (default 2)")
    add_json(p, help="print the result as one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    from nsad.networks import ReluNetwork, read_provenance
    from nsad.networks.disguise import disguise_network

    net = ReluNetwork.load(args.network)
    with naming(args.network, args.out):
        out, record = disguise_network(net, args.seed, kinds=args.kind, max_growth=args.max_growth,
                                       source=read_provenance(args.network))
    out.save(args.out, provenance=record)
    summary = {"file": args.network, "out": args.out, "seed": args.seed, "factor": record["factor"],
               "steps": len(record["steps"]), "kinds": sorted({s["kind"] for s in record["steps"]}),
               "units": [net.n_units, out.n_units], "nnz": [net.nnz, out.nnz], "depth": [net.depth, out.depth]}
    if args.json:
        emit_json(summary)
    else:
        print(f"{args.network} -> {args.out}: {len(record['steps'])} rewrites ({', '.join(summary['kinds'])}), "
              f"F multiplied by C = {record['factor']}; units {net.n_units} -> {out.n_units}, "
              f"nonzeros {net.nnz} -> {out.nnz}, depth {net.depth} -> {out.depth}")
    return 0
