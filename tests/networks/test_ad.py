"""The AD engines: directional derivatives, backward, LD-derivatives, op counts (docs/theory.md 1, 4, 5)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsad.networks import NetworkError, ReluNetwork
from nsad.networks.ad.engine import PreparedNetwork, prepare
from nsad.networks.ad.backward import backward
from nsad.networks.ad.clarke import backprop_at_zero
from nsad.networks.ad.costs import (BACKWARD_RATIO, OpCount, backward_ops, column_cost, directional_ops,
                            evaluation_ops, forward_gradient_ops, lexicographic_ops)
from nsad.networks.ad.forward import (check_directional_derivatives, difference_quotient, directional_derivatives,
                              forward_pass)
from nsad.networks.ad.lexicographic import lexicographic_derivative, lexicographic_point, solve_right_exact
from nsad.networks.ad.primitives import ReLU
from nsad.networks.ad.reference import Graph

SMALL = settings(max_examples=25, deadline=None)


def random_net(seed: int, n: int | None = None, outputs: int = 1, weights=(-1, 0, 1), depth=None) -> ReluNetwork:
    rng = np.random.default_rng(seed)
    n = n or int(rng.integers(1, 5))
    depth = depth or int(rng.integers(1, 4))
    sizes = [n] + [int(rng.integers(1, 6)) for _ in range(depth - 1)] + [outputs]
    mats = [rng.choice(weights, size=(sizes[k + 1], sizes[k])) for k in range(depth)]
    return ReluNetwork(mats)


def kink_point(net: ReluNetwork, rng) -> np.ndarray:
    """Points with many zero pre-activations: 0, or {-1, 0, 1}^n (ties abound with {-1,0,1} weights)."""
    if rng.random() < 0.3:
        return np.zeros(net.n_inputs, dtype=np.int64)
    return rng.integers(-1, 2, size=net.n_inputs)


def n_zero_preactivations(net, x) -> int:
    g = Graph.build(net, list(x))
    return sum(1 for node in g.nodes if node.op == "relu" and node.parents[0].value == 0)


# ---------------------------------------------------------------------------------------------
# directional derivatives
# ---------------------------------------------------------------------------------------------
@SMALL
@given(st.integers(0, 10 ** 6), st.integers(1, 3))
def test_directional_equals_exact_difference_quotient(seed, outputs):
    rng = np.random.default_rng(seed)
    net = random_net(seed, outputs=outputs)
    x = kink_point(net, rng)
    D = rng.integers(-3, 4, size=(net.n_inputs, 5))
    res = directional_derivatives(net, x, D)
    assert res.exact
    R = np.asarray(res.derivatives, dtype=object).reshape(outputs, 5) if outputs > 1 else \
        np.asarray(res.derivatives, dtype=object).reshape(1, 5)
    for j in range(5):
        for t in (Fraction(1, 2 ** 30), Fraction(1, 2 ** 31)):
            q = difference_quotient(net, x, D[:, j], t)
            q = q if isinstance(q, tuple) else (q,)
            assert tuple(R[:, j].tolist()) == q
    assert check_directional_derivatives(net, x, D)


def test_points_with_zero_preactivations_are_exercised():
    """The property above is not vacuous: kink points with nonzero directions occur."""
    hits = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        net = random_net(seed)
        x = kink_point(net, rng)
        hits += n_zero_preactivations(net, x) > 0
    assert hits >= 20


def test_kink_rule_is_not_linear_in_the_direction():
    absx = ReluNetwork([[[1], [-1]], [[1, 1]]])
    r = directional_derivatives(absx, [0], [[1, -1]])
    assert r.derivatives.tolist() == [1, 1]  # |x|'(0; d) = |d|, not linear
    assert directional_derivatives(absx, None, np.array([[1.0, -1.0]])).derivatives.tolist() == [1.0, 1.0]
    # away from the kink the rule is the ordinary derivative
    assert directional_derivatives(absx, [-2], [[1, -1]]).derivatives.tolist() == [-1, 1]


@SMALL
@given(st.integers(0, 10 ** 6), st.integers(1, 3))
def test_float_and_exact_paths_agree(seed, outputs):
    rng = np.random.default_rng(seed)
    net = random_net(seed, outputs=outputs, weights=(-2, -1, 0, 1, 3))
    x = kink_point(net, rng)
    D = rng.integers(-4, 5, size=(net.n_inputs, 7))
    ex = directional_derivatives(net, x, D)
    fl = directional_derivatives(net, x.astype(float), D.astype(float))
    assert ex.exact and not fl.exact
    assert np.array_equal(np.asarray(ex.derivatives, dtype=float), fl.derivatives)
    assert np.allclose(np.asarray(ex.value, dtype=float), fl.value)
    assert ex.ops == fl.ops
    f32 = directional_derivatives(net, x.astype(np.float32), D.astype(np.float32))
    assert np.asarray(f32.derivatives).dtype == np.float32
    assert np.array_equal(np.asarray(f32.derivatives, dtype=float), fl.derivatives)


@SMALL
@given(st.integers(0, 10 ** 6), st.integers(1, 3))
def test_vectorised_engine_agrees_with_reference(seed, outputs):
    rng = np.random.default_rng(seed)
    net = random_net(seed, outputs=outputs, weights=(-1, 0, 1, 2))
    x = kink_point(net, rng)
    n = net.n_inputs
    g = Graph.build(net, x.tolist())
    # values
    val = forward_pass(net, x).value
    assert (val if isinstance(val, np.ndarray) else np.array([val])).tolist() == list(g.values())
    # directional derivatives
    D = rng.integers(-3, 4, size=(n, 4))
    R = np.asarray(directional_derivatives(net, x, D).derivatives, dtype=object).reshape(outputs, 4)
    for j in range(4):
        assert tuple(R[:, j].tolist()) == g.directional(D[:, j].tolist())
    # backward, every convention
    for s in (0, 1, Fraction(1, 3)):
        grad = backward(net, x, s).gradient
        ref = g.backward(s)
        assert np.asarray(grad, dtype=object).reshape(outputs, n).tolist() == [list(r) for r in ref]
        u = rng.integers(-2, 3, size=outputs)
        gu = backward(net, x, s, cotangent=u).gradient
        assert gu.tolist() == list(g.backward(s, cotangent=u.tolist())[0])
    # LD-derivative
    M = rng.integers(-2, 3, size=(n, n))
    while round(abs(np.linalg.det(M))) == 0:
        M = rng.integers(-2, 3, size=(n, n))
    ld = lexicographic_derivative(net, x, M)
    ref = [list(r) for r in g.lexicographic(M.tolist())]
    assert np.asarray(ld.derivative, dtype=object).reshape(outputs, n).tolist() == ref


def test_shapes_and_conventions():
    vec = ReluNetwork([np.eye(3, dtype=int), np.array([[1, 0, 0], [0, 1, 1]])])
    scal = ReluNetwork([np.eye(3, dtype=int), np.array([[1, 0, 0]])])
    D = np.arange(6).reshape(3, 2)
    assert directional_derivatives(vec, None, D).derivatives.shape == (2, 2)
    assert directional_derivatives(vec, None, D[:, 0]).derivatives.shape == (2,)
    assert directional_derivatives(scal, None, D).derivatives.shape == (2,)
    assert directional_derivatives(scal, None, D[:, 1]).derivatives == 1
    assert backward(vec, [1, 2, 3]).gradient.shape == (2, 3)  # conservative Jacobian
    assert backward(vec, np.ones((4, 3))).gradient.shape == (4, 2, 3)
    assert backward(scal, np.ones((4, 3))).gradient.shape == (4, 3)
    assert backward(vec, np.ones((4, 3)), cotangent=[1.0, 1.0]).gradient.shape == (4, 3)
    assert lexicographic_derivative(vec).subgradient.shape == (2, 3)
    assert lexicographic_derivative(scal).subgradient.shape == (3,)


def test_results_are_read_only_and_inputs_untouched():
    net = ReluNetwork([np.eye(2, dtype=int), np.array([[1, -1], [2, 1]]), np.eye(2, dtype=int)])
    D = np.array([[1.0, -1.0], [-2.0, 3.0]])
    D0 = D.copy()
    x = np.array([1.0, -1.0])
    for point in (None, x):
        r = directional_derivatives(net, point, D)
        assert np.array_equal(D, D0)
        with pytest.raises(ValueError):
            r.derivatives[0, 0] = 7
    b = backward(net, x)
    with pytest.raises(ValueError):
        b.gradient[0, 0] = 7
    assert np.array_equal(x, [1.0, -1.0])


def test_repeated_calls_do_not_share_buffers():
    rng = np.random.default_rng(0)
    P = PreparedNetwork.from_dense([rng.standard_normal((8, 5)) for _ in range(1)]
                                   + [rng.standard_normal((8, 8)), rng.standard_normal((3, 8))])
    D1, D2 = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    r1 = directional_derivatives(P, None, D1).derivatives
    keep = r1.copy()
    directional_derivatives(P, None, D2)
    assert np.array_equal(r1, keep)


def test_prepared_and_network_agree():
    rng = np.random.default_rng(3)
    mats = [rng.standard_normal((6, 4)), rng.standard_normal((5, 6)), rng.standard_normal((2, 5))]
    net = ReluNetwork(mats)
    P = PreparedNetwork.from_dense(mats)
    x, D = rng.standard_normal(4), rng.standard_normal((4, 3))
    assert np.allclose(directional_derivatives(net, x, D).derivatives, directional_derivatives(P, x, D).derivatives)
    assert np.allclose(backward(net, x).gradient, backward(P, x).gradient)
    assert prepare(net) is prepare(net)  # cached per network
    sparse = ReluNetwork([np.eye(200) * (rng.random(200) < 0.5), np.ones((1, 200))])
    assert not prepare(sparse).layers[0].dense


def test_exact_path_with_fractions_and_rational_weights():
    net = ReluNetwork([[[1, -1], [2, 1]], [[1, 1]]])
    x = [Fraction(1, 3), Fraction(1, 3)]
    D = [[Fraction(1, 2), -1], [Fraction(-1, 2), 5]]
    r = directional_derivatives(net, x, D)
    for j in range(2):
        assert r.derivatives[j] == difference_quotient(net, x, [D[0][j], D[1][j]], Fraction(1, 10 ** 9))
    assert r.value == net.evaluate_exact(x)
    half = ReluNetwork([[[0.5, -0.25]], [[1.5]]])
    rh = directional_derivatives(half, [0, 0], [[1], [0]])
    assert rh.derivatives == Fraction(3, 4) and rh.exact
    assert backward(half, [4, 0]).gradient.tolist() == [Fraction(3, 4), Fraction(-3, 8)]


def test_large_integers_fall_back_to_python_ints():
    big = 2 ** 40
    net = ReluNetwork([[[big, big]], [[big]]])
    r = directional_derivatives(net, [big, big], [[big], [0]])
    assert r.value == 2 * big ** 3
    assert r.derivatives == big ** 3


# ---------------------------------------------------------------------------------------------
# backward
# ---------------------------------------------------------------------------------------------
@SMALL
@given(st.integers(0, 10 ** 6))
def test_backward_at_generic_points_is_the_gradient(seed):
    rng = np.random.default_rng(seed)
    net = random_net(seed, weights=(-2, -1, 0, 1, 1, 3))
    checked = 0
    for _ in range(6):
        x = rng.integers(-10 ** 6, 10 ** 6, size=net.n_inputs)
        g = net.exact_gradient(x.tolist())
        if g is None:
            continue
        checked += 1
        for s in (0, 1):
            assert tuple(backward(net, x, s).gradient.tolist()) == tuple(g)
            assert np.array_equal(backward(net, x.astype(float), s).gradient, np.array(g, dtype=float))
    assert checked >= 1


@SMALL
@given(st.integers(0, 10 ** 6))
def test_backward_at_zero_matches_the_conservative_formula(seed):
    net = random_net(seed, weights=(-1, 0, 1, 2))
    n, L = net.n_inputs, net.depth
    prod = np.eye(n, dtype=np.int64)
    for M in net.matrices:
        prod = M.toarray() @ prod  # M_L ... M_1
    for s in (0, 1, Fraction(1, 2)):
        expected = tuple(v * s ** (L - 1) for v in prod[0].tolist())
        assert tuple(backward(net, [0] * n, s).gradient.tolist()) == expected
        assert backprop_at_zero(net, s) == expected
    for s in (0.0, 0.5, 1.0):  # the float path (bool masks for 0 and 1, float factors otherwise)
        assert np.array_equal(backward(net, np.zeros(n), s).gradient, np.array(prod[0], float) * s ** (L - 1))


def test_backward_batches_equal_single_points():
    rng = np.random.default_rng(5)
    net = random_net(11, n=4, outputs=2, depth=3)
    X = rng.integers(-2, 3, size=(6, 4))
    batch = backward(net, X, 1).gradient
    for i in range(6):
        assert batch[i].tolist() == backward(net, X[i], 1).gradient.tolist()
    fb = backward(net, X.astype(float), 1).gradient
    assert np.array_equal(fb, np.asarray(batch, dtype=float))


def test_backward_rejects_bad_conventions_and_shapes():
    net = random_net(1, n=3)
    with pytest.raises(ValueError, match=r"relu_prime_at_zero"):
        backward(net, [0, 0, 0], 2)
    with pytest.raises(NetworkError, match="coordinates"):
        backward(net, [0, 0], 0)
    with pytest.raises(NetworkError, match="cotangent"):
        backward(net, [0, 0, 0], 0, cotangent=[1, 2])


# ---------------------------------------------------------------------------------------------
# LD-derivatives
# ---------------------------------------------------------------------------------------------
def random_nonsingular(rng, n):
    while True:
        M = rng.integers(-2, 3, size=(n, n))
        if round(abs(np.linalg.det(M))) != 0:
            return M


@SMALL
@given(st.integers(0, 10 ** 6))
def test_lexicographic_derivative_identities(seed):
    rng = np.random.default_rng(seed)
    net = random_net(seed, weights=(-1, 0, 1, 2))
    n = net.n_inputs
    x = kink_point(net, rng)
    M = random_nonsingular(rng, n)
    ld = lexicographic_derivative(net, x, M)
    J = np.asarray(ld.subgradient, dtype=object)
    # F'(x; M) = J M, exactly
    JM = J.reshape(1, n).dot(M.astype(object)).reshape(-1)
    assert JM.tolist() == np.asarray(ld.derivative).reshape(-1).tolist()
    # J is the gradient at the generic point reached along M lexicographically
    found = False
    for k in range(6, 40, 3):
        point = lexicographic_point(x, M, Fraction(1, 2 ** k))
        g = net.exact_gradient(list(point))
        if g is not None:
            assert tuple(g) == tuple(J.tolist())
            found = True
            break
    assert found
    # the first column of F'(x; M) is the directional derivative along m_1
    assert np.asarray(ld.derivative).reshape(-1)[0] == directional_derivatives(net, x, M[:, 0]).derivatives


def test_lexicographic_float_and_identity_default():
    net = random_net(7, n=3, weights=(-1, 0, 1, 2))
    ex = lexicographic_derivative(net, [0, 0, 0])
    fl = lexicographic_derivative(net, np.zeros(3))
    assert np.array_equal(np.asarray(ex.subgradient, dtype=float), fl.subgradient)
    rng = np.random.default_rng(0)
    M = random_nonsingular(rng, 3)
    e2 = lexicographic_derivative(net, [1, 0, -1], M)
    f2 = lexicographic_derivative(net, np.array([1.0, 0.0, -1.0]), M.astype(float))
    assert np.allclose(np.asarray(e2.subgradient, dtype=float), f2.subgradient)
    assert e2.ops.solve > 0 and ex.ops.solve == 0


def test_lexicographic_rejects_bad_direction_matrices():
    net = random_net(2, n=3)
    with pytest.raises(NetworkError, match="square"):
        lexicographic_derivative(net, None, np.ones((3, 2)))
    with pytest.raises(NetworkError, match="singular"):
        lexicographic_derivative(net, None, [[1, 2, 3], [2, 4, 6], [0, 0, 1]])
    with pytest.raises(NetworkError, match="singular"):
        lexicographic_derivative(net, None, np.array([[1.0, 2, 3], [2, 4, 6], [0, 0, 1]]))
    with pytest.raises(NetworkError, match="singular"):
        solve_right_exact([[1, 1]], [[1, 1], [1, 1]])


def test_lexicographic_rule_orders_the_directions():
    absx = ReluNetwork([[[1], [-1]], [[1, 1]]])
    assert lexicographic_derivative(absx, [0], [[2]]).subgradient.tolist() == [1]
    assert lexicographic_derivative(absx, [0], [[-2]]).subgradient.tolist() == [-1]
    # relu(x1) on R^2: along (0, 1) first the unit stays at its kink, then (1, 0) decides
    relu1 = ReluNetwork([[[1, 0]], [[1]]])
    assert lexicographic_derivative(relu1, [0, 0], [[0, 1], [1, 0]]).subgradient.tolist() == [1, 0]
    assert lexicographic_derivative(relu1, [0, 0], [[0, -1], [1, 0]]).subgradient.tolist() == [0, 0]
    assert ReLU.lexicographic_array(None, np.array([[0, 0, -1], [0, 2, -5]])).tolist() == [[0, 0, 0], [0, 2, -5]]


# ---------------------------------------------------------------------------------------------
# op counts (docs/theory.md "Cost model")
# ---------------------------------------------------------------------------------------------
@SMALL
@given(st.integers(0, 10 ** 6), st.integers(1, 5), st.integers(0, 9))
def test_op_counts_are_exact_formulas(seed, b, p):
    net = random_net(seed)
    c = OpCount(net.nnz, sum(net.widths[:-1]))
    assert column_cost(net) == c
    assert evaluation_ops(net, b) == c * b
    x = np.ones(net.n_inputs, dtype=np.int64)
    assert backward(net, x).ops == evaluation_ops(net) * BACKWARD_RATIO and BACKWARD_RATIO == 2
    if c.total:
        assert backward(net, x).ops.ratio(evaluation_ops(net)) == 2
    assert backward(net, np.ones((b, net.n_inputs))).ops == backward_ops(net, b) == c * (2 * b)
    D = np.ones((net.n_inputs, p), dtype=np.int64)
    assert directional_derivatives(net, x, D).ops == directional_ops(net, p) == c * (p + 1)
    assert directional_derivatives(net, None, D).ops == c * p
    n = net.n_inputs
    assert forward_gradient_ops(net) == c * (n + 1)
    assert lexicographic_derivative(net, x).ops == lexicographic_ops(net) == c * (n + 1)
    assert forward_pass(net, x).ops == c


def test_cost_of_a_sparse_chain_is_linear_in_n():
    for n in (10, 100, 1000):
        diag = ReluNetwork([np.eye(n, dtype=int), np.ones((1, n), dtype=int)])
        assert evaluation_ops(diag).total == 3 * n
        assert backward_ops(diag).total == 6 * n
        assert forward_gradient_ops(diag).total == 3 * n * (n + 1)


def test_directional_out_buffer_and_check_finite():
    rng = np.random.default_rng(11)
    mats = [rng.standard_normal((6, 4)), rng.standard_normal((5, 6)), rng.standard_normal((3, 5))]
    for dtype in (np.float64, np.float32):
        P = PreparedNetwork.from_dense(mats, dtype)
        D = rng.standard_normal((4, 7)).astype(dtype)
        x = rng.standard_normal(4).astype(dtype)
        for point in (None, x):
            ref = directional_derivatives(P, point, D).derivatives
            out = np.full((3, 7), np.nan, dtype)
            r = directional_derivatives(P, point, D, out=out)
            assert r.derivatives is out and out.flags.writeable and out.dtype == dtype
            assert np.allclose(out, ref, atol=1e-5)
    # relu(A x): the identity output layer, the product written straight into out
    A = rng.standard_normal((5, 4))
    P = PreparedNetwork.from_dense([A, np.eye(5)])
    D = rng.standard_normal((4, 3))
    out = np.empty((5, 3))
    directional_derivatives(P, None, D, out=out)
    assert np.array_equal(out, np.maximum(A @ D, 0))  # every unit on its kink: max(dz, 0)
    with pytest.raises(NetworkError, match="out must"):
        directional_derivatives(P, None, D, out=np.empty((5, 3), np.float32))
    with pytest.raises(NetworkError, match="out must"):
        directional_derivatives(P, None, D, out=np.empty((3, 5)).T)
    with pytest.raises(NetworkError, match="float path"):
        directional_derivatives(P, None, [[1, 2]] * 4, out=np.empty((5, 2)), exact=True)
    bad = D.copy()
    bad[0, 0] = np.nan
    with pytest.raises(NetworkError, match="non-finite"):
        directional_derivatives(P, None, bad)
    assert np.isnan(directional_derivatives(P, None, bad, check_finite=False).derivatives).any()
