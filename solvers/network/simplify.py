"""Exact simplification of a bias-free ReLU network into a max/min program, and grid certificates.

``simplify(net)`` rewrites ``F(x) = M_L relu(... relu(M_1 x))`` into an equivalent
:class:`solvers.network.program.Program` over {+, -, relu, max, min}, using only identities that hold at
every point of R^n:

1. *Linear algebra*: consecutive linear maps merge, and every value is kept as an exact integer
   linear combination of *atoms* (inputs, and the max/relu nodes found so far); sums cancel
   exactly, so a carry ``relu(v) - relu(-v)`` becomes ``v``. Each next-layer matrix is factored
   ``M = P V``: units whose columns in ``M`` are proportional always enter the next layer in the
   same proportion, so they form one *value* ``sum_u s_u h_u`` (a gadget's output, such as
   ``max(a, b) = u0 + u1 - u2``), which is rewritten on its own (rule 3) before ``P`` combines the
   values.
2. *Positive homogeneity*: ``relu(s z) = s relu(z)`` for ``s > 0`` and ``relu(-z) = relu(z) - z``.
   Each unit ``relu(z)`` is written ``g relu(zhat)`` (``z = g zhat``, ``g > 0`` the gcd of the
   weights) or ``g (relu(zhat) - zhat)`` with ``zhat`` sign-normalised (first weight positive);
   units with equal ``zhat`` in a layer share one atom. Per-unit positive scalings and any
   permutation of units or inputs therefore disappear.
3. *Shift invariance of max*: ``max(u + e, v + e) = max(u, v) + e``. In a value ``L + c
   relu(alpha A + beta B)`` (``A``, ``B`` atoms) the relu is rewritten
   ``c beta B + c max(alpha A, -beta B)`` or ``c alpha A + c max(beta B, -alpha A)``, choosing the
   form whose linear part cancels a term of ``L`` (:func:`_rewrite`). This single rule recognises
   docs/theory.md section 2's gadgets ``max(a, b) = relu(a - b) + relu(b) - relu(-b)`` and
   ``min(a, b) = relu(a) - relu(-a) - relu(a - b)``, their mirror forms (``relu(b - a) + a``,
   ``b - relu(b - a)``), averaged forms (``(|a - b| + a + b) / 2``) and any unit order;
   ``c relu(g C) - c g C`` becomes ``c max(-g C, 0)`` and ``relu(y) = y/2 + |y|/2`` handles
   ``min(a, -a) = a - relu(2 a)``.
4. *Lattice algebra*: nested maxima with positive weights flatten (``max(a, max(b, c)) =
   max(a, b, c)``, for maxima used once, and small ones are copied into each user),
   ``-max(-a, -b)`` is written ``min(a, b)``, repeated operands go, equal nodes merge (common
   subexpressions), and dead units (never reaching the output, or identically zero) vanish.

Everything is exact integer arithmetic (int64 with proven bounds; :class:`SimplifyError` when a
bound fails). A network with non-integer (dyadic float) weights is scaled per layer by a power of
two, which lands in ``Program.scale``. The result always computes the same function as the
network, whatever it is; how simple it is depends on the network (a random network stays a
program of relus of sums).

The work is vectorised per layer on raw int64 CSR arrays (products by expand-sort-reduce,
``np.gcd.reduceat``, row signatures grouped by a verified 64-bit hash, ``searchsorted`` look-ups)
and, for the final program, per level of the DAG; Python loops run over layers and levels only.
Measured (one core, load of other jobs): 5-10 ms for reduction networks of uniform random 3-SAT
with n = 20-100, 15-20 ms for n = 250 (about 11 700 units, 15 layers); about half is a fixed
cost per layer.

``certify(program)`` then recognises the two classes on which a search of the grid
{-1, 0, 1}^n decides whether ``F`` is linear (docs/theory.md section 3); see :func:`certify`.

>>> from nsad.networks import ReluNetwork
>>> # max(x1, -x2) with docs/theory.md's gadget, then relu; units shuffled, one unit scaled by 2
>>> net = ReluNetwork([[[0, 1], [2, 2], [0, -1]], [[-1, 0.5, 1]], [[1]]])
>>> p = simplify(net)
>>> str(p)
'max(x1, -x2, 0)'
>>> certify(p).kind
'relu-lattice'
"""

from __future__ import annotations

from nsad.networks.relu_network import require_bias_free as _require_bias_free
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from nsad.solvers.network.program import MAX, MIN, SUM, Program
from nsad.networks.exact import INT64_SAFE, exact, integer_layers
from nsad.networks.relu_network import NetworkError, ReluNetwork

__all__ = ["SimplifyError", "simplify", "GridClass", "certify", "LATTICE", "RELU_LATTICE"]

_SAFE = INT64_SAFE
_RS, _MX = 0, 1  # atom kinds while simplifying: relu(sum of terms) / max(terms) (+ 0 when zero)
LATTICE = "lattice"
RELU_LATTICE = "relu-lattice"


class SimplifyError(NetworkError):
    """The network cannot be simplified exactly within int64 (weights or values too large)."""


# ------------------------------------------------------------------------------------------------
# integer layers
# ------------------------------------------------------------------------------------------------
def _int64_layers(net: ReluNetwork) -> tuple[list, Fraction]:
    """:func:`nsad.networks.exact.integer_layers`, refusing weights beyond int64."""
    mats, scale = integer_layers(net.matrices)
    for k, M in enumerate(mats, start=1):
        if M.data.dtype == object:
            raise SimplifyError(f"layer {k}: weights need more than 62 bits as integers")
    return mats, scale


class _Csr:
    """A raw int64 CSR matrix in canonical form (sorted columns, no duplicates, no zeros): the
    layer pipeline avoids scipy objects, whose construction costs dominate at these sizes."""

    __slots__ = ("ptr", "col", "val", "ncols")

    def __init__(self, ptr: np.ndarray, col: np.ndarray, val: np.ndarray, ncols: int):
        self.ptr, self.col, self.val, self.ncols = ptr, col, val, int(ncols)

    @property
    def nrows(self) -> int:
        return self.ptr.size - 1

    def rows(self) -> np.ndarray:
        return np.repeat(np.arange(self.nrows, dtype=np.int64), np.diff(self.ptr))

    @classmethod
    def of(cls, M) -> "_Csr":
        """From a canonical scipy CSR (``ReluNetwork`` keeps its matrices canonical)."""
        return cls(M.indptr.astype(np.int64), M.indices.astype(np.int64), M.data.astype(np.int64), M.shape[1])


def _canon(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, nrows: int, ncols: int) -> _Csr:
    """Canonical CSR of entries ``(rows, cols, vals)``: duplicates summed, zeros dropped."""
    if float(nrows) * float(max(ncols, 1)) >= _SAFE:
        raise SimplifyError("matrix too large for int64 keys")
    key = rows * ncols + cols
    if key.size > 1 and not np.all(key[1:] > key[:-1]):
        o = np.argsort(key, kind="stable")
        key, vals = key[o], vals[o]
        first = np.ones(key.size, dtype=bool)
        first[1:] = key[1:] != key[:-1]
        if not first.all():
            idx = np.flatnonzero(first)
            vals = np.add.reduceat(vals, idx)
            key = key[idx]
    nz = vals != 0
    if not nz.all():
        key, vals = key[nz], vals[nz]
    r = key // ncols if ncols else key
    ptr = np.zeros(nrows + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=nrows), out=ptr[1:])
    return _Csr(ptr, key - r * ncols, vals, ncols)


def _segments(ptr: np.ndarray, sel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat positions of the CSR segments ``sel`` and, for each, its index in ``sel``."""
    cnt = ptr[sel + 1] - ptr[sel]
    seg = np.repeat(np.arange(sel.size, dtype=np.int64), cnt)
    return np.arange(seg.size, dtype=np.int64) - (np.cumsum(cnt) - cnt)[seg] + ptr[sel][seg], seg


def _matmul(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, nrows: int, B: _Csr, k: int) -> _Csr:
    """Exact ``A @ B`` for ``A`` given by its entries in any order (expand, sort, reduce), with a
    proven int64 bound."""
    if vals.size and B.val.size:
        row_abs = np.bincount(rows, weights=np.abs(vals).astype(np.float64), minlength=nrows)
        if float(row_abs.max()) * float(np.abs(B.val).max()) >= _SAFE:
            raise SimplifyError(f"layer {k}: exact values could exceed int64")
    pos, seg = _segments(B.ptr, cols)
    return _canon(rows[seg], B.col[pos], vals[seg] * B.val[pos], nrows, B.ncols)


_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
                 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x94D049BB133111EB, 0xBF58476D1CE4E5B9],
                dtype=np.uint64)


def _group_rows(sig: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group equal rows of an int64 matrix: ``(first, inverse)``, groups numbered in order of first
    occurrence (as ``np.unique(sig, axis=0, return_index=True, return_inverse=True)`` up to that
    order). Small inputs use a dict; larger ones a 64-bit hash of each row, verified exactly (a
    collision falls back to ``np.unique``)."""
    rows = sig.shape[0]
    if rows <= 64:
        seen: dict = {}
        first, inv = [], []
        for i, key in enumerate(map(tuple, sig.tolist())):
            g = seen.get(key)
            if g is None:
                g = seen[key] = len(first)
                first.append(i)
            inv.append(g)
        return np.array(first, dtype=np.int64), np.array(inv, dtype=np.int64)
    with np.errstate(over="ignore"):
        h = (sig.astype(np.uint64) * _MIX[np.arange(sig.shape[1]) % _MIX.size]).sum(axis=1, dtype=np.uint64)
        h ^= h >> np.uint64(31)
    _, first, inv = np.unique(h, return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    if not np.array_equal(sig, sig[first[inv]]):
        _, first, inv = np.unique(sig, axis=0, return_index=True, return_inverse=True)
        inv = inv.reshape(-1)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return first[order], rank[inv]


def _sorted_groups(sig: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_group_rows` with the groups numbered in an order of their rows' contents
    (lexicographic, last column first), not in order of first occurrence. Atoms are created in
    this order, so their ids (and everything that depends on ids: sign normalisation, tie-breaks,
    operand order) do not depend on the order of the units."""
    first, inv = _group_rows(sig)
    if first.size > 1:
        uniq = sig[first]
        order = np.lexsort(uniq.T)
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        first, inv = first[order], rank[inv]
    return first, inv


def _signatures(ptr: np.ndarray, idx: np.ndarray, vals: np.ndarray, sel: np.ndarray, cnt: np.ndarray) -> np.ndarray:
    """Rows ``[len, idx..., vals...]`` (padded with -1 / 0) of the CSR segments ``sel``."""
    L = int(cnt.max())
    sig = np.zeros((sel.size, 1 + 2 * L), dtype=np.int64)
    sig[:, 0] = cnt
    sig[:, 1 : 1 + L] = -1
    pos, seg = _segments(ptr, sel)
    slot = np.arange(pos.size) - (np.cumsum(cnt) - cnt)[seg]
    sig[seg, 1 + slot] = idx[pos]
    sig[seg, 1 + L + slot] = vals[pos]
    return sig


# ------------------------------------------------------------------------------------------------
# the atom store
# ------------------------------------------------------------------------------------------------
class _Atoms:
    """Atoms created while simplifying. Ids ``0..n-1`` are the inputs; every other atom is
    ``relu(sum_j c_j a_j)`` (kind ``_RS``) or ``max_j c_j a_j`` (kind ``_MX``, ``+ 0`` when ``zero``),
    with operands of smaller ids, so ids are a topological order. Atoms made by one call of
    ``add`` never use each other."""

    def __init__(self, n: int):
        self.n = n
        self.count = n
        self.kind = [np.full(n, -1, dtype=np.int8)]
        self.zero = [np.zeros(n, dtype=bool)]
        self.tcount = [np.zeros(n, dtype=np.int64)]
        self.targ = []
        self.tcoef = []
        # look-up tables by atom id, in buffers that double when full:
        # shift rule (module docstring, 3): sh_n = 1 for max(g C, 0) (a one-term max with zero),
        # 2 for relu(alpha A + beta B); sh = (a0, c0, a1, c1). pos_of: the atom max(A, 0), once made.
        cap = max(64, 4 * n)
        self._sh_n = np.zeros(cap, dtype=np.int8)
        self._sh = np.zeros((cap, 4), dtype=np.int64)
        self._pos_of = np.full(cap, -1, dtype=np.int64)

    @property
    def sh_n(self) -> np.ndarray:
        return self._sh_n[: self.count]

    @property
    def sh(self) -> np.ndarray:
        return self._sh[: self.count]

    @property
    def pos_of(self) -> np.ndarray:
        return self._pos_of[: self.count]

    def add(self, kind: int, zero: np.ndarray, tcount: np.ndarray, targ: np.ndarray, tcoef: np.ndarray) -> np.ndarray:
        k = tcount.size
        lo = self.count
        ids = np.arange(lo, lo + k, dtype=np.int64)
        if lo + k > self._sh_n.size:
            cap = max(2 * self._sh_n.size, lo + k)
            self._sh_n = np.concatenate([self._sh_n, np.zeros(cap - self._sh_n.size, dtype=np.int8)])
            self._sh = np.concatenate([self._sh, np.zeros((cap - self._sh.shape[0], 4), dtype=np.int64)])
            self._pos_of = np.concatenate([self._pos_of, np.full(cap - self._pos_of.size, -1, dtype=np.int64)])
        self.count += k
        zero = np.asarray(zero, dtype=bool)
        self.kind.append(np.full(k, kind, dtype=np.int8))
        self.zero.append(zero)
        self.tcount.append(tcount.astype(np.int64))
        self.targ.append(targ.astype(np.int64))
        self.tcoef.append(tcoef.astype(np.int64))
        starts = np.cumsum(tcount) - tcount
        if kind == _RS:
            two = np.flatnonzero(tcount == 2)
            s = starts[two]
            self._sh_n[lo + two] = 2
            self._sh[lo + two] = np.stack([targ[s], tcoef[s], targ[s + 1], tcoef[s + 1]], axis=1)
        else:
            one = np.flatnonzero((tcount == 1) & zero)
            s = starts[one]
            self._sh_n[lo + one] = 1
            self._sh[lo + one, 0] = targ[s]
            self._sh[lo + one, 1] = tcoef[s]
        return ids

    def arrays(self):
        kind = np.concatenate(self.kind)
        zero = np.concatenate(self.zero)
        tcount = np.concatenate(self.tcount)
        tptr = np.zeros(self.count + 1, dtype=np.int64)
        np.cumsum(tcount, out=tptr[1:])
        targ = np.concatenate(self.targ) if self.targ else np.zeros(0, np.int64)
        tcoef = np.concatenate(self.tcoef) if self.tcoef else np.zeros(0, np.int64)
        return kind, zero, tptr, targ, tcoef

    def max_atoms(self, keys: np.ndarray) -> np.ndarray:
        """Atoms for rows ``(n_terms, a0, c0, a1, c1, zero)`` (deduplicated); returns their ids."""
        if not keys.shape[0]:
            return np.zeros(0, dtype=np.int64)
        first, inv = _sorted_groups(keys)
        uniq = keys[first]
        nt = uniq[:, 0]
        targ = np.stack([uniq[:, 1], uniq[:, 3]], axis=1).reshape(-1)
        tcoef = np.stack([uniq[:, 2], uniq[:, 4]], axis=1).reshape(-1)
        keep = np.stack([nt >= 1, nt >= 2], axis=1).reshape(-1)
        ids = self.add(_MX, uniq[:, 5].astype(bool), nt.astype(np.int64), targ[keep], tcoef[keep])
        return ids[inv]


# ------------------------------------------------------------------------------------------------
# the steps of a layer
# ------------------------------------------------------------------------------------------------
_INLINE = 4  # maxima with at most this many operands are copied into the maxima that use them
_JOINT = 4  # values with at most this many rewritable terms choose their forms jointly


def _rewrite(atoms: _Atoms, Z: _Csr) -> _Csr:
    """The shift rule (module docstring, 3) on the ``relu`` terms of the rows of ``Z`` (values).

    Each rewritable term has two forms: ``relu(alpha A + beta B)`` is ``beta B + max(alpha A,
    -beta B)`` (form 0) or ``alpha A + max(beta B, -alpha A)`` (form 1); ``max(g C, 0)`` stays
    (form 0) or becomes ``g C + max(-g C, 0)`` (form 1). A row chooses the forms of all its terms
    jointly, minimising the number of terms left (a form is right when its shift cancels a linear
    term, possibly against another term's shift); ties follow the form that rows with a single
    best choice gave the same unit, then form 0. The choice depends on the row only up to sign, so
    ``relu(v) - relu(-v)`` still cancels to ``v``. Rows with more than ``_JOINT`` such terms choose
    term by term.
    """
    cols, vals = Z.col, Z.val
    shn = atoms.sh_n[cols]
    cand = np.flatnonzero(shn > 0)
    if not cand.size:
        return Z
    W = atoms.count
    rows = Z.rows()
    r, a, c = rows[cand], cols[cand], vals[cand]
    sh = atoms.sh[a]
    a0, c0, a1, c1 = sh[:, 0], sh[:, 1], sh[:, 2], sh[:, 3]
    ok = np.abs(c).astype(np.float64) * np.maximum(np.abs(c0), np.abs(c1)).astype(np.float64) < _SAFE / 4
    kind = shn[cand]
    if not ok.all():
        r, a, c, a0, c0, a1, c1, kind = (v[ok] for v in (r, a, c, a0, c0, a1, c1, kind))
        if not r.size:
            return Z
    two = kind == 2
    keys = rows * W + cols  # sorted: canonical CSR

    def lookup(rr, aa):
        k = rr * W + aa
        pos = np.minimum(np.searchsorted(keys, k), keys.size - 1)
        return np.where((aa >= 0) & (keys[pos] == k), vals[pos], 0)

    # form 0 shifts by (a1, c c1) (none for max(g C, 0)); form 1 by (a0, c c0), or for max(g C, 0)
    # by half of it when only that cancels: relu(y) = y/2 + |y|/2 (min(a, -a) = a - relu(2a))
    w0 = np.where(two, c * c1, 0)
    w1 = c * c0
    z0 = np.where(two, lookup(r, a1), 0)
    z1 = lookup(r, a0)
    half = ~two & (w1 % 2 == 0) & (z1 + w1 != 0) & (2 * z1 + w1 == 0)
    w1 = np.where(half, w1 // 2, w1)
    cancel0 = two & (z0 + w0 == 0)
    cancel1 = z1 + w1 == 0
    form = np.where(cancel0, 0, np.where(cancel1, 1, 0))
    first = np.ones(r.size, dtype=bool)
    first[1:] = r[1:] != r[:-1]
    grp = np.cumsum(first) - 1
    k_of = np.bincount(grp)[grp]
    joint = (k_of >= 2) & (k_of <= _JOINT)
    if joint.any():
        form[joint] = _joint_forms(r, a, grp, k_of, joint, a0, a1, two, w0, w1, z0, z1, W)
    act = two | (form == 1)
    if not act.all():
        r, a, c, a0, c0, a1, c1, form, two, half = (v[act] for v in (r, a, c, a0, c0, a1, c1, form, two, half))
        if not r.size:
            return Z
    half &= form == 1
    o2 = two & (form == 1)      # alpha A + max(beta B, -alpha A)
    o0 = ~two & ~half           # g C + max(-g C, 0)
    # the new max atom has terms (p, q) and weight c * g; the shift is c * sc on atom sa
    pa = np.where(o2, a1, a0)
    pc = np.where(o2, c1, np.where(o0, -c0, np.where(half, 1, c0)))
    qa = np.where(o2 | half, a0, a1)
    qc = np.where(o2, -c0, np.where(half, -1, -c1))
    sa = np.where(two & ~o2, a1, a0)
    nt = np.where(o0, 1, 2)
    swap = (nt == 2) & (qa < pa)
    pa, qa = np.where(swap, qa, pa), np.where(swap, pa, qa)
    pc, qc = np.where(swap, qc, pc), np.where(swap, pc, qc)
    qa = np.where(nt == 2, qa, 0)
    qc = np.where(nt == 2, qc, 0)
    g = np.gcd(np.abs(pc), np.abs(qc))
    pc, qc = pc // g, qc // g
    shift = np.where(two & ~o2, c * c1, c * c0)           # c times the shift term's weight
    weight = c * g
    # |y|/2 + y/2 with y = g0 C: shift c g0 / 2 C, atom max(C, -C) with weight c |g0| / 2
    shift = np.where(half, (c * c0) // 2, shift)
    weight = np.where(half, (c * np.abs(c0)) // 2, weight)
    new = atoms.max_atoms(np.stack([nt, pa, pc, qa, qc, o0.astype(np.int64)], axis=1))
    return _canon(np.concatenate([rows, r, r, r]), np.concatenate([cols, a, sa, new]),
                  np.concatenate([vals, -c, shift, weight]), Z.nrows, atoms.count)


def _joint_forms(r, a, grp, k_of, joint, a0, a1, two, w0, w1, z0, z1, W) -> np.ndarray:
    """The joint choice of :func:`_rewrite` for rows with 2..``_JOINT`` rewritable terms."""
    sel = np.flatnonzero(joint)
    g_ids, gi = np.unique(grp[sel], return_inverse=True)
    G = g_ids.size
    J = int(k_of[sel].max())
    slot = sel - np.searchsorted(grp, grp[sel])  # position within the row
    combos = (np.arange(2**J)[:, None] >> np.arange(J)[None, :]) & 1  # (C, J)
    S = np.full((G, J, 2), -2, dtype=np.int64)  # shift atoms; -2 = padding, -1 = no shift
    Wt = np.zeros((G, J, 2), dtype=np.int64)
    Zb = np.zeros((G, J, 2), dtype=np.int64)
    A = np.full((G, J), -1, dtype=np.int64)
    S[gi, slot, 0] = np.where(two[sel], a1[sel], -1)
    S[gi, slot, 1] = a0[sel]
    Wt[gi, slot, 0], Wt[gi, slot, 1] = w0[sel], w1[sel]
    Zb[gi, slot, 0], Zb[gi, slot, 1] = z0[sel], z1[sel]
    A[gi, slot] = a[sel]
    pad = S[:, :, 0] == -2
    jidx = np.arange(J)
    Sc = S[:, jidx[None, :], combos]         # (G, C, J)
    Wc = Wt[:, jidx[None, :], combos]
    Zc = Zb[:, jidx[None, :], combos]
    same = (Sc[:, :, :, None] == Sc[:, :, None, :]) & (Sc[:, :, :, None] >= 0)
    after = Zc + np.einsum("gcjk,gck->gcj", same.astype(np.int64), Wc)
    earlier = np.tril(np.ones((J, J), dtype=bool), -1)
    firsts = ~np.any(same & earlier[None, None], axis=3) & (Sc >= 0)
    cost = np.sum(firsts * ((after != 0).astype(np.int64) - (Zc != 0)), axis=2)  # (G, C)
    cost = cost + 1000 * np.any(combos[None, :, :].astype(bool) & pad[:, None, :], axis=2)
    best = cost == cost.min(axis=1, keepdims=True)
    unique = best.sum(axis=1) == 1
    win = np.argmax(best, axis=1)
    u_rows = np.flatnonzero(unique)
    ua = A[u_rows].reshape(-1)
    uf = combos[win[u_rows]].reshape(-1)
    valid = ua >= 0
    v1 = np.bincount(ua[valid], weights=uf[valid] == 1, minlength=W)
    v0 = np.bincount(ua[valid], weights=uf[valid] == 0, minlength=W)
    pref = np.where(v1 > v0, 1, np.where(v0 > v1, 0, -1))
    Ap = np.where(A >= 0, pref[np.maximum(A, 0)], -1)
    agree = np.sum(combos[None, :, :] == Ap[:, None, :], axis=2)
    choice = np.argmax(np.where(best, agree, -1), axis=1)  # the first best: the smallest combo index
    return combos[choice[gi], slot]


def _values(M: _Csr) -> tuple[tuple, np.ndarray, np.ndarray, int]:
    """Factor ``M = P @ V``: units (columns of ``M``) whose columns are proportional form one *value*
    ``sum_u s_u h_u`` (``V``: unit ``u`` has weight ``s[u]`` in value ``value_of[u]``); ``P``
    combines the values (returned as entries ``(rows, values, weights)``, in column order). Exact,
    and for a reduction network it recovers the gadget values (``max(a, b)`` is ``u0 + u1 - u2`` in
    every row that uses it). Unused units: ``value_of = -1``."""
    cols = M.ncols
    order = np.argsort(M.col, kind="stable")   # CSC order; rows stay sorted within a column
    crow = M.rows()[order]
    cval = M.val[order]
    cnt_all = np.bincount(M.col, minlength=cols)
    cptr = np.zeros(cols + 1, dtype=np.int64)
    np.cumsum(cnt_all, out=cptr[1:])
    used = np.flatnonzero(cnt_all > 0)
    value_of = np.full(cols, -1, dtype=np.int64)
    s_all = np.zeros(cols, dtype=np.int64)
    if not used.size:
        empty = np.zeros(0, dtype=np.int64)
        return (empty, empty, empty), value_of, s_all, 0
    cu = cnt_all[used]
    starts = cptr[used]
    g = np.gcd.reduceat(np.abs(cval), starts)
    s = np.sign(cval[starts]) * g
    norm = cval // np.repeat(s, cu)
    sig = _signatures(cptr, crow, norm, used, cu)
    first, inv = _group_rows(sig)
    value_of[used] = inv
    s_all[used] = s
    nv = first.size
    # P: column v is the normalised column of its first unit
    rep = used[first]
    pos, seg = _segments(cptr, rep)
    return (crow[pos], seg, norm[pos]), value_of, s_all, nv


def _group_sum(value_of: np.ndarray, s: np.ndarray, H: _Csr, nv: int) -> _Csr:
    """``V @ H``: value ``v`` is ``sum_{u: value_of[u] = v} s[u] H[u]``."""
    rows = H.rows()
    v = value_of[rows]
    keep = v >= 0
    if H.val.size and nv:
        per_value = np.bincount(value_of[value_of >= 0], weights=np.abs(s[value_of >= 0]).astype(np.float64), minlength=nv)
        if float(per_value.max()) * float(np.abs(H.val).max()) >= _SAFE:
            raise SimplifyError("exact values could exceed int64")
    return _canon(v[keep], H.col[keep], H.val[keep] * s[rows[keep]], nv, H.ncols)


def _relu_layer(atoms: _Atoms, Z: _Csr) -> _Csr:
    """Values ``relu(z_u)`` of the units as combinations of (new) atoms (module docstring, 2)."""
    w = Z.nrows
    cnt = np.diff(Z.ptr)
    nz = np.flatnonzero(cnt > 0)
    if not nz.size:
        return _Csr(np.zeros(w + 1, dtype=np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), atoms.count)
    c_nz = cnt[nz]
    starts = Z.ptr[nz]
    g = np.gcd.reduceat(np.abs(Z.val), starts)
    s = np.sign(Z.val[starts]) * g
    zhat = Z.val // np.repeat(s, c_nz)
    atom_of = np.zeros(nz.size, dtype=np.int64)
    single = c_nz == 1
    if single.any():
        A = Z.col[starts[single]]
        known = atoms.pos_of[A]
        need = np.unique(A[known < 0])
        if need.size:
            ids = atoms.add(_MX, np.ones(need.size, dtype=bool), np.ones(need.size, dtype=np.int64), need,
                            np.ones(need.size, dtype=np.int64))
            atoms._pos_of[need] = ids
        atom_of[single] = atoms.pos_of[A]
    multi = np.flatnonzero(~single)
    if multi.size:
        sig = _signatures(Z.ptr, Z.col, zhat, nz[multi], c_nz[multi])
        first, inv = _sorted_groups(sig)
        L = int(c_nz[multi].max())
        uniq = sig[first]
        tcount = uniq[:, 0]
        mask = np.arange(L)[None, :] < tcount[:, None]
        ids = atoms.add(_RS, np.ones(first.size, dtype=bool), tcount, uniq[:, 1 : 1 + L][mask],
                        uniq[:, 1 + L :][mask])
        atom_of[multi] = ids[inv]
    # h_u = g_u atom_u (+ z_u when s_u < 0); new atoms have the largest ids, so rows stay sorted
    neg = np.zeros(w, dtype=bool)
    neg[nz[s < 0]] = True
    zrows = Z.rows()
    keepz = neg[zrows]
    rows = np.concatenate([zrows[keepz], nz])
    cols = np.concatenate([Z.col[keepz], atom_of])
    vals = np.concatenate([Z.val[keepz], g])
    order = np.argsort(rows, kind="stable")
    ptr = np.zeros(w + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=w), out=ptr[1:])
    return _Csr(ptr, cols[order], vals[order], atoms.count)


# ------------------------------------------------------------------------------------------------
# assembling the program
# ------------------------------------------------------------------------------------------------
def _gather(ptr: np.ndarray, sel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat positions of the CSR segments ``sel`` and the segment index of each position."""
    cnt = ptr[sel + 1] - ptr[sel]
    total = int(cnt.sum())
    seg = np.repeat(np.arange(sel.size, dtype=np.int64), cnt)
    offs = np.zeros(sel.size, dtype=np.int64)
    if sel.size:
        np.cumsum(cnt[:-1], out=offs[1:])
    return np.arange(total, dtype=np.int64) - offs[seg] + ptr[sel][seg], seg


def _assemble(atoms: _Atoms, out_cols: np.ndarray, out_vals: np.ndarray, scale: Fraction) -> Program:
    """The program of the output row: reachable atoms, flattened maxima, merged common
    subexpressions, minima named, all vectorised (one step per creation chunk or per level)."""
    n = atoms.n
    kind, zero, tptr, targ, tcoef = atoms.arrays()
    N = atoms.count
    # -- reachability: top down by creation chunks (atoms of one chunk never use each other)
    alive = np.zeros(N, dtype=bool)
    alive[out_cols] = True
    bounds = np.cumsum([0] + [c.size for c in atoms.kind])
    for lo, hi in reversed(list(zip(bounds[:-1], bounds[1:]))):
        if hi <= n:
            break
        sel = np.flatnonzero(alive[lo:hi]) + lo
        if sel.size:
            pos, _ = _gather(tptr, sel)
            alive[targ[pos]] = True
    live = np.flatnonzero(alive[n:]) + n
    pos, seg = _gather(tptr, live)
    P, A, C = live[seg], targ[pos], tcoef[pos]       # entries (parent, operand, weight)
    is_mx = kind == _MX
    zero = zero.copy()
    ROOT = N                                          # the output row as a pseudo-parent
    P = np.concatenate([P, np.full(out_cols.size, ROOT, dtype=np.int64)])
    A = np.concatenate([A, out_cols.astype(np.int64)])
    C = np.concatenate([C, out_vals.astype(np.int64)])
    is_mx = np.append(is_mx, False)
    zero = np.append(zero, False)
    # -- 1. max(.., c max(ops), ..) = max(.., c ops, ..) for c > 0. (i) A small max used by several
    #       maxima is copied into each (a few rounds; it stays if something else still uses it).
    for _ in range(N + 1):
        refs = np.bincount(A, minlength=N + 1)
        nops = np.bincount(P, minlength=N + 1)
        m = (C > 0) & is_mx[P] & is_mx[A] & (A >= n) & (refs[A] > 1) & (nops[A] <= _INLINE)
        if not m.any():
            break
        inner = np.zeros(N + 1, dtype=bool)
        inner[A[m]] = True
        m &= ~inner[P]  # a child expanded this round is taken with its operands as they are now
        order = np.argsort(P, kind="stable")
        P, A, C = P[order], A[order], C[order]
        m = m[order]
        child, parent, w = A[m], P[m], C[m]
        starts = np.searchsorted(P, child, side="left")
        cnt = np.searchsorted(P, child, side="right") - starts
        seg = np.repeat(np.arange(child.size), cnt)
        cpos = np.arange(int(cnt.sum())) - (np.cumsum(cnt) - cnt)[seg] + starts[seg]
        if (np.abs(w[seg]).astype(np.float64) * np.abs(C[cpos]).astype(np.float64) >= _SAFE).any():
            raise SimplifyError("flattening would overflow int64")
        zero[parent[zero[child]]] = True
        P = np.concatenate([P[~m], parent[seg]])
        A = np.concatenate([A[~m], A[cpos]])
        C = np.concatenate([C[~m], w[seg] * C[cpos]])
    #       (ii) A max used once, with a positive weight, by a max merges into it: every such chain
    #       collapses onto its top by pointer jumping (log of its length in rounds).
    refs = np.bincount(A, minlength=N + 1)
    m = (C > 0) & is_mx[P] & is_mx[A] & (A >= n) & (refs[A] == 1)
    if m.any():
        target = np.arange(N + 1, dtype=np.int64)
        mult = np.ones(N + 1, dtype=np.int64)
        target[A[m]] = P[m]
        mult[A[m]] = C[m]
        for _ in range(N + 1):
            nxt = target[target]
            if np.array_equal(nxt, target):
                break
            if float(np.abs(mult).max()) ** 2 >= _SAFE:
                raise SimplifyError("flattening would overflow int64")
            mult = mult * mult[target]
            target = nxt
        merged = np.zeros(N + 1, dtype=bool)
        merged[A[m]] = True
        zero[target[merged & zero]] = True
        if float(np.abs(mult).max()) * float(np.abs(C).max()) >= _SAFE:
            raise SimplifyError("flattening would overflow int64")
        keep = ~m
        P, A, C = target[P[keep]], A[keep], C[keep] * mult[P[keep]]
    # drop the atoms nothing reaches any more
    alive = np.zeros(N + 1, dtype=bool)
    alive[ROOT] = True
    for _ in range(N + 1):
        new = alive.copy()
        new[A[alive[P]]] = True
        if np.array_equal(new, alive):
            break
        alive = new
    keep = alive[P]
    P, A, C = P[keep], A[keep], C[keep]
    # -- levels (longest path from the inputs); the pseudo-root last
    o = np.argsort(P, kind="stable")
    P, A, C = P[o], A[o], C[o]
    first = np.ones(P.size, dtype=bool)
    first[1:] = P[1:] != P[:-1]
    starts = np.flatnonzero(first)
    nodes = P[starts]
    lev = np.zeros(N + 1, dtype=np.int64)
    for _ in range(N + 2):
        new = np.maximum.reduceat(lev[A], starts) + 1 if starts.size else starts
        if np.array_equal(new, lev[nodes]):
            break
        lev[nodes] = new
    lev[ROOT] = int(lev.max()) + 1
    top = int(lev[ROOT])
    # entries in blocks by the level of their parent
    o = np.lexsort((C, A, P, lev[P]))
    P, A, C = P[o], A[o], C[o]
    bounds = np.searchsorted(lev[P], np.arange(1, top + 2))
    # -- 2. repeated operands and common subexpressions, level by level (bottom up)
    #    A node whose operands all cancel (a relu of a sum whose terms merged to 0, or a max of
    #    such nodes with + 0) is identically 0: it is dropped, and so are its uses (a use in a max
    #    becomes the + 0 of that max), so no surviving entry names a node that is never emitted.
    rep = np.arange(N + 1, dtype=np.int64)
    is_zero = np.zeros(N + 1, dtype=bool)
    blocks = []
    for L in range(1, top + 1):
        lo, hi = bounds[L - 1], bounds[L]
        if lo == hi:
            continue
        p, a, c = P[lo:hi], rep[A[lo:hi]], C[lo:hi]
        parents = np.unique(p)
        z = is_zero[a]
        if z.any():
            zp = p[z]
            zero[zp[is_mx[zp]]] = True
            p, a, c = p[~z], a[~z], c[~z]
        o = np.lexsort((c, a, p))
        p, a, c = p[o], a[o], c[o]
        mx = is_mx[p]
        same = np.zeros(p.size, dtype=bool)
        same[1:] = (p[1:] == p[:-1]) & (a[1:] == a[:-1])
        dup = same & mx & np.append(False, c[1:] == c[:-1])       # max/min: repeated operand
        if (same & ~mx).any():                                     # sums: add equal operands
            grp = np.cumsum(~same | mx) - 1
            c = _segment_sum(c, grp)
            keep = ~same | mx
            p, a, mx = p[keep], a[keep], mx[keep]
            dup = dup[keep]
            nzw = (c != 0) | mx
            p, a, c, dup = p[nzw], a[nzw], c[nzw], dup[nzw]
        p, a, c = p[~dup], a[~dup], c[~dup]
        if L < top and p.size:
            firsts = np.flatnonzero(np.append(True, p[1:] != p[:-1]))
            at = p[firsts]
            cnt = np.diff(np.append(firsts, p.size))
            ptr = np.append(firsts, p.size)
            sig = _signatures(ptr, a, c, np.arange(at.size), cnt)
            sig = np.concatenate([np.stack([is_mx[at], zero[at]], axis=1).astype(np.int64), sig], axis=1)
            fi, inv = _group_rows(sig)
            rep[at] = at[fi[inv]]
            keep = rep[p] == p
            p, a, c = p[keep], a[keep], c[keep]
        gone = parents[~np.isin(parents, p)]
        is_zero[gone[rep[gone] == gone]] = True
        blocks.append((p, a, c))
    empty = np.zeros(0, dtype=np.int64)
    P = np.concatenate([empty] + [b[0] for b in blocks])
    A = np.concatenate([empty] + [b[1] for b in blocks])
    C = np.concatenate([empty] + [b[2] for b in blocks])
    bounds = np.searchsorted(lev[P], np.arange(1, top + 2))
    # -- 3. a max whose every use has a negative weight is written as a min (top down by level:
    #    every use of an atom comes from a higher level, already final)
    is_min = np.zeros(N + 1, dtype=bool)
    used = np.zeros(N + 1, dtype=bool)
    pos_use = np.zeros(N + 1, dtype=bool)
    for L in range(top, 0, -1):
        lo, hi = bounds[L - 1], bounds[L]
        if lo == hi:
            continue
        p = P[lo:hi]
        if L < top:
            firsts = np.flatnonzero(np.append(True, p[1:] != p[:-1]))
            at = p[firsts]
            conv = at[is_mx[at] & used[at] & ~pos_use[at]]
            if conv.size:
                is_min[conv] = True
                C[lo:hi] = np.where(is_min[p], -C[lo:hi], C[lo:hi])
        used[A[lo:hi]] = True
        pos_use[A[lo:hi][C[lo:hi] > 0]] = True
    C = np.where(is_min[A], -C, C)
    # -- 4. emit, in id order (topological); a relu of a sum is a SUM node, then MAX(sum, 0)
    nodes = np.unique(P[P != ROOT])
    is_rs = ~is_mx[nodes]
    width = 1 + is_rs.astype(np.int64)
    first_id = n + np.cumsum(width) - width
    newid = np.arange(N + 1, dtype=np.int64)
    newid[nodes] = first_id + is_rs           # the MAX node of a relu of a sum
    K = int(width.sum())
    o = np.lexsort((A, P))
    P, A, C = P[o], A[o], C[o]
    body = P != ROOT
    slot = np.searchsorted(nodes, P[body])
    kinds = np.where(is_min[nodes], MIN, MAX).astype(np.int8)
    kinds_full = np.zeros(K, dtype=np.int8)
    zero_full = np.zeros(K, dtype=bool)
    kinds_full[first_id - n] = np.where(is_rs, SUM, kinds)
    zero_full[first_id - n] = np.where(is_rs, False, zero[nodes])
    rs_max = first_id[is_rs] - n + 1
    kinds_full[rs_max] = MAX
    zero_full[rs_max] = True
    e_node = np.concatenate([first_id[slot] - n, rs_max])
    e_arg = np.concatenate([newid[A[body]], first_id[is_rs]])
    e_coef = np.concatenate([C[body], np.ones(int(is_rs.sum()), dtype=np.int64)])
    o = np.argsort(e_node, kind="stable")
    e_node, e_arg, e_coef = e_node[o], e_arg[o], e_coef[o]
    ptr = np.zeros(K + 1, dtype=np.int64)
    np.cumsum(np.bincount(e_node, minlength=K), out=ptr[1:])
    root_args = newid[A[~body]]
    root_coefs = C[~body]
    g = (math.gcd(*root_coefs.tolist()) if root_coefs.size else 1) or 1
    scale = scale * g
    root_coefs = root_coefs // g
    if root_args.size == 1 and root_coefs[0] == 1:
        return Program(n, kinds_full, zero_full, ptr, e_arg, e_coef, int(root_args[0]), scale)
    ptr = np.append(ptr, ptr[-1] + root_args.size)
    return Program(n, np.append(kinds_full, SUM), np.append(zero_full, False), ptr,
                   np.concatenate([e_arg, root_args]), np.concatenate([e_coef, root_coefs]), n + K, scale)


def _segment_sum(c: np.ndarray, grp: np.ndarray) -> np.ndarray:
    """Sums of ``c`` over consecutive equal ``grp`` labels (``grp`` nondecreasing from 0)."""
    starts = np.flatnonzero(np.append(True, grp[1:] != grp[:-1]))
    return np.add.reduceat(c, starts) if c.size else c


# ------------------------------------------------------------------------------------------------
# the public functions
# ------------------------------------------------------------------------------------------------
def simplify(net: ReluNetwork) -> Program:
    """An exactly equivalent max/min program of a scalar bias-free ReLU network (module docstring).

    Raises :class:`SimplifyError` (a ``NetworkError``) when exact int64 arithmetic cannot be
    guaranteed, and ``NetworkError`` for a vector-output network.

    >>> from nsad.networks import ReluNetwork
    >>> str(simplify(ReluNetwork([[[1, -1], [0, 1], [0, -1]], [[1, 1, -1]]])))   # relu(x1-x2) + x2
    'max(x1, x2)'
    >>> str(simplify(ReluNetwork([[[1], [-1]], [[1, -1]]])))                      # a carry
    'x1'
    """
    _require_bias_free(net, "reading a lattice program off the network")
    net.require_scalar()
    mats, scale = _int64_layers(net)
    n = net.n_inputs
    atoms = _Atoms(n)
    L = len(mats)
    H = None
    for k, M in enumerate(mats, start=1):
        Mc = _Csr.of(M)
        if k == 1:
            Z = Mc
        else:
            P, value_of, s, nv = _values(Mc)
            H = _Csr(H.ptr, H.col, H.val, atoms.count)
            E = _rewrite(atoms, _group_sum(value_of, s, H, nv))
            Z = _matmul(*P, Mc.nrows, E, k)
        if k == L:
            break
        H = _relu_layer(atoms, Z)
    cols = Z.col[Z.ptr[0]:Z.ptr[1]]
    vals = Z.val[Z.ptr[0]:Z.ptr[1]]
    return _assemble(atoms, cols, vals, scale)


# ------------------------------------------------------------------------------------------------
# grid certificates (docs/theory.md section 3)
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GridClass:
    """Certified membership of ``F = scale * (linear . x + sum_k c_k T_k)`` in a grid-complete class.

    ``kind`` is :data:`LATTICE` (class (a)) or :data:`RELU_LATTICE` (class (b)); ``linear`` are the
    integer coefficients of the linear part, ``terms`` the pairs ``(c_k, node id of T_k)``.
    See :func:`certify` for the two theorems.
    """

    kind: str
    linear: tuple
    terms: tuple
    scale: Fraction

    @property
    def gradient_of_linear_part(self) -> tuple:
        """``scale * linear`` as exact numbers (ints or Fractions)."""
        return tuple(exact(self.scale * v) for v in self.linear)




def _decompose(p: Program) -> tuple[list, list]:
    """``v(root) = linear . x + sum c_k T_k``: linear coefficients and the nonlinear terms."""
    n = p.n_inputs
    lin = [0] * n
    terms: list = []
    r = p.root
    if r < n:
        lin[r] = 1
    elif p.kinds[r - n] == SUM:
        for c, a in p.operands(r):
            if a < n:
                lin[a] += c
            else:
                terms.append((c, a))
    else:
        terms.append((1, r))
    return lin, terms


def _node_flags(p: Program) -> tuple[np.ndarray, np.ndarray]:
    """Per id: ``signed`` (a lattice program over signed coordinates: max/min/negation/relu with
    weights +-1) and ``commuting`` (sign-commuting: max/min/relu with any nonzero weights, and
    single-operand sums, over coordinates)."""
    n, K = p.n_inputs, p.n_nodes
    signed = np.zeros(n + K, dtype=bool)
    commuting = np.zeros(n + K, dtype=bool)
    signed[:n] = True
    commuting[:n] = True
    counts = np.diff(p.ptr)
    unit = np.abs(p.coefs) == 1
    for kind, nodes, pos, starts, has, _ in p._plan():
        ok_kind = np.full(nodes.size, kind != SUM)
        if kind == SUM:
            ok_kind = counts[nodes - n] == 1
        s_ok = np.ones(nodes.size, dtype=bool)
        c_ok = np.ones(nodes.size, dtype=bool)
        if pos.size:
            s_ok[has] = np.logical_and.reduceat(signed[p.args[pos]] & unit[pos], starts)
            c_ok[has] = np.logical_and.reduceat(commuting[p.args[pos]], starts)
        signed[nodes] = ok_kind & s_ok
        commuting[nodes] = ok_kind & c_ok
    return signed, commuting


def certify(p: Program) -> GridClass | None:
    """Certify that searching the grid decides linearity of ``F`` (docs/theory.md section 3), or None.

    Write ``F = scale * (l . x + sum_k c_k T_k)`` (the root's operands).

    **Class (a), kind** ``"lattice"``: every ``T_k`` is a lattice program over signed coordinates
    (max, min, relu and negation, weights +-1, leaves ``x_i``). *Theorem.* ``F`` is linear iff
    ``F(s) = a . s`` for every ``s`` in {-1, 0, 1}^n, where ``a_i = F(e_i)``. *Proof.* On a cell of
    the arrangement ``{x_i = +-x_j, x_i = 0}`` the signs of the ``x_i`` and the order of the
    ``|x_i|`` are fixed, so every node of a lattice program over signed coordinates equals one fixed
    signed coordinate or 0 there (max, min and negation of such functions pick one of them); hence
    ``G = F - a . x`` is linear on each closed cell. The closed cell ``sigma_1 x_pi1 >= ... >=
    sigma_n x_pin >= 0`` (after the sign changes ``sigma``) is the cone spanned by the rays
    ``r_k = sum_{j <= k} sigma_j e_pij``, all in {-1, 0, 1}^n. A linear function that vanishes on a
    cone's spanning rays vanishes on the cone; the cells cover R^n. So ``G = 0`` on the grid forces
    ``G = 0`` everywhere, i.e. ``F`` linear; the converse is trivial.

    **Class (b), kind** ``"relu-lattice"``: every ``c_k > 0`` and every ``T_k = relu(p_k) =
    max(p_k, 0)`` (or ``c_k < 0`` and ``T_k = min(p_k, 0)``) where ``p_k`` is built from coordinates
    by max, min, relu and single weighted terms ``w q`` with any ``w != 0`` (positive multiples of
    signed coordinates, negation, positive scaling). *Theorem.* ``F`` is linear iff every
    ``p_k(s) <= 0`` on {-1, 1}^n; then ``F = scale * l . x``. *Proof.* ``sign`` is nondecreasing and odd,
    so it commutes with max, min, relu and negation, and ``sign(w q) = sign(w) sign(q)``: by induction
    ``sign(p(x)) = phat(sign(x))`` where ``phat`` replaces each weight by its sign, and ``phat`` maps
    {-1, 0, 1}^n to {-1, 0, 1}. ``G = F - scale * l . x = scale * sum_k |c_k| relu(+-p_k) >= 0`` is positively
    homogeneous; ``F`` is linear iff ``G`` is, iff ``G = 0`` (a nonnegative linear function is 0),
    iff no ``p_k`` is positive anywhere, iff no ``phat_k(s) = 1`` for ``s`` in {-1, 0, 1}^n. Finally
    ``phat_k >= 1`` is a monotone Boolean combination (max = or, min = and; negations pushed to the
    leaves) of the events ``x_i >= 1`` and ``x_i <= -1``; replacing the zeros of ``s`` by +1 keeps
    every true event true, so {-1, 1}^n suffices. (The axis test then gives ``a = scale * l``: the
    ``T_k(+-e_i)`` are >= 0 and sum to 0.)

    Programs in neither form return ``None``: the grid is then not enough in general
    (``relu(min(2 x2 - x1, x1 - x2))`` vanishes on {-1, 0, 1}^2 but not at ``(3/4, 1/2)``).

    >>> from nsad.solvers.network.program import ProgramBuilder
    >>> b = ProgramBuilder(2)
    >>> bad = b.relu(b.min([(1, b.sum([(2, 1), (-1, 0)])), (1, b.sum([(1, 0), (-1, 1)]))]))
    >>> certify(b.build(bad)) is None
    True
    >>> b = ProgramBuilder(2)
    >>> certify(b.build(b.sum([(1, b.max([(1, 0), (-1, 1)])), (3, 0)]))).kind
    'lattice'
    """
    n = p.n_inputs
    lin, terms = _decompose(p)
    signed, commuting = _node_flags(p)
    # class (b)
    ok_b = True
    for c, t in terms:
        k = t - n
        kind = int(p.kinds[k])
        is_relu = bool(p.zero[k]) and ((kind == MAX and c > 0) or (kind == MIN and c < 0))
        if not (is_relu and all(commuting[a] for _, a in p.operands(t))):
            ok_b = False
            break
    if ok_b:
        return GridClass(RELU_LATTICE, tuple(lin), tuple(terms), p.scale)
    if all(signed[t] for _, t in terms):
        return GridClass(LATTICE, tuple(lin), tuple(terms), p.scale)
    return None
