"""The CLI reference page (``docs/cli.md``), generated from the argparse parsers of :mod:`experiments.cli`.

Conventions: one section per command and per sub-command (``nsad generate random``, ``nsad export
onnx``, ...), in the order of ``COMMANDS``; each gives the command's description, its usage line
(a one-line synopsis: positionals, required options, ``[options]``) and one table row per option:
the option strings, the value it takes, its default (left empty when there is none, and for flags)
and its help text. Options hidden from ``--help`` (old spellings kept as aliases) are left out, as
``--help`` leaves them out. The page is committed; ``tests/test_docs.py`` fails when it is stale.

Regenerate with ``python -m nsad.experiments.cli_reference docs/cli.md``; ``--check docs/cli.md``
exits 1 (and says so) when the file differs from what the parsers give.

>>> text = render()
>>> "## nsad verify" in text and "| `--json` |" in text
True
"""

from __future__ import annotations

import argparse
import sys

WIDTH = 10_000  # no wrapping: the value words of options are formatted on one line
HEADER = """# CLI reference

Generated from the command-line parsers by `python -m nsad.experiments.cli_reference docs/cli.md`;
do not edit by hand (a test fails when this page and the parsers disagree). `nsad COMMAND --help`
prints the same text in the terminal.

Every command also takes `--limit NAME=VALUE` (repeatable) and `--no-limits`, before or after the
command name: they set the resource limits listed by `nsad limits`.
"""


def _cell(text) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _help(action: argparse.Action, parser: argparse.ArgumentParser) -> str:
    text = action.help or ""
    if "%" in text:
        params = dict(vars(action), prog=parser.prog)
        params = {k: (v.__name__ if hasattr(v, "__name__") else v) for k, v in params.items()}
        try:
            text = text % params
        except (KeyError, TypeError, ValueError):
            pass
    return _cell(text)


def _value(action: argparse.Action, parser: argparse.ArgumentParser) -> str:
    if action.nargs == 0:
        return ""
    formatter = argparse.HelpFormatter(parser.prog, width=WIDTH)
    if action.option_strings:
        default = action.dest.upper()
        return _cell(formatter._format_args(action, default))
    return _cell(formatter._format_args(action, action.dest))


def _default(action: argparse.Action) -> str:
    d = action.default
    if action.required:
        return "required"
    if action.nargs == 0 or d is None or d is argparse.SUPPRESS:
        return ""
    if isinstance(d, (list, tuple)):
        return _cell(" ".join(map(str, d))) if d else ""
    return _cell(d)


def _usage(parser: argparse.ArgumentParser) -> str:
    """A one-line synopsis built here (argparse's own usage wraps differently across Python versions):
    ``prog``, the positionals, the required options (a required group as ``(--a A | --b B)``),
    then ``[options]`` when there are optional ones."""
    shown = [a for a in parser._actions if a.help is not argparse.SUPPRESS]
    in_group = {}
    for group in parser._mutually_exclusive_groups:
        if group.required:
            for a in group._group_actions:
                in_group[id(a)] = group
    words, done, optional = [parser.prog], set(), False
    for a in shown:
        if isinstance(a, argparse._SubParsersAction):
            words.append("COMMAND ...")
        elif not a.option_strings:
            words.append(_value(a, parser))
    for a in shown:
        if not a.option_strings or isinstance(a, argparse._HelpAction):
            continue
        group = in_group.get(id(a))
        if group is not None:
            if id(group) not in done:
                done.add(id(group))
                words.append("(" + " | ".join(_option_word(b, parser) for b in group._group_actions
                                              if b.help is not argparse.SUPPRESS) + ")")
        elif a.required:
            words.append(_option_word(a, parser))
        else:
            optional = True
    if optional:
        words.append("[options]")
    return " ".join(words)


def _option_word(action: argparse.Action, parser: argparse.ArgumentParser) -> str:
    value = _value(action, parser)
    return action.option_strings[-1] + (f" {value}" if value else "")


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser, str]]:
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            seen = set()
            for name, sub in action.choices.items():
                if id(sub) in seen:
                    continue  # an alias of a sub-command already listed
                seen.add(id(sub))
                out.append((name, sub, helps.get(name) or ""))
    return out


def _section(parser: argparse.ArgumentParser, summary: str, level: int) -> list[str]:
    lines = [f"{'#' * level} {parser.prog}", ""]
    text = parser.description or summary
    if text:
        lines += [_cell(text), ""]
    lines += ["```console", _usage(parser), "```", ""]
    rows = []
    for action in parser._actions:
        if action.help is argparse.SUPPRESS or isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        if "--limit" in action.option_strings or "--no-limits" in action.option_strings:
            continue  # the same on every command: said once in the header
        names = ", ".join(f"`{s}`" for s in action.option_strings) or f"`{action.dest}` (positional)"
        value = _value(action, parser)
        rows.append(f"| {names} | {('`' + value + '`') if value else ''} | {_default(action)} | "
                    f"{_help(action, parser)} |")
    subs = _subcommands(parser)
    if rows:
        lines += ["| option | value | default | meaning |", "| --- | --- | --- | --- |", *rows, ""]
    if subs:
        lines += ["Sub-commands: " + ", ".join(f"`{name}`" for name, _, _ in subs) + ".", ""]
        for _name, sub, help_text in subs:
            lines += _section(sub, help_text, level + 1)
    return lines


def render() -> str:
    """The whole page, from :func:`experiments.cli.build_parser` (every command registered)."""
    from nsad.experiments.cli import build_parser

    root = build_parser()
    lines = [HEADER]
    for name, sub, help_text in _subcommands(root):
        lines += _section(sub, help_text, 2)
    epilog = root.epilog or ""
    if epilog:
        lines += ["## Exit codes", "", _cell(epilog), ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nsad.experiments.cli_reference",
                                     description="Write (or with --check, compare) the generated CLI reference page.")
    parser.add_argument("path", help="the page to write, e.g. docs/cli.md")
    parser.add_argument("--check", action="store_true", help="exit 1 if PATH differs from the generated page")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        try:
            with open(args.path, encoding="utf-8") as fh:
                current = fh.read()
        except OSError as exc:
            print(f"{args.path}: {exc.strerror}", file=sys.stderr)
            return 1
        if current != text:
            print(f"{args.path} is stale: run python -m nsad.experiments.cli_reference {args.path}", file=sys.stderr)
            return 1
        return 0
    import os
    import tempfile

    d = os.path.dirname(os.path.abspath(args.path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=".md")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, args.path)
    print(f"wrote {args.path}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
