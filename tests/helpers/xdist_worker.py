"""What each pytest-xdist worker must not share with the others (scripts/run_tests.sh runs the suite with -n).

The target databases are already one per test (uuid names) and the servers a test starts (Airflow standalone,
Celery, SMTP, S3, TLS, replication) are on free ports in temp dirs. What the workers would still share is the
project's AIRFLOW_HOME: `airflow dags test` and the in-process Airflow calls (the approval answer, the metadata
reads of tests/helpers/airflow.py) write its one SQLite airflow.db, and "the newest run of a DAG" read there would
be another worker's; and the default review/ and data_docs/ folders in the checkout. So `isolate()` gives each
worker an AIRFLOW_HOME of its own, seeded from the project's migrated one (no `airflow db migrate` per worker),
and review/data_docs folders inside it. Without xdist (a developer's `pytest tests/x.py`) it changes nothing.

Only the standard library and xdist: it runs before Airflow is imported.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import sqlite3
import tempfile
from pathlib import Path

from xdist.scheduler import LoadScopeScheduling


def worker() -> str | None:
    """gw0, gw1, … in an xdist worker; None in a plain pytest run (and in xdist's controller)."""
    return os.environ.get("PYTEST_XDIST_WORKER")


def isolate() -> None:
    name = worker()
    if name is None:
        return
    base = Path(os.environ["AIRFLOW_HOME"])
    home = Path(tempfile.mkdtemp(prefix=f"xdist-{name}-", dir=base if base.is_dir() else None))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    seed = base / "airflow.db"
    if seed.exists():
        # sqlite's backup: a consistent copy even if something still writes the project's database
        source, copy = sqlite3.connect(seed), sqlite3.connect(home / "airflow.db")
        try:
            source.backup(copy)
        finally:
            source.close()
            copy.close()
    config = base / "airflow.cfg"
    if config.exists():
        # the generated airflow.cfg names its own home's paths (sql_alchemy_conn, logs); its keys (fernet, JWT)
        # are kept so the copied metadata reads as before
        text = config.read_text()
        for spelling in {str(base), str(base.resolve())}:
            text = text.replace(spelling, str(home))
        (home / "airflow.cfg").write_text(text)
    os.environ["AIRFLOW_HOME"] = str(home)
    # the variable wins over any airflow.cfg, and tests/helpers/airflow.py passes it to `airflow dags test`
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home / 'airflow.db'}"
    os.environ["TENANT_REVIEW_DIR"] = str(home / "review")
    os.environ["TENANT_DATA_DOCS_DIR"] = str(home / "data_docs")


# the modules that start a whole Airflow (standalone, Celery) and a browser, in two units of work: the three browser
# modules share one Airflow standalone (tests/e2e/conftest.py) and run one after the other on one worker; the Celery
# cluster and the fresh standalone on another. So at most two whole Airflows (each a scheduler, an API server, a DAG
# processor, a triggerer) run at once on the 2 cores, and neither unit alone is longer than the other workers' share.
SERVER_UNITS = {
    "tests/e2e/test_browser.py": "airflow_browser",
    "tests/e2e/test_operator_controls_browser.py": "airflow_browser",
    "tests/e2e/test_operator_page_browser.py": "airflow_browser",
    "tests/e2e/test_celery_executor.py": "airflow_clusters",
    "tests/e2e/test_fresh_airflow.py": "airflow_clusters",
}
SERVER_MODULES = tuple(SERVER_UNITS)  # their order, longest unit first
# the longest units after those (module-scoped fixtures: a built wheel and its venv; a replication pair), measured
# at 2-6 minutes each: handed out before the e2e tests so none of them starts last
LONG_MODULES = ("tests/packaging/test_wheel.py", "tests/engine/test_replica_throttle.py")
# a fixture wider than one test: an Airflow standalone, a built wheel, a TLS or replication server, a DagBag
_SHARED_FIXTURE = re.compile(r"scope=[\"'](module|package|class)[\"']")


def _module_of(nodeid: str) -> str:
    return nodeid.split("::")[0]


def order(items: list) -> None:
    """In an xdist worker: the longest work first (the Airflow/browser modules, the LONG_MODULES, the other e2e, then
    the rest), so no long test starts last while the other workers sit idle. Each module keeps its own order.
    Every worker computes the same, as xdist requires (it checks that all workers collected the same list)."""
    if worker() is None:
        return
    rank: dict[str, int] = {}
    for item in items:
        module = _module_of(item.nodeid)
        if module in SERVER_MODULES:
            own = SERVER_MODULES.index(module)
        elif module in LONG_MODULES:
            own = 10 + LONG_MODULES.index(module)
        else:
            own = 20 if item.get_closest_marker("e2e") else 30
        rank[module] = min(rank.get(module, own), own)
    items.sort(key=lambda item: rank[_module_of(item.nodeid)])


class GroupedScheduling(LoadScopeScheduling):
    """`--dist loadgroup` for this suite, in xdist's controller (tests/conftest.py's pytest_xdist_make_scheduler).

    The work units: the Airflow/browser modules in two units (SERVER_UNITS); a module with a fixture wider than a
    test as one unit, so the fixture is made once, not once per worker; every other test alone. xdist 3.8's own
    loadgroup reads `xdist_group` marks by renaming the test ids, which pytest 9.2 no longer allows (it renames
    nothing and every test runs alone, two Airflow servers at once), so the units come from the test ids here.
    A worker gets its next unit only when it is at its unit's last test: xdist keeps up to 3 tests queued on a
    worker, and a long e2e test queued behind another would wait while a worker sits idle."""

    def __init__(self, config, log=None) -> None:
        super().__init__(config, log)
        self._shares: dict[str, bool] = {}

    def _split_scope(self, nodeid: str) -> str:
        module = _module_of(nodeid)
        if module in SERVER_UNITS:
            return SERVER_UNITS[module]
        if module not in self._shares:
            path = self.config.rootpath / module
            self._shares[module] = path.is_file() and bool(_SHARED_FIXTURE.search(path.read_text()))
        return module if self._shares[module] else nodeid

    def _reschedule(self, node) -> None:
        if node.shutting_down:
            return
        if not self.workqueue:
            node.shutdown()
            return
        # 1: the worker holds its last test back until it knows the next one (pytest's teardown needs it)
        if self._pending_of(self.assigned_work[node]) <= 1:
            self._assign_work_unit(node)
