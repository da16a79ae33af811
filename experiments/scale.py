"""Scaling experiments behind ``nsad scale``: the phase transition and time versus n.

Protocol.

* **Phase transition** (``--ratio``): for every n in ``--n`` and every clause ratio in ``--ratio``
  (default 3.0, 3.25, ..., 5.5), ``--count`` uniform random 3-SAT formulas (the i-th drawn from
  ``SeedSequence([seed, i])``). Each is reduced and decided on the network side (two subgradients or
  not) and on the formula side (SAT or not); the fraction of positive answers per side and ratio is
  the phase-transition curve. The two curves must coincide formula by formula (checked per row).
* **Time versus n**: for every network method in ``--method``, the same formulas are decided; the
  report shows the median and quartiles of the wall-clock time per method and n on a log scale, and
  the fitted growth rate ``exp(b)`` of ``median time ~ exp(a + b n)`` per method.

Every (formula, method) pair is one task and one row of the ``verify`` table (``experiment =
'scale'``), written as it finishes, so an interrupted run resumes. Times are single measurements per
task (no repeats): medians over the ``--count`` formulas are the reported statistic.
"""

from __future__ import annotations

import numpy as np

DEFAULT_RATIOS = tuple(float(r) for r in np.round(np.arange(3.0, 5.51, 0.25), 2))
DEFAULT_N = (6, 8, 10)
DEFAULT_COUNT = 10


def growth_rate(ns, times) -> float | None:
    """Fit ``log t = a + b n`` by least squares and return ``exp(b)`` (the factor per extra variable).

    >>> round(growth_rate([10, 20, 30], [1e-3, 2e-3, 4e-3]) ** 10, 6)
    2.0
    """
    ns, times = np.asarray(ns, float), np.asarray(times, float)
    ok = times > 0
    if ok.sum() < 2 or len(set(ns[ok])) < 2:
        return None
    b, _a = np.polyfit(ns[ok], np.log(times[ok]), 1)
    return float(np.exp(b))
