"""`nsad kinks`: exact kink detection, gradient-difference detection, Wilson intervals, the CLI."""

from __future__ import annotations

import json
import sqlite3
from fractions import Fraction

import numpy as np
import pytest

from nsad.experiments import kinks
from nsad.experiments.cli import main


def _net(W1, b1, dtype):
    """One hidden layer of width len(b1), one output (the second layer is irrelevant to the kinks)."""
    W1 = np.asarray(W1, dtype=dtype)
    b1 = np.asarray(b1, dtype=dtype)
    return [W1, b1, np.ones((2, W1.shape[0]), dtype=dtype), np.zeros(2, dtype=dtype)]


def test_exact_zero_that_float_misses():
    # float16: layer 1 gives exactly 1 + 2^-12 and 1 - 2^-12, both rounded to 1.0 in float16; layer 2
    # computes u1 - u2 - 2^-11, exactly 0, but -2^-11 in float16 (order-independent: no other rounding)
    P = [np.array([[1.0, 2.0 ** -12], [1.0, -2.0 ** -12]], np.float32), np.zeros(2, np.float32),
         np.array([[1.0, -1.0]], np.float32), np.array([-2.0 ** -11], np.float32),
         np.array([[1.0], [-1.0]], np.float32), np.zeros(2, np.float32)]
    X = np.array([[1.0, 1.0]], dtype=np.float32)
    P16, X16 = [p.astype(np.float16) for p in P], X.astype(np.float16)
    assert all(np.array_equal(a.astype(np.float32), b) for a, b in zip(P16, P))  # the same numbers
    zs = kinks.forward(P16, X16)[0]
    assert zs[0].tolist() == [[1.0, 1.0]] and zs[1][0, 0] == -(2.0 ** -11)
    assert [m.tolist() for m in kinks.exact_zero_masks(P16, X16)] == [[[False, False]], [[True]]]
    assert [m.tolist() for m in kinks.exact_zero_masks(P16, X16, full=True)] == [[[False, False]], [[True]]]
    rec, _, _ = kinks.measure_step(P, X, np.array([0]), "float16", audit=True)
    assert rec["exact_kink"] and rec["missed_kink"] and not rec["float_zero"] and not rec["differs"]
    assert not rec["audit_mismatch"]
    # in float32 the first layer is exact, so the kink is seen, and it changes the gradient
    rec, _, _ = kinks.measure_step(P, X, np.array([0]), "float32", audit=True)
    assert rec["exact_kink"] and rec["float_zero"] and not rec["missed_kink"] and rec["differs_exact"]


def test_float_zero_that_is_not_exact():
    # float32: w x with w = x = 1 + 2^-23 is 1 + 2^-22 + 2^-46, rounded to 1 + 2^-22 (one product, no
    # summation order); the bias -(1 + 2^-22) then gives 0.0 in float, 2^-46 exactly
    w = 1 + 2.0 ** -23
    P = [np.array([[w]], np.float32), np.array([-(1 + 2.0 ** -22)], np.float32),
         np.array([[1.0], [-1.0]], np.float32), np.zeros(2, np.float32)]
    X = np.array([[w]], dtype=np.float32)
    assert kinks.forward(P, X)[0][0][0, 0] == 0
    z = kinks.exact_preactivations(P, X)[0]
    assert z[0, 0] > 0
    assert [m.tolist() for m in kinks.exact_zero_masks(P, X)] == [[[False]]]
    rec, _, _ = kinks.measure_step(P, X, np.array([0]), "float32", audit=True)
    assert rec["float_zero"] and rec["rounding_kink"] and rec["differs"] and not rec["exact_kink"]
    assert not rec["differs_exact"] and not rec["audit_mismatch"]
    rec, _, _ = kinks.measure_step(P, X, np.array([0]), "float64")
    assert not rec["float_zero"] and not rec["exact_kink"] and not rec["differs"]


def test_float16_rounding_kink_and_measure_step():
    # float16: 1 + 2^-12 rounds to 1 (11-bit significand), so the bias -1 gives 0.0 in float16
    P = [np.array([[1.0, 2.0 ** -12]], np.float32), np.array([-1.0], np.float32),
         np.array([[1.0], [-1.0]], np.float32), np.zeros(2, np.float32)]
    X = np.array([[1.0, 1.0]], dtype=np.float32)
    rec16, _, _ = kinks.measure_step(P, X, np.array([0]), "float16", audit=True)
    rec32, _, _ = kinks.measure_step(P, X, np.array([0]), "float32", audit=True)
    # float16 accumulates the product in float32 (exact) but rounds the result before adding the bias
    assert rec16["float_zero"] and rec16["differs"] and rec16["rounding_kink"] and not rec16["exact_kink"]
    assert not rec32["float_zero"] and not rec32["differs"] and not rec32["exact_kink"]
    assert not rec16["audit_mismatch"] and not rec32["audit_mismatch"]


def test_exact_kink_seen_in_float_changes_the_gradient():
    P = [np.array([[1.0, -1.0]], np.float32), np.array([0.0], np.float32),
         np.array([[1.0], [-1.0]], np.float32), np.zeros(2, np.float32)]
    X = np.array([[0.5, 0.5]], dtype=np.float32)
    for d in kinks.DTYPES:
        rec, _, _ = kinks.measure_step(P, X, np.array([0]), d, audit=True)
        assert rec["differs"] and rec["float_zero"] and rec["exact_kink"] and rec["differs_exact"]
        assert not rec["rounding_kink"] and not rec["missed_kink"] and not rec["audit_mismatch"]


def test_gradient_difference_detection_and_dead_kink():
    # kink in a unit whose outgoing weights are 0: float zero, exact kink, but the gradient is the same
    P = [np.array([[1.0, -1.0]]), np.array([0.0]), np.array([[0.0], [0.0]]), np.zeros(2)]
    X = np.array([[0.25, 0.25]])
    _, zs, g = kinks.loss_and_grads(P, X, np.array([1]))
    assert zs[0][0, 0] == 0 and not kinks.grads_differ(g[0], g[1])
    rec, _, _ = kinks.measure_step([p.astype(np.float32) for p in P], X.astype(np.float32), np.array([1]),
                                   "float64")
    assert rec["float_zero_no_differs"] and not rec["differs"]
    assert kinks.grads_differ([np.zeros(3)], [np.array([0.0, 0.0, 1e-300])])
    assert not kinks.grads_differ([np.array([0.0])], [np.array([-0.0])])  # equal as floats


def test_gradients_match_finite_differences_away_from_kinks():
    Xtr, ytr, _, _ = kinks.load_data()
    P = [p.astype(np.float64) for p in kinks.init_params([64, 8, 6, 10], seed=3)]
    X, y = Xtr[:5].astype(np.float64), ytr[:5]
    loss, _, g = kinks.loss_and_grads(P, X, y)
    rng = np.random.default_rng(0)
    for k in range(len(P)):
        i = tuple(rng.integers(0, s) for s in P[k].shape)
        h = 1e-6
        Pp = [p.copy() for p in P]
        Pp[k][i] += h
        Pm = [p.copy() for p in P]
        Pm[k][i] -= h
        fd = (kinks.loss_and_grads(Pp, X, y, slopes=())[0] - kinks.loss_and_grads(Pm, X, y, slopes=())[0]) / (2 * h)
        assert g[0][k][i] == pytest.approx(fd, rel=1e-4, abs=1e-7)


def test_screen_agrees_with_full_exact_on_random_floats():
    rng = np.random.default_rng(5)
    for dtype in kinks.DTYPES:
        P = [p.astype(dtype) for p in kinks.init_params([6, 5, 4, 3], seed=1)]
        # integer-valued inputs and weights rounded to a few bits make exact zeros frequent
        P = [np.round(p * 4) / 4 for p in P]
        X = rng.integers(0, 3, (40, 6)).astype(dtype)
        a = kinks.exact_zero_masks(P, X)
        b = kinks.exact_zero_masks(P, X, full=True)
        assert all(np.array_equal(u, v) for u, v in zip(a, b))
        assert sum(int(m.sum()) for m in b) > 0


def test_to_scaled_ints_is_exact():
    A = np.array([[1e-30, -3.5], [2.0 ** -149, 7.0]], dtype=np.float32)
    I, K = kinks.to_scaled_ints(A)
    for v, w in zip(A.ravel(), I.ravel()):
        assert Fraction(float(v)) == Fraction(int(w), 2 ** K)


@pytest.mark.parametrize("k,n,lo,hi", [(81, 263, 0.2553, 0.3662), (0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0),
                                       (5, 10, 0.2366, 0.7634)])
def test_wilson_known_values(k, n, lo, hi):
    a, b = kinks.wilson(k, n)
    assert a == pytest.approx(lo, abs=1e-4) and b == pytest.approx(hi, abs=1e-4)
    assert kinks.wilson(0, 0) == (0.0, 1.0)


def test_cli_json_db_and_plot(tmp_path, capsys):
    db = tmp_path / "r.db"
    code = main(["kinks", "--steps", "4", "--batch", "16", "--audit", "2", "--json", "--db", str(db),
                 "--plot", str(tmp_path / "k.png")])
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert [r["dtype"] for r in rows] == list(kinks.DTYPES)
    for r in rows:
        assert r["steps"] == 4 and r["batch"] == 16 and r["layers"] == "64-32-32-10"
        assert r["differs_no_float_zero"] == 0 and r["audited"] == 2 and r["audit_mismatches"] == 0
        assert 0 <= r["differs_lo"] <= r["differs"] / 4 <= r["differs_hi"] <= 1
        assert not any("file" in key for key in r)
    with sqlite3.connect(db) as conn:
        n = conn.execute("SELECT COUNT(*) FROM kinks_runs").fetchone()[0]
    assert n == 3
    assert (tmp_path / "k.png").stat().st_size > 0 and (tmp_path / "k.svg").stat().st_size > 0


def test_cli_table(capsys):
    code = main(["kinks", "--steps", "2", "--batch", "8", "--dtypes", "float32", "--no-db", "--audit", "0"])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("dtype") and lines[1].startswith("float32") and len(lines) == 2
    assert "test accuracy" in err
