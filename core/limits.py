"""Resource limits: stated once, enforced by every reader, generator and grid *before* allocating.

Every reader of nsad (DIMACS plain and gzip, ``.npz`` networks, ONNX, VNN-LIB, suite TOML specs,
manifests, verdict JSON, DRUP proofs, the results database) and every generator and experiment
grid checks the sizes an input *declares* (a DIMACS header, an ``.npy`` member header, an ONNX
tensor's dims, a grid's parameter lists) against the current :class:`Limits` before it allocates
anything for them; compressed data is streamed with a byte cap. An input beyond a limit raises
:class:`~nsad.errors.LimitError` (an :class:`~nsad.errors.NsadError`): a one-line message that
names the place (``FILE[:LINE]``), the limit, the value, and how to raise it.

Conventions
-----------
* A limit is an ``int`` or ``None`` (no limit). Byte sizes are bytes, ``worker_memory_mb`` is MiB.
* The current limits are process-wide (and per thread or task, through :mod:`contextvars`):
  :func:`get_limits` returns them; the context manager :func:`limits` overrides some of them for
  a block; :func:`set_limits` replaces them (what the command line does). The starting value is
  :data:`DEFAULTS`, updated by the environment variable ``NSAD_LIMITS`` when it is set (the same
  ``NAME=VALUE`` pairs as on the command line, separated by commas or blanks).
* Readers take ``limits=None`` (meaning :func:`get_limits`); grids pass their limits to their
  worker processes with each task, so ``--limit`` holds on any executor.
* On the command line: ``nsad --limit NAME=VALUE ...`` (repeatable, before or after the command
  name), ``VALUE`` an integer (``10_000_000``, ``1e7``, ``64Mi``, ``2G``) or ``off``;
  ``--no-limits`` lifts every limit. ``nsad limits`` prints the table below with the values in force.

The defaults admit every example of the README and ``docs/``, the 10^6-clause reduction benchmark
(``python -m nsad.reductions.benchmark``: n = 250,000, m = 1,000,000, about 1.1e7 units and 2.7e7
nonzeros) and all shipped data, and they reject what would exhaust a workstation; an input they
reject is rejected from its declared sizes, in well under a second and without allocating for it.

>>> get_limits().max_vars
10000000
>>> with limits(max_vars=5):
...     get_limits().max_vars
5
>>> check("max_vars", 12, "the header declares 12 variables", location="f.cnf:3", limits=Limits(max_vars=10))
Traceback (most recent call last):
...
nsad.errors.LimitError: f.cnf:3: the header declares 12 variables, beyond the limit max_vars = 10 (raise it with --limit max_vars=N, or nsad.limits.limits(max_vars=N))
>>> parse_overrides(["max_nnz=2G", "max_depth=off"])
{'max_nnz': 2000000000, 'max_depth': None}
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import errno
import io
import math
import os
import re
import stat
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Iterable, Iterator, Mapping

from nsad.errors import LimitError

__all__ = [
    "file_problem",
    "Limits",
    "DEFAULTS",
    "get_limits",
    "set_limits",
    "limits",
    "resolve",
    "call_with",
    "check",
    "parse_value",
    "parse_overrides",
    "describe",
    "CappedStream",
    "open_binary",
    "open_input",
    "read_text",
    "json_nesting",
    "check_text_numbers",
    "check_number_digits",
    "load_json",
]

_KiB = 2**10
_MiB = 2**20
_GiB = 2**30


def _doc(text: str, unit: str = "count") -> dict:
    return {"doc": text, "unit": unit}


@dataclass(frozen=True)
class Limits:
    """Named resource limits (``None`` = no limit); see the module docstring for the conventions.

    >>> Limits().replace(max_units=10).max_units
    10
    """

    max_file_bytes: int | None = field(default=_GiB, metadata=_doc(
        "size of any input file on disk, checked before reading it", "bytes"))
    max_decompressed_bytes: int | None = field(default=_GiB, metadata=_doc(
        "bytes after decompression: a gzip stream, the members of an .npz, ONNX external data", "bytes"))
    max_text_bytes: int | None = field(default=64 * _MiB, metadata=_doc(
        "size of a text file parsed whole: JSON (verdicts, manifests), TOML suite specs, VNN-LIB", "bytes"))
    max_comment_bytes: int | None = field(default=64 * _MiB, metadata=_doc(
        "comment bytes kept from one DIMACS file (provenance included; 64 bytes counted per line)", "bytes"))
    max_vars: int | None = field(default=10_000_000, metadata=_doc(
        "variables of a formula (DIMACS header, generators, grids, DRUP checks)"))
    max_clauses: int | None = field(default=10_000_000, metadata=_doc(
        "clauses of a formula (DIMACS header, generators, grids)"))
    max_literals: int | None = field(default=50_000_000, metadata=_doc(
        "literal occurrences of a formula (DIMACS body, generators)"))
    max_proof_literals: int | None = field(default=20_000_000, metadata=_doc(
        "literals of a DRUP proof (a proof file, or the lines given to the checker)"))
    max_layer_width: int | None = field(default=20_000_000, metadata=_doc(
        "rows or columns of one network matrix, dimensions of an ONNX tensor"))
    max_units: int | None = field(default=50_000_000, metadata=_doc(
        "ReLU units of a network (all rows but the output layer's)"))
    max_nnz: int | None = field(default=100_000_000, metadata=_doc(
        "stored weights of a network; entries of a dense ONNX tensor or composed map"))
    max_depth: int | None = field(default=10_000, metadata=_doc("matrices (layers) of a network"))
    max_graph_nodes: int | None = field(default=100_000, metadata=_doc("nodes of an ONNX graph"))
    max_nesting: int | None = field(default=100, metadata=_doc(
        "nesting depth of VNN-LIB parentheses and of JSON / TOML arrays and tables"))
    max_number_length: int | None = field(default=4300, metadata=_doc(
        "decimal digits of a number, written or implied by its exponent (1e-999 has 999)", "digits"))
    max_records: int | None = field(default=1_000_000, metadata=_doc(
        "records of a manifest (JSON list) or of a VNN-COMP instances.csv"))
    max_grid_tasks: int | None = field(default=1_000_000, metadata=_doc(
        "tasks of a verify/scale grid, formulas of a suite or of nsad generate"))
    max_grid_units: int | None = field(default=2_000_000_000, metadata=_doc(
        "estimated ReLU units summed over the networks of a verify/scale grid"))
    max_memory_bytes: int | None = field(default=4 * _GiB, metadata=_doc(
        "estimated peak memory of generating one formula (from its parameters)", "bytes"))
    max_output_bytes: int | None = field(default=16 * _GiB, metadata=_doc(
        "estimated bytes a generator writes (nsad generate, suites)", "bytes"))
    worker_memory_mb: int | None = field(default=8192, metadata=_doc(
        "address-space cap of each worker process of verify/scale (--memory-limit overrides it)", "MiB"))

    def replace(self, **changes: Any) -> "Limits":
        """A copy with some limits changed (names checked, values normalised)."""
        return dataclasses.replace(self, **{k: _normal(k, v) for k, v in _checked(changes).items()})

    def unlimited(self) -> "Limits":
        """Every limit lifted (``None``)."""
        return Limits(**{f.name: None for f in dataclasses.fields(self)})


DEFAULTS = Limits()
"""The documented defaults (the table in the module docstring and in ``nsad limits``)."""

NAMES = tuple(f.name for f in dataclasses.fields(Limits))

_current: contextvars.ContextVar[Limits | None] = contextvars.ContextVar("nsad_limits", default=None)
_process: list[Limits | None] = [None]  # set_limits / NSAD_LIMITS, shared by every thread


def _checked(changes: Mapping[str, Any]) -> Mapping[str, Any]:
    for name in changes:
        if name not in NAMES:
            raise LimitError(f"unknown limit {name!r}; the limits are: {', '.join(NAMES)}")
    return changes


def _normal(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str):
        return parse_value(value, name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not
                                                                         (math.isfinite(value) and value.is_integer())):
        if isinstance(value, float) and math.isinf(value) and value > 0:
            return None
        raise LimitError(f"limit {name} must be a non-negative integer or None, got {value!r}")
    if value < 0:
        raise LimitError(f"limit {name} must be a non-negative integer or None, got {value!r}")
    return int(value)


_SUFFIX = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
           "Ki": _KiB, "Mi": _MiB, "Gi": _GiB, "Ti": 2**40}
_VALUE = re.compile(r"([0-9][0-9_]*(?:\.[0-9]*)?(?:[eE][+]?[0-9]+)?)\s*(k|K|M|G|T|Ki|Mi|Gi|Ti)?(?:B|iB)?")


def parse_value(text: str, name: str = "limit") -> int | None:
    """A limit value from text: ``10_000_000``, ``1e7``, ``64Mi`` (2^20), ``2G`` (10^9), or ``off``.

    >>> parse_value("64Mi"), parse_value("1.5k"), parse_value("off")
    (67108864, 1500, None)
    """
    t = str(text).strip()
    if t.lower() in ("off", "none", "inf", "unlimited", "no"):
        return None
    m = _VALUE.fullmatch(t)
    if m is None:
        raise LimitError(f"limit {name}: expected a non-negative integer (e.g. 1e7, 64Mi, 2G) or 'off', got {text!r}")
    number, suffix = m.group(1).replace("_", ""), m.group(2) or ""
    try:
        from fractions import Fraction

        value = Fraction(number) * _SUFFIX[suffix] if len(number) <= 40 else None
    except (ValueError, ZeroDivisionError):
        value = None
    if value is None or value.denominator != 1:
        raise LimitError(f"limit {name}: {text!r} is not a whole number")
    return int(value)


def parse_overrides(items: Iterable[str]) -> dict[str, int | None]:
    """``{name: value}`` from ``NAME=VALUE`` strings (the ``--limit`` option, ``NSAD_LIMITS``)."""
    out: dict[str, int | None] = {}
    for item in items:
        name, sep, value = str(item).partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name:
            raise LimitError(f"--limit expects NAME=VALUE (e.g. max_vars=1e8), got {item!r}")
        _checked({name: None})
        out[name] = parse_value(value, name)
    return out


def _from_environment() -> Limits:
    text = os.environ.get("NSAD_LIMITS", "").strip()
    if not text:
        return DEFAULTS
    items = [p for p in re.split(r"[,\s]+", text) if p]
    try:
        return DEFAULTS.replace(**parse_overrides(items))
    except LimitError as exc:
        raise LimitError(f"environment variable NSAD_LIMITS: {exc}") from None


def get_limits() -> Limits:
    """The limits in force here (a :func:`limits` block, else :func:`set_limits`, else defaults)."""
    cur = _current.get()
    if cur is not None:
        return cur
    if _process[0] is None:
        _process[0] = _from_environment()
    return _process[0]


def set_limits(value: Limits | None = None, **changes: Any) -> Limits:
    """Replace the process-wide limits (``value``, or the current ones with ``changes``); returns them.

    ``set_limits(DEFAULTS)`` restores the defaults.
    """
    base = value if value is not None else get_limits()
    new = base.replace(**changes) if changes else base
    _process[0] = new
    return new


@contextlib.contextmanager
def limits(_base: Limits | None = None, **changes: Any) -> Iterator[Limits]:
    """Override some limits inside a ``with`` block (in this thread or task only).

    >>> with limits(max_clauses=None) as lim:
    ...     lim.max_clauses is None
    True
    """
    base = _base if _base is not None else get_limits()
    token = _current.set(base.replace(**changes) if changes else base)
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def call_with(value: Limits, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` under the limits ``value``: what grids send to their worker processes
    (``functools.partial(call_with, limits, run_task)`` pickles with the task).

    >>> call_with(Limits(max_vars=3), lambda: get_limits().max_vars)
    3
    """
    with limits(value):
        return fn(*args, **kwargs)


def resolve(value: Limits | None) -> Limits:
    """``value``, or the current limits when it is ``None`` (what a reader's ``limits=`` means)."""
    if value is None:
        return get_limits()
    if not isinstance(value, Limits):
        raise LimitError(f"limits must be an nsad.limits.Limits, got {type(value).__name__}")
    return value


def hint(name: str) -> str:
    return f"raise it with --limit {name}=N, or nsad.limits.limits({name}=N)"


def check(name: str, value: int, what: str, *, location: str | None = None, limits: Limits | None = None) -> None:
    """Raise ``LimitError`` when ``value`` exceeds the limit ``name`` (``what`` says what was counted)."""
    cap = getattr(resolve(limits), name)
    if cap is not None and value > cap:
        raise exceeded(name, cap, what, location=location)


def exceeded(name: str, cap: int, what: str, *, location: str | None = None) -> LimitError:
    """The ``LimitError`` for ``what`` beyond the limit ``name = cap``."""
    return LimitError(f"{what}, beyond the limit {name} = {cap} ({hint(name)})", limit=name, location=location)


def describe(value: Limits | None = None) -> list[dict]:
    """The limits as rows ``{name, value, default, unit, doc}`` (what ``nsad limits`` prints).

    >>> describe()[0]["name"], describe()[0]["default"]
    ('max_file_bytes', 1073741824)
    """
    cur = resolve(value)
    return [{"name": f.name, "value": getattr(cur, f.name), "default": f.default, "unit": f.metadata["unit"],
             "doc": f.metadata["doc"]} for f in dataclasses.fields(Limits)]


# ------------------------------------------------------------------------------- capped input
class CappedStream(io.RawIOBase):
    """A read-only stream that raises ``LimitError`` once more than ``cap`` bytes come out of it.

    Wraps any binary stream (a file, a ``gzip.GzipFile`` decompressing as it is read, a zip member):
    nothing beyond ``cap`` bytes is ever held, so a decompression bomb costs ``cap`` bytes at most.

    >>> s = CappedStream(io.BytesIO(b"x" * 10), 4, "max_decompressed_bytes", "b.gz", "decompressed data")
    >>> s.read(3)
    b'xxx'
    >>> s.read(3)
    Traceback (most recent call last):
    ...
    nsad.errors.LimitError: b.gz: decompressed data is larger than 4 bytes, beyond the limit max_decompressed_bytes = 4 (raise it with --limit max_decompressed_bytes=N, or nsad.limits.limits(max_decompressed_bytes=N))
    """

    def __init__(self, raw: BinaryIO, cap: int | None, limit: str, name: str, what: str):
        self.raw, self.cap, self.limit, self.name, self.what = raw, cap, limit, name, what
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        want = len(buffer)
        if self.cap is not None:
            want = min(want, self.cap + 1 - self.count)
        data = self.raw.read(max(want, 1))
        n = len(data)
        if self.cap is not None and self.count + n > self.cap:
            raise exceeded(self.limit, self.cap, f"{self.what} is larger than {self.cap} bytes", location=self.name)
        buffer[:n] = data
        self.count += n
        return n

    def close(self) -> None:
        try:
            self.raw.close()
        finally:
            super().close()


def file_problem(exc: OSError, what: str = "the file") -> str:
    """The one-line reason for an ``OSError`` raised while opening or reading an input (every reader
    prefixes the file's name and raises its own error type).

    >>> file_problem(FileNotFoundError(2, "No such file or directory")), file_problem(OSError(5, "I/O error"), "the proof")
    ('no such file', 'cannot read the proof (I/O error)')
    """
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "is a directory"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return f"cannot read {what} ({exc.strerror or exc})"


def open_binary(path) -> BinaryIO:
    """``open(path, "rb")``, except that a named pipe nobody writes to reads as empty instead of
    blocking forever (opened with ``O_NONBLOCK``, then switched back to blocking reads, so a pipe
    with a writer, such as ``<(zcat f.cnf.gz)``, streams as usual).

    >>> import tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "fifo.cnf")
    >>> os.mkfifo(p)
    >>> open_binary(p).read()
    b''
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def open_input(path: str, limits: Limits | None = None, *, what: str = "the file") -> BinaryIO:
    """Open ``path`` for reading after checking its size against ``max_file_bytes``; the stream is
    capped too (a file that grows, a FIFO). ``OSError`` as usual for a missing or unreadable file.

    >>> import tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "x.txt")
    >>> _ = open(p, "w").write("hello")
    >>> open_input(p).read()
    b'hello'
    >>> open_input(p, Limits(max_file_bytes=3))
    Traceback (most recent call last):
    ...
    nsad.errors.LimitError: ...x.txt: the file has 5 bytes, beyond the limit max_file_bytes = 3 (...)
    """
    lim = resolve(limits)
    cap = lim.max_file_bytes
    handle = open_binary(path)
    try:
        size = os.fstat(handle.fileno()).st_size
        if cap is not None and size > cap:
            raise exceeded("max_file_bytes", cap, f"{what} has {size} bytes", location=path)
    except BaseException:
        handle.close()
        raise
    return io.BufferedReader(CappedStream(handle, cap, "max_file_bytes", path, what), 1 << 16)


def read_text(path: str, limits: Limits | None = None, *, error=LimitError, what: str = "the file") -> str:
    """The UTF-8 text of a file parsed whole (JSON, TOML, VNN-LIB): ``max_text_bytes`` checked before
    reading. A missing file, a folder or bytes that are not UTF-8 raise ``error`` (an ``NsadError``
    subclass) naming the file; a byte-order mark is dropped.

    >>> read_text("/nonexistent.json", error=LimitError)
    Traceback (most recent call last):
    ...
    nsad.errors.LimitError: /nonexistent.json: no such file
    """
    lim = resolve(limits)
    try:
        size = os.stat(path).st_size
        cap = lim.max_text_bytes
        if cap is not None and size > cap:
            raise exceeded("max_text_bytes", cap, f"{what} has {size} bytes", location=path)
        with open_input(path, lim.replace(max_file_bytes=cap if cap is not None else lim.max_file_bytes),
                        what=what) as fh:
            data = fh.read()
    except OSError as exc:
        raise error(f"{path}: {file_problem(exc)}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(f"{path}:{line}: not UTF-8 text (byte {exc.start})") from None
    return text[1:] if text.startswith("\ufeff") else text


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)


def json_nesting(text: str) -> int:
    """The nesting depth of the arrays and objects of a JSON text (strings skipped), without parsing it.

    >>> json_nesting('{"a": [1, [2, "]]]"]]}')
    3
    """
    import numpy as np

    bare = _JSON_STRING.sub('""', text)
    codes = np.frombuffer(bare.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    step = np.zeros(256, dtype=np.int8)
    step[[ord("["), ord("{")]] = 1
    step[[ord("]"), ord("}")]] = -1
    if codes.size == 0:
        return 0
    depth = np.cumsum(step[codes], dtype=np.int64)
    return int(depth.max(initial=0))


def check_text_numbers(text: str, name: str, limits: Limits | None = None) -> None:
    """``LimitError`` (at its line) for a run of digits longer than ``max_number_length`` in ``text``."""
    cap = resolve(limits).max_number_length
    if cap is None:
        return
    m = re.search("[0-9]{%d,}" % (cap + 1), text)
    if m is not None:
        line = text.count("\n", 0, m.start()) + 1
        raise exceeded("max_number_length", cap, f"a number has {len(m.group(0))} or more digits",
                       location=f"{name}:{line}")


_NUMBER_PARTS = re.compile(r"\s*[+-]?([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?\s*")


def check_number_digits(text: str, what: str, *, location: str | None = None, limits: Limits | None = None) -> None:
    """``LimitError`` when the number ``text`` (``12``, ``-1.5e-3``, ``p/q``) has more decimal digits,
    written or implied by its exponent, than ``max_number_length``: what to call before
    ``Fraction(text)``, which would build ``10**999999999`` for ``'1e-999999999'``.

    >>> check_number_digits("1.5e-20", "x")
    >>> check_number_digits("1e-999999999", "--at", limits=Limits(max_number_length=10))
    Traceback (most recent call last):
    ...
    nsad.errors.LimitError: --at: '1e-999999999' has 1000000000 digits (written or implied by its exponent), beyond the limit max_number_length = 10 (...)
    """
    cap = resolve(limits).max_number_length
    if cap is None:
        return
    t = str(text)
    digits = len(t)
    m = _NUMBER_PARTS.fullmatch(t)
    if m is not None and m.group(3) is not None:
        exp = m.group(3).lstrip("+-")
        e = int(exp) if len(exp) <= 20 else 10**20
        digits = len(m.group(1)) + len(m.group(2) or "") + e
    if digits > cap:
        raise exceeded("max_number_length", cap, f"{what}: {t[:30]!r} has {digits} digits (written or implied by its "
                       f"exponent)", location=location)


def load_json(path: str, limits: Limits | None = None, *, error=LimitError, what: str = "the file") -> Any:
    """Parse a JSON file under the limits: its size (``max_text_bytes``), its nesting (``max_nesting``)
    and the digits of its numbers (``max_number_length``) are checked on the text before ``json``
    parses it. Syntax errors, bytes that are not UTF-8 and unreadable files raise ``error`` with
    ``FILE[:LINE]``.

    >>> import tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "v.json")
    >>> _ = open(p, "w").write('{"a": [1, 2]}')
    >>> load_json(p)
    {'a': [1, 2]}
    >>> _ = open(p, "w").write("[" * 500 + "]" * 500)
    >>> load_json(p)
    Traceback (most recent call last):
    ...
    nsad.errors.LimitError: ...v.json: JSON nested 500 deep, beyond the limit max_nesting = 100 (...)
    """
    import json

    lim = resolve(limits)
    text = read_text(path, lim, error=error, what=what)
    check_text_numbers(text, path, lim)
    depth = json_nesting(text)
    check("max_nesting", depth, f"JSON nested {depth} deep", location=path, limits=lim)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    except (ValueError, RecursionError) as exc:
        raise error(f"{path}: not valid JSON ({type(exc).__name__}: {exc})".splitlines()[0]) from None
