"""The fast network deciders (solvers.network.grid) and their encodings.

Ground truth: python-sat on the formula for reduction networks; the exact region enumeration
(``exhaustive``) and the MILP of ``solvers.network.table`` for hand-built networks. Every
two-subgradient answer's certificate is re-checked with ``networks.check``.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from nsad.instances import Cnf, random_ksat, read_dimacs
from nsad.networks import ReluNetwork, check
from nsad.solvers.network.program import ProgramBuilder
from nsad.solvers.network.simplify import LATTICE, RELU_LATTICE, certify, simplify
from nsad.reductions.sat_to_relu import clean, reduce
from nsad.solvers import solve_formula
from nsad.solvers.network.encode_cnf import EncodingError, encode_grid_cnf, grid_question
from nsad.solvers.network.encode_cpsat import build_cpsat_grid
from nsad.solvers.network.grid import (
    certificate_from_grid_witness,
    decide_cpsat_grid,
    decide_portfolio,
    decide_sat_grid,
    prepare,
    program_axis,
)

EXPECT = {"sat": "two-subgradients", "unsat": "singleton"}
DATA = Path(__file__).resolve().parents[1] / "data" / "satlib"


def assert_verdict(v, net, expected: str, complete: bool = True) -> None:
    assert v.answer == expected, (v.answer, v.reason)
    assert v.complete is complete
    if v.answer == "two-subgradients":
        assert v.certificate is not None and check(net, v.certificate).ok
        assert v.certificate.gradients[0] != v.certificate.gradients[1]
    if v.answer == "singleton":
        assert v.element is not None and len(v.element) == net.n_inputs


# ------------------------------------------------------------------------------------------------
# reduction networks against python-sat
# ------------------------------------------------------------------------------------------------
def small_formulas():
    out = [Cnf(1, []), Cnf(2, [(1,), ()]), Cnf(2, [(1,), (-1,)]), Cnf(3, [(1, -1), (2,)]),
           Cnf(3, [(1, 2), (-1, 2), (1, -2), (-1, -2)]), Cnf(4, [(1, 2, 3, 4)])]
    for n, m, k in ((5, 21, 3), (8, 34, 3), (10, 43, 3), (12, 51, 3), (15, 64, 3), (20, 85, 3),
                    (20, 91, 3), (6, 12, 2), (10, 60, 4), (14, 30, 5)):
        for i in range(2):
            out.append(random_ksat(n, m=m, k=k, seed=5, index=i))
    return out


@pytest.mark.parametrize("cnf", small_formulas(), ids=lambda c: f"n{c.num_vars}m{c.num_clauses}")
def test_grid_methods_agree_with_pysat(cnf):
    net = reduce(cnf)
    truth = EXPECT[solve_formula(cnf).answer]
    for decide in (decide_sat_grid, decide_cpsat_grid, decide_portfolio):
        v = decide(net)
        assert_verdict(v, net, truth)
        if v.answer == "singleton":
            assert v.element == (0,) * cnf.num_vars
    assert decide_portfolio(net).backend == "sat-grid"


def test_the_cnf_encoding_of_a_reduction_is_the_formula():
    cnf = random_ksat(30, ratio=4.26, seed=2)
    p = simplify(reduce(cnf))
    enc = encode_grid_cnf(p, certify(p))
    assert enc.mode == "sign" and enc.n_vars == 30
    assert sorted(map(sorted, enc.clauses)) == sorted(map(sorted, set(map(frozenset, clean(cnf).clauses))))


def test_other_python_sat_backends():
    cnf = random_ksat(15, ratio=4.26, seed=9)
    net = reduce(cnf)
    truth = EXPECT[solve_formula(cnf).answer]
    for solver in ("minisat22", "glucose4", "cd30"):
        assert_verdict(decide_sat_grid(net, solver=solver), net, truth)


def test_satlib_files_in_the_repository():
    files = sorted(DATA.glob("*.cnf*"))
    assert files, "tests/data/satlib is missing"
    for f in files:
        cnf = read_dimacs(f)
        net = reduce(cnf)
        assert_verdict(decide_sat_grid(net), net, EXPECT[solve_formula(cnf).answer])


def test_satlib_sample(satlib_dir):
    files = []
    for folder in ("uf20-91", "uf50-218", "uuf50-218"):
        fs = sorted((satlib_dir / folder).glob("*.cnf"))
        files += fs[:: max(1, len(fs) // 6)][:6]
    for f in files:
        cnf = read_dimacs(f)
        net = reduce(cnf)
        expected = "singleton" if f.parent.name.startswith("uuf") else "two-subgradients"
        assert_verdict(decide_sat_grid(net), net, expected)


def test_the_decider_reads_only_the_network(tmp_path):
    cnf = random_ksat(12, ratio=4.26, seed=4)
    reduce(cnf).save(tmp_path / "f.npz")
    net = ReluNetwork.load(tmp_path / "f.npz")
    assert_verdict(decide_sat_grid(net), net, EXPECT[solve_formula(cnf).answer])


# ------------------------------------------------------------------------------------------------
# the counterexample of docs/theory.md section 3
# ------------------------------------------------------------------------------------------------
COUNTER = ReluNetwork([[[-1, 2], [1, -2], [-2, 3]], [[1, -1, -1]], [[1]]])   # relu(min(2x2-x1, x1-x2))


def test_counterexample_grid_methods_do_not_claim_completeness():
    v = decide_sat_grid(COUNTER)
    assert v.answer == "unknown" and v.complete is False and "not certified" in v.reason
    v = decide_cpsat_grid(COUNTER)
    assert v.answer == "unknown" and v.complete is False and "not complete" in v.reason


def test_counterexample_portfolio_falls_back_to_the_exact_fallback():
    v = decide_portfolio(COUNTER)
    assert v.backend == "exact" and "exact fallback answered" in v.stats["portfolio"]
    assert_verdict(v, COUNTER, "two-subgradients")


# ------------------------------------------------------------------------------------------------
# hand-built networks: class (a) with general sums, weighted class (b), against exact deciders
# ------------------------------------------------------------------------------------------------
def compile_expr(n: int, expr) -> ReluNetwork:
    """A layered ReLU network for an expression over ('x', i), ('neg', e), ('max', e, f), ('min', e, f)
    and, at the top only, ('sum', [(c, e), ...]): each max/min is one gadget layer, values that wait
    for a later layer are carried, and one last matrix adds the top sum."""
    top = expr[1] if expr[0] == "sum" else [(1, expr)]

    def level(e):
        if e[0] == "x":
            return 0
        if e[0] == "neg":
            return level(e[1])
        return 1 + max(level(e[1]), level(e[2]))

    nodes: list = []

    def collect(e):
        if e not in nodes:
            for sub in e[1:] if e[0] in ("max", "min", "neg") else ():
                collect(sub)
            nodes.append(e)

    for _, e in top:
        collect(e)
    depth = max(level(e) for _, e in top)
    value = {e: {e[1]: 1} for e in nodes if e[0] == "x"}   # value: dict over current units

    def val(e):
        if e[0] == "neg":
            return {k: -v for k, v in val(e[1]).items()}
        return value[e]

    def lin(*terms):
        out: dict = {}
        for c, d in terms:
            for k, v in d.items():
                out[k] = out.get(k, 0) + c * v
        return out

    mats, width = [], n
    for L in range(1, depth + 1):
        rows, new = [], {}
        for e in nodes:
            if e[0] in ("x", "max", "min") and (level(e) < L and (e[0] == "x" or e in value)):
                v = val(e)
                new[e] = {len(rows): 1, len(rows) + 1: -1}
                rows += [v, lin((-1, v))]
            elif e[0] in ("max", "min") and level(e) == L:
                a, b = val(e[1]), val(e[2])
                k = len(rows)
                if e[0] == "max":   # relu(a - b) + relu(b) - relu(-b)
                    rows += [lin((1, a), (-1, b)), b, lin((-1, b))]
                    new[e] = {k: 1, k + 1: 1, k + 2: -1}
                else:               # relu(a) - relu(-a) - relu(a - b)
                    rows += [a, lin((-1, a)), lin((1, a), (-1, b))]
                    new[e] = {k: 1, k + 1: -1, k + 2: -1}
        M = np.zeros((len(rows), width), dtype=np.int64)
        for u, r in enumerate(rows):
            for k, v in r.items():
                M[u, k] += v
        mats.append(M)
        width = len(rows)
        value = new
    out = np.zeros((1, width), dtype=np.int64)
    for c, e in top:
        for k, v in val(e).items():
            out[0, k] += c * v
    mats.append(out)
    return ReluNetwork(mats)


X = [("x", i) for i in range(4)]


def neg(e):
    return ("neg", e)


def test_compile_expr():
    e = ("max", ("min", X[0], neg(X[1])), X[2])
    net = compile_expr(3, ("sum", [(2, e), (-1, X[0])]))
    for x in itertools.product((-2, -1, 0, 1, 3), repeat=3):
        assert net.evaluate_exact(list(x)) == 2 * max(min(x[0], -x[1]), x[2]) - x[0]


def _T(i, j):  # max(min(xi, xj), min(-xi, -xj)): 0 on the axes, 1 at xi = xj = +-1
    return ("max", ("min", X[i], X[j]), ("min", neg(X[i]), neg(X[j])))


CLASS_A = [
    (2, _T(0, 1), "two-subgradients"),
    (3, ("sum", [(1, _T(0, 1)), (-1, _T(0, 2))]), "two-subgradients"),                 # ternary encoding
    (2, ("sum", [(1, _T(0, 1)), (1, ("min", ("max", X[0], X[1]), ("max", neg(X[0]), neg(X[1]))))]),
     "singleton"),                                                     # T + (-T) = 0: merged by the simplifier
    (2, ("sum", [(1, ("max", X[0], X[1])), (1, ("min", X[0], X[1])), (-1, X[0]), (-1, X[1])]), "singleton"),
    (2, ("max", X[0], X[1]), "two-subgradients"),                                        # axis test fails
    (3, ("sum", [(2, _T(0, 1)), (1, _T(1, 2)), (-3, _T(0, 2))]), "two-subgradients"),
]


@pytest.mark.parametrize("n, expr, expected", CLASS_A)
def test_class_a_networks(n, expr, expected):
    net = compile_expr(n, expr)
    prep = prepare(net)
    assert prep.grid is not None, str(prep.program)
    assert prep.grid.kind == LATTICE or not prep.grid.terms
    from nsad.solvers.network.table import NETWORK_DECIDERS

    exact = NETWORK_DECIDERS.get("exhaustive").decide(net)
    assert exact.answer == expected
    for decide in (decide_sat_grid, decide_cpsat_grid, decide_portfolio):
        v = decide(net)
        assert_verdict(v, net, expected)
        if expected == "singleton":
            assert v.element == exact.element


def test_portfolio_falls_back_when_the_encoding_is_too_large():
    net = compile_expr(3, ("sum", [(30001, _T(0, 1)), (-30000, _T(0, 2))]))   # coprime weights
    v = decide_sat_grid(net)
    assert v.answer == "unknown" and "too large" in v.reason
    v = decide_portfolio(net)
    assert v.backend == "exact" and "sat-grid could not answer" in v.stats["portfolio"]
    assert_verdict(v, net, "two-subgradients")
    assert_verdict(decide_cpsat_grid(net), net, "two-subgradients")


def test_ternary_mode_is_used_for_mixed_signs():
    net = compile_expr(3, CLASS_A[1][1])
    prep = prepare(net)
    mode, _, _ = grid_question(prep.program, prep.grid, program_axis(prep.program).a)
    assert mode == "ternary"
    assert decide_sat_grid(net).stats["cnf_mode"] == "ternary"


def test_weighted_relu_lattice_class_b():
    # relu(min(max(2 x1, -3 x2), x3)) written with weights 2 and 3: class (b), not (a)
    net = ReluNetwork([
        [[2, 3, 0], [0, -3, 0], [0, 3, 0], [0, 0, 1], [0, 0, -1]],      # relu(2x1+3x2), relu(-3x2), relu(3x2), carry x3
        [[1, 1, -1, 0, 0], [-1, -1, 1, 0, 0], [1, 1, -1, -1, 1]],       # min(v, x3) gadget, v = max(2x1, -3x2)
        [[1, -1, -1]], [[1]],
    ])
    prep = prepare(net)
    assert prep.grid.kind == RELU_LATTICE
    for decide in (decide_sat_grid, decide_cpsat_grid):
        assert_verdict(decide(net), net, "two-subgradients")


def test_random_small_lattice_networks_against_the_milp():
    rng = np.random.default_rng(3)
    from nsad.solvers.network.table import NETWORK_DECIDERS

    milp = NETWORK_DECIDERS.get("milp").decide

    def rand_expr(d):
        if d == 0 or rng.random() < 0.25:
            e = X[int(rng.integers(3))]
            return neg(e) if rng.random() < 0.5 else e
        e = (("max", "min")[int(rng.integers(2))], rand_expr(d - 1), rand_expr(d - 1))
        return neg(e) if rng.random() < 0.3 else e

    for _ in range(12):
        terms = [(int(rng.choice([-2, -1, 1, 2])), rand_expr(2)) for _ in range(int(rng.integers(1, 4)))]
        net = compile_expr(3, ("sum", terms))
        truth = milp(net)
        v = decide_sat_grid(net)
        assert v.stats.get("grid_class") is not None
        assert_verdict(v, net, truth.answer)


# ------------------------------------------------------------------------------------------------
# pieces
# ------------------------------------------------------------------------------------------------
def test_certificate_from_grid_witness_paths():
    net = reduce(Cnf(3, [(1, 2), (-1, 3), (-2, -3)]))
    p = simplify(net)
    res = certificate_from_grid_witness(net, p, (1, -1, 1), (0, 0, 0))
    assert res.ok and res.stats["certify_path"] == "fast" and check(net, res.certificate).ok
    res = certificate_from_grid_witness(net, p, (1, 1, 1), (0, 0, 0))  # not a witness: F = 0 there
    assert not res.ok


def test_encoders_refuse_uncertified_programs():
    p = simplify(COUNTER)
    with pytest.raises(EncodingError):
        encode_grid_cnf(p, None)
    with pytest.raises(EncodingError):
        build_cpsat_grid(p, None)                      # the exact model needs the axis values


def test_sign_encoding_of_hand_programs():
    b = ProgramBuilder(3)
    t = b.max([(1, 0), (-1, 1)])
    root = b.relu(b.min([(1, t), (-1, b.max([(1, 1), (1, 2)]))]))   # relu(min(max(x1,-x2), -max(x2,x3)))
    p = b.build(root)
    enc = encode_grid_cnf(p, certify(p))
    assert sorted(map(sorted, enc.clauses)) == [[-3], [-2], [-2, 1]] or sorted(map(sorted, enc.clauses)) == \
        sorted([[1, -2], [-2], [-3]])
    for s in itertools.product((-1, 1), repeat=3):
        sat = all(any((l > 0) == (s[abs(l) - 1] > 0) for l in c) for c in enc.clauses)
        assert sat == (p.evaluate_exact(list(s)) > 0)


def test_time_limit_and_registry():
    cnf = random_ksat(20, ratio=4.26, seed=1)
    net = reduce(cnf)
    v = decide_sat_grid(net, time_limit=30, solver="minisat22")
    assert v.answer in ("two-subgradients", "singleton")
    from nsad.solvers.network.table import DECIDERS, decide_network  # options checked against the table

    assert DECIDERS.canonical("auto") == "portfolio" and DECIDERS.get("sat-grid").decide is decide_sat_grid
    assert decide_network(net, "sat-grid").answer == v.answer


def test_portfolio_survives_a_simplifier_failure(monkeypatch):
    """An internal error of the simplifier must not cost an answer: the portfolio falls back to the MILP."""
    import nsad.solvers.network.grid as nf
    from nsad.networks import ReluNetwork, check

    def broken(net):
        raise RuntimeError("simulated simplifier bug")

    absx = ReluNetwork([[[1], [-1]], [[1, 1]]])
    monkeypatch.setattr(nf, "normal_form", broken)  # the normal-form path fails: the syntactic one answers
    v = nf.decide_portfolio(absx)
    assert v.answer == "two-subgradients" and v.complete and check(absx, v.certificate)
    assert v.stats["path"] == "syntax" and "internal error RuntimeError" in v.stats["normal_form"]
    monkeypatch.setattr(nf, "simplify", broken)  # both fail: the fallback answers
    v = nf.decide_portfolio(absx)
    assert v.answer == "two-subgradients" and v.complete and check(absx, v.certificate)
    assert "internal error RuntimeError" in str(v.stats.get("portfolio", "")) + str(v.reason)


def test_singleton_answers_can_rest_on_a_checked_drup_proof(monkeypatch):
    """With proof=True an UNSAT grid answer is only a singleton when its DRUP proof checks."""
    import nsad.solvers.formula.proof as proof_mod
    from nsad.instances import Cnf
    from nsad.reductions.sat_to_relu import reduce
    from nsad.solvers.network.grid import decide_portfolio, decide_sat_grid

    net = reduce(Cnf(3, [(1, 2), (-1, 2), (1, -2), (-1, -2), (3,)]))  # UNSAT, not by unit clauses alone
    v = decide_sat_grid(net, proof=True)
    assert v.answer == "singleton" and v.stats["proof"] == "checked"
    assert decide_portfolio(net, proof=True).stats["proof"] == "checked"
    real = proof_mod.solve_with_proof

    def corrupted(cnf, solver="cadical195", time_limit=None):
        v = real(cnf, solver=solver, time_limit=time_limit)
        return type(v)(**{**v.__dict__, "stats": {**v.stats, "proof": "failed"}})

    monkeypatch.setattr(proof_mod, "solve_with_proof", corrupted)
    bad = decide_sat_grid(net, proof=True)
    assert bad.answer == "unknown" and "DRUP proof is failed" in bad.reason
