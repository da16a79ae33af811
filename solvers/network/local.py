"""The Clarke question at any point, for networks with biases (docs/theory.md section 3.7).

``F(x) = M_L relu(... relu(M_1 x + b_1) ...) + b_L`` (a :class:`nsad.networks.ReluNetwork` with
biases, or without) and a point ``x0``. Every pre-activation ``z(x0)`` is computed exactly (floats
are dyadic rationals, taken exactly). Near ``x0`` a unit with ``z(x0) > 0`` is the identity on its
input, one with ``z(x0) < 0`` vanishes and one with ``z(x0) = 0`` keeps its ReLU, applied to the
local change of its pre-activation; so ``F(x0 + d) = F(x0) + G(d)`` for all small ``d``, with ``G``
bias-free (the output bias cancels) and positively homogeneous, and ``dF(x0) = dG(0)``: every
decider of this package answers it.

* :func:`preactivations` computes the exact ``z_k(x0)`` through the homogenized network
  (:meth:`nsad.networks.ReluNetwork.homogenized`: integer arithmetic, one sparse product per layer;
  the carry unit's pre-activation is the positive factor between the integer and the true values);
* :func:`local_network` builds ``G`` as a layered bias-free ``ReluNetwork`` with sparse products
  (an active unit is carried as ``relu(v) - relu(-v)``; a one-hidden-layer ``F`` gives a
  one-hidden-layer ``G``, which class (c) decides in near-linear time);
* :func:`decide_at` decides ``G`` (default: :mod:`nsad.solvers.network.one_hidden` when ``G`` has one
  hidden layer, else the portfolio) and maps the answer back: a two-subgradient certificate of ``G``
  (points ``p1, p2``) becomes the points ``x0 + s p1`` and ``x0 + s p2`` for an ``s = 2^-e`` small
  enough that every unit nonzero at ``x0`` keeps its strict sign there (the locality condition:
  without it two different gradients prove nothing, ``F = relu(x - 1)`` at 0 with 1/2 and 2; the
  condition is monotone in ``s``, so ``e`` is found by bisection), both generic for ``F`` with the
  gradients of ``G``; :func:`check_at` re-checks all of it exactly on ``F`` itself.
* ``output``: for a network with several outputs, the index of the scalar output asked about.

>>> from nsad.networks import ReluNetwork
>>> F = ReluNetwork([[[1.0], [1.0]], [[1.0, 1.0]]], biases=[[-1.0, 0.0], [0.0]])   # relu(x - 1) + relu(x)
>>> [decide_at(F, [x]).answer for x in (0, 1, 2)]
['two-subgradients', 'two-subgradients', 'singleton']
>>> decide_at(F, [2]).element
(2,)
>>> v = decide_at(F, ["1"])
>>> v.certificate.to_json()["at"], check_at(F, [1], v.certificate)[0]
([1], True)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np
import scipy.sparse as sp

from nsad.networks import NetworkError, ReluNetwork
from nsad.networks.exact import exact

__all__ = ["LocalNetwork", "LocalCertificate", "scalar_output", "preactivations", "local_network", "decide_at",
           "check_at", "parse_point"]


def _num(v):
    f = Fraction(v)
    return int(f) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


@dataclass(frozen=True)
class LocalCertificate:
    """Two rational points near ``at`` and the exact gradients of ``F`` there (two elements of
    ``dF(at)`` once :func:`check_at` accepts them)."""

    at: tuple
    points: tuple
    gradients: tuple

    def to_json(self) -> dict:
        return {"at": [_num(v) for v in self.at], "points": [[_num(v) for v in p] for p in self.points],
                "gradients": [[_num(v) for v in g] for g in self.gradients]}

    @classmethod
    def from_json(cls, obj) -> "LocalCertificate":
        from nsad.networks.certificate import exact_entry

        if not isinstance(obj, dict) or not all(isinstance(obj.get(k), list) for k in ("at", "points", "gradients")):
            raise NetworkError("a local certificate is an object with lists 'at', 'points' and 'gradients'")
        pts, grads = obj["points"], obj["gradients"]
        if len(pts) != 2 or len(grads) != 2 or not all(isinstance(r, list) for r in pts + grads):
            raise NetworkError("a local certificate has exactly two points and two gradients")
        conv = lambda row, what: tuple(Fraction(exact_entry(v, what)) for v in row)  # noqa: E731
        return cls(conv(obj["at"], "certificate 'at'"), tuple(conv(p, "certificate point") for p in pts),
                   tuple(conv(g, "certificate gradient") for g in grads))


def _fr(v) -> Fraction:
    if isinstance(v, (bool, np.bool_)):
        return Fraction(int(v))
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            raise NetworkError("points must be finite")
        return Fraction(float(v))
    if isinstance(v, np.integer):
        return Fraction(int(v))
    if isinstance(v, str):
        from nsad.limits import check_number_digits

        check_number_digits(v.strip(), "a point coordinate")
        try:
            return Fraction(v.strip())
        except (ValueError, ZeroDivisionError):
            raise NetworkError(f"not a rational number: {v!r}") from None
    return Fraction(v)


def scalar_output(net: ReluNetwork, output: int | None) -> ReluNetwork:
    """The scalar network of output ``output`` (``None``: the network itself, which must be scalar)."""
    if output is None:
        if net.n_outputs != 1:
            raise NetworkError(f"the network has {net.n_outputs} outputs; choose one with --output K (0..{net.n_outputs - 1}) "
                               f"or --output all")
        return net
    return net.output(output)


def _point(net: ReluNetwork, x0) -> tuple:
    x = tuple(_fr(v) for v in x0)
    if len(x) != net.n_inputs:
        raise NetworkError(f"the point has {len(x)} coordinates, the network {net.n_inputs} inputs")
    return x


def _scaled_preactivations(net: ReluNetwork, x: tuple) -> list:
    """Integer vectors ``Z_k`` and positive integers ``c_k`` with ``z_k(x) = Z_k / c_k`` for every hidden
    layer, from the homogenized network at ``(p, q)`` with ``x = p / q`` (exact; int64 or Python ints)."""
    H = net.homogenized()
    layers, _scale, row_abs = H._exact_layers()
    bias_free = not net.has_biases
    # bias-free: H is net itself, no carry; the factor is q times the per-layer scalings, positive
    h, q = net._integer_point(list(x)) if bias_free else H._integer_point(list(x) + [1])
    bound = int(np.max(np.abs(h))) if h.size and h.dtype != object else max((abs(int(v)) for v in h), default=0)
    out = []
    for k, N in enumerate(layers[:-1]):
        z = ReluNetwork._spmv_exact(N, h, bound, row_abs[k])
        bound *= max(row_abs[k], 1)
        if bias_free:
            out.append((z, None))
        else:
            out.append((z[:-1], int(z[-1])))
        h = np.where(z > 0, z, 0) if z.dtype != object else np.array([v if v > 0 else 0 for v in z], dtype=object)
    return out


def _signs(net: ReluNetwork, x: tuple) -> list:
    return [np.sign(z).astype(np.int64) if z.dtype != object else np.array([(v > 0) - (v < 0) for v in z], dtype=np.int64)
            for z, _c in _scaled_preactivations(net, x)]


def preactivations(net: ReluNetwork, x0) -> list:
    """Exact pre-activations ``z_k(x0)`` of every hidden layer (lists of ints and Fractions).

    >>> preactivations(ReluNetwork([[[1], [2]], [[1, 1]]], biases=[[-1, 1], [0]]), ["1/2"])
    [[Fraction(-1, 2), 2]]
    """
    x = _point(net, x0)
    if not net.has_biases:
        # bias-free: z_k of x, through the exact layers of net itself (scale them back by evaluating)
        mats = net.matrices
        h = list(x)
        out = []
        for M in mats[:-1]:
            A = sp.csr_array(M)
            z = [sum((Fraction(float(A.data[p]) if A.data.dtype.kind == "f" else int(A.data[p])) * h[A.indices[p]]
                      for p in range(A.indptr[i], A.indptr[i + 1])), Fraction(0)) for i in range(A.shape[0])]
            out.append([exact(v) for v in z])
            h = [v if v > 0 else Fraction(0) for v in z]
        return out
    return [[exact(Fraction(int(v), c)) for v in z] for z, c in _scaled_preactivations(net, x)]


@dataclass(frozen=True)
class LocalNetwork:
    """``G`` with ``F(x0 + d) = value + G(d)`` for small ``d``; ``signs`` per hidden layer: +1 for
    units with ``z(x0) > 0``, -1 for ``z(x0) < 0``, 0 on the kink."""

    network: ReluNetwork
    value: object
    x0: tuple
    signs: tuple

    @property
    def kinks(self) -> int:
        return int(sum(int(np.sum(s == 0)) for s in self.signs))


def local_network(net: ReluNetwork, x0, *, output: int | None = None) -> LocalNetwork:
    """Build ``G`` (module docstring), with sparse products only (no loop over units).

    >>> F = ReluNetwork([[[1.0], [1.0]], [[1.0, 1.0]]], biases=[[-1.0, 0.0], [0.0]])
    >>> loc = local_network(F, [1])
    >>> loc.value, [s.tolist() for s in loc.signs], [loc.network.evaluate_exact([d]) for d in (-1, 1)]
    (1, [[0, 1]], [-1, 2])
    """
    net = scalar_output(net, output)
    x = _point(net, x0)
    signs = _signs(net, x)
    value = net.evaluate_exact(list(x))
    n = net.n_inputs
    E = sp.identity(n, dtype=np.float64, format="csr")  # dh_{k-1} = E g_{k-1}
    layers = []
    for k, M in enumerate(net.matrices[:-1]):
        W = sp.csr_array(M.astype(np.float64) @ E)  # every entry is one +-M entry: exact
        s = signs[k]
        act, kink = np.flatnonzero(s > 0), np.flatnonzero(s == 0)
        if act.size + kink.size == 0:  # every unit inactive: G is identically 0
            G = ReluNetwork([sp.csr_array((1, n)), sp.csr_array((1, 1))])
            return LocalNetwork(G, value, x, tuple(signs))
        sel = np.concatenate([act, act, kink])
        mult = np.concatenate([np.ones(act.size), -np.ones(act.size), np.ones(kink.size)])
        layers.append(sp.csr_array(sp.diags_array(mult) @ W[sel]))
        E = sp.csr_array((mult, (sel, np.arange(sel.size))), shape=(M.shape[0], sel.size))
    layers.append(sp.csr_array(net.matrices[-1].astype(np.float64) @ E))
    return LocalNetwork(ReluNetwork(layers), value, x, tuple(signs))


def _keeps_signs(net: ReluNetwork, x0_signs, x) -> bool:
    for z, s in zip(_signs(net, x), x0_signs):
        if np.any((s != 0) & (z != s)):
            return False
    return True


def check_at(net: ReluNetwork, x0, cert: LocalCertificate, *, output: int | None = None) -> tuple[bool, str]:
    """Exact check of a two-subgradient certificate of ``F`` at ``x0``: both points keep the strict
    sign of every unit that is nonzero at ``x0``, both are generic for ``F``, their exact gradients
    are the stated ones, and they differ. Returns ``(ok, reason)``."""
    F = scalar_output(net, output)
    x = _point(F, x0)
    if tuple(map(Fraction, cert.at)) != x:
        return False, f"the certificate is about the point {[_num(v) for v in cert.at]}, not {[_num(v) for v in x]}"
    signs = _signs(F, x)
    grads = []
    for p, g in zip(cert.points, cert.gradients):
        q = _point(F, p)
        if q == x:
            return False, "a certificate point equals x0"
        if not _keeps_signs(F, signs, q):
            return False, f"the point {[_num(v) for v in q]} does not keep the signs of the units that are nonzero at x0"
        lin = F.linearize(list(q))
        if lin.gradient is None:
            return False, f"the point {[_num(v) for v in q]} is not generic for F: {lin.reason}"
        if tuple(map(Fraction, lin.gradient)) != tuple(map(Fraction, g)):
            return False, f"the gradient at {[_num(v) for v in q]} is {[_num(v) for v in lin.gradient]}, not {[_num(v) for v in g]}"
        grads.append(tuple(map(Fraction, lin.gradient)))
    if grads[0] == grads[1]:
        return False, "the two gradients are equal"
    return True, "checked exactly on F: locality, genericity and both gradients"


def _decide_local(G: ReluNetwork, method, time_limit, seed):
    from nsad.solvers.network.one_hidden import BACKEND
    from nsad.solvers.network.table import decide_network
    from nsad.solvers.verdict import SINGLETON, Verdict

    if G.depth == 1:  # F is affine near x0
        row = G.matrices[0].toarray().reshape(-1)
        el = tuple(exact(Fraction(float(v)) if G.matrices[0].dtype.kind == "f" else int(v)) for v in row)
        return Verdict(answer=SINGLETON, backend=BACKEND, element=el, argument="linear-form",
                       reason="F is affine near the point (no hidden layer)")
    if method is None:
        method = "one-hidden" if G.depth == 2 else None
    return decide_network(G, method, time_limit, seed=seed)


def _first_layer_guess(F: ReluNetwork, x: tuple, points) -> int:
    """The smallest ``e >= 0`` with ``2^-e |M_1 p| < |z_1(x0)|`` on every unit of layer 1 nonzero at ``x0``
    (in floats: only a starting guess, which the exact check of the locality condition confirms)."""
    Z, c = _scaled_preactivations(F, x)[0] if F.depth > 1 else (np.zeros(0), 1)
    z = np.abs(np.asarray(Z, dtype=np.float64) / float(c if c else 1))
    nz = z > 0
    if not np.any(nz):
        return 0
    M = F.matrices[0].astype(np.float64)
    worst = 0.0
    for p in points:
        d = np.abs(M @ np.array([float(v) for v in p]))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(nz & (d > 0), d / np.where(nz, z, 1.0), 0.0)
        worst = max(worst, float(np.max(r)) if r.size else 0.0)
    if worst < 1 or not np.isfinite(worst):
        return 0
    return int(np.floor(np.log2(worst))) + 1


def decide_at(net: ReluNetwork, x0, *, output: int | None = None, method: str | None = None,
              time_limit: float | None = None, seed: int = 0):
    """Decide whether ``dF(x0)`` has two elements (module docstring); a network
    :class:`nsad.solvers.verdict.Verdict` whose certificate (a :class:`LocalCertificate`, points near
    ``x0``) passed :func:`check_at` and whose element is ``dF(x0)``'s single element.

    ``method``: ``None`` (class (c) for a one-hidden-layer ``G``, else the portfolio) or any decider
    name of :data:`nsad.solvers.DECIDERS`."""
    t0 = time.perf_counter()
    F = scalar_output(net, output)
    loc = local_network(F, x0)
    x = loc.x0
    v = _decide_local(loc.network, method, time_limit, seed)
    stats = {**v.stats, "kinks_at_x0": loc.kinks, "value_at_x0": _num(loc.value),
             "local_units": loc.network.n_units}
    if v.answer != "two-subgradients":
        return replace(v, stats=stats, seconds=time.perf_counter() - t0)
    p1, p2 = ([Fraction(c) for c in p] for p in v.certificate.points)
    # bisection on e: the locality condition holds for every s <= s* (section 3.7), so find the
    # smallest e with x0 + 2^-e p keeping the signs, for both points
    def ok(e):
        s = Fraction(1, 2**e)
        return all(_keeps_signs(F, loc.signs, tuple(a + s * b for a, b in zip(x, p))) for p in (p1, p2))

    e = _first_layer_guess(F, x, (p1, p2))  # exact for one hidden layer; checked exactly either way
    if not ok(e):
        lo, step = e, 1
        while not ok(e):
            e, step = e + step, 2 * step
            if e > 4096:
                return replace(v, answer="unknown", certificate=None, complete=False, argument=None, stats=stats,
                               seconds=time.perf_counter() - t0,
                               reason="two subgradients of the local network, but no point near x0 kept the signs")
        while e - lo > 1:
            mid = (lo + e) // 2
            lo, e = (lo, mid) if ok(mid) else (mid, e)
    why = ""
    for extra in range(8):  # the gradient of G at p is F's gradient at x0 + s p; check it on F itself
        s = Fraction(1, 2 ** (e + extra))
        pts = (tuple(a + s * b for a, b in zip(x, p1)), tuple(a + s * b for a, b in zip(x, p2)))
        cert = LocalCertificate(at=x, points=pts, gradients=v.certificate.gradients)
        good, why = check_at(F, x, cert)
        if good:
            return replace(v, certificate=cert, stats={**stats, "locality_step": _num(s)},
                           seconds=time.perf_counter() - t0,
                           reason=f"{v.reason}; points x0 + s p with s = {_num(s)}, {why}")
    return replace(v, answer="unknown", certificate=None, complete=False, argument=None, stats=stats,
                   seconds=time.perf_counter() - t0,
                   reason=f"two subgradients of the local network, but no point near x0 passed the check ({why})")


def parse_point(text: str, n: int, *, limits=None) -> list:
    """The points of ``--at``: comma-separated rationals or decimals (``1/2,0,-3,0.25``, taken exactly),
    or a ``.npy`` file / text file with one point per row (comma- or space-separated). Limits:
    ``max_layer_width`` coordinates, ``max_number_length`` characters per number, ``max_units`` points.

    >>> parse_point("1/2,0,-3,0.25", 4)
    [(Fraction(1, 2), Fraction(0, 1), Fraction(-3, 1), Fraction(1, 4))]
    >>> parse_point("1,2", 3)
    Traceback (most recent call last):
    ...
    nsad.errors.NetworkError: --at: the point has 2 coordinates, the network 3 inputs
    """
    import os
    import re

    from nsad import limits as _limits

    lim = _limits.resolve(limits)
    number = re.compile(r"[+-]?(?:[0-9]+(?:/[0-9]+)?|[0-9]*\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+)")

    def row(fields, where):
        if len(fields) != n:
            raise NetworkError(f"{where}: the point has {len(fields)} coordinates, the network {n} inputs")
        out = []
        for f in fields:
            f = f.strip()
            _limits.check("max_number_length", len(f), f"{where}: a number of {len(f)} characters", limits=lim)
            _limits.check_number_digits(f, where, limits=lim)
            if not number.fullmatch(f):
                raise NetworkError(f"{where}: {f[:40]!r} is not a rational (p/q) or decimal number")
            try:
                out.append(Fraction(f))
            except ZeroDivisionError:
                raise NetworkError(f"{where}: {f[:40]!r} divides by zero") from None
        return tuple(out)

    if os.path.exists(text):
        if text.endswith(".npy"):
            size = os.path.getsize(text)
            _limits.check("max_file_bytes", size, f"{text}: the file has {size} bytes", limits=lim)
            try:
                A = np.load(text, allow_pickle=False, mmap_mode="r")
            except (OSError, ValueError) as exc:
                raise NetworkError(f"{text}: not a readable .npy array ({exc})".splitlines()[0]) from None
            A = A.reshape(1, -1) if A.ndim == 1 else A
            if A.ndim != 2 or A.shape[1] != n or A.dtype.kind not in "biuf":
                raise NetworkError(f"{text}: expected a numeric array of shape (points, {n}), got {A.shape} {A.dtype}")
            if A.shape[0] == 0:
                raise NetworkError(f"{text}: no point in the file")
            if A.dtype.kind == "f" and A.dtype.itemsize > 8:
                raise NetworkError(f"{text}: dtype {A.dtype} is wider than float64 (its points would be rounded)")
            _limits.check("max_units", A.shape[0], f"{text}: {A.shape[0]} points", limits=lim)
            A = np.asarray(A)
            if A.dtype.kind == "f" and not np.all(np.isfinite(A)):
                raise NetworkError(f"{text}: the points must be finite")
            return [tuple(_fr(v) for v in r) for r in A.tolist()]
        pts = []
        body = _limits.read_text(text, lim, error=NetworkError, what="the points file")  # max_text_bytes
        for i, line in enumerate(body.splitlines(), start=1):
            line = line.split("#", 1)[0].strip()
            if line:
                pts.append(row(re.split(r"[,\s]+", line), f"{text}:{i}"))
                _limits.check("max_units", len(pts), f"{text}: more than {len(pts)} points", limits=lim)
        if not pts:
            raise NetworkError(f"{text}: no point in the file")
        return pts
    return [row(text.split(","), "--at")]
