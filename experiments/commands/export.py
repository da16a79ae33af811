"""`nsad export onnx|vnnlib|vnncomp|npz`: exchange formats for verification tools.

- ``nsad export onnx NET --out NET.onnx``: a network (``.npz``) or a formula (``.cnf``, reduced
  first) to ONNX (``networks.onnx_io``: MatMul/Gemm + Relu, opset 17).
- ``nsad export vnnlib SOURCE --out P.vnnlib [--threshold T]``: the reduction property
  ``exists x in [-1,1]^n with F(x) >= T`` (``reductions.vnnlib``) for a network, a formula, or
  ``--inputs N``.
- ``nsad export vnncomp FILE|FOLDER... --out DIR [--time-limit S]``: a VNN-COMP benchmark folder
  (``experiments.vnncomp``) from a suite folder (with its manifest.json) or plain DIMACS files and
  folders (their expected answers computed by a SAT solver, and said so).
- ``nsad export npz MODEL.onnx --out NET.npz``: the import direction, ONNX back to ``.npz``.

Every command prints one summary line (or one JSON object with ``--json``).
"""

from __future__ import annotations

import os
import time

import argparse

from nsad.experiments.commands._common import (add_alias, add_json, add_solver, add_time_limit, emit_json, load_network,
                                               naming, positive_int)


SUMMARY = "export networks and properties to ONNX, VNN-LIB and VNN-COMP folders"  # the one-line help, listed by `nsad --help` without importing the command


def register(sub) -> None:
    p = sub.add_parser("export", help=SUMMARY,
                       description="Exchange formats for neural-network verifiers: ONNX networks, VNN-LIB "
                       "properties, VNN-COMP benchmark folders (and ONNX back to .npz).")
    kind = p.add_subparsers(dest="format", metavar="FORMAT", required=True)

    q = kind.add_parser("onnx", help="a network (.npz) or formula (.cnf) to ONNX",
                        description="Write a ReLU network as ONNX (MatMul or Gemm + Relu, opset 17). A DIMACS "
                        "formula is reduced first (docs/theory.md section 2).")
    q.add_argument("file", metavar="FILE", help="network (.npz) or DIMACS formula (.cnf, .cnf.gz)")
    q.add_argument("--out", required=True, metavar="FILE", help="output ONNX file")
    q.add_argument("--dtype", choices=("float32", "float64"), default=None,
                   help="weight type (default: float32 when exact, else float64)")
    q.add_argument("--op", choices=("matmul", "gemm"), default="matmul", help="linear operator (default matmul)")
    q.add_argument("--batch", type=positive_int, default=None, metavar="B",
                   help="fixed batch size (default: symbolic 'batch')")
    add_json(q, help="print a JSON summary")
    q.set_defaults(func=run)

    v = kind.add_parser("vnnlib", help="the reduction property as VNN-LIB",
                        description="Write 'exists x in [-1,1]^n with F(x) >= T' (sat iff the formula is "
                        "satisfiable) for a network, a formula, or a number of inputs.")
    v.add_argument("file", metavar="FILE", nargs="?", help="network (.npz) or DIMACS formula (.cnf); or use --inputs")
    v.add_argument("--inputs", type=positive_int, default=None, metavar="N",
                   help="number of inputs n (instead of a file)")
    v.add_argument("--threshold", default="1/2", metavar="T", help="T in (0, 1], a finite decimal or p/q (default 1/2)")
    v.add_argument("--out", required=True, metavar="FILE", help="output .vnnlib file")
    add_json(v, help="print a JSON summary")
    v.set_defaults(func=run)

    c = kind.add_parser("vnncomp", help="a VNN-COMP benchmark folder from formulas",
                        description="Build instances.csv, onnx/, vnnlib/, cnf/ and manifest.json (with the "
                        "expected answers) from a suite folder (DIMACS files with a manifest.json) or from plain "
                        "DIMACS files and folders of them, whose expected answers are computed by --solver (each "
                        "record's expected_by says which).")
    c.add_argument("inputs", nargs="*", metavar="FILE",
                   help="suite folder, or DIMACS files / folders of them (first on the line, or after --)")
    c.add_argument("--suite", action="append", default=[], metavar="DIR", help=argparse.SUPPRESS)
    c.add_argument("--out", required=True, metavar="DIR", help="output folder (created; must be new or empty)")
    tl = add_time_limit(c, default=60.0, help="per-instance time limit written to instances.csv, also the "
                        "solver's limit when it labels a formula (default 60)")
    add_alias(c, "--timeout", tl)
    c.add_argument("--threshold", default="1/2", metavar="T", help="property threshold T in (0, 1] (default 1/2)")
    c.add_argument("--dtype", choices=("float32", "float64"), default=None,
                   help="ONNX weight type (default: float32 when exact, else float64)")
    add_solver(c, help="formula solver that labels formulas no manifest labels")
    c.add_argument("--force", action="store_true", help="replace an existing VNN-COMP folder written by nsad")
    add_json(c, help="print the manifest records as JSON Lines")
    c.set_defaults(func=run)

    n = kind.add_parser("npz", help="an ONNX model back to a .npz network",
                        description="Import a bias-free MatMul/Gemm/Relu/Add ONNX graph as a ReLU network.")
    n.add_argument("file", metavar="FILE", help="ONNX model")
    n.add_argument("--out", required=True, metavar="FILE", help="output network (.npz)")
    add_json(n, help="print a JSON summary")
    n.set_defaults(func=run)


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
    net, cnf = load_network(args.file)
    size = save_onnx(net, args.out, dtype=args.dtype, op=args.op, batch=args.batch)
    secs = time.perf_counter() - t0
    summary = {"file": args.file, "out": args.out, "bytes": size, "seconds": round(secs, 6),
               **net.describe()}
    if cnf is not None:
        summary.update(n=cnf.num_vars, m=cnf.num_clauses)
    return _report(args, summary, f"{args.file} -> {args.out}: {size} bytes, depth {net.depth}, "
                   f"{net.n_units} units, in {secs * 1e3:.1f} ms")


def _run_vnnlib(args) -> int:
    from nsad.reductions.vnnlib import VnnlibError, decimal, reduction_property, write_vnnlib

    if (args.file is None) == (args.inputs is None):
        raise VnnlibError("give either a file (.npz or .cnf) or --inputs N")
    if args.file is not None:
        net, _ = load_network(args.file)
        with naming(args.file):
            prop = reduction_property(net, args.threshold)
        what = args.file
    else:
        prop = reduction_property(args.inputs, args.threshold)
        what = f"n = {args.inputs}"
    t = prop.outputs[0].value
    write_vnnlib(args.out, prop, comments=[
        f"nsad reduction property ({what}): exists x in [-1,1]^{prop.n_inputs} with F(x) >= {decimal(t)}",
        "a verifier's sat (a witness exists) means the formula is satisfiable",
    ])
    summary = {"file": args.file, "out": args.out, "inputs": prop.n_inputs, "threshold": decimal(t)}
    return _report(args, summary, f"{what} -> {args.out}: exists x in [-1,1]^{prop.n_inputs} with F(x) >= {decimal(t)}")


def _run_vnncomp(args) -> int:
    from nsad.experiments.vnncomp import build_vnncomp

    from nsad.experiments.vnncomp import VnncompError
    from nsad.solvers import FORMULA_SOLVERS

    inputs = list(args.inputs) + list(args.suite)
    if not inputs:
        raise VnncompError("give a suite folder, or DIMACS files or folders of them")
    t0 = time.perf_counter()
    records = build_vnncomp(inputs, args.out, timeout=args.time_limit, threshold=args.threshold,
                            dtype=args.dtype, force=args.force, progress=not args.json,
                            label_solver=FORMULA_SOLVERS.canonical(args.solver))
    secs = time.perf_counter() - t0
    if args.json:
        for r in records:
            emit_json(r)
        return 0
    total = sum(r["onnx_bytes"] for r in records)
    by: dict = {}
    for r in records:
        by[r.get("expected_by")] = by.get(r.get("expected_by"), 0) + 1
    print(f"wrote {len(records)} instances to {args.out} ({total} ONNX bytes) in {secs:.2f} s: "
          f"{os.path.join(args.out, 'instances.csv')}")
    unknown = sum(r["expected"] is None for r in records)
    print("expected answers: " + ", ".join(f"{k} from the manifest" if w == "manifest" else f"{k} computed by {w}"
                                           for w, k in by.items())
          + (f" ({unknown} unknown: null)" if unknown else ""))
    return 0


def _run_npz(args) -> int:
    from nsad.networks.onnx_io import load_onnx

    t0 = time.perf_counter()
    net = load_onnx(args.file)
    net.save(args.out)
    secs = time.perf_counter() - t0
    summary = {"file": args.file, "out": args.out, "seconds": round(secs, 6), **net.describe()}
    return _report(args, summary, f"{args.file} -> {args.out}: depth {net.depth}, widths {list(net.widths)[:8]}"
                   f"{'...' if net.depth > 8 else ''}, in {secs * 1e3:.1f} ms")
