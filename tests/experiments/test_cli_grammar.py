"""The one grammar of the command line, checked on every parser: help on every option, the shared
names with one meaning and type, singular names, lists that never swallow files, old spellings as
hidden aliases that parse as the new ones."""

from __future__ import annotations

import argparse

import pytest

from nsad.experiments.cli import build_parser
from nsad.experiments.commands import _common as C


def _parsers():
    from nsad.experiments.cli import _subparsers

    root = build_parser()
    return [root, *_subparsers(root)]


def _options(p):
    for a in p._actions:
        if isinstance(a, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)):
            continue
        yield a


def test_every_option_and_command_has_help():
    missing = []
    for p in _parsers():
        for a in _options(p):
            if not (a.help and a.help.strip()):
                missing.append(f"{p.prog}: {'/'.join(a.option_strings) or a.dest}")
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                missing += [f"{p.prog} {c.dest}: no one-line help" for c in a._choices_actions if not c.help]
    assert missing == []


def _item(a):
    return a.item if isinstance(a, C.ListAction) else a.type


# the shared names: one conversion (and default) wherever they appear
SHARED = {
    "--n": lambda a: _item(a) is C.positive_int,
    "--ratio": lambda a: _item(a) is C.positive_float,
    "--count": lambda a: a.type is C.positive_int,
    "--seed": lambda a: a.type is C.nonneg_int,
    "--db": lambda a: a.default == C.DEFAULT_DB,
    "--json": lambda a: a.nargs == 0 and a.default is False,
    "--time-limit": lambda a: a.type is C.positive_float,
    "--workers": lambda a: a.type is C.positive_int,
    "--method": lambda a: isinstance(a, C.ListAction),
}
OLD = {"--ns", "--sizes", "--ratios", "--methods", "--repeats", "--widths", "--ps", "--dtypes", "--families",
       "--kinds", "--disguise-kinds", "--timeout", "--suite", "--proofs"}


def test_shared_names_have_one_meaning_and_names_are_singular():
    seen = {name: 0 for name in SHARED}
    bad = []
    for p in _parsers():
        for a in _options(p):
            hidden = a.help == argparse.SUPPRESS
            for opt in a.option_strings:
                if opt in SHARED and not hidden:
                    seen[opt] += 1
                    if not SHARED[opt](a):
                        bad.append(f"{p.prog} {opt}")
                if opt in OLD and not hidden:
                    bad.append(f"{p.prog} {opt}: an old spelling shown in --help")
                if not hidden and a.nargs in ("+", "*") and opt.endswith("s"):  # (counts: --workers W, --steps N)
                    bad.append(f"{p.prog} {opt}: a list option is named in the singular")
                if a.nargs in ("+", "*") and not isinstance(a, C.ListAction):
                    bad.append(f"{p.prog} {opt}: a list option that does not take the common list syntax")
    assert bad == []
    assert min(seen.values()) >= 1 and seen["--json"] >= 20 and seen["--seed"] >= 8


@pytest.mark.parametrize("old, new", [
    ("bench deciders --sizes 50,100 --methods portfolio", "bench deciders --n 50 100 --method portfolio"),
    ("bench deciders --disguise --disguise-kinds row-scale", "bench deciders --disguise --disguise-kind row-scale"),
    ("bench fallback --sizes 5,10 --limit 20", "bench fallback --n 5 10 --time-limit 20"),
    ("bench fallback --methods exact", "bench fallback --method exact"),
    ("scale --ratios 4 4.5 --methods sat-grid", "scale --ratio 4 4.5 --method sat-grid"),
    ("verify --proofs --ratio 4.26", "verify --proof --ratio 4.26"),
    ("matmul --widths 64 --ps 1 8 --dtypes float32 --repeats 2", "matmul --width 64 --p 1 8 --dtype float32 --repeat 2"),
    ("cheapgrad --ns 10 40 --families sparse --repeats 3", "cheapgrad --n 10 40 --family sparse --repeat 3"),
    ("kinks --dtypes float32", "kinks --dtype float32"),
    ("disguise a.npz --out b.npz --kinds row-scale permute", "disguise a.npz --out b.npz --kind row-scale permute"),
    ("export vnncomp --suite s --out v --timeout 5", "export vnncomp --out v --time-limit 5"),
])
def test_old_spellings_parse_as_the_new_ones(old, new):
    command = old.split()[0]
    a = vars(build_parser(command).parse_args(old.split()))
    b = vars(build_parser(command).parse_args(new.split()))
    if "suite" in a:  # export vnncomp --suite DIR: the folder joins the inputs
        assert a.pop("suite") == ["s"] and b.pop("suite") == []
    assert a == b


def test_bench_fallback_limit_still_takes_resource_limits():
    ns = build_parser("bench").parse_args("bench fallback --limit max_units=1000 --limit 7".split())
    assert ns.limit_sub == ["max_units=1000"] and ns.time_limit == 7.0


def test_lists_are_space_separated_and_never_swallow_files():
    p = build_parser("verify")
    first = p.parse_args("verify a.cnf b/ --n 10 20 --ratio 4 4.26".split())
    after = p.parse_args("verify --n 10 20 --ratio 4 4.26 -- a.cnf b/".split())
    assert first.files == after.files == ["a.cnf", "b/"] and first.n == after.n == [10, 20]
    assert first.ratio == [4.0, 4.26]
    with pytest.raises(SystemExit):  # a file after a list is refused (not an integer), never taken as n
        p.parse_args("verify --n 10 a.cnf".split())
    d = build_parser("decide").parse_args("decide x.npz y.cnf --method sat-grid milp".split())
    assert d.networks == ["x.npz", "y.cnf"] and d.method == ["sat-grid", "milp"]


def test_list_values_are_checked():
    p = build_parser("matmul")
    with pytest.raises(SystemExit):
        p.parse_args("matmul --dtype float16".split())
    with pytest.raises(SystemExit):
        p.parse_args("matmul --width 0".split())
