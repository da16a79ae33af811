"""Shared fixtures for the whole test suite.

* ``tests_data_dir``: ``tests/data`` (small files no one here wrote, each folder with its provenance).
* ``satlib_dir``: the full SATLIB copy in ``../shared/data/satlib`` next to the checkout; tests that
  use it are skipped when it is absent (e.g. on a fresh clone).
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent


@pytest.fixture(scope="session")
def tests_data_dir() -> Path:
    """``tests/data`` inside the checkout."""
    return TESTS_DIR / "data"


@pytest.fixture(scope="session")
def satlib_dir() -> Path:
    """``<checkout>/../shared/data/satlib`` (uf20-91, uf50-218, uuf50-218), or skip the test."""
    path = REPO_ROOT.parent / "shared" / "data" / "satlib"
    if not path.is_dir():
        pytest.skip(f"SATLIB data not found at {path}")
    return path
