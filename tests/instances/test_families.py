"""Formula families: labels confirmed by brute force or a SAT solver, statistics, reproducibility."""

from __future__ import annotations

import inspect
import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pysat.solvers import Solver

from nsad.instances import Cnf, CnfError, formula_rng, planted_ksat, parse_dimacs, format_dimacs
from nsad.instances.families import (
    FAMILIES,
    FAMILY_ALIASES,
    expected_label,
    gf2_solve,
    hidden_ksat,
    hidden_q,
    mutilated_chessboard,
    ordering,
    parity,
    pigeonhole,
    random_kxor,
    random_regular_graph,
    tseitin,
    xor_clauses,
)


def solve(cnf: Cnf) -> bool:
    with Solver(name="cadical195", bootstrap_with=[list(c) for c in cnf.clauses]) as s:
        return s.solve()


def brute_models(cnf: Cnf) -> np.ndarray:
    """All satisfying assignments (rows), by enumeration (n <= 16)."""
    n = cnf.num_vars
    assert n <= 16
    values = ((np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1).astype(bool)
    return values[cnf.satisfied_by(values)]


def occurrence_truth(cnf: Cnf) -> np.ndarray:
    """For each literal occurrence: is it true under the planted assignment?"""
    s = np.array(cnf.planted)
    lit = cnf.literals
    return s[np.abs(lit) - 1] == (lit > 0)


def majority_agreement(cnf: Cnf) -> float:
    """Fraction of variables (with a strict majority) whose majority sign equals the planted value."""
    lit = cnf.literals
    n = cnf.num_vars
    score = np.bincount(np.abs(lit) - 1, weights=np.sign(lit), minlength=n)
    decided = score != 0
    guess = score > 0
    return float((guess[decided] == np.array(cnf.planted)[decided]).mean())


# ----------------------------------------------------------------------------------- generic
def test_every_family_is_reproducible_and_regenerable():
    samples = {
        "hidden-ksat": dict(n=20, ratio=4.0),
        "pigeonhole": dict(holes=3, shuffle=True),
        "ordering": dict(size=4, shuffle=True),
        "parity": dict(size=2, shuffle=True),
        "mutilated-chessboard": dict(size=2, shuffle=True),
        "random-kxor": dict(n=20, ratio=0.8),
        "tseitin": dict(vertices=12, degree=3),
    }
    assert set(samples) == set(FAMILIES)
    for family, params in samples.items():
        make = FAMILIES[family]
        a, b, c = make(**params, seed=3, index=1), make(**params, seed=3, index=1), make(**params, seed=3, index=2)
        assert a == b and a.planted == b.planted
        assert a != c, family  # every family draws from (seed, index)
        assert (a.family, a.seed, a.index) == (family, 3, 1)
        again = make(**dict(a.parameters), seed=a.seed, index=a.index)  # parameters are the kwargs
        assert again == a
        assert expected_label(a) is not None
        back = parse_dimacs(format_dimacs(a))  # the label survives a DIMACS round trip
        assert expected_label(back) == expected_label(a) and back == a
        sig = inspect.signature(make)
        assert list(sig.parameters)[-2:] == ["seed", "index"]


def test_aliases_point_to_families():
    assert set(FAMILY_ALIASES.values()) <= set(FAMILIES)


def test_expected_label_rules():
    assert expected_label(Cnf(1, [(1,)])) is None
    assert expected_label(Cnf(1, [(1,)], comments=["expected: sat"])) == "sat"
    with pytest.raises(CnfError, match="both"):
        expected_label(Cnf(1, [(1,)], comments=["expected: unsat"], planted=[True]))


def test_generators_use_no_global_random_state():
    np.random.seed(1)
    a = hidden_ksat(30, ratio=4.2, seed=0)
    np.random.seed(2)
    assert hidden_ksat(30, ratio=4.2, seed=0) == a


# ------------------------------------------------------------------------------ hidden k-SAT
def test_hidden_q_balances_true_literals():
    for k in (3, 4, 5, 7):
        q = hidden_q(k)
        assert 0 < q < 1
        assert math.isclose((1 + q) ** (k - 1) * (1 - q), 1, rel_tol=1e-12)
        w = [math.comb(k, t) * q**t for t in range(1, k + 1)]
        mean_true = sum(t * wt for t, wt in zip(range(1, k + 1), w)) / sum(w)
        assert math.isclose(mean_true, k / 2, rel_tol=1e-12)
    assert math.isclose(hidden_q(3), (math.sqrt(5) - 1) / 2, rel_tol=1e-12)


@pytest.mark.parametrize("scheme,k", [("q-hidden", 3), ("2-hidden", 3), ("q-hidden", 4), ("2-hidden", 5)])
def test_hidden_clause_structure(scheme, k):
    cnf = hidden_ksat(40, m=400, k=k, scheme=scheme, seed=1)
    assert cnf.satisfied_by(cnf.planted)
    assert cnf.clause_lengths.tolist() == [k] * 400
    rows = cnf.literals.reshape(-1, k)
    assert all(len(set(map(abs, r))) == k for r in rows.tolist())  # distinct variables
    t = occurrence_truth(cnf).reshape(-1, k).sum(axis=1)
    assert t.min() >= 1
    if scheme == "2-hidden":
        assert t.max() <= k - 1
        assert cnf.satisfied_by([not b for b in cnf.planted])


def test_hidden_true_count_distribution_matches_the_scheme():
    m = 30_000
    for scheme in ("q-hidden", "2-hidden"):
        cnf = hidden_ksat(50, m=m, scheme=scheme, seed=2)
        t = occurrence_truth(cnf).reshape(-1, 3).sum(axis=1)
        counts = np.bincount(t, minlength=4) / m
        q = hidden_q(3)
        w = np.array([0, 3 * q, 3 * q**2, q**3]) if scheme == "q-hidden" else np.array([0, 3, 3, 0.0])
        w = w / w.sum()
        assert np.abs(counts - w).max() < 0.015, (scheme, counts, w)


def test_literal_counts_do_not_reveal_the_hidden_assignment():
    """Majority vote of literal signs recovers planted-ksat's assignment, not the hidden ones."""
    n, ratio, runs = 200, 4.26, 15
    planted = [majority_agreement(planted_ksat(n, ratio=ratio, seed=9, index=i)) for i in range(runs)]
    assert np.mean(planted) > 0.6  # the statistic works where the solution is not hidden
    for scheme in ("q-hidden", "2-hidden"):
        cnfs = [hidden_ksat(n, ratio=ratio, scheme=scheme, seed=9, index=i) for i in range(runs)]
        agreement = np.mean([majority_agreement(c) for c in cnfs])
        truth = np.mean(np.concatenate([occurrence_truth(c) for c in cnfs]))
        # 15 * 200 variables: the standard error of the agreement is about 0.01
        assert abs(agreement - 0.5) < 0.04, (scheme, agreement)
        assert abs(truth - 0.5) < 0.01, (scheme, truth)


def test_hidden_parameters_are_checked():
    with pytest.raises(CnfError, match="scheme"):
        hidden_ksat(10, m=5, scheme="3-hidden")
    with pytest.raises(CnfError, match="k >= 3"):
        hidden_ksat(10, m=5, k=2)
    with pytest.raises(CnfError, match="give m"):
        hidden_ksat(10)
    with pytest.raises(CnfError, match="disagrees"):
        hidden_ksat(10, m=5, ratio=1.0)
    assert hidden_ksat(10, m=10, ratio=1.0) == hidden_ksat(10, ratio=1.0)
    assert hidden_ksat(10, m=5, k=2, scheme="2-hidden").max_clause_len == 2


# ----------------------------------------------------------------------------- crafted UNSAT
@pytest.mark.parametrize(
    "cnf",
    [pigeonhole(1), pigeonhole(2), ordering(2), ordering(3), parity(1), pigeonhole(2, per_hole=2)],
    ids=["php1", "php2", "gt2", "gt3", "par1", "php2x2"],
)
def test_tiny_crafted_formulas_are_unsat_by_enumeration(cnf):
    assert expected_label(cnf) == "unsat"
    assert brute_models(cnf).shape[0] == 0


def test_crafted_formulas_are_unsat_by_solver_and_sizes():
    for cnf in [pigeonhole(5), ordering(6), parity(3), mutilated_chessboard(2), mutilated_chessboard(3, exhaustive=True)]:
        assert not solve(cnf), cnf.family
    php = pigeonhole(4)
    assert (php.num_vars, php.num_clauses) == (20, 5 + 4 * 10)
    gt = ordering(5)
    assert (gt.num_vars, gt.num_clauses) == (20, 10 + 5 * 4 * 3 + 5)
    par = parity(2)
    assert (par.num_vars, par.num_clauses) == (10, 5 + 5 * 6)
    assert mutilated_chessboard(3, exhaustive=True).num_clauses > mutilated_chessboard(3).num_clauses


def test_shuffled_crafted_formulas_are_isomorphic_copies():
    base = pigeonhole(3)
    a = pigeonhole(3, shuffle=True, seed=1)
    assert a != base and a.num_vars == base.num_vars
    assert sorted(a.clause_lengths.tolist()) == sorted(base.clause_lengths.tolist())
    def degrees(cnf):  # how often each variable occurs, sorted: invariant under renaming and sign flips
        return sorted(Counter(np.abs(cnf.literals).tolist()).values())

    assert degrees(a) == degrees(base)
    assert sorted(map(sorted, map(lambda c: map(abs, c), a.clauses))) != sorted(map(sorted, map(lambda c: map(abs, c), base.clauses)))
    assert not solve(a)
    # unshuffled formulas ignore the seed
    assert pigeonhole(3, seed=5) == base


def test_crafted_parameters_are_checked():
    with pytest.raises(CnfError, match="size must be >= 2"):
        mutilated_chessboard(1)
    with pytest.raises(CnfError, match="size must be >= 2"):
        ordering(1)
    with pytest.raises(CnfError, match="holes"):
        pigeonhole(0)
    with pytest.raises(CnfError, match="shuffle"):
        parity(2, shuffle="yes")


# ------------------------------------------------------------------------------- GF(2), XOR
@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(1, 7), st.integers(0, 2**32 - 1))
def test_gf2_solve_agrees_with_enumeration(m, n, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, size=(m, n))
    b = rng.integers(0, 2, size=m)
    xs = ((np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1)
    solvable = ((xs @ a.T) % 2 == b).all(axis=1).any()
    x = gf2_solve(a, b)
    assert (x is not None) == solvable
    if x is not None:
        assert ((a @ x.astype(int)) % 2 == b).all()


def test_gf2_solve_on_wide_systems():
    rng = np.random.default_rng(0)
    for n in (63, 64, 65, 200):
        a = rng.integers(0, 2, size=(n + 5, n))
        x0 = rng.integers(0, 2, size=n)
        b = (a @ x0) % 2
        x = gf2_solve(a, b)
        assert x is not None and ((a @ x.astype(int)) % 2 == b).all()
        b2 = b.copy()
        b2[-1] ^= 1
        rank_gap = gf2_solve(a, b2)  # inconsistent unless the last row is a combination allowing it
        if rank_gap is not None:
            assert ((a @ rank_gap.astype(int)) % 2 == b2).all()
    with pytest.raises(CnfError):
        gf2_solve([[1, 0]], [1, 0])


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_xor_clauses_encode_the_constraint_exactly(k):
    for parity_bit in (0, 1):
        lits, offs = xor_clauses([list(range(1, k + 1))], [parity_bit])
        cnf = Cnf.from_arrays(k, lits, offs)
        assert cnf.num_clauses == 2 ** (k - 1)
        models = brute_models(cnf)
        assert len(models) == 2 ** (k - 1)
        assert (models.sum(axis=1) % 2 == parity_bit).all()


def test_random_kxor_labels_agree_with_a_solver():
    labels = Counter()
    for i in range(40):
        cnf = random_kxor(40, ratio=0.95, k=3, seed=4, index=i)
        label = expected_label(cnf)
        labels[label] += 1
        assert solve(cnf) == (label == "sat")
        if label == "sat":
            assert cnf.satisfied_by(cnf.planted)
        assert cnf.num_clauses == 4 * cnf.parameters["m"]
    assert labels["sat"] > 0 and labels["unsat"] > 0  # both labels occur near the threshold


def test_random_kxor_tiny_by_enumeration_and_satisfiable_mode():
    for i in range(30):
        cnf = random_kxor(6, m=6, k=3, seed=1, index=i)
        assert (brute_models(cnf).shape[0] > 0) == (expected_label(cnf) == "sat")
    for i in range(5):
        cnf = random_kxor(50, ratio=2.0, satisfiable=True, seed=1, index=i)
        assert expected_label(cnf) == "sat" and cnf.satisfied_by(cnf.planted)
    with pytest.raises(CnfError, match="k must be <= 12"):
        random_kxor(20, m=3, k=13)


# ------------------------------------------------------------------------------ graphs, Tseitin
def test_random_regular_graphs_are_simple_and_regular():
    rng = formula_rng(0, 0)
    for v, d in [(10, 3), (11, 4), (20, 5), (8, 1), (7, 4)]:
        edges = random_regular_graph(v, d, rng)
        assert edges.shape == (v * d // 2, 2)
        assert (edges[:, 0] < edges[:, 1]).all()
        assert len({tuple(e) for e in edges.tolist()}) == edges.shape[0]
        assert np.bincount(edges.ravel(), minlength=v).tolist() == [d] * v
    with pytest.raises(CnfError, match="even"):
        random_regular_graph(5, 3, rng)
    with pytest.raises(CnfError, match="more than 3 vertices"):
        random_regular_graph(3, 3, rng)


def test_random_regular_graphs_are_uniform():
    """On 4 vertices the 2-regular graphs are the 3 four-cycles: each must come up about 1/3."""
    rng = np.random.default_rng(5)
    seen = Counter(tuple(map(tuple, random_regular_graph(4, 2, rng).tolist())) for _ in range(900))
    assert len(seen) == 3
    assert all(240 < c < 360 for c in seen.values()), seen


@pytest.mark.parametrize("charge", ["odd", "even", "random"])
def test_tseitin_labels_agree_with_a_solver(charge):
    for i in range(6):
        cnf = tseitin(14, degree=3, charge=charge, seed=2, index=i)
        label = expected_label(cnf)
        if charge == "odd":
            assert label == "unsat"
        assert solve(cnf) == (label == "sat")
        if label == "sat":
            assert cnf.satisfied_by(cnf.planted)
        assert cnf.num_vars == 21 and cnf.num_clauses == 14 * 4


def test_tseitin_tiny_by_enumeration_and_degree_4():
    for i in range(4):
        for charge in ("odd", "even"):
            cnf = tseitin(6, degree=3, charge=charge, seed=0, index=i)
            assert (brute_models(cnf).shape[0] > 0) == (charge == "even") == (expected_label(cnf) == "sat")
    cnf = tseitin(9, degree=4, charge="odd", seed=1)
    assert cnf.max_clause_len == 4 and cnf.num_clauses == 9 * 8 and not solve(cnf)


def test_tseitin_on_a_disconnected_graph_uses_components():
    # degree 1: a perfect matching, one component per edge; even total charge is not enough.
    labels = set()
    for i in range(20):
        cnf = tseitin(6, degree=1, charge="even", seed=3, index=i)
        label = expected_label(cnf)
        labels.add(label)
        assert (brute_models(cnf).shape[0] > 0) == (label == "sat")
    assert labels == {"sat", "unsat"}
