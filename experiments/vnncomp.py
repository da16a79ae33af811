"""VNN-COMP benchmark folders built from a suite folder of DIMACS formulas.

Input: a *suite folder*, DIMACS files plus ``manifest.json``, a JSON list of records
``{file, family, parameters, seed, n, m, sha256, expected}`` (``file`` relative to the folder,
``sha256`` the hex digest of the file's bytes, ``expected`` ``"sat"``, ``"unsat"`` or ``null``).

Output (``build_vnncomp``), the layout of VNN-COMP benchmarks plus our records::

    OUT/instances.csv          no header; rows  onnx/NAME.onnx,vnnlib/NAME.vnnlib,TIMEOUT
    OUT/onnx/NAME.onnx         the reduction network (networks.onnx_io: MatMul + Relu, opset 17)
    OUT/vnnlib/NAME.vnnlib     exists x in [-1,1]^n with F(x) >= t (reductions.vnnlib)
    OUT/cnf/NAME.cnf           a byte-for-byte copy of the formula (same sha256)
    OUT/manifest.json          the suite records, each with file -> cnf/NAME.cnf and the added keys
                               name, onnx, vnnlib, timeout, threshold, source_file, inputs, depth,
                               units, nnz, onnx_bytes

A verifier's expected answer on ``NAME`` is the record's ``expected``: ``sat`` (a witness exists) iff
the formula is satisfiable (the argument is in ``reductions.vnnlib``). ``OUT`` is itself a suite folder.

``NAME`` is ``file`` without its ``.cnf`` / ``.cnf.gz`` / ``.dimacs`` suffix, folder separators and
other characters outside ``[A-Za-z0-9._-]`` replaced by ``_``; two records with the same ``NAME`` are
an error. The folder is built in a temporary sibling and renamed into place at the end, so ``OUT`` is
either absent, the previous folder, or complete. An existing non-empty ``OUT`` is replaced only with
``force=True`` and only when it looks like a folder this module wrote (``instances.csv`` and
``manifest.json`` present).
"""

from __future__ import annotations

from nsad import limits as _limits
from nsad.errors import ExportError

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from fractions import Fraction

__all__ = ["VnncompError", "build_vnncomp", "read_suite_manifest", "read_instances_csv", "instance_name"]

DEFAULT_TIMEOUT = 60.0
_SUFFIXES = (".cnf.gz", ".cnf.xz", ".cnf", ".dimacs.gz", ".dimacs", ".gz")


VnncompError = ExportError  # the name this module used before nsad.errors


def instance_name(file: str) -> str:
    """The instance name of a suite file (see the module docstring).

    >>> instance_name("uf20-01.cnf"), instance_name("random/n5 m20.cnf.gz")
    ('uf20-01', 'random_n5_m20')
    """
    base = file.replace("\\", "/")
    for suf in _SUFFIXES:
        if base.lower().endswith(suf):
            base = base[: -len(suf)]
            break
    name = re.sub(r"[^A-Za-z0-9._-]", "_", base.strip("/"))
    return name or "instance"


def read_suite_manifest(suite_dir, *, limits=None) -> list[dict]:
    """The records of ``SUITE/manifest.json``, validated (``file`` inside the folder, ``expected`` in
    ``sat``/``unsat``/``null``). The JSON reader's limits apply (:func:`nsad.limits.load_json`), and
    ``max_records``.

    >>> read_suite_manifest("/nonexistent-suite")
    Traceback (most recent call last):
    ...
    nsad.errors.ExportError: /nonexistent-suite: no such folder
    """
    suite = os.fspath(suite_dir)
    if not os.path.isdir(suite):
        raise VnncompError(f"{suite}: no such folder")
    path = os.path.join(suite, "manifest.json")
    if not os.path.isfile(path):
        raise VnncompError(f"{path}: no manifest.json in the suite folder")
    records = _limits.load_json(path, limits, error=VnncompError, what="the manifest")
    if isinstance(records, dict) and isinstance(records.get("records"), list):
        records = records["records"]
    if not isinstance(records, list):
        raise VnncompError(f"{path}: the manifest must be a JSON list of records")
    _limits.check("max_records", len(records), f"the manifest has {len(records)} records", location=path,
                  limits=limits)
    root = os.path.realpath(suite)
    for i, rec in enumerate(records):
        if not isinstance(rec, dict) or not isinstance(rec.get("file"), str) or not rec["file"]:
            raise VnncompError(f"{path}: record {i} has no 'file' string")
        target = os.path.realpath(os.path.join(suite, rec["file"]))
        if os.path.isabs(rec["file"]) or not target.startswith(root + os.sep):
            raise VnncompError(f"{path}: record {i}: file {rec['file']!r} is outside the suite folder")
        if rec.get("expected") not in ("sat", "unsat", None):
            raise VnncompError(f"{path}: record {i}: expected must be 'sat', 'unsat' or null, got {rec.get('expected')!r}")
    return records


def read_instances_csv(path, *, limits=None) -> list[tuple[str, str, float]]:
    """The rows ``(onnx, vnnlib, timeout)`` of a VNN-COMP ``instances.csv`` (no header).

    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "instances.csv")
    >>> _ = open(p, "w").write("onnx/a.onnx,vnnlib/a.vnnlib,60\\n")
    >>> read_instances_csv(p)
    [('onnx/a.onnx', 'vnnlib/a.vnnlib', 60.0)]
    """
    rows = []
    lim = _limits.resolve(limits)
    text = _limits.read_text(os.fspath(path), lim, error=VnncompError, what="instances.csv")
    for lineno, line in enumerate(text.splitlines(keepends=True), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.rstrip("\n").split(",")]
        if len(parts) != 3:
            raise VnncompError(f"{path}:{lineno}: expected 3 comma-separated fields, got {len(parts)}")
        try:
            t = float(parts[2])
        except ValueError:
            raise VnncompError(f"{path}:{lineno}: timeout {parts[2][:40]!r} is not a number") from None
        rows.append((parts[0], parts[1], t))
        _limits.check("max_records", len(rows), f"more than {len(rows)} instances", location=f"{path}:{lineno}",
                      limits=lim)
    return rows


def _timeout_text(t: float) -> str:
    return str(int(t)) if float(t).is_integer() else repr(float(t))


def _prepare_out(out: str, force: bool) -> None:
    if os.path.lexists(out) and not os.path.isdir(out):
        raise VnncompError(f"{out}: exists and is not a folder")
    if os.path.isdir(out) and os.listdir(out):
        ours = os.path.isfile(os.path.join(out, "instances.csv")) and os.path.isfile(os.path.join(out, "manifest.json"))
        if not force:
            raise VnncompError(f"{out}: folder exists and is not empty (use --force to replace a VNN-COMP folder)")
        if not ours:
            raise VnncompError(f"{out}: not a VNN-COMP folder written by nsad (no instances.csv and manifest.json); "
                              f"refusing to replace it")


def input_records(inputs, *, label_solver: str = "cadical195", time_limit: float | None = None,
                  limits=None) -> list[tuple[str, dict]]:
    """``(source path, record)`` per formula of ``inputs``: a suite folder (its ``manifest.json``
    gives the records), or DIMACS files and folders of them without a manifest. Formulas without a
    manifest record get ``family "file"``, their ``n``, ``m`` and ``sha256``. Every formula whose
    expected answer no manifest gives (no record, or ``expected: null``) is labelled by
    ``label_solver`` (``"unknown"`` past ``time_limit`` stays null); ``expected_by`` says where each
    label came from (``"manifest"`` or the solver's name).

    >>> import os, tempfile
    >>> d = tempfile.mkdtemp(); _ = open(os.path.join(d, "a.cnf"), "w").write("p cnf 1 2\\n1 0\\n-1 0\\n")
    >>> [(os.path.basename(src), r["expected"], r["expected_by"]) for src, r in input_records([d])]
    [('a.cnf', 'unsat', 'cadical195')]
    """
    from nsad.instances import read_dimacs
    from nsad.solvers import FORMULA_SOLVERS, solve_formula

    paths = [os.fspath(inputs)] if isinstance(inputs, (str, os.PathLike)) else [os.fspath(p) for p in inputs]
    out: list[tuple[str, dict]] = []
    loose: list[str] = []
    for path in paths:
        if os.path.isdir(path) and os.path.isfile(os.path.join(path, "manifest.json")):
            for rec in read_suite_manifest(path, limits=limits):
                out.append((os.path.join(path, rec["file"]), {**rec, "expected_by": "manifest"}))
        elif os.path.isdir(path):
            found = sorted(f for f in os.listdir(path) if f.lower().endswith(_SUFFIXES)
                           and os.path.isfile(os.path.join(path, f)))
            if not found:
                raise VnncompError(f"{path}: no DIMACS files (*.cnf, *.cnf.gz, *.dimacs) and no manifest.json")
            loose.extend(os.path.join(path, f) for f in found)
        elif os.path.isfile(path):
            loose.append(path)
        else:
            raise VnncompError(f"{path}: no such file or folder")
    solver = FORMULA_SOLVERS.canonical(label_solver)
    for src in loose:
        with open(src, "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()
        cnf = read_dimacs(src)
        out.append((src, {"file": os.path.basename(src), "family": "file", "parameters": {}, "seed": None,
                          "n": cnf.num_vars, "m": cnf.num_clauses, "sha256": digest, "expected": None}))
    _limits.check("max_records", len(out), f"{len(out)} formulas", limits=limits)
    for src, rec in out:  # the labels no manifest gives: the solver's answers
        if rec.get("expected") is None:
            v = solve_formula(read_dimacs(src), solver=solver, time_limit=time_limit)
            rec.update(expected=v.answer if v.answer in ("sat", "unsat") else None, expected_by=solver)
    return out


def build_vnncomp(suite_dir, out_dir, *, timeout: float = DEFAULT_TIMEOUT, threshold=Fraction(1, 2),
                  dtype=None, force: bool = False, progress: bool = False, label_solver: str = "cadical195") -> list[dict]:
    """Write the VNN-COMP folder of a suite (module docstring); returns the output manifest records.

    ``suite_dir``: a suite folder, or DIMACS files and folders of them (a list): see
    :func:`input_records`, whose ``label_solver`` labels formulas that no manifest labels (within
    ``timeout`` seconds each).

    ``timeout``: the per-instance time limit written to ``instances.csv`` (seconds, > 0);
    ``threshold``: ``t`` of the property (``reductions.vnnlib.reduction_property``); ``dtype``: ONNX
    weight type (``None`` picks float32 when exact).

    >>> import json, os, tempfile
    >>> suite = tempfile.mkdtemp()
    >>> _ = open(os.path.join(suite, "a.cnf"), "w").write("p cnf 2 2\\n1 2 0\\n-1 0\\n")
    >>> sha = hashlib.sha256(open(os.path.join(suite, "a.cnf"), "rb").read()).hexdigest()
    >>> rec = dict(file="a.cnf", family="demo", parameters={}, seed=0, n=2, m=2, sha256=sha, expected="sat")
    >>> _ = open(os.path.join(suite, "manifest.json"), "w").write(json.dumps([rec]))
    >>> out = os.path.join(tempfile.mkdtemp(), "bench")
    >>> [r["onnx"] for r in build_vnncomp(suite, out, timeout=30)]
    ['onnx/a.onnx']
    >>> open(os.path.join(out, "instances.csv")).read()
    'onnx/a.onnx,vnnlib/a.vnnlib,30\\n'
    """
    from nsad.instances import read_dimacs
    from nsad.networks.onnx_io import _require_onnx, save_onnx
    from nsad.reductions.sat_to_relu import reduce
    from nsad.reductions.vnnlib import decimal, exact_number, reduction_property, write_vnnlib

    _require_onnx()
    out = os.path.abspath(os.fspath(out_dir))
    try:
        timeout = float(timeout)
    except (TypeError, ValueError):
        raise VnncompError(f"timeout must be a number, got {timeout!r}") from None
    if not (timeout > 0 and timeout < float("inf")):
        raise VnncompError(f"timeout must be a positive number of seconds, got {timeout!r}")
    t = exact_number(threshold, "threshold")
    reduction_property(1, t)  # validates t in (0, 1] with a finite decimal expansion
    entries = input_records(suite_dir, label_solver=label_solver, time_limit=timeout)
    records = [rec for _src, rec in entries]
    names: dict[str, str] = {}
    for rec in records:
        name = instance_name(rec["file"])
        if name in names:
            raise VnncompError(f"files {names[name]!r} and {rec['file']!r} both map to instance name {name!r}")
        names[name] = rec["file"]
    inputs = [suite_dir] if isinstance(suite_dir, (str, os.PathLike)) else list(suite_dir)
    for src in [os.path.dirname(src) for src, _rec in entries] + [os.fspath(p) for p in inputs]:
        if os.path.realpath(src) == os.path.realpath(out):
            raise VnncompError("the output folder must differ from the suite folder")
    _prepare_out(out, force)
    parent = os.path.dirname(out)
    if not os.path.isdir(parent):
        raise VnncompError(f"{parent}: the parent folder of the output does not exist")
    work = tempfile.mkdtemp(dir=parent, prefix=f".{os.path.basename(out)}.tmp-")
    out_records = []
    try:
        for sub in ("onnx", "vnnlib", "cnf"):
            os.mkdir(os.path.join(work, sub))
        from nsad.experiments.progress import Progress

        with Progress(len(records), "export vnncomp", enabled=progress) as bar:
            for (src, rec), name in zip(entries, names):
                if not os.path.isfile(src):
                    raise VnncompError(f"{src}: listed in the manifest but missing")
                with open(src, "rb") as fh:
                    blob = fh.read()
                digest = hashlib.sha256(blob).hexdigest()
                if rec.get("sha256") not in (None, digest):
                    raise VnncompError(f"{src}: sha256 {digest[:12]}... differs from the manifest's "
                                      f"{str(rec['sha256'])[:12]}... (the file changed)")
                cnf = read_dimacs(src)
                if rec.get("n") is not None and rec["n"] != cnf.num_vars:
                    raise VnncompError(f"{src}: the manifest says n = {rec['n']}, the file declares {cnf.num_vars}")
                t0 = time.perf_counter()
                net = reduce(cnf)
                ext = next((s for s in _SUFFIXES if rec["file"].lower().endswith(s)), ".cnf")
                cnf_rel = f"cnf/{name}{ext}"
                onnx_rel, vnnlib_rel = f"onnx/{name}.onnx", f"vnnlib/{name}.vnnlib"
                with open(os.path.join(work, cnf_rel), "wb") as fh:
                    fh.write(blob)
                size = save_onnx(net, os.path.join(work, onnx_rel), dtype=dtype)
                write_vnnlib(
                    os.path.join(work, vnnlib_rel),
                    reduction_property(net, t),
                    comments=[
                        f"nsad reduction property of {rec['file']} (family {rec.get('family')}, seed {rec.get('seed')})",
                        f"exists x in [-1,1]^{net.n_inputs} with F(x) >= {decimal(t)}: sat iff the formula is satisfiable",
                    ],
                )
                new = dict(rec)
                new.update(
                    file=cnf_rel, source_file=rec["file"], sha256=digest, name=name, onnx=onnx_rel,
                    vnnlib=vnnlib_rel, timeout=timeout, threshold=decimal(t), inputs=net.n_inputs,
                    depth=net.depth, units=net.n_units, nnz=net.nnz, onnx_bytes=size,
                    export_seconds=round(time.perf_counter() - t0, 6),
                )
                out_records.append(new)
                bar.update()
        csv = "".join(f"{r['onnx']},{r['vnnlib']},{_timeout_text(timeout)}\n" for r in out_records)
        with open(os.path.join(work, "instances.csv"), "w", encoding="utf-8") as fh:
            fh.write(csv)
        with open(os.path.join(work, "manifest.json"), "w", encoding="utf-8") as fh:
            fh.write(json.dumps(out_records, indent=1) + "\n")
        os.chmod(work, 0o755)
        _swap_into_place(work, out)
        work = None
    finally:
        if work is not None and os.path.isdir(work):
            shutil.rmtree(work, ignore_errors=True)
    return out_records


def _swap_into_place(work: str, out: str) -> None:
    """Rename the finished folder onto ``out`` (an absent, empty, or checked-replaceable folder)."""
    old = None
    if os.path.isdir(out):
        if not os.listdir(out):
            os.rmdir(out)
        else:
            old = tempfile.mkdtemp(dir=os.path.dirname(out), prefix=f".{os.path.basename(out)}.old-")
            os.rmdir(old)
            os.rename(out, old)
    try:
        os.rename(work, out)
    except OSError:
        if old is not None:
            os.rename(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
