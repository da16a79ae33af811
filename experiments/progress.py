"""A dependency-free progress bar for long commands, written to stderr.

It redraws in place on a terminal and prints a line every few seconds otherwise (CI logs), with
counts per label (e.g. verdicts) and an ETA.

>>> import io
>>> buf = io.StringIO()
>>> with Progress(3, "demo", stream=buf, force=True) as bar:
...     for v in ("sat", "unsat", "sat"):
...         bar.update(v)
>>> "3/3" in buf.getvalue() and "sat 2" in buf.getvalue()
True
"""

from __future__ import annotations

import sys
import time
from collections import Counter


class Progress:
    def __init__(self, total: int, label: str = "", *, stream=None, force: bool = False, every: float = 5.0,
                 enabled: bool = True):
        self.total = int(total)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = enabled and (force or self.tty or total > 0)
        self.force = force
        self.every = every if not self.tty else 0.1
        self.done = 0
        self.counts: Counter = Counter()
        self.start = time.perf_counter()
        self._last = 0.0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def update(self, tag: str | None = None, n: int = 1) -> None:
        self.done += n
        if tag is not None:
            self.counts[tag] += n
        now = time.perf_counter()
        if self.enabled and (now - self._last >= self.every or self.done == self.total):
            self._last = now
            self._draw(final=False)

    def _line(self) -> str:
        elapsed = time.perf_counter() - self.start
        frac = self.done / self.total if self.total else 1.0
        width = 24
        bar = "#" * int(width * frac) + "-" * (width - int(width * frac))
        eta = (elapsed / self.done * (self.total - self.done)) if self.done else float("nan")
        counts = " ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        eta_s = f"eta {eta:5.1f}s" if self.done < self.total and self.done else f"{elapsed:5.1f}s"
        return f"{self.label} [{bar}] {self.done}/{self.total} {eta_s} {counts}".rstrip()

    def _draw(self, final: bool) -> None:
        line = self._line()
        if self.tty:
            self.stream.write("\r\033[K" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            self._draw(final=True)
        elif self.enabled and self.force and self.done != self.total:
            self._draw(final=True)
