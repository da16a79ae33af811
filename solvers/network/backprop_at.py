"""What backprop returns at a point, next to the exact Clarke answer there (docs/theory.md sections 1.7, 3.7).

For ``F`` (with biases or not), a point ``x0`` and the convention ``relu'(0) = s``:

* ``backprop``: ``M_1^T Delta_1 ... Delta_{L-1} M_L^T e_k`` with ``Delta`` 1 / 0 / ``s`` at units with
  ``z(x0) > 0`` / ``< 0`` / ``= 0``, in exact rational arithmetic (through the homogenized network);
* ``clarke``: the exact answer of :func:`nsad.solvers.network.local.decide_at` (single element, or two
  checked elements);
* ``is_clarke``: whether ``backprop`` lies in ``dF(x0)``, ``"yes"``, ``"no"`` or ``"unknown"``, with
  how it was shown (``how``) and whether that is exact:

  - ``dF(x0)`` a single point: exact comparison;
  - one hidden layer whose nonlinear lines all have ``kappa`` of one sign: the local network is
    ``G(d) = sum_u kappa_u relu(u.d) + v'.d`` (class (c), pairwise non-parallel lines), convex or
    concave, so ``dG(0) = v' + sum_u [0, 1] kappa_u u`` (the sum rule of convex analysis), a zonotope,
    and membership is a linear feasibility question, answered exactly by z3 over the rationals (with
    mixed signs the zonotope can be strictly larger: ``relu(d1) + relu(d2) - relu(d1 + d2)`` has the
    diamond ``|g1| + |g2| <= 1`` as its Clarke set, and the zonotope holds ``(1, 1)``);
  - otherwise, with at most ``max_kinks`` kink units: every activation region of ``F`` whose
    closure holds ``x0`` is enumerated (depth-first over the kink units; each region's interior is
    found by HiGHS and checked exactly, or proved empty by an exact rational simplex), and
    membership in the hull of their gradients is decided by z3;
  - beyond that, for ``s`` in {0, 1}: if the region where every kink unit has the sign backprop gave it
    (positive for 1, negative for 0) is nonempty near ``x0`` (found as above), backprop is that
    region's gradient, hence a Clarke element (exact); else ``unknown``, with the reason;
* ``float``: for each of float16 / float32 / float64, the weights, biases and point cast to that type
  (the cast may round: ``data_rounded``), a forward pass and backprop in that type (matrix products of
  float16 accumulate in float32 and round once, as numpy's float16 ``matmul``), and a comparison of
  the pre-activations that are 0.0 in float with those that are exactly 0 *on the same float data*:
  ``rounding_kinks`` (0.0 in float, not 0 exactly: float sees a kink that is not there) and
  ``missed_kinks`` (exactly 0, not 0.0 in float: float misses one).

>>> from nsad.networks import ReluNetwork
>>> F = ReluNetwork([[[1], [-1]], [[1, 1]]], biases=[[-1, 1], [0]])   # relu(x - 1) + relu(1 - x)
>>> r = backprop_at(F, [1], relu_prime=1)
>>> r["backprop"], r["clarke"]["verdict"], r["is_clarke"], r["exact"]
([0], 'two-subgradients', 'yes', True)
>>> r = backprop_at(ReluNetwork([[[1], [1]], [[1, -1]]], biases=[[0, 0], [0]]), [0], relu_prime=1)
>>> r["backprop"], r["clarke"]["element"], r["is_clarke"]          # relu(x) - relu(x) = 0
([0], [0], 'yes')
"""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np
import scipy.sparse as sp

from nsad.networks import NetworkError, ReluNetwork
from nsad.networks.exact import exact
from nsad.solvers.network import local

__all__ = ["DTYPES", "backprop_at", "dtype_matmul", "exact_backprop"]

DTYPES = ("float16", "float32", "float64")


def _num(v):
    f = Fraction(v)
    return int(f) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


def dtype_matmul(A, B):
    """``A @ B`` in ``B``'s float type; float16 accumulates in float32 and rounds each result once
    (numpy's own float16 ``matmul``; products of two float16 numbers are exact in float32)."""
    if B.dtype == np.float16:
        A32 = A.astype(np.float32) if not sp.issparse(A) else sp.csr_array(A, dtype=np.float32)
        return np.asarray(A32 @ B.astype(np.float32)).astype(np.float16)
    return np.asarray(A @ B)


def _slope(s):
    if isinstance(s, str):
        try:
            s = Fraction(s.strip())
        except (ValueError, ZeroDivisionError):
            raise NetworkError(f"--relu-prime: {s!r} is not a number") from None
    s = Fraction(s) if not isinstance(s, float) else Fraction(s)
    if not 0 <= s <= 1:
        raise NetworkError(f"relu'(0) must be a number in [0, 1], got {_num(s)}")
    return s


def exact_backprop(F: ReluNetwork, x0, s) -> tuple:
    """Backprop of the scalar ``F`` at ``x0`` with ``relu'(0) = s``, exactly (Fractions / ints).

    >>> exact_backprop(ReluNetwork([[[1], [-1]], [[1, 1]]]), [0], Fraction(1, 2))     # |x| at 0
    (0,)
    """
    from nsad.networks.ad.backward import backward

    s = _slope(s)
    H = F.homogenized()
    x = [Fraction(v) for v in local._point(F, x0)]
    point = x + [Fraction(1)] if F.has_biases else x
    g = backward(H, point, s, exact=True).gradient
    g = list(g)[: F.n_inputs]
    return tuple(exact(Fraction(v)) for v in g)


# ----------------------------------------------------------------------------------------- regions
def _strict_point(rows: list, n: int):
    """A rational ``d`` with ``r.d > 0`` for every row, or ``None`` when the open cone is empty: HiGHS
    proposes, exact arithmetic checks, and an exact rational simplex decides when the check fails."""
    from scipy.optimize import linprog

    from nsad.solvers.network.exhaustive import strictly_feasible_exact

    if not rows:
        return tuple(Fraction(0) for _ in range(n))
    A = np.array([[float(v) for v in r] for r in rows])
    norms = np.linalg.norm(A, axis=1)
    if np.any(norms == 0):
        return None
    # maximise t subject to r.d / |r| >= t, -1 <= d <= 1, t <= 1
    res = linprog(np.r_[np.zeros(n), -1.0], A_ub=np.c_[-A / norms[:, None], np.ones(len(rows))], b_ub=np.zeros(len(rows)),
                  bounds=[(-1, 1)] * n + [(None, 1)], method="highs")
    if res.status == 0 and -res.fun > 1e-9:
        for den in (2**20, 2**40, None):
            d = [Fraction(float(v)).limit_denominator(den) if den else Fraction(float(v)) for v in res.x[:n]]
            if all(sum((r_i * d_i for r_i, d_i in zip(r, d) if r_i), Fraction(0)) > 0 for r in rows):
                return tuple(d)
    return strictly_feasible_exact([[Fraction(v) for v in r] for r in rows], n)


def _region_gradients(F: ReluNetwork, x0, max_kinks: int, deadline: float | None):
    """The exact gradients of every open activation region of the scalar ``F`` whose closure holds
    ``x0`` (depth-first over the kink units, module docstring), or ``None`` beyond ``max_kinks``."""
    x = local._point(F, x0)
    signs = local._signs(F, x)
    K = int(sum(int(np.sum(sg == 0)) for sg in signs))
    if K > max_kinks:
        return None
    n = F.n_inputs

    def dense(M):
        A = M.toarray()
        return np.array([[Fraction(float(v)) if A.dtype.kind == "f" else Fraction(int(v)) for v in row] for row in A],
                        dtype=object)

    mats = [dense(M) for M in F.matrices]
    out = set()

    def rec(k, J, rows, pattern_k, j):
        # J: local Jacobian of the inputs of layer k (h_{k-1} as a function of d), under the pattern so far
        if deadline is not None and time.perf_counter() > deadline:
            raise TimeoutError
        if k == len(mats) - 1:
            out.add(tuple(exact(v) for v in mats[k].dot(J)[0]))
            return
        Z = mats[k].dot(J)
        sg = signs[k]
        while j < sg.size and sg[j] != 0:
            j += 1
        if j == sg.size:  # layer decided: move up
            D = np.array([1 if p > 0 else 0 for p in (pattern_k if pattern_k is not None else sg)], dtype=object)
            rec(k + 1, Z * D[:, None], rows, None, 0)
            return
        pat = list(pattern_k) if pattern_k is not None else [int(v) for v in sg]
        form = Z[j]
        if all(v == 0 for v in form):  # identically 0 on this region: no branch
            pat[j] = 0
            rec(k, J, rows, pat, j + 1)
            return
        for side in (1, -1):
            new = rows + [[side * v for v in form]]
            if _strict_point(new, n) is not None:
                p2 = list(pat)
                p2[j] = side
                rec(k, J, new, p2, j + 1)

    rec(0, np.eye(n, dtype=object) * Fraction(1), [], None, 0)
    return out, K


def _in_hull(v, points) -> bool:
    """Exactly: ``v`` is a convex combination of ``points`` (z3 over the rationals)."""
    import z3

    pts = list(points)
    lam = [z3.Real(f"l{i}") for i in range(len(pts))]
    s = z3.Solver()
    s.add(*[l >= 0 for l in lam])
    s.add(z3.Sum(lam) == 1)
    for j in range(len(v)):
        s.add(z3.Sum([z3.RealVal(str(Fraction(p[j]))) * l for p, l in zip(pts, lam)]) == z3.RealVal(str(Fraction(v[j]))))
    return s.check() == z3.sat


def _in_zonotope(b, G: ReluNetwork) -> tuple[bool, int]:
    """Exactly: ``b`` is in ``dG(0) = scale (v' + sum_u [0, 1] kappa_u u)`` (module docstring)."""
    import z3

    from nsad.solvers.network.one_hidden import hinge_form

    h = hinge_form(G)
    target = [Fraction(v) / h.scale - lin for v, lin in zip(b, h.linear)]
    bad = h.nonlinear
    if not bad.size:
        return all(t == 0 for t in target), 0
    lines = [h.line(int(lab)) for lab in bad]
    lam = [z3.Real(f"l{i}") for i in range(len(lines))]
    s = z3.Solver()
    s.add(*[z3.And(l >= 0, l <= 1) for l in lam])
    for j in range(len(target)):
        terms = [int(h.kappa[lab]) * int(u[j]) * l for lab, u, l in zip(bad, lines, lam) if u[j]]
        s.add((z3.Sum(terms) if terms else z3.RealVal(0)) == z3.RealVal(str(target[j])))
    return s.check() == z3.sat, len(lines)


def _one_sided(G: ReluNetwork) -> str | None:
    """``"convex"`` / ``"concave"`` when every nonlinear line of the one-hidden-layer ``G`` has ``kappa``
    of one sign (then ``dG(0)`` is the zonotope; with mixed signs it can be smaller), else ``None``."""
    from nsad.solvers.network.one_hidden import hinge_form

    k = hinge_form(G).kappa
    k = k[k != 0]
    if k.size and all(v > 0 for v in k):
        return "convex"
    if k.size and all(v < 0 for v in k):
        return "concave"
    return None


def _pattern_realised(F: ReluNetwork, x0, s) -> bool:
    """For ``s`` in {0, 1}: the region where every kink unit has the sign backprop gave it is nonempty
    near ``x0`` (units whose local form is identically zero there are skipped: backprop multiplies
    them by zero rows)."""
    x = local._point(F, x0)
    signs = local._signs(F, x)
    side = 1 if s == 1 else -1
    n = F.n_inputs
    J = np.eye(n, dtype=object) * Fraction(1)
    rows = []
    for k, M in enumerate(F.matrices[:-1]):
        A = M.toarray()
        Mx = np.array([[Fraction(float(v)) if A.dtype.kind == "f" else Fraction(int(v)) for v in r] for r in A], dtype=object)
        Z = Mx.dot(J)
        kink = np.flatnonzero(signs[k] == 0)
        for j in kink:
            if any(v != 0 for v in Z[j]):
                rows.append([side * v for v in Z[j]])
        D = np.array([1 if (sg > 0 or (sg == 0 and s == 1)) else 0 for sg in signs[k]], dtype=object)
        J = Z * D[:, None]
    return _strict_point(rows, n) is not None


# ------------------------------------------------------------------------------------------- float
def _to_float(v: Fraction) -> float:
    """The nearest float64, +-inf beyond its range (the report then says the point overflows)."""
    try:
        return float(v)
    except OverflowError:
        return float("inf") if v > 0 else float("-inf")


def _float_report(F: ReluNetwork, x0, s, dtype: str, exact_bp: tuple) -> dict:
    dt = np.dtype(dtype)
    mats = [sp.csr_array(M.astype(np.float64)) for M in F.matrices]
    bs = [np.asarray(b, dtype=np.float64) for b in F.bias_vectors()]
    x = np.array([_to_float(v) for v in local._point(F, x0)], dtype=np.float64)
    with np.errstate(over="ignore"):
        mats_t = [sp.csr_array((M.data.astype(dt), M.indices, M.indptr), shape=M.shape) for M in mats]
        bs_t = [b.astype(dt) for b in bs]
        x_t = x.astype(dt)
    finite = all(np.all(np.isfinite(M.data)) for M in mats_t) and all(np.all(np.isfinite(b)) for b in bs_t) \
        and np.all(np.isfinite(x_t))
    rounded = int(sum(int(np.sum(M.data.astype(np.float64) != M0.data)) for M, M0 in zip(mats_t, mats))
                  + sum(int(np.sum(b.astype(np.float64) != b0)) for b, b0 in zip(bs_t, bs))
                  + int(np.sum(x_t.astype(np.float64) != x)))
    if not finite:
        return {"dtype": dtype, "data_rounded": rounded, "error": f"the weights, biases or point overflow {dtype}"}
    # float forward and backprop in dt
    h = x_t[:, None]
    masks, zeros = [], []
    with np.errstate(over="ignore", invalid="ignore"):
        for k, (M, b) in enumerate(zip(mats_t, bs_t)):
            z = (dtype_matmul(M, h) + b[:, None]).astype(dt)
            if k < len(mats_t) - 1:
                zero = (z[:, 0] == 0)
                zeros.append(zero)
                masks.append(np.where(z[:, 0] > 0, dt.type(1), np.where(zero, dt.type(float(s)), dt.type(0))).astype(dt))
                h = np.maximum(z, dt.type(0)).astype(dt)
            value = z[0, 0]
        g = np.ones((1, 1), dtype=dt)
        for k in range(len(mats_t) - 1, -1, -1):
            g = dtype_matmul(sp.csr_array(mats_t[k].T), g).astype(dt)
            if k > 0:
                g = (g * masks[k - 1][:, None]).astype(dt)
    grad = g[:, 0]
    # the exact pre-activations of the same float data
    same = ReluNetwork([M.astype(np.float64) for M in mats_t], [b.astype(np.float64) for b in bs_t])
    exact_signs = local._signs(same, tuple(Fraction(float(v)) for v in x_t))
    float_k = int(sum(int(z.sum()) for z in zeros))
    exact_k = int(sum(int(np.sum(sg == 0)) for sg in exact_signs))
    rounding = int(sum(int(np.sum(z & (sg != 0))) for z, sg in zip(zeros, exact_signs)))
    missed = int(sum(int(np.sum(~z & (sg == 0))) for z, sg in zip(zeros, exact_signs)))
    finite_g = bool(np.all(np.isfinite(grad)))
    equal = finite_g and all(Fraction(float(a)) == Fraction(b) for a, b in zip(grad.tolist(), exact_bp))
    return {"dtype": dtype, "value": float(value), "backprop": [float(v) for v in grad.tolist()],
            "equals_exact_backprop": equal, "data_rounded": rounded, "float_kinks": float_k,
            "exact_kinks_same_data": exact_k, "rounding_kinks": rounding, "missed_kinks": missed}


# -------------------------------------------------------------------------------------------- main
def backprop_at(net: ReluNetwork, x0, *, relu_prime=0, output: int | None = None, dtypes=DTYPES,
                max_kinks: int = 12, time_limit: float | None = None, seed: int = 0) -> dict:
    """The report of the module docstring, as a JSON-ready dict (exact numbers as ints or ``"p/q"``)."""
    t0 = time.perf_counter()
    s = _slope(relu_prime)
    F = local.scalar_output(net, output)
    x = local._point(F, x0)
    bp = exact_backprop(F, x, s)
    v = local.decide_at(F, x, time_limit=time_limit, seed=seed)
    loc_kinks = int(v.stats.get("kinks_at_x0", 0))
    out = {"at": [_num(c) for c in x], "output": 0 if output is None else int(output), "relu_prime": _num(s),
           "value": _num(F.evaluate_exact(list(x))), "kinks_at_x0": loc_kinks,
           "backprop": [_num(c) for c in bp], "clarke": v.to_json()}
    is_clarke, how, exact_answer = "unknown", "", False
    if v.answer == "singleton":
        is_clarke = "yes" if tuple(map(Fraction, v.element)) == tuple(map(Fraction, bp)) else "no"
        how, exact_answer = "dF(x0) is a single point; compared exactly", True
    elif v.answer == "unknown":
        how = f"the Clarke answer is unknown ({v.reason})"
    else:
        loc = local.local_network(F, x)
        deadline = None if time_limit is None else t0 + time_limit
        try:
            zono = _one_sided(loc.network) if loc.network.depth == 2 else None
            found = None
            if zono is not None:
                inside, lines = _in_zonotope(bp, loc.network)
                is_clarke = "yes" if inside else "no"
                how, exact_answer = (f"one hidden layer, every nonlinear line with kappa of one sign ({zono}): dF(x0) "
                                     f"is the zonotope of the {lines} lines; membership decided by z3 over the "
                                     f"rationals"), True
            else:
                found = _region_gradients(F, x, max_kinks, deadline)
            if zono is not None:
                pass
            elif found is not None:
                grads, K = found
                is_clarke = "yes" if _in_hull(bp, grads) else "no"
                how, exact_answer = (f"all {len(grads)} region gradients at x0 enumerated exactly ({K} kink units); "
                                     f"hull membership decided by z3 over the rationals"), True
            elif s in (0, 1) and _pattern_realised(F, x, s):
                is_clarke, how, exact_answer = "yes", ("the region where every kink unit has backprop's sign is "
                                                       "nonempty near x0 (an interior point checked exactly): "
                                                       "backprop is its gradient"), True
            else:
                how = (f"{loc_kinks} kink units, beyond the enumeration limit {max_kinks}"
                       + ("" if s not in (0, 1) else ", and backprop's activation pattern is not realised near x0"))
        except TimeoutError:
            how = f"time limit {time_limit} s reached"
    out.update(is_clarke=is_clarke, how=how, exact=exact_answer)
    out["float"] = [_float_report(F, x, s, d, bp) for d in dtypes]
    out["seconds"] = round(time.perf_counter() - t0, 6)
    return out
