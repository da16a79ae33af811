"""Exit codes and checks of the command line: `nsad check` on both answers (a singleton's DRUP proof
against the grid CNF rebuilt from the network), the user's own DIMACS files in verify / bench /
export vnncomp / decide, generate's manifest merge, report without a database, list."""

from __future__ import annotations

import json

import pytest

from nsad.instances import Cnf, write_dimacs


def jsonl(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# x1..x3 with all 8 sign patterns: unsatisfiable, and its network is in a certified class
UNSAT = Cnf(3, [(a * 1, b * 2, c * 3) for a in (1, -1) for b in (1, -1) for c in (1, -1)])
# the same minus one clause: satisfiable
SAT = Cnf(3, list(UNSAT.clauses)[:-1])
# another unsatisfiable formula on the same variables (x1 and not x1, padded): a different CNF
OTHER = Cnf(3, [(1, 2), (1, -2), (-1, 3), (-1, -3)])


@pytest.fixture
def files(tmp_path):
    out = {}
    for name, cnf in (("unsat", UNSAT), ("sat", SAT), ("other", OTHER)):
        write_dimacs(cnf, tmp_path / f"{name}.cnf")
        out[name] = tmp_path / f"{name}.cnf"
    return out


def _decide(cli, tmp_path, path, *extra):
    code, out, err = cli("decide", path, "--json", *extra)
    verdict = tmp_path / (path.stem + "".join(str(e).strip("-") for e in extra) + ".json")
    verdict.write_text(out)
    return code, jsonl(out)[0], verdict, err


def test_check_singleton_rebuilds_the_grid_cnf_and_checks_the_proof(tmp_path, cli, files):
    code, v, verdict, err = _decide(cli, tmp_path, files["unsat"], "--proof")
    assert code == 0 and v["verdict"] == "singleton" and v["argument"] == "class+drup"
    assert "reduced first" not in err and v["reduced_from"] == {"format": "dimacs", "n": 3, "m": 8}
    assert isinstance(v["drup"], list) and v["proof"] == "checked"
    code, out, _ = cli("check", files["unsat"], verdict)
    assert code == 0 and out.startswith("OK: the DRUP proof") and "rebuilt from the network" in out
    # the same proof written beside the verdict, and given as a file
    drup = tmp_path / "p.drup"
    drup.write_text("\n".join(v["drup"]) + "\n")
    bare = dict(v)
    del bare["drup"]
    (tmp_path / "bare.json").write_text(json.dumps(bare))
    code, out, _ = cli("check", files["unsat"], tmp_path / "bare.json")
    assert code == 3 and out.startswith("UNCHECKABLE: no DRUP proof")
    assert cli("check", files["unsat"], tmp_path / "bare.json", "--proof", drup)[0] == 0
    (tmp_path / "bare.json.drup").write_text(drup.read_text())
    assert cli("check", files["unsat"], tmp_path / "bare.json")[0] == 0
    # a proof that refutes nothing, or a wrong element: a failed check (exit 1)
    (tmp_path / "empty.drup").write_text("")
    code, out, _ = cli("check", files["unsat"], tmp_path / "bare.json", "--proof", tmp_path / "empty.drup")
    assert code == 1 and out.startswith("FAILED: the DRUP proof does not refute")
    wrong = dict(v, element=[1, 0, 0])
    (tmp_path / "wrong.json").write_text(json.dumps(wrong))
    code, out, _ = cli("check", files["unsat"], tmp_path / "wrong.json", "--json")
    assert code == 1 and jsonl(out)[0]["status"] == "failed" and "not the gradient" in jsonl(out)[0]["reason"]


def test_check_never_trusts_a_cnf_carried_in_the_verdict(tmp_path, cli, files):
    """A verdict whose proof and CNF belong to another formula fails: the CNF is rebuilt from the
    network, whatever the verdict carries."""
    _, v_other, _, _ = _decide(cli, tmp_path, files["other"], "--proof")
    _, v, _, _ = _decide(cli, tmp_path, files["unsat"], "--proof")
    forged = dict(v, drup=v_other["drup"], cnf={"num_vars": 3, "clauses": [list(c) for c in OTHER.clauses]})
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    code, out, _ = cli("check", files["unsat"], tmp_path / "forged.json")
    assert code == 1 and "FAILED" in out
    # the singleton answer on a satisfiable formula's network: wrong, whatever the proof
    sat_claim = dict(v, file=str(files["sat"]))
    (tmp_path / "satclaim.json").write_text(json.dumps(sat_claim))
    assert cli("check", files["sat"], tmp_path / "satclaim.json")[0] == 1


def test_check_numerical_singleton_and_two_subgradients(tmp_path, cli, files):
    code, v, verdict, _ = _decide(cli, tmp_path, files["unsat"], "--method", "milp")
    assert code == 0 and v["verdict"] == "singleton" and v["argument"] == "numerical"
    code, out, err = cli("check", files["unsat"], verdict)
    assert code == 3 and out.count("\n") == 1 and "numerical singleton" in out and "cannot be checked" in out
    code, v, verdict, _ = _decide(cli, tmp_path, files["sat"])
    assert v["verdict"] == "two-subgradients"
    assert cli("check", files["sat"], verdict)[0] == 0
    (tmp_path / "null.json").write_text(json.dumps(dict(v, certificate=None)))
    code, out, _ = cli("check", files["sat"], tmp_path / "null.json")
    assert code == 1 and "carries no certificate" in out
    (tmp_path / "junk.json").write_text("{not json")
    assert cli("check", files["sat"], tmp_path / "junk.json")[0] == 2
    # JSON Lines from several methods: each line checked, the worst code wins
    code, out, _ = cli("decide", files["unsat"], "--method", "sat-grid", "milp", "--proof", "--json")
    (tmp_path / "two.json").write_text(out)
    code, out, _ = cli("check", files["unsat"], tmp_path / "two.json", "--json")
    assert code == 3 and [o["status"] for o in jsonl(out)] == ["checked", "uncheckable"]


def test_decide_time_limit_is_undecided(tmp_path, cli, files):
    code, out, _ = cli("decide", files["unsat"], "--method", "milp", "--time-limit", 1e-9, "--json")
    assert code == 3 and jsonl(out)[0]["verdict"] == "unknown"


def test_own_files_in_verify_bench_and_vnncomp(tmp_path, cli, files):
    folder = files["sat"].parent
    code, out, err = cli("verify", folder, "--db", tmp_path / "r.db", "--workers", 1)
    assert code == 0, out + err
    assert "3 files; formula side: cadical195 decides each file (no manifest.json gives labels)" in err
    assert "3 formulas" in out
    code, out, _ = cli("verify", files["sat"], "--db", tmp_path / "r.db", "--json", "--no-resume", "--workers", 1)
    assert code == 0 and jsonl(out)[0]["file"] == str(files["sat"]) and jsonl(out)[0]["family"] == "file"
    # a manifest's labels are compared, and a wrong one is a problem (exit 1)
    (folder / "manifest.json").write_text(json.dumps([{"file": "sat.cnf", "expected": "unsat"},
                                                      {"file": "unsat.cnf", "expected": "unsat"}]))
    code, out, err = cli("verify", folder, "--db", tmp_path / "r.db", "--workers", 1)
    assert code == 1 and "2 expected labels" in err and "1 of 2 match the formula side, 1 CONTRADICTED" in out
    code, out, err = cli("bench", "deciders", files["sat"], files["unsat"], "--json")
    assert code == 1 and "2 files; their labels: 2 from manifest.json" in err and "CONTRADICTED" not in err
    (folder / "manifest.json").unlink()
    code, out, err = cli("bench", "deciders", folder)
    assert code == 0 and "computed by cadical195 (no manifest.json gives them)" in err
    code, out, err = cli("export", "vnncomp", folder, "--out", tmp_path / "v")
    assert code == 0 and "expected answers: 3 computed by cadical195" in out
    recs = json.loads((tmp_path / "v" / "manifest.json").read_text())
    assert {r["source_file"]: r["expected"] for r in recs} == {"other.cnf": "unsat", "sat.cnf": "sat",
                                                               "unsat.cnf": "unsat"}


def test_generate_merges_into_an_existing_manifest(tmp_path, cli):
    out = tmp_path / "f"
    assert cli("generate", "random", "--n", 5, "--m", 10, "--count", 2, "--out", out)[0] == 0
    code, text, _ = cli("generate", "planted", "--n", 5, "--m", 10, "--count", 12, "--out", out)
    assert code == 0 and "2 records kept, 12 written" in text
    names = [r["file"] for r in json.loads((out / "manifest.json").read_text())]
    assert names[:2] == ["random-n5-m10-s0-000.cnf", "random-n5-m10-s0-001.cnf"] and len(names) == 14
    assert "planted-n5-m10-s0-011.cnf" in names and sorted(p.name for p in out.glob("*.cnf")) == sorted(names)
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "manifest.json").write_text('{"not": "a list"}')
    code, _, err = cli("generate", "random", "--n", 5, "--m", 10, "--out", tmp_path / "g")
    assert code == 2 and "not an nsad manifest" in err and list((tmp_path / "g").iterdir()) == [tmp_path / "g" / "manifest.json"]


def test_report_without_database_leaves_nothing(tmp_path, cli):
    code, _, err = cli("report", "--db", tmp_path / "missing.db", "--out", tmp_path / "rep")
    assert code == 2 and err.startswith("nsad: error:") and not (tmp_path / "rep").exists()


def test_clarke_large_network_says_what_works(tmp_path, cli):
    cnf = tmp_path / "big.cnf"
    write_dimacs(Cnf(8, [(1, 2, 3), (-4, 5, 6), (7, -8, 1)]), cnf)
    code, _, err = cli("clarke", cnf)
    assert code == 2 and "n = 8 > 6" in err and "--slice I J" in err and err.count("\n") == 1
    code, out, _ = cli("clarke", cnf, "--slice", 1, 2, "--json")
    assert code == 0 and jsonl(out)[0]["slice"] == [1, 2] and jsonl(out)[0]["n"] == 2
    assert cli("clarke", cnf, "--slice", 1, 9)[0] == 2


def test_list_command(cli):
    code, out, _ = cli("list", "--json")
    names = {(o["kind"], o["name"]) for o in jsonl(out)}
    assert code == 0 and {("solver", "cadical195"), ("decider", "portfolio"), ("family", "pigeonhole"),
                          ("family", "disguised"), ("format", "dimacs")} <= names
    code, out, _ = cli("list", "deciders")
    assert code == 0 and out.startswith("deciders:") and "solvers:" not in out


@pytest.mark.parametrize("element, raw", [
    (["1e-999999999", 0, 0], None),           # an exponent string: Fraction would build 10^999999999
    (None, '{"verdict": "singleton", "element": [1e999, 0, 0], "drup": []}'),  # JSON 1e999 is inf
    ("000", None),                            # not a vector
])
def test_check_singleton_hostile_element_is_a_failed_check(tmp_path, cli, files, element, raw):
    p = tmp_path / "v.json"
    p.write_text(raw if raw is not None else json.dumps({"verdict": "singleton", "element": element, "drup": []}))
    code, out, err = cli("check", files["unsat"], p)
    assert code == 1 and out.startswith("FAILED: the element") and "not a vector of exact numbers" in out
    assert err == ""


def test_refusals_about_the_network_name_its_file(tmp_path, cli):
    from nsad.networks import ReluNetwork

    biased, vector = tmp_path / "b.npz", tmp_path / "v.npz"
    ReluNetwork([[[1, 0], [-1, 1]], [[1, 1]]], biases=[[1, 0], [2]]).save(biased)
    ReluNetwork([[[1, 0], [-1, 1]], [[1, 1], [0, 1]]]).save(vector)
    cert = tmp_path / "c.json"
    cert.write_text(json.dumps({"points": [[1, 0], [-1, 0]], "gradients": [[1, 0], [0, 0]]}))
    single = tmp_path / "s.json"
    single.write_text(json.dumps({"verdict": "singleton", "element": [0, 0], "drup": []}))
    for argv, needle in (
        (("check", biased, cert), "needs a bias-free network"),
        (("check", biased, single), "needs a bias-free network"),
        (("check", vector, cert), "a scalar network is required"),
        (("clarke", biased), "needs a bias-free network"),
        (("clarke", vector), "a scalar network is required"),
        (("disguise", biased, "--out", tmp_path / "d.npz"), "needs a bias-free network"),
        (("export", "vnnlib", biased, "--out", tmp_path / "x.vnnlib"), "bias-free"),
    ):
        code, out, err = cli(*argv)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and needle in lines[0], (argv, err)
        assert lines[0].startswith(f"nsad: error: {argv[2] if argv[0] == 'export' else argv[1]}: "), (argv, err)
    assert not (tmp_path / "d.npz").exists() and not (tmp_path / "x.vnnlib").exists()


def test_a_named_pipe_without_writer_is_read_as_empty_not_waited_on(tmp_path, cli):
    import os

    fifo = tmp_path / "a.cnf"
    os.mkfifo(fifo)
    for argv in (("decide", fifo), ("solve", fifo), ("check", fifo, fifo)):
        code, _, err = cli(*argv)
        assert code == 2 and err.count("\n") == 1 and f"{fifo}:1: missing header" in err
