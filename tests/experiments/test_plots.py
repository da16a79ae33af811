"""The data the plots draw: every point has an interval that contains it and a sample count, and
the figure shows both (read back from the matplotlib artists, never from pixels)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from nsad.experiments import cheapgrad, clarke_plot, kinks, matmul_bench, report
from nsad.experiments.plotting import Curve
from nsad.experiments.stats import median_ci, ratio_ci, wilson


@given(st.integers(0, 500), st.integers(1, 500))
def test_wilson_contains_the_proportion(k, n):
    k = min(k, n)
    lo, hi = wilson(k, n)
    assert 0 <= lo <= k / n <= hi <= 1


def test_wilson_against_the_formula():
    # Newcombe (1998), table I, method 3 (Wilson score without continuity correction)
    assert [round(v, 4) for v in wilson(81, 263)] == [0.2553, 0.3662]
    assert [round(v, 4) for v in wilson(15, 148)] == [0.0624, 0.1605]
    assert [round(v, 4) for v in wilson(0, 20)] == [0.0, 0.1611]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(1e-6, 10.0), min_size=1, max_size=30))
def test_median_interval_contains_the_median(xs):
    lo, mid, hi = median_ci(xs)
    assert lo <= mid <= hi and mid == pytest.approx(float(np.median(xs)))
    assert min(xs) <= lo and hi <= max(xs)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(1e-6, 10.0), st.floats(1e-6, 10.0)), min_size=1, max_size=20))
def test_ratio_interval_contains_the_ratio(pairs):
    a, b = zip(*pairs)
    lo, r, hi = ratio_ci(a, b)
    assert lo <= r <= hi and r == pytest.approx(float(np.median(a) / np.median(b)))


def test_median_interval_narrows_with_more_samples():
    rng = np.random.default_rng(1)
    small = median_ci(rng.lognormal(size=10))
    large = median_ci(rng.lognormal(size=1000))
    assert large[2] - large[0] < small[2] - small[0]


def _verify_rows(experiment, n, ratios, count, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for r in ratios:
        for i in range(count):
            sat = rng.random() < 1 / (1 + math.exp(3 * (r - 4.26)))
            rows.append({"experiment": experiment, "n": n, "ratio": r, "formula_answer": "sat" if sat else "unsat",
                         "network_answer": "two-subgradients" if sat else "singleton",
                         "network_seconds": float(rng.lognormal(-3)), "network_backend": "sat-grid",
                         "formula_seconds": float(rng.lognormal(-7)), "solver": "cadical195"})
    return rows


def _check_curve(c: Curve, expected_counts=None):
    assert len(c.x) == len(c.y) == len(c.lo) == len(c.hi) == len(c.count) > 0
    for y, lo, hi in zip(c.y, c.lo, c.hi):
        assert lo <= y <= hi
    if expected_counts is not None:
        assert list(c.count) == expected_counts
    assert str(min(c.count)) in c.legend()


def test_phase_curves_count_every_formula_and_hold_their_estimates():
    rows = _verify_rows("scale", 10, [3, 4, 4.26, 5, 6], 12) + _verify_rows("scale", 20, [3, 4, 5], 7, seed=1)
    rows[0] = {**rows[0], "network_answer": "unknown"}  # one network undecided: counted on its side only
    pairs = report.phase_curves(rows)
    assert [n for n, _, _ in pairs] == [10, 20]
    (n10, sat10, net10), (n20, sat20, _) = pairs
    _check_curve(sat10, [12] * 5)
    _check_curve(net10, [11] + [12] * 4)
    _check_curve(sat20, [7] * 3)
    for i, x in enumerate(sat10.x):
        k = sum(r["formula_answer"] == "sat" for r in rows if r["n"] == 10 and r["ratio"] == x)
        assert sat10.y[i] == k / 12 and (sat10.lo[i], sat10.hi[i]) == wilson(k, 12)


def test_time_curves_are_medians_with_intervals():
    rows = _verify_rows("verify", 10, [4.26], 9) + _verify_rows("verify", 20, [4.26], 5, seed=2)
    curves = report.time_curves(rows)
    assert [c.label for c in curves] == ["formula: cadical195", "network: sat-grid"]
    for c in curves:
        _check_curve(c, [9, 5])
    net = curves[1]
    assert net.y[0] == pytest.approx(np.median([r["network_seconds"] for r in rows if r["n"] == 10]))


def test_report_draws_one_figure_per_experiment(tmp_path):
    from nsad.experiments.store import ResultStore, VERIFY_COLUMNS

    rows = _verify_rows("verify", 10, [3.5, 4.26, 5], 5) + _verify_rows("scale", 10, [3, 4.25, 5.5], 5, seed=3)
    db = tmp_path / "r.db"
    with ResultStore(db) as store:
        store.create_table("verify", VERIFY_COLUMNS)
        for i, r in enumerate(rows):
            store.put("verify", {"key": f"k{i}", "agree": 1, **r})
    out = report.build_report(str(db), str(tmp_path / "rep"))
    names = sorted(p.split("/")[-1] for p in out["files"])
    assert "phase_transition-verify.png" in names and "phase_transition-scale.png" in names
    assert "time_vs_n-verify.png" not in names  # one n: no curve over n
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "## Phase transition (verify rows)" in md and "## Phase transition (scale rows)" in md
    assert "| 10 | 4.26 | 5 |" in md and "| 10 | 4.25 | 5 |" in md


def _errorbar_data(ax):
    """(label, x, y, lower error, upper error) of each errorbar container of ``ax``."""
    out = []
    for cont in ax.containers:
        line, _caps, bars = cont.lines
        if line is None or not bars:
            continue
        segs = bars[0].get_segments()
        out.append((cont.get_label(), list(line.get_xdata()), list(line.get_ydata()),
                    [s[0][1] for s in segs], [s[1][1] for s in segs]))
    return out


def _matmul_rows():
    return list(matmul_bench.run_grid([8, 12], [1, 2], ["float64"], repeats=3, use_torch=False, min_sample=0,
                                      matmul_runs=3))


def test_matmul_rows_carry_intervals_that_contain_their_ratios():
    for r in _matmul_rows():
        for key in ("ratio_zero", "ratio_random", "ratio_matmul"):
            assert r[f"{key}_lo"] <= r[key] <= r[f"{key}_hi"], key
        assert r["matmul_runs"] == 3 and r["repeats"] == 3


def test_matmul_figure_shows_intervals_counts_and_goals():
    import matplotlib.pyplot as plt

    rows = _matmul_rows()
    fig = matmul_bench.figure(rows)
    try:
        dd, mm = fig.axes[0], fig.axes[1]
        bars = _errorbar_data(dd)
        assert len(bars) == 4  # 2 widths x (x = 0, random x)
        for label, xs, ys, lows, highs in bars:
            assert "3 rounds each" in label
            assert all(lo <= y <= hi for y, lo, hi in zip(ys, lows, highs))
        assert all("3 runs each" in b[0] for b in _errorbar_data(mm))
        labels = [t.get_text() for t in dd.get_legend().get_texts()]
        assert any(t.startswith("goal 1.05") for t in labels)
        assert "time ratio" in dd.get_ylabel() and "(count)" in dd.get_xlabel()
        assert "depth 4" in fig._suptitle.get_text()
    finally:
        plt.close(fig)


def test_cheapgrad_figure_shows_measured_ratios_with_intervals():
    import matplotlib.pyplot as plt

    rows = list(cheapgrad.run_grid([5, 10], ["sparse"], repeats=3, min_sample=0))
    for r in rows:
        assert r["time_ratio_backward_lo"] <= r["time_ratio_backward"] <= r["time_ratio_backward_hi"]
    fig = cheapgrad.figure(rows)
    try:
        bars = _errorbar_data(fig.axes[0])
        assert {b[0] for b in bars} >= {"backward: time (3 rounds each)"}
        for _, xs, ys, lows, highs in bars:
            assert xs == [5, 10] and all(lo <= y <= hi for y, lo, hi in zip(ys, lows, highs))
        ops = [ln for ln in fig.axes[0].get_lines() if ln.get_label() == "backward: ops (exact)"]
        assert list(ops[0].get_ydata()) == [2.0, 2.0]
    finally:
        plt.close(fig)


def test_clarke_panels_of_a_three_input_network():
    from nsad.networks import ReluNetwork

    # |x1| + |x2| + |x3|: dF(0) is the cube [-1, 1]^3; its projections are squares
    M1 = np.vstack([np.eye(3, dtype=int), -np.eye(3, dtype=int)])
    rep = clarke_plot.analyse(ReluNetwork([M1, np.ones((1, 6), dtype=int)]), max_points=64)
    panels = clarke_plot.panels(rep)
    assert [p["axes"] for p in panels] == [(0, 1), (0, 2), (1, 2)]
    for p in panels:
        assert sorted(p["hull"]) == [(-1.0, -1.0), (-1.0, 1.0), (1.0, -1.0), (1.0, 1.0)]
        assert p["backprop"][0] == (0.0, 0.0)


def test_kinks_bars_hold_their_wilson_intervals():
    rows = kinks.run(steps=3, batch=8, audit=0)["rows"]
    for b in kinks.bars(rows):
        assert b["steps"] == [3] * len(rows)
        for y, lo, hi in zip(b["y"], b["lo"], b["hi"]):
            assert lo <= y <= hi


def test_bench_deciders_curves_count_each_formula_once(tmp_path):
    from nsad.experiments import bench_deciders

    records = bench_deciders.prepare_instances(str(tmp_path), sizes=[6, 9], count=3, disguise_kinds=["row-scale"])
    rows = bench_deciders.bench_deciders(records, variants=("plain", "disguised"))
    curves = {c.label: c for c in bench_deciders.time_curves(rows)}
    assert sorted(curves) == ["formula: cadical195", "network: sat-grid", "network: sat-grid (disguised)"]
    for c in curves.values():
        _check_curve(c, [3, 3])
        assert list(c.x) == [6, 9]
    paths = bench_deciders.plot(rows, str(tmp_path / "bd"), ratio=4.26)
    assert [p.rsplit("/", 1)[1] for p in paths] == ["bd.png", "bd.svg"]


def test_clarke_marks_a_checked_certificate_and_refuses_a_wrong_one(tmp_path, capsys):
    import json

    from nsad.experiments.cli import main

    cnf = tmp_path / "three.cnf"
    cnf.write_text("p cnf 3 3\n1 2 3 0\n-1 -2 3 0\n1 -2 -3 0\n")
    assert main(["reduce", str(cnf), "--out", str(tmp_path / "t.npz")]) == 0
    assert main(["decide", str(tmp_path / "t.npz"), "--json"]) == 0
    verdict = json.loads(capsys.readouterr().out.splitlines()[-1])
    (tmp_path / "v.json").write_text(json.dumps(verdict))
    assert main(["clarke", str(tmp_path / "t.npz"), "--certificate", str(tmp_path / "v.json"),
                 "--plot", str(tmp_path / "c.png")]) == 0
    assert (tmp_path / "c.png").stat().st_size > 0
    from nsad.networks import ReluNetwork

    rep = clarke_plot.analyse(ReluNetwork.load(tmp_path / "t.npz"), max_points=64)
    grads = [tuple(g) for g in verdict["certificate"]["gradients"]]
    panels = clarke_plot.panels(rep, grads)
    assert panels[0]["certificate"] == [(float(g[0]), float(g[1])) for g in grads]
    verdict["certificate"]["gradients"][0] = [9, 9, 9]
    (tmp_path / "bad.json").write_text(json.dumps(verdict))
    capsys.readouterr()
    assert main(["clarke", str(tmp_path / "t.npz"), "--certificate", str(tmp_path / "bad.json")]) == 1
    assert "does not check" in capsys.readouterr().err
