"""The nonsmooth AD engine: exact directional derivatives, backward mode, LD-derivatives, costs, Clarke.

* :func:`directional_derivatives` (kink rule ``max(dz, 0)`` where ``z = 0``), :func:`backward`
  (``relu'(0) = s``), :func:`lexicographic_derivative` (Khan-Barton LD rule), with operation counts
  (:mod:`nsad.networks.ad.costs`, docs/theory.md section 5);
* :func:`clarke_subdifferential_at_zero` for small networks;
* :mod:`nsad.networks.ad.reference`: a tiny scalar pure-Python engine the vectorised one is
  cross-checked against.

It depends on :mod:`nsad.networks` (the network value) and on nothing else of the project.
"""

from nsad.networks.ad.primitives import ReLU, check_slope
from nsad.networks.ad.costs import (
    BACKWARD_RATIO,
    OpCount,
    backward_ops,
    column_cost,
    directional_ops,
    evaluation_ops,
    forward_gradient_ops,
    lexicographic_ops,
)
from nsad.networks.ad.forward import (
    DirectionalDerivatives,
    Evaluation,
    check_directional_derivatives,
    difference_quotient,
    directional_derivatives,
    forward_pass,
)
from nsad.networks.ad.backward import Backward, backward
from nsad.networks.ad.lexicographic import LexicographicDerivative, lexicographic_derivative, lexicographic_point
from nsad.networks.ad.clarke import (
    ClarkePolytope,
    ConservativeSample,
    Piece,
    backprop_at_zero,
    clarke_subdifferential_at_zero,
    conservative_gradients_at_zero,
)


__all__ = [
    "ReLU", "check_slope",
    "BACKWARD_RATIO", "OpCount", "backward_ops", "column_cost", "directional_ops", "evaluation_ops",
    "forward_gradient_ops", "lexicographic_ops",
    "DirectionalDerivatives", "Evaluation", "check_directional_derivatives", "difference_quotient",
    "directional_derivatives", "forward_pass",
    "Backward", "backward",
    "LexicographicDerivative", "lexicographic_derivative", "lexicographic_point",
    "ClarkePolytope", "ConservativeSample", "Piece", "backprop_at_zero", "clarke_subdifferential_at_zero",
    "conservative_gradients_at_zero",
]
