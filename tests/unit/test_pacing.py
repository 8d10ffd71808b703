"""The chunk-size controller and the throttle, as pure logic with a fake clock and fake signals."""

from __future__ import annotations

import pytest

from tenant_integrity.pacing import ChunkSizer, Throttle, ThrottleError


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
    sizer = ChunkSizer(start=100, target_seconds=0.25)
    for _ in range(20):
        sizer.observe(10, 0.15)
    assert sizer.size == 10


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
    throttle = Throttle(lambda: next(readings), limit=25, poll_seconds=2, sleep=clock.sleep, clock=clock)
    assert throttle.wait_until_calm() == 4.0
    assert throttle.waited == 4.0


def test_throttle_fails_closed_when_the_signal_cannot_be_read():
    def broken():
        raise OSError("connection lost")

    with pytest.raises(
        ThrottleError, match="cannot read Threads_running \\(connection lost\\); stopping instead of writing blind"
    ):
        Throttle(broken, limit=25).wait_until_calm()
    with pytest.raises(ThrottleError, match="not reported by the server"):
        Throttle(lambda: None, limit=25).wait_until_calm()


def test_throttle_lets_through_only_the_errors_its_caller_recovers_from():
    class Lost(Exception):
        pass

    def lost():
        raise Lost("connection lost")

    def broken():
        raise OSError("permission denied")

    caller_recovers = lambda exc: isinstance(exc, Lost)  # noqa: E731
    with pytest.raises(Lost):  # unwrapped: the caller reconnects and asks again
        Throttle(lost, limit=25, recovered_by_caller=caller_recovers).wait_until_calm()
    with pytest.raises(ThrottleError, match="cannot read Threads_running \\(permission denied\\)"):
        Throttle(broken, limit=25, recovered_by_caller=caller_recovers).wait_until_calm()


def test_throttle_gives_up_after_max_wait():
    clock = FakeClock()
    throttle = Throttle(lambda: 99, limit=25, poll_seconds=10, max_wait_seconds=30, sleep=clock.sleep, clock=clock)
    with pytest.raises(ThrottleError, match="stayed above 25 for 30s \\(now 99\\)"):
        throttle.wait_until_calm()
