"""Benchmark: the Clarke question at binary points of public ONNX models (``nsad bench points``).

Protocol, per model (default: the twelve NeuroCodeBench 2.0 "SAT ReLU" models shipped in
``tests/data/neurocodebench``, MIT licence; PyTorch exports ``Gemm(W1, b1) -> Relu -> Gemm(W2, b2)``
with input ``(1, n)`` and two outputs):

1. import (:func:`nsad.networks.onnx_io.load_onnx`), timed;
2. agreement with onnxruntime: on ``float_points`` (default 100) seeded random points of
   ``[0, 1]^n`` (float32), ``|ort - F| <= bound`` where ``F`` is the exact value and ``bound`` the
   rigorous float32 error bound of :func:`float32_bound`; at every benchmarked binary point (below,
   at most ``ort_binary`` of them, default 1,000) equality, exactly;
3. the points: every point of ``{0, 1}^n`` when ``n <= max_exhaustive`` (default 12), else ``points``
   (default 1,000) seeded uniform random binary points;
4. at each point and for each output: :func:`nsad.solvers.network.local.decide_at` (exact pre-activations,
   the local network ``G``, class (c) for one hidden layer, certificates with the locality condition
   checked exactly on ``F``); recorded: the answer, ``complete``, the kink units at the point, the time;
5. on the first ``backprop_points`` (default 50) of those points, for each output, backprop with
   ``relu'(0) = 0`` and ``= 1`` (:func:`nsad.solvers.network.backprop_at.backprop_at`): whether it is
   a Clarke element (yes / no / unknown), and whether float32 backprop equals the exact one;
6. the VNN-LIB property of the model (``Y_0 >= 1`` and ``Y_1 <= 0`` on ``[0, 1]^n``), checked exactly
   at every benchmarked point (:func:`nsad.reductions.vnnlib.is_witness`): for ``n <= 12`` all binary
   points are seen, so a satisfiable formula must show a witness and an unsatisfiable one none; for
   larger ``n`` a witness found at a random point proves a "sat" label (and would refute "unsat").

The goal (issue 14) is *met* when every question is answered exactly (no ``unknown``), onnxruntime
agrees everywhere, and the property's witnesses agree with the label in the file name where the
enumeration is complete. Times are wall-clock on the machine that runs it (say how loaded it was).
"""

from __future__ import annotations

import os
import statistics
import time
from fractions import Fraction
from itertools import product
from pathlib import Path

import numpy as np

__all__ = ["DEFAULT_DIR", "float32_bound", "bench_model", "format_table"]

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "tests" / "data" / "neurocodebench"


def float32_bound(net, X: np.ndarray) -> np.ndarray:
    """A rigorous bound on ``|fl32(F(x)) - F(x)|`` for float32 evaluation in any summation order, with
    or without FMA: per layer ``gamma_m (|W| (|h| + e) + |b|) + |W| e`` with ``gamma_m = m u / (1 - m u)``,
    ``u = 2^-24``, ``m`` the fan-in plus 2 (the bias and the rounding of the result), ``e`` the bound of
    the layer below (``relu`` is 1-Lipschitz), plus a tiny absolute term for underflow.

    >>> from nsad.networks import ReluNetwork
    >>> float(float32_bound(ReluNetwork([[[1, 1]]], biases=[[1]]), np.array([[1.0, 2.0]]))[0, 0]) < 1e-6
    True
    """
    u = 2.0**-24
    H = np.asarray(X, dtype=np.float64).T
    E = np.zeros_like(H)
    for k, (M, b) in enumerate(zip(net.matrices, net.bias_vectors())):
        A = abs(M).astype(np.float64)
        m = int(M.shape[1]) + 2
        gam = m * u / (1 - m * u)
        bb = np.asarray(b, dtype=np.float64)[:, None]
        Z = M.astype(np.float64) @ H + bb
        E = A @ E + gam * (A @ (np.abs(H) + E) + np.abs(bb)) + 2.0**-140
        H = np.maximum(Z, 0) if k < net.depth - 1 else Z
    return E.T


def _points(n: int, max_exhaustive: int, count: int, seed: int) -> np.ndarray:
    if n <= max_exhaustive:
        return np.array(list(product((0, 1), repeat=n)), dtype=np.int64)
    return np.random.default_rng(seed).integers(0, 2, size=(count, n), dtype=np.int64)


def bench_model(path, *, points: int = 1000, max_exhaustive: int = 12, float_points: int = 100, ort_binary: int = 1000,
                backprop_points: int = 50, seed: int = 0, progress=None) -> dict:
    """Run the protocol of the module docstring on one ONNX model; a JSON-ready row."""
    from nsad.networks.onnx_io import evaluate_onnx, load_onnx
    from nsad.reductions.vnnlib import is_witness, read_vnnlib
    from nsad.solvers.network.backprop_at import backprop_at
    from nsad.solvers.network.local import decide_at

    path = Path(path)
    t0 = time.perf_counter()
    net = load_onnx(path)
    t_import = time.perf_counter() - t0
    n = net.n_inputs
    rng = np.random.default_rng(seed)
    # onnxruntime agreement
    X = rng.random((float_points, n)).astype(np.float32).astype(np.float64)
    exact_vals = np.array([[float(Fraction(v)) for v in np.atleast_1d(net.evaluate_exact(x.tolist()))] for x in X])
    ort = evaluate_onnx(path, X)
    bound = float32_bound(net, X)
    ratio = float(np.max(np.abs(ort - exact_vals) / bound)) if X.size else 0.0
    P = _points(n, max_exhaustive, points, seed)
    B = P[:ort_binary]
    exact_b = np.array([[float(Fraction(v)) for v in np.atleast_1d(net.evaluate_exact(b.tolist()))] for b in B])
    ort_binary_equal = bool(np.array_equal(evaluate_onnx(path, B.astype(np.float64)), exact_b))
    # the property
    vnn = path.parent.parent / "vnnlib" / (path.stem + ".vnnlib")
    prop = read_vnnlib(vnn) if vnn.exists() else None
    # the questions
    answers = {"singleton": 0, "two-subgradients": 0, "unknown": 0}
    incomplete, kinks, times, witnesses = 0, [], [], 0
    if progress is not None:
        progress.total = int(P.shape[0]) * net.n_outputs
    t1 = time.perf_counter()
    for x in P.tolist():
        if prop is not None and is_witness(prop, net, x):
            witnesses += 1
        for k in range(net.n_outputs):
            s = time.perf_counter()
            v = decide_at(net, x, output=k if net.n_outputs > 1 else None, seed=seed)
            times.append(time.perf_counter() - s)
            answers[v.answer] += 1
            incomplete += 0 if v.complete else 1
            if k == 0:
                kinks.append(int(v.stats.get("kinks_at_x0", 0)))
            if progress is not None:
                progress.update(v.answer)
    total = time.perf_counter() - t1
    # what backprop returns, relu'(0) = 0 and 1, on the first backprop_points points
    bp = {f"s{s}_{a}": 0 for s in (0, 1) for a in ("yes", "no", "unknown")}
    bp_float_differs = 0
    for x in P[:backprop_points].tolist():
        for k in range(net.n_outputs):
            for s in (0, 1):
                r = backprop_at(net, x, relu_prime=s, output=k if net.n_outputs > 1 else None, seed=seed,
                                dtypes=("float32",))
                bp[f"s{s}_{r['is_clarke']}"] += 1
                bp_float_differs += 0 if r["float"][0].get("equals_exact_backprop") else 1
    label = "sat" if path.stem.startswith("sat") else ("unsat" if path.stem.startswith("unsat") else None)
    complete_enum = n <= max_exhaustive
    label_ok = None
    if prop is not None and label is not None:
        # an exact witness proves the property satisfiable ("sat"); an "unsat" model can have none; with
        # every binary point seen, a "sat" model of these reductions must show one (a satisfying
        # assignment is a binary point)
        if witnesses > 0:
            label_ok = label == "sat"
        elif complete_enum:
            label_ok = label == "unsat"
    return {
        "model": path.name, "inputs": n, "units": net.n_units, "outputs": net.n_outputs,
        "import_ms": round(t_import * 1e3, 3),
        "ort_float_points": int(X.shape[0]), "ort_max_error_over_bound": round(ratio, 6),
        "ort_binary_points": int(B.shape[0]), "ort_binary_exact": ort_binary_equal,
        "points": int(P.shape[0]), "all_binary_points": complete_enum, "questions": len(times),
        **answers, "incomplete": incomplete,
        "kink_units_mean": round(statistics.fmean(kinks), 2) if kinks else 0, "kink_units_max": max(kinks, default=0),
        "ms_per_question_median": round(statistics.median(times) * 1e3, 3) if times else 0,
        "ms_per_question_max": round(max(times) * 1e3, 3) if times else 0,
        "seconds": round(total, 3), "property_witnesses": witnesses if prop is not None else None,
        "backprop_points": min(backprop_points, int(P.shape[0])), "backprop": bp,
        "backprop_float32_differs": bp_float_differs,
        "label": label, "label_agrees": label_ok,
    }


def met(rows: list) -> bool:
    """The goal: every question answered exactly, onnxruntime agreeing, labels agreeing where checked."""
    return all(r["unknown"] == 0 and r["incomplete"] == 0 and r["ort_binary_exact"] and r["ort_max_error_over_bound"] <= 1
               and r["label_agrees"] is not False for r in rows)  # backprop columns are reported, not a goal


def format_table(rows: list) -> str:
    """A Markdown table of the rows.

    >>> print(format_table([]).splitlines()[0][:40])
    | model | n | units | points | questions
    """
    head = ("| model | n | units | points | questions | singleton | two | unknown | kink units mean / max | "
            "ms per question (median / max) | total s | ort err / bound | ort exact at binary | witnesses | label | "
            "backprop in dF, relu'(0) = 0 / 1 (yes-no-unknown) |")
    lines = [head, "|" + "|".join(["---"] * (head.count("|") - 1)) + "|"]
    for r in rows:
        pts = f"{r['points']}" + (" (all)" if r["all_binary_points"] else " (random)")
        lab = "" if r["label_agrees"] is None else ("agrees" if r["label_agrees"] else "DISAGREES")
        lines.append(f"| {r['model']} | {r['inputs']} | {r['units']} | {pts} | {r['questions']} | {r['singleton']} | "
                     f"{r['two-subgradients']} | {r['unknown']} | {r['kink_units_mean']} / {r['kink_units_max']} | "
                     f"{r['ms_per_question_median']} / {r['ms_per_question_max']} | {r['seconds']} | "
                     f"{r['ort_max_error_over_bound']} | {'yes' if r['ort_binary_exact'] else 'NO'} | "
                     f"{r['property_witnesses']} | {r['label'] or ''} {lab} | {_bp(r, 0)} / {_bp(r, 1)} |")
    return "\n".join(lines)


def _bp(r: dict, s: int) -> str:
    b = r.get("backprop", {})
    return f"{b.get(f's{s}_yes', 0)}-{b.get(f's{s}_no', 0)}-{b.get(f's{s}_unknown', 0)}"


def default_models(folder=None) -> list:
    """The ``.onnx`` files of ``folder`` (or its ``onnx/``); by default the NeuroCodeBench models of the
    source tree (this checkout, or ``tests/data/neurocodebench`` under the working directory)."""
    if folder is None:
        folder = DEFAULT_DIR if DEFAULT_DIR.is_dir() else Path.cwd() / "tests" / "data" / "neurocodebench"
    folder = Path(folder)
    if folder.is_dir() and (folder / "onnx").is_dir():
        folder = folder / "onnx"
    return sorted(str(p) for p in folder.glob("*.onnx")) if folder.is_dir() else []


def _env() -> dict:
    return {"cpus": os.cpu_count(), "load": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}
