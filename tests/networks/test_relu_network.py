"""ReluNetwork: validation, float vs exact evaluation, exact gradients, files, certificates."""

from __future__ import annotations

import io
import zipfile
from fractions import Fraction
from itertools import product

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nsad.errors import LimitError
from nsad.networks import Certificate, NetworkError, ReluNetwork, check


def abs_net():
    return ReluNetwork([[[1], [-1]], [[1, 1]]])


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "mats, msg",
    [
        ([], "at least one matrix"),
        ([np.eye(2), np.ones((1, 3))], "do not chain"),
        ([np.array([[np.nan, 1.0]])], "non-finite"),
        ([np.array([[np.inf]])], "non-finite"),
        ([np.zeros((0, 2))], "empty shape"),
        ([np.array([["a", "b"]])], "unsupported dtype"),
        ([np.ones((2, 2, 2))], "2-dimensional"),
    ],
)
def test_validation_errors(mats, msg):
    with pytest.raises(NetworkError, match=msg):
        ReluNetwork(mats)


def test_require_scalar():
    net = ReluNetwork([np.eye(2)])
    with pytest.raises(NetworkError, match="scalar network is required.*2 rows"):
        net.require_scalar()
    assert abs_net().require_scalar() is not None


def test_integer_dtype_and_immutability():
    net = ReluNetwork([np.array([[1.0, -1.0, 0.0]]), ])
    assert net.is_integer and net.matrices[0].dtype == np.int64
    assert net.matrices[0].nnz == 2  # explicit zeros dropped
    with pytest.raises(ValueError):
        net.matrices[0].data[0] = 5
    with pytest.raises(AttributeError):
        net.foo = 1
    half = ReluNetwork([np.array([[0.5]])])
    assert not half.is_integer


def test_describe():
    d = ReluNetwork([sp.csr_array(np.array([[1, 0], [0, -1], [1, 1]])), np.array([[1, 1, -1]])]).describe()
    assert d == {
        "inputs": 2, "outputs": 1, "depth": 2, "widths": [3, 1], "units": 3, "nnz": 7,
        "integer": True, "weight_values": [-1, 1], "biases": False,
    }


# ---------------------------------------------------------------- evaluation and gradients


def random_int_net(rng, n=None, max_w=5, max_layers=3, wmax=2):
    n = n or int(rng.integers(1, 5))
    w = [n] + [int(v) for v in rng.integers(1, max_w + 1, size=int(rng.integers(1, max_layers + 1)))] + [1]
    return ReluNetwork([rng.integers(-wmax, wmax + 1, size=(w[i + 1], w[i])) for i in range(len(w) - 1)])


def brute_value(net, x):
    """Reference evaluation with Python Fractions on dense matrices."""
    h = [Fraction(v) for v in x]
    for k, M in enumerate(net.matrices):
        D = M.toarray()
        z = [sum(Fraction(D[i, j].item()) * h[j] for j in range(len(h))) for i in range(D.shape[0])]
        h = z if k == net.depth - 1 else [max(v, 0) for v in z]
    return h[0]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_float_exact_and_reference_agree(seed):
    rng = np.random.default_rng(seed)
    net = random_int_net(rng)
    pts = rng.integers(-20, 21, size=(5, net.n_inputs))
    floats = net.evaluate(pts)
    for x, f in zip(pts, floats):
        exact = net.evaluate_exact(x.tolist())
        assert exact == brute_value(net, x)
        assert f == pytest.approx(float(exact), abs=1e-9)
    q = [Fraction(int(v), 7) for v in pts[0]]
    assert net.evaluate_exact(q) == brute_value(net, q)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1))
def test_gradient_equals_exact_difference_quotients(seed):
    """At a generic integer point x, F(x + t e_i) - F(x) = t g_i for small t (exact, both sides)."""
    rng = np.random.default_rng(seed)
    net = random_int_net(rng)
    x = rng.integers(-1000, 1001, size=net.n_inputs)
    lin = net.linearize(x.tolist())
    if lin.gradient is None:
        return
    t = Fraction(1, 10**6)
    for i in range(net.n_inputs):
        for sign in (1, -1):
            xt = [Fraction(int(v)) for v in x]
            xt[i] += sign * t
            assert (net.evaluate_exact(xt) - lin.value) / (sign * t) == lin.gradient[i]


def test_identically_zero_unit_is_generic():
    # relu(x - x) is identically 0: x = 1 is generic even though that pre-activation is 0.
    net = ReluNetwork([np.array([[1], [1], [-1]]), np.array([[1, -1, 0], [0, 0, 1]]), np.array([[1, 1]])])
    lin = net.linearize([1])
    assert lin.generic and lin.gradient == (0,)
    assert net.linearize([-2]).gradient == (-1,)


def test_not_generic_reason_and_zero_point():
    lin = abs_net().linearize([0])
    assert lin.gradient is None and "layer 1, unit 0" in lin.reason
    assert abs_net().exact_gradient([5]) == (1,)


def test_exact_handles_huge_weights_without_overflow():
    big = 2**40
    net = ReluNetwork([[[big]], [[big]], [[big]], [[big]]])
    assert net.evaluate_exact([3]) == 3 * big**4
    assert net.linearize([3]).gradient == (big**4,)


def test_rational_weights_are_exact():
    net = ReluNetwork([np.array([[0.5, 0.25], [0.1, -1.0]]), np.array([[3.0, 1.0]])])
    x = [1, 2]
    expect = 3 * Fraction(1) + (Fraction(0.1) - 2 if Fraction(0.1) - 2 > 0 else 0)
    assert net.evaluate_exact(x) == expect
    assert net.linearize(x).gradient == (Fraction(3, 2), Fraction(3, 4))


def test_point_errors():
    with pytest.raises(NetworkError, match="1 coordinates but the network takes 2"):
        ReluNetwork([np.ones((1, 2))]).evaluate_exact([1])
    with pytest.raises(NetworkError, match="finite"):
        abs_net().evaluate_exact([float("nan")])
    with pytest.raises(NetworkError, match="2 coordinates|coordinates"):
        ReluNetwork([np.ones((1, 2))]).evaluate(np.ones((3, 3)))


def test_vector_network_jacobian():
    net = ReluNetwork([np.array([[1, 0], [0, 1]]), np.array([[1, 0], [1, 1]])])
    lin = net.linearize([2, -1])
    assert lin.value == (2, 2) and lin.gradient == ((1, 0), (1, 0))


# ---------------------------------------------------------------- files


def test_save_load_round_trip_and_layout(tmp_path):
    rng = np.random.default_rng(1)
    for _ in range(5):
        net = random_int_net(rng)
        p = tmp_path / "n.npz"
        net.save(p, layout="layers")
        assert ReluNetwork.load(p) == net
        with np.load(p, allow_pickle=False) as z:
            assert int(z["n_layers"]) == net.depth
            assert set(z.files) == {"n_layers"} | {f"M{k}_{q}" for k in range(1, net.depth + 1)
                                                   for q in ("data", "indices", "indptr", "shape")}
        net.save(p)  # packed: the same members whatever the depth
        assert ReluNetwork.load(p) == net
        with np.load(p, allow_pickle=False) as z:
            assert set(z.files) == {"nsad_packed", "shapes", "kinds", "indptr", "indices", "data_int",
                                    "data_float", "bias_int", "bias_float"}
            assert z["nsad_packed"].tolist() == [1, net.depth, 0]
            assert z["shapes"].tolist() == [list(M.shape) for M in net.matrices]
    frac = ReluNetwork([np.array([[0.5, -1.25]]), np.array([[2]])])
    for layout in ("packed", "layers"):
        frac.save(tmp_path / "f.npz", layout=layout)
        assert ReluNetwork.load(tmp_path / "f.npz") == frac
    with pytest.raises(NetworkError, match="unknown network file layout"):
        frac.save(tmp_path / "g.npz", layout="zip")


def test_the_packed_layout_is_read_from_one_buffer_and_compressed_copies_too(tmp_path):
    """Files numpy re-saves (compressed or not, any member order) read the same."""
    net = ReluNetwork([[[1, -1], [2, 0]], [[0.5, 1]], [[3]]], biases=[[1, 0], [0.25], [-2]])
    p = tmp_path / "n.npz"
    net.save(p, provenance={"family": "test"})
    with np.load(p, allow_pickle=False) as z:
        arrays = {k: z[k] for k in reversed(z.files)}
    for compressed in (False, True):
        q = tmp_path / f"c{compressed}.npz"
        (np.savez_compressed if compressed else np.savez)(q, **arrays)
        assert ReluNetwork.load(q) == net


@pytest.mark.parametrize("change,message", [
    ({"nsad_packed": np.array([2, 2, 0])}, "version 2 is not supported"),
    ({"nsad_packed": np.array([1, 0, 0])}, "out of range"),
    ({"shapes": np.array([[2, 1]])}, "must be 2 x 2 integers"),
    ({"shapes": np.array([[2, 0], [1, 2]])}, "below 1"),
    ({"kinds": np.array([[0, 0], [2, 0]])}, "'kinds' must hold"),
    ({"indptr": np.array([0, 1, 2, 0])}, "'indptr' has 4 entries, expected 5"),
    ({"indptr": np.array([0, 1, 5, 0, 2])}, "row pointer|does not fit"),
    ({"data_int": np.array([1, 1, 1])}, "hold 3 weights"),
    ({"data_float": np.array([1.0])}, "hold 5 weights"),
    ({"indices": np.array([0, 0, 1, 0.0])}, "kind 'iu'"),
    ({"indices": np.array([0, 7, 0, 1])}, "column index outside"),
    ({"bias_int": np.array([1])}, "bias arrays hold 1 entries, expected 0"),
    ({"data_int": None}, "missing array 'data_int'"),
])
def test_packed_files_that_lie_are_refused_in_one_line(tmp_path, change, message):
    p = tmp_path / "n.npz"
    ReluNetwork([[[1], [-1]], [[1, 1]]]).save(p)
    with np.load(p, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    for k, v in change.items():
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v
    _write_npz(p, **arrays)
    with pytest.raises(NetworkError, match=message):
        ReluNetwork.load(p)


def test_packed_files_obey_the_limits(tmp_path):
    from nsad.errors import LimitError
    from nsad.limits import Limits

    p = tmp_path / "n.npz"
    ReluNetwork([[[1, 0, 2], [-1, 1, 0]], [[1, 1]], [[2]]]).save(p)
    for lim, name in ((Limits(max_depth=2), "max_depth"), (Limits(max_layer_width=2), "max_layer_width"),
                      (Limits(max_units=2), "max_units"), (Limits(max_nnz=5), "max_nnz")):
        with pytest.raises(LimitError, match=name):
            ReluNetwork.load(p, limits=lim)


def _write_npz(path, **arrays):
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


@pytest.mark.parametrize(
    "arrays, msg",
    [
        ({}, "n_layers"),
        ({"n_layers": np.array(1)}, "missing array 'M1_data'"),
        ({"n_layers": np.array(1), "M1_data": np.array([1]), "M1_indices": np.array([5]),
          "M1_indptr": np.array([0, 1]), "M1_shape": np.array([1, 2])}, "column index outside"),
        ({"n_layers": np.array(1), "M1_data": np.array([1, 1]), "M1_indices": np.array([0.0, 1.0]),
          "M1_indptr": np.array([0, 2]), "M1_shape": np.array([1, 2])}, "integer arrays"),
        ({"n_layers": np.array(1), "M1_data": np.array([1]), "M1_indices": np.array([0]),
          "M1_indptr": np.array([0, 2]), "M1_shape": np.array([1, 2])}, "row pointer"),
        ({"n_layers": np.array(1), "M1_data": np.array([np.nan]), "M1_indices": np.array([0]),
          "M1_indptr": np.array([0, 1]), "M1_shape": np.array([1, 2])}, "non-finite"),
        ({"n_layers": np.array(-3)}, "out of range"),
        ({"n_layers": np.array(2), "M1_data": np.array([1]), "M1_indices": np.array([0]),
          "M1_indptr": np.array([0, 1]), "M1_shape": np.array([1, 2]),
          "M2_data": np.array([1]), "M2_indices": np.array([0]),
          "M2_indptr": np.array([0, 1]), "M2_shape": np.array([1, 3])}, "do not chain"),
    ],
)
def test_load_rejects_bad_files(tmp_path, arrays, msg):
    p = tmp_path / "bad.npz"
    _write_npz(p, **arrays)
    with pytest.raises(NetworkError, match=msg):
        ReluNetwork.load(p)


def test_load_sums_duplicate_entries(tmp_path):
    p = tmp_path / "dup.npz"
    _write_npz(p, n_layers=np.array(1), M1_data=np.array([1, 1]), M1_indices=np.array([0, 0]),
               M1_indptr=np.array([0, 2]), M1_shape=np.array([1, 2]))
    assert ReluNetwork.load(p).matrices[0].toarray().tolist() == [[2, 0]]


def test_load_refuses_pickles(tmp_path):
    p = tmp_path / "pickle.npz"
    _write_npz(p, n_layers=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(NetworkError):
        ReluNetwork.load(p)


def test_load_missing_file(tmp_path):
    with pytest.raises(NetworkError, match="no such file"):
        ReluNetwork.load(tmp_path / "nope.npz")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_corrupted_files_raise_only_network_error(tmp_path, data):
    buf = io.BytesIO()
    np.savez(buf, n_layers=np.array(2), M1_data=np.array([1, -1]), M1_indices=np.array([0, 0]),
             M1_indptr=np.array([0, 1, 2]), M1_shape=np.array([2, 1]), M2_data=np.array([1, 1]),
             M2_indices=np.array([0, 1]), M2_indptr=np.array([0, 2]), M2_shape=np.array([1, 2]))
    raw = bytearray(buf.getvalue())
    mode = data.draw(st.sampled_from(["flip", "truncate", "garbage"]))
    if mode == "flip":
        for _ in range(data.draw(st.integers(1, 8))):
            i = data.draw(st.integers(0, len(raw) - 1))
            raw[i] = data.draw(st.integers(0, 255))
    elif mode == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    else:
        raw = bytearray(data.draw(st.binary(max_size=300)))
    p = tmp_path / "fuzz.npz"
    p.write_bytes(bytes(raw))
    try:
        net = ReluNetwork.load(p)
    except LimitError as exc:  # a flipped size beyond nsad.limits: refused from the declaration (issue 11)
        assert str(exc).startswith(f"{p}: ") and exc.limit
    except NetworkError as exc:
        assert str(exc)
    else:
        net.evaluate(np.ones(net.n_inputs))  # whatever loaded must be usable


def test_load_fuzz_zip_member_swap(tmp_path):
    """A valid zip whose member is not an .npy array."""
    p = tmp_path / "z.npz"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("n_layers.npy", b"not an array")
    with pytest.raises(NetworkError):
        ReluNetwork.load(p)


# ---------------------------------------------------------------- certificates


def test_certificate_json_round_trip_and_check():
    net = ReluNetwork([np.array([[0.5], [-1.0]]), np.array([[1, 1]])])
    cert = Certificate.from_points(net, [2], [-3])
    assert cert.gradients == ((Fraction(1, 2),), (-1,))
    js = cert.to_json()
    assert js == {"points": [[2], [-3]], "gradients": [["1/2"], [-1]]}
    assert Certificate.from_json(js) == cert
    assert check(net, cert)


def test_tampered_certificates_rejected():
    net = abs_net()
    good = Certificate.from_points(net, [3], [-2])
    assert check(net, good).ok
    wrong_grad = Certificate(good.points, ((2,), (-1,)))
    r = check(net, wrong_grad)
    assert not r and "gradient 1 is wrong" in r.reason
    kink = Certificate(((0,), (-2,)), ((1,), (-1,)))
    r = check(net, kink)
    assert not r and "not generic" in r.reason
    same = Certificate(((3,), (5,)), ((1,), (1,)))
    assert "equal" in check(net, same).reason
    dims = Certificate(((3, 1), (5, 1)), ((1, 0), (0, 1)))
    assert "coordinates" in check(net, dims).reason


@pytest.mark.parametrize(
    "obj",
    [{}, {"points": [[1]], "gradients": [[1], [2]]}, {"points": [[1], [2]], "gradients": [["x"], [1]]},
     {"points": [[0.5], [1]], "gradients": [[1], [2]]}, [1, 2], {"points": "ab", "gradients": []}],
)
def test_bad_certificate_json(obj):
    with pytest.raises(NetworkError):
        Certificate.from_json(obj)


def test_check_on_all_points_of_small_grid():
    """On |x1| + relu(x2 - x1): every pair of generic grid points with distinct gradients checks."""
    net = ReluNetwork([np.array([[1, 0], [-1, 0], [-1, 1]]), np.array([[1, 1, 1]])])
    gens = {}
    for x in product(range(-3, 4), repeat=2):
        g = net.exact_gradient(list(x))
        if g is not None:
            gens[x] = g
    assert set(gens.values()) == {(1, 0), (0, 1), (-1, 0), (-2, 1)}  # sign(x1) x [x2 > x1]
    (x1, g1), (x2, g2) = next((a, b) for a in gens.items() for b in gens.items() if a[1] != b[1])
    assert check(net, Certificate((x1, x2), (g1, g2))).ok


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.booleans(), st.booleans())
def test_reverse_mode_linearize_agrees_with_the_forward_jacobian(seed, dyadic, rational_point):
    """The reverse-mode path of linearize (one backward sweep carrying the output's gradient and the
    gradients of the pre-activations at 0) gives the forward Jacobian's answer: value, gradient, or
    the same kink reason, at integer and rational points full of ties."""
    rng = np.random.default_rng(seed)
    net = random_int_net(rng, max_layers=4, wmax=2)
    if dyadic:
        net = ReluNetwork([M.toarray() / 2 for M in net.matrices])
    for _ in range(4):
        x = rng.integers(-2, 3, size=net.n_inputs).tolist()
        if rational_point:
            x = [Fraction(v, 3) for v in x]
        fast = net.linearize(x)
        real = ReluNetwork._linearize_backward
        try:
            ReluNetwork._linearize_backward = lambda *a, **k: None
            slow = net.linearize(x)
        finally:
            ReluNetwork._linearize_backward = real
        assert (fast.value, fast.gradient, fast.reason) == (slow.value, slow.gradient, slow.reason)
