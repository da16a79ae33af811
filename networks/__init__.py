"""Core values of nsad: bias-free ReLU networks, exact gradients, certificates.

This package depends on nothing else in the project.
"""

from networks.certificate import Certificate, CheckResult, check
from networks.relu_network import Linearization, NetworkError, ReluNetwork

__all__ = ["Certificate", "CheckResult", "Linearization", "NetworkError", "ReluNetwork", "check"]
