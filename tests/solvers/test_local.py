"""The question at any point, with biases (nsad.solvers.network.local): the local network equals F
near x0 exactly; the answer equals brute force on F itself (every activation region of F whose
closure holds x0, found exactly with z3 over the rationals) on small random networks whose points are
placed on kinks, deep ones included; certificates pass check_at and their points keep the signs."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
import z3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nsad.errors import NsadError
from nsad.networks import NetworkError, ReluNetwork
from nsad.solvers.network.local import (LocalCertificate, check_at, decide_at, local_network, parse_point,
                                        preactivations, scalar_output)

SETTINGS = settings(max_examples=80, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def on_kinks(draw, max_depth=4):
    """A random network with biases and a point x0; some biases are chosen so that units of every layer
    sit exactly on their kink at x0 (at most 4 kink units, for the brute force)."""
    n = draw(st.integers(1, 3))
    depth = draw(st.integers(2, max_depth))
    widths = [n] + [draw(st.integers(1, 3)) for _ in range(depth - 1)] + [1]
    x0 = [Fraction(draw(st.integers(-2, 2)), draw(st.sampled_from([1, 2]))) for _ in range(n)]
    mats, bs = [], []
    h = list(x0)
    kinks = 0
    for k, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        M = np.array(draw(st.lists(st.integers(-2, 2), min_size=a * b, max_size=a * b)), dtype=np.int64).reshape(b, a)
        z0 = [sum((int(M[i, j]) * h[j] for j in range(a)), Fraction(0)) for i in range(b)]
        bias = []
        for i in range(b):
            if k < depth - 1 and kinks < 4 and draw(st.booleans()):
                bias.append(-z0[i])  # on the kink at x0
                kinks += 1
            else:
                bias.append(Fraction(draw(st.integers(-2, 2)), 2))
        z = [zi + bi for zi, bi in zip(z0, bias)]
        mats.append(M)
        bs.append([float(v) for v in bias])  # dyadic: exact in float64
        h = [max(v, Fraction(0)) for v in z]
    return ReluNetwork(mats, bs), x0


def brute_force_gradients(net: ReluNetwork, x0) -> set:
    """The gradients of every open activation region of F whose closure contains x0, by exact
    enumeration of the kink units' signs (-1, 0, +1) and z3 (rationals) for each region's feasibility."""
    mats = [M.toarray().astype(object) for M in net.matrices]
    bs = [np.array([Fraction(float(v)) for v in b], dtype=object) for b in net.bias_vectors()]
    zs = preactivations(net, x0)
    fixed = [[(v > 0) - (v < 0) for v in z] for z in zs]
    kink_ids = [(k, j) for k, z in enumerate(zs) for j, v in enumerate(z) if v == 0]
    n = net.n_inputs
    grads = set()
    for sigma in itertools.product((-1, 0, 1), repeat=len(kink_ids)):
        pattern = [list(f) for f in fixed]
        for (k, j), s in zip(kink_ids, sigma):
            pattern[k][j] = s
        # affine forms z = J x + c of every unit under the pattern
        J = np.eye(n, dtype=object) * Fraction(1)
        c = np.zeros(n, dtype=object) * Fraction(1)
        forms = []
        for k in range(len(mats) - 1):
            Jz, cz = mats[k].dot(J), mats[k].dot(c) + bs[k]
            forms.append((Jz, cz))
            D = np.array([1 if p > 0 else 0 for p in pattern[k]], dtype=object)
            J, c = Jz * D[:, None], cz * D
        g = tuple(Fraction(v) for v in mats[-1].dot(J)[0])
        solver, xs = z3.Solver(), [z3.Real(f"x{i}") for i in range(n)]
        feasible = True
        for k, (Jz, cz) in enumerate(forms):
            for j, p in enumerate(pattern[k]):
                at_x0 = sum((Jz[j, i] * x0[i] for i in range(n)), Fraction(0)) + cz[j]
                if p * at_x0 < 0 or (p == 0 and at_x0 != 0):
                    feasible = False  # x0 is not in the closure of this region
                if p == 0:
                    if any(v != 0 for v in Jz[j]) or cz[j] != 0:
                        feasible = False  # a unit that is 0 on an open region is identically 0 there
                    continue
                expr = z3.Sum([z3.RealVal(str(Jz[j, i])) * xs[i] for i in range(n)] + [z3.RealVal(str(cz[j]))])
                solver.add(expr > 0 if p > 0 else expr < 0)
        if feasible and solver.check() == z3.sat:
            grads.add(g)
    return grads


@SETTINGS
@given(on_kinks())
def test_local_answer_equals_brute_force_on_F(case):
    net, x0 = case
    truth = brute_force_gradients(net, x0)
    v = decide_at(net, x0)
    assert v.complete, v.reason
    if len(truth) == 1:
        assert v.answer == "singleton" and tuple(map(Fraction, v.element)) == next(iter(truth))
    else:
        assert v.answer == "two-subgradients"
        ok, why = check_at(net, x0, v.certificate)
        assert ok, why
        assert {tuple(map(Fraction, g)) for g in v.certificate.gradients} <= truth


@SETTINGS
@given(on_kinks(), st.integers(0, 2**31))
def test_the_local_network_is_F_near_x0(case, seed):
    net, x0 = case
    rng = np.random.default_rng(seed)
    loc = local_network(net, x0)
    assert loc.value == net.evaluate_exact(x0)
    eps = Fraction(1, 2**30)  # below every nonzero |z_k(x0)| >= 1/2 divided by the weights' growth
    for _ in range(6):
        d = [Fraction(int(v)) for v in rng.integers(-3, 4, size=len(x0))]
        x = [a + eps * b for a, b in zip(x0, d)]
        assert Fraction(net.evaluate_exact(x)) - Fraction(loc.value) == eps * Fraction(loc.network.evaluate_exact(d))


def test_locality_matters():
    """F = relu(x - 1): two generic points with different gradients exist (1/2 and 2), yet at 0 the
    subdifferential is {0}; at the kink x = 1 it has two elements; the check refuses 1/2 and 2."""
    F = ReluNetwork([[[1]], [[1]]], biases=[[-1], [0]])
    v = decide_at(F, [0])
    assert v.answer == "singleton" and v.element == (0,)
    w = decide_at(F, ["1"])
    assert w.answer == "two-subgradients" and check_at(F, [1], w.certificate)[0]
    assert {tuple(g) for g in w.certificate.gradients} == {(0,), (1,)}
    assert preactivations(F, [1]) == [[0]]
    bad = LocalCertificate(at=(Fraction(0),), points=((Fraction(1, 2),), (Fraction(2),)), gradients=((0,), (1,)))
    ok, why = check_at(F, [0], bad)
    assert not ok and "does not keep the signs" in why
    assert not check_at(F, [1], bad)[0]  # about another point


def test_several_outputs_and_the_output_index():
    F = ReluNetwork([[[1], [-1]], [[1, 1], [1, -1]]], biases=[[0, 0], [0, 0]])  # |x| and x
    with pytest.raises(NetworkError, match="choose one with --output"):
        decide_at(F, [0])
    assert decide_at(F, [0], output=0).answer == "two-subgradients"
    assert decide_at(F, [0], output=1).element == (1,)
    with pytest.raises(NetworkError, match="outputs 0..1"):
        scalar_output(F, 2)


def test_a_deep_network_goes_through_the_portfolio():
    F = ReluNetwork([[[1], [-1]], [[1, 1]], [[1]]], biases=[[0, 0], [-1], [0]])  # relu(|x| - 1)
    assert decide_at(F, [1]).answer == "two-subgradients"
    assert decide_at(F, [0]).element == (0,)
    assert decide_at(F, ["3/2"]).element == (1,)


def test_parse_point(tmp_path):
    assert parse_point("1/2, -3,0.25", 3) == [(Fraction(1, 2), Fraction(-3), Fraction(1, 4))]
    assert parse_point("1e-3", 1) == [(Fraction(1, 1000),)]
    p = tmp_path / "pts.txt"
    p.write_text("# points\n0 1\n1/2, 0.5\n")
    assert parse_point(str(p), 2) == [(0, 1), (Fraction(1, 2), Fraction(1, 2))]
    q = tmp_path / "pts.npy"
    np.save(q, np.array([[0.1, 1.0]]))
    assert parse_point(str(q), 2) == [(Fraction(0.1), Fraction(1))]
    for bad, msg in (("1,x", "not a rational"), ("1/0,1", "divides by zero"), ("1", "1 coordinates")):
        with pytest.raises(NsadError, match=msg):
            parse_point(bad, 2)
    (tmp_path / "bad.txt").write_text("0 1\n0 a\n")
    with pytest.raises(NsadError, match=r"bad\.txt:2: 'a' is not"):
        parse_point(str(tmp_path / "bad.txt"), 2)
