"""The DRUP checker and solve_with_proof.

The fast checker (watched literals) is compared with a tiny reference below that re-scans every
clause until nothing changes: obviously correct, slow, and independent of the watch bookkeeping.
"""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pysat.solvers import Solver

from nsad.instances import Cnf, random_ksat, read_dimacs
from nsad.solvers.formula.proof import (
    CHECKED,
    DEFAULT_PROOF_SOLVER,
    FAILED,
    UNCHECKED,
    ProofCheck,
    check_drup,
    proof_solvers,
    solve_with_proof,
)
from nsad.solvers.registry import SolverError


# ------------------------------------------------------------------------------ the reference
def reference_check(clauses, lines, num_vars) -> bool:
    """Forward RUP checking by brute re-scanning, with check_drup's documented rules.

    Literals implied at level 0 stay implied when clauses are deleted (``level0`` only grows).
    """
    db = [tuple(dict.fromkeys(c)) for c in clauses]
    level0: set[int] = set()

    def closure(assigned: set[int]) -> bool:  # unit propagation in place; False on conflict
        changed = True
        while changed:
            changed = False
            for c in db:
                if any(l in assigned for l in c):
                    continue
                open_ = [l for l in c if -l not in assigned]
                if not open_:
                    return False
                if len(open_) == 1:
                    assigned.add(open_[0])
                    changed = True
        return True

    if not closure(level0):
        return True
    for line in lines:
        tokens = line.split()
        if not tokens:
            continue
        delete = tokens[0] == "d"
        try:
            lits = [int(t) for t in tokens[delete:]]
        except ValueError:
            return False
        if not lits or lits[-1] != 0 or 0 in lits[:-1]:
            return False
        lits = lits[:-1]
        if any(abs(l) > num_vars for l in lits):
            return False
        clause = tuple(dict.fromkeys(lits))
        if delete:
            for i, c in enumerate(db):
                if sorted(c) == sorted(clause):
                    del db[i]
                    break
            continue
        tautology = any(-l in clause for l in clause)
        true_now = any(l in level0 for l in clause)
        if not tautology and not true_now and closure(level0 | {-l for l in clause}):
            return False
        db.append(clause)
        if not closure(level0):
            return True
    return False


def _proof(cnf: Cnf, solver: str = DEFAULT_PROOF_SOLVER) -> list[str]:
    with Solver(name=solver, bootstrap_with=[list(c) for c in cnf.clauses], with_proof=True) as s:
        assert s.solve() is False
        return s.get_proof()


def _uuf50(satlib_dir, count=None):
    files = sorted((satlib_dir / "uuf50-218").glob("*.cnf"))
    assert len(files) == 100
    return [read_dimacs(f) for f in files[:count]]


# ------------------------------------------------------------------------------- small cases
FOUR = [(1, 2), (-1, 2), (1, -2), (-1, -2)]


def test_simple_refutation_and_stats():
    check = check_drup(FOUR, ["2 0", "0"], 2)
    assert check.ok and bool(check)
    assert check.stats["lemmas"] == 1 and check.stats["failed_line"] is None
    assert isinstance(check, ProofCheck)
    with pytest.raises(TypeError):
        check.stats["lemmas"] = 3  # read-only


def test_non_rup_lemma_names_its_line():
    check = check_drup(FOUR, ["c comment", "", "3 0", "0"], 3)
    assert not check.ok and check.stats["failed_line"] == 3
    assert check.reason == "proof line 3: lemma 3 0 is not RUP"


def test_missing_empty_clause_is_rejected():
    clauses = [(1, 2, 3), (-1, 2), (-2, 3)]
    assert not check_drup(clauses, [], 3).ok
    assert "without deriving the empty clause" in check_drup(clauses, ["2 3 0"], 3).reason


def test_deletions_weaken_the_database():
    assert check_drup(FOUR, ["2 0"], 2).ok
    check = check_drup(FOUR, ["d 1 2 0", "d -1 2 0", "2 0"], 2)
    assert not check.ok and check.stats["deletions"] == 2
    # deleting a clause that is not there is ignored
    check = check_drup(FOUR, ["d 1 2 3 0", "2 0"], 3)
    assert check.ok and check.stats["ignored_deletions"] == 1
    # a deleted duplicate leaves its twin in place
    assert check_drup(FOUR + [(1, 2)], ["d 2 1 0", "2 0"], 2).ok


def test_malformed_lines_are_rejected():
    assert "bad token 'x'" in check_drup(FOUR, ["1 x 0"], 2).reason
    assert "terminated by a single 0" in check_drup(FOUR, ["1 2"], 2).reason
    assert "terminated by a single 0" in check_drup(FOUR, ["1 0 2 0"], 2).reason
    assert "out of range" in check_drup(FOUR, ["-3 0"], 2).reason


def test_inputs_as_text_bytes_and_cnf():
    cnf = Cnf(2, FOUR)
    assert check_drup(cnf, "2 0\n0\n", 2).ok
    assert check_drup(cnf, [b"2 0", b"0"], 2).ok
    with pytest.raises(ValueError, match="out of range"):
        check_drup([(1, 3)], [], 2)


def test_formula_refuted_without_proof_and_empty_clause_in_formula():
    assert check_drup([(1,), (-1, 2), (-2,)], [], 2).ok
    assert check_drup([(1, 2), ()], [], 2).ok
    assert not check_drup([(1, 2)], [], 2).ok


def test_lemma_true_at_level_0_and_tautologies_are_rup():
    clauses = [(1,), (-1, 2), (-2, 3), (-3, -1, 4), (-4, -2)]
    assert check_drup(clauses, ["1 5 0", "5 -5 0", "0"], 5).ok


# ------------------------------------------------------------------ agreement with the reference
small_formulas = st.integers(3, 7).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(
            st.lists(st.integers(1, n).flatmap(lambda v: st.sampled_from([v, -v])), min_size=1, max_size=3),
            min_size=1,
            max_size=30,
        ),
    )
)


def _brute_sat(n, clauses) -> bool:
    values = np.array(list(itertools.product([False, True], repeat=n)))
    return bool(Cnf(n, clauses).satisfied_by(values).any())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_formulas, st.lists(st.lists(st.integers(-7, 7), max_size=3), max_size=12), st.data())
def test_random_proofs_agree_with_reference_and_never_refute_a_satisfiable_formula(formula, raw_proof, data):
    n, clauses = formula
    lines = []
    for row in raw_proof:
        lits = [l for l in row if l != 0 and abs(l) <= n]
        prefix = "d " if lits and data.draw(st.booleans()) else ""
        lines.append(prefix + " ".join(map(str, lits + [0])))
    check = check_drup(clauses, lines, n)
    assert check.ok == reference_check(clauses, lines, n)
    if _brute_sat(n, clauses):
        assert not check.ok


N_SMALL = 12


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**6), st.integers(0, 3), st.data())
def test_corrupted_solver_proofs_agree_with_reference(index, kind, data):
    cnf = None
    for i in range(index, index + 50):  # the first unsatisfiable formula from this index on
        candidate = random_ksat(N_SMALL, ratio=7.0, seed=5, index=i)
        if not _brute_sat(N_SMALL, candidate.clauses):
            cnf = candidate
            break
    assert cnf is not None
    proof = _proof(cnf)
    assert check_drup(cnf, proof, N_SMALL).ok
    lemmas = [i for i, l in enumerate(proof) if not l.startswith("d") and l.split() != ["0"]]
    if not lemmas:
        return
    pos = data.draw(st.sampled_from(lemmas))
    bad = list(proof)
    tokens = bad[pos].split()
    if kind == 0:  # drop a lemma
        del bad[pos]
    elif kind == 1:  # flip a literal
        j = data.draw(st.integers(0, len(tokens) - 2))
        tokens[j] = str(-int(tokens[j]))
        bad[pos] = " ".join(tokens)
    elif kind == 2:  # rename a variable
        j = data.draw(st.integers(0, len(tokens) - 2))
        v = data.draw(st.integers(1, N_SMALL))
        tokens[j] = str(v if int(tokens[j]) > 0 else -v)
        bad[pos] = " ".join(tokens)
    else:  # keep only a prefix
        bad = bad[:pos]
    assert check_drup(cnf, bad, N_SMALL).ok == reference_check(cnf.clauses, bad, N_SMALL)


# ------------------------------------------------------------------------------------ SATLIB
def test_every_uuf50_proof_checks_and_the_formulas_need_a_proof(satlib_dir):
    times = []
    for cnf in _uuf50(satlib_dir):
        assert not check_drup(cnf, ["0"], cnf.num_vars).ok  # not refuted by unit propagation alone
        verdict = solve_with_proof(cnf)
        assert verdict.answer == "unsat" and verdict.stats["proof"] == CHECKED, verdict.reason
        assert verdict.stats["proof_lines"] > 1
        times.append(verdict.stats["proof_check_seconds"])
    assert len(times) == 100


def test_corrupted_uuf50_proofs_fail(satlib_dir):
    rejected = 0
    trials = 0
    rng = random.Random(0)
    for cnf in _uuf50(satlib_dir, 8):
        proof = _proof(cnf)
        lemmas = [i for i, l in enumerate(proof) if not l.startswith("d") and l.split() != ["0"]]
        # only the final empty clause: always rejected (the formula needs a proof)
        assert not check_drup(cnf, [proof[-1]], 50).ok
        for _ in range(2):
            pos = rng.choice(lemmas)
            dropped = proof[:pos] + proof[pos + 1 :]
            tokens = proof[pos].split()
            j = rng.randrange(len(tokens) - 1)
            tokens[j] = str(-int(tokens[j]))
            flipped = proof[:pos] + [" ".join(tokens)] + proof[pos + 1 :]
            for bad in (dropped, flipped):
                trials += 1
                ok = check_drup(cnf, bad, 50).ok
                assert ok == reference_check(cnf.clauses, bad, 50)
                rejected += not ok
    assert rejected >= trials // 2, (rejected, trials)


def test_proofs_never_refute_satisfiable_formulas(satlib_dir):
    sat = sorted((satlib_dir / "uf50-218").glob("*.cnf"))[:10]
    unsat = _uuf50(satlib_dir, 10)
    for f, donor in zip(sat, unsat):
        cnf = read_dimacs(f)
        assert not check_drup(cnf, _proof(donor), 50).ok


def test_maplesat_shifted_proofs_fail_and_unshifted_check(satlib_dir):
    def unshift(line: str) -> str:
        tokens = line.split()
        head = ["d"] if tokens[0] == "d" else []
        lits = [int(t) for t in tokens[len(head) :]]
        return " ".join(head + [str(l - 1 if l > 0 else l + 1 if l < 0 else 0) for l in lits])

    for cnf in _uuf50(satlib_dir, 10):
        proof = _proof(cnf, "maplesat")
        check = check_drup(cnf, proof, 50)
        if check.ok:
            pytest.skip("this python-sat's Maplesat logs correct proofs: the bug no longer reproduces")
        assert not reference_check(cnf.clauses, proof, 50)
        assert check_drup(cnf, [unshift(l) for l in proof], 50).ok
        verdict = solve_with_proof(cnf, solver="maple")
        assert verdict.stats["proof"] == FAILED and "proof check failed" in verdict.reason


@pytest.mark.parametrize("solver", proof_solvers())
def test_listed_proof_solvers_check_on_uuf50(satlib_dir, solver):
    for cnf in _uuf50(satlib_dir, 8):
        verdict = solve_with_proof(cnf, solver=solver)
        assert (verdict.answer, verdict.stats["proof"]) == ("unsat", CHECKED), (solver, verdict.reason)


# ----------------------------------------------------------------------------- solve_with_proof
def test_sat_answers_are_checked_by_their_model(satlib_dir):
    for f in sorted((satlib_dir / "uf50-218").glob("*.cnf"))[:5]:
        cnf = read_dimacs(f)
        verdict = solve_with_proof(cnf)
        assert verdict.answer == "sat" and verdict.stats["proof"] == CHECKED
        assert len(verdict.model) == 50 and cnf.satisfied_by(verdict.model)
        assert verdict.kind == "formula" and verdict.to_json()["stats"]["proof"] == CHECKED


def test_model_is_padded_to_declared_variables():
    verdict = solve_with_proof(Cnf(5, [(1, -2)]))
    assert verdict.answer == "sat" and len(verdict.model) == 5


@pytest.mark.parametrize("solver", ["m22", "kissat", "cpsat", "exhaustive"])
def test_solvers_without_proofs_are_unchecked(solver):
    verdict = solve_with_proof(Cnf(2, FOUR), solver=solver)
    assert verdict.answer == "unsat" and verdict.stats["proof"] == UNCHECKED
    assert "logs no DRUP proof" in verdict.reason
    sat = solve_with_proof(Cnf(3, [(1, -2)]), solver=solver)
    assert sat.stats["proof"] == CHECKED and Cnf(3, [(1, -2)]).satisfied_by(sat.model)


def test_unknown_solver_and_bad_time_limit():
    with pytest.raises(SolverError, match="unknown formula solver 'zchaff'"):
        solve_with_proof(Cnf(1, [(1,)]), solver="zchaff")
    with pytest.raises(SolverError, match="time_limit"):
        solve_with_proof(Cnf(1, [(1,)]), time_limit=0)


def test_empty_formula_and_maplesat_quirk():
    for solver in ("cadical195", "maplesat"):
        verdict = solve_with_proof(Cnf(3, []), solver=solver)
        assert verdict.answer == "sat" and verdict.stats["proof"] == CHECKED and len(verdict.model) == 3


@pytest.mark.parametrize("solver", ["cadical195", "glucose4"])  # a forked child / an in-process interrupt
def test_time_limit_stops_hard_formulas(solver):
    from nsad.instances.families import pigeonhole

    verdict = solve_with_proof(pigeonhole(11), solver=solver, time_limit=0.3)
    assert verdict.answer == "unknown" and verdict.stats["proof"] == UNCHECKED
    assert verdict.reason == "time limit"


def test_time_limit_with_an_answer_checks_the_proof():
    verdict = solve_with_proof(random_ksat(50, ratio=6.0, seed=1), time_limit=30)
    assert verdict.answer == "unsat" and verdict.stats["proof"] == CHECKED
    assert verdict.stats["proof_lines"] > 0
