"""The max/min program of a normal form, read off by eliminating units from the top (docs/theory.md 3.5).

:func:`lattice_of_normal_form` turns a :class:`nsad.solvers.network.normal_form.NormalForm` into an
exactly equivalent :class:`nsad.solvers.network.program.Program` (``scale = 1 / C``: it computes
the original ``F``). Rule: for a combination ``L = c r + L'`` whose highest unit is ``r = relu(E)``,
``L = max(L' + c E, L')`` when ``c > 0`` and ``min(L' + c E, L')`` when ``c < 0`` (because ``c relu(E)
= max(c E, 0)``, resp. ``min(c E, 0)``, and adding ``L'`` commutes with max and min). Both branches
are combinations of lower units only, so repeating the rule ends with linear forms over the inputs
as leaves; equal combinations are shared, so a tree-like network gives a program of about its size.
The rule has no choice to make: it does not depend on how the network writes a maximum
(``b + relu(a - b)``, ``a + relu(b - a)``, ``a - relu(a - b)`` for a minimum, shared or private
units), only on the function of each unit. Nested maxima (minima) with weight 1 are flattened
(``max(max(a, b), c) = max(a, b, c)``) and repeated operands dropped. Returns ``None`` when the
program would exceed ``max_nodes`` nodes (default ``4 (n + K) + 1000``): a network that is not
tree-like, for which the rule would blow up.

Vectorised: all the combinations of one elimination step are rows of one int64 CSR array. A step
splits every pending row at its highest unit (the last column: rows are kept sorted) into its two
branches with one expand-sort-reduce pass, hashes the new rows (a commutative 64-bit content
hash), and looks them up among the rows seen so far by sorting; every hash match is confirmed term
by term (a collision, never seen in practice, hands the work to
:func:`lattice_of_normal_form_reference`, the per-unit version kept as the reference the tests
cross-check against). The program is then assembled bottom-up, one numpy pass per height of the
elimination DAG. Python loops run over elimination steps and heights only (about 2-3 per layer).

Order: the operands of every max/min are sorted by a rank: the largest position, within its layer
of the original network, of the rows that produced the units their subtree eliminates
(``NormalForm.origins``; stable: ties keep the order ``L' + c E`` before ``L'``). So the clauses an
encoder reads off a reduction network come in the order of the network's units, which is the
formula's clause order (a clause's units sit at the same position in every layer; a unit it shares
with an earlier clause sits before its own), not in an order of hashes: CaDiCaL's running times are
heavy-tailed under clause permutations.

>>> from nsad.networks import ReluNetwork
>>> from nsad.solvers.network.normal_form import normal_form
>>> net = ReluNetwork([[[1, -1], [0, 1], [0, -1]], [[1, 1, -1]], [[1]]])   # relu(max(x1, x2))
>>> str(lattice_of_normal_form(normal_form(net)))
'max(x2, x1, 0)'
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from nsad.networks.exact import INT64_SAFE
from nsad.solvers.network.normal_form import _mix, _row_hashes, _same_as_first, _segment_equal
from nsad.solvers.network.program import MAX, MIN, SUM, Program, ProgramBuilder
from nsad.solvers.network.simplify import _canon

__all__ = ["lattice_of_normal_form", "lattice_of_normal_form_reference"]

_BIG = np.iinfo(np.int64).max


class _Fallback(Exception):
    """Internal: hand the normal form to the reference implementation (hash collision, large values)."""


def _positions(ptr: np.ndarray, sel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat positions of the CSR segments ``sel`` and, for each position, its index in ``sel``."""
    cnt = ptr[sel + 1] - ptr[sel]
    seg = np.repeat(np.arange(sel.size, dtype=np.int64), cnt)
    return np.arange(seg.size, dtype=np.int64) - (np.cumsum(cnt) - cnt)[seg] + ptr[sel][seg], seg


def lattice_of_normal_form(nf, max_nodes: int | None = None) -> Program | None:
    """An exactly equivalent max/min program of a normal form, or ``None`` (module docstring).

    >>> from nsad.networks import ReluNetwork
    >>> from nsad.solvers.network.normal_form import normal_form
    >>> str(lattice_of_normal_form(normal_form(ReluNetwork([[[1], [-1]], [[1, 1]]]))))   # |x|
    'max(x1, -x1)'
    """
    n, K = nf.n_inputs, nf.n_units
    budget = 4 * (n + K) + 1000 if max_nodes is None else int(max_nodes)
    try:
        return _lattice(nf, budget)
    except _Fallback:
        return lattice_of_normal_form_reference(nf, max_nodes)


def _lattice(nf, budget: int) -> Program | None:
    n, K = nf.n_inputs, nf.n_units
    N = n + K
    R = nf.rows
    u = _canon(np.repeat(np.arange(K, dtype=np.int64), np.diff(R.indptr)), R.indices.astype(np.int64),
               R.data.astype(np.int64), K, N)
    uptr, ucol, uval = u.ptr, u.col, u.val
    uabs = np.zeros(K)
    if uval.size:
        np.maximum.at(uabs, np.repeat(np.arange(K), np.diff(uptr)), np.abs(uval).astype(np.float64))
    with np.errstate(over="ignore"):
        var_hash = _mix(np.arange(1, N + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))
    out = np.asarray(nf.output, dtype=np.int64)
    ocol = np.flatnonzero(out).astype(np.int64)
    # the store of combinations (keys): a CSR array that grows by one block per step
    s_ptr = np.array([0, ocol.size], dtype=np.int64)
    s_col, s_val = ocol, out[ocol]
    s_hash = _row_hashes(s_ptr, s_col, s_val, var_hash)
    idx_h, idx_k = s_hash.copy(), np.zeros(1, dtype=np.int64)   # sorted hashes and their keys
    top_b, ch0_b, ch1_b, exp_b = [], [], [], []                  # per expanded key, block by block
    pending = np.zeros(1, dtype=np.int64)
    expanded = 0
    while pending.size:
        cnt = s_ptr[pending + 1] - s_ptr[pending]
        last = s_ptr[pending + 1] - 1
        top = np.where(cnt > 0, s_col[np.maximum(last, 0)], -1) if s_col.size else np.full(cnt.size, -1)
        ex = top >= n
        P = pending[ex]
        if not P.size:
            break
        expanded += P.size
        if expanded > budget:
            return None
        t, c = top[ex] - n, s_val[last[ex]]
        m = P.size
        # rest (row 2i + 1): the row without its last term; shifted (row 2i): rest + c E_t
        rcnt = cnt[ex] - 1
        rpos, rseg = _positions(s_ptr, P)
        keep = rpos != np.repeat(last[ex], cnt[ex])
        rpos, rseg = rpos[keep], rseg[keep]
        epos, eseg = _positions(uptr, t)
        rest_abs = np.zeros(m)
        if rpos.size:
            np.maximum.at(rest_abs, rseg, np.abs(s_val[rpos]).astype(np.float64))
        if np.any(rest_abs + np.abs(c).astype(np.float64) * uabs[t] >= INT64_SAFE / 4):
            raise _Fallback
        rows = np.concatenate([2 * rseg + 1, 2 * rseg, 2 * eseg])
        cols = np.concatenate([s_col[rpos], s_col[rpos], ucol[epos]])
        vals = np.concatenate([s_val[rpos], s_val[rpos], c[eseg] * uval[epos]])
        ch = _canon(rows, cols, vals, 2 * m, N)
        h = _row_hashes(ch.ptr, ch.col, ch.val, var_hash)
        uh, first, inv = np.unique(h, return_index=True, return_inverse=True)
        inv = inv.reshape(-1)
        if not _same_as_first(ch.ptr, ch.col, ch.val, first, inv):
            raise _Fallback
        at = np.minimum(np.searchsorted(idx_h, uh), idx_h.size - 1)
        found = idx_h[at] == uh
        key_of = np.empty(uh.size, dtype=np.int64)
        if found.any():
            fk = idx_k[at[found]]
            if not _segment_equal(ch.ptr, ch.col, ch.val, first[found], s_ptr, s_col, s_val, fk).all():
                raise _Fallback
            key_of[found] = fk
        fresh = np.flatnonzero(~found)
        fresh = fresh[np.argsort(first[fresh], kind="stable")]
        base = s_ptr.size - 1
        key_of[fresh] = base + np.arange(fresh.size)
        if fresh.size:
            fpos, _ = _positions(ch.ptr, first[fresh])
            lens = ch.ptr[first[fresh] + 1] - ch.ptr[first[fresh]]
            s_ptr = np.concatenate([s_ptr, s_ptr[-1] + np.cumsum(lens)])
            s_col = np.concatenate([s_col, ch.col[fpos]])
            s_val = np.concatenate([s_val, ch.val[fpos]])
            allh = np.concatenate([idx_h, uh[fresh]])
            allk = np.concatenate([idx_k, key_of[fresh]])
            o = np.argsort(allh, kind="stable")
            idx_h, idx_k = allh[o], allk[o]
        kids = key_of[inv]
        top_b.append(t + n)
        ch0_b.append(kids[0::2])
        ch1_b.append(kids[1::2])
        exp_b.append(P)
        pending = base + np.arange(fresh.size, dtype=np.int64)
    Q = s_ptr.size - 1
    is_int = np.zeros(Q, dtype=bool)
    top = np.full(Q, _BIG, dtype=np.int64)
    ch0 = np.full(Q, -1, dtype=np.int64)
    ch1 = np.full(Q, -1, dtype=np.int64)
    if exp_b:
        E = np.concatenate(exp_b)
        is_int[E] = True
        top[E] = np.concatenate(top_b)
        ch0[E] = np.concatenate(ch0_b)
        ch1[E] = np.concatenate(ch1_b)
    lastval = s_val[np.maximum(s_ptr[1:] - 1, 0)] if s_val.size else np.zeros(Q, dtype=np.int64)
    kind_of = np.where(is_int, np.where(lastval > 0, MAX, MIN), SUM).astype(np.int8)
    # heights (leaves 0) and ranks (the latest network row among the units a key's subtree
    # eliminates: a clause's own gadget, not a unit it shares with an earlier clause), one pass per height
    height = np.zeros(Q, dtype=np.int64)
    origins = getattr(nf, "origins", None)
    if origins is None or len(origins) != K:
        origins = np.arange(K, dtype=np.int64)
    rank = np.full(Q, -1, dtype=np.int64)
    rank[is_int] = np.asarray(origins, dtype=np.int64)[top[is_int] - n]
    I = np.flatnonzero(is_int)
    for _ in range(Q + 1):
        hn = 1 + np.maximum(height[ch0[I]], height[ch1[I]])
        rn = np.maximum(rank[I], np.maximum(rank[ch0[I]], rank[ch1[I]]))
        if np.array_equal(hn, height[I]) and np.array_equal(rn, rank[I]):
            break
        height[I], rank[I] = hn, rn
    # results per key: zero, or a term (res_w, res_id); proto nodes are numbered as they are made
    res_zero = np.zeros(Q, dtype=bool)
    res_w = np.zeros(Q, dtype=np.int64)
    res_id = np.full(Q, -1, dtype=np.int64)
    nk, nz, nptr, nw, na, nr, nh = [], [], [np.zeros(1, dtype=np.int64)], [], [], [], []
    n_proto = 0
    # leaves: 0, one term, or g * (a sum with primitive weights)
    L = np.flatnonzero(~is_int)
    lcnt = s_ptr[L + 1] - s_ptr[L]
    res_zero[L[lcnt == 0]] = True
    one = L[lcnt == 1]
    res_w[one], res_id[one] = s_val[s_ptr[one]], s_col[s_ptr[one]]
    many = L[lcnt > 1]
    if many.size:
        pos, seg = _positions(s_ptr, many)
        starts = np.concatenate([[0], np.cumsum(lcnt[lcnt > 1])[:-1]])
        g = np.gcd.reduceat(np.abs(s_val[pos]), starts)
        res_w[many], res_id[many] = g, n + np.arange(many.size)
        nk.append(np.full(many.size, SUM, dtype=np.int8))
        nz.append(np.zeros(many.size, dtype=bool))
        nptr.append(np.cumsum(lcnt[lcnt > 1]))
        nw.append(s_val[pos] // g[seg])
        na.append(s_col[pos])
        nr.append(np.full(pos.size, -1, dtype=np.int64))
        nh.append(np.zeros(many.size, dtype=np.int64))
        n_proto = many.size
    if n_proto + I.size > budget:
        return None
    # proto store as growing arrays (operands with their ranks)
    P_kind = np.concatenate(nk) if nk else np.zeros(0, dtype=np.int8)
    P_zero = np.concatenate(nz) if nz else np.zeros(0, dtype=bool)
    P_ptr = np.concatenate(nptr)
    P_w = np.concatenate(nw) if nw else np.zeros(0, dtype=np.int64)
    P_a = np.concatenate(na) if na else np.zeros(0, dtype=np.int64)
    P_r = np.concatenate(nr) if nr else np.zeros(0, dtype=np.int64)
    P_h = np.concatenate(nh) if nh else np.zeros(0, dtype=np.int64)
    H = int(height.max()) if Q else 0
    for lev in range(1, H + 1):
        S = np.flatnonzero(is_int & (height == lev))
        if not S.size:
            continue
        m = S.size
        kinds = kind_of[S]
        zero = np.zeros(m, dtype=bool)
        cnt_parts, src_node, term_w, term_id, term_r = [], [], [], [], []
        for j, chj in enumerate((ch0[S], ch1[S])):
            z = res_zero[chj]
            zero |= z
            w, a = res_w[chj], res_id[chj]
            isnode = (a >= n) & ~z
            if P_kind.size:
                sp_idx = np.where(isnode, a - n, 0)
                splice = isnode & (w == 1) & (P_kind[sp_idx] == kinds)
                sp_idx = np.where(splice, sp_idx, 0)
                zero |= splice & P_zero[sp_idx]
                c = np.where(z, 0, np.where(splice, P_ptr[sp_idx + 1] - P_ptr[sp_idx], 1))
            else:
                splice = np.zeros(m, dtype=bool)
                sp_idx = np.zeros(m, dtype=np.int64)
                c = np.where(z, 0, 1)
            cnt_parts.append(c)
            src_node.append(np.where(splice, sp_idx, -1))
            term_w.append(w)
            term_id.append(a)
            term_r.append(rank[chj])
        # entries: for key i, child 0's then child 1's (segments interleaved by key)
        c2 = np.stack(cnt_parts, axis=1).reshape(-1)
        src = np.stack(src_node, axis=1).reshape(-1)
        tw = np.stack(term_w, axis=1).reshape(-1)
        ta = np.stack(term_id, axis=1).reshape(-1)
        tr = np.stack(term_r, axis=1).reshape(-1)
        seg = np.repeat(np.arange(c2.size, dtype=np.int64), c2)
        within = np.arange(seg.size, dtype=np.int64) - (np.cumsum(c2) - c2)[seg]
        sp_seg = src[seg] >= 0
        pp = np.where(sp_seg, P_ptr[np.maximum(src[seg], 0)] + within, 0)
        ew = np.where(sp_seg, P_w[pp] if P_w.size else 0, tw[seg])
        ea = np.where(sp_seg, P_a[pp] if P_a.size else 0, ta[seg])
        er = np.where(sp_seg, P_r[pp] if P_r.size else 0, tr[seg])
        owner = seg // 2
        if ew.size and np.abs(ew).max() >= INT64_SAFE:
            return None
        # repeated operands go (the first stays), then operands sorted by rank (stable)
        if ew.size:
            o = np.lexsort((np.arange(ew.size), ew, ea, owner))
            dup = np.zeros(ew.size, dtype=bool)
            same = (owner[o][1:] == owner[o][:-1]) & (ea[o][1:] == ea[o][:-1]) & (ew[o][1:] == ew[o][:-1])
            dup[o[1:][same]] = True
            keep = ~dup
            ew, ea, er, owner = ew[keep], ea[keep], er[keep], owner[keep]
            o = np.lexsort((np.arange(ew.size), er, owner))
            ew, ea, er, owner = ew[o], ea[o], er[o], owner[o]
        fcnt = np.bincount(owner, minlength=m)
        empty = fcnt == 0
        alias = (fcnt == 1) & ~zero
        node = ~empty & ~alias
        res_zero[S[empty]] = True
        starts = np.cumsum(fcnt) - fcnt
        al = np.flatnonzero(alias)
        res_w[S[al]], res_id[S[al]] = ew[starts[al]], ea[starts[al]]
        nd = np.flatnonzero(node)
        if nd.size:
            new_ids = n + P_kind.size + np.arange(nd.size)
            res_w[S[nd]], res_id[S[nd]] = 1, new_ids
            sel = node[owner]
            P_kind = np.concatenate([P_kind, kinds[nd]])
            P_zero = np.concatenate([P_zero, zero[nd]])
            P_ptr = np.concatenate([P_ptr, P_ptr[-1] + np.cumsum(fcnt[nd])])
            P_w = np.concatenate([P_w, ew[sel]])
            P_a = np.concatenate([P_a, ea[sel]])
            P_r = np.concatenate([P_r, er[sel]])
            P_h = np.concatenate([P_h, np.full(nd.size, lev, dtype=np.int64)])
    scale = Fraction(1) / nf.factor
    if res_zero[0]:
        b = ProgramBuilder(n)
        return b.build(b.sum([]), scale=scale)
    rw, rid = int(res_w[0]), int(res_id[0])
    # keep the nodes the root reaches (spliced nodes are dead), in their order (topological)
    M = P_kind.size
    live = np.zeros(n + M, dtype=bool)
    live[rid] = True
    counts = np.diff(P_ptr)
    for lev in range(int(P_h.max()) if M else 0, -1, -1):
        at = np.flatnonzero(live[n:] & (P_h == lev))
        if at.size:
            pos, _ = _positions(P_ptr, at)
            live[P_a[pos]] = True
    keep = np.flatnonzero(live[n:])
    newid = np.arange(n + M, dtype=np.int64)
    newid[n + keep] = n + np.arange(keep.size)
    pos, _ = _positions(P_ptr, keep)
    kptr = np.concatenate([[0], np.cumsum(counts[keep])]).astype(np.int64)
    kinds, zeros = P_kind[keep], P_zero[keep]
    args, coefs = newid[P_a[pos]], P_w[pos]
    if rw == 1 and rid >= n:
        return Program(n, kinds, zeros, kptr, args, coefs, int(newid[rid]), scale)
    return Program(n, np.append(kinds, SUM), np.append(zeros, False), np.append(kptr, kptr[-1] + 1),
                   np.append(args, newid[rid]), np.append(coefs, rw), n + keep.size, scale)


def lattice_of_normal_form_reference(nf, max_nodes: int | None = None) -> Program | None:
    """The per-unit version of :func:`lattice_of_normal_form` (the same rule, one combination at a
    time, with exact Python keys): the reference the vectorised version is tested against, and its
    fallback on a hash collision or values near the int64 limit. Its operands follow the order of
    the elimination (``L' + c E`` first), not the network's unit order.

    >>> from nsad.networks import ReluNetwork
    >>> from nsad.solvers.network.normal_form import normal_form
    >>> net = ReluNetwork([[[1, -1], [0, 1], [0, -1]], [[1, 1, -1]], [[1]]])   # relu(max(x1, x2))
    >>> str(lattice_of_normal_form_reference(normal_form(net)))
    'max(x2, x1, 0)'
    """
    n, K = nf.n_inputs, nf.n_units
    budget = 4 * (n + K) + 1000 if max_nodes is None else int(max_nodes)
    R = nf.rows
    ptr, col, val = R.indptr.tolist(), R.indices.tolist(), R.data.tolist()
    unit_row = [dict(zip(col[ptr[u]:ptr[u + 1]], val[ptr[u]:ptr[u + 1]])) for u in range(K)]
    b = ProgramBuilder(n)
    memo: dict[tuple, tuple | None] = {}  # combination -> operand (weight, id), or None for 0
    shape: dict[int, tuple] = {}  # max/min node -> (kind, operands, zero), for flattening
    nodes = 0

    def key(d: dict) -> tuple:
        return tuple(sorted((v, c) for v, c in d.items() if c))

    def leaf(k: tuple):
        nonlocal nodes
        if not k:
            return None
        if len(k) == 1:
            v, c = k[0]
            return (c, v)
        g = math.gcd(*[abs(c) for _, c in k])
        nodes += 1
        return (g, b.sum([(c // g, v) for v, c in k]))

    root = key({int(j): int(w) for j, w in nf.output_terms()})
    stack = [root]
    while stack:
        k = stack[-1]
        if k in memo:
            stack.pop()
            continue
        top = max((v for v, _ in k if v >= n), default=None)
        if top is None:
            memo[k] = leaf(k)
            stack.pop()
            continue
        d = dict(k)
        c = d.pop(top)
        rest = key(d)
        for v, w in unit_row[top - n].items():
            d[v] = d.get(v, 0) + c * w
        shifted = key(d)
        todo = [x for x in (shifted, rest) if x not in memo]
        if todo:
            stack.extend(todo)
            continue
        stack.pop()
        ops, zero = [], False
        for x in (shifted, rest):
            o = memo[x]
            if o is None:
                zero = True
            else:
                ops.append(o)
        if any(abs(w) >= INT64_SAFE for w, _ in ops):
            return None
        nodes += 1
        if nodes > budget:
            return None
        kind = MAX if c > 0 else MIN
        flat, seen = [], set()
        for o in ops:  # lattice algebra: max(max(a, b), c) = max(a, b, c), likewise min
            inner = shape.get(o[1]) if o[0] == 1 else None
            if inner is not None and inner[0] == kind:
                zero = zero or inner[2]
                parts = inner[1]
            else:
                parts = (o,)
            for q in parts:
                if q not in seen:
                    seen.add(q)
                    flat.append(q)
        if not flat:
            memo[k] = None
        elif len(flat) == 1 and not zero:
            memo[k] = flat[0]
        else:
            node = (b.max if kind == MAX else b.min)(flat, zero=zero)
            shape[node] = (kind, tuple(flat), zero)
            memo[k] = (1, node)
    out = memo[root]
    scale = Fraction(1) / nf.factor
    if out is None:
        return b.build(b.sum([]), scale=scale)
    w, node = out
    if w == 1 and node >= n:
        return b.build(node, scale=scale)
    return b.build(b.sum([(w, node)]), scale=scale)
