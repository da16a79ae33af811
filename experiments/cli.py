"""The `nsad` command line: a thin layer over functions that return data.

Every command lives in ``experiments/commands/NAME.py`` and exposes ``register(subparsers)``, which
adds its sub-parser with ``set_defaults(func=run)``; ``run(args)`` returns the exit code
(``experiments/commands/_common.py`` defines them: 0 all decided and agreeing, 1 a disagreement or a
failed check, 2 a usage or input error, 3 something undecided or uncheckable, 130 interrupted).

What the command line guarantees, whatever the input:

* a user error (any :class:`nsad.errors.NsadError`, also ``ValueError``/``OSError``, and running out
  of memory) is one line ``nsad: error: ...`` on stderr and exit code 2, never a traceback; with
  ``--json`` the input also gets a JSON object with an ``error`` field on stdout;
* ``--limit NAME=VALUE`` (repeatable, before or after the command name) and ``--no-limits`` set the
  resource limits of :mod:`nsad.limits` for the command (``nsad limits`` lists them);
* a closed standard output (``nsad solve *.cnf --json | head -1``) ends the command quietly, with
  the exit code of what was done so far;
* Ctrl-C at any moment prints ``nsad: interrupted`` and exits with 130, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys

from nsad.interrupt import ignore_further_interrupts, stopped

COMMANDS = (
    "generate",
    "reduce",
    "disguise",
    "solve",
    "decide",
    "check",
    "backprop",
    "verify",
    "matmul",
    "cheapgrad",
    "kinks",
    "clarke",
    "export",
    "bench",
    "scale",
    "report",
    "results",
    "limits",
    "list",
)

_INPUT_ATTRS = ("file", "formula", "network", "verdict", "spec", "db")


def _version() -> str:
    from nsad import __version__

    return __version__


def _add_limit_options(parser: argparse.ArgumentParser, dest: str, top: bool) -> None:
    if "--limit" not in parser._option_string_actions:  # (bench fallback's own --limit also takes NAME=VALUE)
        parser.add_argument("--limit", action="append", dest=dest, default=[] if top else argparse.SUPPRESS,
                            metavar="NAME=VALUE",
                            help="set a resource limit for this command (repeatable; VALUE an integer such as 1e7, "
                            "64Mi, 2G, or 'off'); nsad limits lists them")
    parser.add_argument("--no-limits", action="store_true", dest=f"{dest}_off",
                        default=False if top else argparse.SUPPRESS, help="lift every resource limit")


def _subparsers(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                yield sub
                yield from _subparsers(sub)


def _command_of(argv: list[str]) -> str | None:
    """The command named in ``argv`` (the first word that is not an option or the value of the
    global ``--limit``), or None."""
    skip = False
    for tok in argv:
        if skip:
            skip = False
        elif tok == "--limit":
            skip = True
        elif not tok.startswith("-"):
            return tok
    return None


_SUMMARY_LINE = None


def _summary(name: str) -> str | None:
    """A command's ``SUMMARY`` read from its module's source text (a plain one-line string), or
    None (then the module is imported): listing a command must not cost compiling and running its
    module, which is what an import is where no bytecode cache can be written."""
    global _SUMMARY_LINE
    import re

    from nsad.experiments import commands

    if _SUMMARY_LINE is None:
        _SUMMARY_LINE = re.compile(r'^SUMMARY = "([^"\\]*)"', re.M)
    try:
        with open(os.path.join(os.path.dirname(commands.__file__), f"{name}.py"), encoding="utf-8") as fh:
            m = _SUMMARY_LINE.search(fh.read())
    except (OSError, UnicodeDecodeError, TypeError):
        return None
    return m.group(1) if m else None


def build_parser(only: str | None = None, *, lazy: bool = False) -> argparse.ArgumentParser:
    """The parser of every command; with ``only`` (or ``lazy``), just that command (or none)
    registers its full sub-parser and the others are listed with their one-line ``SUMMARY``, read
    from the modules' source text (:func:`_summary`; no command module is imported, and a listed
    sub-parser gets no options: nothing parses through it): ``nsad --help`` and ``nsad --version``
    import no numerical library and stay fast.

    >>> "verify" in build_parser().format_help(), build_parser("reduce").parse_args(["reduce", "a.cnf", "--out", "b.npz"]).out
    (True, 'b.npz')
    """
    from nsad.experiments.commands._common import EXIT_CODES_EPILOG

    parser = argparse.ArgumentParser(
        prog="nsad",
        description="Experiments on the complexity of nonsmooth automatic differentiation: "
        "3-SAT -> ReLU networks, Clarke subgradients, directional derivatives vs matrix products.",
        epilog=EXIT_CODES_EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"nsad {_version()}")
    _add_limit_options(parser, "limit_global", True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    listed: set = set()
    for name in COMMANDS:
        full = name == only or (only is None and not lazy)
        summary = None if full else _summary(name)
        if summary is not None:   # listed from its source text: the module is not even imported
            listed.add(id(sub.add_parser(name, help=summary, add_help=False)))
            continue
        try:
            module = importlib.import_module(f"nsad.experiments.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"nsad.experiments.commands.{name}":
                continue  # command not built yet
            raise
        if full:
            module.register(sub)
        else:
            listed.add(id(sub.add_parser(name, help=getattr(module, "SUMMARY", None), add_help=False)))
    for p in _subparsers(parser):
        if id(p) in listed:   # a listing only: this parse never reaches it (an argument would load it)
            continue
        if p.epilog is None:
            p.epilog = EXIT_CODES_EPILOG
        if "--no-limits" not in p._option_string_actions:
            _add_limit_options(p, "limit_sub", False)
    return parser


def _limits_of(args):
    from nsad import limits as L

    items = list(getattr(args, "limit_global", []) or []) + list(getattr(args, "limit_sub", []) or [])
    base = L.get_limits()
    if getattr(args, "limit_global_off", False) or getattr(args, "limit_sub_off", False):
        base = base.unlimited()
    return base.replace(**L.parse_overrides(items))


def _silence_stdout() -> None:
    """After a closed pipe: point stdout at /dev/null so the interpreter's last flush stays quiet."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except OSError:
        pass


def _json_error(args, msg: str) -> None:
    if not getattr(args, "json", False):
        return
    from nsad.experiments.commands._common import emit_json

    where = next((getattr(args, a) for a in _INPUT_ATTRS if isinstance(getattr(args, a, None), str)), None)
    try:
        emit_json({"file": where, "error": msg})
    except (BrokenPipeError, OSError):
        _silence_stdout()


#: Options whose value may start with a minus sign (a point such as ``-1,0``), which argparse would
#: otherwise take for an option of its own.
NEGATIVE_VALUE_OPTIONS = ("--at",)


def _glue_negative_values(words: list[str]) -> list[str]:
    """``--at -1,0`` becomes ``--at=-1,0`` (argparse reads a value starting with ``-`` as an option
    unless it is a single plain number); everything after ``--`` is left alone.

    >>> _glue_negative_values(["decide", "f.onnx", "--at", "-1,0", "--output", "all"])
    ['decide', 'f.onnx', '--at=-1,0', '--output', 'all']
    >>> _glue_negative_values(["decide", "--at", "--json"])
    ['decide', '--at', '--json']
    """
    out: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if w == "--":
            return out + words[i:]
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if w in NEGATIVE_VALUE_OPTIONS and len(nxt) > 1 and nxt[0] == "-" and (nxt[1].isdigit() or nxt[1] in "./"):
            out.append(f"{w}={nxt}")
            i += 2
            continue
        out.append(w)
        i += 1
    return out


def _run(argv: list[str] | None) -> int:
    from nsad.errors import NsadError
    from nsad.experiments.commands import _common

    words = _glue_negative_values(sys.argv[1:] if argv is None else list(argv))
    name = _command_of(words)
    parser = build_parser(name, lazy=True) if name in COMMANDS else build_parser(lazy=True)
    args = parser.parse_args(words)
    if not getattr(args, "func", None):
        parser.print_help()
        return _common.EXIT_USAGE
    from nsad.limits import limits

    try:
        lim = _limits_of(args)
        with limits(lim):
            return int(args.func(args) or 0)
    except _common.StdoutClosed as exc:
        _silence_stdout()
        return exc.code
    except BrokenPipeError:
        _silence_stdout()
        return _common.EXIT_OK
    except (NsadError, ValueError, OSError, MemoryError) as exc:
        msg = _common.error_text(exc)
        print(f"nsad: error: {msg}", file=sys.stderr)
        _json_error(args, msg)
        return _common.EXIT_USAGE



def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code. Called without ``argv`` (the ``nsad`` script,
    ``python -m nsad``), it owns the process: a second Ctrl-C while stopping is ignored, and
    ``SIGXFSZ`` (a file-size limit) is ignored so that an unwritable file gives an error."""
    console = argv is None
    try:
        if console and hasattr(signal, "SIGXFSZ"):
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        code = _run(argv)
        if console:  # the work is done: a Ctrl-C during the interpreter's exit must not kill it by signal
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        return code
    except KeyboardInterrupt:
        if console:
            ignore_further_interrupts()  # stopping: no second traceback, no death by signal at exit
        return stopped()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
