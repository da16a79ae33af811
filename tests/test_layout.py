"""The package layout: one import package ``nsad``, no import cycle, dependencies one way, every entry point."""

from __future__ import annotations

import ast
import importlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import nsad

REPO = Path(__file__).resolve().parent.parent
MODULES = nsad.modules()


def _imports(name: str) -> set[str]:
    """The nsad modules that module ``name`` imports anywhere (module level or inside functions)."""
    mod = importlib.import_module(name)
    tree = ast.parse(Path(mod.__file__).read_text())
    is_pkg = Path(mod.__file__).name == "__init__.py"
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("nsad"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                src = ".".join(base + ([node.module] if node.module else []))
            else:
                src = node.module or ""
            if not src.startswith("nsad"):
                continue
            for a in node.names:
                sub = f"{src}.{a.name}"
                out.add(sub if sub in MODULES else src)
    out.discard(name)
    return out


GRAPH = {m: _imports(m) for m in MODULES}


def test_the_module_import_graph_has_no_cycle():
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for d in sorted(GRAPH.get(m, ())):
            if state.get(d) == 1:
                cycle = stack[stack.index(d):] + [d]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if d in GRAPH and not state.get(d):
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(GRAPH):
        if not state.get(m):
            visit(m)


ALLOWED = {  # package -> packages it may import (besides itself and the nsad core modules)
    "nsad.networks": set(),
    "nsad.instances": set(),
    "nsad.reductions": {"nsad.networks", "nsad.instances"},
    "nsad.solvers": {"nsad.networks", "nsad.instances"},
    "nsad.experiments": {"nsad.networks", "nsad.instances", "nsad.reductions", "nsad.solvers"},
}
CORE = {"nsad", "nsad.errors", "nsad.child", "nsad.limits", "nsad.interrupt", "nsad.goals"}


def _package(m: str) -> str:
    parts = m.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else m


def test_dependencies_point_one_way():
    bad = []
    for m, deps in GRAPH.items():
        pkg = _package(m)
        if pkg not in ALLOWED:
            continue
        for d in deps:
            dp = _package(d)
            if d not in CORE and dp != pkg and dp not in ALLOWED[pkg]:
                bad.append(f"{m} imports {d}")
    assert not bad, "\n".join(bad)


def test_every_helper_exists_once():
    """The overflow bound, the exact number rules and the child-process code live in one module each."""
    patterns = {
        "the int64 overflow bound": r"(?<!_MAX_VARS )= *2 ?\*\* ?62\b|[<>]=? *2 ?\*\* ?62\b",
        "a fork": r"os\.fork\(\)",
        "a memory limit": r"setrlimit\(",
        "exact number normalisation": r"def _?norm\(|def exact\(",
        "an exact dot product": r"def _?dot\(",
        "integer layers": r"def _?integer_layers\(",
    }
    import re

    sources = {m: Path(importlib.import_module(m).__file__).read_text() for m in MODULES}
    for what, pattern in patterns.items():
        where = [m for m, s in sources.items() if re.search(pattern, s)]
        assert len(where) <= 1, f"{what} is written in {where}"


def _run(args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.parametrize("where", ["root", "elsewhere"])
def test_entry_points_from_the_root_and_from_another_folder(where, tmp_path):
    cwd = REPO if where == "root" else tmp_path
    res = _run([sys.executable, "-m", "nsad", "--version"], cwd)
    assert res.returncode == 0 and res.stdout.strip() == f"nsad {nsad.__version__}", res.stderr
    res = _run([sys.executable, "-c", "import nsad.solvers, nsad.networks, sys; "
                "print(nsad.solvers.__file__); print(sorted(m for m in sys.modules if m.split('.')[0] in "
                "('networks', 'solvers', 'instances', 'reductions', 'experiments')))"], cwd)
    assert res.returncode == 0, res.stderr
    path, bare = res.stdout.splitlines()
    assert Path(path).resolve() == REPO / "solvers" / "__init__.py" or "site-packages" in path
    assert bare == "[]"
    if shutil.which("nsad"):
        assert _run(["nsad", "--version"], cwd).returncode == 0


@pytest.mark.parametrize("runner", ["pytest", "python -m pytest"])
def test_pytest_runs_from_the_root_and_from_another_folder(runner, tmp_path):
    script = Path(sys.executable).with_name("pytest")  # this environment's script, not another one on PATH
    exe = str(script) if runner == "pytest" and script.exists() else None
    if runner == "pytest" and exe is None:
        pytest.skip("no pytest script beside this Python")
    cmd = [exe] if exe else [sys.executable, "-m", "pytest"]
    for cwd in (REPO, tmp_path):
        res = _run([*cmd, "-q", "-p", "no:cacheprovider", str(REPO / "tests" / "test_doctests.py"), "-k",
                    "nsad.errors or nsad.networks.exact"], cwd)
        assert res.returncode == 0 and "2 passed" in res.stdout, res.stdout + res.stderr


def test_the_wheel_has_one_top_level_package(tmp_path):
    res = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                str(tmp_path), str(REPO)], tmp_path)
    if res.returncode != 0 and "No module named" in res.stderr:
        pytest.skip(f"cannot build a wheel here: {res.stderr.strip().splitlines()[-1]}")
    assert res.returncode == 0, res.stderr
    (wheel,) = tmp_path.glob("nsad-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"nsad", f"nsad-{nsad.__version__}.dist-info"}, tops
    top_level = [n for n in names if n.endswith("top_level.txt")]
    if top_level:
        assert zipfile.ZipFile(wheel).read(top_level[0]).decode().split() == ["nsad"]
    for sub in ("networks/ad/engine.py", "solvers/network/table.py", "experiments/commands/verify.py", "child.py"):
        assert f"nsad/{sub}" in names
