"""Backward mode: one element of the conservative gradient ``D^a_F(x)`` (docs/theory.md sections 1, 5).

Backpropagation with the convention ``relu'(0) = s`` (``relu_prime_at_zero``, a number in [0, 1],
PyTorch's choice is 0) returns ``M_1^T D_1 M_2^T D_2 ... D_{L-1} M_L^T u`` with
``D_k = diag(1 if z_k > 0, 0 if z_k < 0, s if z_k = 0)`` and ``u`` the output seed. At a generic
point this is the gradient; at a kink it need not be a Clarke subgradient (at ``x = 0`` it is
``s^(L-1) M_1^T ... M_L^T``). Its cost is :data:`networks.ad.costs.BACKWARD_RATIO` = 2 evaluations,
whatever ``n``.

Shapes: ``x`` is one point ``(n,)`` or a batch ``(b, n)``. For a scalar-output network the gradient
has the shape of ``x``. For vector outputs pass ``cotangent`` (``(n_out,)``: the gradient of
``<cotangent, F>``, shaped like ``x``) or leave it ``None`` for the whole conservative Jacobian,
``(n_out, n)`` per point (``(b, n_out, n)`` for a batch). Arithmetic: exact (ints / Fractions, also
for ``s``) when ``x`` holds only ints / Fractions, float otherwise (see :mod:`networks.ad.forward`).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from nsad.networks.ad import engine as E
from nsad.networks.ad.costs import OpCount, backward_ops
from nsad.networks.ad.primitives import ReLU, check_slope

__all__ = ["Backward", "backward"]


@dataclass(frozen=True)
class Backward:
    """``F(x)``, the backpropagated conservative gradient, the convention used, and the op count."""

    value: object
    gradient: np.ndarray
    relu_prime_at_zero: object
    ops: OpCount
    exact: bool


def backward(net, x, relu_prime_at_zero=0, *, cotangent=None, exact: bool | None = None) -> Backward:
    """Backpropagation through ``net`` at ``x`` with ``relu'(0) = relu_prime_at_zero``.

    >>> from nsad.networks.ad.engine import PreparedNetwork
    >>> absx = PreparedNetwork.from_dense([np.array([[1.0], [-1.0]]), np.array([[1.0, 1.0]])])  # |x|
    >>> backward(absx, np.array([[-2.0], [0.0]]), 1).gradient.tolist()  # batch: at -2 and at the kink
    [[-1.0], [0.0]]
    >>> r = backward(absx, [3])  # exact path
    >>> r.value, r.gradient.tolist(), r.ops.ratio(OpCount(4, 2))
    (3, [1], Fraction(2, 1))
    """
    s = check_slope(relu_prime_at_zero)
    if exact is None:
        exact = E.choose_exact(None, x, cotangent) and not isinstance(s, float)
    elif exact and isinstance(s, float):
        s = Fraction(s)
    n = int(net.n_inputs)
    n_out = int(net.n_outputs)
    # ---- inputs ----
    if exact:
        Xa = E.exact_array(x, (1, 2), "x")
    else:
        dtype = E.float_dtype(*(a for a in (x, cotangent) if isinstance(a, np.ndarray)))
        Xa = E.float_array(x, dtype, (1, 2), "x")
    single = Xa.ndim == 1
    Xb = Xa[None, :] if single else Xa
    if Xb.shape[1] != n:
        raise E.network_error(f"x must have {n} coordinates per point, got shape {Xa.shape}")
    b = Xb.shape[0]
    if cotangent is None:
        if n_out == 1:
            seeds = np.ones((1, 1), dtype=np.int64)
        else:
            seeds = np.eye(n_out, dtype=np.int64)
        jacobian = n_out > 1
    else:
        seeds = (E.exact_array(cotangent, 1, "cotangent") if exact
                 else E.float_array(cotangent, Xb.dtype, 1, "cotangent"))
        if seeds.shape != (n_out,):
            raise E.network_error(f"cotangent must have shape ({n_out},), got {seeds.shape}")
        seeds = seeds[:, None]
        jacobian = False
    q = seeds.shape[1]
    L = int(net.depth)

    if exact:
        integer = E.is_integer_net(net)
        mats = net.matrices
        if integer:
            H, qx = E.scale_to_integers(np.ascontiguousarray(Xb.T))
        else:
            H, qx = np.ascontiguousarray(Xb.T), 1
        masks = []
        for k, M in enumerate(mats):
            Z = E.exact_product(M, H)
            if k < L - 1:
                masks.append(ReLU.conservative_array(Z, s, dtype=None if integer else object))
                Z = ReLU.value_array(Z)
            H = Z
        value = E.finish_exact(H, qx)
        if integer:
            seeds_i, qs = E.scale_to_integers(seeds.astype(object))
        else:
            seeds_i, qs = seeds.astype(object), 1
        G = np.tile(seeds_i, (1, b))
        Ts = E.transposes(net)
        for k in range(L - 1, -1, -1):
            G = E.exact_product(Ts[k], G)
            if k > 0:
                mask = masks[k - 1] if q == 1 else np.repeat(masks[k - 1], q, axis=1)
                if G.dtype == object or mask.dtype == object:
                    G = G.astype(object) * mask.astype(object)
                else:
                    G = G * mask
        grad = E.finish_exact(G, qs)
    else:
        P = E.prepare(net, Xb.dtype)
        H = np.array(Xb.T, order="C")
        masks = []
        for k, layer in enumerate(P.layers):
            Z = layer.matmul(H)
            if k < L - 1:
                masks.append(ReLU.conservative_mask(Z, float(s)))
                ReLU.value_array(Z, out=Z)
            H = Z
        value = E.readonly(np.array(H))
        G = np.tile(seeds.astype(P.dtype), (1, b))
        for k in range(L - 1, -1, -1):
            G = P.layers[k].rmatmul(G)
            if k > 0:
                mask = masks[k - 1] if q == 1 else np.repeat(masks[k - 1], q, axis=1)
                np.multiply(G, mask, out=G)
        grad = E.readonly(G)
    # ---- shapes: value (n_out, b) -> like evaluate; grad (n, b*q) -> (b, q, n) ----
    val = value.T
    val = val[:, 0] if n_out == 1 else val
    val = val[0] if single else val
    if isinstance(val, np.ndarray) and val.ndim == 0:
        val = val.item()
    elif not isinstance(val, np.ndarray) and not exact:
        val = float(val)
    g = grad.reshape(n, b, q).transpose(1, 2, 0)
    if not jacobian:
        g = g[:, 0, :]
    if single:
        g = g[0]
    g = np.ascontiguousarray(g)
    g.setflags(write=False)
    if isinstance(val, np.ndarray):
        val.setflags(write=False)
    return Backward(value=val, gradient=g, relu_prime_at_zero=s,
                    ops=backward_ops(net, points=b, seeds=q), exact=exact)
