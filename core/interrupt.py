r"""How a Ctrl-C ends the command line: one line ``nsad: interrupted`` and exit code 130, wherever it
lands (while the command line is imported, during the work, or while the interpreter exits).
Pure Python, no numerical library, so ``python -m nsad`` can use it before anything else is imported.

>>> import contextlib, io
>>> with contextlib.redirect_stderr(io.StringIO()) as err:
...     code = stopped()
>>> code, err.getvalue()
(130, 'nsad: interrupted\n')
"""

from __future__ import annotations

import signal
import sys

__all__ = ["EXIT_INTERRUPTED", "stopped", "ignore_further_interrupts"]

#: The exit code of an interrupted command (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130


def ignore_further_interrupts() -> None:
    """Ignore any later Ctrl-C (the command is stopping or done), and tell CPython the one that came
    was handled: an extension module that runs Python code through ``PyRun_String`` while it is
    imported leaves the interpreter's "unhandled KeyboardInterrupt" flag set when the interrupt lands
    there, and the interpreter then kills itself with SIGINT at exit instead of exiting with 130."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except (ValueError, OSError):  # not the main thread
        pass
    try:
        import ctypes

        ctypes.c_int.in_dll(ctypes.pythonapi, "_Py_UnhandledKeyboardInterrupt").value = 0
    except (ImportError, AttributeError, ValueError, OSError):
        pass


def stopped() -> int:
    """Print ``nsad: interrupted`` (quietly skipped when stderr is closed) and return 130."""
    try:
        print("nsad: interrupted", file=sys.stderr)
    except (OSError, ValueError):
        pass
    return EXIT_INTERRUPTED
