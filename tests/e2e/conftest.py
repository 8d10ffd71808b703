"""Fixtures the browser tests share: one Debian chromium per test module (never a downloaded browser), and one
Airflow standalone (scripts/airflow_local.sh) for every browser module.

Starting an Airflow standalone costs about a CPU-minute and a half (migrate, start, stop); the three browser
modules share one, each on a freshly loaded demo database (data set 'all', the database airflow_local.sh itself
loads), after any run an earlier module left has ended. It stops as soon as the next test does not use it, so it
does not idle beside the Celery and fresh-Airflow tests that run after it on the same worker.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tenant_integrity.cli import demo
from tests.conftest import drop, new_target, url_of
from tests.helpers.airflow_server import CHROMIUM, CHROMIUM_ARGS, UI_TIMEOUT, Airflow

SHARED = "standalone_airflow"


def patient_expect() -> None:
    """expect() has its own default of 5 s, apart from the pages' UI_TIMEOUT: on two busy cores Airflow's UI takes
    longer than that to render a run's grid after a reload."""
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT)


class StandaloneAirflow:
    """The shared Airflow, its demo database and its review folder; started on first use, stopped when the next
    test does not need it, started again if a later one does."""

    def __init__(self, tmp_path_factory) -> None:
        self._tmp = tmp_path_factory
        self.database = new_target("ti_standalone")
        self.review: Path = tmp_path_factory.mktemp("review")
        self.server: Airflow | None = None
        self.timings: dict[str, float] = {}

    def started(self) -> Airflow:
        if self.server is None:
            if not Path(CHROMIUM).exists():
                pytest.fail(f"{CHROMIUM} missing: apt-get install chromium (scripts/setup.sh does)")
            server = Airflow(self._tmp.mktemp("airflow_home"), self.review, url_of(self.database))
            self.timings["airflow db migrate"] = server.migrate()
            started = time.monotonic()
            server.start()
            try:
                server.wait_until_ready()
            except BaseException:
                server.stop()
                raise
            self.timings["airflow_local.sh start until ready"] = time.monotonic() - started
            self.server = server
        return self.server

    def fresh_demo(self):
        """The demo database reloaded (data set 'all') once no run of an earlier test is active."""
        self.started().end_runs_left_behind()
        demo.recreate_database(self.database, "all")
        return self.database

    def stop(self) -> None:
        if self.server is not None:
            self.timings["shutdown (process group)"] = self.server.stop()
            self.server = None
            print("\nshared Airflow standalone: " + ", ".join(f"{k}: {v:.1f} s" for k, v in self.timings.items()))


_shared: StandaloneAirflow | None = None


@pytest.fixture(scope="session")
def standalone_airflow(tmp_path_factory):
    global _shared
    patient_expect()
    _shared = StandaloneAirflow(tmp_path_factory)
    try:
        yield _shared
    finally:
        _shared.stop()
        drop(_shared.database)
        _shared = None


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem) -> None:
    if _shared is not None and (nextitem is None or SHARED not in nextitem.fixturenames):
        _shared.stop()


@pytest.fixture(scope="module")
def database(standalone_airflow):
    """A browser module's demo database: the shared Airflow's, freshly loaded."""
    return standalone_airflow.fresh_demo()


@pytest.fixture(scope="module")
def airflow(standalone_airflow, database):
    return standalone_airflow.started()


@pytest.fixture(scope="module")
def review(standalone_airflow):
    return standalone_airflow.review


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    patient_expect()

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
