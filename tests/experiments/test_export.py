"""`nsad export ...` and the VNN-COMP folder builder."""

from __future__ import annotations

import hashlib
import json
import os
from fractions import Fraction

import pytest

pytest.importorskip("onnx")

from nsad.experiments import cli  # noqa: E402
from nsad.experiments.vnncomp import VnncompError, build_vnncomp, read_instances_csv  # noqa: E402
from nsad.instances import Cnf, format_dimacs, read_dimacs  # noqa: E402
from nsad.networks import ReluNetwork  # noqa: E402
from nsad.networks.onnx_io import load_onnx  # noqa: E402
from nsad.reductions.sat_to_relu import reduce  # noqa: E402
from nsad.reductions.vnnlib import read_vnnlib, reduction_property  # noqa: E402

FORMULAS = {
    "sat-a.cnf": (Cnf(3, [(1, -2), (2, 3), (-1, -3)]), "sat"),
    "unsat-b.cnf": (Cnf(2, [(1, 2), (-1, 2), (1, -2), (-1, -2)]), "unsat"),
    "sub/unknown c.cnf": (Cnf(4, [(1, 2, 3, 4)]), None),
}


@pytest.fixture
def suite(tmp_path):
    d = tmp_path / "suite"
    (d / "sub").mkdir(parents=True)
    records = []
    for name, (cnf, expected) in FORMULAS.items():
        text = format_dimacs(cnf)
        (d / name).write_text(text)
        records.append({"file": name, "family": "test", "parameters": {}, "seed": 0, "n": cnf.num_vars,
                        "m": cnf.num_clauses, "sha256": hashlib.sha256(text.encode()).hexdigest(),
                        "expected": expected})
    (d / "manifest.json").write_text(json.dumps(records))
    return d


@pytest.fixture
def run(monkeypatch, capsys):
    if "export" not in cli.COMMANDS:  # until the lead wires the command in
        monkeypatch.setattr(cli, "COMMANDS", cli.COMMANDS + ("export",))

    def go(*argv):
        code = cli.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return go


def test_vnncomp_folder_structure(suite, tmp_path):
    out = tmp_path / "bench"
    records = build_vnncomp(suite, out, timeout=42.5, threshold="0.25")
    assert sorted(os.listdir(out)) == ["cnf", "instances.csv", "manifest.json", "onnx", "vnnlib"]
    csv = (out / "instances.csv").read_text()
    assert csv.splitlines()[0] == "onnx/sat-a.onnx,vnnlib/sat-a.vnnlib,42.5"
    assert not csv.startswith("onnx,") and csv.endswith("\n")
    rows = read_instances_csv(out / "instances.csv")
    assert [r[0] for r in rows] == ["onnx/sat-a.onnx", "onnx/unsat-b.onnx", "onnx/sub_unknown_c.onnx"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest == records
    for (onnx_rel, vnnlib_rel, timeout), rec, (name, (cnf, expected)) in zip(rows, manifest, FORMULAS.items()):
        assert timeout == 42.5 and rec["onnx"] == onnx_rel and rec["vnnlib"] == vnnlib_rel
        assert rec["source_file"] == name and rec["threshold"] == "0.25"
        if expected is None:  # the manifest gives no label: the SAT solver's answer, and said so
            assert rec["expected"] in ("sat", "unsat") and rec["expected_by"] == "cadical195"
        else:
            assert rec["expected"] == expected and rec["expected_by"] == "manifest"
        assert load_onnx(out / onnx_rel) == reduce(cnf)
        assert read_vnnlib(out / vnnlib_rel) == reduction_property(cnf.num_vars, Fraction(1, 4))
        assert read_dimacs(out / rec["file"]) == cnf
        assert hashlib.sha256((out / rec["file"]).read_bytes()).hexdigest() == rec["sha256"]
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]  # no temporary folder left


def test_vnncomp_refuses_to_clobber(suite, tmp_path):
    out = tmp_path / "bench"
    out.mkdir()
    build_vnncomp(suite, out)  # an empty folder is fine
    with pytest.raises(VnncompError, match="not empty"):
        build_vnncomp(suite, out)
    build_vnncomp(suite, out, force=True, timeout=7)
    assert read_instances_csv(out / "instances.csv")[0][2] == 7
    other = tmp_path / "other"
    other.mkdir()
    (other / "precious.txt").write_text("keep")
    with pytest.raises(VnncompError, match="refusing"):
        build_vnncomp(suite, other, force=True)
    assert (other / "precious.txt").read_text() == "keep"


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda d, recs: (d / "sat-a.cnf").write_text(format_dimacs(Cnf(3, [(1,)]))), "sha256"),
        (lambda d, recs: recs.append(dict(recs[0], file="../x.cnf")), "outside the suite folder"),
        (lambda d, recs: recs.append(dict(recs[0], file="sat-a.cnf.gz")), "both map to instance name"),
        (lambda d, recs: recs.append(dict(recs[0], file="gone.cnf")), "missing"),
        (lambda d, recs: recs[0].update(expected="yes"), "expected must be"),
        (lambda d, recs: recs[0].update(n=9), "n = 9"),
        (lambda d, recs: [os.unlink(p) for p in [d / "manifest.json", *d.glob("*.cnf*")]], "no DIMACS files"),
    ],
)
def test_vnncomp_bad_suites(suite, tmp_path, change, match):
    recs = json.loads((suite / "manifest.json").read_text())
    change(suite, recs)
    if (suite / "manifest.json").exists():
        (suite / "manifest.json").write_text(json.dumps(recs))
    with pytest.raises(VnncompError, match=match):
        build_vnncomp(suite, tmp_path / "bench")
    assert not (tmp_path / "bench").exists()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]


@pytest.mark.parametrize("timeout", [0, -1, float("inf"), "x"])
def test_vnncomp_bad_timeout(suite, tmp_path, timeout):
    with pytest.raises(VnncompError, match="timeout"):
        build_vnncomp(suite, tmp_path / "bench", timeout=timeout)


def test_cli_export_vnncomp(run, suite, tmp_path):
    code, out, err = run("export", "vnncomp", "--suite", suite, "--out", tmp_path / "b", "--timeout", "30", "--json")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [r["name"] for r in lines] == ["sat-a", "unsat-b", "sub_unknown_c"]
    code, out, err = run("export", "vnncomp", "--suite", suite, "--out", tmp_path / "b")
    assert code == 2 and err.startswith("nsad: error:") and "not empty" in err and "Traceback" not in err


def test_cli_export_onnx_vnnlib_and_back(run, tmp_path):
    cnf = FORMULAS["sat-a.cnf"][0]
    (tmp_path / "f.cnf").write_text(format_dimacs(cnf))
    net = reduce(cnf)
    net.save(tmp_path / "net.npz")
    code, out, err = run("export", "onnx", tmp_path / "net.npz", "--out", tmp_path / "a.onnx", "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["bytes"] == (tmp_path / "a.onnx").stat().st_size and info["depth"] == net.depth
    code, out, err = run("export", "onnx", tmp_path / "f.cnf", "--out", tmp_path / "b.onnx", "--op", "gemm",
                         "--dtype", "float64", "--batch", "1")
    assert code == 0 and "b.onnx" in out
    assert load_onnx(tmp_path / "a.onnx") == net == load_onnx(tmp_path / "b.onnx")
    code, out, err = run("export", "npz", tmp_path / "b.onnx", "--out", tmp_path / "back.npz")
    assert code == 0 and ReluNetwork.load(tmp_path / "back.npz") == net
    code, out, err = run("export", "vnnlib", tmp_path / "f.cnf", "--out", tmp_path / "p.vnnlib", "--threshold", "1")
    assert code == 0 and read_vnnlib(tmp_path / "p.vnnlib") == reduction_property(3, 1)
    code, out, err = run("export", "vnnlib", "--inputs", "5", "--out", tmp_path / "q.vnnlib", "--json")
    assert code == 0 and json.loads(out)["inputs"] == 5


@pytest.mark.parametrize(
    "argv, match",
    [
        (["export", "vnnlib", "--out", "p.vnnlib"], "either a file"),
        (["export", "vnnlib", "--inputs", "2", "--threshold", "1/3", "--out", "p.vnnlib"], "finite decimal"),
        (["export", "onnx", "missing.npz", "--out", "x.onnx"], "missing.npz"),
        (["export", "npz", "missing.onnx", "--out", "x.npz"], "no such file"),
    ],
)
def test_cli_errors_are_one_line(run, tmp_path, monkeypatch, argv, match):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(*argv)
    assert code == 2 and match in err and len(err.strip().splitlines()) == 1


def test_vnncomp_from_a_generated_suite(tmp_path):
    from nsad.instances.suites import generate_suite

    (tmp_path / "s.toml").write_text('seed = 3\n[[family]]\nname = "php"\nholes = [2]\n'
                                     '[[family]]\nname = "planted-ksat"\nn = 6\nm = 20\ncount = 2\n')
    suite_records = generate_suite(tmp_path / "s.toml", tmp_path / "suite")
    records = build_vnncomp(tmp_path / "suite", tmp_path / "bench")
    assert [r["expected"] for r in records] == [r["expected"] for r in suite_records] == ["unsat", "sat", "sat"]
    assert [r["sha256"] for r in records] == [r["sha256"] for r in suite_records]
    assert len(read_instances_csv(tmp_path / "bench" / "instances.csv")) == 3
    # the output folder is itself a suite folder
    assert len(build_vnncomp(tmp_path / "bench", tmp_path / "bench2")) == 3
