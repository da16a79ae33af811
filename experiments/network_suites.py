"""Suites of networks: the ``disguised`` family of suite specs (``nsad generate suite``).

A suite spec (:mod:`nsad.instances.suites`) may hold entries ``name = "disguised"``: the formulas
of the family named by ``base`` (default ``random-ksat``) with the other keys as its parameters,
each reduced (:func:`nsad.reductions.sat_to_relu.reduce`) and disguised by exact rewrites
(:func:`nsad.networks.disguise.disguise_network`; keys ``kinds``, a list of rewrite kinds, default
:data:`nsad.networks.disguise.DEFAULT_KINDS`, and ``max_growth``, default 2). Formula ``i`` of the
suite is disguised with the seed ``SeedSequence([entry seed, i])``. The folder then holds the
formulas and their manifest as for any suite, plus ``FORMULA-disguised.npz`` per disguised formula
(provenance: the rewrites, the factor ``C`` and the formula file) and ``networks.json``: one record
per network with ``file``, ``formula``, ``factor``, ``kinds``, ``steps`` (count) and ``expected``
(``"two-subgradients"`` / ``"singleton"`` from the formula's label, or null).

>>> import pathlib, tempfile, json
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "s.toml").write_text('[[family]]\\nname = "disguised"\\nn = 6\\nratio = 3.0\\ncount = 2\\n')
>>> recs = generate_network_suite(d / "s.toml", d / "out")
>>> [(r["formula"], r["file"]) for r in recs]
[('random-ksat-00000.cnf', 'random-ksat-00000-disguised.npz'), ('random-ksat-00001.cnf', 'random-ksat-00001-disguised.npz')]
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

__all__ = ["DISGUISED", "generate_network_suite"]

DISGUISED = "disguised"
_NETWORK_KEYS = ("base", "kinds", "max_growth")
_LABEL = {"sat": "two-subgradients", "unsat": "singleton"}


def _split(spec: dict, source: str) -> tuple[dict, list]:
    """The spec with disguised entries turned into their base family, and each entry's network
    options (``None`` for formula entries)."""
    from nsad.instances.suites import SuiteError
    from nsad.networks.disguise import DEFAULT_KINDS, KINDS

    entries, options = [], []
    for number, entry in enumerate(spec.get("family") or [], start=1):
        if not isinstance(entry, dict) or str(entry.get("name", "")).lower() != DISGUISED:
            entries.append(entry)
            options.append(None)
            continue
        where = f"{source}: [[family]] {number} (disguised)"
        kinds = entry.get("kinds", list(DEFAULT_KINDS))
        if not isinstance(kinds, list) or not kinds or any(k not in KINDS for k in kinds):
            raise SuiteError(f"{where}: key 'kinds' must be a list of rewrite kinds among {', '.join(KINDS)}")
        growth = entry.get("max_growth", 2.0)
        if isinstance(growth, bool) or not isinstance(growth, (int, float)) or not 1.0 <= growth <= 10.0:
            raise SuiteError(f"{where}: key 'max_growth' must be a number from 1 to 10, got {growth!r}")
        base = entry.get("base", "random-ksat")
        if not isinstance(base, str) or base.lower() == DISGUISED:
            raise SuiteError(f"{where}: key 'base' must name a formula family")
        entries.append({**{k: v for k, v in entry.items() if k not in _NETWORK_KEYS and k != "name"}, "name": base})
        options.append({"kinds": list(kinds), "max_growth": float(growth)})
    return {**spec, "family": entries}, options


def generate_network_suite(spec_path, out_dir, *, overwrite: bool = False) -> list[dict]:
    """Generate the suite of ``spec_path`` into ``out_dir`` (formulas as :func:`nsad.instances.
    suites.generate_suite` does) and the networks of its disguised entries; returns the network
    records (also written to ``networks.json``, last)."""
    from nsad.instances.suites import load_spec, suite_tasks, write_suite
    from nsad.networks.disguise import disguise_network
    from nsad.reductions.sat_to_relu import reduce

    source = os.fspath(spec_path)
    spec, options = _split(load_spec(source), source)
    owner = []  # the entry of each task, in suite order
    for number, (entry, opt) in enumerate(zip(spec["family"], options)):
        one = {k: v for k, v in spec.items() if k != "family"}
        owner += [opt] * len(suite_tasks({**one, "family": [entry]}, source))
    tasks = suite_tasks(spec, source)
    records = write_suite(tasks, out_dir, overwrite=overwrite)
    folder = Path(out_dir)
    nets = []
    for task, rec, opt in zip(tasks, records, owner):
        if opt is None:
            continue
        net, prov = disguise_network(reduce(task.build()), np.random.SeedSequence([task.seed, task.index]),
                                     kinds=opt["kinds"], max_growth=opt["max_growth"],
                                     source={"file": rec["file"], "family": rec["family"], "seed": rec["seed"]})
        name = rec["file"][: -len(".cnf")] + "-disguised.npz"
        net.save(folder / name, provenance=prov)
        nets.append({"file": name, "formula": rec["file"], "factor": prov["factor"], "kinds": opt["kinds"],
                     "steps": len(prov["steps"]), "expected": _LABEL.get(rec["expected"])})
    if nets:
        tmp = folder / f".networks.json.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(nets, indent=1) + "\n")
        os.replace(tmp, folder / "networks.json")
    return nets
