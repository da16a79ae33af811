"""Disguised networks: random compositions of exact rewrites of a bias-free ReLU network.

A network is a list of integer scipy CSR matrices ``[M_1, ..., M_L]`` computing
``F(x) = M_L relu(M_{L-1} relu(... relu(M_1 x)))`` (docs/theory.md section 1). Hidden layer ``k``
(``1 <= k <= L - 1``) is the output ``h_k = relu(M_k h_{k-1})`` (``h_0 = x``); its units are the rows
of ``M_k``, and unit ``i``'s *row* is ``M_k[i, :]`` and its *column* is ``M_{k+1}[:, i]``.

:func:`disguise` applies random rewrites, each exact at every point of R^n: the result computes
``C * F`` with ``C`` a positive integer, has integer weights, and at most ``max_growth`` times the
original's hidden units and nonzeros. Every step is a small JSON-ready dict; :func:`replay` applies a
list of steps again (``disguise`` itself goes through the same code), :func:`describe_steps` prints
them. Inputs are never permuted, negated or scaled: answers keep their coordinates.

Rewrite kinds (the functions ``rw_*``; each docstring carries its one-line proof):

=====================  ========================================================================
``identity-layer``     insert ``[I; -I_S]`` then ``[I, -I_S]`` after a hidden layer (``S`` may be
                       empty: plain ``[I]``); at the inputs, the full carry ``[I; -I]``.
``row-scale``          rows of units ``S`` of layer ``k`` times ``t``, the other columns of
                       ``M_{k+1}`` times ``t``: everything above is ``t`` times larger, ``C *= t``.
``unit-split``         unit -> units ``w`` and ``t w`` with columns ``a c`` and ``b c``, ``a + t b = 1``.
``cancelling-group``   new units ``u`` and ``t u`` with columns ``-t c`` and ``c``.
``permute``            permute a hidden layer's units (rows of ``M_k``, columns of ``M_{k+1}``).
``negate-unit``        ``relu(z) = relu(-z) + z``, the linear term ``z = sum_j w_j h_j`` carried by
                       units ``relu(h_j)`` (and ``-relu(-h_j)``).
``min-sign-fact``      two inserted layers rewrite ``h_i`` as ``relu(h_i - relu(h_i - h_j)) +
                       relu(h_i - h_j)``; NOT undone by the normal form of docs/theory.md section 3.5.
=====================  ========================================================================

Depends only on numpy and scipy (``C`` is a Python int; ``fractions.Fraction(C)`` if needed).
"""

from __future__ import annotations

from nsad.networks.relu_network import require_bias_free as _require_bias_free
import json

import numpy as np
import scipy.sparse as sp

from nsad.errors import NetworkError
from nsad.networks.exact import INT64_SAFE

__all__ = [
    "KINDS",
    "DEFAULT_KINDS",
    "NOT_INVERTED",
    "disguise_network",
    "disguise",
    "replay",
    "apply_step",
    "describe_steps",
    "network_size",
    "as_int_csr",
]

KINDS = (
    "identity-layer",
    "row-scale",
    "unit-split",
    "cancelling-group",
    "permute",
    "negate-unit",
    "min-sign-fact",
)

#: the kinds the deciders' normal form (nsad.solvers.network.normal_form) always undoes
DEFAULT_KINDS = ("identity-layer", "row-scale", "unit-split", "cancelling-group", "permute", "negate-unit")
#: the kind it does not undo: ``min-sign-fact`` (module docstring)
NOT_INVERTED = ("min-sign-fact",)

_LIST_MAX = 16     # at most this many units named in one step (keeps steps small)
_PERM_LIST_MAX = 64  # permutations of wider layers are stored as a seed


# ------------------------------------------------------------------------------------------------
# matrices
# ------------------------------------------------------------------------------------------------
def as_int_csr(m) -> sp.csr_array:
    """Canonical int64 ``csr_array`` copy of ``m`` (sparse or dense); rejects non-integral weights."""
    a = sp.csr_array(m) if sp.issparse(m) else sp.csr_array(np.atleast_2d(np.asarray(m)))
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a.data)) or not np.all(a.data == np.round(a.data)):
            raise NetworkError("weights must be integers")
        if a.data.size and np.max(np.abs(a.data)) >= float(INT64_SAFE):
            raise NetworkError("weights too large for int64")
    elif a.dtype.kind not in "biu":
        raise NetworkError(f"unsupported dtype {a.dtype}")
    a = sp.csr_array(a, dtype=np.int64, copy=True)
    a.sum_duplicates()
    a.eliminate_zeros()
    a.sort_indices()
    return a


def _diag(d) -> sp.csr_array:
    d = np.asarray(d, dtype=np.int64)
    return sp.csr_array((d, (np.arange(d.size), np.arange(d.size))), shape=(d.size, d.size))


def _eye(n: int) -> sp.csr_array:
    return _diag(np.ones(n, dtype=np.int64))


def _select(n: int, idx) -> sp.csr_array:
    """The (len(idx), n) matrix whose rows are the unit vectors ``e_i``, ``i`` in ``idx``."""
    idx = np.asarray(idx, dtype=np.int64)
    return sp.csr_array((np.ones(idx.size, np.int64), (np.arange(idx.size), idx)), shape=(idx.size, n))


def _sparse(rows, cols, vals, shape) -> sp.csr_array:
    return sp.csr_array((np.asarray(vals, np.int64), (np.asarray(rows, np.int64), np.asarray(cols, np.int64))),
                        shape=shape)


def _vstack(blocks) -> sp.csr_array:
    return sp.csr_array(sp.vstack(blocks, format="csr", dtype=np.int64))


def _hstack(blocks) -> sp.csr_array:
    return sp.csr_array(sp.hstack(blocks, format="csr", dtype=np.int64))


def _canon(mats) -> list:
    return [as_int_csr(m) for m in mats]


def _check_chain(mats) -> None:
    if not mats:
        raise NetworkError("a network needs at least one matrix")
    for k in range(1, len(mats)):
        if mats[k].shape[1] != mats[k - 1].shape[0]:
            raise NetworkError(f"shapes do not chain: M{k + 1} has {mats[k].shape[1]} columns, "
                             f"M{k} has {mats[k - 1].shape[0]} rows")


def network_size(mats) -> tuple[int, int]:
    """``(hidden units, nonzeros)``: units are the rows of every matrix but the last."""
    return int(sum(m.shape[0] for m in mats[:-1])), int(sum(m.nnz for m in mats))


def _max_abs(mats) -> int:
    return max((int(np.max(np.abs(m.data))) for m in mats if m.nnz), default=0)


def _replace(mats, k: int, new: list) -> list:
    """``mats`` with ``M_k, M_{k+1}`` (1-based ``k``) replaced by the matrices ``new``."""
    return list(mats[: k - 1]) + list(new) + list(mats[k + 1:])


def _units(spec, w: int) -> np.ndarray:
    return np.arange(w, dtype=np.int64) if spec == "all" else np.asarray(spec, dtype=np.int64)


# ------------------------------------------------------------------------------------------------
# the rewrites (explicit parameters; each returns (new matrices, factor))
# ------------------------------------------------------------------------------------------------
def rw_identity_layer(mats, layer: int, pairs) -> tuple[list, int]:
    """Insert ``A = [I; -I_S]`` after hidden layer ``k = layer`` and replace ``M_{k+1}`` by
    ``[M_{k+1}, -M_{k+1}[:, S]]`` (``S = pairs``; empty: plain ``[I]``). At ``layer = 0`` (the inputs)
    ``S`` must be every coordinate.

    Proof: ``relu(v) - relu(-v) = v`` for every real ``v``, and for ``k >= 1`` ``h_k >= 0`` gives
    ``relu(h_i) = h_i`` for the unpaired units, so ``M'_{k+1} relu(A h) = M_{k+1} h``.
    """
    w = mats[layer - 1].shape[0] if layer >= 1 else mats[0].shape[1]
    S = _units(pairs, w)
    if layer == 0 and not np.array_equal(np.unique(S), np.arange(w)):
        raise NetworkError("at the inputs every coordinate needs its pair (inputs may be negative)")
    A = _vstack([_eye(w), -_select(w, S)])
    nxt = mats[layer]  # M_{k+1} (0-based index k)
    B = _hstack([nxt, -nxt[:, S]])
    out = list(mats[:layer]) + [A, B] + list(mats[layer + 1:])
    return out, 1


def rw_row_scale(mats, layer: int, units, t: int) -> tuple[list, int]:
    """Multiply the rows of units ``S`` of ``M_k`` by ``t`` and the columns of ``M_{k+1}`` of the
    other units by ``t``; ``F`` becomes ``t F``.

    Proof: ``relu(t z) = t relu(z)`` (``t > 0``), so unit ``i`` in ``S`` outputs ``t h_i`` and every
    term of ``M'_{k+1} h'`` is ``t`` times its old value: ``z'_{k+1} = t z_{k+1}``, and positive
    homogeneity of the layers above carries the factor to the output.
    """
    k = layer
    if t < 1:
        raise NetworkError("t must be a positive integer")
    w = mats[k - 1].shape[0]
    S = _units(units, w)
    rs = np.ones(w, dtype=np.int64)
    rs[S] = t
    cs = np.full(w, t, dtype=np.int64)
    cs[S] = 1
    return _replace(mats, k, [_diag(rs) @ mats[k - 1], mats[k] @ _diag(cs)]), int(t)


def rw_unit_split(mats, layer: int, units, ts, bs) -> tuple[list, int]:
    """Split each unit ``i`` (row ``w``, column ``c``) into units with rows ``w`` and ``t w`` and
    columns ``a c`` and ``b c``, ``a = 1 - t b`` (the new units are appended to the layer).

    Proof: ``a c relu(w.h) + b c relu(t w.h) = (a + t b) c relu(w.h) = c relu(w.h)``.
    """
    k = layer
    U = np.asarray(units, dtype=np.int64)
    t = np.asarray(ts, dtype=np.int64)
    b = np.asarray(bs, dtype=np.int64)
    if np.any(t < 1):
        raise NetworkError("t must be positive")
    if U.size != np.unique(U).size:
        raise NetworkError("units must be distinct")
    Mk, Mn = mats[k - 1], mats[k]
    cs = np.ones(Mk.shape[0], dtype=np.int64)
    cs[U] = 1 - t * b
    new_rows = _diag(t) @ Mk[U]
    new_cols = Mn[:, U] @ _diag(b)
    return _replace(mats, k, [_vstack([Mk, new_rows]), _hstack([Mn @ _diag(cs), new_cols])]), 1


def rw_cancelling_group(mats, layer: int, rows, ts, cols) -> tuple[list, int]:
    """Append, for each ``g``, units ``relu(u_g.h)`` and ``relu(t_g u_g.h)`` with columns ``-t_g c_g``
    and ``c_g`` (``rows[g] = [indices, values]`` of ``u_g``, ``cols[g]`` likewise of ``c_g``).

    Proof: ``-t c relu(u.h) + c relu(t u.h) = (-t + t) c relu(u.h) = 0``.
    """
    k = layer
    Mk, Mn = mats[k - 1], mats[k]
    g = len(rows)
    t = np.asarray(ts, dtype=np.int64)
    ri = [r for q, (idx, _) in enumerate(rows) for r in [q] * len(idx)]
    U = _sparse(ri, [i for idx, _ in rows for i in idx], [v for _, vals in rows for v in vals], (g, Mk.shape[1]))
    ci = [r for q, (idx, _) in enumerate(cols) for r in [q] * len(idx)]
    Cc = _sparse([i for idx, _ in cols for i in idx], ci, [v for _, vals in cols for v in vals], (Mn.shape[0], g))
    return _replace(mats, k, [_vstack([Mk, U, _diag(t) @ U]), _hstack([Mn, -(Cc @ _diag(t)), Cc])]), 1


def rw_permute(mats, layer: int, perm=None, perm_seed=None) -> tuple[list, int]:
    """New unit ``j`` of layer ``k`` is old unit ``perm[j]``: rows of ``M_k`` and columns of
    ``M_{k+1}`` permuted alike (``perm_seed``: ``numpy.random.default_rng(perm_seed).permutation(w)``).

    Proof: ``M_{k+1} P^T relu(P z) = M_{k+1} P^T P relu(z) = M_{k+1} relu(z)`` (``relu`` commutes with
    permutations).
    """
    k = layer
    w = mats[k - 1].shape[0]
    p = np.asarray(perm, np.int64) if perm is not None else np.random.default_rng(perm_seed).permutation(w)
    if not np.array_equal(np.sort(p), np.arange(w)):
        raise NetworkError("not a permutation of the layer")
    return _replace(mats, k, [mats[k - 1][p], mats[k][:, p]]), 1


def rw_negate_unit(mats, layer: int, units, pair: bool) -> tuple[list, int]:
    """Replace each unit ``relu(w.h)`` (column ``c``) by ``relu(-w.h)`` (column ``c``) and add, for
    each ``j`` in the support of ``w``, a unit ``relu(h_j)`` with column ``w_j c`` and, if ``pair``
    (required at ``layer = 1``, where ``h = x`` may be negative), a unit ``relu(-h_j)`` with column
    ``-w_j c``.

    Proof: ``relu(z) = relu(-z) + z`` and ``z = sum_j w_j (relu(h_j) - relu(-h_j))``, where
    ``relu(-h_j) = 0`` when ``h = h_{k-1} >= 0`` (``k >= 2``).
    """
    k = layer
    if k == 1 and not pair:
        raise NetworkError("at layer 1 the carry needs both relu(x_j) and relu(-x_j)")
    Mk, Mn = mats[k - 1], mats[k]
    U = np.asarray(units, dtype=np.int64)
    sign = np.ones(Mk.shape[0], dtype=np.int64)
    sign[U] = -1
    sub = sp.coo_array(Mk[U])  # rows: position in U; cols: j; data: w_j
    q, j, wj = sub.row.astype(np.int64), sub.col.astype(np.int64), sub.data.astype(np.int64)
    carry = _select(Mk.shape[1], j)                       # rows e_j, one per (unit, j)
    Cj = Mn[:, U[q]] @ _diag(wj)                          # columns w_j c
    new_k = [_diag(sign) @ Mk, carry] + ([-carry] if pair else [])
    new_n = [Mn, Cj] + ([-Cj] if pair else [])
    return _replace(mats, k, [_vstack(new_k), _hstack(new_n)]), 1


def rw_min_sign_fact(mats, layer: int, i: int, j: int) -> tuple[list, int]:
    """After hidden layer ``k`` (``h = h_k >= 0``, width ``w``) insert ``A = [I; e_i - e_j]`` (the
    carry of ``h`` and ``d = relu(h_i - h_j)``) and ``B`` (carry of ``h_l``, ``l != i``, and ``d``; unit
    ``i`` becomes ``m = relu(h_i - d)``), and give ``m`` and ``d`` both unit ``i``'s column ``c_i``.

    Proof: ``h_i - relu(h_i - h_j) = min(h_i, h_j) >= 0`` since ``h >= 0``, so
    ``m + d = min(h_i, h_j) + relu(h_i - h_j) = h_i``; the carries are exact as ``h, d >= 0``.

    Why docs/theory.md section 3.5's normal form does not undo it: its rules are positive scaling, merging
    parallel rows, dropping zero units, ``relu(-z) = relu(z) - z`` (linear terms composing), the sign
    fact ``relu(w.h) = w.h`` for ``w >= 0`` over one layer of ReLU outputs, and permutations. They
    linearise every carry of ``A`` and ``B`` but leave two units: ``d = relu(h_i - h_j)`` (mixed-sign
    row) and ``m = relu(h_i - d)`` (mixed-sign row over the ReLU outputs ``h_i, d``), which are not
    parallel (``m``'s row involves ``d``). Removing them needs ``h_i - d >= 0``, a sign fact about a
    *difference* of ReLU outputs that holds only because ``d`` itself is ``relu(h_i - h_j)`` with
    ``h_j >= 0``: an order fact (``relu(h_i - h_j) <= h_i``) that needs reasoning through two layers.
    ``relu(-z) = relu(z) - z`` only trades ``m`` for ``relu(d - h_i) + h_i - d``, whose ReLU is
    identically 0 for the same reason, not a dead unit by the rules. (Any rewrite that inserts only
    one ReLU layer over ``h >= 0`` and is exact is a one-hidden-layer function of ``h``, whose
    hinges the section's grouping argument resolves; that is why this one uses two.)
    """
    k = layer
    w = mats[k - 1].shape[0]
    if not (0 <= i < w and 0 <= j < w and i != j):
        raise NetworkError("need two distinct units of the layer")
    A = _vstack([_eye(w), _sparse([0, 0], [i, j], [1, -1], (1, w))])
    B = _eye(w + 1) + _sparse([i], [w], [-1], (w + 1, w + 1))
    Mn = mats[k]
    nxt = _hstack([Mn, Mn[:, [i]]])
    out = list(mats[:k]) + [as_int_csr(A), as_int_csr(B), nxt] + list(mats[k + 1:])
    return out, 1


_APPLY = {
    "identity-layer": lambda m, s: rw_identity_layer(m, s["layer"], s["pairs"]),
    "row-scale": lambda m, s: rw_row_scale(m, s["layer"], s["units"], s["t"]),
    "unit-split": lambda m, s: rw_unit_split(m, s["layer"], s["units"], s["t"], s["b"]),
    "cancelling-group": lambda m, s: rw_cancelling_group(m, s["layer"], s["rows"], s["t"], s["cols"]),
    "permute": lambda m, s: rw_permute(m, s["layer"], s.get("perm"), s.get("perm_seed")),
    "negate-unit": lambda m, s: rw_negate_unit(m, s["layer"], s["units"], s["pair"]),
    "min-sign-fact": lambda m, s: rw_min_sign_fact(m, s["layer"], s["i"], s["j"]),
}


def apply_step(mats, step: dict) -> tuple[list, int]:
    """Apply one recorded step; returns the new (canonical int64 CSR) matrices and its factor."""
    kind = step["kind"]
    if kind not in _APPLY:
        raise NetworkError(f"unknown rewrite kind {kind!r}")
    out, f = _APPLY[kind](list(mats), step)
    return _canon(out), f


def replay(mats, steps) -> tuple[list, int]:
    """Apply ``steps`` in order to ``mats``: ``(matrices, C)``, the same as ``disguise`` returned."""
    out = _canon(mats)
    _check_chain(out)
    C = 1
    for s in steps:
        out, f = apply_step(out, s)
        C *= f
    return out, C


# ------------------------------------------------------------------------------------------------
# random proposals (draw the parameters of one step)
# ------------------------------------------------------------------------------------------------
def _subset(rng, w: int, allow_all: bool = True, min_size: int = 1):
    """``"all"`` or a sorted list of at most ``_LIST_MAX`` distinct units of ``0..w-1``."""
    if allow_all and (w <= 2 or rng.random() < 0.25):
        return "all"
    size = int(rng.integers(min_size, min(w, _LIST_MAX) + 1))
    return sorted(int(v) for v in rng.choice(w, size=size, replace=False))


def _hidden(mats) -> list:
    return list(range(1, len(mats)))


def _p_identity_layer(mats, rng):
    layers = _hidden(mats) + [0]
    k = int(rng.choice(layers))
    if k == 0:
        return {"layer": 0, "variant": "input-carry", "pairs": "all"}
    w = mats[k - 1].shape[0]
    if rng.random() < 0.3:
        return {"layer": k, "variant": "plain", "pairs": []}
    return {"layer": k, "variant": "pair", "pairs": _subset(rng, w)}


def _p_row_scale(mats, rng):
    k = int(rng.choice(_hidden(mats)))
    return {"layer": k, "units": _subset(rng, mats[k - 1].shape[0]), "t": int(rng.integers(2, 8))}


def _p_unit_split(mats, rng):
    k = int(rng.choice(_hidden(mats)))
    U = _subset(rng, mats[k - 1].shape[0], allow_all=False)
    U = U if len(U) <= 4 else U[:4]
    ts, bs = [], []
    for _ in U:
        t = int(rng.choice([1, 1, 2, 3]))
        while True:
            b = int(rng.choice([-2, -1, 1, 2]))
            if t * b != 1:          # a = 1 - t b != 0: both halves live
                break
        ts.append(t)
        bs.append(b)
    return {"layer": k, "units": U, "t": ts, "b": bs}


def _sparse_vec(rng, n: int, vals=(-1, 1)):
    size = int(rng.integers(1, min(n, 3) + 1))
    idx = sorted(int(v) for v in rng.choice(n, size=size, replace=False))
    return [idx, [int(rng.choice(vals)) for _ in idx]]


def _p_cancelling_group(mats, rng):
    k = int(rng.choice(_hidden(mats)))
    Mk, Mn = mats[k - 1], mats[k]
    g = int(rng.integers(1, 4))
    rows, ts, cols = [], [], []
    for _ in range(g):
        r = int(rng.integers(Mk.shape[0]))
        lo, hi = Mk.indptr[r], Mk.indptr[r + 1]
        if hi > lo and rng.random() < 0.5:     # a copy of an existing unit's row: blends in
            rows.append([[int(v) for v in Mk.indices[lo:hi]], [int(v) for v in Mk.data[lo:hi]]])
        else:
            rows.append(_sparse_vec(rng, Mk.shape[1]))
        ts.append(int(rng.choice([1, 1, 2])))
        cols.append(_sparse_vec(rng, Mn.shape[0]))
    return {"layer": k, "rows": rows, "t": ts, "cols": cols}


def _p_permute(mats, rng):
    k = int(rng.choice(_hidden(mats)))
    w = mats[k - 1].shape[0]
    if w <= _PERM_LIST_MAX:
        return {"layer": k, "perm": [int(v) for v in rng.permutation(w)]}
    return {"layer": k, "perm_seed": int(rng.integers(2**63 - 1))}


def _p_negate_unit(mats, rng):
    k = int(rng.choice(_hidden(mats)))
    U = _subset(rng, mats[k - 1].shape[0], allow_all=False)
    U = U if len(U) <= 4 else U[:4]
    return {"layer": k, "units": U, "pair": bool(k == 1 or rng.random() < 0.5)}


def _p_min_sign_fact(mats, rng):
    layers = [k for k in _hidden(mats) if mats[k - 1].shape[0] >= 2]
    if not layers:
        return None
    w = np.array([mats[k - 1].shape[0] for k in layers], dtype=float)
    p = 1.0 / w
    k = int(rng.choice(layers, p=p / p.sum()))   # narrow layers are cheap: two carries of the layer
    i, j = (int(v) for v in rng.choice(mats[k - 1].shape[0], size=2, replace=False))
    return {"layer": k, "i": i, "j": j}


_PROPOSE = {
    "identity-layer": _p_identity_layer,
    "row-scale": _p_row_scale,
    "unit-split": _p_unit_split,
    "cancelling-group": _p_cancelling_group,
    "permute": _p_permute,
    "negate-unit": _p_negate_unit,
    "min-sign-fact": _p_min_sign_fact,
}


# ------------------------------------------------------------------------------------------------
# the generator
# ------------------------------------------------------------------------------------------------
def disguise(mats, seed, kinds=None, max_growth: float = 2.0, *, n_steps: int | None = 24,
             max_rejects: int = 12, max_weight: int = 1000, max_factor: int = 10**6):
    """A disguised copy of the network ``mats``: ``(new_mats, C, steps)`` with ``F_new = C * F``.

    ``mats``: list of integer matrices (scipy CSR or dense), shapes chaining. ``seed``: anything
    ``numpy.random.default_rng`` takes (int, ``SeedSequence``); equal seeds give equal results.
    ``kinds``: rewrite kinds to draw from (default :data:`KINDS`). At most ``n_steps`` rewrites are
    applied; a drawn rewrite whose result would have more than ``max_growth`` times the original's
    hidden units or nonzeros, a weight above ``max_weight`` in absolute value, or a total factor
    ``C`` above ``max_factor``, is rejected
    (not applied, not recorded); ``max_rejects`` rejections in a row end the loop early.

    ``new_mats`` are canonical int64 ``scipy.sparse.csr_array``; ``C`` is a positive ``int``;
    ``steps`` is a list of JSON-serialisable dicts (``kind``, ``layer``, parameters) such that
    ``replay(mats, steps) == (new_mats, C)``. A network with no hidden layer is returned unchanged.
    """
    kinds = list(KINDS) if kinds is None else list(kinds)
    bad = [k for k in kinds if k not in _PROPOSE]
    if bad or not kinds:
        raise NetworkError(f"unknown or no rewrite kinds: {bad}; known: {list(KINDS)}")
    if max_growth < 1:
        raise NetworkError("max_growth must be >= 1")
    rng = np.random.default_rng(seed)
    cur = _canon(mats)
    _check_chain(cur)
    units0, nnz0 = network_size(cur)
    max_units, max_nnz = int(max_growth * units0), int(max_growth * nnz0)
    C = 1
    steps: list = []
    rejects = 0
    if len(cur) < 2:
        return cur, C, steps
    limit = 10_000 if n_steps is None else int(n_steps)
    while len(steps) < limit and rejects < max_rejects:
        kind = str(rng.choice(kinds))
        params = _PROPOSE[kind](cur, rng)
        if params is None:
            rejects += 1
            continue
        step = {"kind": kind, **params}
        new, f = apply_step(cur, step)
        u, z = network_size(new)
        if u > max_units or z > max_nnz or _max_abs(new) > max_weight or C * f > max_factor:
            rejects += 1
            continue
        rejects = 0
        json.dumps(step)  # guard: steps stay JSON-serialisable
        steps.append(step)
        cur, C = new, C * f
    return cur, C, steps


def _short(v) -> str:
    if isinstance(v, list) and len(v) > 8:
        return "[" + ", ".join(_short(x) for x in v[:6]) + f", ... ({len(v)} items)]"
    if isinstance(v, list):
        return "[" + ", ".join(_short(x) for x in v) + "]"
    return str(v)


def describe_steps(steps) -> str:
    """One line per step: ``3. unit-split @ layer 2: units=[0, 4], t=[1, 2], b=[-1, 2]``; then the
    total factor."""
    lines = []
    C = 1
    for n, s in enumerate(steps, start=1):
        rest = ", ".join(f"{k}={_short(v)}" for k, v in s.items() if k not in ("kind", "layer"))
        lines.append(f"{n}. {s['kind']} @ layer {s['layer']}: {rest}")
        if s["kind"] == "row-scale":
            C *= s["t"]
    lines.append(f"{len(steps)} step(s); factor C = {C}" if steps else "no rewrite applied; factor C = 1")
    return "\n".join(lines)


def disguise_network(net, seed, *, kinds=DEFAULT_KINDS, max_growth: float = 2.0, source: dict | None = None):
    """:func:`disguise` on a :class:`nsad.networks.ReluNetwork`; returns ``(network, provenance)``.

    ``provenance`` is JSON-ready: ``{"family": "disguised", "seed", "kinds", "max_growth",
    "factor": C, "steps": [...], "source": source}``, enough for :func:`replay` to rebuild the network
    from the original.

    >>> from nsad.networks import ReluNetwork
    >>> net = ReluNetwork([[[1], [-1]], [[1, 1]]])
    >>> out, rec = disguise_network(net, 3)
    >>> out.evaluate_exact([-2]) == rec["factor"] * net.evaluate_exact([-2]), rec["family"]
    (True, 'disguised')
    """
    _require_bias_free(net, "disguising a network")
    from nsad.networks import ReluNetwork

    mats, C, steps = disguise([as_int_csr(M) for M in net.matrices], seed, kinds=list(kinds), max_growth=max_growth)
    record = {"family": "disguised", "seed": int(seed) if isinstance(seed, (int, np.integer)) else str(seed),
              "kinds": list(kinds), "max_growth": float(max_growth), "factor": int(C), "steps": steps,
              "source": source}
    return ReluNetwork(mats), record
