"""CNF formulas: the immutable ``Cnf`` value, strict DIMACS reading/writing, random generators.

This package imports nothing else of the project.

>>> from nsad.instances import Cnf, parse_dimacs, format_dimacs, random_ksat
>>> cnf = random_ksat(5, m=3, seed=0)
>>> parse_dimacs(format_dimacs(cnf)) == cnf
True
"""

from .cnf import Cnf, CnfError
from .dimacs import DimacsError, format_dimacs, nsad_version, parse_dimacs, read_dimacs, write_dimacs
from .generators import (
    FAMILY_ALIASES,
    GENERATORS,
    formula_rng,
    generate,
    planted_ksat,
    random_ksat,
    regenerate,
    register_families,
)
from .families import FAMILIES, expected_label
from .families import FAMILY_ALIASES as _FAMILY_ALIASES
from .to3cnf import Lift, to_3cnf

register_families(FAMILIES, _FAMILY_ALIASES)

from .suites import SuiteError, generate_suite, suite_tasks, threshold_sweep  # noqa: E402  (needs the registry)

__all__ = [
    "Cnf",
    "CnfError",
    "DimacsError",
    "read_dimacs",
    "write_dimacs",
    "parse_dimacs",
    "format_dimacs",
    "nsad_version",
    "random_ksat",
    "planted_ksat",
    "formula_rng",
    "GENERATORS",
    "FAMILY_ALIASES",
    "generate",
    "regenerate",
    "register_families",
    "FAMILIES",
    "expected_label",
    "Lift",
    "to_3cnf",
    "SuiteError",
    "generate_suite",
    "suite_tasks",
    "threshold_sweep",
]
