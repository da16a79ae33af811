"""Every shell line that README.md and the docs pages show runs as written, in order, and exits 0.

The convention (CONTRIBUTING.md, "Documentation"): a fenced block marked ``bash`` (or ``sh``,
``shell``) is run line by line; a ``console`` block is shown and never run (long runs, sessions
with output). Lines that install (``pip install ...``) are skipped, as are blank and comment lines;
a line ending in ``\\`` continues on the next. The lines of one file run in their own scratch folder,
in the order the file shows them, each in a fresh ``bash -o pipefail -c`` (two files at a time); the folder holds a copy
of the repository's ``examples/`` folder (the docs say so: commands are run from a clone), and
``nsad``/``python`` resolve to the interpreter running the tests. A line that exits non-zero fails
the test with the file, the line number, the line and its stderr.

No timed assertion: a line that runs longer than ``LINE_TIMEOUT`` seconds is a failure to finish,
not a slow pass (shrink the doc's example, not the test).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN_LANGS = {"bash", "sh", "shell"}
SHOWN_LANGS = {"console"}
LINE_TIMEOUT = 120
FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([\w+-]*)")
INSTALL = re.compile(r"^\s*(sudo\s+)?(python3?\s+-m\s+)?pip3?\s+install\b")


def doc_files() -> list[Path]:
    """README.md, then every page of the docs site, in a fixed order."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks(text: str) -> list[tuple[str, int, list[str]]]:
    """Fenced blocks of a Markdown text: (language, line number of the first content line, lines).

    >>> blocks("a\\n```bash\\nnsad limits\\n```\\n")
    [('bash', 3, ['nsad limits'])]
    """
    out, lang, start, body, fence = [], None, 0, [], None
    for i, line in enumerate(text.splitlines(), 1):
        m = FENCE.match(line)
        if fence is None:
            if m:
                fence, lang, start, body = m.group(2), m.group(3).lower(), i + 1, []
        elif line.strip().startswith(fence[0] * len(fence)) and not line.strip().strip(fence[0]):
            out.append((lang, start, body))
            fence = None
        else:
            body.append(line)
    return out


def shell_lines(text: str) -> list[tuple[int, str]]:
    """The lines to run of one Markdown text: (line number, command), continuations joined,
    comment-only, blank and install lines left out.

    >>> shell_lines("```bash\\n# c\\npip install .\\nnsad a \\\\\\n  --b\\n```\\n```console\\nnsad long\\n```")
    [(4, 'nsad a \\n  --b')]
    """
    out = []
    for lang, start, body in blocks(text):
        if lang not in RUN_LANGS:
            continue
        pending, first = None, 0
        for k, line in enumerate(body):
            if pending is None:
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                pending, first = line, start + k
            else:
                pending += "\n" + line
            if pending.endswith("\\"):
                continue
            if not INSTALL.match(pending):
                out.append((first, pending))
            pending = None
    return out


def _shims(folder: Path) -> Path:
    """``nsad``, ``python`` and ``python3`` pointing at the interpreter that runs the tests."""
    folder.mkdir()
    for name, cmd in (("nsad", f'exec "{sys.executable}" -m nsad "$@"'),
                      ("python", f'exec "{sys.executable}" "$@"'), ("python3", f'exec "{sys.executable}" "$@"')):
        p = folder / name
        p.write_text(f"#!/bin/sh\n{cmd}\n")
        p.chmod(p.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return folder


def test_the_convention_is_followed():
    """A block that shows `nsad` commands is either run (bash) or marked as shown only (console):
    no command hides in an unmarked block."""
    bad = []
    for path in doc_files():
        for lang, start, body in blocks(path.read_text(encoding="utf-8")):
            if lang in RUN_LANGS | SHOWN_LANGS:
                continue
            for k, line in enumerate(body):
                if re.match(r"^\s*(\$\s*)?nsad\s", line):
                    bad.append(f"{path.name}:{start + k}: {line.strip()} (in a ```{lang or ''} block)")
    assert not bad, "mark these blocks ```bash (run by this test) or ```console (not run):\n" + "\n".join(bad)


def test_every_page_shows_commands():
    """The test is not vacuous: README and the tutorial both have lines to run."""
    assert len(shell_lines((ROOT / "README.md").read_text(encoding="utf-8"))) >= 10
    assert len(shell_lines((ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8"))) >= 10


def run_file(path: Path, folder: Path) -> dict:
    """Run the lines of one file in order in ``folder``; stop at the first failure.

    Returns ``{"lines": how many ran, "seconds": wall time, "failure": None or the message}``.
    """
    lines = shell_lines(path.read_text(encoding="utf-8"))
    work = folder / "work"
    work.mkdir(parents=True)
    if (ROOT / "examples").is_dir():
        shutil.copytree(ROOT / "examples", work / "examples")
    env = dict(os.environ)
    env["PATH"] = f"{_shims(folder / 'bin')}{os.pathsep}{env.get('PATH', '')}"
    env["MPLBACKEND"] = "Agg"
    env.pop("NSAD_LIMITS", None)
    t0 = time.perf_counter()
    for count, (lineno, line) in enumerate(lines, 1):
        try:
            proc = subprocess.run(["bash", "-o", "pipefail", "-c", line], cwd=work, env=env, capture_output=True,
                                  text=True, timeout=LINE_TIMEOUT, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return {"lines": count, "seconds": time.perf_counter() - t0,
                    "failure": f"{path.name}:{lineno}: did not finish in {LINE_TIMEOUT} s: {line}"}
        if proc.returncode != 0:
            return {"lines": count, "seconds": time.perf_counter() - t0,
                    "failure": f"{path.name}:{lineno}: exit {proc.returncode}: {line}\n{proc.stderr.strip()[-3000:]}"}
    return {"lines": len(lines), "seconds": time.perf_counter() - t0, "failure": None}


@pytest.fixture(scope="module")
def doc_runs(tmp_path_factory):
    """Every file's lines, the files run side by side (two at a time; the lines of one file in order)."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=2)
    runs = {p: pool.submit(run_file, p, tmp_path_factory.mktemp(p.stem)) for p in doc_files()}
    yield runs
    pool.shutdown(wait=True)


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: p.name)
def test_doc_lines_run_as_written(path, doc_runs):
    result = doc_runs[path].result()
    if result["failure"]:
        pytest.fail(result["failure"], pytrace=False)
    print(f"{path.name}: {result['lines']} lines in {result['seconds']:.1f} s")


def test_block_extraction():
    text = ("intro\n```bash\n# a comment\npip install .\nnsad a \\\n  --b\n\nnsad c | head -1\n```\n"
            "```console\nnsad long\n```\n```\nplain\n```\n")
    assert [lang for lang, _, _ in blocks(text)] == ["bash", "console", ""]
    assert shell_lines(text) == [(5, "nsad a \\\n  --b"), (8, "nsad c | head -1")]
    assert INSTALL.match("python -m pip install -e '.[test]' && python -m pytest -q")
    assert not INSTALL.match("nsad verify")
