"""ONNX export and import of ReLU networks (with or without biases).

Export (``to_onnx`` / ``save_onnx``) writes ``F(x) = M_L relu(... relu(M_1 x))`` as a chain of
ONNX nodes, one linear node per matrix and one ``Relu`` after every matrix but the last:

- opset ``OPSET`` (17) of the default domain, IR version ``IR_VERSION`` (8, readable by onnx >= 1.12
  and by the tools of VNN-COMP);
- graph input ``"X"`` of shape ``[batch, n]`` (``batch`` a symbolic dimension by default, or a fixed
  size), graph output ``"Y"`` of shape ``[batch, w_L]``;
- layer ``k`` is ``MatMul(H_{k-1}, W_k)`` with the dense initialiser ``W_k = M_k^T`` (shape
  ``(w_{k-1}, w_k)``), then ``Add(., B_k)`` for a network with biases, or with ``op="gemm"``
  ``Gemm(H_{k-1}, M_k, B_k, transB=1)`` (no bias input for a bias-free network);
- weights are float32 when every weight is exactly a float32 (weights in {-1, 0, 1} are), else float64;
  an explicit ``dtype`` that would round a weight is an error. The input and output have the same type.

ONNX keeps weights dense, and one ONNX file is one protobuf message, limited to 2 GB: the export
refuses networks whose dense weights exceed ``MAX_BYTES`` with a clear error. A reduction network of a
random 3-SAT formula with ``m`` clauses has about ``22 m^2`` dense entries (measured: 402 MB of float32
for ``m = 2130``), so formulas beyond about 4,900 clauses do not fit in one ONNX file.

Import (``from_onnx`` / ``load_onnx``) reads a graph into a ``ReluNetwork`` with biases
(``F(x) = M_L relu(... relu(M_1 x + b_1) ...) + b_L``) when the graph *is* a layered ReLU network.

Accepted:

- operators ``Gemm`` (``alpha``, ``beta``, ``transB``, optional ``C``; ``transA = 0``), ``MatMul``
  (data @ weight), ``Add`` / ``Sub`` (of a constant bias, or of two tensors of the same layer),
  ``Relu``, ``Identity``, ``Constant``, ``Flatten`` (``axis = 1``) and ``Reshape`` to ``[1, n]``,
  ``[-1, n]``, ``[0, n]``, ``[1, -1]``, ``[0, -1]``, ``[n]`` or ``[-1]`` (flattenings that keep the
  batch);
- one data input of shape ``[n]`` or ``[batch, d1, ..., dr]`` with ``batch`` 1 or symbolic and fixed
  ``d_i`` (features taken in C order, so a multi-dimensional input must be flattened before its first
  linear node);
- one or several graph outputs, each an affine map of the same last ReLU layer: their rows are stacked,
  in the graph's output order (``nsad decide --output K`` picks one);
- weights and biases of type float16/32/64 or integer: every finite float is a dyadic rational and
  converts to float64 without rounding, so the network is the ONNX graph's function exactly (float32
  weights stay exact; integral values become int64).

Every tensor is tracked as an affine map ``L h + c`` of the latest *layer boundary* (the input, or the
output of the latest ``Relu``); ``MatMul``/``Gemm`` compose a weight into ``L`` (and carry ``c``
through it), ``Add``/``Sub`` add maps or biases, ``Relu`` turns ``(L, c)`` into the next matrix and
bias. ``Relu`` of a ``Relu`` output is the identity; a ``Relu`` directly on the input gets an identity
first matrix; a ``Relu`` on the graph output gets an identity last matrix: all exact.

Refused, with a one-line ``NetworkError`` naming the node or initialiser: any other operator
(``Conv``, ``Sigmoid``, ``Concat``, ``BatchNormalization``, ...), skip connections and parallel
branches (tensors of different layers combined, outputs from different layers), a product of two data
tensors, per-example biases (a constant that does not broadcast to one vector), batch sizes other
than 1 or symbolic, non-finite weights, and any combination of non-integer weights that floating
point would round (two linear nodes with no ``Relu`` between them, ``alpha``/``beta`` scaling, sums of
biases: all checked to be exact, never rounded).

The round trip ``from_onnx(to_onnx(net)) == net`` is exact: float32 and float64 represent the
exported weights exactly and the import converts them back without rounding.

``onnx`` (and ``onnxruntime`` for ``evaluate_onnx``) are optional dependencies, imported lazily:
``pip install nsad[onnx]``.

>>> from nsad.networks import ReluNetwork
>>> net = ReluNetwork([[[1, -1], [1, 1]], [[1, 1]]])
>>> model = to_onnx(net)
>>> [node.op_type for node in model.graph.node]
['MatMul', 'Relu', 'MatMul']
>>> from_onnx(model) == net
True
>>> float(evaluate_onnx(model, [[2.0, 1.0]])[0, 0])      # relu(2 - 1) + relu(2 + 1)
4.0
"""

from __future__ import annotations

import math
import os
from fractions import Fraction
import numpy as np
import scipy.sparse as sp

from nsad.networks.relu_network import NetworkError, ReluNetwork

__all__ = [
    "OPSET",
    "IR_VERSION",
    "MAX_BYTES",
    "OnnxUnavailableError",
    "to_onnx",
    "save_onnx",
    "from_onnx",
    "load_onnx",
    "evaluate_onnx",
    "onnx_dtype",
]

OPSET = 17
IR_VERSION = 8
#: Largest dense weight payload written to one ONNX file (protobuf's 2 GB limit, less 16 MiB headroom).
MAX_BYTES = 2**31 - 2**24
_SUPPORTED = ("MatMul", "Gemm", "Relu", "Add", "Sub", "Identity", "Constant", "Flatten", "Reshape")
_EXACT_INT = 2**53  # integers below this are exact in float64


class OnnxUnavailableError(NetworkError):
    """The optional ``onnx`` / ``onnxruntime`` package is not installed."""


def _require_onnx():
    try:
        import onnx  # noqa: PLC0415 - optional dependency
        from onnx import helper, numpy_helper  # noqa: F401
    except ImportError:
        raise OnnxUnavailableError(
            "ONNX support needs the optional 'onnx' package: pip install nsad[onnx]"
        ) from None
    return onnx


def _require_onnxruntime():
    try:
        import onnxruntime  # noqa: PLC0415 - optional dependency
    except ImportError:
        raise OnnxUnavailableError(
            "running ONNX models needs the optional 'onnxruntime' package: pip install nsad[onnx]"
        ) from None
    return onnxruntime


# ------------------------------------------------------------------------------------------------
# export


def _exact_in(data: np.ndarray, dtype) -> bool:
    """Whether every value of ``data`` (int64 or float64) is exactly representable in ``dtype``."""
    if data.size == 0:
        return True
    if data.dtype.kind == "i":
        if np.max(np.abs(data.astype(np.float64))) >= _EXACT_INT:
            # beyond 2**53 compare as Python ints (rare; only for huge weights)
            return all(int(float(dtype(v))) == int(v) for v in data.tolist())
        as_f = data.astype(np.float64)
    else:
        as_f = data
    with np.errstate(over="ignore"):
        back = as_f.astype(dtype).astype(np.float64)
    return bool(np.array_equal(back, as_f))


def onnx_dtype(net: ReluNetwork, dtype=None) -> np.dtype:
    """The float type an export of ``net`` uses: ``dtype`` if given (checked), else float32 when
    every weight is exactly a float32, else float64.

    >>> from nsad.networks import ReluNetwork
    >>> onnx_dtype(ReluNetwork([[[1, -1]]])), onnx_dtype(ReluNetwork([[[0.1]]]))
    (dtype('float32'), dtype('float64'))
    >>> onnx_dtype(ReluNetwork([[[0.1]]]), "float32")
    Traceback (most recent call last):
    ...
    nsad.errors.NetworkError: weights of M1 are not exactly representable in float32; use float64
    """
    candidates = [np.dtype(np.float32), np.dtype(np.float64)]
    if dtype is not None:
        try:
            want = np.dtype(dtype)
        except TypeError:
            raise NetworkError(f"unknown ONNX weight type {dtype!r}; use float32 or float64") from None
        if want not in candidates:
            raise NetworkError(f"unsupported ONNX weight type {want}; use float32 or float64")
        candidates = [want]
    arrays = [np.asarray(M.data) for M in net.matrices] + [np.asarray(b) for b in (net.biases or ())]
    for cand in candidates:
        bad = next((k for k, a in enumerate(arrays, start=1) if not _exact_in(a, cand)), None)
        if bad is not None and bad > net.depth:
            bad = f"{bad - net.depth} (its bias)"
        if bad is None:
            return cand
        if dtype is not None:
            hint = "; use float64" if cand == np.float32 else ""
            raise NetworkError(f"weights of M{bad} are not exactly representable in {cand}{hint}")
    raise NetworkError(f"weights of M{bad} are not exactly representable in float64; ONNX export would round them")


def to_onnx(net: ReluNetwork, *, dtype=None, op: str = "matmul", batch: int | None = None,
            name: str = "nsad_relu_network", doc: str | None = None):
    """The ONNX model (``onnx.ModelProto``) of ``net``, checked with ``onnx.checker.check_model``.

    ``dtype``: ``None`` (float32 when exact, else float64), ``"float32"`` or ``"float64"``.
    ``op``: ``"matmul"`` (``MatMul`` with ``W_k = M_k^T``) or ``"gemm"`` (``Gemm`` with ``transB=1``).
    ``batch``: ``None`` for a symbolic batch dimension named ``"batch"``, or a fixed positive size.

    >>> from nsad.networks import ReluNetwork
    >>> m = to_onnx(ReluNetwork([[[1], [-1]], [[1, 1]]]), op="gemm", batch=1)
    >>> [n.op_type for n in m.graph.node], m.opset_import[0].version
    (['Gemm', 'Relu', 'Gemm'], 17)
    >>> [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
    [1, 1]
    """
    onnx = _require_onnx()
    from onnx import TensorProto, helper, numpy_helper

    if not isinstance(net, ReluNetwork):
        raise NetworkError(f"to_onnx needs a ReluNetwork, got {type(net).__name__}")
    op = str(op).lower()
    if op not in ("matmul", "gemm"):
        raise NetworkError(f"unknown ONNX layer operator {op!r}; use 'matmul' or 'gemm'")
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1):
        raise NetworkError(f"batch must be a positive integer or None (symbolic), got {batch!r}")
    dt = onnx_dtype(net, dtype)
    total = sum(int(M.shape[0]) * int(M.shape[1]) for M in net.matrices) * dt.itemsize
    if total > MAX_BYTES:
        raise NetworkError(
            f"the dense ONNX weights of this network need {total / 2**30:.2f} GiB, beyond the 2 GB protobuf "
            f"limit of one ONNX file (widths {list(net.widths)}); export a smaller network"
        )
    elem = TensorProto.FLOAT if dt == np.float32 else TensorProto.DOUBLE
    bdim = "batch" if batch is None else int(batch)
    nodes, inits = [], []
    prev = "X"
    L = net.depth
    biases = net.biases
    for k, M in enumerate(net.matrices, start=1):
        dense = M.toarray().astype(dt)
        w_name = f"W{k}"
        z_name = "Y" if k == L else f"Z{k}"
        if biases is not None:
            inits.append(numpy_helper.from_array(np.asarray(biases[k - 1]).astype(dt), f"B{k}"))
        if op == "matmul":
            inits.append(numpy_helper.from_array(np.ascontiguousarray(dense.T), w_name))
            mm = z_name if biases is None else f"P{k}"
            nodes.append(helper.make_node("MatMul", [prev, w_name], [mm], name=f"matmul_{k}"))
            if biases is not None:
                nodes.append(helper.make_node("Add", [mm, f"B{k}"], [z_name], name=f"add_{k}"))
        else:
            inits.append(numpy_helper.from_array(np.ascontiguousarray(dense), w_name))
            gin = [prev, w_name] if biases is None else [prev, w_name, f"B{k}"]
            nodes.append(helper.make_node("Gemm", gin, [z_name], name=f"gemm_{k}", transB=1))
        if k < L:
            h_name = f"H{k}"
            nodes.append(helper.make_node("Relu", [z_name], [h_name], name=f"relu_{k}"))
            prev = h_name
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("X", elem, [bdim, net.n_inputs])],
        [helper.make_tensor_value_info("Y", elem, [bdim, net.n_outputs])],
        initializer=inits,
        doc_string=doc or ("ReLU network F(x) = M_L relu(... relu(M_1 x + b_1) ...) + b_L written by nsad"
                           if biases is not None else "bias-free ReLU network F(x) = M_L relu(... relu(M_1 x)) written by nsad"),
    )
    model = helper.make_model(
        graph,
        producer_name="nsad",
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
    )
    helper.set_model_props(model, {"nsad.widths": ",".join(map(str, net.widths)),
                                   "nsad.n_inputs": str(net.n_inputs)})
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:  # pragma: no cover - a bug of this exporter
        raise NetworkError(f"the exported ONNX model does not validate: {str(exc).splitlines()[0]}") from None
    return model


def save_onnx(net: ReluNetwork, path, **options) -> int:
    """Write ``to_onnx(net, **options)`` to ``path`` atomically (temporary file, then rename);
    returns the file size in bytes.

    >>> import os, tempfile
    >>> from nsad.networks import ReluNetwork
    >>> with tempfile.TemporaryDirectory() as d:
    ...     size = save_onnx(ReluNetwork([[[1, -1]]]), os.path.join(d, "net.onnx"))
    ...     load_onnx(os.path.join(d, "net.onnx")).widths
    (1,)
    """
    data = to_onnx(net, **options).SerializeToString()
    _atomic_write(os.fspath(path), data)
    return len(data)


def _atomic_write(path: str, data: bytes) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def evaluate_onnx(model, X) -> np.ndarray:
    """Run an ONNX model (``ModelProto``, bytes or path) with onnxruntime on points ``X`` of shape
    ``(batch, n)``; returns the outputs (all graph outputs side by side) as float64 of shape
    ``(batch, n_out)``. A model whose batch dimension is fixed to 1 runs once per point; a
    multi-dimensional input gets each point reshaped (C order).

    A checker for exports, not a fast path: the points are cast to the model's input type.

    >>> from nsad.networks import ReluNetwork
    >>> evaluate_onnx(to_onnx(ReluNetwork([[[1], [-1]], [[1, 1]]])), [[-3.0], [2.0]]).ravel().tolist()
    [3.0, 2.0]
    """
    onnx = _require_onnx()
    ort = _require_onnxruntime()
    if isinstance(model, (str, os.PathLike)):
        with open(os.fspath(model), "rb") as fh:
            payload = fh.read()
    elif isinstance(model, (bytes, bytearray)):
        payload = bytes(model)
    else:
        payload = model.SerializeToString()
    m = onnx.load_from_string(payload)
    inp = m.graph.input[0]
    elem = inp.type.tensor_type.elem_type
    np_type = np.float32 if elem == onnx.TensorProto.FLOAT else np.float64
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(payload, sess_options=opts, providers=["CPUExecutionProvider"])
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise NetworkError(f"points must have shape (batch, n), got {X.shape}")
    dims = inp.type.tensor_type.shape.dim
    one = len(dims) >= 2 and dims[0].HasField("dim_value") and dims[0].dim_value == 1
    feat = [d.dim_value for d in dims[1:]] if len(dims) >= 2 else [X.shape[1]]
    batches = [X[i:i + 1] for i in range(X.shape[0])] if one else [X]  # a batch of 1: one run per point
    rows = []
    for B in batches:
        outs = sess.run(None, {inp.name: B.astype(np_type).reshape([B.shape[0]] + feat)})
        rows.append(np.concatenate([np.asarray(o, dtype=np.float64).reshape(B.shape[0], -1) for o in outs], axis=1))
    return np.concatenate(rows, axis=0)


# ------------------------------------------------------------------------------------------------
# import


class _Lin:
    """A tensor known to be ``mat @ h_base + off`` (``mat is None``: the identity of ``width``; ``off is
    None``: no offset, else an exact float64 or int64 vector of ``width`` entries); ``flat`` is False
    for the graph input of more than one feature dimension until a ``Flatten``/``Reshape``."""

    __slots__ = ("mat", "width", "base", "off", "flat")

    def __init__(self, mat, width: int, base: int, off=None, flat: bool = True):
        self.mat, self.width, self.base, self.off, self.flat = mat, width, base, off, flat


def _exact_vector(fr: list, where: str, what: str) -> np.ndarray | None:
    """Fractions -> an int64 or float64 vector holding them exactly (``None`` when all zero), or an error."""
    if not any(fr):
        return None
    if all(f.denominator == 1 and abs(f.numerator) < _EXACT_INT for f in fr):
        return np.array([int(f) for f in fr], dtype=np.int64)
    out = np.array([float(f) for f in fr], dtype=np.float64)
    if not np.all(np.isfinite(out)) or any(Fraction(float(v)) != f for v, f in zip(out.tolist(), fr)):
        raise NetworkError(f"{where}: {what} would round in float64; not supported")
    return out


def _fractions(v) -> list:
    a = np.asarray(v)
    if a.dtype.kind in "iub":
        return [Fraction(int(x)) for x in a.tolist()]
    return [Fraction(float(x)) for x in a.tolist()]


def _offset_through(Mt, off, where: str):
    """``Mt @ off`` exactly (an offset that meets a linear map before any Relu), ``None`` for no offset."""
    if off is None:
        return None
    M = sp.csr_array(Mt)
    fo = _fractions(off)
    out = [Fraction(0)] * M.shape[0]
    data = _fractions(M.data)
    for i in range(M.shape[0]):  # rare path (bias, then a linear map with no Relu between): exact
        out[i] = sum((data[p] * fo[M.indices[p]] for p in range(M.indptr[i], M.indptr[i + 1])), Fraction(0))
    return _exact_vector(out, where, "the bias carried through a linear map")


def _offset_sum(a, b, sign: int, where: str):
    """``a + sign * b`` for two offsets (``None`` = 0), exactly."""
    if b is None:
        return a
    if a is None and sign > 0:
        return b
    fa = _fractions(a) if a is not None else [Fraction(0)] * len(b)
    return _exact_vector([x + sign * y for x, y in zip(fa, _fractions(b))], where, "the sum of biases")


def _bias_vector(consts: dict, name: str, width: int, where: str) -> np.ndarray:
    """A constant added to a ``[batch, width]`` tensor, as a vector of ``width`` entries (broadcast
    from a scalar, ``(width,)``, ``(1, width)`` or ``(1,)``), exactly."""
    C = np.asarray(consts[name])
    if C.dtype.kind not in "fiub":
        raise NetworkError(f"{where}: bias '{name}' has unsupported type {C.dtype}")
    if C.dtype.kind == "f" and not np.all(np.isfinite(C)):
        raise NetworkError(f"{where}: bias '{name}' has non-finite values (nan or inf)")
    shape = C.shape
    if C.size == 1:
        C = np.full(width, C.reshape(-1)[0])
    elif C.ndim >= 1 and shape[-1] == width and all(d == 1 for d in shape[:-1]):
        C = C.reshape(width)
    else:
        raise NetworkError(f"{where}: bias '{name}' of shape {tuple(shape)} does not broadcast to one vector of "
                           f"{width} entries (per-example biases are not a network)")
    return C.astype(np.float64) if C.dtype.kind == "f" else _int64(C, where, f"bias '{name}'")


def _is_integral(a) -> bool:
    data = a.data if sp.issparse(a) else np.asarray(a)
    return data.dtype.kind in "iub" or bool(np.all(data == np.round(data)))


def _row_abs(a) -> float:
    a = sp.csr_array(a)
    if a.nnz == 0:
        return 0.0
    return float(np.max(sp.csr_array(abs(a).astype(np.float64)).sum(axis=1)))


def _to_int(a) -> sp.csr_array:
    a = sp.csr_array(a)
    return sp.csr_array((np.asarray(a.data).astype(np.int64), a.indices, a.indptr), shape=a.shape)


def _compose(outer, inner: _Lin, where: str, ctx=None) -> sp.csr_array:
    """``outer @ inner.mat`` exactly (error when floating point could round); the product's nonzeros
    are bounded from both factors' patterns before it is formed (``max_nnz``)."""
    if inner.mat is None:
        return sp.csr_array(outer)
    if ctx is not None:
        a, b = sp.csc_array(outer), sp.csr_array(inner.mat)
        bound = int(np.dot(np.diff(a.indptr).astype(np.int64), np.diff(b.indptr).astype(np.int64)))
        ctx.check("max_nnz", bound, f"{where}: composing two linear maps gives up to {bound} nonzeros")
    if not (_is_integral(outer) and _is_integral(inner.mat)):
        raise NetworkError(
            f"{where}: composing two linear maps with non-integer weights (no Relu between them) would round; "
            f"not supported"
        )
    if _row_abs(outer) * max(_row_abs(inner.mat), 1.0) >= _EXACT_INT:
        raise NetworkError(f"{where}: composing two linear maps overflows exact integer arithmetic")
    return sp.csr_array(_to_int(outer) @ _to_int(inner.mat))


def _as_matrix(lin: _Lin):
    return lin.mat if lin.mat is not None else sp.csr_array(sp.eye_array(lin.width, dtype=np.int64, format="csr"))


def _add(a: _Lin, b: _Lin, sign: int, where: str) -> sp.csr_array:
    """``a + sign * b`` exactly (TwoSum check on the union pattern for non-integer weights)."""
    A, B = sp.csr_array(_as_matrix(a)), sp.csr_array(_as_matrix(b))
    if _is_integral(A) and _is_integral(B):
        if max(np.max(np.abs(A.data), initial=0), np.max(np.abs(B.data), initial=0)) >= _EXACT_INT // 2:
            raise NetworkError(f"{where}: adding these weights overflows exact integer arithmetic")
        return sp.csr_array(_to_int(A) + sign * _to_int(B))
    A = A.astype(np.float64)
    B = (sign * B).astype(np.float64)
    S = sp.csr_array(A + B)
    pattern = sp.csr_array(abs(A) + abs(B)).tocoo()
    r, c = pattern.row, pattern.col
    a_v = np.asarray(A[r, c]).ravel()
    b_v = np.asarray(B[r, c]).ravel()
    s = a_v + b_v
    bb = s - a_v
    err = (a_v - (s - bb)) + (b_v - bb)  # Knuth's TwoSum: the exact rounding error of a + b
    if not (np.all(np.isfinite(s)) and np.all(err == 0)):
        raise NetworkError(f"{where}: adding these non-integer weights would round; not supported")
    return S


def _scaled(alpha: float, W: np.ndarray, where: str) -> np.ndarray:
    """``alpha * W`` exactly, or an error if a product would round.

    Vectorised: Dekker's product (Veltkamp splitting) gives each product's exact rounding error where
    no intermediate can overflow or underflow; the few other values are checked with Fractions.
    """
    if alpha == 1.0:
        return W
    if not math.isfinite(alpha):
        raise NetworkError(f"{where}: the scale factor (alpha or beta) = {alpha!r} is not finite")
    W = np.asarray(W, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        P = alpha * W
        split = 134217729.0  # 2^27 + 1

        def halves(x):
            c = split * x
            hi = c - (c - x)
            return hi, x - hi

        ah, al = halves(np.float64(alpha))
        wh, wl = halves(W)
        err = ((ah * wh - P) + ah * wl + al * wh) + al * wl
    safe = (np.abs(W) < 2.0**995) & (abs(alpha) < 2.0**995) & np.isfinite(P) & (
        (np.abs(P) >= 2.0**-960) | (W == 0))
    if np.any(safe & (err != 0)):
        v = float(W[safe & (err != 0)].flat[0])
        raise NetworkError(f"{where}: alpha = {alpha!r} times weight {v!r} would round; not supported")
    a = Fraction(alpha)
    for v in np.unique(W[~safe]).tolist():
        if not math.isfinite(alpha * v) or Fraction(v) * a != Fraction(float(alpha * v)):
            raise NetworkError(f"{where}: alpha = {alpha!r} times weight {v!r} would round; not supported")
    return P


def _attr(node, name: str, default):
    from onnx import helper

    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _constant_value(node, ctx, where: str) -> np.ndarray:
    for a in node.attribute:
        if a.name == "value":
            return ctx.array(a.t, where)
        if a.name == "value_float":
            return np.array(a.f, dtype=np.float32)
        if a.name == "value_floats":
            ctx.check("max_nnz", len(a.floats), f"{where}: the constant has {len(a.floats)} entries")
            return np.array(list(a.floats), dtype=np.float32)
        if a.name == "value_int":
            return np.array(a.i, dtype=np.int64)
        if a.name == "value_ints":
            ctx.check("max_nnz", len(a.ints), f"{where}: the constant has {len(a.ints)} entries")
            return np.array(list(a.ints), dtype=np.int64)
    raise NetworkError(f"{where}: unsupported constant attribute")


def _int64(a: np.ndarray, where: str, what: str) -> np.ndarray:
    """An integer tensor as int64, refused when a uint64 entry does not fit (``astype`` would wrap)."""
    if a.dtype == np.uint64 and a.size and int(a.max()) >= 2**63:
        raise NetworkError(f"{where}: {what} has entries beyond int64")
    return a.astype(np.int64)


def _weight(consts: dict, name: str, where: str) -> np.ndarray:
    W = consts[name]
    if W.dtype.kind not in "fiu":
        raise NetworkError(f"{where}: weight '{name}' has unsupported type {W.dtype}")
    if W.dtype.kind == "f":
        if not np.all(np.isfinite(W)):
            raise NetworkError(f"{where}: weight '{name}' has non-finite values (nan or inf)")
        W = W.astype(np.float64)  # exact from float16/32/64
    else:
        W = _int64(W, where, f"weight '{name}'")
    if W.ndim != 2:
        raise NetworkError(f"{where}: weight '{name}' must be 2-dimensional, got shape {W.shape}")
    return W


class _Import:
    """What the import of one model needs besides the graph: where it came from (error messages),
    the folder its external data may come from (``None``: none allowed), and the limits."""

    def __init__(self, origin: str, base_dir: str | None, lim):
        from nsad import limits as _limits

        self.origin, self.base_dir, self.lim, self.L = origin, base_dir, lim, _limits
        self.external_bytes = 0

    def check(self, name: str, value: int, what: str) -> None:
        self.L.check(name, value, what, limits=self.lim)

    def array(self, t, where: str) -> np.ndarray:
        """``numpy_helper.to_array`` after checking the declared dims against the limits and resolving
        external data safely (never relative to the working directory)."""
        from onnx import TensorProto, numpy_helper

        dims = [int(d) for d in t.dims]
        if any(d < 0 for d in dims):
            raise NetworkError(f"{where}: tensor '{t.name}' has a negative dimension {dims}")
        for d in dims:
            self.check("max_layer_width", d, f"{where}: tensor '{t.name}' has a dimension of {d}")
        entries = math.prod(dims)
        self.check("max_nnz", entries, f"{where}: tensor '{t.name}' has {entries} entries")
        self.check("max_decompressed_bytes", 8 * entries, f"{where}: tensor '{t.name}' needs {8 * entries} bytes")
        if t.data_location == TensorProto.EXTERNAL:
            self._external(t, where, entries)
        return numpy_helper.to_array(t)

    def _external(self, t, where: str, entries: int) -> None:
        """Load an external tensor's bytes into ``raw_data``: only for a model read from a file, only
        from a file inside the model's folder, only the declared range."""
        from onnx import TensorProto

        if self.base_dir is None:
            raise NetworkError(f"{where}: tensor '{t.name}' keeps its data in an external file; external data "
                               f"is refused for a model given in memory (load the model from its file)")
        info = {e.key: e.value for e in t.external_data}
        location = info.get("location", "")
        if not location or os.path.isabs(location) or "\x00" in location:
            raise NetworkError(f"{where}: tensor '{t.name}': external data location {location!r} must be a "
                               f"relative path inside the model's folder")
        root = os.path.realpath(self.base_dir)
        target = os.path.realpath(os.path.join(root, location))
        if os.path.commonpath([root, target]) != root or target == root:
            raise NetworkError(f"{where}: tensor '{t.name}': external data location {location!r} is outside "
                               f"the model's folder")
        try:
            offset = int(info.get("offset", "0"))
            length = int(info["length"]) if "length" in info else None
        except ValueError:
            raise NetworkError(f"{where}: tensor '{t.name}': bad external data offset or length") from None
        if not os.path.isfile(target):
            raise NetworkError(f"{where}: tensor '{t.name}': external data file {location!r} not found")
        size = os.path.getsize(target)
        if length is None:
            length = size - offset
        if offset < 0 or length < 0 or offset + length > size:
            raise NetworkError(f"{where}: tensor '{t.name}': external data range {offset}+{length} is outside "
                               f"{location!r} ({size} bytes)")
        self.external_bytes += length
        self.check("max_decompressed_bytes", self.external_bytes, f"{where}: external data of {self.external_bytes} bytes")
        with open(target, "rb") as fh:
            fh.seek(offset)
            data = fh.read(length)
        del t.external_data[:]
        t.data_location = TensorProto.DEFAULT
        t.raw_data = data


def _load_model(model, lim):
    """``(ModelProto, origin, base_dir)``: ``base_dir`` is the folder external data may come from
    (only for a model read from a file)."""
    from nsad import limits as _limits

    onnx = _require_onnx()
    if isinstance(model, onnx.ModelProto):
        return model, "<model>", None
    if isinstance(model, (bytes, bytearray, memoryview)):
        _limits.check("max_file_bytes", len(model), f"the model has {len(model)} bytes", location="<bytes>",
                      limits=lim)
        try:
            return onnx.load_model_from_string(bytes(model)), "<bytes>", None
        except Exception as exc:  # protobuf DecodeError and friends
            raise NetworkError(f"<bytes>: not an ONNX model ({type(exc).__name__})") from None
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if not os.path.exists(path):
            raise NetworkError(f"{path}: no such file")
        if os.path.isdir(path):
            raise NetworkError(f"{path}: is a directory")
        try:
            with _limits.open_input(path, lim, what="the model") as fh:
                data = fh.read()
            return onnx.load_model_from_string(data), path, os.path.dirname(os.path.abspath(path))
        except _limits.LimitError:
            raise
        except Exception as exc:  # DecodeError, OSError
            raise NetworkError(f"{path}: not a readable ONNX model ({type(exc).__name__}: {exc})".splitlines()[0]) from None
    raise NetworkError(f"from_onnx needs an onnx.ModelProto, bytes or a path, got {type(model).__name__}")


def _dims(value_info) -> list:
    t = value_info.type
    if not t.HasField("tensor_type"):
        raise NetworkError(f"graph input '{value_info.name}' is not a tensor")
    return [d.dim_value if d.HasField("dim_value") else None for d in t.tensor_type.shape.dim]


#: Inputs (min, max) and outputs (min) each supported operator takes.
_ARITY = {"MatMul": (2, 2), "Gemm": (2, 3), "Relu": (1, 1), "Add": (2, 2), "Sub": (2, 2), "Identity": (1, 1),
          "Constant": (0, 0), "Flatten": (1, 1), "Reshape": (2, 2)}


def from_onnx(model, *, limits=None) -> ReluNetwork:
    """The ``ReluNetwork`` computed by an ONNX graph (``ModelProto``, serialized bytes, or a path).

    Raises ``NetworkError`` naming the node (or initialiser) when the graph is not a layered ReLU
    network (see the module docstring: what is accepted and refused), and for any malformed model; no other exception escapes.
    Limits (:mod:`nsad.limits`, default the current ones) are checked before anything is built: the
    file's size, the number of nodes (``max_graph_nodes``), every tensor's dims (``max_layer_width``,
    and ``max_nnz`` entries), the composed maps' nonzeros and the depth; beyond them ``LimitError``.
    External data is read only for a model loaded from a file, and only from files inside that
    file's folder; a model given as bytes or a ``ModelProto`` with external tensors is refused.

    >>> from onnx import helper, numpy_helper, TensorProto
    >>> import numpy as np
    >>> g = helper.make_graph(
    ...     [helper.make_node("Gemm", ["X", "W", "C"], ["Y"], name="fc", transB=1)], "g",
    ...     [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 2])],
    ...     [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 1])],
    ...     [numpy_helper.from_array(np.ones((1, 2), np.float32), "W"),
    ...      numpy_helper.from_array(np.array([0.5], np.float32), "C")])
    >>> net = from_onnx(helper.make_model(g))          # x1 + x2 + 1/2
    >>> net.biases[-1].tolist(), net.evaluate_exact([1, 0])
    ([0.5], Fraction(3, 2))
    """
    from nsad import limits as _limits
    from nsad.errors import NsadError

    lim = _limits.resolve(limits)
    m, origin, base_dir = _load_model(model, lim)
    ctx = _Import(origin, base_dir, lim)
    try:
        return _from_graph(m.graph, ctx)
    except _limits.LimitError as exc:
        raise _limits.LimitError(f"{origin}: {exc}", limit=exc.limit) from None
    except NsadError as exc:
        raise NetworkError(f"{origin}: {exc}") from None
    except (ValueError, IndexError, KeyError, TypeError, AttributeError, RuntimeError, OverflowError,
            ZeroDivisionError, MemoryError, RecursionError) as exc:  # what onnx, numpy and scipy raise on a malformed model
        text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise NetworkError(f"{origin}: malformed ONNX model ({type(exc).__name__}: {text})") from None


def _from_graph(g, ctx: _Import) -> ReluNetwork:
    from onnx import numpy_helper  # noqa: F401 - imported for ctx.array

    if len(g.sparse_initializer):
        raise NetworkError("sparse initializers are not supported")
    ctx.check("max_graph_nodes", len(g.node), f"the graph has {len(g.node)} nodes")
    consts: dict[str, np.ndarray] = {}
    for t in g.initializer:
        consts[t.name] = ctx.array(t, f"initializer '{t.name}'")
    inputs = [v for v in g.input if v.name not in consts]
    if len(inputs) != 1:
        raise NetworkError(f"the graph must have exactly one data input, found {len(inputs)}")
    if len(g.output) < 1:
        raise NetworkError("the graph has no output")
    x = inputs[0]
    dims = _dims(x)
    feat = dims if len(dims) == 1 else dims[1:]
    if not dims or any(d is None or d < 1 for d in feat) or (len(dims) > 1 and dims[0] not in (None, 1)):
        raise NetworkError(
            f"graph input '{x.name}' must have shape [n] or [batch, d1, ..., dr] with batch 1 or symbolic and "
            f"fixed feature sizes, got {['?' if d is None else d for d in dims]}"
        )
    n = math.prod(int(d) for d in feat)
    ctx.check("max_layer_width", n, f"graph input '{x.name}' has {n} features")
    env: dict[str, _Lin] = {x.name: _Lin(None, n, 0, None, flat=len(feat) == 1)}
    layers: list = []
    biases: list = []

    def lin(name: str, where: str, flat: bool = True) -> _Lin:
        if name in env:
            if flat and not env[name].flat:
                raise NetworkError(f"{where}: the input has several feature dimensions; Flatten or Reshape it to "
                                   f"[batch, n] first")
            return env[name]
        if name in consts:
            raise NetworkError(f"{where}: input '{name}' is a constant where a data tensor is expected")
        raise NetworkError(f"{where}: tensor '{name}' is used before it is defined (graph not topologically sorted?)")

    for idx, node in enumerate(g.node):
        op = node.op_type
        where = f"node '{node.name or (node.output[0] if node.output else idx)}' ({op})"
        if node.domain not in ("", "ai.onnx"):
            raise NetworkError(f"{where}: operator of domain '{node.domain}' is not supported")
        if op not in _SUPPORTED:
            raise NetworkError(f"{where}: unsupported operator; supported: {', '.join(_SUPPORTED)}")
        lo, hi = _ARITY[op]
        ins = [s for s in node.input]
        while len(ins) > lo and not ins[-1]:  # trailing optional inputs left empty
            ins.pop()
        if not lo <= len(ins) <= hi or any(not s for s in ins[:lo]):
            raise NetworkError(f"{where}: expects {lo if lo == hi else f'{lo} to {hi}'} inputs, got {len(node.input)}")
        if len(node.output) != 1 or not node.output[0]:
            raise NetworkError(f"{where}: expects exactly one output, got {len(node.output)}")
        out = node.output[0]
        if op == "Constant":
            consts[out] = _constant_value(node, ctx, where)
        elif op == "Identity":
            if ins[0] in consts:
                consts[out] = consts[ins[0]]
            else:
                env[out] = lin(ins[0], where, flat=False)
        elif op in ("Flatten", "Reshape"):
            src = lin(ins[0], where, flat=False)
            if op == "Flatten":
                axis = int(_attr(node, "axis", 1))
                if not (axis == 1 or (axis == 0 and len(dims) == 1)):
                    raise NetworkError(f"{where}: only Flatten with axis = 1 (keep the batch dimension) is supported")
            else:
                if len(ins) != 2 or ins[1] not in consts:
                    raise NetworkError(f"{where}: the target shape must be a constant")
                shape = [int(v) for v in np.asarray(consts[ins[1]]).reshape(-1).tolist()]
                ok = (shape in ([src.width], [-1]) or
                      (len(shape) == 2 and shape[0] in (1, -1, 0) and shape[1] in (src.width, -1) and shape != [-1, -1]))
                if not ok:
                    raise NetworkError(f"{where}: reshape to {shape} is not a flattening of the {src.width} features "
                                       f"(supported: [1, n], [-1, n], [0, n], [1, -1], [0, -1], [n], [-1])")
            env[out] = _Lin(src.mat, src.width, src.base, src.off, flat=True)
        elif op == "MatMul":
            a, b = ins
            if a in consts and b in env:
                raise NetworkError(f"{where}: the weight is the left operand; only data @ weight is supported")
            if a in env and b in env:
                raise NetworkError(f"{where}: product of two data tensors is not a linear layer")
            src = lin(a, where)
            if b not in consts:
                raise NetworkError(f"{where}: tensor '{b}' is used before it is defined")
            W = _weight(consts, b, where)
            if W.shape[0] != src.width:
                raise NetworkError(f"{where}: weight '{b}' has shape {W.shape} but the input width is {src.width}")
            env[out] = _Lin(_compose(sp.csr_array(W.T), src, where, ctx), int(W.shape[1]), src.base,
                            _offset_through(W.T, src.off, where))
        elif op == "Gemm":
            if int(_attr(node, "transA", 0)) != 0:
                raise NetworkError(f"{where}: transA = 1 is not supported")
            a, b = ins[0], ins[1]
            src = lin(a, where)
            if b not in consts:
                raise NetworkError(f"{where}: B must be a constant weight (initializer)")
            W = _weight(consts, b, where)
            Mt = W if int(_attr(node, "transB", 0)) else W.T  # (w_out, w_in)
            if Mt.shape[1] != src.width:
                raise NetworkError(f"{where}: weight '{b}' has shape {W.shape} but the input width is {src.width}")
            alpha = float(_attr(node, "alpha", 1.0))
            beta = float(_attr(node, "beta", 1.0))
            Mt = _scaled(alpha, Mt, where)
            off = _offset_through(Mt, src.off, where)
            if len(ins) > 2 and ins[2]:
                if ins[2] not in consts:
                    raise NetworkError(f"{where}: C must be a constant bias")
                if beta != 0:
                    C = _bias_vector(consts, ins[2], int(Mt.shape[0]), where)
                    off = _offset_sum(off, _scaled(beta, C, where) if C.dtype.kind == "f" or beta != 1.0 else C, 1, where)
            env[out] = _Lin(_compose(sp.csr_array(Mt), src, where, ctx), int(Mt.shape[0]), src.base, off)
        elif op in ("Add", "Sub"):
            a, b = ins
            sign = 1 if op == "Add" else -1
            if a in consts and b in consts:
                shape = np.broadcast_shapes(np.shape(consts[a]), np.shape(consts[b]))
                ctx.check("max_nnz", math.prod(shape), f"{where}: the constant sum has shape {tuple(shape)}")
                consts[out] = consts[a] + sign * consts[b]
            elif a in consts or b in consts:
                data, c = (b, a) if a in consts else (a, b)
                src = lin(data, where)
                C = _bias_vector(consts, c, src.width, where)
                if a in consts and sign < 0:  # c - x
                    M = _as_matrix(src)
                    neg = None if src.off is None else _offset_sum(None, src.off, -1, where)
                    env[out] = _Lin(sp.csr_array(-M), src.width, src.base, _offset_sum(neg, C, 1, where))
                else:
                    env[out] = _Lin(src.mat, src.width, src.base, _offset_sum(src.off, C, sign, where))
            else:
                la, lb = lin(a, where), lin(b, where)
                if la.base != lb.base:
                    raise NetworkError(
                        f"{where}: combines tensors of different layers ({a!r}, {b!r}): a skip connection is "
                        f"not a layered network"
                    )
                if la.width != lb.width:
                    raise NetworkError(f"{where}: operands have widths {la.width} and {lb.width}")
                env[out] = _Lin(_add(la, lb, sign, where), la.width, la.base, _offset_sum(la.off, lb.off, sign, where))
        elif op == "Relu":
            src = lin(ins[0], where)
            if src.mat is None and src.base > 0 and src.off is None:
                env[out] = src  # relu(relu(.)) = relu(.)
                continue
            if src.base != len(layers):
                raise NetworkError(
                    f"{where}: its input comes from layer {src.base} but layer {len(layers)} already exists: "
                    f"parallel branches or skip connections are not a layered network"
                )
            layers.append(_as_matrix(src))
            biases.append(src.off if src.off is not None else np.zeros(src.width, np.int64))
            ctx.check("max_depth", len(layers), f"{where}: the graph has more than {len(layers)} layers")
            env[out] = _Lin(None, src.width, len(layers))
    outs = []
    for o in g.output:
        if o.name in consts:
            raise NetworkError(f"the graph output '{o.name}' is a constant")
        outs.append(lin(o.name, f"graph output '{o.name}'"))
    base = max(r.base for r in outs)
    if any(r.base != base for r in outs):
        raise NetworkError("the graph outputs come from different layers: not one layered network")
    last = sp.vstack([_as_matrix(r) for r in outs], format="csr") if len(outs) > 1 else _as_matrix(outs[0])
    last_b = np.concatenate([r.off if r.off is not None else np.zeros(r.width, np.int64) for r in outs])
    if last_b.dtype.kind == "f" and np.all(last_b == np.round(last_b)) and np.all(np.abs(last_b) < _EXACT_INT):
        last_b = last_b.astype(np.int64)
    try:
        return ReluNetwork(layers[:base] + [last], biases[:base] + [last_b])
    except NetworkError as exc:
        raise NetworkError(f"the graph does not form a valid network: {exc}") from None


def load_onnx(path, *, limits=None) -> ReluNetwork:
    """Read an ONNX file into a ``ReluNetwork`` (see ``from_onnx``).

    >>> load_onnx("/nonexistent.onnx")
    Traceback (most recent call last):
    ...
    nsad.errors.NetworkError: /nonexistent.onnx: no such file
    """
    return from_onnx(os.fspath(path), limits=limits)
