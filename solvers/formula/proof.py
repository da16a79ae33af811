"""Checked answers for formula solvers: an in-library DRUP checker and ``solve_with_proof``.

Proof format (DRUP, as python-sat's ``get_proof()`` returns it)
----------------------------------------------------------------
One clause per line, literals as DIMACS ints terminated by ``0``: ``"1 -2 3 0"`` adds a lemma,
``"d 1 -2 3 0"`` deletes a clause, ``"0"`` is the empty clause. Blank lines and lines starting with
``c`` are skipped. Lines may be ``str`` or ``bytes``; a single string holding the whole proof is
split into lines.

What :func:`check_drup` accepts (forward RUP checking, as drat-trim's forward mode)
-------------------------------------------------------------------------------------
* Every lemma must be RUP (reverse unit propagation) with respect to the clauses alive at that
  point: assigning every literal of the lemma false and unit-propagating over the original clauses
  and the earlier lemmas (minus deleted ones) must end in a conflict. Lemmas that are tautologies or
  already satisfied at level 0 are trivially RUP.
* The proof is accepted once unit propagation at level 0 over the alive clauses yields a conflict
  (the formula itself may already be refuted that way). The level-0 assignment is kept at its
  fixpoint after every added clause, so a conflict shows up as soon as the clauses so far refute
  the formula, and the empty clause (RUP exactly then) is found as soon as it is derivable. Lines
  after that point are not read. A proof that ends earlier is rejected.
* Every literal must lie in ``[-num_vars, num_vars]``: a proof mentioning a variable the formula
  does not have is rejected (Maplesat's shifted proofs, see below, fail there or, earlier, on a
  lemma that is not RUP).
* Deletions of clauses that are not in the database are ignored (and counted), as drat-trim does.
  Literals implied at level 0 stay assigned when their reason clause is deleted: every clause ever
  in the database is implied by the formula, so those literals are too and soundness is kept
  (drat-trim likewise ignores unit deletions). Deletions never make a bad proof pass.
* Repeated literals in a clause count once.

Implementation: pure Python with two watched literals per clause, a level-0 trail kept at its unit
propagation fixpoint after every added clause, and a temporary trail for each RUP test, undone
afterwards. Values, watch lists and clauses are Python lists indexed by the literal itself (a
negative literal indexes from the end). Measured on this 2-core machine (CaDiCaL 1.9.5 proofs):
SATLIB uuf50-218, median 3-7 ms per proof (about 110 lines); random 3-SAT n = 100, m = 430
(uuf100-like), median 50-110 ms (about 1000 lines); n = 150, about 0.6-1.7 s (7000 lines).

Which python-sat solvers log proofs that check (measured on all 100 SATLIB uuf50-218 files, see
``tests/solvers/test_proof.py`` and the benchmark in the issue note): CaDiCaL 1.0.3/1.5.3/1.9.5/3.0,
Glucose 3/4/4.2, Gluecard 3/4, Lingeling, MapleChrono, MapleCM and Ergo. Maplesat's proofs have
every variable shifted by one and fail (shifted back, they check). MiniSat (2.2, GH, EP),
Minicard, Mergesat and Kissat log no proof in python-sat: their UNSAT answers stay "unchecked".
The default, :data:`DEFAULT_PROOF_SOLVER`, is CaDiCaL 1.9.5, whose proofs are DRUP with
deletions (small proofs, well-kept solver).

>>> check_drup([(1, 2), (-1, 2), (1, -2), (-1, -2)], ["2 0", "0"], num_vars=2)
ProofCheck(ok=True, reason='unit propagation conflict at level 0 after proof line 1', ...)
>>> check_drup([(1, 2), (-1, 2), (1, -2), (-1, -2)], ["3 0", "0"], num_vars=3).reason
'proof line 1: lemma 3 0 is not RUP'
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
import threading
import time
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterable, Mapping

import numpy as np

from nsad import limits as _limits
from nsad.solvers.registry import SolverError
from nsad.solvers.verdict import SAT, UNKNOWN, UNSAT, Verdict

__all__ = [
    "ProofCheck",
    "check_drup",
    "solve_with_proof",
    "proof_solvers",
    "DEFAULT_PROOF_SOLVER",
    "CHECKED",
    "UNCHECKED",
    "FAILED",
    "read_drup",
]

_PROOF_TOKEN = re.compile(r"-?[0-9]+")

CHECKED = "checked"
UNCHECKED = "unchecked"
FAILED = "failed"

DEFAULT_PROOF_SOLVER = "cadical195"
"""python-sat solver used by :func:`solve_with_proof` by default: its DRUP proofs check."""


@dataclass(frozen=True)
class ProofCheck:
    """The outcome of :func:`check_drup`: ``ok``, a one-line ``reason`` and statistics.

    ``reason`` says where the refutation was found when ``ok``, and which line fails otherwise.
    ``stats`` (read-only mapping): ``lines`` (proof lines read), ``lemmas``, ``deletions``,
    ``ignored_deletions`` (clauses not in the database), ``propagations`` (literals assigned by
    unit propagation, over all RUP tests), ``seconds``, ``failed_line`` (1-based, or None).
    ``bool(check)`` is ``ok``.

    >>> bool(ProofCheck(False, "no empty clause"))
    False
    """

    ok: bool
    reason: str
    stats: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "stats", MappingProxyType(dict(self.stats)))

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return f"ProofCheck(ok={self.ok}, reason={self.reason!r}, stats={dict(self.stats)!r})"


class _Refuted(Exception):
    """Internal: level-0 unit propagation found a conflict."""


def _clause_rows(clauses: Any) -> Iterable[Iterable[int]]:
    if hasattr(clauses, "literals") and hasattr(clauses, "offsets"):  # an instances.Cnf
        return clauses.clauses
    return clauses


def _proof_rows(proof_lines: Any) -> Iterable[Any]:
    if isinstance(proof_lines, (str, bytes)):
        return proof_lines.splitlines()
    return proof_lines


def check_drup(clauses: Any, proof_lines: Any, num_vars: int, *, limits=None, name: str | None = None) -> ProofCheck:
    """Check a DRUP refutation of ``clauses`` by forward RUP checking (see the module docstring).

    ``clauses``: an ``instances.Cnf`` or an iterable of iterables of nonzero ints;
    ``proof_lines``: an iterable of ``str``/``bytes`` lines (or one string); ``num_vars``: the
    declared number of variables (every literal must be within it). Never raises on a bad proof:
    the answer carries the reason. A formula clause out of range raises ``ValueError``. Limits
    (:mod:`nsad.limits`): ``num_vars`` at most ``max_vars`` (checked before the per-literal arrays
    are made), and at most ``max_proof_literals`` literals read from the proof; beyond them
    ``LimitError`` (the proof is then neither checked nor failed), located at ``NAME:LINE`` when the
    proof came from a file ``name``.

    >>> php = [(1,), (2,), (-1, -2)]           # refuted by unit propagation alone
    >>> check_drup(php, [], 2).reason
    'the formula is refuted by unit propagation at level 0'
    >>> check_drup([(1, 2)], ["0"], 2).ok       # a satisfiable formula has no refutation
    False
    >>> check_drup([(1, 2), (-1, 2)], ["3 0"], 2).reason
    'proof line 1: literal 3 is out of range: the formula has 2 variables'
    """
    start_time = time.perf_counter()
    if isinstance(num_vars, bool) or not isinstance(num_vars, (int, np.integer)) or num_vars < 0:
        raise ValueError(f"num_vars must be a non-negative integer, got {num_vars!r}")
    nv = int(num_vars)
    lim = _limits.resolve(limits)
    _limits.check("max_vars", nv, f"the formula of the proof check has {nv} variables", location=name, limits=lim)
    literal_cap = lim.max_proof_literals
    read_literals = 0

    # val[lit]: 1 true, -1 false, 0 unassigned; index 0 is the marker of deleted clauses (2).
    val = [0] * (2 * nv + 1)
    val[0] = 2
    watches: list[list[list[int]]] = [[] for _ in range(2 * nv + 1)]
    trail: list[int] = []
    db: dict[tuple[int, ...], list[list[int]]] = {}
    counters = {"propagations": 0}

    def propagate(qhead: int) -> bool:
        """Unit-propagate the trail from ``qhead``; False on conflict (trail left as is)."""
        _val, _watches, _trail = val, watches, trail
        start = len(_trail)
        while qhead < len(_trail):
            false_lit = -_trail[qhead]
            qhead += 1
            ws = _watches[false_lit]
            i = j = 0
            end = len(ws)
            while i < end:
                c = ws[i]
                i += 1
                first = c[0]
                if first == false_lit:
                    first = c[1]
                    c[0] = first
                    c[1] = false_lit
                v = _val[first]
                if v == 1:
                    ws[j] = c
                    j += 1
                    continue
                if v == 2:  # deleted clause: drop the watch
                    continue
                for k in range(2, len(c)):
                    lit = c[k]
                    if _val[lit] != -1:
                        c[1] = lit
                        c[k] = false_lit
                        _watches[lit].append(c)
                        break
                else:
                    ws[j] = c
                    j += 1
                    if v == 0:
                        _val[first] = 1
                        _val[-first] = -1
                        _trail.append(first)
                    else:  # every literal false: conflict
                        ws[j:] = ws[i:end]
                        counters["propagations"] += len(_trail) - start
                        return False
            del ws[j:]
        counters["propagations"] += len(_trail) - start
        return True

    def assert_unit(lit: int) -> None:
        """Make ``lit`` true at level 0 and propagate; raise _Refuted on conflict."""
        qhead = len(trail)
        val[lit] = 1
        val[-lit] = -1
        trail.append(lit)
        if not propagate(qhead):
            raise _Refuted

    def add_level0(lits: list[int]) -> None:
        """Add a clause (deduplicated, not a tautology) at level 0; raise _Refuted on conflict."""
        key = tuple(sorted(lits))
        db.setdefault(key, []).append(lits)
        if not lits:
            raise _Refuted
        if len(lits) == 1:
            lit = lits[0]
            v = val[lit]
            if v == 1:
                return
            if v == -1:
                raise _Refuted
            assert_unit(lit)
            return
        live = [lit for lit in lits if val[lit] != -1]
        if not live:
            raise _Refuted
        if any(val[lit] == 1 for lit in live):
            return  # satisfied forever: level-0 values are never undone, so no watches needed
        if len(live) == 1:
            assert_unit(live[0])
            return
        lits[:] = live + [lit for lit in lits if val[lit] == -1]
        watches[lits[0]].append(lits)
        watches[lits[1]].append(lits)

    def normalise(raw: Iterable[int]) -> list[int] | None:
        """Deduplicate; None for a tautology."""
        lits = list(dict.fromkeys(raw))
        if len(lits) > 1 and len(set(map(abs, lits))) != len(lits):
            return None
        return lits

    stats = {"lines": 0, "lemmas": 0, "deletions": 0, "ignored_deletions": 0, "failed_line": None}

    def result(ok: bool, reason: str) -> ProofCheck:
        stats["propagations"] = counters["propagations"]
        stats["seconds"] = time.perf_counter() - start_time
        return ProofCheck(ok, reason, stats)

    # ------------------------------------------------------------------ the formula
    try:
        for j, raw in enumerate(_clause_rows(clauses)):
            lits = [int(x) for x in raw]
            for lit in lits:
                if lit == 0 or lit > nv or lit < -nv:
                    raise ValueError(f"clause {j}: literal {lit} is out of range: the formula has {nv} variables")
            lits = normalise(lits)
            if lits is not None:
                add_level0(lits)
    except _Refuted:
        return result(True, "the formula is refuted by unit propagation at level 0")

    # ------------------------------------------------------------------ the proof
    number = 0
    for number, line in enumerate(_proof_rows(proof_lines), start=1):
        stats["lines"] = number
        if isinstance(line, (bytes, bytearray)):
            line = line.decode("ascii", "replace")
        tokens = line.split()
        if not tokens or tokens[0].startswith("c"):
            continue
        delete = tokens[0] == "d"
        if delete:
            tokens = tokens[1:]
        bad = next((t for t in tokens if not _PROOF_TOKEN.fullmatch(t)), None)
        if bad is not None:
            stats["failed_line"] = number
            return result(False, f"proof line {number}: bad token {bad[:40]!r}")
        read_literals += len(tokens)
        if literal_cap is not None and read_literals > literal_cap:
            raise _limits.exceeded("max_proof_literals", literal_cap, f"the proof has more than {literal_cap} "
                                   f"literals", location=f"{name}:{number}" if name else f"proof line {number}")
        long = next((t for t in tokens if len(t) > 20), None)
        if long is not None:
            stats["failed_line"] = number
            return result(False, f"proof line {number}: literal {long[:40]} is out of range: the formula has "
                          f"{nv} variables")
        lits = [int(t) for t in tokens]
        if not lits or lits[-1] != 0 or 0 in lits[:-1]:
            stats["failed_line"] = number
            return result(False, f"proof line {number}: a clause must be terminated by a single 0")
        lits.pop()
        for lit in lits:
            if lit > nv or lit < -nv:
                stats["failed_line"] = number
                return result(False, f"proof line {number}: literal {lit} is out of range: the formula has {nv} variables")
        if delete:
            stats["deletions"] += 1
            norm = normalise(lits)
            copies = db.get(tuple(sorted(norm))) if norm is not None else None
            if not copies:
                stats["ignored_deletions"] += 1
                continue
            c = copies.pop()
            if not copies:
                del db[tuple(sorted(norm))]
            if len(c) >= 2:
                c[0] = 0  # marks the clause deleted; watch lists drop it lazily
                c[1] = 0
            continue
        stats["lemmas"] += 1
        norm = normalise(lits)
        if norm is None:
            continue  # a tautology is RUP and useless
        # RUP test: assign the negation of the lemma, propagate, expect a conflict.
        mark = len(trail)
        conflict = False
        for lit in norm:
            v = val[lit]
            if v == 1:
                conflict = True
                break
            if v == 0:
                val[lit] = -1
                val[-lit] = 1
                trail.append(-lit)
        if not conflict:
            conflict = not propagate(mark)
        for lit in trail[mark:]:
            val[lit] = 0
            val[-lit] = 0
        del trail[mark:]
        if not conflict:
            stats["failed_line"] = number
            shown = " ".join(map(str, lits + [0]))
            return result(False, f"proof line {number}: lemma {shown} is not RUP")
        try:
            add_level0(norm)
        except _Refuted:
            return result(True, f"unit propagation conflict at level 0 after proof line {number}")
    return result(False, f"the proof ends after {number} lines without deriving the empty clause")


def read_drup(path, *, limits=None) -> list[bytes]:
    """The lines of a DRUP proof file (plain or gzip-compressed), streamed under the limits: the
    file's size (``max_file_bytes``), the decompressed bytes (``max_decompressed_bytes``) and the
    proof's tokens (``max_proof_literals``, counted as the lines are read); beyond them
    ``LimitError``. A file that cannot be read is a ``SolverError`` naming it.

    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "p.drup")
    >>> _ = open(p, "w").write("2 0\\nd 1 2 0\\n0\\n")
    >>> read_drup(p)
    [b'2 0', b'd 1 2 0', b'0']
    >>> check_drup([(1, 2), (-1, 2), (1, -2), (-1, -2)], read_drup(p), 2).ok
    True
    """
    import gzip
    import zlib

    name = os.fspath(path)
    lim = _limits.resolve(limits)
    cap = lim.max_proof_literals
    try:
        raw = _limits.open_input(name, lim, what="the proof")
    except OSError as exc:
        raise SolverError(f"{name}: {_limits.file_problem(exc, 'the proof')}") from None
    lines: list[bytes] = []
    tokens = 0
    with raw:
        try:
            stream = raw
            if raw.peek(2)[:2] == b"\x1f\x8b":
                stream = io.BufferedReader(_limits.CappedStream(gzip.GzipFile(fileobj=raw), lim.max_decompressed_bytes,
                                                                "max_decompressed_bytes", name, "the decompressed proof"))
            pending = b""
            line_cap = lim.max_text_bytes
            while True:
                chunk = stream.read(1 << 20)
                if chunk:
                    tokens += len(chunk.split())  # a token cut by the chunk boundary counts twice: an upper bound
                    if cap is not None and tokens > cap:
                        raise _limits.exceeded("max_proof_literals", cap, f"the proof has more than {cap} literals",
                                               location=f"{name}:{len(lines) + 1}")
                parts = (pending + chunk).split(b"\n")
                pending = parts.pop() if chunk else b""
                lines.extend(p.rstrip(b"\r") for p in parts)
                if not chunk:
                    if parts and parts[-1] == b"" and len(lines) and lines[-1] == b"":
                        lines.pop()  # the final newline
                    break
                if line_cap is not None and len(pending) > line_cap:
                    raise _limits.exceeded("max_text_bytes", line_cap, f"a proof line is longer than {line_cap} bytes",
                                           location=f"{name}:{len(lines) + 1}")
        except _limits.LimitError:
            raise
        except (OSError, EOFError, zlib.error) as exc:
            raise SolverError(f"{name}: cannot read the proof ({exc})") from None
    return lines


# ---------------------------------------------------------------------------------- solving
def proof_solvers() -> tuple[str, ...]:
    """Canonical names of the python-sat solvers whose proofs were measured to check (see above).

    >>> DEFAULT_PROOF_SOLVER in proof_solvers(), "maplesat" in proof_solvers()
    (True, False)
    """
    return (
        "cadical195",
        "cadical153",
        "cadical103",
        "cadical300",
        "glucose3",
        "glucose4",
        "glucose42",
        "gluecard3",
        "gluecard4",
        "lingeling",
        "maplechrono",
        "maplecm",
        "ergo",
    )


_NO_PROOF = frozenset({"minisat22", "minisatgh", "minisatep", "minicard", "mergesat3", "kissat404"})
"""python-sat solvers that raise NotImplementedError on ``with_proof=True``."""


def _proof_backend(backend: Any) -> Any:
    """A ``solvers.formula.backends.PysatBackend`` twin that logs a DRUP proof into ``stats["_proof"]``."""
    from nsad.solvers.formula.backends import PysatBackend, _Outcome

    class ProofBackend(PysatBackend):
        def run(self, num_vars, clauses, time_limit, options):
            from pysat.solvers import Solver

            start = time.perf_counter()
            if self.empty_formula_crashes and len(clauses) == 0:
                return _Outcome(True, [], {"_proof": []}, time.perf_counter() - start, None)
            fired = threading.Event()
            with Solver(name=self.pysat_name, bootstrap_with=clauses, with_proof=True) as s:
                if time_limit is None:
                    status = s.solve()
                else:
                    def fire(solver=s):
                        fired.set()
                        solver.interrupt()

                    timer = threading.Timer(max(time_limit - (time.perf_counter() - start), 0.0), fire)
                    timer.daemon = True
                    timer.start()
                    try:
                        status = s.solve_limited(expect_interrupt=True)
                    finally:
                        timer.cancel()
                        timer.join()
                model = s.get_model() if status else None
                proof = s.get_proof() if status is False else []
                try:
                    stats = dict(s.accum_stats())
                except NotImplementedError:
                    stats = {}
            stats["_proof"] = list(proof or [])
            reason = "time limit" if status is None and fired.is_set() else None
            return _Outcome(status, model, stats, time.perf_counter() - start, reason)

    return ProofBackend(
        backend.name,
        backend.summary,
        backend.interruptible,
        pysat_name=backend.pysat_name,
        budget=backend.budget,
        empty_formula_crashes=backend.empty_formula_crashes,
    )


def solve_with_proof(cnf: Any, solver: str = DEFAULT_PROOF_SOLVER, time_limit: float | None = None) -> Verdict:
    """Solve ``cnf`` with a formula solver of ``solvers.FORMULA_SOLVERS`` and check the answer.

    SAT answers are checked by evaluating the model (padded to ``num_vars`` with False) on every
    clause; UNSAT answers of python-sat solvers that log proofs by checking their DRUP proof with
    :func:`check_drup`. The verdict (kind ``"formula"``) carries ``stats["proof"]``: ``"checked"``,
    ``"failed"``, or ``"unchecked"`` (no answer, or a solver that logs no proof: MiniSat, Kissat,
    CP-SAT, ...), ``stats["proof_lines"]`` and ``stats["proof_check_seconds"]``; when the check
    fails, ``reason`` says why. ``seconds`` is the solving time (setup included), without the check.

    ``time_limit`` (seconds) works as in ``solve_formula``: solvers that honour interrupts stop in
    process; the others (CaDiCaL, Lingeling) run in a forked child process killed at the limit,
    which sends the proof back through a pipe. Unknown names and bad limits raise ``SolverError``.

    >>> from nsad.instances import Cnf
    >>> v = solve_with_proof(Cnf(2, [(1, 2), (-1, 2), (1, -2), (-1, -2)]))
    >>> v.answer, v.stats["proof"], v.backend
    ('unsat', 'checked', 'cadical195')
    >>> solve_with_proof(Cnf(2, [(1, -2)]), solver="cadical").stats["proof"]
    'checked'
    """
    from nsad.solvers.formula.backends import FORMULA_SOLVERS, PysatBackend, _check_time_limit, _run_isolated, solve_formula

    backend = FORMULA_SOLVERS.get(solver)
    limit = _check_time_limit(time_limit)
    num_vars = int(cnf.num_vars)
    stats: dict[str, Any] = {"proof": UNCHECKED, "proof_lines": 0, "proof_check_seconds": 0.0}
    if not isinstance(backend, PysatBackend) or backend.name in _NO_PROOF:
        verdict = solve_formula(cnf, backend.name, time_limit=limit)  # its models are checked there
        stats["proof"] = CHECKED if verdict.answer == SAT else UNCHECKED
        reason = verdict.reason
        if verdict.answer == UNSAT:
            reason = f"{backend.name} logs no DRUP proof"
        return dataclasses.replace(verdict, stats={**verdict.stats, **stats}, reason=reason)
    clauses = cnf.clauses
    proof_backend = _proof_backend(backend)
    if limit is not None and not backend.interruptible:
        if not hasattr(os, "fork"):
            raise SolverError(f"{backend.name} ignores interrupts: a time limit needs os.fork here")
        outcome = _run_isolated(proof_backend, num_vars, clauses, limit, {}, "fork")
    else:
        outcome = proof_backend.run(num_vars, clauses, limit, {})
    solver_stats = {k: v for k, v in outcome.stats.items() if k != "_proof"}
    model = None
    reason = outcome.reason
    if outcome.status is True:
        values = np.zeros(num_vars, dtype=bool)
        raw = np.asarray(outcome.model or [], dtype=np.int64)
        raw = raw[(raw != 0) & (np.abs(raw) <= num_vars)]
        values[np.abs(raw) - 1] = raw > 0
        model = tuple(values.tolist())
        t0 = time.perf_counter()
        good = bool(cnf.satisfied_by(values))
        stats["proof_check_seconds"] = time.perf_counter() - t0
        stats["proof"] = CHECKED if good else FAILED
        if not good:
            reason = "the solver's model falsifies a clause"
        answer = SAT
    elif outcome.status is False:
        answer = UNSAT
        lines = outcome.stats.get("_proof", [])
        stats["proof_lines"] = len(lines)
        stats["_drup"] = lines  # kept for the caller (never in to_json): `nsad decide --proof` stores it
        try:
            check = check_drup(clauses, lines, num_vars)
        except _limits.LimitError as exc:  # too large to check here: the answer stays the solver's word
            reason = f"proof not checked: {exc}"
        else:
            stats["proof_check_seconds"] = check.stats["seconds"]
            stats["proof"] = CHECKED if check.ok else FAILED
            if not check.ok:
                reason = f"proof check failed: {check.reason}"
    else:
        answer = UNKNOWN
        reason = reason or "no answer"
    return Verdict(
        answer=answer,
        backend=backend.name,
        seconds=outcome.seconds,
        complete=True,
        stats={**solver_stats, **stats},
        model=model,
        reason=reason,
        kind="formula",
    )
