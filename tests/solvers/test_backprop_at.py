"""Backprop at a point beside the exact Clarke answer (nsad.solvers.network.backprop_at): the exact
backprop against a direct computation; 'is a Clarke element' against brute force (all regions of F at
the point, z3 hull membership) on random networks with points on kinks, deep ones included; float
kinks that rounding creates or hides."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nsad.networks import ReluNetwork
from nsad.solvers.network.backprop_at import _in_hull, backprop_at, exact_backprop
from nsad.solvers.network.local import preactivations
from tests.solvers.test_local import SETTINGS, brute_force_gradients, on_kinks


def direct_backprop(net, x0, s):
    mats = [M.toarray().astype(object) for M in net.matrices]
    zs = preactivations(net, x0)
    g = np.array([Fraction(1)], dtype=object)
    for k in range(len(mats) - 1, -1, -1):
        g = mats[k].T.dot(g)
        if k > 0:
            g = g * np.array([1 if v > 0 else (s if v == 0 else 0) for v in zs[k - 1]], dtype=object)
    return tuple(Fraction(v) for v in g)


@settings(SETTINGS, max_examples=30)
@given(on_kinks(), st.sampled_from([Fraction(0), Fraction(1), Fraction(1, 2)]))
def test_is_clarke_equals_brute_force(case, s):
    net, x0 = case
    r = backprop_at(net, x0, relu_prime=s, dtypes=())
    bp = tuple(Fraction(v) for v in r["backprop"])
    assert bp == direct_backprop(net, x0, s) == tuple(map(Fraction, exact_backprop(net, x0, s)))
    truth = brute_force_gradients(net, x0)
    inside = _in_hull(bp, truth)
    if r["is_clarke"] != "unknown":
        assert r["exact"] and (r["is_clarke"] == "yes") == inside, r["how"]
    else:
        assert s not in (0, 1) or not inside  # unknown only beyond the enumeration


def test_backprop_outside_the_clarke_set():
    """relu(x) - relu(-x) = x: dF(0) = {1}, backprop with relu'(0) = 0 returns 0."""
    F = ReluNetwork([[[1], [-1]], [[1, -1]]], biases=[[0, 0], [0]])
    r = backprop_at(F, [0], relu_prime=0)
    assert r["backprop"] == [0] and r["clarke"]["element"] == [1] and r["is_clarke"] == "no" and r["exact"]
    assert backprop_at(F, [0], relu_prime="1/2")["is_clarke"] == "yes"


def test_a_deep_example_of_theory_section_1_7():
    """(x1 or x2)(not x1)(not x2): dF(0) = {0}; backprop with relu'(0) = 1 is (-1, -3), not a Clarke element."""
    from nsad.instances import Cnf
    from nsad.reductions.sat_to_relu import reduce

    net = reduce(Cnf(2, [(1, 2), (-1,), (-2,)]))
    r = backprop_at(net, [0, 0], relu_prime=1, dtypes=())
    assert r["clarke"]["verdict"] == "singleton" and r["is_clarke"] == "no"
    assert r["backprop"] == [-1, -3] and r["exact"]


def test_float_rounding_creates_and_hides_kinks():
    # z = x1 + x2 - 1 at (1, 2^-12): exactly 2^-12; float16 rounds 1 + 2^-12 to 1, so it sees a kink
    F = ReluNetwork([[[1, 1]], [[1]]], biases=[[-1], [0]])
    r = backprop_at(F, [1, Fraction(1, 2**12)], relu_prime=1)
    f = {d["dtype"]: d for d in r["float"]}
    assert r["kinks_at_x0"] == 0 and r["clarke"]["verdict"] == "singleton" and r["is_clarke"] == "yes"
    assert f["float16"]["rounding_kinks"] == 1 and f["float16"]["float_kinks"] == 1
    assert f["float32"]["rounding_kinks"] == 0 and f["float32"]["equals_exact_backprop"]
    # z = 2^60 + 1 - 2^60 - 1 = 0 exactly; float64 sums in order and gets -1: it misses the kink
    G = ReluNetwork([[[1, 1, 1, 1]], [[1]]])
    r = backprop_at(G, [2**60, 1, -2**60, -1], relu_prime=1, dtypes=("float16", "float64"))
    f = {d["dtype"]: d for d in r["float"]}
    assert r["kinks_at_x0"] == 1 and f["float64"]["missed_kinks"] == 1 and not f["float64"]["equals_exact_backprop"]
    assert "overflow" in f["float16"]["error"]


def test_mixed_sign_hinges_are_not_a_zonotope():
    """G = relu(d1) + relu(d2) - relu(-d1 - d2) = relu(d1) + relu(d2) - relu(d1 + d2) + (d1 + d2): its Clarke
    set at 0 is (1, 1) + the diamond |g1| + |g2| <= 1; backprop with relu'(0) = 1 returns (2, 2), which lies
    in the zonotope (1, 1) + [0, e1] + [0, e2] + [0, -(1, 1)] but not in the Clarke set."""
    F = ReluNetwork([[[1, 0], [0, 1], [-1, -1]], [[1, 1, -1]]])
    r = backprop_at(F, [0, 0], relu_prime=1, dtypes=())
    assert r["backprop"] == [2, 2] and r["is_clarke"] == "no" and r["exact"]
    assert brute_force_gradients(F, [0, 0]) == {(1, 1), (1, 0), (2, 1), (1, 2), (0, 1)}
    convex = ReluNetwork([[[1, 0], [0, 1], [1, 1]], [[1, 1, 2]]])
    r = backprop_at(convex, [0, 0], relu_prime="1/2", dtypes=())
    assert r["is_clarke"] == "yes" and "zonotope" in r["how"]
