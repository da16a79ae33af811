"""Helpers shared by the CLI commands: JSON Lines output, per-file error handling."""

from __future__ import annotations

import json
import sys
from typing import Any, Callable, Iterable


def emit_json(obj: Any, stream=None) -> None:
    """One JSON object per line on stdout."""
    (stream or sys.stdout).write(json.dumps(obj, sort_keys=False) + "\n")
    (stream or sys.stdout).flush()


def user_error(msg: str) -> None:
    print(f"nsad: error: {msg}", file=sys.stderr)


def for_each_file(files: Iterable[str], work: Callable[[str], int]) -> int:
    """Run ``work(path)`` on each file; a user error on one file is reported and the batch goes on.

    Returns the worst exit code: 2 if any file had a user error, else the max of ``work``'s codes.
    """
    worst = 0
    for path in files:
        try:
            code = work(path)
        except (ValueError, OSError) as exc:
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            user_error(text if path in text else f"{path}: {text}")
            code = 2
        worst = max(worst, code)
    return worst


def positive_float(text: str) -> float:
    import argparse

    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return v


def _int_at_least(text: str, lo: int, what: str) -> int:
    import argparse

    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if v < lo:
        raise argparse.ArgumentTypeError(f"expected a {what} integer, got {text!r}")
    return v


def positive_int(text: str) -> int:
    return _int_at_least(text, 1, "positive")


def nonneg_int(text: str) -> int:
    return _int_at_least(text, 0, "non-negative")
