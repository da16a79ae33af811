"""Experiment: the Clarke polytope at 0 beside what backpropagation returns (docs/theory.md section 1).

Protocol
--------
What is computed for one small scalar network (``n <= 6`` inputs, a few dozen hidden units):

- ``dF(0)`` exactly: :func:`networks.ad.clarke.clarke_subdifferential_at_zero` (every piece gradient
  confirmed by an exact integer witness; vertices of the hull exact in low dimension);
- the points of ``D^a_F(0)`` given by the vertex choices of the ``D_k`` (all ``2^units`` choices when
  at most ``max_points``, a seeded sample otherwise), exactly;
- what backpropagation at 0 returns with ``relu'(0) = 0`` and ``relu'(0) = 1`` -- computed by the
  engine (:func:`networks.ad.backward.backward`) and checked against the closed form
  ``s^(L-1) M_1^T ... M_L^T`` -- and whether each lies in ``dF(0)`` (float LP on the vertices).

No timing: every number is exact and deterministic (the sample of ``D^a_F(0)`` depends on the
seed only). For ``n = 2`` the plot shows the polytope (filled) with the ``D^a_F(0)`` points and the
two backpropagation outputs; for ``n = 3`` the same in three panels, the projections on the
coordinate planes; for ``n = 1`` the segment on a line. On the reduction network of an
unsatisfiable formula the polytope is ``{0}`` while backpropagation with ``s = 1`` typically returns
a nonzero vector outside it.
"""

from __future__ import annotations

import math

import numpy as np

from nsad.networks.ad.backward import backward
from nsad.networks.ad.clarke import (ClarkePolytope, ConservativeSample, backprop_at_zero, clarke_subdifferential_at_zero,
                             conservative_gradients_at_zero)


def _enc(v) -> int | str:
    return v if isinstance(v, int) else f"{v.numerator}/{v.denominator}"


def _vec(v) -> list:
    return [_enc(a) for a in v]


def analyse(net, *, max_points: int = 4096, seed: int = 0, max_regions: int = 5000) -> dict:
    """The polytope, the ``D^a_F(0)`` points and backpropagation at 0, as a JSON-ready dict.

    >>> from nsad.networks import ReluNetwork
    >>> rep = analyse(ReluNetwork([[[1], [-1]], [[-1, -2]], [[1]]]))  # F = 0, backprop(s=1) = 1
    >>> rep["clarke"]["gradients"], rep["backprop"]["s=1"], rep["backprop_in_clarke"]["s=1"]
    ([[0]], [1], False)
    """
    P = clarke_subdifferential_at_zero(net, max_regions=max_regions)
    S = conservative_gradients_at_zero(net, max_points=max_points, seed=seed)
    zero = [0] * int(net.n_inputs)
    bp = {}
    for s in (0, 1):
        closed = backprop_at_zero(net, s)
        engine = tuple(backward(net, zero, s).gradient.tolist())
        if engine != closed:  # pragma: no cover - a bug in the engine; tests check this identity
            raise AssertionError(f"backprop at 0 with s={s}: engine {engine} != closed form {closed}")
        bp[s] = closed
    inside = [P.contains(p) for p in S.points]
    return {
        "n": int(net.n_inputs),
        "depth": int(net.depth),
        "units": int(sum(net.widths[:-1])),
        "clarke": P.to_json(),
        "clarke_singleton": P.is_singleton,
        "conservative": {"points": [_vec(p) for p in S.points], "choices": S.choices, "exhaustive": S.exhaustive,
                         "inside_clarke": sum(inside), "outside_clarke": len(inside) - sum(inside)},
        "backprop": {f"s={s}": _vec(v) for s, v in bp.items()},
        "backprop_in_clarke": {f"s={s}": P.contains(v) for s, v in bp.items()},
        "_polytope": P,
        "_sample": S,
        "_backprop": bp,
    }


def public(rep: dict) -> dict:
    """``rep`` without the in-memory objects (what ``--json`` prints).

    >>> from nsad.networks import ReluNetwork
    >>> sorted(public(analyse(ReluNetwork([[[1], [-1]], [[1, 1]]]))))[:3]
    ['backprop', 'backprop_in_clarke', 'clarke']
    """
    return {k: v for k, v in rep.items() if not k.startswith("_")}


def format_report(rep: dict) -> str:
    """A human-readable summary of :func:`analyse`'s result.

    >>> from nsad.networks import ReluNetwork
    >>> print(format_report(analyse(ReluNetwork([[[1], [-1]], [[1, 1]]]))).splitlines()[2])
      vertices: (-1), (1)
    """
    P: ClarkePolytope = rep["_polytope"]
    S: ConservativeSample = rep["_sample"]

    def show(v):
        return "(" + ", ".join(str(a) for a in v) + ")"

    lines = [f"network: n={rep['n']} depth={rep['depth']} hidden units={rep['units']}",
             f"Clarke subdifferential at 0: {len(P.pieces)} piece gradient(s), {len(P.vertices)} vertices, "
             f"dimension {P.dimension} ({P.regions} activation regions, {P.lps} LPs"
             + (f", {P.unconfirmed} unconfirmed" if P.unconfirmed else "") + ")"]
    if P.is_singleton:
        lines.append(f"  dF(0) = {{{show(P.vertices[0])}}}  (F is linear)")
    else:
        lines.append("  vertices: " + ", ".join(show(v) for v in P.vertices))
        extra = [p.gradient for p in P.pieces if p.gradient not in set(P.vertices)]
        if extra:
            lines.append("  other piece gradients: " + ", ".join(show(v) for v in extra[:20])
                         + (" ..." if len(extra) > 20 else ""))
    for piece in P.pieces[:10]:
        lines.append(f"  gradient {show(piece.gradient)} at the generic point {show(piece.witness)}")
    lines.append(f"D^a_F(0) from vertex choices of D_k: {len(S.points)} distinct point(s) from {S.choices} "
                 f"choice(s) ({'all' if S.exhaustive else 'a sample'}); "
                 f"{rep['conservative']['outside_clarke']} outside dF(0)")
    for s in (0, 1):
        v = rep["_backprop"][s]
        inside = rep["backprop_in_clarke"][f"s={s}"]
        lines.append(f"backpropagation at 0 with relu'(0)={s}: {show(v)}  "
                     f"{'in dF(0)' if inside else 'NOT in dF(0)'}")
    return "\n".join(lines)


def _hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The vertices of the 2-D convex hull of ``points`` in counter-clockwise order (all of them,
    deduplicated, when they are collinear or fewer than three)."""
    pts = sorted(set(points))
    if len(pts) < 3:
        return pts
    from scipy.spatial import ConvexHull, QhullError

    try:
        hull = ConvexHull(np.array(pts))
    except QhullError:  # collinear: the segment's two ends
        return [pts[0], pts[-1]]
    return [pts[i] for i in hull.vertices]


def panels(rep: dict, certificate=None) -> list[dict]:
    """The plotted data: one panel per pair of coordinates (n = 2: one; n = 3: the three coordinate
    planes, each a projection; n = 1: the line), with the hull of the polytope's vertices in that
    plane, the piece gradients, the ``D^a_F(0)`` points, the two backpropagation outputs and, when
    ``certificate`` (a checked certificate's two gradients) is given, those two gradients.

    >>> from nsad.networks import ReluNetwork
    >>> ps = panels(analyse(ReluNetwork([[[1, 0], [-1, 0], [0, 1]], [[1, 1, 1]]])))  # |x1| + relu(x2)
    >>> [(p["axes"], sorted(p["hull"])) for p in ps]
    [((0, 1), [(-1.0, 0.0), (-1.0, 1.0), (1.0, 0.0), (1.0, 1.0)])]
    """
    n = rep["n"]
    if n not in (1, 2, 3):
        raise ValueError(f"the Clarke plot is drawn for n = 1, 2 or 3 inputs, this network has n = {n}")
    P: ClarkePolytope = rep["_polytope"]
    S: ConservativeSample = rep["_sample"]
    pairs = [(0, None)] if n == 1 else [(0, 1)] if n == 2 else [(0, 1), (0, 2), (1, 2)]
    out = []
    for i, j in pairs:
        def xy(v, i=i, j=j):
            return (float(v[i]), float(v[j]) if j is not None else 0.0)

        out.append({"axes": (i, j), "hull": _hull([xy(v) for v in P.vertices]),
                    "pieces": sorted({xy(p.gradient) for p in P.pieces}),
                    "sample": sorted({xy(p) for p in S.points}),
                    "backprop": {s: xy(rep["_backprop"][s]) for s in (0, 1)},
                    "certificate": [xy(g) for g in certificate] if certificate else []})
    return out


def figure(rep: dict, name: str | None = None, certificate=None):
    """The figure of :func:`panels` (not saved); ``name`` (the network's file) goes in the title."""
    from nsad.experiments.plotting import legend, new_figure

    S: ConservativeSample = rep["_sample"]
    ps = panels(rep, certificate)
    n = rep["n"]
    fig, axes = new_figure(5.0 * len(ps) if n > 1 else 7.0, 5.0 if n > 1 else 2.6, ncols=len(ps))
    for ax, p in zip(axes, ps):
        hull = p["hull"]
        label = "Clarke subdifferential dF(0)" + (" (projection)" if n == 3 else "")
        if len(hull) >= 3:
            ax.fill(*zip(*hull), color="tab:blue", alpha=0.25, label=label)
            ax.plot(*zip(*(hull + hull[:1])), color="tab:blue", lw=1.5)
        elif len(hull) == 2:
            ax.plot(*zip(*hull), color="tab:blue", lw=5, alpha=0.5, label=label)
        else:
            ax.plot(*zip(*hull), "o", color="tab:blue", ms=16, alpha=0.5, label=label)
        ax.plot(*zip(*p["pieces"]), "D", color="tab:blue", ms=6, label="piece gradients (exact)")
        ax.plot(*zip(*p["sample"]), ".", color="tab:gray", ms=6,
                label=f"D^a_F(0): {len(S.points)} points from {'all' if S.exhaustive else 'a sample of'} "
                f"{S.choices} vertex choices")
        for s, marker, color in ((0, "v", "tab:green"), (1, "*", "tab:red")):
            ax.plot(*p["backprop"][s], marker, color=color, ms=13, label=f"backprop at 0 with relu'(0) = {s}")
        if p["certificate"]:
            ax.plot(*zip(*p["certificate"]), "o", mfc="none", mec="black", mew=1.8, ms=16,
                    label="the certificate's two gradients (checked)")
        i, j = p["axes"]
        ax.set_xlabel(f"dF/dx{i + 1} (gradient coordinate {i + 1})")
        if j is not None:
            ax.set_ylabel(f"dF/dx{j + 1} (gradient coordinate {j + 1})")
            ax.set_aspect("equal", adjustable="datalim")
        else:
            ax.set_yticks([])
        ax.grid(True, lw=0.3)
    legend(axes[len(axes) // 2], ncol=2 if n > 1 else 1)
    what = f"{name}: " if name else ""
    fig.suptitle(f"{what}Clarke subdifferential at 0 vs backpropagation\n(n = {n}, {rep['units']} hidden units"
                 + (", projections on the coordinate planes)" if n == 3 else ")"), fontsize=11)
    return fig


def plot(rep: dict, path: str, name: str | None = None, certificate=None) -> list[str]:
    """The polytope beside the ``D^a_F(0)`` points and backprop outputs (n = 1, 2 or 3).

    >>> import tempfile, os
    >>> from nsad.networks import ReluNetwork
    >>> rep = analyse(ReluNetwork([[[1], [-1]], [[1, 1]]]))
    >>> [os.path.basename(f) for f in plot(rep, os.path.join(tempfile.mkdtemp(), "c"))]
    ['c.png', 'c.svg']
    """
    from nsad.experiments.plotting import save_figure

    return save_figure(figure(rep, name, certificate), path)


__all__ = ["analyse", "public", "format_report", "panels", "figure", "plot"]
