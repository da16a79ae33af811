"""The exhaustive network decider for tiny networks: exact enumeration of the linear regions.

Complete and *exact*, with no tolerance. The network is linear on each activation region, the set
of points where every unit has a fixed sign; ``F`` is linear iff all full-dimensional regions have
the same gradient (the generic points, whose regions are open, are dense, and ``F`` is continuous).

Method (a depth-first search over the units, layer by layer, in order):

* exact interval arithmetic on the box fixes the units that never change sign (``l >= 0``: always
  active, ``u <= 0``: dead; on the box hence everywhere, by homogeneity);
* inside a region, the pre-activation of the next unit is an exact linear form ``c . x`` (rational
  arithmetic through the pattern so far). ``c = 0``: the unit is identically zero there (one
  branch). Otherwise each sign ``s`` is a branch whose region is ``{rows . x > 0, s c . x > 0}``;
  the branch on the side of the parent's interior point needs nothing, the other one is decided by a
  float LP (HiGHS: maximise the margin) whose point is rationalised and checked *exactly*, and,
  when that fails, by an exact rational simplex (phase one with Bland's rule, on ``C x >= 1``),
  which either returns a rational interior point or proves the open region empty;
* at every leaf the interior point is generic (every unit is strictly signed or identically
  zero there) and the region's gradient is exact. Two different gradients give a certificate (the
  two interior points, scaled to integers, checked by ``networks.check``); if every region has
  gradient ``a``, ``dF(0) = {a}`` exactly.

A form whose direction (or its opposite) is already one of the region's rows has its sign fixed
by the region, with no LP (this is how carried values and repeated pre-activations cost nothing).
The search is limited to ``max_units`` (default 16) distinct sign-changing units
(:func:`count_sign_changing_units`); beyond, it raises :class:`solvers.registry.SolverError` (use
``milp``). ``time_limit`` gives UNKNOWN.

>>> from nsad.networks import ReluNetwork
>>> v = decide_exhaustive(ReluNetwork([[[1], [-1]], [[1, -1]]]))        # relu(x) - relu(-x) = x
>>> v.answer, v.element, v.complete
('singleton', (1,), True)
>>> net = ReluNetwork([[[-1, 2], [1, -2], [-2, 3]], [[1, -1, -1]], [[1]]])   # relu(min(2x2-x1, x1-x2))
>>> decide_exhaustive(net).answer
'two-subgradients'
"""

from __future__ import annotations

from nsad.networks.relu_network import require_bias_free as _require_bias_free
import math
import time
import warnings
from fractions import Fraction

import numpy as np

from nsad.networks import ReluNetwork
from nsad.networks.exact import dot
from nsad.solvers.network.certify import (
    axis_test,
    axis_verdict,
    certificate_from_points,
    singleton,
    unknown,
    verdict_from_certificate,
)
from nsad.solvers.network.milp import encode_milp
from nsad.solvers.registry import SolverError

__all__ = ["decide_exhaustive", "strictly_feasible_exact", "count_sign_changing_units"]

_DENOMS = (1, 2, 4, 8, 16, 64, 256, 1024, 2**16, 2**24)


def _exact_dense(M) -> list[list]:
    """Dense exact copy of a sparse matrix: Python ints, or Fractions of the binary floats."""
    A = M.toarray()
    if A.dtype.kind == "i":
        return [[int(v) for v in row] for row in A]
    return [[_q(Fraction(float(v))) for v in row] for row in A]


def _q(f):
    f = Fraction(f)
    return int(f) if f.denominator == 1 else f


def _matmul(A: list[list], B: list[list]) -> list[list]:
    if not A:
        return []
    cols = list(zip(*B)) if B else []
    return [[sum(a * b for a, b in zip(row, col) if a and b) for col in cols] for row in A]




def _interval_signs(W: list[list[list]], n: int) -> list[list[int]]:
    """Per hidden layer and unit: +1 (never negative on the box), -1 (never positive), 0 (changes sign)."""
    lo, hi = [-1] * n, [1] * n
    out = []
    for M in W[:-1]:
        l = [sum(m * (lo[i] if m > 0 else hi[i]) for i, m in enumerate(row) if m) for row in M]
        u = [sum(m * (hi[i] if m > 0 else lo[i]) for i, m in enumerate(row) if m) for row in M]
        out.append([1 if a >= 0 else (-1 if b <= 0 else 0) for a, b in zip(l, u)])
        lo, hi = [max(a, 0) for a in l], [max(b, 0) for b in u]
    return out


def count_sign_changing_units(net: ReluNetwork) -> int:
    """Distinct sign-changing units (the binaries of :func:`solvers.network.milp.encode_milp`).

    Units that are linear or dead on the box, carries ``relu(v) - relu(-v)``, and units whose
    pre-activation repeats or negates another's are not counted. This is the number that
    ``max_units`` limits (the search may still split regions along the hyperplanes of carried
    values, at most doubling the regions per such hyperplane).

    >>> from nsad.networks import ReluNetwork
    >>> count_sign_changing_units(ReluNetwork([[[1, 1], [1, 0], [-1, 0], [0, 0]], [[1, 1, 1, 1]]]))
    2
    """
    return encode_milp(net.require_scalar(), [0] * net.n_inputs).n_binaries


class _Deadline(Exception):
    pass


def strictly_feasible_exact(rows: list, n: int, deadline: float | None = None):
    """A rational ``x`` with ``r . x >= 1`` for every row (so ``> 0``), or ``None`` if none exists.

    Exact phase-one simplex with Bland's rule (which cannot cycle) on ``C x+ - C x- - s + art = 1``,
    all variables nonnegative; the open cone ``{C x > 0}`` is empty iff the artificials cannot
    all leave the basis at value 0.

    >>> strictly_feasible_exact([[1, -1], [0, 1]], 2)
    (Fraction(2, 1), Fraction(1, 1))
    >>> strictly_feasible_exact([[1, -1], [-1, 1]], 2) is None
    True
    """
    m = len(rows)
    if m == 0:
        return tuple(Fraction(0) for _ in range(n))
    N = 2 * n + 2 * m
    T = []
    for i, r in enumerate(rows):
        r = [Fraction(v) for v in r]
        row = r + [-v for v in r] + [Fraction(0)] * (2 * m) + [Fraction(1)]
        row[2 * n + i] = Fraction(-1)
        row[2 * n + m + i] = Fraction(1)
        T.append(row)
    basis = [2 * n + m + i for i in range(m)]
    cost = [Fraction(0)] * (2 * n + m) + [Fraction(1)] * m
    while True:
        if deadline is not None and time.perf_counter() > deadline:
            raise _Deadline
        # reduced costs c_j - c_B . column j (computed afresh: tiny sizes)
        cb = [cost[b] for b in basis]
        enter = None
        for j in range(N):
            if j in basis:
                continue
            rc = cost[j] - sum(cb[i] * T[i][j] for i in range(m) if T[i][j])
            if rc < 0:
                enter = j
                break
        if enter is None:
            break
        best, leave = None, None
        for i in range(m):
            if T[i][enter] > 0:
                ratio = T[i][-1] / T[i][enter]
                if best is None or ratio < best or (ratio == best and basis[i] < basis[leave]):
                    best, leave = ratio, i
        if leave is None:  # unbounded direction: impossible for phase one (objective >= 0)
            break
        piv = T[leave][enter]
        T[leave] = [v / piv for v in T[leave]]
        for i in range(m):
            if i != leave and T[i][enter]:
                f = T[i][enter]
                T[i] = [a - f * b for a, b in zip(T[i], T[leave])]
        basis[leave] = enter
    value = {b: T[i][-1] for i, b in enumerate(basis)}
    if any(value.get(2 * n + m + i, 0) != 0 for i in range(m)):
        return None
    return tuple(value.get(j, Fraction(0)) - value.get(n + j, Fraction(0)) for j in range(n))


def _float_point(rows: list, n: int, stats: dict):
    """Rational point strictly inside ``{rows . x > 0}`` from a float LP, verified exactly, or None."""
    from scipy.optimize import linprog

    stats["float_lps"] += 1
    A = np.array([[float(v) for v in r] for r in rows], dtype=np.float64)
    m = A.shape[0]
    # variables (x, t): maximise t  s.t.  -A x + t <= 0,  |x| <= 1,  t <= 1
    c = np.zeros(n + 1)
    c[-1] = -1.0
    A_ub = np.hstack([-A, np.ones((m, 1))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = linprog(c, A_ub=A_ub, b_ub=np.zeros(m), bounds=[(-1, 1)] * n + [(None, 1)], method="highs")
    if res.status != 0 or res.x is None or res.x[-1] <= 1e-9:
        return None
    x = [Fraction(float(v)) for v in res.x[:n]]
    for D in _DENOMS:
        p = [v.limit_denominator(D) for v in x]
        if all(dot(r, p) > 0 for r in rows):
            return tuple(p)
    if all(dot(r, x) > 0 for r in rows):
        return tuple(x)
    return None


def _point_in(rows: list, n: int, stats: dict, deadline: float | None):
    p = _float_point(rows, n, stats)
    if p is not None:
        return p
    stats["exact_lps"] += 1
    return strictly_feasible_exact(rows, n, deadline)


def _direction(c) -> tuple:
    """The ray of a nonzero form: ``c`` divided by the absolute value of its first nonzero entry."""
    f = next(abs(v) for v in c if v)
    return tuple(Fraction(v) / f for v in c)


def _integer_point(x) -> list[int]:
    q = math.lcm(*[Fraction(v).denominator for v in x]) if x else 1
    return [int(Fraction(v) * q) for v in x]


def decide_exhaustive(net: ReluNetwork, *, time_limit: float | None = None, max_units: int = 16, seed: int = 0):
    """Exact region enumeration for tiny networks (see the module docstring).

    Raises :class:`SolverError` when more than ``max_units`` units change sign on the box.
    Statistics: ``regions`` (leaves visited), ``float_lps``, ``exact_lps``, ``sign_changing_units``.

    >>> from nsad.networks import ReluNetwork
    >>> v = decide_exhaustive(ReluNetwork([[[1], [2]], [[2, -1]]]))        # 2 relu(x) - relu(2x) = 0
    >>> v.answer, v.element, v.reason.split(":")[0]
    ('singleton', (0,), 'exact')
    """
    _require_bias_free(net, "the exhaustive decider at 0")
    t0 = time.perf_counter()
    net.require_scalar()
    backend = "exhaustive"
    n = net.n_inputs
    axis = axis_test(net)
    stats: dict = {"axis_seconds": axis.seconds, "regions": 0, "float_lps": 0, "exact_lps": 0}
    if not axis.passed:
        return axis_verdict(net, backend, t0, axis, stats, seed=seed)
    k_units = encode_milp(net, axis.a).n_binaries
    stats["sign_changing_units"] = k_units
    if k_units > int(max_units):
        raise SolverError(
            f"exhaustive: {k_units} distinct units change sign on the box, more than max_units={max_units}; "
            "use method 'milp'"
        )
    W = [_exact_dense(M) for M in net.matrices]
    signs = _interval_signs(W, n)
    L = len(W)
    deadline = None if time_limit is None else t0 + float(time_limit)
    identity = [[1 if i == j else 0 for j in range(n)] for i in range(n)]
    first: tuple | None = None  # (gradient, point)
    # stack entries: (layer k, forms Z of layer k, unit j, active list, J_prev, rows, point x)
    Z0 = _matmul(W[0], identity) if L > 1 else None
    stack = [(0, Z0, 0, [], identity, [], tuple(Fraction(0) for _ in range(n)))] if L > 1 else []
    if L == 1:
        g = tuple(_q(v) for v in W[0][0])
        return singleton(backend, t0, g, stats, "exact: the network has no hidden layer", argument="linear-form")
    while stack:
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            return unknown(backend, t0, f"time limit {time_limit} s reached after {stats['regions']} regions", stats)
        k, Z, j, active, Jprev, rows, x = stack.pop()
        if j == len(Z):  # layer complete
            J = [row if on else [0] * n for row, on in zip(Z, active)]
            if k + 1 == L - 1:
                g = tuple(_q(v) for v in _matmul(W[-1], J)[0])
                stats["regions"] += 1
                if first is None:
                    first = (g, x)
                elif g != first[0]:
                    res = certificate_from_points(net, _integer_point(first[1]), _integer_point(x))
                    return verdict_from_certificate(
                        backend, t0, res, stats, complete=True,
                        reason="exact: two activation regions with different gradients",
                    )
                continue
            stack.append((k + 1, _matmul(W[k + 1], J), 0, [], J, rows, x))
            continue
        s = signs[k][j]
        c = Z[j]
        if s != 0 or not any(c):
            stack.append((k, Z, j + 1, active + [s > 0 and any(c)], Jprev, rows, x))
            continue
        val = dot(c, x)
        key = _direction(c)
        known = {_direction(r) for r in rows}
        for side in (-1, 1):
            row = [side * v for v in c]
            if val * side > 0:
                y = x
            elif (key if side < 0 else tuple(-v for v in key)) in known:  # the region fixes this sign
                continue
            else:
                try:
                    y = _point_in(rows + [row], n, stats, deadline)
                except _Deadline:
                    return unknown(backend, t0, f"time limit {time_limit} s reached in an exact LP", stats)
                if y is None:
                    continue
            stack.append((k, Z, j + 1, active + [side > 0], Jprev, rows + [row], y))
    if first is None:  # cannot happen: some region always exists
        return unknown(backend, t0, "internal: no region found", stats)
    g = first[0]
    if tuple(map(Fraction, g)) != tuple(map(Fraction, axis.a)):
        return unknown(backend, t0, f"internal: every region has gradient {g}, but the axis values are {axis.a}", stats)
    return singleton(
        backend, t0, g, stats,
        f"exact: all {stats['regions']} activation regions have gradient a "
        "(feasibility decided by float LPs verified exactly, else an exact rational simplex)",
        argument="enumeration",
    )
