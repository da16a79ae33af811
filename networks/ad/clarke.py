"""The Clarke subdifferential at 0 of a small network, and the conservative set ``D^a_F(0)``.

docs/theory.md section 1: ``dF(0)`` is the convex hull of the gradients of the linear pieces of ``F``.
:func:`clarke_subdifferential_at_zero` finds the pieces by enumerating activation patterns:

1. Walk the hidden units layer by layer. On the current region (an open polyhedral cone where the
   pattern so far holds) the pre-activation of the next unit is an exact linear form ``c . x``:
   ``c = 0`` means the unit is identically zero there (no branching); a hyperplane already decided
   (``c`` a positive or negative multiple of an earlier one) forces the sign; otherwise both signs
   ``c . x > 0`` and ``c . x < 0`` are tried.
2. A branch survives when the open cone stays nonempty: an LP (scipy ``linprog``/HiGHS) maximises
   the margin ``t`` with ``sign * c_i . x / |c_i| >= t`` on the box ``[-1, 1]^n`` and keeps the
   branch when ``t > tol``; a known interior point that already satisfies the new inequality
   spares the LP.
3. Each full pattern (a leaf) has an exact gradient. Its witness is the integer point ``round(N x*)``
   (``x*`` the max-margin point, ``N`` large enough for rounding to keep every sign) checked exactly:
   every sign re-derived with integer arithmetic and ``net.exact_gradient(witness)`` equal to the
   leaf's gradient. Only confirmed pieces are reported (``unconfirmed`` counts the others).

The distinct gradients and the vertices of their convex hull form :class:`ClarkePolytope`. The
hull is exact in low dimension: its affine dimension is computed with Fractions; dimension 0 and 1
are handled exactly (end points of a segment); dimension ``r >= 2`` projects the points injectively
onto ``r`` pivot coordinates and calls ``scipy.spatial.ConvexHull`` there (integer inputs).

:func:`conservative_gradients_at_zero` lists the points of ``D^a_F(0)`` given by the vertex choices
``D_k`` in ``{0, 1}^{w_k}`` (all of them when ``2^units <= max_points``, a seeded sample otherwise),
exactly; :func:`backprop_at_zero` is the closed form ``s^(L-1) M_1^T ... M_L^T``.
"""

from __future__ import annotations

from nsad.networks.relu_network import require_bias_free as _require_bias_free
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from nsad.networks.ad import engine as E
from nsad.networks.ad.primitives import check_slope

__all__ = [
    "Piece",
    "ClarkePolytope",
    "ConservativeSample",
    "clarke_subdifferential_at_zero",
    "conservative_gradients_at_zero",
    "backprop_at_zero",
    "affine_dimension",
    "hull_vertices",
]


@dataclass(frozen=True)
class Piece:
    """A linear piece of ``F``: its exact gradient and an integer generic witness point."""

    gradient: tuple
    witness: tuple


@dataclass(frozen=True)
class ClarkePolytope:
    """``dF(0)``: the distinct piece gradients, the vertices of their hull, and search statistics.

    >>> P = ClarkePolytope(1, (Piece((-1,), (-4,)), Piece((1,), (4,))), ((-1,), (1,)), 1, 2, 3, 0)
    >>> P.gradients, P.is_singleton, P.to_json()["vertices"]
    (((-1,), (1,)), False, [[-1], [1]])
    """

    n: int
    pieces: tuple  # one Piece per distinct gradient, sorted by gradient
    vertices: tuple  # sorted tuples (exact)
    dimension: int  # affine dimension of the polytope
    regions: int  # activation regions found (leaves of the search)
    lps: int  # LPs solved
    unconfirmed: int  # regions whose float witness failed the exact check

    @property
    def gradients(self) -> tuple:
        return tuple(p.gradient for p in self.pieces)

    @property
    def is_singleton(self) -> bool:
        return len(self.pieces) == 1

    def contains(self, point, tol: float = 1e-9) -> bool:
        """Whether ``point`` lies in the polytope (float LP on the vertices, tolerance ``tol``).

        >>> ClarkePolytope(1, (), ((-1,), (1,)), 1, 2, 0, 0).contains([Fraction(1, 2)])
        True
        """
        from scipy.optimize import linprog

        if not self.vertices:
            return False
        V = np.array([[float(v) for v in vert] for vert in self.vertices], dtype=float)
        p = np.array([float(v) for v in point], dtype=float)
        m = V.shape[0]
        A_eq = np.vstack([V.T, np.ones((1, m))])
        b_eq = np.concatenate([p, [1.0]])
        res = linprog(np.zeros(m), A_eq=A_eq, b_eq=b_eq, bounds=[(0, None)] * m, method="highs")
        if res.status != 0:
            return False
        return bool(np.abs(A_eq @ res.x - b_eq).max() <= tol * max(1.0, np.abs(V).max()))

    def to_json(self) -> dict:
        def enc(v):
            return v if isinstance(v, int) else f"{v.numerator}/{v.denominator}"

        return {
            "n": self.n,
            "dimension": self.dimension,
            "gradients": [[enc(v) for v in p.gradient] for p in self.pieces],
            "witnesses": [list(p.witness) for p in self.pieces],
            "vertices": [[enc(v) for v in vert] for vert in self.vertices],
            "regions": self.regions,
            "lps": self.lps,
            "unconfirmed": self.unconfirmed,
        }


@dataclass(frozen=True)
class ConservativeSample:
    """Points of ``D^a_F(0)`` from vertex choices of the ``D_k``: all (``exhaustive``) or a sample."""

    points: tuple  # distinct exact gradient tuples, sorted
    choices: int  # number of vertex choices evaluated
    exhaustive: bool


# ---------------------------------------------------------------------------------------------
# exact helpers
# ---------------------------------------------------------------------------------------------
def _clean(v):
    v = Fraction(v) if not isinstance(v, int) else v
    if isinstance(v, Fraction) and v.denominator == 1:
        return int(v.numerator)
    return v


def _row_echelon(rows) -> tuple[int, list[int]]:
    """Rank and pivot columns of a list of exact rows (Fractions)."""
    A = [[Fraction(v) for v in r] for r in rows]
    if not A:
        return 0, []
    ncols = len(A[0])
    rank, pivots = 0, []
    for col in range(ncols):
        piv = next((r for r in range(rank, len(A)) if A[r][col] != 0), None)
        if piv is None:
            continue
        A[rank], A[piv] = A[piv], A[rank]
        for r in range(rank + 1, len(A)):
            if A[r][col] != 0:
                f = A[r][col] / A[rank][col]
                A[r] = [a - f * b for a, b in zip(A[r], A[rank])]
        pivots.append(col)
        rank += 1
        if rank == len(A):
            break
    return rank, pivots


def affine_dimension(points) -> int:
    """Exact dimension of the affine hull of ``points`` (-1 for no points).

    >>> affine_dimension([(0, 0), (1, 1), (2, 2)]), affine_dimension([(0, 0), (1, 0), (0, 1)])
    (1, 2)
    """
    pts = [tuple(p) for p in points]
    if not pts:
        return -1
    return _row_echelon([[a - b for a, b in zip(p, pts[0])] for p in pts[1:]])[0]


def hull_vertices(points) -> tuple:
    """Vertices of the convex hull of exact points (sorted tuples), exact in the degenerate cases.

    >>> hull_vertices([(0, 0), (2, 0), (0, 2), (1, 1), (Fraction(1, 2), Fraction(1, 2))])
    ((0, 0), (0, 2), (2, 0))
    >>> hull_vertices([(0, 0, 0), (1, 1, 1), (3, 3, 3)])
    ((0, 0, 0), (3, 3, 3))
    """
    pts = sorted({tuple(_clean(v) for v in p) for p in points})
    if len(pts) <= 1:
        return tuple(pts)
    diffs = [[a - b for a, b in zip(p, pts[0])] for p in pts[1:]]
    rank, pivots = _row_echelon(diffs)
    if rank == 1:
        j = pivots[0]
        lo = min(pts, key=lambda p: p[j])
        hi = max(pts, key=lambda p: p[j])
        return tuple(sorted({lo, hi}))
    from scipy.spatial import ConvexHull

    proj = np.array([[float(p[j]) for j in pivots] for p in pts], dtype=float)
    hull = ConvexHull(proj)
    return tuple(sorted(pts[i] for i in hull.vertices))


# ---------------------------------------------------------------------------------------------
# the D^a_F(0) side
# ---------------------------------------------------------------------------------------------
def _scalar_net(net) -> None:
    if int(net.n_outputs) != 1:
        raise E.network_error(f"a scalar-output network is required, this one has {int(net.n_outputs)} outputs")


def backprop_at_zero(net, s=1) -> tuple:
    """The closed form of backpropagation at 0: ``s^(L-1) M_1^T M_2^T ... M_L^T`` (exact tuple).

    >>> import scipy.sparse as sp
    >>> class Net:
    ...     matrices = (sp.csr_array(np.array([[1], [-1]])), sp.csr_array(np.array([[-1, -2]])))
    ...     n_outputs = 1
    >>> backprop_at_zero(Net(), 1), backprop_at_zero(Net(), Fraction(1, 2))
    ((1,), (Fraction(1, 2),))
    """
    _require_bias_free(net, "backprop at 0")
    _scalar_net(net)
    s = check_slope(s)
    s = Fraction(s) if isinstance(s, float) else s
    mats = net.matrices
    G = np.ones((1, 1), dtype=np.int64)
    for M in reversed(mats):
        G = E.exact_product(E.transposes_one(M), G)
    factor = s ** (len(mats) - 1)
    return tuple(_clean(v * factor) for v in G[:, 0].tolist())


def conservative_gradients_at_zero(net, max_points: int = 4096, seed: int = 0) -> ConservativeSample:
    """Points ``M_1^T D_1 ... D_{L-1} M_L^T`` of ``D^a_F(0)`` for ``D_k`` in ``{0,1}^{w_k}`` (exact).

    All ``2^units`` choices when that is at most ``max_points``; otherwise ``max_points`` choices:
    all-zero, all-one, and the rest drawn with ``numpy.random.default_rng(seed)``.

    >>> import scipy.sparse as sp
    >>> class AbsNet:
    ...     matrices = (sp.csr_array(np.array([[1], [-1]])), sp.csr_array(np.array([[1, 1]])))
    ...     n_outputs, widths = 1, (2, 1)
    >>> conservative_gradients_at_zero(AbsNet()).points
    ((-1,), (0,), (1,))
    """
    _require_bias_free(net, "the conservative field at 0")
    _scalar_net(net)
    mats = net.matrices
    hidden = [int(M.shape[0]) for M in mats[:-1]]
    units = sum(hidden)
    if units == 0:
        choices = np.zeros((0, 1), dtype=np.int64)
        exhaustive = True
    elif units < 63 and 2 ** units <= max_points:
        idx = np.arange(2 ** units, dtype=np.int64)
        choices = ((idx[None, :] >> np.arange(units, dtype=np.int64)[:, None]) & 1).astype(np.int64)
        exhaustive = True
    else:
        rng = np.random.default_rng(seed)
        b = max(2, int(max_points))
        choices = rng.integers(0, 2, size=(units, b), dtype=np.int64)
        choices[:, 0] = 0
        choices[:, 1] = 1
        exhaustive = False
    b = choices.shape[1]
    offsets = np.concatenate([[0], np.cumsum(hidden)]).astype(int)
    G = np.ones((1, b), dtype=np.int64)
    for k in range(len(mats) - 1, -1, -1):
        G = E.exact_product(E.transposes_one(mats[k]), G)
        if k > 0:
            mask = choices[offsets[k - 1]:offsets[k]]
            G = G * (mask if G.dtype != object else mask.astype(object))
    pts = sorted({tuple(_clean(v) for v in col) for col in G.T.tolist()})
    return ConservativeSample(points=tuple(pts), choices=b, exhaustive=exhaustive)


# ---------------------------------------------------------------------------------------------
# the Clarke side
# ---------------------------------------------------------------------------------------------
def _canonical(c: tuple) -> tuple[tuple, int]:
    """(primitive integer vector with first nonzero entry positive, sign of the multiplier)."""
    q = 1
    for v in c:
        if isinstance(v, Fraction):
            q = math.lcm(q, v.denominator)
    ints = [int(v * q) for v in c]
    g = 0
    for v in ints:
        g = math.gcd(g, v)
    ints = [v // g for v in ints]
    first = next(v for v in ints if v != 0)
    sign = 1 if first > 0 else -1
    return tuple(sign * v for v in ints), sign


class _Search:
    def __init__(self, net, tol, max_regions):
        from scipy.optimize import linprog

        self.linprog = linprog
        self.net = net
        self.mats = net.matrices
        self.L = len(self.mats)
        self.n = int(net.n_inputs)
        self.tol = tol
        self.max_regions = max_regions
        self.lps = 0
        self.leaves = []  # (gradient tuple, exact constraints)

    def lp(self, rows_f: list) -> tuple[float, np.ndarray | None]:
        """Max margin t over x in [-1,1]^n with r . x >= t for every (normalised) row r."""
        self.lps += 1
        n = self.n
        if not rows_f:
            return 1.0, np.zeros(n)
        R = np.array(rows_f, dtype=float)
        A_ub = np.hstack([-R, np.ones((R.shape[0], 1))])
        c = np.zeros(n + 1)
        c[-1] = -1.0
        res = self.linprog(c, A_ub=A_ub, b_ub=np.zeros(R.shape[0]), bounds=[(-1, 1)] * n + [(0, 1)], method="highs")
        if res.status != 0:
            return 0.0, None
        return float(res.x[-1]), res.x[:n]

    @staticmethod
    def _normalised(c: tuple, sign: int) -> np.ndarray:
        v = np.array([float(a) for a in c]) * sign
        return v / np.linalg.norm(v)

    def _cheap_point(self, cons_f: list, r: np.ndarray, x0) -> np.ndarray | None:
        """A point of the box strictly inside the parent region and with ``r . x > tol``, found
        without an LP when easy: ``x0`` itself, or ``x0`` moved across the new hyperplane. A
        ``None`` answer proves nothing (the LP decides)."""
        if x0 is None:
            return None
        a = float(r @ x0)
        if a > self.tol:
            return x0
        A = np.array(cons_f, dtype=float) if cons_f else np.zeros((0, self.n))
        margin = float((A @ x0).min()) if A.shape[0] else 1.0
        for lam in (2.0 * abs(a) + margin / 2, 1.1 * abs(a) + margin / 8, abs(a) + margin / 64):
            y = x0 + lam * r
            y /= max(1.0, float(np.abs(y).max()))
            if float(r @ y) > self.tol and (A.shape[0] == 0 or float((A @ y).min()) > self.tol):
                return y
        return None

    def run(self):
        A0 = np.eye(self.n, dtype=np.int64).astype(object)
        if self.L == 1:
            grad = E.exact_product(self.mats[0], A0)[0]
            self.leaves.append((tuple(_clean(v) for v in grad), [], []))
            return
        C = E.exact_product(self.mats[0], A0)
        self._rec(0, C, 0, [], [], [], {}, None)

    def _rec(self, k, C, i, h_rows, cons_exact, cons_f, decided, x0):
        w = C.shape[0]
        if i == w:
            A = np.array(h_rows, dtype=object).reshape(w, self.n)
            Cn = E.exact_product(self.mats[k + 1], A)
            if k + 1 == self.L - 1:
                grad = tuple(_clean(v) for v in Cn[0].tolist())
                self.leaves.append((grad, cons_exact, cons_f))
                if len(self.leaves) > self.max_regions:
                    raise E.network_error(
                        f"more than {self.max_regions} linear regions: too large for the exact Clarke enumeration")
                return
            self._rec(k + 1, Cn, 0, [], cons_exact, cons_f, decided, x0)
            return
        c = tuple(C[i].tolist())
        zero_row = tuple(0 for _ in c)
        if all(v == 0 for v in c):
            self._rec(k, C, i + 1, h_rows + [zero_row], cons_exact, cons_f, decided, x0)
            return
        key, mu = _canonical(c)
        if key in decided:
            sigma = decided[key] * mu
            self._rec(k, C, i + 1, h_rows + [c if sigma > 0 else zero_row], cons_exact, cons_f, decided, x0)
            return
        for sigma in (1, -1):
            r = self._normalised(c, sigma)
            child_x0 = self._cheap_point(cons_f, r, x0)
            if child_x0 is None:
                t, xs = self.lp(cons_f + [r])
                if xs is None or t <= self.tol:
                    continue
                child_x0 = xs
            d2 = dict(decided)
            d2[key] = sigma * mu
            self._rec(k, C, i + 1, h_rows + [c if sigma > 0 else zero_row],
                      cons_exact + [(c, sigma)], cons_f + [r], d2, child_x0)

    def witness(self, cons_exact, cons_f) -> tuple | None:
        t, xs = self.lp(cons_f)
        if xs is None or t <= self.tol:
            return None
        N = max(1, math.ceil(4 * math.sqrt(self.n) / t))
        for scale in (N, 16 * N, 1024 * N):
            w = tuple(int(round(v * scale)) for v in xs)
            if all(sigma * sum(a * b for a, b in zip(c, w)) > 0 for c, sigma in cons_exact):
                return w
        return None


def clarke_subdifferential_at_zero(net, *, max_inputs: int = 6, max_units: int = 256,
                                   max_regions: int = 5000, tol: float = 1e-9) -> ClarkePolytope:
    """The Clarke subdifferential ``dF(0)`` of a small scalar network (see the module docstring).

    Raises ``NetworkError`` beyond ``max_inputs`` inputs, ``max_units`` hidden units or
    ``max_regions`` activation regions.

    >>> from nsad.networks import ReluNetwork
    >>> absx = ReluNetwork([np.array([[1], [-1]]), np.array([[1, 1]])])  # |x|
    >>> P = clarke_subdifferential_at_zero(absx)
    >>> P.gradients, P.vertices, P.dimension, [p.witness for p in P.pieces]
    (((-1,), (1,)), ((-1,), (1,)), 1, [(-4,), (4,)])
    """
    _require_bias_free(net, "the Clarke polytope at 0")
    _scalar_net(net)
    n = int(net.n_inputs)
    units = sum(int(w) for w in net.widths[:-1])
    if n > max_inputs:
        raise E.network_error(f"the exact Clarke enumeration is for small networks: n = {n} > {max_inputs} inputs")
    if units > max_units:
        raise E.network_error(
            f"the exact Clarke enumeration is for small networks: {units} > {max_units} hidden units")
    if not hasattr(net, "exact_gradient"):
        raise E.network_error("clarke_subdifferential_at_zero needs a ReluNetwork (with exact_gradient)")
    search = _Search(net, tol, max_regions)
    search.run()
    pieces: dict = {}
    unconfirmed = 0
    for grad, cons_exact, cons_f in search.leaves:
        if grad in pieces:
            continue
        w = search.witness(cons_exact, cons_f) if cons_exact else (1,) * n
        if w is None:
            unconfirmed += 1
            continue
        g = net.exact_gradient(list(w))
        if g is None or tuple(_clean(v) for v in g) != grad:
            unconfirmed += 1
            continue
        pieces[grad] = Piece(gradient=grad, witness=w)
    ordered = tuple(pieces[g] for g in sorted(pieces))
    verts = hull_vertices([p.gradient for p in ordered]) if ordered else ()
    dim = affine_dimension([p.gradient for p in ordered])
    return ClarkePolytope(n=n, pieces=ordered, vertices=verts, dimension=dim, regions=len(search.leaves),
                          lps=search.lps, unconfirmed=unconfirmed)
