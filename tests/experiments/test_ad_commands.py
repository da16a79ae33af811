"""`nsad matmul`, `nsad cheapgrad`, `nsad clarke` end to end (in-process, tiny sizes)."""

from __future__ import annotations

import json
import sqlite3
import sys

import numpy as np
import pytest

from nsad.experiments.cli import main
from nsad.networks import ReluNetwork


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def jsonl(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def db_rows(path, table):
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY rowid")]


def test_matmul_json_db_and_plot(tmp_path, capsys):
    db = tmp_path / "r.db"
    code, out, err = run_cli(capsys, "matmul", "--width", 16, 24, "--p", 1, 3, "--dtype", "float64", "float32",
                             "--repeat", 1, "--no-torch", "--db", db, "--json", "--plot", tmp_path / "mm",
                             "--min-sample", 0.001)
    assert code == 0, err
    rows = jsonl(out)
    assert len(rows) == 8
    assert {(r["width"], r["p"], r["dtype"]) for r in rows} == {(w, p, d) for w in (16, 24) for p in (1, 3)
                                                                for d in ("float64", "float32")}
    for r in rows:
        assert r["ratio_zero"] > 0 and r["ratio_random"] > 0 and r["ratio_matmul"] > 0
        assert r["t_torch"] is None and r["ratio_torch"] is None
        assert r["ops_dd"] == (r["p"] + 1) * (4 * r["width"] ** 2 + 3 * r["width"])
        assert "openblas" in r["blas"].lower() or r["blas"]
    stored = db_rows(db, "matmul_runs")
    assert len(stored) == 8 and len({r["key"] for r in stored}) == 8
    assert {r["run_id"] for r in stored} == {rows[0]["run_id"]}
    assert (tmp_path / "mm.png").stat().st_size > 0 and (tmp_path / "mm.svg").stat().st_size > 0
    assert "BLAS:" in err and f"wrote 8 rows to {db} (table matmul_runs" in err
    # a second run appends, never overwrites
    run_cli(capsys, "matmul", "--quick", "--dtypes", "float64", "--repeats", 1, "--no-torch", "--db", db)
    assert len(db_rows(db, "matmul_runs")) == 8 + 4


def test_matmul_table_output_without_db(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(capsys, "matmul", "--quick", "--dtypes", "float32", "--repeats", 1, "--no-torch",
                           "--no-db")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("kernel: ") and "dtype" in lines[1] and len(lines) == 2 + 4
    assert all(line.split()[-5] == "n/a" for line in lines[2:])  # below the goals' sizes: not judged
    assert not (tmp_path / "nsad-results.db").exists()


def test_matmul_goals_are_judged_per_row(tmp_path, capsys, monkeypatch):
    from nsad.experiments import matmul_bench

    monkeypatch.setattr(matmul_bench, "GOAL_MIN_WIDTH", 16)  # judge the tiny grid
    monkeypatch.setattr(matmul_bench, "GOAL_MIN_P", 1)
    code, out, err = run_cli(capsys, "matmul", "--widths", 16, "--ps", 2, "--dtypes", "float64", "--repeats", 1,
                             "--no-torch", "--no-db", "--json", "--matmul-runs", 3, "--min-sample", 0.001)
    assert code == 0, err
    (row,) = jsonl(out)
    assert len(row["ratios_matmul"]) == 3 and row["ratio_matmul_worst"] == max(row["ratios_matmul"])
    assert row["goal_dd"] in ("met", "missed") and row["goal_matmul"] in ("met", "missed")
    assert row["goal_matmul"] == ("met" if row["ratio_matmul_worst"] <= matmul_bench.MATMUL_GOAL else "missed")
    assert row["kernel"] is not None or "unknown" in row["blas"]


def test_torch_is_skipped_cleanly_when_absent(monkeypatch):
    from nsad.experiments import matmul_bench

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    assert not matmul_bench.torch_available()
    row = matmul_bench.measure(8, 2, "float64", repeats=1, use_torch=True, min_sample=0.0)
    assert row["t_torch"] is None and row["ratio_torch"] is None


def test_torch_reference_when_installed():
    pytest.importorskip("torch")
    from nsad.experiments import matmul_bench

    row = matmul_bench.measure(8, 2, "float64", repeats=1, use_torch=True, min_sample=0.0)
    assert row["t_torch"] > 0 and row["ratio_torch"] > 0


def test_cheapgrad_op_ratios_rows_and_plot(tmp_path, capsys):
    db = tmp_path / "r.db"
    code, out, err = run_cli(capsys, "cheapgrad", "--ns", 10, 30, "--repeats", 1, "--db", db, "--json",
                             "--plot", tmp_path / "cg.svg", "--min-sample", 0.001)
    assert code == 0, err
    rows = jsonl(out)
    assert [(r["family"], r["n"]) for r in rows] == [("sparse", 10), ("sparse", 30), ("reduction", 10),
                                                    ("reduction", 30)]
    for r in rows:
        assert r["ops_ratio_backward"] == 2.0 and r["ops_backward"] == 2 * r["ops_eval"]
        assert r["ops_forward"] == (r["n"] + 1) * r["ops_eval"] == r["ops_ld"]
        assert r["t_eval"] > 0 and r["time_ratio_backward"] > 0
        assert r["t_forward"] is not None and r["t_ld"] is not None  # tiny: within the time budget
    assert rows[2]["m"] == round(4.26 * 10)
    stored = db_rows(db, "cheapgrad_runs")
    assert len(stored) == 4 and all(r["ops_ratio_backward"] == 2.0 for r in stored)
    assert (tmp_path / "cg.png").exists() and (tmp_path / "cg.svg").exists()


def test_cheapgrad_skips_forward_mode_beyond_the_budget(capsys):
    code, out, _ = run_cli(capsys, "cheapgrad", "--ns", 300, "--families", "sparse", "--repeats", 1,
                           "--time-budget", 1e-9, "--no-db", "--json", "--min-sample", 0.001)
    assert code == 0
    (row,) = jsonl(out)
    assert row["t_forward"] is None and row["time_ratio_forward"] is None
    assert row["ops_ratio_forward"] == 301.0


def test_cheapgrad_table_summary(capsys):
    code, out, err = run_cli(capsys, "cheapgrad", "--quick", "--families", "sparse", "--no-db")
    assert code == 0 and "sparse" in out and "max/min over n" in err


@pytest.fixture
def zero_net(tmp_path):
    """F = relu(-relu(x) - 2 relu(-x)) = 0, yet backprop at 0 with relu'(0) = 1 gives 1."""
    path = tmp_path / "zero.npz"
    ReluNetwork([[[1], [-1]], [[-1, -2]], [[1]]]).save(path)
    return path


def test_clarke_json_on_a_zero_network(zero_net, capsys):
    code, out, err = run_cli(capsys, "clarke", zero_net, "--json")
    assert code == 0, err
    (rep,) = jsonl(out)
    assert rep["clarke_singleton"] and rep["clarke"]["gradients"] == [[0]]
    assert rep["backprop"] == {"s=0": [0], "s=1": [1]}
    assert rep["backprop_in_clarke"] == {"s=0": True, "s=1": False}
    assert rep["conservative"]["exhaustive"] and [1] in rep["conservative"]["points"]


def test_clarke_text_and_plot_for_two_inputs(tmp_path, capsys):
    path = tmp_path / "abs2.npz"
    ReluNetwork([[[1, 0], [-1, 0], [0, 1], [0, -1]], [[1, 1, 2, 0]]]).save(path)  # |x1| + 2 relu(x2)
    code, out, err = run_cli(capsys, "clarke", path, "--plot", tmp_path / "c.png")
    assert code == 0, err
    assert "4 piece gradient(s)" in out and "NOT in dF(0)" not in out.split("relu'(0)=0")[1].splitlines()[0]
    assert (tmp_path / "c.png").exists() and (tmp_path / "c.svg").exists()


def test_clarke_on_an_unsatisfiable_formula(tmp_path, capsys):
    cnf = tmp_path / "u.cnf"
    cnf.write_text("p cnf 2 5\n1 2 0\n1 -2 0\n-1 2 0\n-1 -2 0\n1 2 0\n")
    code, out, err = run_cli(capsys, "clarke", cnf, "--json", "--max-points", 256)
    assert code == 0, err
    (rep,) = jsonl(out)
    assert rep["clarke"]["gradients"] == [[0, 0]]
    assert rep["backprop"]["s=1"] != [0, 0] and rep["backprop_in_clarke"]["s=1"] is False


def test_clarke_user_errors(tmp_path, capsys):
    code, _, err = run_cli(capsys, "clarke", tmp_path / "missing.npz")
    assert code == 2 and err.startswith("nsad: error:")
    big = tmp_path / "big.npz"
    ReluNetwork([np.eye(7, dtype=int), np.ones((1, 7), dtype=int)]).save(big)
    code, _, err = run_cli(capsys, "clarke", big)
    assert code == 2 and "n = 7" in err
    four = tmp_path / "four.npz"
    ReluNetwork([np.eye(4, dtype=int), np.ones((1, 4), dtype=int)]).save(four)
    code, _, err = run_cli(capsys, "clarke", four, "--plot", tmp_path / "x")
    assert code == 2 and "n = 1, 2 or 3" in err
    vec = tmp_path / "vec.npz"
    ReluNetwork([np.eye(2, dtype=int)]).save(vec)
    code, _, err = run_cli(capsys, "clarke", vec)
    assert code == 2 and "scalar" in err
