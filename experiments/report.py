"""``nsad report``: plots (PNG and SVG) and a Markdown summary, from the results store alone.

What it draws, when the rows are there:

* ``phase_transition``: fraction of formulas found satisfiable (formula side, solid) and fraction of
  networks found to have two Clarke subgradients (network side, open markers, dashed) against the
  clause ratio, one colour per n, each point with its 95 % Wilson interval and the number of
  formulas (networks) in the legend; the threshold ratio ~4.26 is a labelled line. The two sides
  must coincide.
* ``time_vs_n``: median wall-clock seconds per instance per network decider and for the SAT solver
  against n (log scale), with a 95 % bootstrap interval of the median and the number of instances,
  and the fitted growth factor per variable.
* One figure per experiment: rows of ``nsad verify`` and of ``nsad scale`` are never mixed. When the
  database holds both, the files are ``phase_transition-verify.png``, ``phase_transition-scale.png``
  (and likewise ``time_vs_n-*``); with one experiment, ``phase_transition.png`` and ``time_vs_n.png``.
* the plots of the AD experiments (``matmul_runs``, ``cheapgrad_runs`` tables) through
  ``experiments.ad_report`` when those tables are present.

The Markdown file lists agreement counts, certificate counts and the time tables.
"""

from __future__ import annotations

import os
from collections import defaultdict

from nsad.experiments.plotting import Curve, draw, legend, new_figure, save_figure, threshold_line
from nsad.experiments.scale import growth_rate
from nsad.experiments.stats import median_ci, wilson
from nsad.experiments.store import ResultStore


def _one(rows, col: str) -> str:
    vals = sorted({str(r[col]) for r in rows if r.get(col)})
    return ", ".join(vals) if vals else "-"


def phase_curves(rows: list[dict]) -> list[tuple[int, Curve, Curve]]:
    """The phase-transition data of one experiment's rows: for every n with at least 3 ratios,
    ``(n, formula curve, network curve)``: the SAT fraction (over the formulas the solver decided)
    and the two-subgradient fraction (over the networks decided), each point with its 95 % Wilson
    interval and the number of formulas (networks) behind it.

    >>> rows = [{"n": 5, "ratio": r, "formula_answer": a, "network_answer": b}
    ...         for r in (3, 4, 5) for a, b in (("sat", "two-subgradients"), ("unsat", "singleton"))]
    >>> [(n, f.legend(), list(f.y), list(g.count)) for n, f, g in phase_curves(rows)]
    [(5, 'n = 5, formula side: SAT (2 formulas each)', [0.5, 0.5, 0.5], [2, 2, 2])]
    """
    by_n_ratio = defaultdict(list)
    for r in rows:
        if r["ratio"] is not None and r["formula_answer"] in ("sat", "unsat"):
            by_n_ratio[(r["n"], r["ratio"])].append(r)
    ratios_per_n = defaultdict(set)
    for n, ratio in by_n_ratio:
        ratios_per_n[n].add(ratio)

    def point(acc, x, k, m):
        lo, hi = wilson(k, m)
        for lst, v in zip(acc, (x, k / m, lo, hi, m)):
            lst.append(v)

    out = []
    for c, n in enumerate(sorted(n for n, rs in ratios_per_n.items() if len(rs) >= 3)):
        sat, net = ([], [], [], [], []), ([], [], [], [], [])
        for x in sorted(ratios_per_n[n]):
            rs = by_n_ratio[(n, x)]
            point(sat, x, sum(r["formula_answer"] == "sat" for r in rs), len(rs))
            known = [r for r in rs if r["network_answer"] in ("two-subgradients", "singleton")]
            if known:
                point(net, x, sum(r["network_answer"] == "two-subgradients" for r in known), len(known))
        col = f"C{c}"
        out.append((n, Curve(f"n = {n}, formula side: SAT", *sat, style="o-", color=col, unit="formulas"),
                    Curve(f"n = {n}, network side: two subgradients", *net, style="s--", color=col, filled=False,
                          unit="networks")))
    return out


def time_curves(rows: list[dict]) -> list[Curve]:
    """Time versus n of one experiment's rows: per network decider and per SAT solver, the median
    wall-clock seconds per instance at each n (answers other than unknown), its 95 % bootstrap
    interval and the number of instances; a series needs at least two values of n.

    >>> rows = [{"n": n, "network_seconds": 0.01 * n, "network_answer": "singleton", "network_backend": "sat-grid",
    ...          "formula_seconds": None, "formula_answer": "unknown", "solver": "cadical195"} for n in (5, 5, 9)]
    >>> [(c.label, list(c.x), list(c.count)) for c in time_curves(rows)]
    [('network: sat-grid', [5, 9], [2, 1])]
    """
    series = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r["network_seconds"] is not None and r["network_answer"] not in (None, "unknown"):
            series[f"network: {r['network_backend']}"][r["n"]].append(r["network_seconds"])
        if r["formula_seconds"] is not None and r["formula_answer"] not in (None, "unknown"):
            series[f"formula: {r['solver']}"][r["n"]].append(r["formula_seconds"])
    out = []
    for c, (name, by_n) in enumerate(sorted(series.items())):
        ns = sorted(by_n)
        if len(ns) < 2:
            continue
        qs = [median_ci(by_n[n]) for n in ns]
        out.append(Curve(name, ns, [q[1] for q in qs], [q[0] for q in qs], [q[2] for q in qs],
                         [len(by_n[n]) for n in ns], "o-", f"C{c}", name.startswith("network"), "instances"))
    return out


def _save(fig, out_dir: str, name: str) -> list[str]:
    return save_figure(fig, os.path.join(out_dir, name))


def build_report(db: str, out_dir: str) -> dict:
    """Write plots and ``report.md`` into ``out_dir``; return what was written."""
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

    # ---- phase transition and time vs n: one figure per experiment ('verify', 'scale') ------------
    experiments = sorted({r["experiment"] or "verify" for r in rows})
    for exp in experiments:
        sel = [r for r in rows if (r["experiment"] or "verify") == exp]
        suffix = "" if len(experiments) == 1 else f"-{exp}"
        # the user's own files (family "file") have no ratio grid: never on the phase-transition curves
        phase = phase_curves([r for r in sel if r.get("family") != "file"])
        if phase:
            fig, (ax,) = new_figure(7.5, 5.0)
            md += [f"## Phase transition ({exp} rows)\n",
                   "| n | ratio | formulas | SAT | SAT fraction [95% Wilson] | networks decided | two-subgradient "
                   "fraction [95% Wilson] |", "|---|---|---|---|---|---|---|"]
            for n, sat, net in phase:
                draw(ax, sat)
                draw(ax, net)
                at = {x: i for i, x in enumerate(net.x)}
                for i, x in enumerate(sat.x):
                    j = at.get(x)
                    net_cell = (f"{net.count[j]} | {net.y[j]:.2f} [{net.lo[j]:.2f}, {net.hi[j]:.2f}]" if j is not None
                                else "0 | -")
                    md.append(f"| {n} | {x:g} | {sat.count[i]} | {round(sat.y[i] * sat.count[i])} | "
                              f"{sat.y[i]:.2f} [{sat.lo[i]:.2f}, {sat.hi[i]:.2f}] | {net_cell} |")
            threshold_line(ax)
            ax.set_ylim(-0.03, 1.03)
            ax.set_xlabel("clause ratio m / n (clauses per variable)")
            ax.set_ylabel("fraction positive (95% Wilson interval)")
            ax.set_title(f"Phase transition of random 3-SAT, formula side vs network side\n"
                         f"({len(sel)} rows of nsad {exp}; solver {_one(sel, 'solver')}, "
                         f"decider {_one(sel, 'network_backend')})", fontsize=10)
            ax.grid(True, lw=0.3)
            legend(ax)
            name = f"phase_transition{suffix}"
            written += _save(fig, out_dir, name)
            md.append(f"\n![phase transition]({name}.png)\n")
        times = time_curves(sel)
        if times:
            fig, (ax,) = new_figure(7.5, 5.0)
            md += [f"\n## Time versus n ({exp} rows)\n",
                   "| series | n | tasks | median (s) | 95% bootstrap interval (s) |", "|---|---|---|---|---|"]
            rates = []
            for c in times:
                draw(ax, c)
                for x, y, lo, hi, k in zip(c.x, c.y, c.lo, c.hi, c.count):
                    md.append(f"| {c.label} | {x} | {k} | {y:.2e} | [{lo:.2e}, {hi:.2e}] |")
                g = growth_rate(c.x, c.y)
                if g is not None:
                    rates.append(f"- {c.label}: median time grows by a factor {g:.3f} per extra variable "
                                 f"(x{g ** 10:.2f} per 10 variables)")
            ax.set_yscale("log")
            ax.set_xlabel("n (variables of the formula)")
            ax.set_ylabel("wall-clock seconds per instance (median, 95% CI)")
            ratios = sorted({r["ratio"] for r in sel if r["ratio"] is not None})
            ax.set_title(f"Time to decide versus n: random 3-SAT, ratio "
                         f"{', '.join(f'{x:g}' for x in ratios[:6])}{' ...' if len(ratios) > 6 else ''}\n"
                         f"({len(sel)} rows of nsad {exp})", fontsize=10)
            ax.grid(True, which="both", lw=0.3)
            legend(ax)
            name = f"time_vs_n{suffix}"
            written += _save(fig, out_dir, name)
            md += ["\nFitted growth (least squares on log median time):\n"] + rates + [f"\n![time vs n]({name}.png)\n"]

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
