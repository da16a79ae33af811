"""Formula deciders: every SAT solver python-sat ships that works here, OR-Tools CP-SAT, exhaustive search.

``solve_formula(cnf, solver="cadical195", time_limit=None, **options)`` decides an
``instances.Cnf`` and returns a :class:`solvers.verdict.Verdict` of kind ``"formula"``.

Conventions
-----------
* ``answer`` is ``"sat"``, ``"unsat"`` or ``"unknown"`` (time limit, conflict budget, a solver process
  that died). Every backend here is a complete method, so ``complete`` is always True; an unknown
  answer says why in ``reason``.
* ``model`` (sat answers only) is a tuple of ``cnf.num_vars`` bools, entry ``i`` the value of
  variable ``i + 1``. python-sat omits variables that occur in no clause: they are padded with
  False. Every model is checked against the clauses (vectorised) before it is returned; a model that
  mentions a variable beyond ``num_vars``, or falsifies a clause, raises :class:`WrongModelError`:
  that is a solver bug, not a user error. Unsat answers are taken on trust (see ``solvers.formula.proof``
  for DRUP-checked refutations).
* ``seconds`` is the wall time (``time.perf_counter``) of solver construction, loading the clauses
  and solving, measured where the solver runs. When the solver runs in a child process,
  ``stats["_process_seconds"]`` adds the caller's view (fork and result transfer included); when
  the child is killed at the time limit, ``seconds`` is the caller's elapsed time.
* ``stats`` are the backend's own counters: python-sat's ``accum_stats()`` (``conflicts``,
  ``decisions``, ``propagations``, ``restarts``; Kissat exposes none; MapleCM and Maplesat report 0
  propagations); CP-SAT's ``conflicts``, ``branches``, ``wall_time``; exhaustive search's
  ``assignments`` (how many were tried). Keys starting with ``_`` are private (not in JSON).
* ``backend`` is the canonical registry name (aliases are resolved).

Time limits
-----------
``time_limit`` (seconds, > 0) bounds the whole call, construction included. Two mechanisms:

* in process, for backends that honour an interrupt: python-sat's
  ``solve_limited(expect_interrupt=True)`` with a ``threading.Timer`` that calls ``interrupt()``;
  CP-SAT's ``max_time_in_seconds``; exhaustive search checks the clock between blocks;
* in a child process, for the python-sat solvers whose ``interrupt()`` raises
  ``NotImplementedError`` in this wheel (python-sat 1.9.dev17): all four CaDiCaL versions (1.0.3,
  1.5.3, 1.9.5, 3.0.0), Kissat 4.0.4 and Lingeling (whose ``solve_limited`` raises too). The child is
  created with ``os.fork`` (works inside daemonic worker processes such as the experiment runner's
  and Dask's, where ``multiprocessing`` refuses to start children) and SIGKILLed at the limit; the
  solver object is created inside the child, never pickled. ``start_method="spawn"`` uses a fresh
  interpreter through ``multiprocessing`` instead (safer when the caller has many threads; slower,
  as the child re-imports the toolkit; a calling script needs the ``if __name__ == "__main__":``
  guard).

Measured on PHP(10 pigeons, 9 holes) with a 1 s limit, in process: Ergo, Gluecard 3/4,
Glucose 3/4/4.2, MapleChrono, MapleCM, Maplesat, Mergesat 3, Minicard, MiniSat 2.2 / GitHub / EP
all stopped within 1.01-1.08 s (with a 0.5 s limit: 0.50-0.76 s, MapleCM the slowest to react);
every CaDiCaL and Kissat ran on to the answer (1.4-12 s), Lingeling refused. Through this module,
with a 0.5 s limit, every backend answered unknown within 0.50-0.76 s. A forked child adds about
5-25 ms per call (copy-on-write faults slow the solver a little too: CaDiCaL on random 3-SAT with
n = 50 took 3.3 ms in the child against 0.6 ms in process, median of 21), a spawned one about
0.7 s (1.5 s for CP-SAT, which re-imports OR-Tools).

Options (keyword arguments after ``time_limit``)
------------------------------------------------
* every backend: ``isolate`` (bool; default: only when a time limit needs it) runs the solver in a
  child process even without need (protects the caller from a solver crash); ``start_method``
  (``"fork"``, the default where available, or ``"spawn"``).
* python-sat: ``conflict_budget`` (int > 0): stop after that many conflicts (``conf_budget``),
  answering unknown with reason ``"conflict budget"``; not supported by Lingeling. Each solver checks
  it at its own granularity: on PHP(10, 9) a budget of 100 stopped CaDiCaL and MiniSat after 100-102
  conflicts, the Glucose/Gluecard family only after 1127.
* CP-SAT: any field of ``SatParameters`` (``num_workers`` defaults to 1 for fair timing;
  ``random_seed``, ``log_search_progress``, ...); the time limit goes through ``time_limit``.
* exhaustive: ``max_vars`` (default 30) refuses larger formulas.

Known trap handled here: Maplesat segfaults on a formula without clauses, so that backend answers
such formulas itself (sat, every variable False) without calling the solver.

>>> from nsad.instances import Cnf
>>> v = solve_formula(Cnf(3, [(1, -2), (2,)]))
>>> v.answer, v.backend, v.model
('sat', 'cadical195', (True, True, False))
>>> solve_formula(Cnf(1, [(1,), (-1,)]), solver="ortools").answer
'unsat'
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from dataclasses import dataclass, field
from math import isfinite
from numbers import Real
from typing import Any, Sequence

import numpy as np

from nsad.child import run_function
from nsad.solvers.registry import Registry, SolverError
from nsad.solvers.verdict import SAT, UNKNOWN, UNSAT, Verdict

__all__ = [
    "FORMULA_SOLVERS",
    "DEFAULT_FORMULA_SOLVER",
    "FormulaBackend",
    "PysatBackend",
    "CpsatBackend",
    "ExhaustiveBackend",
    "WrongModelError",
    "solve_formula",
    "check_model",
]

DEFAULT_FORMULA_SOLVER = "cadical195"


class WrongModelError(RuntimeError):
    """A solver returned a model that is not a satisfying assignment: a solver bug, not a user error."""


@dataclass(frozen=True)
class _Outcome:
    """What one run of a backend produced (picklable: it crosses the child-process pipe)."""

    status: bool | None  # True sat, False unsat, None unknown
    model: Any = None  # DIMACS literals (sequence of ints) when sat
    stats: dict = field(default_factory=dict)
    seconds: float = 0.0
    reason: str | None = None


# ----------------------------------------------------------------------------------------------
# backends


@dataclass(frozen=True)
class FormulaBackend:
    """A registry entry: how to run one solver in this process.

    ``interruptible``: the backend stops by itself at a time limit (else a time limit needs a child
    process that is killed).
    """

    name: str
    summary: str
    interruptible: bool

    def check_options(self, options: dict) -> dict:
        """Validate backend options (raise ``SolverError``); return them normalised."""
        if options:
            raise SolverError(f"{self.name} takes no option {', '.join(sorted(options))}")
        return {}

    def run(self, num_vars: int, clauses: Sequence[Sequence[int]], time_limit: float | None, options: dict) -> _Outcome:
        raise NotImplementedError


@dataclass(frozen=True)
class PysatBackend(FormulaBackend):
    """A python-sat solver, constructed under ``pysat_name`` (a ``SolverNames`` alias)."""

    pysat_name: str = ""
    budget: bool = True  # supports conf_budget
    empty_formula_crashes: bool = False

    def check_options(self, options: dict) -> dict:
        unknown = set(options) - {"conflict_budget"}
        if unknown:
            raise SolverError(f"{self.name} takes no option {', '.join(sorted(unknown))}; python-sat solvers take: conflict_budget")
        budget = options.get("conflict_budget")
        if budget is not None:
            if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget <= 0:
                raise SolverError(f"conflict_budget must be a positive integer, got {budget!r}")
            if not self.budget:
                raise SolverError(f"{self.name} does not support conflict_budget")
            return {"conflict_budget": int(budget)}
        return {}

    def run(self, num_vars, clauses, time_limit, options):
        from pysat.solvers import Solver

        start = time.perf_counter()
        if self.empty_formula_crashes and len(clauses) == 0:
            return _Outcome(True, [], {}, time.perf_counter() - start, None)
        budget = options.get("conflict_budget")
        fired = threading.Event()
        with Solver(name=self.pysat_name, bootstrap_with=clauses) as s:
            if time_limit is None and budget is None:
                status = s.solve()
            else:
                if budget is not None:
                    s.conf_budget(budget)
                timer = None
                if time_limit is not None:
                    if not self.interruptible:
                        raise SolverError(f"{self.name} ignores interrupts: its time limit needs isolate=True")
                    remaining = time_limit - (time.perf_counter() - start)
                    if remaining <= 0:
                        stats = _pysat_stats(s)
                        return _Outcome(None, None, stats, time.perf_counter() - start, "time limit")

                    def fire(solver=s):
                        fired.set()
                        solver.interrupt()

                    timer = threading.Timer(remaining, fire)
                    timer.daemon = True
                    timer.start()
                try:
                    status = s.solve_limited(expect_interrupt=time_limit is not None)
                finally:
                    if timer is not None:  # never let the timer touch a deleted solver
                        timer.cancel()
                        timer.join()
            model = s.get_model() if status else None
            stats = _pysat_stats(s)
        seconds = time.perf_counter() - start
        reason = None
        if status is None:
            reason = "time limit" if fired.is_set() else "conflict budget"
        return _Outcome(status, model, stats, seconds, reason)


def _pysat_stats(s) -> dict:
    try:
        return dict(s.accum_stats())
    except NotImplementedError:  # Kissat
        return {}


@dataclass(frozen=True)
class CpsatBackend(FormulaBackend):
    """OR-Tools CP-SAT on the clauses: one Boolean variable per variable, one ``bool_or`` per clause."""

    def check_options(self, options: dict) -> dict:
        from ortools.sat.python import cp_model

        if "max_time_in_seconds" in options:
            raise SolverError("give CP-SAT's time limit as time_limit, not max_time_in_seconds")
        params = cp_model.CpSolver().parameters
        out = {"num_workers": 1, **options}
        for key, value in out.items():
            try:
                setattr(params, key, value)
            except AttributeError:
                raise SolverError(f"cpsat has no parameter {key!r} (see OR-Tools' SatParameters)") from None
            except (TypeError, ValueError):
                raise SolverError(f"bad value {value!r} for cpsat parameter {key!r}") from None
        return out

    def run(self, num_vars, clauses, time_limit, options):
        start = time.perf_counter()  # before the import: a spawned child pays it within its limit
        from ortools.sat.python import cp_model

        model = cp_model.CpModel()
        proto = model.proto
        for _ in range(num_vars):
            proto.variables.add().domain.extend((0, 1))
        add = proto.constraints.add
        for clause in clauses:  # CP-SAT literal of variable v is v - 1, of -v is -v (= ~(v - 1))
            add().bool_or.literals.extend([lit - 1 if lit > 0 else lit for lit in clause])
        solver = cp_model.CpSolver()
        for key, value in options.items():
            setattr(solver.parameters, key, value)
        if time_limit is not None:
            remaining = time_limit - (time.perf_counter() - start)
            if remaining <= 0:
                return _Outcome(None, None, {}, time.perf_counter() - start, "time limit")
            solver.parameters.max_time_in_seconds = remaining
        status = solver.solve(model)
        seconds = time.perf_counter() - start
        stats = {"conflicts": solver.num_conflicts, "branches": solver.num_branches, "wall_time": solver.wall_time}
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            values = np.asarray(solver.response_proto.solution, dtype=bool)
            var = np.arange(1, num_vars + 1)
            return _Outcome(True, np.where(values, var, -var).tolist(), stats, seconds)
        if status == cp_model.INFEASIBLE:
            return _Outcome(False, None, stats, seconds)
        if status == cp_model.UNKNOWN:
            reason = "time limit" if time_limit is not None else "cp-sat stopped without an answer"
            return _Outcome(None, None, stats, seconds, reason)
        raise RuntimeError(f"cpsat answered {solver.status_name(status)}: {model.validate() or 'no reason given'}")


_BLOCK_BITS = 14


@dataclass(frozen=True)
class ExhaustiveBackend(FormulaBackend):
    """Tries every assignment (numpy, blocks of 2**14): the obviously-correct reference for tiny formulas.

    Assignment number ``a`` gives variable ``i + 1`` the value of bit ``i`` of ``a``; the first
    satisfying one in that order is returned.
    """

    def check_options(self, options: dict) -> dict:
        unknown = set(options) - {"max_vars"}
        if unknown:
            raise SolverError(f"{self.name} takes no option {', '.join(sorted(unknown))}; it takes: max_vars")
        max_vars = options.get("max_vars", 30)
        if isinstance(max_vars, bool) or not isinstance(max_vars, (int, np.integer)) or not 0 < max_vars <= 62:
            raise SolverError(f"max_vars must be an integer in 1..62, got {max_vars!r}")
        return {"max_vars": int(max_vars)}

    def run(self, num_vars, clauses, time_limit, options):
        start = time.perf_counter()
        max_vars = options.get("max_vars", 30)
        if num_vars > max_vars:
            raise SolverError(f"exhaustive search is limited to {max_vars} variables (max_vars); the formula has {num_vars}")
        lengths = np.fromiter(map(len, clauses), dtype=np.int64, count=len(clauses))
        offsets = np.concatenate(([0], np.cumsum(lengths)))
        literals = np.fromiter((lit for c in clauses for lit in c), dtype=np.int64, count=int(offsets[-1]))
        if np.any(lengths == 0):
            return _Outcome(False, None, {"assignments": 0}, time.perf_counter() - start)
        shifts = np.abs(literals) - 1
        positive = literals > 0
        total = 1 << num_vars
        block = 1 << min(_BLOCK_BITS, num_vars)
        tried = 0
        for first in range(0, total, block):
            if time_limit is not None and time.perf_counter() - start >= time_limit:
                return _Outcome(None, None, {"assignments": tried}, time.perf_counter() - start, "time limit")
            a = np.arange(first, first + block, dtype=np.int64)
            true_lit = ((a[:, None] >> shifts[None, :]) & 1).astype(bool) == positive[None, :]
            counts = np.zeros((block, literals.size + 1), dtype=np.int32)
            np.cumsum(true_lit, axis=1, out=counts[:, 1:])
            ok = np.all(counts[:, offsets[1:]] > counts[:, offsets[:-1]], axis=1)
            hits = np.flatnonzero(ok)
            if hits.size:
                tried += int(hits[0]) + 1
                bits = (int(a[hits[0]]) >> np.arange(num_vars)) & 1
                var = np.arange(1, num_vars + 1)
                model = np.where(bits == 1, var, -var).tolist()
                return _Outcome(True, model, {"assignments": tried}, time.perf_counter() - start)
            tried += block
        return _Outcome(False, None, {"assignments": tried}, time.perf_counter() - start)


# ----------------------------------------------------------------------------------------------
# the registry

FORMULA_SOLVERS = Registry("formula solver")

# canonical name -> (summary, honours interrupt(), supports conf_budget); measured in python-sat 1.9.dev17
_PYSAT_TABLE: dict[str, tuple[str, bool, bool]] = {
    "cadical195": ("CaDiCaL 1.9.5 (python-sat); time limit by a killed child process", False, True),
    "cadical103": ("CaDiCaL 1.0.3 (python-sat); time limit by a killed child process", False, True),
    "cadical153": ("CaDiCaL 1.5.3 (python-sat); time limit by a killed child process", False, True),
    "cadical300": ("CaDiCaL 3.0.0 (python-sat); time limit by a killed child process", False, True),
    "cryptosat": ("CryptoMiniSat 5 through pycryptosat (python-sat)", False, False),
    "ergo": ("Ergo (python-sat 1.9, undocumented there); honours interrupts", True, True),
    "gluecard3": ("Gluecard 3 (Glucose 3 with cardinality constraints, python-sat); honours interrupts", True, True),
    "gluecard4": ("Gluecard 4 (Glucose 4.1 with cardinality constraints, python-sat); honours interrupts", True, True),
    "glucose3": ("Glucose 3.0 (python-sat); honours interrupts", True, True),
    "glucose4": ("Glucose 4.1 (python-sat); honours interrupts", True, True),
    "glucose42": ("Glucose 4.2.1 (python-sat); honours interrupts", True, True),
    "kissat404": ("Kissat 4.0.4 (python-sat, non-incremental, no statistics); time limit by a killed child process", False, True),
    "lingeling": ("Lingeling bbc-9230380 (python-sat); no budgets; time limit by a killed child process", False, False),
    "maplechrono": ("MapleLCMDistChronoBT, SAT competition 2018 (python-sat); honours interrupts", True, True),
    "maplecm": ("MapleCM, SAT competition 2018 (python-sat); honours interrupts", True, True),
    "maplesat": ("MapleCOMSPS_LRB (python-sat); honours interrupts", True, True),
    "mergesat3": ("MergeSat 3.0 (python-sat); honours interrupts", True, True),
    "minicard": ("Minicard 1.2 (MiniSat with cardinality constraints, python-sat); honours interrupts", True, True),
    "minisat22": ("MiniSat 2.2 (python-sat); honours interrupts", True, True),
    "minisatgh": ("MiniSat, GitHub version (python-sat); honours interrupts", True, True),
    "minisatep": ("MiniSat 2.2 with IPASIR-UP support (python-sat); honours interrupts", True, True),
}
_EXTRA_ALIASES = {"cadical195": ("cadical",)}


def _pysat_available(name: str, pysat_name: str) -> bool:
    """Whether python-sat can construct this solver here (some are listed but missing)."""
    from pysat.solvers import Solver

    if name == "cryptosat" and importlib.util.find_spec("pycryptosat") is None:
        return False  # constructing it fails noisily (an AttributeError in __del__)
    try:
        Solver(name=pysat_name).delete()
    except Exception:
        return False
    return True


def _register_all() -> None:
    from pysat.solvers import SolverNames

    listed = {k: tuple(v) for k, v in vars(SolverNames).items() if not k.startswith("_") and isinstance(v, tuple) and v}
    order = [DEFAULT_FORMULA_SOLVER] + sorted(set(listed) - {DEFAULT_FORMULA_SOLVER})
    for name in order:
        if name not in listed:
            continue
        pysat_name = listed[name][0]
        if not _pysat_available(name, pysat_name):
            continue
        summary, interruptible, budget = _PYSAT_TABLE.get(
            name, (f"python-sat solver {name} (not characterised here); time limit by a killed child process", False, False)
        )
        aliases = tuple(dict.fromkeys(a for a in (*listed[name], *_EXTRA_ALIASES.get(name, ())) if a.lower() != name.lower()))
        aliases = tuple(a for a in aliases if a not in FORMULA_SOLVERS)
        backend = PysatBackend(name, summary, interruptible, pysat_name=pysat_name, budget=budget,
                               empty_formula_crashes=(name == "maplesat"))
        FORMULA_SOLVERS.register(name, backend, aliases=aliases, summary=summary)
    FORMULA_SOLVERS.register(
        "cpsat",
        CpsatBackend("cpsat", "OR-Tools CP-SAT on the clauses (bool_or per clause), 1 worker by default; honours time limits", True),
        aliases=("ortools", "cp-sat"),
        summary="OR-Tools CP-SAT on the clauses (bool_or per clause), 1 worker by default; honours time limits",
    )
    FORMULA_SOLVERS.register(
        "exhaustive",
        ExhaustiveBackend("exhaustive", "tries all 2^n assignments with numpy (reference for n <= 30)", True),
        aliases=("brute-force",),
        summary="tries all 2^n assignments with numpy (reference for n <= 30)",
    )


_register_all()


# ----------------------------------------------------------------------------------------------
# model check


def check_model(cnf, model: Sequence[int]) -> tuple[bool, ...]:
    """Turn a solver's model (DIMACS literals) into ``cnf.num_vars`` bools and check it (vectorised).

    Variables the model does not mention are False. Raises :class:`WrongModelError` when the model
    names a variable outside ``1..num_vars``, gives a variable both signs, or falsifies a clause.

    >>> from nsad.instances import Cnf
    >>> check_model(Cnf(4, [(1, -2), (2,)]), [1, 2])
    (True, True, False, False)
    >>> check_model(Cnf(2, [(1, -2), (2,)]), [-1, 2])
    Traceback (most recent call last):
    ...
    nsad.solvers.formula.backends.WrongModelError: the model falsifies clause 0: (1, -2)
    """
    n = cnf.num_vars
    lits = np.asarray(model, dtype=np.int64).reshape(-1)
    if lits.size and (np.any(lits == 0) or np.abs(lits).max() > n):
        bad = lits[(lits == 0) | (np.abs(lits) > n)][0]
        raise WrongModelError(f"the model has literal {int(bad)}, outside the formula's {n} variables")
    values = np.zeros(n + 1, dtype=bool)
    values[lits[lits > 0]] = True
    negative = np.zeros(n + 1, dtype=bool)
    negative[-lits[lits < 0]] = True
    if np.any(values & negative):
        v = int(np.flatnonzero(values & negative)[0])
        raise WrongModelError(f"the model gives variable {v} both values")
    lit = np.asarray(cnf.literals)
    off = np.asarray(cnf.offsets)
    true_lit = values[np.abs(lit)] == (lit > 0)
    counts = np.zeros(lit.size + 1, dtype=np.int64)
    np.cumsum(true_lit, out=counts[1:])
    falsified = np.flatnonzero(counts[off[1:]] <= counts[off[:-1]])
    if falsified.size:
        j = int(falsified[0])
        clause = tuple(lit[off[j]:off[j + 1]].tolist())
        raise WrongModelError(f"the model falsifies clause {j}: {clause}")
    return tuple(values[1:].tolist())


# ----------------------------------------------------------------------------------------------
# child processes


def _child_solve(backend, num_vars, clauses, time_limit, options, started: float) -> "_Outcome":
    """Run the backend (or the backend named ``backend``) in a child; ``started`` is the caller's
    ``time.time()`` when it began."""
    if isinstance(backend, str):
        backend = FORMULA_SOLVERS.get(backend)
    if time_limit is not None:  # the child's start-up (about 1 s with spawn) counts against the limit
        time_limit -= max(0.0, time.time() - started)
        if time_limit <= 0:
            return _Outcome(None, None, {}, 0.0, "time limit")
    return backend.run(num_vars, clauses, time_limit, options)


def _run_isolated(backend, num_vars, clauses, time_limit, options, start_method) -> _Outcome:
    """Run the backend in a child process (:func:`nsad.child.run_function`), killed at the limit."""
    start = time.perf_counter()
    if backend.interruptible:  # the child stops by itself; kill it only if it overstays well past the limit
        child_limit, kill_after = time_limit, (None if time_limit is None else time_limit * 1.1 + 1.0)
    else:
        child_limit, kill_after = None, time_limit
    target = backend if start_method == "fork" else backend.name
    out = run_function(_child_solve, target, num_vars, clauses, child_limit, options, time.time(),
                       time_limit=kill_after, start_method=start_method)
    elapsed = time.perf_counter() - start
    if out.status == "ok":
        outcome: _Outcome = out.value
        return _Outcome(outcome.status, outcome.model, {**outcome.stats, "_process_seconds": elapsed},
                        outcome.seconds, outcome.reason)
    if out.status == "error":
        if out.error_type == "SolverError":
            raise SolverError(out.reason)
        raise RuntimeError(f"{backend.name} failed in its child process: {out.error_type}: {out.reason}")
    how = "time limit" if out.status == "timeout" else f"solver process {out.reason}"
    return _Outcome(None, None, {"_process_seconds": elapsed}, elapsed, how)


# ----------------------------------------------------------------------------------------------
# the entry point


def _check_time_limit(time_limit: Any) -> float | None:
    if time_limit is None:
        return None
    if isinstance(time_limit, bool) or not isinstance(time_limit, Real) or not isfinite(time_limit) or time_limit <= 0:
        raise SolverError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
    return float(time_limit)


def solve_formula(cnf, solver: str = DEFAULT_FORMULA_SOLVER, time_limit: float | None = None, **options: Any) -> Verdict:
    """Decide a CNF formula with one of :data:`FORMULA_SOLVERS`; return a checked ``Verdict``.

    ``cnf``: an ``instances.Cnf`` (anything with ``num_vars``, ``clauses``, ``literals``,
    ``offsets``). ``solver``: a registry name or alias, case-insensitive. ``time_limit``: seconds
    (> 0) or None. ``options``: see the module docstring (``isolate``, ``start_method``,
    ``conflict_budget`` for python-sat, ``SatParameters`` fields for CP-SAT, ``max_vars`` for
    exhaustive search). Bad names, limits and options raise ``SolverError``; a wrong model raises
    :class:`WrongModelError`.

    >>> from nsad.instances import Cnf
    >>> cnf = Cnf(5, [(1, 2), (-1,), (-2, 1, 2)])      # variables 3..5 occur nowhere
    >>> v = solve_formula(cnf, "minisat22")
    >>> v.answer, v.model
    ('sat', (False, True, False, False, False))
    >>> solve_formula(cnf, "cd19", time_limit=10).backend
    'cadical195'
    >>> solve_formula(Cnf(2, [()]), "cpsat").answer
    'unsat'
    """
    backend: FormulaBackend = FORMULA_SOLVERS.get(solver)
    limit = _check_time_limit(time_limit)
    isolate = options.pop("isolate", None)
    if isolate is not None and not isinstance(isolate, bool):
        raise SolverError(f"isolate must be True, False or None, got {isolate!r}")
    start_method = options.pop("start_method", None)
    fork_ok = hasattr(os, "fork")
    if start_method is None:
        start_method = "fork" if fork_ok else "spawn"
    if start_method not in ("fork", "spawn") or (start_method == "fork" and not fork_ok):
        raise SolverError(f"start_method must be {'fork or ' if fork_ok else ''}spawn, got {start_method!r}")
    options = backend.check_options(options)
    needs_child = limit is not None and not backend.interruptible
    if isolate is False and needs_child:
        raise SolverError(f"{backend.name} ignores interrupts: its time limit needs a child process (isolate=True)")
    for attr in ("num_vars", "clauses", "literals", "offsets"):
        if not hasattr(cnf, attr):
            raise TypeError(f"solve_formula needs an instances.Cnf, got {type(cnf).__name__} without .{attr}")
    num_vars = int(cnf.num_vars)
    clauses = cnf.clauses
    if isolate or needs_child:
        outcome = _run_isolated(backend, num_vars, clauses, limit, options, start_method)
    else:
        outcome = backend.run(num_vars, clauses, limit, options)
    if outcome.status:
        try:
            model = check_model(cnf, outcome.model)
        except WrongModelError as exc:
            raise WrongModelError(f"{backend.name}: {exc}") from None
        return Verdict(answer=SAT, backend=backend.name, seconds=outcome.seconds, stats=outcome.stats, model=model, kind="formula")
    if outcome.status is False:
        return Verdict(answer=UNSAT, backend=backend.name, seconds=outcome.seconds, stats=outcome.stats, kind="formula")
    return Verdict(answer=UNKNOWN, backend=backend.name, seconds=outcome.seconds, stats=outcome.stats,
                   reason=outcome.reason or "no answer", kind="formula")
