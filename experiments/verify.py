"""The verification experiment behind ``nsad verify``.

Protocol. For each (n, clause ratio) pair and each index ``i < count``, the formula is the ``i``-th
uniform random 3-SAT formula of the run's seed ``S`` (``instances.formula_rng(S, i')`` with ``i'``
the task's global index, so ``nsad generate`` with the same seed writes the same files). Each task:

1. regenerates its formula from the spec (nothing large crosses a process boundary);
2. reduces it to a ReLU network (``reductions.sat_to_relu.reduce``), timed;
3. decides the Clarke question on the network alone (``solvers.decide_network``), timed;
4. solves the formula (``solvers.solve_formula``, CaDiCaL 1.9.5 by default), timed;
5. checks, with exact integer arithmetic, the network side's certificate (``networks.check``) and a
   certificate built from the formula side's model (``certificate_from_model``);
6. compares: satisfiable iff two subgradients. An UNKNOWN on either side is not a disagreement
   but is counted apart.

One row per task goes to the ``verify`` table of the results store, keyed by a hash of the task
spec, written as the task finishes; re-running the same command skips finished tasks.

>>> t = VerifyTask(run_seed=1, index=0, n=5, ratio=4.26)
>>> row = run_task(t)
>>> row["agree"], row["certificate"] in ("checked", "none")
(1, True)
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Iterable, Sequence

from nsad.solvers.verdict import SAT, SINGLETON, TWO, UNKNOWN, UNSAT

DEFAULT_N = (10, 25, 50, 75, 100)
DEFAULT_RATIOS = (4.26,)
DEFAULT_COUNT = 30


@dataclass(frozen=True)
class VerifyTask:
    """A small picklable spec: everything needed to regenerate the instance and rerun the task.

    ``method`` and ``solver`` are canonical registry names (:func:`expand_grid` resolves aliases and
    the default); ``run_seed`` also seeds the network decider. ``key`` hashes every field but the
    time limit.
    """

    run_seed: int
    index: int
    n: int
    ratio: float | None = None
    m: int | None = None
    k: int = 3
    family: str = "random-ksat"
    method: str = "portfolio"
    solver: str = "cadical195"
    time_limit: float | None = None
    experiment: str = "verify"
    proofs: bool = False
    file: str | None = None
    file_sha256: str | None = None

    @property
    def key(self) -> str:
        spec = asdict(self)
        spec.pop("time_limit")
        for name in ("file", "file_sha256"):  # absent from the keys of generated formulas (older rows resume)
            if spec[name] is None:
                spec.pop(name)
        blob = json.dumps(spec, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]


def check_grid(ns: Sequence[int], ratios: Sequence[float], count: int, methods: int = 1, *, k: int = 3,
               family: str = "random-ksat", experiment: str = "verify", limits=None) -> dict:
    """Estimate a grid's size from its declaration alone and refuse it beyond the limits
    (:mod:`nsad.limits`): the number of tasks (``max_grid_tasks``); for every (n, ratio), the
    formula (``max_vars``, ``max_clauses``, ``max_literals``, ``max_memory_bytes``) and its reduction
    network (``max_units``, ``max_nnz``, from ``sat_to_relu.network_size``); the units summed over
    all tasks (``max_grid_units``). Returns the estimate ``{tasks, units, nnz}``.

    >>> check_grid([10, 20], [4.26], 30)
    {'tasks': 60, 'units': 70350, 'nnz': 281640}
    >>> check_grid([10_000_000], [4.26], 1)
    Traceback (most recent call last):
    ...
    nsad.errors.LimitError: verify grid, n = 10000000, ratio = 4.26: the formula would have 42600000 clauses, beyond the limit max_clauses = 10000000 (...)
    """
    from nsad import limits as _limits
    from nsad.instances.generators import check_formula_size, formula_size
    from nsad.reductions.sat_to_relu import network_size

    lim = _limits.resolve(limits)
    tasks = len(ns) * len(ratios) * count * methods
    _limits.check("max_grid_tasks", tasks, f"the {experiment} grid has {tasks} tasks ({len(ns)} n x {len(ratios)} "
                  f"ratios x count {count} x {methods} methods)", limits=lim)
    units_total = nnz_total = 0
    for n in ns:
        for r in ratios:
            where = f"{experiment} grid, n = {n}, ratio = {r:g}"
            try:
                size = formula_size(family, n=int(n), ratio=float(r), k=k)
            except ValueError as exc:  # CnfError: a bad parameter
                raise type(exc)(f"{where}: {exc}") from None
            if size is None:
                continue
            check_formula_size(size, "the formula", location=where, limits=lim)
            units, nnz = network_size(size.clauses, size.literals, k)
            _limits.check("max_units", units, f"its network would have up to {units} units", location=where,
                          limits=lim)
            _limits.check("max_nnz", nnz, f"its network would have up to {nnz} weights", location=where, limits=lim)
            units_total += units * count * methods
            nnz_total += nnz * count * methods
    _limits.check("max_grid_units", units_total, f"the {experiment} grid's networks would have up to {units_total} "
                  f"units in all", limits=lim)
    return {"tasks": tasks, "units": units_total, "nnz": nnz_total}


def expand_grid(ns: Iterable[int], ratios: Iterable[float], count: int, seed: int, *, method=None,
                solver="cadical195", time_limit=None, k: int = 3, family: str = "random-ksat",
                methods: Iterable | None = None, experiment: str = "verify", proofs: bool = False,
                limits=None) -> list[VerifyTask]:
    """The declared grid: ``count`` formulas per (n, ratio), global indices 0, 1, 2, ... in grid order;
    with ``methods``, one task per (formula, network method) on the same formulas. Method and solver
    names are stored canonically (``None`` is the default decider's name), so a task key never
    depends on what the default happens to be. The grid is checked against the limits first
    (:func:`check_grid`), before any task is made.

    >>> [t.method for t in expand_grid([5], [4.0], 1, 0, methods=[None, "fast", "highs"])]
    ['portfolio', 'portfolio', 'milp']
    """
    from nsad.solvers import FORMULA_SOLVERS
    from nsad.solvers.network.table import DECIDERS, DEFAULT_NETWORK_METHOD

    meths = [DECIDERS.canonical(m or DEFAULT_NETWORK_METHOD) for m in (list(methods) if methods else [method])]
    solver = FORMULA_SOLVERS.canonical(solver)
    ns, ratios = list(ns), list(ratios)
    check_grid(ns, ratios, count, len(meths), k=k, family=family, experiment=experiment, limits=limits)
    tasks = []
    i = 0
    for n in ns:
        for r in ratios:
            for _ in range(count):
                for meth in meths:
                    tasks.append(VerifyTask(run_seed=seed, index=i, n=int(n), ratio=float(r), k=k, family=family,
                                            method=meth, solver=solver, time_limit=time_limit,
                                            experiment=experiment, proofs=proofs))
                i += 1
    return tasks


def expand_files(files: Sequence[str], *, methods: Iterable | None = None, solver="cadical195", time_limit=None,
                 seed: int = 0, experiment: str = "verify", proofs: bool = False, limits=None) -> list[VerifyTask]:
    """One task per (DIMACS file, network method): the user's own formulas instead of generated
    ones (family ``"file"``; ``ratio`` is the file's m / n, rounded to 2 decimals for the table). Each
    file is read once here (the readers' limits apply), and its bytes' SHA-256 joins the task key,
    so an edited file is recomputed on resume.

    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "f.cnf"); _ = open(p, "w").write("p cnf 2 2\\n1 2 0\\n-1 0\\n")
    >>> [(t.family, t.n, t.m, t.ratio) for t in expand_files([p])]
    [('file', 2, 2, 1.0)]
    """
    from nsad import limits as _limits
    from nsad.instances import read_dimacs
    from nsad.solvers import FORMULA_SOLVERS
    from nsad.solvers.network.table import DECIDERS, DEFAULT_NETWORK_METHOD

    meths = [DECIDERS.canonical(m or DEFAULT_NETWORK_METHOD) for m in (list(methods) if methods else [None])]
    solver = FORMULA_SOLVERS.canonical(solver)
    _limits.check("max_grid_tasks", len(files) * len(meths), f"{len(files)} files x {len(meths)} methods",
                  limits=limits)
    tasks = []
    for i, path in enumerate(files):
        cnf = read_dimacs(path)
        with open(path, "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()
        ratio = round(cnf.num_clauses / cnf.num_vars, 2) if cnf.num_vars else None
        k = int((cnf.offsets[1:] - cnf.offsets[:-1]).max()) if cnf.num_clauses else 0  # the longest clause
        for meth in meths:
            tasks.append(VerifyTask(run_seed=seed, index=i, n=cnf.num_vars, ratio=ratio, m=cnf.num_clauses, k=k,
                                    family="file", method=meth, solver=solver, time_limit=time_limit,
                                    experiment=experiment, proofs=proofs, file=os.path.abspath(path),
                                    file_sha256=digest))
    return tasks


def instance(task: VerifyTask):
    from nsad.instances import GENERATORS

    if task.file is not None:
        from nsad.instances import read_dimacs

        return read_dimacs(task.file)

    gen = GENERATORS[task.family]
    return gen(task.n, m=task.m, ratio=task.ratio if task.m is None else None, k=task.k, seed=task.run_seed,
               index=task.index)


def cnf_sha256(cnf) -> str:
    h = hashlib.sha256()
    h.update(f"{cnf.num_vars} {cnf.num_clauses}\n".encode())
    h.update(cnf.literals.tobytes())
    h.update(cnf.offsets.tobytes())
    return h.hexdigest()


@functools.lru_cache(maxsize=None)
def _takes_proof(method: str | None) -> bool:
    """Whether the network decider can check its UNSAT answers with a DRUP proof (``proof=True``)."""
    from nsad.solvers.network.table import DECIDERS, DEFAULT_NETWORK_METHOD

    return DECIDERS.get(method or DEFAULT_NETWORK_METHOD).accepts_proof


def run_task(task: VerifyTask) -> dict:
    """Run one verification task and return its result row (never raises for solver trouble)."""
    from nsad.networks import check
    from nsad.reductions.sat_to_relu import certificate_from_model, reduce
    from nsad.solvers import decide_network, solve_formula

    row: dict = {"key": task.key, "experiment": task.experiment, "run_seed": task.run_seed, "idx": task.index,
                 "family": task.family,
                 "n": task.n, "ratio": task.ratio, "k": task.k, "solver": task.solver}
    details: dict = {"file": task.file} if task.file is not None else {}
    try:
        cnf = instance(task)
        row.update(m=cnf.num_clauses, sha256=cnf_sha256(cnf))
        t0 = time.perf_counter()
        net = reduce(cnf)
        row["reduce_seconds"] = time.perf_counter() - t0
        row.update(depth=net.depth, units=net.n_units, nnz=net.nnz)

        nv = decide_network(net, method=task.method, time_limit=task.time_limit, seed=task.run_seed,
                            **({"proof": True} if task.proofs and _takes_proof(task.method) else {}))
        row.update(method=task.method, network_backend=nv.backend, network_answer=nv.answer,
                   network_complete=int(nv.complete), network_seconds=nv.seconds)
        if task.proofs:
            row["network_proof"] = nv.stats.get("proof", "unchecked")
        details["network"] = {k: v for k, v in nv.to_json().items() if k not in ("verdict",)}

        if task.proofs:
            from nsad.solvers.formula.proof import solve_with_proof

            fv = solve_with_proof(cnf, solver=task.solver, time_limit=task.time_limit)
            row["proof"] = fv.stats.get("proof")
        else:
            fv = solve_formula(cnf, solver=task.solver, time_limit=task.time_limit)
        row.update(formula_answer=fv.answer, formula_seconds=fv.seconds)
        details["formula"] = {"stats": fv.to_json()["stats"], "reason": fv.reason}

        t0 = time.perf_counter()
        status, reasons = "none", []
        if nv.answer == TWO:
            res = check(net, nv.certificate) if nv.certificate is not None else None
            ok = bool(res)
            status = "checked" if ok else "failed"
            reasons.append(f"network certificate: {res.reason if res is not None else 'missing'}")
        if fv.answer == SAT:
            res = check(net, certificate_from_model(cnf, net, fv.model))
            reasons.append(f"model certificate: {res.reason}")
            if not res:
                status = "failed"
            elif status == "none":
                status = "model-checked"
        row["check_seconds"] = time.perf_counter() - t0
        row["certificate"] = status
        row["certificate_reason"] = "; ".join(reasons) or None
        if UNKNOWN in (nv.answer, fv.answer):
            row["agree"] = None
        else:
            row["agree"] = int((fv.answer == SAT) == (nv.answer == TWO))
    except MemoryError:  # the worker reports it as the memory limit (an unknown row, not an error)
        raise
    except Exception as exc:  # a crashed task becomes an error row, never a lost row
        row["error"] = f"{type(exc).__name__}: {exc}"
        row.setdefault("agree", None)
    row["details"] = details
    return row


def failure_row(task: VerifyTask, reason: str) -> dict:
    """The row of a task that was killed at its time or memory limit (UNKNOWN, the reason kept) or
    crashed (error)."""
    row = {"key": task.key, "experiment": task.experiment, "run_seed": task.run_seed, "idx": task.index, "family": task.family, "n": task.n,
           "ratio": task.ratio, "k": task.k, "solver": task.solver, "method": task.method,
           "agree": None, "details": {"reason": reason}}
    if any(w in reason for w in ("time limit", "memory limit", "out of memory")):  # undecided, not an error
        row.update(network_answer=UNKNOWN, formula_answer=UNKNOWN, certificate="none", certificate_reason=reason)
    else:
        row["error"] = reason
    return row


@dataclass
class Summary:
    """Aggregates of a verification run: what the table and the verdict print, and the exit code.

    The two sides are counted apart: the formula side (the SAT solver: ``sat``, ``unsat``,
    ``formula_unknown``) and the network side (the decider: ``two``, ``singleton``,
    ``network_unknown``); ``decided_both`` counts the instances decided on both sides. Certificates
    are counted one by one (a two-subgradient answer carries one, a SAT answer's model gives one);
    UNSAT answers (formula side) and singleton answers (network side) are checked only with
    ``proofs`` (DRUP), otherwise they are the solvers' word and are counted as such.

    ``exit_code()``: 1 if any disagreement, failed certificate or failed proof; else 3 if any
    instance was not decided on both sides (time or memory limit, error) or, with ``proofs``, an
    UNSAT/singleton answer could not be proof-checked; else 0.

    >>> s = Summary([{"n": 5, "formula_answer": "sat", "network_answer": "two-subgradients", "agree": 1,
    ...               "certificate": "checked"}])
    >>> s.exit_code(), s.verdict().splitlines()[-1]
    (0, 'result: all 1 formulas decided on both sides and agree; every certificate checked')
    >>> Summary([{"n": 5, "formula_answer": "unknown", "network_answer": "unknown", "agree": None}]).exit_code()
    3
    """

    rows: list = field(default_factory=list)
    proofs: bool = False

    def add(self, row: dict) -> None:
        self.rows.append(row)

    def groups(self) -> list[dict]:
        by: dict = {}
        for r in self.rows:
            by.setdefault((r["n"], r.get("ratio")), []).append(r)
        out = []
        for (n, ratio), rs in sorted(by.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
            out.append(self._aggregate(rs, n=n, ratio=ratio))
        if len(out) > 1:
            out.append(self._aggregate(self.rows, n="all", ratio=None))
        return out

    @staticmethod
    def _aggregate(rs: list, **head) -> dict:
        def med(key):
            vals = [r[key] for r in rs if r.get(key) is not None]
            return statistics.median(vals) if vals else None

        def count(pred) -> int:
            return sum(1 for r in rs if pred(r))

        fa = lambda r: r.get("formula_answer")  # noqa: E731
        na = lambda r: r.get("network_answer")  # noqa: E731
        checked = ("checked", "model-checked")
        return {
            **head,
            "instances": len(rs),
            "sat": count(lambda r: fa(r) == SAT),
            "unsat": count(lambda r: fa(r) == UNSAT),
            "formula_unknown": count(lambda r: fa(r) not in (SAT, UNSAT)),
            "two": count(lambda r: na(r) == TWO),
            "singleton": count(lambda r: na(r) == SINGLETON),
            "network_unknown": count(lambda r: na(r) not in (TWO, SINGLETON)),
            "decided_both": count(lambda r: not r.get("error") and fa(r) in (SAT, UNSAT) and na(r) in (TWO, SINGLETON)),
            "unknown": count(lambda r: UNKNOWN in (fa(r), na(r))),
            "agree": count(lambda r: r.get("agree") == 1),
            "disagree": count(lambda r: r.get("agree") == 0),
            "errors": count(lambda r: bool(r.get("error"))),
            "certs_checked": count(lambda r: r.get("certificate") in checked),
            "certs_failed": count(lambda r: r.get("certificate") == "failed"),
            "certificates_checked": sum((na(r) == TWO) + (fa(r) == SAT) for r in rs if r.get("certificate") in checked),
            "proofs_checked": count(lambda r: r.get("proof") == "checked" and fa(r) == UNSAT),
            "proofs_failed": count(lambda r: r.get("proof") == "failed"),
            "proofs_unchecked": count(lambda r: fa(r) == UNSAT and r.get("proof") not in ("checked", "failed")),
            "network_proofs_checked": count(lambda r: na(r) == SINGLETON and r.get("network_proof") == "checked"),
            "network_proofs_failed": count(lambda r: r.get("network_proof") == "failed"),
            "network_proofs_unchecked": count(lambda r: na(r) == SINGLETON
                                              and r.get("network_proof") not in ("checked", "failed")),
            "median_network_s": med("network_seconds"),
            "median_formula_s": med("formula_seconds"),
            "median_reduce_s": med("reduce_seconds"),
        }

    def total(self) -> dict:
        """The aggregate of every row."""
        return self._aggregate(self.rows, n="all", ratio=None)

    def exit_code(self) -> int:
        """0, 1 or 3 (see the class docstring; 2, a usage error, never comes from a summary)."""
        t = self.total()
        if t["disagree"] or t["certs_failed"] or t["proofs_failed"] or t["network_proofs_failed"]:
            return 1
        if t["decided_both"] < t["instances"] or t["errors"]:
            return 3
        if self.proofs and (t["proofs_unchecked"] or t["network_proofs_unchecked"]):
            return 3
        return 0

    @property
    def ok(self) -> bool:
        """Every instance decided on both sides, agreeing, every certificate (and asked-for proof) checked."""
        return self.exit_code() == 0

    def verdict(self) -> str:
        """The summary under the table: each side's decisions, agreement, certificates, proofs, and a
        last line ``result: ...`` that says "agree" only when every instance was decided on both sides
        and agreed."""
        t = self.total()
        N = t["instances"]
        lines = [
            f"{N} formulas; decided on the formula side {t['sat'] + t['unsat']} of {N} ({t['sat']} SAT, "
            f"{t['unsat']} UNSAT), on the network side {t['two'] + t['singleton']} of {N} ({t['two']} "
            f"two-subgradients, {t['singleton']} singleton), on both sides {t['decided_both']}",
            f"agreement: {t['agree']} agree, {t['disagree']} disagree"
            + (f", {N - t['agree'] - t['disagree']} not compared (undecided on a side)"
               if N - t['agree'] - t['disagree'] else ""),
            f"certificates: {t['certificates_checked']} checked exactly (every two-subgradient answer and every SAT "
            f"model), {t['certs_failed']} failed",
        ]
        if self.proofs:
            lines.append(
                f"UNSAT proofs checked: formula side {t['proofs_checked']} of {t['unsat']} ({t['proofs_failed']} "
                f"failed), network side {t['network_proofs_checked']} of {t['singleton']} "
                f"({t['network_proofs_failed']} failed)")
        elif t["unsat"] or t["singleton"]:
            lines.append(f"UNSAT answers not proof-checked: {t['unsat']} formula-side and {t['singleton']} "
                         f"network-side are the solvers' word (--proof checks their DRUP proofs)")
        if t["errors"]:
            lines.append(f"errors: {t['errors']} tasks crashed (see the error column of their rows)")
        code = self.exit_code()
        if code == 1:
            result = (f"result: PROBLEMS FOUND: {t['disagree']} disagreements, {t['certs_failed']} failed "
                      f"certificates, {t['proofs_failed'] + t['network_proofs_failed']} failed proofs (see the rows)")
        elif code == 3:
            missing = N - t["decided_both"]
            parts = [f"{missing} of {N} formulas not decided on both sides"] if missing else []
            if self.proofs and (t["proofs_unchecked"] or t["network_proofs_unchecked"]):
                parts.append(f"{t['proofs_unchecked'] + t['network_proofs_unchecked']} UNSAT answers without a "
                             f"checked proof")
            result = "result: UNDECIDED: " + "; ".join(parts) + f"; the {t['agree']} decided on both sides agree"
        else:
            result = f"result: all {N} formulas decided on both sides and agree; every certificate checked"
            if self.proofs:
                result += "; every UNSAT proof checked"
        lines.append(result)
        return "\n".join(lines)

    def table(self) -> str:
        head = ["n", "ratio", "inst", "SAT", "UNSAT", "f?", "two", "single", "n?", "agree", "disagree", "certs ok",
                "certs bad", "proofs ok", "errors", "net med", "sat med", "net/sat"]
        lines = []
        for g in self.groups():
            nm, fm = g["median_network_s"], g["median_formula_s"]
            lines.append([
                str(g["n"]), "" if g["ratio"] is None else f"{g['ratio']:g}", str(g["instances"]), str(g["sat"]),
                str(g["unsat"]), str(g["formula_unknown"]), str(g["two"]), str(g["singleton"]),
                str(g["network_unknown"]), str(g["agree"]), str(g["disagree"]), str(g["certificates_checked"]),
                str(g["certs_failed"]), str(g["proofs_checked"] + g["network_proofs_checked"]) if self.proofs else "-",
                str(g["errors"]), _fmt_s(nm), _fmt_s(fm), f"{nm / fm:.1f}x" if nm and fm else "-",
            ])
        widths = [max(len(h), *(len(l[i]) for l in lines)) if lines else len(h) for i, h in enumerate(head)]
        fmt = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths))  # noqa: E731
        legend = ("SAT, UNSAT, f?: the formula side (SAT solver); two, single, n?: the network side (decider); "
                  "? = undecided (time or memory limit, error)")
        return "\n".join([fmt(head), fmt(["-" * w for w in widths])] + [fmt(l) for l in lines] + [legend])


def _fmt_s(v) -> str:
    if v is None:
        return "-"
    return f"{v * 1e3:.1f}ms" if v < 1 else f"{v:.2f}s"
