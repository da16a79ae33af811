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


def test_float_path_reuses_buffers_and_returns_fresh_results():
    from nsad.reductions.matmul import _workspace, clear_workspace

    rng = np.random.default_rng(3)
    A, B1, B2 = rng.standard_normal((6, 5)), rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    C1 = multiply(A, B1)
    D, R = _workspace(5, 6, 4, np.float64)
    C2 = multiply(A, B2)  # same shape: same buffers, and C1 must not change
    assert _workspace(5, 6, 4, np.float64)[0] is D
    assert np.allclose(C1, A @ B1) and np.allclose(C2, A @ B2)
    assert C2.flags.c_contiguous and C2.flags.writeable and not np.may_share_memory(C2, R)
    assert np.array_equal(D, np.concatenate([B2, -B2], axis=1))  # the directions [B, -B]
    assert (R >= 0).all()  # the kink rule max(dz, 0) ran on both halves
    clear_workspace()


def test_float_dtypes_are_kept_and_mixed_inputs_promote():
    rng = np.random.default_rng(4)
    A32 = rng.standard_normal((8, 7)).astype(np.float32)
    B32 = rng.standard_normal((7, 5)).astype(np.float32)
    C = multiply(A32, B32)
    assert C.dtype == np.float32 and np.allclose(C, A32 @ B32, atol=1e-5)
    assert multiply(A32, B32.astype(np.float64)).dtype == np.float64
    assert multiply(A32.astype(np.float64), np.arange(35).reshape(7, 5)).dtype == np.float64
    assert np.allclose(multiply(A32.astype(np.float64), np.arange(35).reshape(7, 5)),
                       A32.astype(np.float64) @ np.arange(35).reshape(7, 5))
    Bt = np.asfortranarray(rng.standard_normal((7, 5)))  # any layout in, C-contiguous out
    assert np.allclose(multiply(A32.astype(np.float64), Bt), A32.astype(np.float64) @ Bt)


def test_non_finite_directions():
    with pytest.raises(NetworkError, match="non-finite"):
        multiply(np.ones((2, 2)), np.array([[1.0], [np.inf]]))
    assert np.isnan(multiply(np.ones((2, 2)), np.array([[1.0], [np.nan]]), check_finite=False)).all()
