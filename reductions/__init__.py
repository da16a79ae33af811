"""Reductions into the network world (docs/theory.md sections 2 and 4).

- ``reductions.sat_to_relu``: a CNF formula -> a bias-free ReLU network with weights in {-1, 0, 1}
  that has two distinct Clarke subgradients at 0 iff the formula is satisfiable; ``decode``,
  ``encode``, the exact reference value and certificates built from a satisfying assignment.
- ``reductions.matmul``: matrix multiplication as batched directional derivatives.

Submodules are imported on demand (``from reductions.sat_to_relu import reduce``), so importing this
package costs nothing.
"""
