"""A tiny, obviously-correct scalar AD engine (micrograd-sized, pure Python, exact).

Each unit of the network becomes a :class:`Node` holding an exact value (int or Fraction); a node
is an input, a linear combination ``sum_j w_j * parent_j``, or ``relu(parent)``. Forward mode,
backward mode and the LD rule walk the node list one scalar at a time, taking ReLU's rules from
:class:`networks.ad.primitives.ReLU` -- the same single source the vectorised engines use. It is meant
for cross-checking the vectorised engines on small networks, not for speed.

>>> import numpy as np, scipy.sparse as sp
>>> class AbsNet:  # |x| = relu(x) + relu(-x), anything with .matrices works
...     matrices = (sp.csr_array(np.array([[1], [-1]])), sp.csr_array(np.array([[1, 1]])))
>>> g = Graph.build(AbsNet(), [0])
>>> g.values(), g.directional([-3]), g.backward(s=1), g.lexicographic([[-1]])
((0,), (3,), ((0,),), ((1,),))
"""

from __future__ import annotations

from fractions import Fraction

from nsad.networks.ad.primitives import ReLU, check_slope

__all__ = ["Node", "Graph"]


def _exact(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    f = Fraction(v) if not isinstance(v, float) else Fraction(v)
    return int(f) if f.denominator == 1 else f


def _clean(v):
    if isinstance(v, Fraction) and v.denominator == 1:
        return int(v.numerator)
    return v


class Node:
    """One scalar: ``op`` is ``"input"``, ``"linear"`` (parents with weights) or ``"relu"``."""

    __slots__ = ("value", "op", "parents", "weights")

    def __init__(self, value, op, parents=(), weights=()):
        self.value = value
        self.op = op
        self.parents = tuple(parents)
        self.weights = tuple(weights)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Node({self.value!r}, {self.op})"

    @staticmethod
    def linear(parents, weights) -> "Node":
        return Node(sum((w * p.value for p, w in zip(parents, weights)), 0), "linear", parents, weights)

    @staticmethod
    def relu(parent) -> "Node":
        return Node(ReLU.value(parent.value), "relu", (parent,), (1,))


class Graph:
    """The expression graph of a network at a point: nodes in topological order.

    >>> import numpy as np, scipy.sparse as sp
    >>> class Relu1:  # relu(x1) on R^2
    ...     matrices = (sp.csr_array(np.array([[1, 0]])), sp.csr_array(np.array([[1]])))
    >>> g = Graph.build(Relu1(), [0, 5])
    >>> g.directional([-1, 0]), g.directional([2, 0]), g.lexicographic([[0, 1], [1, 0]])
    ((0,), (2,), ((0, 1),))
    >>> g.backward(s=Fraction(1, 2)), g.backward(s=0, cotangent=[3])
    (((Fraction(1, 2), 0),), ((0, 0),))
    """

    def __init__(self, nodes, inputs, outputs):
        self.nodes = list(nodes)
        self.inputs = list(inputs)
        self.outputs = list(outputs)

    @classmethod
    def build(cls, net, x) -> "Graph":
        """Unroll ``net`` (its CSR ``matrices``) at the exact point ``x``, one node per unit.

        >>> import numpy as np, scipy.sparse as sp
        >>> class Id:
        ...     matrices = (sp.csr_array(np.array([[2]])),)
        >>> len(Graph.build(Id(), [3]).nodes), Graph.build(Id(), [3]).values()
        (2, (6,))
        """
        inputs = [Node(_exact(v), "input") for v in x]
        nodes = list(inputs)
        h = inputs
        mats = list(net.matrices)
        for k, M in enumerate(mats):
            indptr, indices, data = M.indptr.tolist(), M.indices.tolist(), M.data.tolist()
            z = []
            for i in range(M.shape[0]):
                cols = range(indptr[i], indptr[i + 1])
                node = Node.linear([h[indices[j]] for j in cols], [_exact(data[j]) for j in cols])
                nodes.append(node)
                z.append(node)
            if k < len(mats) - 1:
                h = [Node.relu(node) for node in z]
                nodes.extend(h)
            else:
                h = z
        return cls(nodes, inputs, h)

    def values(self) -> tuple:
        """``F(x)`` (a tuple, one entry per output)."""
        return tuple(_clean(o.value) for o in self.outputs)

    def directional(self, d) -> tuple:
        """``F'(x; d)`` by forward mode with the kink rule ``max(dz, 0)``."""
        tan = {}
        for node, v in zip(self.inputs, d):
            tan[id(node)] = _exact(v)
        for node in self.nodes:
            if node.op == "linear":
                tan[id(node)] = sum((w * tan[id(p)] for p, w in zip(node.parents, node.weights)), 0)
            elif node.op == "relu":
                tan[id(node)] = ReLU.directional(node.parents[0].value, tan[id(node.parents[0])])
        return tuple(_clean(tan[id(o)]) for o in self.outputs)

    def lexicographic(self, M) -> tuple:
        """``F'(x; M)`` by forward mode with the LD rule; rows are outputs, columns directions."""
        n_dirs = len(M[0]) if len(M) else 0
        tan = {}
        for i, node in enumerate(self.inputs):
            tan[id(node)] = tuple(_exact(M[i][j]) for j in range(n_dirs))
        for node in self.nodes:
            if node.op == "linear":
                row = [0] * n_dirs
                for p, w in zip(node.parents, node.weights):
                    row = [a + w * b for a, b in zip(row, tan[id(p)])]
                tan[id(node)] = tuple(row)
            elif node.op == "relu":
                tan[id(node)] = ReLU.lexicographic(node.parents[0].value, tan[id(node.parents[0])])
        return tuple(tuple(_clean(v) for v in tan[id(o)]) for o in self.outputs)

    def backward(self, s=0, cotangent=None) -> tuple:
        """Backpropagation with ``relu'(0) = s``: one gradient row per seed.

        ``cotangent=None`` seeds every output in turn (the conservative Jacobian); otherwise one row
        for the seed ``cotangent``.
        """
        s = check_slope(s)
        s = _exact(s)
        seeds = ([tuple(int(i == j) for j in range(len(self.outputs))) for i in range(len(self.outputs))]
                 if cotangent is None else [tuple(_exact(c) for c in cotangent)])
        rows = []
        for seed in seeds:
            adj = {id(node): 0 for node in self.nodes}
            for o, c in zip(self.outputs, seed):
                adj[id(o)] += c
            for node in reversed(self.nodes):
                a = adj[id(node)]
                if a == 0:
                    continue
                if node.op == "linear":
                    for p, w in zip(node.parents, node.weights):
                        adj[id(p)] += w * a
                elif node.op == "relu":
                    p = node.parents[0]
                    adj[id(p)] += ReLU.conservative(p.value, s) * a
            rows.append(tuple(_clean(adj[id(i)]) for i in self.inputs))
        return tuple(rows)
