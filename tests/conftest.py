"""Shared fixtures: a fresh database per test on the real MariaDB at 127.0.0.1:3306."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tenant_integrity.cli import demo
from tenant_integrity.store.db import DbTarget
from tests.helpers import xdist_worker

# Airflow reads its configuration once, at first import: point it at the project before any test imports it.
os.environ.setdefault("AIRFLOW_HOME", str(Path(__file__).resolve().parents[1] / ".airflow"))
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(Path(__file__).resolve().parents[1] / "dags"))
os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(Path(__file__).resolve().parents[1] / "plugins"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
# Under pytest-xdist each worker gets its own Airflow metadata database and review/Data Docs folders (the package
# reads their variables when it uses them, Airflow at its first import, below).
xdist_worker.isolate()

# Importing Airflow configures logging (its structlog handlers). The package imports it lazily, e.g. the storage
# module's ObjectStoragePath during a run; imported there, mid-test, it would drop the handler a test's caplog
# added. So it is imported once here, before any test, whatever test runs first.
import airflow.sdk  # noqa: E402, F401 - after the environment above

SERVER_URL = os.environ.get("TENANT_TEST_SERVER_URL", "mysql://root@127.0.0.1:3306")
PROJECT = Path(__file__).resolve().parents[1]


def new_target(prefix: str = "ti_test") -> DbTarget:
    base = DbTarget.from_url(f"{SERVER_URL}/placeholder")
    return DbTarget(base.host, base.port, base.user, base.password, f"{prefix}_{uuid.uuid4().hex[:10]}")


def drop(target: DbTarget) -> None:
    import MySQLdb

    conn = MySQLdb.connect(host=target.host, port=target.port, user=target.user, passwd=target.password)
    try:
        conn.cursor().execute(f"drop database if exists `{target.database}`")
    finally:
        conn.close()


@pytest.fixture
def review_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "review"
    monkeypatch.setenv("TENANT_REVIEW_DIR", str(folder))
    return folder


def _demo_database(data_set: str):
    target = new_target()
    demo.recreate_database(target, data_set)
    yield target
    drop(target)


@pytest.fixture
def seed_db(review_dir):
    """Data set 1 only: the seed incident with the seed report's numbers."""
    yield from _demo_database("seed_incident")


@pytest.fixture
def edge_db(review_dir):
    """Data set 1 + data set 2 (the cases the seed did not have)."""
    yield from _demo_database("all")


@pytest.fixture
def generated_db(review_dir):
    """4,000 generated customers of 40 companies: enough rows for several chunks and concurrent writers."""
    target = new_target()
    demo.recreate_database(target, "schema_only")
    demo.generate_dataset(target, customers=4000, companies=40)
    yield target
    drop(target)


def url_of(target: DbTarget) -> str:
    password = f":{target.password}" if target.password else ""
    return f"mysql://{target.user}{password}@{target.host}:{target.port}/{target.database}"


@pytest.fixture
def inbox():
    """(inbox, port) of a real SMTP server (aiosmtpd) for this test."""
    from tests.helpers.mail import smtp_server

    with smtp_server() as served:
        yield served


def pytest_collection_modifyitems(items):
    xdist_worker.order(items)


def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") == "loadgroup":
        return xdist_worker.GroupedScheduling(config, log)
    return None
