"""`nsad generate random|planted|suite ...`: write DIMACS formulas plus a manifest.json.

The i-th formula of a run with seed S is drawn from ``instances.formula_rng(S, i)`` (numpy
``SeedSequence([S, i])``), the same derivation ``nsad verify`` and every executor use.
Manifest records: ``file, family, parameters, seed, n, m, sha256, expected``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile

from nsad.experiments.commands._common import emit_json, nonneg_int, positive_float, positive_int


SUMMARY = "generate formula families as DIMACS files with a manifest"  # the one-line help, listed by `nsad --help` without importing the command


def register(sub) -> None:
    p = sub.add_parser("generate", help=SUMMARY,
                       description="Write DIMACS formulas with provenance comments and a manifest.json.")
    fam = p.add_subparsers(dest="family", metavar="FAMILY", required=True)
    for name, helptext in (("random", "uniform random k-SAT"), ("planted", "planted satisfiable k-SAT")):
        q = fam.add_parser(name, help=helptext, description=f"{helptext}; m = round(R n) with --ratio R.")
        q.add_argument("--n", type=positive_int, required=True, help="number of variables")
        g = q.add_mutually_exclusive_group(required=True)
        g.add_argument("--m", type=nonneg_int, help="number of clauses")
        g.add_argument("--ratio", type=positive_float, help="clause/variable ratio (m = round(R n))")
        q.add_argument("--k", type=positive_int, default=3, help="literals per clause (default 3)")
        q.add_argument("--count", type=positive_int, default=1, help="number of formulas (default 1)")
        q.add_argument("--seed", type=nonneg_int, default=0, help="run seed (default 0)")
        q.add_argument("--out", required=True, help="output folder (created)")
        q.add_argument("--json", action="store_true", help="print the manifest records as JSON Lines")
        q.set_defaults(func=run)
    s = fam.add_parser("suite", help="a folder of formulas from a TOML spec",
                       description="Generate a suite of families from a TOML spec (see nsad.instances.suites); entries "
                       "with name = \"disguised\" also write each formula's network disguised by exact rewrites "
                       "(see nsad.experiments.network_suites).")
    s.add_argument("--spec", required=True, help="suite spec (.toml)")
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("--force", action="store_true", help="overwrite an existing suite folder")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=run_suite)


def _atomic_write(path: str, text: str) -> None:
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def run(args) -> int:
    from nsad.instances import GENERATORS, expected_label, format_dimacs

    from nsad import limits as L
    from nsad.instances.generators import check_formula_size, formula_size

    family = {"random": "random-ksat", "planted": "planted-ksat"}[args.family]
    gen = GENERATORS[family]
    # the whole request is estimated before anything is written (nsad limits)
    size = formula_size(gen, n=args.n, m=args.m, ratio=args.ratio, k=args.k)
    check_formula_size(size, "each formula")
    L.check("max_grid_tasks", args.count, f"--count asks for {args.count} formulas")
    total = args.count * size.dimacs_bytes
    L.check("max_output_bytes", total, f"{args.count} formulas would take about {total} bytes")
    os.makedirs(args.out, exist_ok=True)
    records = []
    width = len(str(args.count - 1))
    from nsad.experiments.progress import Progress

    with Progress(args.count, f"generate {family}", enabled=args.count >= 200) as bar:
        for i in range(args.count):
            cnf = gen(args.n, m=args.m, ratio=args.ratio, k=args.k, seed=args.seed, index=i)
            name = f"{args.family}-n{args.n}-m{cnf.num_clauses}-s{args.seed}-{i:0{width}d}.cnf"
            text = format_dimacs(cnf)
            _atomic_write(os.path.join(args.out, name), text)
            records.append({
                "file": name, "family": family,
                "parameters": {"n": args.n, "m": cnf.num_clauses, "k": args.k, "ratio": args.ratio, "index": i},
                "seed": args.seed, "n": cnf.num_vars, "m": cnf.num_clauses,
                "sha256": hashlib.sha256(text.encode()).hexdigest(),
                "expected": expected_label(cnf),
            })
            bar.update()
    _atomic_write(os.path.join(args.out, "manifest.json"), json.dumps(records, indent=1) + "\n")
    return _report(records, args)


def run_suite(args) -> int:
    import json as _json

    from nsad.experiments.network_suites import generate_network_suite

    nets = generate_network_suite(args.spec, args.out, overwrite=args.force)
    with open(os.path.join(args.out, "manifest.json"), encoding="utf-8") as fh:
        records = _json.load(fh)
    code = _report(records, args)
    if nets and not args.json:
        print(f"wrote {len(nets)} disguised networks and networks.json to {args.out}")
    return code


def _report(records: list, args) -> int:
    if args.json:
        for r in records:
            emit_json(r)
    else:
        print(f"wrote {len(records)} formulas and manifest.json to {args.out}")
    return 0
