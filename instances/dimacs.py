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

from nsad.errors import DimacsError, LimitError
from nsad import limits as _limits

import functools

import gzip
import io
import json
import os
import re
import zlib
from array import array
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, TextIO, Union

import numpy as np

from .cnf import Cnf, CnfError

__all__ = ["DimacsError", "read_dimacs", "parse_dimacs", "format_dimacs", "write_dimacs"]

PathLike = Union[str, "os.PathLike[str]"]

_WS = b" \t\r\x0b\x0c"  # blanks inside a line (lines are split at \n)
_BODY_CHARS = b"0123456789-\n" + _WS  # the only bytes of a plain clause body
_TOKEN = re.compile(rb"-?[0-9]+")
_UNSIGNED = re.compile(rb"[0-9]+")
_MAX_VARS = 2**62
_HEADER_HINT = "'p cnf <variables> <clauses>'"
_PROVENANCE = re.compile(r"nsad (version|family|parameters|seed|index|planted): ?(.*)")
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20  # bytes read at a time; a piece of whole lines is parsed at once
_LONG_LINE = 4 * _CHUNK  # a line longer than this (not a comment) is cut at a blank
_NONBLANK = re.compile(rb"[^\n]*[^ \t\r\x0b\x0c\n][^\n]*")  # a line with something on it
_BLANKS = _WS + b"\n"
_COMMENT_OVERHEAD = 64  # bytes counted per kept comment line (the Python object), besides its text


@dataclass
class _Parsed:
    num_vars: int
    num_clauses: int
    header_line: int
    comments: list  # (line number, raw line bytes)
    literals: np.ndarray
    offsets: np.ndarray


class _Stop(Exception):
    """Internal: the '%' trailer ends the formula."""


class _NeedScan(Exception):
    """Internal (``_parse_fast`` only): a piece of the body needs the line scan."""


def _show(token: bytes) -> str:
    text = token[:24].decode("utf-8", "backslashreplace")
    return repr(text + ("..." if len(token) > 24 else ""))


def _is_zero(token: bytes) -> bool:
    return not token.lstrip(b"-").lstrip(b"0")


class _Scanner:
    """The reading state of one file; fed pieces of whole lines (or, for very long lines, of a line
    cut at a blank). A piece of the body made of plain clause bytes is converted at once with numpy
    (``_vector``); any other piece, or one in which that conversion sees a problem, is read line by
    line with the full rules (``_line``), which raise at the first offending line."""

    def __init__(self, name: str, lim: _limits.Limits, mode: str):
        self.name, self.lim, self.mode = name, lim, mode  # mode: "auto", "fast" (no line scan of the body), "scan"
        self.header: tuple[int, int] | None = None
        self.n = self.m = 0
        self.header_line = 0
        self.comments: list = []
        self.comment_bytes = 0
        self.parts: list[np.ndarray] = []  # tokens (0 ends a clause), in order
        self.pending = array("q")  # tokens of the line scan not yet moved to parts
        self.count = 0  # clauses completed
        self.open_line = 0  # line where the clause being read started; 0 when none is open
        self.literals = 0
        self.stop: int | None = None

    # -- the header and the limits it declares ----------------------------------------------------
    def _header(self, stripped: bytes, line: int) -> None:
        tokens = stripped.split()
        name = self.name
        if tokens[0] == b"p" and len(tokens) >= 2 and tokens[1] != b"cnf":
            raise DimacsError(name, line, f"expected {_HEADER_HINT}, found format {_show(tokens[1])} (only cnf is read)")
        if (len(tokens) != 4 or tokens[0] != b"p" or not _UNSIGNED.fullmatch(tokens[2])
                or not _UNSIGNED.fullmatch(tokens[3])):
            raise DimacsError(name, line, f"expected header {_HEADER_HINT}, found {_show(stripped)}")
        if len(tokens[2]) > 40 or len(tokens[3]) > 40:
            raise DimacsError(name, line, f"the header declares more than 10**40 variables or clauses; "
                              f"at most 2**62 variables are supported")
        n, m = int(tokens[2]), int(tokens[3])
        if n < 1:
            raise DimacsError(name, line, "the header declares 0 variables; at least 1 is required")
        if n > _MAX_VARS:
            raise DimacsError(name, line, f"the header declares {n} variables; at most 2**62 are supported")
        where = f"{name}:{line}"
        _limits.check("max_vars", n, f"the header declares {n} variables", location=where, limits=self.lim)
        _limits.check("max_clauses", m, f"the header declares {m} clauses", location=where, limits=self.lim)
        self.header, self.n, self.m, self.header_line = (n, m), n, m, line

    # -- the careful line scan ----------------------------------------------------------------------
    def _comment(self, raw: bytes, line: int) -> None:
        self.comment_bytes += len(raw) + _COMMENT_OVERHEAD
        cap = self.lim.max_comment_bytes
        if cap is not None and self.comment_bytes > cap:
            raise _limits.exceeded("max_comment_bytes", cap, f"the comments take more than {cap} bytes",
                                   location=f"{self.name}:{line}")
        self.comments.append((line, raw))

    def _lines(self, data: bytes, line: int, midline: bool) -> None:
        """The careful scan of a piece, line by line (blank lines skipped by a regex, the state in
        locals for speed)."""
        name = self.name
        cap = self.lim.max_literals
        append = self.pending.append
        fullmatch = _TOKEN.fullmatch
        count, open_line, literals = self.count, self.open_line, self.literals
        n, m = self.n, self.m
        delegated = False
        pos, lineno = 0, line
        try:
            for found in _NONBLANK.finditer(data):
                start = found.start()
                lineno += data.count(b"\n", pos, start)
                pos = start
                raw = found.group()
                stripped = raw.strip(_WS)
                if not (midline and start == 0):
                    first = stripped[:1]
                    if first == b"c":
                        self._comment(raw, lineno)
                        continue
                    if first == b"%":
                        self.stop = lineno
                        raise _Stop
                    if first == b"p":
                        if self.header is not None:
                            raise DimacsError(name, lineno,
                                              f"second header: the header is already on line {self.header_line}")
                        self._header(stripped, lineno)
                        rest = found.end() + 1
                        if rest < len(data):  # the body starts in this piece: the rest may take the fast path
                            self.count, self.open_line, self.literals = count, open_line, literals
                            delegated = True
                            self.piece(data[rest:], lineno + 1, False)
                            return
                        n, m = self.n, self.m
                        continue
                for token in stripped.split():
                    if not fullmatch(token):
                        raise DimacsError(name, lineno, f"expected an integer literal or 0, found {_show(token)}")
                    if self.header is None:
                        raise DimacsError(name, lineno, f"clause before the header: expected {_HEADER_HINT} first")
                    if len(token) > 20 and not _is_zero(token):
                        text = token.decode()
                        raise DimacsError(name, lineno, f"literal {text if len(text) <= 60 else text[:40] + '...'} "
                                          f"is out of range: the header declares {n} variables")
                    value = int(token) if len(token) <= 20 else 0
                    if not open_line and count == m:
                        raise DimacsError(name, lineno,
                                          f"more clauses than the {m} declared in the header on line {self.header_line}")
                    if value == 0:
                        count += 1
                        open_line = 0
                    else:
                        if value > n or -value > n:
                            raise DimacsError(name, lineno,
                                              f"literal {value} is out of range: the header declares {n} variables")
                        literals += 1
                        if cap is not None and literals > cap:
                            raise _limits.exceeded("max_literals", cap, f"the formula has more than {cap} literals",
                                                   location=f"{name}:{lineno}")
                        open_line = open_line or lineno
                    append(value)
        finally:
            if not delegated:
                self.count, self.open_line, self.literals = count, open_line, literals

    # -- the vectorised path ------------------------------------------------------------------------
    def _flush(self) -> None:
        if len(self.pending):
            self.parts.append(np.frombuffer(self.pending, dtype=np.int64).copy())
            self.pending = array("q")

    def _vector(self, data: bytes, line: int, midline: bool) -> bool:
        """Take a clean body piece at once; False when the line scan must look at it."""
        try:
            tokens = np.array(data.split(), dtype=np.int64)
        except (ValueError, OverflowError):
            return False
        if tokens.size == 0:
            return True
        n, m = self.n, self.m
        if np.any((tokens > n) | (tokens < -n)):
            return False
        zero = tokens == 0
        zeros = int(np.count_nonzero(zero))
        after = tokens.size - 1 - int(np.flatnonzero(zero)[-1]) if zeros else tokens.size  # tokens after the last 0
        if self.count + zeros > m or (self.count + zeros == m and after > 0):
            return False
        literals = self.literals + tokens.size - zeros
        cap = self.lim.max_literals
        if cap is not None and literals > cap:
            return False
        self._flush()
        self.parts.append(tokens.astype(np.int32) if n < 2**31 - 1 else tokens)
        self.count += zeros
        self.literals = literals
        if after == 0:
            self.open_line = 0
        elif zeros or not self.open_line:
            self.open_line = self._start_of_last_clause(data, line, zeros > 0)
        return True

    @staticmethod
    def _start_of_last_clause(data: bytes, line: int, after_zero: bool) -> int:
        """The line of the first token after the last 0 of a piece (or of its first token)."""
        lines = data.split(b"\n")
        if data.endswith(b"\n"):
            lines.pop()
        if not after_zero:
            return next(line + i for i, raw in enumerate(lines) if raw.strip(_WS))
        candidate = 0
        for i in range(len(lines) - 1, -1, -1):
            tokens = lines[i].split()
            zeros = [j for j, t in enumerate(tokens) if _is_zero(t)]
            if zeros:
                return line + i if zeros[-1] < len(tokens) - 1 else candidate
            if tokens:
                candidate = line + i
        return candidate  # pragma: no cover - a 0 is in the piece

    def piece(self, data: bytes, line: int, midline: bool) -> None:
        if not data.translate(None, _BLANKS):
            return
        if self.header is not None and self.mode != "scan" and not data.translate(None, _BODY_CHARS):
            if self._vector(data, line, midline):
                return
            if self.mode == "fast":
                raise _NeedScan
        elif self.header is not None and self.mode == "fast":
            raise _NeedScan
        self._lines(data, line, midline)

    def finish(self, last: int) -> _Parsed:
        self._flush()
        name = self.name
        end = self.stop or max(last, 1)
        where = "the '%' trailer" if self.stop else "the end of the file"
        if self.header is None:
            raise DimacsError(name, end, f"missing header: expected {_HEADER_HINT} before {where}")
        if self.open_line:
            raise DimacsError(name, self.open_line, f"the clause starting on this line is not terminated by 0 before {where}")
        if self.count != self.m:
            raise DimacsError(name, end, f"the header on line {self.header_line} declares {self.m} clauses but "
                              f"{self.count} were found before {where}")
        if not self.parts:
            tokens = np.zeros(0, dtype=np.int64)
        elif len(self.parts) == 1:
            tokens = self.parts[0]
        else:
            tokens = np.concatenate(self.parts)
        self.parts = []
        literals, offsets = _arrays(tokens)
        return _Parsed(self.n, self.m, self.header_line, self.comments, literals.astype(np.int64, copy=False), offsets)


def _arrays(tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Literals and offsets from a 0-terminated token array."""
    zeros = np.flatnonzero(tokens == 0)
    offsets = np.zeros(zeros.size + 1, dtype=np.int64)
    offsets[1:] = zeros - np.arange(zeros.size)
    return tokens[tokens != 0], offsets


def _scan(read: Callable[[int], bytes], name: str, lim: _limits.Limits, mode: str) -> _Parsed:
    """Read a whole DIMACS stream through ``read(size)`` (see ``_Scanner``), a piece of whole lines
    at a time; memory is the formula's, plus one piece."""
    scanner = _Scanner(name, lim, mode)
    tail: list[bytes] = []  # the start of a line whose newline has not been read yet
    tail_len = 0
    state = [1, False]  # the line of the next piece's first byte; whether that byte continues a line

    def feed(piece: bytes) -> None:
        scanner.piece(piece, state[0], state[1])
        state[0] += piece.count(b"\n")
        state[1] = not piece.endswith(b"\n")

    first = True
    lead = b""  # first non-blank byte of the line in tail
    try:
        while True:
            data = read(_CHUNK)
            if first:
                first = False
                if data[:3] == b"\xef\xbb\xbf":  # a UTF-8 byte order mark
                    data = data[3:]
            if not data:
                if tail:
                    feed(b"".join(tail))
                break
            cut = data.rfind(b"\n") + 1
            if cut == 0:  # no line ends in this chunk
                if not lead and data.translate(None, _WS):  # the first character of the line, once known
                    lead = data.lstrip(_WS)[:1]
                tail.append(data)
                tail_len += len(data)
                if tail_len < _LONG_LINE:
                    continue
                if not state[1] and lead == b"c":  # a long comment is kept whole, within its cap
                    cap = lim.max_comment_bytes
                    if cap is not None and scanner.comment_bytes + tail_len > cap:
                        raise _limits.exceeded("max_comment_bytes", cap, f"the comments take more than {cap} bytes",
                                               location=f"{name}:{state[0]}")
                    continue
                joined = b"".join(tail)  # any other long line is cut at a blank
                at = max(joined.rfind(b" "), joined.rfind(b"\t")) + 1 or len(joined)
                tail = [joined[at:]] if at < len(joined) else []
                tail_len = len(joined) - at
                lead = b"-"  # what follows continues the line
                feed(joined[:at])
                continue
            piece = b"".join(tail) + data[:cut] if tail else data[:cut]
            tail = [data[cut:]] if cut < len(data) else []
            tail_len = len(data) - cut
            lead = tail[0].lstrip(_WS)[:1] if tail and tail[0].translate(None, _WS) else b""
            feed(piece)
    except _Stop:
        pass
    line, midline = state
    last = line - 1 if (not midline and line > 1) else line
    return scanner.finish(last)


def _parse_fast(data: bytes, name: str) -> _Parsed | None:
    """The vectorised path alone; None whenever the careful line scan is needed (it gives the error)."""
    try:
        return _scan(io.BytesIO(data).read, name, _limits.get_limits(), "fast")
    except _NeedScan:
        return None


def _parse_slow(data: bytes, name: str) -> _Parsed:
    """The line-by-line scan alone: same rules as the fast path, raises at the first offending line."""
    return _scan(io.BytesIO(data).read, name, _limits.get_limits(), "scan")


def _comment_text(raw: bytes, name: str, line: int) -> str:
    text = raw.lstrip(_WS)[1:].rstrip(b"\r")
    if text[:1] in (b" ", b"\t"):
        text = text[1:]
    try:
        return text.decode("utf-8").replace("\r", " ")
    except UnicodeDecodeError:
        raise DimacsError(name, line, "a comment is not valid UTF-8 text") from None


_PLANTED_CHARS = b"0123456789- \t\x0b\x0c\r"
_PLANTED_BAD = re.compile(rb"(?:^|[ \t\x0b\x0c\r-])0|--|-(?:[ \t\x0b\x0c\r]|$)")


def _planted(value: str, n: int) -> tuple[bool, ...] | None:
    """The assignment of an ``nsad planted:`` line (``1 -2 3 ...``), or None when it is malformed.
    Vectorised and piecewise: the line of a formula with millions of variables costs one bool each."""
    raw = value.encode("utf-8", "surrogatepass")
    if raw.translate(None, _PLANTED_CHARS) or _PLANTED_BAD.search(raw) or n > len(raw) // 2 + 1:
        return None
    signs = np.empty(n, dtype=bool)
    done, pos = 0, 0
    while pos < len(raw):
        end = min(len(raw), pos + _CHUNK)
        if end < len(raw):
            end = max(raw.rfind(b" ", pos, end), raw.rfind(b"\t", pos, end)) + 1 or len(raw)
        try:
            tokens = np.array(raw[pos:end].split(), dtype=np.int64)
        except (ValueError, OverflowError):
            return None
        pos = end
        if done + tokens.size > n or not np.array_equal(np.abs(tokens), np.arange(done + 1, done + tokens.size + 1)):
            return None
        signs[done:done + tokens.size] = tokens > 0
        done += tokens.size
    return tuple(signs.tolist()) if done == n else None


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
                obj = json.loads(value) if _limits.json_nesting(value) <= 64 and len(value) <= 1 << 20 else None
            except (ValueError, RecursionError):
                obj = None
            if not isinstance(obj, dict):
                raise DimacsError(name, line, "expected a JSON object after 'nsad parameters:'")
            fields[key] = obj
        elif key in ("seed", "index"):
            if not _UNSIGNED.fullmatch(value.encode()) or len(value) > 40:
                raise DimacsError(name, line, f"expected a non-negative integer after 'nsad {key}:'")
            fields[key] = int(value)
        else:  # planted
            planted = _planted(value, parsed.num_vars)
            if planted is None:
                raise DimacsError(
                    name, line, f"expected 'nsad planted:' then the signed variables 1..{parsed.num_vars} in order"
                )
            fields[key] = planted
    return texts, fields, where


def _build(parsed: _Parsed, name: str) -> Cnf:
    comments, fields, where = _provenance(parsed, name)
    try:
        return Cnf.from_arrays(parsed.num_vars, parsed.literals, parsed.offsets, comments, **fields)
    except CnfError as exc:  # only the planted assignment can still be wrong here
        raise DimacsError(name, where.get("planted", parsed.header_line), str(exc)) from None


class _GzipReader:
    """``read(size)`` of decompressed bytes, capped at ``max_decompressed_bytes``; corrupt data is a
    ``DimacsError``."""

    def __init__(self, raw: BinaryIO, name: str, lim: _limits.Limits):
        self.name = name
        self.stream = _limits.CappedStream(gzip.GzipFile(fileobj=raw, mode="rb"), lim.max_decompressed_bytes,
                                           "max_decompressed_bytes", name, "the decompressed data")

    def read(self, size: int) -> bytes:
        try:
            return self.stream.read(size)
        except LimitError:
            raise
        except (OSError, EOFError, zlib.error, ValueError) as exc:
            raise DimacsError(self.name, 1, f"corrupt gzip data ({exc})") from None


def _read_stream(raw: BinaryIO, name: str, lim: _limits.Limits) -> Cnf:
    """Parse a binary stream (gzip recognised by its magic bytes)."""
    head = raw.read(2)
    if isinstance(head, str):  # a text stream
        head = head.encode("utf-8", "surrogatepass")
    rest = io.BufferedReader(_Prefixed(head, raw), _CHUNK)
    if head[:2] == _GZIP_MAGIC:
        read = _GzipReader(rest, name, lim).read
    else:
        read = rest.read
    return _build(_scan(read, name, lim, "auto"), name)


class _Prefixed(io.RawIOBase):
    """A stream that yields ``head`` and then the rest of ``raw``."""

    def __init__(self, head: bytes, raw):
        self.head, self.raw = head, raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n], self.head = self.head[:n], self.head[n:]
            return n
        data = self.raw.read(len(buffer))
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogatepass")
        buffer[: len(data)] = data
        return len(data)


def parse_dimacs(text: str | bytes, name: str = "<string>", *, limits: _limits.Limits | None = None) -> Cnf:
    """Parse DIMACS CNF from a string (or bytes); ``name`` prefixes error messages.

    ``limits`` (default: the current :mod:`nsad.limits`): ``max_vars`` and ``max_clauses`` are checked
    against the header, ``max_literals`` and ``max_comment_bytes`` while reading, and
    ``max_decompressed_bytes`` for gzip data; beyond them, ``LimitError``.

    >>> parse_dimacs("p cnf 2 1\\n1 2\\n")
    Traceback (most recent call last):
    ...
    nsad.errors.DimacsError: <string>:2: the clause starting on this line is not terminated by 0 before the end of the file
    >>> from nsad.limits import Limits
    >>> parse_dimacs("p cnf 4611686018427387904 0\\n", limits=Limits())
    Traceback (most recent call last):
    ...
    nsad.errors.LimitError: <string>:1: the header declares 4611686018427387904 variables, beyond the limit max_vars = 10000000 (...)
    """
    if isinstance(text, str):
        data = text.encode("utf-8", "surrogatepass")
    elif isinstance(text, (bytes, bytearray, memoryview)):
        data = bytes(text)
    else:
        raise TypeError(f"parse_dimacs expects str or bytes, got {type(text).__name__}")
    return _read_stream(io.BytesIO(data), name, _limits.resolve(limits))


def read_dimacs(path: PathLike | BinaryIO | TextIO, *, limits: _limits.Limits | None = None) -> Cnf:
    """Read a DIMACS CNF file (plain or gzip-compressed), or an open file object.

    The file is streamed, never held whole: memory is that of the formula (its literals and
    comments), whatever the file holds. ``limits`` as in :func:`parse_dimacs`, plus
    ``max_file_bytes`` for the file's size. A file that cannot be read (missing, a folder, no
    permission) is a ``DimacsError`` ``FILE: ...`` too.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "tiny.cnf"
    >>> _ = p.write_text("c tiny\\np cnf 2 2\\n1 -2 0\\n2 0\\n")
    >>> read_dimacs(p).clauses
    ((1, -2), (2,))
    >>> read_dimacs(p.parent / "absent.cnf")
    Traceback (most recent call last):
    ...
    nsad.errors.DimacsError: .../absent.cnf: no such file
    """
    lim = _limits.resolve(limits)
    if hasattr(path, "read"):
        return _read_stream(path, str(getattr(path, "name", "<file>")), lim)
    name = os.fspath(path)
    try:
        handle = _limits.open_input(name, lim, what="the file")
    except OSError as exc:
        raise DimacsError(name, None, _limits.file_problem(exc)) from None
    with handle:
        try:
            return _read_stream(handle, name, lim)
        except OSError as exc:  # an I/O error while reading (gzip errors are DimacsErrors already)
            raise DimacsError(name, None, _limits.file_problem(exc)) from None


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
