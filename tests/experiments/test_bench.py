"""`nsad bench deciders` / `nsad bench fallback` and experiments.bench_deciders (tiny instances)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nsad.experiments.bench_deciders import (
    bench_deciders,
    bench_fallback,
    deciders,
    format_table,
    prepare_instances,
    random_integer_network,
    summarize,
)
from nsad.experiments.cli import main
from nsad.solvers.network.simplify import certify, simplify

DATA = Path(__file__).resolve().parents[1] / "data" / "satlib"


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_bench_functions(tmp_path):
    recs = prepare_instances(tmp_path, files=[DATA / "uf20-01.cnf", DATA / "uuf50-01.cnf"], sizes=[10], count=2)
    assert [r["n"] for r in recs] == [20, 50, 10, 10]
    assert all(Path(r["npz"]).exists() and Path(r["cnf"]).exists() for r in recs)
    rows = bench_deciders(recs, methods=["sat-grid", "cpsat-grid"])
    assert len(rows) == 8
    assert all(r["agree"] for r in rows)
    assert {r["formula"] for r in rows if r["name"].startswith("uuf")} == {"unsat"}
    assert all(r["certificate_ok"] for r in rows if r["network"] == "two-subgradients")
    for r in rows:
        assert set(r["breakdown"]) == {"load", "normal_form", "lattice", "simplify", "certify_class", "axis", "encode",
                                       "solve", "certify", "certify_check", "json", "other"}
        assert r["network_seconds"] >= r["breakdown"]["load"] > 0 and r["breakdown"]["json"] > 0
        assert (r["breakdown"]["certify"] is not None) == (r["network"] == "two-subgradients")
        assert r["breakdown"]["other"] == pytest.approx(r["network_seconds"] - sum(
            v for k, v in r["breakdown"].items() if v is not None and k != "other"))
    summary = summarize(rows)
    assert {(s["n"], s["method"]) for s in summary} == {(n, m) for n in (10, 20, 50) for m in ("sat-grid", "cpsat-grid")}
    s50 = next(s for s in summary if s["n"] == 50 and s["method"] == "sat-grid")
    assert (s50["sat"], s50["unsat"], s50["agree"], s50["disagree"]) == (0, 1, 1, 0)
    assert s50["ratio_of_medians"] == pytest.approx(s50["network_median"] / s50["formula_median"])
    assert "sat-grid" in format_table(summary)


def test_cli_bench_deciders_json(capsys, tmp_path):
    code, out, err = run_cli(capsys, "bench", "deciders", "--sizes", "8,12", "--count", 2, "--seed", 1,
                             "--methods", "sat-grid,portfolio", "--workdir", tmp_path, "--json")
    assert code == 0, err
    obj = json.loads(out)
    assert len(obj["rows"]) == 8 and all(r["agree"] for r in obj["rows"])
    assert {s["n"] for s in obj["summary"]} == {8, 12}
    assert any(p.suffix == ".npz" for p in tmp_path.iterdir())


def test_cli_bench_deciders_files_and_table(capsys):
    code, out, err = run_cli(capsys, "bench", "deciders", DATA / "uf20-02.cnf", DATA / "uuf50-02.cnf")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["n", "method"] and len(lines) == 4


def test_cli_bench_errors(capsys):
    code, _, err = run_cli(capsys, "bench", "deciders", "--sizes", "8", "--count", 1, "--methods", "nope")
    assert code == 2 and "unknown network decider" in err
    code, _, err = run_cli(capsys, "bench", "deciders", "/nonexistent.cnf")
    assert code == 2 and "nsad: error:" in err


def test_fallback_bench(capsys):
    net = random_integer_network(5, seed=2)
    assert certify(simplify(net)) is None
    rows = bench_fallback([3, 4], limit=60, methods=["exact", "milp"])
    assert [(r["method"], r["n"]) for r in rows] == [("exact", 3), ("exact", 4), ("milp", 3), ("milp", 4)]
    assert all(r["within_limit"] and r["answer"] == "singleton" for r in rows)
    assert all(r["complete"] for r in rows if r["method"] == "exact")
    assert not any(r["complete"] for r in rows if r["method"] == "milp")  # MILP singletons are numerical
    code, out, err = run_cli(capsys, "bench", "fallback", "--sizes", "3", "--methods", "exact", "--json")
    res = json.loads(out)
    assert code == 0 and res["rows"][0]["complete"] is True and res["largest_n"] == {"exact": 3}


def test_registry_of_the_bench():
    reg = deciders()
    assert {"sat-grid", "cpsat-grid", "portfolio", "milp"} <= set(reg.names())
