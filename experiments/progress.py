"""A dependency-free progress bar for long commands, written to stderr.

It redraws in place on a terminal and prints a line every few seconds otherwise (CI logs), with
counts per label (e.g. verdicts) and an ETA. The ETA is the rate measured since the first item
finished (the warm-up before it, worker start and imports, says nothing about the rate), over a
window of at least 2 items and 1 second (a burst of parallel workers finishing together neither);
until then the bar says ``eta ...``.

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
                 enabled: bool = True, clock=time.perf_counter):
        self.total = int(total)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = enabled and (force or self.tty or total > 0)
        self.force = force
        self.every = every if not self.tty else 0.1
        self.done = 0
        self.counts: Counter = Counter()
        self.clock = clock
        self.start = clock()
        self._last = 0.0
        self._first: tuple[float, int] | None = None  # (time, count) when the first item finished

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def update(self, tag: str | None = None, n: int = 1) -> None:
        self.done += n
        if tag is not None:
            self.counts[tag] += n
        now = self.clock()
        if self._first is None:
            self._first = (now, self.done)
        if self.enabled and (now - self._last >= self.every or self.done == self.total):
            self._last = now
            self._draw(final=False)

    def eta(self) -> float | None:
        """Seconds left at the rate since the first item finished, or None while that window is
        shorter than 2 items and 1 second.

        >>> t = [0.0]
        >>> bar = Progress(100, clock=lambda: t[0], enabled=False)
        >>> t[0] = 30.0; bar.update()              # 30 s of warm-up before the first item
        >>> bar.eta() is None
        True
        >>> for _ in range(4):
        ...     t[0] += 1.0; bar.update()          # then one item per second
        >>> bar.eta()                              # 95 items left at 1 per second (not 95 * 34 / 5)
        95.0
        """
        if self._first is None:
            return None
        t0, d0 = self._first
        window, items = self.clock() - t0, self.done - d0
        if items < 2 or window < 1.0:
            return None
        return window / items * (self.total - self.done)

    def _line(self) -> str:
        elapsed = self.clock() - self.start
        frac = self.done / self.total if self.total else 1.0
        width = 24
        bar = "#" * int(width * frac) + "-" * (width - int(width * frac))
        eta = self.eta()
        counts = " ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        if self.done < self.total and self.done:
            eta_s = f"eta {eta:5.1f}s" if eta is not None else "eta   ..."
        else:
            eta_s = f"{elapsed:5.1f}s"
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
