"""The Clarke question at any point, for networks with biases (docs/theory.md section 3.7).

``F(x) = M_L relu(... relu(M_1 x + b_1) ...) + b_L`` and a point ``x0``. Every pre-activation
``z(x0)`` is computed exactly (floats are dyadic rationals, taken exactly). Near ``x0`` a unit with
``z(x0) > 0`` is the identity on its input, one with ``z(x0) < 0`` vanishes and one with
``z(x0) = 0`` keeps its ReLU, applied to the local change of its pre-activation; so
``F(x0 + d) = F(x0) + G(d)`` for all small ``d``, with ``G`` bias-free (the output bias cancels) and
positively homogeneous, and ``dF(x0) = dG(0)``: every decider of this package answers it.

* :func:`local_network` builds ``G`` as a layered bias-free :class:`nsad.networks.ReluNetwork`
  (an active unit is carried as ``relu(v) - relu(-v)``; the deciders' normal form removes the
  carries again);
* :func:`homogenize` turns ``F`` into the bias-free ``H(x, t)`` with ``F(x) = H(x, 1)`` (the biases
  become weights on an extra input ``t``, carried as ``relu(t)``), so exact values, gradients and
  genericity of ``F`` come from :meth:`nsad.networks.ReluNetwork.linearize` on ``H``;
* :func:`decide_at` decides ``G`` and maps the answer back: a two-subgradient certificate of ``G``
  (points ``p1, p2``) becomes the points ``x0 + s p1`` and ``x0 + s p2`` for an ``s > 0`` small enough
  that every unit that is nonzero at ``x0`` keeps its strict sign there (the locality condition:
  without it two different gradients prove nothing, ``F = relu(x - 1)`` at 0 with 1/2 and 2), both
  generic for ``F`` with the gradients of ``G``; :func:`check_at` re-checks all of it exactly on
  ``F`` itself.

>>> import numpy as np
>>> mats = [np.array([[1.0], [1.0]]), np.array([[1.0, 1.0]])]
>>> biases = [np.array([-1.0, 0.0]), np.array([0.0])]      # F(x) = relu(x - 1) + relu(x)
>>> [decide_at(mats, biases, [x]).answer for x in (0, 1, 2)]
['two-subgradients', 'two-subgradients', 'singleton']
>>> decide_at(mats, biases, [2]).element
(2,)
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
import numpy as np
import scipy.sparse as sp

from nsad.networks import NetworkError, ReluNetwork
from nsad.networks.exact import exact

__all__ = ["LocalNetwork", "LocalCertificate", "homogenize", "local_network", "decide_at", "check_at",
           "preactivations"]


@dataclass(frozen=True)
class LocalCertificate:
    """Two rational points near ``at`` and the exact gradients of ``F`` there (two elements of
    ``dF(at)`` once :func:`check_at` accepts them)."""

    at: tuple
    points: tuple
    gradients: tuple

    def to_json(self) -> dict:
        def num(v):
            f = Fraction(v)
            return int(f) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"

        return {"at": [num(v) for v in self.at], "points": [[num(v) for v in p] for p in self.points],
                "gradients": [[num(v) for v in g] for g in self.gradients]}


def _fr(v) -> Fraction:
    return Fraction(v) if not isinstance(v, float) else Fraction(*v.as_integer_ratio())


def _dense_exact(M) -> list:
    A = M.toarray() if sp.issparse(M) else np.asarray(M)
    return [[_fr(v.item() if hasattr(v, "item") else v) for v in row] for row in A]


def _check(mats, biases) -> tuple[list, list]:
    mats = [sp.csr_array(M) if sp.issparse(M) else sp.csr_array(np.atleast_2d(np.asarray(M))) for M in mats]
    if len(biases) != len(mats):
        raise NetworkError(f"{len(mats)} matrices need {len(mats)} bias vectors, got {len(biases)}")
    bs = []
    for k, (M, b) in enumerate(zip(mats, biases), start=1):
        b = np.asarray(b).reshape(-1)
        if b.size != M.shape[0]:
            raise NetworkError(f"bias {k} has {b.size} entries, layer {k} has {M.shape[0]} units")
        if b.dtype.kind == "f" and not np.all(np.isfinite(b)):
            raise NetworkError(f"bias {k} has a non-finite entry")
        bs.append(b)
    for k in range(1, len(mats)):
        if mats[k].shape[1] != mats[k - 1].shape[0]:
            raise NetworkError(f"matrix {k + 1} has {mats[k].shape[1]} columns, layer {k} has {mats[k - 1].shape[0]} units")
    return mats, bs


def preactivations(mats, biases, x0) -> list[list[Fraction]]:
    """Exact pre-activations ``z_k(x0)`` of every hidden layer (lists of Fractions)."""
    mats, bs = _check(mats, biases)
    h = [_fr(v) for v in x0]
    if len(h) != mats[0].shape[1]:
        raise NetworkError(f"the point has {len(h)} coordinates, the network {mats[0].shape[1]} inputs")
    out = []
    for k, (M, b) in enumerate(zip(mats, bs)):
        A = _dense_exact(M)
        z = [sum((a * hj for a, hj in zip(row, h) if a), Fraction(0)) + _fr(bi.item()) for row, bi in zip(A, b)]
        if k == len(mats) - 1:
            break
        out.append(z)
        h = [v if v > 0 else Fraction(0) for v in z]
    return out


def homogenize(mats, biases) -> ReluNetwork:
    """The bias-free ``H(x, t)`` with ``F(x) = H(x, 1)``: input ``t`` last, carried by one extra unit
    ``relu(t)`` per hidden layer; the biases become that unit's column.

    >>> H = homogenize([np.array([[1.0]]), np.array([[2.0]])], [np.array([-1.0]), np.array([3.0])])
    >>> [H.evaluate_exact([x, 1]) for x in (0, 2)]                 # 2 relu(x - 1) + 3
    [3, 5]
    """
    mats, bs = _check(mats, biases)
    out = []
    for k, (M, b) in enumerate(zip(mats, bs)):
        bcol = sp.csr_array(np.asarray(b, dtype=M.dtype if M.dtype.kind == "f" or b.dtype.kind != "f" else b.dtype)[:, None])
        top = sp.hstack([M, bcol], format="csr")
        if k < len(mats) - 1:
            carry = sp.csr_array(([1], ([0], [M.shape[1]])), shape=(1, M.shape[1] + 1))
            top = sp.vstack([top, carry], format="csr")
        out.append(top)
    return ReluNetwork(out)


@dataclass(frozen=True)
class LocalNetwork:
    """``G`` with ``F(x0 + d) = value + G(d)`` for small ``d``; ``signs`` per hidden layer: +1 for
    units with ``z(x0) > 0``, -1 for ``z(x0) < 0``, 0 on the kink."""

    network: ReluNetwork
    value: Fraction
    x0: tuple
    signs: tuple

    @property
    def kinks(self) -> int:
        return int(sum(int(np.sum(s == 0)) for s in self.signs))


def local_network(mats, biases, x0) -> LocalNetwork:
    """Build ``G`` (module docstring).

    >>> loc = local_network([np.array([[1.0], [1.0]]), np.array([[1.0, 1.0]])], [np.array([-1.0, 0.0]), np.array([0.0])], [1])
    >>> loc.value, [s.tolist() for s in loc.signs], [loc.network.evaluate_exact([d]) for d in (-1, 1)]
    (Fraction(1, 1), [[0, 1]], [-1, 2])
    """
    mats, bs = _check(mats, biases)
    zs = preactivations(mats, bs, x0)
    H = homogenize(mats, bs)
    value = Fraction(H.evaluate_exact([_fr(v) for v in x0] + [1]))
    n = mats[0].shape[1]
    E = sp.identity(n, dtype=np.float64, format="csr")  # dh_{k-1} = E g_{k-1}
    layers, signs = [], []
    for k, M in enumerate(mats[:-1]):
        W = sp.csr_array(M.astype(np.float64) @ E)
        z = zs[k]
        s = np.array([1 if v > 0 else (-1 if v < 0 else 0) for v in z], dtype=np.int64)
        signs.append(s)
        rows, erows, ecols, evals = [], [], [], []
        for i in range(M.shape[0]):
            if s[i] > 0:
                p = len(rows)
                rows += [W[[i]], -W[[i]]]
                erows += [i, i]
                ecols += [p, p + 1]
                evals += [1.0, -1.0]
            elif s[i] == 0:
                erows.append(i)
                ecols.append(len(rows))
                evals.append(1.0)
                rows.append(W[[i]])
        if not rows:  # every unit inactive: G is identically 0
            zero = [sp.csr_array((1, E.shape[1] if not layers else layers[-1].shape[0]))]
            G = ReluNetwork(layers + zero + [sp.csr_array((1, 1))])
            return LocalNetwork(G, value, tuple(_fr(v) for v in x0), tuple(signs))
        layers.append(sp.vstack(rows, format="csr"))
        E = sp.csr_array((evals, (erows, ecols)), shape=(M.shape[0], len(rows)))
    layers.append(sp.csr_array(mats[-1].astype(np.float64) @ E))
    if all(np.all(np.asarray(L.data) == np.round(np.asarray(L.data))) for L in layers):
        layers = [sp.csr_array(L, dtype=np.int64) for L in layers]
    return LocalNetwork(ReluNetwork(layers), value, tuple(_fr(v) for v in x0), tuple(signs))


def _keeps_signs(mats, bs, x0_signs, x) -> bool:
    zs = preactivations(mats, bs, x)
    for z, s in zip(zs, x0_signs):
        for v, si in zip(z, s):
            if si > 0 and not v > 0 or si < 0 and not v < 0:
                return False
    return True


def check_at(mats, biases, x0, cert) -> tuple[bool, str]:
    """Exact check of a two-subgradient certificate of ``F`` at ``x0``: both points keep the strict
    sign of every unit that is nonzero at ``x0``, both are generic for ``F`` (through
    :func:`homogenize`), their exact gradients are the stated ones, and they differ."""
    mats, bs = _check(mats, biases)
    signs = [np.array([1 if v > 0 else (-1 if v < 0 else 0) for v in z]) for z in preactivations(mats, bs, x0)]
    H = homogenize(mats, bs)
    grads = []
    for p, g in zip(cert.points, cert.gradients):
        x = [_fr(v) for v in p]
        if not _keeps_signs(mats, bs, signs, x):
            return False, f"the point {p} does not keep the signs of the units that are nonzero at x0"
        lin = H.linearize(x + [Fraction(1)])
        if lin.gradient is None:
            return False, f"the point {p} is not generic for F: {lin.reason}"
        grad = tuple(exact(v) for v in lin.gradient[:-1])
        if tuple(map(Fraction, grad)) != tuple(map(Fraction, g)):
            return False, f"the gradient at {p} is {grad}, not {tuple(g)}"
        grads.append(grad)
    if grads[0] == grads[1]:
        return False, "the two gradients are equal"
    return True, "checked: locality, genericity and both gradients, exactly"


def decide_at(mats, biases, x0, *, method: str | None = None, time_limit: float | None = None, seed: int = 0):
    """Decide whether ``dF(x0)`` has two elements (module docstring); a network
    :class:`nsad.solvers.verdict.Verdict` whose certificate (points near ``x0``) passed
    :func:`check_at` and whose element is ``dF(x0)``'s single element."""
    from dataclasses import replace

    from nsad.solvers.network.table import decide_network

    mats, bs = _check(mats, biases)
    loc = local_network(mats, bs, x0)
    v = decide_network(loc.network, method, time_limit, seed=seed)
    stats = {**v.stats, "kinks_at_x0": loc.kinks, "value_at_x0": str(loc.value)}
    if v.answer != "two-subgradients":
        return replace(v, stats=stats)
    p1, p2 = ([_fr(c) for c in p] for p in v.certificate.points)
    x0f = [_fr(c) for c in x0]
    s = Fraction(1)
    for _ in range(200):
        pts = (tuple(a + s * b for a, b in zip(x0f, p1)), tuple(a + s * b for a, b in zip(x0f, p2)))
        cert = LocalCertificate(at=tuple(x0f), points=pts, gradients=v.certificate.gradients)
        ok, why = check_at(mats, bs, x0, cert)
        if ok:
            return replace(v, certificate=cert, stats={**stats, "locality_step": str(s)},
                           reason=f"{v.reason}; points x0 + s p with s = {s}, {why}")
        s /= 2
    return replace(v, answer="unknown", certificate=None, complete=False, argument=None, stats=stats,
                   reason=f"two subgradients of the local network, but no point near x0 passed the check ({why})")
