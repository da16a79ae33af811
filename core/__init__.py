"""nsad: computational experiments on the complexity of nonsmooth automatic differentiation.

The import package ``nsad`` gathers the repository's folders as subpackages (``pyproject.toml``
maps them): :mod:`nsad.networks` (the network value, certificates, exact arithmetic, ONNX; the AD
engine in :mod:`nsad.networks.ad`), :mod:`nsad.instances` (CNF formulas), :mod:`nsad.reductions`
(3-SAT to ReLU, matrix products, VNN-LIB), :mod:`nsad.solvers` (formula solvers and network
deciders), :mod:`nsad.experiments` (the command line, the runner, the store, plots). The package's
own modules are :mod:`nsad.errors` (the error contract) and :mod:`nsad.child` (child processes
with time and memory limits). The mathematics is in ``docs/theory.md``.

>>> import nsad
>>> nsad.__version__
'0.2.0'
>>> "nsad.solvers.network.table" in nsad.modules()
True
"""

__version__ = "0.2.0"

SUBPACKAGES = ("networks", "instances", "reductions", "solvers", "experiments")


def modules() -> list[str]:
    """The names of every module of the package (``nsad``, its own modules, and every module of the
    subpackages, which ``pyproject.toml`` maps from other folders, so they are walked one by one)."""
    import importlib
    import pkgutil
    import sys

    names = {__name__}
    roots = [sys.modules[__name__]] + [importlib.import_module(f"{__name__}.{sub}") for sub in SUBPACKAGES]
    for root in roots:
        names.add(root.__name__)
        for info in pkgutil.walk_packages(root.__path__, root.__name__ + "."):
            if not info.name.endswith("__main__"):
                names.add(info.name)
    return sorted(names)
