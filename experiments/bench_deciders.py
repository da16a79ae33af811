"""Benchmark: network deciders against a SAT solver on the formula, both timed from file to answer.

Protocol
--------
Instances: given DIMACS files, or uniform random 3-SAT formulas generated with
``instances.random_ksat(n, ratio=4.26, seed=S, index=i)`` for each ``n`` of ``sizes`` and
``i < count`` (written as DIMACS). Each formula is reduced once (``reductions.sat_to_relu.reduce``)
and the network saved as ``.npz``; this preparation is not timed.

What is measured, per instance, in one process, the two sides interleaved:

- *formula side*: ``instances.read_dimacs`` on the ``.cnf`` file, then ``solvers.solve_formula``
  with ``solver`` (default CaDiCaL 1.9.5) -- reading, solver construction, solving, model check;
- *network side*, for each method (default ``sat-grid``): ``networks.ReluNetwork.load`` on the
  ``.npz`` file, then the method (``solvers.network.grid``: simplify, certify, encode, solve, build
  and check a certificate), then the JSON line ``nsad decide --json`` would print. The decider never
  sees the formula. The load time and the method's own ``normal_form_seconds``, ``lattice_seconds``,
  ``simplify_seconds``, ``certify_class_seconds``, ``encode_seconds``, ``solve_seconds``,
  ``certify_seconds`` (building the certificate, less its check) and ``certify_check_seconds``
  (``networks.check`` inside the method), and the JSON time are kept.

Each side's time is the best of ``repeat`` runs (default 1) with ``time.perf_counter``. Every
answer is compared (sat <-> two-subgradients, unsat <-> singleton) and every certificate is checked
again with ``networks.check`` outside the timed span. Per ``n``: instance and SAT/UNSAT counts, the
median time of each side, the ratio of the medians (network / formula), the median of per-instance
ratios, the median time breakdown of the network side (each step over the instances where it ran:
``certify`` over the two-subgradient answers), agreement and certificate counts.

``bench_fallback`` measures the other end: random integer networks that the simplifier cannot
certify (:func:`random_integer_network`: family ``"zero"``, identically 0 through the identity
``|a + b| + |a - b| = 2 max(|a|, |b|)`` on random integer forms, so a complete decider must prove
linearity; family ``"odd"``, ``G(x) - G(-x)``, which passes the axis test but is nonlinear), decided
by the ``portfolio`` (hence the complete MILP), one network per ``n``, ``n`` growing until one takes
longer than ``limit`` seconds.

How often: once per invocation; results are returned as data (``--json`` prints them).
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

__all__ = ["FAMILIES", "prepare_instances", "bench_deciders", "deciders", "summarize", "format_table", "bench_fallback",
           "random_integer_network", "DEFAULT_SIZES", "DEFAULT_METHODS", "compare_variants", "largest_answered"]

DEFAULT_SIZES = (50, 100, 150, 200, 250)
DEFAULT_METHODS = ("sat-grid",)
_EXPECT = {"sat": "two-subgradients", "unsat": "singleton"}


def prepare_instances(workdir, files: Sequence[str] = (), sizes: Iterable[int] = (), count: int = 10,
                      ratio: float = 4.26, seed: int = 0, disguise_kinds: Sequence[str] | None = None) -> list[dict]:
    """Write each formula's network next to it; return one record per instance.

    Records: ``name``, ``cnf`` (path), ``npz`` (path), ``n``, ``m`` (clauses). Given files are read
    (``instances.read_dimacs``) and their networks written into ``workdir``; generated formulas are
    written there too. With ``disguise_kinds``, each network is also disguised
    (:func:`nsad.networks.disguise.disguise_network`, seed ``SeedSequence([seed, j])`` for record
    ``j``) into ``npz_disguised``, the steps in its provenance.

    >>> import tempfile
    >>> recs = prepare_instances(tempfile.mkdtemp(), sizes=[5], count=2, seed=1)
    >>> [(r["n"], r["m"]) for r in recs]
    [(5, 21), (5, 21)]
    """
    from nsad.instances import random_ksat, read_dimacs, write_dimacs
    from nsad.reductions.sat_to_relu import reduce

    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    out = []
    for f in files:
        cnf = read_dimacs(f)
        stem = Path(f).name.replace(".gz", "").replace(".cnf", "")
        npz = work / f"{stem}.npz"
        reduce(cnf).save(npz)
        out.append({"name": stem, "cnf": str(f), "npz": str(npz), "n": cnf.num_vars, "m": cnf.num_clauses})
    for n in sizes:
        for i in range(count):
            cnf = random_ksat(int(n), ratio=ratio, seed=seed, index=i)
            stem = f"rand3-n{n}-s{seed}-i{i}"
            path = work / f"{stem}.cnf"
            write_dimacs(cnf, path)
            npz = work / f"{stem}.npz"
            reduce(cnf).save(npz)
            out.append({"name": stem, "cnf": str(path), "npz": str(npz), "n": int(n), "m": cnf.num_clauses})
    if disguise_kinds:
        from nsad.networks import ReluNetwork
        from nsad.networks.disguise import disguise_network

        for j, rec in enumerate(out):
            net = ReluNetwork.load(rec["npz"])
            dn, prov = disguise_network(net, np.random.SeedSequence([seed, j]), kinds=disguise_kinds,
                                        source={"file": Path(rec["cnf"]).name})
            path = Path(rec["npz"]).with_name(rec["name"] + "-disguised.npz")
            dn.save(path, provenance=prov)
            rec["npz_disguised"] = str(path)
    return out


def _formula_side(path: str, solver: str, time_limit):
    from nsad.instances import read_dimacs
    from nsad.solvers import solve_formula

    t0 = time.perf_counter()
    cnf = read_dimacs(path)
    v = solve_formula(cnf, solver=solver, time_limit=time_limit)
    return time.perf_counter() - t0, v


def deciders():
    """The decider table (:data:`nsad.solvers.network.table.DECIDERS`).

    >>> {"sat-grid", "portfolio", "milp"} <= set(deciders().names())
    True
    """
    from nsad.solvers.network.table import DECIDERS

    return DECIDERS


def _network_side(path: str, method: str, time_limit, options: dict):
    from nsad.networks import ReluNetwork

    fn = deciders().get(method).decide
    t0 = time.perf_counter()
    net = ReluNetwork.load(path)
    t1 = time.perf_counter()
    v = fn(net, time_limit=time_limit, **options)
    t2 = time.perf_counter()
    json.dumps({"file": path, **v.to_json()})  # what `nsad decide --json` prints
    t3 = time.perf_counter()
    v.stats["json_seconds"] = t3 - t2
    return t3 - t0, t1 - t0, v, net


def _breakdown(v, load: float, total: float | None = None) -> dict:
    """Seconds per step of the network side; a step the method did not run is ``None``; ``other``:
    the rest of ``total`` (axis test, verdict assembly, timing gaps)."""
    st = v.stats
    out = {"load": load}
    for k in ("normal_form_seconds", "lattice_seconds", "simplify_seconds", "certify_class_seconds", "axis_seconds",
              "encode_seconds", "solve_seconds", "certify_seconds", "certify_check_seconds", "json_seconds"):
        val = st.get(k)
        out[k.replace("_seconds", "")] = float(val) if isinstance(val, (int, float)) else None
    if out["certify"] is not None and out["certify_check"] is not None:
        out["certify"] -= out["certify_check"]   # building the certificate; checking it is certify_check
    if total is not None:
        out["other"] = total - sum(v for v in out.values() if v is not None)
    return out


def bench_deciders(records: Sequence[dict], methods: Sequence[str] = DEFAULT_METHODS, solver: str = "cadical195",
                   *rest, variants: Sequence[str] = ("plain",), **kw):
    """:func:`bench_one` over network variants: ``"plain"`` (the reduction's network) and
    ``"disguised"`` (``npz_disguised`` of :func:`prepare_instances`); rows carry ``variant``."""
    rows = []
    for variant in variants:
        recs = records if variant == "plain" else [{**r, "npz": r["npz_disguised"]} for r in records]
        for row in bench_one(recs, methods, solver, *rest, **kw):
            rows.append({**row, "variant": variant})
    return rows


def bench_one(records: Sequence[dict], methods: Sequence[str] = DEFAULT_METHODS, solver: str = "cadical195",
                   repeat: int = 1, time_limit: float | None = None, progress=None,
                   grid_solver: str | None = None) -> list[dict]:
    """Run both sides on every instance (module docstring); one row per (instance, method).

    ``grid_solver`` (a python-sat backend) is passed to ``sat-grid`` as its ``solver`` (default:
    the method's own default, CaDiCaL 1.9.5).

    >>> import tempfile
    >>> rows = bench_deciders(prepare_instances(tempfile.mkdtemp(), sizes=[8], count=2))
    >>> [(r["agree"], r["certificate_ok"]) for r in rows]
    [(True, True), (True, True)]
    """
    from nsad.networks import check

    methods = [deciders().canonical(m) for m in methods]
    rows = []
    for rec in records:
        best_f, fv = None, None
        best_n = {m: None for m in methods}
        for _ in range(max(1, int(repeat))):
            secs, v = _formula_side(rec["cnf"], solver, time_limit)
            if best_f is None or secs < best_f:
                best_f, fv = secs, v
            for m in methods:
                opts = {"solver": grid_solver} if grid_solver and m == "sat-grid" else {}
                total, load, nv, net = _network_side(rec["npz"], m, time_limit, opts)
                if best_n[m] is None or total < best_n[m][0]:
                    best_n[m] = (total, load, nv, net)
        for m in methods:
            total, load, nv, net = best_n[m]
            cert_ok = None
            if nv.certificate is not None:
                cert_ok = bool(check(net, nv.certificate).ok)
            agree = _EXPECT.get(fv.answer) == nv.answer if fv.answer != "unknown" and nv.answer != "unknown" else None
            rows.append({
                "file": rec["cnf"], "name": rec["name"], "n": rec["n"], "m": rec["m"], "method": m, "solver": solver,
                "grid_solver": nv.stats.get("solver"),
                "formula": fv.answer, "network": nv.answer, "backend": nv.backend, "complete": nv.complete,
                "formula_seconds": best_f, "network_seconds": total, "ratio": total / best_f if best_f else None,
                "breakdown": _breakdown(nv, load, total), "agree": agree,
                "certificate_ok": cert_ok if nv.answer == "two-subgradients" else None,
                "grid_class": nv.stats.get("grid_class"),
                "argument": nv.argument, "path": nv.stats.get("path"),
            })
            if progress is not None:
                progress.update(nv.answer)
    return rows


def _median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarize(rows: Sequence[dict]) -> list[dict]:
    """Per ``(n, method)``: counts, medians, ratios, breakdown medians, agreement.

    >>> rows = [{"n": 5, "method": "sat-grid", "formula": "sat", "network": "two-subgradients",
    ...          "formula_seconds": 1e-3, "network_seconds": 4e-3, "ratio": 4.0, "agree": True,
    ...          "certificate_ok": True, "breakdown": {"load": 1e-3}}]
    >>> s = summarize(rows)[0]
    >>> s["ratio_of_medians"], s["sat"], s["agree"]
    (4.0, 1, 1)
    """
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["n"], r["method"], r.get("variant", "plain")), []).append(r)
    out = []
    for (n, method, variant), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] != "plain")):
        fmed = _median([r["formula_seconds"] for r in rs])
        nmed = _median([r["network_seconds"] for r in rs])
        parts = sorted({k for r in rs for k in r["breakdown"]})
        out.append({
            "n": n, "method": method, "variant": variant, "instances": len(rs),
            "sat": sum(r["formula"] == "sat" for r in rs), "unsat": sum(r["formula"] == "unsat" for r in rs),
            "formula_median": fmed, "network_median": nmed,
            "ratio_of_medians": (nmed / fmed) if fmed else None,
            "median_ratio": _median([r["ratio"] for r in rs]),
            "breakdown_median": {k: _median([r["breakdown"].get(k) for r in rs]) for k in parts},
            "agree": sum(r["agree"] is True for r in rs),
            "disagree": sum(r["agree"] is False for r in rs),
            "unknown": sum(r["agree"] is None for r in rs),
            "certificates_ok": sum(r["certificate_ok"] is True for r in rs),
            "certificates_failed": sum(r["certificate_ok"] is False for r in rs),
            "network_unknown": sum(r["network"] == "unknown" for r in rs),
            "batch_seconds": sum(r["network_seconds"] for r in rs),
            "arguments": {a: sum(r.get("argument") == a for r in rs)
                          for a in sorted({str(r.get("argument")) for r in rs if r.get("argument")})},
        })
    return out


def time_curves(rows: Sequence[dict]) -> list:
    """The plotted data of ``nsad bench deciders --plot``: per network method and variant, and for
    the formula side, the median file-to-answer seconds at each n (answers other than unknown), its
    95 % bootstrap interval and the number of instances behind it.

    >>> rows = [{"n": n, "method": "sat-grid", "variant": "plain", "solver": "cadical195", "formula": "sat",
    ...          "network": "two-subgradients", "formula_seconds": 1e-3, "network_seconds": 0.01 * n}
    ...         for n in (10, 10, 20)]
    >>> [(c.legend(), list(c.y)) for c in time_curves(rows)]  # doctest: +NORMALIZE_WHITESPACE
    [('formula: cadical195 (1-2 instances)', [0.001, 0.001]),
     ('network: sat-grid (1-2 instances)', [0.1, 0.2])]
    """
    from nsad.experiments.plotting import Curve
    from nsad.experiments.stats import median_ci

    series: dict = {}
    seen: set = set()
    for r in rows:
        if r["formula"] != "unknown" and r["formula_seconds"] is not None and (r["file"] if "file" in r else id(r),
                                                                                r.get("solver")) not in seen:
            seen.add((r["file"] if "file" in r else id(r), r.get("solver")))
            series.setdefault(f"formula: {r.get('solver')}", {}).setdefault(r["n"], []).append(r["formula_seconds"])
        if r["network"] != "unknown" and r["network_seconds"] is not None:
            variant = r.get("variant", "plain")
            name = f"network: {r['method']}" + ("" if variant == "plain" else f" ({variant})")
            series.setdefault(name, {}).setdefault(r["n"], []).append(r["network_seconds"])
    out = []
    for c, (name, by_n) in enumerate(sorted(series.items())):
        ns = sorted(by_n)
        qs = [median_ci(by_n[n]) for n in ns]
        out.append(Curve(name, ns, [q[1] for q in qs], [q[0] for q in qs], [q[2] for q in qs],
                         [len(by_n[n]) for n in ns], "o-" if name.startswith("network") else "s--", f"C{c}",
                         name.startswith("network"), "instances"))
    return out


def plot(rows: Sequence[dict], path: str, ratio: float | None = None) -> list[str]:
    """Median file-to-answer time against n, network side and formula side (log scale, 95 %
    bootstrap intervals, instance counts); writes PATH as PNG and SVG."""
    from nsad.experiments.plotting import draw, legend, new_figure, save_figure

    fig, (ax,) = new_figure(7.5, 5.0)
    for c in time_curves(rows):
        draw(ax, c)
    ax.set_yscale("log")
    ax.set_xlabel("n (variables of the formula)")
    ax.set_ylabel("wall-clock seconds per instance, file to answer (median, 95% CI)")
    what = f"random 3-SAT at ratio {ratio:g}" if ratio is not None else "the given formulas"
    ax.set_title(f"nsad bench deciders: network side vs SAT solver on the formula\n({what}; "
                 f"{len({r['name'] for r in rows})} instances)", fontsize=10)
    ax.grid(True, which="both", lw=0.3)
    legend(ax)
    return save_figure(fig, path)


def compare_variants(summary: Sequence[dict]) -> list[dict]:
    """Per ``(n, method)`` with both variants: median and batch times of each, the ratios
    disguised / plain, and the disguised variant's unknown count.

    >>> s = [{"n": 5, "method": "m", "variant": "plain", "network_median": 0.01, "batch_seconds": 0.1,
    ...       "network_unknown": 0, "instances": 10},
    ...      {"n": 5, "method": "m", "variant": "disguised", "network_median": 0.02, "batch_seconds": 0.3,
    ...       "network_unknown": 1, "instances": 10}]
    >>> c = compare_variants(s)[0]
    >>> c["median_ratio"], round(c["batch_ratio"], 6), c["unknown"]
    (2.0, 3.0, 1)
    """
    by = {(s["n"], s["method"], s.get("variant", "plain")): s for s in summary}
    out = []
    for (n, method, variant), d in by.items():
        if variant != "disguised" or (n, method, "plain") not in by:
            continue
        p = by[(n, method, "plain")]
        out.append({"n": n, "method": method, "instances": d["instances"],
                    "plain_median": p["network_median"], "disguised_median": d["network_median"],
                    "median_ratio": d["network_median"] / p["network_median"] if p["network_median"] else None,
                    "plain_batch": p["batch_seconds"], "disguised_batch": d["batch_seconds"],
                    "batch_ratio": d["batch_seconds"] / p["batch_seconds"] if p["batch_seconds"] else None,
                    "unknown": d["network_unknown"], "unknown_share": d["network_unknown"] / max(1, d["instances"])})
    return out


def format_table(summary: Sequence[dict]) -> str:
    """A plain-text table of :func:`summarize` (times in ms).

    >>> print(format_table([{"n": 5, "method": "sat-grid", "instances": 1, "sat": 1, "unsat": 0,
    ...     "formula_median": 1e-3, "network_median": 4e-3, "ratio_of_medians": 4.0, "median_ratio": 4.0,
    ...     "breakdown_median": {"load": 1e-3, "simplify": 2e-3}, "agree": 1, "disagree": 0,
    ...     "unknown": 0, "certificates_ok": 1, "certificates_failed": 0}]).splitlines()[2])
        5  sat-grid     plain        1   1/0        1.00        4.00    4.00    4.00  1/1  load 1.00 simplify 2.00
    """
    head = (f"{'n':>5}  {'method':<12} {'variant':<9} {'inst':>4} {'SAT/UNSAT':>9} {'formula ms':>11} {'network ms':>11} "
            f"{'ratio':>7} {'med r':>7} {'ok':>4}  breakdown ms (medians)")
    lines = [head, "-" * len(head)]
    for s in summary:
        bd = " ".join(f"{k} {v * 1e3:.2f}" for k, v in s["breakdown_median"].items() if v is not None)
        fm = f"{s['formula_median'] * 1e3:11.2f}" if s["formula_median"] is not None else f"{'-':>11}"
        nm = f"{s['network_median'] * 1e3:11.2f}" if s["network_median"] is not None else f"{'-':>11}"
        rm = f"{s['ratio_of_medians']:7.2f}" if s["ratio_of_medians"] is not None else f"{'-':>7}"
        mr = f"{s['median_ratio']:7.2f}" if s["median_ratio"] is not None else f"{'-':>7}"
        ok = f"{s['agree']}/{s['instances']}"
        lines.append(f"{s['n']:>5}  {s['method']:<12} {s.get('variant', 'plain'):<9} {s['instances']:>4} {str(s['sat']) + '/' + str(s['unsat']):>9} "
                     f"{fm} {nm} {rm} {mr} {ok:>4}  {bd}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# the MILP fallback on networks the simplifier cannot certify
# ------------------------------------------------------------------------------------------------
FAMILIES = ("zero", "odd")


def random_integer_network(n: int, seed: int = 0, family: str = "zero", per_row: int = 3, max_tries: int = 50):
    """A random integer network that :func:`solvers.network.simplify.certify` does not certify.

    * ``"zero"``: ``F = sum_{j <= n} |a_j + b_j| + |a_j - b_j| - 2 max(|a_j|, |b_j|)``, identically 0
      (hence linear: a complete decider must *prove* it), with ``a_j, b_j`` random integer forms of
      ``per_row`` coordinates (weights in {-2, -1, 1, 2}); three layers (8 n, 4 n, 1 units).
    * ``"odd"``: ``F(x) = G(x) - G(-x)`` for a random ``G`` (widths ``2n, n, 1``): nonlinear in
      general, and odd, so the axis test passes and a decider must find a witness.

    >>> from nsad.solvers.network.simplify import simplify, certify
    >>> net = random_integer_network(6, seed=1)
    >>> certify(simplify(net)) is None, net.widths, net.evaluate_exact([3, -1, 4, 1, -5, 9])
    (True, (48, 24, 1), 0)
    """
    import scipy.sparse as sp

    from nsad.networks import ReluNetwork
    from nsad.solvers.network.simplify import certify, simplify

    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose one of: {', '.join(FAMILIES)}")
    rng = np.random.default_rng([seed, n, 0xFA11])
    k = min(per_row, n)

    def forms(count):
        cols = np.stack([rng.choice(n, size=k, replace=False) for _ in range(count)])
        vals = rng.choice(np.array([-2, -1, 1, 2]), size=(count, k))
        return sp.csr_array((vals.ravel(), (np.repeat(np.arange(count), k), cols.ravel())), shape=(count, n))

    for _ in range(max_tries):
        if family == "zero":
            A, B = forms(n), forms(n)
            rows = []
            for z in (A + B, A - B, A, B):
                rows += [z, -z]
            M1 = sp.vstack(rows, format="csr")            # blocks of n rows: +-(a+b), +-(a-b), +-a, +-b
            eye = sp.identity(n, dtype=np.int64, format="csr")
            pair = sp.hstack([eye, eye], format="csr")   # |z| = relu(z) + relu(-z)
            Z = sp.csr_array((n, 2 * n), dtype=np.int64)
            M2 = sp.vstack([
                sp.hstack([pair, Z, Z, Z]),                # |a + b|
                sp.hstack([Z, pair, Z, Z]),                # |a - b|
                sp.hstack([Z, Z, pair, -pair]),            # relu(|a| - |b|)
                sp.hstack([Z, Z, Z, pair]),                # |b|
            ], format="csr")
            ones = np.ones((1, n), dtype=np.int64)
            M3 = sp.csr_array(np.hstack([ones, ones, -2 * ones, -2 * ones]))
            net = ReluNetwork([M1, M2, M3])
        else:
            M1, M2 = forms(2 * n), None
            G2 = sp.csr_array(rng.choice(np.array([-2, -1, 0, 0, 0, 1, 2]), size=(n, 2 * n)))
            G3 = sp.csr_array(rng.choice(np.array([-2, -1, 1, 2]), size=(1, n)))
            net = ReluNetwork([sp.vstack([M1, -M1]), sp.block_diag([G2, G2]), sp.hstack([G3, -G3])])
        if certify(simplify(net)) is None:
            return net
    raise RuntimeError("could not draw an uncertified network")


def _decide_in_child(method: str, n: int, seed: int, family: str, limit: float) -> dict:
    from nsad.solvers import decide_network

    net = random_integer_network(int(n), seed=seed, family=family)
    t0 = time.perf_counter()
    v = decide_network(net, method, time_limit=limit)
    return {"units": net.n_units, "nnz": net.nnz, "answer": v.answer, "backend": v.backend,
            "complete": v.complete, "argument": v.argument, "seconds": time.perf_counter() - t0,
            "binaries": v.stats.get("binaries"), "reason": v.reason}


def bench_fallback(sizes: Iterable[int], seed: int = 0, limit: float = 60.0, method: str = "portfolio",
                   family: str = "zero", methods: Sequence[str] | None = None) -> list[dict]:
    """Decide one random uncertified integer network per ``n`` (increasing) with each of ``methods``
    (default: ``[method]``), stopping a method after the first ``n`` it does not answer within
    ``limit`` seconds. Every call runs in a child process killed ``limit + 5`` s after it starts
    (:func:`nsad.child.run_function`), so a solver that ignores its limit cannot stall the benchmark.

    >>> rows = bench_fallback([3], limit=30, methods=["exact", "milp"])
    >>> [(r["method"], r["answer"], r["complete"]) for r in rows]
    [('exact', 'singleton', True), ('milp', 'singleton', False)]
    """
    from nsad.child import run_function

    methods = [deciders().canonical(m) for m in (methods or [method])]
    rows = []
    for m in methods:
        for n in sizes:
            out = run_function(_decide_in_child, m, int(n), seed, family, limit, time_limit=limit + 5.0)
            if out.ok:
                r = out.value
            else:
                r = {"units": None, "nnz": None, "answer": "unknown", "backend": m, "complete": False,
                     "argument": None, "seconds": out.seconds, "binaries": None, "reason": out.reason}
            r.update(n=int(n), family=family, method=m,
                     within_limit=r["answer"] != "unknown" and r["seconds"] <= limit)
            rows.append(r)
            if not r["within_limit"]:
                break
    return rows


def largest_answered(rows: Sequence[dict]) -> dict:
    """Per method: the largest ``n`` answered within the limit (``None`` if none).

    >>> largest_answered([{"method": "m", "n": 3, "within_limit": True}, {"method": "m", "n": 4, "within_limit": False}])
    {'m': 3}
    """
    out: dict = {}
    for r in rows:
        out.setdefault(r["method"], None)
        if r["within_limit"]:
            out[r["method"]] = max(r["n"], out[r["method"]] or 0)
    return out
