"""Deciders: formula solvers (python-sat, CP-SAT) and network deciders (MILP, exhaustive, search).

Every decider returns a :class:`solvers.verdict.Verdict`; backends live in one registry per kind.
"""

from solvers.registry import Registry, SolverError
from solvers.verdict import SAT, SINGLETON, TWO, UNKNOWN, UNSAT, Verdict

__all__ = ["Registry", "SolverError", "Verdict", "SAT", "UNSAT", "UNKNOWN", "TWO", "SINGLETON"]
