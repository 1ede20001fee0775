"""Progress of long work: a bar on a terminal, plain log lines elsewhere (Airflow task logs).

The CLI configures logging once (``configure``); DAG tasks use Airflow's. ``--quiet`` turns
bars and progress lines off; warnings and errors still show.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

log = logging.getLogger("planstats.progress")
_state = {"quiet": False}


def configure(quiet: bool = False) -> None:
    """Logging for the command line: engineers' lines on stderr, in UTC."""
    _state["quiet"] = quiet
    handler = logging.StreamHandler(sys.stderr)
    formatter = logging.Formatter("%(asctime)sZ %(levelname)s %(name)s: %(message)s",
                                  "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root = logging.getLogger("planstats")
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING if quiet else logging.INFO)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes // 60:d}:{minutes % 60:02d}:{secs:02d}"


class Progress:
    """``done`` of ``total`` items (and values) with rate and ETA.

    On a terminal a tqdm bar; otherwise ``note`` lines (one per chunk) and a summary.
    """

    def __init__(self, what: str, total: int, unit: str = "files") -> None:
        self.what, self.total, self.unit = what, total, unit
        self.done = self.values = 0
        self.began = time.perf_counter()
        self._bar: Any = None
        if not _state["quiet"] and sys.stderr.isatty() and total > 1:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=what, unit=unit[:-1] if unit.endswith("s")
                             else unit, file=sys.stderr, leave=False, dynamic_ncols=True)

    def advance(self, items: int = 1, values: int = 0) -> None:
        self.done += items
        self.values += values
        if self._bar is not None:
            self._bar.update(items)
            if self.values:
                self._bar.set_postfix(values=f"{self.values:,}", refresh=False)

    def line(self) -> str:
        """files done/total, values, rate, ETA."""
        spent = time.perf_counter() - self.began
        rate = self.done / spent if spent else 0.0
        left = (self.total - self.done) / rate if rate else 0.0
        values = f", {self.values:,} values ({self.values / spent:,.0f}/s)" if self.values \
            and spent else ""
        return (f"{self.what}: {self.done}/{self.total} {self.unit}{values}, "
                f"{_clock(spent)} spent, ETA {_clock(left)}")

    def note(self, text: str = "") -> None:
        """A line for logs (shown only when there is no bar): progress so far and ``text``."""
        if self._bar is None and not _state["quiet"]:
            log.info("%s%s", self.line(), f"; {text}" if text else "")

    def close(self, summary: str = "") -> None:
        if self._bar is not None:
            self._bar.close()
        if not _state["quiet"]:
            log.info("%s done in %s: %d %s%s%s", self.what,
                     _clock(time.perf_counter() - self.began), self.done, self.unit,
                     f", {self.values:,} values" if self.values else "",
                     f"; {summary}" if summary else "")
