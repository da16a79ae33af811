"""VNN-LIB: the reduction property, writer/parser round trip, the subset's errors, the sat equivalence."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsad.instances import Cnf
from nsad.reductions.sat_to_relu import decode, reduce
from nsad.reductions.vnnlib import (
    BoxProperty, OutputBound, VnnlibError, decimal, format_vnnlib, is_witness, parse_vnnlib, read_vnnlib,
    reduction_property, write_vnnlib)


def test_reduction_property_text_is_the_vnnlib_convention():
    text = format_vnnlib(reduction_property(Cnf(3, [(1, -2, 3)]), "0.5"))
    lines = text.splitlines()
    assert lines[:4] == ["(declare-const X_0 Real)", "(declare-const X_1 Real)", "(declare-const X_2 Real)",
                         "(declare-const Y_0 Real)"]
    assert "(assert (<= X_2 1.0))" in lines and "(assert (>= X_2 -1.0))" in lines
    assert lines[-1] == "(assert (>= Y_0 0.5))"
    assert len(lines) == 4 + 6 + 1


@pytest.mark.parametrize("bad", [0, "-1/2", "1.5", Fraction(1, 3), "abc", float("nan"), True])
def test_threshold_must_be_a_decimal_in_the_unit_interval(bad):
    with pytest.raises(VnnlibError):
        reduction_property(2, bad)


def test_reduction_property_sources():
    from nsad.networks import ReluNetwork

    assert reduction_property(ReluNetwork([[[1, 1, 1]]])).n_inputs == 3
    with pytest.raises(VnnlibError, match="scalar network"):
        reduction_property(ReluNetwork([[[1, 1], [1, 0]]]))
    with pytest.raises(VnnlibError, match="at least one input"):
        reduction_property(0)


decimals = st.builds(lambda p, e: Fraction(p, 10**e), st.integers(-10**6, 10**6), st.integers(0, 6))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6).flatmap(lambda n: st.tuples(
    st.lists(decimals, min_size=n, max_size=n), st.lists(decimals, min_size=n, max_size=n),
    st.lists(st.tuples(st.integers(0, 2), st.sampled_from([">=", "<="]), decimals), max_size=3))))
def test_write_parse_round_trip(parts):
    lower, upper, outs = parts
    prop = BoxProperty(tuple(lower), tuple(upper), tuple(OutputBound(j, op, v) for j, op, v in outs), 3)
    assert parse_vnnlib(format_vnnlib(prop, comments=["a comment", "two\nlines"])) == prop


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.integers(1, 10**4), st.integers(0, 5))
def test_reduction_round_trip_through_a_file(tmp_path_factory, n, num, exp):
    t = min(Fraction(num, 10**exp), Fraction(1))
    path = tmp_path_factory.mktemp("v") / "p.vnnlib"
    write_vnnlib(path, reduction_property(n, t))
    assert read_vnnlib(path) == reduction_property(n, t)
    assert Fraction(decimal(t)) == t


def test_parser_reads_other_spellings():
    text = """; a property from elsewhere
(set-logic QF_LRA)
(declare-const X_0 Real)
(declare-const X_1 Real) ; trailing comment
(declare-const Y_0 Real)
(declare-const Y_1 Real)
(assert (and (>= X_0 (- 0.5)) (<= X_0 1e-1)))
(assert (<= (/ -1 4) X_1))
(assert (>= 2 X_1))
(assert (<= X_1 1.5))
(assert (>= Y_0 1.0))
(assert (<= Y_1 0))
(check-sat)
"""
    p = parse_vnnlib(text)
    assert p.lower == (Fraction(-1, 2), Fraction(-1, 4))
    assert p.upper == (Fraction(1, 10), Fraction(3, 2))  # the tighter of two upper bounds
    assert p.outputs == (OutputBound(0, ">=", 1), OutputBound(1, "<=", 0))
    assert p.n_outputs == 2
    assert p.holds_at([0, 1], [1, 0]) and not p.holds_at([0, 1], [1, Fraction(1, 10**9)])
    assert not p.holds_at([0, 2], [1, 0])


@pytest.mark.parametrize(
    "text, match",
    [
        ("(declare-const X_0 Real)(declare-const Y_0 Real)\n(assert (or (>= Y_0 1)))", ":2: unsupported assertion 'or'"),
        ("(declare-const X_0 Real)(declare-const Y_0 Real)\n(assert (> Y_0 1))", ":2: unsupported assertion '>'"),
        ("(declare-const X_0 Real)(declare-const Y_0 Real)\n(assert (>= Y_0 X_0))", "between two variables"),
        ("(declare-const X_0 Real)(declare-const Y_0 Real)\n(assert (>= Y_1 1))", "Y_1 is used before it is declared"),
        ("(declare-const X_0 Real)(declare-const Y_0 Real)\n(assert (>= X_0 1))", "X_0 has no upper bound"),
        ("(declare-const X_1 Real)(declare-const Y_0 Real)", "X_0 is not declared"),
        ("(declare-const X_0 Int)(declare-const Y_0 Real)", "only Real"),
        ("(declare-const X_0 Real)(declare-const Y_0 Real)\n(assert (>= X_0 1)", "unbalanced"),
        ("(declare-const X_0 Real))", "unbalanced"),
        ("(declare-const X_0 Real)(declare-const Y_0 Real)\n(assert (>= X_0 one))", "neither a declared variable"),
        ("(declare-const Z Real)", "X_i or Y_j"),
        ("(declare-const X_0 Real)", "no Y_i variable"),
        ("(define-fun f () Real 1)", "unsupported command 'define-fun'"),
    ],
)
def test_parser_errors_name_the_line(text, match):
    with pytest.raises(VnnlibError, match=match):
        parse_vnnlib(text, "p.vnnlib")


formulas = st.integers(1, 4).flatmap(lambda n: st.tuples(st.just(n), st.lists(
    st.lists(st.integers(1, n).flatmap(lambda v: st.sampled_from([v, -v])), min_size=1, max_size=3),
    min_size=0, max_size=7)))


def _satisfiable(n, clauses):
    return any(all(any((l > 0) == s[abs(l) - 1] for l in c) for c in clauses)
               for s in itertools.product((False, True), repeat=n))


@settings(max_examples=60, deadline=None)
@given(formulas, st.sampled_from(["1", "0.5", "0.125"]))
def test_property_holds_iff_the_formula_is_satisfiable(formula, t):
    """Witnesses exist exactly for satisfiable formulas (checked on a grid of the box), and every
    witness decodes to a satisfying assignment."""
    n, clauses = formula
    cnf = Cnf(n, clauses)
    net = reduce(cnf)
    prop = reduction_property(net, t)
    grid = (-1, Fraction(-1, 2), 0, Fraction(1, 2), 1)
    witnesses = [x for x in itertools.product(grid, repeat=n) if is_witness(prop, net, x)]
    assert bool(witnesses) == _satisfiable(n, clauses)
    for x in witnesses:
        assert cnf.satisfied_by(decode(x))


def test_is_witness_checks_the_box_and_shapes():
    net = reduce(Cnf(1, [(1,)]))
    prop = reduction_property(net)
    assert is_witness(prop, net, [1]) and not is_witness(prop, net, [2]) and not is_witness(prop, net, [0.25])
    with pytest.raises(VnnlibError, match="coordinates"):
        is_witness(prop, net, [1, 1])


def test_read_missing_file(tmp_path):
    with pytest.raises(VnnlibError, match="no such file"):
        read_vnnlib(tmp_path / "nope.vnnlib")
    with pytest.raises(VnnlibError, match="is a directory"):
        read_vnnlib(tmp_path)
