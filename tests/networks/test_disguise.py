"""Disguised networks (nsad.networks.disguise): F_disguised = C * F exactly, integer weights, growth
bound, determinism; and the normal form inverts the rewrites it claims to invert."""

from __future__ import annotations

import functools
import itertools
import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nsad.networks.disguise import (KINDS, apply_step, as_int_csr, describe_steps, disguise, network_size,  # noqa: E402
                      replay, rw_identity_layer, rw_negate_unit)
from nsad.instances import random_ksat, read_dimacs  # noqa: E402
from nsad.networks import ReluNetwork  # noqa: E402
from nsad.reductions.sat_to_relu import reduce  # noqa: E402

UF50 = Path(__file__).resolve().parents[1] / "data" / "satlib" / "uf50-01.cnf"
SETTINGS = settings(max_examples=20, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ------------------------------------------------------------------------------------------------
# exact evaluation (independent of disguise.py): integer batches, Python ints when int64 could overflow
# ------------------------------------------------------------------------------------------------
def eval_int_batch(mats, X: np.ndarray) -> list:
    """Exact ``F`` at the integer columns of ``X`` (shape ``(n, B)``), as Python ints."""
    H = np.asarray(X, dtype=np.int64)
    bound = int(np.max(np.abs(H))) if H.size else 0
    obj = False
    for k, M in enumerate(mats):
        row_abs = int(np.max(abs(M).sum(axis=1))) if M.nnz else 0
        bound *= max(row_abs, 1)
        if not obj and bound >= 2**62:
            obj = True
            H = H.astype(object)
        if obj:
            D = np.zeros(M.shape, dtype=object)
            D[...] = 0
            coo = sp.coo_array(M)
            for r, c, v in zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist()):
                D[r, c] += int(v)
            Z = D.dot(H)
        else:
            Z = np.asarray(M @ H)
        H = np.where(Z > 0, Z, 0) if k < len(mats) - 1 else Z
    return [int(v) for v in np.asarray(H).reshape(-1)]


def grid(n: int) -> np.ndarray:
    return np.array(list(itertools.product((-1, 0, 1), repeat=n)), dtype=np.int64).T


def random_rationals(rng, n: int, count: int) -> list:
    return [[Fraction(int(rng.integers(-40, 41)), int(rng.integers(1, 9))) for _ in range(n)] for _ in range(count)]


def check_exact(orig, new, C, rng, n_rational: int = 4, n_int: int = 24) -> None:
    """``F_new = C F_orig``: on {-1,0,1}^n (n <= 5; else {-1,1}^n for n <= 8), at random integer points
    (rational ones by homogeneity), and at random Fraction points with the toolkit's evaluate_exact."""
    n = orig[0].shape[1]
    if n <= 5:
        X = grid(n)
    elif n <= 8:
        X = np.array(list(itertools.product((-1, 1), repeat=n)), dtype=np.int64).T
    else:
        X = np.zeros((n, 0), dtype=np.int64)
    X = np.concatenate([X, rng.integers(-1000, 1001, size=(n, n_int))], axis=1)
    a, b = eval_int_batch(orig, X), eval_int_batch(new, X)
    bad = [i for i in range(len(a)) if b[i] != C * a[i]]
    assert not bad, f"F_new != C F at {X[:, bad[0]].tolist()}: {b[bad[0]]} vs {C} * {a[bad[0]]}"
    N0, N1 = ReluNetwork(orig), ReluNetwork(new)
    for x in random_rationals(rng, n, n_rational):
        assert N1.evaluate_exact(x) == C * N0.evaluate_exact(x), x


def check_result(orig, new, C, steps, max_growth, kinds=None) -> None:
    assert isinstance(C, int) and C >= 1
    for M in new:
        assert isinstance(M, sp.csr_array) and M.dtype == np.int64
    for k in range(1, len(new)):
        assert new[k].shape[1] == new[k - 1].shape[0]
    assert new[0].shape[1] == orig[0].shape[1] and new[-1].shape[0] == orig[-1].shape[0]
    u0, z0 = network_size(orig)
    u1, z1 = network_size(new)
    assert u1 <= max_growth * u0 and z1 <= max_growth * z0, (u0, u1, z0, z1)
    if kinds is not None:
        assert {s["kind"] for s in steps} <= set(kinds)
    # the record is exact and JSON-ready: replaying the JSON gives the same network and factor
    again, C2 = replay(orig, json.loads(json.dumps(steps)))
    assert C2 == C and same(again, new)
    assert isinstance(describe_steps(steps), str)


def same(a, b) -> bool:
    return len(a) == len(b) and all(x.shape == y.shape and (x != y).nnz == 0 for x, y in zip(a, b))


# ------------------------------------------------------------------------------------------------
# networks: reductions of random 3-SAT, and random small integer networks
# ------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def formula_net(n: int, m: int, seed: int) -> tuple:
    return tuple(as_int_csr(M) for M in reduce(random_ksat(n, m=m, seed=seed)).matrices)


@st.composite
def formula_nets(draw, n_max: int = 8):
    n = draw(st.integers(3, n_max))
    m = draw(st.integers(1, 5 * n))
    return list(formula_net(n, m, draw(st.integers(0, 50))))


@st.composite
def random_nets(draw):
    n = draw(st.integers(1, 5))
    depth = draw(st.integers(1, 4))
    widths = [n] + [draw(st.integers(1, 5)) for _ in range(depth - 1)] + [1]
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    mats = []
    for k in range(1, len(widths)):
        A = rng.integers(-3, 4, size=(widths[k], widths[k - 1])) * (rng.random((widths[k], widths[k - 1])) < 0.6)
        mats.append(as_int_csr(A))
    return mats


any_net = st.one_of(formula_nets(), random_nets())
seeds = st.integers(0, 2**32 - 1)


# ------------------------------------------------------------------------------------------------
# tests
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
@SETTINGS
@given(mats=any_net, seed=seeds, n_steps=st.integers(1, 4))
def test_each_kind_alone(kind, mats, seed, n_steps):
    new, C, steps = disguise(mats, seed, kinds=[kind], n_steps=n_steps)
    check_result(mats, new, C, steps, 2.0, kinds=[kind])
    check_exact(mats, new, C, np.random.default_rng(seed))


@SETTINGS
@given(mats=any_net, seed=seeds, n_steps=st.integers(1, 30), growth=st.sampled_from([1.0, 1.3, 2.0, 3.0]))
def test_random_compositions(mats, seed, n_steps, growth):
    new, C, steps = disguise(mats, seed, max_growth=growth, n_steps=n_steps)
    check_result(mats, new, C, steps, growth)
    check_exact(mats, new, C, np.random.default_rng(seed + 1))


@settings(max_examples=10, deadline=None, derandomize=True)
@given(mats=formula_nets(n_max=5), seed=seeds)
def test_budget_filled(mats, seed):
    """With no step limit the loop runs until the budget rejects: still exact and within bounds."""
    new, C, steps = disguise(mats, seed, n_steps=None, max_growth=1.5)
    check_result(mats, new, C, steps, 1.5)
    check_exact(mats, new, C, np.random.default_rng(seed), n_rational=2)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(mats=any_net, seed=seeds)
def test_deterministic(mats, seed):
    a = disguise(mats, seed, n_steps=10)
    b = disguise([M.copy() for M in mats], np.random.SeedSequence(seed), n_steps=10)
    c = disguise(mats, seed, n_steps=10)
    assert same(a[0], c[0]) and a[1] == c[1] and a[2] == c[2]
    assert same(a[0], b[0]) and a[2] == b[2]   # SeedSequence(seed) and seed give the same stream


def test_every_kind_gets_applied():
    mats = list(formula_net(5, 12, 3))
    for kind in KINDS:
        applied = sum(len(disguise(mats, s, kinds=[kind], n_steps=2)[2]) for s in range(5))
        assert applied > 0, kind


def test_growth_one_allows_only_size_neutral_rewrites():
    mats = list(formula_net(4, 10, 1))
    new, C, steps = disguise(mats, 5, max_growth=1.0, n_steps=40)
    assert {s["kind"] for s in steps} <= {"row-scale", "permute"}
    assert network_size(new) == network_size(mats)


def test_no_hidden_layer_is_unchanged():
    mats = [as_int_csr([[1, -2, 0]])]
    new, C, steps = disguise(mats, 0)
    assert same(new, mats) and C == 1 and steps == []


def test_float_integral_input_and_bad_input():
    mats = [np.array([[1.0], [-1.0]]), np.array([[1.0, 1.0]])]
    new, C, steps = disguise(mats, 3)
    check_exact([as_int_csr(M) for M in mats], new, C, np.random.default_rng(0))
    with pytest.raises(ValueError):
        disguise([np.array([[0.5]]), np.array([[1]])], 0)
    with pytest.raises(ValueError):
        disguise(mats, 0, kinds=["signed-input-permutation"])


def test_preconditions_of_the_sign_dependent_rewrites():
    """Rewrites that need h >= 0 refuse the inputs (which may be negative)."""
    mats = list(formula_net(3, 2, 0))
    with pytest.raises(ValueError):
        rw_identity_layer(mats, 0, [0])
    with pytest.raises(ValueError):
        rw_negate_unit(mats, 1, [0], pair=False)


def test_min_sign_fact_is_exact_by_itself_on_a_tiny_case():
    # F = relu(x1) + relu(x2): min-sign-fact on layer 1 with i=0, j=1
    mats = [as_int_csr([[1, 0], [0, 1]]), as_int_csr([[1, 1]])]
    new, C = replay(mats, [{"kind": "min-sign-fact", "layer": 1, "i": 0, "j": 1}])
    assert C == 1 and len(new) == 4
    X = np.concatenate([grid(2), np.random.default_rng(0).integers(-9, 10, (2, 50))], axis=1)
    assert eval_int_batch(new, X) == eval_int_batch(mats, X)


def test_rows_are_not_invertible_by_local_sign_facts():
    """Structure of min-sign-fact: after it, unit m = relu(h_i - d) has a mixed-sign row over ReLU
    outputs and is not parallel to d = relu(h_i - h_j): neither is dropped by section 3's rules."""
    mats = list(formula_net(4, 6, 2))
    k = 3
    new, _ = apply_step(mats, {"kind": "min-sign-fact", "layer": k, "i": 0, "j": 1})
    A, B = new[k].toarray(), new[k + 1].toarray()
    w = mats[k - 1].shape[0]
    assert A[w].tolist() == [1, -1] + [0] * (w - 2)
    row_m = B[0].tolist()
    assert row_m[0] == 1 and row_m[w] == -1 and sum(abs(v) for v in row_m) == 2


def test_uf50_measurement():
    mats = [as_int_csr(M) for M in reduce(read_dimacs(UF50)).matrices]
    u0, z0 = network_size(mats)
    rows = [f"uf50-01: original units={u0} nnz={z0} depth={len(mats)}"]
    for seed in range(5):
        new, C, steps = disguise(mats, seed)
        u1, z1 = network_size(new)
        assert u1 <= 2 * u0 and z1 <= 2 * z0
        check_exact(mats, new, C, np.random.default_rng(seed), n_rational=1, n_int=16)
        kinds = sorted({s["kind"] for s in steps})
        rows.append(f"  seed {seed}: units={u1} ({u1 / u0:.2f}x) nnz={z1} ({z1 / z0:.2f}x) depth={len(new)} "
                    f"C={C} steps={len(steps)} kinds={len(kinds)}")
    print("\n" + "\n".join(rows))
