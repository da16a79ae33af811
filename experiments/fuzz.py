"""The fuzz campaign: every reader of nsad against generated hostile inputs, and the CLI on samples.

``python -m nsad.experiments.fuzz [--cases N] [--readers NAME ...] [--cli-samples K] [--seed S]
[--memory-mb M] [--case-seconds T] [--keep DIR] [--reproducers] [--atheris NAME --runs R]``

For each reader (:data:`READERS`), one child process (:func:`nsad.child.run_function`, forked, with
an address-space cap of ``--memory-mb`` MiB above the parent's and a time limit) runs ``N`` cases,
one at a time, each under a per-case alarm (``--case-seconds``). A case is an input file made by the
reader's generator from a seeded ``random.Random``: structured inputs of the format (valid, near
valid, oversized declarations, deep nesting, long numbers, ...) and byte-level mutations of valid
seeds (flips, insertions, deletions, duplications, splices, truncations, interesting tokens). Its
outcome is:

* ``success``: the reader returned;
* ``clean error``: it raised one of the reader's documented error types (an
  :class:`~nsad.errors.NsadError` subclass: the reader's own and :class:`~nsad.errors.LimitError`)
  with a one-line message starting with the file's name;
* ``other``: anything else (another exception type, a multi-line or unlocated message, the alarm,
  ``MemoryError``). The goal is 0; ``--keep DIR`` saves those inputs for reproduction.

Then ``--cli-samples`` of the generated inputs per reader go through the command line
(:func:`nsad.child.run_command`, same caps): a sample is clean when the exit code is 0, 1, 2 or 3, the
standard error has no traceback, and an exit code 2 comes with exactly one ``nsad: error:`` line.

``--reproducers`` runs every reproducer quoted in issue 11 (:data:`REPRODUCERS`) in a fresh process
under the default limits and reports its error, its wall time and its peak memory (the goal: every
input the limits reject is rejected within 10 s and 1 GB). ``--atheris NAME`` runs coverage-guided
fuzzing of one reader with atheris when it is installed (``pip install atheris``; optional), with
the same outcome rule (an "other" outcome is a crash for atheris).

The campaign prints a table (reader, cases, clean errors, successes, other, seconds) and returns 1
when any outcome is "other", else 0.

>>> table = campaign(cases=20, readers=["dimacs", "vnnlib"], cli_samples=0, progress=False)
>>> [(r["reader"], r["cases"], r["other"]) for r in table]
[('dimacs', 20, 0), ('vnnlib', 20, 0)]
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import random
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable

from nsad import errors
from nsad.child import run_command, run_function

__all__ = ["Reader", "READERS", "REPRODUCERS", "campaign", "run_reader", "classify", "main"]


# ------------------------------------------------------------------------------------ mutation
_NUMBERS = ["0", "-0", "1", "-1", "2", "3", "7", "00", "2147483647", "2147483648", "-2147483649",
            "4294967296", "4611686018427387904", "9223372036854775807", "9223372036854775808",
            "18446744073709551616", "1" + "0" * 30, "9" * 5000, "1e-999999999", "1e999999999", "1e308",
            "-1e-320", "0.5", ".5", "5.", "1/3", "1/0", "nan", "inf", "-inf", "1_000", "+1", "--1", "0x10", "\u0663"]
_CHUNKS = [b"\x00", b"\xff", b"\xfe\xff", b"\xef\xbb\xbf", b"\r\n", b"\n", b" ", b"\t", b"\x0b", b"%", b"c", b"p",
           b"(", b")", b"[", b"]", b"{", b"}", b'"', b"'", b"\\", b"#", b"=", b",", b";", b"-", b"0", b"PK\x03\x04",
           b"\x1f\x8b", b"\x93NUMPY", b"\x80\x04", b"\xc3", b"\xe9", b"\xed\xb2\x80"]


def _token(rng: random.Random) -> bytes:
    if rng.random() < 0.6:
        return rng.choice(_NUMBERS).encode("utf-8")
    return rng.choice(_CHUNKS)


def mutate(rng: random.Random, data: bytes, pool: list[bytes], max_size: int = 1 << 20) -> bytes:
    """1 to 4 byte-level mutations of ``data`` (``pool`` gives splice partners)."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(9)
        n = len(buf)
        if op == 0 and n:  # flip a bit
            i = rng.randrange(n)
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1 and n:  # set a byte
            buf[rng.randrange(n)] = rng.randrange(256)
        elif op == 2:  # insert random bytes
            i = rng.randint(0, n)
            buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 3 and n:  # delete a slice
            i = rng.randrange(n)
            del buf[i:i + rng.randint(1, max(1, n // 4))]
        elif op == 4 and n:  # duplicate a slice, possibly many times
            i = rng.randrange(n)
            piece = bytes(buf[i:i + rng.randint(1, 64)])
            times = rng.choice([1, 2, 10, 100, 1000])
            if len(buf) + len(piece) * times <= max_size:
                j = rng.randint(0, len(buf))
                buf[j:j] = piece * times
        elif op == 5:  # an interesting token
            i = rng.randint(0, n)
            buf[i:i] = _token(rng)
        elif op == 6 and n:  # truncate
            del buf[rng.randrange(n):]
        elif op == 7 and pool:  # splice with another seed
            other = rng.choice(pool)
            i, j = rng.randint(0, n), rng.randint(0, len(other))
            buf = buf[:i] + other[j:]
        elif op == 8 and n:  # overwrite a run with a number
            i = rng.randrange(n)
            tok = _token(rng)
            buf[i:i + len(tok)] = tok
    return bytes(buf[:max_size])


# ------------------------------------------------------------------------------------- readers
@dataclass(frozen=True)
class Reader:
    """One reader under test: its documented errors, valid seeds, a case generator, how to run it on
    a file, and the command line that reads such a file (``None``: no command does)."""

    name: str
    suffix: str
    errors: tuple
    seeds: Callable[[], list[bytes]]
    generate: Callable[[random.Random, list[bytes]], bytes]
    run: Callable[[str], Any]
    cli: Callable[[str, str], list[str]] | None = None
    located: bool = True  # messages must start with the file name


def _dimacs_seeds() -> list[bytes]:
    from nsad.instances import format_dimacs, planted_ksat, random_ksat
    from nsad.instances.families import pigeonhole

    out = [format_dimacs(random_ksat(12, m=40, seed=s)).encode() for s in range(3)]
    out.append(format_dimacs(planted_ksat(10, m=30, seed=1)).encode())
    out.append(format_dimacs(pigeonhole(2)).encode())
    out.append(b"c SATLIB\np cnf 5  4 \n 1 -2\t3 0\n\t-4  5\n   -1 0 2 0\n\n3 -5 0\n%\n0\n")
    out.append(b"\xef\xbb\xbfc win\r\np cnf 2 2\r\n1 2 0\r\n-1 0\r\n")
    out.append(b"c a\np cnf 2 2\n1 0\nc b\n2\nc inside\n0\n")
    return out


def _dimacs_structured(rng: random.Random) -> bytes:
    n = rng.choice([1, 2, 3, 5, 20, 10**7, 10**7 + 1, 2**31, 2**62, 2**62 + 1, 10**30])
    m = rng.choice([0, 1, 2, 5, 50, 10**7, 10**7 + 1, 2**40])
    lines = []
    if rng.random() < 0.4:
        k = rng.choice(["family", "parameters", "seed", "index", "planted", "version"])
        v = {"family": "random-ksat", "parameters": rng.choice(['{"n": 3}', "[" * rng.randint(1, 3000), "{",
                                                                '{"a": ' + "9" * 5000 + "}"]),
             "seed": rng.choice(["1", "-1", "x", "9" * 50]), "index": "0", "version": "0.1",
             "planted": " ".join(str(i if rng.random() < 0.5 else -i) for i in range(1, min(n, 30) + 1))}[k]
        lines.append(f"c nsad {k}: {v}")
    lines.append(rng.choice([f"p cnf {n} {m}", f"p cnf {n}", f"p dnf {n} {m}", "p", f"p cnf {n} {m} 0",
                             f"p cnf -{n} {m}"]))
    small = min(n, 50)
    for _ in range(rng.randint(0, 30)):
        clause = [rng.choice([1, -1]) * rng.randint(1, small) for _ in range(rng.randint(0, 5))]
        if rng.random() < 0.05:
            clause.append(rng.choice([n + 1, -(n + 1), 10**25]))
        lines.append(" ".join(map(str, clause)) + (" 0" if rng.random() < 0.95 else ""))
        if rng.random() < 0.05:
            lines.append(rng.choice(["c comment", "%", "c", "p cnf 3 1", "", "  ", "\x00"]))
    text = rng.choice(["\n", "\r\n"]).join(lines) + rng.choice(["", "\n", "\n%\n0\n"])
    return text.encode("utf-8", "surrogateescape")


def _dimacs_case(rng: random.Random, seeds: list[bytes]) -> bytes:
    if rng.random() < 0.4:
        return _dimacs_structured(rng)
    return mutate(rng, rng.choice(seeds), seeds)


def _gz_case(rng: random.Random, seeds: list[bytes]) -> bytes:
    r = rng.random()
    if r < 0.05:  # a small bomb: blanks or a long comment (capped by the reader's limits here)
        body = rng.choice([b" ", b"\n", b"c" + b"x" * 1000 + b"\n"]) * rng.randint(1, 8000)
        return gzip.compress(b"p cnf 3 1\n" + body, compresslevel=1, mtime=0)
    plain = _dimacs_case(rng, seeds)
    data = gzip.compress(plain, mtime=0)
    if r < 0.5:
        return data
    if r < 0.6:
        return data + gzip.compress(_dimacs_case(rng, seeds), mtime=0)  # two members
    return mutate(rng, data, [gzip.compress(s, mtime=0) for s in seeds[:2]])  # corrupt the deflate stream


def _npz_bytes(arrays: dict, compressed: bool = False) -> bytes:
    import numpy as np

    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def _npz_seeds() -> list[bytes]:
    from nsad.instances import random_ksat
    from nsad.reductions.sat_to_relu import reduce

    out = []
    for s in range(2):
        net = reduce(random_ksat(4, m=6, seed=s))
        out.append(_npz_bytes(_net_arrays(net), compressed=bool(s)))
    return out


def _net_arrays(net) -> dict:
    import numpy as np

    arrays = {"n_layers": np.array(net.depth, dtype=np.int64)}
    for k, M in enumerate(net.matrices, start=1):
        arrays.update({f"M{k}_data": np.asarray(M.data), f"M{k}_indices": np.asarray(M.indices),
                       f"M{k}_indptr": np.asarray(M.indptr), f"M{k}_shape": np.array(M.shape, dtype=np.int64)})
    return arrays


def _npy_member(arr, version) -> bytes:
    import numpy as np

    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, version=version, allow_pickle=False)
    return buf.getvalue()


def _npz_structured(rng: random.Random) -> bytes:
    import zipfile

    import numpy as np

    L = rng.choice([1, 1, 2, 3, 0, -1, 2**40])
    arrays: dict[str, Any] = {"n_layers": np.array(L if abs(L) < 1 << 40 else 5, dtype=rng.choice(["<i8", ">i4", "<u2"]))}
    rows_prev = rng.randint(1, 4)
    for k in range(1, max(1, min(L, 3)) + 1):
        rows = rng.choice([1, 2, 3, 2**40, 0, -1, 20_000_001])
        cols = rows_prev if rng.random() < 0.8 else rng.choice([1, 2**40, 0])
        nnz = rng.randint(0, 4)
        dt = rng.choice(["<i8", "<f8", ">f4", "<i4", "|b1", "<c16", "<U3"])
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                data = np.array([rng.choice([1, -1, 0.5, float("nan"), 2**62]) for _ in range(nnz)]).astype(dt)
        except (ValueError, OverflowError, TypeError):
            data = np.ones(nnz, dtype="<i8")
        arrays[f"M{k}_data"] = data
        arrays[f"M{k}_indices"] = np.array([rng.randint(-1, 3) for _ in range(nnz)],
                                           dtype=rng.choice(["<i8", "<i4", "<f8"]))
        small = max(1, min(rows, 4)) if rows > 0 else 1
        arrays[f"M{k}_indptr"] = np.array(sorted(rng.randint(0, nnz) for _ in range(small + 1)), dtype="<i8")
        arrays[f"M{k}_shape"] = np.array([rows, cols] if rng.random() < 0.9 else [rows], dtype="<i8")
        if rng.random() < 0.1:
            arrays[f"M{k}_data"] = arrays[f"M{k}_data"].reshape(1, -1)
        rows_prev = rows
    if rng.random() < 0.1:
        arrays.pop(rng.choice(list(arrays)))
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if rng.random() < 0.4 else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", compression=method) as zf:
        for key, arr in arrays.items():
            version = rng.choice([(1, 0), (2, 0), (3, 0)])
            try:
                member = _npy_member(np.asfortranarray(arr) if rng.random() < 0.2 else arr, version)
            except ValueError:
                member = _npy_member(np.asarray(arr), (1, 0))
            if rng.random() < 0.05:  # a header that declares far more data than the member holds
                member = member.replace(b"'shape': (", b"'shape': (1099511627776, ", 1)
            name = key + ".npy" if rng.random() < 0.9 else key
            zf.writestr(name, member)
    return buf.getvalue()


def _npz_case(rng: random.Random, seeds: list[bytes]) -> bytes:
    r = rng.random()
    if r < 0.45:
        return _npz_structured(rng)
    if r < 0.5:
        return rng.choice([b"p cnf 3 1\n1 0\n", b"\x93NUMPY\x01\x00", b"", b"PK\x05\x06" + b"\x00" * 18,
                           b"\x80\x04K\x01."])
    return mutate(rng, rng.choice(seeds), seeds)


def _load_npz(path: str):
    from nsad.networks import ReluNetwork

    net = ReluNetwork.load(path)
    net.describe()
    return net


def _onnx_seeds() -> list[bytes]:
    from nsad.instances import random_ksat
    from nsad.networks import ReluNetwork
    from nsad.networks.onnx_io import to_onnx
    from nsad.reductions.sat_to_relu import reduce

    nets = [ReluNetwork([[[1, -1], [1, 1]], [[1, 1]]]), reduce(random_ksat(3, m=3, seed=0)),
            ReluNetwork([[[0.5, -1.25]]])]
    out = [to_onnx(n).SerializeToString() for n in nets]
    out.append(to_onnx(nets[0], op="gemm", batch=1).SerializeToString())
    return out


_OPS = ["MatMul", "Gemm", "Relu", "Add", "Sub", "Identity", "Constant", "Conv", "Sigmoid", ""]


def _onnx_structured(rng: random.Random, seeds: list[bytes]) -> bytes:
    import onnx
    from onnx import TensorProto, helper

    m = onnx.ModelProto()
    m.ParseFromString(rng.choice(seeds))
    g = m.graph
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(12)
        if op == 0 and len(g.node):
            g.node[rng.randrange(len(g.node))].op_type = rng.choice(_OPS)
        elif op == 1 and len(g.node):
            node = g.node[rng.randrange(len(g.node))]
            if len(node.input) and rng.random() < 0.5:
                del node.input[rng.randrange(len(node.input))]
            else:
                node.input.append(rng.choice(["X", "W1", "", "nope", "Y"]))
        elif op == 2 and len(g.node):
            node = g.node[rng.randrange(len(g.node))]
            if len(node.output):
                del node.output[:]
            else:
                node.output.append("Z")
        elif op == 3 and len(g.initializer):
            t = g.initializer[rng.randrange(len(g.initializer))]
            if len(t.dims):
                t.dims[rng.randrange(len(t.dims))] = rng.choice([0, -1, 1, 3, 2**40, 20_000_001])
        elif op == 4 and len(g.initializer):
            t = g.initializer[rng.randrange(len(g.initializer))]
            t.data_type = rng.choice([0, 1, 2, 6, 7, 8, 9, 10, 11, 13, 16, 99])
        elif op == 5 and len(g.initializer):
            t = g.initializer[rng.randrange(len(g.initializer))]
            t.raw_data = t.raw_data[: rng.randint(0, len(t.raw_data))] + bytes(rng.randint(0, 9))
        elif op == 6 and len(g.initializer):  # external data, anywhere
            t = g.initializer[rng.randrange(len(g.initializer))]
            t.data_location = TensorProto.EXTERNAL
            del t.external_data[:]
            loc = rng.choice(["w.bin", "../w.bin", "/etc/hostname", "sub/../../w.bin", "", "\x00", "x" * 300])
            t.external_data.add(key="location", value=loc)
            if rng.random() < 0.5:
                t.external_data.add(key="offset", value=rng.choice(["0", "-1", "x", str(2**40)]))
                t.external_data.add(key="length", value=rng.choice(["4", "-4", str(2**40)]))
        elif op == 7 and len(g.node):
            node = g.node[rng.randrange(len(g.node))]
            node.attribute.append(helper.make_attribute(rng.choice(["alpha", "beta", "transA", "transB", "value"]),
                                                        rng.choice([1.5, 0, "str", [1, 2], 2**40, -1])))
        elif op == 8:
            dim = g.input[0].type.tensor_type.shape.dim if len(g.input) else None
            if dim is not None and len(dim):
                d = dim[rng.randrange(len(dim))]
                d.dim_value = rng.choice([0, 1, 2**40, 20_000_001, 3])
        elif op == 9:
            g.node.append(helper.make_node("Constant", [], [rng.choice(["C", "W1", "X"])],
                                           **rng.choice([{"value_floats": [1.0, 2.0]}, {"value_int": 3}, {},
                                                         {"value_ints": [1] * 10}])))
        elif op == 10 and len(g.node) > 1:
            nodes = list(g.node)
            rng.shuffle(nodes)
            del g.node[:]
            g.node.extend(nodes)
        elif op == 11:
            if rng.random() < 0.5 and len(g.output):
                del g.output[:]
            else:
                g.input.append(helper.make_tensor_value_info("X2", TensorProto.FLOAT, [1, 2]))
    try:
        return m.SerializeToString()
    except Exception:  # an unserialisable mutation: fall back to bytes
        return mutate(rng, rng.choice(seeds), seeds)


def _onnx_case(rng: random.Random, seeds: list[bytes]) -> bytes:
    if rng.random() < 0.6:
        return _onnx_structured(rng, seeds)
    return mutate(rng, rng.choice(seeds), seeds)


def _load_onnx(path: str):
    from nsad.networks.onnx_io import load_onnx

    return load_onnx(path)


def _vnnlib_seeds() -> list[bytes]:
    from nsad.reductions.vnnlib import format_vnnlib, reduction_property

    return [format_vnnlib(reduction_property(3)).encode(), b"""; other
(declare-const X_0 Real)
(declare-const X_1 Real)
(declare-const Y_0 Real)
(assert (and (>= X_0 (- 0.5)) (<= X_0 1e-1)))
(assert (<= (/ -1 4) X_1))
(assert (>= 2 X_1))
(assert (>= Y_0 1.0))
(check-sat)
"""]


def _sexpr(rng: random.Random, depth: int) -> str:
    if depth <= 0 or rng.random() < 0.3:
        return rng.choice(["X_0", "X_1", "Y_0", "Y_9", "Z"] + _NUMBERS[:20])
    head = rng.choice(["and", "or", "<=", ">=", "-", "/", "assert", ">", "declare-const"])
    return "(" + " ".join([head] + [_sexpr(rng, depth - 1) for _ in range(rng.randint(0, 3))]) + ")"


def _vnnlib_case(rng: random.Random, seeds: list[bytes]) -> bytes:
    r = rng.random()
    if r < 0.1:
        d = rng.choice([50, 101, 1000, 5000])
        return (b"(declare-const X_0 Real)(declare-const Y_0 Real)(assert " + b"(and " * d + b"(>= Y_0 1)"
                + b")" * d + b")")
    if r < 0.2:
        return (f"(declare-const X_0 Real)(declare-const Y_0 Real)(assert (<= X_0 1))(assert (>= X_0 -1))"
                f"(assert (>= Y_0 {rng.choice(_NUMBERS)}))").encode()
    if r < 0.4:
        decl = " ".join(f"(declare-const {v} Real)" for v in rng.sample(["X_0", "X_1", "Y_0", "X_99999999999", "Y_1"], 3))
        return (decl + " " + " ".join(f"(assert {_sexpr(rng, 4)})" for _ in range(rng.randint(1, 4)))).encode()
    return mutate(rng, rng.choice(seeds), seeds)


def _parse_vnnlib(path: str):
    from nsad.reductions.vnnlib import read_vnnlib

    return read_vnnlib(path)


_FAMILIES = ["random-ksat", "random", "planted", "php", "pigeonhole", "ordering", "parity", "chessboard", "xor",
             "tseitin", "hidden", "threshold-sweep", "sudoku", ""]


def _toml_value(rng: random.Random, depth: int = 0) -> str:
    r = rng.random()
    if r < 0.35 or depth > 2:
        return rng.choice(["3", "0", "-1", "4.26", "1000000000", "100000000", "true", '"x"', "2e9", "inf", "nan",
                           "9" * 50, "[]"])
    if r < 0.7:
        return "[" + ", ".join(_toml_value(rng, depth + 1) for _ in range(rng.randint(0, 4))) + "]"
    return "{start = %s, stop = %s, step = %s}" % (rng.choice(["1", "0", "-5"]), rng.choice(["100000", "3", "1e9"]),
                                                   rng.choice(["1", "0", "0.5", "1e-9"]))


def _toml_case(rng: random.Random, seeds: list[bytes]) -> bytes:
    r = rng.random()
    if r < 0.55:
        lines = [f"seed = {rng.choice(['1', '-1', 'x', '7'])}"] if rng.random() < 0.5 else []
        for _ in range(rng.randint(0, 3)):
            lines.append("[[family]]")
            lines.append(f'name = "{rng.choice(_FAMILIES)}"')
            for key in rng.sample(["n", "m", "ratio", "k", "count", "holes", "size", "vertices", "degree", "to_3cnf",
                                   "pigeons", "per_hole", "seed", "bogus"], rng.randint(0, 4)):
                lines.append(f"{key} = {_toml_value(rng)}")
        return "\n".join(lines).encode()
    if r < 0.6:
        d = rng.choice([50, 101, 2000])
        return b"a = " + b"[" * d + b"]" * d
    if r < 0.65:
        return b'[[family]]\nname = "caf\xe9"\n'
    return mutate(rng, rng.choice(seeds), seeds)


def _toml_seeds() -> list[bytes]:
    return [b'seed = 1\n[[family]]\nname = "php"\nholes = [2, 3]\n',
            b'[[family]]\nname = "random-ksat"\nn = [10, 20]\nratio = {start = 3.5, stop = 5.0, step = 0.5}\ncount = 2\n',
            b'[[family]]\nname = "tseitin"\nvertices = 10\nto_3cnf = true\n']


def _suite_spec(path: str):
    from nsad.instances.suites import load_spec, suite_tasks

    return suite_tasks(load_spec(path), path)


def _json_value(rng: random.Random, depth: int = 0) -> Any:
    r = rng.random()
    if depth > 3 or r < 0.4:
        return rng.choice([0, 1, -1, 2**70, 1.5, "x", "1/2", "9" * 60, None, True, "sat", "unsat", "../x.cnf",
                           "/etc/passwd", "a.cnf", ""])
    if r < 0.7:
        return [_json_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(["file", "expected", "points", "gradients", "certificate", "verdict", "records", "n"]):
            _json_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def _json_case(rng: random.Random, seeds: list[bytes]) -> bytes:
    r = rng.random()
    if r < 0.5:
        return json.dumps(_json_value(rng)).encode()
    if r < 0.55:
        d = rng.choice([50, 101, 3000])
        return b"[" * d + b"]" * d
    if r < 0.6:
        return b'{"points": [[' + b"9" * rng.choice([100, 5000]) + b"]], \"gradients\": [[1]]}"
    return mutate(rng, rng.choice(seeds), seeds)


def _manifest_seeds() -> list[bytes]:
    return [json.dumps([{"file": "a.cnf", "family": "random-ksat", "parameters": {"n": 3}, "seed": 0, "n": 3, "m": 2,
                         "sha256": "0" * 64, "expected": None}]).encode(),
            json.dumps({"records": [{"file": "b/c.cnf", "expected": "sat"}]}).encode()]


def _read_manifest(path: str):
    from nsad.experiments.vnncomp import read_suite_manifest

    return read_suite_manifest(os.path.dirname(path))


def _verdict_seeds() -> list[bytes]:
    return [json.dumps({"file": "n.npz", "verdict": "two-subgradients",
                        "certificate": {"points": [[1, 0, 0], [-1, 0, 0]], "gradients": [[1, 0, 0], [-1, 0, 0]]}}).encode(),
            json.dumps({"points": [[1, 2, 3], [3, 2, 1]], "gradients": [["1/2", 0, 0], [0, 0, 1]]}).encode()]


_ABS_NET = None


def _check_verdict(path: str):
    global _ABS_NET
    from nsad.networks import ReluNetwork, check, read_certificate

    if _ABS_NET is None:
        _ABS_NET = ReluNetwork([[[1, 0, 0], [-1, 0, 0], [0, 1, 1]], [[1, 1, 1]]])
    return check(_ABS_NET, read_certificate(path))


def _drup_seeds() -> list[bytes]:
    return [b"2 0\n0\n", b"c a comment\n-1 0\nd 1 2 0\n0\n", b"1 2 0\n3 0\n0\n"]


def _drup_case(rng: random.Random, seeds: list[bytes]) -> bytes:
    if rng.random() < 0.4:
        lines = []
        for _ in range(rng.randint(0, 20)):
            lits = [rng.choice([1, -1]) * rng.randint(1, 5) for _ in range(rng.randint(0, 4))]
            if rng.random() < 0.05:
                lits.append(rng.choice([9, 2**63, 10**30]))
            lines.append(("d " if rng.random() < 0.2 else "") + " ".join(map(str, lits + [0])))
        return "\n".join(lines).encode()
    return mutate(rng, rng.choice(seeds), seeds)


def _check_proof(path: str):
    from nsad.solvers.formula.proof import check_drup, read_drup

    return check_drup([(1, 2), (-1, 2), (1, -2), (-1, -2), (3, 4, 5)], read_drup(path), 5, name=path)


def _db_seeds() -> list[bytes]:
    from nsad.experiments.store import APPLICATION_ID, ResultStore

    out = []
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "r.db")
        with ResultStore(p) as store:
            for i in range(3):
                store.put("verify", {"key": f"k{i}", "n": 5, "ratio": 4.26, "agree": 1, "formula_answer": "sat",
                                     "details": {"x": i}})
        out.append(open(p, "rb").read())
        q = os.path.join(d, "nopk.db")
        con = sqlite3.connect(q)
        con.execute(f"PRAGMA application_id={APPLICATION_ID}")
        con.execute("CREATE TABLE verify (key TEXT, n INTEGER)")
        con.commit()
        con.close()
        out.append(open(q, "rb").read())
    return out


def _db_case(rng: random.Random, seeds: list[bytes]) -> bytes:
    data = bytearray(rng.choice(seeds))
    if rng.random() < 0.3:  # corrupt whole pages
        page = 4096
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(max(1, len(data) // page)) * page
            data[i:i + page] = bytes(rng.randrange(256) for _ in range(min(page, 64))) * (page // 64)
        return bytes(data)
    return mutate(rng, bytes(data), seeds, max_size=1 << 18)


def _read_db(path: str):
    from nsad.experiments.store import ResultStore

    with ResultStore(path, readonly=True) as store:
        for t in store.tables():
            store.count(t)
            store.columns(t)
            for _ in store.rows(t):
                pass
    with ResultStore(path) as store:
        store.put("verify", {"key": "fuzz", "n": 1, "agree": None})
    return True


def _cli_dimacs(path: str, work: str) -> list[str]:
    return ["solve", path, "--json", "--time-limit", "5"]


def _cli_reduce(path: str, work: str) -> list[str]:
    return ["reduce", path, "--out", os.path.join(work, "out.npz")]


def _cli_npz(path: str, work: str) -> list[str]:
    return ["decide", path, "--json", "--time-limit", "5"]


def _cli_onnx(path: str, work: str) -> list[str]:
    return ["export", "npz", path, "--out", os.path.join(work, "out.npz")]


def _cli_toml(path: str, work: str) -> list[str]:
    return ["generate", "suite", "--spec", path, "--out", os.path.join(work, "suite"), "--force"]


def _cli_manifest(path: str, work: str) -> list[str]:
    return ["export", "vnncomp", os.path.dirname(path), "--out", os.path.join(work, "vnncomp"), "--force"]


def _cli_verdict(path: str, work: str) -> list[str]:
    net = os.path.join(work, "abs.npz")
    if not os.path.exists(net):
        from nsad.networks import ReluNetwork

        ReluNetwork([[[1, 0, 0], [-1, 0, 0], [0, 1, 1]], [[1, 1, 1]]]).save(net)
    return ["check", net, path, "--json"]


def _cli_db(path: str, work: str) -> list[str]:
    return ["results", "export", "--db", path, "--format", "jsonl", "--out", os.path.join(work, "rows.jsonl")]


E = errors
READERS: dict[str, Reader] = {
    r.name: r for r in [
        Reader("dimacs", ".cnf", (E.DimacsError, E.LimitError), _dimacs_seeds, _dimacs_case,
               lambda p: __import__("nsad.instances", fromlist=["read_dimacs"]).read_dimacs(p), _cli_dimacs),
        Reader("dimacs-gz", ".cnf.gz", (E.DimacsError, E.LimitError), _dimacs_seeds, _gz_case,
               lambda p: __import__("nsad.instances", fromlist=["read_dimacs"]).read_dimacs(p), _cli_reduce),
        Reader("npz", ".npz", (E.NetworkError, E.LimitError), _npz_seeds, _npz_case, _load_npz, _cli_npz),
        Reader("onnx", ".onnx", (E.NetworkError, E.LimitError), _onnx_seeds, _onnx_case, _load_onnx, _cli_onnx),
        Reader("vnnlib", ".vnnlib", (E.VnnlibError, E.LimitError), _vnnlib_seeds, _vnnlib_case, _parse_vnnlib),
        Reader("suite-toml", ".toml", (E.CnfError, E.LimitError), _toml_seeds, _toml_case, _suite_spec, _cli_toml),
        Reader("manifest", "manifest.json", (E.ExportError, E.LimitError), _manifest_seeds, _json_case,
               _read_manifest, _cli_manifest),
        Reader("verdict-json", ".json", (E.NetworkError, E.LimitError), _verdict_seeds, _json_case, _check_verdict,
               _cli_verdict),
        Reader("drup-proof", ".drup", (E.SolverError, E.LimitError), _drup_seeds, _drup_case, _check_proof),
        Reader("database", ".db", (E.StoreError, E.LimitError), _db_seeds, _db_case, _read_db, _cli_db),
    ]
}
"""The readers of the campaign, by name (``--readers``)."""


# ------------------------------------------------------------------------------------ outcomes
class _CaseTimeout(BaseException):
    """The per-case alarm fired."""


def _alarm(signum, frame):
    raise _CaseTimeout()


def classify(reader: Reader, path: str) -> tuple[str, str]:
    """``("success" | "clean" | "other", detail)`` of running ``reader`` on the file ``path``."""
    try:
        reader.run(path)
    except _CaseTimeout:
        return "other", "per-case alarm: the reader did not finish in time"
    except reader.errors as exc:
        text = str(exc)
        if "\n" in text or not text:
            return "other", f"{type(exc).__name__} with a multi-line or empty message: {text[:200]!r}"
        if reader.located and not text.startswith(path):
            return "other", f"{type(exc).__name__} without the file name: {text[:200]!r}"
        return "clean", type(exc).__name__
    except BaseException as exc:  # noqa: BLE001 - the point: anything else is a finding
        return "other", f"{type(exc).__name__}: {str(exc)[:200]}"
    return "success", ""


def make_case(reader: Reader, rng: random.Random, seeds: list[bytes]) -> bytes:
    """One generated input (a structured case numpy or onnx cannot build becomes a mutated seed)."""
    try:
        return reader.generate(rng, seeds)
    except (ValueError, TypeError, OverflowError):
        return mutate(rng, rng.choice(seeds), seeds)


def _file_name(reader: Reader) -> str:
    return "manifest.json" if reader.suffix == "manifest.json" else "input" + reader.suffix


def run_reader(name: str, cases: int, seed: int = 0, case_seconds: float = 10.0, work: str | None = None,
               keep: str | None = None, cli_samples: int = 0) -> dict:
    """Run ``cases`` generated cases through one reader in this process (what the child of
    :func:`campaign` does); returns the counts, up to 20 examples of "other" outcomes, and the
    inputs chosen for the CLI samples (paths under ``work``)."""
    reader = READERS[name]
    rng = random.Random(f"{seed}:{name}")
    seeds = reader.seeds()
    work = work or tempfile.mkdtemp(prefix=f"nsad-fuzz-{name}-")
    case_dir = os.path.join(work, "case")
    os.makedirs(case_dir, exist_ok=True)
    path = os.path.join(case_dir, _file_name(reader))
    counts = {"success": 0, "clean": 0, "other": 0}
    examples: list[dict] = []
    samples: list[str] = []
    every = max(1, cases // cli_samples) if cli_samples else 0
    old = signal.signal(signal.SIGALRM, _alarm)
    t0 = time.perf_counter()
    try:
        for i in range(cases):
            data = make_case(reader, rng, seeds)
            with open(path, "wb") as fh:
                fh.write(data)
            signal.setitimer(signal.ITIMER_REAL, case_seconds)
            try:
                outcome, detail = classify(reader, path)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            counts[outcome] += 1
            if outcome == "other":
                if len(examples) < 20:
                    examples.append({"case": i, "detail": detail, "bytes": len(data)})
                if keep:
                    os.makedirs(keep, exist_ok=True)
                    with open(os.path.join(keep, f"{name}-{i}{reader.suffix.replace('manifest', '')}"), "wb") as fh:
                        fh.write(data)
            if every and i % every == 0 and len(samples) < cli_samples:
                sample_dir = os.path.join(work, f"sample-{len(samples)}")
                os.makedirs(sample_dir, exist_ok=True)
                target = os.path.join(sample_dir, os.path.basename(path))
                shutil.copyfile(path, target)
                samples.append(target)
    finally:
        signal.signal(signal.SIGALRM, old)
    return {"reader": name, "cases": cases, "clean": counts["clean"], "success": counts["success"],
            "other": counts["other"], "seconds": round(time.perf_counter() - t0, 1), "examples": examples,
            "samples": samples}


def _vm_size_mb() -> float:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _cli_outcome(argv: list[str], memory_mb: float, seconds: float) -> tuple[str, str]:
    out = run_command([sys.executable, "-m", "nsad", *argv], time_limit=seconds, memory_limit_mb=memory_mb)
    err = out.stderr
    if "Traceback" in err:
        return "other", f"traceback: {out.stderr_tail[:200]}"
    if out.status == "timeout":
        return "other", "the command did not finish in time"
    code = out.exit_code
    if code not in (0, 1, 2, 3):
        return "other", f"exit code {code}: {out.stderr_tail[:200]}"
    if code == 2:
        lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith(("resuming", "verify ["))]
        if len(lines) != 1 or not lines[0].startswith("nsad: error: "):
            return "other", f"exit code 2 with {len(lines)} stderr lines: {err[:200]!r}"
        return "clean", ""
    return "success", ""


def campaign(cases: int = 1000, readers: list[str] | None = None, cli_samples: int = 20, seed: int = 0,
             memory_mb: float = 1024, case_seconds: float = 10.0, keep: str | None = None,
             progress: bool = True) -> list[dict]:
    """Run the campaign (see the module docstring); returns one row per reader (and per CLI sampling,
    ``reader`` ``"cli:NAME"``)."""
    names = list(readers or READERS)
    for n in names:
        if n not in READERS:
            raise errors.NsadError(f"unknown reader {n!r}; the readers are: {', '.join(READERS)}")
    rows = []
    root = tempfile.mkdtemp(prefix="nsad-fuzz-")
    try:
        for name in names:
            work = os.path.join(root, name)
            os.makedirs(work)
            cap = _vm_size_mb() + memory_mb if memory_mb else None
            limit = max(60.0, cases * case_seconds * 0.05 + 600)
            out = run_function(run_reader, name, cases, seed, case_seconds, work, keep, cli_samples,
                               time_limit=limit, memory_limit_mb=cap)
            if out.ok:
                row = out.value
            else:
                row = {"reader": name, "cases": cases, "clean": 0, "success": 0, "other": cases, "seconds": round(out.seconds, 1),
                       "examples": [{"detail": f"the reader's child process: {out.status}: {out.error_type or ''} "
                                               f"{out.reason}"}], "samples": []}
            rows.append(row)
            if progress:
                print(f"{name}: {row['cases']} cases, {row['clean']} clean errors, {row['success']} successes, "
                      f"{row['other']} other, {row['seconds']} s", file=sys.stderr, flush=True)
            reader = READERS[name]
            if cli_samples and reader.cli is not None and row["samples"]:
                t0 = time.perf_counter()
                counts = {"success": 0, "clean": 0, "other": 0}
                examples = []
                for sample in row["samples"]:
                    outcome, detail = _cli_outcome(reader.cli(sample, os.path.dirname(sample)), 4096, 120)
                    counts[outcome] += 1
                    if outcome == "other" and len(examples) < 20:
                        examples.append({"sample": sample, "detail": detail})
                cli_row = {"reader": f"cli:{name}", "cases": len(row["samples"]), "clean": counts["clean"],
                           "success": counts["success"], "other": counts["other"],
                           "seconds": round(time.perf_counter() - t0, 1), "examples": examples, "samples": []}
                rows.append(cli_row)
                if progress:
                    print(f"cli:{name}: {cli_row['cases']} samples, {cli_row['clean']} clean errors, "
                          f"{cli_row['success']} successes, {cli_row['other']} other", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return rows


def format_table(rows: list[dict]) -> str:
    head = ["reader", "cases", "clean errors", "successes", "other", "seconds"]
    body = [[r["reader"], str(r["cases"]), str(r["clean"]), str(r["success"]), str(r["other"]), f"{r['seconds']:g}"]
            for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    line = lambda cells: "| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w)  # noqa: E731
                                           for i, (c, w) in enumerate(zip(cells, widths))) + " |"
    return "\n".join([line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(b) for b in body])


# --------------------------------------------------------------------------------- reproducers
@dataclass(frozen=True)
class Reproducer:
    """One input quoted in issue 11: ``build(folder)`` writes it and returns what ``run`` takes."""

    name: str
    build: Callable[[str], Any]
    run: Callable[[Any], Any]
    expect: tuple
    fragment: str


def _write(folder: str, name: str, data: bytes) -> str:
    path = os.path.join(folder, name)
    with open(path, "wb") as fh:
        fh.write(data)
    return path


def _gz_bomb(folder: str, gigabytes: float = 4.0) -> str:
    """A gzip file of ``gigabytes`` GB of blanks after a header, as concatenated members (a few MB)."""
    member = gzip.compress(b" " * (64 << 20), compresslevel=9, mtime=0)
    head = gzip.compress(b"p cnf 3 1\n", mtime=0)
    count = int(gigabytes * 2**30) >> 26
    path = os.path.join(folder, "bomb.cnf.gz")
    with open(path, "wb") as fh:
        fh.write(head)
        for _ in range(count):
            fh.write(member)
    return path


def _npz_bomb(folder: str, gigabytes: float = 2.4) -> str:
    """An ``.npz`` whose compressed member (a few MB) inflates to ``gigabytes`` GB: its zip directory
    and its ``.npy`` header say so truthfully."""
    import zipfile

    import numpy as np

    count = int(gigabytes * 1e9) // 8
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (count,)})
    path = os.path.join(folder, "bomb.npz")
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("n_layers.npy", _npy_member(np.array(1), (1, 0)))
        with zf.open("M1_data.npy", "w", force_zip64=True) as fh:
            fh.write(np.lib.format.magic(1, 0) + header.getvalue())
            block = bytes(8 << 20)
            left = count * 8
            while left:
                fh.write(block[:min(left, len(block))])
                left -= min(left, len(block))
        for key, arr in (("M1_indices", np.zeros(0, np.int64)), ("M1_indptr", np.array([0, 0])),
                         ("M1_shape", np.array([1, 1]))):
            zf.writestr(key + ".npy", _npy_member(arr, (1, 0)))
    return path


def _wide_npz(folder: str) -> str:
    import numpy as np

    return _write(folder, "wide.npz", _npz_bytes({"n_layers": np.array(1), "M1_data": np.array([1]),
                                                  "M1_indices": np.array([0]), "M1_indptr": np.array([0, 1]),
                                                  "M1_shape": np.array([1, 2**40])}))


def _zlib_npz(folder: str) -> str:
    import numpy as np

    data = bytearray(_npz_bytes({"n_layers": np.array(1), "M1_data": np.arange(2000, dtype=np.int64),
                                 "M1_indices": np.zeros(2000, np.int64), "M1_indptr": np.array([0, 2000]),
                                 "M1_shape": np.array([1, 1])}, compressed=True))
    start = data.index(b"M1_data.npy") + len("M1_data.npy") + 40
    data[start:start + 32] = b"\xff" * 32  # a corrupted deflate stream
    return _write(folder, "zlib.npz", bytes(data))


def _read_dimacs(p):
    from nsad.instances import read_dimacs

    return read_dimacs(p)


def _load(p):
    from nsad.networks import ReluNetwork

    return ReluNetwork.load(p)


def _vnn(text):
    from nsad.reductions.vnnlib import parse_vnnlib

    return parse_vnnlib(text, "p.vnnlib")


def _suite_text(text: str):
    def build(folder: str) -> str:
        return _write(folder, "suite.toml", text.encode())
    return build


def _verify_grid(args):
    from nsad.experiments.verify import expand_grid

    return expand_grid(*args)


REPRODUCERS: list[Reproducer] = [
    Reproducer("46-byte DIMACS declaring 2^62 variables with a planted line",
               lambda d: _write(d, "small.cnf", b"c nsad planted: 1\np cnf 4611686018427387904 0\n"),
               _read_dimacs, (errors.LimitError,), "max_vars"),
    Reproducer("gzip bomb: a few MB of .cnf.gz inflating to 4 GB", _gz_bomb, _read_dimacs, (errors.LimitError,),
               "max_decompressed_bytes"),
    Reproducer("npz member inflating to 2.4 GB", _npz_bomb, _load, (errors.LimitError,), "max_decompressed_bytes"),
    Reproducer("npz declaring a 1 x 2^40 layer", _wide_npz, _load, (errors.LimitError,), "max_layer_width"),
    Reproducer("npz with a corrupted deflate stream", _zlib_npz, _load, (errors.NetworkError,), "zlib.npz"),
    Reproducer("verify --n 10000000", lambda d: ([10_000_000], [4.26], 30, 0), _verify_grid, (errors.LimitError,),
               "max_clauses"),
    Reproducer("suite count = 1000000000", _suite_text('[[family]]\nname = "random"\nn = 20\nratio = 4.26\n'
                                                       'count = 1000000000\n'), _suite_spec, (errors.LimitError,),
               "max_grid_tasks"),
    Reproducer("suite 100000 x 100000 grid", _suite_text('[[family]]\nname = "random"\n'
                                                         'n = {start = 10, stop = 100009, step = 1}\n'
                                                         'm = {start = 1, stop = 100000, step = 1}\n'),
               _suite_spec, (errors.LimitError,), "max_grid_tasks"),
    Reproducer("suite n = 100000000", _suite_text('[[family]]\nname = "random"\nn = 100000000\nratio = 4.26\n'),
               _suite_spec, (errors.LimitError,), "max_vars"),
    Reproducer("VNN-LIB (assert (>= X_0 1e-999999999))",
               lambda d: "(declare-const X_0 Real)(declare-const Y_0 Real)(assert (>= X_0 1e-999999999))", _vnn,
               (errors.LimitError,), "max_number_length"),
    Reproducer("VNN-LIB nested 1000 deep",
               lambda d: "(declare-const X_0 Real)(declare-const Y_0 Real)(assert " + "(and " * 1000 + "(>= Y_0 1)"
               + ")" * 1000 + ")", _vnn, (errors.LimitError,), "max_nesting"),
    Reproducer("suite spec that is not UTF-8", lambda d: _write(d, "latin1.toml", b'[[family]]\nname = "caf\xe9"\n'),
               _suite_spec, (errors.CnfError,), "not UTF-8"),
    Reproducer("text file named .npz", lambda d: _write(d, "text.npz", b"p cnf 3 1\n1 0\n"), _load,
               (errors.NetworkError,), "text file"),
]
"""The inputs quoted in issue 11 that a reader alone handles (the CLI ones are in the tests)."""


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _peak_reset() -> int:
    """The resident size now (KiB), after resetting the peak (Linux ``clear_refs``); else ru_maxrss."""
    import resource

    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return _status_kb("VmRSS") or 0
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _peak_now() -> int:
    import resource

    return _status_kb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _reproducer_child(name: str, arg: Any) -> dict:
    rep = next(r for r in REPRODUCERS if r.name == name)
    before = _peak_reset()
    t0 = time.perf_counter()
    caught = None
    try:
        rep.run(arg)
        result = ("none", "")
    except BaseException as exc:  # noqa: BLE001 - reported
        caught = exc
        result = (type(exc).__name__, str(exc))
    seconds = time.perf_counter() - t0
    after = _peak_now()
    ok = caught is not None and isinstance(caught, rep.expect) and rep.fragment in result[1] and "\n" not in result[1]
    return {"name": name, "error": result[0], "message": result[1][:160], "seconds": round(seconds, 3),
            "peak_mb": round(max(0, after - before) / 1024, 1), "ok": ok}


def reproducers(progress: bool = True) -> list[dict]:
    """Every reproducer in a fresh process (spawned) under the default limits: its error, wall time
    and peak memory growth (the peak resident size while the reader ran, ``VmHWM`` after a reset of
    it, minus the resident size before; the input is built by this process first)."""
    rows = []
    for rep in REPRODUCERS:
        with tempfile.TemporaryDirectory() as folder:
            arg = rep.build(folder)
            out = run_function(_reproducer_child, rep.name, arg, time_limit=120, start_method="spawn")
        row = out.value if out.ok else {"name": rep.name, "error": out.status, "message": str(out.reason),
                                        "seconds": round(out.seconds, 3), "peak_mb": None, "ok": False}
        row["within_goal"] = bool(row["ok"] and row["seconds"] <= 10 and (row["peak_mb"] or 0) <= 1024)
        rows.append(row)
        if progress:
            print(f"{row['name']}: {row['error']} in {row['seconds']} s, +{row['peak_mb']} MB "
                  f"{'ok' if row['within_goal'] else 'OUTSIDE THE GOAL'}", file=sys.stderr, flush=True)
    return rows


# ------------------------------------------------------------------------------------- atheris
def _atheris_worker(name: str, runs: int, seed: int) -> int:  # pragma: no cover - optional tool
    import atheris

    reader = READERS[name]
    atheris.instrument_all()
    folder = tempfile.mkdtemp(prefix=f"nsad-atheris-{name}-")
    path = os.path.join(folder, _file_name(reader))

    def one(data: bytes) -> None:
        with open(path, "wb") as fh:
            fh.write(data)
        outcome, detail = classify(reader, path)
        if outcome == "other":
            raise RuntimeError(f"{name}: {detail}")

    atheris.Setup([sys.argv[0], f"-runs={runs}", f"-seed={seed + 1}", "-max_len=65536", "-rss_limit_mb=2048",
                   "-timeout=10"], one)
    atheris.Fuzz()
    return 0


def atheris_run(name: str, runs: int, seed: int = 0) -> int:
    """Coverage-guided fuzzing of one reader with atheris in a child process; 0 when atheris found
    no "other" outcome, 1 when it did, 2 when atheris is not installed."""
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("atheris is not installed (pip install atheris); skipped", file=sys.stderr)
        return 2
    out = run_command([sys.executable, "-m", "nsad.experiments.fuzz", "--atheris-worker", name, "--runs", str(runs),
                       "--seed", str(seed)], time_limit=max(600.0, runs * 0.05))
    print(out.stderr_tail, file=sys.stderr)
    return 0 if out.ok else 1


# ------------------------------------------------------------------------------------- command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nsad.experiments.fuzz", description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1000, help="cases per reader (default 1000)")
    parser.add_argument("--readers", nargs="+", default=None, choices=list(READERS), help="default: all")
    parser.add_argument("--cli-samples", type=int, default=20, help="CLI runs per reader (default 20)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--memory-mb", type=float, default=1024,
                        help="address-space cap of each reader's child above the parent's (default 1024)")
    parser.add_argument("--case-seconds", type=float, default=10.0, help="per-case alarm (default 10)")
    parser.add_argument("--keep", default=None, help="save the inputs of 'other' outcomes to this folder")
    parser.add_argument("--json", default=None, help="also write the rows as JSON to this file")
    parser.add_argument("--reproducers", action="store_true", help="run the issue's reproducers instead")
    parser.add_argument("--atheris", default=None, choices=list(READERS), help="coverage-guided fuzzing of one reader")
    parser.add_argument("--runs", type=int, default=100_000, help="atheris runs (default 100000)")
    parser.add_argument("--atheris-worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.atheris_worker:  # pragma: no cover
        return _atheris_worker(args.atheris_worker, args.runs, args.seed)
    if args.atheris:
        return atheris_run(args.atheris, args.runs, args.seed)
    if args.reproducers:
        rows = reproducers()
        for r in rows:
            print(f"{r['name']:60s} {r['error']:12s} {r['seconds']:8.3f} s  +{r['peak_mb']} MB  "
                  f"{'ok' if r['within_goal'] else 'OUTSIDE THE GOAL'}")
        return 0 if all(r["within_goal"] for r in rows) else 1
    t0 = time.perf_counter()
    rows = campaign(args.cases, args.readers, args.cli_samples, args.seed, args.memory_mb, args.case_seconds,
                    args.keep)
    print(format_table(rows))
    print(f"\n{time.perf_counter() - t0:.0f} s; seed {args.seed}; {args.cases} cases per reader; "
          f"memory cap +{args.memory_mb:g} MiB per reader; per-case alarm {args.case_seconds:g} s")
    for r in rows:
        for ex in r["examples"]:
            print(f"  {r['reader']}: {ex}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=1)
    return 1 if any(r["other"] for r in rows) else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
