"""`nsad scale`, `nsad report` and `nsad results export` read and write the same store."""

from __future__ import annotations

import csv
import io
import json

from nsad.experiments.cli import main
from nsad.experiments.scale import growth_rate


def test_scale_then_report_and_export(tmp_path, capsys):
    db = tmp_path / "s.db"
    assert main(["scale", "--n", "4", "6", "--ratios", "3", "4.26", "5.5", "--count", "3", "--db", str(db),
                 "--workers", "1"]) == 0
    capsys.readouterr()
    out = tmp_path / "rep"
    assert main(["report", "--db", str(db), "--out", str(out)]) == 0
    for name in ("phase_transition.png", "phase_transition.svg", "time_vs_n.png", "time_vs_n.svg", "report.md"):
        assert (out / name).stat().st_size > 0, name
    md = (out / "report.md").read_text()
    assert "| 18 | 18 | 0 | 0 | 0 |" in md  # rows, agree, disagree, unknown, errors
    capsys.readouterr()
    assert main(["results", "export", "--db", str(db), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 18 and {r["experiment"] for r in rows} == {"scale"}
    assert main(["results", "export", "--db", str(db), "--format", "jsonl"]) == 0
    objs = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    assert sorted(o["key"] for o in objs) == sorted(r["key"] for r in rows)
    code = main(["results", "export", "--db", str(db), "--table", "nope"])
    assert code == 2 and "no table 'nope'" in capsys.readouterr().err


def test_growth_rate_fit():
    assert abs(growth_rate([1, 2, 3], [2.0, 4.0, 8.0]) - 2.0) < 1e-12
    assert growth_rate([5], [1.0]) is None
