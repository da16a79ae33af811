"""docs/theory.md section 2, checked: brute force on small formulas, properties, certificates, errors.

The brute-force formulas (n <= 6) cover every special case of the reduction: empty clauses, no
clauses, only tautologies, only unit clauses, unused variables, repeated and complementary literals.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nsad.instances import Cnf, random_ksat
from nsad.networks import Certificate, ReluNetwork, check
from nsad.reductions.sat_to_relu import (
    CleanCnf,
    ReductionError,
    assignment_from_model,
    certificate_from_model,
    clean,
    decode,
    encode,
    network_depth,
    reduce,
    reference_value,
)

# ------------------------------------------------------------------------------------------------
# helpers


def exact_batch(net: ReluNetwork, X: np.ndarray) -> np.ndarray:
    """Exact F on a batch of integer points: int64 products with a proven overflow bound."""
    H = np.asarray(X, dtype=np.int64).T
    bound = int(np.abs(H).max(initial=0))
    for k, M in enumerate(net.matrices):
        row_abs = int(np.add.reduceat(np.abs(M.data), M.indptr[:-1]).max()) if M.nnz else 0
        bound *= max(row_abs, 1)
        assert bound < 2**62, "int64 bound exceeded: use evaluate_exact"
        H = M @ H
        if k < net.depth - 1:
            H = np.maximum(H, 0)
    return H[0]


def grid(n: int, values=(-1, 0, 1)) -> np.ndarray:
    return np.array(list(itertools.product(values, repeat=n)), dtype=np.int64).reshape(-1, n)


def python_clean(clauses):
    """Obviously-correct cleaning: drop tautologies, keep the first occurrence of each literal."""
    out = []
    for clause in clauses:
        if any(-lit in clause for lit in clause):
            continue
        out.append(tuple(dict.fromkeys(clause)))
    return tuple(out)


def satisfiable(cnf: Cnf) -> tuple[bool, ...] | None:
    """First satisfying assignment in lexicographic order (brute force), or None."""
    for bits in itertools.product((False, True), repeat=cnf.num_vars):
        if cnf.satisfied_by(bits):
            return bits
    return None


def random_formula(rng: np.random.Generator, kind: str) -> Cnf:
    n = int(rng.integers(1, 7))
    m = int(rng.integers(0, 9))

    def lit(nvars=n):
        return int(rng.integers(1, nvars + 1)) * int(rng.choice((-1, 1)))

    if kind == "mixed":  # any length 0..6: repeats, complements and empty clauses by chance
        clauses = [[lit() for _ in range(int(rng.integers(0, 7)))] for _ in range(m)]
    elif kind == "no-empty":  # lengths 1..5, the common case, often satisfiable
        clauses = [[lit() for _ in range(int(rng.integers(1, 6)))] for _ in range(m)]
    elif kind == "empty-clause":
        clauses = [[lit() for _ in range(int(rng.integers(1, 4)))] for _ in range(m)]
        clauses.insert(int(rng.integers(0, m + 1)), [])
    elif kind == "no-clauses":
        clauses = []
    elif kind == "tautologies":
        clauses = []
        for _ in range(max(m, 1)):
            v = int(rng.integers(1, n + 1))
            extra = [lit() for _ in range(int(rng.integers(0, 3)))]
            clause = [v, -v, *extra]
            rng.shuffle(clause)
            clauses.append(clause)
    elif kind == "units":
        clauses = [[lit()] for _ in range(max(m, 1))]
    elif kind == "unused-vars":  # only variables 1..ceil(n/2) occur
        clauses = [[lit(max(1, n // 2)) for _ in range(int(rng.integers(1, 4)))] for _ in range(max(m, 1))]
    elif kind == "repeats":  # every clause repeats a literal, some also contain its complement
        clauses = []
        for _ in range(max(m, 1)):
            first = lit()
            clause = [first, first, *[lit() for _ in range(int(rng.integers(0, 3)))]]
            if rng.random() < 0.3:
                clause.append(-first)
            rng.shuffle(clause)
            clauses.append(clause)
    elif kind == "3sat":  # k distinct variables, random signs
        n = max(n, 3)
        clauses = [
            [int(v) * int(rng.choice((-1, 1))) for v in rng.choice(np.arange(1, n + 1), 3, replace=False)]
            for _ in range(int(rng.integers(1, 25)))
        ]
    else:  # pragma: no cover
        raise AssertionError(kind)
    return Cnf(n, clauses)


KINDS = ("mixed", "no-empty", "empty-clause", "no-clauses", "tautologies", "units", "unused-vars", "repeats", "3sat")
PER_KIND = 40  # 9 kinds x 40 = 360 formulas


def formulas(kind: str) -> list[Cnf]:
    rng = np.random.default_rng([2023, KINDS.index(kind)])
    return [random_formula(rng, kind) for _ in range(PER_KIND)]


# ------------------------------------------------------------------------------------------------
# brute force


@pytest.mark.parametrize("kind", KINDS)
def test_brute_force_against_reference_and_truth_table(kind):
    rng = np.random.default_rng(7)
    for cnf in formulas(kind):
        c = clean(cnf)
        net = reduce(cnf)
        note = f"{kind}: n={cnf.num_vars} clauses={cnf.clauses}"
        # shape facts
        assert net.n_inputs == cnf.num_vars and net.n_outputs == 1, note
        assert set(net.weight_values) <= {-1, 0, 1}, note
        assert net.depth == network_depth(0 if c.has_empty_clause else c.max_clause_len, c.num_clauses), note
        # F on {-1,0,1}^n equals the reference everywhere (exact integer evaluation)
        X = grid(cnf.num_vars)
        values = exact_batch(net, X)
        reference = [reference_value(c, x) for x in X.tolist()]
        assert values.tolist() == reference, note
        # evaluate_exact agrees on a sample, and float evaluation everywhere
        for i in rng.choice(len(X), size=min(len(X), 6), replace=False).tolist():
            assert net.evaluate_exact(X[i].tolist()) == reference[i], note
        assert np.array_equal(net.evaluate(X.astype(float)), values.astype(float)), note
        # on {-1,1}^n: F(s) = 1 iff s satisfies the formula, else 0
        S = grid(cnf.num_vars, (-1, 1))
        sat = cnf.satisfied_clauses(S > 0).all(axis=1)
        assert np.array_equal(exact_batch(net, S), sat.astype(np.int64)), note
        # 0 <= F <= 1 on the box
        B = rng.uniform(-1, 1, size=(64, cnf.num_vars))
        F = net.evaluate(B)
        assert np.all(F >= 0) and np.all(F <= 1 + 1e-12), note
        # reference on random rational points
        for x in rng.integers(-4, 5, size=(3, cnf.num_vars)).tolist():
            xq = [Fraction(v, 4) for v in x]
            assert net.evaluate_exact(xq) == reference_value(c, xq), note


@pytest.mark.parametrize("kind", KINDS)
def test_certificates_from_models_check_and_tampering_fails(kind):
    for cnf in formulas(kind)[:20]:
        net = reduce(cnf)
        model = satisfiable(cnf)
        note = f"{kind}: n={cnf.num_vars} clauses={cnf.clauses}"
        if model is None:
            with pytest.raises(ReductionError):
                certificate_from_model(cnf, net, [False] * cnf.num_vars)
            continue
        cert = certificate_from_model(cnf, net, model)
        assert check(net, cert).ok, note
        g1, g2 = cert.gradients
        assert g1 != g2
        if clean(cnf).num_clauses:  # F > 0 at the first point, F = 0 around the second
            assert net.evaluate_exact(cert.points[0]) > 0 and not any(g2), note
        else:  # |x_1|: gradients e_1 and -e_1
            assert g1 == (1,) + (0,) * (cnf.num_vars - 1) and g2 == tuple(-v for v in g1), note
        # tampering: a gradient coordinate, the second gradient set equal to the first
        bad = list(g1)
        bad[0] += 1
        assert not check(net, Certificate(cert.points, (tuple(bad), g2)))
        assert not check(net, Certificate(cert.points, (g1, g1)))
        # a non-generic point: at 0 every unit relu(l_a - l_b), relu(l), relu(x_1) sits on its kink
        zero = (0,) * cnf.num_vars
        assert not check(net, Certificate((zero, cert.points[1]), cert.gradients)), note
        assert "not generic" in check(net, Certificate((cert.points[0], zero), cert.gradients)).reason


def test_every_satisfiable_brute_forced_formula_gets_a_certificate():
    count = 0
    for kind in KINDS:
        for cnf in formulas(kind)[20:]:
            model = satisfiable(cnf)
            if model is not None:
                net = reduce(cnf)
                assert check(net, certificate_from_model(cnf, net, model)), cnf.clauses
                count += 1
    assert count > 100


# ------------------------------------------------------------------------------------------------
# cleaning


def test_clean_matches_python_reference():
    for kind in KINDS:
        for cnf in formulas(kind):
            c = clean(cnf)
            expected = python_clean(cnf.clauses)
            assert c.clauses == expected, cnf.clauses
            kept = [j for j, cl in enumerate(cnf.clauses) if not any(-lit in cl for lit in cl)]
            assert c.clause_index.tolist() == kept
            assert c.has_empty_clause == any(len(cl) == 0 for cl in expected)
            assert clean(c) is c


def test_clean_examples():
    c = clean(Cnf(4, [(3, 1, 3, -2, 1), (2, -2), (-4,), (), (1, 4, -1)]))
    assert c.clauses == ((3, 1, -2), (-4,), ())
    assert c.clause_index.tolist() == [0, 2, 3]
    assert c.num_clauses == 3 and c.max_clause_len == 3 and c.has_empty_clause
    assert not c.literals.flags.writeable and not c.offsets.flags.writeable
    only_taut = clean(Cnf(3, [(1, -1), (2, 3, -2)]))
    assert only_taut.num_clauses == 0 and not only_taut.has_empty_clause and only_taut.max_clause_len == 0
    assert clean(Cnf(2, [])).num_clauses == 0


def test_clean_keeps_arrays_when_nothing_changes():
    cnf = random_ksat(30, m=100, seed=4)
    c = clean(cnf)
    assert np.array_equal(c.literals, cnf.literals) and np.array_equal(c.offsets, cnf.offsets)


# ------------------------------------------------------------------------------------------------
# the three cases and the network layout


def test_reduce_depends_only_on_the_cleaned_formula():
    cnf = Cnf(4, [(1, 1, -2), (3, -3, 4), (4, 2, 4, 3)])
    same = Cnf(4, [(1, -2), (4, 2, 3)])
    assert reduce(cnf) == reduce(same) == reduce(clean(cnf)) == reduce(cnf)
    assert reduce(cnf) != reduce(Cnf(4, [(1, -2), (4, 3, 2)]))  # literal order is kept


def test_no_clauses_is_abs_x1():
    for cnf in (Cnf(3, []), Cnf(3, [(2, -2)])):
        net = reduce(cnf)
        assert net.depth == 2 and net.widths == (2, 1)
        assert net.matrices[0].toarray().tolist() == [[1, 0, 0], [-1, 0, 0]]
        assert net.evaluate_exact((-5, 1, 2)) == 5 and net.evaluate_exact((0, 3, 3)) == 0


def test_empty_clause_is_identically_zero():
    net = reduce(Cnf(2, [(1, 2), ()]))
    assert net.depth == 2 and net.widths == (1, 1) and net.matrices[0].nnz == 0
    assert set(net.weight_values) <= {-1, 0, 1}
    assert exact_batch(net, grid(2, (-3, 0, 2))).tolist() == [0] * 9
    assert net.exact_gradient((1, 2)) == (0, 0)


def test_complementary_unit_clauses_keep_weights_small():
    # THEORY's example: without the first carry layer, (x1)(-x1) would need a weight 2
    net = reduce(Cnf(1, [(1,), (-1,)]))
    assert net.weight_values == (-1, 1) and net.depth == 2 + 1 + 1
    assert exact_batch(net, grid(1, (-2, -1, 0, 1, 2))).tolist() == [0] * 5


def test_depth_formula_exactly():
    for k, m in itertools.product((1, 2, 3, 4, 5, 8, 9), (1, 2, 3, 4, 5, 7, 8, 9, 16, 17)):
        n = max(k, 1) + 1
        clauses = [[(j + i) % n + 1 for i in range(k)] for j in range(m)]
        net = reduce(Cnf(n, clauses))
        expected = 2 + max(1, math.ceil(math.log2(k))) + math.ceil(math.log2(m))
        assert net.depth == expected == network_depth(k, m), (k, m)


def test_units_and_nonzeros_are_linear():
    for m in (1, 2, 3, 5, 64, 1000, 4097):
        cnf = random_ksat(50, m=m, seed=m)
        net = reduce(cnf)
        c = math.ceil(math.log2(m)) if m > 1 else 0
        assert 11 * m - 2 <= net.n_units <= 11 * m - 2 + 2 * c
        assert net.nnz <= 27 * m + 6 * c + 1
        assert net.widths[:2] == (5 * m, 3 * m)  # max(l1, l2) + carry(l3), then max of the two
    rng = np.random.default_rng(3)
    for _ in range(30):  # mixed lengths: the documented general bound
        cnf = random_formula(rng, "no-empty")
        c = clean(cnf)
        if not c.num_clauses:
            continue
        net = reduce(cnf)
        big_k = max(1, math.ceil(math.log2(c.max_clause_len)))
        m = c.num_clauses
        assert net.n_units <= 3 * (c.literals.size + big_k * m + m + math.ceil(math.log2(m))) + 1
        assert net.nnz <= 6 * net.n_units + 1


def test_rows_are_built_sorted():
    # the builder hands ReluNetwork canonical CSR (sorted, no duplicates), so its sort is a no-op
    from nsad.reductions.sat_to_relu import _matrices

    cnf = Cnf(5, [(5, 1), (4, -2, 3), (1,), (-5, 3, 2, 1), (2, 1), (3,), (-4, -1)])
    for M in _matrices(clean(cnf)):
        for i in range(M.shape[0]):
            cols = M.indices[M.indptr[i] : M.indptr[i + 1]]
            assert np.all(np.diff(cols) > 0)


def test_large_formula_structure_and_planted_value():
    from nsad.instances import planted_ksat

    cnf = planted_ksat(20000, m=85000, seed=1)
    net = reduce(cnf)
    assert net.depth == network_depth(3, 85000) == 4 + 17
    assert net.weight_values == (-1, 1)
    s = np.array(encode(cnf.planted), dtype=float)
    flip = s.copy()
    first = cnf.literals[: cnf.offsets[1]]
    flip[np.abs(first) - 1] = -np.sign(first)  # falsify the first clause
    assert net.evaluate(np.stack([s, flip, 3 * s])).tolist() == [1.0, 0.0, 3.0]


def test_large_mixed_formula_against_vectorised_reference():
    # clause lengths 1..9 (all tree shapes, carries at every level), repeats and tautologies
    rng = np.random.default_rng(11)
    n, m = 300, 20000
    lens = rng.integers(1, 10, size=m)
    lits = rng.integers(1, n + 1, size=int(lens.sum())) * rng.choice((-1, 1), size=int(lens.sum()))
    offsets = np.concatenate(([0], np.cumsum(lens)))
    planted = rng.choice((-1, 1), size=n)
    first = lits[offsets[:-1]]
    lits[offsets[:-1]] = np.abs(first) * planted[np.abs(first) - 1]  # first literal agrees with planted
    cnf = Cnf.from_arrays(n, lits, offsets)
    c = clean(cnf)
    assert 0 < c.num_clauses < m and c.literals.size < lits.size
    net = reduce(cnf)
    assert net.depth == network_depth(9, c.num_clauses) == 2 + 4 + 15
    assert net.weight_values == (-1, 1)
    # integer points: every intermediate value is an integer, exact in float64
    X = rng.integers(-1000, 1001, size=(40, n))
    X[:20] = np.abs(X[:20]) * planted  # half the points have the planted signs: F > 0 there
    values = np.where(c.literals > 0, 1, -1) * X[:, np.abs(c.literals) - 1]
    g = np.maximum.reduceat(values, c.offsets[:-1], axis=1).min(axis=1)
    expected = np.maximum(g, 0)
    assert np.count_nonzero(expected) >= 15
    assert np.array_equal(net.evaluate(X.astype(float)), expected.astype(float))


# ------------------------------------------------------------------------------------------------
# decode, encode, models


def test_decode_encode():
    assert decode((2, -1, 0, Fraction(1, 3))) == (True, False, False, True)
    assert decode(np.array([0.5, -0.5, 0.0])) == (True, False, False)
    assert encode((True, False, True)) == (1, -1, 1)
    assert encode(np.array([False, True])) == (-1, 1)
    for bits in itertools.product((False, True), repeat=3):
        assert decode(encode(bits)) == bits


def test_assignment_from_model():
    assert assignment_from_model([-1, 3], 4) == (False, False, True, False)
    assert assignment_from_model((True, False), 3) == (True, False, False)
    assert assignment_from_model(np.array([True, True]), 2) == (True, True)
    assert assignment_from_model([], 2) == (False, False)
    for bad in ([0, 1], [5], (True, False, True, False, True)):
        with pytest.raises(ReductionError):
            assignment_from_model(bad, 4)
    with pytest.raises(ReductionError):
        assignment_from_model([True, 2], 4)


# ------------------------------------------------------------------------------------------------
# errors


def test_certificate_errors():
    cnf = Cnf(3, [(1, 2), (-1, 3)])
    net = reduce(cnf)
    with pytest.raises(ReductionError, match=r"falsifies clause 1 \(0-based\)"):
        certificate_from_model(cnf, net, [True, False, False])
    with pytest.raises(ReductionError, match=r"clause 2 \(0-based\) is empty"):
        bad = Cnf(3, [(1, -1), (2,), ()])
        certificate_from_model(bad, reduce(bad), [True, True, True])
    with pytest.raises(ReductionError, match="inputs"):
        certificate_from_model(cnf, reduce(Cnf(2, [(1,)])), [True, True, True])
    # a network that does not realise this formula: F = 0 for (x1)(-x1) on 3 inputs
    foreign = reduce(Cnf(3, [(1,), (-1,)]))
    with pytest.raises(ReductionError, match="does not realise"):
        certificate_from_model(cnf, foreign, [True, False, True])
    # a model given as DIMACS literals (python-sat style, variable 3 omitted)
    assert check(net, certificate_from_model(cnf, net, [-1, 2]))


def test_reference_value_errors_and_cases():
    cnf = Cnf(2, [(1, -2)])
    with pytest.raises(ReductionError):
        reference_value(cnf, (1,))
    assert reference_value(cnf, (Fraction(1, 2), 2)) == Fraction(1, 2)
    assert reference_value(cnf, (Fraction(-1, 2), 2)) == 0
    assert reference_value(cnf, (3, -1)) == 3
    assert reference_value(Cnf(2, [(1, -1)]), (-3, 1)) == 3
    assert reference_value(Cnf(2, [()]), (5, 5)) == 0
    assert isinstance(reference_value(cnf, (0.5, 0.25)), Fraction)


def test_clean_rejects_bad_inputs():
    class Raw:
        num_vars = 2
        literals = np.array([1, 3])
        offsets = np.array([0, 2])

    with pytest.raises(ReductionError):
        clean(Raw())
    Raw.num_vars, Raw.literals, Raw.offsets = 0, np.zeros(0, np.int64), np.array([0])
    with pytest.raises(ReductionError):
        clean(Raw())
    Raw.num_vars, Raw.offsets = 2, np.array([0, 1])
    with pytest.raises(ReductionError):
        clean(Raw())


# ------------------------------------------------------------------------------------------------
# property-based


@st.composite
def formula_and_points(draw):
    n = draw(st.integers(1, 7))
    lit = st.integers(1, n).flatmap(lambda v: st.sampled_from((v, -v)))
    clauses = draw(st.lists(st.lists(lit, min_size=1, max_size=6), max_size=12))
    coord = st.one_of(st.integers(-6, 6), st.fractions(-3, 3, max_denominator=7))
    points = draw(st.lists(st.lists(coord, min_size=n, max_size=n), min_size=1, max_size=4))
    return Cnf(n, clauses), points


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(formula_and_points())
def test_property_float_exact_reference_decode(data):
    cnf, points = data
    net = reduce(cnf)
    c = clean(cnf)
    assert set(net.weight_values) <= {-1, 0, 1}
    assert net.depth == network_depth(c.max_clause_len, c.num_clauses)
    floats = net.evaluate(np.array([[float(v) for v in p] for p in points]))
    for p, f in zip(points, floats):
        exact = net.evaluate_exact(p)
        assert exact == reference_value(c, p)
        assert math.isclose(f, float(exact), rel_tol=1e-12, abs_tol=1e-12)
        if exact > 0:
            assert cnf.satisfied_by(decode(p))


@settings(max_examples=60, deadline=None)
@given(formula_and_points())
def test_property_certificate_from_planted_style_model(data):
    cnf, points = data
    net = reduce(cnf)
    for p in points:  # every point with F > 0 decodes to a model, which yields a certificate
        if net.evaluate_exact(p) > 0:
            model = decode(p)
            assert check(net, certificate_from_model(cnf, net, model))
            break


def test_cleancnf_satisfied_by():
    c = clean(Cnf(2, [(1, 2), (-1,)]))
    assert isinstance(c, CleanCnf)
    assert c.satisfied_by([False, True]) and not c.satisfied_by([True, True])
    with pytest.raises(ReductionError):
        c.satisfied_by([True])
