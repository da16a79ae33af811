"""Cross-checks of the exact fallbacks (nsad.solvers.network.fallback).

No brute force proves linearity, so the tests use (1) networks whose answer is known by
construction (hand-made identities, ``G - G``, the zero/odd families rebuilt here without the
project's code), (2) agreement of all methods on tiny random integer networks, (3) exact checks of
every witness, and (4) a rational grid as a *falsifier* of "linear" answers only.
"""
import itertools
import random
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp

from nsad.solvers.network import fallback as ef

try:
    import cvc5  # noqa: F401
    HAVE_CVC5 = True
except ImportError:  # optional: z3 is the SMT solver the project depends on
    HAVE_CVC5 = False

T = 30.0  # per call; every case here is tiny


def csr(a):
    return sp.csr_array(np.array(a, dtype=np.int64))


METHODS = {
    "z3": lambda m, a: ef.smt_linear(m, a, T),
    "z3-ite-onequery": lambda m, a: ef.smt_linear(m, a, T, encoding="ite", split=False),
    "enum-highs": lambda m, a: ef.enumerate_linear(m, a, T),
    "enum-z3": lambda m, a: ef.enumerate_linear(m, a, T, lp="z3"),
    "enum-z3inc": lambda m, a: ef.enumerate_linear(m, a, T, lp="z3inc"),
    "decompose-enum": lambda m, a: ef.decompose_linear(m, a, T),
    "decide_exact": lambda m, a: ef.decide_exact(m, T, a=a),
}
if HAVE_CVC5:
    METHODS["cvc5"] = lambda m, a: ef.smt_linear(m, a, T, backend="cvc5")


def check_answer(mats, a, ans):
    assert ans[0] in ("linear", "nonlinear"), ans
    if ans[0] == "nonlinear":
        w = ans[1]
        assert isinstance(w, tuple) and all(isinstance(v, Fraction) for v in w)
        assert all(abs(v) <= 1 for v in w)
        if a is None:
            a = ef.axis_vector(mats)[0]
        val = ef.evaluate_exact(mats, w) - sum(Fraction(ai) * wi for ai, wi in zip(a, w))
        assert val != 0


def grid_falsifier(mats, a, steps=4):
    """Is F - a.x zero on the grid {k/steps}^n?  (Not a proof; it only refutes 'linear'.)"""
    n = mats[0].shape[1]
    if a is None:
        a = ef.axis_vector(mats)[0]
    pts = [Fraction(k, steps) for k in range(-steps, steps + 1)]
    for x in itertools.product(pts, repeat=n):
        if ef.evaluate_exact(mats, x) != sum(Fraction(ai) * xi for ai, xi in zip(a, x)):
            return False
    return True


def all_answers(mats, a=None):
    out = {}
    for name, f in METHODS.items():
        ans = f(mats, a)
        check_answer(mats, a, ans)
        out[name] = ans[0]
    return out


# ------------------------------------------------------------------------------------------
# hand-made cases
# ------------------------------------------------------------------------------------------

def min_gadget():
    # relu(min(p, q)), p = 2 x2 - x1, q = x1 - x2;  min(p, q) = relu(p) - relu(-p) - relu(p - q)
    return [csr([[-1, 2], [1, -2], [-2, 3]]), csr([[1, -1, -1]]), csr([[1]])]


def test_min_gadget_values():
    mats = min_gadget()
    assert ef.evaluate_exact(mats, [Fraction(3, 4), Fraction(1, 2)]) == Fraction(1, 4)
    for x in itertools.product([-1, 0, 1], repeat=2):
        assert ef.evaluate_exact(mats, x) == 0
    a, b = ef.axis_vector(mats)
    assert a == [0, 0] and b == [0, 0]


@pytest.mark.parametrize("name", list(METHODS))
def test_min_gadget_nonlinear(name):
    mats = min_gadget()
    ans = METHODS[name](mats, None)
    check_answer(mats, None, ans)
    assert ans[0] == "nonlinear"


def test_abs_and_identity():
    # relu(x) - relu(-x) = x is linear; relu(x) + relu(-x) = |x| is not (a = F(e_1) = 1)
    lin = [csr([[1], [-1]]), csr([[1, -1]])]
    absx = [csr([[1], [-1]]), csr([[1, 1]])]
    assert set(all_answers(lin).values()) == {"linear"}
    assert set(all_answers(absx).values()) == {"nonlinear"}


def test_wrong_a_is_nonlinear():
    lin = [csr([[1], [-1]]), csr([[1, -1]])]
    for f in METHODS.values():
        ans = f(lin, [Fraction(2)])
        check_answer(lin, [Fraction(2)], ans)
        assert ans[0] == "nonlinear"


def test_dyadic_floats_match_integers():
    mats = min_gadget()
    fl = [sp.csr_array(mats[0].toarray() * 0.5), sp.csr_array(mats[1].toarray() * 0.25), sp.csr_array(mats[2].toarray() * 3.0)]
    assert ef.evaluate_exact(fl, [Fraction(3, 4), Fraction(1, 2)]) == Fraction(3, 32)
    ans = all_answers(fl)
    assert set(ans.values()) == {"nonlinear"}
    zero = zero_family(3, random.Random(5))
    flz = [sp.csr_array(m.toarray() * s) for m, s in zip(zero, (0.5, 0.125, 1.5))]
    assert set(all_answers(flz).values()) == {"linear"}


def test_lattice_identity_linear():
    # relu(x1 - x2) - relu(x2 - x1) - relu(x1) + relu(-x1) + relu(x2) - relu(-x2) = 0
    mats = [csr([[1, -1], [-1, 1], [1, 0], [-1, 0], [0, 1], [0, -1]]), csr([[1, -1, -1, 1, 1, -1]])]
    assert set(all_answers(mats).values()) == {"linear"}
    # |a + b| + |a - b| = 2 max(|a|, |b|) with a = x1, b = x2, through a second layer
    assert set(all_answers(zero_family(2, random.Random(1))).values()) == {"linear"}


def test_decomposition_merges_overlapping_parts():
    # u1 = |x1| + |x2|, u2 = |x2| + |x3|, u3 = |x1|, u4 = |x3|;  F = u1 - u2 - u3 + u4 = 0, but the
    # parts {1,2} (u1 - u3 = |x2|) and {2,3} (u4 - u2 = -|x2|) are each nonlinear: they must merge.
    rows = []

    def absrow(i):
        r1 = [0, 0, 0]
        r1[i] = 1
        r2 = [0, 0, 0]
        r2[i] = -1
        return [r1, r2]

    blocks = [(0, 1), (1, 2), (0,), (2,)]
    col = 0
    M2 = np.zeros((4, 12), dtype=np.int64)
    for u, b in enumerate(blocks):
        for i in b:
            rows += absrow(i)
            M2[u, col:col + 2] = 1
            col += 2
    M1 = csr(rows)
    M2 = sp.csr_array(M2[:, :col])
    mats = [M1, M2, csr([[1, -1, -1, 1]])]
    st = {}
    ans = ef.decompose_linear(mats, None, T, stats=st)
    assert ans == ("linear", None)
    assert st["rounds"] >= 2
    # and with u4 dropped it is nonlinear (-|x3| remains), witness on the full network
    mats2 = [M1, M2, csr([[1, -1, -1, 0]])]
    ans2 = ef.decompose_linear(mats2, None, T)
    check_answer(mats2, None, ans2)
    assert ans2[0] == "nonlinear"


# ------------------------------------------------------------------------------------------
# families with known answers (rebuilt here, independent of the project's code)
# ------------------------------------------------------------------------------------------

def forms(rng, count, n, k=3):
    k = min(k, n)
    A = np.zeros((count, n), dtype=np.int64)
    for r in range(count):
        for c in rng.sample(range(n), k):
            A[r, c] = rng.choice([-2, -1, 1, 2])
    return A


def zero_family(n, rng):
    """sum_j |a_j + b_j| + |a_j - b_j| - 2 max(|a_j|, |b_j|) = 0 (the project's "zero" family)."""
    A, B = forms(rng, n, n), forms(rng, n, n)
    rows = []
    for z in (A + B, A - B, A, B):
        rows += [z, -z]
    M1 = np.vstack(rows)
    eye = np.eye(n, dtype=np.int64)
    pair = np.hstack([eye, eye])
    Z = np.zeros((n, 2 * n), dtype=np.int64)
    M2 = np.vstack([np.hstack([pair, Z, Z, Z]), np.hstack([Z, pair, Z, Z]),
                    np.hstack([Z, Z, pair, -pair]), np.hstack([Z, Z, Z, pair])])
    ones = np.ones((1, n), dtype=np.int64)
    M3 = np.hstack([ones, ones, -2 * ones, -2 * ones])
    return [csr(M1), csr(M2), csr(M3)]


def odd_family(n, rng):
    """G(x) - G(-x): passes the axis test; nonlinear for these draws (checked by witnesses)."""
    M1 = forms(rng, 2 * n, n)
    G2 = np.array([[rng.choice([-2, -1, 0, 0, 0, 1, 2]) for _ in range(2 * n)] for _ in range(n)])
    G3 = np.array([[rng.choice([-2, -1, 1, 2]) for _ in range(n)]])
    Z = np.zeros_like(G2)
    return [csr(np.vstack([M1, -M1])), csr(np.block([[G2, Z], [Z, G2]])), csr(np.hstack([G3, -G3]))]


@pytest.mark.parametrize("n,seed", [(2, 0), (2, 1), (3, 0), (3, 1), (3, 2)])
def test_zero_family_linear(n, seed):
    mats = zero_family(n, random.Random(seed))
    assert set(all_answers(mats).values()) == {"linear"}


@pytest.mark.parametrize("n,seed", [(2, 0), (3, 0), (3, 1), (4, 0)])
def test_odd_family_agree(n, seed):
    mats = odd_family(n, random.Random(seed))
    a, b = ef.axis_vector(mats)
    assert all(x + y == 0 for x, y in zip(a, b))
    ans = all_answers(mats)
    assert len(set(ans.values())) == 1, ans
    if ans["z3"] == "linear":
        assert grid_falsifier(mats, None)


def test_g_minus_g_linear():
    rng = random.Random(7)
    mats = random_network(rng, 3, [4, 3])
    M1, M2, M3 = [m.toarray() for m in mats]
    Z = np.zeros_like(M2)
    big = [csr(np.vstack([M1, M1])), csr(np.block([[M2, Z], [Z, M2]])), csr(np.hstack([M3, -M3]))]
    assert set(all_answers(big).values()) == {"linear"}


def test_zero_family_decomposition_large():
    mats = zero_family(40, random.Random(3))
    st = {}
    assert ef.decide_exact(mats, 120, stats=st) == ("linear", None)
    assert st["max_part_inputs"] <= 12


# ------------------------------------------------------------------------------------------
# tiny random networks: all methods agree, witnesses exact, "linear" not refuted by a grid
# ------------------------------------------------------------------------------------------

def random_network(rng, n, widths, vals=(-2, -1, 0, 0, 1, 2)):
    mats, prev = [], n
    for w in widths + [1]:
        mats.append(csr([[rng.choice(vals) for _ in range(prev)] for _ in range(w)]))
        prev = w
    return mats


def symmetrize(mats):
    """F(x) - F(-x): passes the axis test, so the question is not settled by it."""
    M = [m.toarray() for m in mats]
    out = [np.vstack([M[0], -M[0]])]
    for k in range(1, len(M) - 1):
        Z = np.zeros_like(M[k])
        out.append(np.block([[M[k], Z], [Z, M[k]]]))
    out.append(np.hstack([M[-1], -M[-1]]))
    return [csr(m) for m in out]


@pytest.mark.parametrize("seed", range(25))
def test_random_tiny_agree(seed):
    rng = random.Random(1000 + seed)
    n = rng.choice([1, 2, 3])
    depth = rng.choice([1, 2, 3])
    widths = [rng.randint(1, 4) for _ in range(depth)]
    mats = random_network(rng, n, widths)
    if seed % 2:
        mats = symmetrize(mats)
    ans = all_answers(mats)
    assert len(set(ans.values())) == 1, ans
    if ans["z3"] == "linear":
        assert grid_falsifier(mats, None, steps=4 if n <= 2 else 2)
