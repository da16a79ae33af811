"""The question at any point, with biases (nsad.solvers.network.local): the local network equals F
near x0 exactly, answers agree with gradients of F itself near x0, certificates pass check_at."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nsad.solvers.network.local import check_at, decide_at, homogenize, local_network, preactivations

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def biased(draw):
    n = draw(st.integers(1, 3))
    depth = draw(st.integers(2, 4))
    widths = [n] + [draw(st.integers(1, 4)) for _ in range(depth - 1)] + [1]
    mats, bs = [], []
    for a, b in zip(widths[:-1], widths[1:]):
        mats.append(np.array(draw(st.lists(st.integers(-2, 2), min_size=a * b, max_size=a * b)), dtype=np.float64).reshape(b, a))
        bs.append(np.array(draw(st.lists(st.integers(-2, 2), min_size=b, max_size=b)), dtype=np.float64))
    x0 = draw(st.lists(st.integers(-2, 2), min_size=n, max_size=n))  # integer points: many units on kinks
    return mats, bs, x0


def _F(mats, bs, x):
    return Fraction(homogenize(mats, bs).evaluate_exact([Fraction(v) for v in x] + [1]))


@SETTINGS
@given(biased(), st.integers(0, 2**31))
def test_the_local_network_is_F_near_x0(case, seed):
    mats, bs, x0 = case
    rng = np.random.default_rng(seed)
    loc = local_network(mats, bs, x0)
    assert loc.value == _F(mats, bs, x0)
    eps = Fraction(1, 10**6)  # below every nonzero |z_k(x0)| >= 1 divided by the weights' growth
    for _ in range(6):
        d = [Fraction(int(v)) for v in rng.integers(-3, 4, size=len(x0))]
        x = [a + eps * b for a, b in zip(x0, d)]
        assert _F(mats, bs, x) - loc.value == eps * Fraction(loc.network.evaluate_exact(d))


@SETTINGS
@given(biased(), st.integers(0, 2**31))
def test_answers_agree_with_gradients_of_F_itself(case, seed):
    mats, bs, x0 = case
    rng = np.random.default_rng(seed)
    v = decide_at(mats, bs, x0)
    assert v.complete
    H = homogenize(mats, bs)
    eps = Fraction(1, 10**6)
    grads = set()
    for _ in range(12):  # gradients of F at random points near x0: all in dF(x0)
        d = [Fraction(int(a), int(b)) for a, b in zip(rng.integers(-50, 51, size=len(x0)), rng.integers(1, 7, size=len(x0)))]
        lin = H.linearize([a + eps * b for a, b in zip(x0, d)] + [Fraction(1)])
        if lin.gradient is not None:
            grads.add(tuple(Fraction(g) for g in lin.gradient[:-1]))
    if v.answer == "singleton":
        assert all(g == tuple(map(Fraction, v.element)) for g in grads)
    else:
        ok, why = check_at(mats, bs, x0, v.certificate)
        assert ok, why


def test_locality_matters():
    """F = relu(x - 1): two generic points with different gradients exist (1/2 and 2), yet at 0 the
    subdifferential is {0}; at the kink x = 1 it has two elements."""
    mats, bs = [np.array([[1.0]]), np.array([[1.0]])], [np.array([-1.0]), np.array([0.0])]
    v = decide_at(mats, bs, [0])
    assert v.answer == "singleton" and v.element == (0,)
    w = decide_at(mats, bs, ["1"])
    assert w.answer == "two-subgradients" and check_at(mats, bs, [1], w.certificate)[0]
    assert {tuple(g) for g in w.certificate.gradients} == {(0,), (1,)}
    assert preactivations(mats, bs, [1]) == [[0]]
