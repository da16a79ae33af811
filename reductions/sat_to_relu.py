"""CNF formula -> bias-free ReLU network with weights in {-1, 0, 1} (docs/theory.md section 2).

Conventions
-----------
- Variables are ``1..n`` (``n = cnf.num_vars``, the declared count, ``n >= 1``); coordinate ``x_i``
  of a point (0-based index ``i - 1``) belongs to variable ``i``. Literal ``i`` has value ``x_i``,
  literal ``-i`` has value ``-x_i``.
- Assignments are sequences of bools, index ``i - 1`` -> variable ``i``. ``encode`` maps True -> 1,
  False -> -1; ``decode`` maps ``x_i > 0`` -> True and ``x_i <= 0`` -> False (a zero coordinate
  may take either value in a satisfying assignment; False is the convention).
- Cleaning (``clean``) removes repeated literals inside a clause (the first occurrence stays, the
  order of literals is kept) and removes tautological clauses (``i`` and ``-i`` together). ``m``
  is the number of clauses left and ``k`` the largest clause length left.

The network ``F`` (the reference of ``reference_value``):

- ``m >= 1``, no empty clause: ``F(x) = relu(min_j max_{l in C_j} l(x))``;
- ``m = 0`` (no clauses, or only tautologies): ``F(x) = |x_1| = relu(x_1) + relu(-x_1)``, the
  matrices ``[[1, 0, ..., 0], [-1, 0, ..., 0]]`` and ``[[1, 1]]``;
- an empty clause (which makes the formula unsatisfiable): ``F = 0``, realised as the depth-2
  network ``M_1 = 0`` (one row, no stored entry) and ``M_2 = [[1]]``: one unit ``relu(0)``.

Layout for ``m >= 1`` (``depth = 2 + max(1, ceil(log2 k)) + ceil(log2 m)`` matrices):

1. ``max(1, ceil(log2 k))`` clause layers. The values of a layer form groups (one per clause, the
   literal values in clause order at the start); each layer pairs adjacent values of a group,
   ``(v0, v1), (v2, v3), ...``, and carries an odd one out (so a unit clause, and every clause
   after its maximum is complete, is carried). Every literal thus crosses the first layer on its
   own: no min gadget ever sees a raw input, and all weights stay in {-1, 0, 1}.
2. ``ceil(log2 m)`` min layers: the same pairing over the single group of clause values.
3. One unit ``relu(g)``; then the output row ``[[1]]``.

The gadgets (``a``, ``b``, ``v`` are values of the layer below):

- ``max(a, b)``: units ``relu(a - b), relu(b), relu(-b)``; value ``u0 + u1 - u2``;
- ``min(a, b)``: units ``relu(a), relu(-a), relu(a - b)``; value ``u0 - u1 - u2``;
- carry ``v``: units ``relu(v), relu(-v)``; value ``u0 - u1``.

Every value is a ``{-1, +1}`` combination of units of its own (no two values share a unit), so
every pre-activation ``a - b``, ``a``, ``-a`` has weights in {-1, 0, 1}. A value is a combination
of at most 3 units. Size: with ``L`` literal occurrences and ``K = max(1, ceil(log2 k))``, at
most ``3 (L + K m + m + ceil(log2 m)) + 1`` units and at most 6 nonzeros per row: ``O(n + m)`` for
bounded ``k``. For 3-SAT with every clause of 3 literals: ``11 m - 2 + 2 c`` units, ``c`` the number
of carries in the min tree (``c <= ceil(log2 m)``), and ``27 m + O(log m)`` nonzeros.

Unit order inside a layer: the gadgets are grouped into blocks by shape (gadget kind and the
number of units of its operands: 1 for a literal, 2 for a carried value, 3 for a gadget's value);
blocks of pairing gadgets come first (operand sizes in increasing order), then blocks of carries;
inside a block the gadgets follow the order of the values they produce (clause order, then tree
order), and each gadget's units are consecutive in the order listed above. Rows have sorted
column indices.

The construction is vectorised: each layer is filled block by block by broadcasting a fixed entry
template over all the gadgets of the block (one pass per tree level, no Python loop per clause),
and the CSR arrays are assembled directly (int8 data, int32 indices).

>>> from nsad.instances import Cnf
>>> net = reduce(Cnf(2, [(1, 2), (-1,)]))
>>> net.depth, net.widths, net.weight_values
(4, (5, 3, 1, 1), (-1, 1))
>>> net.evaluate_exact((-1, 1)), net.evaluate_exact((1, 1))
(1, 0)
"""

from __future__ import annotations

from nsad.errors import ReductionError

import functools
import numbers
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from nsad.networks import Certificate, NetworkError, ReluNetwork
from nsad.networks.exact import INT64_SAFE

__all__ = [
    "ReductionError",
    "CleanCnf",
    "clean",
    "reduce",
    "network_depth",
    "network_size",
    "decode",
    "encode",
    "assignment_from_model",
    "reference_value",
    "certificate_from_model",
]




# ----------------------------------------------------------------------------------------------
# cleaning


@dataclass(frozen=True, eq=False)
class CleanCnf:
    """A cleaned formula as flat arrays (read-only): clause ``j`` is
    ``literals[offsets[j]:offsets[j + 1]]``; ``clause_index[j]`` is its 0-based index in the
    original formula.

    >>> from nsad.instances import Cnf
    >>> c = clean(Cnf(3, [(1, 1, -2), (2, -2), (), (3,)]))
    >>> c.clauses, c.clause_index.tolist(), c.has_empty_clause, c.max_clause_len
    (((1, -2), (), (3,)), [0, 2, 3], True, 2)
    """

    num_vars: int
    literals: np.ndarray
    offsets: np.ndarray
    clause_index: np.ndarray

    @property
    def num_clauses(self) -> int:
        return len(self.offsets) - 1

    @property
    def clause_lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def max_clause_len(self) -> int:
        return int(self.clause_lengths.max()) if self.num_clauses else 0

    @property
    def has_empty_clause(self) -> bool:
        return bool(self.num_clauses) and bool((self.clause_lengths == 0).any())

    @functools.cached_property
    def clauses(self) -> tuple[tuple[int, ...], ...]:
        """The clauses as tuples (a Python loop: for small formulas; computed once)."""
        lits = self.literals.tolist()
        off = self.offsets.tolist()
        return tuple(tuple(lits[off[j] : off[j + 1]]) for j in range(self.num_clauses))

    def satisfied_by(self, assignment: Sequence[bool]) -> bool:
        """Whether the assignment (bools, index ``i - 1`` -> variable ``i``) satisfies every clause.

        >>> from nsad.instances import Cnf
        >>> c = clean(Cnf(2, [(1, 2), (-1,)]))
        >>> c.satisfied_by([False, True]), c.satisfied_by([True, True])
        (True, False)
        """
        return self._first_falsified(np.asarray(assignment, dtype=bool)) is None

    def _first_falsified(self, s: np.ndarray) -> int | None:
        """Index (in the cleaned formula) of the first clause ``s`` falsifies, or None."""
        if s.shape != (self.num_vars,):
            raise ReductionError(f"assignment has {s.size} values; the formula has {self.num_vars} variables")
        if self.num_clauses == 0:
            return None
        if self.has_empty_clause:
            return int(np.flatnonzero(self.clause_lengths == 0)[0])
        lits = self.literals
        true_lit = s[np.abs(lits) - 1] == (lits > 0)
        sat = np.logical_or.reduceat(true_lit, self.offsets[:-1])
        bad = np.flatnonzero(~sat)
        return int(bad[0]) if bad.size else None


def _readonly(a: np.ndarray) -> np.ndarray:
    if a.flags.writeable:
        a = a.view()
        a.flags.writeable = False
    return a


def clean(cnf) -> CleanCnf:
    """Remove repeated literals inside each clause (the first occurrence stays, the order of the
    literals is kept) and tautological clauses; vectorised (one stable sort of the literals).

    ``cnf`` needs ``num_vars``, ``literals`` and ``offsets`` (an ``instances.Cnf``); a ``CleanCnf``
    is returned unchanged. When nothing is removed the result shares the (read-only) arrays.

    >>> from nsad.instances import Cnf
    >>> clean(Cnf(2, [(2, 1, 2), (1, -1, 2)])).clauses
    ((2, 1),)
    """
    if isinstance(cnf, CleanCnf):
        return cnf
    n = int(cnf.num_vars)
    if n < 1:
        raise ReductionError(f"the reduction needs at least one variable (num_vars = {n})")
    lits = np.asarray(cnf.literals, dtype=np.int64)
    off = np.asarray(cnf.offsets, dtype=np.int64)
    m0 = len(off) - 1
    if off.ndim != 1 or m0 < 0 or off[0] != 0 or off[-1] != lits.size:
        raise ReductionError("clause offsets do not match the literal array")
    lens = np.diff(off)
    var = np.abs(lits)
    if lits.size and (var.min() < 1 or var.max() > n):
        raise ReductionError(f"literals must be nonzero with variable in 1..{n}")
    all_clauses = np.arange(m0, dtype=np.int64)
    if lits.size == 0:
        return CleanCnf(n, _readonly(lits), _readonly(off), _readonly(all_clauses))
    cid = np.repeat(all_clauses, lens)
    if m0 * (n + 1) < INT64_SAFE:  # input is clause-major, so nearly sorted: the stable sort is cheap
        order = np.argsort(cid * (n + 1) + var, kind="stable")
    else:  # pragma: no cover - astronomically large formulas
        order = np.lexsort((var, cid))
    scid, svar, slit = cid[order], var[order], lits[order]
    same_var = (svar[1:] == svar[:-1]) & (scid[1:] == scid[:-1])
    same_lit = slit[1:] == slit[:-1]
    dup = same_var & same_lit
    taut = same_var & ~same_lit
    if not dup.any() and not taut.any():
        return CleanCnf(n, _readonly(lits), _readonly(off), _readonly(all_clauses))
    keep = np.ones(lits.size, dtype=bool)
    keep[order[1:][dup]] = False  # stable sort: the later occurrence of a repeated literal goes
    taut_clause = np.zeros(m0, dtype=bool)
    taut_clause[scid[1:][taut]] = True
    keep &= ~taut_clause[cid]
    new_lens = np.bincount(cid[keep], minlength=m0)[~taut_clause]
    new_off = np.zeros(new_lens.size + 1, dtype=np.int64)
    np.cumsum(new_lens, out=new_off[1:])
    return CleanCnf(n, _readonly(lits[keep]), _readonly(new_off), _readonly(np.flatnonzero(~taut_clause)))


# ----------------------------------------------------------------------------------------------
# the network


def _ceil_log2(v: int) -> int:
    return (int(v) - 1).bit_length() if v > 1 else 0


def network_depth(max_clause_len: int, num_clauses: int) -> int:
    """Number of matrices of ``reduce``'s network for a cleaned formula with ``num_clauses >= 1``
    clauses of at most ``max_clause_len >= 1`` literals: ``2 + max(1, ceil(log2 k)) + ceil(log2 m)``
    (2 when ``num_clauses == 0`` or ``max_clause_len == 0``, the ``|x_1|`` and zero networks).

    >>> network_depth(3, 91), network_depth(1, 1), network_depth(5, 2), network_depth(0, 0)
    (11, 3, 6, 2)
    """
    if num_clauses <= 0 or max_clause_len <= 0:
        return 2
    return 2 + max(1, _ceil_log2(max_clause_len)) + _ceil_log2(num_clauses)


# Gadgets: the rows of a gadget as lists of (operand, sign) terms (operand 0 = a, 1 = b), and the
# coefficients of the value it produces on its units.
_GADGETS = {
    "max": ((((0, 1), (1, -1)), ((1, 1),), ((1, -1),)), (1, 1, -1)),
    "min": ((((0, 1),), ((0, -1),), ((0, 1), (1, -1))), (1, -1, -1)),
    "carry": ((((0, 1),), ((0, -1),)), (1, -1)),
}
_KEY = 4  # support sizes are at most 3 (1 at the input layer, 2 or 3 after): key digits base 4


@dataclass(frozen=True)
class _Template:
    """The entries of one gadget whose operands have supports of sizes ``sa`` and ``sb``, row after
    row: entry ``j`` takes position ``pos[j]`` of operand ``operand[j]``'s support with sign
    ``sign[j]``, so its weight is ``data[j] = sign[j] * (coefficient of that unit in the operand)``
    (None at the input layer, where it depends on the literal); ``row_ptr``: offsets of the rows.
    ``swapped``: the same entries with ``b``'s before ``a``'s inside each row (used where ``b``'s
    columns come first, to keep rows sorted)."""

    operand: np.ndarray
    pos: np.ndarray
    sign: np.ndarray
    data: np.ndarray | None
    row_ptr: np.ndarray
    swapped: "_Template | None"

    @property
    def rows(self) -> int:
        return self.row_ptr.size - 1

    @property
    def width(self) -> int:
        return self.pos.size


def _value_coefs(below: str | None, size: int) -> tuple[int, ...] | None:
    """Coefficients of a value on its units, from the gadget of the layer below that made it
    (a gadget's value has 3 units, a carried one 2); None at the input layer."""
    if below is None:
        return None
    return _GADGETS[below if size == 3 else "carry"][1]


@functools.lru_cache(maxsize=None)
def _template(kind: str, sa: int, sb: int, below: str | None, b_first: bool = False) -> _Template:
    rows, _ = _GADGETS[kind]
    operand, pos, sign, data, row_ptr = [], [], [], [], [0]
    for row in rows:
        for o, s in sorted(row, key=lambda t: t[0], reverse=b_first):
            size = sa if o == 0 else sb
            coefs = _value_coefs(below, size)
            operand += [o] * size
            pos += range(size)
            sign += [s] * size
            data += [s * coefs[p] for p in range(size)] if coefs else []
        row_ptr.append(len(pos))
    swapped = None
    if not b_first and any(len(row) == 2 for row in rows):
        swapped = _template(kind, sa, sb, below, b_first=True)
    arrays = [np.array(v, t) for v, t in ((operand, np.int64), (pos, np.int64), (sign, np.int8), (data, np.int8))]
    arrays[3] = arrays[3] if below is not None else None
    return _Template(*[None if v is None else _readonly(v) for v in arrays],
                     _readonly(np.array(row_ptr, np.int64)), swapped)


def _fill(tpl: _Template, bases, out_cols) -> None:
    """``out_cols[i, j] = bases[operand[j]][i] + pos[j]``: support positions of every entry."""
    for j in range(tpl.width):
        np.add(bases[tpl.operand[j]], tpl.pos[j], out=out_cols[:, j])


def _level(vstart, vsize, goff, kind, below, itype, literals=None):
    """One ReLU layer: pair adjacent values within each group with the ``kind`` gadget, carry an
    odd one out.

    Value ``v`` is a combination of the units ``vstart[v] : vstart[v] + vsize[v]`` of the layer
    below, made by a ``below`` gadget (3 units) or a carry (2 units); at the input layer
    (``below = None``, ``literals = (vcol, vcoef)``) value ``v`` is ``vcoef[v] * x[vcol[v]]``.
    Gadgets are grouped into blocks by (gadget, operand support sizes); inside a block every gadget
    has the same entries up to an offset, so each block is filled by broadcasting a template, in
    value order. Returns the CSR parts ``(data, indices, indptr)`` of the layer's matrix, the new
    values ``(vstart, vsize)`` and the new group offsets.
    """
    nval = vstart.size
    sizes = np.diff(goff)
    local = np.arange(nval, dtype=np.int64) - np.repeat(goff[:-1], sizes)
    a = np.flatnonzero((local & 1) == 0)
    paired = a + 1 < np.repeat(goff[1:], sizes)[a]
    new_goff = np.zeros(len(goff), dtype=np.int64)
    np.cumsum((sizes + 1) // 2, out=new_goff[1:])
    b = np.minimum(a + 1, nval - 1)
    sa = vsize[a].astype(np.int64)
    sb = np.where(paired, vsize[b], 0)
    key = ((~paired) * _KEY + sa) * _KEY + sb  # gadget blocks first, then carries
    vcol = vcoef = None
    if literals is not None:
        vcol, vcoef = literals
    first_col = vstart if vcol is None else vcol[vstart]  # supports are increasing column ranges

    blocks = []
    n_units = n_entries = 0
    for c in np.flatnonzero(np.bincount(key)).tolist():
        carry, rest = divmod(c, _KEY * _KEY)
        tpl = _template("carry" if carry else kind, *divmod(rest, _KEY), below)
        sel = np.flatnonzero(key == c)
        blocks.append((tpl, sel, n_units, n_entries))
        n_units += sel.size * tpl.rows
        n_entries += sel.size * tpl.width

    src = np.empty(n_entries, dtype=itype)  # column, or index into the literals at the input layer
    data = np.empty(n_entries, dtype=np.int8)
    indptr = np.empty(n_units + 1, dtype=itype)
    indptr[-1] = n_entries
    new_start = np.empty(a.size, dtype=itype)
    new_size = np.empty(a.size, dtype=np.int8)
    for tpl, sel, u0, e0 in blocks:
        ns = sel.size
        block = src[e0 : e0 + ns * tpl.width].reshape(ns, tpl.width)
        dblock = data[e0 : e0 + ns * tpl.width].reshape(ns, tpl.width)
        bases = (vstart[a[sel]], vstart[b[sel]])
        _fill(tpl, bases, block)
        dblock[:] = tpl.sign if tpl.data is None else tpl.data
        if tpl.swapped is not None:
            sw = np.flatnonzero(first_col[b[sel]] < first_col[a[sel]])
            if sw.size:
                tmp = np.empty((sw.size, tpl.width), dtype=itype)
                _fill(tpl.swapped, (bases[0][sw], bases[1][sw]), tmp)
                block[sw] = tmp
                dblock[sw] = tpl.swapped.sign if tpl.data is None else tpl.swapped.data
        ip = indptr[u0 : u0 + ns * tpl.rows].reshape(ns, tpl.rows)
        np.add(np.arange(e0, e0 + ns * tpl.width, tpl.width, dtype=itype)[:, None], tpl.row_ptr[:-1], out=ip)
        new_start[sel] = np.arange(u0, u0 + ns * tpl.rows, tpl.rows, dtype=itype)
        new_size[sel] = tpl.rows
    if literals is not None:  # input layer: the weight is the sign times the literal's sign
        data *= vcoef[src]
        src = vcol[src]
    return (data, src, indptr), (new_start, new_size), new_goff


def _matrices(c: CleanCnf) -> list:
    n = c.num_vars
    m = c.num_clauses
    if m and c.has_empty_clause:
        return [sp.csr_array((1, n), dtype=np.int64), sp.csr_array(np.ones((1, 1), dtype=np.int64))]
    if m == 0:
        first = sp.csr_array(
            (np.array([1, -1], dtype=np.int64), np.zeros(2, dtype=np.int32), np.arange(3, dtype=np.int32)),
            shape=(2, n),
        )
        return [first, sp.csr_array(np.ones((1, 2), dtype=np.int64))]
    lits = c.literals
    # a generous bound on every index of the construction (< 9 entries per literal or clause)
    itype = np.int32 if 12 * (lits.size + m) + n < 2**31 - 1 else np.int64
    literals = ((np.abs(lits) - 1).astype(itype), np.where(lits > 0, 1, -1).astype(np.int8))
    vstart = np.arange(lits.size, dtype=itype)
    vsize = np.ones(lits.size, dtype=np.int8)
    goff = np.asarray(c.offsets, dtype=np.int64)
    width = n
    mats = []
    below = None
    n_clause_layers = max(1, _ceil_log2(c.max_clause_len))
    for level in range(n_clause_layers + _ceil_log2(m)):
        if level == n_clause_layers:
            goff = np.array([0, m], dtype=np.int64)  # clause values -> one group for the min tree
        kind = "max" if level < n_clause_layers else "min"
        (data, cols, indptr), (vstart, vsize), goff = _level(
            vstart, vsize, goff, kind, below, itype, literals if level == 0 else None
        )
        mats.append(_csr(data, cols, indptr, (indptr.size - 1, width)))
        width = indptr.size - 1
        below = kind
    # the single value g left is a combination of all the units of the last layer
    coefs = np.array(_value_coefs(below, width), dtype=np.int8)
    mats.append(_csr(coefs, np.arange(width, dtype=itype), np.array([0, width], dtype=itype), (1, width)))
    mats.append(sp.csr_array(np.ones((1, 1), dtype=np.int64)))
    return mats


def _csr(data, cols, indptr, shape) -> sp.csr_array:
    """CSR from its parts without copies (int8 data: ReluNetwork makes it int64)."""
    m = sp.csr_array((data, cols, indptr), shape=shape, copy=False)
    m.has_sorted_indices = True
    return m


def network_size(num_clauses: int, literals: int, max_clause_len: int) -> tuple[int, int]:
    """Upper bounds ``(units, nonzeros)`` of ``reduce``'s network for a formula with these counts,
    from the layout above: ``3 (L + K m + m + ceil(log2 m)) + 1`` units, and at most 4 nonzeros per
    row on average (a gadget's three rows have at most 6 + 3 + 3 of them, a carry's two at most 3 + 3,
    a literal's one). Grids check these against the limits before a task is run.

    >>> from nsad.instances import random_ksat
    >>> net = reduce(random_ksat(50, m=213, seed=1))
    >>> units, nnz = network_size(213, 639, 3)
    >>> net.n_units <= units and net.nnz <= nnz
    True
    """
    m, L = int(num_clauses), int(literals)
    if m <= 0 or max_clause_len <= 0:
        return 2, 4
    K = max(1, _ceil_log2(max_clause_len))
    units = 3 * (L + K * m + m + _ceil_log2(m)) + 1
    return units, 4 * (units + 1)


def reduce(cnf) -> ReluNetwork:
    """docs/theory.md section 2's network of ``cnf`` (an ``instances.Cnf`` or a ``CleanCnf``): weights in
    {-1, 0, 1}, ``network_depth(k, m)`` matrices; ``F(s) = 1`` on a satisfying ``s`` in {-1,1}^n.

    >>> from nsad.instances import Cnf
    >>> net = reduce(Cnf(3, [(1, -2, 3), (-1, 2)]))
    >>> net.depth == network_depth(3, 2), net.widths
    (True, (8, 5, 3, 1, 1))
    >>> [net.evaluate_exact(x) for x in [(1, 1, -1), (1, -1, -1), (0, 0, 0)]]
    [1, 0, 0]
    """
    return ReluNetwork(_matrices(clean(cnf)))


# ----------------------------------------------------------------------------------------------
# points and assignments


def decode(x) -> tuple[bool, ...]:
    """Point -> assignment: ``x_i > 0`` -> True, else False.

    >>> decode((3, -1, 0))
    (True, False, False)
    """
    if isinstance(x, np.ndarray) and x.dtype.kind in "biuf":
        return tuple((x > 0).tolist())
    return tuple(bool(v > 0) for v in x)


def encode(assignment) -> tuple[int, ...]:
    """Assignment -> point in {-1, 1}^n: True -> 1, False -> -1.

    >>> encode((True, False))
    (1, -1)
    """
    if isinstance(assignment, np.ndarray):
        return tuple(np.where(assignment.astype(bool), 1, -1).tolist())
    return tuple(1 if bool(a) else -1 for a in assignment)


def _is_bool(v) -> bool:
    return isinstance(v, (bool, np.bool_))


def assignment_from_model(model, num_vars: int) -> tuple[bool, ...]:
    """Normalise a model to an assignment of exactly ``num_vars`` bools.

    ``model`` is either a sequence of bools (index ``i - 1`` -> variable ``i``; shorter sequences
    are padded with False) or a solver model as DIMACS literals (python-sat's ``get_model()``;
    variables it omits, e.g. those in no clause, become False).

    >>> assignment_from_model([1, -3], 4), assignment_from_model((True,), 3)
    ((True, False, False, False), (True, False, False))
    """
    if isinstance(model, np.ndarray) and model.dtype == bool:
        model = model.tolist()
    vals = list(model)
    s = np.zeros(num_vars, dtype=bool)
    if all(_is_bool(v) for v in vals):
        if len(vals) > num_vars:
            raise ReductionError(f"model has {len(vals)} values; the formula has {num_vars} variables")
        s[: len(vals)] = vals
    elif all(isinstance(v, numbers.Integral) and not _is_bool(v) for v in vals):
        lits = np.asarray(vals, dtype=np.int64)
        var = np.abs(lits)
        if var.min() < 1 or var.max() > num_vars:
            raise ReductionError(f"model literals must be nonzero with variable in 1..{num_vars}")
        s[var - 1] = lits > 0
    else:
        raise ReductionError("a model is a sequence of bools or of nonzero DIMACS literals")
    return tuple(s.tolist())


def reference_value(cnf, x) -> Fraction:
    """docs/theory.md section 2's ``F(x)`` computed from the formula, exactly (Python loop: a reference
    for tests, not for scale). ``x``: ints, Fractions or floats (taken at their exact value).

    >>> from nsad.instances import Cnf
    >>> reference_value(Cnf(2, [(1, 2), (-1,)]), (Fraction(-1, 2), 3))
    Fraction(1, 2)
    >>> reference_value(Cnf(2, []), (-2, 5)), reference_value(Cnf(2, [(1,), ()]), (1, 1))
    (Fraction(2, 1), Fraction(0, 1))
    """
    c = clean(cnf)
    xs = [v if isinstance(v, int) else Fraction(v) for v in x]
    if len(xs) != c.num_vars:
        raise ReductionError(f"point has {len(xs)} coordinates; the formula has {c.num_vars} variables")
    if c.num_clauses == 0:
        return Fraction(abs(xs[0]))
    if c.has_empty_clause:
        return Fraction(0)
    g = min(max(xs[lit - 1] if lit > 0 else -xs[-lit - 1] for lit in clause) for clause in c.clauses)
    return Fraction(max(g, 0))


# ----------------------------------------------------------------------------------------------
# certificates


def _signed(s: np.ndarray, magnitudes: np.ndarray) -> tuple[int, ...]:
    return tuple(np.where(s, magnitudes, -magnitudes).tolist())


def certificate_from_model(cnf, net: ReluNetwork, model) -> Certificate:
    """Two-subgradient certificate for ``net = reduce(cnf)`` from a satisfying assignment.

    ``model``: see ``assignment_from_model`` (bools, or DIMACS literals from a solver). With
    ``s`` the assignment and ``n`` variables, the points are ``x1_i = +-(n + i)`` with the signs of
    ``s`` (all clauses true, ``F > 0``, nonzero gradient) and ``x2`` the same magnitudes with the
    signs of ``s`` changed on the first clause's variables to make that clause false (``F = 0``
    around it, gradient 0). All coordinates have distinct absolute values, so every pre-activation
    of the network (a literal value, or a difference of two literal values locally) is nonzero or
    identically zero: both points are generic. For ``m = 0``: points near ``e_1`` and ``-e_1``.
    Both gradients are computed exactly by ``Certificate.from_points`` (which re-derives
    genericity with ``net.linearize``) and must differ, so ``networks.check`` accepts the result.

    Raises ``ReductionError`` when the formula has an empty clause, the model falsifies a clause,
    or the network does not realise this formula's reduction.

    >>> from nsad.instances import Cnf
    >>> cnf = Cnf(3, [(1, -2), (2, 3)])
    >>> cert = certificate_from_model(cnf, reduce(cnf), [1, 2, -3])
    >>> cert.points, cert.gradients
    (((4, 5, -6), (-4, 5, -6)), ((1, 0, 0), (0, 0, 0)))
    """
    c = clean(cnf)
    n = c.num_vars
    if net.n_inputs != n:
        raise ReductionError(f"network has {net.n_inputs} inputs; the formula has {n} variables")
    s = np.array(assignment_from_model(model, n), dtype=bool)
    mags = np.arange(n + 1, 2 * n + 1, dtype=np.int64)
    if c.num_clauses == 0:
        rest = list(range(1, n))
        candidates = [((n, *rest), (-n, *rest))]
    else:
        if c.has_empty_clause:
            j = int(c.clause_index[np.flatnonzero(c.clause_lengths == 0)[0]])
            raise ReductionError(f"clause {j} (0-based) is empty: the formula is unsatisfiable, no certificate exists")
        bad = c._first_falsified(s)
        if bad is not None:
            j = int(c.clause_index[bad])
            raise ReductionError(f"the model falsifies clause {j} (0-based): no certificate from it")
        candidates = []
        for j in range(min(c.num_clauses, 3)):  # deterministic fallbacks, for foreign networks
            clause = c.literals[c.offsets[j] : c.offsets[j + 1]]
            t = s.copy()
            t[np.abs(clause) - 1] = clause < 0
            for mg in (mags, mags[::-1]):
                candidates.append((_signed(s, mg), _signed(t, mg)))
    reason = ""
    for x1, x2 in candidates:
        try:
            cert = Certificate.from_points(net, x1, x2)
        except NetworkError as exc:
            reason = str(exc)
            continue
        if tuple(map(Fraction, cert.gradients[0])) != tuple(map(Fraction, cert.gradients[1])):
            return cert  # exact gradients at two generic points, distinct: what check() verifies
        reason = "the gradients at both points are equal"
    raise ReductionError(f"the network does not realise this formula's reduction: {reason}")
