"""Random CNF generators, reproducible from an integer seed with no global random state.

Seeding
-------
The ``index``-th formula of a run with seed ``S`` is drawn from its own generator::

    formula_rng(S, index) = numpy.random.Generator(
        numpy.random.PCG64(numpy.random.SeedSequence([S, index])))

``S`` and ``index`` are non-negative ints. Formulas of one run are therefore independent streams,
any one of them can be regenerated alone (a worker gets ``(family, parameters, seed, index)``, never
the formula), and the result is the same on every machine and in every process. ``generate`` and
``regenerate`` below, the ``nsad generate``/``verify`` commands and every executor rely on this.

Families
--------
``random-ksat`` (``random_ksat``): the fixed-clause-length model of uniform random k-SAT (as SATLIB's
``uf``/``uuf`` sets). Each of the ``m`` clauses is drawn independently: ``k`` distinct variables,
uniformly, in random order, each negated with probability 1/2. Repeated clauses can occur.

``planted-ksat`` (``planted_ksat``): a hidden assignment is drawn first, then uniform clauses as
above, keeping only those it satisfies (those it falsifies are redrawn), so the formula is
satisfiable by construction; ``cnf.planted`` is the hidden assignment (tuple of bools).

``m = round(ratio * n)`` (Python's ``round``: halves go to the even integer) when ``ratio`` is
given; exactly one of ``m`` and ``ratio`` must be. ``k <= n`` is required.

The draws, in order (they define the formulas; tests pin a few of them):

* ``_draw_clauses(rng, n, k, count)``: for ``j = 0..k-1``, ``u = rng.integers(0, n - j, size=count)``
  then ``u`` is mapped to the ``u``-th variable not drawn yet in its row (skip over the sorted
  previous picks); then ``rng.integers(0, 2, size=(count, k))`` gives the signs (1 = negated).
* ``random_ksat``: one ``_draw_clauses(rng, n, k, m)``.
* ``planted_ksat``: ``rng.integers(0, 2, size=n)`` is the hidden assignment (1 = true); then
  ``_draw_clauses`` for all clauses still to fill, keeping, in order, those it satisfies, until all
  ``m`` are filled.

Every step is vectorised over clauses (``O(m k^2)`` work in numpy, no Python loop per clause).

>>> cnf = random_ksat(20, ratio=4.55, seed=1, index=2)
>>> cnf.num_vars, cnf.num_clauses, cnf.max_clause_len, cnf.family, cnf.seed, cnf.index
(20, 91, 3, 'random-ksat', 1, 2)
>>> cnf == random_ksat(20, m=91, seed=1, index=2) != random_ksat(20, m=91, seed=1, index=3)
True
>>> planted = planted_ksat(30, ratio=6, seed=0)
>>> planted.satisfied_by(planted.planted)
True
"""

from __future__ import annotations

import inspect
import math
import numbers
from types import MappingProxyType
from typing import Any, Callable, Mapping, NamedTuple

import numpy as np

from nsad import limits as _limits

from .cnf import Cnf, CnfError, _check_count

__all__ = [
    "formula_rng",
    "random_ksat",
    "planted_ksat",
    "GENERATORS",
    "FAMILY_ALIASES",
    "generate",
    "regenerate",
    "FormulaSize",
    "formula_size",
    "check_formula_size",
]

RANDOM_KSAT = "random-ksat"
PLANTED_KSAT = "planted-ksat"


def formula_rng(seed: int, index: int = 0) -> np.random.Generator:
    """The random generator of formula ``index`` in a run with seed ``seed``.

    ``Generator(PCG64(SeedSequence([seed, index])))``; both must be non-negative ints.

    >>> int(formula_rng(7, 3).integers(1000)) == int(formula_rng(7, 3).integers(1000))
    True
    >>> formula_rng(-1, 0)
    Traceback (most recent call last):
    ...
    nsad.errors.CnfError: seed must be >= 0, got -1
    """
    seed = _check_count(seed, "seed", 0)
    index = _check_count(index, "index", 0)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, index])))


def _clause_count(n: int, m: Any, ratio: Any) -> tuple[int, int | float | None]:
    if (m is None) == (ratio is None):
        raise CnfError("give exactly one of m (number of clauses) and ratio (clauses per variable)")
    if m is not None:
        return _check_count(m, "m", 0), None
    if isinstance(ratio, bool) or not isinstance(ratio, numbers.Real):
        raise CnfError(f"ratio must be a real number, got {ratio!r}")
    ratio = int(ratio) if isinstance(ratio, numbers.Integral) else float(ratio)
    if not math.isfinite(ratio) or ratio < 0:
        raise CnfError(f"ratio must be finite and >= 0, got {ratio!r}")
    return round(ratio * n), ratio


def _check_shape(n: Any, k: Any) -> tuple[int, int]:
    n = _check_count(n, "n", 1)
    k = _check_count(k, "k", 1)
    if k > n:
        raise CnfError(f"k = {k} distinct variables per clause need n >= k, got n = {n}")
    return n, k


class FormulaSize(NamedTuple):
    """What a generator will build, estimated from its parameters alone (upper bounds): ``vars``,
    ``clauses``, ``literals`` (occurrences) and ``memory``, the peak bytes it allocates on the way."""

    vars: int
    clauses: int
    literals: int
    memory: int

    @property
    def dimacs_bytes(self) -> int:
        """An upper bound on the size of the formula's DIMACS text (a literal takes at most 9 + the
        digits of ``vars`` bytes)."""
        return self.literals * (2 + len(str(self.vars))) + 2 * self.clauses + 64 + 8 * self.vars // 7


def check_formula_size(size: FormulaSize, what: str = "the formula", *, location: str | None = None,
                       limits: _limits.Limits | None = None) -> None:
    """``LimitError`` when an estimated formula exceeds ``max_vars``, ``max_clauses``, ``max_literals``
    or ``max_memory_bytes``.

    >>> check_formula_size(FormulaSize(10**9, 1, 3, 0))
    Traceback (most recent call last):
    ...
    nsad.errors.LimitError: the formula would have 1000000000 variables, beyond the limit max_vars = 10000000 (...)
    """
    lim = _limits.resolve(limits)
    for name, value, unit in (("max_vars", size.vars, "variables"), ("max_clauses", size.clauses, "clauses"),
                              ("max_literals", size.literals, "literals"),
                              ("max_memory_bytes", size.memory, "bytes of memory to generate")):
        _limits.check(name, value, f"{what} would have {value} {unit}" if unit != "bytes of memory to generate"
                      else f"{what} would need about {value} bytes of memory to generate",
                      location=location, limits=lim)


def formula_size(generator: Callable[..., Cnf] | str, **parameters: Any) -> FormulaSize | None:
    """The :class:`FormulaSize` a generator (or a family name) would build with these parameters, or
    None when it declares no estimate (its ``size`` attribute). Bad parameters raise ``CnfError``.

    >>> formula_size("random-ksat", n=250_000, m=1_000_000)
    FormulaSize(vars=250000, clauses=1000000, literals=3000000, memory=236000000)
    """
    fn = GENERATORS[_family(generator)] if isinstance(generator, str) else generator
    estimate = getattr(fn, "size", None)
    if estimate is None:
        return None
    try:
        bound = inspect.signature(fn).bind(**parameters)
    except TypeError as exc:
        raise CnfError(f"bad parameters: {exc}") from None
    bound.apply_defaults()
    args = {k: v for k, v in bound.arguments.items() if k not in ("seed", "index")}
    return estimate(**args)


def _ksat_size(n, m=None, ratio=None, k=3, per_literal=72, **_ignored) -> FormulaSize:
    n, k = _check_shape(n, k)
    m, _ = _clause_count(n, m, ratio)
    return FormulaSize(n, m, m * k, per_literal * m * k + 16 * m + 16 * n)


def _limit(size: FormulaSize, family: str) -> None:
    check_formula_size(size, f"this {family} formula")


def _draw_clauses(rng: np.random.Generator, n: int, k: int, count: int) -> np.ndarray:
    """``count`` uniform clauses of ``k`` distinct variables out of ``n``: int64 literals ``(count, k)``."""
    chosen = np.empty((count, k), dtype=np.int64)
    previous = chosen[:, :0]
    for j in range(k):
        u = rng.integers(0, n - j, size=count, dtype=np.int64)
        for t in range(j):  # the u-th variable (0-based) among those not chosen yet in the row
            u += u >= previous[:, t]
        chosen[:, j] = u
        previous = np.sort(chosen[:, : j + 1], axis=1)
    negated = rng.integers(0, 2, size=(count, k), dtype=np.int64)
    return (chosen + 1) * (1 - 2 * negated)


def _make(n, k, m, ratio, seed, index, family, literals, planted=None) -> Cnf:
    offsets = np.arange(0, m * k + 1, k, dtype=np.int64)
    return Cnf.from_arrays(
        n,
        literals.reshape(-1),
        offsets,
        family=family,
        parameters={"n": n, "m": m, "k": k, "ratio": ratio},
        seed=seed,
        index=index,
        planted=planted,
    )


def random_ksat(n: int, m: int | None = None, ratio: float | None = None, k: int = 3, seed: int = 0, index: int = 0) -> Cnf:
    """Uniform random k-SAT: ``m`` independent clauses of ``k`` distinct variables, random signs.

    Family ``"random-ksat"``; parameters ``n, m, k, ratio`` (``ratio`` None when ``m`` was given).

    >>> random_ksat(10, m=4, k=3, seed=5).clause_lengths.tolist()
    [3, 3, 3, 3]
    >>> random_ksat(2, m=1, k=3)
    Traceback (most recent call last):
    ...
    nsad.errors.CnfError: k = 3 distinct variables per clause need n >= k, got n = 2
    """
    n, k = _check_shape(n, k)
    m, ratio = _clause_count(n, m, ratio)
    _limit(_ksat_size(n, m, None, k), RANDOM_KSAT)
    rng = formula_rng(seed, index)
    literals = _draw_clauses(rng, n, k, m)
    return _make(n, k, m, ratio, seed, index, RANDOM_KSAT, literals)


def planted_ksat(n: int, m: int | None = None, ratio: float | None = None, k: int = 3, seed: int = 0, index: int = 0) -> Cnf:
    """Planted satisfiable k-SAT: uniform clauses conditioned on a hidden assignment satisfying them.

    Family ``"planted-ksat"``; ``cnf.planted`` is the hidden assignment (variable ``i + 1`` is
    ``planted[i]``).

    >>> cnf = planted_ksat(8, m=40, k=3, seed=2)
    >>> cnf.family, len(cnf.planted), cnf.satisfied_by(cnf.planted)
    ('planted-ksat', 8, True)
    """
    n, k = _check_shape(n, k)
    m, ratio = _clause_count(n, m, ratio)
    _limit(_planted_size(n, m, None, k), PLANTED_KSAT)
    rng = formula_rng(seed, index)
    hidden = rng.integers(0, 2, size=n, dtype=np.int64).astype(bool)
    literals = np.empty((m, k), dtype=np.int64)
    todo = np.arange(m)
    while todo.size:
        candidates = _draw_clauses(rng, n, k, todo.size)
        kept = ((candidates > 0) == hidden[np.abs(candidates) - 1]).any(axis=1)
        literals[todo[kept]] = candidates[kept]
        todo = todo[~kept]
    return _make(n, k, m, ratio, seed, index, PLANTED_KSAT, literals, planted=hidden)


def _planted_size(n, m=None, ratio=None, k=3) -> FormulaSize:
    return _ksat_size(n, m, ratio, k, per_literal=96)


random_ksat.size = _ksat_size
planted_ksat.size = _planted_size

_GENERATORS: dict = {RANDOM_KSAT: random_ksat, PLANTED_KSAT: planted_ksat}
_ALIASES: dict = {"random": RANDOM_KSAT, "uniform": RANDOM_KSAT, "planted": PLANTED_KSAT}

GENERATORS: Mapping[str, Callable[..., Cnf]] = MappingProxyType(_GENERATORS)
"""Family name -> generator ``f(n, m=None, ratio=None, k=3, seed=0, index=0) -> Cnf`` (read-only)."""

FAMILY_ALIASES: Mapping[str, str] = MappingProxyType(_ALIASES)
"""Short names accepted by ``generate`` (case-insensitive, as are the family names)."""


def register_families(generators: Mapping[str, Callable[..., Cnf]], aliases: Mapping[str, str] = {}) -> None:
    """Add families to the one registry (``GENERATORS`` / ``FAMILY_ALIASES`` are read-only views of it)."""
    for name in generators:
        if name in _GENERATORS and _GENERATORS[name] is not generators[name]:
            raise CnfError(f"formula family {name!r} registered twice")
    _GENERATORS.update(generators)
    _ALIASES.update(aliases)


def _family(name: Any) -> str:
    key = str(name).lower()
    key = FAMILY_ALIASES.get(key, key)
    if key not in GENERATORS:
        choices = ", ".join(GENERATORS) + " (aliases: " + ", ".join(FAMILY_ALIASES) + ")"
        raise CnfError(f"unknown formula family {name!r}; choose one of: {choices}")
    return key


def generate(family: str, *, seed: int = 0, index: int = 0, **parameters: Any) -> Cnf:
    """Formula ``index`` of family ``family`` with seed ``seed``: ``GENERATORS[family](...)``.

    ``parameters`` may be a generated formula's own ``parameters`` (with both ``m`` and ``ratio``):
    a ``ratio`` of None is dropped, otherwise ``m`` must equal ``round(ratio * n)`` and is dropped.

    >>> cnf = generate("random", n=20, ratio=4.55, seed=3, index=1)
    >>> cnf == generate(cnf.family, seed=3, index=1, **cnf.parameters), cnf.num_clauses
    (True, 91)
    >>> generate("sudoku", n=3)
    Traceback (most recent call last):
    ...
    nsad.errors.CnfError: unknown formula family 'sudoku'; choose one of: random-ksat, planted-ksat, ...
    """
    key = _family(family)
    params = dict(parameters)
    if "m" in params and "ratio" in params:
        if params["ratio"] is None:
            del params["ratio"]
        elif params["m"] is None:
            del params["m"]
        else:
            n, ratio = params.get("n"), params["ratio"]
            expected, _ = _clause_count(_check_count(n, "n", 1), None, ratio)
            if _check_count(params["m"], "m", 0) != expected:
                raise CnfError(f"m = {params['m']} disagrees with ratio = {ratio!r}: round(ratio * n) = {expected}")
            del params["m"]
    function = GENERATORS[key]
    to3 = bool(params.pop("to_3cnf", False))
    if to3:
        from .to3cnf import to_3cnf

        return to_3cnf(generate(key, seed=seed, index=index, **params))[0]
    try:
        inspect.signature(function).bind(seed=seed, index=index, **params)
    except TypeError as exc:
        raise CnfError(f"bad parameters for {key}: {exc}") from None
    return function(seed=seed, index=index, **params)


def regenerate(cnf: Cnf) -> Cnf:
    """Draw a generated formula again from its provenance (family, parameters, seed, index).

    >>> cnf = planted_ksat(12, ratio=4.0, seed=9, index=4)
    >>> again = regenerate(cnf)
    >>> again == cnf and again.planted == cnf.planted
    True
    """
    if cnf.family is None or cnf.seed is None:
        raise CnfError("the formula has no generator provenance (family and seed are needed)")
    return generate(cnf.family, seed=cnf.seed, index=cnf.index or 0, **cnf.parameters)
