"""Generators: the documented draws, reproducibility, provenance, the registry."""

from __future__ import annotations

import collections
import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsad.instances import (
    FAMILY_ALIASES,
    GENERATORS,
    Cnf,
    CnfError,
    format_dimacs,
    formula_rng,
    generate,
    parse_dimacs,
    planted_ksat,
    random_ksat,
    regenerate,
)


# ------------------------------------------------------- a pure-Python reference of the documented draws
def reference_rng(seed, index):
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, index])))


def reference_draw(rng, n, k, count):
    columns = [rng.integers(0, n - j, size=count).tolist() for j in range(k)]
    negated = rng.integers(0, 2, size=(count, k)).tolist()
    clauses = []
    for r in range(count):
        remaining = list(range(1, n + 1))  # the u-th variable not drawn yet, in increasing order
        variables = [remaining.pop(columns[j][r]) for j in range(k)]
        clauses.append(tuple(-v if s else v for v, s in zip(variables, negated[r])))
    return clauses


def reference_random(n, m, k, seed, index):
    return reference_draw(reference_rng(seed, index), n, k, m)


def reference_planted(n, m, k, seed, index):
    rng = reference_rng(seed, index)
    hidden = [bool(b) for b in rng.integers(0, 2, size=n).tolist()]
    slots = [None] * m
    todo = list(range(m))
    while todo:
        candidates = reference_draw(rng, n, k, len(todo))
        still = []
        for slot, clause in zip(todo, candidates):
            if any(hidden[abs(l) - 1] == (l > 0) for l in clause):
                slots[slot] = clause
            else:
                still.append(slot)
        todo = still
    return tuple(slots), tuple(hidden)


sizes = st.integers(1, 9).flatmap(
    lambda n: st.tuples(st.just(n), st.integers(0, 25), st.integers(1, n), st.integers(0, 2**64), st.integers(0, 50))
)


@settings(max_examples=60, deadline=None)
@given(sizes)
def test_random_ksat_follows_the_documented_draws(size):
    n, m, k, seed, index = size
    cnf = random_ksat(n, m=m, k=k, seed=seed, index=index)
    assert cnf.clauses == tuple(reference_random(n, m, k, seed, index))


@settings(max_examples=60, deadline=None)
@given(sizes)
def test_planted_ksat_follows_the_documented_draws(size):
    n, m, k, seed, index = size
    cnf = planted_ksat(n, m=m, k=k, seed=seed, index=index)
    assert (cnf.clauses, cnf.planted) == reference_planted(n, m, k, seed, index)


def test_pinned_formulas():
    """Changing the draws changes every formula ever generated: this must fail loudly."""
    assert random_ksat(6, m=4, seed=0).clauses == ((-6, -2, -1), (-4, -1, -6), (-4, -1, 5), (-2, -1, 6))
    cnf = planted_ksat(6, m=4, seed=0)
    assert cnf.clauses == ((-1, -5, 6), (-1, -6, 4), (2, -4, -5), (5, -4, -3))
    assert cnf.planted == (True, True, True, False, False, False)
    assert random_ksat(5, ratio=4.26, seed=2024, index=7).clauses[:3] == ((-1, 5, -3), (5, -3, 4), (1, 5, 2))


def test_formula_rng_is_the_documented_generator():
    assert np.array_equal(formula_rng(12, 3).random(8), reference_rng(12, 3).random(8))
    assert not np.array_equal(formula_rng(12, 3).random(8), formula_rng(12, 4).random(8))
    assert not np.array_equal(formula_rng(12, 3).random(8), formula_rng(3, 12).random(8))


@pytest.mark.parametrize("seed, index, message", [(-1, 0, "seed must be >= 0"), (0, -1, "index must be >= 0"),
                                                  (1.0, 0, "seed must be an integer"), (0, True, "index must be an integer")])
def test_formula_rng_rejects_bad_seeds(seed, index, message):
    with pytest.raises(CnfError, match=message):
        formula_rng(seed, index)


# ------------------------------------------------------------------------- reproducibility
@pytest.mark.parametrize("generator", [random_ksat, planted_ksat])
def test_reproducible_and_distinct(generator):
    run = [generator(30, ratio=4.26, seed=11, index=i) for i in range(20)]
    again = [generator(30, ratio=4.26, seed=11, index=i) for i in range(20)]
    assert run == again
    assert len(set(run)) == 20
    assert len({generator(30, ratio=4.26, seed=s, index=0) for s in range(20)}) == 20
    assert generator(30, m=128, seed=11, index=3) == run[3]  # m = round(4.26 * 30) = 128


@pytest.mark.parametrize("generator", [random_ksat, planted_ksat])
def test_no_global_random_state(generator):
    np.random.seed(1)
    before = np.random.get_state()[1].copy()
    first = generator(20, m=50, seed=5)
    assert np.array_equal(np.random.get_state()[1], before)
    np.random.seed(2)
    assert generator(20, m=50, seed=5) == first


# ------------------------------------------------------------------------------- structure
@settings(max_examples=40, deadline=None)
@given(sizes)
def test_clauses_have_k_distinct_variables(size):
    n, m, k, seed, index = size
    for cnf in (random_ksat(n, m=m, k=k, seed=seed, index=index), planted_ksat(n, m=m, k=k, seed=seed, index=index)):
        assert cnf.num_vars == n and cnf.num_clauses == m
        assert np.all(cnf.clause_lengths == k)
        variables = np.abs(cnf.literals).reshape(m, k)
        assert np.all((variables >= 1) & (variables <= n))
        assert all(len(set(row)) == k for row in variables.tolist())


def test_k_equals_n_gives_permutations():
    cnf = random_ksat(5, m=50, k=5, seed=4)
    assert all(sorted(map(abs, c)) == [1, 2, 3, 4, 5] for c in cnf.clauses)


def test_empty_and_large():
    assert random_ksat(3, m=0).clauses == () and planted_ksat(3, ratio=0).clauses == ()
    big = random_ksat(10_000, ratio=4.26, seed=1)
    assert big.num_clauses == 42_600 and big.max_variable <= 10_000


def test_uniform_over_ordered_variable_tuples_and_signs():
    cnf = random_ksat(4, m=24_000, k=3, seed=0)
    counts = collections.Counter(tuple(map(abs, c)) for c in cnf.clauses)
    assert set(counts) == set(itertools.permutations(range(1, 5), 3))
    assert all(850 <= c <= 1150 for c in counts.values()), counts  # 1000 expected, sd 31
    negated = float(np.mean(cnf.literals < 0))
    assert abs(negated - 0.5) < 0.01  # sd 0.002


def test_planted_is_uniform_over_the_satisfied_sign_patterns():
    cnf = planted_ksat(3, m=14_000, k=3, seed=1)
    hidden = np.array(cnf.planted)
    literals = cnf.literals.reshape(-1, 3)
    agree = (literals > 0) == hidden[np.abs(literals) - 1]
    patterns = collections.Counter(map(tuple, agree.tolist()))
    assert (False, False, False) not in patterns
    assert len(patterns) == 7 and all(1750 <= c <= 2250 for c in patterns.values()), patterns  # 2000, sd 41


@settings(max_examples=30, deadline=None)
@given(st.integers(3, 40), st.floats(0, 8), st.integers(0, 10**6))
def test_planted_formulas_are_satisfied_by_their_assignment(n, ratio, seed):
    cnf = planted_ksat(n, ratio=ratio, seed=seed)
    assert isinstance(cnf.planted, tuple) and len(cnf.planted) == n
    assert all(type(b) is bool for b in cnf.planted)
    assert cnf.satisfied_by(cnf.planted)


# ------------------------------------------------------------------------- clause counts
@pytest.mark.parametrize(
    "n, ratio, m",
    [
        (50, 4.26, 213),
        (20, 4.55, 91),
        (100, 4.26, 426),
        (1, 4.5, 4),  # halves go to the even integer (Python's round)
        (1, 5.5, 6),
        (3, 0.5, 2),  # 1.5 -> 2
        (5, 0.5, 2),  # 2.5 -> 2
        (7, 0, 0),
        (10, 3, 30),
        (50, np.float64(4.26), 213),
        (50, Fraction(213, 50), 213),
        (3, 0.3, 1),  # 0.8999999999999999 -> 1
    ],
)
def test_ratio_to_m_rounding(n, ratio, m):
    cnf = random_ksat(n, ratio=ratio, k=1)
    assert cnf.num_clauses == m == cnf.parameters["m"]
    stored = cnf.parameters["ratio"]  # a plain int or float, so that provenance is JSON
    assert stored == float(ratio) and type(stored) is (int if isinstance(ratio, int) else float)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n": 10, "m": 5, "ratio": 0.5}, "exactly one of m"),
        ({"n": 10}, "exactly one of m"),
        ({"n": 2, "m": 3, "k": 3}, "k = 3 distinct variables per clause need n >= k, got n = 2"),
        ({"n": 0, "m": 3}, "n must be >= 1"),
        ({"n": 5, "m": 3, "k": 0}, "k must be >= 1"),
        ({"n": 5, "m": -1}, "m must be >= 0"),
        ({"n": 5, "m": 2.0}, "m must be an integer"),
        ({"n": 5, "ratio": -1.0}, "ratio must be finite and >= 0"),
        ({"n": 5, "ratio": float("nan")}, "ratio must be finite"),
        ({"n": 5, "ratio": float("inf")}, "ratio must be finite"),
        ({"n": 5, "ratio": True}, "ratio must be a real number"),
        ({"n": 5, "ratio": "4.2"}, "ratio must be a real number"),
        ({"n": 5, "m": 3, "seed": -1}, "seed must be >= 0"),
        ({"n": 5, "m": 3, "index": -1}, "index must be >= 0"),
        ({"n": 5.0, "m": 3}, "n must be an integer"),
    ],
)
@pytest.mark.parametrize("generator", [random_ksat, planted_ksat])
def test_bad_parameters(generator, kwargs, message):
    with pytest.raises(CnfError, match=message):
        generator(**kwargs)


# ------------------------------------------------------------------------------ provenance
def test_provenance():
    cnf = random_ksat(20, ratio=4.55, k=3, seed=8, index=4)
    assert (cnf.family, cnf.seed, cnf.index, cnf.planted) == ("random-ksat", 8, 4, None)
    assert dict(cnf.parameters) == {"n": 20, "m": 91, "k": 3, "ratio": 4.55}
    planted = planted_ksat(20, m=80, k=4, seed=8)
    assert (planted.family, planted.seed, planted.index) == ("planted-ksat", 8, 0)
    assert dict(planted.parameters) == {"n": 20, "m": 80, "k": 4, "ratio": None}


@pytest.mark.parametrize("generator", [random_ksat, planted_ksat])
def test_provenance_survives_dimacs(generator):
    cnf = generator(25, ratio=4.2, seed=3, index=9)
    back = parse_dimacs(format_dimacs(cnf))
    assert back == cnf
    assert (back.family, dict(back.parameters), back.seed, back.index, back.planted) == (
        cnf.family, dict(cnf.parameters), cnf.seed, cnf.index, cnf.planted)
    again = regenerate(back)
    assert again == cnf and again.planted == cnf.planted


# -------------------------------------------------------------------------------- registry
def test_registry():
    from nsad.instances.families import FAMILIES

    assert dict(GENERATORS) == {"random-ksat": random_ksat, "planted-ksat": planted_ksat, **FAMILIES}
    with pytest.raises(TypeError):
        GENERATORS["x"] = random_ksat
    assert set(FAMILY_ALIASES.values()) <= set(GENERATORS)
    for family, function in [("random-ksat", random_ksat), ("planted-ksat", planted_ksat)]:
        cnf = function(12, ratio=3.0, k=3, seed=1, index=2)
        assert cnf.family == family
        assert generate(family, n=12, ratio=3.0, seed=1, index=2) == cnf
        assert generate(family.upper(), n=12, m=36, seed=1, index=2) == cnf


def test_generate_aliases_and_errors():
    assert generate("planted", n=10, m=20, seed=2).family == "planted-ksat"
    assert generate("random", n=10, m=20, seed=2) == random_ksat(10, m=20, seed=2)
    with pytest.raises(CnfError, match="unknown formula family 'sudoku'; choose one of: random-ksat"):
        generate("sudoku", n=3, m=1)
    with pytest.raises(CnfError, match="bad parameters for random-ksat"):
        generate("random-ksat", n=3, m=1, colour="red")
    with pytest.raises(CnfError, match=r"m = 7 disagrees with ratio = 4.26: round\(ratio \* n\) = 43"):
        generate("random-ksat", n=10, m=7, ratio=4.26)
    assert generate("random-ksat", n=10, m=None, ratio=2.0) == random_ksat(10, m=20)


def test_regenerate_needs_provenance():
    with pytest.raises(CnfError, match="no generator provenance"):
        regenerate(Cnf(2, [(1, 2)]))
