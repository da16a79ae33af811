"""ReLU's differentiation rules, all in one place (docs/theory.md sections 1, 4 and 5).

Every engine of this package (the vectorised ones in ``forward``, ``backward`` and
``lexicographic``, and the scalar reference in ``reference``) takes its rules from the class
:class:`ReLU` below and nowhere else. The rules differ only at the kink ``z = 0``:

=====================  ===========  ===========  ==================================================
rule                   ``z > 0``    ``z < 0``    ``z = 0`` (the convention at the kink)
=====================  ===========  ===========  ==================================================
value                  ``z``        ``0``        ``0``
directional            ``dz``       ``0``        ``max(dz, 0)`` -- exact one-sided derivative,
                                                 *not* linear in ``dz``
conservative (``s``)   ``1``        ``0``        ``s``, a chosen number in [0, 1] (autodiff's
                                                 ``relu'(0)``)
lexicographic (LD)     row ``r``    ``0``        ``r`` if the first nonzero entry of the row ``r``
                                                 is positive, else ``0`` (Khan and Barton)
=====================  ===========  ===========  ==================================================

The backward rule is not the transpose of the directional one: nonsmooth rules are not linear in
the direction, so each is written out separately. Kinks are detected by the exact test ``z == 0``
(no tolerance): on the exact path values are ints or Fractions; on the float path with integer
weights and integer points every value is an exactly represented integer below 2**53.

Scalar methods take and return Python numbers (ints, Fractions, floats); the ``*_array`` methods do
the same work on numpy arrays, one row per unit and one column per direction / point.

>>> ReLU.value(-3), ReLU.directional(0, -2), ReLU.directional(0, 5), ReLU.conservative(0, 1)
(0, 0, 5, 1)
>>> ReLU.lexicographic(0, (0, -1, 4))
(0, 0, 0)
"""

from __future__ import annotations

from fractions import Fraction
from numbers import Real

import numpy as np

__all__ = ["ReLU", "check_slope"]


def check_slope(s) -> Real:
    """Validate the conservative-gradient convention ``relu'(0) = s``, a real number in [0, 1].

    Ints and Fractions are kept exact; floats are kept as floats.

    >>> check_slope(Fraction(1, 2))
    Fraction(1, 2)
    >>> check_slope(2)
    Traceback (most recent call last):
    ...
    ValueError: relu_prime_at_zero must be a number in [0, 1], got 2
    """
    if isinstance(s, (bool, np.bool_)) or not isinstance(s, (Real, np.integer, np.floating)):
        raise ValueError(f"relu_prime_at_zero must be a number in [0, 1], got {s!r}")
    if isinstance(s, np.integer):
        s = int(s)
    elif isinstance(s, np.floating):
        s = float(s)
    if not (0 <= s <= 1):
        raise ValueError(f"relu_prime_at_zero must be a number in [0, 1], got {s!r}")
    return s


class ReLU:
    """The rules of ``relu(z) = max(z, 0)`` (value, directional, conservative, lexicographic)."""

    # ---- scalar rules (the reference engine uses these) -------------------------------------
    @staticmethod
    def value(z):
        """``max(z, 0)``.

        >>> ReLU.value(Fraction(1, 3))
        Fraction(1, 3)
        """
        return z if z > 0 else 0 * z

    @staticmethod
    def directional(z, dz):
        """One-sided derivative of relu at ``z`` along ``dz``: ``dz``, ``0``, or ``max(dz, 0)`` at 0.

        >>> [ReLU.directional(z, dz) for z, dz in ((1, -2), (-1, 2), (0, -2), (0, 2))]
        [-2, 0, 0, 2]
        """
        if z > 0:
            return dz
        if z < 0:
            return 0 * dz
        return dz if dz > 0 else 0 * dz

    @staticmethod
    def conservative(z, s):
        """The factor backpropagation applies: ``1``, ``0``, or the convention ``s`` at ``z = 0``.

        >>> ReLU.conservative(0, Fraction(1, 2)), ReLU.conservative(-1, 1)
        (Fraction(1, 2), 0)
        """
        if z > 0:
            return 1
        if z < 0:
            return 0
        return s

    @staticmethod
    def lexicographic(z, row):
        """LD rule on one unit: ``row`` (a tuple of tangent entries, one per direction of ``M``).

        At ``z = 0`` the row passes when its first nonzero entry is positive, else it becomes 0.

        >>> ReLU.lexicographic(0, (0, 3, -5)), ReLU.lexicographic(2, (0, -1))
        ((0, 3, -5), (0, -1))
        """
        if z > 0:
            return tuple(row)
        if z < 0:
            return tuple(0 * r for r in row)
        for r in row:
            if r != 0:
                return tuple(row) if r > 0 else tuple(0 * v for v in row)
        return tuple(row)

    # ---- array rules (the vectorised engines use these) -------------------------------------
    @staticmethod
    def value_array(Z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Elementwise ``max(Z, 0)`` (works on float, int and object arrays).

        >>> ReLU.value_array(np.array([-1.0, 0.0, 2.0]))
        array([0., 0., 2.])
        """
        if Z.dtype == object:
            res = np.where(Z > 0, Z, 0)
            if out is not None:
                out[...] = res
                return out
            return res
        return np.maximum(Z, 0, out=out)

    @staticmethod
    def directional_array(z: np.ndarray | None, dZ: np.ndarray, *, inplace: bool = False) -> np.ndarray:
        """Apply the directional rule to ``dZ`` (rows = units, columns = directions) at values ``z``.

        ``z is None`` means every unit is at its kink (the point ``x = 0``): ``dH = max(dZ, 0)``.
        With ``inplace=True`` the float array ``dZ`` is overwritten and returned (no copy).

        >>> z = np.array([1.0, -1.0, 0.0])
        >>> ReLU.directional_array(z, np.array([[-2.0, 3.0], [4.0, 5.0], [-6.0, 7.0]]))
        array([[-2.,  3.],
               [ 0.,  0.],
               [ 0.,  7.]])
        """
        if dZ.dtype == object:
            if z is None:
                return np.where(dZ > 0, dZ, 0)
            zc = z[:, None]
            return np.where(zc > 0, dZ, np.where((zc == 0) & (dZ > 0), dZ, 0))
        out = dZ if inplace else None
        if z is None:
            return np.maximum(dZ, 0, out=out)
        zero = np.flatnonzero(z == 0)
        kept = np.maximum(dZ[zero], 0) if zero.size else None
        res = np.multiply(dZ, (z > 0)[:, None], out=out)
        if zero.size:
            res[zero] = kept
        return res

    @staticmethod
    def conservative_array(Z: np.ndarray, s, dtype=None) -> np.ndarray:
        """The backpropagation factors ``1 / 0 / s`` for an array of values ``Z`` (same shape).

        ``dtype`` defaults to float64 for float ``Z``, int64 for integer ``Z`` when ``s`` is 0 or 1,
        and object (exact) otherwise.

        >>> ReLU.conservative_array(np.array([2, 0, -1]), 1)
        array([1, 1, 0])
        >>> ReLU.conservative_array(np.array([2.0, 0.0, -1.0]), 0.5)
        array([1. , 0.5, 0. ])
        """
        if dtype is None:
            if Z.dtype.kind == "f":
                dtype = Z.dtype
            elif s in (0, 1) and not isinstance(s, float):
                dtype = np.int64
            else:
                dtype = object
        if np.dtype(dtype) == object:
            mask = np.where(Z > 0, 1, 0).astype(object)
        else:
            mask = (Z > 0).astype(dtype)
        if s != 0:
            mask[Z == 0] = s
        return mask

    @staticmethod
    def conservative_mask(Z: np.ndarray, s) -> np.ndarray:
        """The factors of :meth:`conservative_array` in their cheapest exact form: a bool array when
        ``s`` is 0 (``z > 0``) or 1 (``z >= 0``), the full array otherwise (float ``Z`` only).

        >>> ReLU.conservative_mask(np.array([2.0, 0.0, -1.0]), 1)
        array([ True,  True, False])
        """
        if s == 0:
            return Z > 0
        if s == 1:
            return Z >= 0
        return ReLU.conservative_array(Z, s)

    @staticmethod
    def lexicographic_array(z: np.ndarray | None, dZ: np.ndarray, *, inplace: bool = False) -> np.ndarray:
        """Apply the LD rule to ``dZ`` (rows = units, columns = the directions ``m_1, m_2, ...``).

        ``z is None`` means every unit is at its kink. Rows at a kink are kept when their first
        nonzero entry is positive and set to 0 otherwise.

        >>> ReLU.lexicographic_array(np.zeros(3), np.array([[0.0, 2.0], [0.0, -2.0], [-1.0, 5.0]]))
        array([[0., 2.],
               [0., 0.],
               [0., 0.]])
        """
        res = dZ if inplace else dZ.copy()
        if z is None:
            zero = np.arange(res.shape[0])
        else:
            zero = np.flatnonzero(z == 0)
            np.multiply(res, (z >= 0)[:, None], out=res)  # rows at z < 0 become 0; kinks below
        if zero.size and res.shape[1]:
            sub = res[zero]
            nz = sub != 0
            first = nz.argmax(axis=1)
            lead = sub[np.arange(zero.size), first]
            drop = zero[~(lead > 0).astype(bool)]
            res[drop] = 0
        return res

