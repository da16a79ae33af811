"""to_3cnf: equisatisfiable, models map both ways, clause widths, variable numbering (property-based)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pysat.solvers import Solver

from nsad.instances import Cnf, CnfError, planted_ksat, random_ksat
from nsad.instances.families import expected_label, pigeonhole
from nsad.instances.to3cnf import Lift, to_3cnf


@st.composite
def formulas(draw, max_vars=6, max_clauses=6, max_len=8):
    n = draw(st.integers(1, max_vars))
    literal = st.integers(1, n).flatmap(lambda v: st.sampled_from([v, -v]))
    clauses = draw(st.lists(st.lists(literal, max_size=max_len), max_size=max_clauses))
    return Cnf(n, clauses)


def all_assignments(n: int) -> np.ndarray:
    return ((np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1).astype(bool)


def projected_models(cnf3: Cnf, n: int) -> np.ndarray:
    """For every assignment x of 1..n: does some y make cnf3(x, y) true? (a solver under assumptions)"""
    xs = all_assignments(n)
    out = np.zeros(len(xs), dtype=bool)
    with Solver(name="cadical195", bootstrap_with=[list(c) for c in cnf3.clauses]) as s:
        for i, x in enumerate(xs):
            out[i] = s.solve(assumptions=[v + 1 if b else -(v + 1) for v, b in enumerate(x)])
    return out


@settings(max_examples=80, deadline=None)
@given(formulas())
def test_projection_of_the_3cnf_models_is_the_original_models(cnf):
    cnf3, lift = to_3cnf(cnf)
    n = cnf.num_vars
    xs = all_assignments(n)
    original = cnf.satisfied_by(xs)
    assert (projected_models(cnf3, n) == original).all()  # so equisatisfiable, for every x
    if original.any():
        extended = lift.extend(xs[original])
        assert cnf3.satisfied_by(extended).all()
        assert (lift(extended) == xs[original]).all()


@settings(max_examples=80, deadline=None)
@given(formulas())
def test_shape_of_the_3cnf(cnf):
    cnf3, lift = to_3cnf(cnf)
    n = cnf.num_vars
    lengths = cnf.clause_lengths
    assert cnf3.max_clause_len <= 3
    assert cnf3.num_vars == n + int(np.maximum(lengths - 3, 0).sum())
    assert (lift.num_vars, lift.num_vars3) == (n, cnf3.num_vars)
    assert cnf3.num_clauses == int(np.where(lengths > 3, lengths - 2, 1).sum())
    # reading the chains back gives the original clauses, in order, over the first n variables
    rebuilt, out = [], iter(cnf3.clauses)
    for clause in cnf.clauses:
        if len(clause) <= 3:
            assert next(out) == clause
            continue
        chain = [next(out) for _ in range(len(clause) - 2)]
        originals = [l for c in chain for l in c if abs(l) <= n]
        fresh = [l for c in chain for l in c if abs(l) > n]
        assert originals == list(clause)
        assert len(set(map(abs, fresh))) == len(clause) - 3
        rebuilt.append(tuple(originals))
    assert next(out, None) is None


@settings(max_examples=40, deadline=None)
@given(formulas(max_vars=5, max_clauses=4, max_len=7))
def test_models_found_by_a_solver_lift(cnf):
    cnf3, lift = to_3cnf(cnf)
    with Solver(name="glucose4", bootstrap_with=[list(c) for c in cnf3.clauses]) as s:
        sat = s.solve()
        if sat:
            model = np.zeros(cnf3.num_vars, dtype=bool)
            raw = np.array(s.get_model(), dtype=np.int64)
            model[np.abs(raw) - 1] = raw > 0
            assert cnf.satisfied_by(lift(model))
    with Solver(name="glucose4", bootstrap_with=[list(c) for c in cnf.clauses]) as s:
        assert s.solve() == sat


def test_no_long_clause_returns_the_formula_itself():
    cnf = random_ksat(10, m=30, seed=0)
    cnf3, lift = to_3cnf(cnf)
    assert cnf3 is cnf and lift((True,) * 10) == (True,) * 10


def test_provenance_labels_and_planted_assignment_are_carried():
    cnf = planted_ksat(30, ratio=20, k=6, seed=2, index=5)
    cnf3, lift = to_3cnf(cnf)
    assert (cnf3.family, cnf3.seed, cnf3.index) == ("planted-ksat", 2, 5)
    assert cnf3.parameters["to_3cnf"] is True and cnf3.parameters["k"] == 6
    assert cnf3.satisfied_by(cnf3.planted) and lift(cnf3.planted) == cnf.planted
    php, _ = to_3cnf(pigeonhole(4))
    assert expected_label(php) == "unsat" and php.max_clause_len == 3


def test_large_formula_is_vectorised_and_correct():
    cnf = planted_ksat(500, m=4000, k=8, seed=1)
    cnf3, lift = to_3cnf(cnf)
    assert cnf3.num_vars == 500 + 4000 * 5 and cnf3.num_clauses == 4000 * 6
    assert cnf3.satisfied_by(lift.extend(cnf.planted))
    rng = np.random.default_rng(0)
    batch = rng.integers(0, 2, size=(50, 500)).astype(bool)
    assert (cnf3.satisfied_by(lift.extend(batch)) == cnf.satisfied_by(batch)).all()


def test_lift_checks_shapes_and_pickles():
    cnf3, lift = to_3cnf(Cnf(4, [(1, 2, 3, 4)]))
    with pytest.raises(CnfError, match="5 values"):
        lift([True] * 4)
    with pytest.raises(CnfError, match="4 values"):
        lift.extend([True] * 5)
    again = pickle.loads(pickle.dumps(lift))
    assert again.extend([0, 0, 1, 0]) == lift.extend([0, 0, 1, 0]) == (False, False, True, False, True)
    assert isinstance(again, Lift)
    with pytest.raises(CnfError, match="expects a Cnf"):
        to_3cnf([(1, 2, 3, 4)])
