"""`nsad limits`: the resource limits, their defaults and the values in force (see nsad.limits)."""

from __future__ import annotations

from nsad.experiments.commands._common import add_json, emit_json


SUMMARY = "list the resource limits, their defaults and the values in force"  # the one-line help, listed by `nsad --help` without importing the command


def register(sub) -> None:
    p = sub.add_parser("limits", help=SUMMARY,
                       description="Every reader, generator and grid checks the sizes its input declares against "
                       "these limits before allocating for them; beyond one, it stops with a one-line error "
                       "naming the limit. Change them with --limit NAME=VALUE (repeatable; 'off' lifts one), "
                       "--no-limits, or the environment variable NSAD_LIMITS.")
    add_json(p, help="one JSON object per limit")
    p.set_defaults(func=run)


def _show(value, unit: str) -> str:
    if value is None:
        return "off"
    if unit == "bytes" and value >= 2**20:
        for suffix, size in (("Gi", 2**30), ("Mi", 2**20)):
            if value % size == 0:
                return f"{value // size}{suffix}"
    return f"{value:_}".replace("_", ",")


def run(args) -> int:
    from nsad.limits import describe

    rows = describe()
    if args.json:
        for r in rows:
            emit_json(r)
        return 0
    width = max(len(r["name"]) for r in rows)
    print(f"{'limit':{width}}  {'value':>13}  {'default':>13}  {'unit':5}  applies to")
    for r in rows:
        print(f"{r['name']:{width}}  {_show(r['value'], r['unit']):>13}  {_show(r['default'], r['unit']):>13}  "
              f"{r['unit']:5}  {r['doc']}")
    return 0
