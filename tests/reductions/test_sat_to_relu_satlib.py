"""The reduction on real SATLIB data, labelled by python-sat (CaDiCaL 1.9.5).

For each satisfiable file: pysat's model (padded to the declared n) yields a certificate that
``networks.check`` accepts, and ``F(encode(model)) = 1`` exactly. For each unsatisfiable file: pysat
says UNSAT, and no certificate can be built from any assignment.
"""

from __future__ import annotations

import re

import pytest
from pysat.solvers import Solver

from nsad.instances import read_dimacs
from nsad.networks import check
from nsad.reductions.sat_to_relu import (
    ReductionError,
    assignment_from_model,
    certificate_from_model,
    encode,
    network_depth,
    reduce,
)


def _number(path) -> int:
    return int(re.search(r"-0*(\d+)\.cnf", path.name).group(1))


def pysat_model(cnf):
    """pysat's model as an assignment padded to the declared n, or None when UNSAT."""
    with Solver(name="cadical195", bootstrap_with=[list(c) for c in cnf.clauses]) as solver:
        if not solver.solve():
            return None
        return assignment_from_model(solver.get_model(), cnf.num_vars)


def check_satisfiable(cnf, name):
    model = pysat_model(cnf)
    assert model is not None, f"{name}: pysat says UNSAT"
    assert cnf.satisfied_by(model), name
    net = reduce(cnf)
    assert net.depth == network_depth(3, cnf.num_clauses), name
    assert net.evaluate_exact(encode(model)) == 1, name
    cert = certificate_from_model(cnf, net, model)
    result = check(net, cert)
    assert result.ok, f"{name}: {result.reason}"


def check_unsatisfiable(cnf, name):
    assert pysat_model(cnf) is None, f"{name}: pysat says SAT"
    net = reduce(cnf)
    with pytest.raises(ReductionError, match="falsifies"):
        certificate_from_model(cnf, net, [True] * cnf.num_vars)


def test_bundled_satlib_files(tests_data_dir):
    files = sorted((tests_data_dir / "satlib").glob("*.cnf*"))
    assert len(files) >= 8
    for path in files:
        cnf = read_dimacs(path)
        if path.name.startswith("uuf"):
            check_unsatisfiable(cnf, path.name)
        else:
            check_satisfiable(cnf, path.name)


def test_all_uf20_91_files(satlib_dir):
    files = sorted((satlib_dir / "uf20-91").glob("*.cnf"), key=_number)
    assert len(files) == 1000
    for path in files:
        cnf = read_dimacs(path)
        assert (cnf.num_vars, cnf.num_clauses) == (20, 91), path.name
        check_satisfiable(cnf, path.name)


def test_some_uf50_and_uuf50_files(satlib_dir):
    for path in sorted((satlib_dir / "uf50-218").glob("*.cnf"), key=_number)[:10]:
        check_satisfiable(read_dimacs(path), path.name)
    for path in sorted((satlib_dir / "uuf50-218").glob("*.cnf"), key=_number)[:10]:
        check_unsatisfiable(read_dimacs(path), path.name)
