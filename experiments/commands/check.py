"""`nsad check NET VERDICT`: check a verdict of `nsad decide` from the network alone.

* a two-subgradients verdict (or a bare ``{points, gradients}`` certificate): genericity and both
  gradients re-derived with exact integer arithmetic (:func:`nsad.networks.check`);
* a singleton verdict: the class certificate, the axis values and the grid CNF are rebuilt from the
  network itself (never from the verdict) and the DRUP proof must refute that CNF
  (:func:`nsad.solvers.network.grid.check_singleton`). The proof is the verdict's ``drup`` field
  (``nsad decide --proof --json`` writes it), or the file ``--proof FILE``, or ``VERDICT.drup``
  beside the verdict file. A numerical singleton (a float MILP's) cannot be checked: exit 3.

* a verdict at a point (``nsad decide --at``: the certificate holds ``at``, the line ``output``): a
  two-subgradients certificate is checked on ``F`` itself (:func:`nsad.solvers.network.local.check_at`:
  both points keep the strict sign of every unit nonzero at ``at``, are generic, have the stated
  gradients, which differ); a singleton is rebuilt: the local network at ``at`` decided again by an
  exact method (class (c) for one hidden layer) must give the same element.

Exit code 0 checked, 1 failed (a wrong answer or a proof that does not refute the CNF), 2 a bad
input, 3 uncheckable. A JSON Lines file (``decide --method A B --json``) has each line checked.
"""

from __future__ import annotations

import json
import os

from nsad.experiments.commands._common import (EXIT_OK, EXIT_PROBLEM, EXIT_UNDECIDED, add_json, combine, emit_json,
                                               load_network, naming)


SUMMARY = "check a verdict exactly: a certificate, or a singleton's DRUP proof against the rebuilt grid CNF"  # the one-line help, listed by `nsad --help` without importing the command


def register(sub) -> None:
    p = sub.add_parser("check", help=SUMMARY, description=__doc__.split("\n\n", 1)[1])
    p.add_argument("network", metavar="NET", help="network file (.npz, .onnx), or the DIMACS formula it was reduced from")
    p.add_argument("verdict", metavar="VERDICT",
                   help="JSON verdict file: a line of `nsad decide --json` (or several), or a bare {points, gradients}")
    p.add_argument("--proof", metavar="FILE", default=None,
                   help="DRUP proof of a singleton verdict (default: the verdict's 'drup' field, else VERDICT.drup)")
    add_json(p, help="one JSON object per verdict checked: {file, verdict_file, answer, status, ok, reason}")
    p.set_defaults(func=run)


def _read_verdicts(path: str) -> list:
    """The JSON objects of a verdict file: one object, or JSON Lines (read under the limits)."""
    from nsad import limits as L
    from nsad.errors import NetworkError

    try:
        return [L.load_json(path, error=NetworkError, what="the verdict file")]
    except NetworkError as exc:
        if "Extra data" not in str(exc):
            raise
    text = L.read_text(path, error=NetworkError, what="the verdict file")
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError as exc:
                raise NetworkError(f"{path}:{i}: not valid JSON ({exc})") from None
    return out


def _proof_lines(args, obj):
    from nsad.solvers.formula.proof import read_drup

    if args.proof:
        return read_drup(args.proof), args.proof
    if isinstance(obj.get("drup"), list):
        return [str(x) for x in obj["drup"]], "the verdict's drup field"
    beside = args.verdict + ".drup"
    if os.path.isfile(beside):
        return read_drup(beside), beside
    return None, None


def check_one(net, obj, args) -> tuple[str, str, str]:
    """``(answer, status, reason)`` of one verdict object, ``status`` checked | failed | uncheckable."""
    from nsad.errors import NetworkError
    from nsad.networks import certificate_of, check

    if not isinstance(obj, dict):
        raise NetworkError(f"{args.verdict}: expected a JSON object (a verdict or a certificate)")
    if "error" in obj and "verdict" not in obj:
        raise NetworkError(f"{args.verdict}: the line of {obj.get('file')} is an error, not a verdict: "
                           f"{str(obj['error'])[:200]}")
    answer = obj.get("verdict", "two-subgradients" if "points" in obj else None)
    local = _local_check(net, obj, answer, args)
    if local is not None:
        return local
    net.require_scalar()
    if answer == "two-subgradients":
        if obj.get("certificate", {}) is None:
            return answer, "failed", "the verdict says two subgradients but carries no certificate"
        res = check(net, certificate_of(obj, args.verdict))
        return answer, "checked" if res.ok else "failed", res.reason
    if answer == "unknown":
        return answer, "uncheckable", "the verdict is unknown: there is nothing to check"
    if answer != "singleton":
        raise NetworkError(f"{args.verdict}: no network verdict (expected 'verdict': 'two-subgradients' or "
                           f"'singleton', or a bare certificate); got {str(answer)[:40]!r}")
    if obj.get("argument") == "numerical":
        return answer, "uncheckable", (f"a numerical singleton (method {obj.get('method')}, floating-point "
                                       "arithmetic) cannot be checked: decide with --method sat-grid --proof (or "
                                       "portfolio --proof) for a checkable answer")
    from nsad.solvers.network.grid import check_singleton

    lines, where = _proof_lines(args, obj)
    res = check_singleton(net, obj.get("element"), lines, raw=bool(obj.get("raw")))
    reason = res.reason + (f" [proof: {where}]" if where and res.status != "uncheckable" else "")
    return answer, res.status, reason


def _exact_vector(value, what: str, name: str) -> tuple:
    """The exact numbers of a verdict's list ``value`` (ints, integral floats, ``'p/q'`` strings); else a
    one-line ``NetworkError`` (``LimitError`` beyond ``max_number_length``) naming the verdict file."""
    from fractions import Fraction

    from nsad.errors import LimitError, NetworkError
    from nsad.networks.certificate import exact_entry

    if not isinstance(value, list):
        raise NetworkError(f"{name}: {what} must be a list of numbers, got {str(value)[:40]!r}")
    try:
        return tuple(Fraction(exact_entry(v, what)) for v in value)
    except LimitError as exc:
        raise LimitError(f"{name}: {exc}", limit=exc.limit) from None
    except NetworkError as exc:
        raise NetworkError(f"{name}: {exc}") from None


def _local_check(net, obj, answer, args):
    """``(answer, status, reason)`` for a verdict at a point (module docstring), ``None`` for one at 0."""
    from fractions import Fraction

    from nsad.errors import LimitError, NetworkError
    from nsad.solvers.network.local import LocalCertificate, check_at, decide_at

    cert = obj.get("certificate") if isinstance(obj.get("certificate"), dict) else (obj if "points" in obj else None)
    at = (cert or {}).get("at", obj.get("at"))
    if at is None:
        return None
    out = obj.get("output")
    if out is not None and (isinstance(out, bool) or not isinstance(out, int)):
        raise NetworkError(f"{args.verdict}: 'output' must be an integer")
    k = out if net.n_outputs > 1 else None
    if answer == "two-subgradients":
        try:
            c = LocalCertificate.from_json(cert)
        except NetworkError as exc:
            raise NetworkError(f"{args.verdict}: {exc}") from None
        ok, reason = check_at(net, c.at, c, output=k)
        return answer, "checked" if ok else "failed", reason
    if answer == "singleton":
        x = _exact_vector(at, "'at'", args.verdict)  # numbers only: a string is never a points file here
        if len(x) != net.n_inputs:
            raise NetworkError(f"{args.verdict}: 'at' has {len(x)} coordinates, the network {net.n_inputs} inputs")
        v = decide_at(net, x, output=k)
        if not v.complete:
            return answer, "uncheckable", f"no exact method decides the local network here ({v.reason})"
        try:
            claimed = _exact_vector(obj.get("element"), "the element", args.verdict)
        except LimitError:
            raise
        except NetworkError as exc:
            return answer, "failed", str(exc)
        if v.answer == "singleton" and tuple(map(Fraction, v.element)) == tuple(claimed):
            return answer, "checked", f"the local network at the point, decided again exactly ({v.backend}), has the same single element"
        return answer, "failed", f"decided again exactly ({v.backend}): {v.answer}, element {v.to_json()['element']}"
    return None


def run(args) -> int:
    with naming(args.network, args.verdict):
        return _run(args)


def _run(args) -> int:
    net, _cnf = load_network(args.network)
    codes = []
    for obj in _read_verdicts(args.verdict):
        answer, status, reason = check_one(net, obj, args)
        code = {"checked": EXIT_OK, "failed": EXIT_PROBLEM}.get(status, EXIT_UNDECIDED)
        codes.append(code)
        if args.json:
            emit_json({"file": args.network, "verdict_file": args.verdict, "answer": answer, "status": status,
                       "ok": status == "checked", "reason": reason})
        else:
            print({"checked": "OK: ", "failed": "FAILED: "}.get(status, "UNCHECKABLE: ") + reason)
    return combine(codes)
