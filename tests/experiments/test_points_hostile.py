"""Hostile points and local verdicts found by the wave-3 fuzz campaign: `decide/backprop --at` with
exponents that imply huge numbers, point files, and `nsad check` of singleton verdicts at a point
whose 'at' or 'element' are not lists of exact numbers. Each is one line and exit 2 (a bad input) or
1 (a failed check), never a traceback or a hang."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsad.networks import ReluNetwork


@pytest.fixture
def net(tmp_path):
    p = tmp_path / "b4.npz"
    ReluNetwork([[[1, 0, 0, 0], [-1, 1, 0, 0], [0, 0, 1, -1]], [[1, 1, 2]]], biases=[[1, 0, -1], [2]]).save(p)
    return p


def _one_line(code, err, want=2):
    assert code == want and err.count("\n") == 1 and err.startswith("nsad: error:") and "Traceback" not in err, err


@pytest.mark.parametrize("command", ["decide", "backprop"])
def test_an_exponent_implying_a_billion_digits_is_a_limit_not_a_hang(tmp_path, cli, net, command):
    code, _, err = cli(command, net, "--at", "1e-999999999,0,0,0")
    _one_line(code, err)
    assert "'1e-999999999' has 1000000000 digits" in err and "max_number_length" in err
    f = tmp_path / "p.txt"
    f.write_text("0 0 0 0\n1e999999999 0 0 0\n")
    code, _, err = cli(command, net, "--at", f)
    _one_line(code, err)
    assert f"{f}:2:" in err


def test_backprop_at_a_point_beyond_float64_reports_the_overflow(cli, net):
    code, out, err = cli("backprop", net, "--at", "1e400,0,0,0")
    assert code == 0 and "Traceback" not in err and "[1, 0, 0, 0]" in out


@pytest.mark.parametrize("make, needle", [
    (lambda p: np.save(p, np.zeros((0, 4))), "no point in the file"),
    (lambda p: np.save(p, np.ones((1, 4), np.longdouble) / 3), "wider than float64"),
])
def test_point_files_that_hold_no_point_or_would_be_rounded(tmp_path, cli, net, make, needle):
    p = tmp_path / "pts.npy"
    make(p)
    if "wider" in needle and np.dtype(np.longdouble).itemsize <= 8:
        pytest.skip("longdouble is float64 on this platform")
    code, _, err = cli("decide", net, "--at", p)
    _one_line(code, err)
    assert needle in err


@pytest.mark.parametrize("field, value", [
    ("at", 0), ("at", True), ("at", ["/etc/passwd"]), ("at", ["1e-999999999", 0, 0, 0]), ("at", [0, 0, 0]),
])
def test_check_singleton_at_a_point_needs_a_list_of_exact_numbers(tmp_path, cli, net, field, value):
    v = {"verdict": "singleton", "at": [1, -1, 0, 0], "output": 0, "element": [1, 0, 0, 0]}
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps(v))
    assert cli("check", net, ok)[0] == 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(dict(v, **{field: value})))
    code, _, err = cli("check", net, bad)
    _one_line(code, err)
    assert str(bad) in err and "root:" not in err


@pytest.mark.parametrize("element", [1, True, ["1/0", 0, 0, 0], ["1e-999999999", 0, 0, 0], None])
def test_check_singleton_at_a_point_with_a_bad_element_is_a_failed_check(tmp_path, cli, net, element):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"verdict": "singleton", "at": [1, -1, 0, 0], "output": 0, "element": element}))
    code, out, err = cli("check", net, bad)
    assert code == 1 and out.startswith("FAILED:") and err == ""


_PIECES = st.sampled_from(["0", "1", "9", "-", "+", ".", "/", "e", "E", "e9", "e-99999", "/0", " ", "\t", ",", "١",
                           "٣", "nan", "inf", "_", "0x1", "\u00a0", "#", "99999999999999999999"])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(_PIECES, max_size=12).map("".join))
def test_parse_point_gives_exact_numbers_or_one_line_errors(text):
    """Any --at string: a point of exact Fractions of the right dimension, or an NsadError of one line
    (never another exception, never a number built from an exponent beyond the limit)."""
    from fractions import Fraction

    from nsad.errors import NsadError
    from nsad.solvers.network.local import parse_point

    if text.strip() and os.path.exists(text):
        return
    try:
        pts = parse_point(text, 2)
    except NsadError as exc:
        assert "\n" not in str(exc)
        return
    assert len(pts) == 1 and len(pts[0]) == 2 and all(isinstance(v, Fraction) for v in pts[0])
