"""The chunk-size controller and the throttle, as pure logic with a fake clock and fake signals."""

from __future__ import annotations

import logging
import re

import pytest

from tenant_integrity.core.errors import ParamError
from tenant_integrity.engine.pacing import (
    MIN_CHUNK_ROWS,
    ChunkSizer,
    Reading,
    Signal,
    Throttle,
    ThrottleError,
    ThrottlePolicy,
)
from tenant_integrity.engine.replicas import replicas_from


def test_grows_at_most_double_towards_the_aim():
    sizer = ChunkSizer(start=1000, target_seconds=0.25)  # aims at 0.6 x 0.25 = 0.15 s
    assert sizer.observe(500, 0.025) == 1000 * 2  # 20k rows/s would allow 3000: capped at x2
    assert sizer.observe(2000, 0.10) == 3000  # 20k rows/s x 0.15 s


def test_shrinks_at_once_after_an_overrun():
    sizer = ChunkSizer(start=5000, target_seconds=0.25)
    sizer.observe(3000, 0.15)  # 20k rows/s
    assert sizer.observe(5000, 1.0) == 750  # 5k rows/s now: 0.15 s worth at that rate, not the average


def test_sparse_ranges_do_not_explode_the_chunk():
    # rate is per row processed: a chunk of 10 rows spanning a huge key gap is still 10 rows
    sizer = ChunkSizer(start=200, target_seconds=0.25)
    for _ in range(20):
        sizer.observe(10, 0.15)
    assert sizer.size == MIN_CHUNK_ROWS  # 10 rows a chunk at that rate; the floor holds it at 100


def test_a_fixed_cost_per_chunk_above_the_aim_does_not_shrink_the_chunk_to_one_row():
    # 0.2 s of statements and commit per chunk, whatever its size, plus 0.1 ms a row: the aim (0.15 s) is out of
    # reach at any size. Without the floor: 1000, 499, 299, 195, 133, 93, 66, 47, …, 2, 1 — one row a chunk.
    sizer = ChunkSizer(start=1000, target_seconds=0.25)
    sizes = [sizer.size]
    for _ in range(30):
        sizes.append(sizer.observe(sizer.size, 0.2 + 0.0001 * sizer.size))
    assert sizes[:6] == [1000, 499, 299, 195, 133, 100] and set(sizes[5:]) == {MIN_CHUNK_ROWS}
    # what the floor buys: the run still writes over 400 rows/s where it settled (a floor of 1 row: 5 rows/s)
    settled = sizes[-1]
    assert settled / (0.2 + 0.0001 * settled) > 400
    assert ChunkSizer(start=4, target_seconds=0.25).minimum == 4  # a smaller start is its own floor (tests' chunks)


def test_bounds_and_empty_chunks():
    sizer = ChunkSizer(start=10, target_seconds=0.25, minimum=5, maximum=50)
    assert sizer.observe(0, 0.1) == 10  # nothing measured: unchanged
    assert sizer.observe(10, 10.0) == 5  # floor
    for _ in range(10):
        sizer.observe(sizer.size, 0.001)
    assert sizer.size == 50  # ceiling
    with pytest.raises(ValueError):
        ChunkSizer(start=10, target_seconds=0)


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_throttle_waits_while_busy_then_goes_on():
    clock = FakeClock()
    readings = iter([40, 35, 12])
    throttle = Throttle(
        [Signal("Threads_running", lambda: next(readings), limit=25)],
        ThrottlePolicy(poll_seconds=2),
        sleep=clock.sleep,
        clock=clock,
    )
    assert throttle.wait_until_calm() == 4.0
    assert throttle.waited == 4.0


def test_throttle_fails_closed_when_the_signal_cannot_be_read():
    def broken():
        raise OSError("connection lost")

    with pytest.raises(
        ThrottleError, match="cannot read Threads_running \\(connection lost\\); stopping instead of writing blind"
    ):
        Throttle([Signal("Threads_running", broken, limit=25)]).wait_until_calm()
    with pytest.raises(ThrottleError, match="not reported by the server"):
        Throttle([Signal("Threads_running", lambda: None, limit=25)]).wait_until_calm()


def test_throttle_lets_through_only_the_errors_its_caller_recovers_from():
    class Lost(Exception):
        pass

    def lost():
        raise Lost("connection lost")

    def broken():
        raise OSError("permission denied")

    caller_recovers = lambda exc: isinstance(exc, Lost)  # noqa: E731
    with pytest.raises(Lost):  # unwrapped: the caller reconnects and asks again
        Throttle([Signal("Threads_running", lost, limit=25)], recovered_by_caller=caller_recovers).wait_until_calm()
    with pytest.raises(ThrottleError, match="cannot read Threads_running \\(permission denied\\)"):
        Throttle([Signal("Threads_running", broken, limit=25)], recovered_by_caller=caller_recovers).wait_until_calm()


def test_throttle_gives_up_after_max_wait():
    clock = FakeClock()
    throttle = Throttle(
        [Signal("Threads_running", lambda: 99, limit=25)],
        ThrottlePolicy(poll_seconds=10, max_wait_seconds=30),
        sleep=clock.sleep,
        clock=clock,
    )
    with pytest.raises(
        ThrottleError, match="throttled for 30 s, the most a pause may last \\(Threads_running 99 > 25\\); stopping"
    ):
        throttle.wait_until_calm()


def readings(*values):
    """A signal that returns these values in turn (an Exception instance is raised), then the last one forever."""
    values = list(values)

    def read():
        value = values.pop(0) if len(values) > 1 else values[0]
        if isinstance(value, Exception):
            raise value
        return value

    return read


def lag(name: str, *values, grace: float = 10.0) -> Signal:
    return Signal(f"replica {name} lag", readings(*values), limit=1.0, unit=" s", digits=2, grace_seconds=grace)


def test_every_signal_says_why_the_writers_wait(caplog):
    caplog.set_level(logging.INFO, logger="tenant_integrity.engine.pacing")
    clock = FakeClock()
    throttle = Throttle(
        [
            Signal("Threads_running", readings(40, 12, 12), limit=25),
            *[
                lag("10.0.0.7:3306", 3.2, 3.4, 0.2),
                lag("10.0.0.8:3306", 0.1, Reading(1.5, "its SQL thread is stopped"), 0.3),
            ],
        ],
        ThrottlePolicy(poll_seconds=0.25),
        sleep=clock.sleep,
        clock=clock,
    )
    assert throttle.should_throttle() == "Threads_running 40 > 25; replica 10.0.0.7:3306 lag 3.20 s > 1.0 s"
    assert throttle.wait_until_calm() == 0.25  # one more look: 10.0.0.7 and 10.0.0.8 still lag; then all calm
    assert [r.getMessage() for r in caplog.records] == [
        "throttled: replica 10.0.0.7:3306 lag 3.40 s > 1.0 s; "
        "replica 10.0.0.8:3306 lag 1.50 s > 1.0 s (its SQL thread is stopped); waiting",
        "throttle released after 0.2 s: writing again",
    ]
    assert throttle.wait_until_calm() == 0.0  # calm: no pause, nothing logged
    assert (throttle.pauses, throttle.waited, len(caplog.records)) == (1, 0.25, 2)


def test_a_long_pause_tells_its_reason_again_every_report_interval(caplog):
    caplog.set_level(logging.INFO, logger="tenant_integrity.engine.pacing")
    clock = FakeClock()
    signal = lag("r1:3306", *[1.5 + n for n in range(12)], 0.1)
    throttle = Throttle([signal], ThrottlePolicy(poll_seconds=1, report_every=5), sleep=clock.sleep, clock=clock)
    assert throttle.wait_until_calm() == 12
    assert [r.getMessage() for r in caplog.records] == [
        "throttled: replica r1:3306 lag 1.50 s > 1.0 s; waiting",
        "throttled: replica r1:3306 lag 6.50 s > 1.0 s; waiting 5 s so far",
        "throttled: replica r1:3306 lag 11.50 s > 1.0 s; waiting 10 s so far",
        "throttle released after 12.0 s: writing again",
    ]


def test_an_unreadable_replica_pauses_the_writers_for_the_grace_then_stops_the_run_naming_it():
    clock = FakeClock()
    gone = ConnectionRefusedError("Can't connect to server on '10.0.0.7' (111)")
    throttle = Throttle(
        [Signal("Threads_running", readings(3), limit=25), *[lag("10.0.0.7:3306", 0.2, gone)]],
        ThrottlePolicy(poll_seconds=0.25),
        sleep=clock.sleep,
        clock=clock,
    )
    assert throttle.wait_until_calm() == 0.0
    clock.now = 100.0
    assert throttle.should_throttle() == (
        "cannot read replica 10.0.0.7:3306 lag (Can't connect to server on '10.0.0.7' (111)) (0.0 s of a 10 s grace)"
    )
    with pytest.raises(ThrottleError) as stopped:
        throttle.wait_until_calm()
    assert str(stopped.value) == (
        "cannot read replica 10.0.0.7:3306 lag (Can't connect to server on '10.0.0.7' (111)) for 10 s; "
        "stopping instead of writing blind"
    )
    assert clock.now == 110.0  # the grace counts from the first failed read


def test_a_replica_readable_again_within_the_grace_lets_the_run_go_on():
    clock = FakeClock()
    flaky = lag("r1:3306", OSError("lost"), OSError("lost"), 0.4, OSError("lost"), 0.3, grace=1.0)
    throttle = Throttle([flaky], ThrottlePolicy(poll_seconds=0.5), sleep=clock.sleep, clock=clock)
    assert throttle.wait_until_calm() == 1.0  # two unreadable looks (0.0 s and 0.5 s into the grace), then 0.4 s
    assert throttle.unreadable_since == {}
    assert throttle.wait_until_calm() == 0.5  # a new spell starts its grace anew
    with pytest.raises(ThrottleError, match="no heartbeat row"):
        Throttle([lag("r1:3306", RuntimeError("no heartbeat row"), grace=0)]).wait_until_calm()


def test_critical_load_pauses_then_ends_the_run_when_it_lasts():
    clock = FakeClock()
    running = Signal("Threads_running", readings(30, 120, 150, 20), limit=25, critical=100)
    throttle = Throttle(
        [running], ThrottlePolicy(poll_seconds=1, critical_max_seconds=30), sleep=clock.sleep, clock=clock
    )
    assert throttle.should_throttle() == "Threads_running 30 > 25"
    assert throttle.should_throttle() == "critical load: Threads_running 120 >= 100"
    assert throttle.wait_until_calm() == 1.0  # 150, then 20: the critical spell ended, the run goes on
    assert throttle.critical_since is None

    lasting = Signal("Threads_running", readings(150), limit=25, critical=100)
    throttle = Throttle(
        [lasting], ThrottlePolicy(poll_seconds=1, critical_max_seconds=30), sleep=clock.sleep, clock=clock
    )
    with pytest.raises(ThrottleError) as stopped:
        throttle.wait_until_calm()
    assert str(stopped.value) == (
        "critical load for 30 s (Threads_running 150 >= 100); stopping the run between two chunks: "
        "every committed chunk is whole, a retry resumes after the last one"
    )


def test_a_signal_exactly_at_its_limit_goes_on_and_exactly_at_its_critical_level_holds():
    # the policy (Signal): pause *above* the limit; critical *at or above* the critical level. A critical
    # level is gh-ost's "at this load, stop writing": a reading equal to it must hold the writers.
    clock = FakeClock()
    running = Signal("Threads_running", readings(25, 100, 100, 25), limit=25, critical=100)
    throttle = Throttle(
        [running], ThrottlePolicy(poll_seconds=1, critical_max_seconds=2), sleep=clock.sleep, clock=clock
    )
    assert throttle.should_throttle() is None  # 25, the limit itself: not above it
    assert throttle.should_throttle() == "critical load: Threads_running 100 >= 100"
    assert throttle.critical_since == 0.0
    assert throttle.wait_until_calm() == 1.0  # 100 once more, then 25: held one poll, then released
    assert throttle.critical_since is None

    held = Throttle(
        [Signal("Threads_running", readings(100), limit=25, critical=100)],
        ThrottlePolicy(poll_seconds=1, critical_max_seconds=2),
        sleep=clock.sleep,
        clock=clock,
    )
    with pytest.raises(ThrottleError, match=re.escape("critical load for 2 s (Threads_running 100 >= 100)")):
        held.wait_until_calm()


def test_the_heartbeat_moves_on_every_look_pauses_included_and_fails_closed():
    clock = FakeClock()
    beats = []
    throttle = Throttle(
        [lag("r1:3306", 2.0, 1.5, 0.2)],
        ThrottlePolicy(poll_seconds=0.25),
        before_check=lambda: beats.append(clock.now),
        sleep=clock.sleep,
        clock=clock,
    )
    throttle.wait_until_calm()
    assert beats == [0.0, 0.25, 0.5]  # while paused too: a caught-up replica must see it move to read a low lag

    class Lost(Exception):
        pass

    def lost():
        raise Lost("connection lost")

    def denied():
        raise OSError("INSERT command denied")

    calm = [Signal("Threads_running", lambda: 1, limit=25)]
    caller_recovers = lambda exc: isinstance(exc, Lost)  # noqa: E731
    with pytest.raises(Lost):  # the caller reconnects and looks again
        Throttle(calm, before_check=lost, recovered_by_caller=caller_recovers).wait_until_calm()
    with pytest.raises(ThrottleError, match="cannot write the heartbeat \\(INSERT command denied\\)"):
        Throttle(calm, before_check=denied, recovered_by_caller=caller_recovers).wait_until_calm()


def test_replicas_come_from_mysql_urls_and_an_error_never_shows_a_password():
    found = replicas_from(" mysql://watch:s3cret@10.0.0.7:3307 , mysql://10.0.0.8/app_replica,")
    assert [(r.name, r.user, r.password, r.database) for r in found] == [
        ("10.0.0.7:3307", "watch", "s3cret", None),
        ("10.0.0.8:3306", "root", "", "app_replica"),
    ]
    assert "s3cret" not in repr(found[0])
    assert replicas_from(None) == replicas_from("") == []
    with pytest.raises(ParamError, match=re.escape("item 2 (postgres://10.0.0.9:5432) is not a mysql://")) as bad:
        replicas_from("mysql://a@10.0.0.7,postgres://u:hunter2@10.0.0.9:5432/x")
    assert "hunter2" not in str(bad.value)
    with pytest.raises(ParamError, match=re.escape("item 1 (mysql://10.0.0.7:<bad port>)")) as bad:
        replicas_from("mysql://u:hunter2@10.0.0.7:33o6")
    assert "hunter2" not in str(bad.value)
