"""`nsad list [solvers|deciders|families|formats]`: what the registries hold (with --json)."""

from __future__ import annotations

from nsad.experiments.commands._common import add_json, emit_json

SUMMARY = "list the formula solvers, network deciders, formula families and file formats"  # the one-line help, listed by `nsad --help` without importing the command

KINDS = ("solvers", "deciders", "families", "formats")

# The file formats nsad reads and writes: (name, suffixes, what reads it, what writes it).
FORMATS = (
    ("dimacs", ".cnf .cnf.gz .dimacs", "solve, reduce, decide, verify, bench deciders, export", "generate"),
    ("network", ".npz", "decide, check, disguise, clarke, export onnx|vnnlib", "reduce, disguise, export npz"),
    ("onnx", ".onnx", "export npz", "export onnx, export vnncomp"),
    ("vnnlib", ".vnnlib", "(verifiers)", "export vnnlib, export vnncomp"),
    ("vnncomp", "folder: instances.csv onnx/ vnnlib/ cnf/ manifest.json", "(verifiers)", "export vnncomp"),
    ("suite-spec", ".toml (examples/suite.toml)", "generate suite", "-"),
    ("manifest", "manifest.json", "verify, bench deciders, export vnncomp", "generate"),
    ("verdict", ".json (JSON Lines)", "check", "decide --json"),
    ("drup", ".drup (or a verdict's drup field)", "check --proof", "decide --proof --json"),
    ("results", ".db (SQLite)", "report, results", "verify, scale, matmul, cheapgrad, kinks"),
    ("export", "csv jsonl parquet", "-", "results export"),
)


def _kind(text: str) -> str:
    import argparse

    if text not in KINDS:
        raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from {', '.join(KINDS)})")
    return text


def register(sub) -> None:
    p = sub.add_parser("list", help=SUMMARY,
                       description="List what the registries hold: formula solvers (--solver), network deciders "
                       "(--method), formula families (generate, suite specs) and file formats; all four without "
                       "an argument.")
    p.add_argument("kinds", nargs="*", type=_kind, metavar="KIND",
                   help=f"what to list, one or more of {', '.join(KINDS)} (default: all)")
    add_json(p, help="one JSON object per entry: {kind, name, aliases, summary, ...}")
    p.set_defaults(func=run)


def entries(kind: str) -> list[dict]:
    """The entries of one kind, as JSON-ready dicts.

    >>> any(e["name"] == "cadical195" for e in entries("solvers")), entries("formats")[0]["name"]
    (True, 'dimacs')
    """
    if kind == "solvers":
        from nsad.solvers import DEFAULT_FORMULA_SOLVER, FORMULA_SOLVERS

        return [{"kind": "solver", "name": e.name, "aliases": list(e.aliases), "summary": e.summary,
                 "default": e.name == DEFAULT_FORMULA_SOLVER}
                for e in (FORMULA_SOLVERS.entry(n) for n in FORMULA_SOLVERS.names())]
    if kind == "deciders":
        from nsad.solvers.network.table import DECIDERS, DEFAULT_NETWORK_METHOD

        out = []
        for name in DECIDERS.names():
            spec = DECIDERS.get(name)
            out.append({"kind": "decider", "name": name, "aliases": list(spec.aliases), "summary": spec.summary,
                        "complete_for": spec.complete_for, "singleton": spec.singleton,
                        "proof": spec.accepts_proof, "default": name == DEFAULT_NETWORK_METHOD})
        return out
    if kind == "families":
        from nsad.experiments.network_suites import DISGUISED
        from nsad.instances.suites import families

        fams = [{"kind": "family", "name": n, "aliases": list(a), "generate": n in ("random-ksat", "planted-ksat")}
                for n, a in families().items()]
        return fams + [{"kind": "family", "name": DISGUISED, "aliases": [], "generate": False}]
    return [{"kind": "format", "name": n, "files": f, "read_by": r, "written_by": w} for n, f, r, w in FORMATS]


def run(args) -> int:
    for kind in args.kinds or KINDS:
        rows = entries(kind)
        if args.json:
            for r in rows:
                emit_json(r)
            continue
        print(f"{kind}:")
        for r in rows:
            alias = f" ({', '.join(r['aliases'])})" if r.get("aliases") else ""
            default = " [default]" if r.get("default") else ""
            if kind == "formats":
                print(f"  {r['name']:<11} {r['files']}; read by: {r['read_by']}; written by: {r['written_by']}")
            elif kind == "families":
                print(f"  {r['name']}{alias}" + ("  (also: nsad generate random|planted)" if r["generate"] else ""))
            else:
                print(f"  {r['name']}{alias}{default}: {r['summary']}")
    return 0
