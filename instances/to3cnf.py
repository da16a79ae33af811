"""Any CNF to an equisatisfiable 3-CNF, with the maps between their models.

Convention: a clause ``(l_0, ..., l_{L-1})`` with ``L > 3`` literals becomes the chain of ``L - 2``
clauses ::

    (l_0, l_1, y_1) (-y_1, l_2, y_2) (-y_2, l_3, y_3) ... (-y_{L-3}, l_{L-2}, l_{L-1})

with ``L - 3`` fresh variables ``y``. Clauses of at most 3 literals (the empty clause included) are
kept as they are. The original variables keep their numbers ``1..n`` and the fresh ones follow,
``n + 1, n + 2, ...``, in clause order; the output clauses follow the input order too (the chain of
clause ``j`` sits where clause ``j`` was).

* ``lift(model3)``: the first ``n`` values. A model of the 3-CNF restricted to ``1..n`` satisfies
  the original (if every ``l`` of a chain were false, the ``y`` would be forced true from left to
  right and the last clause would fail).
* ``extend(model)``: a model of the original extended to the 3-CNF: ``y_i`` is true iff none of
  ``l_0 .. l_i`` is true (the chain waits for the first true literal). So the two formulas are
  equisatisfiable, and a planted assignment is carried over.

Provenance: ``family``, ``seed`` and ``index`` are kept; ``parameters`` gain ``"to_3cnf": True``;
the comments (``expected: ...`` labels included) are kept and one comment line is added.

Everything is vectorised over clauses (numpy on the flat ``literals``/``offsets`` arrays).

>>> cnf3, lift = to_3cnf(Cnf(5, [(1, 2, 3, 4, 5), (-1, 2)]))
>>> cnf3.clauses
((1, 2, 6), (-6, 3, 7), (-7, 4, 5), (-1, 2))
>>> lift((False, False, False, False, True, True, True))
(False, False, False, False, True)
>>> lift.extend((False, False, False, False, True))
(False, False, False, False, True, True, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .cnf import Cnf, CnfError

__all__ = ["to_3cnf", "Lift"]


def _frozen(values: Any) -> np.ndarray:
    array = np.array(values, dtype=np.int64)
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class Lift:
    """The model maps of a :func:`to_3cnf` conversion (picklable, immutable).

    ``num_vars``: variables of the original; ``num_vars3``: of the 3-CNF. ``chain_lengths``
    (read-only int64 array): the length ``L > 3`` of each split clause, in clause order;
    ``chain_literals``: their literals, concatenated (needed by ``extend``). Chain ``c`` owns the
    fresh variables that follow those of chains ``0..c-1``.
    """

    num_vars: int
    num_vars3: int
    chain_lengths: np.ndarray = field(default_factory=lambda: _frozen([]))
    chain_literals: np.ndarray = field(default_factory=lambda: _frozen([]))

    def __call__(self, model3: Any) -> Any:
        """The original's model from a 3-CNF model: its first ``num_vars`` values.

        One model (length ``num_vars3``) gives a tuple of bools; a batch ``(b, num_vars3)`` gives a
        bool array ``(b, num_vars)``.

        >>> Lift(2, 3)([1, 0, 1])
        (True, False)
        """
        values = np.asarray(model3)
        if values.ndim not in (1, 2) or values.shape[-1] != self.num_vars3:
            raise CnfError(f"a model of the 3-CNF has {self.num_vars3} values, got shape {values.shape}")
        out = values[..., : self.num_vars].astype(bool)
        return tuple(out.tolist()) if out.ndim == 1 else out

    def extend(self, model: Any) -> Any:
        """A model of the original extended to the fresh variables (see the module docstring).

        One model gives a tuple of bools; a batch ``(b, num_vars)`` a bool array.

        >>> _, lift = to_3cnf(Cnf(4, [(1, 2, 3, 4)]))
        >>> lift.extend([False, False, False, True])
        (False, False, False, True, True)
        """
        values = np.asarray(model)
        if values.ndim not in (1, 2) or values.shape[-1] != self.num_vars:
            raise CnfError(f"a model of the original has {self.num_vars} values, got shape {values.shape}")
        values = values.astype(bool)
        if self.num_vars3 == self.num_vars:
            out = values
        else:
            lit = self.chain_literals
            lengths = self.chain_lengths
            starts = np.cumsum(lengths) - lengths
            fresh = lengths - 3
            # For chain c and i = 1..L-3, y_i = not any(l_0 .. l_i): positions start + 0..i.
            group = np.repeat(np.arange(starts.size), fresh)
            first = np.zeros(starts.size, dtype=np.int64)
            np.cumsum(fresh[:-1], out=first[1:])
            i = np.arange(int(fresh.sum())) - first[group] + 1
            # Prefix counts of true literals within each chain's literals.
            truth = values[..., np.abs(lit) - 1] == (lit > 0)
            prefix = np.zeros(truth.shape[:-1] + (lit.size + 1,), dtype=np.int64)
            np.cumsum(truth, axis=-1, out=prefix[..., 1:])
            pos = starts[group]
            some_true = prefix[..., pos + i + 1] > prefix[..., pos]
            out = np.concatenate([values, ~some_true], axis=-1)
        return tuple(out.tolist()) if out.ndim == 1 else out


def to_3cnf(cnf: Cnf) -> tuple[Cnf, Lift]:
    """An equisatisfiable 3-CNF of ``cnf`` and the :class:`Lift` that maps models back (and forth).

    When no clause is longer than 3, the formula itself is returned with an identity lift.

    >>> cnf = Cnf(4, [(1, -2, 3, -4)], seed=1)
    >>> cnf3, lift = to_3cnf(cnf)
    >>> cnf3.num_vars, cnf3.clauses, cnf3.parameters["to_3cnf"]
    (5, ((1, -2, 5), (-5, 3, -4)), True)
    """
    if not isinstance(cnf, Cnf):
        raise CnfError(f"to_3cnf expects a Cnf, got {type(cnf).__name__}")
    n = cnf.num_vars
    lit, off = cnf.literals, cnf.offsets
    lengths = np.diff(off)
    long = np.flatnonzero(lengths > 3)
    if long.size == 0:
        return cnf, Lift(n, n)
    L = lengths[long]
    fresh = L - 3
    first_fresh = np.zeros(long.size, dtype=np.int64)  # first fresh variable of each chain
    np.cumsum(fresh[:-1], out=first_fresh[1:])
    first_fresh += n + 1
    n3 = n + int(fresh.sum())

    # Output layout: every clause keeps its block; a long clause's block has 3 (L - 2) literals.
    block = lengths.copy()
    block[long] = 3 * (L - 2)
    count = np.ones(lengths.size, dtype=np.int64)
    count[long] = L - 2
    block_start = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(block, out=block_start[1:])
    out = np.empty(int(block_start[-1]), dtype=np.int64)

    # Short clauses: copy their literals.
    short = np.ones(lengths.size, dtype=bool)
    short[long] = False
    clause_of = np.repeat(np.arange(lengths.size), lengths)
    keep = short[clause_of]
    within = np.arange(lit.size) - off[clause_of]
    out[block_start[clause_of[keep]] + within[keep]] = lit[keep]

    # Long clauses: output clause i = 0..L-3 of a chain is (A_i, l_{i+1}, C_i) with
    # A_0 = l_0, A_i = -y_i (i >= 1); C_i = y_{i+1} (i < L-3), C_{L-3} = l_{L-1}; y_j = first_fresh + j - 1.
    chain = np.repeat(np.arange(long.size), L - 2)
    i = np.arange(int((L - 2).sum())) - np.repeat(np.cumsum(L - 2) - (L - 2), L - 2)
    start = off[long][chain]
    y0 = first_fresh[chain]  # y_1
    a = np.where(i == 0, lit[start], -(y0 + i - 1))
    b = lit[start + i + 1]
    c = np.where(i == L[chain] - 3, lit[start + L[chain] - 1], y0 + i)
    base = block_start[long][chain] + 3 * i
    out[base] = a
    out[base + 1] = b
    out[base + 2] = c

    lengths3 = np.repeat(np.where(short, lengths, 3), count)
    offsets3 = np.zeros(lengths3.size + 1, dtype=np.int64)
    np.cumsum(lengths3, out=offsets3[1:])

    chain_lits = lit[np.repeat(off[long], L) + np.arange(int(L.sum())) - np.repeat(np.cumsum(L) - L, L)]
    lift = Lift(n, n3, _frozen(L), _frozen(chain_lits))
    planted = None if cnf.planted is None else lift.extend(cnf.planted)
    comment = (
        f"to_3cnf: clauses longer than 3 split into chains; variables {n + 1}..{n3} are chain variables"
    )
    cnf3 = Cnf.from_arrays(
        n3,
        out,
        offsets3,
        comments=cnf.comments + (comment,),
        family=cnf.family,
        parameters={**cnf.parameters, "to_3cnf": True},
        seed=cnf.seed,
        index=cnf.index,
        planted=planted,
    )
    return cnf3, lift
