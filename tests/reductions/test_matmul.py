"""Matrix multiplication through directional derivatives (docs/theory.md section 4)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from nsad.networks import NetworkError
from nsad.networks.ad.forward import directional_derivatives
from nsad.reductions.matmul import build, multiply, recover


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 9), st.integers(1, 9), st.integers(0, 9), st.integers(0, 10 ** 6))
def test_integer_products_are_exact(m, k, p, seed):
    rng = np.random.default_rng(seed)
    A = rng.integers(-50, 51, size=(m, k))
    B = rng.integers(-50, 51, size=(k, p))
    A[rng.random(m) < 0.3] = 0  # zero rows
    C = multiply(A, B)
    assert C.dtype == np.int64 and C.shape == (m, p)
    assert np.array_equal(C, A @ B)


def test_build_and_recover_by_hand():
    A = np.array([[1, -2, 0], [0, 0, 0]])
    B = np.array([[1, 2], [3, -1], [5, 0]])
    net, D = build(A, B)
    assert net.widths == (2, 2) and net.n_inputs == 3 and net.is_integer
    assert D.shape == (3, 4) and np.array_equal(D, np.hstack([B, -B]))
    derivs = directional_derivatives(net, None, D).derivatives
    # F'(0; b) = max(A b, 0): the kink rule, not a linear map
    assert derivs.tolist() == [[0, 4, 5, 0], [0, 0, 0, 0]]
    assert np.array_equal(recover(derivs), A @ B)


def test_large_integers_stay_exact():
    A = np.array([[2 ** 40, -(2 ** 40)], [3, 0]], dtype=object)
    B = np.array([[2 ** 30], [-(2 ** 33)]], dtype=object)
    C = multiply(A, B)
    assert C.dtype == object and C.tolist() == [[2 ** 70 + 2 ** 73], [3 * 2 ** 30]]
    Cf = multiply([[Fraction(1, 2), 1]], [[Fraction(2, 3)], [1]])
    assert Cf.tolist() == [[Fraction(4, 3)]]


def test_float_products_and_shapes():
    rng = np.random.default_rng(1)
    for m, k, p in ((1, 5, 3), (7, 2, 1), (3, 3, 0), (4, 6, 9)):
        A, B = rng.standard_normal((m, k)), rng.standard_normal((k, p))
        C = multiply(A, B)
        assert C.shape == (m, p) and np.allclose(C, A @ B)
    A32, B32 = rng.standard_normal((5, 4)).astype(np.float32), rng.standard_normal((4, 3)).astype(np.float32)
    assert multiply(A32, B32).dtype == np.float32
    S = sp.random(30, 20, density=0.1, random_state=2, format="csr")
    B = rng.standard_normal((20, 4))
    assert np.allclose(multiply(S, B), S @ B)


def test_errors():
    with pytest.raises(NetworkError, match="cannot multiply"):
        multiply(np.ones((2, 3)), np.ones((2, 2)))
    with pytest.raises(NetworkError, match="2-D"):
        multiply(np.ones(3), np.ones((3, 1)))
    with pytest.raises(NetworkError, match="at least one row"):
        multiply(np.ones((0, 3)), np.ones((3, 1)))
    with pytest.raises(NetworkError, match=r"\(m, 2p\)"):
        recover(np.ones((2, 3)))


def test_non_finite_weights():
    A = np.array([[1.0, np.nan]])
    with pytest.raises(NetworkError, match="non-finite"):
        multiply(A, np.ones((2, 1)))
    assert np.isnan(multiply(A, np.ones((2, 1)), check_finite=False)).all()
