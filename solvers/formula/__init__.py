"""The formula side: every python-sat backend, OR-Tools CP-SAT and exhaustive search, DRUP proofs.

:func:`solve_formula` decides a :class:`nsad.instances.Cnf` with a solver named in
:data:`FORMULA_SOLVERS`; :mod:`nsad.solvers.formula.proof` checks UNSAT answers by DRUP proofs.
"""

from nsad.solvers.formula.backends import (
    DEFAULT_FORMULA_SOLVER, FORMULA_SOLVERS, WrongModelError, check_model, solve_formula,
)

__all__ = ["DEFAULT_FORMULA_SOLVER", "FORMULA_SOLVERS", "WrongModelError", "check_model", "solve_formula"]
