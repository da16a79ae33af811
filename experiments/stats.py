"""Interval estimates for the plots and tables: Wilson intervals for proportions, bootstrap intervals
for medians of times and time ratios.

Conventions: every interval is a 95 % interval by default; functions return plain floats; the
bootstrap is seeded (the same samples give the same interval) and vectorised (one numpy draw of
``resamples x len(samples)`` indices).

>>> [round(v, 4) for v in wilson(81, 263)]  # Newcombe (1998), method 3
[0.2553, 0.3662]
>>> lo, mid, hi = median_ci([1.0, 2.0, 3.0, 4.0, 100.0])
>>> lo <= mid <= hi and mid == 3.0
True
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

Z95 = 1.959963984540054
RESAMPLES = 2000


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for ``k`` successes in ``n`` trials (``(0, 1)`` when ``n = 0``).

    >>> [round(v, 4) for v in wilson(0, 10)]
    [0.0, 0.2775]
    """
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


def median_ci(samples: Sequence[float], level: float = 0.95, resamples: int = RESAMPLES,
              seed: int = 0) -> tuple[float, float, float]:
    """``(lo, median, hi)``: the sample median and its percentile-bootstrap interval.

    One sample gives ``(x, x, x)``; the interval always contains the median (percentiles of the
    resampled medians, widened to the sample median if the resamples all fall to one side).

    >>> median_ci([2.0])
    (2.0, 2.0, 2.0)
    >>> lo, m, hi = median_ci([1.0, 1.1, 0.9, 1.05, 0.95])
    >>> 0.9 <= lo <= m <= hi <= 1.1
    True
    """
    x = np.asarray([float(s) for s in samples], dtype=float)
    if x.size == 0:
        raise ValueError("median_ci needs at least one sample")
    mid = float(np.median(x))
    if x.size == 1:
        return mid, mid, mid
    rng = np.random.default_rng([seed, x.size])
    meds = np.median(x[rng.integers(0, x.size, size=(resamples, x.size))], axis=1)
    a = (1 - level) / 2
    lo, hi = np.quantile(meds, [a, 1 - a])
    return min(float(lo), mid), mid, max(float(hi), mid)


def ratio_ci(num: Sequence[float], den: Sequence[float], level: float = 0.95, resamples: int = RESAMPLES,
             seed: int = 0) -> tuple[float, float, float]:
    """``(lo, median(num) / median(den), hi)``: a ratio of medians of paired samples (round ``i`` of
    ``num`` and of ``den`` were timed together) and its percentile-bootstrap interval (pairs
    resampled together); the interval contains the ratio.

    >>> lo, r, hi = ratio_ci([2.0, 2.2, 1.9, 2.1], [1.0, 1.1, 1.0, 1.0])
    >>> lo <= r <= hi and round(r, 3)  # medians 2.05 and 1.0
    2.05
    """
    a = np.asarray([float(v) for v in num], dtype=float)
    b = np.asarray([float(v) for v in den], dtype=float)
    if a.size == 0 or a.size != b.size:
        raise ValueError("ratio_ci needs paired samples of the same, nonzero length")
    mid = float(np.median(a) / np.median(b))
    if a.size == 1:
        return mid, mid, mid
    rng = np.random.default_rng([seed, a.size])
    idx = rng.integers(0, a.size, size=(resamples, a.size))
    boot = np.median(a[idx], axis=1) / np.median(b[idx], axis=1)
    q = (1 - level) / 2
    lo, hi = np.quantile(boot, [q, 1 - q])
    return min(float(lo), mid), mid, max(float(hi), mid)
