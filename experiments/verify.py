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
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Iterable

from nsad.solvers.verdict import SAT, TWO, UNKNOWN, UNSAT

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

    @property
    def key(self) -> str:
        spec = asdict(self)
        spec.pop("time_limit")
        blob = json.dumps(spec, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]


def expand_grid(ns: Iterable[int], ratios: Iterable[float], count: int, seed: int, *, method=None,
                solver="cadical195", time_limit=None, k: int = 3, family: str = "random-ksat",
                methods: Iterable | None = None, experiment: str = "verify", proofs: bool = False) -> list[VerifyTask]:
    """The declared grid: ``count`` formulas per (n, ratio), global indices 0, 1, 2, ... in grid order;
    with ``methods``, one task per (formula, network method) on the same formulas. Method and solver
    names are stored canonically (``None`` is the default decider's name), so a task key never
    depends on what the default happens to be.

    >>> [t.method for t in expand_grid([5], [4.0], 1, 0, methods=[None, "fast", "highs"])]
    ['portfolio', 'portfolio', 'milp']
    """
    from nsad.solvers import FORMULA_SOLVERS
    from nsad.solvers.network.table import DECIDERS, DEFAULT_NETWORK_METHOD

    meths = [DECIDERS.canonical(m or DEFAULT_NETWORK_METHOD) for m in (list(methods) if methods else [method])]
    solver = FORMULA_SOLVERS.canonical(solver)
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


def instance(task: VerifyTask):
    from nsad.instances import GENERATORS

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
    details: dict = {}
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
    except Exception as exc:  # a crashed task becomes an error row, never a lost row
        row["error"] = f"{type(exc).__name__}: {exc}"
        row.setdefault("agree", None)
    row["details"] = details
    return row


def failure_row(task: VerifyTask, reason: str) -> dict:
    """The row of a task that was killed at its time limit (UNKNOWN) or crashed (error)."""
    row = {"key": task.key, "experiment": task.experiment, "run_seed": task.run_seed, "idx": task.index, "family": task.family, "n": task.n,
           "ratio": task.ratio, "k": task.k, "solver": task.solver, "method": task.method,
           "agree": None, "details": {"reason": reason}}
    if "time limit" in reason:
        row.update(network_answer=UNKNOWN, formula_answer=UNKNOWN, certificate="none", certificate_reason=reason)
    else:
        row["error"] = reason
    return row


@dataclass
class Summary:
    """Aggregates of a verification run (what the summary table prints)."""

    rows: list = field(default_factory=list)

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

        return {
            **head,
            "instances": len(rs),
            "sat": sum(r.get("formula_answer") == SAT for r in rs),
            "unsat": sum(r.get("formula_answer") == UNSAT for r in rs),
            "unknown": sum(UNKNOWN in (r.get("formula_answer"), r.get("network_answer")) for r in rs),
            "agree": sum(r.get("agree") == 1 for r in rs),
            "disagree": sum(r.get("agree") == 0 for r in rs),
            "errors": sum(bool(r.get("error")) for r in rs),
            "certs_checked": sum(r.get("certificate") in ("checked", "model-checked") for r in rs),
            "certs_failed": sum(r.get("certificate") == "failed" for r in rs),
            "proofs_checked": sum(r.get("proof") == "checked" and r.get("formula_answer") == UNSAT for r in rs),
            "proofs_failed": sum(r.get("proof") == "failed" for r in rs),
            "median_network_s": med("network_seconds"),
            "median_formula_s": med("formula_seconds"),
            "median_reduce_s": med("reduce_seconds"),
        }

    @property
    def ok(self) -> bool:
        return not any(r.get("agree") == 0 or r.get("certificate") == "failed" or r.get("error")
                       or r.get("proof") == "failed" for r in self.rows)

    def table(self) -> str:
        head = ["n", "ratio", "inst", "SAT", "UNSAT", "unknown", "agree", "disagree", "certs ok", "certs bad",
                "errors", "net med", "sat med", "ratio net/sat"]
        lines = []
        for g in self.groups():
            nm, fm = g["median_network_s"], g["median_formula_s"]
            lines.append([
                str(g["n"]), "" if g["ratio"] is None else f"{g['ratio']:g}", str(g["instances"]), str(g["sat"]),
                str(g["unsat"]), str(g["unknown"]), str(g["agree"]), str(g["disagree"]), str(g["certs_checked"]),
                str(g["certs_failed"]), str(g["errors"]), _fmt_s(nm), _fmt_s(fm),
                f"{nm / fm:.1f}x" if nm and fm else "-",
            ])
        widths = [max(len(h), *(len(l[i]) for l in lines)) for i, h in enumerate(head)]
        fmt = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths))
        return "\n".join([fmt(head), fmt(["-" * w for w in widths])] + [fmt(l) for l in lines])


def _fmt_s(v) -> str:
    if v is None:
        return "-"
    return f"{v * 1e3:.1f}ms" if v < 1 else f"{v:.2f}s"
