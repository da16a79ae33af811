"""The `nsad` command line: a thin layer over functions that return data.

Every command lives in ``experiments/commands/NAME.py`` and exposes ``register(subparsers)``, which
adds its sub-parser with ``set_defaults(func=run)``; ``run(args)`` returns the exit code. User errors
(``ValueError`` and ``OSError`` subclasses, e.g. ``instances.DimacsError``, ``networks.NetworkError``,
``solvers.SolverError``) become one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = (
    "generate",
    "reduce",
    "disguise",
    "solve",
    "decide",
    "check",
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
)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("nsad")
    except Exception:  # not installed (running from a checkout)
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nsad",
        description="Experiments on the complexity of nonsmooth automatic differentiation: "
        "3-SAT -> ReLU networks, Clarke subgradients, directional derivatives vs matrix products.",
    )
    parser.add_argument("--version", action="version", version=f"nsad {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"nsad.experiments.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"nsad.experiments.commands.{name}":
                continue  # command not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("nsad: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"nsad: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
