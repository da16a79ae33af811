"""Experiment: the cheap gradient principle (docs/theory.md section 5).

Protocol
--------
What is measured, for every input dimension ``n`` of the grid (default 10, 100, ..., 10^5) and two
families of networks whose cost ``c(F)`` grows linearly in ``n``:

- ``sparse``: a random network with ``depth`` (default 4) matrices, hidden layers of width ``n``,
  ``3`` entries +-1 per row (seeded), and one output row of ones;
- ``reduction``: the network ``reductions.sat_to_relu.reduce`` builds from a random 3-SAT formula
  with ``n`` variables at clause ratio 4.26 (``instances.random_ksat``, seeded).

For each network, at a random Gaussian point ``x`` (float64):

- operation counts (docs/theory.md "Cost model", :mod:`networks.ad.costs`; exact, deterministic): evaluation
  ``c(F)``, backward ``2 c(F)`` (so the ratio is exactly 2 for every ``n``), a full gradient by forward
  mode (``n`` directions, the identity as direction matrix) ``(n + 1) c(F)``, and the LD-derivative
  with ``M = I`` ``(n + 1) c(F)``;
- wall-clock time of the same four computations with the engines of :mod:`networks` on one prepared
  float plan: evaluation (:func:`networks.ad.forward.forward_pass`), backward
  (:func:`networks.ad.backward.backward`, ``relu'(0) = 0``), forward gradient
  (:func:`networks.ad.forward.directional_derivatives` with ``D = I_n``) and LD
  (:func:`networks.ad.lexicographic.lexicographic_derivative`). The forward-mode runs are timed only
  where one run is predicted (from the evaluation time and the op counts) to stay under
  ``time_budget`` seconds (default 3) and its ``n x (n + 1)`` work arrays under ``memory_budget``
  bytes; otherwise their times are left empty.

How: the timed computations of one network run interleaved (rotating order), after one warm-up call
each; each time is the median of ``repeats`` rounds (default 5), a round of a call shorter than
``min_sample`` (default 50 ms) being the mean of enough back-to-back calls to fill it. Goals: time ratio
backward / evaluation <= 2.5 and flat across ``n`` (max / min <= 1.3). How often: once per
(family, n) per invocation; each invocation gets a fresh ``run_id``.
"""

from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np
import scipy.sparse as sp

from nsad.experiments.matmul_bench import interleaved_medians, interleaved_samples
from nsad.experiments.plotting import Curve, draw, goal_line, legend, new_figure, save_figure
from nsad.experiments.stats import ratio_ci
from nsad.networks import ReluNetwork
from nsad.networks.ad.engine import prepare
from nsad.networks.ad.backward import backward
from nsad.networks.ad.costs import backward_ops, evaluation_ops, forward_gradient_ops, lexicographic_ops
from nsad.networks.ad.forward import directional_derivatives, forward_pass
from nsad.networks.ad.lexicographic import lexicographic_derivative

DEFAULT_NS = (10, 100, 1000, 10_000, 100_000)
QUICK_NS = (10, 40)
FAMILIES = ("sparse", "reduction")
RATIO = 4.26


def sparse_network(n: int, depth: int = 4, per_row: int = 3, seed: int = 0) -> ReluNetwork:
    """A random network with hidden widths ``n``, ``per_row`` entries +-1 per row, output row of ones.

    >>> net = sparse_network(50, seed=1)
    >>> net.widths, net.nnz <= 3 * 50 * 3 + 50
    ((50, 50, 50, 1), True)
    """
    rng = np.random.default_rng([seed, n, depth])
    mats = []
    cols = n
    for _ in range(depth - 1):
        rows = np.repeat(np.arange(n), per_row)
        idx = rng.integers(0, cols, size=n * per_row)
        vals = rng.choice(np.array([-1, 1], dtype=np.int64), size=n * per_row)
        mats.append(sp.csr_array((vals, (rows, idx)), shape=(n, cols)))
        cols = n
    mats.append(np.ones((1, cols), dtype=np.int64))
    return ReluNetwork(mats)


def reduction_network(n: int, seed: int = 0) -> tuple[ReluNetwork, int]:
    """The reduction network of a random 3-SAT formula (``n`` variables, ratio 4.26) and its ``m``.

    >>> net, m = reduction_network(10)
    >>> m, net.weight_values
    (43, (-1, 1))
    """
    from nsad.instances import random_ksat
    from nsad.reductions.sat_to_relu import reduce

    cnf = random_ksat(n, ratio=RATIO, seed=seed)
    return reduce(cnf), cnf.num_clauses


def measure(net, n: int, *, repeats: int = 5, seed: int = 0, time_budget: float = 3.0,
            memory_budget: float = 2e9, min_sample: float = 0.05) -> dict:
    """Op counts and times for one network (see the protocol); returns a flat row.

    >>> row = measure(sparse_network(20), 20, repeats=1, min_sample=0)
    >>> row["ops_ratio_backward"], row["ops_ratio_forward"]
    (2.0, 21.0)
    """
    plan = prepare(net, np.float64)
    x = np.random.default_rng([seed, n, 7]).standard_normal(n)
    ev, bw = evaluation_ops(net), backward_ops(net)
    fw, ld = forward_gradient_ops(net), lexicographic_ops(net)
    funcs = {"eval": lambda: forward_pass(plan, x), "backward": lambda: backward(plan, x, 0)}
    # one probe to predict the forward-mode cost
    t_probe = interleaved_medians({"eval": funcs["eval"]}, 3, min_sample=min_sample / 2)["eval"]
    predicted = t_probe * fw.total / max(1, ev.total)
    fits = predicted <= time_budget and 4.0 * n * (n + 1) * 8 <= memory_budget
    if fits:
        eye = np.eye(n)
        funcs["forward"] = lambda: directional_derivatives(plan, x, eye)
        funcs["ld"] = lambda: lexicographic_derivative(plan, x)
    samples = interleaved_samples(funcs, repeats, min_sample=min_sample)
    t = {k: float(np.median(v)) for k, v in samples.items()}
    ci = {k: ratio_ci(samples[k], samples["eval"]) for k in ("backward", "forward", "ld") if k in samples}
    row = {
        "n": n,
        "depth": int(net.depth),
        "units": int(sum(net.widths[:-1])),
        "nnz": int(net.nnz),
        "ops_eval": ev.total,
        "ops_backward": bw.total,
        "ops_forward": fw.total,
        "ops_ld": ld.total,
        "ops_ratio_backward": bw.total / ev.total,
        "ops_ratio_forward": fw.total / ev.total,
        "ops_ratio_ld": ld.total / ev.total,
        "t_eval": t["eval"],
        "t_backward": t["backward"],
        "t_forward": t.get("forward"),
        "t_ld": t.get("ld"),
        "time_ratio_backward": t["backward"] / t["eval"],
        "time_ratio_forward": t["forward"] / t["eval"] if "forward" in t else None,
        "time_ratio_ld": t["ld"] / t["eval"] if "ld" in t else None,
        **{f"time_ratio_{k}_{end}": (ci[k][0 if end == "lo" else 2] if k in ci else None)
           for k in ("backward", "forward", "ld") for end in ("lo", "hi")},
        "predicted_forward_seconds": predicted,
        "repeats": repeats,
    }
    return row


def run_grid(ns: Iterable[int], families: Iterable[str] = FAMILIES, *, repeats: int = 5, seed: int = 0,
             time_budget: float = 3.0, min_sample: float = 0.05, progress=None) -> Iterator[dict]:
    """Build and measure every (family, n); yields rows (``family`` and ``m`` added).

    >>> [(r["family"], r["n"], r["ops_ratio_backward"]) for r in run_grid([5], repeats=1, min_sample=0)]
    [('sparse', 5, 2.0), ('reduction', 5, 2.0)]
    """
    for family in families:
        for n in ns:
            if family == "sparse":
                net, m = sparse_network(n, seed=seed), None
            elif family == "reduction":
                net, m = reduction_network(n, seed=seed)
            else:
                raise ValueError(f"unknown network family {family!r} (choose from {', '.join(FAMILIES)})")
            row = measure(net, n, repeats=repeats, seed=seed, time_budget=time_budget, min_sample=min_sample)
            row.update(family=family, m=m)
            if progress is not None:
                progress.update(family)
            yield row


def flatness(rows: list[dict], key: str = "time_ratio_backward") -> float | None:
    """max / min of ``key`` over the rows (None when fewer than one value).

    >>> flatness([{"time_ratio_backward": 2.0}, {"time_ratio_backward": 2.4}])
    1.2
    """
    vals = [r[key] for r in rows if r.get(key) is not None]
    return (max(vals) / min(vals)) if vals else None


KINDS = {"backward": ("tab:blue", "backward"), "forward": ("tab:red", "forward gradient (n directions)"),
         "ld": ("tab:orange", "LD-derivative (M = I)")}


def curves(rows: list[dict], family: str) -> tuple[list[Curve], list[tuple[str, list, list, str]]]:
    """The plotted data of one family: measured time ratios (median of rounds, 95 % bootstrap
    interval, the number of rounds per point) as curves, and the exact op-count ratios as lines
    ``(label, ns, ratios, color)`` (exact: no interval).

    >>> rows = [{"family": "sparse", "n": n, "repeats": 5, "ops_ratio_backward": 2.0, "ops_ratio_forward": n + 1.0,
    ...          "ops_ratio_ld": n + 1.0, "time_ratio_backward": 2.1, "time_ratio_backward_lo": 2.0,
    ...          "time_ratio_backward_hi": 2.3, "time_ratio_forward": None, "time_ratio_ld": None} for n in (10, 20)]
    >>> cs, ops = curves(rows, "sparse")
    >>> [c.legend() for c in cs], [o[0] for o in ops][:1]
    (['backward: time (5 rounds each)'], ['backward: ops (exact)'])
    """
    sel = sorted((r for r in rows if r["family"] == family), key=lambda r: r["n"])
    out, ops = [], []
    for kind, (color, label) in KINDS.items():
        ops.append((f"{label}: ops (exact)", [r["n"] for r in sel], [r[f"ops_ratio_{kind}"] for r in sel], color))
        pts = [r for r in sel if r.get(f"time_ratio_{kind}") is not None]
        if not pts:
            continue
        ys = [r[f"time_ratio_{kind}"] for r in pts]
        lo = [r.get(f"time_ratio_{kind}_lo") if r.get(f"time_ratio_{kind}_lo") is not None else y
              for r, y in zip(pts, ys)]
        hi = [r.get(f"time_ratio_{kind}_hi") if r.get(f"time_ratio_{kind}_hi") is not None else y
              for r, y in zip(pts, ys)]
        out.append(Curve(f"{label}: time", [r["n"] for r in pts], ys, lo, hi, [r.get("repeats") or 1 for r in pts],
                         "s" if kind == "ld" else "o", color, kind != "ld", "rounds"))
    return out, ops


def figure(rows: list[dict]):
    """The figure of one ``nsad cheapgrad`` run: one panel per network family; not saved."""
    families = [f for f in FAMILIES if any(r["family"] == f for r in rows)]
    fig, axes = new_figure(6.4 * len(families), 5.0, ncols=len(families))
    names = {"sparse": "random sparse networks (depth 4, 3 weights +-1 per row)",
             "reduction": "reduction networks of random 3-SAT (ratio 4.26)"}
    for ax, fam in zip(axes, families):
        cs, ops = curves(rows, fam)
        for label, ns, ys, color in ops:
            ax.plot(ns, ys, "--" if label.startswith("LD") else "-", color=color, lw=1.2, label=label)
        for c in cs:
            draw(ax, c)
        goal_line(ax, 2.5, "goal 2.5 (backward time)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("n, input dimension (variables)")
        ax.set_ylabel("cost / one evaluation (ratio; ops or seconds)")
        ax.set_title(names.get(fam, fam), fontsize=10)
        ax.grid(True, which="both", lw=0.3)
        legend(ax)
    run = rows[0].get("run_id") if rows else None
    fig.suptitle("nsad cheapgrad: gradient cost / evaluation cost, backward vs forward"
                 + (f" (run {run})" if run else ""), fontsize=11)
    return fig


def plot(rows: list[dict], path: str) -> list[str]:
    """Ratios to one evaluation vs ``n`` (log-log): op counts as lines, times as markers with 95 %
    intervals; writes PATH as PNG and SVG.

    >>> import tempfile, os
    >>> rows = list(run_grid([5, 10], ["sparse"], repeats=1, min_sample=0))
    >>> [os.path.basename(f) for f in plot(rows, os.path.join(tempfile.mkdtemp(), "cg.png"))]
    ['cg.png', 'cg.svg']
    """
    return save_figure(figure(rows), path)
