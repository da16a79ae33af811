"""Networks with biases: the field, exact and float evaluation against a direct Fraction computation,
exact gradients, `.npz` members b{k}, and the one-line refusals of code that assumes no biases."""

from __future__ import annotations

import os
import pickle
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nsad.errors import NsadError
from nsad.networks import Certificate, NetworkError, ReluNetwork, check

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def direct(mats, bs, x):
    """F(x) with Fractions, straight from the definition."""
    h = [Fraction(v) for v in x]
    for k, (M, b) in enumerate(zip(mats, bs)):
        z = [sum((Fraction(float(a)) * hj for a, hj in zip(row, h)), Fraction(0)) + Fraction(float(bi))
             for row, bi in zip(M, b)]
        h = z if k == len(mats) - 1 else [max(v, Fraction(0)) for v in z]
    return h


@st.composite
def biased(draw, max_n=3, max_depth=4, halves=True):
    n = draw(st.integers(1, max_n))
    depth = draw(st.integers(1, max_depth))
    widths = [n] + [draw(st.integers(1, 4)) for _ in range(depth - 1)] + [draw(st.integers(1, 2))]
    vals = st.integers(-4, 4).map(lambda v: v / 2 if halves else v)
    mats, bs = [], []
    for a, b in zip(widths[:-1], widths[1:]):
        mats.append(np.array(draw(st.lists(vals, min_size=a * b, max_size=a * b)), dtype=np.float64).reshape(b, a))
        bs.append(np.array(draw(st.lists(vals, min_size=b, max_size=b)), dtype=np.float64))
    return mats, bs


@SETTINGS
@given(biased(), st.lists(st.fractions(min_value=-3, max_value=3, max_denominator=8), min_size=3, max_size=3))
def test_exact_and_float_evaluation_match_the_definition(case, x):
    mats, bs = case
    net = ReluNetwork(mats, bs)
    x = x[: net.n_inputs]
    want = direct(mats, bs, x)
    got = net.evaluate_exact(x)
    assert [Fraction(v) for v in (got if net.n_outputs > 1 else [got])] == want
    fl = np.atleast_1d(net.evaluate(np.array([float(v) for v in x])))
    assert np.allclose(fl, [float(v) for v in want])


@SETTINGS
@given(biased(halves=False), st.integers(0, 2**31))
def test_gradient_at_generic_points_is_the_local_slope(case, seed):
    """At a generic point x, F(x + t d) = F(x) + t g.d exactly for small t; at a non-generic point some
    unit has z = 0 with a moving local row, which the check finds from the definition."""
    mats, bs = case
    net = ReluNetwork(mats, bs)
    rng = np.random.default_rng(seed)
    for _ in range(4):
        x = [Fraction(int(p), int(q)) for p, q in zip(rng.integers(-9, 10, net.n_inputs), rng.integers(1, 5, net.n_inputs))]
        lin = net.linearize(x)
        if lin.gradient is None:
            continue
        t = Fraction(1, 2**40)
        d = [Fraction(int(v)) for v in rng.integers(-3, 4, net.n_inputs)]
        F0, F1 = direct(mats, bs, x), direct(mats, bs, [a + t * b for a, b in zip(x, d)])
        rows = lin.gradient if net.n_outputs > 1 else (lin.gradient,)
        for j, g in enumerate(rows):
            assert F1[j] - F0[j] == t * sum(Fraction(gi) * di for gi, di in zip(g, d))


def test_zero_biases_are_the_bias_free_network():
    a = ReluNetwork([[[1, -1]]], biases=[[0]])
    assert not a.has_biases and a.biases is None and a == ReluNetwork([[[1, -1]]])
    b = ReluNetwork([[[1, -1]]], biases=[[1]])
    assert b.has_biases and b != a and "biases=True" in repr(b) and b.describe()["biases"] is True
    assert a.describe()["biases"] is False
    assert pickle.loads(pickle.dumps(b)) == b
    assert b.bias_vectors()[0].tolist() == [1] and a.bias_vectors()[0].tolist() == [0]


@pytest.mark.parametrize("biases, msg", [
    ([[1, 2]], "vector of 1 entries"),
    ([[np.nan]], "non-finite"),
    ([["a"]], "unsupported dtype"),
    ([[1], [2]], "1 matrices need 1 bias vectors"),
    ([[Fraction(1, 3)]], "non-dyadic"),
])
def test_bias_validation(biases, msg):
    with pytest.raises(NetworkError, match=msg):
        ReluNetwork([[[1.0, 2.0]]], biases=biases)


def test_dyadic_fraction_biases_are_kept_exactly():
    net = ReluNetwork([[[1]]], biases=[[Fraction(3, 8)]])
    assert net.evaluate_exact([0]) == Fraction(3, 8)


def test_npz_round_trip_and_members(tmp_path):
    net = ReluNetwork([[[1.0], [1.0]], [[1, 1]]], biases=[[-1, 0.5], [2]])
    p = str(tmp_path / "b.npz")
    net.save(p, layout="layers")
    with np.load(p) as z:
        assert {"b1", "b2"} <= set(z.files) and z["b1"].tolist() == [-1.0, 0.5] and z["b2"].dtype == np.int64
    assert ReluNetwork.load(p) == net
    free = str(tmp_path / "f.npz")
    ReluNetwork([[[1]]]).save(free, layout="layers")
    with np.load(free) as z:
        assert not any(f.startswith("b") for f in z.files)
    net.save(p)  # the packed layout
    assert ReluNetwork.load(p) == net
    with np.load(p) as z:
        assert z["bias_float"].tolist() == [-1.0, 0.5] and z["bias_int"].tolist() == [2]
        assert z["kinds"].tolist() == [[0, 1], [0, 0]]   # integral weights are int64, b1 is float


def _rewrite(path, **changes):
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    for k, v in changes.items():
        if v is None:
            arrays.pop(k, None)
        else:
            arrays[k] = v
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def test_npz_bias_members_are_checked(tmp_path):
    p = str(tmp_path / "b.npz")
    ReluNetwork([[[1.0], [1.0]], [[1, 1]]], biases=[[-1, 0.5], [2]]).save(p, layout="layers")
    _rewrite(p, b2=None)  # a missing b{k} reads as zeros
    assert ReluNetwork.load(p).bias_vectors()[1].tolist() == [0]
    _rewrite(p, b1=np.array([1.0, 2.0, 3.0]))
    with pytest.raises(NetworkError, match=r"b\.npz: b1 must be a vector of 2 entries"):
        ReluNetwork.load(p)
    _rewrite(p, b1=np.array([1.0, np.inf]))
    with pytest.raises(NetworkError, match="b1 has non-finite"):
        ReluNetwork.load(p)
    _rewrite(p, b1=np.array(["x", "y"]))
    with pytest.raises(NetworkError, match="b1 has unsupported dtype"):
        ReluNetwork.load(p)


def _refusals():
    from nsad.networks.ad.clarke import clarke_subdifferential_at_zero
    from nsad.networks.ad.engine import prepare
    from nsad.reductions.vnnlib import reduction_property
    from nsad.solvers import decide_network
    from nsad.solvers.network.certify import axis_test
    from nsad.solvers.network.milp import interval_bounds
    from nsad.solvers.network.normal_form import normal_form

    cert = Certificate(points=((1,), (-1,)), gradients=((1,), (-1,)))
    return {
        "decide": lambda n: decide_network(n),
        "decide-milp": lambda n: decide_network(n, "milp"),
        "check": lambda n: check(n, cert),
        "axis": axis_test,
        "box": interval_bounds,
        "normal-form": normal_form,
        "engine": prepare,
        "clarke": clarke_subdifferential_at_zero,
        "vnnlib": reduction_property,
    }


@pytest.mark.parametrize("what", sorted(_refusals()))
def test_code_that_assumes_no_biases_refuses_with_one_line(what):
    net = ReluNetwork([[[1], [-1]], [[1, 1]]], biases=[[0, 1], [0]])
    with pytest.raises(NsadError) as info:
        _refusals()[what](net)
    msg = str(info.value)
    assert "\n" not in msg and "biases" in msg
