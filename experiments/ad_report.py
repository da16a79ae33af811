"""The AD experiments' part of ``nsad report``: plots of the ``matmul_runs`` / ``cheapgrad_runs`` rows.

Each plot shows the most recent run of its experiment in the store (rows share a ``run_id``).
"""

from __future__ import annotations

import os

from nsad.experiments.store import read_rows


def _last_run(rows: list[dict]) -> list[dict]:
    if not rows:
        return []
    last = rows[-1].get("run_id")
    return [r for r in rows if r.get("run_id") == last]


def ad_plots(db: str, out_dir: str) -> tuple[list[str], list[str]]:
    """Write the matrix-multiplication and cheap-gradient plots; return (paths, markdown lines)."""
    from nsad.experiments import cheapgrad, matmul_bench

    paths: list[str] = []
    md: list[str] = []
    mm = _last_run(read_rows(db, "matmul_runs"))
    if mm:
        paths += matmul_bench.plot(mm, os.path.join(out_dir, "matmul_ratios"))
        md += ["\n## Directional derivatives vs matrix products\n",
               f"{len(mm)} configurations from run `{mm[-1].get('run_id')}`.\n",
               "![matmul ratios](matmul_ratios.png)\n"]
    cg = _last_run(read_rows(db, "cheapgrad_runs"))
    if cg:
        paths += cheapgrad.plot(cg, os.path.join(out_dir, "cheapgrad"))
        flat = cheapgrad.flatness(cg)
        md += ["\n## The cheap gradient principle\n",
               f"{len(cg)} rows from run `{cg[-1].get('run_id')}`; backward/evaluation time ratio max/min over n: "
               + (f"{flat:.2f}" if flat is not None else "n/a") + "\n",
               "![cheap gradient](cheapgrad.png)\n"]
    return paths, md
