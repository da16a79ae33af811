"""Strict DIMACS CNF reading and writing, with SATLIB's quirks and nsad's provenance comments.

Reading (``read_dimacs(path)``, ``parse_dimacs(text, name="<string>")``)
------------------------------------------------------------------------
* Lines are split at ``\\n`` and numbered from 1; ASCII whitespace (space, tab, ``\\r``, ``\\v``,
  ``\\f``) separates tokens, so irregular spacing, leading blanks, tabs and CRLF line ends are fine.
* A line whose first non-blank character is ``c`` is a comment; its text (without the ``c`` and
  one following blank) becomes one of the formula's ``comments`` and must be UTF-8.
* The header ``p cnf N M`` (exactly four tokens, ``N >= 1`` and ``M >= 0`` plain decimal) must come
  before any clause and appear once.
* Clauses are integer tokens terminated by ``0``; a clause may span lines and a line may hold
  several clauses. Every literal must satisfy ``1 <= |lit| <= N``; the number of clauses must equal
  ``M``; the last clause must be terminated by ``0``.
* A line whose first non-blank character is ``%`` ends the formula (SATLIB's trailer); whatever
  follows, such as SATLIB's lone ``0``, is ignored.
* gzip-compressed input (recognised by its magic bytes, whatever the file name) is decompressed.
* Every problem raises ``DimacsError`` (a ``ValueError``) whose one-line message starts with
  ``FILE:LINE: `` and says what was expected; no other exception escapes for any content.
  (A missing file is an ``OSError``, as usual.)

Large files take a vectorised path: the header block is read line by line, the rest is split into
tokens once and converted with numpy. Only when that path sees something unusual (a comment or a
second header in the body, a bad token, a count or range problem) does a line-by-line scan run,
with the same rules, to find the first offending line.

Provenance comments
-------------------
``format_dimacs``/``write_dimacs`` put provenance before the header, then the formula's comments::

    c nsad version: 0.1.0
    c nsad family: random-ksat
    c nsad parameters: {"n": 20, "m": 91, "k": 3, "ratio": null}
    c nsad seed: 0
    c nsad index: 0
    c nsad planted: 1 -2 3 ...         (planted formulas only: variable i is true iff i appears)
    p cnf 20 91

When reading, comments of exactly this form *before the header* fill ``family``, ``parameters``
(JSON object), ``seed``, ``index`` and ``planted`` instead of ``comments`` (a malformed one is a
``DimacsError``); the version line is dropped, since writing adds the current one. So
``parse_dimacs(format_dimacs(cnf))`` equals ``cnf`` with the same provenance and comments.

>>> cnf = parse_dimacs("c a comment\\np cnf 3  2 \\n 1 -2\\n 3 0 -1 0\\n%\\n0\\n")
>>> cnf.num_vars, cnf.clauses, cnf.comments
(3, ((1, -2, 3), (-1,)), ('a comment',))
>>> parse_dimacs("p cnf 3 2\\n1 -4 0\\n2 0\\n", name="f.cnf")
Traceback (most recent call last):
...
nsad.errors.DimacsError: f.cnf:2: literal -4 is out of range: the header declares 3 variables
"""

from __future__ import annotations

from nsad.errors import DimacsError

import functools

import gzip
import io
import json
import os
import re
import zlib
from dataclasses import dataclass
from typing import Any, BinaryIO, TextIO, Union

import numpy as np

from .cnf import Cnf, CnfError

__all__ = ["DimacsError", "read_dimacs", "parse_dimacs", "format_dimacs", "write_dimacs"]

PathLike = Union[str, "os.PathLike[str]"]




_WS = b" \t\r\x0b\x0c"  # blanks inside a line (lines are split at \n)
_BODY_CHARS = b"0123456789-\n" + _WS  # the only bytes of a plain clause body
_TOKEN = re.compile(rb"-?[0-9]+")
_UNSIGNED = re.compile(rb"[0-9]+")
_TRAILER = re.compile(rb"(?m)^[ \t\r\x0b\x0c]*%")
_MAX_VARS = 2**62
_HEADER_HINT = "'p cnf <variables> <clauses>'"
_PROVENANCE = re.compile(r"nsad (version|family|parameters|seed|index|planted): ?(.*)")
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class _Parsed:
    num_vars: int
    num_clauses: int
    header_line: int
    comments: list  # (line number, raw line bytes)
    literals: np.ndarray
    offsets: np.ndarray


def _show(token: bytes) -> str:
    text = token[:24].decode("utf-8", "backslashreplace")
    return repr(text + ("..." if len(token) > 24 else ""))


def _parse_header(stripped: bytes, name: str, line: int) -> tuple[int, int]:
    """(N, M) from a stripped line starting with ``p``; DimacsError when it is malformed."""
    tokens = stripped.split()
    if tokens[0] == b"p" and len(tokens) >= 2 and tokens[1] != b"cnf":
        raise DimacsError(name, line, f"expected {_HEADER_HINT}, found format {_show(tokens[1])} (only cnf is read)")
    if (
        len(tokens) != 4
        or tokens[0] != b"p"
        or not _UNSIGNED.fullmatch(tokens[2])
        or not _UNSIGNED.fullmatch(tokens[3])
    ):
        raise DimacsError(name, line, f"expected header {_HEADER_HINT}, found {_show(stripped)}")
    n, m = int(tokens[2]), int(tokens[3])
    if n < 1:
        raise DimacsError(name, line, "the header declares 0 variables; at least 1 is required")
    if n > _MAX_VARS:
        raise DimacsError(name, line, f"the header declares {n} variables; at most 2**62 are supported")
    return n, m


def _arrays(tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Literals and offsets from a 0-terminated token array."""
    zeros = np.flatnonzero(tokens == 0)
    offsets = np.zeros(zeros.size + 1, dtype=np.int64)
    offsets[1:] = zeros - np.arange(zeros.size)
    return tokens[tokens != 0], offsets


def _parse_fast(data: bytes, name: str) -> _Parsed | None:
    """The vectorised path; None whenever the careful line scan is needed (it gives the error)."""
    comments = []
    pos = 0
    line = 0
    while True:
        end = data.find(b"\n", pos)
        raw = data[pos:] if end < 0 else data[pos:end]
        line += 1
        stripped = raw.strip(_WS)
        if stripped[:1] == b"c":
            comments.append((line, raw))
        elif stripped[:1] == b"p":
            n, m = _parse_header(stripped, name, line)
            break
        elif stripped:
            return None
        if end < 0:
            return None
        pos = end + 1
    body = b"" if end < 0 else data[end + 1 :]
    trailer = _TRAILER.search(body)
    if trailer is not None:
        body = body[: trailer.start()]
    if body.translate(None, _BODY_CHARS):
        return None
    try:
        tokens = np.array(body.split(), dtype=np.int64)
    except (ValueError, OverflowError):
        return None
    if tokens.size and tokens[-1] != 0:
        return None
    literals, offsets = _arrays(tokens)
    if offsets.size - 1 != m or (literals.size and np.abs(literals).max() > n):
        return None
    return _Parsed(n, m, line, comments, literals, offsets)


def _parse_slow(data: bytes, name: str) -> _Parsed:
    """The line-by-line scan: same rules as the fast path, raises at the first offending line."""
    lines = data.split(b"\n")
    comments: list = []
    header = None
    header_line = 0
    n = m = 0
    tokens: list[int] = []
    count = 0
    open_line = 0  # line where the clause being read started; 0 when none is open
    last = len(lines) - 1 if len(lines) > 1 and lines[-1] == b"" else len(lines)
    stop = None
    for line, raw in enumerate(lines, 1):
        stripped = raw.strip(_WS)
        if not stripped:
            continue
        first = stripped[:1]
        if first == b"c":
            comments.append((line, raw))
            continue
        if first == b"%":
            stop = line
            break
        if first == b"p":
            if header is not None:
                raise DimacsError(name, line, f"second header: the header is already on line {header_line}")
            header = n, m = _parse_header(stripped, name, line)
            header_line = line
            continue
        for token in stripped.split():
            if not _TOKEN.fullmatch(token):
                raise DimacsError(name, line, f"expected an integer literal or 0, found {_show(token)}")
            if header is None:
                raise DimacsError(name, line, f"clause before the header: expected {_HEADER_HINT} first")
            value = int(token)
            if not open_line and count == m:
                raise DimacsError(
                    name, line, f"more clauses than the {m} declared in the header on line {header_line}"
                )
            if value == 0:
                count += 1
                open_line = 0
            else:
                if abs(value) > n:
                    raise DimacsError(
                        name, line, f"literal {value} is out of range: the header declares {n} variables"
                    )
                open_line = open_line or line
            tokens.append(value)
    end = stop or max(last, 1)
    where = "the '%' trailer" if stop else "the end of the file"
    if header is None:
        raise DimacsError(name, end, f"missing header: expected {_HEADER_HINT} before {where}")
    if open_line:
        raise DimacsError(name, open_line, f"the clause starting on this line is not terminated by 0 before {where}")
    if count != m:
        raise DimacsError(
            name, end, f"the header on line {header_line} declares {m} clauses but {count} were found before {where}"
        )
    literals, offsets = _arrays(np.array(tokens, dtype=np.int64))
    return _Parsed(n, m, header_line, comments, literals, offsets)


def _comment_text(raw: bytes, name: str, line: int) -> str:
    text = raw.lstrip(_WS)[1:].rstrip(b"\r")
    if text[:1] in (b" ", b"\t"):
        text = text[1:]
    try:
        return text.decode("utf-8").replace("\r", " ")
    except UnicodeDecodeError:
        raise DimacsError(name, line, "a comment is not valid UTF-8 text") from None


def _provenance(parsed: _Parsed, name: str) -> tuple[list[str], dict[str, Any], dict[str, int]]:
    """Split comments into free text and the ``nsad KEY: VALUE`` provenance fields."""
    texts: list[str] = []
    fields: dict[str, Any] = {}
    where: dict[str, int] = {}
    for line, raw in parsed.comments:
        text = _comment_text(raw, name, line)
        match = _PROVENANCE.fullmatch(text) if line < parsed.header_line else None
        if match is None:
            texts.append(text)
            continue
        key, value = match.group(1), match.group(2).strip()
        if key in where:
            raise DimacsError(name, line, f"second 'nsad {key}' comment (the first is on line {where[key]})")
        where[key] = line
        if key == "version":
            continue
        if key == "family":
            if not value:
                raise DimacsError(name, line, "expected a family name after 'nsad family:'")
            fields[key] = value
        elif key == "parameters":
            try:
                obj = json.loads(value)
            except (ValueError, RecursionError):
                obj = None
            if not isinstance(obj, dict):
                raise DimacsError(name, line, "expected a JSON object after 'nsad parameters:'")
            fields[key] = obj
        elif key in ("seed", "index"):
            if not _UNSIGNED.fullmatch(value.encode()):
                raise DimacsError(name, line, f"expected a non-negative integer after 'nsad {key}:'")
            fields[key] = int(value)
        else:  # planted
            signed = value.split()
            expected = [str(i) for i in range(1, parsed.num_vars + 1)]
            if [s.lstrip("-") for s in signed] != expected or any(s.startswith("--") for s in signed):
                raise DimacsError(
                    name, line, f"expected 'nsad planted:' then the signed variables 1..{parsed.num_vars} in order"
                )
            fields[key] = tuple(not s.startswith("-") for s in signed)
    return texts, fields, where


def _parse_bytes(data: bytes, name: str) -> Cnf:
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise DimacsError(name, 1, f"corrupt gzip data ({exc})") from None
    if data[:3] == b"\xef\xbb\xbf":  # a UTF-8 byte order mark
        data = data[3:]
    parsed = _parse_fast(data, name) or _parse_slow(data, name)
    comments, fields, where = _provenance(parsed, name)
    try:
        return Cnf.from_arrays(parsed.num_vars, parsed.literals, parsed.offsets, comments, **fields)
    except CnfError as exc:  # only the planted assignment can still be wrong here
        raise DimacsError(name, where.get("planted", parsed.header_line), str(exc)) from None


def parse_dimacs(text: str | bytes, name: str = "<string>") -> Cnf:
    """Parse DIMACS CNF from a string (or bytes); ``name`` prefixes error messages.

    >>> parse_dimacs("p cnf 2 1\\n1 2\\n")
    Traceback (most recent call last):
    ...
    nsad.errors.DimacsError: <string>:2: the clause starting on this line is not terminated by 0 before the end of the file
    """
    if isinstance(text, str):
        data = text.encode("utf-8", "surrogatepass")
    elif isinstance(text, (bytes, bytearray, memoryview)):
        data = bytes(text)
    else:
        raise TypeError(f"parse_dimacs expects str or bytes, got {type(text).__name__}")
    return _parse_bytes(data, name)


def read_dimacs(path: PathLike | BinaryIO | TextIO) -> Cnf:
    """Read a DIMACS CNF file (plain or gzip-compressed), or an open file object.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "tiny.cnf"
    >>> _ = p.write_text("c tiny\\np cnf 2 2\\n1 -2 0\\n2 0\\n")
    >>> read_dimacs(p).clauses
    ((1, -2), (2,))
    """
    if hasattr(path, "read"):
        name = str(getattr(path, "name", "<file>"))
        data = path.read()
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogatepass")
    else:
        name = os.fspath(path)
        with open(name, "rb") as handle:
            data = handle.read()
    return _parse_bytes(bytes(data), str(name))


# ------------------------------------------------------------------------------------- writing
@functools.lru_cache(maxsize=1)
def nsad_version() -> str:
    """The installed nsad version, or ``"0+unknown"`` when running from a checkout.

    >>> isinstance(nsad_version(), str)
    True
    """
    try:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("nsad")
        except PackageNotFoundError:
            return "0+unknown"
    except ImportError:  # pragma: no cover - importlib.metadata is in every supported Python
        return "0+unknown"


def _format_clauses(cnf: Cnf) -> str:
    """All clause lines, vectorised: each distinct token is formatted once."""
    m = cnf.num_clauses
    if m == 0:
        return ""
    literals, offsets = cnf.literals, cnf.offsets
    tokens = np.zeros(literals.size + m, dtype=np.int64)
    keep = np.ones(tokens.size, dtype=bool)
    keep[offsets[1:] + np.arange(m)] = False  # the terminating zeros
    tokens[keep] = literals
    top = cnf.max_variable
    if 2 * top + 1 <= tokens.size:
        values, index = np.arange(-top, top + 1), tokens + top
    else:
        values, index = np.unique(tokens, return_inverse=True)
    vocabulary = np.array([f"{v} " if v else "0\n" for v in values.tolist()], dtype=object)
    return "".join(vocabulary[index].tolist())


def format_dimacs(cnf: Cnf) -> str:
    """The DIMACS text of a formula: provenance and comments as ``c`` lines, header, one clause a line.

    >>> print(format_dimacs(Cnf(2, [(1, -2), ()], comments=("hi",), seed=3)), end="")  # doctest: +ELLIPSIS
    c nsad version: ...
    c nsad seed: 3
    c hi
    p cnf 2 2
    1 -2 0
    0
    """
    if not isinstance(cnf, Cnf):
        raise TypeError(f"format_dimacs expects a Cnf, got {type(cnf).__name__}")
    lines = [f"c nsad version: {nsad_version()}"]
    if cnf.family is not None:
        lines.append(f"c nsad family: {cnf.family}")
    if cnf.parameters:
        lines.append(f"c nsad parameters: {json.dumps(dict(cnf.parameters), default=str)}")
    if cnf.seed is not None:
        lines.append(f"c nsad seed: {cnf.seed}")
    if cnf.index is not None:
        lines.append(f"c nsad index: {cnf.index}")
    if cnf.planted is not None:
        signed = np.where(np.array(cnf.planted, dtype=bool), 1, -1) * np.arange(1, cnf.num_vars + 1)
        lines.append("c nsad planted: " + " ".join(map(str, signed.tolist())))
    lines.extend(f"c {c}" if c else "c" for c in cnf.comments)
    lines.append(f"p cnf {cnf.num_vars} {cnf.num_clauses}")
    return "\n".join(lines) + "\n" + _format_clauses(cnf)


def write_dimacs(cnf: Cnf, path_or_file: PathLike | BinaryIO | TextIO) -> None:
    """Write ``format_dimacs(cnf)`` to a path (gzip-compressed when it ends in ``.gz``) or a file.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "f.cnf.gz"
    >>> write_dimacs(Cnf(1, [(1,)]), p)
    >>> read_dimacs(p) == Cnf(1, [(1,)])
    True
    """
    text = format_dimacs(cnf)
    if hasattr(path_or_file, "write"):
        if isinstance(path_or_file, io.TextIOBase):
            path_or_file.write(text)
        else:
            try:
                path_or_file.write(text.encode("utf-8"))
            except TypeError:
                path_or_file.write(text)
        return
    name = os.fspath(path_or_file)
    data = text.encode("utf-8")
    if str(name).endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    with open(name, "wb") as handle:
        handle.write(data)
