"""Suites: spec validation, the folder and manifest, atomic writing, threshold sweeps."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from pysat.solvers import Solver

from nsad.instances import CnfError, random_ksat, read_dimacs
from nsad.instances.families import FAMILIES, expected_label
from nsad.instances.suites import (
    MANIFEST,
    MANIFEST_KEYS,
    THRESHOLD_RATIOS,
    SuiteError,
    generate_suite,
    suite_tasks,
    threshold_sweep,
)

EXAMPLE = """
seed = 7
[[family]]
name = "random-ksat"
n = [20, 50]
ratio = [4.26]
count = 10
[[family]]
name = "php"
pigeons = [4, 5]
"""


def spec(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(text)
    return path


def solve(cnf) -> bool:
    with Solver(name="cadical195", bootstrap_with=[list(c) for c in cnf.clauses]) as s:
        return s.solve()


def test_example_spec_writes_folder_and_manifest(tmp_path):
    out = tmp_path / "suite"
    records = generate_suite(spec(tmp_path, EXAMPLE), out)
    assert len(records) == 22
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest == records
    assert all(tuple(r) == MANIFEST_KEYS for r in records)
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted([r["file"] for r in records] + [MANIFEST])  # no temporary file left
    for r in records:
        data = (out / r["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == r["sha256"]
        cnf = read_dimacs(out / r["file"])
        assert (cnf.num_vars, cnf.num_clauses, cnf.family, cnf.seed) == (r["n"], r["m"], r["family"], r["seed"])
        assert dict(cnf.parameters) == r["parameters"]
        assert expected_label(cnf) == r["expected"]
    randoms = [r for r in records if r["family"] == "random-ksat"]
    assert [r["n"] for r in randoms] == [20] * 10 + [50] * 10
    assert {r["m"] for r in randoms} == {85, 213} and all(r["expected"] is None for r in randoms)
    php = [r for r in records if r["family"] == "pigeonhole"]
    assert [(r["parameters"]["holes"], r["n"], r["expected"]) for r in php] == [(3, 12, "unsat"), (4, 20, "unsat")]
    # formula i of the suite is the generator's formula (seed, i)
    first = read_dimacs(out / records[3]["file"])
    assert first == random_ksat(20, ratio=4.26, seed=7, index=3) and first.index == 3


def test_every_family_in_a_suite_with_labels_confirmed(tmp_path):
    text = """
seed = 2
[[family]]
name = "hidden-ksat"
n = 30
ratio = 4.5
scheme = ["q-hidden", "2-hidden"]
[[family]]
name = "gt"
size = 5
shuffle = true
to_3cnf = true
[[family]]
name = "parity"
size = 2
[[family]]
name = "cb"
size = 2
[[family]]
name = "random-kxor"
n = 30
ratio = {start = 0.8, stop = 1.0, step = 0.1}
count = 2
[[family]]
name = "tseitin"
vertices = 12
charge = ["odd", "even"]
[[family]]
name = "planted"
n = 20
ratio = 4.0
seed = 99
"""
    out = tmp_path / "all"
    records = generate_suite(spec(tmp_path, text), out)
    families = {r["family"] for r in records}
    assert families >= set(FAMILIES) - {"pigeonhole"} | {"planted-ksat"}
    for r in records:
        cnf = read_dimacs(out / r["file"])
        assert r["expected"] in ("sat", "unsat")
        assert solve(cnf) == (r["expected"] == "sat"), r["file"]
    gt = [r for r in records if r["family"] == "ordering"][0]
    assert gt["parameters"]["to_3cnf"] is True and read_dimacs(out / gt["file"]).max_clause_len == 3
    xor = [r["parameters"]["ratio"] for r in records if r["family"] == "random-kxor"]
    assert xor == [0.8, 0.8, 0.9, 0.9, 1.0, 1.0]
    assert [r["seed"] for r in records if r["family"] == "planted-ksat"] == [99]


def test_threshold_sweep_function_and_suite_entry_agree(tmp_path):
    sweep = threshold_sweep(30, count=2, seed=5)
    assert len(sweep) == 2 * len(THRESHOLD_RATIOS) and 4.26 in THRESHOLD_RATIOS
    assert [c.num_clauses for c in sweep[::2]] == [round(r * 30) for r in THRESHOLD_RATIOS]
    assert [c.index for c in sweep] == list(range(len(sweep)))
    out = tmp_path / "sweep"
    records = generate_suite(spec(tmp_path, '[[family]]\nname = "threshold-sweep"\nn = 30\ncount = 2\nseed = 5\n'), out)
    assert [read_dimacs(out / r["file"]) for r in records] == sweep
    assert records[0]["file"].startswith("threshold-sweep-") and records[0]["family"] == "random-ksat"
    with pytest.raises(CnfError, match="at least one ratio"):
        threshold_sweep(10, ratios=[])
    assert threshold_sweep(10, ratios=[4.0], count=1, start_index=7)[0].index == 7


@pytest.mark.parametrize(
    "text,message",
    [
        ('seed = -1\n[[family]]\nname = "php"\nholes = 2\n', "key 'seed' must be an integer >= 0"),
        ("seed = 1\n", "needs at least one [[family]] table"),
        ('sed = 1\n[[family]]\nname = "php"\nholes = 2\n', "unknown top-level key 'sed'"),
        ('[[family]]\nholes = 2\n', "[[family]] 1: missing key 'name'"),
        ('[[family]]\nname = "sudoku"\n', "unknown family 'sudoku' in key 'name'"),
        ('[[family]]\nname = "php"\nholes = 2\n[[family]]\nname = "php"\nhole = 2\n', "[[family]] 2 (pigeonhole): unknown parameter 'hole'"),
        ('[[family]]\nname = "php"\nholes = 2\ncount = 0\n', "key 'count' must be an integer >= 1"),
        ('[[family]]\nname = "php"\nholes = []\n', "key 'holes' is an empty list"),
        ('[[family]]\nname = "random"\nn = 10\nratio = {start = 5, stop = 4, step = 1}\n', "key 'ratio': a range needs"),
        ('[[family]]\nname = "random"\nn = 10\nratio = {start = 1, stop = 4}\n', "key 'ratio': a range table needs"),
        ('[[family]]\nname = "php"\nholes = 2\npigeons = 3\n', "give 'holes' or 'pigeons'"),
        ('[[family]]\nname = "php"\nholes = 2\nto_3cnf = "yes"\n', "key 'to_3cnf' must be true or false"),
        ('[[family]]\nname = "tseitin"\n', "missing a required argument: 'vertices'"),
        ("[[family]\n", "not valid TOML"),
    ],
)
def test_spec_errors_name_the_key(tmp_path, text, message):
    path = spec(tmp_path, text)
    with pytest.raises(SuiteError) as info:
        generate_suite(path, tmp_path / "out")
    assert message in str(info.value) and str(path) in str(info.value)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()  # nothing is written before the spec is valid


def test_existing_suite_needs_overwrite_and_stale_files_go(tmp_path):
    out = tmp_path / "s"
    generate_suite(spec(tmp_path, '[[family]]\nname = "php"\nholes = [2, 3, 4]\n'), out)
    with pytest.raises(SuiteError, match="already holds a suite"):
        generate_suite(spec(tmp_path, '[[family]]\nname = "php"\nholes = 2\n'), out)
    (out / "notes.txt").write_text("mine")
    records = generate_suite(spec(tmp_path, '[[family]]\nname = "parity"\nsize = 1\n'), out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == sorted([records[0]["file"], MANIFEST, "notes.txt"])


def test_failure_midway_leaves_no_manifest(tmp_path):
    # the spec is valid, but the second formula's parameters are not (a 5-regular graph on 5 vertices)
    text = '[[family]]\nname = "tseitin"\nvertices = [8, 5]\ndegree = 5\n'
    out = tmp_path / "broken"
    with pytest.raises(CnfError, match="more than 5 vertices"):
        generate_suite(spec(tmp_path, text), out)
    names = [p.name for p in out.iterdir()]
    assert MANIFEST not in names and not any(n.endswith(".tmp") for n in names)


def test_suite_tasks_are_small_and_ordered():
    tasks = suite_tasks({"seed": 1, "family": [{"name": "xor", "n": [10, 20], "m": 5, "k": [2, 3]}]})
    assert [(dict(t.parameters)["n"], dict(t.parameters)["k"], t.index) for t in tasks] == [
        (10, 2, 0),
        (10, 3, 1),
        (20, 2, 2),
        (20, 3, 3),
    ]
    assert tasks[3].build() == FAMILIES["random-kxor"](n=20, m=5, k=3, seed=1, index=3)
