"""Fast network deciders: exact simplification, then a grid search that is complete when certified.

docs/theory.md section 3. The deciders receive only a :class:`networks.ReluNetwork` (e.g. read from an
``.npz`` file): never a formula.

1. :func:`solvers.network.simplify.simplify` rewrites the network into an exactly equivalent max/min
   program; :func:`solvers.network.simplify.certify` recognises the classes (a) "lattice program over
   signed coordinates" and (b) "positive sum of relu of sign-commuting programs", for which
   searching the grid {-1, 0, 1}^n (in the monotone cases {-1, 1}^n) decides linearity. The proofs
   are in :func:`solvers.network.simplify.certify`.
2. The grid question is encoded (:mod:`solvers.network.encode_cnf` for python-sat, :mod:`solvers.network.encode_cpsat`
   for CP-SAT) and solved. For a reduction network of a CNF formula the CNF encoding *is* the
   formula's clause set, so the network side runs the same solver on the same clauses.
3. Answers: an unsatisfiable grid question gives ``"singleton"`` with the exact element
   (``complete: true``); a grid witness ``s`` gives ``"two-subgradients"`` with a certificate that
   :func:`networks.check` has accepted: a generic integer point near ``N s`` and one near
   ``N e_i`` (gradients read off the program, then checked on the network), falling back to
   :func:`solvers.network.certify.certificate_from_witness`.

Methods (declared in the decider table, :mod:`nsad.solvers.network.table`):

==============  ==================================================================================
``sat-grid``    CNF of the grid question, python-sat (default CaDiCaL 1.9.5); complete only when the
                simplifier certifies the class, otherwise answers unknown
``cpsat-grid``  CP-SAT over the grid; complete when certified; otherwise an honest, incomplete search
                (a point found is a checked certificate, "none found" is unknown)
``portfolio``   ``sat-grid`` when the network is certified, else (or when ``sat-grid`` cannot
                encode it) the complete MILP (``NETWORK_DECIDERS["milp"]``); the verdict's
                ``backend`` names the method used and ``stats["portfolio"]`` why
==============  ==================================================================================

Each verdict's ``stats`` give the time of each step (``simplify_seconds``, ``encode_seconds``,
``solve_seconds``, ``certify_seconds``) and the sizes (program nodes, clauses, variables).

>>> from nsad.networks import ReluNetwork
>>> net = ReluNetwork([[[1, -1], [0, 1], [0, -1]], [[1, 1, -1]], [[1]]])   # relu(max(x1, x2))
>>> v = decide_sat_grid(net)
>>> v.answer, v.complete, v.stats["grid_class"]
('two-subgradients', True, 'relu-lattice')
>>> bad = ReluNetwork([[[-1, 2], [1, -2], [-2, 3]], [[1, -1, -1]], [[1]]])  # relu(min(2x2-x1, x1-x2))
>>> v = decide_portfolio(bad)
>>> v.answer, v.backend, v.complete
('two-subgradients', 'exact', True)
"""

from __future__ import annotations

from nsad.networks.relu_network import require_bias_free as _require_bias_free
import time
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Sequence

import numpy as np

from nsad.errors import LimitError
from nsad.networks import Certificate, NetworkError, ReluNetwork, check
from nsad.networks.certificate import exact_entry
from nsad.networks.exact import dot
from nsad.solvers.network.program import Program
from nsad.solvers.network.normal_form import normal_form
from nsad.solvers.network.lattice import lattice_of_normal_form
from nsad.solvers.network.simplify import LATTICE, RELU_LATTICE, GridClass, certify, simplify
from nsad.solvers.network.encode_cnf import EncodingError, encode_grid_cnf
from nsad.solvers.network.certify import (
    AxisResult,
    CertifyResult,
    certificate_from_witness,
    certificate_near_axis,
    singleton,
    unknown,
    verdict_from_certificate,
)
from nsad.solvers.verdict import Verdict

__all__ = [
    "Prepared",
    "prepare",
    "program_axis",
    "certificate_from_grid_witness",
    "decide_sat_grid",
    "decide_cpsat_grid",
    "decide_portfolio",
    "check_singleton",
    "SingletonCheck",
    "SAT_GRID",
    "CPSAT_GRID",
    "PORTFOLIO",
]

SAT_GRID, CPSAT_GRID, PORTFOLIO = "sat-grid", "cpsat-grid", "portfolio"


# ------------------------------------------------------------------------------------------------
# preparation: simplify and certify
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Prepared:
    """The simplified program (``None`` if simplification failed), its grid class (``None`` if not
    certified), why not, and timings."""

    program: Program | None
    grid: GridClass | None
    reason: str | None
    stats: dict = field(default_factory=dict)


class _Raw(Exception):
    """Internal: the caller asked for the network as written."""


def prepare(net: ReluNetwork, raw: bool = False) -> Prepared:
    """Simplify and certify (never raises for a valid scalar network); ``raw=True`` skips the normal
    form and reads the network as written.

    >>> from nsad.networks import ReluNetwork
    >>> prepare(ReluNetwork([[[1], [-1]], [[1, 1]]])).program.to_text()         # |x|
    'max(x1, -x1)'
    >>> prepare(ReluNetwork([[[-1, 2], [1, -2], [-2, 3]], [[1, -1, -1]], [[1]]])).reason
    'not certified: the simplified program is neither a lattice program over signed coordinates nor a positive sum of relu of sign-commuting programs (docs/theory.md section 3)'
    """
    _require_bias_free(net, "the grid check at 0")
    net.require_scalar()
    t0 = time.perf_counter()
    stats: dict = {}
    program = grid = None
    # 1. the normal form (docs/theory.md section 3.5), then the lattice program read off it
    try:
        if raw:
            raise _Raw
        nf = normal_form(net)
        stats.update(normal_form_seconds=time.perf_counter() - t0, normal_form_units=nf.n_units,
                     normal_form_depth=nf.depth)
        t1 = time.perf_counter()
        program = lattice_of_normal_form(nf)
        stats["lattice_seconds"] = time.perf_counter() - t1
        if program is not None:
            t2 = time.perf_counter()
            grid = certify(program)
            stats["certify_class_seconds"] = time.perf_counter() - t2
            stats["path"] = "normal-form"
    except _Raw:
        stats["normal_form"] = "not used (raw)"
    except NetworkError as exc:
        stats["normal_form"] = f"not computed: {exc}"
    except Exception as exc:  # a bug here must never cost an answer: the syntactic path and the fallbacks remain
        stats["normal_form"] = f"internal error {type(exc).__name__}: {exc}"
    # 2. the network as written (the simplifier reads the gadgets of the layered network)
    if grid is None:
        t3 = time.perf_counter()
        try:
            program = simplify(net)
        except NetworkError as exc:
            stats["simplify_seconds"] = time.perf_counter() - t3
            return Prepared(None, None, f"not simplified: {exc}", stats)
        except Exception as exc:  # a simplifier bug must never cost an answer: the portfolio falls back
            stats.update(simplify_seconds=time.perf_counter() - t3, simplify_error=repr(exc))
            return Prepared(None, None, f"not simplified (internal error {type(exc).__name__}: {exc})", stats)
        t4 = time.perf_counter()
        grid = certify(program)
        stats.update(simplify_seconds=t4 - t3, certify_class_seconds=time.perf_counter() - t4, path="syntax")
    stats.update(program_nodes=program.n_nodes, program_operands=program.n_operands,
                 grid_class=grid.kind if grid is not None else None)
    reason = None if grid is not None else (
        "not certified: the simplified program is neither a lattice program over signed coordinates "
        "nor a positive sum of relu of sign-commuting programs (docs/theory.md section 3)"
    )
    return Prepared(program, grid, reason, stats)


def program_axis(program: Program) -> AxisResult:
    """Exact ``a_i = F(e_i)`` and ``b_i = F(-e_i)`` from the (exactly equivalent) program, in one
    vectorised evaluation of ``2n`` points.

    >>> from nsad.solvers.network.program import ProgramBuilder
    >>> ax = program_axis(ProgramBuilder(2).build_max([(1, 0), (-1, 1)], zero=True))
    >>> ax.a, ax.b, ax.passed
    ((1, 0), (0, 1), False)
    """
    t0 = time.perf_counter()
    n = program.n_inputs
    E = np.concatenate([np.eye(n, dtype=np.int64), -np.eye(n, dtype=np.int64)])
    vals = program.evaluate_exact(E)
    return AxisResult(tuple(vals[:n]), tuple(vals[n:]), time.perf_counter() - t0, "program")


# ------------------------------------------------------------------------------------------------
# certificates
# ------------------------------------------------------------------------------------------------


def _spread(rng: np.random.Generator, n: int) -> np.ndarray:
    """Distinct magnitudes ``1..n`` in random order."""
    return rng.permutation(n).astype(np.int64) + 1


def _near_axis_point(rng, n: int, i: int, sign: int, big: int) -> list:
    """``sign * big * e_i`` plus a perturbation with distinct magnitudes below ``n``."""
    x = _spread(rng, n) * rng.choice(np.array([-1, 1]), size=n)
    x[i] = sign * big
    return [int(v) for v in x]


def _checked(net, x1, g1, x2, g2, stats: dict | None = None) -> Certificate | None:
    """The certificate if :func:`networks.check` accepts it (its time added to ``stats["check_seconds"]``)."""
    cert = Certificate((tuple(x1), tuple(x2)), (tuple(g1), tuple(g2)))
    t0 = time.perf_counter()
    ok = check(net, cert).ok
    if stats is not None:
        stats["check_seconds"] = stats.get("check_seconds", 0.0) + time.perf_counter() - t0
    return cert if ok else None


def certificate_from_grid_witness(net: ReluNetwork, program: Program, s: Sequence[int], a: Sequence, *,
                                  seed: int = 0) -> CertifyResult:
    """A checked certificate from a grid point ``s`` with ``F(s) != a.s`` (docs/theory.md section 3,
    step 3).

    Fast path: ``x1`` has the signs of ``s`` and distinct magnitudes (``N + pi_i`` on the support
    of ``s``, small ones elsewhere); its gradient ``g1`` is read off the program, and ``g1 != a``
    because ``g1.x1 = F(x1) != a.x1``. For a coordinate with ``g1_i != a_i``, ``x2 = N' e_i`` plus
    a small perturbation with distinct magnitudes lies in a piece whose closure holds ``e_i`` (for
    lattice programs over signed coordinates the cell ordered by ``|x_j|`` has ``e_i`` as first ray),
    so ``g2_i = a_i != g1_i``. Both points and gradients go to :func:`networks.check`; if anything
    fails, :func:`solvers.network.certify.certificate_from_witness` (random perturbations) is used.

    >>> from nsad.networks import ReluNetwork
    >>> from nsad.solvers.network.simplify import simplify
    >>> net = ReluNetwork([[[1, -1], [0, 1], [0, -1]], [[1, 1, -1]], [[1]]])   # relu(max(x1, x2))
    >>> res = certificate_from_grid_witness(net, simplify(net), (1, -1), (0, 0))
    >>> res.ok, res.stats["certify_path"]
    (True, 'fast')
    """
    t0 = time.perf_counter()
    n = program.n_inputs
    rng = np.random.default_rng([seed, 0xFA57])
    s = np.asarray([int(v) for v in s], dtype=np.int64)
    a = tuple(Fraction(v) for v in a)
    W = int(np.max(np.abs(program.coefs))) if program.n_operands else 1
    N = 4 * n * W
    stats: dict = {"certify_path": "fast"}
    for attempt in range(4):
        mags = _spread(rng, n)
        x1 = np.where(s != 0, s * (N * (attempt + 1) + mags), rng.choice(np.array([-1, 1]), size=n) * mags)
        x1 = [int(v) for v in x1]
        v1, g1 = program.linearize(x1)
        if g1 is None or Fraction(v1) == dot(a, x1):
            continue
        coords = [i for i in range(n) if Fraction(g1[i]) != a[i]]
        for i in coords[:3]:
            for sign in (1, -1):
                x2 = _near_axis_point(rng, n, i, sign, N * (attempt + 1) * (n + 1))
                _, g2 = program.linearize(x2)
                if g2 is None or g2 == g1:
                    continue
                cert = _checked(net, x1, g1, x2, g2, stats)
                if cert is not None:
                    stats["certify_seconds"] = time.perf_counter() - t0
                    return CertifyResult(cert, None, stats)
    res = certificate_from_witness(net, [int(v) for v in s], a, seed=seed)
    st = dict(res.stats, certify_path="network_certify.certificate_from_witness")
    st["certify_seconds"] = time.perf_counter() - t0
    return replace(res, stats=st)


def _certificate_axis(net: ReluNetwork, program: Program, axis: AxisResult, *, seed: int = 0) -> CertifyResult:
    """Generic points near ``e_i`` and ``-e_i`` for an axis violation, read off the program and
    checked on the network; falls back to :func:`solvers.network.certify.certificate_near_axis`."""
    t0 = time.perf_counter()
    i = axis.violations[0]
    n = program.n_inputs
    rng = np.random.default_rng([seed, 0xA815])
    W = int(np.max(np.abs(program.coefs))) if program.n_operands else 1
    for attempt in range(3):
        big = 4 * n * W * (n + 1) * (attempt + 1)
        x1 = _near_axis_point(rng, n, i, 1, big)
        x2 = _near_axis_point(rng, n, i, -1, big)
        (_, g1), (_, g2) = program.linearize(x1), program.linearize(x2)
        if g1 is None or g2 is None or g1 == g2:
            continue
        st: dict = {"certify_path": "fast"}
        cert = _checked(net, x1, g1, x2, g2, st)
        if cert is not None:
            return CertifyResult(cert, None, {**st, "certify_seconds": time.perf_counter() - t0})
    res = certificate_near_axis(net, axis, i, seed=seed)
    return replace(res, stats=dict(res.stats, certify_path="network_certify.certificate_near_axis"))


# ------------------------------------------------------------------------------------------------
# common steps of the grid methods
# ------------------------------------------------------------------------------------------------
class _Clauses:
    """The CNF container ``solvers.formula.backends.solve_formula`` reads (clauses, and flat literal arrays
    for its model check), without re-validating clauses the encoder built."""

    def __init__(self, num_vars: int, clauses: list):
        self.num_vars = max(int(num_vars), 1)
        self.clauses = clauses
        self._flat = None

    def _arrays(self):
        if self._flat is None:
            lens = np.fromiter((len(c) for c in self.clauses), dtype=np.int64, count=len(self.clauses))
            offsets = np.zeros(lens.size + 1, dtype=np.int64)
            np.cumsum(lens, out=offsets[1:])
            lits = np.fromiter((v for c in self.clauses for v in c), dtype=np.int64, count=int(offsets[-1]))
            self._flat = (lits, offsets)
        return self._flat

    @property
    def literals(self):
        return self._arrays()[0]

    @property
    def offsets(self):
        return self._arrays()[1]

    @property
    def num_clauses(self) -> int:
        return len(self.clauses)

    def satisfied_by(self, assignment) -> bool:
        values = np.asarray(assignment, dtype=bool)
        lits, offsets = self._arrays()
        if lits.size == 0:
            return bool(offsets.size == 1 or np.all(np.diff(offsets) > 0))
        true = values[np.abs(lits) - 1] == (lits > 0)
        sat = np.logical_or.reduceat(true, offsets[:-1][np.diff(offsets) > 0]) if true.size else np.zeros(0, bool)
        return bool(np.all(np.diff(offsets) > 0) and np.all(sat))


def _element(prep: Prepared, axis: AxisResult | None) -> tuple:
    if axis is not None:
        return axis.a
    return prep.grid.gradient_of_linear_part


def _remaining(time_limit, t0) -> float | None:
    if time_limit is None:
        return None
    return time_limit - (time.perf_counter() - t0)


def _grid_setup(net, backend, t0, prep, seed):
    """Axis test for class (a) (class (b) needs none). Returns ``(axis, verdict_or_None, stats)``."""
    stats = dict(prep.stats)
    axis = None
    if prep.grid.kind == LATTICE:
        axis = program_axis(prep.program)
        stats["axis_seconds"] = axis.seconds
        if not axis.passed:
            res = _certificate_axis(net, prep.program, axis, seed=seed)
            i = axis.violations[0]
            return axis, verdict_from_certificate(
                backend, t0, res, stats, complete=True,
                reason=f"axis test: F(e_{i}) + F(-e_{i}) = {axis.a[i] + axis.b[i]} != 0",
            ), stats
    return axis, None, stats


def _witness_verdict(net, backend, t0, prep, axis, s, stats, seed, what) -> Verdict:
    a = _element(prep, axis)
    res = certificate_from_grid_witness(net, prep.program, s, a, seed=seed)
    reason = f"{what} found the grid point {_short(s)} with F(s) != a.s ({_class_text(prep.grid)})"
    return verdict_from_certificate(backend, t0, res, stats, complete=True, reason=reason)


def _short(s) -> str:
    s = list(s)
    return str(s) if len(s) <= 12 else "[" + ", ".join(map(str, s[:12])) + ", ...]"


def _class_text(grid: GridClass) -> str:
    if grid.kind == RELU_LATTICE:
        return "class (b): relu of sign-commuting programs, the grid {-1,1}^n is complete"
    return "class (a): lattice program over signed coordinates, the grid {-1,0,1}^n is complete"


# ------------------------------------------------------------------------------------------------
# the deciders
# ------------------------------------------------------------------------------------------------
def decide_sat_grid(net: ReluNetwork, *, time_limit: float | None = None, solver: str = "cadical195",
                    seed: int = 0, proof: bool = False, raw: bool = False) -> Verdict:
    """``sat-grid``: simplify, certify, encode the grid question as CNF, solve with python-sat.

    Complete (``complete: true``) only when the simplifier certifies the class; otherwise the
    answer is ``"unknown"`` with the reason. ``solver`` is any python-sat backend of
    ``solvers.FORMULA_SOLVERS`` (time limits use its isolation rules: CaDiCaL runs in a child
    process when a limit is set).

    >>> from nsad.networks import ReluNetwork
    >>> v = decide_sat_grid(ReluNetwork([[[1], [-1]], [[1, -1]]]))            # relu(x) - relu(-x) = x
    >>> v.answer, v.element, v.complete
    ('singleton', (1,), True)
    """
    return _sat_grid(net, time_limit, solver, seed, prepare(net, raw), time.perf_counter(), proof)


def _sat_grid(net, time_limit, solver, seed, prep: Prepared, t0: float, proof: bool = False) -> Verdict:
    """``proof=True``: the solver logs a DRUP proof of an UNSAT answer and ``solvers.formula.proof`` checks it
    (so a singleton answer no longer rests on the SAT solver's word); ``stats["proof"]`` says how it went."""
    from nsad.solvers.formula.backends import solve_formula

    backend = SAT_GRID
    if prep.grid is None:
        return unknown(backend, t0, prep.reason, prep.stats)
    axis, early, stats = _grid_setup(net, backend, t0, prep, seed)
    if early is not None:
        return early
    t1 = time.perf_counter()
    try:
        enc = encode_grid_cnf(prep.program, prep.grid, axis.a if axis is not None else None)
    except EncodingError as exc:
        return unknown(backend, t0, f"no CNF encoding: {exc}", stats)
    stats.update(encode_seconds=time.perf_counter() - t1, cnf_mode=enc.mode, cnf_vars=enc.n_vars,
                 cnf_clauses=len(enc.clauses), solver=solver)
    if enc.trivial is False:
        return singleton(backend, t0, _element(prep, axis), stats,
                         "exact: the simplified program is linear", argument="linear-form")
    remaining = _remaining(time_limit, t0)
    if remaining is not None and remaining <= 0:
        return unknown(backend, t0, f"time limit {time_limit} s reached before solving", stats)
    t2 = time.perf_counter()
    if proof:
        from nsad.solvers.formula.proof import solve_with_proof

        v = solve_with_proof(_Clauses(enc.n_vars, enc.clauses), solver=solver, time_limit=remaining)
        stats["proof"] = v.stats.get("proof")
        if v.stats.get("_drup") is not None:
            stats["_drup"] = v.stats["_drup"]  # the checked proof, for `nsad check` (never in to_json)
        if v.answer == "unsat" and v.stats.get("proof") != "checked":
            return unknown(backend, t0, f"{solver} said unsatisfiable but its DRUP proof is "
                           f"{v.stats.get('proof')}: {v.reason}", stats)
    else:
        v = solve_formula(_Clauses(enc.n_vars, enc.clauses), solver=solver, time_limit=remaining)
    stats.update(solve_seconds=time.perf_counter() - t2,
                 solver_stats={k: x for k, x in v.stats.items() if not k.startswith("_")})
    if v.answer == "unsat":
        return singleton(backend, t0, _element(prep, axis), stats,
                         f"{solver} proved the grid question unsatisfiable ({_class_text(prep.grid)})"
                         + ("; its DRUP proof was checked" if proof else ""),
                         argument="class+drup" if proof else "class+unsat")
    if v.answer == "unknown":
        return unknown(backend, t0, f"{solver}: {v.reason}", stats)
    s = enc.witness([i + 1 if b else -(i + 1) for i, b in enumerate(v.model)])
    out = _witness_verdict(net, backend, t0, prep, axis, s, stats, seed, solver)
    return out


def decide_cpsat_grid(net: ReluNetwork, *, time_limit: float | None = None, workers: int = 1,
                      seed: int = 0, raw: bool = False) -> Verdict:
    """``cpsat-grid``: CP-SAT over grid points of the simplified program.

    Certified programs: complete. Uncertified ones: the search over {-1, 0, 1}^n still runs; a
    point found is a checked certificate, but "no point" is ``"unknown"`` (docs/theory.md section 3's
    counterexample vanishes on the whole grid).

    >>> from nsad.networks import ReluNetwork
    >>> bad = ReluNetwork([[[-1, 2], [1, -2], [-2, 3]], [[1, -1, -1]], [[1]]])  # relu(min(2x2-x1, x1-x2))
    >>> v = decide_cpsat_grid(bad)
    >>> v.answer, v.complete
    ('unknown', False)
    """
    from nsad.solvers.network.encode_cpsat import build_cpsat_grid

    t0 = time.perf_counter()
    backend = CPSAT_GRID
    prep = prepare(net, raw)
    if prep.program is None:
        return unknown(backend, t0, prep.reason, prep.stats)
    certified = prep.grid is not None
    if certified:
        axis, early, stats = _grid_setup(net, backend, t0, prep, seed)
        if early is not None:
            return early
    else:
        stats = dict(prep.stats)
        axis = program_axis(prep.program)
        stats["axis_seconds"] = axis.seconds
        if not axis.passed:
            res = _certificate_axis(net, prep.program, axis, seed=seed)
            i = axis.violations[0]
            return verdict_from_certificate(backend, t0, res, stats, complete=True,
                                            reason=f"axis test: F(e_{i}) + F(-e_{i}) != 0")
    t1 = time.perf_counter()
    try:
        m = build_cpsat_grid(prep.program, prep.grid, axis.a if axis is not None else None)
    except EncodingError as exc:
        return unknown(backend, t0, f"no CP-SAT model: {exc}", stats)
    stats.update(encode_seconds=time.perf_counter() - t1, cpsat_mode=m.mode, cpsat_nodes=m.stats["nodes"])
    remaining = _remaining(time_limit, t0)
    if remaining is not None and remaining <= 0:
        return unknown(backend, t0, f"time limit {time_limit} s reached before solving", stats)
    r = m.solve(remaining, workers=workers, seed=seed)
    stats.update(solve_seconds=r.seconds, cpsat_status=r.message)
    if r.status == "limit":
        return unknown(backend, t0, f"CP-SAT stopped: {r.message}", stats)
    if r.status == "found":
        if certified:
            return _witness_verdict(net, backend, t0, prep, axis, r.point, stats, seed, "CP-SAT")
        res = certificate_from_grid_witness(net, prep.program, r.point, axis.a, seed=seed)
        return verdict_from_certificate(backend, t0, res, stats, complete=False,
                                        reason=f"CP-SAT found the grid point {_short(r.point)} with F(s) != a.s "
                                               "(not certified: a search of the grid is not complete here)")
    if certified:
        return singleton(backend, t0, _element(prep, axis), stats,
                         f"CP-SAT proved that no grid point has F(s) != a.s ({_class_text(prep.grid)})",
                         argument="class+unsat")
    return unknown(backend, t0, "no grid point has F(s) != a.s, but the network is not certified: "
                   "a grid search is not complete for it (docs/theory.md section 3)", stats)


def decide_portfolio(net: ReluNetwork, *, time_limit: float | None = None, seed: int = 0,
                     proof: bool = False, raw: bool = False) -> Verdict:
    """``portfolio``: the fastest method that is complete for this network.

    Certified networks go to ``sat-grid`` (CaDiCaL 1.9.5); the others, and certified ones that
    ``sat-grid`` cannot encode (weights too large for its unary sums), to the exact fallback
    (:mod:`nsad.solvers.network.fallback`: decomposition, region enumeration, z3 over rationals),
    and only if that gives no answer within the time limit to the MILP, whose singleton answers are
    ``numerical`` (``complete: false``). The verdict's ``backend`` is the method that answered and
    ``stats["portfolio"]`` says why.

    >>> from nsad.networks import ReluNetwork
    >>> v = decide_portfolio(ReluNetwork([[[1], [-1]], [[1, 1]]]))            # |x|
    >>> v.backend, v.answer, v.stats["portfolio"]
    ('sat-grid', 'two-subgradients', 'certified lattice: sat-grid is complete')
    """
    t0 = time.perf_counter()
    prep = prepare(net, raw)
    why = prep.reason
    if prep.grid is not None:
        v = _sat_grid(net, time_limit, "cadical195", seed, prep, t0, proof)
        if v.answer != "unknown" or v.reason is None or v.reason.startswith(("time limit", "cadical195: time")):
            return replace(v, seconds=time.perf_counter() - t0,
                           stats={**v.stats, "portfolio": f"certified {prep.grid.kind}: sat-grid is complete"})
        why = f"sat-grid could not answer ({v.reason})"
    from nsad.solvers.network.fallback import decide_exact_network
    from nsad.solvers.network.milp import decide_milp

    remaining = _remaining(time_limit, t0)
    if remaining is not None and remaining <= 0:
        return unknown(PORTFOLIO, t0, f"time limit {time_limit} s reached", prep.stats)
    try:
        e = decide_exact_network(net, time_limit=remaining, seed=seed)
    except Exception as exc:  # an internal error of the exact fallback must not cost an answer
        e = None
        why += f"; the exact fallback failed ({type(exc).__name__}: {exc})"
    if e is not None and e.answer != "unknown":
        return replace(e, seconds=time.perf_counter() - t0,
                       stats={**prep.stats, **e.stats, "portfolio": f"{why}; the exact fallback answered"})
    if e is not None:
        why += f"; the exact fallback gave no answer ({e.reason})"
    remaining = _remaining(time_limit, t0)
    if remaining is not None and remaining <= 0:
        return unknown(PORTFOLIO, t0, f"time limit {time_limit} s reached ({why})", prep.stats)
    v = decide_milp(net, time_limit=remaining, seed=seed)
    return replace(v, seconds=time.perf_counter() - t0, stats={**prep.stats, **v.stats, "portfolio": f"{why}; fell back to milp"})


# ------------------------------------------------------------------------------------------------
# checking a singleton answer from the network alone
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SingletonCheck:
    """The outcome of :func:`check_singleton`: ``status`` is ``"checked"``, ``"failed"`` (the
    answer is wrong, or its proof does not refute the grid CNF) or ``"uncheckable"``; ``reason`` is
    one line."""

    status: str
    reason: str
    stats: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "checked"


def check_singleton(net: ReluNetwork, element: Sequence | None, proof_lines, *, raw: bool = False) -> SingletonCheck:
    """Check a singleton answer ``dF(0) = {element}`` with a DRUP proof, trusting nothing but the
    network: the class certificate, the axis values and the grid CNF are rebuilt from ``net``
    (:func:`prepare`, :func:`solvers.network.encode_cnf.encode_grid_cnf`), ``element`` must be the
    exact gradient of the linear part, and ``proof_lines`` (DRUP, e.g. the ``drup`` field of
    ``nsad decide --proof --json``) must refute that CNF (:func:`solvers.formula.proof.check_drup`).
    A network outside the certified classes is ``"uncheckable"``: no grid CNF decides it.

    >>> from nsad.networks import ReluNetwork
    >>> net = ReluNetwork([[[1], [-1]], [[1, -1]]])                    # relu(x) - relu(-x) = x
    >>> v = decide_sat_grid(net, proof=True)
    >>> v.answer, check_singleton(net, v.element, v.stats["_drup"]).status
    ('singleton', 'checked')
    >>> check_singleton(net, v.element, None).status, check_singleton(net, (2,), v.stats["_drup"]).status
    ('uncheckable', 'failed')
    >>> check_singleton(ReluNetwork([[[1], [-1]], [[1, 1]]]), (0,), []).status  # |x|: two subgradients
    'failed'
    """
    from nsad.solvers.formula.proof import check_drup

    t0 = time.perf_counter()
    prep = prepare(net, raw)
    stats = {"grid_class": prep.grid.kind if prep.grid is not None else None}
    if prep.grid is None:
        return SingletonCheck("uncheckable", f"the network is not in a certified class ({prep.reason}); no grid "
                              "CNF decides it, so no DRUP proof can check a singleton answer", stats)
    axis = None
    if prep.grid.kind == LATTICE:
        axis = program_axis(prep.program)
        if not axis.passed:
            i = axis.violations[0]
            return SingletonCheck("failed", f"the answer is wrong: F(e_{i + 1}) + F(-e_{i + 1}) = "
                                  f"{axis.a[i] + axis.b[i]} != 0, so F is not linear and dF(0) has two elements", stats)
    exact_element = tuple(Fraction(v) for v in _element(prep, axis))
    if element is not None:
        try:  # strings as certificates take them (no exponents: '1e-999999999' would never finish)
            if not isinstance(element, (list, tuple)):
                raise TypeError(type(element).__name__)
            claimed = tuple(Fraction(exact_entry(v, "the element") if isinstance(v, str) else v) for v in element)
        except LimitError:
            raise
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            return SingletonCheck("failed", f"the element {(_short(element) if isinstance(element, (list, tuple)) else repr(element))[:80]} "
                                  "is not a vector of exact numbers", stats)
        if claimed != exact_element:
            shown = [int(v) if v.denominator == 1 else str(v) for v in exact_element]
            return SingletonCheck("failed", f"the element {_short(list(element))} is not the gradient of the linear "
                                  f"part, {_short(shown)}", stats)
    shown = tuple(int(v) if v.denominator == 1 else str(v) for v in exact_element)
    try:
        enc = encode_grid_cnf(prep.program, prep.grid, axis.a if axis is not None else None)
    except EncodingError as exc:
        return SingletonCheck("uncheckable", f"no grid CNF for this network ({exc})", stats)
    stats.update(cnf_vars=enc.n_vars, cnf_clauses=len(enc.clauses), rebuild_seconds=time.perf_counter() - t0)
    if enc.trivial is False:
        return SingletonCheck("checked", f"the simplified program is linear (exact arithmetic), dF(0) = "
                              f"{{{_short(shown)}}}", stats)
    if proof_lines is None:
        return SingletonCheck("uncheckable", "no DRUP proof to check (decide with --proof: the verdict then "
                              "carries it in its 'drup' field)", stats)
    t1 = time.perf_counter()
    res = check_drup(enc.clauses, proof_lines, enc.n_vars)
    stats.update(proof_lines=len(proof_lines), proof_check_seconds=time.perf_counter() - t1)
    if not res.ok:
        return SingletonCheck("failed", f"the DRUP proof does not refute the grid CNF rebuilt from the network "
                              f"({enc.n_vars} variables, {len(enc.clauses)} clauses): {res.reason}", stats)
    return SingletonCheck("checked", f"the DRUP proof ({len(proof_lines)} lines) refutes the grid CNF "
                          f"rebuilt from the network ({enc.n_vars} variables, {len(enc.clauses)} clauses; "
                          f"{_class_text(prep.grid)}), so dF(0) = {{{_short(shown)}}}", stats)
