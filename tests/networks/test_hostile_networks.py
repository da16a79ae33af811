"""Hostile network files and values found by the wave-3 fuzz campaign (packed and per-layer `.npz`
layouts, biases): each case a one-line NetworkError naming the file, never a wrapped C++ error, a
silently rounded weight or an arbitrary pick between two copies."""

from __future__ import annotations

import io
import warnings
import zipfile
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsad.networks import NetworkError, ReluNetwork

NET = ReluNetwork([np.ones((4, 2)), np.ones((1, 4))], biases=[[1, 0, -1, 2], [3]])
WRAP = [2**63 - 1, -2**63, -1]  # rises, falls by more than 2^63, rises: its int64 differences all wrap positive


def _arrays(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def _load_error(path) -> str:
    with pytest.raises(NetworkError) as exc:
        ReluNetwork.load(path)
    msg = str(exc.value)
    assert msg.startswith(str(path)) and "\n" not in msg
    return msg


@pytest.mark.parametrize("layout", ["packed", "layers"])
def test_row_pointer_whose_differences_wrap_around_int64_is_refused(tmp_path, layout):
    p = tmp_path / "n.npz"
    NET.save(p, layout=layout)
    a = _arrays(p)
    key = "indptr" if layout == "packed" else "M1_indptr"
    ptr = a[key].astype(np.int64)
    ptr[1:4] = WRAP
    a[key] = ptr
    np.savez(p, **a)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning on stderr either
        assert "not a valid CSR row pointer" in _load_error(p)


def test_packed_file_with_the_per_layer_members_too_is_refused(tmp_path):
    p, q = tmp_path / "p.npz", tmp_path / "l.npz"
    NET.save(p)
    ReluNetwork([[[5]]]).save(q, layout="layers")
    np.savez(p, **{**_arrays(p), **_arrays(q)})
    assert "both the packed layout" in _load_error(p)


def test_a_member_stored_twice_is_refused(tmp_path):
    p = tmp_path / "n.npz"
    NET.save(p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
        with zipfile.ZipFile(p, "a") as zf:
            buf = io.BytesIO()
            np.save(buf, np.array([1, 99, 1]))
            zf.writestr("nsad_packed.npy", buf.getvalue())
    assert "member 'nsad_packed' twice" in _load_error(p)


def test_float_wider_than_float64_is_refused_not_rounded(tmp_path):
    p = tmp_path / "n.npz"
    NET.save(p, layout="layers")
    a = _arrays(p)
    a["M1_data"] = a["M1_data"].astype(np.longdouble) + np.longdouble(2) ** -60
    np.savez(p, **a)
    if np.dtype(np.longdouble).itemsize <= 8:
        pytest.skip("longdouble is float64 on this platform")
    assert "wider than float64" in _load_error(p)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.one_of(st.integers(min_value=2**63, max_value=2**80), st.integers(min_value=-2**80, max_value=-2**63 - 1),
                 st.fractions().filter(lambda f: f.denominator & (f.denominator - 1) != 0)))
def test_weights_and_biases_never_rounded_silently(v):
    """An exact entry (an int beyond int64, a non-dyadic Fraction) is kept exactly or refused."""
    for mats, bs in (([[[v, 1]]], None), ([[[1]]], np.array([[v]], dtype=object))):
        try:
            net = ReluNetwork(mats, biases=bs)
        except NetworkError as exc:
            assert "\n" not in str(exc)
            continue
        got = net.matrices[0].toarray()[0, 0] if bs is None else net.biases[0][0]
        assert Fraction(got) == Fraction(v)


def test_int64_range_object_entries_stay_exact_integers():
    net = ReluNetwork(np.array([[[2**62 + 1, -3]]], dtype=object), biases=np.array([[2**60 + 1]], dtype=object))
    assert net.matrices[0].dtype == np.int64 and int(net.matrices[0].data[0]) == 2**62 + 1
    assert int(net.biases[0][0]) == 2**60 + 1


def test_fifo_named_npz_is_not_waited_on(tmp_path):
    import os

    p = tmp_path / "n.npz"
    os.mkfifo(p)
    assert "the file is empty" in _load_error(p)


@pytest.mark.parametrize("where", ["bias", "weight"])
def test_onnx_uint64_entries_beyond_int64_are_refused_not_wrapped(where):
    """uint64 2^64 - 1 cast to int64 is -1: with a bias of [2^64 - 1, 1] summed by a ones row, the
    network's bias silently became 0. Now the import refuses the tensor."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    from nsad.networks.onnx_io import from_onnx

    big = np.array([2**64 - 1, 1], np.uint64)
    W = numpy_helper.from_array(big.reshape(2, 1) if where == "weight" else np.ones((2, 1), np.float32), "W")
    nodes = [helper.make_node("MatMul", ["X", "W"], ["Y"])]
    inits = [W]
    if where == "bias":
        nodes = [helper.make_node("Add", ["X", "B"], ["A"]), helper.make_node("MatMul", ["A", "W"], ["Y"])]
        inits.append(numpy_helper.from_array(big, "B"))
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 2])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 1])], inits)
    with pytest.raises(NetworkError, match="entries beyond int64"):
        from_onnx(onnx.helper.make_model(g))
