"""nsad.limits: values, overrides (context, environment, command line), their reach into workers, and
the defaults admitting every README example and all shipped data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nsad import limits as L
from nsad.errors import LimitError
from nsad.experiments.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_values_and_overrides():
    assert L.parse_value("1e7") == 10**7 and L.parse_value("64Mi") == 2**26 and L.parse_value("2G") == 2 * 10**9
    assert L.parse_value("10_000") == 10_000 and L.parse_value("OFF") is None
    for bad in ("-1", "1.5", "x", "1e", "9" * 50):
        with pytest.raises(LimitError):
            L.parse_value(bad)
    assert L.parse_overrides(["max-vars=3"]) == {"max_vars": 3}
    with pytest.raises(LimitError, match="unknown limit 'max_varz'"):
        L.parse_overrides(["max_varz=3"])
    with pytest.raises(LimitError, match="NAME=VALUE"):
        L.parse_overrides(["max_vars"])
    assert L.Limits().unlimited().max_vars is None
    with pytest.raises(LimitError):
        L.Limits().replace(max_vars=-1)


def test_context_manager_nests_and_restores():
    base = L.get_limits()
    with L.limits(max_vars=7):
        assert L.get_limits().max_vars == 7
        with L.limits(max_clauses=None):
            assert L.get_limits().max_vars == 7 and L.get_limits().max_clauses is None
        assert L.get_limits().max_clauses == base.max_clauses
    assert L.get_limits() == base


def test_limit_error_names_the_limit_and_pickles():
    import pickle

    with pytest.raises(LimitError) as info:
        L.check("max_units", 11, "the file declares 11 units", location="n.npz", limits=L.Limits(max_units=10))
    back = pickle.loads(pickle.dumps(info.value))
    assert str(back) == str(info.value) and back.limit == "max_units" and back.location == "n.npz"
    assert "--limit max_units=N" in str(back)


def test_environment_variable_sets_the_process_defaults():
    code = "from nsad.limits import get_limits; l = get_limits(); print(l.max_vars, l.max_depth)"
    env = {**os.environ, "NSAD_LIMITS": "max_vars=5, max_depth=off", "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert res.stdout.split() == ["5", "None"], res.stderr


@pytest.fixture
def small_cnf(tmp_path):
    p = tmp_path / "f.cnf"
    p.write_text("p cnf 6 2\n1 -2 0\n3 0\n")
    return p


@pytest.mark.parametrize("where", ["before", "after"])
def test_cli_limit_before_or_after_the_command(where, small_cnf, capsys):
    argv = ["--limit", "max_vars=5", "solve", str(small_cnf)] if where == "before" else \
        ["solve", str(small_cnf), "--limit", "max_vars=5"]
    code = main(argv)
    _, err = capsys.readouterr()
    assert code == 2 and "f.cnf:1: the header declares 6 variables, beyond the limit max_vars = 5" in err
    assert main(["solve", str(small_cnf), "--no-limits"]) == 0
    assert main(["--no-limits", "solve", str(small_cnf), "--limit", "max_vars=5"]) == 2  # then --limit sets one
    assert main(["solve", str(small_cnf), "--limit", "max_vars=off"]) == 0
    assert L.get_limits().max_vars == L.DEFAULTS.max_vars  # the command's limits do not leak


def test_nsad_limits_lists_values_in_force(capsys):
    assert main(["limits", "--json", "--limit", "max_nnz=1M"]) == 0
    rows = {r["name"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows["max_nnz"]["value"] == 10**6 and rows["max_nnz"]["default"] == L.DEFAULTS.max_nnz
    assert set(rows) == set(L.NAMES)
    assert main(["limits"]) == 0
    assert "worker_memory_mb" in capsys.readouterr().out


def _limits_in_worker(_task):
    return L.get_limits().max_vars, L.get_limits().max_proof_literals


def test_limits_reach_the_worker_processes():
    """run_grid sends its limits with every task (``functools.partial(call_with, limits, run_task)``),
    so a worker started by the forkserver, with the default limits of its own, applies them."""
    import functools

    from nsad.experiments.runner import LocalExecutor

    sent = L.Limits(max_vars=3, max_proof_literals=None)
    out = dict(LocalExecutor(1).map(functools.partial(L.call_with, sent, _limits_in_worker), [0]))
    assert out[0] == (3, None)
    assert dict(LocalExecutor(1).map(_limits_in_worker, [0]))[0] == (L.DEFAULTS.max_vars, L.DEFAULTS.max_proof_literals)


def test_a_limit_set_on_the_command_line_holds_in_the_workers(tmp_path, capsys):
    """With a proof-size limit of 1 literal the workers cannot check the UNSAT proofs: they stay
    unchecked and verify exits with 3 (had the limit stayed in the parent, they would check)."""
    db = str(tmp_path / "r.db")
    code = main(["verify", "--n", "5", "--ratio", "7", "--count", "2", "--seed", "1", "--proofs", "--workers", "1",
                 "--db", db, "--limit", "max_proof_literals=1"])
    out, _ = capsys.readouterr()
    assert code == 3 and "UNSAT proofs checked: formula side 0 of" in out, out


def test_default_limits_admit_the_readme_examples():
    from nsad.experiments.verify import check_grid
    from nsad.instances.generators import check_formula_size, formula_size
    from nsad.reductions.sat_to_relu import network_size

    size = formula_size("random-ksat", n=250_000, m=1_000_000)  # python -m nsad.reductions.benchmark
    check_formula_size(size)
    units, nnz = network_size(size.clauses, size.literals, 3)
    L.check("max_units", units, "benchmark units")
    L.check("max_nnz", nnz, "benchmark weights")
    check_grid([10, 20], [3.5, 4.26, 5], 50)  # nsad verify --n 10 20 --ratio 3.5 4.26 5 --count 50
    check_grid([10, 25, 50, 75, 100], [4.26], 30)  # nsad verify (the defaults)
    check_grid([10, 20, 30], [3.0 + 0.25 * i for i in range(11)], 20, 1, experiment="scale")  # nsad scale
    check_formula_size(formula_size("random-ksat", n=50, ratio=4.26))  # nsad generate random ...
    check_formula_size(formula_size("planted-ksat", n=50, m=200))


def test_default_limits_admit_all_shipped_data(tests_data_dir):
    from nsad.instances import read_dimacs

    files = [p for p in tests_data_dir.rglob("*") if p.is_file()]
    assert files and all(p.stat().st_size <= L.DEFAULTS.max_file_bytes for p in files)
    for p in files:
        if p.name.endswith((".cnf", ".cnf.gz")) and "satlib-full" not in p.parts:  # the full sets: test_satlib
            read_dimacs(p)
