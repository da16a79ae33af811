"""Shared machinery of the network deciders: the axis test and exact certificate construction.

docs/theory.md section 3. Every network decider starts with the axis test: ``a_i = F(e_i)`` and
``b_i = F(-e_i)``, computed exactly. If ``a_i + b_i != 0`` for some ``i``, ``F`` is not linear and
generic points near ``e_i`` and ``-e_i`` certify two subgradients. Otherwise ``F`` is linear iff
``F(x) = a.x`` everywhere, and a *witness* ``x*`` with ``F(x*) != a.x*`` (found by any method, often as
a float vector) is turned into an exactly checked certificate by :func:`certificate_from_witness`.

Conventions:

* exact numbers are Python ``int`` or ``fractions.Fraction``; certificate points are integer
  vectors (rational points are scaled: ``F(p/q) = F(p)/q``, same gradient);
* "a generic integer point near ``N d``" is ``K * D + r`` with ``D`` the integer direction,
  ``r`` a seeded pseudo-random integer perturbation in ``[-R, R]^n`` and ``K`` large relative to
  ``R``: when a candidate is not generic ``R`` grows (more randomness breaks ties), when it is
  generic but in the wrong piece the ratio ``K / R`` grows (the point moves closer to the ray);
* every certificate returned here has been accepted by :func:`networks.check`; when construction
  fails, the result carries ``certificate=None`` and a one-line ``reason`` (callers answer UNKNOWN).

>>> from nsad.networks import ReluNetwork
>>> net = ReluNetwork([[[1], [-1]], [[1, 1]]])          # F(x) = |x|
>>> ax = axis_test(net)
>>> ax.a, ax.b, ax.violations
((1,), (1,), (0,))
>>> res = certificate_near_axis(net, ax, 0)
>>> res.certificate.gradients
((1,), (-1,))
"""

from __future__ import annotations

from nsad.networks.relu_network import require_bias_free as _require_bias_free
import math
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Sequence

import numpy as np
import scipy.sparse as sp

from nsad.networks import Certificate, ReluNetwork, check
from nsad.networks.exact import INT64_SAFE, dot, exact
from nsad.solvers.verdict import SINGLETON, TWO, UNKNOWN, Verdict

__all__ = [
    "AxisResult",
    "CertifyResult",
    "axis_test",
    "axis_verdict",
    "certificate_from_witness",
    "certificate_near_axis",
    "certificate_from_points",
    "generic_point_near",
    "rationalise",
    "singleton",
    "verdict_from_certificate",
    "unknown",
]

# Denominator limits tried, in order, when a float witness is turned into a rational point.
_DENOMINATORS = (1, 2, 3, 4, 6, 8, 12, 16, 32, 64, 100, 128, 256, 1000, 1024, 10**4, 2**16, 10**6, 2**24)


# ------------------------------------------------------------------------------------------------
# The axis test
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AxisResult:
    """Exact ``a_i = F(e_i)`` and ``b_i = F(-e_i)``; ``violations`` are the ``i`` with ``a_i + b_i != 0``."""

    a: tuple
    b: tuple
    seconds: float = 0.0
    exact_path: str = ""

    @property
    def violations(self) -> tuple:
        return tuple(i for i, (x, y) in enumerate(zip(self.a, self.b)) if x + y != 0)

    @property
    def passed(self) -> bool:
        """True when ``a = -b``: the axis test cannot tell ``F`` from a linear function."""
        return not self.violations




def _row_abs_bound(M) -> float:
    if M.nnz == 0:
        return 0.0
    return float(np.max(np.asarray(abs(M).sum(axis=1), dtype=np.float64)))


def _axis_values_int64(net: ReluNetwork) -> np.ndarray | None:
    """``F`` at the ``2n`` points ``e_1..e_n, -e_1..-e_n`` in one exact int64 pass, or None if it could overflow.

    The batch is a sparse ``(n, 2n)`` matrix pushed through the layers with sparse products (each
    column stays as sparse as the units that depend on its coordinate); it turns dense when it fills.
    The bound ``prod_k max_row |M_k|_1`` on every intermediate value proves there is no overflow.
    """
    if not net.is_integer:
        return None
    bound = 1.0
    for M in net.matrices:
        bound *= max(_row_abs_bound(M), 1.0)
    if bound >= 2.0**61:
        return None
    n = net.n_inputs
    eye = sp.identity(n, dtype=np.int64, format="csr")
    H = sp.csr_array(sp.hstack([eye, -eye], format="csr"))
    dense = False
    for k, M in enumerate(net.matrices):
        H = M @ H
        if k == net.depth - 1:
            break
        if not dense and sp.issparse(H) and H.nnz > 0.25 * H.shape[0] * H.shape[1]:
            H = H.toarray()
            dense = True
        if dense:
            H = np.maximum(H, 0)
        else:
            H = sp.csr_array(H)
            H.data = np.maximum(H.data, 0)
            H.eliminate_zeros()
    out = H.toarray() if sp.issparse(H) else np.asarray(H)
    return out.reshape(-1).astype(np.int64)


def axis_test(net: ReluNetwork) -> AxisResult:
    """Exact values of ``F`` at ``+-e_i`` (docs/theory.md section 3.1).

    Integer networks whose weights bound every value below ``2**61`` use one batched int64 pass;
    other networks call ``net.evaluate_exact`` once per point (Python integers / Fractions).

    >>> from nsad.networks import ReluNetwork
    >>> ax = axis_test(ReluNetwork([[[1, 0], [-1, 0], [0, 1]], [[1, 1, 2]]]))   # |x1| + 2 relu(x2)
    >>> ax.a, ax.b, ax.violations
    ((1, 2), (1, 0), (0, 1))
    """
    _require_bias_free(net, "the axis test (docs/theory.md section 3.1)")
    net.require_scalar()
    t0 = time.perf_counter()
    n = net.n_inputs
    vals = _axis_values_int64(net)
    if vals is not None:
        a = tuple(int(v) for v in vals[:n])
        b = tuple(int(v) for v in vals[n:])
        path = "int64-batch"
    else:
        a, b = [], []
        for i in range(n):
            e = [0] * n
            e[i] = 1
            a.append(exact(net.evaluate_exact(e)))
            e[i] = -1
            b.append(exact(net.evaluate_exact(e)))
        a, b, path = tuple(a), tuple(b), "python-exact"
    return AxisResult(a, b, time.perf_counter() - t0, path)


# ------------------------------------------------------------------------------------------------
# Generic points and certificates
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CertifyResult:
    """A checked certificate, or ``None`` and the reason construction failed; plus statistics."""

    certificate: Certificate | None
    reason: str | None = None
    stats: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.certificate is not None




def rationalise(x: Sequence[float], accept: Callable[[tuple], bool]) -> tuple | None:
    """The first rational rounding of ``x`` (smallest denominators first) that ``accept`` takes.

    Tries ``Fraction(v).limit_denominator(D)`` for increasing ``D`` (``D = 1`` rounds to integers),
    then the exact binary value of the floats. Returns a tuple of Fractions or ``None``.

    >>> rationalise([0.7499999, 0.5000001], lambda p: p[0] > p[1])
    (Fraction(2, 3), Fraction(1, 2))
    >>> rationalise([0.7499999, 0.5000001], lambda p: p[0] == Fraction(3, 4))
    (Fraction(3, 4), Fraction(1, 2))
    """
    seen = set()
    exact = tuple(Fraction(float(v)) for v in x)
    for D in _DENOMINATORS:
        p = tuple(v.limit_denominator(D) for v in exact)
        if p in seen:
            continue
        seen.add(p)
        if accept(p):
            return p
    if exact not in seen and accept(exact):
        return exact
    return None


def _integer_direction(p: Sequence) -> list[int]:
    """Integer vector ``q * p`` for a rational vector ``p`` (``q`` the common denominator)."""
    fr = [Fraction(v) for v in p]
    q = math.lcm(*[f.denominator for f in fr]) if fr else 1
    return [int(f * q) for f in fr]


def generic_point_near(
    net: ReluNetwork,
    direction: Sequence[int],
    accept: Callable[[list, object], bool],
    *,
    seed: int = 0,
    max_tries: int = 40,
    start_r: int = 2**6,
    start_ratio: int = 2**6,
    stats: dict | None = None,
):
    """A generic integer point ``K * D + r`` near the ray of ``direction`` that ``accept`` takes.

    ``accept(x, linearization)`` is called on generic candidates only. A non-generic candidate
    multiplies ``R`` (the perturbation range) by 2**6; a rejected generic one multiplies the ratio
    ``K * max|D| / R`` by 2**6. Returns ``(x, linearization)`` or ``None`` after ``max_tries``.

    >>> from nsad.networks import ReluNetwork
    >>> net = ReluNetwork([[[1, -1], [-1, 1]], [[1, 1]]])          # |x1 - x2|
    >>> x, lin = generic_point_near(net, [1, 0], lambda x, lin: True)
    >>> lin.gradient
    (1, -1)
    """
    rng = np.random.default_rng([seed, 0x5EED])
    D = [int(v) for v in direction]
    n = len(D)
    dmax = max((abs(v) for v in D), default=0)
    R, ratio = int(start_r), int(start_ratio)
    for _ in range(max_tries):
        K = -(-ratio * R // dmax) if dmax else 0
        r = rng.integers(-R, R + 1, size=n) if R < INT64_SAFE else [int(v) for v in rng.integers(-INT64_SAFE, INT64_SAFE, size=n)]
        x = [K * d + int(v) for d, v in zip(D, r)]
        lin = net.linearize(x)
        if stats is not None:
            stats["linearizations"] = stats.get("linearizations", 0) + 1
        if lin.gradient is None:
            R *= 2**6
        elif accept(x, lin):
            return x, lin
        else:
            ratio *= 2**6
    return None


def _checked(net: ReluNetwork, x1, g1, x2, g2, stats: dict) -> CertifyResult:
    cert = Certificate(points=(tuple(int(v) for v in x1), tuple(int(v) for v in x2)), gradients=(tuple(g1), tuple(g2)))
    t0 = time.perf_counter()
    res = check(net, cert)
    stats["check_seconds"] = time.perf_counter() - t0
    if not res.ok:
        return CertifyResult(None, f"constructed certificate rejected by networks.check: {res.reason}", stats)
    return CertifyResult(cert, None, stats)


def certificate_from_points(net: ReluNetwork, x1: Sequence[int], x2: Sequence[int]) -> CertifyResult:
    """Certificate from two integer points, checked exactly (reason on failure, never an exception).

    >>> from nsad.networks import ReluNetwork
    >>> net = ReluNetwork([[[1], [-1]], [[1, 1]]])
    >>> certificate_from_points(net, [5], [-2]).certificate.gradients
    ((1,), (-1,))
    >>> certificate_from_points(net, [5], [2]).reason
    'constructed certificate rejected by networks.check: the two gradients are equal, so they prove nothing'
    """
    stats: dict = {}
    lins = [net.linearize([int(v) for v in x]) for x in (x1, x2)]
    for k, lin in enumerate(lins, start=1):
        if lin.gradient is None:
            return CertifyResult(None, f"point {k} is not generic: {lin.reason}", stats)
    return _checked(net, x1, lins[0].gradient, x2, lins[1].gradient, stats)


def certificate_near_axis(net: ReluNetwork, axis: AxisResult, i: int, *, seed: int = 0) -> CertifyResult:
    """Certificate for an axis-test violation ``a_i + b_i != 0``: generic points near ``e_i`` and ``-e_i``.

    Near ``e_i`` a generic point lies in a piece whose closure holds ``e_i``, so its gradient ``g``
    has ``g_i = F(e_i) = a_i``; near ``-e_i``, ``g'_i = -b_i``; they differ when ``a_i != -b_i``.

    >>> from nsad.networks import ReluNetwork
    >>> net = ReluNetwork([[[1, 0], [0, 1]], [[1, 1]]])        # relu(x1) + relu(x2)
    >>> res = certificate_near_axis(net, axis_test(net), 1)
    >>> [g[1] for g in res.certificate.gradients]
    [1, 0]
    """
    stats: dict = {"certify": "axis", "axis": i}
    t0 = time.perf_counter()
    n = net.n_inputs
    a_i, b_i = Fraction(axis.a[i]), Fraction(axis.b[i])
    if a_i + b_i == 0:
        return CertifyResult(None, f"coordinate {i} passes the axis test (a_i + b_i = 0)", stats)
    e = [0] * n
    e[i] = 1
    minus = [-v for v in e]
    p1 = generic_point_near(net, e, lambda x, lin: Fraction(lin.gradient[i]) == a_i, seed=seed, stats=stats)
    if p1 is None:
        p1 = generic_point_near(net, e, lambda x, lin: True, seed=seed + 1, stats=stats)
    if p1 is None:
        return CertifyResult(None, f"found no generic point near e_{i}", stats)
    x1, l1 = p1
    p2 = generic_point_near(net, minus, lambda x, lin: lin.gradient != l1.gradient, seed=seed + 2, stats=stats)
    if p2 is None:
        return CertifyResult(None, f"found no generic point near -e_{i} with a gradient other than near e_{i}", stats)
    x2, l2 = p2
    stats["certify_seconds"] = time.perf_counter() - t0
    return _checked(net, x1, l1.gradient, x2, l2.gradient, stats)


def certificate_from_witness(
    net: ReluNetwork, x_star: Sequence, a: Sequence, *, seed: int = 0, other_points: int = 8
) -> CertifyResult:
    """Certificate from a witness ``x*`` with ``F(x*) != a.x*`` (docs/theory.md section 3.3).

    ``x_star`` may be floats (a solver's answer): it is rationalised (:func:`rationalise`) until
    ``F(p) - a.p != 0`` holds exactly. Then ``x1`` is a generic integer point near ``N p`` with
    ``F(x1) != a.x1``; its gradient ``g1`` satisfies ``g1.x1 = F(x1)`` (homogeneity), so ``g1 != a``
    and some ``g1_i != a_i``. ``x2`` is a generic integer point near ``N e_i`` (or ``-N e_i``) with a
    gradient other than ``g1`` (in theory ``g2_i = a_i``). If those fail, random integer points are
    tried. The certificate is checked with :func:`networks.check` before it is returned.

    >>> from nsad.networks import ReluNetwork
    >>> # F(x) = relu(min(2 x2 - x1, x1 - x2)): passes the axis test with a = 0, but F(3/4, 1/2) = 1/4
    >>> net = ReluNetwork([[[-1, 2], [1, -2], [-2, 3]], [[1, -1, -1]], [[1]]])
    >>> res = certificate_from_witness(net, [0.75, 0.5], (0, 0))
    >>> res.ok, res.stats["witness"]                     # rationalised: F(2/3, 1/2) = 1/6
    (True, ['2/3', '1/2'])
    """
    stats: dict = {"certify": "witness"}
    t0 = time.perf_counter()
    n = net.n_inputs
    a = tuple(Fraction(v) for v in a)
    if len(x_star) != n or len(a) != n:
        return CertifyResult(None, f"witness and a must have {n} coordinates", stats)

    def gap(p) -> Fraction:
        return Fraction(net.evaluate_exact(list(p))) - dot(a, p)

    try:
        p = rationalise(x_star, lambda p: gap(p) != 0)
    except (ValueError, OverflowError) as exc:  # non-finite witness
        return CertifyResult(None, f"witness is not a finite vector: {exc}", stats)
    if p is None:
        return CertifyResult(None, "no rational point near the witness has F(x) != a.x exactly", stats)
    stats["witness"] = [str(v) for v in p]
    stats["witness_gap"] = str(gap(p))
    D = _integer_direction(p)

    def off_linear(x, lin) -> bool:
        return Fraction(lin.value) != dot(a, x)

    p1 = generic_point_near(net, D, off_linear, seed=seed, stats=stats)
    if p1 is None:
        return CertifyResult(None, "found no generic point near the witness with F(x) != a.x", stats)
    x1, l1 = p1
    g1 = l1.gradient
    coords = [i for i in range(n) if Fraction(g1[i]) != a[i]]
    if not coords:  # impossible: g1.x1 = F(x1) != a.x1
        return CertifyResult(None, "internal: gradient at the witness equals a", stats)
    differs = lambda x, lin: lin.gradient != g1  # noqa: E731
    for i in coords[:4]:
        for sign in (1, -1):
            e = [0] * n
            e[i] = sign
            p2 = generic_point_near(net, e, differs, seed=seed + 7 * i + (sign > 0), max_tries=12, stats=stats)
            if p2 is not None:
                stats["certify_seconds"] = time.perf_counter() - t0
                stats["second_point"] = f"{'+' if sign > 0 else '-'}e_{i}"
                return _checked(net, x1, g1, p2[0], p2[1].gradient, stats)
    rng = np.random.default_rng([seed, 0xFA11])
    for _ in range(other_points):
        x2 = [int(v) for v in rng.integers(-(2**20), 2**20 + 1, size=n)]
        lin = net.linearize(x2)
        if lin.gradient is not None and lin.gradient != g1:
            stats["certify_seconds"] = time.perf_counter() - t0
            stats["second_point"] = "random"
            return _checked(net, x1, g1, x2, lin.gradient, stats)
    return CertifyResult(None, "found no second generic point with a different gradient", stats)


# ------------------------------------------------------------------------------------------------
# Verdict helpers shared by the methods
# ------------------------------------------------------------------------------------------------
def unknown(backend: str, t0: float, reason: str, stats: dict | None = None, complete: bool = False) -> Verdict:
    """A network UNKNOWN verdict timed from ``t0`` (``time.perf_counter()``)."""
    return Verdict(
        answer=UNKNOWN, backend=backend, seconds=time.perf_counter() - t0, complete=complete,
        stats=dict(stats or {}), reason=reason, kind="network",
    )


def verdict_from_certificate(
    backend: str, t0: float, res: CertifyResult, stats: dict, *, complete: bool, reason: str | None = None
) -> Verdict:
    """TWO_SUBGRADIENTS with the (already checked) certificate, or UNKNOWN with the failure reason."""
    st = dict(stats)
    st.update({f"certify_{k}" if not k.startswith("certify") else k: v for k, v in res.stats.items()})
    if res.certificate is None:
        return unknown(backend, t0, f"a witness was found but no certificate could be built: {res.reason}", st, complete)
    return Verdict(
        answer=TWO, backend=backend, seconds=time.perf_counter() - t0, complete=complete, stats=st,
        certificate=res.certificate, reason=reason, kind="network",
    )


def axis_verdict(net: ReluNetwork, backend: str, t0: float, axis: AxisResult, stats: dict, *, seed: int = 0) -> Verdict:
    """The verdict when the axis test fails: TWO_SUBGRADIENTS (complete) or UNKNOWN if no certificate."""
    i = axis.violations[0]
    res = certificate_near_axis(net, axis, i, seed=seed)
    return verdict_from_certificate(
        backend, t0, res, stats, complete=True,
        reason=f"axis test: F(e_{i}) + F(-e_{i}) = {axis.a[i] + axis.b[i]} != 0",
    )


def singleton(backend: str, t0: float, element: Sequence, stats: dict, reason: str, *, argument: str) -> Verdict:
    """A SINGLETON verdict with exact element ``element``; ``argument`` says what it rests on
    (:mod:`nsad.solvers.verdict`), and decides ``complete``."""
    return Verdict(
        answer=SINGLETON, backend=backend, seconds=time.perf_counter() - t0, complete=True,
        stats=dict(stats), element=tuple(exact(v) for v in element), reason=reason, kind="network",
        argument=argument,
    )
