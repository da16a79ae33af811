"""The Clarke polytope at 0 (exact enumeration of pieces) and the conservative set D^a_F(0)."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsad.networks import NetworkError, ReluNetwork
from nsad.networks.ad.backward import backward
from nsad.networks.ad.clarke import (affine_dimension, backprop_at_zero, clarke_subdifferential_at_zero,
                             conservative_gradients_at_zero, hull_vertices)
from nsad.networks.ad.lexicographic import lexicographic_derivative

ABS = ReluNetwork([[[1], [-1]], [[1, 1]]])


def random_net(seed: int, n: int | None = None) -> ReluNetwork:
    rng = np.random.default_rng(seed)
    n = n or int(rng.integers(1, 4))
    depth = int(rng.integers(2, 4))
    sizes = [n] + [int(rng.integers(1, 5)) for _ in range(depth - 1)] + [1]
    return ReluNetwork([rng.choice((-1, 0, 1, 2), size=(sizes[k + 1], sizes[k])) for k in range(depth)])


def sampled_gradients(net, rng, count=300):
    found = set()
    for _ in range(count):
        x = rng.integers(-10 ** 6, 10 ** 6, size=net.n_inputs)
        g = net.exact_gradient(x.tolist())
        if g is not None:
            found.add(tuple(g))
    return found


def test_abs_has_two_pieces():
    P = clarke_subdifferential_at_zero(ABS)
    assert P.gradients == ((-1,), (1,))
    assert P.vertices == ((-1,), (1,))
    assert P.dimension == 1 and not P.is_singleton and P.unconfirmed == 0
    for piece in P.pieces:
        assert tuple(ABS.exact_gradient(list(piece.witness))) == piece.gradient
    assert P.contains([0]) and P.contains([Fraction(1, 2)]) and not P.contains([2])


def test_linear_network_is_a_singleton():
    # x1 + 2 x2 written with carries relu(v) - relu(-v)
    net = ReluNetwork([[[1, 0], [-1, 0], [0, 1], [0, -1]], [[1, -1, 2, -2]]])
    P = clarke_subdifferential_at_zero(net)
    assert P.is_singleton and P.gradients == ((1, 2),) and P.dimension == 0
    assert P.vertices == ((1, 2),)


def test_unsatisfiable_style_network_zero_clarke_but_nonzero_backprop():
    """F = relu(-relu(x) - 2 relu(-x)) is identically 0: dF(0) = {0}; backprop with s = 1 gives 1."""
    net = ReluNetwork([[[1], [-1]], [[-1, -2]], [[1]]])
    P = clarke_subdifferential_at_zero(net)
    assert P.gradients == ((0,),)
    s1 = backprop_at_zero(net, 1)
    assert s1 == (1,) and tuple(backward(net, [0], 1).gradient.tolist()) == s1
    assert not P.contains(s1)
    assert backprop_at_zero(net, 0) == (0,)


def _reduce_or_skip():
    try:
        from nsad.instances import Cnf
        from nsad.reductions.sat_to_relu import reduce
    except ImportError as exc:  # pragma: no cover - the reduction is another package
        pytest.skip(f"reduction not available: {exc}")
    return Cnf, reduce


def test_reduction_network_of_an_unsatisfiable_formula():
    Cnf, reduce = _reduce_or_skip()
    net = reduce(Cnf(2, [(1, 2), (1, -2), (-1, 2), (-1, -2), (1, 2)]))
    P = clarke_subdifferential_at_zero(net)
    assert P.gradients == ((0, 0),) and P.unconfirmed == 0
    s1 = backward(net, [0, 0], 1).gradient
    assert any(v != 0 for v in s1.tolist())
    assert not P.contains(s1.tolist())


def test_reduction_network_of_a_satisfiable_formula():
    Cnf, reduce = _reduce_or_skip()
    net = reduce(Cnf(2, [(1, 2), (-1,)]))  # satisfied by x1 = F, x2 = T only
    P = clarke_subdifferential_at_zero(net)
    assert len(P.gradients) >= 2 and (0, 0) in P.gradients
    assert (-1, 0) in P.gradients or (0, 1) in P.gradients


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10 ** 6))
def test_pieces_are_sound_and_cover_sampled_gradients(seed):
    net = random_net(seed)
    P = clarke_subdifferential_at_zero(net)
    assert P.unconfirmed == 0
    for piece in P.pieces:
        assert tuple(net.exact_gradient(list(piece.witness))) == piece.gradient
    rng = np.random.default_rng(seed)
    assert sampled_gradients(net, rng) <= set(P.gradients)
    # the lexicographic subgradient lies in the polytope (it is a piece gradient)
    J = lexicographic_derivative(net, [0] * net.n_inputs).subgradient
    assert tuple(J.tolist()) in set(P.gradients)
    assert set(P.vertices) <= set(P.gradients)


def test_finds_a_thin_piece_that_sampling_on_the_grid_misses():
    # F = relu(min(2 x2 - x1, x1 - x2)) (docs/theory.md section 3): 0 on {-1,0,1}^2, yet F(3/4, 1/2) = 1/4
    net = ReluNetwork([[[-1, 2], [1, -2], [-2, 3]], [[1, -1, -1]], [[1]]])
    assert all(net.evaluate_exact(list(p)) == 0 for p in itertools.product((-1, 0, 1), repeat=2))
    assert net.evaluate_exact([Fraction(3, 4), Fraction(1, 2)]) == Fraction(1, 4)
    P = clarke_subdifferential_at_zero(net)
    assert (0, 0) in P.gradients and len(P.gradients) >= 2


def test_hull_vertices_exact_in_degenerate_cases():
    assert hull_vertices([(3,), (1,), (2,)]) == ((1,), (3,))
    assert hull_vertices([(1, 1)]) == ((1, 1),)
    line = [(0, 0, 0), (1, 2, 3), (2, 4, 6), (Fraction(1, 2), 1, Fraction(3, 2))]
    assert hull_vertices(line) == ((0, 0, 0), (2, 4, 6))
    # a square in a plane of R^3, with its centre and an edge midpoint
    square = [(0, 0, 1), (1, 0, 1), (0, 1, 1), (1, 1, 1), (Fraction(1, 2), Fraction(1, 2), 1), (1, Fraction(1, 2), 1)]
    assert hull_vertices(square) == ((0, 0, 1), (0, 1, 1), (1, 0, 1), (1, 1, 1))
    assert affine_dimension(square) == 2 and affine_dimension([(1, 2)]) == 0
    cube = list(itertools.product((0, 2), repeat=3)) + [(1, 1, 1), (2, 1, 1)]
    assert hull_vertices(cube) == tuple(sorted(itertools.product((0, 2), repeat=3)))


def test_conservative_points_at_zero():
    S = conservative_gradients_at_zero(ABS)
    assert S.exhaustive and S.choices == 4 and S.points == ((-1,), (0,), (1,))
    net = random_net(4, n=2)
    S = conservative_gradients_at_zero(net)
    assert backprop_at_zero(net, 0) in S.points and backprop_at_zero(net, 1) in S.points
    wide = ReluNetwork([np.ones((20, 2), dtype=int), np.ones((1, 20), dtype=int)])
    S = conservative_gradients_at_zero(wide, max_points=64, seed=1)
    assert not S.exhaustive and S.choices == 64
    assert (0, 0) in S.points and (20, 20) in S.points
    assert all(p[0] == p[1] and 0 <= p[0] <= 20 for p in S.points)


def test_limits_give_clear_errors():
    with pytest.raises(NetworkError, match="inputs"):
        clarke_subdifferential_at_zero(ReluNetwork([np.eye(7, dtype=int), np.ones((1, 7), dtype=int)]))
    with pytest.raises(NetworkError, match="hidden units"):
        clarke_subdifferential_at_zero(ReluNetwork([np.ones((300, 2), dtype=int), np.ones((1, 300), dtype=int)]))
    with pytest.raises(NetworkError, match="scalar"):
        clarke_subdifferential_at_zero(ReluNetwork([np.eye(2, dtype=int), np.eye(2, dtype=int)]))
    with pytest.raises(NetworkError, match="linear regions"):
        rng = np.random.default_rng(0)
        clarke_subdifferential_at_zero(ReluNetwork([rng.integers(-3, 4, size=(12, 3)), np.ones((1, 12), dtype=int)]),
                                       max_regions=5)
