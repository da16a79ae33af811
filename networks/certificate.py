"""Two-subgradient certificates and their exact checker (docs/theory.md section 1).

A certificate is two generic integer points whose exact gradients differ; it proves that the Clarke
subdifferential of ``F`` at 0 has at least two elements (by positive homogeneity, the gradient at a
generic point is a limit of gradients at points tending to 0). ``check`` never trusts the stated
gradients: it re-derives genericity and both gradients with exact integer arithmetic.

>>> import numpy as np
>>> from nsad.networks import ReluNetwork
>>> net = ReluNetwork([[[1], [-1]], [[1, 1]]])          # |x|
>>> cert = Certificate.from_points(net, [1], [-1])
>>> cert.gradients
((1,), (-1,))
>>> check(net, cert).ok
True
>>> print(check(net, Certificate(((1,), (2,)), ((1,), (1,)))).reason)
the two gradients are equal, so they prove nothing
"""

from __future__ import annotations

from nsad.networks.relu_network import require_bias_free as _require_bias_free
import os
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from nsad import limits as _limits
from nsad.networks.relu_network import NetworkError, ReluNetwork

_NUMBER_TEXT = re.compile(r"\s*[+-]?(?:[0-9]+(?:/[0-9]+)?|[0-9]*\.[0-9]+)\s*")


def exact_entry(v: Any, what: str):
    """An exact number (``int`` or ``Fraction``) from a JSON entry: an integer, an integral float, or a
    string ``'p/q'`` / decimal (no exponent) of at most ``max_number_length`` characters; else
    ``NetworkError`` (``LimitError`` beyond the limit).

    >>> exact_entry('-3/6', 'x'), exact_entry(4.0, 'x')
    (Fraction(-1, 2), 4)
    """
    if isinstance(v, bool):
        raise NetworkError(f"{what}: expected a number, got {v!r}")
    if isinstance(v, int):
        return v
    if isinstance(v, Fraction):
        return int(v) if v.denominator == 1 else v
    if isinstance(v, str):
        if not _NUMBER_TEXT.fullmatch(v):
            raise NetworkError(f"{what}: {v[:40]!r} is not an integer or 'p/q' rational")
        _limits.check("max_number_length", len(v.strip()), f"{what}: a number of {len(v.strip())} characters")
        try:
            f = Fraction(v.strip())
        except (ValueError, ZeroDivisionError):
            raise NetworkError(f"{what}: {v[:40]!r} is not an integer or 'p/q' rational") from None
        return int(f) if f.denominator == 1 else f
    if isinstance(v, float) and v.is_integer():
        return int(v)
    raise NetworkError(f"{what}: expected an integer or a 'p/q' string, got {v!r}")


def _json_number(v) -> Any:
    f = Fraction(v)
    return int(f) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


@dataclass(frozen=True)
class Certificate:
    """Two integer points and their claimed exact gradients (entries ``int`` or ``Fraction``)."""

    points: tuple
    gradients: tuple

    def __post_init__(self):
        pts = tuple(tuple(exact_entry(v, "certificate point") for v in p) for p in self.points)
        grads = tuple(tuple(exact_entry(v, "certificate gradient") for v in g) for g in self.gradients)
        if len(pts) != 2 or len(grads) != 2:
            raise NetworkError("a certificate has exactly two points and two gradients")
        for p in pts:
            if any(isinstance(v, Fraction) for v in p):
                raise NetworkError("certificate points must be integer vectors (scale rational points)")
        object.__setattr__(self, "points", pts)
        object.__setattr__(self, "gradients", grads)

    @classmethod
    def from_points(cls, net: ReluNetwork, x1, x2) -> "Certificate":
        """Compute both exact gradients; raises ``NetworkError`` if a point is not generic."""
        grads = []
        for x in (x1, x2):
            lin = net.linearize([int(v) for v in x])
            if lin.gradient is None:
                raise NetworkError(f"point is not generic: {lin.reason}")
            grads.append(lin.gradient)
        return cls((tuple(int(v) for v in x1), tuple(int(v) for v in x2)), tuple(grads))

    def to_json(self) -> dict:
        return {
            "points": [list(p) for p in self.points],
            "gradients": [[_json_number(v) for v in g] for g in self.gradients],
        }

    @classmethod
    def from_json(cls, obj: Any) -> "Certificate":
        if isinstance(obj, dict) and "certificate" in obj and "points" not in obj:
            obj = obj["certificate"]
        if not isinstance(obj, dict) or "points" not in obj or "gradients" not in obj:
            raise NetworkError("a certificate is a JSON object with 'points' and 'gradients'")
        pts, grads = obj["points"], obj["gradients"]
        if not (isinstance(pts, list) and isinstance(grads, list) and all(isinstance(p, list) for p in pts + grads)):
            raise NetworkError("certificate 'points' and 'gradients' must be lists of two lists")
        return cls(tuple(tuple(p) for p in pts), tuple(tuple(g) for g in grads))


def read_certificate(path, *, limits=None) -> Certificate:
    """The certificate of a verdict JSON file: a line of ``nsad decide --json`` (an object with a
    ``certificate``) or a bare ``{points, gradients}`` object.

    The JSON reader's limits apply (:func:`nsad.limits.load_json`: size, nesting, digits), and the
    points may have at most ``max_layer_width`` coordinates. Every problem is a ``NetworkError`` (or
    a ``LimitError``) naming the file.

    >>> import json, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "v.json")
    >>> _ = open(p, "w").write(json.dumps({"verdict": "two-subgradients", "certificate": None}))
    >>> read_certificate(p)
    Traceback (most recent call last):
    ...
    nsad.errors.NetworkError: ...v.json: the 'certificate' is null (the verdict carried none)
    """
    name = os.fspath(path)
    lim = _limits.resolve(limits)
    obj = _limits.load_json(name, lim, error=NetworkError, what="the verdict file")
    return certificate_of(obj, name, limits=lim)


def certificate_of(obj, name: str = "<verdict>", *, limits=None) -> Certificate:
    """The certificate of a parsed verdict object (see :func:`read_certificate`); ``name`` names the
    file in errors."""
    lim = _limits.resolve(limits)
    if isinstance(obj, dict) and "certificate" in obj and obj["certificate"] is None:
        raise NetworkError(f"{name}: the 'certificate' is null (the verdict carried none)")
    inner = obj.get("certificate", obj) if isinstance(obj, dict) else obj
    if isinstance(inner, dict):
        for key in ("points", "gradients"):
            rows = inner.get(key)
            if isinstance(rows, list):
                for row in rows:
                    if isinstance(row, list):
                        _limits.check("max_layer_width", len(row), f"a certificate row has {len(row)} coordinates",
                                      location=name, limits=lim)
    try:
        with _limits.limits(lim):
            return Certificate.from_json(obj)
    except _limits.LimitError as exc:
        raise _limits.LimitError(f"{name}: {exc}", limit=exc.limit) from None
    except NetworkError as exc:
        raise NetworkError(f"{name}: {exc}") from None


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    reason: str

    def __bool__(self) -> bool:
        return self.ok


def _same(a, b) -> bool:
    """Two vectors of exact numbers are equal (ints compared directly, anything else as Fractions)."""
    if all(type(v) is int for v in a) and all(type(v) is int for v in b):
        return tuple(a) == tuple(b)
    return tuple(map(Fraction, a)) == tuple(map(Fraction, b))


def check(net: ReluNetwork, cert: Certificate) -> CheckResult:
    """Exactly check a two-subgradient certificate; the reason says why it fails.

    Checks: scalar network, dimensions, both points generic (re-derived), both stated gradients equal
    to the exact gradients, and the two gradients distinct.
    """
    _require_bias_free(net, "the certificate check at 0 (networks.check)")
    if net.n_outputs != 1:
        return CheckResult(False, f"the network has {net.n_outputs} outputs; certificates need a scalar network")
    n = net.n_inputs
    for i, (p, g) in enumerate(zip(cert.points, cert.gradients), start=1):
        if len(p) != n or len(g) != n:
            return CheckResult(False, f"point {i} or its gradient does not have {n} coordinates")
    if _same(cert.gradients[0], cert.gradients[1]):
        return CheckResult(False, "the two gradients are equal, so they prove nothing")
    for i, (p, g) in enumerate(zip(cert.points, cert.gradients), start=1):
        lin = net.linearize(p)
        if lin.gradient is None:
            return CheckResult(False, f"point {i} is not generic: {lin.reason}")
        if not _same(lin.gradient, g):
            j = next(j for j, (a, b) in enumerate(zip(lin.gradient, g)) if Fraction(a) != Fraction(b))
            return CheckResult(
                False, f"gradient {i} is wrong at coordinate {j}: stated {g[j]}, exact {lin.gradient[j]}"
            )
    return CheckResult(True, "two generic points with distinct exact gradients: |dF(0)| >= 2")
