"""``nsad report``: plots (PNG and SVG) and a Markdown summary, from the results store alone.

What it draws, when the rows are there:

* ``phase_transition``: fraction of formulas found satisfiable (formula side, solid) and fraction of
  networks found to have two Clarke subgradients (network side, markers) against the clause ratio,
  one colour per n. The two must coincide.
* ``time_vs_n``: median wall-clock time per network method and for the SAT solver against n
  (log scale), with the interquartile range as error bars, and the fitted growth factor per variable.
* the plots of the AD experiments (``matmul_runs``, ``cheapgrad_runs`` tables) through
  ``experiments.ad_report`` when those tables are present.

The Markdown file lists agreement counts, certificate counts and the time tables.
"""

from __future__ import annotations

import os
import statistics
from collections import defaultdict

from nsad.experiments.scale import growth_rate
from nsad.experiments.store import ResultStore


def _quartiles(vals):
    vals = sorted(vals)
    if len(vals) == 1:
        return vals[0], vals[0], vals[0]
    q = statistics.quantiles(vals, n=4, method="inclusive")
    return q[0], statistics.median(vals), q[2]


def _save(fig, out_dir: str, name: str) -> list[str]:
    paths = []
    for ext in ("png", "svg"):
        p = os.path.join(out_dir, f"{name}.{ext}")
        fig.savefig(p, dpi=120, bbox_inches="tight")
        paths.append(p)
    return paths


def build_report(db: str, out_dir: str) -> dict:
    """Write plots and ``report.md`` into ``out_dir``; return what was written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with ResultStore(db, readonly=True) as store:  # a missing or foreign database fails before out_dir exists
        tables = store.tables()
        rows = list(store.rows("verify")) if "verify" in tables else []
    os.makedirs(out_dir, exist_ok=True)
    written: list[str] = []
    md = ["# nsad report\n", f"Database: `{db}`; {len(rows)} verification rows.\n"]

    # ---- agreement --------------------------------------------------------------------------------
    if rows:
        agree = sum(r["agree"] == 1 for r in rows)
        disagree = sum(r["agree"] == 0 for r in rows)
        unknown = sum(r["agree"] is None and not r["error"] for r in rows)
        errors = sum(bool(r["error"]) for r in rows)
        certs = defaultdict(int)
        for r in rows:
            certs[r["certificate"] or "none"] += 1
        md += ["## Agreement\n", "| rows | agree | disagree | unknown | errors |", "|---|---|---|---|---|",
               f"| {len(rows)} | {agree} | {disagree} | {unknown} | {errors} |\n",
               "Certificates: " + ", ".join(f"{k} {v}" for k, v in sorted(certs.items())) + "\n"]

    # ---- phase transition -------------------------------------------------------------------------
    by_n_ratio = defaultdict(list)
    # one experiment per curve: scale's grid when the store has one, else verify's (never mixed: their
    # ratio grids differ, 4.25 vs 4.26), and never the user's own files (family "file")
    generated = [r for r in rows if r.get("family") != "file"]
    phase_experiment = "scale" if any(r.get("experiment") == "scale" for r in generated) else "verify"
    for r in generated:
        if r.get("experiment", "verify") != phase_experiment:
            continue
        if r["ratio"] is not None and r["formula_answer"] in ("sat", "unsat"):
            by_n_ratio[(r["n"], r["ratio"])].append(r)
    ratios_per_n = defaultdict(set)
    for n, ratio in by_n_ratio:
        ratios_per_n[n].add(ratio)
    phase_ns = sorted(n for n, rs in ratios_per_n.items() if len(rs) >= 3)
    if phase_ns:
        fig, ax = plt.subplots(figsize=(6.5, 4))
        md += ["## Phase transition\n", f"Rows of the {phase_experiment!r} experiment only.\n", "| n | ratio | formulas | SAT fraction | two-subgradient fraction |",
               "|---|---|---|---|---|"]
        for c, n in enumerate(phase_ns):
            xs = sorted(ratios_per_n[n])
            sat, net = [], []
            for x in xs:
                rs = by_n_ratio[(n, x)]
                known = [r for r in rs if r["network_answer"] in ("two-subgradients", "singleton")]
                sat.append(sum(r["formula_answer"] == "sat" for r in rs) / len(rs))
                net.append(sum(r["network_answer"] == "two-subgradients" for r in known) / len(known)
                           if known else float("nan"))
                md.append(f"| {n} | {x:g} | {len(rs)} | {sat[-1]:.2f} | {net[-1]:.2f} |")
            col = f"C{c}"
            ax.plot(xs, sat, "-", color=col, label=f"n={n}: formula SAT")
            ax.plot(xs, net, "o", color=col, mfc="none", label=f"n={n}: network two subgradients")
        ax.axvline(4.26, color="gray", lw=0.8, ls=":")
        ax.set_xlabel("clauses / variables")
        ax.set_ylabel("fraction")
        ax.set_title(f"Phase transition ({phase_experiment} rows): formula side vs network side")
        ax.legend(fontsize=7)
        written += _save(fig, out_dir, "phase_transition")
        plt.close(fig)
        md.append("\n![phase transition](phase_transition.png)\n")

    # ---- time vs n --------------------------------------------------------------------------------
    series = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r["network_seconds"] is not None and r["network_answer"] != "unknown":
            series[f"network: {r['network_backend']}"][r["n"]].append(r["network_seconds"])
        if r["formula_seconds"] is not None and r["formula_answer"] != "unknown":
            series[f"formula: {r['solver']}"][r["n"]].append(r["formula_seconds"])
    if series and any(len(v) >= 2 for v in series.values()):
        fig, ax = plt.subplots(figsize=(6.5, 4))
        md += ["\n## Time versus n\n", "| series | n | tasks | q1 | median | q3 |", "|---|---|---|---|---|---|"]
        rates = []
        for c, (name, by_n) in enumerate(sorted(series.items())):
            ns = sorted(by_n)
            qs = [_quartiles(by_n[n]) for n in ns]
            med = [q[1] for q in qs]
            ax.errorbar(ns, med, yerr=[[m - q[0] for m, q in zip(med, qs)], [q[2] - m for m, q in zip(med, qs)]],
                        fmt="o-", capsize=3, color=f"C{c}", label=name)
            for n, q in zip(ns, qs):
                md.append(f"| {name} | {n} | {len(by_n[n])} | {q[0]:.2e} | {q[1]:.2e} | {q[2]:.2e} |")
            g = growth_rate(ns, med)
            if g is not None:
                rates.append(f"- {name}: median time grows by a factor {g:.3f} per extra variable "
                             f"(x{g ** 10:.2f} per 10 variables)")
        ax.set_yscale("log")
        ax.set_xlabel("n (variables)")
        ax.set_ylabel("seconds (median, IQR)")
        ax.set_title("Time versus n")
        ax.legend(fontsize=7)
        written += _save(fig, out_dir, "time_vs_n")
        plt.close(fig)
        md += ["\nFitted growth (least squares on log median time):\n"] + rates + ["\n![time vs n](time_vs_n.png)\n"]

    # ---- AD experiments ---------------------------------------------------------------------------
    if {"matmul_runs", "cheapgrad_runs"} & set(tables):
        try:
            from nsad.experiments.ad_report import ad_plots
        except ImportError:
            ad_plots = None
        if ad_plots is not None:
            paths, lines = ad_plots(db, out_dir)
            written += paths
            md += lines

    md_path = os.path.join(out_dir, "report.md")
    with open(md_path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(md) + "\n")
    written.append(md_path)
    return {"files": written, "rows": len(rows), "tables": tables}
