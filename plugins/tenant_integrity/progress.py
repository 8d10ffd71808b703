"""Progress lines with %, rows/s and ETA."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Progress:
    """Logs done/total, %, rows/s, ETA and the chunk size at most every `every` seconds."""

    def __init__(self, label: str, total: int, every: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self.label = label
        self.total = max(total, 0)
        self.every = every
        self.clock = clock
        self.started = clock()
        self.last_logged = None
        self.logged_done = -1
        self.done = 0
        self.lines: list[str] = []
        self.last_size = 0
        self._lock = threading.Lock()  # the workers of one phase share it

    def line(self, chunk_size: int) -> str:
        elapsed = max(self.clock() - self.started, 1e-9)
        rate = self.done / elapsed
        pct = 100.0 * self.done / self.total if self.total else 100.0
        remaining = max(self.total - self.done, 0)
        eta = f"{remaining / rate:.0f}s" if rate > 0 else "unknown"
        return (
            f"{self.label}: {self.done}/{self.total} rows ({pct:.1f}%), {rate:.0f} rows/s, "
            f"ETA {eta}, chunk size {chunk_size}"
        )

    def advance(self, rows: int, chunk_size: int, force: bool = False) -> None:
        with self._lock:
            self.done += rows
            self.last_size = chunk_size
            now = self.clock()
            due = self.last_logged is None or now - self.last_logged >= self.every
            if (force and self.done != self.logged_done) or due:
                text = self.line(chunk_size)
                self.lines.append(text)
                log.info(text)
                self.last_logged = now
                self.logged_done = self.done

    def finish(self) -> None:
        """The closing line, unless the last one already said it."""
        self.advance(0, self.last_size, force=True)
