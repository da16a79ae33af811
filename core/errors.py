"""The one error contract of nsad: every user-facing failure is an :class:`NsadError`.

An ``NsadError`` carries a one-line message; where the failure has a place, the message starts
with ``FILE:LINE: `` (or ``FILE: `` when no line applies) and the place is kept in ``location``.
The command line turns any ``NsadError`` into ``nsad: error: <message>`` and exit code 2; an
exception of any other type escaping a reader is a bug.

Every subclass also derives from :class:`ValueError`, so ``except ValueError`` keeps working for
code written before this module.

>>> try:
...     raise DimacsError("f.cnf", 3, "expected a literal")
... except NsadError as exc:
...     print(exc, "|", exc.location)
f.cnf:3: expected a literal | f.cnf:3
"""

from __future__ import annotations

__all__ = [
    "NsadError", "NetworkError", "CnfError", "DimacsError", "SolverError", "ReductionError", "VnnlibError",
    "StoreError", "ExportError", "LimitError",
]


class NsadError(ValueError):
    """Base of every user-facing error; ``location`` is ``FILE[:LINE]`` or ``None``.

    The message is always one line: line breaks that come from the input (a file name, a token,
    a library's message quoting a corrupt file) are shown escaped.

    >>> str(NsadError("bad table 'a\\nb'"))
    "bad table 'a\\\\nb'"
    """

    location: str | None = None

    def __init__(self, *args):
        if args and isinstance(args[0], str) and ("\n" in args[0] or "\r" in args[0]):
            args = (args[0].replace("\r", "\\r").replace("\n", "\\n"),) + args[1:]
        super().__init__(*args)


class NetworkError(NsadError):
    """A user error about a network: bad shapes or weights, a corrupt file, a bad certificate."""


class CnfError(NsadError):
    """A bad value for a formula, an assignment or a generator parameter (one-line message)."""


class DimacsError(NsadError):
    """Malformed DIMACS input; the message is ``FILE:LINE: what was expected`` (``FILE: ...`` when
    ``line`` is ``None``: a file that cannot be read at all)."""

    def __init__(self, name: str, line: int | None, message: str):
        self.location = f"{name}:{line}" if line is not None else f"{name}"
        super().__init__(f"{self.location}: {message}")
        self.name = name
        self.line = line
        self.reason = message

    def __reduce__(self):  # picklable across processes (the default would call __init__(message))
        return (type(self), (self.name, self.line, self.reason))


class SolverError(NsadError):
    """A user error about solvers: unknown backend, bad option, missing optional package."""


class ReductionError(NsadError):
    """A user error of the reduction: a bad formula or model, or no certificate exists."""


class VnnlibError(NsadError):
    """A user error about a VNN-LIB property: bad syntax, unsupported shape, bad threshold."""


class StoreError(NsadError):
    """The database file is unusable: not SQLite, another application's, a newer schema, unwritable."""


class ExportError(NsadError):
    """A user error building an export (a VNN-COMP folder: bad suite folder, manifest, output folder)."""


class LimitError(NsadError):
    """An input or a request exceeds a documented resource limit (:mod:`nsad.limits`).

    ``limit`` names the limit (``"max_vars"``, ...) when one was exceeded; ``location`` is the place,
    which then starts the message.

    >>> str(LimitError("the header declares 9 variables", limit="max_vars", location="f.cnf:2"))
    'f.cnf:2: the header declares 9 variables'
    """

    def __init__(self, message: str, *, limit: str | None = None, location: str | None = None):
        super().__init__(f"{location}: {message}" if location else message)
        self.reason = message
        self.limit = limit
        self.location = location

    def __reduce__(self):  # picklable across processes, keywords included
        return (_limit_error, (self.reason, self.limit, self.location))


def _limit_error(message, limit, location):
    return LimitError(message, limit=limit, location=location)
