"""Exact arithmetic rules shared by every exact computation of the project (one place each).

* :data:`INT64_SAFE` (``2**62``): an int64 computation is used only when an a priori bound on
  every intermediate magnitude stays below it (so that one more addition cannot overflow);
  otherwise the computation runs on Python ints (object arrays). Every overflow check in the
  project compares a bound with this constant.
* :func:`integer_layers`: float (dyadic) weights become integers layer by layer,
  ``N_k = s_k M_k`` with ``s_k`` the lcm of the denominators; by positive homogeneity of ReLU,
  ``F = F_N / prod(s_k)``.
* :func:`row_abs_max`: the infinity norm of a sparse matrix, the factor of the forward bound
  ``max|z_k| <= ||N_k||_inf * max|h_{k-1}|`` (docs/theory.md section 1.6).
* :func:`exact` and :func:`dot`: exact numbers (``int`` when integral, else ``Fraction``).

>>> import scipy.sparse as sp
>>> layers, scale = integer_layers([sp.csr_array([[0.5, -1.0]]), sp.csr_array([[3]])])
>>> layers[0].toarray().tolist(), scale
([[1, -2]], Fraction(1, 2))
>>> exact(Fraction(6, 3)), dot([1, Fraction(1, 2)], [2, 3])
(2, Fraction(7, 2))
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Sequence

import numpy as np
import scipy.sparse as sp

__all__ = ["INT64_SAFE", "exact", "dot", "integer_layers", "row_abs_max", "fits_int64", "rref"]

INT64_SAFE = 2**62


def fits_int64(bound) -> bool:
    """Whether a magnitude bound (int or float) admits int64 arithmetic."""
    return bound < INT64_SAFE


def exact(v):
    """``v`` as an exact number: ``int`` when integral, else ``Fraction``."""
    f = Fraction(v)
    return int(f) if f.denominator == 1 else f


def dot(a: Sequence, x: Sequence):
    """Exact inner product (zeros skipped), an ``int`` or ``Fraction``."""
    return exact(sum((Fraction(ai) * xi for ai, xi in zip(a, x) if ai and xi), Fraction(0)))


def integer_layers(matrices: Sequence) -> tuple[list, Fraction]:
    """Integer CSR matrices ``N_k = s_k M_k`` and the factor ``1 / prod(s_k)``.

    Integer matrices pass unchanged; a float matrix's distinct values are taken exactly as
    fractions (floats are dyadic rationals), and its data becomes int64 when every entry fits
    :data:`INT64_SAFE`, else an object array of Python ints.
    """
    layers, scale = [], Fraction(1)
    for M in matrices:
        if M.dtype.kind in "iu":
            layers.append(M)
            continue
        vals, inv = np.unique(np.asarray(M.data), return_inverse=True)
        fr = [Fraction(float(v)) for v in vals]
        s = math.lcm(*[f.denominator for f in fr]) if fr else 1
        ints = [int(f * s) for f in fr]
        big = max((abs(v) for v in ints), default=0)
        table = np.array(ints, dtype=np.int64 if fits_int64(big) else object)
        N = sp.csr_array((np.zeros(M.nnz, np.int64), M.indices, M.indptr), shape=M.shape)
        N.data = table[inv.reshape(-1)]
        layers.append(N)
        scale /= s
    return layers, scale


def row_abs_max(N) -> int:
    """Max over rows of the sum of ``|weights|`` (the infinity norm), as a Python int."""
    if N.nnz == 0:
        return 0
    if N.data.dtype == object:
        return max(sum(abs(int(v)) for v in N.data[N.indptr[i]:N.indptr[i + 1]]) for i in range(N.shape[0]))
    starts = N.indptr[:-1][np.diff(N.indptr) > 0]
    approx = np.add.reduceat(np.abs(N.data).astype(np.float64), starts)
    if float(np.max(approx)) + 1 < 2**50:  # exact in float64, so int64 cannot overflow: recompute in ints
        return int(np.max(np.add.reduceat(np.abs(N.data), starts)))
    return max(sum(abs(int(v)) for v in N.data[N.indptr[i]:N.indptr[i + 1]]) for i in range(N.shape[0]))


def rref(A: list, ncols: int) -> list[int]:
    """Gauss-Jordan in exact arithmetic: reduce the rows ``A`` (lists of ``Fraction``, changed in place)
    to reduced row echelon form over their first ``ncols`` columns (the others, e.g. right-hand sides,
    follow along); returns the pivot columns, one per nonzero row, in order.

    >>> A = [[Fraction(2), Fraction(4), Fraction(2)], [Fraction(1), Fraction(3), Fraction(2)]]
    >>> rref(A, 2), [[str(v) for v in row] for row in A]
    ([0, 1], [['1', '0', '-1'], ['0', '1', '1']])
    """
    pivots: list[int] = []
    r = 0
    for c in range(ncols):
        if r == len(A):
            break
        p = next((i for i in range(r, len(A)) if A[i][c] != 0), None)
        if p is None:
            continue
        A[r], A[p] = A[p], A[r]
        inv = 1 / A[r][c]
        A[r] = [v * inv for v in A[r]]
        for i in range(len(A)):
            if i != r and A[i][c] != 0:
                f = A[i][c]
                A[i] = [vi - f * vr for vi, vr in zip(A[i], A[r])]
        pivots.append(c)
        r += 1
    return pivots
