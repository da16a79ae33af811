"""Lexicographic (LD) derivatives (Nesterov; Khan and Barton) -- docs/theory.md section 5.

The direction matrix ``M`` (``n x n``, nonsingular; the identity by default) is pushed forward as in
:mod:`networks.ad.forward`, but at a unit with ``z = 0`` a row of ``dZ`` passes when its first nonzero
entry is positive and becomes 0 otherwise (:meth:`networks.ad.primitives.ReLU.lexicographic`). The result
``F'(x; M)`` (shape ``(n_out, n)``, column ``j`` for ``m_j``) equals ``J M`` where
``J = F'(x; M) M^{-1}`` is the gradient of ``F`` at the generic points reached from ``x`` along ``M``
lexicographically (``x + e m_1 + e^2 m_2 + ...`` for small ``e > 0``): for piecewise-linear ``F`` a
Clarke subgradient, at forward-mode cost ``n * c(F)``.

For a scalar-output network the output axis is dropped (``F'(x; M)`` and ``J`` have shape ``(n,)``).
On the exact path (``x`` and ``M`` ints / Fractions) ``J`` is computed with Fractions.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from nsad.networks.ad import engine as E
from nsad.networks.ad.costs import OpCount, lexicographic_ops
from nsad.networks.ad.forward import _run_columns
from nsad.networks.ad.primitives import ReLU
from nsad.networks.exact import rref

__all__ = ["LexicographicDerivative", "lexicographic_derivative", "lexicographic_point", "solve_right_exact"]


@dataclass(frozen=True)
class LexicographicDerivative:
    """``F(x)``, the LD-derivative ``F'(x; M)``, the lexicographic subgradient ``J``, and the cost."""

    value: object
    derivative: np.ndarray
    subgradient: np.ndarray
    ops: OpCount
    exact: bool


def solve_right_exact(R, M) -> np.ndarray:
    """The exact solution ``J`` of ``J M = R`` (Fractions; ``M`` square and nonsingular).

    >>> solve_right_exact([[2, 3]], [[1, 1], [0, 1]]).tolist()
    [[2, 1]]
    """
    R = E.exact_array(R, 2, "R")
    M = E.exact_array(M, 2, "M")
    n = M.shape[0]
    if M.shape != (n, n) or R.shape[1] != n:
        raise E.network_error(f"cannot solve J M = R with M of shape {M.shape} and R of shape {R.shape}")
    m = R.shape[0]
    # Gauss-Jordan on [M^T | R^T]: M^T J^T = R^T
    Ml, Rl = M.tolist(), R.tolist()  # Python ints / Fractions
    A = [[Fraction(Ml[j][i]) for j in range(n)] + [Fraction(Rl[r][i]) for r in range(m)] for i in range(n)]
    if rref(A, n) != list(range(n)):
        raise E.network_error("the direction matrix M is singular; the LD-derivative needs a nonsingular M")
    J = np.empty((m, n), dtype=object)
    for i in range(n):
        for r in range(m):
            J[r, i] = E.exact_scalar(A[i][n + r])
    return J


def lexicographic_point(x, M, eps) -> tuple:
    """The exact point ``x + eps m_1 + eps^2 m_2 + ... + eps^n m_n`` (``x=None``: the origin).

    >>> lexicographic_point([1, 0], [[1, 0], [0, 1]], Fraction(1, 10))
    (Fraction(11, 10), Fraction(1, 100))
    """
    Mx = E.exact_array(M, 2, "M").astype(object)
    n = Mx.shape[0]
    xs = [0] * n if x is None else E.exact_array(x, 1, "x").tolist()
    eps = Fraction(eps)
    p = [Fraction(v) for v in xs]
    for j in range(Mx.shape[1]):
        e = eps ** (j + 1)
        for i in range(n):
            p[i] += e * Mx[i, j]
    return tuple(E.exact_scalar(v) for v in p)


def lexicographic_derivative(net, x=None, M=None, *, exact: bool | None = None) -> LexicographicDerivative:
    """The LD-derivative ``F'(x; M)`` and the lexicographic subgradient ``J = F'(x; M) M^{-1}``.

    >>> from nsad.networks.ad.engine import PreparedNetwork
    >>> absx = PreparedNetwork.from_dense([np.array([[1.0], [-1.0]]), np.array([[1.0, 1.0]])])  # |x|
    >>> r = lexicographic_derivative(absx, [0], [[-1]])  # exact: along -e1, |x| has slope -1
    >>> r.derivative.tolist(), r.subgradient.tolist()
    ([1], [-1])
    """
    n = int(net.n_inputs)
    identity = M is None
    if identity:
        use_exact = E.choose_exact(exact, x)
        dtype = np.int64 if use_exact else E.float_dtype(*([x] if isinstance(x, np.ndarray) else []))
        M = np.eye(n, dtype=dtype)
    else:
        use_exact = E.choose_exact(exact, x, M)
    shape = np.shape(M)
    if len(shape) != 2 or shape != (n, n):
        raise E.network_error(f"M must be a square ({n}, {n}) matrix of directions, got shape {tuple(shape)}")
    if not use_exact and not identity:
        Mf = np.asarray(M, dtype=np.float64)
        if not np.all(np.isfinite(Mf)) or np.linalg.matrix_rank(Mf) < n:
            raise E.network_error("the direction matrix M is singular; the LD-derivative needs a nonsingular M")
    value, derivs, at_zero, used_exact, _ = _run_columns(net, x, M, exact=use_exact, rule=ReLU.lexicographic_array,
                                                        name="M")
    if identity:
        J = derivs
    elif used_exact:
        J = E.readonly(solve_right_exact(derivs, M))
    else:
        Mf = np.asarray(M, dtype=derivs.dtype)
        J = E.readonly(np.linalg.solve(Mf.T, np.asarray(derivs).T).T.astype(derivs.dtype))
    n_out = int(net.n_outputs)
    if n_out == 1:
        derivs, J = derivs[0], J[0]
        val = value[0]
        val = val if used_exact else float(val)
    else:
        val = value
    return LexicographicDerivative(value=val, derivative=derivs, subgradient=J,
                                   ops=lexicographic_ops(net, at_zero=at_zero, identity=identity), exact=used_exact)
