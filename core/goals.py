"""The one wording every benchmark prints next to a measured figure: ``met`` or ``missed`` against
its goal (``n/a`` when nothing was measured). Pure Python, so every package can use it.
"""

from __future__ import annotations

__all__ = ["goal"]


def goal(value, limit, *, at_most: bool = True) -> str:
    """``"met"`` or ``"missed"`` for a measured ``value`` against a goal ``limit`` (``"n/a"`` when
    nothing was measured): the one wording every benchmark prints next to its figures.

    >>> goal(2.07, 1.3), goal(0.9, 2.0), goal(256, 14, at_most=False), goal(None, 1)
    ('missed', 'met', 'met', 'n/a')
    """
    if value is None:
        return "n/a"
    return "met" if (value <= limit if at_most else value >= limit) else "missed"
