"""Core values of nsad: bias-free ReLU networks, exact gradients, certificates.

This package depends on nothing else in the project (the nonsmooth AD engine is the subpackage
:mod:`nsad.networks.ad`).

* :class:`ReluNetwork`, :class:`Certificate`, :func:`check` — the network value and exact checking.
"""

from nsad.networks.certificate import Certificate, CheckResult, certificate_of, check, read_certificate
from nsad.networks.relu_network import Linearization, NetworkError, ReluNetwork, read_provenance

__all__ = ["Certificate", "CheckResult", "certificate_of", "Linearization", "NetworkError", "ReluNetwork", "check", "read_certificate",
           "read_provenance"]
