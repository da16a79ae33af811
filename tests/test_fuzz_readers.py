"""Property tests of every reader (hypothesis): any input gives a result or a documented error.

The generators are those of the campaign script (``nsad.experiments.fuzz``: structured cases of
each format and byte-level mutations of valid seeds), driven by hypothesis's seeds, plus raw bytes.
"Documented" means: one of the reader's error types (its own ``NsadError`` subclass or
``LimitError``), a one-line message starting with the file's name. The long campaign is
``python -m nsad.experiments.fuzz --cases 100000``; here a smoke run checks it and its CLI sampling.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nsad.experiments import fuzz

READERS = sorted(fuzz.READERS)
_SEEDS: dict[str, list[bytes]] = {}


def _seeds(name: str) -> list[bytes]:
    if name not in _SEEDS:
        _SEEDS[name] = fuzz.READERS[name].seeds()
    return _SEEDS[name]


def _check(name: str, data: bytes, folder) -> None:
    reader = fuzz.READERS[name]
    path = folder / fuzz._file_name(reader)
    path.write_bytes(data)
    outcome, detail = fuzz.classify(reader, str(path))
    assert outcome in ("success", "clean"), f"{name}: {detail} on {data[:200]!r}"


@pytest.mark.parametrize("name", READERS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_generated_cases_give_results_or_documented_errors(name, seed, tmp_path_factory):
    if name == "onnx":
        pytest.importorskip("onnx")
    folder = tmp_path_factory.mktemp(name, numbered=True)
    reader = fuzz.READERS[name]
    _check(name, fuzz.make_case(reader, random.Random(seed), _seeds(name)), folder)


@pytest.mark.parametrize("name", READERS)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=st.binary(max_size=400))
def test_raw_bytes_give_results_or_documented_errors(name, data, tmp_path_factory):
    if name == "onnx":
        pytest.importorskip("onnx")
    _check(name, data, tmp_path_factory.mktemp(name, numbered=True))


def test_campaign_smoke_with_cli_samples():
    rows = fuzz.campaign(cases=40, readers=["dimacs", "npz"], cli_samples=2, progress=False)
    assert [r["reader"] for r in rows] == ["dimacs", "cli:dimacs", "npz", "cli:npz"]
    assert all(r["other"] == 0 for r in rows), [r["examples"] for r in rows]
    assert rows[0]["clean"] + rows[0]["success"] == 40 and rows[1]["cases"] == 2
    assert "| dimacs" in fuzz.format_table(rows)
