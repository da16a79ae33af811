"""VNN-LIB 1.0 properties: the reduction property, a writer, and a parser for box properties.

A VNN-LIB property describes the *unsafe* region: input bounds and output conditions, all asserted
together. A verifier answers ``sat`` when some input in the box gives outputs that meet every output
condition (a counterexample, here a *witness*), ``unsat`` when none does.

**The reduction property.** For the network ``F`` of a CNF formula over ``n`` variables
(``reductions.sat_to_relu.reduce``, docs/theory.md section 2) and a threshold ``t`` in ``(0, 1]``
(default ``1/2``)::

    exists x in [-1, 1]^n with F(x) >= t

It holds iff the formula is satisfiable, so a verifier's ``sat`` means satisfiable:

- if an assignment ``s`` in ``{-1, 1}^n`` satisfies the formula, ``F(s) = 1 >= t`` and ``s`` lies in
  the box: a witness;
- conversely ``F(x) >= t > 0`` forces ``g(x) = min_j max_{l in C_j} l(x) > 0``: every clause has a
  literal with a positive value at ``x``, whose coordinate is nonzero, so the sign pattern
  ``x_i > 0 -> True`` (``reductions.sat_to_relu.decode``) makes that literal true in every clause;
- the degenerate networks agree: without clauses ``F = |x_1|`` reaches 1 at ``e_1``; with an empty
  clause ``F = 0`` has no witness.

Any ``t`` in ``(0, 1]`` works since ``0 <= F <= 1`` on the box; ``t = 1`` leaves witnesses only on
faces of the box (``F(x) = 1`` needs a literal of value 1 in every clause), which is needlessly hostile
to verifiers, while ``t = 1/2`` leaves a neighbourhood of every satisfying corner (``F`` is
1-Lipschitz in the max norm).

**Writer.** ``format_vnnlib`` writes ``(declare-const X_i Real)`` for every input, ``(declare-const
Y_j Real)`` for every output, then one ``(assert (<= X_i u))`` and ``(assert (>= X_i l))`` per input and
one assertion per output condition. Numbers are exact decimals (``1.0``, ``-1.0``, ``0.5``); a bound
with no finite decimal expansion (``1/3``) is an error, so write-then-parse is exact.

**Parser.** ``parse_vnnlib`` reads the subset of VNN-LIB made of declarations and assertions of the
form ``(<= V c)``, ``(>= V c)``, ``(<= c V)``, ``(>= c V)`` (``V`` a declared ``X_i`` or ``Y_j``, ``c`` a
decimal, possibly negative, written ``-1.0``, ``(- 1.0)``, ``1e-3`` or ``(/ 1 3)``), possibly grouped in
one ``(and ...)``: a box on the inputs (every input bounded on both sides) and a conjunction of
output bounds. ``;`` comments, ``(set-logic ...)``, ``(check-sat)`` and ``(exit)`` are ignored. Other
shapes (``or``, strict inequalities, relations between variables) raise ``VnnlibError`` naming the
file and line.

>>> prop = reduction_property(2)
>>> print(format_vnnlib(prop), end="")
(declare-const X_0 Real)
(declare-const X_1 Real)
(declare-const Y_0 Real)
(assert (<= X_0 1.0))
(assert (>= X_0 -1.0))
(assert (<= X_1 1.0))
(assert (>= X_1 -1.0))
(assert (>= Y_0 0.5))
>>> parse_vnnlib(format_vnnlib(prop)) == prop
True
"""

from __future__ import annotations

from nsad.errors import VnnlibError

import os
import re
from dataclasses import dataclass
from fractions import Fraction
from numbers import Rational

__all__ = [
    "VnnlibError",
    "OutputBound",
    "BoxProperty",
    "DEFAULT_THRESHOLD",
    "reduction_property",
    "format_vnnlib",
    "write_vnnlib",
    "parse_vnnlib",
    "read_vnnlib",
    "is_witness",
    "exact_number",
    "decimal",
]

DEFAULT_THRESHOLD = Fraction(1, 2)




def exact_number(v, what: str = "number") -> Fraction:
    """An exact rational from an int, Fraction, string (``"1/2"``, ``"0.5"``, ``"1e-3"``) or float
    (taken at its shortest decimal repr, so ``0.1`` is ``1/10``).

    >>> exact_number("1/2"), exact_number(0.1), exact_number("-1.0")
    (Fraction(1, 2), Fraction(1, 10), Fraction(-1, 1))
    """
    if isinstance(v, bool):
        raise VnnlibError(f"{what}: expected a number, got {v!r}")
    try:
        if isinstance(v, float):
            if v != v or v in (float("inf"), float("-inf")):
                raise VnnlibError(f"{what}: must be finite, got {v!r}")
            return Fraction(repr(v))
        if isinstance(v, (int, Rational)):
            return Fraction(v)
        if isinstance(v, str):
            return Fraction(v.strip())
        import numpy as np

        if isinstance(v, np.integer):
            return Fraction(int(v))
        if isinstance(v, np.floating):
            return exact_number(float(v), what)
    except (ValueError, ZeroDivisionError):
        raise VnnlibError(f"{what}: not a rational number: {v!r}") from None
    raise VnnlibError(f"{what}: expected a number, got {type(v).__name__}")


def decimal(v) -> str:
    """The exact decimal string of a rational with a finite decimal expansion (always with a point).

    >>> decimal(Fraction(1, 2)), decimal(-1), decimal(Fraction(3, 40)), decimal(10)
    ('0.5', '-1.0', '0.075', '10.0')
    >>> decimal(Fraction(1, 3))
    Traceback (most recent call last):
    ...
    nsad.errors.VnnlibError: 1/3 has no finite decimal expansion; VNN-LIB numbers are decimals
    """
    f = Fraction(v)
    d = f.denominator
    a = b = 0
    while d % 2 == 0:
        d //= 2
        a += 1
    while d % 5 == 0:
        d //= 5
        b += 1
    if d != 1:
        raise VnnlibError(f"{f} has no finite decimal expansion; VNN-LIB numbers are decimals")
    digits = max(a, b)
    sign = "-" if f < 0 else ""
    scaled = abs(f.numerator) * (10**digits // f.denominator)
    whole, frac = divmod(scaled, 10**digits)
    frac_s = str(frac).rjust(digits, "0").rstrip("0") if digits else ""
    return f"{sign}{whole}.{frac_s or '0'}"


@dataclass(frozen=True)
class OutputBound:
    """One output condition ``Y_index >= value`` (``op == ">="``) or ``Y_index <= value``."""

    index: int
    op: str
    value: Fraction

    def __post_init__(self):
        if self.op not in (">=", "<="):
            raise VnnlibError(f"output condition operator must be '>=' or '<=', got {self.op!r}")
        if not isinstance(self.index, int) or self.index < 0:
            raise VnnlibError(f"output index must be a nonnegative int, got {self.index!r}")
        object.__setattr__(self, "value", exact_number(self.value, "output bound"))

    def holds(self, y) -> bool:
        y = Fraction(y)
        return y >= self.value if self.op == ">=" else y <= self.value


@dataclass(frozen=True)
class BoxProperty:
    """``exists x with lower <= x <= upper (coordinatewise) and every output condition on F(x)``.

    ``lower``, ``upper``: tuples of Fractions (one per input); ``outputs``: tuple of ``OutputBound``;
    ``n_outputs``: the number of declared outputs.
    """

    lower: tuple
    upper: tuple
    outputs: tuple
    n_outputs: int = 1

    def __post_init__(self):
        lo = tuple(exact_number(v, "lower bound") for v in self.lower)
        hi = tuple(exact_number(v, "upper bound") for v in self.upper)
        if len(lo) != len(hi) or not lo:
            raise VnnlibError("a box property needs equally many (>= 1) lower and upper bounds")
        outs = tuple(self.outputs)
        if not all(isinstance(o, OutputBound) for o in outs):
            raise VnnlibError("output conditions must be OutputBound values")
        if not isinstance(self.n_outputs, int) or self.n_outputs < 1:
            raise VnnlibError(f"n_outputs must be a positive int, got {self.n_outputs!r}")
        bad = next((o for o in outs if o.index >= self.n_outputs), None)
        if bad is not None:
            raise VnnlibError(f"output condition on Y_{bad.index} but only {self.n_outputs} outputs are declared")
        object.__setattr__(self, "lower", lo)
        object.__setattr__(self, "upper", hi)
        object.__setattr__(self, "outputs", outs)

    @property
    def n_inputs(self) -> int:
        return len(self.lower)

    @property
    def empty_box(self) -> bool:
        """Whether some lower bound exceeds its upper bound (then the property has no witness)."""
        return any(l > u for l, u in zip(self.lower, self.upper))

    def holds_at(self, x, y) -> bool:
        """Exactly: ``x`` lies in the box and the outputs ``y`` (a number or a sequence) meet every
        output condition.

        >>> reduction_property(1).holds_at([Fraction(-3, 4)], Fraction(1, 2))
        True
        """
        xs = [exact_number(v, "point") for v in x]
        if len(xs) != self.n_inputs:
            raise VnnlibError(f"the point has {len(xs)} coordinates; the property has {self.n_inputs} inputs")
        ys = list(y) if isinstance(y, (tuple, list)) else [y]
        if len(ys) != self.n_outputs:
            raise VnnlibError(f"{len(ys)} outputs given; the property declares {self.n_outputs}")
        if any(not (l <= v <= u) for l, v, u in zip(self.lower, xs, self.upper)):
            return False
        return all(o.holds(ys[o.index]) for o in self.outputs)


def reduction_property(source, threshold=DEFAULT_THRESHOLD) -> BoxProperty:
    """The property ``exists x in [-1, 1]^n with F(x) >= threshold`` (module docstring: it holds iff
    the formula is satisfiable, for every threshold in ``(0, 1]``).

    ``source``: the number of inputs ``n``, a ``Cnf`` (its ``num_vars``) or a scalar ``ReluNetwork``
    (its ``n_inputs``). ``threshold``: a rational in ``(0, 1]`` with a finite decimal expansion.

    >>> p = reduction_property(3, "1")
    >>> p.n_inputs, p.outputs[0]
    (3, OutputBound(index=0, op='>=', value=Fraction(1, 1)))
    >>> reduction_property(3, 0)
    Traceback (most recent call last):
    ...
    nsad.errors.VnnlibError: the threshold must lie in (0, 1], got 0
    """
    t = exact_number(threshold, "threshold")
    if not 0 < t <= 1:
        raise VnnlibError(f"the threshold must lie in (0, 1], got {t}")
    decimal(t)  # finite decimal expansion, else error
    if isinstance(source, bool):
        raise VnnlibError("the source must be a number of inputs, a Cnf or a ReluNetwork")
    if isinstance(source, int):
        n = source
    elif hasattr(source, "n_inputs") and hasattr(source, "n_outputs"):
        if source.n_outputs != 1:
            raise VnnlibError(f"the reduction property needs a scalar network, this one has {source.n_outputs} outputs")
        if getattr(source, "has_biases", False):
            raise VnnlibError("the reduction property is about a bias-free reduction network, but this one has biases")
        n = int(source.n_inputs)
    elif hasattr(source, "num_vars"):
        n = int(source.num_vars)
    else:
        raise VnnlibError(f"the source must be a number of inputs, a Cnf or a ReluNetwork, got {type(source).__name__}")
    if n < 1:
        raise VnnlibError(f"the property needs at least one input, got {n}")
    return BoxProperty((Fraction(-1),) * n, (Fraction(1),) * n, (OutputBound(0, ">=", t),), 1)


def format_vnnlib(prop: BoxProperty, comments=()) -> str:
    """The VNN-LIB text of ``prop`` (comments first, as ``; `` lines).

    >>> print(format_vnnlib(reduction_property(1, "0.25"), comments=["hello"]), end="")
    ; hello
    (declare-const X_0 Real)
    (declare-const Y_0 Real)
    (assert (<= X_0 1.0))
    (assert (>= X_0 -1.0))
    (assert (>= Y_0 0.25))
    """
    if not isinstance(prop, BoxProperty):
        raise VnnlibError(f"format_vnnlib needs a BoxProperty, got {type(prop).__name__}")
    lines = []
    for c in comments:
        for part in str(c).splitlines() or [""]:
            lines.append(f"; {part}".rstrip())
    lines += [f"(declare-const X_{i} Real)" for i in range(prop.n_inputs)]
    lines += [f"(declare-const Y_{j} Real)" for j in range(prop.n_outputs)]
    for i, (lo, hi) in enumerate(zip(prop.lower, prop.upper)):
        lines.append(f"(assert (<= X_{i} {decimal(hi)}))")
        lines.append(f"(assert (>= X_{i} {decimal(lo)}))")
    for o in prop.outputs:
        lines.append(f"(assert ({o.op} Y_{o.index} {decimal(o.value)}))")
    return "\n".join(lines) + "\n"


def write_vnnlib(path, prop: BoxProperty, comments=()) -> None:
    """Write ``format_vnnlib(prop, comments)`` to ``path`` atomically (temporary file, then rename).

    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write_vnnlib(os.path.join(d, "p.vnnlib"), reduction_property(2))
    ...     read_vnnlib(os.path.join(d, "p.vnnlib")).n_inputs
    2
    """
    text = format_vnnlib(prop, comments)
    path = os.fspath(path)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "w", encoding="ascii") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# ------------------------------------------------------------------------------------------------
# parser

_TOKEN = re.compile(r"\s*(?:(;[^\n]*)|(\()|(\))|([^\s();]+))")
_VAR = re.compile(r"^([XY])_(0|[1-9][0-9]*)$")
_DECIMAL = re.compile(r"[+-]?([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?")
_RATIONAL = re.compile(r"[+-]?([0-9]+)/([0-9]+)")
_IGNORED = ("set-logic", "check-sat", "exit", "set-info", "set-option", "get-model")


class _Atom:
    __slots__ = ("text", "line")

    def __init__(self, text: str, line: int):
        self.text, self.line = text, line


class _Node:
    __slots__ = ("items", "line")

    def __init__(self, items: list, line: int):
        self.items, self.line = items, line

    def head(self) -> str | None:
        return self.items[0].text if self.items and isinstance(self.items[0], _Atom) else None


def _sexprs(text: str, name: str, lim):
    """The top-level s-expressions, each yielded as soon as it closes (nested lists of atoms; a list
    carries its line). Nesting deeper than ``max_nesting`` is a ``LimitError`` at its line."""
    from nsad import limits as _limits

    depth_cap = lim.max_nesting
    stack: list = [[]]
    lines: list = [0]
    line = 1
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            rest = text[pos:]
            if rest.strip() == "":
                break
            raise VnnlibError(f"{name}:{line}: cannot read {rest.strip()[:20]!r}")
        line += text.count("\n", pos, m.start(m.lastindex))
        pos = m.end()
        if m.group(1) is not None:
            continue
        if m.group(2):
            if depth_cap is not None and len(stack) > depth_cap:
                raise _limits.exceeded("max_nesting", depth_cap, f"parentheses nested more than {depth_cap} deep",
                                       location=f"{name}:{line}")
            stack.append([])
            lines.append(line)
        elif m.group(3):
            if len(stack) == 1:
                raise VnnlibError(f"{name}:{line}: unbalanced ')'")
            done = stack.pop()
            node = _Node(done, lines.pop())
            if len(stack) == 1:
                yield node
            else:
                stack[-1].append(node)
        else:
            if len(stack) == 1:
                raise VnnlibError(f"{name}:{line}: expected '(', got {m.group(4)!r}")
            stack[-1].append(_Atom(m.group(4), line))
    if len(stack) != 1:
        raise VnnlibError(f"{name}:{lines[-1]}: unbalanced '(' (missing ')')")


def _literal(t: str, name: str, line: int, lim) -> Fraction:
    """An exact number from a decimal (``-1.5``, ``.5``, ``1e-3``) or ``p/q`` atom; its digits, written
    or implied by the exponent, are checked against ``max_number_length`` before any big integer is made."""
    from nsad import limits as _limits

    cap = lim.max_number_length
    m = _DECIMAL.fullmatch(t)
    if m is not None and (m.group(1) or m.group(2)):
        whole, frac, exp = m.group(1), m.group(2) or "", m.group(3)
        if exp is not None and len(exp.lstrip("+-")) > 20:
            raise _limits.exceeded("max_number_length", cap or 0, f"{t[:30]!r} has an exponent of "
                                   f"{len(exp)} digits", location=f"{name}:{line}")
        e = int(exp) if exp is not None else 0
        digits = len(whole) + len(frac) + abs(e)
        if cap is not None and digits > cap:
            raise _limits.exceeded("max_number_length", cap, f"{t[:30]!r} has {digits} digits (written or implied "
                                   f"by its exponent)", location=f"{name}:{line}")
        return Fraction(t)
    m = _RATIONAL.fullmatch(t)
    if m is not None:
        if cap is not None and max(len(m.group(1)), len(m.group(2))) > cap:
            raise _limits.exceeded("max_number_length", cap, f"{t[:30]!r} has more than {cap} digits",
                                   location=f"{name}:{line}")
        if int(m.group(2)) == 0:
            raise VnnlibError(f"{name}:{line}: bad division")
        return Fraction(t)
    raise VnnlibError(f"{name}:{line}: {t[:40]!r} is neither a declared variable nor a number")


def _number(item, name: str, lim):
    """A Fraction from an atom ``-1.5``/``1e-3`` or ``(- c)``/``(/ p q)``; None if not a number."""
    if isinstance(item, _Atom):
        t = item.text
        if _VAR.match(t):
            return None
        return _literal(t, name, item.line, lim)
    h = item.head()
    if h == "-" and len(item.items) == 2:
        v = _number(item.items[1], name, lim)
        return None if v is None else -v
    if h == "/" and len(item.items) == 3:
        p, q = _number(item.items[1], name, lim), _number(item.items[2], name, lim)
        if p is None or q is None or q == 0:
            raise VnnlibError(f"{name}:{item.line}: bad division")
        return p / q
    raise VnnlibError(f"{name}:{item.line}: unsupported term; expected a variable or a number")


def _conjuncts(node: _Node, name: str) -> list:
    if node.head() == "and":
        out = []
        for sub in node.items[1:]:
            if not isinstance(sub, _Node):
                raise VnnlibError(f"{name}:{sub.line}: expected a comparison inside 'and'")
            out.extend(_conjuncts(sub, name))
        return out
    return [node]


def parse_vnnlib(text: str, name: str = "<string>", *, limits=None) -> BoxProperty:
    """Parse a box property (module docstring gives the subset); errors name ``name`` and the line.

    Limits (:mod:`nsad.limits`): ``max_nesting`` for parentheses, ``max_number_length`` for the digits
    of a number (``1e-999999999`` implies 999,999,999 of them and is refused before it is computed),
    ``max_layer_width`` for variable indices; beyond them ``LimitError``.

    >>> p = parse_vnnlib('''; from elsewhere
    ... (declare-const X_0 Real) (declare-const Y_0 Real) (declare-const Y_1 Real)
    ... (assert (and (>= X_0 0.0) (<= X_0 1)))
    ... (assert (>= Y_0 1.0)) (assert (<= Y_1 (- 0.5)))''')
    >>> p.lower, p.upper, [(o.index, o.op, str(o.value)) for o in p.outputs]
    ((Fraction(0, 1),), (Fraction(1, 1),), [(0, '>=', '1'), (1, '<=', '-1/2')])
    >>> parse_vnnlib("(declare-const X_0 Real)\\n(declare-const Y_0 Real)\\n(assert (or (>= Y_0 1)))")
    Traceback (most recent call last):
    ...
    nsad.errors.VnnlibError: <string>:3: unsupported assertion 'or'; only '<=' and '>=' comparisons, possibly in one 'and'
    >>> parse_vnnlib("(declare-const X_0 Real)(assert (>= X_0 1e-999999999))", "p.vnnlib")
    Traceback (most recent call last):
    ...
    nsad.errors.LimitError: p.vnnlib:1: '1e-999999999' has 1000000000 digits (written or implied by its exponent), beyond the limit max_number_length = 4300 (...)
    """
    from nsad import limits as _limits

    lim = _limits.resolve(limits)
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    width = lim.max_layer_width
    declared = {"X": set(), "Y": set()}
    lower: dict[int, Fraction] = {}
    upper: dict[int, Fraction] = {}
    outputs: list[OutputBound] = []
    for expr in _sexprs(text, name, lim):
        head = expr.head()
        if head in _IGNORED:
            continue
        if head == "declare-const":
            if len(expr.items) != 3 or not all(isinstance(a, _Atom) for a in expr.items[1:]):
                raise VnnlibError(f"{name}:{expr.line}: expected (declare-const NAME Real)")
            var, sort = expr.items[1].text, expr.items[2].text
            m = _VAR.match(var)
            if not m:
                raise VnnlibError(f"{name}:{expr.line}: variable {var[:40]!r} is not of the form X_i or Y_j")
            if sort != "Real":
                raise VnnlibError(f"{name}:{expr.line}: variable {var} has sort {sort[:40]!r}; only Real is supported")
            if width is not None and len(m.group(2)) > len(str(width)) + 1:
                raise _limits.exceeded("max_layer_width", width, f"variable {var[:30]}... has an index of "
                                       f"{len(m.group(2))} digits", location=f"{name}:{expr.line}")
            idx = int(m.group(2))
            if width is not None and idx >= width:
                raise _limits.exceeded("max_layer_width", width, f"variable {var} has index {idx}",
                                       location=f"{name}:{expr.line}")
            if idx in declared[m.group(1)]:
                raise VnnlibError(f"{name}:{expr.line}: {var} declared twice")
            declared[m.group(1)].add(idx)
            continue
        if head != "assert":
            raise VnnlibError(f"{name}:{expr.line}: unsupported command {head if head is None else head[:40]!r}")
        if len(expr.items) != 2 or not isinstance(expr.items[1], _Node):
            raise VnnlibError(f"{name}:{expr.line}: expected (assert (OP A B))")
        for cmp in _conjuncts(expr.items[1], name):
            op = cmp.head()
            if op not in ("<=", ">="):
                raise VnnlibError(
                    f"{name}:{cmp.line}: unsupported assertion {op if op is None else op[:40]!r}; only '<=' and "
                    f"'>=' comparisons, possibly in one 'and'"
                )
            if len(cmp.items) != 3:
                raise VnnlibError(f"{name}:{cmp.line}: '{op}' needs exactly two operands")
            a, b = cmp.items[1], cmp.items[2]
            va, vb = _number(a, name, lim), _number(b, name, lim)
            if va is None and vb is None:
                raise VnnlibError(f"{name}:{cmp.line}: comparisons between two variables are not supported")
            if va is not None and vb is not None:
                raise VnnlibError(f"{name}:{cmp.line}: comparison of two constants")
            if va is None:
                var, value = a.text, vb
            else:  # c <= V  is  V >= c
                var, value = b.text, va
                op = ">=" if op == "<=" else "<="
            kind, idx = var[0], int(var[2:]) if len(var) <= 22 else -1
            if idx not in declared[kind]:
                raise VnnlibError(f"{name}:{cmp.line}: {var[:40]} is used before it is declared")
            if kind == "X":
                if op == "<=":
                    upper[idx] = min(upper.get(idx, value), value)
                else:
                    lower[idx] = max(lower.get(idx, value), value)
            else:
                outputs.append(OutputBound(idx, op, value))
    for kind in ("X", "Y"):
        got = declared[kind]
        if not got:
            raise VnnlibError(f"{name}: no {kind}_i variable is declared")
        if got != set(range(len(got))):
            missing = next(i for i in range(max(got) + 1) if i not in got)
            raise VnnlibError(f"{name}: {kind}_{missing} is not declared (indices must be 0..{max(got)})")
    n = len(declared["X"])
    unbounded = [i for i in range(n) if i not in lower or i not in upper]
    if unbounded:
        i = unbounded[0]
        side = "lower" if i not in lower else "upper"
        raise VnnlibError(f"{name}: X_{i} has no {side} bound; only box properties are supported")
    return BoxProperty(
        tuple(lower[i] for i in range(n)), tuple(upper[i] for i in range(n)), tuple(outputs), len(declared["Y"])
    )


def read_vnnlib(path, *, limits=None) -> BoxProperty:
    """Read and parse a VNN-LIB file (see ``parse_vnnlib``); its size is checked against
    ``max_text_bytes`` before it is read.

    >>> read_vnnlib("/nonexistent.vnnlib")
    Traceback (most recent call last):
    ...
    nsad.errors.VnnlibError: /nonexistent.vnnlib: no such file
    """
    from nsad import limits as _limits

    lim = _limits.resolve(limits)
    name = os.fspath(path)
    try:
        size = os.stat(name).st_size
        _limits.check("max_text_bytes", size, f"the file has {size} bytes", location=name, limits=lim)
        with _limits.open_binary(name) as fh:
            data = fh.read(size + 1)
    except OSError as exc:
        raise VnnlibError(f"{name}: {_limits.file_problem(exc)}") from None
    return parse_vnnlib(data.decode("utf-8", errors="replace"), name, limits=lim)


def is_witness(prop: BoxProperty, net, x) -> bool:
    """Exactly: ``x`` is in the box of ``prop`` and ``net``'s outputs at ``x`` meet every condition.

    ``net`` is a ``networks.ReluNetwork``; ``x``: ints, Fractions, decimal strings or floats (floats at
    their shortest repr).

    >>> from nsad.instances import Cnf
    >>> from nsad.reductions.sat_to_relu import reduce
    >>> net = reduce(Cnf(2, [(1, 2), (-1,)]))
    >>> is_witness(reduction_property(net), net, [-0.5, 0.5]), is_witness(reduction_property(net), net, [1, 1])
    (True, False)
    """
    xs = [exact_number(v, "point") for v in x]
    if len(xs) != prop.n_inputs or net.n_inputs != prop.n_inputs:
        raise VnnlibError(
            f"the point has {len(xs)} coordinates, the property {prop.n_inputs} inputs, the network {net.n_inputs}"
        )
    if net.n_outputs != prop.n_outputs:
        raise VnnlibError(f"the network has {net.n_outputs} outputs; the property declares {prop.n_outputs}")
    if any(not (l <= v <= u) for l, v, u in zip(prop.lower, xs, prop.upper)):
        return False
    y = net.evaluate_exact(xs)
    return prop.holds_at(xs, y)
