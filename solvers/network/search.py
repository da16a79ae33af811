"""The random-search network decider: sound, never complete.

It looks for two generic integer points with different exact gradients, which prove
``|dF(0)| >= 2``. It can only ever answer TWO_SUBGRADIENTS (with a checked certificate) or UNKNOWN
(``complete=False`` always: not finding two gradients proves nothing).

Each round draws a seeded batch of integer points of magnitude about ``R`` (``R`` chosen so that
float evaluation of an integer network stays exact, below ``2**53``) from a mix of distributions:
the box, the axes (``+-R e_i`` plus noise of random scale), sign vectors in ``{-1, 0, 1}^n`` and
``{-1, 1}^n`` plus noise, and scaled copies of earlier draws with smaller noise. One vectorised
float pass (forward with masks, then a batched backward product) gives every point's gradient;
points are grouped by gradient, and representatives of distinct groups are confirmed exactly with
``net.linearize`` until two distinct exact gradients are found; the certificate is checked with
``networks.check``.

>>> from nsad.networks import ReluNetwork
>>> v = decide_search(ReluNetwork([[[-1, 1], [1, -1]], [[1, 1]]]))       # |x1 - x2|, passes the axis test
>>> v.answer, v.complete
('two-subgradients', False)
>>> decide_search(ReluNetwork([[[1], [-1]], [[1, -1]]]), max_points=64).answer   # linear: x
'unknown'
"""

from __future__ import annotations

from nsad.networks.relu_network import require_bias_free as _require_bias_free
import time

import numpy as np

from nsad.networks import ReluNetwork
from nsad.solvers.network.certify import (
    axis_test,
    axis_verdict,
    certificate_from_points,
    unknown,
    verdict_from_certificate,
)
from nsad.solvers.registry import SolverError

__all__ = ["decide_search", "float_gradients", "sample_points"]


def float_gradients(net: ReluNetwork, X: np.ndarray) -> np.ndarray:
    """Gradients (float) of the linear pieces at the rows of ``X``, with ``relu'(0) = 0``.

    Exact for integer networks and integer points whose values stay below ``2**53``, as long as
    the points are generic. One forward pass keeps the masks; the backward pass multiplies a
    ``(batch, width)`` block by each transposed sparse matrix.

    >>> from nsad.networks import ReluNetwork
    >>> float_gradients(ReluNetwork([[[1, -1], [-1, 1]], [[1, 1]]]), np.array([[3., 1.], [0., 2.]]))
    array([[ 1., -1.],
           [-1.,  1.]])
    """
    _require_bias_free(net, "the random search at 0")
    X = np.asarray(X, dtype=np.float64)
    H = X.T
    masks = []
    for M in net.matrices[:-1]:
        Z = M @ H
        masks.append(Z > 0)
        H = np.where(masks[-1], Z, 0.0)
    V = np.repeat(np.asarray(net.matrices[-1].toarray(), dtype=np.float64), X.shape[0], axis=0)  # (B, w)
    for M, mask in zip(reversed(net.matrices[:-1]), reversed(masks)):
        V = V * mask.T
        V = np.asarray((M.T @ V.T).T)
    return V


def _safe_radius(net: ReluNetwork) -> int:
    bound = 1.0
    for M in net.matrices:
        bound *= max(float(np.max(np.asarray(abs(M).sum(axis=1)), initial=0.0)), 1.0)
    R = 2**20
    while R > 2**4 and R * bound >= 2.0**52:
        R //= 2
    return R


def sample_points(rng: np.random.Generator, n: int, batch: int, R: int, round_: int) -> np.ndarray:
    """One batch of integer points (as floats) from the mixture described in the module docstring.

    >>> X = sample_points(np.random.default_rng(0), 3, 10, 1024, 0)
    >>> X.shape, bool(np.all(X == np.round(X))), bool(np.all(np.abs(X) <= 2048))
    ((10, 3), True, True)
    """
    kinds = rng.integers(0, 5, size=batch)
    X = np.empty((batch, n))
    noise_scale = R >> rng.integers(2, 14, size=batch)
    noise = rng.integers(-(2**30), 2**30, size=(batch, n)) % (2 * noise_scale[:, None] + 1) - noise_scale[:, None]
    for kind in range(5):
        rows = np.flatnonzero(kinds == kind)
        if not rows.size:
            continue
        b = rows.size
        if kind == 0:  # the box
            base = rng.integers(-R, R + 1, size=(b, n))
            X[rows] = base
            continue
        if kind == 1:  # near the axes
            base = np.zeros((b, n), dtype=np.int64)
            base[np.arange(b), rng.integers(0, n, size=b)] = rng.choice([-R, R], size=b)
        elif kind == 2:  # sign vectors with zeros
            base = rng.integers(-1, 2, size=(b, n)) * R
        elif kind == 3:  # full sign vectors
            base = rng.choice([-R, R], size=(b, n))
        else:  # scaled variants: a sparse random direction, half scale
            base = rng.integers(-1, 2, size=(b, n)) * rng.integers(1, 4, size=(b, n)) * (R // 4)
        X[rows] = base + noise[rows]
    return X.astype(np.float64)


def decide_search(
    net: ReluNetwork,
    *,
    time_limit: float | None = None,
    max_points: int = 4096,
    batch: int = 256,
    seed: int = 0,
    confirm_per_batch: int = 8,
):
    """Seeded random search for two generic points with different gradients (never complete).

    ``max_points`` bounds the number of points drawn; ``time_limit`` (seconds) stops earlier.
    Statistics: ``points``, ``batches``, ``gradient_classes`` (distinct float gradients seen),
    ``exact_confirmations``.

    >>> from nsad.networks import ReluNetwork
    >>> net = ReluNetwork([[[-1, 2], [1, -2], [-2, 3]], [[1, -1, -1]], [[1]]])  # relu(min(2x2-x1, x1-x2))
    >>> decide_search(net).answer
    'two-subgradients'
    """
    t0 = time.perf_counter()
    net.require_scalar()
    if int(max_points) < 1 or int(batch) < 1:
        raise SolverError("search: max_points and batch must be positive")
    backend = "search"
    n = net.n_inputs
    axis = axis_test(net)
    stats: dict = {"axis_seconds": axis.seconds, "points": 0, "batches": 0, "exact_confirmations": 0}
    if not axis.passed:
        v = axis_verdict(net, backend, t0, axis, stats, seed=seed)
        return v if v.answer == "unknown" else _incomplete(v)
    rng = np.random.default_rng([seed, 0x5EA4C4])
    R = _safe_radius(net)
    stats["radius"] = R
    exact: dict[tuple, list[int]] = {}  # exact gradient -> integer point
    seen_classes: set = set()
    tries: dict[bytes, int] = {}  # float gradient class -> exact confirmation attempts
    round_ = 0
    while stats["points"] < max_points:
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            break
        b = int(min(batch, max_points - stats["points"]))
        X = sample_points(rng, n, b, R, round_)
        round_ += 1
        stats["points"] += b
        stats["batches"] += 1
        G = float_gradients(net, X)
        keys = np.round(G, 9)
        _, idx = np.unique(keys, axis=0, return_index=True)
        for i in idx:
            seen_classes.add(keys[i].tobytes())
        if len(seen_classes) < 2 and not exact:
            continue
        # confirm exactly one representative per class not yet confirmed (bounded per batch)
        fresh = [i for i in idx if tries.get(keys[i].tobytes(), 0) < 3][: int(confirm_per_batch)]
        for i in fresh:
            key = keys[i].tobytes()
            x = [int(v) for v in X[i]]
            lin = net.linearize(x)
            stats["exact_confirmations"] += 1
            if lin.gradient is None:
                tries[key] = tries.get(key, 0) + 1
                continue
            tries[key] = 3
            g = tuple(lin.gradient)
            if g not in exact:
                exact[g] = x
            if len(exact) >= 2:
                (g1, x1), (g2, x2) = list(exact.items())[:2]
                res = certificate_from_points(net, x1, x2)
                stats["gradient_classes"] = len(seen_classes)
                return _incomplete(
                    verdict_from_certificate(
                        backend, t0, res, stats, complete=False,
                        reason=f"random search: two generic points with different gradients after {stats['points']} points",
                    )
                )
    stats["gradient_classes"] = len(seen_classes)
    why = "time limit reached" if time_limit is not None and time.perf_counter() - t0 > time_limit else "point budget spent"
    return unknown(
        backend, t0,
        f"random search found no two different gradients among {stats['points']} points ({why}); "
        "search is not complete, so this says nothing about linearity",
        stats,
    )


def _incomplete(v):
    from dataclasses import replace

    return replace(v, complete=False)
