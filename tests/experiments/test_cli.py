"""The CLI end to end (in-process): generate -> reduce -> decide/solve -> check -> verify."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from nsad.experiments.cli import main
from nsad.experiments.store import ResultStore, StoreError


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def jsonl(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def formulas(tmp_path, capsys):
    out = tmp_path / "f"
    code, _, _ = run_cli(capsys, "generate", "random", "--n", 6, "--ratio", 4.26, "--count", 6, "--seed", 3,
                         "--out", out)
    assert code == 0
    return out


def test_generate_manifest_and_reproducibility(tmp_path, capsys, formulas):
    manifest = json.loads((formulas / "manifest.json").read_text())
    assert len(manifest) == 6
    for rec in manifest:
        assert set(rec) == {"file", "family", "parameters", "seed", "n", "m", "sha256", "expected"}
        assert rec["n"] == 6 and rec["m"] == 26 and rec["seed"] == 3
        assert (formulas / rec["file"]).exists()
    again = tmp_path / "g"
    run_cli(capsys, "generate", "random", "--n", 6, "--ratio", 4.26, "--count", 6, "--seed", 3, "--out", again)
    assert [r["sha256"] for r in json.loads((again / "manifest.json").read_text())] == [r["sha256"] for r in manifest]
    text = (formulas / manifest[0]["file"]).read_text()
    assert text.startswith("c") and "seed" in text.split("p cnf")[0]


def test_generate_planted_expected_sat(tmp_path, capsys):
    code, out, _ = run_cli(capsys, "generate", "planted", "--n", 8, "--m", 30, "--count", 3, "--out", tmp_path,
                           "--json")
    assert code == 0
    recs = jsonl(out)
    assert [r["expected"] for r in recs] == ["sat"] * 3


def test_reduce_decide_solve_check_round(tmp_path, capsys, formulas):
    manifest = json.loads((formulas / "manifest.json").read_text())
    nets = []
    for rec in manifest:
        net = tmp_path / (rec["file"] + ".npz")
        code, out, _ = run_cli(capsys, "reduce", formulas / rec["file"], "--out", net, "--json")
        assert code == 0 and jsonl(out)[0]["weight_values"] in ([-1, 1], [-1, 0, 1], [1], [-1])
        nets.append(net)
    code, out, _ = run_cli(capsys, "solve", *[formulas / r["file"] for r in manifest], "--json")
    solved = jsonl(out)
    assert code == 0 and [s["file"] for s in solved] == [str(formulas / r["file"]) for r in manifest]
    code, out, _ = run_cli(capsys, "decide", *nets, "--json")
    decided = jsonl(out)
    assert code == 0 and len(decided) == len(nets)
    for s, d, net in zip(solved, decided, nets):
        assert s["verdict"] in ("sat", "unsat")
        assert (s["verdict"] == "sat") == (d["verdict"] == "two-subgradients")
        if d["verdict"] == "two-subgradients":
            cert = tmp_path / "cert.json"
            cert.write_text(json.dumps(d))
            assert run_cli(capsys, "check", net, cert)[0] == 0
            d["certificate"]["gradients"][0][0] = 7  # tamper
            cert.write_text(json.dumps(d))
            code, out, _ = run_cli(capsys, "check", net, cert)
            assert code == 1 and "FAILED" in out
        else:
            assert d["element"] == [0] * 6
        if s["verdict"] == "sat":
            assert len(s["model"]) == 6


def test_verify_rows_resume_and_summary(tmp_path, capsys):
    db = tmp_path / "r.db"
    code, out, _ = run_cli(capsys, "verify", "--n", 4, 5, "--count", 3, "--seed", 1, "--db", db)
    assert code == 0, out
    assert "agree" in out and "6 formulas" in out
    with ResultStore(db) as store:
        rows = list(store.rows("verify"))
    assert len(rows) == 6 and all(r["agree"] == 1 for r in rows)
    assert all(r["certificate"] in ("checked", "model-checked", "none") for r in rows)
    assert {r["formula_answer"] for r in rows} <= {"sat", "unsat"}
    # re-run: nothing recomputed, same rows
    code, out, err = run_cli(capsys, "verify", "--n", 4, 5, "--count", 3, "--seed", 1, "--db", db, "--json")
    assert code == 0
    objs = jsonl(out)
    assert objs[-1]["ok"] is True and len(objs) == 1  # only the summary: every task was already done
    with ResultStore(db) as store:
        assert store.count("verify") == 6


def test_cli_user_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.cnf"
    bad.write_text("p cnf 2 1\n1 3 0\n")
    code, out, err = run_cli(capsys, "solve", bad)
    assert code == 2 and err.count("\n") == 1 and "bad.cnf:2" in err and "Traceback" not in err
    code, _, err = run_cli(capsys, "reduce", tmp_path / "missing.cnf", "--out", tmp_path / "x.npz")
    assert code == 2 and err.startswith("nsad: error:")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"\x00\x01garbage")
    code, _, err = run_cli(capsys, "decide", junk)
    assert code == 2 and "junk.npz" in err and err.count("\n") == 1
    code, _, err = run_cli(capsys, "solve", bad, "--solver", "nosuch")
    assert code == 2 and "unknown formula solver" in err
    foreign = tmp_path / "foreign.db"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE t (a)")
    con.commit()
    con.close()
    code, _, err = run_cli(capsys, "verify", "--n", 3, "--count", 1, "--db", foreign)
    assert code == 2 and "another application" in err
    notdb = tmp_path / "notdb.db"
    notdb.write_bytes(b"this is not a database at all" * 100)
    code, _, err = run_cli(capsys, "verify", "--n", 3, "--count", 1, "--db", notdb)
    assert code == 2 and "not an SQLite" in err


def test_batch_goes_on_after_a_bad_file(tmp_path, capsys, formulas):
    good = sorted(formulas.glob("*.cnf"))[0]
    bad = tmp_path / "bad.cnf"
    bad.write_text("p cnf 1 1\n1 x 0\n")
    code, out, err = run_cli(capsys, "solve", bad, good, "--json")
    objs = jsonl(out)  # one object per input: the bad one carries its error
    assert code == 2 and len(objs) == 2 and "bad.cnf:2" in err
    assert objs[0]["file"] == str(bad) and "bad.cnf:2" in objs[0]["error"] and "verdict" in objs[1]


def test_console_script_has_help():
    res = subprocess.run([sys.executable, "-m", "nsad", "--help"], capture_output=True, text=True)
    assert res.returncode == 0
    for cmd in ("generate", "reduce", "solve", "decide", "check", "verify"):
        assert cmd in res.stdout


def test_store_rejects_newer_schema(tmp_path):
    p = tmp_path / "new.db"
    with ResultStore(p):
        pass
    con = sqlite3.connect(p)
    con.execute("PRAGMA user_version=99")
    con.close()
    with pytest.raises(StoreError, match="newer"):
        ResultStore(p)


def test_verify_with_proofs_checks_both_sides(tmp_path, capsys):
    db = tmp_path / "p.db"
    code, out, _ = run_cli(capsys, "verify", "--n", 5, 8, "--count", 4, "--seed", 2, "--proofs", "--db", db)
    assert code == 0 and "UNSAT proofs checked" in out
    with ResultStore(db) as store:
        rows = list(store.rows("verify"))
    assert {r["proof"] for r in rows} == {"checked"}
    assert any(r["network_answer"] == "singleton" for r in rows)
    for r in rows:
        net = json.loads(r["details"])["network"]
        if r["network_answer"] == "singleton" and net["method"] in ("sat-grid", "portfolio"):
            assert net["stats"]["proof"] == "checked"


def test_help_and_version_import_no_numerical_library():
    """`nsad --help` lists every command from the command modules' SUMMARY lines alone."""
    code = ("import sys\nfrom nsad.experiments.cli import main\n"
            "for args in (['--help'], ['--version']):\n"
            "    try:\n        main(args)\n    except SystemExit:\n        pass\n"
            "heavy = sorted(m for m in ('numpy', 'scipy', 'pysat', 'ortools', 'z3') if m in sys.modules)\n"
            "print('HEAVY', heavy)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "HEAVY []" in res.stdout
    from nsad.experiments.cli import COMMANDS

    for name in COMMANDS:
        assert name in res.stdout


def test_each_command_summary_is_its_help_line():
    from nsad.experiments.cli import COMMANDS, build_parser
    import importlib

    full = build_parser()
    sub = next(a for a in full._actions if a.__class__.__name__ == "_SubParsersAction")
    helps = {c.dest: c.help for c in sub._choices_actions}
    lazy = build_parser(lazy=True)   # summaries read from the modules' source text
    lazy_sub = next(a for a in lazy._actions if a.__class__.__name__ == "_SubParsersAction")
    lazy_helps = {c.dest: c.help for c in lazy_sub._choices_actions}
    for name in COMMANDS:
        assert helps[name] == importlib.import_module(f"nsad.experiments.commands.{name}").SUMMARY
        assert lazy_helps[name] == helps[name]
