"""Straight-line programs over {+, -, relu, max, min}: the value the exact simplifier produces.

A :class:`Program` is a DAG over the inputs ``x_1 .. x_n`` (ids ``0 .. n-1``) and nodes (ids
``n .. n + K - 1``, in topological order: a node's operands have smaller ids). Every node has a
*kind* and a list of weighted operands ``(c_j, id_j)`` with integer weights ``c_j != 0``:

* ``SUM``: ``sum_j c_j v(id_j)`` (no operand: the constant 0);
* ``MAX``: ``max_j c_j v(id_j)``; with ``zero=True`` the constant 0 is one more operand, so
  ``relu(p)`` is ``MAX((1, p); zero)``;
* ``MIN``: ``min_j c_j v(id_j)`` (``zero=True`` adds the operand 0).

The function is ``F(x) = scale * v(root)``, ``scale`` a positive ``Fraction`` (weights stay
integers; a network with dyadic float weights is simplified over integers and the factor lands
here). ``root`` is any id (an input id makes ``F`` a scaled coordinate). Every such program is
positively homogeneous, like a bias-free ReLU network.

Exact evaluation uses int64 when a bound proves that no intermediate value can overflow and
Python integers otherwise; rational points are scaled to integer points (``F(p/q) = F(p)/q``).
Evaluation is vectorised by *levels* (longest path from the inputs): one gather and one segmented
reduction per level and kind, whatever the number of nodes.

Rendering (``str(program)``) numbers inputs from 1 (``x1 .. xn``, as DIMACS variables) and names
nodes used more than once ``t1, t2, ...``.

>>> b = ProgramBuilder(2)
>>> m = b.max([(1, 0), (-1, 1)])                  # max(x1, -x2)
>>> r = b.relu(b.min([(1, m), (1, 1)]))           # relu(min(max(x1, -x2), x2))
>>> p = b.build(r)
>>> str(p)
'relu(min(max(x1, -x2), x2))'
>>> p.evaluate_exact([3, 2]), p.evaluate_exact([[1, -1], [Fraction(1, 2), 1]])
(2, (0, Fraction(1, 2)))
"""

from __future__ import annotations

from nsad.errors import NsadError
from nsad.networks.exact import INT64_SAFE, exact

import math
from fractions import Fraction
from numbers import Rational
from typing import Iterable, Sequence

import numpy as np

__all__ = ["SUM", "MAX", "MIN", "KIND_NAMES", "Program", "ProgramBuilder", "ProgramError"]

SUM, MAX, MIN = 0, 1, 2
KIND_NAMES = ("sum", "max", "min")


class ProgramError(NsadError):
    """A malformed program (bad ids, order, weights) or a bad evaluation point."""


def _ro(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


def _as_number(v):
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(float(v)):
            raise ProgramError("points must be finite")
        return Fraction(float(v))
    if isinstance(v, Rational):
        return Fraction(v)
    if isinstance(v, str):
        try:
            return Fraction(v)
        except (ValueError, ZeroDivisionError):
            raise ProgramError(f"not a rational number: {v!r}") from None
    raise ProgramError(f"coordinates must be integers or rationals, got {type(v).__name__}")




class Program:
    """An immutable DAG program (see the module docstring for the conventions).

    ``kinds`` (int8, ``SUM``/``MAX``/``MIN``), ``zero`` (bool), ``ptr`` (CSR pointer, length
    ``K + 1``), ``args`` and ``coefs`` (int64, one entry per operand) describe the ``K`` nodes;
    ``root`` is the output id and ``scale`` a positive rational factor.

    >>> Program(1, [MAX], [True], [0, 1], [0], [1], root=1)      # relu(x1)
    Program(n_inputs=1, nodes=1, operands=1, depth=1)
    >>> Program(1, [MAX], [False], [0, 1], [1], [1], root=1)
    Traceback (most recent call last):
    ...
    nsad.solvers.network.program.ProgramError: node 1 uses id 1, which is not an earlier id
    """

    __slots__ = ("_n", "_kinds", "_zero", "_ptr", "_args", "_coefs", "_root", "_scale", "_cache", "__weakref__")

    def __init__(self, n_inputs: int, kinds, zero, ptr, args, coefs, root: int, scale=1):
        n = int(n_inputs)
        if n < 1:
            raise ProgramError("a program needs at least one input")
        kinds = np.asarray(kinds, dtype=np.int8).reshape(-1)
        K = kinds.size
        zero = np.asarray(zero, dtype=bool).reshape(-1)
        ptr = np.asarray(ptr, dtype=np.int64).reshape(-1)
        args = np.asarray(args, dtype=np.int64).reshape(-1)
        try:
            coefs = np.asarray(coefs, dtype=np.int64).reshape(-1)
        except OverflowError:
            raise ProgramError("operand weights must fit in int64") from None
        if zero.size != K or ptr.size != K + 1 or ptr[0] != 0 or ptr[-1] != args.size or args.size != coefs.size:
            raise ProgramError("node arrays have inconsistent lengths")
        if np.any(np.diff(ptr) < 0):
            raise ProgramError("ptr must be nondecreasing")
        if K and (kinds.min() < 0 or kinds.max() > 2):
            raise ProgramError("node kinds must be SUM (0), MAX (1) or MIN (2)")
        owner = np.repeat(np.arange(n, n + K, dtype=np.int64), np.diff(ptr))
        bad = np.flatnonzero((args < 0) | (args >= owner))
        if bad.size:
            raise ProgramError(f"node {int(owner[bad[0]])} uses id {int(args[bad[0]])}, which is not an earlier id")
        if np.any(coefs == 0):
            raise ProgramError("operand weights must be nonzero")
        counts = np.diff(ptr)
        empty_lattice = (kinds != SUM) & (counts == 0) & ~zero
        if np.any(empty_lattice):
            raise ProgramError(f"max/min node {n + int(np.flatnonzero(empty_lattice)[0])} has no operand")
        if np.any(zero & (kinds == SUM)):
            raise ProgramError("the zero flag belongs to max/min nodes only")
        root = int(root)
        if not 0 <= root < n + K:
            raise ProgramError(f"root {root} is not an id of the program")
        scale = Fraction(scale)
        if scale <= 0:
            raise ProgramError("scale must be positive")
        for name, val in (("_n", n), ("_kinds", _ro(kinds)), ("_zero", _ro(zero)), ("_ptr", _ro(ptr)),
                          ("_args", _ro(args)), ("_coefs", _ro(coefs)), ("_root", root), ("_scale", scale),
                          ("_cache", {})):
            object.__setattr__(self, name, val)

    def __setattr__(self, name, value):
        raise AttributeError("Program is immutable")

    def __reduce__(self):
        return (Program, (self._n, self._kinds, self._zero, self._ptr, self._args, self._coefs, self._root, self._scale))

    # -- shape facts --------------------------------------------------------------------------------
    n_inputs = property(lambda self: self._n)
    kinds = property(lambda self: self._kinds)
    zero = property(lambda self: self._zero)
    ptr = property(lambda self: self._ptr)
    args = property(lambda self: self._args)
    coefs = property(lambda self: self._coefs)
    root = property(lambda self: self._root)
    scale = property(lambda self: self._scale)

    @property
    def n_nodes(self) -> int:
        return int(self._kinds.size)

    @property
    def n_operands(self) -> int:
        return int(self._args.size)

    def operands(self, node: int) -> tuple:
        """The ``(weight, id)`` operands of node ``node`` (an id ``>= n_inputs``).

        >>> ProgramBuilder(2).build_max([(1, 0), (-1, 1)]).operands(2)
        ((1, 0), (-1, 1))
        """
        k = int(node) - self._n
        if not 0 <= k < self.n_nodes:
            raise ProgramError(f"{node} is not a node id")
        lo, hi = int(self._ptr[k]), int(self._ptr[k + 1])
        return tuple(zip(self._coefs[lo:hi].tolist(), self._args[lo:hi].tolist()))

    def kind(self, node: int) -> str:
        """``'input'``, ``'sum'``, ``'max'`` or ``'min'``."""
        node = int(node)
        return "input" if node < self._n else KIND_NAMES[int(self._kinds[node - self._n])]

    @property
    def levels(self) -> np.ndarray:
        """Level of every id: 0 for inputs, ``1 + max(level of operands)`` for nodes (read-only)."""
        if "levels" not in self._cache:
            n, K = self._n, self.n_nodes
            lev = np.zeros(n + K, dtype=np.int64)
            counts = np.diff(self._ptr)
            has = counts > 0
            starts = self._ptr[:-1][has]
            for _ in range(K + 1):
                new = np.ones(K, dtype=np.int64)
                if self._args.size:
                    new[has] = 1 + np.maximum.reduceat(lev[self._args], starts)
                if np.array_equal(new, lev[n:]):
                    break
                lev[n:] = new
            self._cache["levels"] = _ro(lev)
        return self._cache["levels"]

    @property
    def depth(self) -> int:
        return int(self.levels[self._root])

    def describe(self) -> dict:
        """Size facts as a JSON-ready dict.

        >>> ProgramBuilder(2).build_max([(1, 0), (-1, 1)]).describe()
        {'inputs': 2, 'nodes': 1, 'operands': 2, 'depth': 1, 'kinds': {'sum': 0, 'max': 1, 'min': 0}}
        """
        counts = np.bincount(self._kinds, minlength=3) if self.n_nodes else np.zeros(3, dtype=np.int64)
        return {
            "inputs": self._n,
            "nodes": self.n_nodes,
            "operands": self.n_operands,
            "depth": self.depth,
            "kinds": {name: int(c) for name, c in zip(KIND_NAMES, counts)},
        }

    def __repr__(self) -> str:
        return f"Program(n_inputs={self._n}, nodes={self.n_nodes}, operands={self.n_operands}, depth={self.depth})"

    # -- evaluation ---------------------------------------------------------------------------------
    def _plan(self):
        """Per level and kind: the nodes, the flat operand positions and the segment starts."""
        if "plan" not in self._cache:
            n, K = self._n, self.n_nodes
            lev = self.levels[n:]
            counts = np.diff(self._ptr)
            plan = []
            if K:
                for L in range(1, int(lev.max()) + 1):
                    at = np.flatnonzero(lev == L)
                    for kind in (SUM, MAX, MIN):
                        nodes = at[self._kinds[at] == kind]
                        if not nodes.size:
                            continue
                        c = counts[nodes]
                        has = c > 0
                        total = int(c.sum())
                        seg = np.zeros(nodes.size, dtype=np.int64)
                        np.cumsum(c[:-1], out=seg[1:])
                        pos = np.arange(total, dtype=np.int64) - np.repeat(seg - self._ptr[nodes], c)
                        plan.append((kind, nodes + n, pos, seg[has], has, self._zero[nodes]))
            self._cache["plan"] = plan
        return self._cache["plan"]

    def _bound(self) -> float:
        """An upper bound on ``|v(id)| / max|x|`` over all ids (float, rounded up generously)."""
        if "bound" not in self._cache:
            b = np.ones(self._n + self.n_nodes, dtype=np.float64)
            absw = np.abs(self._coefs.astype(np.float64))
            for kind, nodes, pos, starts, has, _ in self._plan():
                vals = np.zeros(nodes.size)
                if pos.size:
                    contrib = absw[pos] * b[self._args[pos]]
                    red = np.add.reduceat(contrib, starts) if kind == SUM else np.maximum.reduceat(contrib, starts)
                    vals[has] = red
                b[nodes] = vals * (1 + 1e-9) + 1e-9
            self._cache["bound"] = float(b.max()) if b.size else 1.0
        return self._cache["bound"]

    def _run(self, X: np.ndarray) -> np.ndarray:
        """Values of every id at the columns of ``X`` (shape ``(n, b)``), in ``X``'s dtype."""
        b = X.shape[1]
        V = np.zeros((self._n + self.n_nodes, b), dtype=X.dtype)
        V[: self._n] = X
        coefs = self._coefs if X.dtype != object else self._coefs.astype(object)
        for kind, nodes, pos, starts, has, zero in self._plan():
            out = np.zeros((nodes.size, b), dtype=X.dtype)
            if pos.size:
                contrib = coefs[pos][:, None] * V[self._args[pos]]
                ufunc = np.add if kind == SUM else np.maximum if kind == MAX else np.minimum
                out[has] = ufunc.reduceat(contrib, starts, axis=0)
            if kind != SUM and zero.any():
                z = np.flatnonzero(zero)
                only_zero = z[~has[z]]
                out[only_zero] = 0
                mixed = z[has[z]]
                if mixed.size:
                    out[mixed] = np.maximum(out[mixed], 0) if kind == MAX else np.minimum(out[mixed], 0)
            V[nodes] = out
        return V

    def evaluate(self, X) -> np.ndarray | float:
        """Float evaluation; ``X`` of shape ``(n,)`` (returns a float) or ``(b, n)`` (returns ``(b,)``).

        >>> ProgramBuilder(1).build_max([(1, 0)], zero=True).evaluate([[-2.0], [3.5]])
        array([0. , 3.5])
        """
        X = np.asarray(X, dtype=np.float64)
        single = X.ndim == 1
        X2 = X[None, :] if single else X
        if X2.ndim != 2 or X2.shape[1] != self._n:
            raise ProgramError(f"points must have {self._n} coordinates, got shape {np.shape(X)}")
        out = self._run(np.ascontiguousarray(X2.T))[self._root] * float(self._scale)
        return float(out[0]) if single else out

    __call__ = evaluate

    def evaluate_exact(self, X):
        """Exact values at one point (ints/Fractions/floats/strings; returns an int or a Fraction) or at a
        batch of points (returns a tuple).

        >>> p = ProgramBuilder(2).build_max([(2, 0), (-3, 1)])       # max(2 x1, -3 x2)
        >>> p.evaluate_exact([Fraction(1, 3), -1]), p.evaluate_exact([[1, 1], [0, 0]])
        (3, (2, 0))
        """
        P, q, single = self._integer_points(X)
        bound = self._bound() * (float(np.max(np.abs(P))) if P.dtype != object and P.size else 1.0)
        if P.dtype != object and bound < INT64_SAFE / 4:
            vals = self._run(np.ascontiguousarray(P.T))[self._root].tolist()
        else:
            Po = np.array([[int(v) for v in row] for row in P.tolist()], dtype=object).reshape(P.shape)
            vals = list(self._run(np.ascontiguousarray(Po.T))[self._root])
        out = tuple(exact(Fraction(int(v)) * self._scale / qi) for v, qi in zip(vals, q))
        return out[0] if single else out

    def _integer_points(self, X):
        """Integer points ``P`` (int64 when small, object otherwise) and per-point denominators."""
        if isinstance(X, np.ndarray) and X.dtype.kind in "iu" and X.ndim in (1, 2):
            single = X.ndim == 1
            P = X.reshape(1, -1) if single else X
            if P.shape[1] != self._n:
                raise ProgramError(f"points must have {self._n} coordinates, got shape {X.shape}")
            return P.astype(np.int64), [1] * P.shape[0], single
        rows = X.tolist() if isinstance(X, np.ndarray) else list(X)
        single = not rows or not isinstance(rows[0], (list, tuple, np.ndarray))
        if single:
            rows = [rows]
        ints, qs = [], []
        for row in rows:
            row = list(row)
            if len(row) != self._n:
                raise ProgramError(f"points must have {self._n} coordinates, got {len(row)}")
            vals = [_as_number(v) for v in row]
            q = math.lcm(*[v.denominator for v in vals if isinstance(v, Fraction)]) if any(
                isinstance(v, Fraction) for v in vals) else 1
            ints.append([int(v * q) for v in vals])
            qs.append(q)
        big = any(abs(v) >= INT64_SAFE for r in ints for v in r)
        P = np.array(ints, dtype=object if big else np.int64).reshape(len(ints), self._n)
        return P, qs, single

    def linearize(self, x) -> tuple:
        """Exact ``(value, gradient)`` at one point; ``gradient`` is ``None`` when the program has a
        kink there (a max/min whose extreme operands have different gradients).

        Only the active part of the DAG is visited (for a max/min, the operands attaining it), so a
        gradient costs about one evaluation. Program genericity is necessary, not sufficient, for
        genericity of a network the program came from (the network may have more kinks): check
        certificates on the network.

        >>> p = ProgramBuilder(2).build_max([(1, 0), (-1, 1)], zero=True)   # max(x1, -x2, 0)
        >>> p.linearize([3, 1]), p.linearize([-1, 1]), p.linearize([2, -2])
        ((3, (1, 0)), (0, (0, 0)), (2, None))
        """
        P, q, single = self._integer_points(x)
        if not single:
            raise ProgramError("linearize takes one point")
        bound = self._bound() * (float(np.max(np.abs(P))) if P.dtype != object and P.size else 1.0)
        if P.dtype == object or bound >= INT64_SAFE / 4:
            P = np.array([[int(v) for v in P[0]]], dtype=object)
        V = self._run(np.ascontiguousarray(P.T))[:, 0].tolist()
        n = self._n
        kinds, zero, ptr = self._kinds.tolist(), self._zero.tolist(), self._ptr.tolist()
        args, coefs = self._args.tolist(), self._coefs.tolist()
        grads: dict = {}
        KINK = object()
        stack = [self._root]
        while stack:
            i = stack[-1]
            if i in grads:
                stack.pop()
                continue
            if i < n:
                grads[i] = {i: 1}
                stack.pop()
                continue
            k = i - n
            lo, hi = ptr[k], ptr[k + 1]
            kind = kinds[k]
            if kind == SUM:
                need = args[lo:hi]
            else:
                vals = [c * V[a] for c, a in zip(coefs[lo:hi], args[lo:hi])]
                best = (max if kind == MAX else min)(vals + ([0] if zero[k] else []))
                need = [a for a, v in zip(args[lo:hi], vals) if v == best]
            missing = [a for a in need if a not in grads]
            if missing:
                stack.extend(missing)
                continue
            stack.pop()
            if kind == SUM:
                g: dict = {}
                for c, a in zip(coefs[lo:hi], args[lo:hi]):
                    ga = grads[a]
                    if ga is KINK:
                        g = KINK
                        break
                    for j, v in ga.items():
                        g[j] = g.get(j, 0) + c * v
                grads[i] = g if g is KINK else {j: v for j, v in g.items() if v}
                continue
            cands = [(c, a) for c, a in zip(coefs[lo:hi], args[lo:hi]) if c * V[a] == best]
            options = [{} for _ in range(1 if zero[k] and best == 0 else 0)]
            for c, a in cands:
                ga = grads[a]
                options.append(KINK if ga is KINK else {j: c * v for j, v in ga.items()})
            first = options[0]
            grads[i] = first if all(o is not KINK and o == first for o in options) else KINK
        g = grads[self._root]
        value = exact(Fraction(int(V[self._root])) * self._scale / q[0])
        if g is KINK:
            return value, None
        grad = [0] * n
        for j, v in g.items():
            grad[j] = exact(self._scale * v)
        return value, tuple(grad)

    # -- rendering ---------------------------------------------------------------------------------
    def to_text(self, max_chars: int = 2000) -> str:
        """An expression for the program; nodes used more than once are named ``t1, t2, ...`` and
        defined first. Long programs are cut at ``max_chars`` with ``...``.

        >>> b = ProgramBuilder(2)
        >>> m = b.max([(1, 0), (1, 1)])
        >>> print(b.build(b.sum([(1, m), (-1, m), (2, 0)])).to_text())
        t1 = max(x1, x2)
        t1 - t1 + 2*x1
        """
        n = self._n
        uses = np.bincount(self._args, minlength=n + self.n_nodes) if self._args.size else np.zeros(n + self.n_nodes, np.int64)
        names: dict[int, str] = {}
        lines: list[str] = []
        budget = [max_chars]
        memo: dict[int, str] = {}

        def term(c: int, s: str, first: bool) -> str:
            if c == 1:
                return s if first else f" + {s}"
            if c == -1:
                return f"-{s}" if first else f" - {s}"
            if first:
                return f"{c}*{s}"
            return f" + {c}*{s}" if c > 0 else f" - {-c}*{s}"

        def expr(i: int) -> str:
            if i < n:
                return f"x{i + 1}"
            if i in names:
                return names[i]
            if i in memo:
                return memo[i]
            if budget[0] <= 0:
                return "..."
            k = i - n
            ops = self.operands(i)
            kind = int(self._kinds[k])
            if kind == SUM:
                s = "".join(term(c, expr(a), j == 0) for j, (c, a) in enumerate(ops)) or "0"
            else:
                parts = [term(c, expr(a), True) for c, a in ops]
                if kind == MAX and self._zero[k] and len(parts) == 1:
                    s = f"relu({parts[0]})"
                else:
                    if self._zero[k]:
                        parts.append("0")
                    s = f"{KIND_NAMES[kind]}({', '.join(parts)})"
            budget[0] -= len(s)
            memo[i] = s
            return s

        for i in range(n, n + self.n_nodes):
            if uses[i] > 1 and i != self._root and budget[0] > 0:
                s = expr(i)
                names[i] = f"t{len(names) + 1}"
                lines.append(f"{names[i]} = {s}")
        out = expr(self._root)
        if self._scale != 1:
            out = f"{self._scale} * ({out})"
        lines.append(out)
        text = "\n".join(lines)
        return text if len(text) <= max_chars else text[:max_chars] + " ..."

    def __str__(self) -> str:
        return self.to_text()


class ProgramBuilder:
    """Build a :class:`Program` node by node (hand-written programs: tests, examples).

    Methods return the new node's id; operands are ``(weight, id)`` pairs; ids ``0..n-1`` are the
    inputs.

    >>> b = ProgramBuilder(3)
    >>> c = b.max([(1, 0), (-1, 1), (1, 2)])
    >>> str(b.build(b.relu(c), scale=Fraction(1, 2)))
    '1/2 * (relu(max(x1, -x2, x3)))'
    """

    def __init__(self, n_inputs: int):
        self.n = int(n_inputs)
        self._kinds: list[int] = []
        self._zero: list[bool] = []
        self._ptr: list[int] = [0]
        self._args: list[int] = []
        self._coefs: list[int] = []

    def _add(self, kind: int, ops: Iterable, zero: bool) -> int:
        ops = list(ops)
        for c, a in ops:
            self._coefs.append(int(c))
            self._args.append(int(a))
        self._kinds.append(kind)
        self._zero.append(bool(zero))
        self._ptr.append(len(self._args))
        return self.n + len(self._kinds) - 1

    def sum(self, ops: Iterable) -> int:
        return self._add(SUM, ops, False)

    def max(self, ops: Iterable, zero: bool = False) -> int:
        return self._add(MAX, ops, zero)

    def min(self, ops: Iterable, zero: bool = False) -> int:
        return self._add(MIN, ops, zero)

    def relu(self, node: int, weight: int = 1) -> int:
        return self._add(MAX, [(weight, node)], True)

    def build(self, root: int, scale=1) -> Program:
        return Program(self.n, self._kinds, self._zero, self._ptr, self._args, self._coefs, root, scale)

    def build_max(self, ops: Sequence, zero: bool = False) -> Program:
        """A one-node program ``max(ops)`` (a shortcut for examples)."""
        return self.build(self.max(ops, zero))
