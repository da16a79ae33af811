"""The MILP network decider: maximise and minimise ``F(x) - a.x`` over the box ``[-1, 1]^n``.

docs/theory.md section 3.2. After the axis test passes with ``a_i = F(e_i) = -F(-e_i)``, ``F`` is
linear iff ``F(x) - a.x = 0`` on the box (positive homogeneity makes the box enough).

Encoding (:func:`encode_milp`; one binary per *distinct* unit that changes sign on the box):

* every unit's output is a sparse linear expression over the MILP variables (``x`` and the outputs
  of sign-changing units); pre-activations ``z = M_k E_{k-1}`` are products of sparse matrices;
* bounds ``l <= z <= u`` on the box: interval arithmetic over those expressions (``l = Z+ lb + Z- ub``,
  vectorised), intersected with back-substituted linear-relaxation bounds (DeepPoly / CROWN style).
  For integer networks whose bounds stay below ``2**53`` the interval floats are exact; any bound
  that rests on rounded arithmetic is widened by a relative ``1e-9``;
* ``u <= 0``: the unit is dead on the box (hence everywhere, by homogeneity): output 0;
  ``l >= 0``: the unit is linear: output ``z`` (no variable);
* otherwise ``h >= z``, ``h <= z - l (1 - d)``, ``h <= u d``, ``0 <= h <= u``, ``d`` binary (the
  standard big-M encoding, exact in real arithmetic); a unit whose pre-activation equals (or
  negates) an earlier one of its layer reuses its variable (``relu(-z) = relu(z) - z``), so a carry
  ``relu(v) - relu(-v)`` cancels to ``v``; units the objective does not need are dropped.

The constraint matrix is assembled in one vectorised pass per layer (no Python loop per unit).

Each side (``s = +1`` then ``s = -1``) asks whether ``s (F(x) - a.x) > tol`` somewhere: HiGHS gets
the objective ``max s (F - a.x)`` with the cutoff ``objective_bound`` at ``tol`` and stops at the first
improving solution (``mip_max_improving_sols = 1``), so a witness ends the side at once and an
infeasible answer proves ``s (F - a.x) <= tol`` on the box, up to HiGHS's tolerances. Feasibility
tolerances are tightened to ``1e-9`` (HiGHS's default ``1e-6`` lets a constraint violation of that
size fake an objective of the same size, i.e. fake witnesses at ``tol = 1e-6``). Both sides
infeasible: SINGLETON with element ``a``, ``complete=False`` (argument ``numerical``), and the ``reason`` says the answer holds
up to the MILP tolerance. A witness becomes an exactly checked certificate
(:func:`solvers.network.certify.certificate_from_witness`); a witness that cannot be certified is
re-solved once with tighter tolerances and no early stop, then reported UNKNOWN. When the exact
rewriting of :func:`encode_milp` leaves ``F(x) - a.x`` with no term at all (every unit linear or dead
on the box, carries cancelled), the answer is SINGLETON, exactly, without calling a solver.

>>> from nsad.networks import ReluNetwork
>>> net = ReluNetwork([[[-1, 2], [1, -2], [-2, 3]], [[1, -1, -1]], [[1]]])   # relu(min(2x2-x1, x1-x2))
>>> v = decide_milp(net)
>>> v.answer, v.complete, v.stats["binaries"]
('two-subgradients', True, 2)
>>> v = decide_milp(ReluNetwork([[[1], [2]], [[2, -1]]]))           # 2 relu(x) - relu(2x) = 0
>>> v.answer, v.element, v.reason
('singleton', (0,), 'singleton up to MILP tolerance 1e-06: no x in [-1,1]^n with |F(x) - a.x| > 1e-06 (HiGHS via scipy); a numerical claim, not a proof')
>>> decide_milp(ReluNetwork([[[1], [-1]], [[1, -1]]])).reason      # relu(x) - relu(-x) = x, a carry
'exact: after exact rewriting (linear and dead units, carries) F(x) - a.x is identically 0'
"""

from __future__ import annotations

from nsad.networks.relu_network import require_bias_free as _require_bias_free
import contextlib
import os
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from nsad.networks import ReluNetwork
from nsad.solvers.network.certify import (
    axis_test,
    axis_verdict,
    certificate_from_witness,
    singleton,
    unknown,
    verdict_from_certificate,
)
from nsad.solvers.registry import SolverError

__all__ = ["MilpEncoding", "interval_bounds", "encode_milp", "decide_milp", "decide_milp_ortools"]

_EXACT_FLOAT = 2.0**53
_EXACT_LINEAR = "exact: after exact rewriting (linear and dead units, carries) F(x) - a.x is identically 0"


# ------------------------------------------------------------------------------------------------
# Encoding
# ------------------------------------------------------------------------------------------------
def _interval_step(Z, lo, hi, exact: bool):
    """Bounds of ``Z v`` for ``lo <= v <= hi`` (float CSR ``Z``), and whether they are still exact.

    Exact while every bound stays below 2**53 (integer data); otherwise padded outward by a relative
    1e-9 so rounding never makes them unsound.
    """
    Zp = Z.maximum(0)
    Zn = Z - Zp
    l = Zp @ lo + Zn @ hi
    u = Zp @ hi + Zn @ lo
    if exact and max(np.max(np.abs(l), initial=0), np.max(np.abs(u), initial=0)) >= _EXACT_FLOAT:
        exact = False
    if not exact:
        pad = 1e-9 * (np.abs(l) + np.abs(u) + 1.0)
        l, u = l - pad, u + pad
    return l, u, exact


def interval_bounds(net: ReluNetwork, radius: float = 1.0) -> tuple[list, bool]:
    """Pre-activation bounds ``(l_k, u_k)`` of every hidden layer on ``[-radius, radius]^n``.

    Returns the list of pairs and whether the floats are exact (integer weights, bounds < 2**53).

    >>> from nsad.networks import ReluNetwork
    >>> b, exact = interval_bounds(ReluNetwork([[[1, -1], [1, 1]], [[1, -1]], [[1]]]))
    >>> [(l.tolist(), u.tolist()) for l, u in b], exact
    ([([-2.0, -2.0], [2.0, 2.0]), ([-2.0], [2.0])], True)
    """
    _require_bias_free(net, "the box argument (docs/theory.md section 3.2)")
    n = net.n_inputs
    lo = np.full(n, -float(radius))
    hi = np.full(n, float(radius))
    exact = net.is_integer and float(radius).is_integer()
    out = []
    for M in net.matrices[:-1]:
        l, u, exact = _interval_step(sp.csr_array(M, dtype=np.float64), lo, hi, exact)
        out.append((l, u))
        lo, hi = np.maximum(l, 0.0), np.maximum(u, 0.0)
    return out, exact


@dataclass(frozen=True)
class MilpEncoding:
    """``max/min objective . v`` s.t. ``row_lb <= A v <= row_ub``, ``var_lb <= v <= var_ub``, some ``v`` binary.

    ``v[:n_inputs]`` is ``x``; ``objective . v = F(x) - a.x`` on feasible points.
    """

    A: sp.csr_array
    row_lb: np.ndarray
    row_ub: np.ndarray
    var_lb: np.ndarray
    var_ub: np.ndarray
    integrality: np.ndarray
    objective: np.ndarray
    n_inputs: int
    stats: dict = field(default_factory=dict)

    @property
    def n_binaries(self) -> int:
        return int(self.integrality.sum())


def _resize(Z: sp.csr_array, cols: int) -> sp.csr_array:
    return sp.csr_array((Z.data, Z.indices, Z.indptr), shape=(Z.shape[0], cols))


def _pairs(Z: sp.csr_array, seed: int = 12345) -> tuple[np.ndarray, np.ndarray]:
    """For each row ``j``: ``rep[j]`` (first row equal to ``+-Z_j``) and ``sgn[j]`` (``Z_j = sgn Z_rep``).

    Vectorised: rows are sign-normalised (first stored entry positive), hashed by a random
    projection, grouped with ``np.unique``, and every match is then verified exactly (the
    difference of the two normalised rows must have no nonzero entry). Zero rows get ``rep = j``.
    """
    w = Z.shape[0]
    nnz_row = np.diff(Z.indptr)
    sgn = np.ones(w)
    has = nnz_row > 0
    sgn[has] = np.sign(Z.data[Z.indptr[:-1][has]])
    N = sp.csr_array(sp.diags_array(sgn) @ Z)
    rng = np.random.default_rng(seed)
    key = np.stack([N @ rng.standard_normal(Z.shape[1]), N @ rng.standard_normal(Z.shape[1]), nnz_row], axis=1)
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    rep = first[inverse.reshape(-1)]
    cand = np.flatnonzero((rep != np.arange(w)) & has)
    if cand.size:
        D = sp.csr_array(N[cand] - N[rep[cand]])
        D.eliminate_zeros()
        bad = cand[np.diff(D.indptr) > 0]
        rep[bad] = bad
    rep[~has] = np.flatnonzero(~has)
    return rep, sgn * sgn[rep]


def _backsub(C: sp.csr_array, relax: list, n: int, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Symbolic bounds of the expressions ``C v`` on the box (DeepPoly / CROWN back-substitution).

    Each variable ``h = relu(z)`` of a sign-changing unit with bounds ``l < 0 < u`` satisfies
    ``lam z <= h <= s (z - l)`` with ``s = u / (u - l)`` and ``lam`` in {0, 1}; the variables are
    replaced layer by layer, newest first (upper relaxation where the coefficient is positive for
    the upper bound, and so on), until only ``x`` is left, then ``x`` is concretised on the box.
    """
    N = max(C.shape[1], max((int(r[0].max()) + 1 for r in relax), default=0))
    Cu = _resize(C, N)
    Cl = Cu.copy()
    cu = np.zeros(C.shape[0])
    cl = np.zeros(C.shape[0])
    for h_idx, Zr, l, u, lam, s in reversed(relax):
        if not h_idx.size or Cu.nnz + Cl.nnz == 0:
            continue
        Zr = _resize(Zr, N)
        mask = np.ones(N)
        mask[h_idx] = 0.0
        keep = sp.diags_array(mask)
        out = []
        for Cm, upper in ((Cu, True), (Cl, False)):
            P = sp.csr_array(Cm[:, h_idx])
            Pp = P.maximum(0)
            Pn = P - Pp
            pos, neg = (s, lam) if upper else (lam, s)
            repl = sp.csr_array(Pp @ sp.diags_array(pos) + Pn @ sp.diags_array(neg))
            const = -((Pp if upper else Pn) @ (s * l))
            Cm = sp.csr_array(Cm @ keep + repl @ Zr)
            Cm.eliminate_zeros()
            out.append((Cm, const))
        (Cu, du), (Cl, dl) = out
        cu += du
        cl += dl
    ru = np.asarray(abs(Cu[:, :n]).sum(axis=1)).reshape(-1) * radius
    rl = np.asarray(abs(Cl[:, :n]).sum(axis=1)).reshape(-1) * radius
    return cl - rl, cu + ru


def _big_m_rows(layers: list, col_map: np.ndarray, n_cols: int):
    """The three big-M rows of every sign-changing unit, as one sparse matrix (vectorised per layer)."""
    rows_r, rows_c, rows_v, rlb, rub = [], [], [], [], []
    n_rows = 0
    for Zp_, l_, u_, h_, d_ in layers:
        ns = h_.size
        if not ns:
            continue
        C = Zp_.tocoo()
        zr, zc, zv = C.row, col_map[C.col], C.data
        r1 = n_rows + np.arange(ns)
        r2, r3 = r1 + ns, r1 + 2 * ns
        n_rows += 3 * ns
        hh, dd = col_map[h_], col_map[d_]
        rows_r += [r1[zr], r1, r2[zr], r2, r2, r3, r3]
        rows_c += [zc, hh, zc, hh, dd, hh, dd]
        rows_v += [-zv, np.ones(ns), -zv, np.ones(ns), -l_, np.ones(ns), -u_]
        rlb += [np.zeros(ns), np.full(ns, -np.inf), np.full(ns, -np.inf)]
        rub += [np.full(ns, np.inf), -l_, np.zeros(ns)]
    cat = lambda parts, dt=np.float64: np.concatenate(parts) if parts else np.zeros(0, dt)  # noqa: E731
    A = sp.csr_array((cat(rows_v), (cat(rows_r, np.int64), cat(rows_c, np.int64))), shape=(n_rows, n_cols))
    return A, cat(rlb), cat(rub)


def encode_milp(net: ReluNetwork, a, radius: float = 1.0, symbolic: bool = True) -> MilpEncoding:
    """Big-M MILP of ``F(x) - a.x`` on ``[-radius, radius]^n`` (see the module docstring).

    Every unit's output is kept as a sparse *expression* over the MILP variables (``x`` and the
    outputs of sign-changing units), so that exact identities cost nothing:

    * a unit that is linear on the box is its pre-activation expression (no variable);
    * a dead unit is 0;
    * of two sign-changing units of a layer with equal pre-activations, or opposite ones
      (``relu(-z) = relu(z) - z``), only the first gets a variable and a binary; the other is
      ``h`` or ``h - z``. A carry ``relu(v) - relu(-v)`` thus cancels to ``v`` in the next layer;
    * a unit whose variable no later constraint and not the objective uses is dropped with its
      constraints (they are always satisfiable).

    Bounds are interval arithmetic over those expressions (at least as tight as layer-wise
    interval arithmetic, and exact on carried values), intersected (``symbolic=True``) with the
    back-substituted linear relaxation bounds of :func:`_backsub` (padded by a relative ``1e-9``
    against rounding). The ``exact_bounds`` statistic is true when every unit was classified by
    interval arithmetic on exactly represented integers.

    >>> from nsad.networks import ReluNetwork
    >>> enc = encode_milp(ReluNetwork([[[1], [-1]], [[1, 1]]]), [0])       # |x| = 2 relu(x) - x
    >>> enc.n_binaries, enc.A.shape, enc.objective.tolist()
    (1, (3, 3), [-1.0, 2.0, 0.0])
    >>> encode_milp(ReluNetwork([[[1], [-1]], [[1, -1]]]), [1]).n_binaries  # relu(x) - relu(-x) = x
    0
    """
    _require_bias_free(net, "the MILP of the box question")
    net.require_scalar()
    n = net.n_inputs
    a = np.asarray([float(v) for v in a], dtype=np.float64)
    exact = net.is_integer and float(radius).is_integer()
    lbv = [np.full(n, -float(radius))]
    ubv = [np.full(n, float(radius))]
    n_vars = n
    E = sp.identity(n, dtype=np.float64, format="csr")  # outputs of the previous layer, over the variables
    layers = []  # per layer: (Z rows of primaries, l, u, h index, d index)
    relax = []  # per layer with primaries: (h index, Z rows, l, u, lower slope, upper slope)
    exact_class = True  # every unit classified as interval arithmetic over exact floats would
    counts = {"units": 0, "dead": 0, "linear": 0, "straddling": 0, "merged": 0, "bound_sum": 0.0}
    for M in net.matrices[:-1]:
        w = M.shape[0]
        Z = sp.csr_array(sp.csr_array(M, dtype=np.float64) @ E)
        Z.eliminate_zeros()
        lb_all, ub_all = np.concatenate(lbv), np.concatenate(ubv)
        l, u, exact = _interval_step(Z, lb_all, ub_all, exact)
        ia_class = (u <= 0, l >= 0)
        if symbolic and relax:
            ls, us = _backsub(Z, relax, n, radius)
            pad = 1e-9 * (np.abs(ls) + np.abs(us) + 1.0)
            l, u = np.maximum(l, ls - pad), np.minimum(u, us + pad)
        dead, linear = u <= 0, (l >= 0) & (u > 0)
        if not (np.array_equal(dead, ia_class[0]) and np.array_equal(l >= 0, ia_class[1])):
            exact_class = False
        counts["bound_sum"] += float(np.sum(u - l))
        strad = ~dead & ~linear
        rep, sgn = _pairs(Z)
        rep = np.where(strad & strad[rep], rep, np.arange(w))
        primary = strad & (rep == np.arange(w))
        merged = strad & ~primary
        counts["units"] += w
        counts["dead"] += int(dead.sum())
        counts["linear"] += int(linear.sum())
        counts["straddling"] += int(primary.sum())
        counts["merged"] += int(merged.sum())
        pj = np.flatnonzero(primary)
        h_idx = np.full(w, -1, dtype=np.int64)
        h_idx[pj] = n_vars + np.arange(pj.size)
        d_idx = h_idx.copy()
        d_idx[pj] = n_vars + pj.size + np.arange(pj.size)
        n_vars += 2 * pj.size
        lbv += [np.zeros(pj.size), np.zeros(pj.size)]
        ubv += [u[pj], np.ones(pj.size)]
        layers.append((Z[pj], l[pj], u[pj], h_idx[pj], d_idx[pj]))
        if pj.size:
            lp, up = l[pj], u[pj]
            relax.append((h_idx[pj], Z[pj], lp, up, (up > -lp).astype(np.float64), up / (up - lp)))
        # expressions: linear -> Z_j; straddling -> h_rep (+ Z_j when Z_j = -Z_rep)
        twin = merged & (sgn < 0)
        sj = np.flatnonzero(strad)
        Hm = sp.csr_array((np.ones(sj.size), (sj, h_idx[rep[sj]])), shape=(w, n_vars))
        E = sp.csr_array(sp.diags_array((linear | twin).astype(np.float64)) @ _resize(Z, n_vars)) + Hm
        E.eliminate_zeros()
    obj_row = sp.csr_array(sp.csr_array(net.matrices[-1], dtype=np.float64) @ E)
    obj = obj_row.toarray().reshape(-1)
    obj[:n] -= a
    # keep only what the objective needs (backward over layers)
    needed = np.zeros(n_vars, dtype=bool)
    needed[:n] = True
    needed[np.flatnonzero(obj)] = True
    keep_layers = []
    for Zp_, l_, u_, h_, d_ in reversed(layers):
        keep = needed[h_]
        needed[d_[keep]] = True
        needed[Zp_[keep].indices] = True
        keep_layers.append((Zp_[keep], l_[keep], u_[keep], h_[keep], d_[keep]))
    keep_layers.reverse()
    new = np.cumsum(needed) - 1
    A, row_lb, row_ub = _big_m_rows(keep_layers, new, int(needed.sum()))
    n_rows = A.shape[0]
    nv = int(needed.sum())
    integ = np.zeros(n_vars)
    for _, _, _, _, d_ in layers:
        integ[d_] = 1.0
    counts["straddling_used"] = int(sum(k[3].size for k in keep_layers))
    stats = dict(counts, rows=n_rows, columns=nv, nonzeros=int(A.nnz), exact_bounds=bool(exact and exact_class))
    return MilpEncoding(
        A, row_lb, row_ub, np.concatenate(lbv)[needed], np.concatenate(ubv)[needed], integ[needed],
        obj[needed], n, stats,
    )


# ------------------------------------------------------------------------------------------------
# Backends: one side = "is s (F - a.x) > tol somewhere on the box?"
# ------------------------------------------------------------------------------------------------
@dataclass
class SideResult:
    status: str  # "witness" | "none" | "limit" | "inconclusive" (re-solve strictly) | "error"
    x: np.ndarray | None = None
    value: float | None = None
    nodes: int | None = None  # branch-and-bound nodes, when the backend reports them
    seconds: float = 0.0
    message: str = ""


def _side_scipy(enc: MilpEncoding, sign: int, tol: float, time_limit: float | None, strict: bool, seed: int) -> SideResult:
    from scipy.optimize import Bounds, LinearConstraint, milp

    opts = {
        "presolve": True,
        "objective_bound": -tol,  # minimise -s(F - a.x): only solutions with s(F - a.x) > tol count
        "mip_max_improving_sols": 1,  # the first such solution is a witness: stop there
        "random_seed": int(seed) % (2**31),
        # tight feasibility: a violation of size eps can fake an objective of eps times the weights
        "mip_feasibility_tolerance": 1e-10 if strict else 1e-9,
        "primal_feasibility_tolerance": 1e-10 if strict else 1e-9,
    }
    if strict:  # no early stop: prove the optimum
        del opts["mip_max_improving_sols"]
    if time_limit is not None:
        opts["time_limit"] = max(float(time_limit), 1e-3)
    cons = [LinearConstraint(enc.A, enc.row_lb, enc.row_ub)] if enc.A.shape[0] else []
    t0 = time.perf_counter()
    with warnings.catch_warnings(), _quiet_stdout():  # HiGHS's C code may print on fd 1 (breaks --json)
        warnings.simplefilter("ignore", RuntimeWarning)  # options beyond scipy's list warn
        res = milp(
            c=-sign * enc.objective, constraints=cons, integrality=enc.integrality,
            bounds=Bounds(enc.var_lb, enc.var_ub), options=opts,
        )
    secs = time.perf_counter() - t0
    nodes = int(res.mip_node_count or 0) if getattr(res, "mip_node_count", None) is not None else 0
    msg = str(res.message)
    if res.x is not None and res.fun is not None and -res.fun > tol:
        return SideResult("witness", np.asarray(res.x), float(-res.fun), nodes, secs, msg)
    if res.status == 2 or (res.status == 0 and (res.fun is None or -res.fun <= tol)):
        return SideResult("none", None, None, nodes, secs, msg)
    if res.status == 1 or "time limit" in msg.lower():
        return SideResult("limit", None, None, nodes, secs, msg)
    if "solution limit" in msg.lower():  # stopped at a solution on the cutoff itself: not a proof
        return SideResult("inconclusive", None, None, nodes, secs, msg)
    return SideResult("error", None, None, nodes, secs, str(res.message))


@contextlib.contextmanager
def _quiet_stdout():
    """Send file descriptor 1 to /dev/null for the duration (C libraries' stray prints)."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError, AttributeError):  # no real fd 1 (e.g. captured): nothing to guard
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _side_ortools(solver_name: str):
    def side(enc: MilpEncoding, sign: int, tol: float, time_limit: float | None, strict: bool, seed: int) -> SideResult:
        from ortools.linear_solver.python import model_builder as mb

        model = mb.Model()
        # one extra row: s (F - a.x) >= tol, so that any feasible solution is a witness
        A = sp.vstack([enc.A, sp.csr_array(sign * enc.objective[None, :])], format="csr")
        lb = np.concatenate([enc.row_lb, [tol]])
        ub = np.concatenate([enc.row_ub, [np.inf]])
        model.helper.fill_model_from_sparse_data(
            enc.var_lb, enc.var_ub, sign * enc.objective, lb, ub, sp.csr_matrix(A, dtype=np.float64)
        )
        for j in np.flatnonzero(enc.integrality):  # one C call per binary (the only per-unit loop)
            model.helper.set_var_integrality(int(j), True)
        model.helper.set_maximize(True)
        solver = mb.Solver(solver_name)
        if not solver.solver_is_supported():
            return SideResult("error", message=f"OR-Tools has no {solver_name} backend here")
        if time_limit is not None:
            solver.set_time_limit_in_seconds(max(float(time_limit), 1e-3))
        if solver_name == "scip":
            params = ["limits/solutions = 1", f"randomization/randomseedshift = {int(seed) % 1000}"]
            if strict:
                params += ["numerics/feastol = 1e-9"]
            solver.set_solver_specific_parameters("\n".join(params))
        else:
            # OR-Tools reports HiGHS's "solution limit" stop as UNKNOWN without values: no early stop here
            params = ["output_flag=false", f"random_seed={int(seed) % (2**31)}"]
            if strict:
                params += ["mip_feasibility_tolerance=1e-9", "primal_feasibility_tolerance=1e-9"]
            solver.set_solver_specific_parameters("\n".join(params))
        t0 = time.perf_counter()
        status = solver.solve(model)
        secs = time.perf_counter() - t0
        name = status.name if hasattr(status, "name") else str(status)
        if name in ("OPTIMAL", "FEASIBLE"):
            x = np.asarray(solver.values(model.get_variables()), dtype=np.float64)
            val = float(sign * enc.objective @ x)
            return SideResult("witness", x, val, None, secs, name)
        if name == "INFEASIBLE":
            return SideResult("none", None, None, None, secs, name)
        if name in ("NOT_SOLVED", "UNKNOWN_STATUS") and time_limit is not None:
            return SideResult("limit", None, None, None, secs, name)
        return SideResult("error", None, None, None, secs, name)

    return side


# ------------------------------------------------------------------------------------------------
# The decider
# ------------------------------------------------------------------------------------------------
def _check_tol(tol) -> float:
    try:
        tol = float(tol)
    except (TypeError, ValueError):
        raise SolverError(f"tol must be a positive number, got {tol!r}") from None
    if not (0 < tol < 1):
        raise SolverError(f"tol must be in (0, 1), got {tol!r}")
    return tol


def _decide(net: ReluNetwork, backend: str, label: str, side, time_limit, tol, seed) -> object:
    t0 = time.perf_counter()
    net.require_scalar()
    tol = _check_tol(tol)
    axis = axis_test(net)
    stats: dict = {"axis_seconds": axis.seconds, "axis_path": axis.exact_path, "tol": tol, "solver": label}
    if not axis.passed:
        return axis_verdict(net, backend, t0, axis, stats, seed=seed)
    t_enc = time.perf_counter()
    enc = encode_milp(net, axis.a)
    stats.update(enc.stats, binaries=enc.n_binaries, encode_seconds=time.perf_counter() - t_enc)
    if enc.stats["exact_bounds"] and not np.any(enc.objective):
        return singleton(backend, t0, axis.a, stats, _EXACT_LINEAR, argument="linear-form")
    stats.update(nodes=None, solve_seconds=0.0)
    for sign in (1, -1):
        key = "max" if sign > 0 else "min"
        for strict in (False, True):
            remaining = None if time_limit is None else time_limit - (time.perf_counter() - t0)
            if remaining is not None and remaining <= 0:
                return unknown(backend, t0, f"time limit {time_limit} s reached", stats)
            r = side(enc, sign, tol, remaining, strict, seed)
            if r.nodes is not None:
                stats["nodes"] = (stats["nodes"] or 0) + r.nodes
            stats["solve_seconds"] += r.seconds
            stats[f"{key}_status"] = r.status if not strict else f"{r.status} (strict tolerances)"
            if r.status == "none":
                break
            if r.status == "limit":
                return unknown(backend, t0, f"time limit {time_limit} s reached ({key} side: {r.message})", stats)
            if r.status == "error" or (strict and r.status != "witness"):
                return unknown(backend, t0, f"{label} failed on the {key} side: {r.message}", stats)
            if r.status == "inconclusive":
                continue
            stats[f"{key}_value"] = r.value
            res = certificate_from_witness(net, r.x[: net.n_inputs], axis.a, seed=seed)
            if res.ok or strict:
                return verdict_from_certificate(
                    backend, t0, res, stats, complete=True,
                    reason=f"MILP witness with s(F(x) - a.x) = {r.value:.6g} > {tol:g} ({key} side)",
                )
            stats[f"{key}_uncertified_witness"] = res.reason
    return singleton(
        backend, t0, axis.a, stats,
        f"singleton up to MILP tolerance {tol:g}: no x in [-1,1]^n with |F(x) - a.x| > {tol:g} ({label}); "
        "a numerical claim, not a proof",
        argument="numerical",
    )


def decide_milp(net: ReluNetwork, *, time_limit: float | None = None, tol: float = 1e-6, seed: int = 0):
    """Complete up to tolerance: the big-M MILP solved by HiGHS through ``scipy.optimize.milp``.

    ``tol``: a side is a witness only when ``s (F(x) - a.x) > tol``; the SINGLETON answer holds up
    to it. ``time_limit`` (seconds, whole call) is passed to HiGHS; reaching it gives UNKNOWN.
    Statistics: ``binaries``, ``nodes``, ``solve_seconds``, the encoding's sizes.

    >>> from nsad.networks import ReluNetwork
    >>> decide_milp(ReluNetwork([[[1, 0], [0, 1]], [[1, 1]]])).reason      # relu(x1) + relu(x2)
    'axis test: F(e_0) + F(-e_0) = 1 != 0'
    """
    return _decide(net, "milp", "HiGHS via scipy", _side_scipy, time_limit, tol, seed)


def decide_milp_ortools(
    net: ReluNetwork, *, time_limit: float | None = None, tol: float = 1e-6, seed: int = 0, solver: str = "scip"
):
    """The same MILP through OR-Tools' model builder, with SCIP (default) or HiGHS (``solver="highs"``).

    The model is filled from the sparse matrix in one call; the side's threshold is an explicit
    row ``s (F - a.x) >= tol``. SCIP stops at its first solution (``limits/solutions = 1``); HiGHS
    through OR-Tools optimises fully (OR-Tools drops the solution when HiGHS stops on a limit).

    >>> from nsad.networks import ReluNetwork
    >>> decide_milp_ortools(ReluNetwork([[[1], [-1]], [[1, -1]]])).answer
    'singleton'
    """
    solver = str(solver).lower()
    if solver not in ("scip", "highs"):
        raise SolverError(f"milp-ortools solver must be 'scip' or 'highs', got {solver!r}")
    return _decide(net, "milp-ortools", f"{solver.upper() if solver == 'scip' else 'HiGHS'} via OR-Tools", _side_ortools(solver), time_limit, tol, seed)
