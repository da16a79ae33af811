"""The one result type of every decider: formula solvers and network deciders.

Answers are plain strings, the same as in the CLI's JSON:

* formula solvers: ``"sat"``, ``"unsat"``, ``"unknown"``;
* network deciders: ``"two-subgradients"``, ``"singleton"``, ``"unknown"``.

``complete`` says whether the method that produced the answer is complete *for this input*
(docs/theory.md section 3): a MILP's singleton answer holds up to the solver's tolerance and says so in
``reason``.

>>> v = Verdict(answer=SAT, backend="cadical195", seconds=0.01, model=(True, False))
>>> v.to_json()["verdict"], v.to_json()["model"]
('sat', [1, -2])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

SAT = "sat"
UNSAT = "unsat"
UNKNOWN = "unknown"
TWO = "two-subgradients"
SINGLETON = "singleton"

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

    def __post_init__(self):
        if self.answer not in FORMULA_ANSWERS + NETWORK_ANSWERS:
            raise ValueError(f"unknown answer {self.answer!r}")
        kind = self.kind or ("network" if self.answer in (TWO, SINGLETON) else "formula" if self.answer in (SAT, UNSAT) else "")
        if kind not in ("formula", "network"):
            raise ValueError("an unknown verdict must state kind='formula' or kind='network'")
        if self.answer not in (FORMULA_ANSWERS if kind == "formula" else NETWORK_ANSWERS):
            raise ValueError(f"answer {self.answer!r} does not belong to a {kind} verdict")
        object.__setattr__(self, "kind", kind)

    def to_json(self) -> dict:
        """JSON object of the CLI (`nsad solve --json` / `nsad decide --json`)."""
        out: dict[str, Any] = {"verdict": self.answer}
        out["solver" if self.kind == "formula" else "method"] = self.backend
        out["seconds"] = round(self.seconds, 6)
        out["complete"] = self.complete
        if self.model is not None:
            out["model"] = [i + 1 if b else -(i + 1) for i, b in enumerate(self.model)]
        else:
            out["model"] = None
        out["certificate"] = self.certificate.to_json() if self.certificate is not None else None
        out["element"] = [_num(v) for v in self.element] if self.element is not None else None
        out["reason"] = self.reason
        out["stats"] = {k: v for k, v in self.stats.items() if not k.startswith("_")}
        return out
