"""tenant_backfill and tenant_review_import under real Airflow (`airflow dags test`) with the run files in S3.

The tasks reach the bucket as a worker would: through the Airflow connection named by $TENANT_STORAGE_CONN_ID
(an AIRFLOW_CONN_ environment variable of type aws pointing at moto's server, tests/helpers/s3_server.py).
Airflow's metadata database is a copy of the project's (a sqlite backup), so the run leaves it untouched.
"""

from __future__ import annotations

import csv
import io
import sqlite3

import pytest

from tests.conftest import PROJECT
from tests.helpers.airflow import dags_test, final_state
from tests.helpers.dbcheck import customers, query
from tests.helpers.review_files import DECISIONS, TENANTS_AFTER_DECISIONS
from tests.helpers.s3_server import aws_connection_env, s3_server

pytestmark = pytest.mark.e2e
CONN_ID = "tenant_storage_e2e"
BUCKET = "tenant-runs"
PREFIX = "tenant-integrity"


@pytest.fixture
def storage_env(tmp_path):
    metadata = tmp_path / "airflow.db"
    source, copy = sqlite3.connect(PROJECT / ".airflow" / "airflow.db"), sqlite3.connect(metadata)
    source.backup(copy)
    source.close()
    copy.close()
    with s3_server(tmp_path / "moto") as server:
        server.client().create_bucket(Bucket=BUCKET)
        yield (
            server,
            {
                **aws_connection_env(CONN_ID, server),
                "TENANT_STORAGE_URL": f"s3://{BUCKET}/{PREFIX}",
                "TENANT_STORAGE_CONN_ID": CONN_ID,
                "TENANT_DATA_DOCS_DIR": str(tmp_path / "data_docs"),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{metadata}",
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(tmp_path / "logs"),
            },
        )


def test_a_backfill_and_its_review_import_keep_their_files_in_the_bucket(edge_db, review_dir, storage_env):
    server, env = storage_env
    code, output = dags_test(edge_db, review_dir, {"dry_run": False, "batch_size": 10}, extra_env=env)
    assert code == 0 and final_state(output) == "success", output[-3000:]
    keys = server.keys(BUCKET, f"{PREFIX}/customers_company/")
    [run_folder] = {key.split("/")[2] for key in keys}  # the Airflow run id, e.g. manual__2026-...+00:00
    folder = f"{PREFIX}/customers_company/{run_folder}"
    assert keys == [
        f"{folder}/chunks.png",
        f"{folder}/chunks/backfill_appointments.json",
        f"{folder}/chunks/backfill_phone.json",
        f"{folder}/chunks/detect_conflicts.json",
        f"{folder}/chunks/export_review.json",
        f"{folder}/chunks/preflight_profile.json",
        f"{folder}/chunks/soft_delete_orphans.json",
        f"{folder}/report.html",
        f"{folder}/review.csv",
        f"{folder}/tenant_distribution.png",
    ]
    assert not review_dir.exists()  # nothing on the worker's disk

    # a person fills in the decisions and puts the file into the bucket; the import task reads it from there
    rows = list(csv.reader(io.StringIO(server.read(BUCKET, f"{folder}/review.csv").decode("utf-8"), newline="")))
    assert [int(r[0]) for r in rows[1:]] == [101, 103, 104, 106, 109, 110, 111]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([rows[0], *([*r[:-1], DECISIONS[int(r[0])]] for r in rows[1:])])
    server.client().put_object(Bucket=BUCKET, Key=f"{PREFIX}/decided.csv", Body=out.getvalue().encode("utf-8"))
    conf = {"review_csv": "decided.csv", "dry_run": False}
    code, output = dags_test(edge_db, review_dir, conf, "tenant_review_import", extra_env=env)
    assert code == 0 and final_state(output) == "success", output[-3000:]
    assert {k: customers(edge_db)[k]["company_id"] for k in DECISIONS} == TENANTS_AFTER_DECISIONS
    audit = query(
        edge_db,
        "select column_name, count(*) as n from tenant_audit_log where action = 'review_decision' group by 1 order by 1",
    )
    assert [(a["column_name"], a["n"]) for a in audit] == [("company_id", 3), ("deleted_at", 1)]  # 3 tenants, 1 orphan
    assert not review_dir.exists()
