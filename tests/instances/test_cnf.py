"""The Cnf value: validation, storage, equality, immutability, evaluation."""

from __future__ import annotations

import itertools
import pickle
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsad.instances import Cnf, CnfError


def reference_satisfied(clauses, assignment) -> bool:
    """Obviously-correct pure-Python evaluation."""
    return all(any(assignment[abs(l) - 1] == (l > 0) for l in clause) for clause in clauses)


@st.composite
def formulas(draw, max_vars=6, max_clauses=8, max_len=4):
    n = draw(st.integers(1, max_vars))
    lit = st.integers(1, n).flatmap(lambda v: st.sampled_from((v, -v)))
    clauses = draw(st.lists(st.lists(lit, max_size=max_len), max_size=max_clauses))
    return n, clauses


# ----------------------------------------------------------------------------------- construction
def test_storage_layout_and_python_ints():
    cnf = Cnf(4, [[1, -2, 3], [], (np.int64(-4),), range(1, 3)])
    assert cnf.literals.tolist() == [1, -2, 3, -4, 1, 2]
    assert cnf.offsets.tolist() == [0, 3, 3, 4, 6]
    assert cnf.literals.dtype == np.int64 and cnf.offsets.dtype == np.int64
    assert cnf.clauses == ((1, -2, 3), (), (-4,), (1, 2))
    assert all(type(l) is int for c in cnf.clauses for l in c)
    assert cnf.num_clauses == len(cnf) == 4
    assert cnf.clause_lengths.tolist() == [3, 0, 1, 2]
    assert cnf.max_clause_len == 3 and cnf.max_variable == 4
    assert list(cnf) == list(cnf.clauses) and cnf[2] == (-4,)


def test_empty_formula():
    cnf = Cnf(1, [])
    assert cnf.num_clauses == 0 and cnf.max_clause_len == 0 and cnf.max_variable == 0
    assert cnf.offsets.tolist() == [0] and cnf.clauses == ()
    assert cnf.satisfied_by([False]) and cnf.satisfied_by([True])


def test_empty_clause_makes_unsat():
    cnf = Cnf(2, [(1,), ()])
    assert not any(cnf.satisfied_by(a) for a in itertools.product([False, True], repeat=2))


def test_declared_num_vars_kept():
    assert Cnf(10, [(1, 2)]).num_vars == 10


@pytest.mark.parametrize(
    "num_vars, clauses, message",
    [
        (0, [], "num_vars must be >= 1"),
        (-1, [], "num_vars must be >= 1"),
        (True, [], "num_vars must be an integer"),
        (2.0, [], "num_vars must be an integer"),
        ("3", [], "num_vars must be an integer"),
        (2, [(1, 0)], "literal 0 in clause 0"),
        (2, [(1,), (3,)], "literal 3 in clause 1 is out of range"),
        (2, [(-3,)], "literal -3 in clause 0 is out of range"),
        (2, [(1.0,)], "literals must be nonzero integers, got 1.0"),
        (2, [(True,)], "literals must be nonzero integers, got True"),
        (2, [(1, True)], "literals must be nonzero integers, got True"),
        (2, [(Fraction(1),)], "literals must be nonzero integers"),
        (2, ["12"], "literals must be nonzero integers, got '1'"),
        (2, "12", "not a string"),
        (2, [1, 2], "iterable of iterables"),
        (2, 5, "iterable of iterables"),
        (2, [(2**70,)], "out of range"),
        (2, [(None,)], "literals must be nonzero integers, got None"),
    ],
)
def test_invalid_values_raise_cnf_error(num_vars, clauses, message):
    with pytest.raises(CnfError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Cnf(num_vars, clauses)


def test_cnf_error_is_value_error():
    assert issubclass(CnfError, ValueError)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"comments": ("two\nlines",)}, "one line"),
        ({"comments": ("cr\r",)}, "one line"),
        ({"comments": (3,)}, "comments must be strings"),
        ({"family": ""}, "family must be"),
        ({"family": " padded"}, "family must be"),
        ({"family": 3}, "family must be"),
        ({"parameters": [("n", 3)]}, "parameters must be a mapping"),
        ({"parameters": {1: 3}}, "parameter names must be strings"),
        ({"seed": -1}, "seed must be >= 0"),
        ({"seed": 1.5}, "seed must be an integer"),
        ({"index": -2}, "index must be >= 0"),
        ({"planted": (True,)}, "must have 2 entries"),
        ({"planted": (False, False)}, "does not satisfy"),
        ({"planted": (2, 0)}, "bools"),
    ],
)
def test_invalid_provenance(kwargs, message):
    with pytest.raises(CnfError, match=message):
        Cnf(2, [(1, 2)], **kwargs)


def test_from_arrays():
    cnf = Cnf.from_arrays(3, np.array([1, -2, 3], dtype=np.int32), [0, 1, 1, 3])
    assert cnf == Cnf(3, [(1,), (), (-2, 3)])
    assert cnf.literals.dtype == np.int64


@pytest.mark.parametrize(
    "literals, offsets, message",
    [
        ([1, 2], [0, 1], "offsets must be nondecreasing"),
        ([1, 2], [1, 2], "offsets must be nondecreasing"),
        ([1, 2], [0, 2, 1, 2], "offsets must be nondecreasing"),
        ([1, 2], [], "offsets must be nondecreasing"),
        ([1.0, 2.0], [0, 2], "integer dtype"),
        ([[1, 2]], [0, 2], "one-dimensional"),
        ([1, 4], [0, 2], "literal 4 in clause 0 is out of range"),
        ([1, 0], [0, 1, 2], "literal 0 in clause 1"),
        (np.array([2**64 - 1], dtype=np.uint64), [0, 1], "beyond int64"),
    ],
)
def test_from_arrays_validation(literals, offsets, message):
    with pytest.raises(CnfError, match=message):
        Cnf.from_arrays(3, literals, offsets)


def test_from_arrays_copies_its_input():
    lits = np.array([1, 2], dtype=np.int64)
    cnf = Cnf.from_arrays(2, lits, np.array([0, 2]))
    lits[0] = -1
    assert cnf.clauses == ((1, 2),)


# ----------------------------------------------------------------------------------- immutability
def test_arrays_are_read_only_and_attributes_frozen():
    cnf = Cnf(2, [(1, 2)], parameters={"n": 2})
    with pytest.raises(ValueError):
        cnf.literals[0] = 2
    with pytest.raises(ValueError):
        cnf.offsets[0] = 1
    with pytest.raises(AttributeError):
        cnf.num_vars = 3
    with pytest.raises(AttributeError):
        cnf.anything = 3
    with pytest.raises(AttributeError):
        del cnf.num_vars
    with pytest.raises(TypeError):
        cnf.parameters["n"] = 3


def test_parameters_are_copied():
    params = {"n": 2}
    cnf = Cnf(2, [], parameters=params)
    params["n"] = 5
    assert cnf.parameters == {"n": 2}


def test_pickle_round_trip_keeps_everything_read_only():
    cnf = Cnf(3, [(1, -2), (3,)], comments=("x",), family="toy", parameters={"a": 1}, seed=4, index=2,
              planted=(True, True, True))
    back = pickle.loads(pickle.dumps(cnf))
    assert back == cnf and hash(back) == hash(cnf)
    assert (back.comments, back.family, dict(back.parameters), back.seed, back.index, back.planted) == (
        ("x",), "toy", {"a": 1}, 4, 2, (True, True, True))
    assert not back.literals.flags.writeable and not back.offsets.flags.writeable


# --------------------------------------------------------------------------------- equality, hash
def test_equality_ignores_provenance_but_not_num_vars_or_order():
    a = Cnf(3, [(1, 2), (-3,)])
    assert a == Cnf(3, [(1, 2), (-3,)], comments=("c",), family="f", parameters={"x": 1}, seed=1)
    assert hash(a) == hash(Cnf(3, [[1, 2], [-3]], seed=9))
    assert a != Cnf(4, [(1, 2), (-3,)])
    assert a != Cnf(3, [(-3,), (1, 2)])
    assert a != Cnf(3, [(1,), (2, -3)])  # same literals, other clause boundaries
    assert a != Cnf(3, [(1, 2), (-3,), ()])
    assert a != ((1, 2), (-3,))
    assert len({a, Cnf(3, [(1, 2), (-3,)]), Cnf(3, [(2, 1), (-3,)])}) == 2


def test_repr():
    assert repr(Cnf(2, [(1,)], family="f", seed=1, index=0)) == (
        "Cnf(num_vars=2, num_clauses=1, family='f', seed=1, index=0)"
    )


# ------------------------------------------------------------------------------------- evaluation
@settings(max_examples=150, deadline=None)
@given(formulas(), st.data())
def test_satisfied_by_matches_reference(formula, data):
    n, clauses = formula
    cnf = Cnf(n, clauses)
    batch = data.draw(st.lists(st.lists(st.booleans(), min_size=n, max_size=n), min_size=1, max_size=5))
    expected = [reference_satisfied(clauses, a) for a in batch]
    assert [cnf.satisfied_by(a) for a in batch] == expected
    assert cnf.satisfied_by(np.array(batch)).tolist() == expected
    assert cnf.satisfied_by(np.array(batch, dtype=np.int8)).tolist() == expected
    per_clause = cnf.satisfied_clauses(batch[0]).tolist()
    assert per_clause == [reference_satisfied([c], batch[0]) for c in clauses]


def test_satisfied_by_returns_python_bool():
    assert type(Cnf(1, [(1,)]).satisfied_by([True])) is bool


@pytest.mark.parametrize(
    "assignment, message",
    [
        ([True], "must have 2 entries"),
        ([True, False, True], "must have 2 entries"),
        ([[[True, False]]], "must have 2 entries"),
        ([1, -2], "bools"),  # a pysat-style model is not an assignment
        ([0.0, 1.0], "bools"),
        (["a", "b"], "bools"),
        ([[True], [True, False]], "sequence of bools"),
        ([], "must have 2 entries"),
    ],
)
def test_bad_assignments(assignment, message):
    with pytest.raises(CnfError, match=message):
        Cnf(2, [(1, 2)]).satisfied_by(assignment)


# ------------------------------------------------------------------------------------ new versions
def test_replace_and_with_comments():
    cnf = Cnf(2, [(1, -2)], comments=("a",), family="f", seed=1)
    other = cnf.replace(family="g", parameters={"k": 2}, index=3, planted=(True, True))
    assert other == cnf and other.literals is cnf.literals
    assert (other.family, dict(other.parameters), other.seed, other.index, other.planted, other.comments) == (
        "g", {"k": 2}, 1, 3, (True, True), ("a",))
    assert cnf.family == "f" and cnf.index is None  # unchanged
    assert cnf.with_comments("b", "c").comments == ("b", "c")
    assert cnf.with_comments("b", append=True).comments == ("a", "b")
    assert cnf.with_comments().comments == ()
    with pytest.raises(CnfError, match="unknown field"):
        cnf.replace(num_vars=3)
    with pytest.raises(CnfError, match="does not satisfy"):
        cnf.replace(planted=(False, True))
