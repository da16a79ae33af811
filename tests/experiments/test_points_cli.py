"""The CLI at a point (in-process): decide --at / --output on ONNX models with biases, check of local
certificates (and of tampered ones), backprop, bench points on a fast subset of NeuroCodeBench."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.experiments.test_cli import jsonl, run_cli

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

DATA = Path(__file__).resolve().parents[1] / "data" / "neurocodebench" / "onnx"
SAT3, UNSAT3, SAT12 = DATA / "sat_v3_c9.onnx", DATA / "unsat_v3_c8.onnx", DATA / "sat_v12_c43.onnx"


def test_decide_at_points_and_outputs(tmp_path, capsys):
    code, out, _ = run_cli(capsys, "decide", SAT3, "--at", "0,1,1/2", "--output", "all", "--json")
    rows = jsonl(out)
    assert code == 0 and [r["output"] for r in rows] == [0, 1] and all(r["at"] == [0, 1, "1/2"] for r in rows)
    assert all(r["complete"] and r["verdict"] != "unknown" for r in rows)
    pts = tmp_path / "pts.txt"
    pts.write_text("0 0 0\n1 1 1\n0.5 0.25 1\n")
    code, out, _ = run_cli(capsys, "decide", SAT3, "--at", pts, "--output", 1, "--json")
    assert code == 0 and len(jsonl(out)) == 3
    np.save(tmp_path / "pts.npy", np.array([[0.0, 1.0, 0.0]]))
    code, out, _ = run_cli(capsys, "decide", SAT3, "--at", tmp_path / "pts.npy", "--output", 0)
    assert code == 0 and "at (0,1,0) output 0" in out
    code, _, err = run_cli(capsys, "decide", SAT3)
    assert code == 2 and "choose one with --output" in err and "\n" == err[-1] and err.count("\n") == 1
    code, _, err = run_cli(capsys, "decide", SAT3, "--at", "1,2", "--output", 0)
    assert code == 2 and "--at: the point has 2 coordinates, the network 3 inputs" in err



def test_a_point_that_starts_with_a_minus_sign_is_a_value(capsys):
    """``--at -1,0,1/2`` is the point, not an unknown option (argparse alone refuses it)."""
    code, out, err = run_cli(capsys, "decide", SAT3, "--at", "-1,0,1/2", "--output", 0, "--json")
    assert code == 0 and jsonl(out)[0]["at"] == [-1, 0, "1/2"], err
    code, out, err = run_cli(capsys, "backprop", SAT3, "--at", "-1,0,1", "--output", 0)
    assert code == 0 and "(-1,0,1)" in out.replace(" ", ""), (out, err)
    with pytest.raises(SystemExit) as stop:  # not a number: still an option, and a usage error
        run_cli(capsys, "decide", SAT3, "--at", "-x", "--output", 0)
    assert stop.value.code == 2


def test_check_of_a_local_certificate_and_of_a_tampered_one(tmp_path, capsys):
    code, out, _ = run_cli(capsys, "decide", UNSAT3, "--at", "1,0,1", "--output", 0, "--json")
    line = jsonl(out)[0]
    assert code == 0 and line["verdict"] == "two-subgradients" and line["certificate"]["at"] == [1, 0, 1]
    cert = tmp_path / "c.json"
    cert.write_text(json.dumps(line))
    code, out, _ = run_cli(capsys, "check", UNSAT3, cert)
    assert code == 0 and out.startswith("OK")
    far = dict(line, certificate=dict(line["certificate"], points=[[5, 5, 5], line["certificate"]["points"][1]]))
    cert.write_text(json.dumps(far))
    code, out, _ = run_cli(capsys, "check", UNSAT3, cert)
    assert code == 1 and "does not keep the signs" in out
    moved = dict(line, certificate=dict(line["certificate"], at=[0, 0, 0]))
    cert.write_text(json.dumps(moved))
    code, out, _ = run_cli(capsys, "check", UNSAT3, cert)
    assert code == 1 and out.startswith("FAILED")


def test_backprop_report(capsys):
    code, out, _ = run_cli(capsys, "backprop", UNSAT3, "--at", "1,0,1", "--relu-prime", 1, "--output", "all", "--json")
    rows = jsonl(out)
    assert code == 0 and len(rows) == 2
    for r in rows:
        assert r["is_clarke"] in ("yes", "no") and r["exact"] and r["relu_prime"] == 1
        assert [f["dtype"] for f in r["float"]] == ["float16", "float32", "float64"]
        assert all(f["rounding_kinks"] == 0 and f["missed_kinks"] == 0 for f in r["float"])  # integer data
    code, out, _ = run_cli(capsys, "backprop", SAT3, "--at", "0,0,0", "--output", 0)
    assert code == 0 and "backprop is a Clarke element" in out and "float16" in out
    code, _, err = run_cli(capsys, "backprop", SAT3, "--relu-prime", 2, "--output", 0)
    assert code == 2 and "[0, 1]" in err


def test_bench_points_fast_subset(capsys):
    code, out, _ = run_cli(capsys, "bench", "points", SAT3, UNSAT3, SAT12, "--points", 5, "--max-exhaustive", 3,
                           "--float-points", 5, "--json")
    rows = jsonl(out)
    summary = rows.pop()["summary"]
    assert code == 0 and summary["goal"] == "met" and summary["unknown"] == 0
    by = {r["model"]: r for r in rows}
    assert by["sat_v3_c9.onnx"]["points"] == 8 and by["sat_v3_c9.onnx"]["label_agrees"] is True
    assert by["unsat_v3_c8.onnx"]["property_witnesses"] == 0 and by["unsat_v3_c8.onnx"]["label_agrees"] is True
    assert by["sat_v12_c43.onnx"]["points"] == 5 and not by["sat_v12_c43.onnx"]["all_binary_points"]
    assert all(r["ort_binary_exact"] and r["ort_max_error_over_bound"] <= 1 for r in rows)


def test_check_of_singletons_at_a_point_rebuilds_them(tmp_path, capsys):
    code, out, _ = run_cli(capsys, "decide", SAT3, "--at", "1,1,1", "--output", "all", "--json")
    rows = jsonl(out)
    assert code == 0 and {r["verdict"] for r in rows} == {"two-subgradients", "singleton"}
    path = tmp_path / "v.jsonl"
    path.write_text(out)
    code, out, _ = run_cli(capsys, "check", SAT3, path)
    assert code == 0 and out.count("OK: ") == 2
    for r in rows:
        if r["verdict"] == "singleton":
            r["element"] = [9, 9, 9]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    code, out, _ = run_cli(capsys, "check", SAT3, path)
    assert code == 1 and "FAILED: decided again exactly" in out
