"""A normal form of bias-free ReLU networks under exact rewrites (docs/theory.md section 3.5).

The answer to the Clarke question depends only on the function ``F``, and is unchanged when ``F``
is multiplied by a constant ``C > 0``. :func:`normal_form` rewrites a network with the rules below,
each exact at every point of R^n, and returns a :class:`NormalForm`: a *skip network* whose units
are ``r_u = relu(w_u . v)``, where ``v = (x, r_1, ..., r_{u-1})`` holds the inputs and the earlier
units, and whose output is ``F_NF = c . v``, with ``F_NF = C * F`` for the recorded ``C > 0``.

Rules (``h >= 0`` are ReLU outputs, ``t > 0``), applied to every pre-activation ``z = w . v`` as
the original network is read from the inputs up, so the result is a fixed point of all of them:

1. *linear algebra*: consecutive linear maps compose, so every original unit's value is an exact
   integer combination of the inputs and of normal-form units (carries and identity layers vanish:
   ``relu(v) - relu(-v) = v``);
2. *zero row*: ``relu(0) = 0``;
3. *sign facts*: a pre-activation that is a combination with weights ``>= 0`` of values known to be
   ``>= 0`` is ``>= 0``, so ``relu(z) = z`` (a linear unit, substituted); with weights ``<= 0``,
   ``relu(z) = 0``. Known ``>= 0``: the units of the layer below (layers 2 and up), compared up to
   positive factors so that copies and cancelling weights are seen through, and, for every
   normal-form unit ``r = relu(e)``, both ``r`` and ``r - e = relu(-e)`` (:func:`_nonneg_by_peeling`),
   which sees through negated units ``relu(z) = relu(-z) + z``;
4. *positive scaling*: ``relu(t w . v) = t relu(w . v)``: rows are divided by the gcd of their
   weights;
5. *negation*: ``relu(-z) = relu(z) - z``: of ``w`` and ``-w`` one is chosen by content (the
   term whose variable has the smallest content hash gets a positive weight), the other becomes that
   unit plus a linear term;
6. *parallel rows merge*: units with equal normalised rows are one unit (their outgoing weights
   add, so cancelling groups and split units vanish);
7. *dead units*: a unit that no live unit and not the output uses is dropped;
8. *permutations*: the result does not depend on the order of the units of a layer
   (:meth:`NormalForm.signature` is the order-free comparison key; the units themselves keep the
   order in which the original network first produced them, so encodings keep its order).

Weights: integer matrices are used as they are; dyadic float weights become integers layer by layer
(:func:`nsad.networks.exact.integer_layers`), the factor going into ``C``. All arithmetic is exact
int64 with proven bounds (:class:`NormalFormError` otherwise).

What it does not undo: rewrites whose exactness needs facts that take more than one unit to see
(e.g. ``h_i - relu(h_i - h_j) = min(h_i, h_j) >= 0``, which makes ``relu(h_i - relu(h_i - h_j))``
linear: the ``min-sign-fact`` disguise of :mod:`nsad.networks.disguise`), and different ways of
writing the same lattice function (``max(a, b)`` as ``b + relu(a - b)`` or as
``(a + b + |a - b|) / 2``). Deciding whether two networks compute the same function is coNP-hard,
so no normal form can be canonical for functions.

>>> from nsad.networks import ReluNetwork
>>> net = ReluNetwork([[[1], [-1]], [[1, -1]]])                    # relu(x) - relu(-x) = x
>>> nf = normal_form(net)
>>> nf.n_units, nf.output_terms(), nf.factor
(0, ((0, 1),), Fraction(1, 1))
>>> absx = ReluNetwork([[[6], [-6]], [[1, 1]]])                   # 6 |x|
>>> nf = normal_form(absx)
>>> nf.n_units, nf.factor, nf.evaluate_exact([-2]) == nf.factor * absx.evaluate_exact([-2])
(1, Fraction(1, 6), True)
"""

from __future__ import annotations

from nsad.networks.relu_network import require_bias_free as _require_bias_free
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import scipy.sparse as sp

from nsad.errors import NetworkError
from nsad.networks import ReluNetwork
from nsad.networks.exact import INT64_SAFE, exact, integer_layers, row_abs_max
from nsad.solvers.network.simplify import _canon, _Csr, _matmul

__all__ = ["NormalForm", "NormalFormError", "normal_form"]

# float values of every variable at this many fixed random points select the rows worth a sign
# proof (a filter, never a decision): with 16, a maximum of three literals is positive at all of
# them one time in eight, and every such row cost a failed proof search
_SAMPLES = 64

# products R @ X with at most this many gathered terms are computed without scipy (whose per-call
# format checks cost more than such a product)
_SMALL_PRODUCT = 1 << 14

_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


class NormalFormError(NetworkError):
    """The normal form cannot be computed exactly within int64 (weights or values too large)."""


def _mix(a: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on uint64 arrays (wrap-around arithmetic)."""
    a = np.asarray(a, dtype=np.uint64)
    with np.errstate(over="ignore"):
        a = (a ^ (a >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        a = (a ^ (a >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return a ^ (a >> np.uint64(31))


def _input_hashes(n: int) -> np.ndarray:
    return _mix(np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))


@dataclass(frozen=True, eq=False)
class NormalForm:
    """A skip ReLU network in normal form (see the module docstring).

    ``rows``: CSR int64 of shape ``(K, n + K)``: unit ``u`` is ``relu(rows[u] . v)``, and
    ``rows[u]`` only uses variables ``< n + u`` (inputs first, then earlier units); ``output``: the
    output row (int64, length ``n + K``, primitive: the gcd of its weights is 1, or it is zero);
    ``factor``: ``C > 0`` with ``F_NF = C * F`` for the network it came from; ``levels``: each
    unit's depth (1 + the largest level it reads; inputs have level 0); ``stats``: counts of what
    the rules did.
    """

    n_inputs: int
    rows: sp.csr_array
    output: np.ndarray
    factor: Fraction
    levels: np.ndarray
    hashes: np.ndarray = field(repr=False)
    stats: dict = field(default_factory=dict, repr=False)
    origins: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_units(self) -> int:
        return int(self.rows.shape[0])

    @property
    def depth(self) -> int:
        """Number of ReLU levels (0 for a linear function)."""
        return int(self.levels.max()) if self.levels.size else 0

    @property
    def is_linear(self) -> bool:
        """No live unit: ``F`` is linear (its normal form is ``c . x``)."""
        return self.n_units == 0

    def output_terms(self) -> tuple:
        """``((variable, weight), ...)`` of the output row (variables ``< n`` are inputs)."""
        nz = np.flatnonzero(self.output)
        return tuple((int(j), int(self.output[j])) for j in nz)

    # -- evaluation ------------------------------------------------------------------------------
    def _values_exact(self, x) -> list:
        n = self.n_inputs
        if len(x) != n:
            raise NetworkError(f"x must have {n} coordinates, got {len(x)}")
        v = [Fraction(xi) for xi in x] + [Fraction(0)] * self.n_units
        ptr, col, val = self.rows.indptr, self.rows.indices, self.rows.data
        for u in range(self.n_units):
            z = sum((int(val[k]) * v[col[k]] for k in range(ptr[u], ptr[u + 1])), Fraction(0))
            v[n + u] = z if z > 0 else Fraction(0)
        return v

    def evaluate_exact(self, x):
        """Exact ``F_NF(x)`` (ints / Fractions; floats taken at their exact binary value)."""
        v = self._values_exact(x)
        return exact(sum((int(w) * v[j] for j, w in self.output_terms()), Fraction(0)))

    def evaluate(self, X) -> np.ndarray | float:
        """``F_NF`` in float64 at a point ``(n,)`` or a batch ``(b, n)``."""
        X = np.asarray(X, dtype=np.float64)
        single = X.ndim == 1
        Xb = np.atleast_2d(X)
        n, K = self.n_inputs, self.n_units
        V = np.zeros((Xb.shape[0], n + K))
        V[:, :n] = Xb
        R = self.rows.astype(np.float64)
        for lev in range(1, self.depth + 1):
            units = np.flatnonzero(self.levels == lev)
            V[:, n + units] = np.maximum(np.asarray(R[units] @ V.T).T, 0.0)
        out = V @ self.output.astype(np.float64)
        return float(out[0]) if single else out

    # -- answers about the original network --------------------------------------------------------
    def element_for_original(self, element_nf) -> tuple:
        """The original network's subgradient from the normal form's: divide by ``C``."""
        return tuple(exact(Fraction(e) / self.factor) for e in element_nf)

    # -- comparison ------------------------------------------------------------------------------
    def signature(self) -> tuple:
        """An order-free key: equal for two normal forms that differ only in the order of units.

        Units are renamed level by level, sorted by their rows written with the new names of the
        lower levels; the key is the renamed rows and output (the factor ``C`` is not part of it).
        """
        n, K = self.n_inputs, self.n_units
        name = np.full(n + K, -1, dtype=np.int64)
        name[:n] = np.arange(n)
        ptr, col, val = self.rows.indptr, self.rows.indices, self.rows.data
        rows_out = []
        nxt = n
        for lev in range(1, self.depth + 1):
            units = np.flatnonzero(self.levels == lev)
            keyed = []
            for u in units:
                terms = tuple(sorted((int(name[col[k]]), int(val[k])) for k in range(ptr[u], ptr[u + 1])))
                keyed.append((terms, int(u)))
            keyed.sort()
            for terms, u in keyed:
                name[n + u] = nxt
                nxt += 1
                rows_out.append(terms)
        out = tuple(sorted((int(name[j]), w) for j, w in self.output_terms()))
        return (n, tuple(rows_out), out)

    # -- as a layered network ------------------------------------------------------------------------
    def to_network(self) -> ReluNetwork:
        """A layered bias-free ReLU network computing ``F_NF`` (values needed higher up are carried:
        ``v = relu(v) - relu(-v)``); the form every layered decider reads.

        >>> from nsad.networks import ReluNetwork
        >>> nf = normal_form(ReluNetwork([[[1, -1], [0, 1], [0, -1]], [[1, 1, -1]]]))  # max(x1, x2)
        >>> net = nf.to_network()
        >>> [net.evaluate_exact(p) for p in ([3, 1], [-2, 5])]
        [3, 5]
        """
        n, K, D = self.n_inputs, self.n_units, self.depth
        if K == 0:
            return ReluNetwork([sp.csr_array(self.output[None, :n].astype(np.int64))])
        rows = self.rows.tocsr()
        lev = np.concatenate([np.zeros(n, dtype=np.int64), self.levels.astype(np.int64)])
        # last[v]: the highest level at which variable v is read (the output reads at level D + 1)
        last = np.full(n + K, -1, dtype=np.int64)
        coo = rows.tocoo()
        readers = lev[n + coo.row]
        np.maximum.at(last, coo.col, readers)
        out_vars = np.flatnonzero(self.output)
        last[out_vars] = D + 1
        # at layer l (1..D) the network holds: units of level l, and carries (pairs) of every
        # variable of level < l that is read above level l; a carry of v at layer l is the pair
        # (relu(v), relu(-v)) computed from layer l - 1's copy of v.
        mats = []
        prev_width = n
        prev_pos: dict[int, tuple] = {int(i): ("in", i) for i in range(n)}  # how layer l-1 exposes v
        for layer in range(1, D + 2):
            entries_r, entries_c, entries_v = [], [], []
            pos: dict[int, tuple] = {}
            width = 0

            def expr(v):
                """(columns, weights) of variable v in terms of layer - 1's units."""
                kind, p = prev_pos[v]
                if kind == "in":
                    return [p], [1]
                if kind == "unit":
                    return [p], [1]
                return [p, p + 1], [1, -1]  # a carry pair

            def emit(row_vars, row_vals):
                nonlocal width
                acc: dict[int, int] = {}
                for v, w in zip(row_vars, row_vals):
                    cs, ws = expr(int(v))
                    for c, s in zip(cs, ws):
                        acc[c] = acc.get(c, 0) + int(w) * s
                for c, w in acc.items():
                    if w:
                        entries_r.append(width)
                        entries_c.append(c)
                        entries_v.append(w)
                width += 1

            if layer == D + 1:
                emit(out_vars, self.output[out_vars])
            else:
                for u in np.flatnonzero(self.levels == layer):
                    s, e = rows.indptr[u], rows.indptr[u + 1]
                    pos[n + int(u)] = ("unit", width)
                    emit(rows.indices[s:e], rows.data[s:e])
                carried = [v for v in prev_pos if last[v] > layer]
                for v in carried:
                    pos[v] = ("pair", width)
                    cs, ws = expr(v)
                    for sign in (1, -1):
                        for c, w in zip(cs, ws):
                            entries_r.append(width)
                            entries_c.append(c)
                            entries_v.append(sign * w)
                        width += 1
            ncols = prev_width
            mats.append(sp.csr_array((np.array(entries_v, dtype=np.int64), (np.array(entries_r, dtype=np.int64),
                                      np.array(entries_c, dtype=np.int64))), shape=(width, ncols)))
            prev_pos = pos
            prev_width = width
        return ReluNetwork(mats)


def _row_hashes(ptr, col, val, var_hash) -> np.ndarray:
    """Commutative 64-bit content hash of each CSR row from its (variable hash, weight) terms."""
    nrows = ptr.size - 1
    if col.size == 0:
        return np.zeros(nrows, dtype=np.uint64)
    with np.errstate(over="ignore"):
        t = _mix(var_hash[col] ^ _mix(val.astype(np.int64).view(np.uint64) + np.uint64(0x632BE59BD9B4E019)))
        acc = _nonempty_reduceat(np.add, t, ptr, 0)
    return _mix(acc ^ np.uint64(0xD6E8FEB86659FD93))


def _segment_equal(ptr_a, col_a, val_a, ia, ptr_b, col_b, val_b, ib) -> np.ndarray:
    """For pairs (ia[j], ib[j]) of rows of two CSR-like stores, whether the rows are equal."""
    la = ptr_a[ia + 1] - ptr_a[ia]
    lb = ptr_b[ib + 1] - ptr_b[ib]
    eq = la == lb
    if not eq.any():
        return eq
    sel = np.flatnonzero(eq)
    lens = la[sel]
    tot = int(lens.sum())
    if tot == 0:
        return eq
    owner = np.repeat(np.arange(sel.size), lens)
    within = np.arange(tot) - np.repeat(np.cumsum(lens) - lens, lens)
    pa = ptr_a[ia[sel]][owner] + within
    pb = ptr_b[ib[sel]][owner] + within
    same = (col_a[pa] == col_b[pb]) & (val_a[pa] == val_b[pb])
    ok = np.ones(sel.size, dtype=bool)
    np.logical_and.at(ok, owner, same)
    eq[sel] = ok
    return eq


def _same_as_first(ptr, col, val, first, inv) -> bool:
    """Whether every CSR row equals, term by term, the first row of its hash group (``first``,
    ``inv`` as from ``np.unique(hashes, return_index=True, return_inverse=True)``): the exact
    confirmation of a grouping by 64-bit hashes. Rows that are their group's first are not compared."""
    rep = first[inv]
    dup = np.flatnonzero(rep != np.arange(rep.size))
    return not dup.size or bool(_segment_equal(ptr, col, val, dup, ptr, col, val, rep[dup]).all())


def _nonempty_reduceat(ufunc, values, ptr, empty_value):
    """``ufunc.reduceat`` over CSR segments, ``empty_value`` for empty ones."""
    starts = ptr[:-1]
    ne = starts < ptr[1:]
    if starts.size and ne.all():  # the common case: one call
        return ufunc.reduceat(values, starts)
    out = np.full((starts.size,) + values.shape[1:], empty_value, dtype=values.dtype)
    if values.size:
        out[ne] = ufunc.reduceat(values, starts[ne])
    return out


def _row_signs(col, val, ptr, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per CSR row: whether all its terms are on variables ``>= n``, all weights are ``> 0``, all
    are ``< 0`` (True for empty rows), with one reduction over bit flags."""
    bits = (col >= n).view(np.uint8) | ((val > 0).view(np.uint8) << 1) | ((val < 0).view(np.uint8) << 2)
    a = _nonempty_reduceat(np.bitwise_and, bits, ptr, np.uint8(7))
    return (a & 1).astype(bool), (a & 2).astype(bool), (a & 4).astype(bool)


def _nonneg_by_peeling(row: dict, n: int, g_ptr, g_col, g_val, budget: int = 8) -> bool:
    """Whether a combination ``row`` of inputs and units is ``>= 0`` everywhere, shown as a
    nonnegative combination of ``r_u = relu(e_u)`` and ``r_u - e_u = relu(-e_u)`` (both ``>= 0``; ``e_u``
    unit ``u``'s row). The highest unit's weight must be ``>= 0`` (no other generator touches it);
    it is taken by one of the two generators, the one leaving fewer input terms first, and the rest
    is peeled the same way until exactly 0 remains (depth-first, at most ``budget`` steps). Sound
    (a True answer is a proof), not complete. On the disguises of :mod:`nsad.networks.disguise` every
    proof found took at most 4 steps, while each failed search spends the whole budget (8).

    >>> import numpy as np
    >>> ptr, col, val = np.array([0, 2]), np.array([0, 1]), np.array([1, -1])   # unit 0: relu(x1 - x2)
    >>> _nonneg_by_peeling({2: 1, 0: -1, 1: 1}, 2, ptr, col, val)   # r - (x1 - x2) = relu(x2 - x1) >= 0
    True
    >>> _nonneg_by_peeling({2: 1, 0: -1}, 2, ptr, col, val)
    False
    """
    steps = [0]

    def cost(d):
        return sum(abs(c) for v, c in d.items() if v < n)

    def peel(r: dict) -> bool:
        steps[0] += 1
        if steps[0] > budget:
            return False
        units = [v for v in r if v >= n]
        if not units:
            return not r
        w = max(units)
        a = r[w]
        if a < 0:
            return False
        rest = {v: c for v, c in r.items() if v != w}
        alt = dict(rest)
        s, e = int(g_ptr[w - n]), int(g_ptr[w - n + 1])
        for v, c in zip(g_col[s:e].tolist(), g_val[s:e].tolist()):
            alt[v] = alt.get(v, 0) + a * c
            if alt[v] == 0:
                del alt[v]
        for option in sorted((rest, alt), key=cost):
            if peel(option):
                return True
        return False

    return peel({v: c for v, c in row.items() if c})


def _float_rows(ptr, col, val, X) -> np.ndarray:
    """``R @ X`` in float64 for the CSR rows ``R = (ptr, col, val)`` and a dense ``X``."""
    if col.size * X.shape[1] > _SMALL_PRODUCT:
        R = sp.csr_array((val.astype(np.float64), col, ptr), shape=(ptr.size - 1, X.shape[0]), copy=False)
        return np.asarray(R @ X)
    # small: gather and reduce per row (scipy's per-call checks cost more than the work)
    return _nonempty_reduceat(np.add, X[col] * val[:, None], ptr, 0.0)


def _sign_facts(M, V, var_hash: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rule 3 over one layer of ReLU outputs ``h >= 0``: ``z = M h`` is ``>= 0`` (``<= 0``) when its
    weights on the distinct values of ``h`` are all ``>= 0`` (``<= 0``).

    Values are compared up to positive factors: ``h_j = g_j hhat_j`` with ``hhat_j`` the primitive
    form of ``h_j``'s row in ``V``, so copies, split units and cancelling groups (whose weights add
    up to zero on one value) are seen for what they compute. Identically zero values are left out.
    ``M`` and ``V`` are canonical int64 CSR arrays (``simplify._Csr``). Returns ``(nonneg, nonpos)``
    per row of ``M``.
    """
    vptr, vcol, vval = V.ptr, V.col, V.val
    vcnt = np.diff(vptr)
    g = _nonempty_reduceat(np.gcd, np.abs(vval), vptr, 0)
    rows_of = np.repeat(np.arange(vcnt.size), vcnt)
    hval = vval // np.maximum(g, 1)[rows_of]
    h = _row_hashes(vptr, vcol, hval, var_hash)
    h[vcnt == 0] = 0
    _, first, inv = np.unique(h, return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    if not _same_as_first(vptr, vcol, hval, first, inv):
        raise NormalFormError("64-bit content hash collision between two different values")
    mrow, mcol = M.rows(), M.col
    keep = vcnt[mcol] > 0
    W = _canon(mrow[keep], inv[mcol[keep]], M.val[keep] * g[mcol[keep]], M.nrows, max(1, first.size))
    _, nonneg, nonpos = _row_signs(W.col, W.val, W.ptr, 0)
    return nonneg, nonpos


def normal_form(net: ReluNetwork) -> NormalForm:
    """The normal form of a scalar bias-free ReLU network (module docstring).

    Vectorised per layer of the original network: one sparse product composes the layer with the
    values below it, rows are classified, normalised and hashed with numpy, equal rows are found by
    sorting their 64-bit content hashes and confirmed exactly term by term (a collision between two
    different rows raises :class:`NormalFormError`, it is never merged).
    """
    _require_bias_free(net, "the normal form under exact rewrites")
    net.require_scalar()
    mats, scale = integer_layers(net.matrices)
    for k, M in enumerate(mats, start=1):
        if M.data.dtype == object:
            raise NormalFormError(f"layer {k}: weights need more than 62 bits as integers")
    n = int(net.n_inputs)
    var_hash = _input_hashes(n)
    # the growing normal form: unit rows in one CSR-like store, their levels, a sorted hash index
    g_ptr = np.zeros(1, dtype=np.int64)
    g_col = np.zeros(0, dtype=np.int64)
    g_val = np.zeros(0, dtype=np.int64)
    levels = np.zeros(n, dtype=np.int64)  # per variable
    origins = np.zeros(0, dtype=np.int64)  # per unit: its first row's index in its original layer
    idx_h = np.zeros(0, dtype=np.uint64)   # sorted hashes of the units
    idx_u = np.zeros(0, dtype=np.int64)    # their unit ids
    # float values of every variable at _SAMPLES fixed random points (a filter for rule 3, never a decision)
    samp_buf = np.empty((n + int(net.n_units), _SAMPLES))   # every unit comes from a row of the network
    samp_buf[:n] = np.random.default_rng(20261201).standard_normal((n, _SAMPLES))
    samp = samp_buf[:n]
    stats = {"zero": 0, "linear": 0, "dead": 0, "merged": 0, "negated": 0, "units_in": int(net.n_units)}
    V = _Csr(np.arange(n + 1, dtype=np.int64), np.arange(n, dtype=np.int64), np.ones(n, dtype=np.int64), n)
    vbound = 1
    L = len(mats)
    for k, Ms in enumerate(mats, start=1):
        M = _Csr.of(Ms)
        bound = row_abs_max(Ms) * vbound
        if bound >= INT64_SAFE:
            raise NormalFormError(f"layer {k}: intermediate weights would exceed int64")
        K = g_ptr.size - 1
        V.ncols = n + K
        E = _matmul(M.rows(), M.col, M.val, M.nrows, V, k)
        if k == L:
            break
        ptr, col, val = E.ptr, E.col, E.val
        nrows = E.nrows
        cnt = np.diff(ptr)
        rows_of = np.repeat(np.arange(nrows), cnt)
        # rule 3 (sign facts): rows over units only, all weights of one sign
        all_units, all_pos, all_neg = _row_signs(col, val, ptr, n)
        empty = cnt == 0
        linear = ~empty & all_units & all_pos
        zero = empty | (~empty & all_units & all_neg)
        if k >= 2:  # the layer below is ReLU outputs (>= 0): the original row's signs decide too
            s_lin, s_zero = _sign_facts(M, V, var_hash)
            linear |= ~empty & s_lin
            zero |= s_zero & ~linear
            linear &= ~zero
        general = ~(linear | zero)
        if k >= 2 and general.any():  # rule 3 once more, on the value itself (negated units hide sign facts)
            # float values at a few fixed random points only select the rows worth trying: a row
            # that is negative (positive) somewhere cannot be proved >= 0 (<= 0); proofs are exact
            Ev = _float_rows(ptr, col, val, samp)
            tol = 1e-9 * (1.0 + np.abs(Ev).max(axis=1))
            maybe_pos = general & (Ev.min(axis=1) >= -tol)
            maybe_neg = general & (Ev.max(axis=1) <= tol)
            tried: dict = {}  # equal rows (a value feeding several units) are tried once
            for i in np.flatnonzero(maybe_pos | maybe_neg):
                key = (col[ptr[i]:ptr[i + 1]].tobytes(), val[ptr[i]:ptr[i + 1]].tobytes(), bool(maybe_pos[i]))
                if key not in tried:
                    row = dict(zip(col[ptr[i]:ptr[i + 1]].tolist(), val[ptr[i]:ptr[i + 1]].tolist()))
                    if maybe_pos[i] and _nonneg_by_peeling(row, n, g_ptr, g_col, g_val):
                        tried[key] = "linear"
                    elif maybe_neg[i] and _nonneg_by_peeling({v: -c for v, c in row.items()}, n, g_ptr, g_col, g_val):
                        tried[key] = "zero"
                    else:
                        tried[key] = None
                if tried[key] == "linear":
                    linear[i] = True
                elif tried[key] == "zero":
                    zero[i] = True
            general = ~(linear | zero)
        stats["zero"] += int(zero.sum())
        stats["linear"] += int(linear.sum())
        new_r, new_c, new_v = [], [], []
        gidx = np.flatnonzero(general)
        if gidx.size:
            # rule 4: the gcd of each row; rule 5: the term with the smallest content hash is positive
            g_row = _nonempty_reduceat(np.gcd, np.abs(val), ptr, 1)
            vh = var_hash[col]
            lead = np.flatnonzero(vh == _nonempty_reduceat(np.minimum, vh, ptr, 0)[rows_of])
            lead = lead[np.concatenate([[True], rows_of[lead][1:] != rows_of[lead][:-1]])]   # the first, on a tie
            first_term = np.zeros(nrows, dtype=np.int64)
            first_term[rows_of[lead]] = lead
            sign_row = np.where(val[first_term] > 0, 1, -1)
            terms = np.flatnonzero(general[rows_of])
            trow = rows_of[terms]
            ncol = col[terms]
            nval = val[terms] * sign_row[trow] // g_row[trow]
            nptr = np.concatenate([[0], np.cumsum(cnt[gidx])]).astype(np.int64)
            h = _row_hashes(nptr, ncol, nval, var_hash)
            # rule 6: equal normalised rows, within the layer ...
            uh, first, inv = np.unique(h, return_index=True, return_inverse=True)
            inv = inv.reshape(-1)
            if not _same_as_first(nptr, ncol, nval, first, inv):
                raise NormalFormError("64-bit content hash collision between two different rows")
            # ... and with the units of earlier layers
            at = np.minimum(np.searchsorted(idx_h, uh), max(idx_h.size - 1, 0))
            found = (idx_h.size > 0) & (idx_h[at] == uh) if idx_h.size else np.zeros(uh.size, dtype=bool)
            uid = np.full(uh.size, -1, dtype=np.int64)
            if found.any():
                fu = idx_u[at[found]]
                if not _segment_equal(nptr, ncol, nval, first[found], g_ptr, g_col, g_val, fu).all():
                    raise NormalFormError("64-bit content hash collision between two different rows")
                uid[found] = fu
            fresh = np.flatnonzero(~found)
            fresh = fresh[np.argsort(first[fresh], kind="stable")]  # creation order = first appearance
            uid[fresh] = K + np.arange(fresh.size)
            stats["merged"] += int(h.size - fresh.size)
            stats["negated"] += int((sign_row[gidx] < 0).sum())
            if fresh.size:
                src = first[fresh]
                lens = cnt[gidx][src]
                owner = np.repeat(np.arange(src.size), lens)
                within = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens)
                pick = nptr[src][owner] + within
                g_col = np.concatenate([g_col, ncol[pick]])
                g_val = np.concatenate([g_val, nval[pick]])
                g_ptr = np.concatenate([g_ptr, g_ptr[-1] + np.cumsum(lens)])
                var_hash = np.concatenate([var_hash, uh[fresh]])
                fptr = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
                zf = _float_rows(fptr, ncol[pick], nval[pick], samp)
                top = samp.shape[0]
                np.maximum(zf, 0.0, out=samp_buf[top:top + zf.shape[0]])
                samp = samp_buf[:top + zf.shape[0]]
                lev = _nonempty_reduceat(np.maximum, levels[ncol[pick]], np.concatenate([[0], np.cumsum(lens)]), 0)
                levels = np.concatenate([levels, lev + 1])
                origins = np.concatenate([origins, gidx[src]])
                allh = np.concatenate([idx_h, uh[fresh]])
                allu = np.concatenate([idx_u, uid[fresh]])
                o = np.argsort(allh, kind="stable")
                idx_h, idx_u = allh[o], allu[o]
            unit_of = uid[inv]
            # values of the general rows: g R, plus E itself where the sign was flipped (rule 5)
            new_r.append(gidx)
            new_c.append(n + unit_of)
            new_v.append(g_row[gidx])
            neg = general[rows_of] & (sign_row[rows_of] < 0)
            new_r.append(rows_of[neg])
            new_c.append(col[neg])
            new_v.append(val[neg])
        if linear.any():
            m = linear[rows_of]
            new_r.append(rows_of[m])
            new_c.append(col[m])
            new_v.append(val[m])
        K = g_ptr.size - 1
        if new_r:
            V = _canon(np.concatenate(new_r), np.concatenate(new_c), np.concatenate(new_v), nrows, n + K)
        else:
            V = _Csr(np.zeros(nrows + 1, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), n + K)
        # |E| <= ||M||_inf * max|V| = bound, and V's entries are gcds or entries of E
        vbound = max(1, int(np.abs(V.val).max()) if V.val.size else 1)
    # the output row and its gcd
    K = g_ptr.size - 1
    out = np.zeros(n + K, dtype=np.int64)
    if E.val.size:
        out[E.col] = E.val
    c = int(np.gcd.reduce(np.abs(out[out != 0]))) if np.any(out) else 1
    out //= c
    # rule 7: dead units, level by level from the top
    live = out != 0
    ulev = levels[n:]
    for lev in range(int(ulev.max()) if K else 0, 0, -1):
        us = np.flatnonzero((ulev == lev) & live[n:])
        if us.size:
            lens = g_ptr[us + 1] - g_ptr[us]
            owner_pos = np.repeat(g_ptr[us], lens) + (np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens))
            live[g_col[owner_pos]] = True
    keep = np.flatnonzero(live[n:])
    stats["dead"] = int(K - keep.size)
    newid = np.full(n + K, -1, dtype=np.int64)
    newid[:n] = np.arange(n)
    newid[n + keep] = n + np.arange(keep.size)
    lens = g_ptr[keep + 1] - g_ptr[keep]
    pos = np.repeat(g_ptr[keep], lens) + (np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens))
    rptr = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    rows = sp.csr_array((g_val[pos], newid[g_col[pos]], rptr), shape=(keep.size, n + keep.size))
    out_new = np.zeros(n + keep.size, dtype=np.int64)
    nz = np.flatnonzero(out)
    out_new[newid[nz]] = out[nz]
    # levels of the kept units (dropping dead units never changes a live unit's level)
    hashes = np.concatenate([var_hash[:n], var_hash[n + keep]])
    # F = scale * F_int and F_int = c * F_NF, so F_NF = C * F with C = 1 / (scale * c)
    factor = Fraction(1) / (scale * c)
    stats["units_out"] = int(keep.size)
    return NormalForm(n, rows, out_new, factor, ulev[keep].copy(), hashes, stats, origins[keep])


# ------------------------------------------------------------------------------------------------
# the layered normal form: the same rules, keeping the network layered (for the simplifier)
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class LayeredForm:
    """A layered network ``G`` with ``G = C * F`` (``factor`` is ``C > 0``), cleaned by the rules of
    the module docstring that keep a network layered: zero rows and dead units dropped (2, 7), sign
    facts (3), gcd normalisation (4), parallel rows merged (6), layers that became linear (all units
    linear, or all units carry pairs ``relu(v) - relu(-v)``) multiplied into their neighbours (1).
    Units keep the order in which the original network has them (the encodings keep its order).
    ``stats``: what the rules did."""

    network: ReluNetwork
    factor: Fraction
    stats: dict = field(default_factory=dict, repr=False)


def _csr(M) -> sp.csr_array:
    M = sp.csr_array(M, dtype=np.int64, copy=True)
    M.sum_duplicates()
    M.eliminate_zeros()
    M.sort_indices()
    return M


def _row_groups(M: sp.csr_array, var_hash: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``M`` (normalised) grouped by exact equality: ``(first, inverse)`` as np.unique."""
    ptr, col, val = M.indptr.astype(np.int64), M.indices.astype(np.int64), M.data.astype(np.int64)
    h = _row_hashes(ptr, col, val, var_hash)
    _, first, inv = np.unique(h, return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    if not _same_as_first(ptr, col, val, first, inv):
        raise NormalFormError("64-bit content hash collision between two different rows")
    return first, inv


def _clean_layer(Mk: sp.csr_array, Mn: sp.csr_array, nonneg_inputs: bool, stats: dict):
    """One pass over hidden layer ``k`` (rows of ``Mk``, columns of ``Mn``); returns the new pair and
    whether the layer is linear (then ``Mn @ Mk`` replaces both)."""
    w = Mk.shape[0]
    ptr = Mk.indptr.astype(np.int64)
    cnt = np.diff(ptr)
    col_used = np.zeros(w, dtype=bool)
    col_used[np.unique(Mn.indices)] = True
    keep = (cnt > 0) & col_used
    linear = np.zeros(w, dtype=bool)
    if nonneg_inputs:
        pos = _nonempty_reduceat(np.logical_and, Mk.data > 0, ptr, True)
        neg = _nonempty_reduceat(np.logical_and, Mk.data < 0, ptr, True)
        zero = (cnt > 0) & neg
        stats["zero"] = stats.get("zero", 0) + int((zero & keep).sum())
        keep &= ~zero
        linear = keep & pos
    stats["dead"] = stats.get("dead", 0) + int(w - keep.sum() - 0)
    Mk, Mn, linear = Mk[keep], Mn[:, keep], linear[keep]
    # gcd normalisation (rule 4): unit rows divided by their gcd, columns multiplied by it
    ptr = Mk.indptr.astype(np.int64)
    g = _nonempty_reduceat(np.gcd, np.abs(Mk.data.astype(np.int64)), ptr, 1)
    if np.any(g > 1):
        Mk = _csr(sp.csr_array((Mk.data // np.repeat(g, np.diff(ptr)), Mk.indices, Mk.indptr), shape=Mk.shape))
        Mn = _csr(Mn @ sp.diags_array(g, dtype=np.int64))
    # parallel rows merge (rule 6): equal normalised rows become the first one, columns added
    if Mk.shape[0] > 1:
        first, inv = _row_groups(Mk, _input_hashes(Mk.shape[1]))
        if first.size < Mk.shape[0]:
            stats["merged"] = stats.get("merged", 0) + int(Mk.shape[0] - first.size)
            order = np.argsort(first, kind="stable")
            rank = np.empty(first.size, dtype=np.int64)
            rank[order] = np.arange(first.size)
            S = sp.csr_array((np.ones(inv.size, dtype=np.int64), (np.arange(inv.size), rank[inv])),
                             shape=(inv.size, first.size))
            Mk = _csr(Mk[np.sort(first)])
            Mn = _csr(Mn @ S)
            linear = linear[np.sort(first)]
            used = np.zeros(Mk.shape[0], dtype=bool)
            used[np.unique(Mn.indices)] = True
            if not used.all():
                stats["dead"] = stats.get("dead", 0) + int((~used).sum())
                Mk, Mn, linear = Mk[used], Mn[:, used], linear[used]
    if Mk.shape[0] and linear.all():
        return Mk, Mn, True
    # a layer of carry pairs (rows w, -w with columns c, -c) is linear too
    if Mk.shape[0] and Mk.shape[0] % 2 == 0:
        negM = _csr(-Mk)
        both = sp.vstack([Mk, negM]).tocsr()
        first, inv = _row_groups(_csr(both), _input_hashes(Mk.shape[1]))
        w2 = Mk.shape[0]
        partner = np.full(w2, -1, dtype=np.int64)
        # row i's negation is row j when inv[w2 + i] == inv[j]
        rep_of = {int(r): j for j, r in enumerate(inv[:w2])}
        for i in range(w2):
            partner[i] = rep_of.get(int(inv[w2 + i]), -1)
        if np.all(partner >= 0) and np.all(partner[partner] == np.arange(w2)) and np.all(partner != np.arange(w2)):
            Mnc = Mn.tocsc()
            if all(abs(Mnc[:, [i]] + Mnc[:, [int(partner[i])]]).sum() == 0 for i in range(w2)):
                a = np.flatnonzero(np.arange(w2) < partner)
                # c relu(v) - c relu(-v) = c v: keep one row of each pair
                return _csr(Mk[a]), _csr(Mn[:, a]), True
    return Mk, Mn, False


def layered_form(net: ReluNetwork) -> LayeredForm:
    """The layered normal form of a scalar bias-free ReLU network (see :class:`LayeredForm`).

    >>> from nsad.networks import ReluNetwork
    >>> net = ReluNetwork([[[2, -2], [0, 3], [0, -1]], [[1, 1, 0], [0, 0, 1]], [[1, -1]]])  # identity layer
    >>> lf = layered_form(net)
    >>> lf.network.depth, lf.factor, lf.network.evaluate_exact([5, 1]) == lf.factor * net.evaluate_exact([5, 1])
    (2, Fraction(1, 1), True)
    """
    _require_bias_free(net, "the normal form under exact rewrites")
    net.require_scalar()
    mats, scale = integer_layers(net.matrices)
    mats = [_csr(M) for M in mats]
    stats: dict = {"layers_in": len(mats)}
    k = 0  # index of the hidden layer being cleaned (mats[k] rows, mats[k + 1] columns)
    while k < len(mats) - 1:
        bound = row_abs_max(mats[k + 1]) * row_abs_max(mats[k])
        if bound >= INT64_SAFE:
            raise NormalFormError(f"layer {k + 1}: weights would exceed int64")
        Mk, Mn, linear = _clean_layer(mats[k], mats[k + 1], k >= 1, stats)
        if linear or Mk.shape[0] == 0:
            merged = _csr(Mn @ Mk) if Mk.shape[0] else sp.csr_array((Mn.shape[0], mats[k].shape[1]), dtype=np.int64)
            mats[k:k + 2] = [merged]
            stats["linear_layers"] = stats.get("linear_layers", 0) + 1
            k = max(k - 1, 0)  # the layer below now feeds a new matrix: clean it again
            continue
        mats[k], mats[k + 1] = Mk, Mn
        k += 1
    out = mats[-1]
    c = int(np.gcd.reduce(np.abs(out.data))) if out.nnz else 1
    if c > 1:
        mats[-1] = _csr(sp.csr_array((out.data // c, out.indices, out.indptr), shape=out.shape))
    stats["layers_out"] = len(mats)
    factor = Fraction(1) / (scale * c)
    return LayeredForm(ReluNetwork(mats), factor, stats)
