"""Formula families beside uniform and planted k-SAT: hidden-solution k-SAT, crafted UNSAT, XOR, Tseitin.

Every generator has the signature ``f(<parameters>, seed=0, index=0) -> Cnf``, draws from
``formula_rng(seed, index)`` only (no global random state), and records ``family``, ``parameters``
(exactly the keyword arguments that regenerate it), ``seed`` and ``index`` on the formula.

Expected labels
---------------
The label known by construction travels with the formula so that it survives DIMACS round trips and
does not disturb ``parameters`` (which must stay the generator's own keyword arguments):

* satisfiable by construction: ``cnf.planted`` is a satisfying assignment (the ``Cnf`` constructor
  checks it), and a comment ``"expected: sat"``;
* unsatisfiable by construction: the comment ``"expected: unsat"``.

:func:`expected_label` reads the label back (``"sat"``, ``"unsat"`` or None when unknown, e.g. for
uniform random k-SAT).

Families
--------
``hidden-ksat`` (:func:`hidden_ksat`)
    Planted k-SAT whose literal statistics do not reveal the hidden assignment ``s`` (Jia, Moore and
    Strain, "Generating hard satisfiable formulas by hiding solutions deceptively", AAAI 2005). A
    clause of ``k`` distinct uniform variables first draws ``t``, its number of literals true under
    ``s``, then which ``t`` positions are true (uniformly). ``scheme="q-hidden"``: ``P(t)`` is
    proportional to ``C(k, t) q^t`` for ``t = 1..k``, with ``q`` the root in (0, 1) of
    ``(1 + q)^(k - 1) (1 - q) = 1`` (for k = 3, ``q = (sqrt(5) - 1) / 2``), which makes every literal
    occurrence true under ``s`` with probability exactly 1/2. ``scheme="2-hidden"``: ``P(t)``
    proportional to ``C(k, t)`` for ``t = 1..k-1``: every clause is satisfied by both ``s`` and its
    complement ``-s``, and again half the occurrences are true under ``s``. In both cases the count
    of positive minus negative occurrences of a variable carries no information about its sign in
    ``s``, unlike ``planted-ksat`` where a majority vote recovers most of ``s``.
``pigeonhole``, ``ordering``, ``parity``, ``mutilated-chessboard``
    The crafted unsatisfiable families of ``pysat.examples.genhard`` (PHP, GT, PAR, CB), all hard
    for resolution except GT. Deterministic; with ``shuffle=True`` the variables are renamed by a
    random permutation, their signs flipped at random and the clauses put in random order (so
    ``(seed, index)`` gives distinct but isomorphic copies).
``random-kxor`` (:func:`random_kxor`)
    ``m`` random XOR constraints, each on ``k`` distinct uniform variables with a parity bit; each
    constraint becomes the ``2^(k-1)`` clauses forbidding the assignments of wrong parity. The label
    is computed exactly by Gauss-Jordan elimination over GF(2) (:func:`gf2_solve`); when
    satisfiable, ``planted`` is a solution. ``satisfiable=True`` draws the parities from a hidden
    assignment instead of uniformly.
``tseitin`` (:func:`tseitin`)
    Tseitin formulas on a uniformly random simple ``degree``-regular graph (configuration model with
    rejection: pair the stubs at random, retry until no loop or multi-edge). One variable per edge;
    each vertex asks the XOR of its edges to equal its charge. The formula is satisfiable iff every
    connected component has even total charge; ``charge="odd"`` (default) makes the total odd, so the
    formula is unsatisfiable whatever the graph. Labels are exact; satisfiable instances get a
    ``planted`` solution by GF(2) elimination.

Draw order (it defines the formulas): see each generator's docstring.

>>> cnf = hidden_ksat(20, ratio=4.0, seed=1)
>>> cnf.family, expected_label(cnf), cnf.satisfied_by(cnf.planted)
('hidden-ksat', 'sat', True)
>>> expected_label(pigeonhole(3)), expected_label(tseitin(10, charge="odd"))
('unsat', 'unsat')
"""

from __future__ import annotations

import itertools
import math
from types import MappingProxyType
from typing import Any, Callable, Mapping

import numpy as np

from .cnf import Cnf, CnfError, _check_count
from .generators import FormulaSize, _limit
from .generators import _clause_count as _core_clause_count
from .generators import formula_rng

__all__ = [
    "FAMILIES",
    "FAMILY_ALIASES",
    "expected_label",
    "hidden_ksat",
    "hidden_q",
    "pigeonhole",
    "ordering",
    "parity",
    "mutilated_chessboard",
    "random_kxor",
    "tseitin",
    "random_regular_graph",
    "gf2_solve",
    "xor_clauses",
]

EXPECTED_SAT = "expected: sat"
EXPECTED_UNSAT = "expected: unsat"
_LABELS = {EXPECTED_SAT: "sat", EXPECTED_UNSAT: "unsat"}


def expected_label(cnf: Cnf) -> str | None:
    """The satisfiability known by construction: ``"sat"``, ``"unsat"`` or None.

    ``"sat"`` when ``cnf.planted`` is set or a comment reads ``expected: sat``; ``"unsat"`` when a
    comment reads ``expected: unsat``; None otherwise. Conflicting marks raise ``CnfError``.

    >>> from nsad.instances import planted_ksat, random_ksat
    >>> expected_label(planted_ksat(10, m=20)), expected_label(random_ksat(10, m=20))
    ('sat', None)
    >>> expected_label(Cnf(1, [(1,), (-1,)], comments=["expected: unsat"]))
    'unsat'
    """
    labels = {_LABELS[c.strip()] for c in cnf.comments if c.strip() in _LABELS}
    if cnf.planted is not None:
        labels.add("sat")
    if len(labels) > 1:
        raise CnfError("the formula is marked both satisfiable and unsatisfiable")
    return labels.pop() if labels else None


# ------------------------------------------------------------------------------------ helpers
def _clause_count(n: int, m: Any, ratio: Any) -> tuple[int, int | float | None]:
    """``(m, ratio)`` with ``m = round(ratio * n)`` as in ``random_ksat``.

    Give ``m`` or ``ratio``; both are accepted when they agree (so a formula's own ``parameters``
    regenerate it).
    """
    if m is None and ratio is None:
        raise CnfError("give m (number of constraints) or ratio (constraints per variable)")
    if ratio is None:
        return _check_count(m, "m", 0), None
    count, ratio = _core_clause_count(n, None, ratio)
    if m is not None and _check_count(m, "m", 0) != count:
        raise CnfError(f"m = {m} disagrees with ratio = {ratio!r}: round(ratio * n) = {count}")
    return count, ratio


def _choice(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise CnfError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise CnfError(f"{name} must be true or false, got {value!r}")
    return bool(value)


def _distinct_rows(rng: np.random.Generator, n: int, k: int, count: int) -> np.ndarray:
    """``count`` rows of ``k`` distinct variables in ``0..n-1`` (uniform k-subsets in random order).

    Draw ``rng.integers(0, n, (count, k))``; rows with a repeated variable are redrawn (all of them
    at once, in row order) until none is left.
    """
    rows = rng.integers(0, n, size=(count, k), dtype=np.int64)
    if k < 2:
        return rows
    todo = np.arange(count)
    while todo.size:
        srt = np.sort(rows[todo], axis=1)
        bad = (srt[:, 1:] == srt[:, :-1]).any(axis=1)
        todo = todo[bad]
        if todo.size:
            rows[todo] = rng.integers(0, n, size=(todo.size, k), dtype=np.int64)
    return rows


def _shape(n: Any, k: Any, kmax: int | None = None) -> tuple[int, int]:
    n = _check_count(n, "n", 1)
    k = _check_count(k, "k", 1)
    if k > n:
        raise CnfError(f"k = {k} distinct variables per clause need n >= k, got n = {n}")
    if kmax is not None and k > kmax:
        raise CnfError(f"k must be <= {kmax} here, got {k}")
    return n, k


# -------------------------------------------------------------------------------- hidden k-SAT
def hidden_q(k: int) -> float:
    """The ``q`` of the q-hidden scheme: the root in (0, 1) of ``(1 + q)^(k-1) (1 - q) = 1``.

    >>> round(hidden_q(3), 12) == round((5 ** 0.5 - 1) / 2, 12)
    True
    """
    k = _check_count(k, "k", 3)
    lo, hi = 1e-9, 1.0  # g(q) = (1+q)^(k-1)(1-q) - 1 is > 0 just above 0 (k >= 3) and -1 at q = 1
    for _ in range(200):
        mid = (lo + hi) / 2
        if (1 + mid) ** (k - 1) * (1 - mid) - 1 > 0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _true_count_weights(k: int, scheme: str) -> np.ndarray:
    """``P(t)`` for ``t = 0..k`` true literals per clause under the hidden assignment."""
    t = np.arange(k + 1)
    binom = np.array([math.comb(k, int(i)) for i in t], dtype=float)
    if scheme == "q-hidden":
        w = binom * hidden_q(k) ** t
        w[0] = 0.0
    else:
        w = binom.copy()
        w[0] = w[k] = 0.0
    return w / w.sum()


def hidden_ksat(
    n: int,
    m: int | None = None,
    ratio: float | None = None,
    k: int = 3,
    scheme: str = "q-hidden",
    seed: int = 0,
    index: int = 0,
) -> Cnf:
    """Planted k-SAT hiding its solution from literal counts (``"q-hidden"`` or ``"2-hidden"``).

    Family ``"hidden-ksat"``; parameters ``n, m, k, ratio, scheme`` (``ratio`` None when ``m`` was
    given). ``cnf.planted`` is the hidden assignment ``s``; with ``"2-hidden"`` its complement
    satisfies the formula too. ``scheme="q-hidden"`` needs ``k >= 3``, ``"2-hidden"`` ``k >= 2``.

    Draws from ``formula_rng(seed, index)``, in order: ``s = rng.integers(0, 2, n)``; the variables
    (``_distinct_rows``: ``rng.integers(0, n, (m, k))``, rows with repeats redrawn); the true counts
    ``t = rng.choice(k + 1, size=m, p=P)``; ``u = rng.random((m, k))``, whose ranks within each row
    pick the true positions (rank < t).

    >>> cnf = hidden_ksat(12, m=40, scheme="2-hidden", seed=3)
    >>> s = cnf.planted
    >>> cnf.satisfied_by(s), cnf.satisfied_by([not b for b in s])
    (True, True)
    """
    n, k = _shape(n, k)
    m, ratio = _clause_count(n, m, ratio)
    scheme = _choice(scheme, "scheme", ("q-hidden", "2-hidden"))
    if k < (3 if scheme == "q-hidden" else 2):
        raise CnfError(f"scheme {scheme!r} needs k >= {3 if scheme == 'q-hidden' else 2}, got k = {k}")
    _limit(_hidden_size(n, m, None, k), "hidden-ksat")
    rng = formula_rng(seed, index)
    hidden = rng.integers(0, 2, size=n, dtype=np.int64).astype(bool)
    variables = _distinct_rows(rng, n, k, m)
    t = rng.choice(k + 1, size=m, p=_true_count_weights(k, scheme))
    rank = np.argsort(np.argsort(rng.random((m, k)), axis=1), axis=1)
    true_here = rank < t[:, None]
    positive = hidden[variables] == true_here
    literals = np.where(positive, variables + 1, -(variables + 1))
    return Cnf.from_arrays(
        n,
        literals.reshape(-1),
        np.arange(0, m * k + 1, k, dtype=np.int64),
        comments=(EXPECTED_SAT,),
        family="hidden-ksat",
        parameters={"n": n, "m": m, "k": k, "ratio": ratio, "scheme": scheme},
        seed=seed,
        index=index,
        planted=hidden,
    )


def _hidden_size(n, m=None, ratio=None, k=3, scheme="q-hidden") -> FormulaSize:
    n, k = _shape(n, k)
    m, _ = _clause_count(n, m, ratio)
    return FormulaSize(n, m, m * k, 120 * m * k + 16 * m + 16 * n)


hidden_ksat.size = _hidden_size


# ------------------------------------------------------------------------------ crafted UNSAT
_PYSAT_LITERAL = 48  # bytes per literal while python-sat builds a formula as lists of ints
_PYSAT_CLAUSE = 72


def _pysat_size(num_vars: int, clauses: int, literals: int) -> FormulaSize:
    return FormulaSize(num_vars, clauses, literals, _PYSAT_LITERAL * literals + _PYSAT_CLAUSE * clauses)


def _pigeonhole_size(holes, per_hole=1, shuffle=False) -> FormulaSize:
    holes = _check_count(holes, "holes", 1)
    per_hole = _check_count(per_hole, "per_hole", 1)
    pigeons = per_hole * holes + 1
    if pigeons * holes > 10**12 or per_hole > 64:  # beyond any limit: no need for the exact binomial
        at_most = 10**30
    else:
        at_most = holes * math.comb(pigeons, per_hole + 1)
    return _pysat_size(pigeons * holes, pigeons + at_most, pigeons * holes + at_most * (per_hole + 1))


def _ordering_size(size, shuffle=False) -> FormulaSize:
    n = _check_count(size, "size", 2)
    return _pysat_size(n * n, n ** 3 + n * n + n, 3 * n ** 3 + 2 * n * n + n)


def _parity_size(size, shuffle=False) -> FormulaSize:
    v = 2 * _check_count(size, "size", 1) + 1
    pairs = math.comb(v - 1, 2)
    return _pysat_size(math.comb(v, 2), v + v * pairs, v * (v - 1) + 2 * v * pairs)


def _chessboard_size(size, exhaustive=False, shuffle=False) -> FormulaSize:
    cells = 4 * _check_count(size, "size", 2) ** 2
    return _pysat_size(2 * cells, 7 * cells, 16 * cells)



def _relabel(num_vars, literals, offsets, rng) -> tuple[np.ndarray, np.ndarray]:
    """Random variable renaming, sign flips and clause order (draws: permutation, signs, order)."""
    perm = rng.permutation(num_vars) + 1
    flips = 1 - 2 * rng.integers(0, 2, size=num_vars, dtype=np.int64)
    order = rng.permutation(offsets.size - 1)
    var = np.abs(literals) - 1
    new = np.sign(literals) * perm[var] * flips[var]
    lengths = np.diff(offsets)[order]
    starts = offsets[:-1][order]
    new_offsets = np.zeros(order.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_offsets[1:])
    take = np.repeat(starts - new_offsets[:-1], lengths) + np.arange(new_offsets[-1])
    return new[take], new_offsets


def _from_pysat(formula: Any, family: str, parameters: dict, seed: int, index: int, shuffle: bool) -> Cnf:
    clauses = formula.clauses
    lengths = np.fromiter(map(len, clauses), dtype=np.int64, count=len(clauses))
    offsets = np.zeros(len(clauses) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    literals = np.fromiter(itertools.chain.from_iterable(clauses), dtype=np.int64, count=int(offsets[-1]))
    num_vars = max(int(formula.nv), 1)
    seed = _check_count(seed, "seed", 0)
    index = _check_count(index, "index", 0)
    if shuffle:
        literals, offsets = _relabel(num_vars, literals, offsets, formula_rng(seed, index))
    return Cnf.from_arrays(
        num_vars,
        literals,
        offsets,
        comments=(EXPECTED_UNSAT,),
        family=family,
        parameters=parameters,
        seed=seed,
        index=index,
    )


def pigeonhole(holes: int, per_hole: int = 1, shuffle: bool = False, seed: int = 0, index: int = 0) -> Cnf:
    """The pigeonhole principle: ``per_hole * holes + 1`` pigeons, ``holes`` holes (genhard ``PHP``).

    Variable ``x_ij`` (pigeon i in hole j); every pigeon sits somewhere, no hole takes more than
    ``per_hole`` pigeons. Unsatisfiable. Family ``"pigeonhole"``.

    >>> cnf = pigeonhole(3)
    >>> cnf.num_vars, cnf.num_clauses, expected_label(cnf)
    (12, 22, 'unsat')
    """
    from pysat.examples.genhard import PHP

    holes = _check_count(holes, "holes", 1)
    per_hole = _check_count(per_hole, "per_hole", 1)
    shuffle = _flag(shuffle, "shuffle")
    params = {"holes": holes, "per_hole": per_hole, "shuffle": shuffle}
    _limit(_pigeonhole_size(holes, per_hole), "pigeonhole")
    return _from_pysat(PHP(holes, kval=per_hole), "pigeonhole", params, seed, index, shuffle)


def ordering(size: int, shuffle: bool = False, seed: int = 0, index: int = 0) -> Cnf:
    """The ordering (GT) principle on ``size >= 2`` elements: a partial order has a maximal element.

    Unsatisfiable, with short resolution refutations (Stalmarck). Family ``"ordering"``.

    >>> cnf = ordering(3)
    >>> cnf.num_vars, cnf.num_clauses
    (6, 12)
    """
    from pysat.examples.genhard import GT

    size = _check_count(size, "size", 2)
    shuffle = _flag(shuffle, "shuffle")
    _limit(_ordering_size(size), "ordering")
    return _from_pysat(GT(size), "ordering", {"size": size, "shuffle": shuffle}, seed, index, shuffle)


def parity(size: int, shuffle: bool = False, seed: int = 0, index: int = 0) -> Cnf:
    """The parity principle: no perfect matching on ``2 size + 1`` vertices (genhard ``PAR``).

    Unsatisfiable, hard for resolution. Family ``"parity"``.

    >>> cnf = parity(1)
    >>> cnf.num_vars, cnf.num_clauses
    (3, 6)
    """
    from pysat.examples.genhard import PAR

    size = _check_count(size, "size", 1)
    shuffle = _flag(shuffle, "shuffle")
    _limit(_parity_size(size), "parity")
    return _from_pysat(PAR(size), "parity", {"size": size, "shuffle": shuffle}, seed, index, shuffle)


def mutilated_chessboard(
    size: int, exhaustive: bool = False, shuffle: bool = False, seed: int = 0, index: int = 0
) -> Cnf:
    """No domino tiling of a ``2 size x 2 size`` board without two opposite corners (genhard ``CB``).

    ``size >= 2`` (genhard's encoding of the 2x2 board has no clause at all). ``exhaustive=False``
    keeps genhard's half encoding (at-most-one on white cells, at-least-one on black cells), which
    is already unsatisfiable. Family ``"mutilated-chessboard"``.

    >>> cnf = mutilated_chessboard(2)
    >>> cnf.num_vars, cnf.num_clauses, expected_label(cnf)
    (20, 32, 'unsat')
    """
    from pysat.examples.genhard import CB

    size = _check_count(size, "size", 2)
    exhaustive = _flag(exhaustive, "exhaustive")
    shuffle = _flag(shuffle, "shuffle")
    params = {"size": size, "exhaustive": exhaustive, "shuffle": shuffle}
    _limit(_chessboard_size(size), "mutilated-chessboard")
    return _from_pysat(CB(size, exhaustive=exhaustive), "mutilated-chessboard", params, seed, index, shuffle)


# ------------------------------------------------------------------------------- GF(2) and XOR
def gf2_solve(matrix: Any, rhs: Any) -> np.ndarray | None:
    """A solution of ``A x = b`` over GF(2), or None when the system is inconsistent.

    ``matrix``: 0/1 or bool array ``(m, n)``; ``rhs``: ``(m,)``. Gauss-Jordan elimination on rows
    packed into 64-bit words (one vectorised XOR over all rows per pivot); free variables are set
    to 0. Returns a bool array ``(n,)``.

    >>> gf2_solve([[1, 1, 0], [0, 1, 1]], [1, 0]).astype(int).tolist()
    [1, 0, 0]
    >>> gf2_solve([[1, 1], [1, 1]], [0, 1]) is None
    True
    """
    a = np.asarray(matrix)
    b = np.asarray(rhs)
    if a.ndim != 2 or b.shape != (a.shape[0],):
        raise CnfError(f"gf2_solve needs a matrix (m, n) and a vector (m,), got {a.shape} and {b.shape}")
    m, n = a.shape
    aug = np.zeros((m, n + 1), dtype=bool)
    aug[:, :n] = a.astype(bool) if a.dtype == bool else (a % 2).astype(bool)
    aug[:, n] = b.astype(bool) if b.dtype == bool else (b % 2).astype(bool)
    words = (n + 1 + 63) // 64
    packed = np.zeros((m, words * 8), dtype=np.uint8)
    packed[:, : (n + 8) // 8] = np.packbits(aug, axis=1, bitorder="little")
    rows = packed.view("<u8").copy()  # (m, words); bit c of the row is column c
    pivots = []
    r = 0
    for c in range(n):
        if r == m:
            break
        w, mask = c // 64, np.uint64(1 << (c % 64))
        column = (rows[:, w] & mask) != 0
        below = np.flatnonzero(column[r:])
        if below.size == 0:
            continue
        p = r + int(below[0])
        if p != r:
            rows[[r, p]] = rows[[p, r]]
            column[[r, p]] = column[[p, r]]
        column[r] = False
        rows[column] ^= rows[r]
        pivots.append(c)
        r += 1
    rhs_bits = ((rows[:, n // 64] >> np.uint64(n % 64)) & np.uint64(1)).astype(bool)
    if rhs_bits[r:].any():
        return None
    x = np.zeros(n, dtype=bool)
    x[np.array(pivots, dtype=np.int64)] = rhs_bits[: len(pivots)]
    return x


def _parity_patterns(k: int) -> tuple[np.ndarray, np.ndarray]:
    """All 0/1 rows of length k with even parity, and with odd parity (each ``2^(k-1)`` rows)."""
    bits = (np.arange(2**k)[:, None] >> np.arange(k)[None, :]) & 1
    odd = bits.sum(axis=1) % 2 == 1
    return bits[~odd], bits[odd]


def xor_clauses(variables: Any, parities: Any) -> tuple[np.ndarray, np.ndarray]:
    """CNF of the XOR constraints ``XOR(x[v] for v in row) = parity``: flat literals and offsets.

    ``variables``: int array ``(c, k)`` of 1-based distinct variables per row; ``parities``:
    ``(c,)`` 0/1. Each row gives ``2^(k-1)`` clauses of length ``k`` (one per forbidden assignment
    ``a`` of the row: the literal of ``x_v`` is ``-v`` where ``a_v = 1``, ``v`` where ``a_v = 0``).

    >>> lits, offs = xor_clauses([[1, 2]], [1])     # x1 xor x2 = 1: forbid 00 and 11
    >>> lits.reshape(-1, 2).tolist()
    [[1, 2], [-1, -2]]
    """
    var = np.asarray(variables, dtype=np.int64)
    par = np.asarray(parities, dtype=np.int64) % 2
    if var.ndim != 2 or par.shape != (var.shape[0],):
        raise CnfError("xor_clauses needs variables (c, k) and parities (c,)")
    c, k = var.shape
    even, odd = _parity_patterns(k)
    forbidden = np.where(par[:, None, None] == 1, even[None], odd[None])  # (c, 2^(k-1), k)
    literals = var[:, None, :] * (1 - 2 * forbidden)
    count = c * (1 << (k - 1))
    return literals.reshape(-1), np.arange(0, count * k + 1, k, dtype=np.int64)


def _xor_formula(num_vars, variables, parities, family, parameters, seed, index) -> Cnf:
    """Formula of an XOR system with its exact label (GF(2) elimination) and a planted solution."""
    c = variables.shape[0]
    matrix = np.zeros((c, num_vars), dtype=bool)
    np.put_along_axis(matrix, variables - 1, True, axis=1)
    solution = gf2_solve(matrix, parities)
    literals, offsets = xor_clauses(variables, parities)
    return Cnf.from_arrays(
        num_vars,
        literals,
        offsets,
        comments=(EXPECTED_SAT if solution is not None else EXPECTED_UNSAT,),
        family=family,
        parameters=parameters,
        seed=seed,
        index=index,
        planted=solution,
    )


def random_kxor(
    n: int,
    m: int | None = None,
    ratio: float | None = None,
    k: int = 3,
    satisfiable: bool = False,
    seed: int = 0,
    index: int = 0,
) -> Cnf:
    """Random k-XOR-SAT: ``m`` XOR constraints on ``k`` distinct variables, as ``m 2^(k-1)`` clauses.

    ``ratio`` counts XOR constraints per variable (``m = round(ratio * n)``); the satisfiability
    threshold of random 3-XOR-SAT is near 0.918. ``k <= 12``. Family ``"random-kxor"``;
    parameters ``n, m, k, ratio, satisfiable``. The label is exact (GF(2) elimination); satisfiable
    formulas carry a solution in ``planted``.

    Draws: the variables (``_distinct_rows``), then with ``satisfiable=False`` the parities
    ``rng.integers(0, 2, m)``, with ``satisfiable=True`` a hidden assignment
    ``rng.integers(0, 2, n)`` whose parities are used.

    >>> cnf = random_kxor(10, m=14, k=3, seed=0)
    >>> cnf.num_clauses, cnf.max_clause_len
    (56, 3)
    >>> expected_label(random_kxor(30, ratio=0.5, satisfiable=True))
    'sat'
    """
    n, k = _shape(n, k, kmax=12)
    m, ratio = _clause_count(n, m, ratio)
    satisfiable = _flag(satisfiable, "satisfiable")
    _limit(_kxor_size(n, m, None, k), "random-kxor")
    rng = formula_rng(seed, index)
    variables = _distinct_rows(rng, n, k, m) + 1
    if satisfiable:
        hidden = rng.integers(0, 2, size=n, dtype=np.int64)
        parities = hidden[variables - 1].sum(axis=1) % 2
    else:
        parities = rng.integers(0, 2, size=m, dtype=np.int64)
    params = {"n": n, "m": m, "k": k, "ratio": ratio, "satisfiable": satisfiable}
    return _xor_formula(n, variables, parities, "random-kxor", params, seed, index)


def _xor_system_size(num_vars: int, constraints: int, k: int) -> FormulaSize:
    clauses = constraints << (k - 1)
    # the GF(2) matrix (bools, then packed words) dominates for large systems
    return FormulaSize(num_vars, clauses, clauses * k, constraints * (num_vars + 64) * 2 + 48 * clauses * k)


def _kxor_size(n, m=None, ratio=None, k=3, satisfiable=False) -> FormulaSize:
    n, k = _shape(n, k, kmax=12)
    m, _ = _clause_count(n, m, ratio)
    return _xor_system_size(n, m, k)


def _tseitin_size(vertices, degree=3, charge="odd") -> FormulaSize:
    vertices = _check_count(vertices, "vertices", 1)
    degree = _check_count(degree, "degree", 1)
    if degree > 12:
        raise CnfError(f"degree must be <= 12 (each vertex gives 2^(degree-1) clauses), got {degree}")
    return _xor_system_size(vertices * degree // 2, vertices, degree)


random_kxor.size = _kxor_size


# ------------------------------------------------------------------------------------ Tseitin
def random_regular_graph(
    vertices: int, degree: int, rng: np.random.Generator, max_attempts: int = 100_000
) -> np.ndarray:
    """A uniformly random simple ``degree``-regular graph: edges ``(E, 2)``, rows ``u < v``, sorted.

    Configuration model with rejection: each attempt pairs the ``vertices * degree`` stubs by a
    random permutation (``rng.permutation``) and is kept only when it has no loop and no repeated
    edge, which makes the result uniform over simple regular graphs. The expected number of attempts
    is about ``exp((degree^2 - 1) / 4)`` (about 7 for degree 3, 400 for degree 5); ``CnfError``
    after ``max_attempts``.

    >>> edges = random_regular_graph(6, 3, np.random.default_rng(0))
    >>> edges.shape, np.bincount(edges.ravel()).tolist()
    ((9, 2), [3, 3, 3, 3, 3, 3])
    """
    vertices = _check_count(vertices, "vertices", 1)
    degree = _check_count(degree, "degree", 1)
    if degree >= vertices:
        raise CnfError(f"a simple {degree}-regular graph needs more than {degree} vertices, got {vertices}")
    if vertices * degree % 2:
        raise CnfError(f"vertices * degree must be even, got {vertices} * {degree}")
    stubs = np.repeat(np.arange(vertices, dtype=np.int64), degree)
    for _ in range(max_attempts):
        pairs = rng.permutation(stubs).reshape(-1, 2)
        pairs.sort(axis=1)
        if np.any(pairs[:, 0] == pairs[:, 1]):
            continue
        codes = np.sort(pairs[:, 0] * vertices + pairs[:, 1])
        if np.any(codes[1:] == codes[:-1]):
            continue
        return np.stack([codes // vertices, codes % vertices], axis=1)
    raise CnfError(
        f"no simple {degree}-regular graph on {vertices} vertices after {max_attempts} attempts; use a smaller degree"
    )


def tseitin(vertices: int, degree: int = 3, charge: str = "odd", seed: int = 0, index: int = 0) -> Cnf:
    """Tseitin formula of a uniformly random simple ``degree``-regular graph.

    Edge ``e`` (in the sorted edge list of :func:`random_regular_graph`) is variable ``e + 1``;
    vertex ``v`` contributes the ``2^(degree-1)`` clauses of ``XOR(edges at v) = charge_v``.
    ``charge``: ``"odd"`` (total charge odd: unsatisfiable), ``"even"`` (total even: satisfiable
    when the graph is connected, as it almost always is for degree >= 3), ``"random"`` (uniform
    charges). The label is exact: satisfiable iff every connected component has even charge.
    Family ``"tseitin"``; parameters ``vertices, degree, charge``; ``degree <= 12``.

    Draws: the graph, then ``rng.integers(0, 2, vertices)`` charges, then for ``"odd"``/``"even"``
    one vertex ``rng.integers(vertices)`` whose charge flips when the total has the wrong parity.

    >>> cnf = tseitin(8, charge="even", seed=2)
    >>> cnf.num_vars, cnf.num_clauses, expected_label(cnf)
    (12, 32, 'sat')
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    vertices = _check_count(vertices, "vertices", 1)
    degree = _check_count(degree, "degree", 1)
    if degree > 12:
        raise CnfError(f"degree must be <= 12 (each vertex gives 2^(degree-1) clauses), got {degree}")
    charge = _choice(charge, "charge", ("odd", "even", "random"))
    _limit(_tseitin_size(vertices, degree), "tseitin")
    rng = formula_rng(seed, index)
    edges = random_regular_graph(vertices, degree, rng)
    charges = rng.integers(0, 2, size=vertices, dtype=np.int64)
    if charge != "random":
        flip = int(rng.integers(vertices))
        if int(charges.sum() % 2) != (1 if charge == "odd" else 0):
            charges[flip] ^= 1
    ends = edges.ravel()
    edge_ids = np.repeat(np.arange(edges.shape[0], dtype=np.int64), 2)
    incident = edge_ids[np.argsort(ends, kind="stable")].reshape(vertices, degree) + 1
    params = {"vertices": vertices, "degree": degree, "charge": charge}
    cnf = _xor_formula(edges.shape[0], incident, charges, "tseitin", params, seed, index)
    # Cross-check the GF(2) label with the component rule (both exact; they must agree).
    graph = coo_matrix((np.ones(edges.shape[0]), (edges[:, 0], edges[:, 1])), shape=(vertices, vertices))
    _, component = connected_components(graph, directed=False)
    odd_component = np.any(np.bincount(component, weights=charges) % 2 == 1)
    if odd_component == (cnf.planted is not None):  # pragma: no cover - would be a bug in gf2_solve
        raise AssertionError("Tseitin label: GF(2) elimination and the component rule disagree")
    return cnf


pigeonhole.size = _pigeonhole_size
ordering.size = _ordering_size
parity.size = _parity_size
mutilated_chessboard.size = _chessboard_size
tseitin.size = _tseitin_size


# ---------------------------------------------------------------------------------- registry
FAMILIES: Mapping[str, Callable[..., Cnf]] = MappingProxyType(
    {
        "hidden-ksat": hidden_ksat,
        "pigeonhole": pigeonhole,
        "ordering": ordering,
        "parity": parity,
        "mutilated-chessboard": mutilated_chessboard,
        "random-kxor": random_kxor,
        "tseitin": tseitin,
    }
)
"""Family name -> generator ``f(**parameters, seed=0, index=0) -> Cnf`` for this module's families."""

FAMILY_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "hidden": "hidden-ksat",
        "q-hidden": "hidden-ksat",
        "php": "pigeonhole",
        "gt": "ordering",
        "par": "parity",
        "cb": "mutilated-chessboard",
        "chessboard": "mutilated-chessboard",
        "xor": "random-kxor",
        "kxor": "random-kxor",
    }
)
"""Short names for :data:`FAMILIES` (to merge into ``instances.FAMILY_ALIASES``)."""
