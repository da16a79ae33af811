"""Shared fixtures for the whole test suite.

* ``tests_data_dir``: ``tests/data`` (small files no one here wrote, each folder with its provenance).
* ``satlib_dir``: the complete SATLIB sets uf20-91, uf50-218 and uuf50-218 in
  ``tests/data/satlib-full`` (see its ``PROVENANCE.md``).
* ``bounded``: ``bounded(fn, *args)`` runs ``fn(*args)`` in a forked child (``nsad.child``) that may
  allocate at most 1 GiB more than this process has mapped, with a 120 s hang guard; returns the
  ``ChildOutcome`` (``status``, ``value``, ``error_type``, ``reason``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent

# Test modules are imported as ``tests.<folder>.<module>`` (pytest's importlib mode); worker processes
# that unpickle a test's task function must find them too, whatever the working directory. The
# root goes last on the path, and the session check below fails the run if a project folder is
# ever imported under its bare name from there.
if str(REPO_ROOT) not in sys.path:
    sys.path.append(str(REPO_ROOT))


@pytest.fixture(scope="session")
def tests_data_dir() -> Path:
    """``tests/data`` inside the checkout."""
    return TESTS_DIR / "data"


@pytest.fixture(scope="session")
def satlib_dir() -> Path:
    """``tests/data/satlib-full`` (uf20-91, uf50-218, uuf50-218, complete)."""
    return TESTS_DIR / "data" / "satlib-full"


def _vm_size_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) / 1024
    return 0.0


@pytest.fixture
def bounded():
    """Run a function in a child with 1 GiB of address space to spare (the issue's memory goal)."""
    from nsad.child import run_function

    def run(fn, *args, extra_mb: float = 1024, **kwargs):
        cap = _vm_size_mb() + extra_mb if sys.platform.startswith("linux") else None
        return run_function(fn, *args, time_limit=120, memory_limit_mb=cap, **kwargs)

    return run


_BARE = ("networks", "instances", "reductions", "solvers", "experiments")


def pytest_sessionfinish(session, exitstatus):
    """Fail the run if any module of the project was imported under a bare folder name."""
    bare = sorted(m for m in sys.modules if m.split(".")[0] in _BARE)
    if bare:
        print(f"\nmodules imported outside the nsad package: {', '.join(bare[:10])}", file=sys.stderr)
        session.exitstatus = 1
