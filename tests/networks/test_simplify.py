"""The exact simplifier (solvers.network.simplify) and the program value (solvers.network.program).

Every test that simplifies compares the program with the network by exact evaluation (ints and
Fractions) on the whole grid {-1, 0, 1}^n (small n) and on random rational points.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nsad.instances import Cnf, random_ksat
from nsad.networks import NetworkError, ReluNetwork
from nsad.solvers.network.program import MAX, SUM, Program, ProgramBuilder, ProgramError
from nsad.solvers.network.simplify import LATTICE, RELU_LATTICE, SimplifyError, certify, simplify
from nsad.reductions.sat_to_relu import clean, reduce, reference_value


def points(n: int, rng, k: int = 12, grid_max: int = 6) -> list:
    """The grid {-1,0,1}^n when small, plus random integer and rational points."""
    pts = [list(p) for p in itertools.product((-1, 0, 1), repeat=n)] if n <= grid_max else []
    pts += rng.integers(-9, 10, size=(k, n)).tolist()
    pts += [[Fraction(int(a), int(b)) for a, b in zip(rng.integers(-9, 10, size=n), rng.integers(1, 7, size=n))]
            for _ in range(k // 2)]
    return pts


def assert_same(net: ReluNetwork, p: Program, pts) -> None:
    for x in pts:
        assert p.evaluate_exact(x) == net.evaluate_exact(x), (x, str(p))


# ------------------------------------------------------------------------------------------------
# networks that compute docs/theory.md section 2's F in other valid ways
# ------------------------------------------------------------------------------------------------
def _lin(*terms):
    out: dict = {}
    for c, d in terms:
        for k, v in d.items():
            out[k] = out.get(k, 0) + c * v
    return {k: v for k, v in out.items() if v != 0}


def _gadget(kind: str, a: dict, b: dict | None, rng) -> tuple[list, list]:
    """Units (pre-activations over the previous units) and the weights of the value on them."""
    if kind == "carry":
        if rng.integers(2):
            return [a, _lin((-1, a))], [1, -1]
        return [_lin((2, a)), _lin((-2, a))], [0.5, -0.5]          # relu(2a) - relu(-2a) = 2a
    form = int(rng.integers(3))
    d_ab, d_ba, s = _lin((1, a), (-1, b)), _lin((1, b), (-1, a)), _lin((1, a), (1, b))
    if kind == "max":
        if form == 0:
            return [d_ab, b, _lin((-1, b))], [1, 1, -1]             # relu(a-b) + b
        if form == 1:
            return [d_ba, a, _lin((-1, a))], [1, 1, -1]             # mirror: relu(b-a) + a
        return [d_ab, d_ba, s, _lin((-1, s))], [0.5, 0.5, 0.5, -0.5]  # (|a-b| + a + b) / 2
    if form == 0:
        return [a, _lin((-1, a)), d_ab], [1, -1, -1]                # a - relu(a-b)
    if form == 1:
        return [b, _lin((-1, b)), d_ba], [1, -1, -1]                # mirror: b - relu(b-a)
    return [s, _lin((-1, s)), d_ab, d_ba], [0.5, -0.5, -0.5, -0.5]  # (a + b - |a-b|) / 2


def variant_network(cnf: Cnf, rng, scale: bool = True, permute: bool = True) -> ReluNetwork:
    """relu(min_j max_l lit) for a cleaned formula with m >= 1 and no empty clause, built with random
    gadget forms (theory, mirror, averaged), shuffled units and dyadic per-unit scalings."""
    c = clean(cnf)
    n = c.num_vars
    groups = [[{abs(l) - 1: 1 if l > 0 else -1} for l in clause] for clause in c.clauses]
    mats: list = []
    width = n

    def layer(ops):
        nonlocal width
        rows, outs = [], []
        for op in ops:
            units, coefs = _gadget(op[0], op[1], op[2] if len(op) > 2 else None, rng)
            base = len(rows)
            rows.extend(units)
            outs.append({base + j: w for j, w in enumerate(coefs)})
        s = rng.choice([1.0, 2.0, 4.0, 0.5], size=len(rows)) if scale else np.ones(len(rows))
        perm = rng.permutation(len(rows)) if permute else np.arange(len(rows))
        M = np.zeros((len(rows), width))
        for u, row in enumerate(rows):
            for k, v in row.items():
                M[perm[u], k] = v * s[u]
        mats.append(M)
        width = len(rows)
        return [{int(perm[u]): w / s[u] for u, w in o.items()} for o in outs]

    def pairs(vals, kind):
        ops = [(kind, vals[i], vals[i + 1]) for i in range(0, len(vals) - 1, 2)]
        if len(vals) % 2:
            ops.append(("carry", vals[-1]))
        return ops

    # clause maxima: every literal crosses a layer on its own
    while any(len(g) > 1 for g in groups) or not mats:
        ops, sizes = [], []
        for g in groups:
            o = pairs(g, "max")
            ops += o
            sizes.append(len(o))
        vals = layer(ops)
        groups, k = [], 0
        for sz in sizes:
            groups.append(vals[k:k + sz])
            k += sz
    vals = [g[0] for g in groups]
    while len(vals) > 1:
        vals = layer(pairs(vals, "min"))
    g = vals[0]
    M = np.zeros((1, width))
    for k, v in g.items():
        M[0, k] = v
    mats.append(M)
    mats.append(np.array([[1.0]]))
    return ReluNetwork(mats)


def formulas():
    rng = np.random.default_rng(7)
    out = [
        Cnf(3, [(1, -2, 3), (-1, 2), (3,), (2, 3, -1)]),
        Cnf(4, [(1, 2, 3, 4), (-1, -2, -3, -4), (1, -2, 3, -4, 1)]),     # a repeated literal
        Cnf(2, [(1,), (-1,)]),                                          # unsatisfiable
        Cnf(3, [(1, 2), (1, 2), (2, 1), (-3,)]),                        # repeated clauses
        Cnf(5, [(1, -1, 2), (3, 4, 5)]),                                # a tautology
    ]
    for n, m in ((3, 6), (4, 10), (5, 21), (6, 26)):
        for i in range(2):
            out.append(random_ksat(n, m=m, seed=3, index=i))
    out.append(Cnf(4, [tuple(int(v) for v in rng.choice([-4, -3, -2, -1, 1, 2, 3, 4], 2, replace=False)) for _ in range(9)]))
    return out


@pytest.mark.parametrize("cnf", formulas(), ids=lambda c: f"n{c.num_vars}m{c.num_clauses}")
def test_reduction_networks_simplify_exactly_into_the_certified_class(cnf):
    net = reduce(cnf)
    p = simplify(net)
    rng = np.random.default_rng(cnf.num_clauses)
    pts = points(cnf.num_vars, rng)
    assert_same(net, p, pts)
    for x in pts:
        assert p.evaluate_exact(x) == reference_value(cnf, x)
    g = certify(p)
    assert g is not None and g.kind == RELU_LATTICE
    # relu(min over the clauses of max over literals): max/min nodes only, at most one min
    kinds = [p.kind(i) for i in range(cnf.num_vars, cnf.num_vars + p.n_nodes)]
    assert "sum" not in kinds and kinds.count("min") <= 1


def test_reduction_program_is_the_formula():
    cnf = Cnf(4, [(1, -2, 3), (-1, 4), (2,), (3, 4, -2)])
    assert str(simplify(reduce(cnf))) == "relu(min(x2, max(-x1, x4), max(x1, -x2, x3), max(-x2, x3, x4)))"


@pytest.mark.parametrize("case", [
    (Cnf(2, []), "2*relu(x1) - x1"),                # m = 0: |x1| = 2 relu(x1) - x1
    (Cnf(2, [(1,), ()]), "0"),                      # an empty clause: F = 0
    (Cnf(3, [(1, -1), (2, -2)]), "2*relu(x1) - x1"),  # only tautologies
])
def test_special_formulas(case):
    cnf, text = case
    p = simplify(reduce(cnf))
    assert str(p).replace("max(x1, 0)", "relu(x1)") == text or _equal_on_grid(reduce(cnf), p)
    assert certify(p) is not None


def _equal_on_grid(net, p) -> bool:
    return all(p.evaluate_exact(list(x)) == net.evaluate_exact(list(x))
               for x in itertools.product((-1, 0, 1), repeat=net.n_inputs))


@pytest.mark.parametrize("seed", range(8))
def test_variants_permuted_rescaled_reordered_gadgets(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 6))
    cnf = random_ksat(n, m=int(rng.integers(2, 4 * n + 2)), k=min(3, n), seed=seed)
    net = variant_network(cnf, rng)
    pts = points(n, rng)
    for x in pts[:40]:  # the builder itself computes F
        assert net.evaluate_exact(x) == reference_value(cnf, x)
    p = simplify(net)
    assert_same(net, p, pts)
    g = certify(p)
    assert g is not None and g.kind == RELU_LATTICE, str(p)
    mins = [i for i in range(n, n + p.n_nodes) if p.kind(i) == "min"]
    assert len(mins) <= 1
    if mins:  # one operand per distinct clause at most
        assert len(p.operands(mins[0])) <= len(set(map(frozenset, clean(cnf).clauses)))


def test_variant_with_unit_clause_and_odd_counts():
    rng = np.random.default_rng(11)
    cnf = Cnf(4, [(1,), (2, -3), (1, 2, 3, 4, -1 * 2), (-4,), (3, -1, 2)])
    net = variant_network(cnf, rng)
    p = simplify(net)
    assert_same(net, p, points(4, rng))
    assert certify(p).kind == RELU_LATTICE


def test_non_dyadic_scaling_stays_exact_but_is_not_certified():
    # relu(3 (a - b)) with 1/3 on the next layer: the float 1/3 is not exactly 1/3
    net = ReluNetwork([[[3, -3], [0, 1], [0, -1]], [[1 / 3, 1, -1]], [[1]]])
    p = simplify(net)
    assert_same(net, p, points(2, np.random.default_rng(0)))
    assert p.scale.denominator > 1


def test_the_counterexample_is_not_certified():
    # F(x) = relu(min(2 x2 - x1, x1 - x2)): 0 on {-1,0,1}^2 but F(3/4, 1/2) = 1/4
    net = ReluNetwork([[[-1, 2], [1, -2], [-2, 3]], [[1, -1, -1]], [[1]]])
    p = simplify(net)
    assert all(p.evaluate_exact(list(x)) == 0 for x in itertools.product((-1, 0, 1), repeat=2))
    assert p.evaluate_exact([Fraction(3, 4), Fraction(1, 2)]) == Fraction(1, 4)
    assert certify(p) is None


def test_linear_and_zero_networks():
    p = simplify(ReluNetwork([[[1, 2], [-1, -2], [0, 3]], [[1, -1, 0]]]))   # carry of x1 + 2 x2, dead unit
    assert str(p) == "x1 + 2*x2"
    g = certify(p)
    assert g.terms == () and g.gradient_of_linear_part == (1, 2)
    p0 = simplify(ReluNetwork([[[1, 0]], [[0.0]]]))
    assert str(p0) == "0" and p0.evaluate_exact([3, 4]) == 0


def test_depth_one_and_scaled_output():
    assert str(simplify(ReluNetwork([[[2, -4]]]))) == "2 * (x1 - 2*x2)"
    p = simplify(ReluNetwork([[[1, -1]], [[0.25]]]))                        # relu(x1 - x2) / 4
    assert p.evaluate_exact([3, 1]) == Fraction(1, 2)
    assert certify(p).kind == LATTICE                                        # max(x1, x2) - x2


def test_errors():
    with pytest.raises(NetworkError):
        simplify(ReluNetwork([[[1], [-1]], [[1, 1], [1, 0]]]))              # two outputs
    big = 2**40
    with pytest.raises(SimplifyError):
        simplify(ReluNetwork([[[big], [-big]], [[big, big]], [[big]]]))


@st.composite
def integer_networks(draw):
    n = draw(st.integers(1, 4))
    depth = draw(st.integers(1, 6))  # layers: up to 5 hidden
    widths = [n] + [draw(st.integers(1, 5)) for _ in range(depth - 1)] + [1]
    mats = []
    for a, b in zip(widths[:-1], widths[1:]):
        vals = draw(st.lists(st.integers(-3, 3), min_size=a * b, max_size=a * b))
        mats.append(np.array(vals, dtype=np.int64).reshape(b, a))
    return mats


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(integer_networks(), st.integers(0, 2**16))
def test_random_integer_networks_are_preserved(mats, seed):
    net = ReluNetwork(mats)
    p = simplify(net)
    assert_same(net, p, points(net.n_inputs, np.random.default_rng(seed), k=8))


@settings(max_examples=25, deadline=None)
@given(integer_networks(), st.integers(0, 2**16))
def test_permuting_and_scaling_units_gives_the_same_program(mats, seed):
    """Positive per-unit scalings (powers of two) and unit permutations change nothing."""
    rng = np.random.default_rng(seed)
    net = ReluNetwork(mats)
    new = [np.asarray(M, dtype=np.float64) for M in mats]
    for k in range(len(new) - 1):
        w = new[k].shape[0]
        perm = rng.permutation(w)
        s = rng.choice([0.5, 1.0, 2.0, 8.0], size=w)
        new[k] = (new[k] * s[:, None])[perm]
        new[k + 1] = (new[k + 1] / s[None, :])[:, perm]
    p1, p2 = simplify(net), simplify(ReluNetwork(new))
    pts = points(net.n_inputs, rng, k=6)
    assert_same(net, p2, pts)
    assert p1.describe()["nodes"] == p2.describe()["nodes"]
    assert (certify(p1) is None) == (certify(p2) is None)


# ------------------------------------------------------------------------------------------------
# certify on hand-written programs
# ------------------------------------------------------------------------------------------------
def test_certify_classes():
    b = ProgramBuilder(3)
    t = b.max([(1, 0), (-1, 1)])
    assert certify(b.build(b.relu(b.min([(1, t), (1, 2)])))).kind == RELU_LATTICE
    b = ProgramBuilder(3)
    t = b.max([(2, 0), (-3, 1)])                                   # positive multiples: class (b) only
    assert certify(b.build(b.relu(t, weight=1))).kind == RELU_LATTICE
    b = ProgramBuilder(3)
    t = b.max([(2, 0), (-3, 1)])
    assert certify(b.build(b.sum([(1, t), (1, 2)]))) is None       # weighted, not under a relu
    b = ProgramBuilder(2)
    m1, m2 = b.max([(1, 0), (1, 1)]), b.min([(1, 0), (1, 1)])
    g = certify(b.build(b.sum([(1, m1), (1, m2), (-1, 0), (-1, 1)])))
    assert g.kind == LATTICE and len(g.terms) == 2
    b = ProgramBuilder(2)
    s = b.sum([(1, 0), (1, 1)])
    assert certify(b.build(b.relu(s))) is None                      # relu of a sum of coordinates
    b = ProgramBuilder(2)
    assert certify(b.build(b.sum([(-1, b.relu(0))]))).kind == LATTICE   # -relu(x1): not a positive sum


# ------------------------------------------------------------------------------------------------
# the program value
# ------------------------------------------------------------------------------------------------
def test_program_validation():
    with pytest.raises(ProgramError):
        Program(2, [SUM], [False], [0, 1], [2], [1], root=2)          # uses itself
    with pytest.raises(ProgramError):
        Program(2, [MAX], [False], [0, 0], [], [], root=2)            # empty max
    with pytest.raises(ProgramError):
        Program(2, [SUM], [True], [0, 1], [0], [1], root=2)           # zero flag on a sum
    with pytest.raises(ProgramError):
        Program(2, [MAX], [False], [0, 1], [0], [0], root=2)          # zero weight
    with pytest.raises(ProgramError):
        Program(2, [MAX], [False], [0, 1], [0], [1], root=5)
    with pytest.raises(ProgramError):
        Program(1, [], [], [0], [], [], root=0, scale=-1)


def test_program_evaluation_exact_float_and_big():
    b = ProgramBuilder(2)
    mn = b.min([(3, 0), (-1, 1)], zero=True)                         # min(3 x1, -x2, 0)
    p = b.build(b.sum([(2, mn), (1, 1)]), scale=Fraction(1, 3))
    for x in ([1, 2], [-1, 5], [Fraction(1, 7), Fraction(-2, 3)], [0, 0]):
        xs = [Fraction(v) for v in x]
        want = (2 * min(3 * xs[0], -xs[1], 0) + xs[1]) / 3
        assert p.evaluate_exact(x) == want
        assert p.evaluate(np.array([float(v) for v in xs])) == pytest.approx(float(want))
    big = [10**30, -(10**25)]
    assert p.evaluate_exact(big) == Fraction(2 * min(3 * 10**30, 10**25, 0) - 10**25, 3)
    assert p.evaluate_exact([[1, 2], [3, 4]]) == (p.evaluate_exact([1, 2]), p.evaluate_exact([3, 4]))
    with pytest.raises(ProgramError):
        p.evaluate_exact([1, 2, 3])
    with pytest.raises(ProgramError):
        p.evaluate_exact([1, float("nan")])


def test_program_linearize_and_kinks():
    b = ProgramBuilder(2)
    p = b.build(b.relu(b.min([(1, 0), (1, 1)])))                    # relu(min(x1, x2))
    assert p.linearize([3, 5]) == (3, (1, 0))
    assert p.linearize([-3, 5]) == (0, (0, 0))
    assert p.linearize([2, 2])[1] is None                            # min has a kink
    assert p.linearize([-2, -2]) == (0, (0, 0))                      # both below 0: no kink of relu
    with pytest.raises(ProgramError):
        p.linearize([[1, 2], [3, 4]])


def test_program_text_and_immutability():
    b = ProgramBuilder(2)
    t = b.max([(1, 0), (-1, 1)])
    p = b.build(b.sum([(1, t), (-2, t), (1, b.min([(1, t), (1, 0)], zero=True))]))
    assert str(p).splitlines()[0] == "t1 = max(x1, -x2)"
    assert p.describe()["kinds"] == {"sum": 1, "max": 1, "min": 1}
    with pytest.raises(AttributeError):
        p.root = 0
    with pytest.raises(ValueError):
        p.args[0] = 1
    assert p.kind(0) == "input" and p.kind(t) == "max"
    assert p.levels.tolist() == [0, 0, 1, 2, 3]


def test_cancelled_relu_of_a_sum_is_dropped_with_its_uses():
    """Flattening makes atoms 3, 5, 7 the same max; merging them cancels relu(9 m + 10 m - 19 m) to
    relu(0), a node with no operands that the output still named (regression: "node 3 uses id 8")."""
    net = ReluNetwork([np.array(m) for m in [
        [[-2, 1], [0, 0]], [[-1, 0], [2, 1], [-2, 0], [2, 2]], [[-1, -2, -2, 2], [-1, 1, 2, -1], [-1, -1, 2, 1]],
        [[2, 1, 2], [0, 1, -1], [1, 2, -2], [-1, -2, 2]], [[-1, 1, 0, -1]]]])
    p = simplify(net)
    assert_same(net, p, points(2, np.random.default_rng(0)))
