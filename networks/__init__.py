"""Core values of nsad: bias-free ReLU networks, exact gradients, certificates, nonsmooth AD.

This package depends on nothing else in the project.

* :class:`ReluNetwork`, :class:`Certificate`, :func:`check` — the network value and exact checking;
* :func:`directional_derivatives` (kink rule ``max(dz, 0)`` where ``z = 0``), :func:`backward`
  (``relu'(0) = s``), :func:`lexicographic_derivative` (Khan-Barton LD rule), with operation counts;
* :func:`clarke_subdifferential_at_zero` for small networks.
"""

from networks.certificate import Certificate, CheckResult, check
from networks.relu_network import Linearization, NetworkError, ReluNetwork
from networks.primitives import ReLU, check_slope
from networks.costs import (
    BACKWARD_RATIO,
    OpCount,
    backward_ops,
    column_cost,
    directional_ops,
    evaluation_ops,
    forward_gradient_ops,
    lexicographic_ops,
)
from networks.forward import (
    DirectionalDerivatives,
    Evaluation,
    check_directional_derivatives,
    difference_quotient,
    directional_derivatives,
    forward_pass,
)
from networks.backward import Backward, backward
from networks.lexicographic import LexicographicDerivative, lexicographic_derivative, lexicographic_point
from networks.clarke import (
    ClarkePolytope,
    ConservativeSample,
    Piece,
    backprop_at_zero,
    clarke_subdifferential_at_zero,
    conservative_gradients_at_zero,
)

__all__ = [
    "Certificate", "CheckResult", "Linearization", "NetworkError", "ReluNetwork", "check",
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
