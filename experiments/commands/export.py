"""`nsad export onnx|vnnlib|vnncomp|npz`: exchange formats for verification tools.

- ``nsad export onnx NET --out NET.onnx``: a network (``.npz``) or a formula (``.cnf``, reduced
  first) to ONNX (``networks.onnx_io``: MatMul/Gemm + Relu, opset 17).
- ``nsad export vnnlib SOURCE --out P.vnnlib [--threshold T]``: the reduction property
  ``exists x in [-1,1]^n with F(x) >= T`` (``reductions.vnnlib``) for a network, a formula, or
  ``--inputs N``.
- ``nsad export vnncomp --suite DIR --out DIR [--timeout S]``: a VNN-COMP benchmark folder
  (``experiments.vnncomp``).
- ``nsad export npz MODEL.onnx --out NET.npz``: the import direction, ONNX back to ``.npz``.

Every command prints one summary line (or one JSON object with ``--json``).
"""

from __future__ import annotations

import os
import time

from nsad.experiments.commands._common import emit_json

_CNF_SUFFIXES = (".cnf", ".cnf.gz", ".dimacs", ".dimacs.gz")


SUMMARY = "export networks and properties to ONNX, VNN-LIB and VNN-COMP folders"  # the one-line help, listed by `nsad --help` without importing the command


def register(sub) -> None:
    p = sub.add_parser("export", help=SUMMARY,
                       description="Exchange formats for neural-network verifiers: ONNX networks, VNN-LIB "
                       "properties, VNN-COMP benchmark folders (and ONNX back to .npz).")
    kind = p.add_subparsers(dest="format", metavar="FORMAT", required=True)

    q = kind.add_parser("onnx", help="a network (.npz) or formula (.cnf) to ONNX",
                        description="Write a ReLU network as ONNX (MatMul or Gemm + Relu, opset 17). A DIMACS "
                        "formula is reduced first (docs/theory.md section 2).")
    q.add_argument("source", help="network (.npz) or DIMACS formula (.cnf, .cnf.gz)")
    q.add_argument("--out", required=True, help="output ONNX file")
    q.add_argument("--dtype", choices=("float32", "float64"), default=None,
                   help="weight type (default: float32 when exact, else float64)")
    q.add_argument("--op", choices=("matmul", "gemm"), default="matmul", help="linear operator (default matmul)")
    q.add_argument("--batch", type=int, default=None, help="fixed batch size (default: symbolic 'batch')")
    q.add_argument("--json", action="store_true", help="print a JSON summary")
    q.set_defaults(func=run)

    v = kind.add_parser("vnnlib", help="the reduction property as VNN-LIB",
                        description="Write 'exists x in [-1,1]^n with F(x) >= T' (sat iff the formula is "
                        "satisfiable) for a network, a formula, or a number of inputs.")
    v.add_argument("source", nargs="?", help="network (.npz) or DIMACS formula (.cnf); or use --inputs")
    v.add_argument("--inputs", type=int, default=None, help="number of inputs n (instead of a source file)")
    v.add_argument("--threshold", default="1/2", help="T in (0, 1], a finite decimal or p/q (default 1/2)")
    v.add_argument("--out", required=True, help="output .vnnlib file")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=run)

    c = kind.add_parser("vnncomp", help="a VNN-COMP benchmark folder from a suite folder",
                        description="Build instances.csv, onnx/, vnnlib/, cnf/ and manifest.json (with the "
                        "expected answers) from a suite folder of DIMACS formulas with a manifest.json.")
    c.add_argument("--suite", required=True, help="suite folder (DIMACS files + manifest.json)")
    c.add_argument("--out", required=True, help="output folder (created; must be new or empty)")
    c.add_argument("--timeout", type=float, default=60.0, help="per-instance timeout in instances.csv (default 60)")
    c.add_argument("--threshold", default="1/2", help="property threshold T in (0, 1] (default 1/2)")
    c.add_argument("--dtype", choices=("float32", "float64"), default=None)
    c.add_argument("--force", action="store_true", help="replace an existing VNN-COMP folder written by nsad")
    c.add_argument("--json", action="store_true", help="print the manifest records as JSON Lines")
    c.set_defaults(func=run)

    n = kind.add_parser("npz", help="an ONNX model back to a .npz network",
                        description="Import a bias-free MatMul/Gemm/Relu/Add ONNX graph as a ReLU network.")
    n.add_argument("source", help="ONNX model")
    n.add_argument("--out", required=True, help="output network (.npz)")
    n.add_argument("--json", action="store_true")
    n.set_defaults(func=run)


def _load_network(path: str):
    """A network from ``.npz``, or the reduction network of a DIMACS formula; also the formula."""
    from nsad.networks import ReluNetwork

    if path.lower().endswith(_CNF_SUFFIXES):
        from nsad.instances import read_dimacs
        from nsad.reductions.sat_to_relu import reduce

        cnf = read_dimacs(path)
        return reduce(cnf), cnf
    return ReluNetwork.load(path), None


def _report(args, summary: dict, line: str) -> int:
    if args.json:
        emit_json(summary)
    else:
        print(line)
    return 0


def run(args) -> int:
    return {"onnx": _run_onnx, "vnnlib": _run_vnnlib, "vnncomp": _run_vnncomp, "npz": _run_npz}[args.format](args)


def _run_onnx(args) -> int:
    from nsad.networks.onnx_io import save_onnx

    t0 = time.perf_counter()
    net, cnf = _load_network(args.source)
    size = save_onnx(net, args.out, dtype=args.dtype, op=args.op, batch=args.batch)
    secs = time.perf_counter() - t0
    summary = {"source": args.source, "out": args.out, "bytes": size, "seconds": round(secs, 6),
               **net.describe()}
    if cnf is not None:
        summary.update(n=cnf.num_vars, m=cnf.num_clauses)
    return _report(args, summary, f"{args.source} -> {args.out}: {size} bytes, depth {net.depth}, "
                   f"{net.n_units} units, in {secs * 1e3:.1f} ms")


def _run_vnnlib(args) -> int:
    from nsad.reductions.vnnlib import VnnlibError, decimal, reduction_property, write_vnnlib

    if (args.source is None) == (args.inputs is None):
        raise VnnlibError("give either a source file (.npz or .cnf) or --inputs N")
    if args.source is not None:
        net, _ = _load_network(args.source)
        prop = reduction_property(net, args.threshold)
        what = args.source
    else:
        prop = reduction_property(args.inputs, args.threshold)
        what = f"n = {args.inputs}"
    t = prop.outputs[0].value
    write_vnnlib(args.out, prop, comments=[
        f"nsad reduction property ({what}): exists x in [-1,1]^{prop.n_inputs} with F(x) >= {decimal(t)}",
        "a verifier's sat (a witness exists) means the formula is satisfiable",
    ])
    summary = {"source": args.source, "out": args.out, "inputs": prop.n_inputs, "threshold": decimal(t)}
    return _report(args, summary, f"{what} -> {args.out}: exists x in [-1,1]^{prop.n_inputs} with F(x) >= {decimal(t)}")


def _run_vnncomp(args) -> int:
    from nsad.experiments.vnncomp import build_vnncomp

    t0 = time.perf_counter()
    records = build_vnncomp(args.suite, args.out, timeout=args.timeout, threshold=args.threshold,
                            dtype=args.dtype, force=args.force, progress=not args.json)
    secs = time.perf_counter() - t0
    if args.json:
        for r in records:
            emit_json(r)
        return 0
    total = sum(r["onnx_bytes"] for r in records)
    print(f"wrote {len(records)} instances to {args.out} ({total} ONNX bytes) in {secs:.2f} s: "
          f"{os.path.join(args.out, 'instances.csv')}")
    return 0


def _run_npz(args) -> int:
    from nsad.networks.onnx_io import load_onnx

    t0 = time.perf_counter()
    net = load_onnx(args.source)
    net.save(args.out)
    secs = time.perf_counter() - t0
    summary = {"source": args.source, "out": args.out, "seconds": round(secs, 6), **net.describe()}
    return _report(args, summary, f"{args.source} -> {args.out}: depth {net.depth}, widths {list(net.widths)[:8]}"
                   f"{'...' if net.depth > 8 else ''}, in {secs * 1e3:.1f} ms")
