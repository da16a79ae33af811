"""Network deciders: is the Clarke subdifferential of ``F`` at 0 a single point? (THEORY.md section 3)

A network decider receives a scalar :class:`networks.ReluNetwork` only (never a formula) and
returns a :class:`solvers.verdict.Verdict` of kind ``"network"``:

* ``"two-subgradients"`` with a :class:`networks.Certificate` that :func:`networks.check` accepts
  (every method checks it before answering; a certificate that fails gives ``"unknown"``);
* ``"singleton"`` with ``element`` the single subgradient ``a = (F(e_1), ..., F(e_n))``;
* ``"unknown"`` with a ``reason`` (time limit, or a method that is not complete here).

``complete`` says whether the method is complete *for this network*, and ``reason`` what the answer
rests on (an exact argument, or a MILP tolerance).

Plug-in protocol (for later deciders, e.g. the CP-SAT/SAT methods of issue 3): a callable
``decide(net, *, time_limit=None, **options) -> Verdict``, registered with
``NETWORK_DECIDERS.register(name, decide, aliases=..., summary=...)``. It should start with
:func:`solvers.network_certify.axis_test` and build certificates with the helpers of
:mod:`solvers.network_certify`. :func:`decide_network` validates the method name, the time limit
and the option names (against the plug-in's signature) before calling it.

Methods registered here:

=================  ==========================================================================
``milp``           big-M MILP, HiGHS via scipy (complete up to tolerance ``tol = 1e-6``)
``milp-ortools``   the same MILP via OR-Tools (SCIP by default, ``solver="highs"``)
``exhaustive``     exact region enumeration, tiny networks (exact, complete, <= 16 sign-changing units)
``search``         seeded random search (sound, never complete)
=================  ==========================================================================

>>> from networks import ReluNetwork
>>> v = decide_network(ReluNetwork([[[1], [-1]], [[1, 1]]]))           # |x|
>>> v.answer, v.certificate.gradients
('two-subgradients', ((1,), (-1,)))
>>> {'milp', 'milp-ortools', 'exhaustive', 'search'} <= set(NETWORK_DECIDERS.names())
True
"""

from __future__ import annotations

import inspect
import math
import time
from dataclasses import replace

from networks import ReluNetwork
from solvers.network_certify import AxisResult, CertifyResult, axis_test, certificate_from_witness
from solvers.network_exhaustive import decide_exhaustive
from solvers.network_milp import decide_milp, decide_milp_ortools
from solvers.network_search import decide_search
from solvers.registry import Registry, SolverError
from solvers.verdict import Verdict

__all__ = [
    "NETWORK_DECIDERS",
    "DEFAULT_NETWORK_METHOD",
    "decide_network",
    "axis_test",
    "certificate_from_witness",
    "AxisResult",
    "CertifyResult",
]

DEFAULT_NETWORK_METHOD = "portfolio"

NETWORK_DECIDERS = Registry("network decider")
NETWORK_DECIDERS.register(
    "milp", decide_milp, aliases=("milp-highs", "highs"),
    summary="big-M MILP on the box, HiGHS via scipy; complete up to tolerance",
)
NETWORK_DECIDERS.register(
    "milp-ortools", decide_milp_ortools, aliases=("milp-scip", "ortools"),
    summary="the same MILP through OR-Tools (SCIP, or solver='highs'); complete up to tolerance",
)
NETWORK_DECIDERS.register(
    "exhaustive", decide_exhaustive, aliases=("enumerate", "regions"),
    summary="exact enumeration of activation regions; exact and complete, tiny networks only",
)
NETWORK_DECIDERS.register(
    "search", decide_search, aliases=("random-search", "random"),
    summary="seeded random search for two gradients; sound, never complete",
)


def _check_options(name: str, fn, options: dict) -> None:
    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    allowed = {k for k, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY and k != "time_limit"}
    bad = sorted(set(options) - allowed)
    if bad:
        choices = ", ".join(sorted(allowed)) or "none"
        raise SolverError(f"network decider {name!r} has no option {bad[0]!r}; its options: {choices}")


def decide_network(net: ReluNetwork, method: str | None = None, time_limit: float | None = None, **options) -> Verdict:
    """Decide whether ``dF(0)`` is a single point, with the named method (default ``milp``).

    ``time_limit`` (seconds, positive) is honoured by every method (UNKNOWN when reached);
    ``options`` are passed to the method (e.g. ``tol`` for the MILPs, ``max_points`` for search,
    ``seed`` for all) and unknown names raise :class:`SolverError`. ``seconds`` of the verdict is
    the wall-clock time of the whole call.

    >>> from networks import ReluNetwork
    >>> net = ReluNetwork([[[1], [-1]], [[1, -1]]])                         # relu(x) - relu(-x) = x
    >>> decide_network(net, "exhaustive").element
    (1,)
    >>> decide_network(net, "milp", colour="red")
    Traceback (most recent call last):
    ...
    solvers.registry.SolverError: network decider 'milp' has no option 'colour'; its options: seed, tol
    """
    t0 = time.perf_counter()
    if not isinstance(net, ReluNetwork):
        raise SolverError(f"a network decider needs a ReluNetwork, got {type(net).__name__}")
    net.require_scalar()
    name = NETWORK_DECIDERS.canonical(method or DEFAULT_NETWORK_METHOD)
    fn = NETWORK_DECIDERS.get(name)
    if time_limit is not None:
        try:
            time_limit = float(time_limit)
        except (TypeError, ValueError):
            raise SolverError(f"time_limit must be a number of seconds, got {time_limit!r}") from None
        if not (time_limit > 0 and math.isfinite(time_limit)):
            raise SolverError(f"time_limit must be positive and finite, got {time_limit!r}")
    _check_options(name, fn, options)
    verdict = fn(net, time_limit=time_limit, **options)
    return replace(verdict, seconds=time.perf_counter() - t0)


# Optional peers and later deciders register themselves into the one registry.
from solvers import marabou as _marabou  # noqa: E402
from solvers import network_fast as _network_fast  # noqa: E402

_network_fast.register(NETWORK_DECIDERS)
_marabou.register(NETWORK_DECIDERS)
