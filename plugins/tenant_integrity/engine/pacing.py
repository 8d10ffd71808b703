"""Pacing of chunked writes: how big the next chunk is, and whether the server can take it now.

ChunkSizer keeps every chunk under `target_seconds` (pt-online-schema-change's --chunk-time idea): it
keeps a smoothed rate of rows per second and sizes the next chunk to that rate × 0.6 × target, the
headroom keeping the slow tail of chunks under the target too. The rate
is measured on the rows a chunk actually processed, not on the key span it covered, so a sparse key
range (huge gaps between NULL rows) cannot inflate it — chunks are cut by row count, never by key
distance. It grows at most ×2 per chunk and shrinks at once when a chunk overran — but never below
MIN_CHUNK_ROWS (GitLab's batch optimizer has the same floor): a chunk's time is partly fixed (a dozen
statements and a commit, whatever its size), and where that part alone passes the aim, sizing by rate
shrank every chunk again, down to one row (measured: a 1M-row rollback fell to a few rows a second on a
busy server and never recovered). At the floor a chunk may overrun its target; the throttle, not the
chunk size, is what protects a busy server.

Throttle pauses before a chunk while any of its named signals is above its limit (the server's
Threads_running, each watched replica's lag) and says why, the way gh-ost's throttler's
`shouldThrottle()` returns a reason: `throttled: replica 10.0.0.7:3306 lag 3.2 s > 1.0 s`. It fails
closed: a signal it cannot read stops the run with a clear error instead of writing blind, at once or
after the signal's grace (a replica that stays unreadable). A signal may have a critical level too:
held that long (gh-ost's critical load), the run ends between two chunks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from tenant_integrity.core import settings
from tenant_integrity.core.errors import TenantIntegrityError

log = logging.getLogger(__name__)


MIN_CHUNK_ROWS = 100  # the floor of an adapted chunk (a smaller starting size is its own floor)


class ChunkSizer:
    def __init__(
        self,
        start: int,
        target_seconds: float,
        minimum: int | None = None,
        maximum: int = 50_000,
        max_growth: float = 2.0,
        smoothing: float = 0.5,
        headroom: float = 0.6,
    ):
        if target_seconds <= 0:
            raise ValueError(f"target_seconds must be positive, got {target_seconds}")
        if minimum is None:
            minimum = max(1, min(int(start), MIN_CHUNK_ROWS))
        self.minimum, self.maximum = minimum, maximum
        self.size = max(minimum, min(maximum, int(start)))
        # sizing aims at headroom x target: chunk times scatter, and the target is a bound for the tail
        # (p99), not for the mean (measured at 1M rows: aiming the mean at 0.25 s gave a p99 of 0.39 s)
        self.target = target_seconds
        self.aim = target_seconds * headroom
        self.max_growth = max_growth
        self.smoothing = smoothing
        self.rate: float | None = None

    def observe(self, rows: int, seconds: float) -> int:
        """Record a finished chunk; return the size of the next one."""
        if rows <= 0 or seconds <= 0:
            return self.size
        rate = rows / seconds
        self.rate = rate if self.rate is None else self.smoothing * rate + (1 - self.smoothing) * self.rate
        if seconds > self.aim:
            # overran: the next chunk must fit the aim at the rate this chunk showed, whatever the average says
            ideal = min(self.rate, rate) * self.aim
        else:
            ideal = min(self.rate * self.aim, self.size * self.max_growth)
        self.size = max(self.minimum, min(self.maximum, int(ideal)))
        return self.size


class ThrottleError(TenantIntegrityError):
    """The server's load could not be read, or stayed too high: stop rather than write blind."""

    retryable = True


class Reading(NamedTuple):
    """A signal's value, and what else the throttle's reason should say about it (e.g. "SQL thread stopped")."""

    value: float
    note: str = ""


@dataclass
class Signal:
    """One thing the throttle watches before every chunk.

    `read` returns the value (a number or a Reading), None when the server does not report it, or raises
    when it cannot be read. Unreadable, the writers pause for up to `grace_seconds` (0: the run stops at
    once), then the run stops naming the signal. At or above `critical` (if set) the writers pause even
    below the limit, and a critical level that lasts the throttle's `critical_max_seconds` stops the run.
    """

    name: str
    read: Callable[[], float | Reading | None]
    limit: float
    unit: str = ""
    digits: int = 0
    grace_seconds: float = 0.0
    critical: float | None = None

    def above(self, value: float, bound: float, sign: str = ">") -> str:
        """`replica 10.0.0.7:3306 lag 3.24 s > 1.0 s`: the value as measured, the bound as configured."""
        return f"{self.name} {value:.{self.digits}f}{self.unit} {sign} {bound}{self.unit}"


@dataclass(frozen=True)
class ThrottlePolicy:
    """How long the throttle waits, and how often it looks: the run's policy (settings), one value per throttle."""

    poll_seconds: float = settings.THROTTLE_POLL_S  # between two looks while paused
    max_wait_seconds: float = settings.THROTTLE_MAX_WAIT_S  # the longest pause before one chunk: then stop
    critical_max_seconds: float = settings.CRITICAL_LOAD_MAX_S  # the longest critical spell: then stop
    report_every: float = settings.PROGRESS_EVERY_S  # a "still throttled" line this often


class Throttle:
    """Waits before a chunk while any signal says the server (or a replica) cannot take it now.

    `before_check` runs before every check, pauses included (the run's heartbeat on the primary: a replica
    must see it move to measure its lag). Errors that `recovered_by_caller` accepts (the caller reconnects
    and calls again) pass through unwrapped; any other failure to read stops the run (fail closed).
    """

    def __init__(
        self,
        signals: Sequence[Signal],
        policy: ThrottlePolicy = ThrottlePolicy(),
        *,
        before_check: Callable[[], None] | None = None,
        recovered_by_caller: Callable[[Exception], bool] = lambda exc: False,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.signals = list(signals)
        if not self.signals:
            raise ValueError("a throttle needs at least one signal")
        self.policy = policy
        self.before_check = before_check
        self.recovered_by_caller = recovered_by_caller
        self.sleep = sleep
        self.clock = clock
        self.waited = 0.0
        self.pauses = 0
        self.unreadable_since: dict[str, float] = {}
        self.critical_since: float | None = None

    def _unreadable(self, signal: Signal, problem: str, now: float, cause: Exception | None) -> str:
        since = self.unreadable_since.setdefault(signal.name, now)
        if now - since >= signal.grace_seconds:
            lasted = f" for {now - since:.0f} s" if signal.grace_seconds else ""
            raise ThrottleError(f"{problem}{lasted}; stopping instead of writing blind") from cause
        return f"{problem} ({now - since:.1f} s of a {signal.grace_seconds:.0f} s grace)"

    def should_throttle(self) -> str | None:
        """Why the writers must wait now (every signal that says so), or None: go on. Raises to stop the run."""
        if self.before_check is not None:
            try:
                self.before_check()
            except Exception as exc:
                if self.recovered_by_caller(exc):
                    raise
                raise ThrottleError(f"cannot write the heartbeat ({exc}); stopping instead of writing blind") from exc
        reasons, critical = [], []
        for signal in self.signals:
            try:
                value = signal.read()
            except Exception as exc:
                if self.recovered_by_caller(exc):
                    raise
                reasons.append(self._unreadable(signal, f"cannot read {signal.name} ({exc})", self.clock(), exc))
                continue
            if value is None:
                problem = f"{signal.name} is not reported by the server"
                reasons.append(self._unreadable(signal, problem, self.clock(), None))
                continue
            self.unreadable_since.pop(signal.name, None)
            value, note = value if isinstance(value, Reading) else (float(value), "")
            note = f" ({note})" if note else ""
            if signal.critical is not None and value >= signal.critical:
                critical.append(signal.above(value, signal.critical, ">="))
                reasons.append(f"critical load: {critical[-1]}{note}")
            elif value > signal.limit:
                reasons.append(f"{signal.above(value, signal.limit)}{note}")
        now = self.clock()
        if not critical:
            self.critical_since = None
        else:
            self.critical_since = now if self.critical_since is None else self.critical_since
            if now - self.critical_since >= self.policy.critical_max_seconds:
                raise ThrottleError(
                    f"critical load for {now - self.critical_since:.0f} s ({'; '.join(critical)}); stopping the run "
                    "between two chunks: every committed chunk is whole, a retry resumes after the last one"
                )
        return "; ".join(reasons) or None

    def wait_until_calm(self) -> float:
        """Block while any signal says wait; return the seconds waited. Logs why it paused, and when it resumed."""
        started = self.clock()
        reason = self.should_throttle()
        if reason is None:
            return 0.0
        self.pauses += 1
        log.info("throttled: %s; waiting", reason)
        told_at = started
        while reason is not None:
            now = self.clock()
            waited = now - started
            if waited >= self.policy.max_wait_seconds:
                raise ThrottleError(f"throttled for {waited:.0f} s, the most a pause may last ({reason}); stopping")
            if now - told_at >= self.policy.report_every:
                log.info("throttled: %s; waiting %.0f s so far", reason, waited)
                told_at = now
            self.sleep(self.policy.poll_seconds)
            reason = self.should_throttle()
        waited = self.clock() - started
        self.waited += waited
        log.info("throttle released after %.1f s: writing again", waited)
        return waited
