"""The one table of network deciders: is the Clarke subdifferential of ``F`` at 0 a single point?

docs/theory.md section 3. A network decider receives a scalar :class:`nsad.networks.ReluNetwork`
only (never a formula) and returns a :class:`nsad.solvers.verdict.Verdict` of kind ``"network"``:

* ``"two-subgradients"`` with a :class:`nsad.networks.Certificate` that :func:`nsad.networks.check`
  accepts (every method checks it before answering; a certificate that fails gives ``"unknown"``);
* ``"singleton"`` with ``element`` the single subgradient ``a = (F(e_1), ..., F(e_n))``;
* ``"unknown"`` with a ``reason`` (time limit, or a method that is not complete here).

``complete`` says whether the method is complete *for this network*, and ``reason`` what the answer
rests on (an exact argument, or a MILP tolerance).

Every decider has one signature, ``decide(net, *, time_limit=None, seed=0, **options)``, and is
declared once, in :data:`DECIDERS` below, with its capabilities (:class:`DeciderSpec`): for which
networks it is complete, whether it takes ``proof=True``, whether its singleton answers are exact
or numerical, and whether it is an optional peer. :func:`decide_network` validates the method name,
the time limit and the option names against that declaration before calling it.

=================  ===========  ==========  =======  ===================================================
method             complete     singleton   proof    what it does
=================  ===========  ==========  =======  ===================================================
``portfolio``      every net    exact*      yes      ``sat-grid`` when the network is certified, else
                                                     ``exact``, else the MILP (the default)
``sat-grid``       certified    exact*      yes      CNF of the grid question (CaDiCaL 1.9.5)
``cpsat-grid``     certified    exact*      no       CP-SAT over the grid points
``exact``          every net    exact       no       decomposition, region enumeration, z3 (rationals)
``milp``           every net    numerical   no       big-M MILP, HiGHS via scipy (tolerance 1e-6)
``milp-ortools``   every net    numerical   no       the same MILP via OR-Tools (SCIP, or HiGHS)
``exhaustive``     tiny nets    exact       no       activation regions with exact feasibility
``one-hidden``     1 hidden     exact       no       class (c): group units by line, exact, near-linear
                   layer                             time (docs/theory.md section 3.6); the default of
                                                     ``decide_at`` for one-hidden-layer local networks
``search``         never        none        no       seeded random search; sound
``marabou``        peer         numerical   no       Marabou on the exported network (optional)
=================  ===========  ==========  =======  ===================================================

(*) exact given the class certificate and the SAT solver's UNSAT answer; with ``proof=True`` that
answer is a checked DRUP proof.

>>> from nsad.networks import ReluNetwork
>>> v = decide_network(ReluNetwork([[[1], [-1]], [[1, 1]]]))           # |x|
>>> v.answer, v.certificate.gradients
('two-subgradients', ((1,), (-1,)))
>>> DECIDERS.get("fast").name, DECIDERS.get("fast").accepts_proof
('portfolio', True)
"""

from __future__ import annotations

from nsad.networks.relu_network import require_bias_free as _require_bias_free
import math
import time
from dataclasses import dataclass, replace
from typing import Callable

from nsad.networks import ReluNetwork
from nsad.solvers.network import grid, marabou
from nsad.solvers.network.exhaustive import decide_exhaustive
from nsad.solvers.network.fallback import decide_exact_network
from nsad.solvers.network.milp import decide_milp, decide_milp_ortools
from nsad.solvers.network.one_hidden import decide_one_hidden
from nsad.solvers.network.search import decide_search
from nsad.solvers.registry import Registry, SolverError
from nsad.solvers.verdict import Verdict

__all__ = ["DECIDERS", "NETWORK_DECIDERS", "DEFAULT_NETWORK_METHOD", "DeciderSpec", "decide_network"]

DEFAULT_NETWORK_METHOD = "portfolio"


@dataclass(frozen=True)
class DeciderSpec:
    """A network decider and what it can do.

    ``complete_for``: ``"all"`` (every network), ``"certified"`` (networks in a certified class),
    ``"small"`` (tiny networks only), ``"one-hidden"`` (networks with one hidden layer), ``"never"``
    (sound, never complete) or ``"peer"``;
    ``singleton``: what a singleton answer rests on, ``"exact"``, ``"numerical"`` or ``"none"``
    (the method never answers singleton); ``accepts_proof``: takes ``proof=True`` (DRUP-checked
    UNSAT answers); ``peer``: an optional external tool whose answers are compared, never trusted;
    ``options``: the keyword options besides ``time_limit`` and ``seed``.
    """

    name: str
    decide: Callable[..., Verdict]
    summary: str
    complete_for: str
    singleton: str
    accepts_proof: bool = False
    peer: bool = False
    options: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()


DECIDERS = Registry("network decider")
for _spec in (
    DeciderSpec("portfolio", grid.decide_portfolio, "sat-grid when the simplifier certifies the network, "
                "otherwise the MILP", "all", "exact", accepts_proof=True, options=("proof", "raw"),
                aliases=("auto", "fast")),
    DeciderSpec("sat-grid", grid.decide_sat_grid, "exact simplification + CNF of the grid question "
                "(CaDiCaL 1.9.5); complete when the class is certified, else unknown", "certified", "exact",
                accepts_proof=True, options=("solver", "proof", "raw"), aliases=("grid-sat", "cadical-grid")),
    DeciderSpec("cpsat-grid", grid.decide_cpsat_grid, "exact simplification + CP-SAT over grid points; "
                "complete when certified", "certified", "exact", options=("workers", "raw"), aliases=("grid-cpsat",)),
    DeciderSpec("exact", decide_exact_network, "exact complete fallback: additive decomposition, then region "
                "enumeration (HiGHS + exact certificates) and z3 over exact rationals", "all", "exact",
                aliases=("exact-fallback", "smt", "z3")),
    DeciderSpec("milp", decide_milp, "big-M MILP on the box, HiGHS via scipy; complete up to tolerance",
                "all", "numerical", options=("tol",), aliases=("milp-highs", "highs")),
    DeciderSpec("milp-ortools", decide_milp_ortools, "the same MILP through OR-Tools (SCIP, or "
                "solver='highs'); complete up to tolerance", "all", "numerical", options=("tol", "solver"),
                aliases=("milp-scip", "ortools")),
    DeciderSpec("exhaustive", decide_exhaustive, "exact enumeration of activation regions; exact and "
                "complete, tiny networks only", "small", "exact", options=("max_units",),
                aliases=("enumerate", "regions")),
    DeciderSpec("one-hidden", decide_one_hidden, "class (c): one hidden layer, units grouped by line, exact "
                "and near-linear time; unknown on deeper networks", "one-hidden", "exact", aliases=("class-c",)),
    DeciderSpec("search", decide_search, "seeded random search for two gradients; sound, never complete",
                "never", "none", options=("max_points", "scale", "batch"), aliases=("random-search", "random")),
    DeciderSpec("marabou", marabou.decide_marabou, "Marabou 2 (maraboupy extra) on the exported ONNX "
                "network, SIGKILLed at the time limit; sat answers certified exactly from its witness, unsat "
                "answers up to the threshold", "peer", "numerical", peer=True,
                options=("threshold", "marabou_options")),
):
    DECIDERS.register(_spec.name, _spec, aliases=_spec.aliases, summary=_spec.summary)
del _spec

NETWORK_DECIDERS = DECIDERS  # the name used before the table held capabilities


def _check_options(spec: DeciderSpec, options: dict) -> None:
    bad = sorted(set(options) - set(spec.options))
    if bad:
        choices = ", ".join(("seed",) + spec.options)
        raise SolverError(f"network decider {spec.name!r} has no option {bad[0]!r}; its options: {choices}")


def decide_network(net: ReluNetwork, method: str | None = None, time_limit: float | None = None, *,
                   seed: int = 0, **options) -> Verdict:
    """Decide whether ``dF(0)`` is a single point, with the named method (default ``portfolio``).

    ``time_limit`` (seconds, positive) is honoured by every method (UNKNOWN when reached); ``seed``
    (default 0) fixes every random choice of the method; ``options`` are passed to the method (e.g.
    ``tol`` for the MILPs, ``max_points`` for search, ``proof`` where the table says it is accepted)
    and unknown names raise :class:`SolverError`. ``seconds`` of the verdict is the wall-clock time
    of the whole call.

    >>> from nsad.networks import ReluNetwork
    >>> net = ReluNetwork([[[1], [-1]], [[1, -1]]])                         # relu(x) - relu(-x) = x
    >>> decide_network(net, "exhaustive").element
    (1,)
    >>> decide_network(net, "milp", colour="red")
    Traceback (most recent call last):
    ...
    nsad.errors.SolverError: network decider 'milp' has no option 'colour'; its options: seed, tol
    """
    _require_bias_free(net, "every decider at 0")
    t0 = time.perf_counter()
    if not isinstance(net, ReluNetwork):
        raise SolverError(f"a network decider needs a ReluNetwork, got {type(net).__name__}")
    net.require_scalar()
    spec: DeciderSpec = DECIDERS.get(method or DEFAULT_NETWORK_METHOD)
    if time_limit is not None:
        try:
            time_limit = float(time_limit)
        except (TypeError, ValueError):
            raise SolverError(f"time_limit must be a number of seconds, got {time_limit!r}") from None
        if not (time_limit > 0 and math.isfinite(time_limit)):
            raise SolverError(f"time_limit must be positive and finite, got {time_limit!r}")
    _check_options(spec, options)
    verdict = spec.decide(net, time_limit=time_limit, seed=seed, **options)
    return replace(verdict, seconds=time.perf_counter() - t0)
