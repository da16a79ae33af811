"""Fixtures of the command-line tests.

* ``cli``: ``cli(*argv)`` runs ``nsad`` in-process (``nsad.experiments.cli.main``, arguments turned
  into strings) and returns ``(exit code, stdout, stderr)``.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def cli(capsys):
    from nsad.experiments.cli import main

    def run(*argv):
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run
