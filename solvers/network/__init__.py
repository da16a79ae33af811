"""The network side: deciders that see only a ReLU network, never a formula (docs/theory.md section 3).

:data:`NETWORK_DECIDERS` (in :mod:`nsad.solvers.network.table`) is the one table of deciders;
:func:`decide_network` runs one. The decider internals live beside it: the simplifier and the
program value, the grid encodings, certificate builders, the MILP, exhaustive and search methods,
and the Marabou peer.
"""

from nsad.solvers.network.table import DEFAULT_NETWORK_METHOD, NETWORK_DECIDERS, decide_network

__all__ = ["DEFAULT_NETWORK_METHOD", "NETWORK_DECIDERS", "decide_network"]
