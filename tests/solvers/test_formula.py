"""Formula deciders (solvers.formula.backends): every registered backend against brute force, models, limits.

Brute force here is pure Python (itertools over all assignments), independent of the library's
``exhaustive`` backend and of ``Cnf.satisfied_by``.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import random
import re
import signal
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsad.instances import Cnf, random_ksat, read_dimacs
from nsad.solvers.formula.backends import (
    DEFAULT_FORMULA_SOLVER,
    FORMULA_SOLVERS,
    CpsatBackend,
    PysatBackend,
    WrongModelError,
    _Outcome,
    check_model,
    solve_formula,
)
from nsad.solvers.registry import SolverError
from nsad.solvers.verdict import SAT, UNKNOWN, UNSAT

ALL = list(FORMULA_SOLVERS)
PYSAT = [name for name in ALL if isinstance(FORMULA_SOLVERS.get(name), PysatBackend)]
GENEROUS = 30.0  # seconds: only catches a limit that is ignored, never a slow machine


def brute_force_sat(num_vars, clauses) -> bool:
    return any(
        all(any(a[abs(lit) - 1] == (lit > 0) for lit in clause) for clause in clauses)
        for a in itertools.product((False, True), repeat=num_vars)
    )


def satisfies(clauses, model) -> bool:
    return all(any(model[abs(lit) - 1] == (lit > 0) for lit in clause) for clause in clauses)


EDGE_CASES = [
    (1, []),  # no clauses
    (3, []),  # no clauses, several variables
    (1, [()]),  # the empty clause
    (4, [(1, 2), (), (3,)]),  # an empty clause among others
    (1, [(1,)]),
    (1, [(-1,)]),
    (1, [(1,), (-1,)]),  # contradictory units
    (3, [(1,), (-2,), (3,)]),  # units only
    (2, [(1, -1)]),  # a tautology
    (2, [(2, 2, -2)]),  # repeated literal + tautology, variable 1 unused
    (8, [(8,), (-8, 7)]),  # unused variables 1..6
    (2, [(1, 2), (-1, 2), (1, -2), (-1, -2)]),  # all four 2-clauses on two variables: unsat
    (3, [(1, 1, 1), (-1, -1)]),
]


def random_cases(seed: int, count: int):
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        n = rng.randint(1, 8)
        m = rng.choice((1, 2, 4, 8, 16, 24, 34))
        clauses = [
            tuple(rng.choice((-1, 1)) * rng.randint(1, n) for _ in range(rng.choice((1, 2, 3, 3, 3, 4))))
            for _ in range(m)
        ]
        out.append((n, clauses))
    return out


CASES = EDGE_CASES + random_cases(2023, 30)


@pytest.fixture(scope="module")
def truths():
    return [brute_force_sat(n, clauses) for n, clauses in CASES]


@pytest.fixture(scope="module")
def php_hard():
    genhard = pytest.importorskip("pysat.examples.genhard")
    php = genhard.PHP(10)  # 11 pigeons, 10 holes: tens of seconds for CaDiCaL, Lingeling, CP-SAT
    return Cnf(php.nv, php.clauses)


@pytest.fixture(scope="module")
def php_10_9():
    genhard = pytest.importorskip("pysat.examples.genhard")
    php = genhard.PHP(9)  # PHP(10, 9): 10 pigeons, 9 holes, 90 variables, 415 clauses
    return Cnf(php.nv, php.clauses)


# --------------------------------------------------------------------------------- the registry


def test_registry_holds_the_working_pysat_solvers_and_cpsat():
    from pysat.solvers import NoSuchSolverError, Solver, SolverNames

    assert ALL[0] == DEFAULT_FORMULA_SOLVER == "cadical195"
    for name in ("cadical195", "cadical153", "glucose3", "glucose4", "glucose42", "lingeling", "minisat22",
                 "maplechrono", "maplecm", "maplesat", "mergesat3", "minicard", "kissat404", "cpsat", "exhaustive"):
        assert name in FORMULA_SOLVERS, name
    for name, aliases in vars(SolverNames).items():
        if name.startswith("_") or not isinstance(aliases, tuple):
            continue
        if name in FORMULA_SOLVERS:
            Solver(name=aliases[0]).delete()  # registered => constructible
        elif name == "cryptosat":  # needs pycryptosat; constructing it without fails noisily in __del__
            assert importlib.util.find_spec("pycryptosat") is None
        else:  # skipped => not constructible in this wheel
            with pytest.raises((NoSuchSolverError, AssertionError, ImportError)):
                Solver(name=aliases[0]).delete()


@pytest.mark.parametrize("name", ALL)
def test_every_entry_has_a_one_line_summary(name):
    entry = FORMULA_SOLVERS.entry(name)
    assert entry.summary and "\n" not in entry.summary
    assert entry.plugin.name == name


@pytest.mark.parametrize(
    "alias, canonical",
    [("cd19", "cadical195"), ("cadical", "cadical195"), ("CaDiCaL195", "cadical195"), ("cd30", "cadical300"),
     ("cd15", "cadical153"), ("g4", "glucose4"), ("m22", "minisat22"), ("lgl", "lingeling"),
     ("kissat", "kissat404"), ("ortools", "cpsat"), ("cp-sat", "cpsat"), ("brute-force", "exhaustive"),
     ("mgh", "minisatgh"), ("minisatgh", "minisatgh")],
)
def test_aliases(alias, canonical):
    if canonical not in FORMULA_SOLVERS:
        pytest.skip(f"{canonical} is not in this python-sat wheel")
    assert FORMULA_SOLVERS.canonical(alias) == canonical
    v = solve_formula(Cnf(2, [(1,), (-1, 2)]), alias)
    assert (v.backend, v.answer, v.model) == (canonical, SAT, (True, True))


def test_unknown_solver_lists_the_choices():
    with pytest.raises(SolverError, match=r"unknown formula solver 'zchaff'; choose one of: cadical195 \(cd19.*cpsat"):
        solve_formula(Cnf(1, [(1,)]), "zchaff")


# ------------------------------------------------------------------------- answers and models


@pytest.mark.parametrize("name", ALL)
def test_tiny_formulas_against_brute_force(name, truths):
    for (n, clauses), truth in zip(CASES, truths):
        cnf = Cnf(n, clauses)
        v = solve_formula(cnf, name)
        assert v.kind == "formula" and v.backend == name and v.complete
        assert v.answer == (SAT if truth else UNSAT), (n, clauses)
        if truth:
            assert isinstance(v.model, tuple) and len(v.model) == n
            assert all(type(b) is bool for b in v.model)
            assert satisfies(clauses, v.model), (n, clauses, v.model)
        else:
            assert v.model is None
        assert v.seconds >= 0 and v.reason is None


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_default_solver_and_cpsat_match_brute_force(data):
    n = data.draw(st.integers(1, 7))
    lit = st.integers(1, n).flatmap(lambda v: st.sampled_from((v, -v)))
    clauses = data.draw(st.lists(st.lists(lit, min_size=0, max_size=4).map(tuple), max_size=20))
    truth = brute_force_sat(n, clauses)
    cnf = Cnf(n, clauses)
    for name in (DEFAULT_FORMULA_SOLVER, "cpsat"):
        v = solve_formula(cnf, name)
        assert v.answer == (SAT if truth else UNSAT)
        if truth:
            assert satisfies(clauses, v.model)


@pytest.mark.parametrize("name", ALL)
def test_model_is_padded_to_the_declared_variables(name):
    cnf = Cnf(5, [(1, 2), (-1,)])  # variables 3, 4, 5 occur in no clause
    v = solve_formula(cnf, name)
    assert v.answer == SAT and len(v.model) == 5 and v.model[:2] == (False, True)
    if name in PYSAT:  # python-sat omits unseen variables: they are padded with False
        assert v.model[2:] == (False, False, False)
    assert v.to_json()["model"][:2] == [-1, 2] and len(v.to_json()["model"]) == 5


def test_stats_come_from_the_backend():
    cnf = random_ksat(30, ratio=4.26, seed=3)
    v = solve_formula(cnf)
    assert {"conflicts", "decisions", "propagations", "restarts"} <= set(v.stats)
    v = solve_formula(cnf, "cpsat")
    assert {"conflicts", "branches", "wall_time"} <= set(v.stats)
    assert solve_formula(cnf, "kissat").stats == {}  # Kissat exposes no statistics in python-sat
    assert solve_formula(Cnf(3, [(1, 2)]), "exhaustive").stats == {"assignments": 2}


def test_check_model():
    cnf = Cnf(4, [(1, -2), (2, 3)])
    assert check_model(cnf, [1, 2]) == (True, True, False, False)
    assert check_model(cnf, [1, -2, 3, -4]) == (True, False, True, False)
    with pytest.raises(WrongModelError, match="falsifies clause 1"):
        check_model(cnf, [1, -2, -3])
    with pytest.raises(WrongModelError, match="literal 5, outside"):
        check_model(cnf, [1, 2, 5])
    with pytest.raises(WrongModelError, match="literal 0"):
        check_model(cnf, [0, 1, 2])
    with pytest.raises(WrongModelError, match="variable 2 both values"):
        check_model(cnf, [1, 2, -2])
    with pytest.raises(WrongModelError, match="clause 0: \\(\\)"):
        check_model(Cnf(1, [()]), [1])


def test_a_wrong_model_from_a_solver_is_a_bug(monkeypatch):
    monkeypatch.setattr(PysatBackend, "run", lambda self, *args: _Outcome(True, [-1, -2], {}, 0.0))
    with pytest.raises(WrongModelError, match="minisat22: the model falsifies clause 0"):
        solve_formula(Cnf(2, [(1, 2)]), "minisat22")
    assert not issubclass(WrongModelError, ValueError)  # not a user error: the CLI lets it traceback


# ------------------------------------------------------------------------------- time limits


@pytest.mark.parametrize("name", [DEFAULT_FORMULA_SOLVER, "cpsat", "minisat22"])
def test_time_limit_on_a_hard_instance_gives_unknown(name, php_10_9):
    start = time.perf_counter()
    v = solve_formula(php_10_9, name, time_limit=0.3)
    assert time.perf_counter() - start < GENEROUS
    assert (v.answer, v.reason, v.kind, v.model) == (UNKNOWN, "time limit", "formula", None)
    assert not v.complete  # an unknown answer is never complete, even from a complete method
    if not FORMULA_SOLVERS.get(name).interruptible:
        assert "_process_seconds" in v.stats  # ran in a child process, killed at the limit


@pytest.mark.parametrize("name", [n for n in ALL if n != "exhaustive"])
def test_every_backend_honours_a_time_limit(name, php_hard):
    start = time.perf_counter()
    v = solve_formula(php_hard, name, time_limit=0.2)
    assert time.perf_counter() - start < GENEROUS
    assert v.answer in (UNKNOWN, UNSAT)  # Kissat is strong on pigeonholes; anything else is a bug
    if v.answer == UNKNOWN:
        assert v.reason == "time limit"


def test_exhaustive_search_honours_a_time_limit():
    cnf = Cnf(30, [(1, 2), (-1, 2), (1, -2), (-1, -2)])  # unsat, found only after 2^30 assignments
    start = time.perf_counter()
    v = solve_formula(cnf, "exhaustive", time_limit=0.2)
    assert time.perf_counter() - start < GENEROUS
    assert (v.answer, v.reason) == (UNKNOWN, "time limit") and 0 < v.stats["assignments"] < 2**30
    with pytest.raises(SolverError, match="limited to 30 variables"):
        solve_formula(Cnf(31, [(1,)]), "exhaustive")
    assert solve_formula(Cnf(31, [(1,)]), "exhaustive", max_vars=31, time_limit=0.2).answer in (SAT, UNKNOWN)


def test_isolated_runs_give_the_same_answers():
    sat = random_ksat(40, ratio=3.0, seed=1)
    unsat = Cnf(2, [(1, 2), (-1, 2), (1, -2), (-1, -2)])
    for name in ("cadical195", "minisat22", "cpsat"):
        v = solve_formula(sat, name, isolate=True)
        assert v.answer == SAT and sat.satisfied_by(v.model) and "_process_seconds" in v.stats
        assert solve_formula(unsat, name, isolate=True, time_limit=5).answer == UNSAT


def test_spawned_child_process():
    v = solve_formula(Cnf(3, [(1, -2), (2,)]), "cadical195", isolate=True, start_method="spawn", time_limit=60)
    assert (v.answer, v.model) == (SAT, (True, True, False))


def test_a_dying_solver_process_gives_unknown(monkeypatch):
    # SIGKILL as the out-of-memory killer sends it (a SIGSEGV would work the same, but pytest's
    # faulthandler would print a dump of the child's stack)
    monkeypatch.setattr(PysatBackend, "run", lambda self, *args: os.kill(os.getpid(), signal.SIGKILL))
    v = solve_formula(Cnf(1, [(1,)]), "minisat22", isolate=True)
    assert v.answer == UNKNOWN and v.reason == "solver process killed by SIGKILL"
    monkeypatch.setattr(PysatBackend, "run", lambda self, *args: os._exit(3))
    v = solve_formula(Cnf(1, [(1,)]), "minisat22", isolate=True)
    assert v.answer == UNKNOWN and v.reason == "solver process ended with exit code 3 and no result"


def test_an_error_in_the_child_process_is_raised(monkeypatch):
    def boom(self, *args):
        raise KeyError("lost")

    monkeypatch.setattr(PysatBackend, "run", boom)
    with pytest.raises(RuntimeError, match="minisat22 failed in its child process: KeyError"):
        solve_formula(Cnf(1, [(1,)]), "minisat22", isolate=True)


def test_conflict_budget(php_10_9):
    v = solve_formula(php_10_9, "minisat22", conflict_budget=50)
    assert (v.answer, v.reason) == (UNKNOWN, "conflict budget") and v.stats["conflicts"] >= 50
    v = solve_formula(php_10_9, "cadical195", conflict_budget=50, time_limit=20)  # in a child process
    assert (v.answer, v.reason) == (UNKNOWN, "conflict budget")
    with pytest.raises(SolverError, match="lingeling does not support conflict_budget"):
        solve_formula(php_10_9, "lingeling", conflict_budget=50)


# ------------------------------------------------------------------------------- bad requests


@pytest.mark.parametrize("limit", [0, -1, float("nan"), float("inf"), True, "1"])
def test_bad_time_limits(limit):
    with pytest.raises(SolverError, match="time_limit must be a positive number"):
        solve_formula(Cnf(1, [(1,)]), time_limit=limit)


@pytest.mark.parametrize(
    "name, options, message",
    [
        ("minisat22", {"bogus": 1}, "minisat22 takes no option bogus"),
        ("minisat22", {"conflict_budget": 0}, "conflict_budget must be a positive integer"),
        ("minisat22", {"conflict_budget": 1.5}, "conflict_budget must be a positive integer"),
        ("cpsat", {"bogus": 1}, "cpsat has no parameter 'bogus'"),
        ("cpsat", {"num_workers": "many"}, "bad value 'many' for cpsat parameter 'num_workers'"),
        ("cpsat", {"max_time_in_seconds": 3.0}, "give CP-SAT's time limit as time_limit"),
        ("cadical195", {"isolate": "yes"}, "isolate must be True, False or None"),
        ("cadical195", {"start_method": "forkserver"}, "start_method must be"),
        ("cadical195", {"isolate": False, "time_limit": 1}, "cadical195 ignores interrupts"),
        ("exhaustive", {"max_vars": 100}, "max_vars must be an integer in 1..62"),
    ],
)
def test_bad_options(name, options, message):
    with pytest.raises(SolverError, match=re.escape(message)):
        solve_formula(Cnf(1, [(1,)]), name, **options)


def test_cpsat_parameters_are_passed(monkeypatch):
    seen = {}
    real_run = CpsatBackend.run

    def spy(self, num_vars, clauses, time_limit, options):
        seen.update(options)
        return real_run(self, num_vars, clauses, time_limit, options)

    monkeypatch.setattr(CpsatBackend, "run", spy)
    assert solve_formula(Cnf(1, [(1,)]), "cpsat", random_seed=7).answer == SAT
    assert seen == {"num_workers": 1, "random_seed": 7}


def test_not_a_formula():
    with pytest.raises(TypeError, match="needs an instances.Cnf"):
        solve_formula([(1, 2)])


# ---------------------------------------------------------------------------------- real data


def satlib_files(satlib_dir, folder):
    files = sorted((satlib_dir / folder).glob("*.cnf"))
    if not files:
        pytest.skip(f"no files in {satlib_dir / folder}")
    return files


@pytest.mark.parametrize("folder, expected", [("uf50-218", SAT), ("uuf50-218", UNSAT)])
def test_satlib_labels_default_solver(satlib_dir, folder, expected):
    files = satlib_files(satlib_dir, folder)
    assert len(files) == 100
    for path in files:
        cnf = read_dimacs(path)
        v = solve_formula(cnf)
        assert v.answer == expected, path.name
        if expected == SAT:
            assert cnf.satisfied_by(v.model)


@pytest.mark.parametrize("folder, expected", [("uf50-218", SAT), ("uuf50-218", UNSAT)])
def test_satlib_labels_cpsat_subset(satlib_dir, folder, expected):
    for path in satlib_files(satlib_dir, folder)[:8]:
        assert solve_formula(read_dimacs(path), "cpsat").answer == expected, path.name
