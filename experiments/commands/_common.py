"""Helpers shared by the CLI commands: exit codes, JSON Lines output, per-file error handling.

Exit codes, the same in every command:

====  ==================================================================================
code  meaning
====  ==================================================================================
0     everything asked for was decided and agrees / every check passed
1     a disagreement between the two sides, or a failed certificate or proof check
2     a usage or input error (a malformed file, a limit exceeded, an unwritable database)
3     something undecided or uncheckable (time or memory limit, unknown answer, no proof)
130   interrupted (Ctrl-C)
====  ==================================================================================

When a batch has several outcomes, the first of 2, 1, 3 that occurs wins (:func:`combine`).

>>> combine([0, 3, 1]), combine([3, 0]), combine([1, 2]), combine([])
(1, 3, 2, 0)
"""

from __future__ import annotations

import json
import sys
from typing import Any, Callable, Iterable

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_USAGE = 2
EXIT_UNDECIDED = 3
EXIT_INTERRUPTED = 130

EXIT_CODES_EPILOG = ("Exit codes: 0 everything decided and agreeing / every check passed; 1 a disagreement or a "
                     "failed check; 2 a usage or input error (also a limit exceeded: see nsad limits); 3 something "
                     "undecided or uncheckable; 130 interrupted.")

_SEVERITY = {EXIT_USAGE: 3, EXIT_PROBLEM: 2, EXIT_UNDECIDED: 1, EXIT_OK: 0}


def combine(codes: Iterable[int]) -> int:
    """The exit code of a batch: 2 if any input error, else 1 if any problem, else 3 if anything
    undecided, else 0."""
    worst = EXIT_OK
    for code in codes:
        if _SEVERITY.get(code, 3) > _SEVERITY.get(worst, 3):
            worst = code
    return worst


def goal(value, limit, *, at_most: bool = True) -> str:
    """``"met"`` or ``"missed"`` for a measured ``value`` against a goal ``limit`` (``"n/a"`` when
    nothing was measured): the one wording every benchmark prints next to its figures.

    >>> goal(2.07, 1.3), goal(0.9, 2.0), goal(256, 14, at_most=False), goal(None, 1)
    ('missed', 'met', 'met', 'n/a')
    """
    if value is None:
        return "n/a"
    return "met" if (value <= limit if at_most else value >= limit) else "missed"


def emit_json(obj: Any, stream=None) -> None:
    """One JSON object per line on stdout (flushed, so a closed pipe is seen at once)."""
    (stream or sys.stdout).write(json.dumps(obj, sort_keys=False) + "\n")
    (stream or sys.stdout).flush()


def user_error(msg: str) -> None:
    print(f"nsad: error: {msg}", file=sys.stderr)


def error_text(exc: BaseException) -> str:
    """The one-line message of a user error (the first line of its text, or its type)."""
    if isinstance(exc, MemoryError):
        return "out of memory (the input is too large for this machine; see nsad limits)"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class StdoutClosed(Exception):
    """Raised by :func:`for_each_file` when standard output was closed (a pipe's reader left), with
    the exit code of the files done so far; the command line then ends quietly."""

    def __init__(self, code: int):
        super().__init__("standard output closed")
        self.code = code


def for_each_file(files: Iterable[str], work: Callable[[str], int], *, json_mode: bool = False) -> int:
    """Run ``work(path)`` on each file; a user error on one file is reported and the batch goes on.

    The error is one line ``nsad: error: ...`` on stderr and, with ``json_mode``, also a JSON line
    ``{"file": path, "error": message}`` on stdout, so every input has its object. Returns the batch's
    exit code (:func:`combine`: 2 if any file had a user error, ...). A closed standard output
    stops the batch (:class:`StdoutClosed`).
    """
    codes = []
    for path in files:
        try:
            code = work(path)
        except BrokenPipeError:
            raise StdoutClosed(combine(codes)) from None
        except (ValueError, OSError, MemoryError) as exc:
            text = error_text(exc)
            text = text if path in text else f"{path}: {text}"
            user_error(text)
            if json_mode:
                try:
                    emit_json({"file": path, "error": text})
                except BrokenPipeError:
                    raise StdoutClosed(combine(codes + [EXIT_USAGE])) from None
            code = EXIT_USAGE
        codes.append(code)
    return combine(codes)


def positive_float(text: str) -> float:
    import argparse

    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v > 0 or v != v or v == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return v


def _int_at_least(text: str, lo: int, what: str) -> int:
    import argparse

    try:
        v = int(text) if len(text) <= 40 else None
    except ValueError:
        v = None
    if v is None:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text[:40]!r}")
    if v < lo:
        raise argparse.ArgumentTypeError(f"expected a {what} integer, got {text!r}")
    return v


def positive_int(text: str) -> int:
    return _int_at_least(text, 1, "positive")


def nonneg_int(text: str) -> int:
    return _int_at_least(text, 0, "non-negative")


def read_network(path: str):
    """The network of a command's input file: ``.npz`` (:meth:`ReluNetwork.load`), ``.onnx``
    (:func:`nsad.networks.onnx_io.load_onnx`, biases and several outputs included), or a DIMACS
    formula (``.cnf``, ``.cnf.gz``, ``.dimacs``: its reduction network)."""
    import os

    name = os.path.basename(path).lower()
    if name.endswith((".cnf", ".cnf.gz", ".dimacs")):
        from nsad.instances import read_dimacs
        from nsad.reductions.sat_to_relu import reduce

        return reduce(read_dimacs(path))
    if name.endswith(".onnx"):
        from nsad.networks.onnx_io import load_onnx

        return load_onnx(path)
    from nsad.networks import ReluNetwork

    return ReluNetwork.load(path)


def output_choice(text: str):
    """``--output K`` (a non-negative integer) or ``--output all``."""
    import argparse

    if text.strip().lower() == "all":
        return "all"
    try:
        return nonneg_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected an output index (0, 1, ...) or 'all', got {text[:40]!r}") from None


def outputs_of(net, choice) -> list:
    """The output indices a command answers for: ``all`` -> every output; ``None`` -> output 0 of a
    scalar network (an error for a vector network); ``K`` -> ``[K]`` (checked)."""
    from nsad.networks import NetworkError

    if choice == "all":
        return list(range(net.n_outputs))
    if choice is None:
        if net.n_outputs != 1:
            raise NetworkError(f"the network has {net.n_outputs} outputs; choose one with --output K "
                               f"(0..{net.n_outputs - 1}) or --output all")
        return [0]
    if choice >= net.n_outputs:
        raise NetworkError(f"--output {choice}: the network has outputs 0..{net.n_outputs - 1}")
    return [int(choice)]
