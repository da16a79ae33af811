"""Class (c): the exact, near-linear-time decider for one hidden layer (docs/theory.md section 3.6).

``G(d) = sum_i c_i relu(w_i.d)`` (a bias-free network with two matrices ``W`` and ``c``). Every
nonzero row is ``w_i = t_i u`` with ``u`` primitive (integer, gcd 1, first nonzero entry positive)
and ``t_i != 0``; the group of a line ``u`` contributes ``kappa_u relu(u.d) + (linear)``, with

    kappa_u = sum over the group of c_i |t_i|,

and ``G`` is linear iff every ``kappa_u`` is 0 (hinges along distinct hyperplanes cannot cancel).
Then ``dG(0) = {a}`` with ``a = sum_{t_i < 0} c_i w_i`` (``relu(-v) = relu(v) - v``). Otherwise a
line with ``kappa_u != 0`` gives the certificate: ``d0`` orthogonal to ``u`` and off every other
line's hyperplane (``d0 = (u.u) r - (u.r) u`` for a seeded random integer ``r``, redrawn if it lands
on one), and the generic points ``N d0 + u`` and ``N d0 - u`` with ``N`` beyond every
``|w_i.u| / |w_i.d0|``; their gradients differ by ``kappa_u u``, and the exact genericity test and
gradients of :meth:`nsad.networks.ReluNetwork.linearize` (what :func:`nsad.networks.check` runs) confirm it.

Float (dyadic) weights are scaled to integers per layer first (a positive factor per layer does not
change the question). Rows are grouped by exact integer keys: two seeded random projections, then
an exact comparison of every row with its group's representative (collisions fall back to exact
row tuples). Everything is vectorised over rows; int64 where a bound proves it safe, else Python ints.

>>> from nsad.networks import ReluNetwork
>>> decide_one_hidden(ReluNetwork([[[1], [-1]], [[1, 1]]])).answer                 # |x|
'two-subgradients'
>>> v = decide_one_hidden(ReluNetwork([[[2, 2], [-1, -1]], [[1, 2]]]))   # relu(2s) + 2 relu(-s), s = x1 + x2
>>> v.answer, v.stats["nonlinear_lines"]
('two-subgradients', 1)
>>> v = decide_one_hidden(ReluNetwork([[[2, 2], [-1, -1]], [[1, -2]]]))  # 2 relu(s) - 2 relu(-s) = 2 s
>>> v.answer, v.element, v.argument
('singleton', (2, 2), 'linear-form')
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import scipy.sparse as sp

from nsad.networks import Certificate, NetworkError, ReluNetwork
from nsad.networks.exact import INT64_SAFE, exact, integer_layers
from nsad.networks.relu_network import require_bias_free
from nsad.solvers.verdict import SINGLETON, TWO, UNKNOWN, Verdict

__all__ = ["HingeForm", "decide_one_hidden", "hinge_form", "is_one_hidden"]

BACKEND = "one-hidden"


def is_one_hidden(net: ReluNetwork) -> bool:
    """Whether class (c) applies: a scalar bias-free network with exactly one hidden layer."""
    return net.depth == 2 and net.n_outputs == 1 and not net.has_biases


def _obj(a) -> np.ndarray:
    return np.asarray(a).astype(object)


def _row_gcd(W: sp.csr_array) -> np.ndarray:
    """gcd of |entries| per row (0 for an empty row), vectorised (int64) or per nonzero (Python ints)."""
    counts = np.diff(W.indptr)
    g = np.zeros(W.shape[0], dtype=W.data.dtype if W.data.dtype != object else object)
    nz = np.flatnonzero(counts)
    if not nz.size:
        return g
    if W.data.dtype != object:
        g[nz] = np.gcd.reduceat(np.abs(W.data), W.indptr[:-1][nz])
    else:
        vals = [abs(int(v)) for v in W.data]
        for i in nz:
            g[i] = math.gcd(*vals[W.indptr[i]:W.indptr[i + 1]])
    return g


def _groups(U: sp.csr_array, rng) -> np.ndarray:
    """Group labels of equal rows of the integer matrix ``U`` (exact)."""
    m, n = U.shape
    big = U.data.dtype == object or (U.nnz and int(np.max(np.abs(U.data))) * max(1, int(np.max(np.diff(U.indptr))))
                                     * 2**20 >= INT64_SAFE)
    if not big:
        R = rng.integers(1, 2**20, size=(n, 2), dtype=np.int64)
        K = U @ R
        keys = np.column_stack([np.diff(U.indptr), K])
        _, labels = np.unique(keys, axis=0, return_inverse=True)
        labels = labels.reshape(-1)
        rep = np.zeros(labels.max() + 1 if m else 0, dtype=np.int64)
        rep[labels[::-1]] = np.arange(m)[::-1]  # first row of each group
        D = sp.csr_array(U - U[rep[labels]])
        D.eliminate_zeros()
        if D.nnz == 0:
            return labels
    rows = [tuple(zip(U.indices[U.indptr[i]:U.indptr[i + 1]].tolist(), U.data[U.indptr[i]:U.indptr[i + 1]].tolist()))
            for i in range(m)]  # rare: a projection collision or huge weights
    seen: dict = {}
    return np.array([seen.setdefault(r, len(seen)) for r in rows], dtype=np.int64)


@dataclass(frozen=True)
class HingeForm:
    """``G(d) = scale * (sum_lines kappa_u relu(u.d) + linear.d)`` for a one-hidden-layer network:
    ``W`` and ``c`` its integer layers, ``U`` the primitive rows, ``keep`` the live units, ``labels``
    their line, ``kappa`` per line (ints), ``linear`` (ints) and ``scale`` (a Fraction)."""

    W: sp.csr_array
    c: np.ndarray
    U: sp.csr_array
    keep: np.ndarray
    labels: np.ndarray
    kappa: np.ndarray
    linear: tuple
    scale: Fraction

    def line(self, lab: int) -> np.ndarray:
        """The primitive vector ``u`` of line ``lab`` (a dense int vector)."""
        i = int(self.keep[np.flatnonzero(self.labels == lab)[0]])
        return self.U[[i]].toarray().reshape(-1)

    @property
    def nonlinear(self) -> np.ndarray:
        return np.flatnonzero(self.kappa != 0)


def hinge_form(net: ReluNetwork, *, seed: int = 0) -> HingeForm:
    """The grouped form of a bias-free network with one hidden layer (module docstring).

    >>> h = hinge_form(ReluNetwork([[[2, 2], [-1, -1]], [[1, 2]]]))   # relu(2s) + 2 relu(-s), s = x1 + x2
    >>> h.kappa.tolist(), h.linear, h.line(0).tolist()
    ([4], (-2, -2), [1, 1])
    """
    require_bias_free(net, "the one-hidden-layer form")
    if net.depth != 2:
        raise NetworkError(f"the hinge form needs exactly one hidden layer, this network has {net.depth - 1}")
    net.require_scalar()
    (W, c_row), scale = integer_layers(net.matrices)
    W = sp.csr_array(W)
    c = np.zeros(W.shape[0], dtype=c_row.data.dtype)
    c[c_row.indices] = c_row.data
    g = _row_gcd(W)
    live = (g != 0) & (c != 0)  # dead units (zero row or zero column) contribute nothing
    counts = np.diff(W.indptr)
    lead = np.zeros(W.shape[0], dtype=W.data.dtype)
    lead[counts > 0] = W.data[W.indptr[:-1][counts > 0]]
    neg = lead < 0
    gs = np.where(g == 0, 1, g)
    sign = np.where(neg, -1, 1)
    # primitive rows u_i = w_i / t_i with t_i = sign_i g_i
    rep_data = np.repeat(gs * sign, counts)
    exact_int = W.data.dtype != object and c.dtype != object and g.dtype != object
    if exact_int:
        Udata = W.data // rep_data
    else:
        Udata = np.array([int(a) // int(b) for a, b in zip(W.data.tolist(), rep_data.tolist())], dtype=object)
    U = sp.csr_array((Udata, W.indices, W.indptr), shape=W.shape)
    keep = np.flatnonzero(live)
    rng = np.random.default_rng(seed)
    if keep.size:
        labels = _groups(sp.csr_array(U[keep]), rng)
        ck, gk = c[keep], g[keep]
        if exact_int and (np.abs(ck).astype(np.float64) * gk.astype(np.float64)).sum() < INT64_SAFE:
            kappa = np.zeros(labels.max() + 1, dtype=np.int64)
            np.add.at(kappa, labels, ck * gk)
        else:
            kappa = np.zeros(labels.max() + 1, dtype=object)
            kappa[:] = 0
            for lab, v in zip(labels.tolist(), (_obj(ck) * _obj(gk)).tolist()):
                kappa[lab] += v
    else:
        labels, kappa = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    a = np.zeros(W.shape[1], dtype=object)
    a[:] = 0
    sel = np.flatnonzero(neg & (c != 0))
    if sel.size:  # relu(-v) = relu(v) - v: the linear part is sum over negative leads of c_i w_i
        Ws = sp.csr_array(W[sel])
        rows = np.repeat(np.arange(sel.size), np.diff(Ws.indptr))
        np.add.at(a, Ws.indices, _obj(Ws.data) * _obj(c[sel])[rows])
    return HingeForm(W, c, U, keep, labels, kappa, tuple(int(v) for v in a), scale)


def decide_one_hidden(net: ReluNetwork, *, time_limit: float | None = None, seed: int = 0) -> Verdict:
    """Decide ``dF(0)`` for a one-hidden-layer network exactly (module docstring); ``unknown`` for a
    network outside class (c) (depth other than 2)."""
    require_bias_free(net, "the one-hidden-layer decider at 0")
    t0 = time.perf_counter()
    net.require_scalar()
    if net.depth != 2:
        return Verdict(answer=UNKNOWN, kind="network", backend=BACKEND, seconds=time.perf_counter() - t0, complete=False,
                       reason=f"class (c) needs exactly one hidden layer, this network has {net.depth - 1}")
    h = hinge_form(net, seed=seed)
    bad = h.nonlinear
    stats = {"units": int(h.W.shape[0]), "live_units": int(h.keep.size), "lines": int(h.kappa.size),
             "nonlinear_lines": int(bad.size)}
    if not bad.size:
        element = tuple(exact(Fraction(v) * h.scale) for v in h.linear)
        return Verdict(answer=SINGLETON, backend=BACKEND, seconds=time.perf_counter() - t0, element=element,
                       argument="linear-form", stats=stats,
                       reason=f"class (c): every one of the {stats['lines']} lines of hidden units has kappa = 0, "
                              f"so F is linear (docs/theory.md section 3.6)")
    lab = int(bad[0])
    cert = _certificate(net, h.W, h.U, h.line(lab), np.random.default_rng(seed + 1), time_limit, t0)
    if cert is None:
        return Verdict(answer=UNKNOWN, kind="network", backend=BACKEND, seconds=time.perf_counter() - t0,
                       complete=False, stats=stats,
                       reason="class (c): a line has kappa != 0 but no certificate passed the exact check")
    return Verdict(answer=TWO, backend=BACKEND, seconds=time.perf_counter() - t0, certificate=cert,
                   argument="certificate", stats={**stats, "kappa": str(h.kappa[lab])},
                   reason="class (c): a line of hidden units has kappa != 0; two points on either side of its "
                          "hyperplane, checked exactly")


def _equal_rows(U: sp.csr_array, u: np.ndarray) -> np.ndarray:
    """Which rows of ``U`` equal ``u`` (exactly): the units on the line of ``u``, dead ones included."""
    m = U.shape[0]
    if U.data.dtype != object and np.asarray(u).dtype != object:
        D = sp.csr_array(U - sp.csr_array(np.ones((m, 1), dtype=np.int64)) @ sp.csr_array(np.asarray(u, np.int64)[None, :]))
        D.eliminate_zeros()
        return np.diff(D.indptr) == 0
    target = [(int(j), int(u[j])) for j in np.flatnonzero(u)]
    return np.array([list(zip(U.indices[U.indptr[i]:U.indptr[i + 1]].tolist(),
                              [int(v) for v in U.data[U.indptr[i]:U.indptr[i + 1]]])) == target for i in range(m)])


def _matvec(W, v) -> np.ndarray:
    """Exact ``W @ v`` for an integer CSR ``W`` and a vector of Python ints (int64 when a bound allows)."""
    from nsad.networks.exact import row_abs_max

    vb = max((abs(int(x)) for x in v), default=0)
    vv = np.array(v, dtype=np.int64) if vb < INT64_SAFE else np.asarray(v, dtype=object)
    return ReluNetwork._spmv_exact(W, vv, vb, row_abs_max(W))


def _certificate(net, W, U, u, rng, time_limit, t0):
    uo = _obj(u)
    uu = int(np.dot(uo, uo))
    on_line = _equal_rows(U, u)
    for attempt in range(64):
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            return None
        r = _obj(rng.integers(-(2 ** min(8 + attempt, 40)), 2 ** min(8 + attempt, 40) + 1, size=W.shape[1]))
        d0 = uu * r - int(np.dot(uo, r)) * uo
        wd, wu = _matvec(W, d0), _matvec(W, uo)
        off = ~on_line & (np.diff(W.indptr) > 0)
        if np.any(wd[off] == 0):
            continue
        N = 1 + max((abs(int(a)) // abs(int(b)) for a, b in zip(wu[off], wd[off])), default=0)
        p1 = tuple(int(v) for v in N * d0 + uo)
        p2 = tuple(int(v) for v in N * d0 - uo)
        # the exact check of networks.check itself: both points generic (Lemma 1.2.2), gradients differ
        g1, g2 = net.linearize(p1).gradient, net.linearize(p2).gradient
        if g1 is None or g2 is None or g1 == g2:
            continue
        return Certificate(points=(p1, p2), gradients=(g1, g2))
    return None
