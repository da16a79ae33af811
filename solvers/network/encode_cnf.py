"""CNF encodings of "is F - a.x nonzero somewhere on the grid" for a certified simplified program.

Input: a :class:`solvers.network.program.Program` and its :class:`solvers.network.simplify.GridClass` (docs/theory.md
section 3, classes (a) and (b)); for class (a) also the axis values ``a_i = F(e_i)``. Output: a
:class:`CnfEncoding` (clauses for python-sat) that is satisfiable iff ``F`` is not linear, and that
maps a model back to a grid witness ``s`` with ``F(s) != a.s``.

Two encodings:

* ``"sign"`` (the usual case). Write ``G = F - a.x = scale * sum_k c_k T_k`` and suppose the
  question is *monotone*: class (b) (``G >= 0`` is a positive sum of ``relu(p_k)``), or class (a)
  with no linear remainder and a single term or terms of one sign. Then ``G != 0`` somewhere iff
  some ``p_k >= 1`` (resp. ``T_k >= 1`` or ``T_k <= -1``) at a point of {-1, 1}^n (the proofs are in
  :func:`solvers.network.simplify.certify`: the events are monotone Boolean combinations of
  ``x_i >= 1`` and ``x_i <= -1``). One Boolean per input: variable ``i + 1`` true iff ``x_i = +1``.
  Node events are encoded one-sided (Plaisted-Greenbaum): a Tseitin variable *implies* "node >= 1"
  (or "node <= -1"); ``max`` is an *or* for ``>= 1`` and an *and* for ``<= -1``, ``min`` the
  reverse, a negative weight swaps the two events, the operand 0 is false for both. Conjunctions
  at the top are asserted clause by clause and nested disjunctions are spliced into one clause,
  so the reduction of a CNF formula gives back that formula's clauses (up to order and repeats),
  with the same variable numbers.
* ``"ternary"`` (class (a), general sums). Every node of a lattice program over signed
  coordinates takes values in {-1, 0, 1} on the grid; it gets an order encoding (``v >= 0``,
  ``v >= 1``, both defined by equivalences), inputs too (``x_i >= 0`` is variable ``i + 1``,
  ``x_i >= 1`` is ``n + i + 1``). ``G`` becomes ``const + sum_j w_j y_j`` over those Booleans; with
  integer weights expanded into repeated literals, a totalizer (both directions) counts them and one
  clause says the count differs from ``-const``.

>>> from nsad.networks import ReluNetwork
>>> from nsad.solvers.network.simplify import simplify, certify
>>> net = ReluNetwork([[[1, -1], [0, 1], [0, -1]], [[1, 1, -1]], [[1]]])   # relu(max(x1, x2))
>>> p = simplify(net)
>>> enc = encode_grid_cnf(p, certify(p))
>>> enc.mode, enc.clauses
('sign', [[1, 2]])
>>> enc.witness([-1, 2])
(-1, 1)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import lcm
from typing import Sequence

import numpy as np

from nsad.solvers.network.program import MAX, MIN, SUM, Program
from nsad.solvers.network.simplify import LATTICE, RELU_LATTICE, GridClass
from nsad.solvers.registry import SolverError

__all__ = ["CnfEncoding", "encode_grid_cnf", "EncodingError", "grid_question"]

SIGN = "sign"
TERNARY = "ternary"
_SPLICE = 64          # nested disjunctions up to this many literals are spliced into a clause
_MAX_UNARY = 20000    # ternary mode: largest total weight expanded into unary literals


class EncodingError(SolverError):
    """The program is outside what the encoder handles (not certified, or weights too large)."""


@dataclass(frozen=True)
class CnfEncoding:
    """Clauses over variables ``1..n_vars``; ``mode`` says how a model maps to a grid point.

    ``trivial`` is ``False`` when the question is decided without a solver (no nonlinear term:
    ``F`` is linear); then ``clauses`` is ``[[]]``-free and empty and should not be solved.
    """

    clauses: list
    n_vars: int
    n_inputs: int
    mode: str
    trivial: bool | None = None
    stats: dict = field(default_factory=dict)

    def witness(self, model: Sequence[int]) -> tuple:
        """The grid point of a model (DIMACS literals; unlisted variables count as false).

        >>> CnfEncoding([], 4, 2, "ternary").witness([1, -2, 3, -4])   # x1: >=0 and >=1; x2: neither
        (1, -1)
        """
        n = self.n_inputs
        val = np.zeros(self.n_vars + 1, dtype=bool)
        lits = np.asarray([v for v in model if abs(v) <= self.n_vars], dtype=np.int64)
        if lits.size:
            val[np.abs(lits)] = lits > 0
        if self.mode == SIGN:
            return tuple(np.where(val[1 : n + 1], 1, -1).tolist())
        ge0 = val[1 : n + 1].astype(np.int64)
        ge1 = val[n + 1 : 2 * n + 1].astype(np.int64)
        return tuple((ge0 + ge1 - 1).tolist())


def grid_question(p: Program, grid: GridClass, a: Sequence | None = None) -> tuple[str, list, dict]:
    """Reduce "``F - a.x != 0`` somewhere" to one of the encodings.

    Returns ``(mode, payload, info)``: for ``"sign"``, ``payload`` lists ``(node, pol)`` pairs, one
    of which must hold at a point of {-1, 1}^n (``pol = +1``: node >= 1; ``-1``: node <= -1); for
    ``"ternary"``, integer weights ``(w_lin, [(w_k, node)...])`` and the constant; for ``"linear"``,
    nothing (``F`` is linear: the encoder is not needed).

    >>> from nsad.solvers.network.program import ProgramBuilder
    >>> from nsad.solvers.network.simplify import certify
    >>> b = ProgramBuilder(2)
    >>> p = b.build(b.sum([(1, b.max([(1, 0), (1, 1)])), (1, b.min([(1, 0), (1, 1)]))]))
    >>> grid_question(p, certify(p), a=(1, 1))[0]          # max + min - (x1 + x2): a general sum
    'ternary'
    """
    n = p.n_inputs
    terms = list(grid.terms)
    if grid.kind == RELU_LATTICE:
        pairs = []
        for c, t in terms:
            k = t - n
            neg = int(p.kinds[k]) == MIN  # c < 0 and min(ops, 0): relu(max(-ops))
            for w, child in p.operands(t):
                pairs.append((child, -1 if (w < 0) != neg else 1))
        return SIGN, pairs, {"terms": len(terms)}
    if grid.kind != LATTICE:
        raise EncodingError(f"no grid encoding for class {grid.kind!r}")
    if a is None:
        raise EncodingError("class (a) needs the axis values a_i = F(e_i)")
    if not terms:
        return "linear", [], {"terms": 0}
    scale = Fraction(grid.scale)
    rem = [scale * l - Fraction(ai) for l, ai in zip(grid.linear, a)]
    wk = [scale * c for c, _ in terms]
    D = lcm(*[f.denominator for f in rem + wk])
    w_lin = [int(f * D) for f in rem]
    w_k = [int(f * D) for f in wk]
    if not any(w_lin):
        signs = [_one_sided(p, t) for _, t in terms]  # +1: T >= 0, -1: T <= 0, 0: either
        prod = [w * s for w, s in zip(w_k, signs)]
        if len(terms) == 1 or all(v > 0 for v in prod) or all(v < 0 for v in prod):
            pairs = []
            for (w, t), s in zip(zip(w_k, (t for _, t in terms)), signs):
                if s >= 0:
                    pairs.append((t, 1))
                if s <= 0:
                    pairs.append((t, -1))
            return SIGN, pairs, {"terms": len(terms)}
    return TERNARY, [w_lin, list(zip(w_k, (t for _, t in terms)))], {"terms": len(terms)}


def _one_sided(p: Program, t: int) -> int:
    """+1 if node ``t`` is >= 0 everywhere (a max with the operand 0), -1 if <= 0, else 0."""
    if t < p.n_inputs:
        return 0
    k = t - p.n_inputs
    if p.zero[k]:
        return 1 if int(p.kinds[k]) == MAX else -1
    return 0


# ------------------------------------------------------------------------------------------------
# the sign encoding
# ------------------------------------------------------------------------------------------------
class _SignEncoder:
    """Events ``(node, pol)``: ``pol = +1`` is "node >= 1", ``-1`` is "node <= -1" (on {-1, 1}^n).

    No recursion: the events needed below the asserted ones are collected top-down with a stack,
    then given literals bottom-up in id order (operands have smaller ids)."""

    def __init__(self, p: Program):
        self.p = p
        self.n = p.n_inputs
        self.next_var = self.n + 1
        self.clauses: list = []
        self.kinds = p.kinds.tolist()
        self.zero = p.zero.tolist()
        self.ptr = p.ptr.tolist()
        self.args = p.args.tolist()
        self.coefs = p.coefs.tolist()
        self.flat: dict = {}     # or-event -> literals whose disjunction implies it (nested ors spliced)
        self.lits: dict = {}     # event -> one literal implying it, or None (impossible)

    def ops(self, node: int):
        k = node - self.n
        lo, hi = self.ptr[k], self.ptr[k + 1]
        return zip(self.coefs[lo:hi], self.args[lo:hi])

    def shape(self, node: int, pol: int) -> str:
        """'leaf', 'neg' (a one-operand sum), 'or' or 'and' for the event (node, pol)."""
        if node < self.n:
            return "leaf"
        kind = self.kinds[node - self.n]
        if kind == SUM:
            return "neg"
        return "or" if (kind == MAX) == (pol > 0) else "and"

    def through_neg(self, node: int, pol: int) -> tuple:
        while self.shape(node, pol) == "neg":
            (c, node), = self.ops(node)
            pol = pol if c > 0 else -pol
        return node, pol

    def children(self, node: int, pol: int):
        for c, a in self.ops(node):
            yield self.through_neg(a, pol if c > 0 else -pol)

    def new_var(self) -> int:
        v = self.next_var
        self.next_var += 1
        return v

    # -- literals, bottom-up ----------------------------------------------------------------------
    def prepare(self, roots: list) -> None:
        """Give ``flat``/``lits`` to every event the roots need (roots are already through_neg)."""
        need = set()
        stack = [e for e in roots if e[0] >= self.n]
        while stack:
            e = stack.pop()
            if e in need:
                continue
            need.add(e)
            for ch in self.children(*e):
                if ch[0] >= self.n and ch not in need:
                    stack.append(ch)
        for node, pol in sorted(need):
            if self.shape(node, pol) == "or":
                out = []
                for ch in self.children(node, pol):
                    out.extend(self.disjuncts_of(ch))
                self.flat[(node, pol)] = out
            else:
                self.lits[(node, pol)] = self.and_literal(node, pol)

    def disjuncts_of(self, e) -> list:
        """Literals to put in a disjunction for event ``e`` (its own disjunction, when short)."""
        node, pol = e
        if node < self.n:
            return [node + 1 if pol > 0 else -(node + 1)]
        if e in self.flat:
            d = self.flat[e]
            if len(d) <= _SPLICE:
                return d
        lit = self.literal(e)
        return [] if lit is None else [lit]

    def literal(self, e):
        """One literal implying event ``e`` (None: impossible); Tseitin variables made on demand."""
        node, pol = e
        if node < self.n:
            return node + 1 if pol > 0 else -(node + 1)
        if e in self.lits:
            return self.lits[e]
        d = self.flat[e]
        if not d:
            lit = None
        elif len(d) == 1:
            lit = d[0]
        else:
            lit = self.new_var()
            self.clauses.append([-lit] + d)
        self.lits[e] = lit
        return lit

    def and_literal(self, node: int, pol: int):
        if self.zero[node - self.n]:
            return None   # 0 >= 1 and 0 <= -1 are false
        lits = []
        for ch in self.children(node, pol):
            lit = self.literal(ch)
            if lit is None:
                return None
            lits.append(lit)
        t = self.new_var()
        self.clauses.extend([-t, lit] for lit in lits)
        return t

    # -- the top ---------------------------------------------------------------------------------
    def assert_one_of(self, pairs: list) -> None:
        """At least one of the events holds; a single event is asserted directly (conjunctions
        clause by clause)."""
        pairs = [self.through_neg(*e) for e in pairs]
        if len(pairs) != 1:
            self.prepare(pairs)
            clause = []
            for e in pairs:
                clause.extend(self.disjuncts_of(e))
            self.clauses.append(clause)
            return
        asserted_or, stack = [], [pairs[0]]
        while stack:
            node, pol = stack.pop()
            s = self.shape(node, pol)
            if s == "leaf":
                self.clauses.append([node + 1 if pol > 0 else -(node + 1)])
            elif s == "or":
                asserted_or.append((node, pol))
            elif self.zero[node - self.n]:
                self.clauses.append([])   # an impossible conjunction
                return
            else:
                stack.extend(self.assert_and_fast(node, pol))
        self.prepare(asserted_or)
        for e in asserted_or:
            self.clauses.append(list(self.flat[e]))

    def assert_and_fast(self, node: int, pol: int) -> list:
        """Assert every operand of an *and* event: inputs, and *or* events over inputs only (CNF
        clauses), directly with numpy; returns the other operand events."""
        p, n = self.p, self.n
        k = node - n
        lo, hi = self.ptr[k], self.ptr[k + 1]
        args = p.args[lo:hi]
        q = np.where(p.coefs[lo:hi] > 0, pol, -pol)
        leaf = args < n
        for a, s in zip(args[leaf].tolist(), q[leaf].tolist()):
            self.clauses.append([a + 1 if s > 0 else -(a + 1)])
        inner = np.flatnonzero(~leaf)
        if not inner.size:
            return []
        ia, iq = args[inner], q[inner]
        kind = p.kinds[ia - n]
        is_or = ((kind == MAX) & (iq > 0)) | ((kind == MIN) & (iq < 0))
        cnt = p.ptr[ia - n + 1] - p.ptr[ia - n]
        starts = p.ptr[ia - n]
        seg = np.repeat(np.arange(ia.size), cnt)
        pos = np.arange(seg.size) - (np.cumsum(cnt) - cnt)[seg] + starts[seg]
        child_leaf = np.ones(ia.size, dtype=bool)
        np.logical_and.at(child_leaf, seg, p.args[pos] < n)
        fast = is_or & child_leaf
        if fast.any():
            sel = fast[seg]
            lits = ((p.args[pos][sel] + 1) * np.where(p.coefs[pos][sel] > 0, 1, -1) * iq[seg][sel]).tolist()
            b = np.concatenate(([0], np.cumsum(cnt[fast]))).tolist()
            self.clauses.extend(lits[b[j]:b[j + 1]] for j in range(len(b) - 1))
        return [self.through_neg(a, s) for a, s in zip(ia[~fast].tolist(), iq[~fast].tolist())]


# ------------------------------------------------------------------------------------------------
# the ternary encoding
# ------------------------------------------------------------------------------------------------
class _TernaryEncoder:
    """Order encoding of {-1, 0, 1} values: ``(ge0, ge1)`` literals per id, full equivalences."""

    def __init__(self, p: Program):
        self.p = p
        n = p.n_inputs
        self.n = n
        self.next_var = 2 * n + 1
        self.clauses: list = [[-(n + i + 1), i + 1] for i in range(n)]  # ge1 -> ge0
        self.enc: dict = {}
        self.TRUE = None

    def new_var(self) -> int:
        v = self.next_var
        self.next_var += 1
        return v

    def true_lit(self) -> int:
        if self.TRUE is None:
            self.TRUE = self.new_var()
            self.clauses.append([self.TRUE])
        return self.TRUE

    def of(self, node: int) -> tuple:
        """``(ge0, ge1)`` literals of ``node`` (nodes it needs are encoded first, in id order)."""
        if node < self.n:
            return node + 1, self.n + node + 1
        if node not in self.enc:
            p, n = self.p, self.n
            need, stack = set(), [node]
            while stack:
                i = stack.pop()
                if i < n or i in need or i in self.enc:
                    continue
                need.add(i)
                stack.extend(p.args[p.ptr[i - n]:p.ptr[i - n + 1]].tolist())
            for i in sorted(need):
                self.enc[i] = self._encode(i)
        return self.enc[node]

    def _lits(self, a: int) -> tuple:
        return (a + 1, self.n + a + 1) if a < self.n else self.enc[a]

    def _encode(self, node: int) -> tuple:
        p = self.p
        k = node - self.n
        kind = int(p.kinds[k])
        lo, hi = int(p.ptr[k]), int(p.ptr[k + 1])
        vals = []
        for c, a in zip(p.coefs[lo:hi].tolist(), p.args[lo:hi].tolist()):
            g0, g1 = self._lits(a)
            vals.append((g0, g1) if c > 0 else (-g1, -g0))  # -v >= 0 iff not v >= 1, -v >= 1 iff not v >= 0
        if kind == SUM:  # a single operand (certified lattice programs have no other sums)
            if len(vals) != 1:
                raise EncodingError("sums of several nodes are not lattice programs")
            return vals[0]
        if p.zero[k]:
            t = self.true_lit()
            vals.append((t, -t))
        out = []
        for j in (0, 1):
            lits = [v[j] for v in vals]
            y = self.new_var()
            if kind == MAX:   # y <-> or(lits)
                self.clauses.append([-y] + lits)
                self.clauses.extend([y, -l] for l in lits)
            else:             # y <-> and(lits)
                self.clauses.extend([-y, l] for l in lits)
                self.clauses.append([y] + [-l for l in lits])
            out.append(y)
        self.clauses.append([-out[1], out[0]])
        return tuple(out)

    def totalizer(self, lits: list) -> list:
        """Output literals ``o_1..o_m`` with ``o_j <-> (at least j of lits)`` (m = len(lits))."""
        if not lits:
            return []
        level = [[l] for l in lits]
        while len(level) > 1:
            nxt = []
            for i in range(0, len(level) - 1, 2):
                nxt.append(self.merge(level[i], level[i + 1]))
            if len(level) % 2:
                nxt.append(level[-1])
            level = nxt
        return level[0]

    def merge(self, A: list, B: list) -> list:
        m = len(A) + len(B)
        out = [self.new_var() for _ in range(m)]
        for i in range(len(A) + 1):
            for j in range(len(B) + 1):
                # at least i of A and j of B -> at least i + j
                if i + j >= 1:
                    self.clauses.append(([-A[i - 1]] if i else []) + ([-B[j - 1]] if j else []) + [out[i + j - 1]])
                # fewer than i+1 of A and fewer than j+1 of B -> fewer than i+j+1
                if i + j < m:
                    self.clauses.append(([A[i]] if i < len(A) else []) + ([B[j]] if j < len(B) else [])
                                        + [-out[i + j]])
        return out


def encode_grid_cnf(p: Program, grid: GridClass | None, a: Sequence | None = None) -> CnfEncoding:
    """A CNF that is satisfiable iff ``F`` is not linear (see the module docstring).

    ``grid`` must certify ``p`` (:func:`solvers.network.simplify.certify`); ``a`` (exact ``F(e_i)``) is
    required for class (a) and ignored for class (b). Raises :class:`EncodingError` otherwise.

    >>> from nsad.solvers.network.program import ProgramBuilder
    >>> from nsad.solvers.network.simplify import certify
    >>> b = ProgramBuilder(3)                                   # relu(min(max(x1, -x2), x3))
    >>> p = b.build(b.relu(b.min([(1, b.max([(1, 0), (-1, 1)])), (1, 2)])))
    >>> encode_grid_cnf(p, certify(p)).clauses
    [[3], [1, -2]]
    """
    if grid is None:
        raise EncodingError("the program is not certified: a grid search would not be complete")
    mode, payload, info = grid_question(p, grid, a)
    if mode == "linear":
        return CnfEncoding([], p.n_inputs, p.n_inputs, SIGN, trivial=False, stats=dict(info))
    if mode == SIGN:
        enc = _SignEncoder(p)
        enc.assert_one_of(payload)
        clauses = enc.clauses
        stats = dict(info, vars=enc.next_var - 1, clauses=len(clauses))
        return CnfEncoding(clauses, enc.next_var - 1, p.n_inputs, SIGN, stats=stats)
    w_lin, wk = payload
    enc = _TernaryEncoder(p)
    # G = sum_i w_lin_i x_i + sum_k w_k T_k, with v = ge0 + ge1 - 1 for every {-1,0,1} value
    weighted = [(w, *enc.of(i)) for i, w in enumerate(w_lin) if w]
    weighted += [(w, *enc.of(t)) for w, t in wk if w]
    const = -sum(w for w, _, _ in weighted)
    total = sum(2 * abs(w) for w, _, _ in weighted)
    if total > _MAX_UNARY:
        raise EncodingError(f"weights too large for the unary sum encoding (total {total})")
    unit = []
    for w, g0, g1 in weighted:
        if w > 0:
            unit += [g0, g1] * w
        else:  # w * y = w - w * (1 - y) = w + |w| * not y
            const += 2 * w
            unit += [-g0, -g1] * (-w)
    # G = const + count(unit); G != 0 iff count != -const
    K = -const
    outs = enc.totalizer(unit)
    m = len(outs)
    if not 0 <= K <= m:
        clauses = enc.clauses  # always nonzero
    else:
        clause = []
        if K >= 1:
            clause.append(-outs[K - 1])  # count < K
        if K < m:
            clause.append(outs[K])       # count > K
        enc.clauses.append(clause)
        clauses = enc.clauses
    stats = dict(info, vars=enc.next_var - 1, clauses=len(clauses), unary=len(unit))
    return CnfEncoding(clauses, enc.next_var - 1, p.n_inputs, TERNARY, stats=stats)
