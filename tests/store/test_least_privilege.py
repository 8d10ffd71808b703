"""Least privilege: the documented grant set runs the whole DAG; one grant less fails at preflight, naming it."""

from __future__ import annotations

import uuid

import pytest

from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.repair import phases
from tenant_integrity.store import privileges
from tenant_integrity.store.db import DbTarget
from tests.helpers.airflow import dags_test, final_state
from tests.helpers.dbcheck import active_distribution, checksum, tables

SPEC = load_spec("customers_company")
PASSWORD = "s3cr3t-" + uuid.uuid4().hex[:8]


@pytest.fixture
def least_privileged(seed_db):
    user = f"ti_{uuid.uuid4().hex[:8]}"
    with seed_db.connect() as db:
        db.execute(f"create user '{user}'@'%%' identified by %(pw)s", {"pw": PASSWORD})
        for grant in privileges.grant_statements(SPEC, seed_db.database, f"'{user}'@'%'"):
            db.execute(grant)  # no bind parameters: the driver leaves % alone
        db.commit()
    yield DbTarget(seed_db.host, seed_db.port, user, PASSWORD, seed_db.database), user
    with seed_db.connect() as db:
        db.execute(f"drop user '{user}'@'%'")


def test_the_grant_set_is_exactly_what_the_docs_say():
    assert privileges.grant_statements(SPEC, "app", "u") == [
        "grant select on `app`.`customers` to u",
        "grant select on `app`.`companies` to u",
        "grant select on `app`.`appointments` to u",
        "grant select on `app`.`calls` to u",
        "grant select on `app`.`phone_numbers` to u",
        "grant update (`company_id`, `deleted_at`) on `app`.`customers` to u",
        "grant create, insert, select, update on `app`.`tenant_audit_log` to u",
        "grant create, insert, select, update on `app`.`tenant_runs` to u",
        "grant create, insert, select, update on `app`.`tenant_review_queue` to u",
        "grant create, insert, select, update on `app`.`tenant_validation_runs` to u",
        "grant create, insert, select, update on `app`.`tenant_validation_history` to u",
        "grant create, insert, select, update on `app`.`tenant_validation_alerts` to u",
        "grant create, insert, select, update on `app`.`tenant_checkpoints` to u",
        "grant create, insert, select, update on `app`.`tenant_range_checksums` to u",
        "grant create, insert, select, update, delete on `app`.`tenant_run_controls` to u",
        "grant create, insert, select, update on `app`.`tenant_heartbeat` to u",
        "grant create, insert, select, update on `app`.`tenant_watch_history` to u",
        "grant create, insert, select, update on `app`.`tenant_watch_findings` to u",
        "grant create, insert, select, update on `app`.`tenant_backup_customers` to u",
        "grant create temporary tables on `app`.* to u",
    ]


def test_the_whole_dag_runs_with_the_grant_set_and_never_shows_the_password(least_privileged, review_dir):
    target, _ = least_privileged
    _, output = dags_test(target, review_dir, {"dry_run": False})
    assert final_state(output) == "success", output[-3000:]
    assert active_distribution(target) == {1: 51, 15: 3, 83: 1, 84: 1, 85: 1}
    assert PASSWORD not in output  # task logs, summaries
    for path in review_dir.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_one_grant_missing_fails_at_preflight_naming_it_before_any_write(least_privileged, seed_db):
    target, user = least_privileged
    with seed_db.connect() as db:
        db.execute(f"revoke update (`company_id`, `deleted_at`) on `{seed_db.database}`.`customers` from '{user}'@'%'")
        db.commit()
    before, before_tables = checksum(seed_db, "customers"), tables(seed_db)
    with pytest.raises(privileges.MissingPrivilege) as failure:
        phases.run_all(target, SPEC, RunContext(run_id="nope", dry_run=False))
    assert failure.value.missing == ["UPDATE on customers.company_id, customers.deleted_at"]
    assert PASSWORD not in str(failure.value)
    assert (checksum(seed_db, "customers"), tables(seed_db)) == (before, before_tables)
    # a dry run needs no write privilege and still works
    plan = phases.run_all(target, SPEC, RunContext(run_id="dry"))
    assert plan.planned_changes == 31


def test_an_on_update_column_needs_update_too_and_preflight_names_it(least_privileged, seed_db):
    target, user = least_privileged
    with seed_db.connect() as db:
        db.execute("alter table customers modify updated_at timestamp null default null on update current_timestamp")
        db.commit()
    before = checksum(seed_db, "customers")
    with pytest.raises(privileges.MissingPrivilege) as failure:
        phases.run_all(target, SPEC, RunContext(run_id="on-update", dry_run=False))
    assert failure.value.missing == ["UPDATE on customers.company_id, customers.deleted_at, customers.updated_at"]
    assert checksum(seed_db, "customers") == before

    grants = privileges.grant_statements(SPEC, seed_db.database, f"'{user}'@'%'", auto_updated=["updated_at"])
    assert (
        f"grant update (`company_id`, `deleted_at`, `updated_at`) on `{seed_db.database}`.`customers` to '{user}'@'%'"
        in grants
    )
    with seed_db.connect() as db:
        db.execute(f"grant update (`updated_at`) on `{seed_db.database}`.`customers` to '{user}'@'%'")
        db.commit()
    summary = phases.run_all(target, SPEC, RunContext(run_id="on-update", dry_run=False))
    assert summary.status == "succeeded" and summary.audited == {"backfill": 28, "soft_delete": 3}
