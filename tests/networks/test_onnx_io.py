"""ONNX export/import: exact round trips, onnxruntime agreement, clear errors."""

from __future__ import annotations

import itertools
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from nsad.networks import NetworkError, ReluNetwork  # noqa: E402
from nsad.networks import onnx_io  # noqa: E402
from nsad.networks.onnx_io import (  # noqa: E402
    OPSET, OnnxUnavailableError, evaluate_onnx, from_onnx, load_onnx, save_onnx, to_onnx)


@st.composite
def integer_networks(draw, max_depth=4, max_width=5, wmax=3):
    depth = draw(st.integers(1, max_depth))
    widths = [draw(st.integers(1, max_width)) for _ in range(depth)]
    widths[-1] = draw(st.integers(1, 2))
    n = draw(st.integers(1, max_width))
    mats, prev = [], n
    for w in widths:
        vals = draw(st.lists(st.integers(-wmax, wmax), min_size=w * prev, max_size=w * prev))
        mask = draw(st.lists(st.booleans(), min_size=w * prev, max_size=w * prev))
        mats.append((np.array(vals) * np.array(mask)).reshape(w, prev))
        prev = w
    return ReluNetwork(mats)


@settings(max_examples=40, deadline=None)
@given(integer_networks(), st.sampled_from(["matmul", "gemm"]), st.sampled_from([None, 1]))
def test_round_trip_is_exact_for_integer_networks(net, op, batch):
    model = to_onnx(net, op=op, batch=batch)
    assert model.opset_import[0].version == OPSET
    back = from_onnx(model.SerializeToString())
    assert back == net
    assert back.is_integer


@settings(max_examples=15, deadline=None)
@given(integer_networks(max_depth=3, max_width=4), st.integers(0, 2**31 - 1))
def test_onnxruntime_agrees_with_F(net, seed):
    rng = np.random.default_rng(seed)
    model = to_onnx(net)
    X = rng.uniform(-1, 1, size=(7, net.n_inputs))
    Y = evaluate_onnx(model, X)
    ref = net.evaluate(X).reshape(7, -1)
    np.testing.assert_allclose(Y, ref, rtol=1e-5, atol=1e-4)
    # integer points of a small network: float32 arithmetic is exact, so outputs are equal
    P = rng.integers(-3, 4, size=(9, net.n_inputs))
    exact = np.array([np.atleast_1d(net.evaluate_exact(p.tolist())) for p in P], dtype=np.float64)
    assert np.array_equal(evaluate_onnx(model, P.astype(float)), exact)


def test_reduction_network_export_is_exact_on_the_cube():
    from nsad.instances import random_ksat
    from nsad.reductions.sat_to_relu import reduce

    cnf = random_ksat(5, m=18, seed=3)
    net = reduce(cnf)
    model = to_onnx(net)
    assert model.graph.initializer[0].data_type == TensorProto.FLOAT
    pts = np.array(list(itertools.product((-1, 0, 1), repeat=5)), dtype=float)
    exact = np.array([net.evaluate_exact(p.astype(int).tolist()) for p in pts], dtype=float)
    assert np.array_equal(evaluate_onnx(model, pts).ravel(), exact)
    assert from_onnx(model) == net


def test_float_weights_choose_float64_and_round_trip():
    net = ReluNetwork([[[0.1, -0.25], [1.5, 2.0]], [[1.0, -1 / 3]]])
    model = to_onnx(net)
    assert model.graph.initializer[0].data_type == TensorProto.DOUBLE
    assert from_onnx(model) == net
    np.testing.assert_allclose(evaluate_onnx(model, [[0.3, -0.7]]).ravel(), [net.evaluate([0.3, -0.7])])
    net32 = ReluNetwork([[[0.5, -0.25]], ])
    assert to_onnx(net32).graph.initializer[0].data_type == TensorProto.FLOAT
    assert from_onnx(to_onnx(net32, dtype="float64")) == net32
    with pytest.raises(NetworkError, match="not exactly representable in float32"):
        to_onnx(net, dtype="float32")
    with pytest.raises(NetworkError, match="unsupported ONNX weight type"):
        to_onnx(net, dtype="int8")


def test_export_options_are_validated():
    net = ReluNetwork([[[1, -1]]])
    with pytest.raises(NetworkError, match="batch"):
        to_onnx(net, batch=0)
    with pytest.raises(NetworkError, match="operator"):
        to_onnx(net, op="conv")
    with pytest.raises(NetworkError, match="ReluNetwork"):
        to_onnx([[1]])


def test_size_limit_gives_a_clear_error(monkeypatch):
    monkeypatch.setattr(onnx_io, "MAX_BYTES", 100)
    with pytest.raises(NetworkError, match="2 GB protobuf limit"):
        to_onnx(ReluNetwork([np.ones((10, 10)), np.ones((1, 10))]))


def test_save_and_load_files(tmp_path):
    net = ReluNetwork([[[1, -1], [0, 1]], [[1, 1]]])
    path = tmp_path / "net.onnx"
    size = save_onnx(net, path)
    assert size == path.stat().st_size and load_onnx(path) == net
    assert list(tmp_path.iterdir()) == [path]  # no temporary left behind
    (tmp_path / "junk.onnx").write_bytes(b"\x00\x01not a model\xff" * 3)
    with pytest.raises(NetworkError, match="junk.onnx"):
        load_onnx(tmp_path / "junk.onnx")
    with pytest.raises(NetworkError, match="no such file"):
        load_onnx(tmp_path / "missing.onnx")
    with pytest.raises(NetworkError, match="is a directory"):
        load_onnx(tmp_path)


# ---------------------------------------------------------------------------- hand-built graphs
def _graph(nodes, inits, n=2, out=1, in_dims=None, elem=TensorProto.FLOAT):
    g = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("X", elem, in_dims or ["b", n])],
        [helper.make_tensor_value_info("Y", elem, ["b", out])],
        [numpy_helper.from_array(np.asarray(v, dtype=np.float32 if elem == TensorProto.FLOAT else np.float64), k)
         for k, v in inits.items()],
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=onnx_io.IR_VERSION)


def test_import_gemm_transb_alpha_and_zero_bias():
    W = np.array([[1, 2], [-1, 0]])  # Gemm without transB: Y = X @ W, so M = alpha * W^T
    m = _graph([helper.make_node("Gemm", ["X", "W", "C"], ["H0"], name="g1", alpha=2.0),
                helper.make_node("Relu", ["H0"], ["H"]),
                helper.make_node("Gemm", ["H", "V"], ["Y"], name="g2", transB=1, beta=0.0)],
               {"W": W, "C": [0, 0], "V": [[1, 1]]})
    assert from_onnx(m) == ReluNetwork([2 * W.T, [[1, 1]]])


def test_import_add_of_two_branches_relu_on_input_and_output_constant_weights():
    A = np.array([[1, 0], [0, 1]])
    B = np.array([[0, 1], [1, 0]])
    nodes = [
        helper.make_node("Relu", ["X"], ["R0"]),                       # identity first layer
        helper.make_node("MatMul", ["R0", "A"], ["P"]),
        helper.make_node("Constant", [], ["B"], value=numpy_helper.from_array(B.astype(np.float32))),
        helper.make_node("MatMul", ["R0", "B"], ["Q"]),
        helper.make_node("Add", ["P", "Q"], ["S"], name="sum"),          # same layer: A^T + B^T
        helper.make_node("Sub", ["S", "Z"], ["S2"], name="zero_bias"),   # zero bias is fine
        helper.make_node("Relu", ["S2"], ["R1"]),
        helper.make_node("Relu", ["R1"], ["R2"]),                      # relu(relu(.)) = relu(.)
        helper.make_node("MatMul", ["R2", "V"], ["T"]),
        helper.make_node("Identity", ["T"], ["T2"]),
        helper.make_node("Relu", ["T2"], ["Y"]),                       # identity last layer
    ]
    m = _graph(nodes, {"A": A, "Z": [0, 0], "V": [[1], [-1]]})
    net = from_onnx(m)
    assert net == ReluNetwork([np.eye(2, dtype=int), (A + B).T, [[1, -1]], [[1]]])
    X = np.array([[0.5, -0.25], [1.0, 2.0]])
    np.testing.assert_allclose(evaluate_onnx(m, X).ravel(), net.evaluate(X), atol=1e-6)


def test_import_composes_integer_linear_maps_but_not_float_ones():
    m = _graph([helper.make_node("MatMul", ["X", "A"], ["P"]), helper.make_node("MatMul", ["P", "B"], ["Y"])],
               {"A": [[1, 1], [0, 1]], "B": [[1], [2]]})
    assert from_onnx(m) == ReluNetwork([[[3, 2]]])  # (X A) B = X (A B), A B = [[3], [2]]
    m = _graph([helper.make_node("MatMul", ["X", "A"], ["P"], name="mm1"),
                helper.make_node("MatMul", ["P", "B"], ["Y"], name="mm2")],
               {"A": [[0.1, 1], [0, 1]], "B": [[1], [2]]}, elem=TensorProto.DOUBLE)
    with pytest.raises(NetworkError, match="node 'mm2'.*would round"):
        from_onnx(m)


@pytest.mark.parametrize(
    "nodes, inits, match",
    [
        ([helper.make_node("MatMul", ["X", "W"], ["P"]), helper.make_node("Sigmoid", ["P"], ["Y"], name="sig")],
         {"W": [[1], [1]]}, "node 'sig' \\(Sigmoid\\): unsupported operator"),
        ([helper.make_node("MatMul", ["X", "W"], ["P"]), helper.make_node("Add", ["P", "b"], ["Y"], name="bias")],
         {"W": [[1], [1]], "b": [[0.5], [1.0]]}, "node 'bias' \\(Add\\): bias 'b' of shape \\(2, 1\\) does not broadcast"),
        ([helper.make_node("Conv", ["X", "W"], ["Y"], name="conv")], {"W": [[1], [1]]},
         "node 'conv' \\(Conv\\): unsupported operator"),
        ([helper.make_node("MatMul", ["X", "W"], ["P"]), helper.make_node("Add", ["P", "b"], ["Q"]),
          helper.make_node("MatMul", ["Q", "V"], ["Y"], name="mm2")],
         {"W": [[1], [1]], "b": [0.1], "V": [[3.0]]}, "node 'mm2'.*bias carried through a linear map would round"),
        ([helper.make_node("Reshape", ["X", "s"], ["Y"], name="rs")], {"s": [2, 1]}, "reshape to \\[2, 1\\]"),
        ([helper.make_node("MatMul", ["X", "W"], ["Y"], name="mm")],
         {"W": [[np.nan], [1]]}, "node 'mm' \\(MatMul\\): weight 'W' has non-finite values"),
        ([helper.make_node("MatMul", ["X", "W"], ["Y"], name="mm")],
         {"W": [[1], [1], [1]]}, "weight 'W' has shape \\(3, 1\\) but the input width is 2"),
        ([helper.make_node("MatMul", ["W", "X"], ["Y"], name="mm")],
         {"W": [[1], [1]]}, "weight is the left operand"),
        ([helper.make_node("MatMul", ["X", "X"], ["Y"], name="mm")], {}, "product of two data tensors"),
        ([helper.make_node("Gemm", ["X", "W"], ["Y"], name="fc", transA=1)], {"W": [[1], [1]]}, "transA"),
        ([helper.make_node("MatMul", ["X", "W"], ["P"]), helper.make_node("Relu", ["P"], ["H"]),
          helper.make_node("MatMul", ["H", "V"], ["Q"]), helper.make_node("Relu", ["Q"], ["H2"]),
          helper.make_node("MatMul", ["H", "V"], ["Q2"]), helper.make_node("Add", ["H2", "Q2"], ["R"], name="skip"),
          helper.make_node("MatMul", ["R", "U"], ["Y"])],
         {"W": [[1, 0], [0, 1]], "V": [[1, 0], [0, 1]], "U": [[1], [1]]}, "node 'skip' \\(Add\\): combines tensors of different layers"),
        ([helper.make_node("MatMul", ["X", "W"], ["P"]), helper.make_node("Relu", ["P"], ["H"]),
          helper.make_node("Relu", ["P"], ["H2"], name="branch"), helper.make_node("MatMul", ["H2", "U"], ["Y"])],
         {"W": [[1, 0], [0, 1]], "U": [[1], [1]]}, "node 'branch' \\(Relu\\): .*parallel branches"),
        ([helper.make_node("Gemm", ["X", "W"], ["Y"], name="fc", alpha=0.1)], {"W": [[0.3], [1]]}, "alpha"),
        ([helper.make_node("MatMul", ["X", "W"], ["Y"])], {"W": [[1], [1]]}, None),
    ],
)
def test_import_errors_name_the_node(nodes, inits, match):
    m = _graph(nodes, inits, elem=TensorProto.DOUBLE)
    if match is None:
        assert from_onnx(m) == ReluNetwork([[[1, 1]]])
        return
    with pytest.raises(NetworkError, match=match):
        from_onnx(m)


def test_import_rejects_bad_inputs_and_inexact_float_sums():
    m = _graph([helper.make_node("MatMul", ["X", "W"], ["Y"], name="mm")], {"W": [[1], [1]]}, in_dims=[1, 1, 2])
    with pytest.raises(NetworkError, match="node 'mm' \\(MatMul\\): the input has several feature dimensions; Flatten"):
        from_onnx(m)
    m = _graph([helper.make_node("MatMul", ["X", "W"], ["Y"])], {"W": [[1], [1]]}, in_dims=[2, 2])
    with pytest.raises(NetworkError, match="batch 1 or symbolic"):
        from_onnx(m)
    nodes = [helper.make_node("MatMul", ["X", "A"], ["P"]), helper.make_node("MatMul", ["X", "B"], ["Q"]),
             helper.make_node("Add", ["P", "Q"], ["Y"], name="sum")]
    inexact = _graph(nodes, {"A": [[1.0], [0.1]], "B": [[2.0**60], [0.0]]}, elem=TensorProto.DOUBLE)
    with pytest.raises(NetworkError, match="node 'sum'.*would round"):
        from_onnx(inexact)
    exact = _graph(nodes, {"A": [[0.5], [0.1]], "B": [[0.25], [0.0]]}, elem=TensorProto.DOUBLE)
    assert from_onnx(exact) == ReluNetwork([[[0.75, 0.1]]])
    with pytest.raises(NetworkError, match="ModelProto, bytes or a path"):
        from_onnx(42)


def test_missing_onnx_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(OnnxUnavailableError, match=r"pip install nsad\[onnx\]"):
        to_onnx(ReluNetwork([[[1]]]))


# -- biases, flattening, several outputs, public models ------------------------------------------------
def test_import_biases_of_gemm_add_sub_and_constants():
    W = np.array([[1.0, 2.0], [-1.0, 0.5]])
    m = _graph([helper.make_node("Gemm", ["X", "W", "C"], ["H0"], name="g1", transB=1, beta=0.5),
                helper.make_node("Relu", ["H0"], ["H"]),
                helper.make_node("MatMul", ["H", "V"], ["P"]),
                helper.make_node("Sub", ["P", "d"], ["Y"])],
               {"W": W, "C": [[1.0, -3.0]], "V": [[1.0], [1.0]], "d": 0.25})
    net = from_onnx(m)
    assert net == ReluNetwork([W, [[1, 1]]], biases=[[0.5, -1.5], [-0.25]])
    X = np.array([[0.5, -0.25], [1.0, 2.0], [4.0, 3.0]])
    np.testing.assert_allclose(evaluate_onnx(m, X).ravel(), net.evaluate(X), rtol=1e-6)
    const_minus = _graph([helper.make_node("MatMul", ["X", "W"], ["P"]), helper.make_node("Sub", ["c", "P"], ["Y"])],
                         {"W": [[1.0], [1.0]], "c": [2.0]})
    assert from_onnx(const_minus) == ReluNetwork([[[-1, -1]]], biases=[[2]])


@pytest.mark.parametrize("shape_node, in_dims", [
    (helper.make_node("Flatten", ["X"], ["F"], axis=1), [1, 1, 2]),
    (helper.make_node("Flatten", ["X"], ["F"], axis=1), ["b", 2, 1]),
    (helper.make_node("Reshape", ["X", "s"], ["F"]), [1, 2, 1]),
    (helper.make_node("Reshape", ["X", "s"], ["F"]), [1, 2]),
])
def test_import_flatten_and_reshape_of_the_input(shape_node, in_dims):
    nodes = [shape_node, helper.make_node("Gemm", ["F", "W", "C"], ["Y"], transB=1)]
    m = _graph(nodes, {"W": [[1.0, -2.0]], "C": [0.5]} | ({"s": [1, -1]} if shape_node.op_type == "Reshape" else {}),
               in_dims=in_dims)
    if shape_node.op_type == "Reshape":
        m.graph.initializer[-1].CopyFrom(numpy_helper.from_array(np.array([1, -1], dtype=np.int64), "s"))
    net = from_onnx(m)
    assert net == ReluNetwork([[[1, -2]]], biases=[[0.5]])
    np.testing.assert_allclose(evaluate_onnx(m, [[1.0, 3.0]]).ravel(), [-4.5])


def test_import_several_outputs_stack_rows():
    nodes = [helper.make_node("Gemm", ["X", "W", "C"], ["Z"], transB=1), helper.make_node("Relu", ["Z"], ["H"]),
             helper.make_node("Gemm", ["H", "A", "a"], ["Y"], transB=1),
             helper.make_node("Gemm", ["H", "B", "b"], ["Y2"], transB=1)]
    g = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 1]),
         helper.make_tensor_value_info("Y2", TensorProto.FLOAT, [1, 2])],
        [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in
         {"W": [[1, 0], [0, 1]], "C": [0, -1], "A": [[1, 1]], "a": [3], "B": [[1, 0], [0, -1]], "b": [0, 0.5]}.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=onnx_io.IR_VERSION)
    net = from_onnx(m)
    assert net.widths == (2, 3) and net.biases[-1].tolist() == [3.0, 0.0, 0.5]
    np.testing.assert_allclose(evaluate_onnx(m, [[2.0, 3.0], [0.0, 0.0]]), net.evaluate(np.array([[2.0, 3.0], [0.0, 0.0]])))


def test_export_round_trip_with_biases():
    net = ReluNetwork([[[1.0], [1.0]], [[1, 1]]], biases=[[-1, 0.5], [2]])
    for op in ("matmul", "gemm"):
        m = to_onnx(net, op=op)
        assert from_onnx(m) == net
        assert evaluate_onnx(m, [[3.0], [0.0]]).ravel().tolist() == [7.5, 2.5]


NEUROCODEBENCH = sorted((__import__("pathlib").Path(__file__).parents[1] / "data" / "neurocodebench" / "onnx").glob("*.onnx"))


def float32_bound(net, X):
    """A rigorous bound on |onnxruntime float32 - exact| at float32 points X (any summation order):
    gamma_{m} (|W| |h| + |b|) per layer, propagated (relu is 1-Lipschitz), u = 2^-24."""
    u = 2.0**-24
    H, E = X.T.astype(np.float64), np.zeros_like(X.T, dtype=np.float64)
    for k, (M, b) in enumerate(zip(net.matrices, net.bias_vectors())):
        A = abs(M).astype(np.float64)
        m = int(M.shape[1]) + 2
        gam = m * u / (1 - m * u)
        Z = M @ H + np.asarray(b, np.float64)[:, None]
        E = A @ E + gam * (A @ (np.abs(H) + E) + np.abs(np.asarray(b, np.float64))[:, None]) + 1e-30
        H = np.maximum(Z, 0) if k < net.depth - 1 else Z
    return E.T


@pytest.mark.parametrize("path", NEUROCODEBENCH, ids=lambda p: p.stem)
def test_neurocodebench_imports_and_matches_onnxruntime(path):
    """All twelve public NeuroCodeBench 'SAT ReLU' models (PyTorch exports: Gemm with bias, Relu, Gemm;
    input (1, n); two outputs): import, agree with onnxruntime within the float32 rounding bound on
    random points of [0, 1]^n, and exactly at binary points."""
    net = load_onnx(path)
    assert net.has_biases and net.depth == 2 and net.n_outputs == 2
    rng = np.random.default_rng(0)
    X = rng.random((16, net.n_inputs)).astype(np.float32).astype(np.float64)
    ours = np.array([[float(v) for v in net.evaluate_exact(x.tolist())] for x in X[:4]])
    ref = evaluate_onnx(path, X)
    assert np.all(np.abs(ref[:4] - ours) <= float32_bound(net, X[:4]))
    assert np.all(np.abs(ref - net.evaluate(X)) <= 2 * float32_bound(net, X))
    B = rng.integers(0, 2, (8, net.n_inputs))
    exact = np.array([[float(v) for v in net.evaluate_exact(b.tolist())] for b in B])
    assert np.array_equal(evaluate_onnx(path, B.astype(np.float64)), exact)
