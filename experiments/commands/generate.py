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

from nsad.experiments.commands._common import (add_count, add_json, add_n, add_ratio, add_seed, emit_json, nonneg_int,
                                               positive_int)


SUMMARY = "generate formula families as DIMACS files with a manifest"  # the one-line help, listed by `nsad --help` without importing the command


def register(sub) -> None:
    p = sub.add_parser("generate", help=SUMMARY,
                       description="Write DIMACS formulas with provenance comments and a manifest.json.")
    fam = p.add_subparsers(dest="family", metavar="FAMILY", required=True)
    for name, helptext in (("random", "uniform random k-SAT"), ("planted", "planted satisfiable k-SAT")):
        q = fam.add_parser(name, help=helptext,
                           description=f"{helptext}; m = round(R n) with --ratio R. Files are named "
                           f"{name}-nN-mM[-kK]-sS-III.cnf (III the index, 3 digits or more; -kK when k != 3). "
                           "Into a folder that already has a manifest.json, the new records are merged: the "
                           "others are kept, a file of the same name is replaced (and said so).")
        add_n(q, many=False, required=True, help="number of variables")
        g = q.add_mutually_exclusive_group(required=True)
        g.add_argument("--m", type=nonneg_int, metavar="M", help="number of clauses")
        add_ratio(g, many=False, help="clause/variable ratio (m = round(R n))")
        q.add_argument("--k", type=positive_int, default=3, metavar="K", help="literals per clause (default 3)")
        add_count(q, default=1, help="number of formulas")
        add_seed(q)
        q.add_argument("--out", required=True, metavar="DIR", help="output folder (created, or merged into)")
        add_json(q, help="print the manifest records written, one JSON object per line")
        q.set_defaults(func=run)
    s = fam.add_parser("suite", help="a folder of formulas from a TOML spec",
                       description="Generate a suite of families from a TOML spec. An example with every family "
                       "is examples/suite.toml in the source tree; the "
                       "schema is in the docstring of nsad.instances.suites. Entries with name = \"disguised\" "
                       "also write each formula's network disguised by exact rewrites "
                       "(see nsad.experiments.network_suites).")
    s.add_argument("--spec", required=True, metavar="FILE",
                   help="suite spec (.toml); examples/suite.toml (source tree) has every family")
    s.add_argument("--out", required=True, metavar="DIR", help="output folder")
    s.add_argument("--force", action="store_true", help="overwrite an existing suite folder")
    add_json(s, help="print the manifest records, one JSON object per line")
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
    old = _existing_manifest(args.out)
    os.makedirs(args.out, exist_ok=True)
    records = []
    width = max(3, len(str(args.count - 1)))
    kpart = f"-k{args.k}" if args.k != 3 else ""
    from nsad.experiments.progress import Progress

    with Progress(args.count, f"generate {family}", enabled=args.count >= 200) as bar:
        for i in range(args.count):
            cnf = gen(args.n, m=args.m, ratio=args.ratio, k=args.k, seed=args.seed, index=i)
            name = f"{args.family}-n{args.n}-m{cnf.num_clauses}{kpart}-s{args.seed}-{i:0{width}d}.cnf"
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
    merged, kept, replaced, changed = _merge(old, records)
    _atomic_write(os.path.join(args.out, "manifest.json"), json.dumps(merged, indent=1) + "\n")
    if old is not None and not args.json:
        print(f"merged into the existing manifest.json of {args.out}: {kept} records kept, {len(records)} written"
              + (f" ({replaced} of them rewrote files of the same name, {changed} with different contents)"
               if replaced else ""))
    return _report(records, args)


def _existing_manifest(folder: str) -> list | None:
    """The records of ``folder/manifest.json`` (``None`` without one); one that is not a list of
    records is refused before anything is written."""
    from nsad import limits as L
    from nsad.errors import CnfError

    path = os.path.join(folder, "manifest.json")
    if not os.path.exists(path):
        return None
    obj = L.load_json(path, error=CnfError, what="the manifest")
    if not isinstance(obj, list) or not all(isinstance(r, dict) and isinstance(r.get("file"), str) for r in obj):
        raise CnfError(f"{path}: not an nsad manifest (expected a list of records with a 'file'); refusing to "
                       f"write into this folder (choose another --out)")
    return obj


def _merge(old: list | None, new: list) -> tuple[list, int, int, int]:
    """``(records, kept, replaced, changed)``: the old records whose file is not rewritten, then the
    new ones; ``changed`` counts the rewritten files whose contents differ.

    >>> _merge([{"file": "a", "sha256": 1}, {"file": "b", "sha256": 2}], [{"file": "b", "sha256": 3}])
    ([{'file': 'a', 'sha256': 1}, {'file': 'b', 'sha256': 3}], 1, 1, 1)
    """
    if not old:
        return list(new), 0, 0, 0
    digest = {r["file"]: r.get("sha256") for r in new}
    kept = [r for r in old if r["file"] not in digest]
    changed = sum(1 for r in old if r["file"] in digest and r.get("sha256") != digest[r["file"]])
    return kept + list(new), len(kept), len(old) - len(kept), changed


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
