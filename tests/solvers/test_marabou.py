"""The Marabou peer: the hard-kill child, the decision logic (mocked), and real runs when installed."""

from __future__ import annotations

import os
import time
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nsad.instances import Cnf
from nsad.networks import ReluNetwork, check
from nsad.reductions.sat_to_relu import reduce
from nsad.solvers.network import marabou
from nsad.solvers.network.marabou import MarabouRun, decide_marabou, run_child, shifted_network
from nsad.solvers.registry import SolverError

pytest.importorskip("onnx")
needs_marabou = pytest.mark.skipif(not marabou.available(), reason="maraboupy is not installed (extra 'marabou')")

_STUBBORN = r"""
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)          # like Marabou: SIGTERM does nothing
kid = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"])
open(sys.argv[1], "w").write(f"{os.getpid()} {kid.pid}")
time.sleep(60)
"""


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as fh:  # a zombie waiting to be reaped is gone too
        return fh.read().split(")")[-1].split()[0] == "Z"


def test_child_ignoring_sigterm_is_killed_with_its_children(tmp_path):
    pids = tmp_path / "pids"
    res = run_child(_STUBBORN, [pids], 1.5)
    assert res.status == "timeout" and res.exit_code == -9
    parent, kid = map(int, pids.read_text().split())
    for _ in range(100):  # the orphaned grandchild is reaped by init shortly after the kill
        if _gone(parent) and _gone(kid):
            break
        time.sleep(0.05)
    assert _gone(parent) and _gone(kid)


def test_child_crash_and_success():
    crash = run_child("raise RuntimeError('marabou exploded')", [], 30)
    assert crash.status == "crashed" and "marabou exploded" in crash.stderr_tail
    ok = run_child("import sys; sys.exit(0)", [], 30)
    assert ok.status == "ok" and ok.exit_code == 0


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 3).flatmap(lambda n: st.tuples(
    st.lists(st.lists(st.integers(-2, 2), min_size=n, max_size=n), min_size=1, max_size=3),
    st.lists(st.integers(-2, 2), min_size=1, max_size=3),
    st.lists(st.integers(-3, 3), min_size=n, max_size=n),
    st.lists(st.integers(-4, 4), min_size=n, max_size=n))))
def test_shifted_network_is_exactly_F_minus_a_dot_x(parts):
    M1, row, a, x = parts
    w = len(M1)
    net = ReluNetwork([np.array(M1), np.array([row + [0] * (w - len(row))][:1])[:, :w]])
    G = shifted_network(net, a)
    dot = sum(ai * xi for ai, xi in zip(a, x))
    assert G.evaluate_exact(x) == net.evaluate_exact(x) - dot
    deep = ReluNetwork([np.array(M1), np.eye(w, dtype=int), np.ones((1, w), dtype=int)])
    assert shifted_network(deep, a).evaluate_exact(x) == deep.evaluate_exact(x) - dot


def test_axis_violation_needs_no_marabou(monkeypatch):
    monkeypatch.setattr(marabou, "available", lambda: False)
    v = decide_marabou(reduce(Cnf(2, [(1, 2)])))
    assert v.answer == "two-subgradients" and v.complete and check(reduce(Cnf(2, [(1, 2)])), v.certificate)


def test_missing_maraboupy_names_the_extra(monkeypatch):
    monkeypatch.setattr(marabou, "available", lambda: False)
    with pytest.raises(SolverError, match=r"pip install nsad\[marabou\]"):
        decide_marabou(reduce(Cnf(1, [(1,), (-1,)])))


@pytest.mark.parametrize("bad", [dict(threshold=0), dict(threshold="x"), dict(time_limit=0)])
def test_bad_options(bad):
    with pytest.raises(SolverError):
        decide_marabou(reduce(Cnf(1, [(1,), (-1,)])), **bad)


def _fake(monkeypatch, *runs):
    calls = []
    seq = list(runs)

    def fake_run(onnx_path, **kw):
        calls.append(kw)
        return seq.pop(0)

    monkeypatch.setattr(marabou, "available", lambda: True)
    monkeypatch.setattr(marabou, "run_marabou", fake_run)
    return calls


def test_sat_with_a_good_witness_is_certified(monkeypatch):
    net = reduce(Cnf(2, [(1, 2), (-1,)]))
    calls = _fake(monkeypatch, MarabouRun("sat", 0.1, (-0.5, 0.5), (0.5,)))
    v = decide_marabou(net, time_limit=10)
    assert v.answer == "two-subgradients" and v.complete and check(net, v.certificate)
    assert calls[0]["output_lower"] == 0.5 and calls[0]["lower"] == [-1.0, -1.0] and calls[0]["output_upper"] is None


def test_sat_with_a_wrong_witness_is_reported_unverified(monkeypatch):
    net = reduce(Cnf(2, [(1, 2), (-1,), (-2,)]))  # unsatisfiable: no witness can be right
    _fake(monkeypatch, MarabouRun("sat", 0.1, (0.5, 0.5), (0.7,)))
    v = decide_marabou(net)
    assert v.answer == "two-subgradients" and not v.complete and v.certificate is None
    assert "unverified" in v.reason


def test_unsat_and_unknown(monkeypatch):
    net = reduce(Cnf(1, [(1,), (-1,)]))
    _fake(monkeypatch, MarabouRun("unsat", 0.1))
    v = decide_marabou(net)
    assert v.answer == "singleton" and v.element == (0,) and not v.complete and v.argument == "numerical"
    assert v.reason.startswith("Marabou (floating point) says F < t on the box")
    _fake(monkeypatch, MarabouRun("unknown", 5.0, reason="Marabou gave no answer within 5 s"))
    v = decide_marabou(net, time_limit=5)
    assert v.answer == "unknown" and not v.complete and "no answer" in v.reason


def test_networks_not_evidently_nonnegative_ask_both_sides(monkeypatch):
    net = ReluNetwork([[[1], [-1]], [[1, -1]]])  # F(x) = x: a = (1,), G = F - x = 0
    calls = _fake(monkeypatch, MarabouRun("unsat", 0.1), MarabouRun("unsat", 0.1))
    v = decide_marabou(net)
    assert v.answer == "singleton" and v.element == (1,) and len(calls) == 2
    assert calls[1]["output_upper"] == -0.5 and calls[1]["output_lower"] is None


def test_declared_in_the_decider_table():
    from nsad.solvers.network.table import DECIDERS

    spec = DECIDERS.get("marabou")
    assert spec.decide is decide_marabou and spec.peer and spec.singleton == "numerical"


# ------------------------------------------------------------------------------ real Marabou runs
def _pysat(cnf) -> str:
    from pysat.solvers import Solver

    with Solver(name="g4", bootstrap_with=[list(c) for c in cnf.clauses]) as s:
        return "sat" if s.solve() else "unsat"


TINY = [
    Cnf(1, [(1,), (-1,)]),
    Cnf(2, [(1, 2), (-1,)]),
    Cnf(2, [(1, 2), (-1, 2), (1, -2), (-1, -2)]),
    Cnf(3, [(1, 2, 3), (-1, -2), (-3, 2), (-2, 1)]),
]


@needs_marabou
@pytest.mark.parametrize("cnf", TINY, ids=lambda c: f"n{c.num_vars}m{c.num_clauses}")
def test_marabou_agrees_with_pysat_on_tiny_reductions(cnf):
    net = reduce(cnf)
    v = decide_marabou(net, time_limit=30)  # hard kill at 30 s
    truth = _pysat(cnf)
    assert v.answer != ("singleton" if truth == "sat" else "two-subgradients")
    assert v.answer == ("two-subgradients" if truth == "sat" else "singleton"), v.reason
    if truth == "sat":
        assert v.complete and check(net, v.certificate)


@needs_marabou
def test_marabou_reads_our_vnnlib(tmp_path):
    from nsad.networks.onnx_io import save_onnx
    from nsad.reductions.vnnlib import is_witness, reduction_property, write_vnnlib

    net = reduce(Cnf(2, [(1, 2), (-1,)]))
    save_onnx(net, tmp_path / "n.onnx")
    prop = reduction_property(net)
    write_vnnlib(tmp_path / "p.vnnlib", prop)
    run = marabou.run_marabou(tmp_path / "n.onnx", vnnlib_path=tmp_path / "p.vnnlib", time_limit=30,
                              options=marabou.default_options(2))
    assert run.answer == "sat", run.reason
    assert is_witness(prop, net, [Fraction(v).limit_denominator(1000) for v in run.inputs])


@needs_marabou
def test_marabou_on_a_network_that_is_not_a_reduction():
    # docs/theory.md section 3.4: relu(min(2 x2 - x1, x1 - x2)) passes the axis test and peaks at 1/4 on the box
    net = ReluNetwork([[[-1, 2], [1, -2], [-2, 3]], [[1, -1, -1]], [[1]]])
    v = decide_marabou(net, time_limit=30, threshold=Fraction(1, 8))
    assert v.answer == "two-subgradients" and v.complete and check(net, v.certificate)


def test_plugs_into_decide_network(monkeypatch):
    from nsad.solvers.network import table as network

    assert "marabou" in network.NETWORK_DECIDERS  # registered by solvers.network.table itself
    calls = _fake(monkeypatch, MarabouRun("unsat", 0.1))
    v = network.decide_network(reduce(Cnf(1, [(1,), (-1,)])), "marabou", time_limit=5, threshold="1/4")
    assert v.answer == "singleton" and v.backend == "marabou" and calls[0]["output_lower"] == 0.25
