"""Progress lines with %, rows/s and ETA."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)


# the ETA and rows/s use the throughput of this recent window, not the phase's average: a phase that
# slowed down (throttled, or a busier part of the table) says so at once
RATE_WINDOW_S = 30.0


class Progress:
    """Logs done/total, %, recent rows/s, ETA and the chunk size at most every `every` seconds; ends at 100%."""

    def __init__(self, label: str, total: int, every: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self.label = label
        self.total = max(total, 0)
        self.every = every
        self.clock = clock
        self.started = clock()
        self.last_logged = None
        self.done = 0
        self.lines: list[str] = []
        self.last_size = 0
        self.samples: deque[tuple[float, int]] = deque([(self.started, 0)])  # (time, rows done)
        self._lock = threading.Lock()  # the workers of one phase share it

    def _recent_rate(self, now: float) -> float:
        while len(self.samples) > 1 and now - self.samples[1][0] >= RATE_WINDOW_S:
            self.samples.popleft()  # keep one sample at or before the window's start
        since, done_then = self.samples[0]
        return (self.done - done_then) / max(now - since, 1e-9)

    def line(self, chunk_size: int, now: float | None = None) -> str:
        now = self.clock() if now is None else now
        rate = self._recent_rate(now)
        pct = 100.0 * self.done / self.total if self.total else 100.0
        remaining = max(self.total - self.done, 0)
        eta = "0s" if not remaining else f"{remaining / rate:.0f}s" if rate > 0 else "unknown"
        return (
            f"{self.label}: {self.done}/{self.total} rows ({pct:.1f}%), {rate:.0f} rows/s, "
            f"ETA {eta}, chunk size {chunk_size}"
        )

    def advance(self, rows: int, chunk_size: int) -> None:
        with self._lock:
            self.done += rows
            self.last_size = chunk_size
            now = self.clock()
            self.samples.append((now, self.done))
            if self.last_logged is None or now - self.last_logged >= self.every:
                self._log(self.line(chunk_size, now), now)

    def finish(self) -> None:
        """The closing line: the walk is complete, so 100% of the rows it met (a different count at the start,
        rows that arrived or left meanwhile, is named)."""
        with self._lock:
            counted = self.total
            if (
                counted == self.done
                and self.lines
                and self.lines[-1].startswith(f"{self.label}: {self.done}/{counted} ")
            ):
                return  # the last line already said 100%
            self.total = self.done
            text = self.line(self.last_size)
            if counted != self.done:
                text += f" ({counted} counted at the start)"
            self._log(text, self.clock())

    def _log(self, text: str, now: float) -> None:
        self.lines.append(text)
        log.info(text)
        self.last_logged = now
