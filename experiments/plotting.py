"""What every plot of nsad shares: saving (PNG and SVG), readable legends, labelled threshold and
goal lines, and curves drawn with their intervals and sample counts.

Conventions: a curve is a :class:`Curve` (x, the point estimates, the interval bounds, the sample
count behind each point, a label); :func:`draw` draws the estimates as a line with markers and the
interval as error bars, and puts the range of sample counts in the legend entry (``20 formulas
each`` or ``12-20 formulas``), so no curve is shown without both. Plot modules build their curves with a pure
function (tested on the data, never on pixels) and draw them here.

>>> c = Curve("SAT", [1, 2], [0.5, 0.25], [0.3, 0.1], [0.7, 0.5], [20, 20])
>>> c.legend()
'SAT (20 samples each)'
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence

LEGEND_SIZE = 9
THRESHOLD_3SAT = 4.26  # the satisfiability threshold of random 3-SAT (Mertens, Mezard, Zecchina 2006: 4.267)


@dataclass(frozen=True)
class Curve:
    """One curve: ``y`` at ``x`` with interval ``[lo, hi]`` from ``count`` samples, per point."""

    label: str
    x: Sequence[float]
    y: Sequence[float]
    lo: Sequence[float]
    hi: Sequence[float]
    count: Sequence[int]
    style: str = "o-"
    color: str | None = None
    filled: bool = True
    unit: str = "samples"

    def legend(self) -> str:
        """The label with the sample counts: ``label (20 samples each)`` or ``label (12-20 samples)``."""
        counts = [int(c) for c in self.count]
        if not counts:
            return self.label
        lo, hi = min(counts), max(counts)
        return f"{self.label} ({lo} {self.unit} each)" if lo == hi else f"{self.label} ({lo}-{hi} {self.unit})"


def draw(ax, curve: Curve) -> None:
    """The estimates with markers, the interval as error bars (caps), the counts in the legend."""
    y = [float(v) for v in curve.y]
    below = [max(0.0, m - float(a)) for m, a in zip(y, curve.lo)]
    above = [max(0.0, float(b) - m) for m, b in zip(y, curve.hi)]
    kw = {} if curve.filled else {"mfc": "white"}
    ax.errorbar(list(curve.x), y, yerr=[below, above], fmt=curve.style, color=curve.color, capsize=3, lw=1.4,
                ms=5, elinewidth=1, label=curve.legend(), **kw)


def threshold_line(ax, x: float = THRESHOLD_3SAT, text: str = "satisfiability threshold ~4.26") -> None:
    """A labelled vertical line at the 3-SAT satisfiability threshold (in the legend and on the line)."""
    ax.axvline(x, color="0.4", lw=1, ls=":", label=text)
    ax.annotate(f"threshold ~{x:g}", xy=(x, 0.0), xycoords=("data", "axes fraction"), xytext=(3, 4),
                textcoords="offset points", fontsize=LEGEND_SIZE, color="0.3", rotation=90, va="bottom")


def goal_line(ax, y: float, text: str) -> None:
    """A labelled horizontal goal line (in the legend)."""
    ax.axhline(y, color="red", lw=1, ls=":", label=text)


def legend(ax, ncol: int | None = None, below: float = 0.15) -> None:
    """A legend readable at 100 % zoom, ``below`` (a fraction of the axes' height) under the axes:
    it never hides a point."""
    handles, labels = ax.get_legend_handles_labels()
    if ncol is None:
        ncol = 1 if max((len(t) for t in labels), default=0) > 45 else 2
    leg = ax.legend(handles, labels, fontsize=LEGEND_SIZE, loc="upper center", bbox_to_anchor=(0.5, -below),
                    ncol=ncol, frameon=False)
    leg.set_in_layout(False)  # the axes keep their size; the saved image grows to hold the legend


def plot_paths(path) -> list[str]:
    """``PATH`` as a PNG and an SVG file: ``x.png`` -> [x.png, x.svg]; ``x`` -> [x.png, x.svg].

    >>> plot_paths("out/ratio.svg"), plot_paths("r")
    (['out/ratio.png', 'out/ratio.svg'], ['r.png', 'r.svg'])
    """
    root, ext = os.path.splitext(os.fspath(path))
    if ext.lower() not in (".png", ".svg"):
        root = os.fspath(path)
    return [root + ".png", root + ".svg"]


def save_figure(fig, path, dpi: int = 100) -> list[str]:
    """Save ``fig`` as PNG and SVG (see :func:`plot_paths`), close it, return the file names."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    out = plot_paths(path)
    extra = fig.get_default_bbox_extra_artists() + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    for f in out:
        fig.savefig(f, dpi=dpi, bbox_inches="tight", bbox_extra_artists=extra)
    plt.close(fig)
    return out


def new_figure(width: float = 7.0, height: float = 4.5, ncols: int = 1):
    """A figure with ``ncols`` axes side by side, on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=(width, height), squeeze=False)
    return fig, list(axes[0])
