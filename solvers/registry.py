"""One registry per kind of plug-in: canonical names, aliases, clear errors.

>>> reg = Registry("widget")
>>> reg.register("alpha", object(), aliases=("a",), summary="the first") and None
>>> reg.canonical("A")
'alpha'
>>> reg.canonical("beta")
Traceback (most recent call last):
...
nsad.errors.SolverError: unknown widget 'beta'; choose one of: alpha (a)
"""

from __future__ import annotations

from nsad.errors import SolverError

from dataclasses import dataclass
from typing import Any, Iterator




@dataclass(frozen=True)
class Entry:
    name: str
    plugin: Any
    aliases: tuple[str, ...] = ()
    summary: str = ""


class Registry:
    """Maps canonical names and aliases (case-insensitive) to plug-ins."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry] = {}
        self._alias: dict[str, str] = {}

    def register(self, name: str, plugin: Any, *, aliases: tuple[str, ...] = (), summary: str = "") -> Any:
        key = name.lower()
        if key in self._alias:
            raise SolverError(f"{self.kind} {name!r} registered twice")
        self._entries[name] = Entry(name, plugin, tuple(aliases), summary)
        for a in (name, *aliases):
            if a.lower() in self._alias and self._alias[a.lower()] != name:
                raise SolverError(f"alias {a!r} of {self.kind} {name!r} already names {self._alias[a.lower()]!r}")
            self._alias[a.lower()] = name
        return plugin

    def canonical(self, name: str) -> str:
        try:
            return self._alias[str(name).lower()]
        except KeyError:
            choices = ", ".join(
                e.name + (f" ({', '.join(e.aliases)})" if e.aliases else "") for e in self._entries.values()
            )
            raise SolverError(f"unknown {self.kind} {name!r}; choose one of: {choices}") from None

    def get(self, name: str) -> Any:
        return self._entries[self.canonical(name)].plugin

    def entry(self, name: str) -> Entry:
        return self._entries[self.canonical(name)]

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._alias

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
