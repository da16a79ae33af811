"""The ``ReluNetwork`` value: a layered ReLU network with sparse weights and optional biases.

Convention (docs/theory.md sections 1 and 3.7): ``F(x) = M_L relu(M_{L-1} relu(... relu(M_1 x + b_1)) + b_{L-1}) + b_L``;
``M_k`` has shape ``(w_k, w_{k-1})`` with ``w_0 = n``; there is no ReLU after the last matrix. Matrices
are stored as read-only ``scipy.sparse.csr_array`` with sorted indices, no explicit zeros and dtype
``int64`` when every weight is an integer (``float64`` otherwise).

Biases: ``biases`` is ``None`` (a bias-free network, the setting of the hardness results and of every
decider at 0) or one vector ``b_k`` of length ``w_k`` per matrix; all-zero biases are stored as
``None``, so a network with zero biases *is* the bias-free network (``==``, files, deciders). A bias
vector is a read-only ``int64`` array when every entry is an integer, else ``float64``. Weights and
biases are thus binary floating-point numbers or integers: every one is a dyadic rational, and exact
paths take them at that exact value (a float32 ONNX weight converts to float64 without rounding);
rational biases such as 1/3 have no exact storage and are refused where given as ``Fraction``.
Code that assumes a bias-free network (the axis test, the box argument, ``check``, the deciders at
0, the exports) calls :meth:`ReluNetwork.require_bias_free`, which raises a one-line
:class:`NetworkError`; the question at a point goes through the local network
(:mod:`nsad.solvers.network.local`).

Exact paths (``evaluate_exact``, ``linearize``) never use floats: integer weights and integer points
are propagated with int64 where a bound proves no overflow, and with Python integers otherwise;
rational points are scaled to integer points by homogeneity (``F(p/q) = F(p)/q``); non-integer
(binary floating-point, hence dyadic rational) weights are scaled per layer by a power of two, which
ReLU's positive homogeneity turns into one global factor.

>>> import numpy as np
>>> net = ReluNetwork([np.array([[1, -1], [1, 1]]), np.array([[1, 1]])])
>>> net.describe()["widths"], net.is_integer
([2, 1], True)
>>> net.evaluate_exact([2, 1])          # relu(2 - 1) + relu(2 + 1)
4
>>> net.linearize([2, 1]).gradient      # both units active: (1, -1) + (1, 1)
(2, 0)
>>> print(net.linearize([1, 1]).reason)
layer 1, unit 0: pre-activation is 0 but not locally constant (the point lies on a kink)
>>> nb = ReluNetwork([[[1.0], [1.0]], [[1, 1]]], biases=[[-1, 0.5], [2]])   # relu(x - 1) + relu(x + 1/2) + 2
>>> nb.evaluate_exact([3]), nb.linearize([3]).gradient, nb.linearize([1]).generic
(Fraction(15, 2), (2,), False)
"""

from __future__ import annotations

from nsad.errors import NetworkError
from nsad.networks.exact import INT64_SAFE, integer_layers, row_abs_max

import io
import json
import math
import os
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from fractions import Fraction
from numbers import Rational
from typing import Iterable

import numpy as np
import scipy.sparse as sp





@dataclass(frozen=True)
class Linearization:
    """The exact local behaviour of ``F`` at a point.

    ``value`` is ``F(x)``. ``gradient`` is the gradient of the linear piece ``F`` coincides with near
    ``x`` when ``x`` is generic (docs/theory.md section 1), else ``None`` and ``reason`` says which unit
    sits on a kink. Entries are ``int`` when integral, ``fractions.Fraction`` otherwise.
    """

    value: object
    gradient: tuple | None
    reason: str | None = None

    @property
    def generic(self) -> bool:
        return self.gradient is not None


def _from_objects(arr: np.ndarray, what: str) -> np.ndarray:
    """A numeric array from an object array (Python ints beyond int64, ``Fraction``, ...), never rounding:
    int64 when every entry is an integer in range, else float64 when every entry is exactly a float64;
    otherwise ``NetworkError`` (``TypeError``/``ValueError`` for entries that are not numbers).

    >>> _from_objects(np.array([2**62, -1], dtype=object), "M1").dtype
    dtype('int64')
    >>> _from_objects(np.array([2**70 + 1], dtype=object), "M1")
    Traceback (most recent call last):
    ...
    nsad.errors.NetworkError: M1 has an entry that neither int64 nor float64 holds exactly (1180591620717411303425)
    """
    flat = arr.reshape(-1)
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in flat):
        if all(-2**63 <= int(v) < 2**63 for v in flat):
            return arr.astype(np.int64)
    out = arr.astype(np.float64)
    for v, f in zip(flat, out.reshape(-1)):
        if not isinstance(v, (float, np.floating)) and math.isfinite(f) and Fraction(v) != Fraction(float(f)):
            raise NetworkError(f"{what} has an entry that neither int64 nor float64 holds exactly ({str(v)[:40]})")
    return out


def _as_csr(m, k: int) -> sp.csr_array:
    try:
        if sp.issparse(m):
            a = sp.csr_array(m)  # no copy here: _normalise copies once, into arrays of its own
        else:
            arr = np.asarray(m)
            if arr.dtype == object:
                arr = _from_objects(arr, f"matrix M{k}")
            if arr.ndim == 1:
                arr = arr.reshape(1, -1)
            if arr.ndim != 2:
                raise NetworkError(f"matrix M{k} must be 2-dimensional, got shape {arr.shape}")
            if arr.dtype.kind not in "biuf":
                raise NetworkError(f"matrix M{k} has unsupported dtype {arr.dtype} (need integer or real)")
            a = sp.csr_array(arr)
    except NetworkError:
        raise
    except (TypeError, ValueError) as exc:
        raise NetworkError(f"matrix M{k} is not a numeric matrix: {exc}") from None
    if a.dtype.kind not in "biuf":
        raise NetworkError(f"matrix M{k} has unsupported dtype {a.dtype} (need integer or real)")
    return a


def _normalise_bias(b, k: int, width: int) -> np.ndarray:
    """Canonical, read-only copy of bias ``b_k``: 1-D of length ``width``, int64 if integral, else float64."""
    try:
        if isinstance(b, (list, tuple)) and any(isinstance(v, Fraction) for v in b):
            fr = [Fraction(v) for v in b]
            if any(f.denominator & (f.denominator - 1) for f in fr):
                raise NetworkError(f"bias b{k} has a non-dyadic rational entry; biases are integers or binary floats")
            b = [float(f) for f in fr]
            if any(Fraction(v) != f for v, f in zip(b, fr)):
                raise NetworkError(f"bias b{k} has an entry that float64 cannot hold exactly")
        arr = np.asarray(b)
        if arr.dtype == object:
            arr = _from_objects(arr, f"bias b{k}")
    except NetworkError:
        raise
    except (TypeError, ValueError) as exc:
        raise NetworkError(f"bias b{k} is not a numeric vector: {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise NetworkError(f"bias b{k} has unsupported dtype {arr.dtype} (need integer or real)")
    arr = arr.reshape(-1) if arr.ndim <= 1 or (arr.ndim == 2 and 1 in arr.shape) else arr
    if arr.ndim != 1 or arr.size != width:
        raise NetworkError(f"bias b{k} must be a vector of {width} entries (the rows of M{k}), got shape {np.shape(b)}")
    arr = _exact_values(arr, f"bias b{k}", "entries")
    arr.flags.writeable = False
    return arr


def _exact_values(data: np.ndarray, what: str, noun: str) -> np.ndarray:
    """A fresh copy of weights or biases: int64 when every value is an integer that fits, else float64
    (finite, checked); the one place of the storage convention (module docstring)."""
    if data.dtype.kind == "f":
        if not np.all(np.isfinite(data)):
            raise NetworkError(f"{what} has non-finite {noun} (nan or inf)")
        if np.all(data == np.round(data)) and (data.size == 0 or np.max(np.abs(data)) < INT64_SAFE):
            return data.astype(np.int64)
        return data.astype(np.float64, copy=True)
    if data.dtype == np.uint64 and data.size and data.max() >= 2**63:
        raise NetworkError(f"{what} has {noun} too large for int64")
    return data.astype(np.int64, copy=True)


def _normalise(a: sp.csr_array, k: int) -> sp.csr_array:
    """Canonical, read-only copy: sorted indices, duplicates summed, no stored zeros, int64 if integral."""
    if a.dtype.kind == "f" and not np.all(np.isfinite(a.data)):
        raise NetworkError(f"matrix M{k} has non-finite weights (nan or inf)")
    if not a.has_canonical_format or (a.nnz and not np.all(a.data)):
        a = a.copy()  # never modify the caller's arrays
        a.sum_duplicates()
        a.eliminate_zeros()
        a.sort_indices()
    data = _exact_values(a.data, f"matrix M{k}", "weights")
    idx_dtype = np.int64 if max(a.shape) >= 2**31 - 1 or a.nnz >= 2**31 - 1 else np.int32
    out = sp.csr_array((data, a.indices.astype(idx_dtype, copy=True), a.indptr.astype(idx_dtype, copy=True)),
                       shape=a.shape, copy=False)
    out.has_sorted_indices = True
    out.has_canonical_format = True
    for arr in (out.data, out.indices, out.indptr):
        arr.flags.writeable = False
    return out


_ZIP_LOCAL = b"PK\x03\x04"
_ZIP_EMPTY = b"PK\x05\x06"
_NPY_MAGIC = b"\x93NUMPY"
_MEMBER_SLACK = 16  # members allowed besides the 4 or 5 (with a bias) per layer and n_layers
_BUFFER_BYTES = 64 << 20  # files up to this size are read in one call
_NPY_HEADER = re.compile(rb"\{'descr': '([<>|=](?:i|u|f|b)[1248])', 'fortran_order': (True|False), "
                         rb"'shape': \(((?:\d+, ?)*\d*)\), \} *\n")
_PACKED = "nsad_packed"
_PACKED_MEMBERS = (_PACKED, "shapes", "kinds", "indptr", "indices", "data_int", "data_float", "bias_int", "bias_float")


def _not_a_zip(name: str, head: bytes) -> str:
    """Why a file is not an ``.npz`` (no zip signature), with a hint about what it looks like."""
    if head.startswith(_NPY_MAGIC):
        hint = "it is a single .npy array; save networks with ReluNetwork.save"
    elif head[:1] == b"\x80":
        hint = "it looks like a Python pickle, which nsad never loads"
    elif head.startswith(b"\x1f\x8b"):
        hint = "it is gzip-compressed data"
    elif head and all(32 <= b < 127 or b in b"\t\n\r" for b in head[:64]):
        first = head.split(b"\n", 1)[0][:40].decode("ascii")
        hint = (f"it is a text file starting {first!r}" +
                ("; a DIMACS formula is reduced first: nsad reduce" if first.lstrip().startswith(("c", "p cnf")) else ""))
    elif not head:
        hint = "the file is empty"
    else:
        hint = "it does not start with a zip signature"
    return f"{name}: not an .npz network file ({hint})"


def _zip_entries(fh, size: int) -> int:
    """The number of entries a zip archive declares (end-of-central-directory record, zip64 too),
    read before ``zipfile`` builds one object per entry."""
    tail = min(size, 65_557)
    fh.seek(size - tail)
    data = fh.read(tail)
    at = data.rfind(_ZIP_EMPTY)
    if at < 0 or at + 22 > len(data):
        raise zipfile.BadZipFile("no end-of-central-directory record")
    entries = struct.unpack("<H", data[at + 10:at + 12])[0]
    if entries == 0xFFFF and at >= 20 and data[at - 20:at - 16] == b"PK\x06\x07":
        (offset,) = struct.unpack("<Q", data[at - 12:at - 4])
        if offset + 56 > size:
            raise zipfile.BadZipFile("bad zip64 end-of-central-directory locator")
        fh.seek(offset)
        rec = fh.read(56)
        if rec[:4] != b"PK\x06\x06":
            raise zipfile.BadZipFile("bad zip64 end-of-central-directory record")
        (entries,) = struct.unpack("<Q", rec[32:40])
    fh.seek(0)
    return int(entries)


class _NpzReader:
    """The ``.npz`` network reader behind :meth:`ReluNetwork.load` (see there): checks the sizes each
    member declares (zip directory, ``.npy`` header, ``M{k}_shape``) before reading its data."""

    def __init__(self, name: str, lim):
        from nsad import limits as _limits

        self.name, self.lim, self._limits = name, lim, _limits
        self.fh = _limits.open_binary(name)
        try:
            size = os.fstat(self.fh.fileno()).st_size
            _limits.check("max_file_bytes", size, f"the file has {size} bytes", location=name, limits=lim)
            head = self.fh.read(64)
            if not (head.startswith(_ZIP_LOCAL) or head.startswith(_ZIP_EMPTY)):
                raise NetworkError(_not_a_zip(name, head))
            entries = _zip_entries(self.fh, size)
            if lim.max_depth is not None:
                _limits.check("max_depth", max(0, entries - _MEMBER_SLACK) // 5,
                              f"the archive has {entries} members (at most 5 per layer)", location=name, limits=lim)
            # small files are read in one call and their stored members served from that buffer
            self.buf = self.fh.read() if size <= _BUFFER_BYTES else None
            self.zf = zipfile.ZipFile(io.BytesIO(self.buf) if self.buf is not None else self.fh)
            self._parsed: dict = {}
            self.members = {}
            total = 0
            for info in self.zf.infolist():
                key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                if key in self.members:  # tools disagree on which copy counts: refuse, never pick one
                    raise NetworkError(f"{name}: the archive holds member '{key}' twice")
                self.members[key] = info
                total += info.file_size
            _limits.check("max_decompressed_bytes", total, f"the members hold {total} bytes", location=name,
                          limits=lim)
        except BaseException:
            self.fh.close()
            raise

    def __enter__(self) -> "_NpzReader":
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.zf.close()
        finally:
            self.fh.close()

    def _info(self, key: str):
        info = self.members.get(key)
        if info is None:
            raise NetworkError(f"{self.name}: missing array '{key}'")
        return info

    def _stored(self, key: str):
        """``(shape, dtype, fortran, data)`` of an uncompressed member served from the buffer (CRC
        checked, header parsed once), or None when the member must be streamed."""
        if key in self._parsed:
            return self._parsed[key]
        info = self._info(key)
        got = None
        buf = self.buf
        if buf is not None and info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & 1:
            off = info.header_offset
            if buf[off:off + 4] != _ZIP_LOCAL:
                raise NetworkError(f"{self.name}: member '{key}' has no local zip header")
            nlen, elen = struct.unpack("<HH", buf[off + 26:off + 30])
            start = off + 30 + nlen + elen
            end = start + info.compress_size
            if end > len(buf) or info.compress_size != info.file_size:
                raise NetworkError(f"{self.name}: member '{key}' extends past the end of the file")
            mv = memoryview(buf)[start:end]
            if zlib.crc32(mv) != info.CRC:
                raise NetworkError(f"{self.name}: member '{key}' fails its CRC check")
            shape, dtype, fortran, hlen = self._header_bytes(mv, key)
            got = (shape, dtype, fortran, mv[hlen:])
        self._parsed[key] = got
        return got

    def _header_bytes(self, mv, key: str):
        """``.npy`` header of a member held in memory: the usual numpy dictionary is parsed with a
        strict pattern, anything else by numpy's own reader."""
        head = bytes(mv[:10])
        if head[:6] != _NPY_MAGIC:
            raise NetworkError(f"{self.name}: member '{key}' is not a numpy array")
        if head[6:8] == b"\x01\x00" and len(head) == 10:
            hlen = 10 + struct.unpack("<H", head[8:10])[0]
            m = _NPY_HEADER.fullmatch(bytes(mv[10:hlen]))
            if m is not None:
                shape = tuple(int(d) for d in m.group(3).split(b",") if d.strip())
                return shape, np.dtype(m.group(1).decode()), m.group(2) == b"True", hlen
        fp = io.BytesIO(mv)
        shape, dtype, fortran = self._header(fp, key)
        return shape, dtype, fortran, fp.tell()

    def header(self, key: str) -> tuple[tuple, np.dtype]:
        """``(shape, dtype)`` of a member, from its ``.npy`` header only."""
        got = self._stored(key)
        if got is not None:
            return got[0], got[1]
        with self.zf.open(self._info(key)) as fp:
            return self._header(fp, key)[:2]

    def _header(self, fp, key: str):
        from numpy.lib import format as npy

        if fp.read(6) != _NPY_MAGIC:
            raise NetworkError(f"{self.name}: member '{key}' is not a numpy array")
        version = tuple(fp.read(2))
        if version not in ((1, 0), (2, 0), (3, 0)):
            raise NetworkError(f"{self.name}: member '{key}' has unsupported .npy format version {version}")
        read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0  # 3.0: 2.0's layout
        shape, fortran, dtype = read(fp, max_header_size=10_000)
        if dtype.hasobject:
            raise NetworkError(f"{self.name}: member '{key}' holds Python objects (pickled data); nsad never "
                               f"unpickles")
        if any(int(d) < 0 for d in shape):
            raise NetworkError(f"{self.name}: member '{key}' has a negative dimension")
        if dtype.kind in "fc" and dtype.itemsize > 8 * (1 + (dtype.kind == "c")):
            raise NetworkError(f"{self.name}: member '{key}' has dtype {dtype}, wider than float64 (nsad would "
                               f"round it)")
        return tuple(int(d) for d in shape), dtype, bool(fortran)

    def array(self, key: str) -> np.ndarray:
        """A member's array, read in chunks into one buffer of its declared size (checked against the
        member's size in the zip directory first), then its CRC checked."""
        got = self._stored(key)
        if got is not None:
            shape, dtype, fortran, data = got
            count = math.prod(shape)
            if count * dtype.itemsize != len(data):
                raise NetworkError(f"{self.name}: member '{key}' declares {count * dtype.itemsize} bytes of data "
                                   f"but holds {len(data)} bytes")
            out = np.frombuffer(data, dtype=dtype, count=count).copy()
            if fortran and len(shape) > 1:
                return out.reshape(shape[::-1]).transpose()
            return out.reshape(shape)
        info = self._info(key)
        with self.zf.open(info) as fp:
            shape, dtype, fortran = self._header(fp, key)
            count = math.prod(shape)
            nbytes = count * dtype.itemsize
            if nbytes > info.file_size:
                raise NetworkError(f"{self.name}: member '{key}' declares {nbytes} bytes of data but holds "
                                   f"{info.file_size} bytes")
            out = np.empty(count, dtype=dtype)
            view = memoryview(out.view(np.uint8) if count else bytearray())
            done = 0
            while done < nbytes:
                chunk = fp.read(min(1 << 22, nbytes - done))
                if not chunk:
                    raise NetworkError(f"{self.name}: member '{key}' ends before its data")
                view[done:done + len(chunk)] = chunk
                done += len(chunk)
            if fp.read(1 << 16):
                raise NetworkError(f"{self.name}: member '{key}' has data after its array")
        if fortran and len(shape) > 1:
            return out.reshape(shape[::-1]).transpose()
        return out.reshape(shape)

    def network(self, csr_from_parts) -> list:
        """The CSR matrices of the file, every size checked from the headers before any data is read."""
        name, lim, check = self.name, self.lim, self._limits.check
        if _PACKED in self.members:
            if "n_layers" in self.members:  # two layouts in one file: readers would disagree on the network
                raise NetworkError(f"{name}: the file holds both the packed layout ('{_PACKED}') and the per-layer "
                                   f"one ('n_layers'); save it again with ReluNetwork.save")
            return self.packed(csr_from_parts)
        if "n_layers" not in self.members:
            raise NetworkError(f"{name}: not an nsad network file (no 'n_layers' or '{_PACKED}' array)")
        shape, dtype = self.header("n_layers")
        if shape not in ((), (1,)) or dtype.kind not in "iu":
            raise NetworkError(f"{name}: 'n_layers' must be one integer")
        L = int(self.array("n_layers").reshape(-1)[0])
        if L < 1:
            raise NetworkError(f"{name}: 'n_layers' = {L} is out of range")
        check("max_depth", L, f"the file declares {L} layers", location=name, limits=lim)
        for k in range(1, L + 1):
            for p in ("data", "indices", "indptr", "shape"):
                self._info(f"M{k}_{p}")
        shapes, units, nnz = [], 0, 0
        for k in range(1, L + 1):
            sshape, sdtype = self.header(f"M{k}_shape")
            if sdtype.kind not in "iu" or sshape != (2,):
                raise NetworkError(f"{name}: M{k}_shape must be two integers")
            rows, cols = (int(v) for v in self.array(f"M{k}_shape"))
            if rows < 1 or cols < 1:
                raise NetworkError(f"{name}: M{k}_shape {rows}x{cols} is out of range")
            check("max_layer_width", max(rows, cols), f"M{k} declares {rows} x {cols} weights", location=name,
                  limits=lim)
            if k < L:
                units += rows
            check("max_units", units, f"the file declares more than {units} units (layers 1..{k})", location=name,
                  limits=lim)
            heads = {p: self.header(f"M{k}_{p}") for p in ("data", "indices", "indptr")}
            for p, (shp, _dt) in heads.items():
                if len(shp) != 1:
                    raise NetworkError(f"{name}: M{k}_{p} must be one-dimensional")
            if heads["indptr"][0][0] != rows + 1:
                raise NetworkError(f"{name}: M{k}_indptr has {heads['indptr'][0][0]} entries, expected {rows + 1}")
            if heads["indices"][0] != heads["data"][0]:
                raise NetworkError(f"{name}: M{k}_indices and M{k}_data differ in length")
            nnz += heads["data"][0][0]
            check("max_nnz", nnz, f"the file declares more than {nnz} weights (layers 1..{k})", location=name,
                  limits=lim)
            shapes.append((rows, cols))
        present = [k for k in range(1, L + 1) if f"b{k}" in self.members]
        for k in present:
            bshape, bdtype = self.header(f"b{k}")
            rows = shapes[k - 1][0]
            if bshape != (rows,):
                raise NetworkError(f"{name}: b{k} must be a vector of {rows} entries (the rows of M{k}), got shape {bshape}")
            if bdtype.kind not in "biuf":
                raise NetworkError(f"{name}: b{k} has unsupported dtype {bdtype}")
        mats = []
        for k, (rows, cols) in enumerate(shapes, start=1):
            parts = {p: self.array(f"M{k}_{p}") for p in ("data", "indices", "indptr")}
            parts["shape"] = np.array([rows, cols], dtype=np.int64)
            mats.append(csr_from_parts(name, k, parts))
        if not present:
            return mats, None
        biases = [self.array(f"b{k}") if k in present else np.zeros(shapes[k - 1][0], np.int64)
                  for k in range(1, L + 1)]
        for k, b in enumerate(biases, start=1):
            if b.dtype.kind == "f" and not np.all(np.isfinite(b)):
                raise NetworkError(f"{name}: b{k} has non-finite entries (nan or inf)")
        return mats, biases


    def _vector(self, key: str, kinds: str, length: int | None = None) -> tuple:
        """A one-dimensional member's header: its length (checked against ``length``) and dtype kind."""
        shape, dtype = self.header(key)
        if len(shape) != 1 or dtype.kind not in kinds:
            raise NetworkError(f"{self.name}: '{key}' must be a one-dimensional array of kind {kinds!r}")
        if length is not None and shape[0] != length:
            raise NetworkError(f"{self.name}: '{key}' has {shape[0]} entries, expected {length}")
        return shape[0]

    def packed(self, csr_from_parts) -> tuple:
        """The matrices (and biases) of a file in the packed layout (:meth:`ReluNetwork.save`), every
        size checked from the headers and the small ``nsad_packed``/``shapes`` arrays first."""
        name, lim, check = self.name, self.lim, self._limits.check
        for key in _PACKED_MEMBERS:
            self._info(key)
        head = self.array(_PACKED) if self._vector(_PACKED, "iu", 3) == 3 else None
        version, L, has_bias = (int(v) for v in head)
        if version != 1:
            raise NetworkError(f"{name}: packed layout version {version} is not supported (this nsad reads 1)")
        if L < 1 or has_bias not in (0, 1):
            raise NetworkError(f"{name}: '{_PACKED}' = {head.tolist()} is out of range")
        check("max_depth", L, f"the file declares {L} layers", location=name, limits=lim)
        for key, cols in (("shapes", 2), ("kinds", 2)):
            shp, dt = self.header(key)
            if shp != (L, cols) or dt.kind not in "iu":
                raise NetworkError(f"{name}: '{key}' must be {L} x {cols} integers")
        shapes = self.array("shapes").astype(np.int64)
        kinds = self.array("kinds").astype(np.int64)
        if np.any(shapes < 1):
            raise NetworkError(f"{name}: 'shapes' has a dimension below 1")
        if np.any((kinds < 0) | (kinds > 1)):
            raise NetworkError(f"{name}: 'kinds' must hold 0 (int64) or 1 (float64)")
        for k, (rows, cols) in enumerate(shapes.tolist(), start=1):
            check("max_layer_width", max(rows, cols), f"M{k} declares {rows} x {cols} weights", location=name,
                  limits=lim)
        units = int(shapes[:-1, 0].sum())
        check("max_units", units, f"the file declares {units} units", location=name, limits=lim)
        ptr_len = int((shapes[:, 0] + 1).sum())
        self._vector("indptr", "iu", ptr_len)
        nnz = self._vector("indices", "iu")
        check("max_nnz", nnz, f"the file declares {nnz} weights", location=name, limits=lim)
        n_int = self._vector("data_int", "iu")
        n_float = self._vector("data_float", "f")
        if n_int + n_float != nnz:
            raise NetworkError(f"{name}: 'data_int' and 'data_float' hold {n_int + n_float} weights, 'indices' {nnz}")
        units_all = int(shapes[:, 0].sum())
        b_int = self._vector("bias_int", "iu")
        b_float = self._vector("bias_float", "f")
        want_b = units_all if has_bias else 0
        if b_int + b_float != want_b:
            raise NetworkError(f"{name}: the bias arrays hold {b_int + b_float} entries, expected {want_b}")
        indptr, indices = self.array("indptr").astype(np.int64), self.array("indices")
        data = (self.array("data_int"), self.array("data_float"))
        bias = (self.array("bias_int"), self.array("bias_float"))
        mats, biases = [], []
        p0, used, bused = 0, [0, 0], [0, 0]
        for k, ((rows, cols), (dk, bk)) in enumerate(zip(shapes.tolist(), kinds.tolist()), start=1):
            ptr = indptr[p0:p0 + rows + 1]
            p0 += rows + 1
            cnt = int(ptr[-1]) - int(ptr[0])  # Python ints: a hostile pointer cannot overflow
            start = used[0] + used[1]
            if ptr[0] != 0 or cnt < 0 or used[dk] + cnt > data[dk].size or start + cnt > indices.size:
                raise NetworkError(f"{name}: M{k}'s row pointer does not fit the packed arrays")
            parts = {"data": data[dk][used[dk]:used[dk] + cnt], "indices": indices[start:start + cnt],
                     "indptr": ptr, "shape": np.array([rows, cols], dtype=np.int64)}
            used[dk] += cnt
            mats.append(csr_from_parts(name, k, parts))
            if has_bias:
                if bused[bk] + rows > bias[bk].size:
                    raise NetworkError(f"{name}: b{k} does not fit the packed bias arrays")
                b = bias[bk][bused[bk]:bused[bk] + rows]
                bused[bk] += rows
                if b.dtype.kind == "f" and not np.all(np.isfinite(b)):
                    raise NetworkError(f"{name}: b{k} has non-finite entries (nan or inf)")
                biases.append(b)
        if used != [n_int, n_float] or (has_bias and bused != [b_int, b_float]):
            raise NetworkError(f"{name}: the packed arrays hold entries no layer uses")
        return mats, (biases if has_bias else None)


def _packed_arrays(matrices, biases) -> dict:
    """The members of the packed layout (see :meth:`ReluNetwork.save`)."""
    L = len(matrices)
    kinds = np.zeros((L, 2), dtype=np.int64)
    kinds[:, 0] = [int(M.data.dtype.kind == "f") for M in matrices]
    if biases is not None:
        kinds[:, 1] = [int(np.asarray(b).dtype.kind == "f") for b in biases]
    idx_dtype = np.int64 if any(M.indices.dtype == np.int64 for M in matrices) else np.int32

    def cat(parts, dtype):
        return np.concatenate([np.asarray(p, dtype=dtype) for p in parts]) if parts else np.zeros(0, dtype)

    return {
        _PACKED: np.array([1, L, int(biases is not None)], dtype=np.int64),
        "shapes": np.array([M.shape for M in matrices], dtype=np.int64).reshape(L, 2),
        "kinds": kinds,
        "indptr": cat([M.indptr for M in matrices], np.int64),
        "indices": cat([M.indices for M in matrices], idx_dtype),
        "data_int": cat([M.data for M, k in zip(matrices, kinds[:, 0]) if not k], np.int64),
        "data_float": cat([M.data for M, k in zip(matrices, kinds[:, 0]) if k], np.float64),
        "bias_int": cat([b for b, k in zip(biases or [], kinds[:, 1]) if not k], np.int64),
        "bias_float": cat([b for b, k in zip(biases or [], kinds[:, 1]) if k], np.float64),
    }


def _mask_rows(a: sp.csr_array, keep: np.ndarray) -> sp.csr_array:
    """Zero the rows of a CSR array where ``keep`` is False (dtype preserved, no float casts)."""
    counts = np.diff(a.indptr)
    sel = np.repeat(keep, counts)
    new_counts = np.where(keep, counts, 0)
    indptr = np.concatenate(([0], np.cumsum(new_counts))).astype(a.indptr.dtype)
    return sp.csr_array((a.data[sel], a.indices[sel], indptr), shape=a.shape)


class ReluNetwork:
    """A bias-free ReLU network ``F(x) = M_L relu(... relu(M_1 x))`` (immutable).

    ``matrices``: a sequence of 2-D weight matrices (dense arrays or scipy sparse), shapes must
    chain: ``M_k.shape[1] == M_{k-1}.shape[0]``. Weights must be finite. The network is copied and
    made read-only. Vector outputs are allowed; ``require_scalar()`` checks for one output row.

    >>> import numpy as np
    >>> ReluNetwork([np.eye(2), np.ones((1, 3))])
    Traceback (most recent call last):
    ...
    nsad.errors.NetworkError: shapes do not chain: M2 has 3 columns but M1 has 2 rows
    >>> net = ReluNetwork([[[1.0], [-1.0]], [[1, 1]]])   # |x|
    >>> net.evaluate(np.array([[-3.0], [2.0]]))
    array([3., 2.])
    """

    __slots__ = ("_matrices", "_biases", "_int_cache", "_hom_cache", "_bwd_cache", "_out_cache", "__weakref__")

    def __init__(self, matrices: Iterable, biases: Iterable | None = None):
        mats = list(matrices)
        if not mats:
            raise NetworkError("a network needs at least one matrix")
        out = []
        for k, m in enumerate(mats, start=1):
            a = _normalise(_as_csr(m, k), k)
            if a.shape[0] == 0 or a.shape[1] == 0:
                raise NetworkError(f"matrix M{k} has an empty shape {a.shape}")
            if out and a.shape[1] != out[-1].shape[0]:
                raise NetworkError(
                    f"shapes do not chain: M{k} has {a.shape[1]} columns but M{k - 1} has {out[-1].shape[0]} rows"
                )
            out.append(a)
        bs = None
        if biases is not None:
            blist = list(biases)
            if len(blist) != len(out):
                raise NetworkError(f"{len(out)} matrices need {len(out)} bias vectors, got {len(blist)}")
            bs = tuple(_normalise_bias(b, k, M.shape[0]) for k, (M, b) in enumerate(zip(out, blist), start=1))
            if not any(np.any(b) for b in bs):
                bs = None
        object.__setattr__(self, "_matrices", tuple(out))
        object.__setattr__(self, "_biases", bs)
        object.__setattr__(self, "_int_cache", None)
        object.__setattr__(self, "_hom_cache", None)
        object.__setattr__(self, "_bwd_cache", None)
        object.__setattr__(self, "_out_cache", {})

    # -- immutability -----------------------------------------------------------------------------
    def __setattr__(self, name, value):
        raise AttributeError("ReluNetwork is immutable")

    def __reduce__(self):
        return (ReluNetwork, (list(self._matrices), None if self._biases is None else list(self._biases)))

    # -- shape facts -----------------------------------------------------------------------------
    @property
    def matrices(self) -> tuple:
        return self._matrices

    @property
    def biases(self) -> tuple | None:
        """``None`` for a bias-free network, else one read-only vector per matrix (module docstring)."""
        return self._biases

    @property
    def has_biases(self) -> bool:
        return self._biases is not None

    def bias_vectors(self) -> tuple:
        """One bias vector per matrix, zeros (int64) for a bias-free network."""
        if self._biases is not None:
            return self._biases
        return tuple(np.zeros(w, dtype=np.int64) for w in self.widths)

    def require_bias_free(self, what: str = "this operation") -> "ReluNetwork":
        """``self`` if it has no biases, else a one-line :class:`NetworkError` saying what needs a
        bias-free network and what to do instead.

        >>> ReluNetwork([[[1]]], biases=[[1]]).require_bias_free("the axis test")
        Traceback (most recent call last):
        ...
        nsad.errors.NetworkError: the axis test needs a bias-free network, but this one has biases; ask the question at a point instead (nsad decide FILE --at POINT), which goes through the local network
        """
        if self._biases is not None:
            raise NetworkError(f"{what} needs a bias-free network, but this one has biases; ask the question at a "
                               f"point instead (nsad decide FILE --at POINT), which goes through the local network")
        return self

    def output(self, k: int) -> "ReluNetwork":
        """The scalar network of output ``k`` (the same hidden layers, row ``k`` of the last matrix and
        bias), computed once per ``k``.

        >>> ReluNetwork([[[1], [-1]], [[1, 1], [1, -1]]], biases=[[0, 0], [0, 2]]).output(1).evaluate_exact([3])
        5
        """
        if not 0 <= int(k) < self.n_outputs:
            raise NetworkError(f"output {k} does not exist: the network has outputs 0..{self.n_outputs - 1}")
        k = int(k)
        if self.n_outputs == 1:
            return self
        if k not in self._out_cache:
            mats = list(self._matrices[:-1]) + [sp.csr_array(self._matrices[-1][[k]])]
            bs = None if self._biases is None else list(self._biases[:-1]) + [self._biases[-1][[k]]]
            self._out_cache[k] = ReluNetwork(mats, bs)
        return self._out_cache[k]

    def homogenized(self) -> "ReluNetwork":
        """The bias-free ``H(x, t)`` with ``F(x) = H(x, 1)`` (``self`` when bias-free): input ``t`` last,
        carried by one extra unit ``relu(t)`` per hidden layer, the biases become that unit's column.
        Values, genericity and gradients of ``F`` at ``x`` are those of ``H`` at ``(x, 1)`` (the carry is
        positive there; a kink unit of ``H`` whose local row vanishes on ``x`` vanishes on ``t`` too, by
        Euler's identity).

        >>> H = ReluNetwork([[[1]], [[2]]], biases=[[-1], [3]]).homogenized()     # 2 relu(x - 1) + 3
        >>> [H.evaluate_exact([x, 1]) for x in (0, 2)], H.has_biases
        ([3, 5], False)
        """
        if self._biases is None:
            return self
        if self._hom_cache is None:
            out = []
            L = self.depth
            for k, (M, b) in enumerate(zip(self._matrices, self._biases)):
                dt = np.float64 if (M.dtype.kind == "f" or b.dtype.kind == "f") else np.int64
                top = sp.hstack([M.astype(dt), sp.csr_array(b.astype(dt)[:, None])], format="csr")
                if k < L - 1:
                    carry = sp.csr_array((np.ones(1, dt), ([0], [M.shape[1]])), shape=(1, M.shape[1] + 1))
                    top = sp.vstack([top, carry], format="csr")
                out.append(top)
            object.__setattr__(self, "_hom_cache", ReluNetwork(out))
        return self._hom_cache

    @property
    def n_inputs(self) -> int:
        return int(self._matrices[0].shape[1])

    @property
    def widths(self) -> tuple:
        return tuple(int(m.shape[0]) for m in self._matrices)

    @property
    def n_outputs(self) -> int:
        return self.widths[-1]

    @property
    def depth(self) -> int:
        return len(self._matrices)

    @property
    def n_units(self) -> int:
        """Number of ReLU units (all rows but the output layer's)."""
        return int(sum(self.widths[:-1]))

    @property
    def nnz(self) -> int:
        return int(sum(m.nnz for m in self._matrices))

    @property
    def is_integer(self) -> bool:
        return all(m.dtype.kind == "i" for m in self._matrices)

    @property
    def weight_values(self) -> tuple:
        vals = np.unique(np.concatenate([m.data for m in self._matrices] + [np.zeros(0, np.int64)]))
        return tuple(int(v) if float(v).is_integer() else float(v) for v in vals)

    def require_scalar(self) -> "ReluNetwork":
        if self.n_outputs != 1:
            raise NetworkError(f"a scalar network is required, but the last layer has {self.n_outputs} rows")
        return self

    def describe(self) -> dict:
        """Shape facts as a JSON-ready dict.

        >>> ReluNetwork([[[1], [-1]], [[1, 1]]]).describe()["weight_values"]
        [-1, 1]
        """
        return {
            "inputs": self.n_inputs,
            "outputs": self.n_outputs,
            "depth": self.depth,
            "widths": list(self.widths),
            "units": self.n_units,
            "nnz": self.nnz,
            "integer": self.is_integer,
            "weight_values": list(self.weight_values),
            "biases": self.has_biases,
        }

    def __repr__(self) -> str:
        w = self.widths
        ws = ", ".join(map(str, w)) if len(w) <= 8 else ", ".join(map(str, w[:3])) + ", ..., " + ", ".join(map(str, w[-2:]))
        extra = ", biases=True" if self.has_biases else ""
        return f"ReluNetwork(n_inputs={self.n_inputs}, depth={self.depth}, widths=[{ws}], nnz={self.nnz}{extra})"

    def __eq__(self, other) -> bool:
        if not isinstance(other, ReluNetwork) or self.depth != other.depth:
            return False
        if (self._biases is None) != (other._biases is None):
            return False
        if self._biases is not None and not all(np.array_equal(a, b) for a, b in zip(self._biases, other._biases)):
            return False
        return all(
            a.shape == b.shape
            and np.array_equal(a.indptr, b.indptr)
            and np.array_equal(a.indices, b.indices)
            and np.array_equal(a.data, b.data)
            for a, b in zip(self._matrices, other._matrices)
        )

    __hash__ = None  # mutable-free but matrices are large; compare explicitly

    # -- float evaluation --------------------------------------------------------------------------
    def evaluate(self, X) -> np.ndarray:
        """Float evaluation. ``X`` of shape ``(n,)`` or ``(batch, n)``.

        Returns a float for one point and a scalar network, shape ``(n_out,)`` for one point and a
        vector network, ``(batch,)`` or ``(batch, n_out)`` for a batch.
        """
        X = np.asarray(X, dtype=np.float64)
        single = X.ndim == 1
        if single:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            raise NetworkError(f"points must have {self.n_inputs} coordinates, got shape {np.shape(X)}")
        H = X.T
        bs = self._biases
        for k, M in enumerate(self._matrices[:-1]):
            H = M @ H
            if bs is not None:
                H = H + bs[k][:, None]
            np.maximum(H, 0, out=H)
        Y = (self._matrices[-1] @ H).T
        if bs is not None:
            Y = Y + bs[-1][None, :]
        if self.n_outputs == 1:
            Y = Y[:, 0]
            return float(Y[0]) if single else Y
        return Y[0] if single else Y

    __call__ = evaluate

    # -- exact arithmetic --------------------------------------------------------------------------
    def _exact_layers(self):
        """Integer matrices ``N_k = s_k M_k``, the factor ``1 / prod(s_k)`` and each layer's
        infinity norm (:mod:`nsad.networks.exact`), computed once."""
        if self._int_cache is None:
            layers, scale = integer_layers(self._matrices)
            row_abs = tuple(row_abs_max(N) for N in layers)
            object.__setattr__(self, "_int_cache", (tuple(layers), scale, row_abs))
        return self._int_cache

    def _linearize_backward(self, layers, scale, row_abs, h, hb: int, q: int):
        """The scalar case of :meth:`linearize` by reverse mode: one exact forward pass of values,
        then one backward sweep of int64 products that carries the output's gradient and the gradient
        of every pre-activation that is 0 at ``x`` (a few rows, where the forward method carries ``n``
        columns per unit). ``x`` is generic iff those gradients all vanish (each such unit is then
        locally constant, hence inactive); the output's gradient is then ``F``'s. Returns None (the
        forward method decides) at a kink, for object arithmetic, or when a bound says int64 could
        overflow."""
        if h.dtype == object:
            return None
        L = len(layers)
        masks, zeros = [], []
        for k, N in enumerate(layers):
            if N.data.dtype == object or row_abs[k] * hb >= INT64_SAFE:
                return None
            z = N @ h
            hb *= row_abs[k]
            if k == L - 1:
                break
            active = z > 0
            masks.append(active)
            zeros.append(np.flatnonzero((z == 0) & (np.diff(N.indptr) > 0)))
            h = np.where(active, z, 0)
        # G: row 0 the output's gradient, then one row per pre-activation that is 0 at x (added at its
        # layer as a unit row over that layer's pre-activations), carried down to the inputs
        transposes = self._bwd_cache
        if transposes is None:   # per layer: N_k^T as CSR and the largest column sum of |N_k|
            transposes = [(sp.csr_array(N.T), float(np.bincount(N.indices, weights=np.abs(N.data).astype(np.float64),
                                                                  minlength=N.shape[1]).max(initial=0.0)))
                          for N in layers]
            object.__setattr__(self, "_bwd_cache", transposes)
        G = layers[-1].toarray().astype(np.int64)
        gb = float(np.abs(G).max()) if G.size else 0.0
        for k in range(L - 2, -1, -1):
            NT, col_abs = transposes[k]
            G = G * masks[k][None, :]
            if zeros[k].size:
                E = np.zeros((zeros[k].size, G.shape[1]), dtype=np.int64)
                E[np.arange(zeros[k].size), zeros[k]] = 1
                G = np.vstack([G, E])
                gb = max(gb, 1.0)
            gb *= col_abs
            if gb * (1 + 1e-9) + 1 >= INT64_SAFE:
                return None
            G = (NT @ G.T).T
        if G.shape[0] > 1 and np.any(G[1:]):
            return None   # a pre-activation at 0 that moves: a kink (the forward method names it)
        value = self._exact(Fraction(int(z[0])) * scale / q)
        g = G[0].tolist()
        grad = tuple(g) if scale == 1 else tuple(self._exact(Fraction(int(v)) * scale) for v in g)
        return Linearization(value, grad, None)

    @staticmethod
    def _spmv_exact(N, h: np.ndarray, h_bound: int, row_abs: int) -> np.ndarray:
        """Exact ``N @ h`` for integer ``N`` and integer vector/matrix ``h`` (int64 or object)."""
        if row_abs * h_bound < INT64_SAFE and N.data.dtype != object and h.dtype != object:
            return N @ h
        # Python-int path: gather/multiply/segment-sum on object arrays
        data = N.data.astype(object)
        prod = data[:, None] * h.astype(object)[N.indices] if h.ndim == 2 else data * h.astype(object)[N.indices]
        counts = np.diff(N.indptr)
        out_shape = (N.shape[0],) + h.shape[1:]
        out = np.zeros(out_shape, dtype=object)
        out[...] = 0
        nz = np.flatnonzero(counts)
        if nz.size:
            sums = np.add.reduceat(prod, N.indptr[:-1][nz], axis=0)
            out[nz] = sums
        return out

    def _integer_point(self, x) -> tuple[np.ndarray, int]:
        """An integer vector ``p`` and ``q >= 1`` with ``x = p / q`` (exact)."""
        x = list(x) if not isinstance(x, np.ndarray) else x.tolist()
        if len(x) != self.n_inputs:
            raise NetworkError(f"the point has {len(x)} coordinates but the network takes {self.n_inputs}")
        if all(type(v) is int for v in x):   # the usual case (certificate points): no Fractions needed
            big = max((abs(v) for v in x), default=0)
            return np.array(x, dtype=np.int64 if big < INT64_SAFE else object), 1
        fr = []
        for v in x:
            if type(v) is int or type(v) is Fraction:  # the common exact cases, without conversion
                fr.append(v)
                continue
            if isinstance(v, (bool, np.bool_)):
                v = int(v)
            if isinstance(v, (float, np.floating)):
                if not math.isfinite(v):
                    raise NetworkError("points must be finite")
                v = Fraction(float(v))
            elif isinstance(v, (int, np.integer)):
                v = int(v)
            elif isinstance(v, Rational):
                v = Fraction(v)
            elif isinstance(v, str):
                try:
                    v = Fraction(v)
                except (ValueError, ZeroDivisionError):
                    raise NetworkError(f"not a rational number: {v!r}") from None
            else:
                raise NetworkError(f"coordinates must be integers or rationals, got {type(v).__name__}")
            fr.append(v)
        q = math.lcm(*[v.denominator for v in fr]) if fr else 1  # int and Fraction both have .denominator
        ints = [int(v) * q if type(v) is int else v.numerator * (q // v.denominator) for v in fr]
        big = max((abs(v) for v in ints), default=0)
        arr = np.array(ints, dtype=np.int64 if big < INT64_SAFE else object)
        return arr, q

    def _with_t(self, x) -> list:
        x = list(x) if not isinstance(x, np.ndarray) else x.tolist()
        if len(x) != self.n_inputs:
            raise NetworkError(f"the point has {len(x)} coordinates but the network takes {self.n_inputs}")
        return x + [1]

    @staticmethod
    def _exact(v) -> object:
        f = Fraction(v)
        return int(f) if f.denominator == 1 else f

    def evaluate_exact(self, x):
        """Exact ``F(x)`` for a point of ints / Fractions (or floats, taken at their exact binary value).

        >>> from fractions import Fraction
        >>> ReluNetwork([[[1], [-1]], [[1, 1]]]).evaluate_exact([Fraction(-3, 4)])
        Fraction(3, 4)
        """
        if self._biases is not None:
            return self.homogenized().evaluate_exact(self._with_t(x))
        layers, scale, row_abs = self._exact_layers()
        h, q = self._integer_point(x)
        bound = int(np.max(np.abs(h))) if h.size and h.dtype != object else max((abs(int(v)) for v in h), default=0)
        for k, N in enumerate(layers):
            z = self._spmv_exact(N, h, bound, row_abs[k])
            bound = bound * row_abs[k]
            if k < len(layers) - 1:
                h = np.where(z > 0, z, 0) if z.dtype != object else np.array([v if v > 0 else 0 for v in z], dtype=object)
            else:
                h = z
        vals = tuple(self._exact(Fraction(int(v)) * scale / q) for v in h)
        return vals[0] if self.n_outputs == 1 else vals

    def linearize(self, x) -> Linearization:
        """Value, genericity and exact gradient of ``F`` at ``x`` (docs/theory.md section 1).

        A point is generic when every pre-activation is nonzero or identically zero near it (value 0
        and zero local gradient through the locally linear upstream units). The local Jacobian is
        propagated forward as a sparse integer matrix (rows stay sparse on reduction networks).
        For vector networks the gradient is the Jacobian as a tuple of row tuples.

        >>> net = ReluNetwork([[[1, -1], [-1, 1]], [[1, 1]]])   # |x1 - x2|
        >>> net.linearize([3, 1]).gradient, net.linearize([1, 1]).generic
        ((1, -1), False)

        With biases, through :meth:`homogenized` (the gradient drops the coordinate of ``t``).
        """
        if self._biases is not None:
            lin = self.homogenized().linearize(self._with_t(x))
            if lin.gradient is None:
                return lin
            g = lin.gradient[:-1] if self.n_outputs == 1 else tuple(row[:-1] for row in lin.gradient)
            return Linearization(lin.value, g, None)
        layers, scale, row_abs = self._exact_layers()
        h, q = self._integer_point(x)
        n = self.n_inputs
        hb = int(np.max(np.abs(h))) if h.size and h.dtype != object else max((abs(int(v)) for v in h), default=0)
        if self.n_outputs == 1:
            fast = self._linearize_backward(layers, scale, row_abs, h, hb, q)
            if fast is not None:
                return fast
        # Dense int64 Jacobian when it is small (one BLAS-free sparse x dense product per layer, no
        # per-layer scipy construction overhead); sparse rows otherwise (they stay sparse on
        # reduction networks); Python ints (object arrays) when a bound says int64 could overflow.
        dense_ok = n <= 128 and n * max(self.widths) <= 4_000_000
        J = np.eye(n, dtype=np.int64) if dense_ok else sp.csr_array(sp.eye_array(n, dtype=np.int64, format="csr"))
        jb = 1  # bound on max |entry| of J
        for k, N in enumerate(layers):
            z = self._spmv_exact(N, h, hb, row_abs[k])
            last = k == len(layers) - 1
            if row_abs[k] * jb < INT64_SAFE and N.data.dtype != object and J.dtype != object:
                Jz = N @ J
                if sp.issparse(Jz):
                    Jz = sp.csr_array(Jz)
            else:
                Jz = self._object_matmul(N, J)
            hb *= row_abs[k]
            jb *= row_abs[k]
            if last:
                h, J = z, Jz
                break
            zero = np.asarray(z == 0, dtype=bool)
            if np.any(zero):
                zi = np.flatnonzero(zero)
                if sp.issparse(Jz):
                    sub = Jz[zi]
                    moving = np.diff(sub.indptr) > 0
                    if np.any(moving):  # explicit zeros may remain after a product: look at values
                        moving = np.array([np.any(sub.data[sub.indptr[i]:sub.indptr[i + 1]] != 0) if moving[i] else False
                                           for i in range(len(zi))], dtype=bool)
                else:
                    moving = np.any(Jz[zi] != 0, axis=1)
                bad = zi[moving]
                if bad.size:
                    return Linearization(
                        self._exact(self.evaluate_exact(x)) if self.n_outputs == 1 else self.evaluate_exact(x),
                        None,
                        f"layer {k + 1}, unit {int(bad[0])}: pre-activation is 0 but not locally constant "
                        f"(the point lies on a kink)",
                    )
            active = (z > 0) if z.dtype != object else np.array([v > 0 for v in z], dtype=bool)
            h = np.where(active, z, 0) if z.dtype != object else np.array([v if v > 0 else 0 for v in z], dtype=object)
            if sp.issparse(Jz):
                J = _mask_rows(Jz, active)
            else:
                Jz[~active] = 0
                J = Jz
        value_rows = tuple(self._exact(Fraction(int(v)) * scale / q) for v in h)
        dense = J.toarray() if sp.issparse(J) else J
        if scale == 1:   # an integer network: the gradient is the integer Jacobian itself
            grad_rows = tuple(tuple(int(v) for v in row) for row in dense.tolist())
        else:
            num, den = scale.numerator, scale.denominator
            grad_rows = tuple(tuple(_scaled_exact(int(v), num, den) for v in row) for row in dense.tolist())
        if self.n_outputs == 1:
            return Linearization(value_rows[0], grad_rows[0], None)
        return Linearization(value_rows, grad_rows, None)

    @staticmethod
    def _object_matmul(N, J):
        """Exact product with Python ints (dense object arrays; only on overflow-prone networks)."""
        Jd = J.toarray().astype(object) if sp.issparse(J) else J
        Nd = N.toarray().astype(object) if N.data.dtype != object else None
        if Nd is None:
            Nd = np.zeros(N.shape, dtype=object)
            Nd[...] = 0
            for i in range(N.shape[0]):
                for p in range(N.indptr[i], N.indptr[i + 1]):
                    Nd[i, N.indices[p]] = N.data[p]
        if Nd.shape[0] * Nd.shape[1] * Jd.shape[1] > 5e7:
            raise NetworkError("exact gradient would need Python-integer products too large to run; the "
                               "weights are too large for int64 propagation")
        return Nd.dot(Jd)

    def exact_gradient(self, x):
        """The exact gradient at a generic point, or ``None`` when ``x`` is not generic."""
        return self.linearize(x).gradient

    # -- files -----------------------------------------------------------------------------------
    def save(self, path, *, provenance: dict | None = None, layout: str = "packed") -> None:
        """Write the network to one ``.npz`` file (numpy's zip of ``.npy`` arrays, uncompressed).

        Two layouts, both readable by any tool and both read by :meth:`load` (which tells them apart
        by their members):

        * ``"packed"`` (the default): a fixed set of members whatever the depth, so a file loads in
          one read: ``nsad_packed`` (int64 ``[1, L, has_biases]``: layout version, layers, whether
          biases follow), ``shapes`` (int64 ``L x 2``), ``kinds`` (int64 ``L x 2``: 0 if layer ``k``'s
          weights, resp. bias, are int64, 1 if float64), ``indptr`` (the ``L`` CSR row pointers, each
          from 0, one after the other), ``indices`` (the column indices of all layers),
          ``data_int`` / ``data_float`` (the weights of the int64 / float64 layers, in layer order),
          ``bias_int`` / ``bias_float`` (likewise the biases, ``w_k`` entries per layer; empty
          without biases);
        * ``"layers"`` (the per-layer layout): ``n_layers`` (int64 scalar) and for each layer
          ``k = 1..L`` the CSR parts ``M{k}_data``, ``M{k}_indices``, ``M{k}_indptr``, ``M{k}_shape``
          (int64, 2 entries); for a network with biases, ``b{k}`` (int64 or float64, ``w_k``
          entries) for every ``k`` (a reader takes a missing ``b{k}`` as zeros).

        Both may hold ``provenance_json``, the UTF-8 bytes (uint8) of a JSON object saying where the
        network came from (:func:`read_provenance`). The file is written to a temporary name and
        renamed, so a crash never leaves half a file.

        >>> import os, tempfile
        >>> p = os.path.join(tempfile.mkdtemp(), "n.npz")
        >>> net = ReluNetwork([[[1], [-1]], [[1, 1]]])
        >>> net.save(p)
        >>> sorted(np.load(p).files)[:3], ReluNetwork.load(p) == net
        (['bias_float', 'bias_int', 'data_float'], True)
        >>> net.save(p, layout="layers")
        >>> sorted(np.load(p).files)[:2], ReluNetwork.load(p) == net
        (['M1_data', 'M1_indices'], True)
        """
        if layout == "packed":
            arrays = _packed_arrays(self._matrices, self._biases)
        elif layout == "layers":
            arrays = {"n_layers": np.array(self.depth, dtype=np.int64)}
            for k, M in enumerate(self._matrices, start=1):
                arrays[f"M{k}_data"] = np.asarray(M.data)
                arrays[f"M{k}_indices"] = np.asarray(M.indices)
                arrays[f"M{k}_indptr"] = np.asarray(M.indptr)
                arrays[f"M{k}_shape"] = np.array(M.shape, dtype=np.int64)
                if self._biases is not None:
                    arrays[f"b{k}"] = np.asarray(self._biases[k - 1])
        else:
            raise NetworkError(f"unknown network file layout {layout!r} (expected 'packed' or 'layers')")
        if provenance is not None:
            arrays["provenance_json"] = np.frombuffer(json.dumps(provenance, sort_keys=True).encode(), dtype=np.uint8)
        path = os.fspath(path)
        tmp = f"{path}.tmp-{os.getpid()}"
        try:
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    @classmethod
    def load(cls, path, *, limits=None) -> "ReluNetwork":
        """Read a network written by :meth:`save` in either layout (or by any tool following one),
        telling the layouts apart by their members (``nsad_packed`` or ``n_layers``).

        Never unpickles and validates every matrix fully, so a corrupt or hostile file raises
        :class:`NetworkError` naming the file, never another exception. Any ``.npz`` layout numpy
        writes is read (``savez`` or ``savez_compressed``, ``.npy`` format 1.0, 2.0 or 3.0, C or
        Fortran order, either byte order, zip64), with member names ``KEY.npy`` or ``KEY``.

        Sizes are checked before anything is allocated for them (:mod:`nsad.limits`, default the
        current limits): the file's size (``max_file_bytes``), the number of zip members, each
        member's declared size and their sum (``max_decompressed_bytes``), then, from the ``.npy``
        headers and the ``M{k}_shape`` arrays alone, the depth (``max_depth``), each matrix's rows
        and columns (``max_layer_width``), the units (``max_units``) and the stored weights
        (``max_nnz``); beyond one of them, :class:`~nsad.errors.LimitError`. A file of at most 64 MiB
        is read in one call and its uncompressed members are used from that buffer; other members are
        streamed (compressed members inflate at most to their declared size); every CRC is checked.

        >>> import os, tempfile
        >>> p = os.path.join(tempfile.mkdtemp(), "n.npz")
        >>> ReluNetwork([[[1, -1]]]).save(p)
        >>> ReluNetwork.load(p).widths
        (1,)
        >>> from nsad.limits import Limits
        >>> ReluNetwork.load(p, limits=Limits(max_layer_width=1))
        Traceback (most recent call last):
        ...
        nsad.errors.LimitError: ...n.npz: M1 declares 1 x 2 weights, beyond the limit max_layer_width = 1 (...)
        """
        from nsad import limits as _limits
        from nsad.errors import LimitError

        name = os.fspath(path)
        lim = _limits.resolve(limits)
        try:
            with _NpzReader(name, lim) as z:
                mats, biases = z.network(cls._csr_from_parts)
        except (NetworkError, LimitError):
            raise
        except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            raise NetworkError(f"{name}: {_limits.file_problem(exc)}") from None
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError, TypeError, RuntimeError,
                NotImplementedError, zlib.error, struct.error, io.UnsupportedOperation, OverflowError,
                MemoryError) as exc:
            raise NetworkError(f"{name}: not a readable .npz network file ({type(exc).__name__}: "
                               f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
        try:
            return cls(mats, biases)
        except NetworkError as exc:
            raise NetworkError(f"{name}: {exc}") from None

    @staticmethod
    def _csr_from_parts(name: str, k: int, parts: dict) -> sp.csr_array:
        shape = parts["shape"]
        if shape.dtype.kind not in "iu" or shape.shape != (2,):
            raise NetworkError(f"{name}: M{k}_shape must be two integers")
        rows, cols = (int(v) for v in shape)
        if rows < 1 or cols < 1:
            raise NetworkError(f"{name}: M{k}_shape {rows}x{cols} is out of range")
        data, indices, indptr = parts["data"], parts["indices"], parts["indptr"]
        for key, arr in (("data", data), ("indices", indices), ("indptr", indptr)):
            if arr.ndim != 1:
                raise NetworkError(f"{name}: M{k}_{key} must be one-dimensional")
        if data.dtype.kind not in "biuf":
            raise NetworkError(f"{name}: M{k}_data has unsupported dtype {data.dtype}")
        if indices.dtype.kind not in "iu" or indptr.dtype.kind not in "iu":
            raise NetworkError(f"{name}: M{k}_indices and M{k}_indptr must be integer arrays")
        if indptr.size != rows + 1:
            raise NetworkError(f"{name}: M{k}_indptr has {indptr.size} entries, expected {rows + 1}")
        if indices.size != data.size:
            raise NetworkError(f"{name}: M{k}_indices and M{k}_data differ in length")
        if indptr.size and (indptr[0] != 0 or int(indptr[-1]) != data.size or np.any(indptr[1:] < indptr[:-1])):
            raise NetworkError(f"{name}: M{k}_indptr is not a valid CSR row pointer")
        if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= cols):
            raise NetworkError(f"{name}: M{k}_indices has a column index outside 0..{cols - 1}")
        if data.dtype.kind == "f" and not np.all(np.isfinite(data)):
            raise NetworkError(f"{name}: M{k} has non-finite weights (nan or inf)")
        try:
            a = sp.csr_array((data, indices.astype(np.int64), indptr.astype(np.int64)), shape=(rows, cols))
            a.check_format(full_check=True)
        except (ValueError, TypeError) as exc:
            raise NetworkError(f"{name}: M{k} is not a valid CSR matrix: {exc}") from None
        return a


def read_provenance(path) -> dict | None:
    """The ``provenance_json`` object of a network file written by :meth:`ReluNetwork.save`, or None.

    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "n.npz")
    >>> ReluNetwork([[[1], [-1]], [[1, 1]]]).save(p, provenance={"family": "abs"})
    >>> read_provenance(p)
    {'family': 'abs'}
    """
    name = os.fspath(path)
    try:
        with np.load(name, allow_pickle=False) as z:
            if "provenance_json" not in z.files:
                return None
            raw = z["provenance_json"]
        obj = json.loads(bytes(np.asarray(raw, dtype=np.uint8)).decode("utf-8"))
    except (OSError, ValueError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise NetworkError(f"{name}: unreadable provenance ({exc})") from None
    if not isinstance(obj, dict):
        raise NetworkError(f"{name}: provenance must be a JSON object")
    return obj


def _scaled_exact(v: int, num: int, den: int):
    """``v * num / den`` as an int or a reduced Fraction (``den > 0``), without a Fraction per zero."""
    if v == 0:
        return 0
    p = v * num
    g = math.gcd(p, den)
    return p // g if g == den else Fraction(p // g, den // g)


def require_bias_free(net, what: str) -> None:
    """The one guard of code that assumes a bias-free network: a one-line :class:`NetworkError` when
    ``net`` is a :class:`ReluNetwork` with biases (other values pass through unchanged)."""
    if getattr(net, "has_biases", False):
        net.require_bias_free(what)
