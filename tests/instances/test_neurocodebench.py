"""Public data: the source formulas of twelve NeuroCodeBench "SAT ReLU" instances (tests/data/neurocodebench),
whose labels their authors give in the file names; both sides of the reduction must reproduce them."""

from __future__ import annotations

from pathlib import Path

import pytest

from nsad.instances import read_dimacs
from nsad.networks import check
from nsad.reductions.sat_to_relu import reduce
from nsad.solvers import decide_network, solve_formula

DATA = Path(__file__).resolve().parents[1] / "data" / "neurocodebench" / "dimacs"
FILES = sorted(DATA.glob("*.dimacs"))


def test_the_data_is_there():
    assert len(FILES) == 12


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_labels_on_both_sides(path):
    label = "sat" if path.name.startswith("sat_") else "unsat"
    cnf = read_dimacs(path)
    assert solve_formula(cnf).answer == label
    net = reduce(cnf)
    v = decide_network(net)
    assert v.complete and v.answer == ("two-subgradients" if label == "sat" else "singleton")
    if v.certificate is not None:
        assert check(net, v.certificate)
