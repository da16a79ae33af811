"""Run the doctests of every module of the installed ``nsad`` package, each imported once as ``nsad.*``.

The source folders are not collected by pytest directly: that would import them a second time
under their bare folder names (``networks``, ``solvers``, ...), and a test could pass against a
module the package never uses.
"""

from __future__ import annotations

import doctest
import importlib

import pytest

import nsad

FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


MODULES = nsad.modules()


def test_every_folder_is_a_subpackage():
    for sub in ("networks", "networks.ad", "instances", "reductions", "solvers", "solvers.formula",
                "solvers.network", "experiments", "experiments.commands"):
        assert f"nsad.{sub}" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report: list[str] = []
    for test in sorted(finder.find(module, name), key=lambda t: t.name):
        if test.examples:
            runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)
