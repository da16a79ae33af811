"""Suites: folders of generated formulas described by a TOML spec, with a ``manifest.json``.

Spec schema
-----------
::

    seed = 7                      # optional, int >= 0 (default 0): seed of every entry without its own

    [[family]]                    # one table per family entry, at least one
    name = "random-ksat"          # required: a family name or alias (see below)
    n = [20, 50]                  # generator parameters: a value, a list of values,
    ratio = [4.0, 4.26]           #   or a range table {start = 3.5, stop = 5.0, step = 0.5} (stop included)
    count = 10                    # optional, int >= 1 (default 1): formulas per grid point

    [[family]]
    name = "pigeonhole"
    holes = [4, 5]                # "pigeons = [5, 6]" is accepted too (holes = pigeons - 1)
    to_3cnf = true                # optional (default false): convert each formula with to_3cnf

    [[family]]
    name = "threshold-sweep"      # random-ksat with ratio defaulting to THRESHOLD_RATIOS (around 4.26)
    n = 50
    count = 20
    seed = 11                     # optional: this entry's own seed

Reserved keys of an entry: ``name``, ``count``, ``seed``, ``to_3cnf``; every other key is a
parameter of the family's generator (checked against its signature; ``seed`` and ``index`` are set
by the suite). An entry's grid is the Cartesian product of its parameters' value lists, taken in the
order the keys are written. Family names: those of ``instances.GENERATORS`` (``random-ksat``,
``planted-ksat``), of ``instances.families.FAMILIES`` (``hidden-ksat``, ``pigeonhole``,
``ordering``, ``parity``, ``mutilated-chessboard``, ``random-kxor``, ``tseitin``), their aliases
(case-insensitive), and ``threshold-sweep``. Every problem raises ``SuiteError`` (a ``CnfError``,
so a ``ValueError``) whose message names the spec file, the entry and the key.

Seeds and indices: formula number ``i`` of the suite (0-based: entries in order, grid points in
product order, then ``count`` formulas each) is ``generator(**parameters, seed=entry_seed,
index=i)``, so every formula is an independent stream ``formula_rng(entry_seed, i)`` and any one of
them can be regenerated alone from its provenance comments.

Output folder
-------------
One DIMACS file per formula, named ``FAMILY-IIIII.cnf`` (``I`` the suite index, zero-padded), with
nsad's provenance comments, and ``manifest.json``: a JSON list of records with exactly the keys
``file`` (name relative to the folder), ``family``, ``parameters`` (the formula's own), ``seed``,
``n``, ``m``, ``sha256`` (of the file's bytes) and ``expected`` (``"sat"``/``"unsat"`` when known
by construction, else null), the schema of ``nsad generate random``.

Every file is written to a temporary name in the folder and renamed into place, and the manifest
is written last, so a folder whose ``manifest.json`` exists is complete (against process crashes;
no fsync is done). Regenerating into a folder that holds a suite needs ``overwrite=True``: the old
manifest is removed first, and files of the old suite that the new one does not list are removed
after the new manifest is in place.

>>> import pathlib, tempfile
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "s.toml").write_text('seed = 1\\n[[family]]\\nname = "php"\\nholes = [2, 3]\\n')
>>> records = generate_suite(folder / "s.toml", folder / "out")
>>> [(r["file"], r["n"], r["m"], r["expected"]) for r in records]
[('pigeonhole-00000.cnf', 6, 9, 'unsat'), ('pigeonhole-00001.cnf', 12, 22, 'unsat')]
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import math
import numbers
import os
import re
try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from nsad import limits as _limits

from .cnf import Cnf, CnfError
from .dimacs import format_dimacs
from .families import FAMILIES, expected_label
from .families import FAMILY_ALIASES as _NEW_ALIASES
from .generators import FAMILY_ALIASES as _CORE_ALIASES
from .generators import GENERATORS, FormulaSize, check_formula_size, formula_size, random_ksat
from .to3cnf import to_3cnf

__all__ = [
    "families",
    "SuiteError",
    "SuiteTask",
    "THRESHOLD_RATIOS",
    "load_spec",
    "suite_tasks",
    "generate_suite",
    "threshold_sweep",
    "MANIFEST",
    "MANIFEST_KEYS",
]

MANIFEST = "manifest.json"
MANIFEST_KEYS = ("file", "family", "parameters", "seed", "n", "m", "sha256", "expected")
THRESHOLD_SWEEP = "threshold-sweep"
THRESHOLD_RATIOS: tuple[float, ...] = tuple(round(4.26 + 0.2 * i, 2) for i in range(-6, 7))
"""Default clause ratios of a threshold sweep: 3.06, 3.26, ..., 4.26, ..., 5.46 (13 values)."""

_RESERVED = ("name", "count", "seed", "to_3cnf")


class SuiteError(CnfError):
    """A bad suite spec or output folder (one-line message naming the file, entry and key)."""


@dataclass(frozen=True)
class SuiteTask:
    """One formula of a suite: everything needed to regenerate it (small and picklable).

    >>> SuiteTask("pigeonhole", (("holes", 3),), seed=0, index=4).build().num_vars
    12
    """

    family: str
    parameters: tuple[tuple[str, Any], ...]
    seed: int
    index: int
    to_3cnf: bool = False

    def build(self) -> Cnf:
        """Generate the formula (and convert it to 3-CNF when asked)."""
        cnf = _generators()[self.family](**dict(self.parameters), seed=self.seed, index=self.index)
        if self.to_3cnf:
            cnf, _ = to_3cnf(cnf)
        return cnf


def _generators() -> dict[str, Callable[..., Cnf]]:
    table = dict(FAMILIES)
    table.update(GENERATORS)  # the core package's registry wins if it ever registers the same name
    table[THRESHOLD_SWEEP] = random_ksat
    return table


def families() -> dict[str, tuple[str, ...]]:
    """Every family name a spec may use (``nsad list families``), with its aliases.

    >>> "pigeonhole" in families() and "threshold-sweep" in families()
    True
    """
    aliases = _aliases()
    return {name: tuple(sorted(a for a, target in aliases.items() if target == name and a != name))
            for name in _generators()}


def _aliases() -> dict[str, str]:
    table = {k.lower(): v for k, v in _NEW_ALIASES.items()}
    table.update({k.lower(): v for k, v in _CORE_ALIASES.items()})
    table.update({"sweep": THRESHOLD_SWEEP, "threshold": THRESHOLD_SWEEP})
    return table


# ------------------------------------------------------------------------------------- the spec
_TOML_STRING = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*')


def _toml_nesting(text: str) -> int:
    """The nesting depth of TOML arrays and inline tables (strings and comments skipped)."""
    bare = _TOML_STRING.sub('""', text)
    depth = best = 0
    for ch in re.findall(r"[\[\]{}]", bare):
        depth += 1 if ch in "[{" else -1
        best = max(best, depth)
    return best


def load_spec(path: str | os.PathLike[str], *, limits: _limits.Limits | None = None) -> dict[str, Any]:
    """Read a TOML suite spec (``tomllib``); every problem is a ``SuiteError`` naming the file: TOML
    syntax, bytes that are not UTF-8, a missing file. Limits (:mod:`nsad.limits`): the file's size
    (``max_text_bytes``), the nesting of arrays and tables (``max_nesting``), the digits of a number
    (``max_number_length``): beyond them ``LimitError``, checked before ``tomllib`` runs.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "bad.toml"
    >>> _ = p.write_text("seed = \\n")
    >>> load_spec(p)
    Traceback (most recent call last):
    ...
    nsad.instances.suites.SuiteError: .../bad.toml: not valid TOML: Invalid value (at line 1, column 8)
    >>> _ = p.write_bytes(b"seed = 1 # caf\\xe9\\n")
    >>> load_spec(p)
    Traceback (most recent call last):
    ...
    nsad.instances.suites.SuiteError: .../bad.toml:1: not UTF-8 text (byte 14)
    """
    lim = _limits.resolve(limits)
    name = os.fspath(path)
    text = _limits.read_text(name, lim, error=SuiteError, what="the suite spec")
    _limits.check_text_numbers(text, name, lim)
    depth = _toml_nesting(text)
    _limits.check("max_nesting", depth, f"arrays or tables nested {depth} deep", location=name, limits=lim)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"{name}: not valid TOML: {exc}") from None
    except (ValueError, RecursionError) as exc:  # what tomllib raises besides its own error
        raise SuiteError(f"{name}: not valid TOML ({type(exc).__name__}: {exc})".splitlines()[0]) from None


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _values(where: str, key: str, value: Any) -> list[Any]:
    """The value list of one parameter: a scalar, a list, or a range table."""
    if isinstance(value, list):
        if not value:
            raise SuiteError(f"{where}: key {key!r} is an empty list")
        for v in value:
            if isinstance(v, (list, dict)):
                raise SuiteError(f"{where}: key {key!r} must list plain values, got {v!r}")
        return list(value)
    if isinstance(value, dict):
        extra = set(value) - {"start", "stop", "step"}
        missing = {"start", "stop", "step"} - set(value)
        if extra or missing:
            raise SuiteError(f"{where}: key {key!r}: a range table needs exactly start, stop and step")
        start, stop, step = value["start"], value["stop"], value["step"]
        for part, v in (("start", start), ("stop", stop), ("step", step)):
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
                raise SuiteError(f"{where}: key {key!r}: range {part} must be a finite number, got {v!r}")
        if not step > 0 or stop < start:
            raise SuiteError(f"{where}: key {key!r}: a range needs step > 0 and start <= stop")
        count = math.floor((stop - start) / step + 1e-9) + 1
        if count > 100_000:
            raise SuiteError(f"{where}: key {key!r}: the range has {count} values (at most 100000)")
        if _is_int(start) and _is_int(step):
            return [start + i * step for i in range(count)]
        return [round(start + i * step, 10) for i in range(count)]
    return [value]


def _check_seed(where: str, value: Any) -> int:
    if not _is_int(value) or value < 0:
        raise SuiteError(f"{where}: key 'seed' must be an integer >= 0, got {value!r}")
    return int(value)


def suite_tasks(spec: Mapping[str, Any], source: str = "<spec>", *,
                limits: _limits.Limits | None = None) -> list[SuiteTask]:
    """Validate a parsed spec and list its formulas in suite order (see the module docstring).

    ``source`` names the spec in error messages. Before any task is listed, the suite's size is
    estimated from the spec alone (:mod:`nsad.limits`): the number of formulas (``max_grid_tasks``),
    every grid point's formula (``max_vars``, ``max_clauses``, ``max_literals``, ``max_memory_bytes``,
    from the family's size estimate) and the DIMACS bytes of the whole suite (``max_output_bytes``);
    beyond a limit, ``LimitError`` naming the entry.

    >>> tasks = suite_tasks({"seed": 3, "family": [{"name": "random", "n": [10, 20], "ratio": 4.0, "count": 2}]})
    >>> [(t.family, dict(t.parameters)["n"], t.seed, t.index) for t in tasks]
    [('random-ksat', 10, 3, 0), ('random-ksat', 10, 3, 1), ('random-ksat', 20, 3, 2), ('random-ksat', 20, 3, 3)]
    >>> suite_tasks({"family": [{"name": "php", "hole": 3}]}, "s.toml")
    Traceback (most recent call last):
    ...
    nsad.instances.suites.SuiteError: s.toml: [[family]] 1 (pigeonhole): unknown parameter 'hole'; accepted: holes, per_hole, shuffle (or pigeons)
    """
    if not isinstance(spec, Mapping):
        raise SuiteError(f"{source}: a suite spec must be a table")
    unknown = set(spec) - {"seed", "family"}
    if unknown:
        raise SuiteError(f"{source}: unknown top-level key {sorted(unknown)[0]!r}; expected 'seed' and [[family]] tables")
    base_seed = _check_seed(source, spec.get("seed", 0))
    entries = spec.get("family")
    if not isinstance(entries, list) or not entries or not all(isinstance(e, Mapping) for e in entries):
        raise SuiteError(f"{source}: the spec needs at least one [[family]] table")
    lim = _limits.resolve(limits)
    generators, aliases = _generators(), _aliases()
    tasks: list[SuiteTask] = []
    planned = 0  # formulas declared so far, counted before any is listed
    output = 0  # estimated DIMACS bytes
    for number, entry in enumerate(entries, start=1):
        where = f"{source}: [[family]] {number}"
        if "name" not in entry:
            raise SuiteError(f"{where}: missing key 'name'")
        raw_name = entry["name"]
        if not isinstance(raw_name, str):
            raise SuiteError(f"{where}: key 'name' must be a string, got {raw_name!r}")
        family = aliases.get(raw_name.lower(), raw_name.lower())
        if family not in generators:
            choices = ", ".join(sorted(generators))
            raise SuiteError(f"{where}: unknown family {raw_name!r} in key 'name'; choose one of: {choices}")
        where = f"{where} ({family})"
        count = entry.get("count", 1)
        if not _is_int(count) or count < 1:
            raise SuiteError(f"{where}: key 'count' must be an integer >= 1, got {count!r}")
        seed = _check_seed(where, entry.get("seed", base_seed))
        convert = entry.get("to_3cnf", False)
        if not isinstance(convert, bool):
            raise SuiteError(f"{where}: key 'to_3cnf' must be true or false, got {convert!r}")
        params = {k: v for k, v in entry.items() if k not in _RESERVED}
        if family == "pigeonhole" and "pigeons" in params:
            if "holes" in params:
                raise SuiteError(f"{where}: give 'holes' or 'pigeons', not both")
            pigeons = _values(where, "pigeons", params.pop("pigeons"))
            if not all(_is_int(p) and p >= 2 for p in pigeons):
                raise SuiteError(f"{where}: key 'pigeons' must hold integers >= 2, got {pigeons!r}")
            params = {"holes": [p - 1 for p in pigeons], **params}
        if family == THRESHOLD_SWEEP:
            params.setdefault("ratio", list(THRESHOLD_RATIOS))
        signature = inspect.signature(generators[family])
        accepted = [p for p in signature.parameters if p not in ("seed", "index")]
        for key in params:
            if key not in accepted:
                extra = " (or pigeons)" if family == "pigeonhole" else ""
                raise SuiteError(
                    f"{where}: unknown parameter {key!r}; accepted: {', '.join(accepted)}{extra}"
                )
        keys = list(params)
        grids = [_values(where, key, params[key]) for key in keys]
        points = math.prod(len(g) for g in grids)
        planned += points * count
        _limits.check("max_grid_tasks", planned, f"the suite declares {planned} formulas (entries 1..{number}; "
                      f"this one: {points} grid points x count {count})", location=where, limits=lim)
        for point in itertools.product(*grids):
            kwargs = tuple(zip(keys, point))
            try:
                signature.bind(**dict(kwargs))
                size = formula_size(generators[family], **dict(kwargs))
            except TypeError as exc:
                raise SuiteError(f"{where}: {exc}") from None
            except CnfError as exc:
                raise SuiteError(f"{where}: {dict(kwargs)}: {exc}") from None
            if size is not None:
                if convert:
                    size = _three_cnf_size(size)
                check_formula_size(size, f"the formula with {dict(kwargs)}", location=where, limits=lim)
                output += count * size.dimacs_bytes
                _limits.check("max_output_bytes", output, f"the suite's DIMACS files would take about {output} "
                              f"bytes", location=where, limits=lim)
            for _ in range(count):
                tasks.append(SuiteTask(family, kwargs, seed, len(tasks), convert))
    return tasks


def _three_cnf_size(size: FormulaSize) -> FormulaSize:
    """An upper bound after ``to_3cnf``: each long clause of length L becomes L - 2 clauses with L - 3
    new variables."""
    return FormulaSize(size.vars + size.literals, size.clauses + size.literals, 3 * (size.clauses + size.literals),
                       3 * size.memory + 64 * size.literals)


# ------------------------------------------------------------------------------------ writing
def _write_atomic(folder: Path, name: str, data: bytes) -> None:
    """Write ``folder/name`` through ``folder/.name.PID.tmp`` and an atomic rename."""
    tmp = folder / f".{name}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
        os.replace(tmp, folder / name)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _old_files(folder: Path) -> set[str]:
    try:
        records = _limits.load_json(str(folder / MANIFEST), error=SuiteError, what="the old manifest")
        return {r["file"] for r in records if isinstance(r, dict) and isinstance(r.get("file"), str)}
    except (ValueError, TypeError):  # NsadError included: an unreadable old manifest lists nothing
        return set()


def generate_suite(
    spec_path: str | os.PathLike[str], out_dir: str | os.PathLike[str], *, overwrite: bool = False
) -> list[dict[str, Any]]:
    """Generate the suite of a TOML spec into ``out_dir``; return the manifest records.

    See the module docstring for the spec, the file names and the manifest. The spec is fully
    validated before anything is written. ``SuiteError`` when ``out_dir`` already holds a
    ``manifest.json`` and ``overwrite`` is false.
    """
    source = os.fspath(spec_path)
    tasks = suite_tasks(load_spec(source), source)
    return write_suite(tasks, out_dir, overwrite=overwrite)


def write_suite(
    tasks: Sequence[SuiteTask], out_dir: str | os.PathLike[str], *, overwrite: bool = False
) -> list[dict[str, Any]]:
    """Write the formulas of ``tasks`` and then ``manifest.json`` into ``out_dir``.

    >>> import tempfile, pathlib, json
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "suite"
    >>> records = write_suite(suite_tasks({"family": [{"name": "tseitin", "vertices": 6}]}), out)
    >>> json.loads((out / "manifest.json").read_text()) == records, records[0]["expected"]
    (True, 'unsat')
    """
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / MANIFEST
    stale: set[str] = set()
    if manifest.exists():
        if not overwrite:
            raise SuiteError(f"{folder}: already holds a suite ({MANIFEST}); overwrite it explicitly")
        stale = _old_files(folder)
        manifest.unlink()  # from here on the folder no longer claims to be complete
    width = max(5, len(str(max(len(tasks) - 1, 0))))
    records = []
    for task in tasks:
        cnf = task.build()
        data = format_dimacs(cnf).encode("utf-8")
        name = f"{task.family}-{task.index:0{width}d}.cnf"
        _write_atomic(folder, name, data)
        records.append(
            {
                "file": name,
                "family": cnf.family,
                "parameters": dict(cnf.parameters),
                "seed": cnf.seed,
                "n": cnf.num_vars,
                "m": cnf.num_clauses,
                "sha256": hashlib.sha256(data).hexdigest(),
                "expected": expected_label(cnf),
            }
        )
    _write_atomic(folder, MANIFEST, (json.dumps(records, indent=1) + "\n").encode("utf-8"))
    for name in stale - {r["file"] for r in records}:
        if os.path.basename(name) == name and name != MANIFEST:
            try:
                (folder / name).unlink()
            except OSError:
                pass
    return records


# ----------------------------------------------------------------------------- threshold sweep
def threshold_sweep(
    n: int,
    ratios: Iterable[float] | None = None,
    count: int = 10,
    seed: int = 0,
    k: int = 3,
    start_index: int = 0,
) -> list[Cnf]:
    """Uniform random k-SAT formulas across clause ratios, for phase-transition experiments.

    For each ratio (outer loop; default :data:`THRESHOLD_RATIOS`, around 4.26) ``count`` formulas
    ``random_ksat(n, ratio=r, k=k, seed=seed, index=i)`` with consecutive indices from
    ``start_index``: the same formulas as a ``threshold-sweep`` suite entry with these values.

    >>> sweep = threshold_sweep(20, ratios=[3.0, 5.0], count=2, seed=4)
    >>> [(c.num_clauses, c.index) for c in sweep]
    [(60, 0), (60, 1), (100, 2), (100, 3)]
    """
    ratios = list(THRESHOLD_RATIOS if ratios is None else ratios)
    if not ratios:
        raise CnfError("threshold_sweep needs at least one ratio")
    if not _is_int(count) or count < 1:
        raise CnfError(f"count must be an integer >= 1, got {count!r}")
    if not _is_int(start_index) or start_index < 0:
        raise CnfError(f"start_index must be an integer >= 0, got {start_index!r}")
    out = []
    index = start_index
    for ratio in ratios:
        for _ in range(count):
            out.append(random_ksat(n, ratio=ratio, k=k, seed=seed, index=index))
            index += 1
    return out

