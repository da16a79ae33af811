"""Network deciders (solvers.network.table*): hand-built networks, cross-checks between methods, limits."""

from __future__ import annotations

import itertools
import json
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nsad.networks import Certificate, NetworkError, ReluNetwork, check
from nsad.solvers.network.table import DEFAULT_NETWORK_METHOD, NETWORK_DECIDERS, decide_network
from nsad.solvers.network.certify import axis_test, certificate_from_points, certificate_from_witness, rationalise
from nsad.solvers.network.exhaustive import count_sign_changing_units, strictly_feasible_exact
from nsad.solvers.network.milp import encode_milp, interval_bounds
from nsad.solvers.network.search import float_gradients
from nsad.solvers.registry import SolverError
from nsad.solvers.verdict import SINGLETON, TWO, UNKNOWN

COMPLETE = ("milp", "milp-ortools", "exhaustive")
ALL = COMPLETE + ("search",)

ABS_X1 = ReluNetwork([[[1, 0], [-1, 0]], [[1, 1]]])  # |x1| on R^2
IDENTITY = ReluNetwork([[[1], [-1]], [[1, -1]]])  # relu(x) - relu(-x) = x
ZERO_IN_DISGUISE = ReluNetwork([[[1], [2]], [[2, -1]]])  # 2 relu(x) - relu(2x) = 0
# docs/theory.md section 3: F(x) = relu(min(2 x2 - x1, x1 - x2)) with min(a, b) = relu(a) - relu(-a) - relu(a - b)
COUNTER = ReluNetwork([[[-1, 2], [1, -2], [-2, 3]], [[1, -1, -1]], [[1]]])


def odd(net: ReluNetwork) -> ReluNetwork:
    """``G(x) = N(x) - N(-x)``: passes the axis test (``G(-e_i) = -G(e_i)``), usually nonlinear."""
    mats = [m.toarray() for m in net.matrices]
    out = [np.vstack([mats[0], -mats[0]])]
    for M in mats[1:-1]:
        out.append(np.block([[M, np.zeros_like(M)], [np.zeros_like(M), M]]))
    out.append(np.hstack([mats[-1], -mats[-1]]))
    return ReluNetwork(out)


def assert_sound(net: ReluNetwork, v) -> None:
    assert v.kind == "network"
    if v.answer == TWO:
        assert v.certificate is not None and check(net, v.certificate).ok
        assert v.element is None
    elif v.answer == SINGLETON:
        assert v.element == axis_test(net).a
        assert v.certificate is None
    else:
        assert v.answer == UNKNOWN and v.reason


# -- hand-built networks --------------------------------------------------------------------------
@pytest.mark.parametrize("method", ALL)
def test_abs_has_two_subgradients_by_the_axis_test(method):
    v = decide_network(ABS_X1, method)
    assert v.answer == TWO
    assert_sound(ABS_X1, v)
    assert {g[0] for g in v.certificate.gradients} == {1, -1}
    assert "axis test" in v.reason
    assert v.complete is (method != "search")


@pytest.mark.parametrize("method", COMPLETE)
def test_linear_networks_are_singletons(method):
    v = decide_network(IDENTITY, method)
    assert (v.answer, v.element, v.complete) == (SINGLETON, (1,), True)
    w = decide_network(ZERO_IN_DISGUISE, method)
    assert (w.answer, w.element) == (SINGLETON, (0,))
    if method.startswith("milp"):
        assert "up to MILP tolerance 1e-06" in w.reason
    else:
        assert w.reason.startswith("exact")


def test_search_is_never_complete_on_linear_networks():
    v = decide_network(ZERO_IN_DISGUISE, "search", max_points=300)
    assert (v.answer, v.complete) == (UNKNOWN, False)
    assert "not complete" in v.reason


@pytest.mark.parametrize("method", COMPLETE)
def test_theory_counterexample_is_found_by_complete_methods(method):
    ax = axis_test(COUNTER)
    assert ax.passed and ax.a == (0, 0)
    assert COUNTER.evaluate_exact([Fraction(3, 4), Fraction(1, 2)]) == Fraction(1, 4)
    v = decide_network(COUNTER, method)
    assert v.answer == TWO and v.complete
    assert_sound(COUNTER, v)


def test_search_does_not_contradict_the_counterexample():
    v = decide_network(COUNTER, "search", seed=3)
    assert v.answer in (TWO, UNKNOWN) and not v.complete
    assert_sound(COUNTER, v)


def test_milp_ortools_highs_backend_and_stats():
    v = decide_network(COUNTER, "milp-ortools", solver="highs")
    assert v.answer == TWO
    assert v.stats["solver"] == "HiGHS via OR-Tools"
    w = decide_network(COUNTER, "milp")
    assert w.stats["binaries"] == 2 and "nodes" in w.stats and "solve_seconds" in w.stats
    with pytest.raises(SolverError, match="solver must be"):
        decide_network(COUNTER, "milp-ortools", solver="cplex")


# -- the registry and decide_network ----------------------------------------------------------------
def test_registry_names_aliases_and_errors():
    assert set(ALL) <= set(NETWORK_DECIDERS.names())
    assert NETWORK_DECIDERS.canonical("HIGHS") == "milp"
    assert NETWORK_DECIDERS.canonical("random-search") == "search"
    assert DEFAULT_NETWORK_METHOD in NETWORK_DECIDERS
    assert decide_network(IDENTITY).answer == SINGLETON
    with pytest.raises(SolverError, match="unknown network decider 'cplex'"):
        decide_network(IDENTITY, "cplex")
    with pytest.raises(SolverError, match="no option 'max_points'"):
        decide_network(IDENTITY, "milp", max_points=3)
    for bad in (0, -1, float("nan"), "soon"):
        with pytest.raises(SolverError, match="time_limit"):
            decide_network(IDENTITY, "milp", time_limit=bad)
    with pytest.raises(NetworkError, match="scalar"):
        decide_network(ReluNetwork([np.eye(2)]), "milp")
    with pytest.raises(SolverError, match="ReluNetwork"):
        decide_network([[1]], "milp")


@pytest.mark.parametrize("method", ALL)
def test_verdicts_are_json_ready(method):
    for net in (ABS_X1, COUNTER, IDENTITY):
        json.dumps(decide_network(net, method).to_json())


def test_verdict_json_round_trip_of_certificate():
    v = decide_network(COUNTER, "milp")
    js = v.to_json()
    assert js["verdict"] == TWO and js["method"] == "milp" and js["element"] is None
    assert check(COUNTER, Certificate.from_json(js["certificate"])).ok


def test_exhaustive_refuses_large_networks():
    net = big_odd_network(seed=1, n=6, width=20, depth=2)
    assert count_sign_changing_units(net) > 16
    with pytest.raises(SolverError, match="max_units"):
        decide_network(net, "exhaustive")


def big_odd_network(seed=0, n=30, width=60, depth=3) -> ReluNetwork:
    rng = np.random.default_rng(seed)
    mats, prev = [], n
    for _ in range(depth):
        mats.append(sp.random_array((width, prev), density=0.2, rng=rng, data_sampler=lambda size: rng.integers(-2, 3, size)))
        prev = width
    mats.append(rng.integers(-2, 3, size=(1, prev)))
    return odd(ReluNetwork(mats))


@pytest.mark.parametrize("method", ALL)
def test_time_limit_on_a_big_network_returns(method):
    net = big_odd_network()
    assert axis_test(net).passed
    if method == "exhaustive":
        v = decide_network(net, method, time_limit=0.5, max_units=10**6)
    else:
        v = decide_network(net, method, time_limit=0.5)
    assert_sound(net, v)  # no timed assertion: it returns, with a sound answer


# -- the shared helpers -----------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.lists(st.integers(1, 4), min_size=1, max_size=3), st.integers(0, 2**32 - 1))
def test_axis_test_batched_agrees_with_exact_evaluation(n, widths, seed):
    rng = np.random.default_rng(seed)
    dims = [n] + widths + [1]
    net = ReluNetwork([rng.integers(-3, 4, size=(dims[k + 1], dims[k])) for k in range(len(dims) - 1)])
    ax = axis_test(net)
    assert ax.exact_path == "int64-batch"
    for i in range(n):
        e = [0] * n
        e[i] = 1
        assert ax.a[i] == net.evaluate_exact(e)
        e[i] = -1
        assert ax.b[i] == net.evaluate_exact(e)


def test_axis_test_on_rational_weights_uses_exact_python_path():
    net = ReluNetwork([[[0.5], [-0.25]], [[1, 1]]])
    ax = axis_test(net)
    assert ax.exact_path == "python-exact"
    assert ax.a == (Fraction(1, 2),) and ax.b == (Fraction(1, 4),)
    v = decide_network(net, "milp")
    assert v.answer == TWO and check(net, v.certificate).ok


def test_certificate_from_witness_failures_are_reasons():
    res = certificate_from_witness(IDENTITY, [0.3], [1])
    assert not res.ok and "no rational point" in res.reason
    res = certificate_from_witness(COUNTER, [float("nan"), 0.5], [0, 0])
    assert not res.ok
    bad = certificate_from_points(COUNTER, [1, 1], [3, 2])  # (1, 1) lies on a kink
    assert not bad.ok and "not generic" in bad.reason


def test_rationalise_prefers_small_denominators():
    assert rationalise([0.999999, -0.0000001], lambda p: True) == (1, 0)
    assert rationalise([0.1], lambda p: False) is None


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_exact_strict_feasibility_agrees_with_brute_force_directions(n, m, seed):
    rng = np.random.default_rng(seed)
    C = rng.integers(-2, 3, size=(m, n)).tolist()
    x = strictly_feasible_exact(C, n)
    if x is not None:
        assert all(sum(Fraction(c) * v for c, v in zip(row, x)) >= 1 for row in C)
    else:  # no point of a fine grid is strictly inside (sound check of the infeasibility claim)
        grid = itertools.product(range(-6, 7), repeat=n)
        assert not any(all(sum(c * v for c, v in zip(row, p)) > 0 for row in C) for p in grid)


def test_float_gradients_match_exact_gradients_at_generic_points():
    net = big_odd_network(seed=2, n=6, width=8, depth=2)
    X = np.random.default_rng(1).integers(-1000, 1001, size=(20, net.n_inputs)).astype(float)
    G = float_gradients(net, X)
    for x, g in zip(X, G):
        lin = net.linearize([int(v) for v in x])
        if lin.gradient is not None:
            assert tuple(int(v) for v in g) == lin.gradient


def test_milp_encoding_merges_carries_and_bounds_are_valid():
    enc = encode_milp(IDENTITY, [1])
    assert enc.n_binaries == 0 and not enc.objective.any()
    net = big_odd_network(seed=4, n=5, width=6, depth=2)
    bounds, exact = interval_bounds(net)
    X = np.random.default_rng(0).uniform(-1, 1, size=(200, 5))
    H = X.T
    for (l, u), M in zip(bounds, net.matrices[:-1]):
        Z = M @ H
        assert np.all(Z >= l[:, None] - 1e-9) and np.all(Z <= u[:, None] + 1e-9)
        H = np.maximum(Z, 0)


# -- cross-checks on random small networks ----------------------------------------------------------
@st.composite
def small_networks(draw):
    n = draw(st.integers(1, 3))
    widths = draw(st.lists(st.integers(1, 3), min_size=1, max_size=2))
    dims = [n] + widths + [1]
    mats = [
        np.array(draw(st.lists(st.integers(-2, 2), min_size=dims[k + 1] * dims[k], max_size=dims[k + 1] * dims[k])))
        .reshape(dims[k + 1], dims[k])
        for k in range(len(dims) - 1)
    ]
    net = ReluNetwork(mats)
    return odd(net) if draw(st.booleans()) else net


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_networks())
def test_complete_methods_agree_and_search_never_contradicts(net):
    truth = decide_network(net, "exhaustive")
    assert truth.answer in (TWO, SINGLETON) and truth.complete
    assert_sound(net, truth)
    milp = decide_network(net, "milp")
    assert milp.answer == truth.answer
    assert_sound(net, milp)
    search = decide_network(net, "search", max_points=256)
    assert search.answer in (truth.answer, UNKNOWN) and search.answer != SINGLETON
    assert_sound(net, search)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_networks())
def test_ortools_backend_agrees_with_exhaustive(net):
    truth = decide_network(net, "exhaustive")
    v = decide_network(net, "milp-ortools")
    assert v.answer == truth.answer
    assert_sound(net, v)


# -- reduction networks (needs reductions.sat_to_relu and instances) --------------------------------
def test_complete_methods_agree_with_brute_force_satisfiability():
    """SAT iff two subgradients, on reduction networks (the deciders never see the formula)."""
    from nsad.reductions import sat_to_relu
    import nsad.instances as instances
    Cnf = instances.Cnf
    formulas = [
        Cnf(3, []),  # no clause: F = |x1|
        Cnf(2, [(1, -1)]),  # only a tautology
        Cnf(2, [()]),  # an empty clause: F = 0
        Cnf(2, [(1,), (-1,)]),  # complementary unit clauses
        Cnf(4, [(1,), (2,)]),  # unit clauses, unused variables
        Cnf(3, [(1, 1, -2), (-1, 3, 3)]),  # repeated literals
    ]
    formulas += [
        instances.random_ksat(2 + i % 5, ratio=(1.5, 3.0, 4.26)[i % 3], k=min(3, 2 + i % 5), seed=11, index=i)
        for i in range(10)
    ]
    checked = exhaustive_runs = 0
    for cnf in formulas:
        n = cnf.num_vars
        net = sat_to_relu.reduce(cnf)
        sat = any(cnf.satisfied_by(bits) for bits in itertools.product((False, True), repeat=n))
        expected = TWO if sat else SINGLETON
        methods = ["milp", "search"]
        if count_sign_changing_units(net) <= 16:
            methods.append("exhaustive")
            exhaustive_runs += 1
        for method in methods:
            v = decide_network(net, method, time_limit=60)
            assert_sound(net, v)
            if method == "search":
                assert v.answer in (expected, UNKNOWN)
            else:
                assert v.answer == expected, (cnf.clauses, method, v.reason)
                checked += 1
    assert checked >= len(formulas) and exhaustive_runs >= 6


def test_random_networks_cover_every_case_and_methods_agree():
    """Fixed seeds: some networks fail the axis test, some pass it and are linear, some pass it and are not."""
    seen = set()
    for seed in range(24):
        rng = np.random.default_rng(seed)
        n = 1 + seed % 3
        dims = [n] + [int(v) for v in rng.integers(1, 4, size=1 + seed % 2)] + [1]
        net = ReluNetwork([rng.integers(-2, 3, size=(dims[k + 1], dims[k])) for k in range(len(dims) - 1)])
        net = odd(net) if seed % 2 else net
        truth = decide_network(net, "exhaustive")
        milp = decide_network(net, "milp")
        assert milp.answer == truth.answer
        assert_sound(net, truth)
        assert_sound(net, milp)
        seen.add((axis_test(net).passed, truth.answer))
    assert seen == {(False, TWO), (True, SINGLETON), (True, TWO)}


def test_milp_never_answers_with_an_unchecked_witness(monkeypatch):
    """A solver 'witness' where F(x) = a.x exactly cannot be certified: the answer is UNKNOWN."""
    import nsad.solvers.network.milp as nm

    def fake_side(enc, sign, tol, time_limit, strict, seed):
        x = np.zeros(enc.A.shape[1])
        x[: enc.n_inputs] = [0.25, 0.5]  # F(1/4, 1/2) = relu(min(3/4, -1/4)) = 0 = a.x
        return nm.SideResult("witness", x, 0.5, 0, 0.0, "fake")

    monkeypatch.setattr(nm, "_side_scipy", fake_side)
    v = decide_network(COUNTER, "milp")
    assert v.answer == UNKNOWN and v.certificate is None
    assert "no certificate could be built" in v.reason
    assert v.stats["max_status"] == "witness (strict tolerances)"
