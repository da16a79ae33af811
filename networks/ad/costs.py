"""Operation counts of the AD engines (docs/theory.md, "Cost model").

Multiply-adds: a matrix with ``nnz`` nonzeros costs ``nnz`` per column it multiplies; a ReLU, a
mask or a kink rule costs its width per column. For one column (one point, one direction, one
seed) a pass through the network therefore costs

    ``c(F) = sum_k nnz(M_k) + sum_{k<L} w_k``

and the engines cost, exactly (these are the formulas the engines report and the tests check):

==============================================  ===============================================
evaluation at ``b`` points                      ``b * c(F)``
backward at ``b`` points, ``q`` seeds           ``b * c(F)`` (forward, values and masks' inputs)
                                                ``+ b * q * c(F)`` (transposed products, masks)
``p`` directional derivatives at ``x != 0``     ``(p + 1) * c(F)`` (the values ride along as one
                                                extra column: ``F'(x; x) = F(x)``)
``p`` directional derivatives at ``x = 0``      ``p * c(F)`` (every ``z`` is 0: no values needed)
LD-derivative with ``M`` (``n`` columns)        as ``n`` directional derivatives, plus ``solve``
                                                ``= n**3 + n_out * n**2`` when ``M`` is not the
                                                identity (Gaussian elimination for ``J``; stated
                                                separately, not part of ``c(F)``)
==============================================  ===============================================

So for a scalar output, **backward / evaluation = 2 exactly** (:data:`BACKWARD_RATIO`), whatever
``n``; a full gradient by forward mode (``n`` directions) costs ``(n + 1) * c(F)``.

>>> OpCount(matmul=10, elementwise=4).total
14
>>> (OpCount(1, 2) + OpCount(3, 4)) * 2
OpCount(matmul=8, elementwise=12, solve=0)
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from nsad.networks.ad.engine import layer_nnz, widths

__all__ = [
    "OpCount",
    "BACKWARD_RATIO",
    "column_cost",
    "evaluation_ops",
    "backward_ops",
    "directional_ops",
    "lexicographic_ops",
    "forward_gradient_ops",
]

#: backward ops / evaluation ops for a scalar-output network at one point (any network, any n).
BACKWARD_RATIO = 2


@dataclass(frozen=True)
class OpCount:
    """Multiply-adds in matrix products, elementwise work (ReLUs, masks, kink rules), and solves."""

    matmul: int = 0
    elementwise: int = 0
    solve: int = 0

    @property
    def total(self) -> int:
        return self.matmul + self.elementwise + self.solve

    def __add__(self, other: "OpCount") -> "OpCount":
        return OpCount(self.matmul + other.matmul, self.elementwise + other.elementwise, self.solve + other.solve)

    def __mul__(self, k: int) -> "OpCount":
        return OpCount(self.matmul * k, self.elementwise * k, self.solve * k)

    __rmul__ = __mul__

    def ratio(self, other: "OpCount") -> Fraction:
        """``self.total / other.total`` as an exact Fraction.

        >>> OpCount(6, 2).ratio(OpCount(3, 1))
        Fraction(2, 1)
        """
        return Fraction(self.total, other.total)

    def to_dict(self) -> dict:
        return {"matmul": self.matmul, "elementwise": self.elementwise, "solve": self.solve, "total": self.total}


def column_cost(net) -> OpCount:
    """``c(F)``: one column through every matrix and every hidden ReLU.

    >>> from nsad.networks.ad.engine import PreparedNetwork
    >>> import numpy as np
    >>> column_cost(PreparedNetwork.from_dense([np.ones((3, 2)), np.ones((1, 3))]))
    OpCount(matmul=9, elementwise=3, solve=0)
    """
    return OpCount(sum(layer_nnz(net)), sum(widths(net)[:-1]))


def evaluation_ops(net, points: int = 1) -> OpCount:
    """Cost of evaluating ``F`` at ``points`` points.

    >>> from nsad.networks.ad.engine import PreparedNetwork
    >>> import numpy as np
    >>> evaluation_ops(PreparedNetwork.from_dense([np.ones((3, 2)), np.ones((1, 3))]), points=2).total
    24
    """
    return column_cost(net) * points


def backward_ops(net, points: int = 1, seeds: int = 1) -> OpCount:
    """Cost of backpropagation at ``points`` points with ``seeds`` cotangents each (forward included).

    >>> from nsad.networks.ad.engine import PreparedNetwork
    >>> import numpy as np
    >>> net = PreparedNetwork.from_dense([np.ones((3, 2)), np.ones((1, 3))])
    >>> backward_ops(net).ratio(evaluation_ops(net)) == BACKWARD_RATIO
    True
    """
    c = column_cost(net)
    return c * points + c * (points * seeds)


def directional_ops(net, directions: int, at_zero: bool = False) -> OpCount:
    """Cost of ``directions`` one-sided directional derivatives at one point.

    >>> from nsad.networks.ad.engine import PreparedNetwork
    >>> import numpy as np
    >>> net = PreparedNetwork.from_dense([np.ones((3, 2)), np.ones((1, 3))])
    >>> directional_ops(net, 4).total, directional_ops(net, 4, at_zero=True).total
    (60, 48)
    """
    c = column_cost(net)
    return c * (directions if at_zero else directions + 1)


def forward_gradient_ops(net) -> OpCount:
    """Cost of a full gradient by forward mode: ``n`` directions at a point ``x != 0``.

    >>> from nsad.networks.ad.engine import PreparedNetwork
    >>> import numpy as np
    >>> forward_gradient_ops(PreparedNetwork.from_dense([np.ones((3, 2)), np.ones((1, 3))])).total
    36
    """
    return directional_ops(net, int(net.n_inputs), at_zero=False)


def lexicographic_ops(net, at_zero: bool = False, identity: bool = True) -> OpCount:
    """Cost of the LD-derivative with an ``n x n`` direction matrix (``identity``: no solve).

    >>> from nsad.networks.ad.engine import PreparedNetwork
    >>> import numpy as np
    >>> net = PreparedNetwork.from_dense([np.ones((3, 2)), np.ones((1, 3))])
    >>> lexicographic_ops(net, identity=False)
    OpCount(matmul=27, elementwise=9, solve=12)
    """
    n = int(net.n_inputs)
    ops = directional_ops(net, n, at_zero=at_zero)
    if not identity:
        ops = ops + OpCount(solve=n ** 3 + int(net.n_outputs) * n ** 2)
    return ops
