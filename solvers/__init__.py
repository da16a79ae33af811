"""Deciders: formula solvers (python-sat, CP-SAT) and network deciders (MILP, exhaustive, search).

Every decider returns a :class:`solvers.verdict.Verdict`; backends live in one registry per kind
(``FORMULA_SOLVERS``, ``NETWORK_DECIDERS``) with canonical names and aliases.
"""

from nsad.solvers.formula.backends import DEFAULT_FORMULA_SOLVER, FORMULA_SOLVERS, WrongModelError, check_model, solve_formula
from nsad.solvers.network.table import NETWORK_DECIDERS, decide_network
from nsad.solvers.registry import Registry, SolverError
from nsad.solvers.verdict import SAT, SINGLETON, TWO, UNKNOWN, UNSAT, Verdict

__all__ = [
    "DEFAULT_FORMULA_SOLVER", "FORMULA_SOLVERS", "NETWORK_DECIDERS", "Registry", "SolverError", "Verdict",
    "WrongModelError", "check_model", "decide_network", "solve_formula",
    "SAT", "UNSAT", "UNKNOWN", "TWO", "SINGLETON",
]
