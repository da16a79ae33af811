"""The `disguised` suite family and `nsad disguise`: networks hidden by exact rewrites, decided from
the network alone, answers equal to the formula's."""

from __future__ import annotations

import json

import pytest

from nsad.experiments.cli import main
from nsad.instances import read_dimacs
from nsad.networks import ReluNetwork, check, read_provenance
from nsad.networks.disguise import replay
from nsad.reductions.sat_to_relu import reduce
from nsad.solvers import decide_network, solve_formula

SPEC = """seed = 5
[[family]]
name = "disguised"
n = [8, 16]
ratio = 4.26
count = 3

[[family]]
name = "disguised"
base = "pigeonhole"
holes = 3
kinds = ["identity-layer", "permute"]
"""


def test_a_disguised_suite_is_decided_from_the_networks_alone(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC)
    assert main(["generate", "suite", "--spec", str(spec), "--out", str(tmp_path / "out")]) == 0
    nets = json.loads((tmp_path / "out" / "networks.json").read_text())
    assert len(nets) == 7 and nets[-1]["kinds"] == ["identity-layer", "permute"]
    for rec in nets:
        cnf = read_dimacs(tmp_path / "out" / rec["formula"])
        net = ReluNetwork.load(tmp_path / "out" / rec["file"])
        prov = read_provenance(tmp_path / "out" / rec["file"])
        again, C = replay([M for M in reduce(cnf).matrices], prov["steps"])
        assert C == rec["factor"] and all((A != B).nnz == 0 for A, B in zip(again, net.matrices))
        v = decide_network(net)
        truth = solve_formula(cnf).answer
        assert v.complete and v.answer == ("two-subgradients" if truth == "sat" else "singleton")
        if v.certificate is not None:
            assert check(net, v.certificate)


def test_bad_disguised_entries_are_one_line_errors(tmp_path, capsys):
    spec = tmp_path / "bad.toml"
    spec.write_text('[[family]]\nname = "disguised"\nn = 5\nkinds = ["shuffle"]\n')
    assert main(["generate", "suite", "--spec", str(spec), "--out", str(tmp_path / "o")]) == 2
    assert "key 'kinds' must be a list of rewrite kinds" in capsys.readouterr().err


def test_the_disguise_command_records_its_provenance(tmp_path, capsys):
    from nsad.instances import random_ksat

    net = reduce(random_ksat(12, ratio=4.26, seed=2))
    net.save(tmp_path / "n.npz")
    assert main(["disguise", str(tmp_path / "n.npz"), "--seed", "7", "--out", str(tmp_path / "d.npz"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    prov = read_provenance(tmp_path / "d.npz")
    assert prov["seed"] == 7 and prov["factor"] == out["factor"] and out["units"][1] <= 2 * out["units"][0]
    d = ReluNetwork.load(tmp_path / "d.npz")
    for x in ([1] * 12, [-1, 2, 0, 3, -5, 1, 1, -2, 0, 4, 1, -1]):
        assert d.evaluate_exact(x) == prov["factor"] * net.evaluate_exact(x)


@pytest.mark.parametrize("raw", [False, True])
def test_decide_raw_reads_the_network_as_written(tmp_path, capsys, raw):
    net = ReluNetwork([[[1], [-1]], [[1, 1]]])
    net.save(tmp_path / "abs.npz")
    args = ["decide", str(tmp_path / "abs.npz"), "--json"] + (["--raw"] if raw else [])
    assert main(args) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["verdict"] == "two-subgradients" and obj["argument"] == "certificate"
    assert obj["stats"].get("path") == ("syntax" if raw else "normal-form")
