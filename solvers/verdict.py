"""The one result type of every decider: formula solvers and network deciders.

Answers are plain strings, the same as in the CLI's JSON:

* formula solvers: ``"sat"``, ``"unsat"``, ``"unknown"``;
* network deciders: ``"two-subgradients"``, ``"singleton"``, ``"unknown"``.

``argument`` names what a network answer rests on, and ``complete`` is true exactly when that is
an exact argument (docs/theory.md section 3):

==================  ==================================================================  =========
argument            what the answer rests on                                            exact
==================  ==================================================================  =========
``certificate``     two generic integer points with different gradients, checked by      yes
                    :func:`nsad.networks.check` (every two-subgradients answer)
``class+unsat``     a certified class (grid search complete) and the SAT solver's UNSAT  yes
``class+drup``      the same, with the solver's DRUP proof checked                      yes
``enumeration``     exact enumeration of activation regions in rational arithmetic      yes
``smt``             an SMT solver's UNSAT over exact rationals                          yes
``linear-form``     exact arithmetic shows the function is linear (normal form, program yes
                    or interval bounds)
``numerical``       a floating-point solver (MILP, Marabou): a numerical claim          no
==================  ==================================================================  =========

An ``unknown`` answer is never complete.

>>> v = Verdict(answer=SAT, backend="cadical195", seconds=0.01, model=(True, False))
>>> v.to_json()["verdict"], v.to_json()["model"]
('sat', [1, -2])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

__all__ = ["Verdict", "SAT", "UNSAT", "UNKNOWN", "TWO", "SINGLETON", "ARGUMENTS", "EXACT_ARGUMENTS"]

SAT = "sat"
UNSAT = "unsat"
UNKNOWN = "unknown"
TWO = "two-subgradients"
SINGLETON = "singleton"

EXACT_ARGUMENTS = ("certificate", "class+unsat", "class+drup", "enumeration", "smt", "linear-form")
ARGUMENTS = EXACT_ARGUMENTS + ("numerical",)

FORMULA_ANSWERS = (SAT, UNSAT, UNKNOWN)
NETWORK_ANSWERS = (TWO, SINGLETON, UNKNOWN)


def _num(v: Any) -> Any:
    """JSON form of an exact number: ints stay ints, other rationals become 'p/q'."""
    f = Fraction(v)
    return int(f) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


@dataclass(frozen=True)
class Verdict:
    """What a decider answered, how long it took, and the evidence.

    ``kind`` is ``"formula"`` or ``"network"`` (inferred from the answer; required for unknown).
    ``model`` (formula side): a tuple of bools padded to the declared ``num_vars``.
    ``certificate`` (network side): a ``networks.Certificate`` for two-subgradients answers.
    ``element`` (network side): the single subgradient for singleton answers.
    ``argument`` (network side): what the answer rests on (module docstring); ``complete`` is
    forced to false for a numerical argument and for unknown answers.

    >>> Verdict(answer=SINGLETON, backend="milp", element=(1,), argument="numerical").complete
    False
    """

    answer: str
    backend: str
    seconds: float = 0.0
    complete: bool = True
    stats: dict = field(default_factory=dict)
    model: tuple | None = None
    certificate: Any = None
    element: tuple | None = None
    reason: str | None = None
    kind: str = ""
    argument: str | None = None

    def __post_init__(self):
        if self.answer not in FORMULA_ANSWERS + NETWORK_ANSWERS:
            raise ValueError(f"unknown answer {self.answer!r}")
        kind = self.kind or ("network" if self.answer in (TWO, SINGLETON) else "formula" if self.answer in (SAT, UNSAT) else "")
        if kind not in ("formula", "network"):
            raise ValueError("an unknown verdict must state kind='formula' or kind='network'")
        if self.answer not in (FORMULA_ANSWERS if kind == "formula" else NETWORK_ANSWERS):
            raise ValueError(f"answer {self.answer!r} does not belong to a {kind} verdict")
        object.__setattr__(self, "kind", kind)
        if self.answer == UNKNOWN:
            object.__setattr__(self, "complete", False)
            object.__setattr__(self, "argument", None)
        elif kind == "network":
            arg = self.argument or ("certificate" if self.answer == TWO else None)
            if arg not in ARGUMENTS:
                raise ValueError(f"a {self.answer} verdict needs an argument, one of {', '.join(ARGUMENTS)}; got {arg!r}")
            object.__setattr__(self, "argument", arg)
            if arg not in EXACT_ARGUMENTS:
                object.__setattr__(self, "complete", False)

    def to_json(self) -> dict:
        """JSON object of the CLI (`nsad solve --json` / `nsad decide --json`)."""
        out: dict[str, Any] = {"verdict": self.answer}
        out["solver" if self.kind == "formula" else "method"] = self.backend
        out["seconds"] = round(self.seconds, 6)
        out["complete"] = self.complete
        if self.kind == "network":
            out["argument"] = self.argument
        if self.model is not None:
            out["model"] = [i + 1 if b else -(i + 1) for i, b in enumerate(self.model)]
        else:
            out["model"] = None
        out["certificate"] = self.certificate.to_json() if self.certificate is not None else None
        out["element"] = [_num(v) for v in self.element] if self.element is not None else None
        out["reason"] = self.reason
        out["stats"] = {k: v for k, v in self.stats.items() if not k.startswith("_")}
        return out
