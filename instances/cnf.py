"""The immutable CNF formula value.

Conventions
-----------
* Variables are ``1..num_vars``; ``num_vars`` is the *declared* count (the DIMACS header's ``n``),
  not the largest variable that occurs. It must be at least 1 (the SAT -> ReLU reduction needs an
  input coordinate even for the empty formula).
* A literal is a nonzero int in ``[-num_vars, num_vars]``: ``i`` means variable ``i`` is true, ``-i``
  that it is false. A clause is a (possibly empty) sequence of literals, kept exactly as given:
  repeated literals and tautologies are allowed here (the reduction cleans them). An empty clause
  makes the formula unsatisfiable; a formula without clauses is satisfiable.
* Storage is two read-only int64 arrays, ``literals`` and ``offsets``: clause ``j`` is
  ``literals[offsets[j]:offsets[j + 1]]``, ``offsets[0] == 0`` and ``offsets[-1] == len(literals)``.
  ``clauses`` (a tuple of tuples of Python ints) is built from them on first use and cached.
* An assignment is a sequence of ``num_vars`` bools (or 0/1 ints): entry ``i`` is the value of
  variable ``i + 1``.
* Two formulas are equal (and hash equal) when they have the same ``num_vars`` and the same clauses
  in the same order; comments and provenance (``family``, ``parameters``, ``seed``, ``index``,
  ``planted``) are carried along but do not take part in equality.

>>> cnf = Cnf(3, [(1, -2), (2, 3), ()])
>>> cnf.num_clauses, cnf.max_clause_len, cnf.offsets.tolist()
(3, 2, [0, 2, 4, 4])
>>> cnf.satisfied_by([True, False, True])      # the empty clause is never satisfied
False
>>> cnf == Cnf(3, ((1, -2), (2, 3), ()), comments=("same clauses",))
True
"""

from __future__ import annotations

from nsad.errors import CnfError

import itertools
from types import MappingProxyType
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

__all__ = ["Cnf", "CnfError"]




_INT_TYPES = (int, np.integer)


def _check_count(value: Any, what: str, minimum: int) -> int:
    """Return ``value`` as a Python int, or raise ``CnfError`` if it is not an int >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, _INT_TYPES):
        raise CnfError(f"{what} must be an integer, got {value!r}")
    value = int(value)
    if value < minimum:
        raise CnfError(f"{what} must be >= {minimum}, got {value}")
    return value


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def _flatten_clauses(clauses: Iterable[Iterable[Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Turn Python clauses into (literals, offsets) int64 arrays; validate the element types."""
    if isinstance(clauses, (str, bytes)):
        raise CnfError("clauses must be an iterable of iterables of ints, not a string")
    try:
        rows = list(map(tuple, clauses))
    except TypeError:
        raise CnfError("clauses must be an iterable of iterables of ints") from None
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = list(itertools.chain.from_iterable(rows))
    for kind in set(map(type, flat)):
        if kind is bool or not issubclass(kind, _INT_TYPES):
            bad = next(x for x in flat if type(x) is kind)
            raise CnfError(f"literals must be nonzero integers, got {bad!r}")
    try:
        literals = np.array(flat, dtype=np.int64)
    except OverflowError:
        bad = next(x for x in flat if not -(2**63) <= int(x) < 2**63)
        raise CnfError(f"literal {int(bad)} is out of range") from None
    return literals, offsets


class Cnf:
    """An immutable CNF formula with provenance.

    ``Cnf(num_vars, clauses, comments=(), family=None, parameters=None, seed=None, *, index=None,
    planted=None)``

    * ``clauses``: iterable of iterables of nonzero ints with ``|lit| <= num_vars``;
    * ``comments``: strings without line breaks (written as DIMACS ``c`` lines);
    * ``family``: generator family name (e.g. ``"random-ksat"``) or None;
    * ``parameters``: mapping of generator parameters, stored as a read-only mapping;
    * ``seed``, ``index``: the generator seed and formula index (non-negative ints) or None;
    * ``planted``: a satisfying assignment known by construction (tuple of ``num_vars`` bools) or
      None; it is checked against the clauses.

    Every bad value raises ``CnfError``.

    >>> cnf = Cnf(2, [[1, 2], [-1]], family="toy", parameters={"size": 2}, seed=7)
    >>> cnf.clauses, len(cnf), cnf.parameters["size"], cnf.seed
    (((1, 2), (-1,)), 2, 2, 7)
    >>> Cnf(2, [[1, 3]])
    Traceback (most recent call last):
    ...
    nsad.errors.CnfError: literal 3 in clause 0 is out of range: the formula declares 2 variables
    """

    __slots__ = (
        "_num_vars",
        "_literals",
        "_offsets",
        "_comments",
        "_family",
        "_parameters",
        "_seed",
        "_index",
        "_planted",
        "_clauses",
        "_hash",
    )

    def __init__(
        self,
        num_vars: int,
        clauses: Iterable[Iterable[int]],
        comments: Iterable[str] = (),
        family: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        seed: int | None = None,
        *,
        index: int | None = None,
        planted: Sequence[bool] | None = None,
    ) -> None:
        num_vars = _check_count(num_vars, "num_vars", 1)
        literals, offsets = _flatten_clauses(clauses)
        self._init(num_vars, literals, offsets, comments, family, parameters, seed, index, planted)

    @classmethod
    def from_arrays(
        cls,
        num_vars: int,
        literals: Any,
        offsets: Any,
        comments: Iterable[str] = (),
        family: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        seed: int | None = None,
        *,
        index: int | None = None,
        planted: Sequence[bool] | None = None,
    ) -> "Cnf":
        """Build a formula from flat ``literals`` and ``offsets`` (copied, validated, made read-only).

        This is the vectorised constructor: no Python loop per clause.

        >>> Cnf.from_arrays(3, [1, -2, 3], [0, 2, 3, 3]).clauses
        ((1, -2), (3,), ())
        """
        num_vars = _check_count(num_vars, "num_vars", 1)
        lit = np.asarray(literals)
        off = np.asarray(offsets)
        for name, arr in (("literals", lit), ("offsets", off)):
            if arr.ndim != 1:
                raise CnfError(f"{name} must be a one-dimensional array, got shape {arr.shape}")
            if arr.size and arr.dtype.kind not in "iu":
                raise CnfError(f"{name} must have an integer dtype, got {arr.dtype}")
            if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
                raise CnfError(f"{name} has values beyond int64")
        lit = np.array(lit, dtype=np.int64, copy=True)
        off = np.array(off, dtype=np.int64, copy=True)
        if off.size == 0 or off[0] != 0 or off[-1] != lit.size or np.any(off[1:] < off[:-1]):
            raise CnfError("offsets must be nondecreasing, start at 0 and end at len(literals)")
        self = cls.__new__(cls)
        self._init(num_vars, lit, off, comments, family, parameters, seed, index, planted)
        return self

    def _init(self, num_vars, literals, offsets, comments, family, parameters, seed, index, planted) -> None:
        set_ = object.__setattr__
        if literals.size:
            bad = np.flatnonzero((literals == 0) | (np.abs(literals) > num_vars))
            if bad.size:
                pos = int(bad[0])
                clause = int(np.searchsorted(offsets, pos, side="right")) - 1
                value = int(literals[pos])
                if value == 0:
                    raise CnfError(f"literal 0 in clause {clause}: literals must be nonzero")
                raise CnfError(
                    f"literal {value} in clause {clause} is out of range: "
                    f"the formula declares {num_vars} variables"
                )
        set_(self, "_num_vars", num_vars)
        set_(self, "_literals", _readonly(literals))
        set_(self, "_offsets", _readonly(offsets))
        if isinstance(comments, str):
            comments = (comments,)
        comments = tuple(comments)
        for c in comments:
            if not isinstance(c, str):
                raise CnfError(f"comments must be strings, got {c!r}")
            if "\n" in c or "\r" in c:
                raise CnfError(f"a comment must be one line, got {c!r}")
        set_(self, "_comments", comments)
        if family is not None and (
            not isinstance(family, str) or not family or family != family.strip() or "\n" in family or "\r" in family
        ):
            raise CnfError(f"family must be None or a one-line name without surrounding blanks, got {family!r}")
        set_(self, "_family", family)
        if parameters is None:
            parameters = {}
        if not isinstance(parameters, Mapping):
            raise CnfError(f"parameters must be a mapping, got {parameters!r}")
        for key in parameters:
            if not isinstance(key, str):
                raise CnfError(f"parameter names must be strings, got {key!r}")
        set_(self, "_parameters", MappingProxyType(dict(parameters)))
        set_(self, "_seed", None if seed is None else _check_count(seed, "seed", 0))
        set_(self, "_index", None if index is None else _check_count(index, "index", 0))
        set_(self, "_clauses", None)
        set_(self, "_hash", None)
        if planted is not None:
            values = self._assignment_array(planted, "planted")
            if values.ndim != 1:
                raise CnfError("planted must be one assignment")
            if not self.satisfied_by(values):
                raise CnfError("the planted assignment does not satisfy the formula")
            planted = tuple(values.tolist())
        set_(self, "_planted", planted)

    # ----------------------------------------------------------------- immutability and values
    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Cnf is immutable; use replace() or with_comments()")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Cnf is immutable")

    def __reduce__(self):
        return (
            _rebuild,
            (
                self._num_vars,
                np.array(self._literals),
                np.array(self._offsets),
                self._comments,
                self._family,
                dict(self._parameters),
                self._seed,
                self._index,
                self._planted,
            ),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Cnf):
            return NotImplemented
        return (
            self._num_vars == other._num_vars
            and np.array_equal(self._offsets, other._offsets)
            and np.array_equal(self._literals, other._literals)
        )

    def __hash__(self) -> int:
        if self._hash is None:
            h = hash((self._num_vars, self._offsets.tobytes(), self._literals.tobytes()))
            object.__setattr__(self, "_hash", h)
        return self._hash

    def __repr__(self) -> str:
        extra = f", family={self._family!r}" if self._family is not None else ""
        if self._seed is not None:
            extra += f", seed={self._seed}"
        if self._index is not None:
            extra += f", index={self._index}"
        return f"Cnf(num_vars={self._num_vars}, num_clauses={self.num_clauses}{extra})"

    def __len__(self) -> int:
        return self.num_clauses

    def __iter__(self) -> Iterator[tuple[int, ...]]:
        return iter(self.clauses)

    def __getitem__(self, j: int) -> tuple[int, ...]:
        return self.clauses[j]

    # ------------------------------------------------------------------------------ properties
    @property
    def num_vars(self) -> int:
        """The declared number of variables (at least 1)."""
        return self._num_vars

    @property
    def num_clauses(self) -> int:
        """The number of clauses (empty clauses included)."""
        return int(self._offsets.size) - 1

    @property
    def literals(self) -> np.ndarray:
        """All literals, clause after clause (read-only int64 array)."""
        return self._literals

    @property
    def offsets(self) -> np.ndarray:
        """Clause boundaries (read-only int64 array of length ``num_clauses + 1``)."""
        return self._offsets

    @property
    def clause_lengths(self) -> np.ndarray:
        """Length of each clause (int64 array).

        >>> Cnf(2, [(1, 2), (), (-1,)]).clause_lengths.tolist()
        [2, 0, 1]
        """
        return np.diff(self._offsets)

    @property
    def max_clause_len(self) -> int:
        """The length of the longest clause (0 when there are no clauses)."""
        return int(self.clause_lengths.max()) if self.num_clauses else 0

    @property
    def max_variable(self) -> int:
        """The largest variable that occurs (0 when no literal occurs); at most ``num_vars``.

        >>> Cnf(10, [(1, -4)]).max_variable
        4
        """
        return int(np.abs(self._literals).max()) if self._literals.size else 0

    @property
    def clauses(self) -> tuple[tuple[int, ...], ...]:
        """The clauses as a tuple of tuples of Python ints (built once, then cached)."""
        if self._clauses is None:
            flat = self._literals.tolist()
            bounds = self._offsets.tolist()
            value = tuple(tuple(flat[a:b]) for a, b in zip(bounds[:-1], bounds[1:]))
            object.__setattr__(self, "_clauses", value)
        return self._clauses

    @property
    def comments(self) -> tuple[str, ...]:
        """Free-text comments (DIMACS ``c`` lines, without the leading ``c``)."""
        return self._comments

    @property
    def family(self) -> str | None:
        """The generator family, e.g. ``"random-ksat"``, or None."""
        return self._family

    @property
    def parameters(self) -> Mapping[str, Any]:
        """The generator parameters (a read-only mapping, empty when unknown)."""
        return self._parameters

    @property
    def seed(self) -> int | None:
        """The generator seed, or None."""
        return self._seed

    @property
    def index(self) -> int | None:
        """The index of this formula in its generator run, or None."""
        return self._index

    @property
    def planted(self) -> tuple[bool, ...] | None:
        """A satisfying assignment known by construction (tuple of bools), or None."""
        return self._planted

    # ------------------------------------------------------------------------------- evaluation
    def _assignment_array(self, assignment: Any, what: str = "assignment") -> np.ndarray:
        try:
            values = np.asarray(assignment)
        except Exception:
            raise CnfError(f"{what} must be a sequence of bools") from None
        if values.dtype != bool and values.size:
            if values.dtype.kind not in "iu":
                raise CnfError(f"{what} must contain bools (or 0/1), got dtype {values.dtype}")
            if values.size and not np.all((values == 0) | (values == 1)):
                raise CnfError(f"{what} must contain bools (or 0/1); got other integers")
        values = values.astype(bool, copy=False)
        if values.ndim not in (1, 2) or values.shape[-1] != self._num_vars:
            raise CnfError(
                f"{what} must have {self._num_vars} entries (one per variable), got shape {values.shape}"
            )
        return values

    def satisfied_clauses(self, assignment: Any) -> np.ndarray:
        """Which clauses an assignment satisfies: bool array ``(m,)``, or ``(b, m)`` for a batch.

        ``assignment`` has shape ``(num_vars,)`` or ``(b, num_vars)`` (bools or 0/1).

        >>> Cnf(2, [(1,), (-2,), ()]).satisfied_clauses([True, True]).tolist()
        [True, False, False]
        """
        values = self._assignment_array(assignment)
        lit = self._literals
        true_lit = values[..., np.abs(lit) - 1] == (lit > 0)
        counts = np.zeros(values.shape[:-1] + (lit.size + 1,), dtype=np.int64)
        np.cumsum(true_lit, axis=-1, out=counts[..., 1:])
        return counts[..., self._offsets[1:]] > counts[..., self._offsets[:-1]]

    def satisfied_by(self, assignment: Any) -> bool | np.ndarray:
        """Whether an assignment satisfies every clause (vectorised).

        One assignment of shape ``(num_vars,)`` gives a bool; a batch ``(b, num_vars)`` gives a
        bool array of shape ``(b,)``.

        >>> cnf = Cnf(2, [(1, 2), (-1, -2)])
        >>> cnf.satisfied_by([True, False]), cnf.satisfied_by([1, 1])
        (True, False)
        >>> cnf.satisfied_by([[0, 0], [0, 1]]).tolist()
        [False, True]
        """
        result = self.satisfied_clauses(assignment).all(axis=-1)
        return bool(result) if result.ndim == 0 else result

    # ---------------------------------------------------------------------------- new versions
    def replace(self, **changes: Any) -> "Cnf":
        """A copy with other comments or provenance (clauses and ``num_vars`` stay).

        Accepted keys: ``comments``, ``family``, ``parameters``, ``seed``, ``index``, ``planted``.

        >>> Cnf(1, [(1,)]).replace(family="toy", seed=3)
        Cnf(num_vars=1, num_clauses=1, family='toy', seed=3)
        """
        fields = {
            "comments": self._comments,
            "family": self._family,
            "parameters": self._parameters,
            "seed": self._seed,
            "index": self._index,
            "planted": self._planted,
        }
        unknown = set(changes) - set(fields)
        if unknown:
            raise CnfError(f"replace() got unknown field(s): {', '.join(sorted(unknown))}")
        fields.update(changes)
        new = Cnf.__new__(Cnf)
        new._init(self._num_vars, self._literals, self._offsets, **fields)
        return new

    def with_comments(self, *comments: str, append: bool = False) -> "Cnf":
        """A copy whose comments are ``comments`` (or the old ones followed by them).

        >>> Cnf(1, [(1,)], comments=("a",)).with_comments("b", append=True).comments
        ('a', 'b')
        """
        return self.replace(comments=(self._comments + comments) if append else comments)


def _rebuild(num_vars, literals, offsets, comments, family, parameters, seed, index, planted) -> Cnf:
    return Cnf.from_arrays(
        num_vars, literals, offsets, comments, family, parameters, seed, index=index, planted=planted
    )
