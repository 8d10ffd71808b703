"""CeleryExecutor (issue 13): one multi-spec tenant_backfill run spread over two Celery workers.

A real distributed Airflow on this machine (tests/helpers/celery_cluster.py): its own PostgreSQL metadata
database, its own Redis broker, scheduler, dag-processor, api-server and two Celery workers `worker1` and
`worker2` (concurrency 2 each), the pool tenant_writers_tenant_db with 2 slots. The run must succeed, its
specs (map indexes of the mapped task group `repair`) must have run on both workers, and the tenant tables
must end exactly as the in-process `airflow dags test` run of the same conf leaves a second copy of the demo.
"""

from __future__ import annotations

import itertools
import os
import shutil
import time
from collections import defaultdict

import pytest

from tenant_integrity.cli import demo
from tenant_integrity.core.spec import spec_names
from tests.conftest import drop, new_target, url_of
from tests.helpers.airflow import dags_test, final_state
from tests.helpers.airflow_server import VERDICT
from tests.helpers.celery_cluster import CeleryCluster, writer_pool
from tests.helpers.dbcheck import query

pytestmark = pytest.mark.e2e

DAG_ID = "tenant_backfill"
CONF = {"specs": ["all"], "dry_run": False}
TENANT_TABLES = ("customers", "appointments", "calls")
WORKERS = ("worker1", "worker2")
RUN_TIMEOUT_S = 360


def tenant_state(target) -> dict[str, list[tuple]]:
    """Each tenant table's id, company_id and (where the table has it) deleted_at, in id order."""
    state = {}
    for table in TENANT_TABLES:
        present = {
            r["column_name"].lower()
            for r in query(
                target,
                "select column_name as column_name from information_schema.columns"
                " where table_schema = database() and table_name = %(t)s",
                {"t": table},
            )
        }
        columns = [c for c in ("id", "company_id", "deleted_at") if c in present]
        assert columns[:2] == ["id", "company_id"], (table, present)
        rows = query(target, f"select {', '.join(columns)} from `{table}` order by id")
        state[table] = [tuple(r[c] for c in columns) for r in rows]
    return state


def outcome(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """`after`, with a deleted_at the run set (NULL before) read as "soft-deleted by the run": its value is the
    clock of the run that wrote it, which two runs never share."""
    out = {}
    for table, rows in after.items():
        was = {row[0]: row for row in before[table]}
        out[table] = [
            (*row[:2], "soft-deleted by the run")
            if len(row) == 3 and row[2] is not None and row[0] in was and was[row[0]][2] is None
            else row
            for row in rows
        ]
    return out


def fresh_demo_database():
    target = new_target("ti_celery")
    demo.recreate_database(target, "all")
    return target


@pytest.fixture
def celery_run(tmp_path, request):
    """A fresh demo database and a started Celery cluster whose Airflow works on it; all stopped at the end."""
    needed = [("redis-server", "redis-server")] + ([("runuser", "util-linux")] if os.geteuid() == 0 else [])
    for binary, package in needed:
        if not shutil.which(binary):
            pytest.fail(f"{binary} is missing: run make setup (apt-get install {package})")
    target = fresh_demo_database()
    request.addfinalizer(lambda: drop(target))
    cluster = CeleryCluster(
        tmp_path / "airflow",
        {"AIRFLOW_CONN_TENANT_DB": url_of(target), "TENANT_REVIEW_DIR": str(tmp_path / "review-celery")},
        workers=len(WORKERS),
        concurrency=2,
    )
    request.addfinalizer(cluster.stop)
    cluster.start()
    return cluster, target


def test_a_multi_spec_run_spreads_over_two_celery_workers_and_ends_as_dags_test_does(celery_run, tmp_path):
    cluster, celery_db = celery_run
    started = time.monotonic()
    before = tenant_state(celery_db)
    pool, slots = writer_pool()
    assert cluster.postgres.query("select slots from slot_pool where pool = %s", (pool,)) == [(slots,)]
    # one slot for this run: appointments and calls (both after customers, free to run at once on four worker
    # slots) must take turns at writing
    cluster.airflow("pools", "set", pool, "1", "one writer at a time (test)")

    run_id = cluster.trigger(DAG_ID, CONF)
    state = cluster.wait_for_run(DAG_ID, run_id, timeout=RUN_TIMEOUT_S)
    tis = cluster.task_instances(DAG_ID, run_id)
    table = "\n".join(f"{t['task_id']}[{t['map_index']}] {t['state']} on {t['hostname']}" for t in tis)
    print(f"Celery run {run_id}: {state} after {time.monotonic() - started:.0f} s\n{table}")
    assert state == "success", f"{table}\n{cluster.diagnostics()}"

    # every task ran, and ran on one of the workers (the hostname Airflow recorded is the worker's name)
    assert [t["state"] for t in tis if t["task_id"] == VERDICT] == ["skipped"], table  # no spec failed
    ran = [t for t in tis if t["task_id"] != VERDICT]
    assert {t["state"] for t in ran} == {"success"}, table
    assert {t["hostname"] for t in ran} <= set(WORKERS), table

    # the writer pool bounds the writers: no two writing tasks of the run overlapped in time
    writers = sorted((t["start_date"], t["end_date"], t["task_id"], t["map_index"]) for t in tis if t["pool"] == pool)
    assert len(writers) == 5 * len(spec_names()), table
    overlapping = [(a, b) for a, b in itertools.pairwise(writers) if b[0] < a[1]]
    assert overlapping == [], overlapping

    # one map index of `repair` per spec, and different specs' tasks on different workers
    repair = [t for t in tis if t["task_id"].startswith("repair.")]
    hosts_by_spec = defaultdict(set)
    for t in repair:
        hosts_by_spec[t["map_index"]].add(t["hostname"])
    assert sorted(hosts_by_spec) == list(range(len(spec_names()))), table
    assert set().union(*hosts_by_spec.values()) == set(WORKERS), table
    assert any(
        a != b and host_a != host_b
        for a, hosts_a in hosts_by_spec.items()
        for b, hosts_b in hosts_by_spec.items()
        for host_a in hosts_a
        for host_b in hosts_b
    ), table

    # the same end state as the in-process run of the same conf on a second copy of the demo
    on_celery = outcome(before, tenant_state(celery_db))
    assert on_celery != before, "the run changed no tenant row: nothing to compare"
    reference_db = fresh_demo_database()
    try:
        assert tenant_state(reference_db) == before
        code, output = dags_test(reference_db, tmp_path / "review-dags-test", CONF)
        assert code == 0 and final_state(output) == "success", output[-3000:]
        in_process = outcome(before, tenant_state(reference_db))
    finally:
        drop(reference_db)
    for table in TENANT_TABLES:
        differing = sorted(set(on_celery[table]) ^ set(in_process[table]))
        assert on_celery[table] == in_process[table], f"{table}: celery ^ dags test: {differing[:20]}"
