"""Marabou as an optional peer network decider, run in a child process killed at the time limit.

Marabou (``pip install maraboupy``, the ``marabou`` extra; wheels exist for Python < 3.12 only) is a
complete SMT-based verifier for ReLU networks. This module asks it the question of docs/theory.md
section 3 in its own language and never trusts its answers for certificates:

1. Axis test, exactly (``solvers.network.certify.axis_test``): a violation gives two subgradients
   with an exactly checked certificate, without calling Marabou.
2. Otherwise ``F`` is linear iff ``G(x) = F(x) - a.x`` is 0 on the box ``[-1, 1]^n``. ``G`` is ``F``
   itself when ``a = 0`` (always the case on reduction networks), else ``F`` with ``x`` carried
   through every layer as ``relu(x) - relu(-x)`` and ``-a`` on the carry in the output row (exact).
   ``G`` is exported to ONNX (``networks.onnx_io``) and Marabou is asked whether some ``x`` in the box
   has ``G(x) >= t`` and, unless ``G >= 0`` is evident (last matrix nonnegative, a = 0), whether some
   has ``G(x) <= -t``; ``t`` is the threshold (default ``1/2``).
3. ``sat``: Marabou's witness (floats) goes through ``certificate_from_witness``, which rationalises
   it, re-derives everything exactly and checks the certificate with ``networks.check``. On success:
   ``two-subgradients``, complete. Otherwise ``two-subgradients`` with ``certificate=None``,
   ``complete=False`` and a reason saying the answer is unverified.
4. ``unsat`` on every side asked: ``singleton`` with element ``a`` (0 on reduction networks),
   ``complete=True``, reason ``"Marabou (floating point) says F < t on the box ..."``. The answer
   holds *up to the threshold* (like a MILP's up to its tolerance): it proves ``F = a.x`` only for
   networks whose ``|F - a.x|`` reaches ``t`` on the box whenever it is not 0. Reduction networks of
   docs/theory.md section 2 are such networks for every ``t`` in ``(0, 1]``: ``F >= 0``, and ``F = 1`` at a
   satisfying sign vector.
5. Time limit, crash, Marabou's own ``TIMEOUT``/``UNKNOWN``/``ERROR``: ``unknown`` with a reason.

Marabou ignores SIGTERM and overruns its own timeout by minutes (PEERS.md), so each query runs in a
child process in its own session (``python -c`` with a self-contained script that imports only
maraboupy), and the whole process group is SIGKILLed when the time limit is reached (measured from
the start of the call). The child writes its result to a JSON file (floats at full precision).

>>> from nsad.networks import ReluNetwork
>>> decide_marabou(ReluNetwork([[[1, 0], [0, 1]], [[1, 1]]])).reason    # no Marabou needed
'axis test: F(e_0) + F(-e_0) = 1 != 0'
"""

from __future__ import annotations

from nsad.networks.relu_network import require_bias_free as _require_bias_free
import importlib.util
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import scipy.sparse as sp

from nsad.child import ChildOutcome, run_command
from nsad.networks import ReluNetwork
from nsad.solvers.registry import SolverError
from nsad.solvers.verdict import TWO, Verdict

__all__ = ["BACKEND", "available", "decide_marabou", "run_marabou", "MarabouRun",
           "run_child", "shifted_network", "default_options"]

BACKEND = "marabou"
_INSTALL_HINT = "Marabou needs the optional 'maraboupy' package (Python < 3.12): pip install nsad[marabou]"

# The child: imports only maraboupy (and the onnx/onnxruntime it uses to read ONNX). argv[1] is a
# JSON config {onnx, vnnlib | null, lower, upper, output_lower | null, output_upper | null, timeout,
# out, options}; the result JSON {exit, inputs, outputs, marabou_seconds, child_seconds} goes to config["out"].
_CHILD = r"""
import json, os, sys, time, warnings
warnings.filterwarnings("ignore")
cfg = json.load(open(sys.argv[1]))
t0 = time.perf_counter()
from maraboupy import Marabou
net = Marabou.read_onnx(cfg["onnx"])
xs = [int(v) for v in net.inputVars[0].flatten()]
ys = [int(v) for v in net.outputVars[0].flatten()]
if cfg.get("vnnlib") is None:
    for v, lo, hi in zip(xs, cfg["lower"], cfg["upper"]):
        net.setLowerBound(v, float(lo))
        net.setUpperBound(v, float(hi))
    if cfg.get("output_lower") is not None:
        net.setLowerBound(ys[0], float(cfg["output_lower"]))
    if cfg.get("output_upper") is not None:
        net.setUpperBound(ys[0], float(cfg["output_upper"]))
kw = dict(timeoutInSeconds=int(cfg["timeout"]), verbosity=0, numBlasThreads=1)
kw.update(cfg.get("options") or {})
opts = Marabou.createOptions(**kw)
t1 = time.perf_counter()
code, vals, stats = net.solve(verbose=False, options=opts, propertyFilename=cfg.get("vnnlib") or "")
res = {"exit": str(code), "inputs": None, "outputs": None, "marabou_seconds": time.perf_counter() - t1,
       "child_seconds": time.perf_counter() - t0}
if code == "sat":
    res["inputs"] = [float(vals[v]) for v in xs]
    res["outputs"] = [float(vals[v]) for v in ys]
tmp = cfg["out"] + ".tmp"
with open(tmp, "w") as fh:
    json.dump(res, fh)
os.replace(tmp, cfg["out"])
"""


def default_options(n_inputs: int) -> dict:
    """Marabou options used by ``decide_marabou``: split-and-conquer on one worker with
    ``min(2 n, 10)`` initial input splits.

    Chosen by measurement on reduction networks (n <= 5): Marabou's default mode spins in degenerate
    simplex pivots (99.99 % degenerate, ignoring its own timeout) on networks of 2 variables and 3
    clauses, while split-and-conquer with ``2 n`` initial splits answered every n <= 3 case tried.

    >>> default_options(3)
    {'snc': True, 'numWorkers': 1, 'initialSplits': 6}
    """
    return {"snc": True, "numWorkers": 1, "initialSplits": int(min(2 * n_inputs, 10))}


def available() -> bool:
    """Whether ``maraboupy`` is installed (found, not imported: importing it costs about a second).

    >>> isinstance(available(), bool)
    True
    """
    try:
        return importlib.util.find_spec("maraboupy") is not None
    except (ImportError, ValueError):
        return False


# ------------------------------------------------------------------------------------------------
# the child process


def run_child(code: str, args, time_limit: float | None, *, env: dict | None = None) -> ChildOutcome:
    """Run ``python -c code *args`` with :func:`nsad.child.run_command` (own process group, SIGKILLed
    at the limit, one BLAS/OpenMP thread unless ``env`` says otherwise).

    >>> run_child("import time; time.sleep(30)", [], 0.2).status
    'timeout'
    >>> r = run_child("import sys; sys.exit('boom')", [], 20)
    >>> r.status, r.stderr_tail
    ('crashed', 'boom')
    """
    child_env = dict(os.environ if env is None else env)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        child_env.setdefault(var, "1")
    return run_command([sys.executable, "-c", code, *map(str, args)], time_limit=time_limit, env=child_env)


@dataclass(frozen=True)
class MarabouRun:
    """One Marabou query: ``answer`` is ``"sat"``, ``"unsat"`` or ``"unknown"`` (then ``reason``)."""

    answer: str
    seconds: float
    inputs: tuple | None = None
    outputs: tuple | None = None
    reason: str | None = None
    stats: dict = field(default_factory=dict)


def run_marabou(onnx_path, *, vnnlib_path=None, lower=None, upper=None, output_lower=None,
                output_upper=None, time_limit: float | None = None, options: dict | None = None) -> MarabouRun:
    """Run Marabou in a child process on an ONNX file and either a VNN-LIB file (``vnnlib_path``) or
    an input box (``lower``, ``upper``) with bounds on output 0 (``output_lower``/``output_upper``).

    Killed with SIGKILL at ``time_limit`` seconds (then ``answer == "unknown"``). Raises
    ``SolverError`` when maraboupy is not installed.
    """
    if not available():
        raise SolverError(_INSTALL_HINT)
    if time_limit is not None and not time_limit > 0:
        return MarabouRun("unknown", 0.0, reason=f"time limit {time_limit} s reached before Marabou started")
    with tempfile.TemporaryDirectory(prefix="nsad-marabou-") as d:
        cfg = {
            "onnx": os.path.abspath(os.fspath(onnx_path)),
            "vnnlib": None if vnnlib_path is None else os.path.abspath(os.fspath(vnnlib_path)),
            "lower": None if lower is None else [float(v) for v in lower],
            "upper": None if upper is None else [float(v) for v in upper],
            "output_lower": None if output_lower is None else float(output_lower),
            "output_upper": None if output_upper is None else float(output_upper),
            # Marabou's own timeout (0 = none); it may overrun it, the kill below may not
            "timeout": 0 if time_limit is None else max(1, math.ceil(time_limit)),
            "out": os.path.join(d, "result.json"),
            "options": dict(options or {}),
        }
        cfg_path = os.path.join(d, "config.json")
        with open(cfg_path, "w") as fh:
            json.dump(cfg, fh)
        child = run_child(_CHILD, [cfg_path], time_limit)
        stats = {"child_status": child.status, "wall_seconds": round(child.seconds, 6)}
        if child.status == "timeout":
            return MarabouRun("unknown", child.seconds, reason=f"Marabou gave no answer within {time_limit} s "
                              f"(child process killed with SIGKILL)", stats=stats)
        if child.status != "ok" or not os.path.exists(cfg["out"]):
            why = child.stderr_tail or child.reason or f"exit code {child.exit_code}"
            return MarabouRun("unknown", child.seconds, reason=f"Marabou crashed: {why}", stats=stats)
        with open(cfg["out"]) as fh:
            res = json.load(fh)
    stats.update(marabou_exit=res["exit"], marabou_seconds=res["marabou_seconds"])
    if res["exit"] in ("sat", "unsat"):
        return MarabouRun(
            res["exit"], child.seconds,
            tuple(res["inputs"]) if res["inputs"] is not None else None,
            tuple(res["outputs"]) if res["outputs"] is not None else None,
            None, stats,
        )
    return MarabouRun("unknown", child.seconds, reason=f"Marabou answered {res['exit']!r}", stats=stats)


# ------------------------------------------------------------------------------------------------
# the decider


def shifted_network(net: ReluNetwork, a) -> ReluNetwork:
    """``G(x) = F(x) - a.x`` as a bias-free ReLU network (``net`` itself when ``a = 0``).

    ``x`` is carried through every hidden layer as ``relu(x) - relu(-x)`` (``2n`` extra units per
    layer, weights +-1) and the output row gets ``-a`` on the carry. Exact: ``a`` must be integers or
    binary floats (``float(a_i) == a_i``).

    >>> from nsad.networks import ReluNetwork
    >>> g = shifted_network(ReluNetwork([[[1], [-1]], [[2, 1]]]), [1])     # 2 relu(x) + relu(-x) - x
    >>> g.evaluate_exact([3]), g.evaluate_exact([-3])
    (3, 6)
    """
    a = [Fraction(v) for v in a]
    if len(a) != net.n_inputs:
        raise SolverError(f"a has {len(a)} entries, the network {net.n_inputs} inputs")
    if not any(a):
        return net
    a_f = np.array([float(v) for v in a])
    if any(Fraction(float(v)) != v for v in a):
        raise SolverError("a has entries that are not exactly floats; cannot shift the network exactly")
    n = net.n_inputs
    eye = sp.identity(n, dtype=np.int64, format="csr")
    carry_in = sp.vstack([eye, -eye], format="csr")  # (2n, n): relu(x), relu(-x)
    carry = sp.hstack([eye, -eye], format="csr")  # (n, 2n): x = relu(x) - relu(-x)
    mats = net.matrices
    out = [sp.vstack([mats[0], carry_in], format="csr")]
    for M in mats[1:-1]:
        out.append(sp.block_diag([M, carry_in @ carry], format="csr"))
    last = sp.hstack([mats[-1], sp.csr_array(-(a_f @ carry.toarray()).reshape(1, -1))], format="csr")
    out.append(last)
    return ReluNetwork(out)


def _nonnegative(net: ReluNetwork) -> bool:
    """``F >= 0`` evidently: the last matrix has no negative entry (F sums ReLUs with weights >= 0)."""
    return net.depth > 1 and bool(np.all(np.asarray(net.matrices[-1].data) >= 0))


def decide_marabou(net: ReluNetwork, *, time_limit: float | None = None, threshold=Fraction(1, 2),
                   seed: int = 0, marabou_options: dict | None = None) -> Verdict:
    """Decide ``|dF(0)| >= 2`` with Marabou (module docstring); a ``solvers.Verdict``.

    ``time_limit``: seconds for the whole call (Marabou is killed when it is reached);
    ``threshold``: ``t > 0`` (a number, Fraction or ``'p/q'`` string; Marabou gets ``float(t)``), default 1/2.
    ``marabou_options``: keyword arguments of ``maraboupy.Marabou.createOptions`` (default
    ``default_options(n)``). The signature follows the plug-in protocol of ``solvers.network.table``
    (options keyword-only), so ``decide_network(net, "marabou", threshold=...)`` works once registered.
    Statistics: ``marabou_exit``, ``marabou_seconds`` (time inside Marabou's
    solve, measured by the child), ``wall_seconds`` (the child's whole life, including imports),
    ``onnx_bytes``, ``sides`` asked (``">"`` or ``"><"``), ``threshold``.
    """
    _require_bias_free(net, "the Marabou decider at 0")
    from nsad.networks.onnx_io import save_onnx
    from nsad.solvers.network.certify import (
        axis_test, axis_verdict, certificate_from_witness, singleton, unknown, verdict_from_certificate)

    t0 = time.perf_counter()
    if not isinstance(net, ReluNetwork):
        raise SolverError(f"decide_marabou needs a ReluNetwork, got {type(net).__name__}")
    net.require_scalar()
    try:
        t = Fraction(threshold) if not isinstance(threshold, float) else Fraction(repr(threshold))
    except (TypeError, ValueError, ZeroDivisionError):
        raise SolverError(f"threshold must be a positive number, got {threshold!r}") from None
    if not t > 0:
        raise SolverError(f"threshold must be positive, got {threshold!r}")
    if time_limit is not None and not time_limit > 0:
        raise SolverError(f"time_limit must be positive, got {time_limit!r}")
    axis = axis_test(net)
    stats: dict = {"axis_seconds": axis.seconds, "threshold": str(t)}
    if not axis.passed:
        return axis_verdict(net, BACKEND, t0, axis, stats, seed=seed)
    if not available():
        raise SolverError(_INSTALL_HINT)
    a = axis.a
    G = shifted_network(net, a)
    sides = [">="] if (not any(a) and _nonnegative(net)) else [">=", "<="]
    stats["sides"] = "".join(s[0] for s in sides)
    t_f = float(t)
    with tempfile.TemporaryDirectory(prefix="nsad-marabou-") as d:
        onnx_path = os.path.join(d, "net.onnx")
        stats["onnx_bytes"] = save_onnx(G, onnx_path, batch=1)
        stats["marabou_seconds"] = 0.0
        for side in sides:
            remaining = None if time_limit is None else time_limit - (time.perf_counter() - t0)
            if remaining is not None and remaining <= 0:
                return unknown(BACKEND, t0, f"time limit {time_limit} s reached", stats)
            run = run_marabou(
                onnx_path, lower=[-1.0] * net.n_inputs, upper=[1.0] * net.n_inputs,
                output_lower=t_f if side == ">=" else None, output_upper=-t_f if side == "<=" else None,
                time_limit=remaining,
                options=default_options(net.n_inputs) if marabou_options is None else marabou_options,
            )
            stats["marabou_seconds"] += run.stats.get("marabou_seconds", 0.0)
            stats["marabou_exit" if side == ">=" else "marabou_exit_low"] = run.stats.get("marabou_exit", run.stats.get("child_status"))
            stats["wall_seconds"] = stats.get("wall_seconds", 0.0) + run.stats.get("wall_seconds", 0.0)
            if run.answer == "unknown":
                return unknown(BACKEND, t0, run.reason, stats)
            if run.answer == "sat":
                stats["marabou_witness"] = list(run.inputs)
                res = certificate_from_witness(net, run.inputs, a, seed=seed)
                what = f"Marabou (floating point) says G(x) {side} {'' if side == '>=' else '-'}{t} at a point of the box"
                if res.ok:
                    return verdict_from_certificate(BACKEND, t0, res, stats, complete=True,
                                                    reason=f"{what}; certificate built from its witness and checked exactly")
                st = dict(stats, certify_failure=res.reason)
                return Verdict(answer=TWO, backend=BACKEND, seconds=time.perf_counter() - t0, complete=False,
                               stats=st, reason=f"{what}, but the answer is unverified: no exact certificate from its "
                               f"witness ({res.reason})", kind="network")
    bound = "F < t" if sides == [">="] else "|F - a.x| < t"
    return singleton(
        BACKEND, t0, a, stats,
        f"Marabou (floating point) says {bound} on the box (t = {t}): a singleton up to the threshold, exact for "
        f"reduction networks (docs/theory.md section 2); a floating-point answer, not a proof",
        argument="numerical",
    )
