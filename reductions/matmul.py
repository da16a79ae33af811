"""Matrix multiplication as batched directional derivatives (docs/theory.md section 4).

For ``A`` of shape ``(m, k)`` let ``F(x) = relu(A x)`` -- the ReLU network with matrices
``[A, I_m]`` (vector output, ``n = k`` inputs). At ``x = 0`` every unit is at its kink, so
``F'(0; b) = max(A b, 0)`` and ``F'(0; b) - F'(0; -b) = A b``: the ``2p`` directional derivatives
along the columns of ``[B, -B]`` give ``A B``. Any engine that computes ``p`` exact directional
derivatives of a program of size ``m k`` therefore pays for at least one ``(m, k) x (k, p)``
product.

- :func:`build` returns the network and the direction matrix ``[B, -B]`` (shape ``(k, 2p)``);
- :func:`recover` turns the ``(m, 2p)`` derivatives back into ``A B``;
- :func:`multiply` does both through :func:`networks.ad.forward.directional_derivatives`.

Integer matrices (integer dtypes, or Python ints / Fractions) run on the engine's exact path and
``A B`` is exact: an int64 array when every entry fits, else an object array of Python ints (or
Fractions). Float matrices run on the float path (float32 when both are float32). Zero rows and
non-square shapes are fine; ``A`` may be a scipy.sparse matrix.
"""

from __future__ import annotations

import threading

import numpy as np
import scipy.sparse as sp

from nsad.networks import NetworkError, ReluNetwork
from nsad.networks.ad.engine import INT64_SAFE, PreparedNetwork, is_exact_input
from nsad.networks.ad.forward import directional_derivatives

__all__ = ["build", "recover", "multiply", "clear_workspace"]


def _shapes(A, B) -> tuple[int, int, int]:
    sa, sb = np.shape(A) if not sp.issparse(A) else A.shape, np.shape(B)
    if len(sa) != 2 or len(sb) != 2:
        raise NetworkError(f"A and B must be 2-D matrices, got shapes {tuple(sa)} and {tuple(sb)}")
    if sa[1] != sb[0]:
        raise NetworkError(f"cannot multiply A of shape {tuple(sa)} by B of shape {tuple(sb)}")
    if sa[0] == 0 or sa[1] == 0:
        raise NetworkError(f"A must have at least one row and one column, got shape {tuple(sa)}")
    return int(sa[0]), int(sa[1]), int(sb[1])


def _directions(B) -> np.ndarray:
    B = np.asarray(B)
    if B.dtype.kind == "O":
        return np.concatenate([B, -B], axis=1)
    k, p = B.shape
    D = np.empty((k, 2 * p), dtype=B.dtype)  # one pass per half, no temporary -B
    D[:, :p] = B
    np.negative(B, out=D[:, p:])
    return D


_LOCAL = threading.local()


def _workspace(k: int, m: int, p: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Per-thread buffers for the float path: directions ``(k, 2p)`` and derivatives ``(m, 2p)``.

    Kept for the last shape and dtype used in the thread (:func:`clear_workspace` frees them): a
    repeated product reuses memory already mapped instead of faulting in fresh pages (a fresh 32 MB
    array costs several milliseconds of page faults, more than the passes over it).
    """
    key = (k, m, p, np.dtype(dtype))
    cache = getattr(_LOCAL, "cache", None)
    if cache is None or cache[0] != key:
        _LOCAL.cache = None  # free the old buffers before allocating the new ones
        cache = (key, np.empty((k, 2 * p), dtype), np.empty((m, 2 * p), dtype))
        _LOCAL.cache = cache
    return cache[1], cache[2]


def clear_workspace() -> None:
    """Free this thread's float-path buffers of :func:`multiply`.

    >>> clear_workspace()
    """
    _LOCAL.cache = None


def _fill_directions(B: np.ndarray, D: np.ndarray) -> None:
    """``D <- [B, -B]`` in place: one read of ``B`` per half, no temporary."""
    p = B.shape[1]
    np.copyto(D[:, :p], B)
    np.negative(B, out=D[:, p:])


def build(A, B) -> tuple[ReluNetwork, np.ndarray]:
    """The network ``F(x) = relu(A x)`` (matrices ``[A, I_m]``) and the directions ``[B, -B]``.

    >>> net, D = build([[1, 2], [0, 0]], [[1], [1]])
    >>> net.widths, D.tolist()
    ((2, 2), [[1, -1], [1, -1]])
    """
    m, _, _ = _shapes(A, B)
    Am = A if sp.issparse(A) else np.asarray(A)
    if not sp.issparse(Am) and Am.dtype == object:
        Am = Am.astype(np.int64) if all(isinstance(v, (int, np.integer)) for v in Am.flat) else Am.astype(float)
    eye = sp.identity(m, dtype=np.int64, format="csr")
    net = ReluNetwork([Am, eye])
    return net, _directions(B)


def recover(derivs) -> np.ndarray:
    """``A B`` from the ``(m, 2p)`` derivatives along ``[B, -B]``: ``F'(0; B) - F'(0; -B)``.

    A 1-D input (the output axis dropped for ``m = 1``) is read as one row.

    >>> recover(np.array([[3, 0, 0, 1]])).tolist()
    [[3, -1]]
    """
    R = np.asarray(derivs)
    if R.ndim == 1:
        R = R[None, :]
    if R.ndim != 2 or R.shape[1] % 2:
        raise NetworkError(f"expected derivatives of shape (m, 2p), got {np.shape(derivs)}")
    p = R.shape[1] // 2
    return R[:, :p] - R[:, p:]


def _exact_result(C: np.ndarray, integer_inputs: bool) -> np.ndarray:
    """int64 when every entry is an integer that fits, else the exact object array."""
    if C.dtype != object:
        return C
    if integer_inputs:  # entries are Python ints: try the C conversion, fall back when one overflows
        try:
            return C.astype(np.int64)
        except OverflowError:
            return C
    if all(isinstance(v, int) for v in C.flat) and (C.size == 0 or max(abs(v) for v in C.flat) < INT64_SAFE):
        return C.astype(np.int64)
    return C


def multiply(A, B, *, check_finite: bool = True) -> np.ndarray:
    """``A @ B`` computed as ``2p`` directional derivatives of ``relu(A x)`` at 0.

    ``check_finite=False`` skips the pass over float ``A`` that rejects NaN / inf (``A @ B`` does no
    such check; NaN then propagates as it would there).

    >>> multiply([[1, 2, 3], [0, 0, 0]], [[1, -1], [2, 0], [-3, 5]]).tolist()
    [[-4, 14], [0, 0]]
    >>> multiply(np.ones((2, 3)), np.ones((3, 1))).tolist()
    [[3.0], [3.0]]
    """
    m, k, p = _shapes(A, B)
    exact = is_exact_input(B) and (is_exact_input(A.data) if sp.issparse(A) else is_exact_input(A))
    if exact:
        D = _directions(B)
        net, _ = build(A, B)
        integer_inputs = (not sp.issparse(A) and np.asarray(A).dtype.kind in "iub"
                          and np.asarray(B).dtype.kind in "iub")
        return _exact_result(recover(directional_derivatives(net, None, D, exact=True).derivatives), integer_inputs)
    Bf = np.asarray(B)
    Af = A if sp.issparse(A) else np.asarray(A)
    dtype = np.dtype(np.float32 if (Bf.dtype == np.float32 and Af.dtype == np.float32) else np.float64)
    if Bf.dtype != dtype:
        Bf = np.asarray(Bf, dtype=dtype)  # ints / object floats / float32 next to float64 A
    if check_finite and not np.isfinite(Bf.sum()) and not np.isfinite(Bf).all():
        raise NetworkError("B has non-finite entries")
    first = Af if sp.issparse(Af) else np.ascontiguousarray(Af, dtype=dtype)
    plan = PreparedNetwork.from_dense([first, sp.identity(m, format="csr")], dtype, check_finite=check_finite)
    D, R = _workspace(k, m, p, dtype)
    _fill_directions(Bf, D)  # [B, -B], built once into the reused buffer
    # the public batched engine: one GEMM of A with [B, -B] straight into R, then max(., 0) in place
    # (D was checked through B above: no second finiteness pass over the 2p columns)
    directional_derivatives(plan, None, D, exact=False, check_finite=False, out=R)
    C = np.empty((m, p), dtype)  # the result: fresh, C-contiguous, as A @ B returns
    np.subtract(R[:, :p], R[:, p:], out=C)  # F'(0; B) - F'(0; -B), one pass
    return C
