"""Exact complete fallback deciders for "is this bias-free ReLU network linear?" (decider ``exact``).

Used by the ``portfolio`` for networks outside the certified classes (docs/theory.md section 3.4);
chosen from measurements on networks the simplifier cannot certify (``nsad bench fallback``): on the
identically-zero family, z3 over exact rationals proves linearity up to n = 7 where the MILP stops
at 5-6, and the additive decomposition below takes sums of small-support parts to n = 256; on the
odd family (nonlinear, passes the axis test), the enumeration's first regions find a witness at
n = 256 where the MILP stops at 25.

A network is a list of scipy.sparse matrices ``[M_1, ..., M_L]`` (``M_L`` a single row), with
int64 entries or float64 entries (every finite float is a dyadic rational and is read exactly).
``F(x) = M_L relu(M_{L-1} relu(... relu(M_1 x)))``.  Every decider here answers whether
``Phi(x) = F(x) - a.x`` vanishes on the box ``[-1, 1]^n`` (by positive homogeneity: on R^n) and
returns one of

* ``("linear", None)``                  -- proved exactly;
* ``("nonlinear", witness)``            -- ``witness`` a tuple of ``Fraction`` in ``[-1, 1]^n``
                                           with ``F(w) - a.w != 0`` re-checked in exact arithmetic;
* ``("unknown", reason)``               -- time limit, or a solver gave up.

Nothing is decided in floating point.  Floats (HiGHS through scipy) are used only to *find*
candidates that are then checked exactly: an interior point of an activation region is verified
with integer arithmetic, an "empty region" claim is verified by an exact Gordan certificate
(``y >= 0, y != 0, sum_j y_j g_j = 0`` in rationals); anything that fails its check goes to the
exact rational simplex of z3.

Public functions
----------------
``integerize(mats)``                    exact integer copy of the network and its scale factor
``evaluate_exact(mats, x)``             exact ``F(x)`` (``Fraction``) at a rational point
``axis_vector(mats)``                   ``(a, b)`` with ``a_i = F(e_i)``, ``b_i = F(-e_i)``
``interval_bounds(int_layers)``         exact pre-activation bounds on the box
``smt_linear(mats, a, time_limit, backend="z3")``       one exact SMT query (LRA)
``enumerate_linear(mats, a, time_limit, lp="highs")``   exact activation-region enumeration
``decompose_linear(mats, a, time_limit, inner=...)``    split F into small-support additive parts
``portfolio_part(mats, a, time_limit)`` enumeration probe (32 regions), then z3, then enumeration
``decide_exact(mats, time_limit, a=None, stats=None)``  the recommended portfolio: axis test,
                                        decomposition, ``portfolio_part`` on each part
"""

from __future__ import annotations

import math
import sys
import time
from fractions import Fraction
from typing import Callable

import numpy as np
import scipy.sparse as sp

__all__ = [
    "integerize", "evaluate_exact", "axis_vector", "interval_bounds", "check_witness",
    "smt_linear", "enumerate_linear", "decompose_linear", "portfolio_part", "decide_exact",
]

from nsad.networks.exact import INT64_SAFE as _INT64_SAFE
from nsad.networks.exact import dot, rref
from nsad.networks.relu_network import require_bias_free as _require_bias_free


# ----------------------------------------------------------------------------------------------
# exact integer form of the network
# ----------------------------------------------------------------------------------------------

def _csr(m) -> sp.csr_array:
    if sp.issparse(m):
        return sp.csr_array(m, copy=True)
    return sp.csr_array(np.array(m))


def integerize(mats) -> tuple[list[sp.csr_array], int]:
    """Exact integer matrices ``N_k = s_k M_k`` (``s_k`` a power of two) and ``C = prod s_k``.

    ``F_int = C F`` exactly.  Raises ``ValueError`` on non-finite entries or entries too large
    for int64.
    """
    out, scale = [], 1
    for m in mats:
        m = _csr(m)
        m.sum_duplicates()
        m.eliminate_zeros()
        if np.issubdtype(m.dtype, np.integer) or m.dtype == bool:
            data = m.data.astype(np.int64)
            s = 1
        else:
            vals = m.data.astype(np.float64)
            if not np.all(np.isfinite(vals)):
                raise ValueError("non-finite weight")
            ratios = [float(v).as_integer_ratio() for v in vals]
            s = max([q for _, q in ratios], default=1)
            ints = [p * (s // q) for p, q in ratios]
            if any(abs(v) >= _INT64_SAFE for v in ints):
                raise ValueError("weights too large for an exact int64 encoding")
            data = np.array(ints, dtype=np.int64)
        n = sp.csr_array((data, m.indices.copy(), m.indptr.copy()), shape=m.shape)
        out.append(n)
        scale *= s
    if out[-1].shape[0] != 1:
        raise ValueError("scalar output required (last matrix must have one row)")
    for k in range(1, len(out)):
        if out[k].shape[1] != out[k - 1].shape[0]:
            raise ValueError(f"shape mismatch between layers {k} and {k + 1}")
    return out, scale


def _row_abs_max(m: sp.csr_array) -> int:
    """Largest row sum of absolute values (exact Python int)."""
    if m.nnz == 0:
        return 0
    d = np.abs(m.data.astype(np.int64))
    counts = np.diff(m.indptr)
    if int(d.max()) * int(counts.max()) < _INT64_SAFE:
        sums = np.add.reduceat(d, m.indptr[:-1][counts > 0])
        return int(sums.max())
    return max(sum(abs(int(v)) for v in m.data[m.indptr[r]:m.indptr[r + 1]]) for r in range(m.shape[0]))


def _spmv_obj(m: sp.csr_array, v: list) -> list:
    """Exact ``m @ v`` with Python numbers (ints or Fractions)."""
    out = []
    ip, ix, d = m.indptr, m.indices, m.data
    for r in range(m.shape[0]):
        s = 0
        for p in range(ip[r], ip[r + 1]):
            s += int(d[p]) * v[ix[p]]
        out.append(s)
    return out


def _eval_int(int_layers, x: list) -> object:
    """Exact F_int(x) for a list of Python ints/Fractions."""
    h = list(x)
    for k, m in enumerate(int_layers):
        z = _spmv_obj(m, h)
        if k < len(int_layers) - 1:
            h = [v if v > 0 else 0 for v in z]
        else:
            return z[0]


def evaluate_exact(mats, x) -> Fraction:
    """Exact ``F(x)`` at a rational point (sequence of ints / Fractions / floats, read exactly)."""
    layers, scale = integerize(mats)
    xs = [Fraction(v) for v in x]
    return Fraction(_eval_int(layers, xs)) / scale


def _eval_int_batch(int_layers, X: np.ndarray) -> list:
    """Exact ``F_int`` at the integer columns of ``X`` (n x p): int64 sparse products when a
    bound on every intermediate value proves there is no overflow, Python ints otherwise."""
    B = int(np.max(np.abs(X))) if X.size else 0
    for m in int_layers:
        B *= max(1, _row_abs_max(m))
    if B < _INT64_SAFE:
        H = np.asarray(X, dtype=np.int64)
        for k, m in enumerate(int_layers):
            H = np.asarray(m @ H)
            if k < len(int_layers) - 1:
                H = np.maximum(H, 0)
        return [int(v) for v in H[0]]
    return [_eval_int(int_layers, [int(v) for v in X[:, j]]) for j in range(X.shape[1])]


def axis_vector(mats) -> tuple[list[Fraction], list[Fraction]]:
    """``a_i = F(e_i)`` and ``b_i = F(-e_i)``, exactly."""
    layers, scale = integerize(mats)
    n = layers[0].shape[1]
    eye = np.eye(n, dtype=np.int64)
    vals = _eval_int_batch(layers, np.hstack([eye, -eye]))
    a = [Fraction(v) / scale for v in vals[:n]]
    b = [Fraction(v) / scale for v in vals[n:]]
    return a, b


def check_witness(mats, a, w) -> bool:
    """``F(w) - a.w != 0`` exactly and ``w`` in the box."""
    w = [Fraction(v) for v in w]
    if any(abs(v) > 1 for v in w):
        return False
    val = evaluate_exact(mats, w) - sum(Fraction(ai) * wi for ai, wi in zip(a, w))
    return val != 0


def interval_bounds(int_layers) -> list[tuple[np.ndarray, np.ndarray]]:
    """Exact interval bounds ``(lo, hi)`` of each hidden pre-activation over the box [-1,1]^n.

    Python-int object arrays (no overflow)."""
    bounds = []
    n = int_layers[0].shape[1]
    lo_h = [-1] * n
    hi_h = [1] * n
    for k, m in enumerate(int_layers[:-1]):
        lo, hi = [], []
        ip, ix, d = m.indptr, m.indices, m.data
        for r in range(m.shape[0]):
            l = u = 0
            for p in range(ip[r], ip[r + 1]):
                w = int(d[p])
                j = ix[p]
                if w > 0:
                    l += w * lo_h[j]
                    u += w * hi_h[j]
                else:
                    l += w * hi_h[j]
                    u += w * lo_h[j]
            lo.append(l)
            hi.append(u)
        bounds.append((np.array(lo, dtype=object), np.array(hi, dtype=object)))
        lo_h = [max(v, 0) for v in lo]
        hi_h = [max(v, 0) for v in hi]
    return bounds


class _Problem:
    """The integer problem ``Phi_int(x) = D F_int(x) - a_int.x`` (``= D C (F - a.x)``)."""

    def __init__(self, mats, a):
        self.mats = list(mats)
        self.layers, self.scale = integerize(mats)
        self.n = self.layers[0].shape[1]
        if a is None:
            a = axis_vector(mats)[0]
        a = [Fraction(v) for v in a]
        if len(a) != self.n:
            raise ValueError("len(a) != number of inputs")
        self.a = a
        aC = [ai * self.scale for ai in a]
        D = 1
        for v in aC:
            D = D * v.denominator // math.gcd(D, v.denominator)
        self.D = D
        self.a_int = [int(v * D) for v in aC]
        if D != 1:
            last = self.layers[-1]
            self.layers[-1] = sp.csr_array((last.data * D, last.indices, last.indptr), shape=last.shape)
        self.bounds = interval_bounds(self.layers)
        # stability of each hidden unit from interval arithmetic: +1 active, -1 inactive, 0 unstable
        self.stable = []
        for lo, hi in self.bounds:
            st = np.zeros(len(lo), dtype=np.int8)
            for i in range(len(lo)):
                if lo[i] >= 0:
                    st[i] = 1
                elif hi[i] <= 0:
                    st[i] = -1
            self.stable.append(st)

    def phi(self, x) -> Fraction:
        """Exact ``Phi_int(x)``."""
        xs = [Fraction(v) for v in x]
        return _eval_int(self.layers, xs) - sum(ai * xi for ai, xi in zip(self.a_int, xs))

    def witness(self, x):
        """Scale a point with ``Phi != 0`` into the box, check exactly on the *original* mats."""
        xs = [Fraction(v) for v in x]
        mx = max((abs(v) for v in xs), default=Fraction(0))
        if mx == 0:
            return None
        if mx > 1:
            xs = [v / mx for v in xs]
        if not check_witness(self.mats, self.a, xs):
            return None
        return tuple(xs)

    def n_unstable(self) -> int:
        return int(sum(int((st == 0).sum()) for st in self.stable))


# ----------------------------------------------------------------------------------------------
# SMT (z3 / cvc5, linear real arithmetic)
# ----------------------------------------------------------------------------------------------

def _smt_module(backend: str):
    if backend == "z3":
        import z3
        return z3
    if backend == "cvc5":
        import cvc5.pythonic as cp
        return cp
    raise ValueError(f"unknown SMT backend {backend!r}")


def _smt_core(P: _Problem, S, backend, cons, xs, goals, time_limit, t0):
    results = []
    for gi, goal in enumerate(goals):
        s = S.Solver()
        if time_limit is not None:
            rem = time_limit - (time.perf_counter() - t0)
            if rem <= 0:
                return ("unknown", "time limit")
            budget = rem / (len(goals) - gi)
            ms = max(1, int(budget * 1000))
            if backend == "z3":
                s.set("timeout", ms)
            else:
                s.set("tlimit-per", ms)
        s.add(*cons)
        s.add(goal)
        res = s.check()
        if res == S.sat:
            mdl = s.model()
            w = []
            for v in xs:
                if backend == "z3":
                    w.append(mdl.eval(v, model_completion=True).as_fraction())
                else:
                    w.append(Fraction(str(mdl.eval(v, True).as_fraction())))
            wit = P.witness(w)
            if wit is None:
                return ("unknown", f"{backend} model failed the exact check")
            return ("nonlinear", wit)
        results.append(res == S.unsat)
    if all(results):
        return ("linear", None)
    return ("unknown", f"{backend}: time limit or unknown")


def smt_linear(mats, a=None, time_limit: float | None = 60.0, backend: str = "z3",
               encoding: str = "disj", triangle: bool = True, split: bool = True):
    """Exact SMT decision of ``F(x) - a.x == 0`` on [-1,1]^n (linear real arithmetic).

    Stable units (exact interval arithmetic) are substituted (identity or 0); each unstable unit
    ``h = relu(z)`` is encoded with ``encoding="disj"``: ``h >= 0, h >= z, (h <= 0 or h <= z),
    h <= hi`` (plus, with ``triangle``, the redundant LP-relaxation cut
    ``(hi - lo) h <= hi (z - lo)``), or with ``encoding="ite"``: ``h == If(z > 0, z, 0)``.
    ``split``: two queries ``Phi > 0`` then ``Phi < 0`` (remaining time shared), else one query
    ``Or(Phi > 0, Phi < 0)``.  ``backend``: ``"z3"`` or ``"cvc5"`` (its pythonic API).

    Returns ``("linear", None)``, ``("nonlinear", witness)`` (exact model values, re-checked with
    Fractions on the original matrices) or ``("unknown", reason)``.  ``a=None``: ``a_i = F(e_i)``.
    """
    t0 = time.perf_counter()
    S = _smt_module(backend)
    P = _Problem(mats, a)
    xs = [S.Real(f"x{i}") for i in range(P.n)]
    cons = []
    for v in xs:
        cons += [v >= -1, v <= 1]
    h = list(xs)
    for k, m in enumerate(P.layers[:-1]):
        ip, ix, d = m.indptr, m.indices, m.data
        lo, hi = P.bounds[k]
        st = P.stable[k]
        newh = []
        for r in range(m.shape[0]):
            if st[r] < 0:
                newh.append(None)
                continue
            terms = []
            for p in range(ip[r], ip[r + 1]):
                hv = h[ix[p]]
                if hv is None:
                    continue
                c = int(d[p])
                terms.append(hv if c == 1 else c * hv)
            if not terms:
                newh.append(None)
                continue
            z = S.Sum(terms) if len(terms) > 1 else terms[0]
            if st[r] > 0:
                v = S.Real(f"a{k}_{r}")
                cons.append(v == z)
                newh.append(v)
                continue
            v = S.Real(f"h{k}_{r}")
            l, u = int(lo[r]), int(hi[r])
            if encoding == "ite":
                cons.append(v == S.If(z > 0, z, 0))
            else:
                cons += [v >= 0, v >= z, S.Or(v <= 0, v <= z), v <= u]
                if triangle:
                    cons.append((u - l) * v <= u * z - u * l)
            newh.append(v)
        h = newh
    last = P.layers[-1]
    terms = [int(last.data[p]) * h[last.indices[p]] for p in range(last.nnz) if h[last.indices[p]] is not None]
    terms += [(-ai) * xs[i] for i, ai in enumerate(P.a_int) if ai != 0]
    if not terms:
        return ("linear", None)
    phi = S.Sum(terms) if len(terms) > 1 else terms[0]
    goals = [phi > 0, phi < 0] if split else [S.Or(phi > 0, phi < 0)]
    return _smt_core(P, S, backend, cons, xs, goals, time_limit, t0)


# ----------------------------------------------------------------------------------------------
# exact LP oracle for open polyhedral cones {x : g_j . x > 0 for all j}
# ----------------------------------------------------------------------------------------------

def _solve_exact_support(G_rows: list[list[int]]) -> list[Fraction] | None:
    """A solution ``y`` of ``sum_j y_j g_j = 0, sum_j y_j = 1`` (Fractions), or None if the system
    has none.  When the solution is not unique, free variables are set to 0."""
    m = len(G_rows)
    if m == 0:
        return None
    n = len(G_rows[0])
    # equations: rows = coordinates (n) + 1 normalisation; columns = y_j
    A = [[Fraction(G_rows[j][i]) for j in range(m)] + [Fraction(0)] for i in range(n)]
    A.append([Fraction(1)] * m + [Fraction(1)])
    piv_cols = rref(A, m)
    rows, r = len(A), len(piv_cols)
    for i in range(r, rows):
        if A[i][-1] != 0:
            return None
    y = [Fraction(0)] * m
    for i, c in enumerate(piv_cols):
        y[c] = A[i][-1]
    return y


class _ConeOracle:
    """Strict feasibility of homogeneous systems, exact.

    ``feasible(G)`` (G an int array, rows g_j) returns an integer interior point x with
    ``G x > 0`` (verified exactly), or None when the open cone is empty (verified by an exact
    Gordan certificate, or decided by z3's exact simplex)."""

    def __init__(self, n: int, lp: str = "highs"):
        self.n = n
        self.lp = lp
        self.stats = {"lp_calls": 0, "feasible": 0, "infeasible": 0, "exact_fallbacks": 0}
        self._z3 = None

    # --- exact fallback ------------------------------------------------------------------
    def _z3_feasible(self, G):
        import z3
        self.stats["exact_fallbacks"] += 1
        if self._z3 is None:
            self._z3 = [z3.Real(f"x{i}") for i in range(self.n)]
        xs = self._z3
        s = z3.Solver()
        for g in G:
            s.add(z3.Sum([int(c) * xs[i] for i, c in enumerate(g) if c != 0]) > 0)
        r = s.check()
        if r == z3.unsat:
            return None
        if r != z3.sat:
            raise RuntimeError("z3 returned unknown on a pure LRA conjunction")
        mdl = s.model()
        fr = [mdl.eval(v, model_completion=True).as_fraction() for v in xs]
        den = 1
        for f in fr:
            den = den * f.denominator // math.gcd(den, f.denominator)
        x = np.array([int(f * den) for f in fr], dtype=object)
        return x

    # --- float search with exact checks ----------------------------------------------------
    def feasible(self, G: np.ndarray):
        from scipy.optimize import linprog

        self.stats["lp_calls"] += 1
        if self.lp == "z3":
            x = self._z3_feasible(G)
            self.stats["feasible" if x is not None else "infeasible"] += 1
            return x
        m, n = G.shape
        Gf = G.astype(np.float64)
        norms = np.sqrt((Gf * Gf).sum(axis=1))
        norms[norms == 0] = 1.0
        Gn = Gf / norms[:, None]
        # maximise t  s.t.  Gn x >= t,  -1 <= x <= 1,  t <= 1
        c = np.zeros(n + 1)
        c[-1] = -1.0
        A = np.hstack([-Gn, np.ones((m, 1))])
        res = linprog(c, A_ub=A, b_ub=np.zeros(m), bounds=[(-1, 1)] * n + [(None, 1)], method="highs")
        if res.status == 0 and -res.fun > 1e-7:
            xf = res.x[:n]
            for bits in (20, 30, 40):
                xi = np.rint(xf * (1 << bits)).astype(np.int64)
                if G.dtype == object or bits > 20:
                    ok = all(sum(int(a) * int(b) for a, b in zip(g, xi)) > 0 for g in G)
                    xi = xi.astype(object) if bits > 20 else xi
                else:
                    ok = bool(np.all(G @ xi > 0))
                if ok:
                    self.stats["feasible"] += 1
                    return xi
            x = self._z3_feasible(G)
            self.stats["feasible" if x is not None else "infeasible"] += 1
            return x
        # Gordan: y >= 0, G^T y = 0, sum y = 1
        Aeq = np.vstack([Gn.T, np.ones((1, m))])
        beq = np.zeros(n + 1)
        beq[-1] = 1.0
        res2 = linprog(np.zeros(m), A_eq=Aeq, b_eq=beq, bounds=[(0, None)] * m, method="highs-ds")
        if res2.status == 0:
            y = res2.x
            supp = [j for j in range(m) if y[j] > 1e-9]
            rows = [[int(v) for v in G[j]] for j in supp]
            ye = _solve_exact_support(rows)
            if ye is not None and all(v >= 0 for v in ye) and any(v > 0 for v in ye):
                # exact check of the certificate
                tot = [sum(ye[t] * rows[t][i] for t in range(len(rows))) for i in range(n)]
                if all(v == 0 for v in tot):
                    self.stats["infeasible"] += 1
                    return None
        x = self._z3_feasible(G)
        self.stats["feasible" if x is not None else "infeasible"] += 1
        return x


def _primitive(g):
    """Hashable keys of the primitive vectors of ``g`` and ``-g`` (divided by their gcd)."""
    if g.dtype != object:
        gg = int(np.gcd.reduce(np.abs(g)))
        p = g // gg if gg > 1 else g
        return p.tobytes(), (-p).tobytes()
    gg = 0
    for v in g:
        gg = math.gcd(gg, int(v))
    p = tuple(int(v) // gg for v in g) if gg > 1 else tuple(int(v) for v in g)
    return p, tuple(-v for v in p)


def _inner(g, x) -> int:
    """Exact inner product of two integer vectors (int64 arrays, or object arrays of Python ints)."""
    if g.dtype == object or x.dtype == object:
        return int(dot(g.tolist(), x.tolist()))
    return int(g @ x)


# ----------------------------------------------------------------------------------------------
# activation-region enumeration
# ----------------------------------------------------------------------------------------------

class _Timeout(Exception):
    pass


def enumerate_linear(mats, a=None, time_limit: float | None = 60.0, lp: str = "highs",
                     seed: int = 0, stats: dict | None = None, max_regions: int | None = None):
    """Exact depth-first enumeration of the full-dimensional activation regions.

    Units are fixed layer by layer; on a region where layers ``< k`` are fixed, the
    pre-activations of layer ``k`` are exact integer linear forms ``g.x``.  A unit is fixed
    without branching when interval arithmetic says it is stable, when ``g = 0`` on the region,
    or when ``g`` (or ``-g``) is parallel to a constraint already on the path.  Each region is an
    open cone ``{x : g_j.x > 0}`` carrying an exact integer interior point ``x0``: the child on
    ``x0``'s side needs no LP; the other child needs one strict-feasibility test by
    :class:`_ConeOracle` (exact: verified point or exact Gordan certificate, else z3).  When
    ``g.x0 = 0`` both children get interior points ``x0 +- eps g`` exactly, with no LP.  Lower-
    dimensional regions are skipped: ``F - a.x`` is continuous, so vanishing on every
    full-dimensional region is vanishing everywhere.  On each full region, ``Phi`` is the integer
    form ``phi = D M_L J - a_int``; ``phi != 0`` gives a witness (``x0`` or ``x0 + eps phi``).

    ``lp``: ``"highs"`` (float search + exact certificates, z3 on failure), ``"z3"`` (a fresh
    exact z3 check per test) or ``"z3inc"`` (one incremental z3 solver following the DFS with
    push/pop: exact, and the cheapest per test).
    ``stats``: optional dict filled with counters (regions, LP calls, ...).
    ``max_regions``: give up (``unknown``) after that many linear regions (a cheap witness probe).
    """
    t0 = time.perf_counter()
    deadline = None if time_limit is None else t0 + time_limit
    P = _Problem(mats, a)
    n = P.n
    L = len(P.layers)
    dense = [m.toarray().astype(np.int64) for m in P.layers]
    # int64 safety: |J entries| <= prod row-abs norms; dot with x0 (|x0| <= 2^21 usually)
    B = 1
    for m in P.layers:
        B *= max(1, _row_abs_max(m))
    use_obj = B * max(1, n) * (1 << 25) >= _INT64_SAFE
    if use_obj:
        dense = [d.astype(object) for d in dense]
    oracle = _ConeOracle(n, lp=lp)
    st = {"regions": 0, "nodes": 0, "branch_free": 0}
    a_int = np.array(P.a_int, dtype=object if use_obj else np.int64)
    rng = np.random.default_rng(seed)
    x0 = rng.integers(-1000, 1001, size=n).astype(object if use_obj else np.int64)
    x0[x0 == 0] = 1
    cons: list[np.ndarray] = []
    keys: dict = {}
    result: list = []

    zs = None
    if lp == "z3inc":
        import z3
        zx = [z3.Real(f"x{i}") for i in range(n)]
        zs = z3.Solver()

    zdepth = [0]     # the z3 stack mirrors cons[:zdepth] (synchronised lazily, before a check)

    def push(g):
        cons.append(g)
        k = _primitive(g)[0]
        keys[k] = keys.get(k, 0) + 1

    def pop():
        g = cons.pop()
        k = _primitive(g)[0]
        keys[k] -= 1
        if keys[k] == 0:
            del keys[k]
        if zs is not None and zdepth[0] > len(cons):
            zs.pop()
            zdepth[0] -= 1

    def z3_point():
        """Exact check of all constraints on the path; an integer interior point or None."""
        oracle.stats["lp_calls"] += 1
        for j in range(zdepth[0], len(cons)):
            zs.push()
            zs.add(z3.Sum([int(c) * zx[t] for t, c in enumerate(cons[j]) if c != 0]) > 0)
        zdepth[0] = len(cons)
        if deadline is not None:
            rem = deadline - time.perf_counter()
            if rem <= 0:
                raise _Timeout
            zs.set("timeout", max(1, int(rem * 1000)))
        r = zs.check()
        if r != z3.sat and r != z3.unsat:
            raise _Timeout
        if r == z3.unsat:
            oracle.stats["infeasible"] += 1
            return None
        if r != z3.sat:
            raise RuntimeError("z3 unknown on an LRA conjunction")
        oracle.stats["feasible"] += 1
        mdl = zs.model()
        fr = [mdl.eval(v, model_completion=True).as_fraction() for v in zx]
        den = 1
        for f in fr:
            den = den * f.denominator // math.gcd(den, f.denominator)
        xi = [int(f * den) for f in fr]
        gg = 0
        for v in xi:
            gg = math.gcd(gg, v)
        xi = [v // gg for v in xi] if gg > 1 else xi
        small = max(abs(v) for v in xi) < (1 << 24) and not use_obj
        return np.array(xi, dtype=np.int64 if small else object)

    def perturb(x, g, sign):
        """An exact interior point of cons + {sign g > 0} near x, where g.x == 0 (or None)."""
        gg = _inner(g, g)
        # need c.(x + s t g) > 0 for all c: choose t = 1/q with q large (scale: q x + s g)
        q = 1
        for c in cons:
            cx = _inner(c, x)
            cg = _inner(c, g)
            if cg * sign < 0:
                # need q cx + sign cg > 0  -> q > |cg| / cx
                q = max(q, abs(cg) // cx + 1)
        xn = (x.astype(object) * q + sign * g.astype(object)) if (use_obj or q > (1 << 20) or x.dtype == object) else x * q + sign * g
        if gg == 0:
            return None
        if xn.dtype != object and np.max(np.abs(xn)) >= (1 << 24):
            xn = xn.astype(object)
        return xn

    def leaf(J, x):
        st["regions"] += 1
        if max_regions is not None and st["regions"] > max_regions:
            raise _Timeout
        phi = dense[-1][0] @ J - a_int if not use_obj else np.array(dense[-1][0], dtype=object) @ J - a_int
        if not np.any(phi != 0):
            return False
        phi = np.asarray(phi)
        w = x
        if _inner(phi, x) == 0:
            w = perturb(x, phi.astype(object), 1)
        wit = P.witness([int(v) for v in w])
        if wit is None:
            raise RuntimeError("internal: region witness failed the exact check")
        result.append(wit)
        return True

    def layer(k, J, x):
        """Enter hidden layer k (0-based) with Jacobian J of h_{k-1} on the region."""
        if deadline is not None and time.perf_counter() > deadline:
            raise _Timeout
        if k == L - 1:
            return leaf(J, x)
        G = dense[k] @ J
        act = np.zeros(G.shape[0], dtype=bool)
        return unit(k, 0, G, act, x)

    def unit(k, i, G, act, x):
        st["nodes"] += 1
        w = G.shape[0]
        while i < w:
            s = P.stable[k][i]
            if s != 0:
                act[i] = s > 0
                i += 1
                continue
            g = G[i]
            if not np.any(g != 0):
                act[i] = False
                i += 1
                continue
            key, nkey = _primitive(g)
            if key in keys:
                act[i] = True
                i += 1
                st["branch_free"] += 1
                continue
            if nkey in keys:
                act[i] = False
                i += 1
                st["branch_free"] += 1
                continue
            break
        if i == w:
            J = G * act[:, None]
            return layer(k + 1, J, x)
        if deadline is not None and time.perf_counter() > deadline:
            raise _Timeout
        g = G[i]
        sx = _inner(g, x)
        if sx == 0:
            sides = [(1, perturb(x, g, 1)), (-1, perturb(x, g, -1))]
        else:
            first = 1 if sx > 0 else -1
            sides = [(first, x), (-first, "lp")]
        for sign, xs in sides:
            gs = g if sign > 0 else -g
            if isinstance(xs, str) and zs is not None:
                push(gs)
                xs = z3_point()
                pop()
                if xs is None:
                    continue
            elif isinstance(xs, str):
                Gm = np.array(cons + [gs]) if cons else gs[None, :]
                xs = oracle.feasible(Gm)
                if xs is None:
                    continue
                if xs.dtype != object and use_obj:
                    xs = xs.astype(object)
                if xs.dtype == object and not use_obj:
                    # keep int64 when the point is small enough
                    if max(abs(int(v)) for v in xs) < (1 << 21):
                        xs = xs.astype(np.int64)
            push(gs)
            act2 = act.copy()
            act2[i] = sign > 0
            try:
                if unit(k, i + 1, G, act2, xs):
                    return True
            finally:
                pop()
        return False

    old_limit = sys.getrecursionlimit()  # the search recurses once per unstable unit
    sys.setrecursionlimit(max(old_limit, 20000))
    try:
        found = layer(0, np.eye(n, dtype=object if use_obj else np.int64), x0)
    except RecursionError:
        found = None
    except _Timeout:
        st.update(oracle.stats)
        if stats is not None:
            stats.update(st)
        return ("unknown", f"time or region limit after {st['regions']} regions")
    finally:
        sys.setrecursionlimit(old_limit)
    st.update(oracle.stats)
    if stats is not None:
        stats.update(st)
    if found is None:
        return ("unknown", "too many unstable units for the region search")
    if found:
        return ("nonlinear", result[0])
    return ("linear", None)


# ----------------------------------------------------------------------------------------------
# additive decomposition into small-support parts
# ----------------------------------------------------------------------------------------------

class _DSU:
    def __init__(self, n):
        self.p = list(range(n))

    def find(self, a):
        while self.p[a] != a:
            self.p[a] = self.p[self.p[a]]
            a = self.p[a]
        return a

    def union(self, a, b):
        a, b = self.find(a), self.find(b)
        if a != b:
            self.p[max(a, b)] = min(a, b)


def _cones(layers):
    """For each last-hidden unit: list (per hidden layer) of ancestor unit index arrays, and the
    input support."""
    L = len(layers)
    last = layers[-1]
    out_units = [int(j) for j in last.indices[last.data != 0]]
    res = {}
    for u in out_units:
        anc = [None] * (L - 1)
        cur = np.array([u])
        anc[L - 2] = cur
        for k in range(L - 2, -1, -1):
            m = layers[k]
            cols = np.unique(np.concatenate([m.indices[m.indptr[r]:m.indptr[r + 1]] for r in cur])) if len(cur) else np.array([], dtype=np.int64)
            if k > 0:
                anc[k - 1] = cols
            else:
                support = cols
            cur = cols
        res[u] = (anc, support)
    return res


def _subnetwork(layers, units, cone_info):
    """Matrices of f_U = sum_{u in U} c_u h_u restricted to the ancestors of U and to their input
    support.  Returns (mats, support)."""
    L = len(layers)
    keep = [set() for _ in range(L - 1)]
    support = set()
    for u in units:
        anc, sup = cone_info[u]
        for k in range(L - 1):
            keep[k].update(int(v) for v in anc[k])
        support.update(int(v) for v in sup)
    keep = [np.array(sorted(s), dtype=np.int64) for s in keep]
    sup = np.array(sorted(support), dtype=np.int64)
    mats = []
    prev = sup
    for k in range(L - 1):
        mats.append(sp.csr_array(layers[k][keep[k]][:, prev]))
        prev = keep[k]
    last = layers[-1].toarray()[0]
    row = np.zeros((1, len(prev)), dtype=np.int64)
    pos = {int(v): t for t, v in enumerate(prev)}
    for u in units:
        row[0, pos[u]] = last[u]
    mats.append(sp.csr_array(row))
    return mats, sup


def decompose_linear(mats, a=None, time_limit: float | None = 60.0,
                     inner: Callable | None = None, stats: dict | None = None):
    """Exact decision by splitting ``F`` into additive parts with small input support.

    ``F = sum_U f_U`` where each part ``f_U = sum_{u in U} c_u h_u`` collects last-hidden-layer
    units (``c = M_L``).  Initial parts: units sharing an ancestor unit or having equal input
    support are joined, then parts whose support is contained in another part's are merged into
    it.  Each part is decided exactly by ``inner`` (default :func:`enumerate_linear`) with its own
    axis vector.  Linear parts are dropped (``F`` minus a linear function keeps the question);
    nonlinear parts whose supports overlap are merged and decided again; when the remaining
    nonlinear parts have pairwise disjoint supports ``F`` is nonlinear (restricting to one part's
    coordinates isolates it), and that part's witness, padded with zeros, is a witness for ``F``
    (re-checked exactly on the original network).  Sound and complete; it pays off when ``F`` is a
    sum of many small-support identities (the ``zero`` family), and costs one extra pass otherwise.
    """
    t0 = time.perf_counter()
    inner = inner or enumerate_linear
    layers, scale = integerize(mats)
    n = layers[0].shape[1]
    ax, bx = axis_vector(mats)
    if a is None:
        a = ax
    a = [Fraction(v) for v in a]
    for i in range(n):
        if a[i] != ax[i]:
            e = [Fraction(0)] * n
            e[i] = Fraction(1)
            return ("nonlinear", tuple(e))
        if ax[i] + bx[i] != 0:
            e = [Fraction(0)] * n
            e[i] = Fraction(1)
            if check_witness(mats, a, e):
                return ("nonlinear", tuple(e))
            e[i] = Fraction(-1)
            return ("nonlinear", tuple(e))
    if len(layers) < 2:
        return ("linear", None)
    info = _cones(layers)
    units = list(info)
    if not units:
        return ("linear", None)
    idx = {u: t for t, u in enumerate(units)}
    dsu = _DSU(len(units))
    owner = {}
    for u in units:
        anc, sup = info[u]
        for k in range(len(layers) - 2):          # ancestors strictly below the last hidden layer
            for v in anc[k]:
                key = (k, int(v))
                if key in owner:
                    dsu.union(idx[u], idx[owner[key]])
                else:
                    owner[key] = u
        skey = ("s", tuple(int(v) for v in sup))
        if skey in owner:
            dsu.union(idx[u], idx[owner[skey]])
        else:
            owner[skey] = u
    groups: dict[int, list] = {}
    for u in units:
        groups.setdefault(dsu.find(idx[u]), []).append(u)
    parts = []
    for g in groups.values():
        sup = set()
        for u in g:
            sup.update(int(v) for v in info[u][1])
        parts.append([list(g), frozenset(sup)])
    # merge parts into a superset part (smallest superset, processed from small to large)
    parts.sort(key=lambda p: len(p[1]))
    alive = [True] * len(parts)
    for i in range(len(parts)):
        best = None
        for j in range(len(parts) - 1, i, -1):
            if alive[j] and parts[i][1] <= parts[j][1] and (best is None or len(parts[j][1]) <= len(parts[best][1])):
                best = j
        if best is not None:
            parts[best][0] += parts[i][0]
            alive[i] = False
    todo = [(p[0], p[1]) for p, al in zip(parts, alive) if al]
    st = {"parts": len(todo), "rounds": 0, "max_part_inputs": 0, "inner_calls": 0}
    if len(todo) == 1:
        # nothing to split: decide the network itself
        st.update(rounds=1, max_part_inputs=len(todo[0][1]), inner_calls=1)
        if stats is not None:
            stats.update(st)
        rem = None if time_limit is None else time_limit - (time.perf_counter() - t0)
        if rem is not None and rem <= 0:
            return ("unknown", "time limit")
        return inner(mats, a, rem)
    nonlinear: list = []  # (units, support, witness_in_full_coordinates)
    while True:
        st["rounds"] += 1
        for us, sup in todo:
            rem = None if time_limit is None else time_limit - (time.perf_counter() - t0)
            if rem is not None and rem <= 0:
                if stats is not None:
                    stats.update(st)
                return ("unknown", "time limit")
            sub, supp = _subnetwork(layers, us, info)
            st["max_part_inputs"] = max(st["max_part_inputs"], len(supp))
            st["inner_calls"] += 1
            sa, sb = axis_vector(sub)
            if any(x + y != 0 for x, y in zip(sa, sb)):
                i = next(t for t in range(len(sa)) if sa[t] + sb[t] != 0)
                w = [Fraction(0)] * len(supp)
                w[i] = Fraction(1) if sa[i] != 0 or sb[i] == 0 else Fraction(-1)
                # either e_i or -e_i has Phi != 0 for the part
                if not check_witness(sub, sa, w):
                    w[i] = -w[i]
                ans = ("nonlinear", tuple(w))
            else:
                ans = inner(sub, sa, rem)
            if ans[0] == "unknown":
                if stats is not None:
                    stats.update(st)
                return ("unknown", f"part with {len(supp)} inputs: {ans[1]}")
            if ans[0] == "nonlinear":
                full = [Fraction(0)] * n
                for t, c in enumerate(supp):
                    full[c] = Fraction(ans[1][t])
                nonlinear.append((us, sup, tuple(full)))
        if not nonlinear:
            if stats is not None:
                stats.update(st)
            return ("linear", None)
        # connected components of overlapping nonlinear parts
        dsu2 = _DSU(len(nonlinear))
        for i in range(len(nonlinear)):
            for j in range(i + 1, len(nonlinear)):
                if nonlinear[i][1] & nonlinear[j][1]:
                    dsu2.union(i, j)
        comps: dict[int, list] = {}
        for i in range(len(nonlinear)):
            comps.setdefault(dsu2.find(i), []).append(i)
        if all(len(c) == 1 for c in comps.values()):
            if stats is not None:
                stats.update(st)
            for _, _, w in nonlinear:
                if check_witness(mats, a, w):
                    return ("nonlinear", w)
            raise RuntimeError("internal: part witness failed on the full network")
        todo = []
        keep = []
        for c in comps.values():
            if len(c) == 1:
                keep.append(nonlinear[c[0]])
            else:
                us = [u for i in c for u in nonlinear[i][0]]
                sup = frozenset().union(*[nonlinear[i][1] for i in c])
                todo.append((us, sup))
        nonlinear = keep


# ----------------------------------------------------------------------------------------------
# portfolio
# ----------------------------------------------------------------------------------------------

def portfolio_part(mats, a=None, time_limit: float | None = 60.0, probe_regions: int = 32,
                   used: list | None = None):
    """One network, exactly: a witness probe -- :func:`enumerate_linear` (HiGHS search + exact
    certificates) over its first ``probe_regions`` regions, which are those of random points and
    find nonlinearity almost at once -- then :func:`smt_linear` (z3), far better at *proving*
    linearity, with 70% of what is left, then the full enumeration with the rest.
    ``unknown`` only if all give up."""
    t0 = time.perf_counter()

    def rem():
        return None if time_limit is None else time_limit - (time.perf_counter() - t0)

    used = [] if used is None else used
    r = enumerate_linear(mats, a, time_limit, max_regions=probe_regions)
    if r[0] != "unknown":
        used.append("enumeration")
        return r
    left = rem()
    if left is not None and left <= 0:
        return ("unknown", "time limit")
    r2 = smt_linear(mats, a, None if left is None else 0.7 * left)
    if r2[0] != "unknown":
        used.append("smt")
        return r2
    left = rem()
    if left is not None and left <= 0:
        return ("unknown", f"z3: {r2[1]}")
    r3 = enumerate_linear(mats, a, left)
    if r3[0] != "unknown":
        used.append("enumeration")
        return r3
    return ("unknown", f"z3: {r2[1]}; enumeration: {r3[1]}")


def decide_exact(mats, time_limit: float | None = 60.0, a=None, stats: dict | None = None):
    """Recommended exact fallback: axis test, then :func:`decompose_linear` with
    :func:`portfolio_part` (enumeration probe, then z3) on each part.  Same triples as the
    deciders: ``("linear", None)``, ``("nonlinear", witness)``, ``("unknown", reason)``;
    ``stats["methods"]`` lists the exact methods that answered the parts."""
    used: list = []
    if stats is not None:
        stats["methods"] = used
    return decompose_linear(mats, a, time_limit, inner=lambda m, aa, t: portfolio_part(m, aa, t, used=used),
                            stats=stats)


def decide_exact_network(net, *, time_limit: float | None = None, seed: int = 0):
    """The ``exact`` network decider: the axis test, then :func:`decide_exact`; every answer exact.

    Singletons rest on ``smt`` (z3's UNSAT over exact rationals proved a part linear) or
    ``enumeration`` (every activation region of every part checked exactly); two-subgradient answers
    carry a certificate built from the exact witness and checked by :func:`nsad.networks.check`.

    >>> from nsad.networks import ReluNetwork
    >>> bad = ReluNetwork([[[-1, 2], [1, -2], [-2, 3]], [[1, -1, -1]], [[1]]])   # relu(min(2x2-x1, x1-x2))
    >>> v = decide_exact_network(bad)
    >>> v.answer, v.complete, v.argument
    ('two-subgradients', True, 'certificate')
    >>> v = decide_exact_network(ReluNetwork([[[1], [-1]], [[2, -2]]]))            # 2x
    >>> v.answer, v.element, v.argument
    ('singleton', (2,), 'enumeration')
    """
    _require_bias_free(net, "the exact decider at 0")
    from nsad.solvers.network.certify import (axis_test, axis_verdict, certificate_from_witness, singleton,
                                              unknown, verdict_from_certificate)

    t0 = time.perf_counter()
    backend = "exact"
    axis = axis_test(net)
    stats = {"axis_seconds": time.perf_counter() - t0}
    if axis.violations:
        return axis_verdict(net, backend, t0, axis, stats, seed=seed)
    if net.depth == 1 or all(M.nnz == 0 for M in net.matrices[:-1]):
        return singleton(backend, t0, axis.a, stats, "exact: the network has no hidden unit", argument="linear-form")
    st: dict = {}
    answer, info = decide_exact(list(net.matrices), time_limit=time_limit, a=list(axis.a), stats=st)
    stats["exact_methods"] = sorted(set(st.get("methods", [])))
    stats["exact_seconds"] = time.perf_counter() - t0
    if answer == "linear":
        arg = "smt" if "smt" in st.get("methods", []) else "enumeration"
        how = "z3 over exact rationals" if arg == "smt" else "exact enumeration of activation regions"
        if not st.get("methods"):
            arg, how = "linear-form", "exact rewriting: every additive part is linear"
        return singleton(backend, t0, axis.a, stats, f"exact: F(x) - a.x = 0 on the box ({how})", argument=arg)
    if answer == "nonlinear":
        res = certificate_from_witness(net, info, axis.a, seed=seed)
        return verdict_from_certificate(backend, t0, res, stats, complete=True,
                                        reason="exact witness of F(x) != a.x, certificate checked")
    return unknown(backend, t0, f"exact fallback: {info}", stats)
