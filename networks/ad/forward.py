"""Forward mode: exact one-sided directional derivatives ``F'(x; d)``, many directions at once.

docs/theory.md section 4. For a direction matrix ``D`` of shape ``(n, p)`` each layer is one matrix
product ``M_k @ dH_{k-1}`` plus the ReLU rule of :mod:`networks.ad.primitives` (``dz`` where
``z > 0``, ``0`` where ``z < 0``, ``max(dz, 0)`` where ``z = 0``). That rule is *not* linear in the
direction: these are the true one-sided derivatives, not what a JVP returns at a kink.

Conventions:

- ``x`` has shape ``(n,)``; ``x=None`` means the origin, where every unit is at its kink and no
  values are needed. At ``x != 0`` the values travel as one extra column of the same product
  (``F'(x; x) = F(x)`` by homogeneity), so the cost stays one product per layer.
- ``D`` of shape ``(n,)`` is one direction, ``(n, p)`` holds ``p`` directions as columns. The
  result has shape ``(n_out, p)`` (``(n_out,)`` for one direction); for a scalar-output network
  the output axis is dropped (``(p,)``, or a scalar), as ``ReluNetwork.evaluate`` does.
- Arithmetic: ``exact=None`` picks the exact path when ``x`` and ``D`` hold only ints / Fractions
  (Python or numpy integer dtypes) and the float path otherwise (float32 when the float inputs are
  float32, else float64). Exact results are read-only object arrays of ints and Fractions; float
  results read-only float arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from nsad.networks.ad import engine as E
from nsad.networks.ad.costs import OpCount, directional_ops, evaluation_ops
from nsad.networks.ad.primitives import ReLU

__all__ = ["DirectionalDerivatives", "Evaluation", "directional_derivatives", "forward_pass",
           "difference_quotient", "check_directional_derivatives"]


@dataclass(frozen=True)
class DirectionalDerivatives:
    """``F(x)`` and ``F'(x; d)`` for every column ``d`` of ``D``, with the operation count."""

    value: object
    derivatives: np.ndarray | object
    ops: OpCount
    exact: bool


@dataclass(frozen=True)
class Evaluation:
    """``F`` at one or many points (float or exact), with the operation count."""

    value: object
    ops: OpCount
    exact: bool


def _shape_out(res: np.ndarray, n_out: int, single: bool, exact: bool, writeable: bool = False):
    """``res`` has shape (n_out, p): drop the axes the conventions drop (read-only unless
    ``writeable``: a caller's ``out`` buffer stays the caller's)."""
    if single:
        res = res[:, 0]
    if n_out == 1:
        res = res[0]
    if isinstance(res, np.ndarray):
        if res.ndim == 0:
            return res.item()
        return res if writeable else E.readonly(res)
    if exact:
        return res
    return float(res)


def _check_shapes(net, x_ndim_ok: bool, x_shape, D_shape):
    n = int(net.n_inputs)
    if x_shape is not None and (len(x_shape) != 1 or x_shape[0] != n):
        raise E.network_error(f"x must have shape ({n},), got {tuple(x_shape)}")
    if D_shape[0] != n:
        raise E.network_error(f"directions must have {n} rows (one per input), got shape {tuple(D_shape)}")


def _float_forward_columns(P: E.PreparedNetwork, H0: np.ndarray, at_zero: bool, rule,
                           out: np.ndarray | None = None) -> np.ndarray:
    """Push the columns of ``H0`` (shape (n, c)) through the layers with ``rule`` at each ReLU.

    When ``not at_zero`` column 0 holds the point itself (its values drive the rule). Returns a fresh
    (n_out, c) array, or ``out`` (C-contiguous, (n_out, c), the plan's dtype) filled in place;
    intermediate layers reuse the plan's work buffers in place (requested only when some layer
    needs one: ``relu(A x)`` with its identity output layer writes straight into the result).
    """
    ncols = H0.shape[1]
    bufs = None
    H = H0
    L = P.depth
    for k, layer in enumerate(P.layers):
        w = layer.shape[0]
        if k == L - 1:
            if out is not None:
                if H is not out:
                    layer.matmul(H, out=out)
                return out
            Z = layer.matmul(H)
            if Z is H0 or np.may_share_memory(Z, H0) or (
                    bufs is not None and any(np.may_share_memory(Z, b) for b in bufs)):
                Z = Z.copy()
            return Z
        if k == L - 2 and P.layers[-1].identity:
            # the result itself: the identity layer passes it on
            dest = out if out is not None else np.empty((w, ncols), P.dtype)
        else:
            if bufs is None:
                _, buf_a, buf_b = P.workspace(ncols)
                bufs = (buf_a, buf_b)
            dest = bufs[k % 2][:w]
        Z = layer.matmul(H, out=dest)
        z = None if at_zero else Z[:, 0].copy()
        rule(z, Z, inplace=True)
        H = Z
    raise AssertionError("unreachable")  # pragma: no cover


def _exact_forward_columns(mats, H: np.ndarray, at_zero: bool, rule) -> np.ndarray:
    L = len(mats)
    for k, M in enumerate(mats):
        Z = E.exact_product(M, H)
        if k < L - 1:
            z = None if at_zero else Z[:, 0].copy()
            Z = rule(z, Z)
        H = Z
    return H


def _check_out(out, n_out: int, p: int, dtype, D) -> None:
    if not isinstance(out, np.ndarray):
        raise E.network_error(f"out must be a numpy array, got {type(out).__name__}")
    if out.shape != (n_out, p) or out.dtype != dtype or not out.flags.c_contiguous or not out.flags.writeable:
        raise E.network_error(f"out must be a writeable C-contiguous {np.dtype(dtype).name} array of shape "
                              f"({n_out}, {p}), got {out.dtype.name} {out.shape}")
    if np.may_share_memory(out, D):
        raise E.network_error("out must not share memory with the directions")


def _run_columns(net, x, D, *, exact, rule, name="directions", check_finite=True, out=None):
    """Shared driver of the forward-mode engines (directional, LD), which differ only in ``rule``.

    Returns ``(value, result, at_zero, exact, single)``: ``value`` of shape (n_out,), ``result`` of
    shape (n_out, p) (exact: already divided back by the scale of ``D``), whether ``x`` is the
    origin, which path ran, and whether ``D`` was a single direction. With ``out`` (float path
    only) ``result`` is ``out``, filled in place.
    """
    single = False
    exact = E.choose_exact(exact, x, D)
    if exact and out is not None:
        raise E.network_error("out= is for the float path only (exact results are object arrays)")
    n = int(net.n_inputs)
    if exact:
        Dx = E.exact_array(D, (1, 2), name)
        if Dx.ndim == 1:
            Dx, single = Dx[:, None], True
        xx = None if x is None else E.exact_array(x, 1, "x")
        _check_shapes(net, True, None if xx is None else xx.shape, Dx.shape)
        at_zero = xx is None or not bool(np.any(xx != 0))
        mats = net.matrices
        if E.is_integer_net(net):
            D_int, qd = E.scale_to_integers(Dx)
            if at_zero:
                H, qx = D_int, 1
            else:
                x_int, qx = E.scale_to_integers(xx)
                dtype = np.int64 if (x_int.dtype == np.int64 and D_int.dtype == np.int64) else object
                H = np.empty((n, Dx.shape[1] + 1), dtype=dtype)
                H[:, 0] = x_int
                H[:, 1:] = D_int
        else:
            qd = qx = 1
            if at_zero:
                H = Dx
            else:
                H = np.empty((n, Dx.shape[1] + 1), dtype=object)
                H[:, 0] = xx
                H[:, 1:] = Dx
        R = _exact_forward_columns(mats, H, at_zero, rule)
        if at_zero:
            value = np.zeros(R.shape[0], dtype=object)
            derivs = E.finish_exact(R, qd)
        else:
            value = E.finish_exact(R[:, 0], qx)
            derivs = E.finish_exact(R[:, 1:], qd)
        return value, derivs, at_zero, True, single
    # float path
    dtype = E.float_dtype(*(a for a in (x, D) if isinstance(a, np.ndarray)))
    Df = E.float_array(D, dtype, (1, 2), name, check_finite=check_finite)
    if Df.ndim == 1:
        Df, single = Df[:, None], True
    xf = None if x is None else E.float_array(x, dtype, 1, "x", check_finite=check_finite)
    _check_shapes(net, True, None if xf is None else xf.shape, Df.shape)
    if out is not None:
        _check_out(out, int(net.n_outputs), Df.shape[1], dtype, Df)
    P = E.prepare(net, dtype)
    at_zero = xf is None or not np.any(xf)
    if at_zero:
        H0 = Df if Df.flags.c_contiguous else np.ascontiguousarray(Df)
        R = _float_forward_columns(P, H0, True, rule, out=out)
        value = np.zeros(R.shape[0], dtype=dtype)
        derivs = R
    else:
        inp, _, _ = P.workspace(Df.shape[1] + 1)
        inp[:, 0] = xf
        inp[:, 1:] = Df
        R = _float_forward_columns(P, inp, False, rule)
        value = R[:, 0].copy()
        derivs = R[:, 1:]
        if out is not None:  # the values ride in column 0: one copy into the caller's buffer
            np.copyto(out, derivs)
            derivs = out
    return value, derivs, at_zero, False, single


def directional_derivatives(net, x, D, *, exact: bool | None = None, check_finite: bool = True,
                            out: np.ndarray | None = None) -> DirectionalDerivatives:
    """One-sided directional derivatives ``F'(x; d)`` for every column ``d`` of ``D``.

    ``net`` is a ``ReluNetwork`` (vector outputs allowed) or a :class:`PreparedNetwork`;
    ``x=None`` is the origin. See the module docstring for shapes and arithmetic.

    Float path only: ``check_finite=False`` skips the pass rejecting NaN / inf in ``x`` and ``D``
    (NaN then propagates, as in a plain matrix product); ``out``, a writeable C-contiguous array of
    shape ``(n_out, p)`` (2-D even for one direction / one output) in the path's dtype, not sharing
    memory with ``D``, receives the derivatives in place (no fresh result array; at ``x = 0`` the
    last layer's product writes straight into it). ``derivatives`` is then ``out`` (or its view with
    the dropped axes), left writeable.

    >>> from nsad.networks.ad.engine import PreparedNetwork
    >>> absx = PreparedNetwork.from_dense([np.array([[1.0], [-1.0]]), np.array([[1.0, 1.0]])])  # |x|
    >>> r = directional_derivatives(absx, None, np.array([[1.0, -2.0]]))
    >>> r.derivatives.tolist(), r.ops
    ([1.0, 2.0], OpCount(matmul=8, elementwise=4, solve=0))
    >>> directional_derivatives(absx, [0], [[1, -2]]).derivatives.tolist()  # exact path
    [1, 2]
    """
    value, derivs, at_zero, exact, single = _run_columns(net, x, D, exact=exact, rule=ReLU.directional_array,
                                                         check_finite=check_finite, out=out)
    p = 1 if single else derivs.shape[1]
    n_out = int(net.n_outputs)
    return DirectionalDerivatives(
        value=_shape_out(value[:, None], n_out, True, exact),
        derivatives=_shape_out(derivs, n_out, single, exact, writeable=out is not None),
        ops=directional_ops(net, p, at_zero=at_zero),
        exact=exact,
    )


def forward_pass(net, X, *, exact: bool | None = None) -> Evaluation:
    """``F`` at a point ``(n,)`` or at a batch of points ``(b, n)``, on the same plans as the engines.

    Shapes follow ``ReluNetwork.evaluate``; used as the common baseline of cost comparisons.

    >>> from nsad.networks.ad.engine import PreparedNetwork
    >>> absx = PreparedNetwork.from_dense([np.array([[1.0], [-1.0]]), np.array([[1.0, 1.0]])])
    >>> forward_pass(absx, np.array([[-3.0], [2.0]])).value.tolist()
    [3.0, 2.0]
    """
    exact = E.choose_exact(exact, X)
    n = int(net.n_inputs)
    n_out = int(net.n_outputs)
    if exact:
        Xa = E.exact_array(X, (1, 2), "x")
    else:
        dtype = E.float_dtype(X) if isinstance(X, np.ndarray) else np.dtype(np.float64)
        Xa = E.float_array(X, dtype, (1, 2), "x")
    single = Xa.ndim == 1
    Xb = Xa[None, :] if single else Xa
    if Xb.shape[1] != n:
        raise E.network_error(f"points must have {n} coordinates, got shape {Xa.shape}")
    b = Xb.shape[0]
    if exact:
        if E.is_integer_net(net):
            H, q = E.scale_to_integers(np.ascontiguousarray(Xb.T))
        else:
            H, q = np.ascontiguousarray(Xb.T), 1
        L = len(net.matrices)
        for k, M in enumerate(net.matrices):
            H = E.exact_product(M, H)
            if k < L - 1:
                H = ReLU.value_array(H)
        out = E.finish_exact(H, q)
    else:
        P = E.prepare(net, Xb.dtype)
        H = np.array(Xb.T, order="C")  # a private copy: identity layers pass it through
        L = P.depth
        for k, layer in enumerate(P.layers):
            H = layer.matmul(H)
            if k < L - 1:
                ReLU.value_array(H, out=H)
        out = E.readonly(H)
    res = out.T  # (b, n_out)
    if n_out == 1:
        res = res[:, 0]
    if single:
        res = res[0]
    if isinstance(res, np.ndarray) and res.ndim == 0:
        res = res.item()
    return Evaluation(value=res, ops=evaluation_ops(net, b), exact=exact)


def difference_quotient(net, x, d, t) -> object:
    """The exact one-sided difference quotient ``(F(x + t d) - F(x)) / t`` (``t > 0`` rational).

    For piecewise-linear ``F`` it equals ``F'(x; d)`` for every small enough ``t``: a checker for
    the directional derivatives (a tuple for vector outputs).

    >>> from nsad.networks.ad.engine import PreparedNetwork
    >>> absx = PreparedNetwork.from_dense([np.array([[1.0], [-1.0]]), np.array([[1.0, 1.0]])])
    >>> difference_quotient(absx, [0], [-2], Fraction(1, 1000))
    2
    """
    t = Fraction(t)
    if t <= 0:
        raise ValueError(f"t must be positive, got {t}")
    xs = E.exact_array(x, 1, "x").astype(object)
    ds = E.exact_array(d, 1, "d").astype(object)
    f1 = forward_pass(net, xs + t * ds, exact=True).value
    f0 = forward_pass(net, xs, exact=True).value
    if isinstance(f1, np.ndarray):
        return tuple(E.exact_scalar((a - b) / t) for a, b in zip(f1.tolist(), f0.tolist()))
    return E.exact_scalar((f1 - f0) / t)


def check_directional_derivatives(net, x, D, t=Fraction(1, 2 ** 40)) -> bool:
    """True when the exact engine's ``F'(x; d)`` equals the difference quotient for every column.

    >>> from nsad.networks.ad.engine import PreparedNetwork
    >>> absx = PreparedNetwork.from_dense([np.array([[1.0], [-1.0]]), np.array([[1.0, 1.0]])])
    >>> check_directional_derivatives(absx, [0], [[1, -1, 3]])
    True
    """
    res = directional_derivatives(net, x, D, exact=True)
    Dx = E.exact_array(D, (1, 2), "D")
    Dx = Dx[:, None] if Dx.ndim == 1 else Dx
    derivs = np.asarray(res.derivatives, dtype=object)
    n_out = int(net.n_outputs)
    derivs = derivs.reshape(n_out, Dx.shape[1]) if n_out > 1 else derivs.reshape(1, Dx.shape[1])
    xs = np.zeros(int(net.n_inputs), dtype=object) if x is None else x
    for j in range(Dx.shape[1]):
        q = difference_quotient(net, xs, Dx[:, j], t)
        q = q if isinstance(q, tuple) else (q,)
        if tuple(derivs[:, j].tolist()) != q:
            return False
    return True
