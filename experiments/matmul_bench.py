"""Benchmark: batched directional derivatives are matrix products (docs/theory.md section 4).

Protocol
--------
What is measured, for every (dtype, width ``w``, number of directions ``p``) of the grid:

- ``t_products``: the matrix products alone -- ``H <- M_k @ H`` for the ``depth`` (default 4)
  matrices of a dense random network (square ``w x w`` layers, entries ``N(0, 1/w)``, ``n = w``
  inputs, vector output), starting from the direction matrix ``D`` (``w x p``), on numpy's BLAS
  (``np.dot`` into preallocated outputs, as the engine does): the ideal cost of pushing ``p``
  columns through.
- ``t_dd_zero`` / ``t_dd_random``: :func:`networks.ad.forward.directional_derivatives` on the same
  matrices (a :class:`networks.ad.engine.PreparedNetwork`), at ``x = 0`` (every unit at its kink) and at
  a random Gaussian ``x`` (the values ride along as one extra column). The goal is
  ``ratio = t_dd / t_products <= 1.05`` for ``w >= 1024``, ``p >= 256``, in float64 and float32
  (``goal_dd``: both ratios).
- ``t_matmul`` / ``t_matmul_dd``: ``A @ B`` with ``A = M_1`` and ``B = D``, against
  :func:`reductions.matmul.multiply` (``2p`` directional derivatives of ``relu(A x)`` at 0, then the
  difference; ``check_finite=False``, since ``A @ B`` validates nothing either), measured in
  ``matmul_runs`` (default 5) separate runs of ``repeats`` interleaved rounds each, after the rest:
  ``ratios_matmul`` lists the runs, ``ratio_matmul`` is the median run, ``ratio_matmul_worst`` the
  worst. Goal (``goal_matmul``): every run ``<= 2.2`` for ``w >= 1024``, ``p >= 256``; the floor is
  2 (the GEMM sees ``2p`` columns). At small ``p`` BLAS efficiency and call overheads dominate and
  the ratio is reported as measured.
- ``t_torch`` (when PyTorch is installed): ``torch.func.vmap(torch.func.jvp)`` of the same network
  at the same random ``x`` (CPU, torch's default threads). It is a reference only: at a kink it
  returns ``relu'(0) * dz``, not the directional derivative. ``ratio_torch = t_torch / t_dd_random``.

How: all variants of one configuration run in the same process, interleaved (the order rotates
each round), after one warm-up call each; each time is the median of ``repeats`` rounds (default 5,
reduced to 3 when one call takes over a second), a round of a call shorter than ``min_sample``
(default 50 ms) being the mean of enough back-to-back calls to fill it. Nothing pins ``OPENBLAS_CORETYPE`` or the thread
count; the BLAS in use is reported through threadpoolctl with every row. How often: once per grid
point per invocation; each invocation gets a fresh ``run_id``.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable, Iterable, Iterator

import numpy as np

from nsad.experiments.plotting import Curve, draw, goal_line, legend, new_figure, plot_paths, save_figure  # noqa: F401
from nsad.experiments.stats import median_ci, ratio_ci
from nsad.networks.ad.engine import PreparedNetwork
from nsad.networks.ad.costs import directional_ops
from nsad.networks.ad.forward import directional_derivatives

# the goals of issue 13 (benchmarks, not timed tests), judged per configuration by :func:`goals`
DD_GOAL = 1.05  # batched directional derivatives / the same GEMMs, float64 and float32
MATMUL_GOAL = 2.2  # A @ B via directional derivatives / A @ B, in every one of MATMUL_RUNS runs
MATMUL_FLOOR = 2.0  # 2p columns through the GEMM instead of p: the reduction cannot beat this for long
MATMUL_RUNS = 5
GOAL_MIN_WIDTH, GOAL_MIN_P = 1024, 256

DEFAULT_WIDTHS = (256, 512, 1024, 2048, 4096)
DEFAULT_PS = (1, 4, 16, 64, 256, 1024)
DEFAULT_DTYPES = ("float64", "float32")
QUICK_WIDTHS = (64, 128)
QUICK_PS = (1, 8)


def blas_info() -> dict:
    """The BLAS numpy uses, as threadpoolctl reports it (first BLAS entry), plus a one-line summary.

    ``architecture`` is the kernel OpenBLAS selected (``OPENBLAS_CORETYPE`` overrides its detection,
    ``OPENBLAS_L2_SIZE`` its cache blocking; both are read when the library loads, so they are reported
    as the process saw them).

    >>> "summary" in blas_info()
    True
    """
    import os

    env = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env_txt = " ".join(f"{k}={v}" for k, v in env.items() if v is not None) or "OPENBLAS_CORETYPE unset"
    try:
        from threadpoolctl import threadpool_info

        for entry in threadpool_info():
            if entry.get("user_api") == "blas":
                summary = (f"{entry.get('internal_api')} {entry.get('version')} kernel={entry.get('architecture')} "
                           f"threads={entry.get('num_threads')} ({env_txt})")
                return {**{k: entry.get(k) for k in ("internal_api", "version", "architecture", "num_threads")},
                        "env": env, "summary": summary}
    except Exception:  # pragma: no cover - threadpoolctl is a dependency
        pass
    return {"env": env, "summary": f"unknown ({env_txt})"}


def goals(row: dict) -> dict:
    """``met`` / ``missed`` against the issue's goals for one measured row (``n/a`` below the sizes
    the goals are stated for): ``goal_dd`` -- both directional-derivative ratios (x = 0 and random x)
    <= ``DD_GOAL``; ``goal_matmul`` -- the A @ B ratio <= ``MATMUL_GOAL`` in every run.

    >>> goals({"width": 1024, "p": 256, "ratio_zero": 1.01, "ratio_random": 1.04, "ratios_matmul": [2.1, 2.3]})
    {'goal_dd': 'met', 'goal_matmul': 'missed'}
    >>> goals({"width": 64, "p": 8, "ratio_zero": 3.0, "ratio_random": 3.0, "ratios_matmul": [9.0]})
    {'goal_dd': 'n/a', 'goal_matmul': 'n/a'}
    """
    if row["width"] < GOAL_MIN_WIDTH or row["p"] < GOAL_MIN_P:
        return {"goal_dd": "n/a", "goal_matmul": "n/a"}
    dd = max(row["ratio_zero"], row["ratio_random"]) <= DD_GOAL
    mm = max(row["ratios_matmul"]) <= MATMUL_GOAL
    return {"goal_dd": "met" if dd else "missed", "goal_matmul": "met" if mm else "missed"}


def torch_available() -> bool:
    """Whether PyTorch is installed (an optional extra: everything else works without it).

    Looks the package up without importing it; :func:`measure` still skips torch if the import fails.

    >>> torch_available() in (True, False)
    True
    """
    import importlib.util

    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def interleaved_samples(funcs: dict[str, Callable[[], object]], repeats: int,
                        min_sample: float = 0.0) -> dict[str, list[float]]:
    """Wall time per call of each function in each of ``repeats`` rounds, rotating the order.

    After one warm-up call each, a function faster than ``min_sample`` seconds is called ``k`` times
    per sample (``k`` chosen from the warm-up, as ``timeit``'s autorange does) and the sample is the
    mean of those calls: short calls are timed over a long enough window to beat clock and scheduler
    noise. Round ``r`` of every function ran back to back, so per-round ratios are paired.

    >>> t = interleaved_samples({"a": lambda: None, "b": lambda: sum(range(10))}, 3, min_sample=1e-3)
    >>> sorted(t) == ["a", "b"] and all(len(v) == 3 and min(v) >= 0 for v in t.values())
    True
    """
    keys = list(funcs)
    number = {}
    for k in keys:  # warm-up, and the number of calls per sample
        t0 = time.perf_counter()
        funcs[k]()
        one = max(time.perf_counter() - t0, 1e-7)
        number[k] = max(1, int(min_sample / one)) if one < min_sample else 1
    times: dict[str, list[float]] = {k: [] for k in keys}
    for r in range(repeats):
        shift = r % len(keys)
        for k in keys[shift:] + keys[:shift]:
            f, num = funcs[k], number[k]
            t0 = time.perf_counter()
            for _ in range(num):
                f()
            times[k].append((time.perf_counter() - t0) / num)
    return times


def interleaved_medians(funcs: dict[str, Callable[[], object]], repeats: int,
                        min_sample: float = 0.0) -> dict[str, float]:
    """Median of :func:`interleaved_samples` per function.

    >>> t = interleaved_medians({"a": lambda: None, "b": lambda: sum(range(10))}, 3, min_sample=1e-3)
    >>> sorted(t) == ["a", "b"] and all(v >= 0 for v in t.values())
    True
    """
    return {k: statistics.median(v) for k, v in interleaved_samples(funcs, repeats, min_sample).items()}


def dense_matrices(width: int, depth: int, dtype, seed: int) -> list[np.ndarray]:
    """``depth`` seeded square Gaussian matrices with entries ``N(0, 1/width)``.

    >>> [M.shape for M in dense_matrices(3, 2, np.float32, 0)], dense_matrices(3, 2, np.float32, 0)[0].dtype
    ([(3, 3), (3, 3)], dtype('float32'))
    """
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((width, width)) / np.sqrt(width)).astype(dtype) for _ in range(depth)]


def _torch_function(mats: list[np.ndarray], x: np.ndarray, D: np.ndarray):
    import torch

    Ts = [torch.from_numpy(M) for M in mats]
    xt = torch.from_numpy(x)
    Dt = torch.from_numpy(np.ascontiguousarray(D.T))
    L = len(Ts)

    def f(v):
        h = v
        for k, T in enumerate(Ts):
            h = T @ h
            if k < L - 1:
                h = torch.relu(h)
        return h

    batched = torch.func.vmap(lambda d: torch.func.jvp(f, (xt,), (d,))[1])

    def run():
        with torch.no_grad():
            return batched(Dt)

    return run


def measure(width: int, p: int, dtype: str, *, mats: list[np.ndarray] | None = None, depth: int = 4,
            repeats: int = 5, seed: int = 0, use_torch: bool = True, min_sample: float = 0.05,
            matmul_runs: int = MATMUL_RUNS) -> dict:
    """Time one configuration (see the protocol); returns a flat row.

    >>> row = measure(16, 2, "float64", repeats=1, use_torch=False, min_sample=0, matmul_runs=2)
    >>> sorted(k for k in row if k.startswith("ratio") and not k.endswith(("_lo", "_hi")))
    ['ratio_matmul', 'ratio_matmul_worst', 'ratio_random', 'ratio_torch', 'ratio_zero', 'ratios_matmul']
    >>> len(row["ratios_matmul"]), row["goal_matmul"], row["ratio_zero_lo"] <= row["ratio_zero"] <= row["ratio_zero_hi"]
    (2, 'n/a', True)
    """
    from nsad.reductions.matmul import multiply

    dt = np.dtype(dtype)
    mats = mats if mats is not None else dense_matrices(width, depth, dt, seed)
    depth = len(mats)
    plan = PreparedNetwork.from_dense(mats, dt)
    rng = np.random.default_rng([seed, width, p])
    D = rng.standard_normal((width, p)).astype(dt)
    x = rng.standard_normal(width).astype(dt)
    bufs = [np.empty((width, p), dt) for _ in range(2)]

    def products():
        H = D
        for k, M in enumerate(mats):
            H = np.dot(M, H, out=bufs[k % 2])
        return H

    A = mats[0]
    funcs = {
        "products": products,
        "dd_zero": lambda: directional_derivatives(plan, None, D),
        "dd_random": lambda: directional_derivatives(plan, x, D),
    }
    mm_funcs = {
        "matmul": lambda: A @ D,
        "matmul_dd": lambda: multiply(A, D, check_finite=False),  # A @ D checks nothing either
    }
    if use_torch and torch_available():
        try:
            funcs["torch"] = _torch_function(mats, x, D)
        except ImportError:  # installed but broken: the reference is optional
            pass
    t0 = time.perf_counter()
    directional_derivatives(plan, x, D)
    one = time.perf_counter() - t0
    reps = max(1, min(repeats, 3)) if one > 1.0 else max(1, repeats)
    samples = interleaved_samples(funcs, reps, min_sample=min_sample)
    t = {k: statistics.median(v) for k, v in samples.items()}
    t_torch = t.get("torch")
    mm_runs = [interleaved_medians(mm_funcs, reps, min_sample=min_sample) for _ in range(max(1, matmul_runs))]
    ratios_mm = [r["matmul_dd"] / r["matmul"] for r in mm_runs]
    mid = sorted(range(len(mm_runs)), key=lambda i: ratios_mm[i])[len(mm_runs) // 2]  # the median run
    t["matmul"], t["matmul_dd"] = mm_runs[mid]["matmul"], mm_runs[mid]["matmul_dd"]
    zero_lo, _, zero_hi = ratio_ci(samples["dd_zero"], samples["products"])
    rnd_lo, _, rnd_hi = ratio_ci(samples["dd_random"], samples["products"])
    mm_lo, _, mm_hi = median_ci(ratios_mm)
    ratio_matmul = t["matmul_dd"] / t["matmul"]
    row = {
        "width": width,
        "depth": depth,
        "p": p,
        "dtype": dt.name,
        "repeats": reps,
        "t_products": t["products"],
        "t_dd_zero": t["dd_zero"],
        "t_dd_random": t["dd_random"],
        "ratio_zero": t["dd_zero"] / t["products"],
        "ratio_zero_lo": zero_lo,
        "ratio_zero_hi": zero_hi,
        "ratio_random": t["dd_random"] / t["products"],
        "ratio_random_lo": rnd_lo,
        "ratio_random_hi": rnd_hi,
        "t_matmul": t["matmul"],
        "t_matmul_dd": t["matmul_dd"],
        "ratio_matmul": ratio_matmul,
        "ratio_matmul_lo": min(mm_lo, ratio_matmul),
        "ratio_matmul_hi": max(mm_hi, ratio_matmul),
        "matmul_runs": len(ratios_mm),
        "ratios_matmul": ratios_mm,
        "ratio_matmul_worst": max(ratios_mm),
        "t_torch": t_torch,
        "ratio_torch": (t_torch / t["dd_random"]) if t_torch is not None else None,
        "ops_dd": directional_ops(plan, p).total,
    }
    row.update(goals(row))
    return row


def run_grid(widths: Iterable[int], ps: Iterable[int], dtypes: Iterable[str], *, depth: int = 4,
             repeats: int = 5, seed: int = 0, use_torch: bool = True, min_sample: float = 0.05,
             progress=None, matmul_runs: int = MATMUL_RUNS) -> Iterator[dict]:
    """Measure every configuration of the grid, one network per (dtype, width); yields rows.

    >>> [(r["width"], r["p"]) for r in run_grid([8], [1, 2], ["float64"], repeats=1, use_torch=False, min_sample=0)]
    [(8, 1), (8, 2)]
    """
    ps = list(ps)
    for dtype in dtypes:
        for w in widths:
            mats = dense_matrices(w, depth, np.dtype(dtype), seed)
            for p in ps:
                row = measure(w, p, dtype, mats=mats, depth=depth, repeats=repeats, seed=seed, use_torch=use_torch,
                              min_sample=min_sample, matmul_runs=matmul_runs)
                if progress is not None:
                    progress.update()
                yield row
            del mats


def _as_list(v) -> list:
    if isinstance(v, str):  # read back from the store: a JSON list
        import json

        return json.loads(v)
    return list(v)


def curves(rows: list[dict]) -> dict[str, list[Curve]]:
    """The plotted data: one panel per dtype (directional derivatives / products, x = 0 and random
    x, one curve per width) and the ``A @ B`` panel, each point with its 95 % bootstrap interval
    and the number of timed rounds (of runs, for ``A @ B``) behind it.

    >>> rows = [{"width": 8, "p": p, "dtype": "float64", "repeats": 5, "matmul_runs": 3, "ratio_zero": 1.0,
    ...          "ratio_zero_lo": 0.9, "ratio_zero_hi": 1.2, "ratio_random": 1.1, "ratio_random_lo": 1.0,
    ...          "ratio_random_hi": 1.3, "ratio_matmul": 2.5, "ratio_matmul_lo": 2.2, "ratio_matmul_hi": 2.9}
    ...         for p in (1, 2)]
    >>> panels = curves(rows)
    >>> sorted(panels), [c.legend() for c in panels["A @ B"]]
    (['A @ B', 'float64'], ['w = 8, float64 (3 runs each)'])
    """
    import matplotlib.pyplot as plt

    widths = sorted({r["width"] for r in rows})
    dtypes = sorted({r["dtype"] for r in rows}, reverse=True)
    cmap = plt.get_cmap("viridis")
    color = {w: cmap(0.85 * i / max(1, len(widths) - 1)) for i, w in enumerate(widths)}
    out: dict[str, list[Curve]] = {}
    for dtype in dtypes:
        panel = []
        for w in widths:
            sel = sorted((r for r in rows if r["width"] == w and r["dtype"] == dtype), key=lambda r: r["p"])
            if not sel:
                continue
            ps, n = [r["p"] for r in sel], [r["repeats"] for r in sel]
            for key, what, style, filled in (("ratio_zero", "x = 0", "o-", True),
                                             ("ratio_random", "random x", "s--", False)):
                ys = [r[key] for r in sel]
                lo = [r.get(f"{key}_lo", y) if r.get(f"{key}_lo") is not None else y for r, y in zip(sel, ys)]
                hi = [r.get(f"{key}_hi", y) if r.get(f"{key}_hi") is not None else y for r, y in zip(sel, ys)]
                panel.append(Curve(f"w = {w}, {what}", ps, ys, lo, hi, n, style, color[w], filled, "rounds"))
        out[dtype] = panel
    mm = []
    for w in widths:
        for dtype, style, filled in zip(dtypes, ("o-", "s--"), (True, False)):
            sel = sorted((r for r in rows if r["width"] == w and r["dtype"] == dtype), key=lambda r: r["p"])
            if not sel:
                continue
            ys = [r["ratio_matmul"] for r in sel]
            runs = [r.get("matmul_runs") or len(_as_list(r.get("ratios_matmul") or [0])) for r in sel]
            lo = [r["ratio_matmul_lo"] if r.get("ratio_matmul_lo") is not None else y for r, y in zip(sel, ys)]
            hi = [r["ratio_matmul_hi"] if r.get("ratio_matmul_hi") is not None else y for r, y in zip(sel, ys)]
            mm.append(Curve(f"w = {w}, {dtype}", [r["p"] for r in sel], ys, lo, hi, runs, style, color[w], filled,
                           "runs"))
    out["A @ B"] = mm
    return out


def figure(rows: list[dict]):
    """The figure of one ``nsad matmul`` run (see :func:`curves`); not saved."""
    panels = curves(rows)
    fig, axes = new_figure(5.2 * len(panels), 4.6, ncols=len(panels))
    depth = rows[0].get("depth", 4) if rows else 4
    for ax, (name, cs) in zip(axes, panels.items()):
        for c in cs:
            draw(ax, c)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        if name == "A @ B":
            goal_line(ax, MATMUL_GOAL, f"goal {MATMUL_GOAL} (w >= {GOAL_MIN_WIDTH}, p >= {GOAL_MIN_P})")
            ax.axhline(MATMUL_FLOOR, color="0.4", lw=1, ls="--", label=f"floor {MATMUL_FLOOR:g} (2p columns)")
            ax.set_xlabel("p, columns of B (count)")
            ax.set_ylabel("time ratio: A@B via directional derivatives / A@B")
            ax.set_title("A @ B through 2p directional derivatives\n(median run, 95% CI over runs)", fontsize=10)
        else:
            goal_line(ax, DD_GOAL, f"goal {DD_GOAL} (w >= {GOAL_MIN_WIDTH}, p >= {GOAL_MIN_P})")
            ax.set_xlabel("p, number of directions (count)")
            ax.set_ylabel("time ratio: directional derivatives / products")
            ax.set_title(f"p directional derivatives vs the same GEMMs ({name})\n"
                         "(median of rounds, 95% bootstrap CI)", fontsize=10)
        ax.grid(True, which="both", lw=0.3)
        legend(ax, ncol=1)
    run = rows[0].get("run_id") if rows else None
    fig.suptitle(f"nsad matmul: dense random ReLU network, depth {depth}, w x w layers"
                 + (f" (run {run})" if run else ""), fontsize=11)
    return fig


def plot(rows: list[dict], path: str) -> list[str]:
    """Ratios vs ``p`` per width (one panel per dtype, plus A@B); writes PATH as PNG and SVG.

    >>> import tempfile, os
    >>> rows = list(run_grid([8], [1, 2], ["float64"], repeats=1, use_torch=False, min_sample=0))
    >>> [os.path.basename(f) for f in plot(rows, os.path.join(tempfile.mkdtemp(), "mm"))]
    ['mm.png', 'mm.svg']
    """
    return save_figure(figure(rows), path)
