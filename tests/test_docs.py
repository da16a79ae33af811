"""The documentation site: it builds in strict mode, its CLI reference matches the parsers, and its
figures are the toolkit's own, small, and said where they come from."""

from __future__ import annotations

import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from nsad.experiments import cli_reference

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def test_the_site_builds_in_strict_mode(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", str(ROOT / "mkdocs.yml"),
                           "-d", str(tmp_path / "site")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stderr, proc.stderr
    for page in ("index.html", "tutorial/index.html", "theory/index.html", "kinks/index.html", "results/index.html",
                 "cli/index.html"):
        assert (tmp_path / "site" / page).is_file(), page


def test_every_page_is_in_the_navigation():
    nav = set(re.findall(r"^\s*- (?:[^:\n]+: )?([\w-]+\.md)\s*$", (ROOT / "mkdocs.yml").read_text(), re.M))
    assert nav == {p.name for p in DOCS.glob("*.md")}, "add the page to nav: in mkdocs.yml"


def test_the_cli_reference_is_fresh():
    committed = (DOCS / "cli.md").read_text(encoding="utf-8")
    if committed != cli_reference.render():
        pytest.fail("docs/cli.md is stale: run python -m nsad.experiments.cli_reference docs/cli.md")


def test_the_cli_reference_lists_every_command_and_option():
    from nsad.experiments.cli import COMMANDS, build_parser

    text = cli_reference.render()
    for name in COMMANDS:
        assert f"## nsad {name}\n" in text, name
    sub = next(a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    verify = sub.choices["verify"]
    for action in verify._actions:
        if action.option_strings and action.help != "==SUPPRESS==" and not {"--limit", "--no-limits"} & set(action.option_strings) \
                and "-h" not in action.option_strings:
            assert f"`{action.option_strings[-1]}`" in text.split("## nsad verify\n")[1].split("\n## ")[0], action


def test_the_reference_check_mode_says_stale(tmp_path, capsys):
    page = tmp_path / "cli.md"
    page.write_text("old\n")
    assert cli_reference.main([str(page), "--check"]) == 1
    assert "stale" in capsys.readouterr().err
    assert cli_reference.main([str(page)]) == 0 and cli_reference.main([str(page), "--check"]) == 0


def _figures():
    return runpy.run_path(str(DOCS / "make_figures.py"))["FIGURES"]


def test_every_figure_is_small_shown_and_said_where_it_comes_from():
    figures = _figures()
    pages = {p.name: p.read_text(encoding="utf-8") for p in DOCS.glob("*.md")}
    shown = {m for text in pages.values() for m in re.findall(r"\]\(figures/([\w.-]+\.png)\)", text)}
    committed = {p.name for p in (DOCS / "figures").glob("*.png")}
    assert committed == {f"{name}.png" for name in figures}, "docs/figures must hold exactly the figures of make_figures.py"
    assert shown == committed, f"figures not shown: {committed - shown}; shown but missing: {shown - committed}"
    for png in committed:
        assert (DOCS / "figures" / png).stat().st_size < 200_000, png
    for name, (_, lines) in figures.items():
        page = next(text for text in pages.values() if f"figures/{name}.png" in text)
        for line in lines:
            if line.startswith("nsad "):
                assert line in page, f"{name}: the page showing it does not say `{line}`"
