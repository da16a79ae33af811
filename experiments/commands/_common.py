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

import argparse
import contextlib
import json
import sys
from typing import Any, Callable, Iterable

from nsad.errors import NsadError
from nsad.goals import goal  # noqa: F401  (re-exported: the commands import it from here)

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


# ---------------------------------------------------------------------------------------------
# The one grammar of the command line (tests/experiments/test_cli_grammar.py checks it on every
# parser): option names are singular; an option that can take several values takes one or more,
# space separated (``--n 10 20 --ratio 3.5 4.26``), and input files come first or after ``--`` so a
# list never swallows them. The same thing has the same name, type and help in every command: the
# ``add_*`` helpers below. Old spellings stay as hidden aliases (:func:`add_alias`).
# ---------------------------------------------------------------------------------------------
class ListAction(argparse.Action):
    """``nargs="+"``: one or more values, space separated; a value holding commas is split too (the
    old spelling ``--sizes 50,100``). ``item`` converts each value, ``allowed`` restricts them.

    >>> p = argparse.ArgumentParser(); _ = add_list(p, "--n", item=positive_int, help="sizes")
    >>> p.parse_args(["--n", "10", "20"]).n, p.parse_args(["--n", "10,20", "30"]).n
    ([10, 20], [10, 20, 30])
    """

    def __init__(self, option_strings, dest, item=str, allowed=None, **kw):
        kw.setdefault("nargs", "+")
        super().__init__(option_strings, dest, **kw)
        self.item, self.allowed = item, allowed

    def __call__(self, parser, namespace, values, option_string=None):
        out = []
        for value in values if isinstance(values, list) else [values]:
            for part in str(value).split(","):
                if not part.strip():
                    continue
                try:
                    v = self.item(part.strip())
                except (argparse.ArgumentTypeError, ValueError) as exc:
                    raise argparse.ArgumentError(self, str(exc) or f"invalid value {part!r}") from None
                if self.allowed is not None and v not in self.allowed:
                    raise argparse.ArgumentError(
                        self, f"invalid choice: {v!r} (choose from {', '.join(map(str, self.allowed))})")
                out.append(v)
        if not out:
            raise argparse.ArgumentError(self, "expected at least one value")
        setattr(namespace, self.dest, out)


def add_list(p, flag: str, *, item=str, default=None, help: str, metavar: str | None = None, allowed=None,
             dest: str | None = None, required: bool = False):
    """A list option: one or more space-separated values."""
    kw = {"dest": dest} if dest else {}
    if allowed is not None and metavar is None:
        metavar = "{" + ",".join(map(str, allowed)) + "}"
    return p.add_argument(flag, action=ListAction, item=item, allowed=allowed, default=default, help=help,
                          metavar=metavar, required=required, **kw)


def add_alias(p, flag: str, of) -> None:
    """The old spelling ``flag`` of the option ``of`` (an argparse action): same destination and
    conversion, hidden from ``--help``."""
    kw = {"dest": of.dest, "help": argparse.SUPPRESS, "default": argparse.SUPPRESS}
    if isinstance(of, ListAction):
        p.add_argument(flag, action=ListAction, item=of.item, allowed=of.allowed, **kw)
    elif of.nargs == 0:  # store_true
        p.add_argument(flag, action="store_true", **kw)
    else:
        p.add_argument(flag, type=of.type, nargs=of.nargs, choices=of.choices, **kw)


def _default_text(default) -> str:
    if isinstance(default, (list, tuple)):
        return " ".join(map(str, default))
    return str(default)


def add_n(p, *, default=None, many: bool = True, required: bool = False, help: str = "numbers of variables"):
    """``--n``: numbers of variables (or of inputs), one or more unless ``many=False``."""
    text = help + (f" (default {_default_text(default)})" if default is not None else "")
    if many:
        return add_list(p, "--n", item=positive_int, default=default, metavar="N", help=text, required=required)
    return p.add_argument("--n", type=positive_int, default=default, metavar="N", help=text, required=required)


def add_ratio(p, *, default=None, many: bool = True, help: str = "clause/variable ratios"):
    text = help + (f" (default {_default_text(default)})" if default is not None else "")
    if many:
        return add_list(p, "--ratio", item=positive_float, default=default, metavar="R", help=text)
    return p.add_argument("--ratio", type=positive_float, default=default, metavar="R", help=text)


def add_count(p, *, default: int, help: str = "formulas per (n, ratio)"):
    return p.add_argument("--count", type=positive_int, default=default, metavar="K", help=f"{help} (default {default})")


def add_seed(p, *, default: int = 0, help: str = "run seed"):
    return p.add_argument("--seed", type=nonneg_int, default=default, metavar="S", help=f"{help} (default {default})")


DEFAULT_DB = "nsad-results.db"


def add_db(p, *, writes: bool = True):
    verb = "writes rows to" if writes else "reads"
    return p.add_argument("--db", default=DEFAULT_DB, metavar="PATH",
                          help=f"SQLite results database this command {verb} (default {DEFAULT_DB})")


def add_json(p, help: str = "JSON Lines on stdout: one object per line"):
    return p.add_argument("--json", action="store_true", help=help)


def add_time_limit(p, *, default=None, help: str = "seconds per run (default: none)"):
    return p.add_argument("--time-limit", type=positive_float, default=default, metavar="S", help=help)


def add_workers(p, *, default=None, help: str = "local worker processes (default: number of cores)"):
    return p.add_argument("--workers", type=positive_int, default=default, metavar="W", help=help)


def add_method(p, *, default=None, many: bool = True,
               help: str = "network deciders, one or more (default: the fastest complete one; nsad list deciders)"):
    return add_list(p, "--method", default=default, metavar="METHOD", help=help)


def add_solver(p, *, default="cadical195", many: bool = False,
               help: str = "formula solver (nsad list solvers)"):
    text = f"{help} (default {_default_text(default)})"
    if many:
        return add_list(p, "--solver", default=[default] if isinstance(default, str) else default, metavar="SOLVER",
                        help=text)
    return p.add_argument("--solver", default=default, metavar="SOLVER", help=text)


def add_files(p, dest: str = "files", *, what: str = "DIMACS files (.cnf, .cnf.gz) or folders of them",
              required: bool = False):
    """The input files of a command, first on the line (or after ``--``)."""
    return p.add_argument(dest, nargs="+" if required else "*", metavar="FILE", help=what)


def dimacs_files(paths, *, what: str = "input") -> list[str]:
    """The DIMACS files named by ``paths``: files as given, folders expanded to their ``*.cnf`` /
    ``*.cnf.gz`` / ``*.dimacs`` files (sorted, not recursive); other paths pass through (a reader
    reports a missing one). A folder without DIMACS files is a ``ValueError`` naming it.

    >>> import os, tempfile
    >>> d = tempfile.mkdtemp(); _ = [open(os.path.join(d, f), "w").close() for f in ("b.cnf", "a.cnf", "x.txt")]
    >>> [os.path.basename(f) for f in dimacs_files([d])]
    ['a.cnf', 'b.cnf']
    """
    import os

    out: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            found = sorted(os.path.join(path, f) for f in os.listdir(path)
                           if f.lower().endswith(CNF_SUFFIXES) and os.path.isfile(os.path.join(path, f)))
            if not found:
                raise ValueError(f"{path}: no DIMACS files (*.cnf, *.cnf.gz, *.dimacs) in this folder")
            out.extend(found)
        else:
            out.append(path)  # a file, or a missing one: its reader reports it
    return out


CNF_SUFFIXES = (".cnf", ".cnf.gz", ".dimacs", ".dimacs.gz")


def is_dimacs(path: str) -> bool:
    return str(path).lower().endswith(CNF_SUFFIXES)


def manifest_labels(files) -> dict:
    """``{path: "sat"|"unsat"}`` from the ``manifest.json`` beside the files, where one gives them."""
    import json
    import os

    labels: dict = {}
    for folder in sorted({os.path.dirname(os.path.abspath(f)) for f in files}):
        mp = os.path.join(folder, "manifest.json")
        if not os.path.isfile(mp):
            continue
        try:
            with open(mp, encoding="utf-8") as fh:
                recs = json.load(fh)
        except (OSError, ValueError):
            continue
        for r in recs if isinstance(recs, list) else []:
            if isinstance(r, dict) and r.get("expected") in ("sat", "unsat") and isinstance(r.get("file"), str):
                labels[os.path.join(folder, r["file"])] = r["expected"]
    return {f: labels[os.path.abspath(f)] for f in files if os.path.abspath(f) in labels}


@contextlib.contextmanager
def naming(path: str, *known: str):
    """A user error raised inside names the input: an :class:`~nsad.errors.NsadError` whose message
    names neither ``path`` nor any of ``known`` (other inputs of the command) gets ``path: `` in
    front (a network's refusal: it has biases, it is not scalar, ...).

    >>> with naming("n.npz"):
    ...     raise NsadError("a scalar network is required")
    Traceback (most recent call last):
    ...
    nsad.errors.NsadError: n.npz: a scalar network is required
    """
    try:
        yield
    except NsadError as exc:
        text = error_text(exc)
        if any(p and str(p) in text for p in (path, *known)):
            raise
        raise NsadError(f"{path}: {text}") from None


def load_network(path: str):
    """``(network, formula)``: a ``.npz`` or ``.onnx`` network (formula ``None``; ONNX through
    :func:`nsad.networks.onnx_io.load_onnx`, biases and several outputs included), or a DIMACS formula and its
    reduction network (``reductions.sat_to_relu.reduce``), so every command that reads a network
    also takes a formula."""
    if is_dimacs(path):
        from nsad.instances import read_dimacs
        from nsad.reductions.sat_to_relu import reduce

        cnf = read_dimacs(path)
        return reduce(cnf), cnf
    if str(path).lower().endswith(".onnx"):
        from nsad.networks.onnx_io import load_onnx

        return load_onnx(path), None
    from nsad.networks import ReluNetwork

    return ReluNetwork.load(path), None


def output_choice(text: str):
    """``--output K`` (a non-negative integer) or ``--output all``."""
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
