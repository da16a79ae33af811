"""CP-SAT models of "is F - a.x nonzero at a grid point" for a simplified program (OR-Tools).

One integer variable per input and per node that the question reaches; ``max``/``min`` nodes use
``AddMaxEquality``/``AddMinEquality`` over their weighted operands (and the constant 0 for relu),
sums are linear equalities. Domains come from interval arithmetic on the box.

* Certified and monotone (class (b), or class (a) with one-signed terms, see
  :func:`solvers.network.encode_cnf.grid_question`): the program's weights are replaced by their signs
  (``phat`` of docs/theory.md section 3.4 (b); on class (a) programs this changes nothing), inputs range
  over {-1, 1} and every node over {-1, 0, 1}; one of the events ``node >= 1`` / ``node <= -1``
  must hold. Complete, by the theorems in :func:`solvers.network.simplify.certify`.
* Otherwise (class (a) with a general sum, or an uncertified program): the program as it is,
  inputs in {-1, 0, 1}, and the constraint ``D (F(x) - a.x) != 0`` (``D`` clears denominators).
  Complete for class (a); for an uncertified program only a found point means something (the
  grid is not enough in general: docs/theory.md section 3's counterexample).

>>> from nsad.networks import ReluNetwork
>>> from nsad.solvers.network.simplify import simplify, certify
>>> p = simplify(ReluNetwork([[[1, -1], [0, 1], [0, -1]], [[1, 1, -1]], [[1]]]))  # relu(max(x1, x2))
>>> m = build_cpsat_grid(p, certify(p))
>>> m.mode, m.solve().status, m.solve().point in [(1, 1), (1, -1), (-1, 1)]
('sign', 'found', True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import lcm
from typing import Sequence

import numpy as np

from nsad.solvers.network.program import MAX, SUM, Program
from nsad.solvers.network.simplify import GridClass
from nsad.solvers.network.encode_cnf import SIGN, TERNARY, EncodingError, grid_question

__all__ = ["CpGridModel", "CpResult", "build_cpsat_grid"]

_DOMAIN_LIMIT = 2**52


@dataclass(frozen=True)
class CpResult:
    """``status``: ``"found"`` (``point`` is a grid witness), ``"none"`` (proved: no grid point) or
    ``"limit"`` (time limit or solver failure, ``message`` says which)."""

    status: str
    point: tuple | None = None
    seconds: float = 0.0
    message: str = ""


@dataclass
class CpGridModel:
    """A built CP-SAT model; ``solve`` may be called more than once."""

    model: object
    x: list
    mode: str
    stats: dict = field(default_factory=dict)

    def solve(self, time_limit: float | None = None, workers: int = 1, seed: int = 0) -> CpResult:
        from ortools.sat.python import cp_model

        solver = cp_model.CpSolver()
        solver.parameters.num_workers = int(workers)
        solver.parameters.random_seed = int(seed) % (2**31)
        if time_limit is not None:
            solver.parameters.max_time_in_seconds = max(float(time_limit), 1e-3)
        status = solver.solve(self.model)
        secs = solver.wall_time
        name = solver.status_name(status)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return CpResult("found", tuple(int(solver.value(v)) for v in self.x), secs, name)
        if status == cp_model.INFEASIBLE:
            return CpResult("none", None, secs, name)
        return CpResult("limit", None, secs, name)


def _bounds(p: Program, weights: np.ndarray, lo_in: int) -> tuple[list, list]:
    """Interval bounds of every id on the box (inputs in [lo_in, 1]), exact Python ints."""
    n = p.n_inputs
    lo = [lo_in] * n + [0] * p.n_nodes
    hi = [1] * n + [0] * p.n_nodes
    ptr, args = p.ptr.tolist(), p.args.tolist()
    w = weights.tolist()
    kinds, zero = p.kinds.tolist(), p.zero.tolist()
    for k in range(p.n_nodes):
        ls, hs = [], []
        for j in range(ptr[k], ptr[k + 1]):
            a, c = args[j], w[j]
            ls.append(c * lo[a] if c > 0 else c * hi[a])
            hs.append(c * hi[a] if c > 0 else c * lo[a])
        if kinds[k] == SUM:
            L, H = sum(ls), sum(hs)
        else:
            if zero[k]:
                ls.append(0)
                hs.append(0)
            f = max if kinds[k] == MAX else min
            L, H = f(ls), f(hs)
        lo[n + k], hi[n + k] = L, H
    return lo, hi


def _reach(p: Program, roots: Sequence[int]) -> np.ndarray:
    """Ids the given roots depend on (bool mask)."""
    n = p.n_inputs
    need = np.zeros(n + p.n_nodes, dtype=bool)
    need[list(roots)] = True
    for k in range(p.n_nodes - 1, -1, -1):
        if need[n + k]:
            need[p.args[p.ptr[k]:p.ptr[k + 1]]] = True
    return need


def build_cpsat_grid(p: Program, grid: GridClass | None, a: Sequence | None = None) -> CpGridModel:
    """The CP-SAT model of the module docstring. ``a`` (exact ``F(e_i)``) is required unless the
    question is monotone (class (b), or class (a) with one-signed terms).

    >>> from nsad.solvers.network.program import ProgramBuilder
    >>> b = ProgramBuilder(2)                       # relu(min(2 x2 - x1, x1 - x2)): not certified
    >>> bad = b.relu(b.min([(1, b.sum([(2, 1), (-1, 0)])), (1, b.sum([(1, 0), (-1, 1)]))]))
    >>> m = build_cpsat_grid(b.build(bad), None, a=(0, 0))
    >>> m.mode, m.solve().status                    # no grid point, but the grid is not enough here
    ('exact', 'none')
    """
    from ortools.sat.python import cp_model

    n = p.n_inputs
    mode, payload = "exact", None
    if grid is not None:
        mode, payload, _ = grid_question(p, grid, a)
        if mode == "linear":
            mode, payload = "exact", None
    model = cp_model.CpModel()
    if mode == SIGN:
        weights = np.sign(p.coefs)
        lo, hi = _bounds(p, weights, -1)
        x = [model.new_int_var_from_domain(cp_model.Domain.from_values([-1, 1]), f"x{i + 1}") for i in range(n)]
        roots = [node for node, _ in payload]
    else:
        if a is None:
            raise EncodingError("this question needs the axis values a_i = F(e_i)")
        weights = p.coefs
        lo, hi = _bounds(p, weights, -1)
        x = [model.new_int_var(-1, 1, f"x{i + 1}") for i in range(n)]
        roots = [p.root]
    if max(max(map(abs, lo)), max(map(abs, hi))) >= _DOMAIN_LIMIT:
        raise EncodingError("node values on the box exceed the CP-SAT domain limit")
    need = _reach(p, roots)
    var: list = list(x) + [None] * p.n_nodes
    ptr, args = p.ptr.tolist(), p.args.tolist()
    w = weights.tolist()
    kinds, zero = p.kinds.tolist(), p.zero.tolist()
    for k in np.flatnonzero(need[n:]).tolist():
        i = n + k
        terms = [w[j] * var[args[j]] for j in range(ptr[k], ptr[k + 1])]
        v = model.new_int_var(int(lo[i]), int(hi[i]), f"t{k}")
        if kinds[k] == SUM:
            model.add(v == sum(terms))
        else:
            if zero[k]:
                terms.append(0)
            if kinds[k] == MAX:
                model.add_max_equality(v, terms)
            else:
                model.add_min_equality(v, terms)
        var[i] = v
    stats = {"nodes": int(need[n:].sum()), "mode": mode}
    if mode == SIGN:
        lits = []
        for node, pol in payload:
            y = model.new_bool_var("")
            if pol > 0:
                model.add(var[node] >= 1).only_enforce_if(y)
            else:
                model.add(var[node] <= -1).only_enforce_if(y)
            lits.append(y)
        model.add_bool_or(lits)
    else:
        scale = Fraction(p.scale)
        fa = [Fraction(v) for v in a]
        D = lcm(scale.denominator, *[f.denominator for f in fa])
        g = int(scale * D) * var[p.root] - sum(int(f * D) * x[i] for i, f in enumerate(fa) if f)
        model.add(g != 0)
    return CpGridModel(model, x, SIGN if mode == SIGN else ("ternary" if mode == TERNARY else "exact"), stats)
