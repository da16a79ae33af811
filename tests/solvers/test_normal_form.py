"""The normal form under exact rewrites and the lattice program read off it (docs/theory.md 3.5).

F is preserved exactly (random integer and dyadic networks, reduction networks); disguises built
from the rewrites the normal form inverts give the same normal form up to C; deciders answer for
the user's network (certificates checked on it, elements of its own subdifferential).
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nsad.instances import random_ksat, read_dimacs
from nsad.networks import ReluNetwork, check
from nsad.networks.disguise import disguise
from nsad.reductions.sat_to_relu import reduce
from nsad.solvers import decide_network, solve_formula
from nsad.solvers.network.normal_form import layered_form, normal_form
from nsad.solvers.network.lattice import lattice_of_normal_form, lattice_of_normal_form_reference
from nsad.solvers.network.simplify import certify

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
INVERTED = ["identity-layer", "row-scale", "unit-split", "cancelling-group", "permute", "negate-unit"]


@st.composite
def networks(draw, dyadic=False):
    n = draw(st.integers(1, 4))
    depth = draw(st.integers(1, 4))
    widths = [n] + [draw(st.integers(1, 5)) for _ in range(depth - 1)] + [1]
    mats = []
    for a, b in zip(widths[:-1], widths[1:]):
        vals = draw(st.lists(st.integers(-3, 3), min_size=a * b, max_size=a * b))
        M = np.array(vals, dtype=np.float64 if dyadic else np.int64).reshape(b, a)
        if dyadic:
            M = M / draw(st.sampled_from([1, 2, 4, 8]))
        mats.append(M)
    return ReluNetwork(mats)


def _points(n, rng, count=12):
    pts = [list(p) for p in itertools.product((-1, 0, 1), repeat=n)] if n <= 3 else []
    pts += [[Fraction(int(rng.integers(-9, 10)), int(rng.integers(1, 5))) for _ in range(n)] for _ in range(count)]
    return pts


@SETTINGS
@given(networks(), st.integers(0, 2**31))
def test_the_normal_form_computes_C_times_F(net, seed):
    rng = np.random.default_rng(seed)
    nf = normal_form(net)
    emitted = nf.to_network()
    prog = lattice_of_normal_form(nf)
    lf = layered_form(net)
    assert nf.factor > 0 and lf.factor > 0
    for x in _points(net.n_inputs, rng):
        f = Fraction(net.evaluate_exact(x))
        assert nf.evaluate_exact(x) == nf.factor * f
        assert emitted.evaluate_exact(x) == nf.factor * f
        assert lf.network.evaluate_exact(x) == lf.factor * f
        if prog is not None:
            assert prog.evaluate_exact(x) == f


@SETTINGS
@given(networks(dyadic=True), st.integers(0, 2**31))
def test_dyadic_weights_are_exact(net, seed):
    rng = np.random.default_rng(seed)
    nf = normal_form(net)
    for x in _points(net.n_inputs, rng, 6):
        assert nf.evaluate_exact(x) == nf.factor * Fraction(net.evaluate_exact(x))


def test_linear_networks_have_no_units():
    carry = ReluNetwork([[[1], [-1]], [[3, -3]]])                      # 3x
    nf = normal_form(carry)
    assert nf.is_linear and nf.output_terms() == ((0, 1),) and nf.factor == Fraction(1, 3)
    assert normal_form(ReluNetwork([[[1, 1], [-1, -1]], [[1, -1]]])).output_terms() == ((0, 1), (1, 1))
    assert normal_form(ReluNetwork([[[1], [1]], [[1, -1]]])).is_linear      # identically 0


@pytest.mark.parametrize("n", [5, 8, 20])
@pytest.mark.parametrize("kind", INVERTED)
def test_inverted_rewrites_give_the_same_normal_form_up_to_C(n, kind):
    rng = np.random.default_rng(n)
    for index in range(3):
        net = reduce(random_ksat(n, ratio=4.26, seed=3, index=index))
        nf = normal_form(net)
        for seed in range(2):
            mats, C, _steps = disguise(list(net.matrices), seed, kinds=[kind])
            d = normal_form(ReluNetwork(mats))
            assert d.signature() == nf.signature()
            assert d.factor * C == nf.factor  # F_d = C F, so d's factor is nf's divided by C
            x = rng.integers(-3, 4, size=n).tolist()
            assert d.evaluate_exact(x) == d.factor * ReluNetwork(mats).evaluate_exact(x)


def test_all_inverted_rewrites_at_once():
    net = reduce(random_ksat(12, ratio=4.26, seed=0, index=4))
    nf = normal_form(net)
    for seed in range(4):
        mats, C, _ = disguise(list(net.matrices), seed, kinds=INVERTED)
        d = normal_form(ReluNetwork(mats))
        assert d.signature() == nf.signature() and d.factor * C == nf.factor


def test_reduction_programs_are_certified_through_the_normal_form(satlib_dir):
    files = sorted((satlib_dir / "uf50-218").glob("*.cnf"))[:5] + sorted((satlib_dir / "uuf50-218").glob("*.cnf"))[:5]
    rng = np.random.default_rng(0)
    for f in files:
        net = reduce(read_dimacs(f))
        prog = lattice_of_normal_form(normal_form(net))
        assert prog is not None and certify(prog) is not None
        for _ in range(3):
            x = rng.integers(-2, 3, size=50).tolist()
            assert prog.evaluate_exact(x) == net.evaluate_exact(x)


def _disguised_cases():
    for n, index in [(10, 0), (10, 1), (20, 0), (20, 2), (30, 1)]:
        yield n, index


@pytest.mark.parametrize("n,index", list(_disguised_cases()))
def test_the_default_decider_answers_for_the_disguised_network(n, index):
    cnf = random_ksat(n, ratio=4.26, seed=11, index=index)
    truth = solve_formula(cnf).answer
    net = reduce(cnf)
    for seed in range(2):
        mats, C, _ = disguise(list(net.matrices), seed, kinds=INVERTED)
        dn = ReluNetwork(mats)
        v = decide_network(dn)
        assert v.complete and v.argument in ("certificate", "class+unsat")
        assert v.answer == ("two-subgradients" if truth == "sat" else "singleton")
        if v.answer == "two-subgradients":
            assert check(dn, v.certificate)
        else:
            assert v.element == (0,) * n


def test_the_issue_reproduction_identity_layer_and_scaled_rows(tests_data_dir):
    """uf50-01 (satisfiable), an identity layer [I; -I], [I, -I] after the second matrix, every hidden
    row times 6: the default decider must say two-subgradients with a certificate checked on this
    network (before the normal form it answered singleton from a MILP)."""
    net = reduce(read_dimacs(tests_data_dir / "satlib" / "uf50-01.cnf"))
    mats = list(net.matrices)
    w = mats[1].shape[0]
    eye = sp.identity(w, dtype=np.int64, format="csr")
    mats = mats[:2] + [sp.vstack([eye, -eye]).tocsr(), sp.hstack([eye, -eye]).tocsr()] + mats[2:]
    mats = [sp.csr_array(6 * M) if k < len(mats) - 1 else sp.csr_array(M) for k, M in enumerate(mats)]
    dn = ReluNetwork(mats)
    v = decide_network(dn)
    assert v.answer == "two-subgradients" and v.complete and v.argument == "certificate" and check(dn, v.certificate)


def test_milp_singletons_are_numerical():
    from nsad.experiments.bench_deciders import random_integer_network

    zero = random_integer_network(3, seed=0, family="zero")  # identically 0, outside the certified classes
    v = decide_network(zero, "milp", time_limit=60)
    assert v.answer == "singleton" and not v.complete and v.argument == "numerical"
    ident = ReluNetwork([[[1], [-1]], [[1, -1]]])
    assert decide_network(ident, "milp").argument == "linear-form"


def test_the_portfolio_answers_uncertified_networks_exactly():
    """Networks outside the certified classes go to the exact fallback, not to a numerical MILP."""
    from nsad.experiments.bench_deciders import random_integer_network
    from nsad.solvers.network.grid import decide_portfolio

    zero = random_integer_network(4, seed=0, family="zero")
    v = decide_portfolio(zero)
    assert v.answer == "singleton" and v.complete and v.argument in ("smt", "enumeration", "linear-form")
    assert v.element == (0,) * 4 and "exact fallback answered" in v.stats["portfolio"]
    odd = random_integer_network(6, seed=1, family="odd")
    w = decide_portfolio(odd)
    assert w.answer == "two-subgradients" and w.complete and check(odd, w.certificate)


def test_min_sign_fact_is_the_rewrite_the_normal_form_does_not_undo():
    """Documented limit: the answer stays right (exact fallback or certified anyway), the normal form differs."""
    net = reduce(random_ksat(6, ratio=4.26, seed=1, index=0))
    mats, C, _ = disguise(list(net.matrices), 0, kinds=["min-sign-fact"])
    dn = ReluNetwork(mats)
    assert normal_form(dn).signature() != normal_form(net).signature()
    v = decide_network(dn)
    truth = solve_formula(random_ksat(6, ratio=4.26, seed=1, index=0)).answer
    assert v.complete and v.answer == ("two-subgradients" if truth == "sat" else "singleton")


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(networks())
def test_the_portfolio_never_contradicts_exact_enumeration(net):
    """No wrong verdict: on small random integer networks the default decider (normal form, lattice
    reading, certified classes, exact fallback) agrees with exact region enumeration."""
    from nsad.solvers.network.exhaustive import count_sign_changing_units

    if count_sign_changing_units(net) > 10:
        return
    truth = decide_network(net, "exhaustive")
    v = decide_network(net)
    assert truth.complete and v.complete
    assert v.answer == truth.answer
    if v.answer == "singleton":
        assert tuple(map(Fraction, v.element)) == tuple(map(Fraction, truth.element))
    else:
        assert check(net, v.certificate)


def _same_program_function(p, q, n, rng):
    """Two programs agree: same certified class, same values on the grid (n <= 3) and random points."""
    assert (p is None) == (q is None)
    if p is None:
        return
    assert (certify(p) is None) == (certify(q) is None)
    if certify(p) is not None:
        assert certify(p).kind == certify(q).kind
    for x in _points(n, rng, 8):
        assert p.evaluate_exact(x) == q.evaluate_exact(x)


@SETTINGS
@given(networks(), st.integers(0, 2**31))
def test_the_vectorised_lattice_reading_matches_the_reference(net, seed):
    """The vectorised elimination computes what the per-unit reference computes, class included."""
    nf = normal_form(net)
    _same_program_function(lattice_of_normal_form(nf), lattice_of_normal_form_reference(nf), net.n_inputs,
                           np.random.default_rng(seed))


@pytest.mark.parametrize("kinds", [None, INVERTED, ["min-sign-fact"], ["negate-unit", "permute"]])
def test_the_vectorised_lattice_reading_matches_the_reference_on_disguised_reductions(kinds):
    from nsad.solvers.network.encode_cnf import encode_grid_cnf

    rng = np.random.default_rng(1)
    for index in range(3):
        net = reduce(random_ksat(12, ratio=4.26, seed=5, index=index))
        mats = list(net.matrices) if kinds is None else disguise(list(net.matrices), index, kinds=kinds)[0]
        nf = normal_form(ReluNetwork(mats))
        p, q = lattice_of_normal_form(nf), lattice_of_normal_form_reference(nf)
        _same_program_function(p, q, 12, rng)
        if p is not None and certify(p) is not None and certify(p).kind == "relu-lattice":
            a = sorted(map(sorted, encode_grid_cnf(p, certify(p)).clauses))
            assert a == sorted(map(sorted, encode_grid_cnf(q, certify(q)).clauses))


def test_the_encoding_of_a_reduction_keeps_the_formula_s_clause_order():
    """The clauses read off the normal form of a reduction network come in the formula's order (the
    network's unit order), not in an order of hashes: the formula's clauses with some repeats left out."""
    from nsad.reductions.sat_to_relu import clean
    from nsad.solvers.network.encode_cnf import encode_grid_cnf
    from nsad.solvers.network.grid import prepare

    for index in range(6):
        cnf = random_ksat(40, ratio=4.26, seed=2, index=index)
        prep = prepare(reduce(cnf))
        assert prep.stats["path"] == "normal-form"
        got = [tuple(sorted(c)) for c in encode_grid_cnf(prep.program, prep.grid).clauses]
        want = [tuple(sorted(c)) for c in clean(cnf).clauses]
        assert set(got) == set(want)
        it = iter(want)
        assert all(any(c == w for w in it) for c in got)   # got is a subsequence of want


# -- the small-array paths of the normal form against the general ones -----------------------------
@st.composite
def csr_rows(draw):
    """A CSR-like (ptr, col, val) with empty rows allowed, columns < 6."""
    cnt = draw(st.lists(st.integers(0, 4), min_size=0, max_size=8))
    ptr = np.concatenate([[0], np.cumsum(cnt)]).astype(np.int64)
    nnz = int(ptr[-1])
    col = np.array(draw(st.lists(st.integers(0, 5), min_size=nnz, max_size=nnz)), dtype=np.int64)
    val = np.array(draw(st.lists(st.integers(-3, 3), min_size=nnz, max_size=nnz)), dtype=np.int64)
    return ptr, col, val


@SETTINGS
@given(csr_rows(), st.integers(0, 6))
def test_the_one_pass_row_reductions_match_a_row_by_row_reading(csr, n):
    from nsad.solvers.network.normal_form import _float_rows, _nonempty_reduceat, _row_signs

    ptr, col, val = csr
    segs = [(col[a:b], val[a:b]) for a, b in zip(ptr[:-1], ptr[1:])]
    units, pos, neg = _row_signs(col, val, ptr, n)
    assert units.tolist() == [bool(np.all(c >= n)) for c, _ in segs]
    assert pos.tolist() == [bool(np.all(v > 0)) for _, v in segs]
    assert neg.tolist() == [bool(np.all(v < 0)) for _, v in segs]
    g = _nonempty_reduceat(np.gcd, np.abs(val), ptr, 1)
    assert g.tolist() == [int(np.gcd.reduce(np.abs(v))) if v.size else 1 for _, v in segs]
    X = np.random.default_rng(n).standard_normal((6, 5))
    R = sp.csr_array((val.astype(np.float64), col, ptr), shape=(ptr.size - 1, 6))
    assert np.allclose(_float_rows(ptr, col, val, X), R @ X, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(csr_rows())
def test_hash_groups_are_confirmed_like_a_full_comparison(csr):
    from nsad.solvers.network.normal_form import _same_as_first, _segment_equal

    ptr, col, val = csr
    m = ptr.size - 1
    rng = np.random.default_rng(m)
    first = np.arange(m)
    inv = np.arange(m)
    if m:   # an arbitrary grouping (as a colliding hash would give): each row points to a row <= it
        inv = np.array([int(rng.integers(0, i + 1)) for i in range(m)])
    ids = np.arange(m)
    assert _same_as_first(ptr, col, val, first, inv) == bool(_segment_equal(ptr, col, val, ids, ptr, col, val, first[inv]).all())


@pytest.mark.parametrize("kinds", [None, INVERTED])
def test_the_small_product_path_does_not_change_the_normal_form(kinds):
    """The float filter's small products (gather and reduce) and scipy's products select the same
    rows: normal forms are equal with either path forced, on reductions and disguised reductions."""
    import nsad.solvers.network.normal_form as NF

    saved = NF._SMALL_PRODUCT
    for index in range(3):
        net = reduce(random_ksat(10, ratio=4.26, seed=7, index=index))
        if kinds is not None:
            net = ReluNetwork(disguise(list(net.matrices), index, kinds=kinds)[0])
        forms = []
        for threshold in (-1, saved, 1 << 62):
            NF._SMALL_PRODUCT = threshold
            try:
                forms.append(normal_form(net))
            finally:
                NF._SMALL_PRODUCT = saved
        a = forms[0]
        for b in forms[1:]:
            assert b.signature() == a.signature() and b.factor == a.factor
            assert np.array_equal(b.origins, a.origins) and np.array_equal(b.output, a.output)


@SETTINGS
@given(networks())
def test_the_small_product_path_does_not_change_the_normal_form_of_random_networks(net):
    import nsad.solvers.network.normal_form as NF

    saved = NF._SMALL_PRODUCT
    try:
        NF._SMALL_PRODUCT = -1
        a = normal_form(net)
    finally:
        NF._SMALL_PRODUCT = saved
    b = normal_form(net)
    assert b.signature() == a.signature() and b.factor == a.factor
