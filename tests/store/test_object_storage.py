"""A run's files in an object store: $TENANT_STORAGE_URL=s3://bucket/prefix with $TENANT_STORAGE_CONN_ID.

moto's standalone S3 server runs as a process on a free local port (tests/helpers/s3_server.py); the Airflow
connection of type aws points at it (endpoint_url in its extra) and Airflow's ObjectStoragePath reaches it
through the Amazon provider and s3fs, as a worker or the API server would reach S3. On data set 'all'
(tests/repair/test_edge_cases.py has the numbers): a dry run, a real backfill, a review import from a
file a person put into the bucket, both rollbacks and a validation. Every file is read back with boto3 (the
test's own view of the bucket), the operator page serves them from the bucket, and nothing is on local disk.
"""

from __future__ import annotations

import csv
import io
import json
import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tenant_integrity.core.paths import PROJECT_ROOT
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.engine.chunk_log import read_chunk_logs
from tenant_integrity.monitoring import validation
from tenant_integrity.repair import phases, rollback
from tenant_integrity.repair.review_import import ReviewFileError
from tests.conftest import url_of
from tests.helpers.chunk_logs import chunk_rows
from tests.helpers.dbcheck import checksum, customers
from tests.helpers.operator_runs import import_decisions
from tests.helpers.review_files import DECISIONS, TENANTS_AFTER_DECISIONS
from tests.helpers.s3_server import aws_connection_env, s3_server

SPEC = load_spec("customers_company")
CONN_ID = "tenant_storage_test"
PREFIX = "tenant-integrity"
REVIEW_HEADER = ["row_id", "reason", "candidates", "name", "email", "phone", "created_at", "decision"]
# what one real run of data set 'all' leaves in its folder: the review CSV, the report, its charts, chunk logs
RUN_FILES = ["chunks.png", "report.html", "review.csv", "tenant_distribution.png"]
RUN_CHUNK_LOGS = [
    "backfill_appointments",
    "backfill_phone",
    "detect_conflicts",
    "export_review",
    "preflight_profile",
    "soft_delete_orphans",
]


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    with s3_server(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture(scope="module")
def tokens():
    """An admin's JWT, issued by Airflow's configured auth manager (as tests/ui/test_operator_page.py)."""
    from airflow.api_fastapi import app as api_app
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    before = api_app._AuthManagerState.instance
    manager = api_app.create_auth_manager()
    yield {"admin": manager.generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))}
    api_app._AuthManagerState.instance = before


@pytest.fixture
def stored(s3, edge_db, review_dir, tmp_path, monkeypatch):
    """Data set 'all' with every file going to a fresh bucket; the local folders of before set, to stay empty."""
    bucket = f"tenant-{uuid.uuid4().hex[:12]}"
    s3.client().create_bucket(Bucket=bucket)
    for name, value in aws_connection_env(CONN_ID, s3).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TENANT_STORAGE_URL", f"s3://{bucket}/{PREFIX}")
    monkeypatch.setenv("TENANT_STORAGE_CONN_ID", CONN_ID)
    monkeypatch.setenv("TENANT_DATA_DOCS_DIR", str(tmp_path / "data_docs"))
    monkeypatch.setenv("AIRFLOW_CONN_TENANT_DB", url_of(edge_db))  # the operator page's database
    return edge_db, bucket


def client(token: str) -> TestClient:
    from tenant_integrity.ui.app import app

    root = FastAPI()
    root.mount("/tenant-integrity", app)  # as Airflow's API server mounts the plugin's app
    test_client = TestClient(root)
    test_client.cookies.set("_token", token)
    return test_client


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def decided(exported: bytes, decisions: dict[int, str]) -> bytes:
    """The exported review CSV with the decision column filled in, saved as a spreadsheet saves it."""
    rows = csv_rows(exported)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(rows[0])
    for row in rows[1:]:
        writer.writerow([*row[:-1], decisions.get(int(row[0]), row[-1])])
    return out.getvalue().encode("utf-8")


def local_files(*folders) -> list[str]:
    return sorted(str(p) for folder in folders if folder.exists() for p in folder.rglob("*") if p.is_file())


def test_a_whole_run_keeps_its_files_in_the_bucket_and_the_page_serves_them(s3, stored, review_dir, tokens, tmp_path):
    target, bucket = stored
    tag = uuid.uuid4().hex[:8]
    dry, real = f"dry-{tag}", f"s3-{tag}"
    base = f"{PREFIX}/customers_company"
    before, before_sum = customers(target), checksum(target, "customers")

    # a dry run: its plan and review preview are objects in the bucket
    plan = phases.run_all(target, SPEC, RunContext(run_id=dry, batch_size=5))
    assert s3.keys(bucket, f"{base}/{dry}/") == [
        f"{base}/{dry}/chunks/preflight_profile.json",
        f"{base}/{dry}/plan.json",
        f"{base}/{dry}/review_preview.csv",
    ]
    assert plan.plan_file == f"s3://{bucket}/{base}/{dry}/plan.json"
    assert plan.review_csv == f"s3://{bucket}/{base}/{dry}/review_preview.csv"
    stored_plan = json.loads(s3.read(bucket, f"{base}/{dry}/plan.json"))
    assert stored_plan == json.loads(json.dumps(plan.to_dict()))
    counts = ("planned_changes", "review_rows", "review_rows_exported")
    assert [stored_plan[c] for c in counts] == [37, 7, 7]
    preview = csv_rows(s3.read(bucket, f"{base}/{dry}/review_preview.csv"))
    assert preview[0] == REVIEW_HEADER and [int(r[0]) for r in preview[1:]] == [101, 103, 104, 106, 109, 110, 111]

    # a real run: review CSV, report, charts and the chunk log of every phase
    summary = phases.run_all(target, SPEC, RunContext(run_id=real, dry_run=False, batch_size=5))
    assert summary.status == "succeeded"
    assert summary.audited == {"backfill": 34, "soft_delete": 3}
    assert s3.keys(bucket, f"{base}/{real}/") == sorted(
        [f"{base}/{real}/{name}" for name in RUN_FILES]
        + [f"{base}/{real}/chunks/{phase}.json" for phase in RUN_CHUNK_LOGS]
    )
    assert summary.phases.review.review_csv == f"s3://{bucket}/{base}/{real}/review.csv"
    assert summary.report == f"s3://{bucket}/{base}/{real}/report.html"
    exported = s3.read(bucket, f"{base}/{real}/review.csv")
    review = csv_rows(exported)
    assert review[0] == REVIEW_HEADER and [int(r[0]) for r in review[1:]] == [101, 103, 104, 106, 109, 110, 111]
    report = s3.read(bucket, f"{base}/{real}/report.html").decode("utf-8")
    assert "backfill_appointments:" in report and 'href="review.csv"' in report
    for chart in ("chunks.png", "tenant_distribution.png"):
        assert s3.read(bucket, f"{base}/{real}/{chart}")[:8] == b"\x89PNG\r\n\x1a\n"
    # the chunk logs: what the bucket holds is what the report and the tests read, rows as the run counted them
    logs = {p: json.loads(s3.read(bucket, f"{base}/{real}/chunks/{p}.json")) for p in RUN_CHUNK_LOGS}
    assert {r["phase"]: r["rows"] for r in read_chunk_logs(SPEC.name, real)} == {
        r["phase"]: r["rows"] for r in logs.values()
    }
    # every phase walks the NULL-tenant rows left: 45 (43 active + 2 soft-deleted), 14 after the 31 from
    # appointments, 11 after the 3 from phone; in the order the phases ran
    assert [(r["phase"], sum(r["rows"])) for r in read_chunk_logs(SPEC.name, real)] == [
        ("preflight profile", 45),
        ("backfill_appointments", 45),
        ("backfill_phone", 14),
        ("detect_conflicts", 11),
        ("export_review", 11),
        ("soft_delete_orphans", 11),
    ]
    assert chunk_rows(real, "backfill_appointments") == logs["backfill_appointments"]["rows"]

    # a review import of the file a person filled in and put next to the export
    s3.client().put_object(Bucket=bucket, Key=f"{base}/{real}/decided.csv", Body=decided(exported, DECISIONS))
    s3.client().put_object(Bucket=bucket, Key="outside.csv", Body=decided(exported, DECISIONS))
    refused = ["../outside.csv", f"{real}/../../../outside.csv", f"s3://{bucket}/outside.csv", "/etc/passwd"]
    for value in refused:
        with pytest.raises(ReviewFileError, match="outside the review folder"):
            import_decisions(target, value, run_id=f"import-{tag}")
    imported = import_decisions(target, f"customers_company/{real}/decided.csv", run_id=f"import-{tag}")
    assert (imported.applied, imported.skipped, imported.settled) == (4, 3, ())
    assert imported.file == f"s3://{bucket}/{base}/{real}/decided.csv"
    assert {k: customers(target)[k]["company_id"] for k in DECISIONS} == TENANTS_AFTER_DECISIONS

    # both rollbacks: their chunk logs go to the bucket too
    ctx = RunContext(run_id=f"rb-import-{tag}", dry_run=False, batch_size=4, dag_id="tenant_rollback")
    undone_import = rollback.rollback_run(target, SPEC, ctx, f"import-{tag}")
    assert (undone_import.changed_rows, undone_import.restored, undone_import.skipped) == (4, 4, ())
    ctx = RunContext(run_id=f"rb-{tag}", dry_run=False, batch_size=4, dag_id="tenant_rollback")
    undone = rollback.rollback_run(target, SPEC, ctx, real)
    assert (undone.changed_rows, undone.restored, undone.skipped) == (37, 37, ())
    assert customers(target) == before and checksum(target, "customers") == before_sum
    rows = chunk_rows(f"rb-{tag}", "rollback")
    assert undone.chunks_verified == len(rows) > 1 and sum(rows) == 37
    assert s3.keys(bucket, f"{base}/rb-{tag}/") == [f"{base}/rb-{tag}/chunks/rollback.json"]
    assert json.loads(s3.read(bucket, f"{base}/rb-{tag}/chunks/rollback.json"))["rows"] == rows

    # a validation: GX builds its Data Docs in a temporary folder, the site is uploaded to <base>/data-docs/
    checked = validation.validate(target, SPEC, "standard", f"validation-{tag}")
    docs_prefix = f"{PREFIX}/data-docs/customers_company/validation_{checked.validation_no:06d}/"
    assert checked.data_docs and checked.data_docs[0].startswith(f"s3://{bucket}/{docs_prefix}validations/")
    page_key = checked.data_docs[0].removeprefix(f"s3://{bucket}/")
    docs_keys = s3.keys(bucket, docs_prefix)
    assert f"{docs_prefix}index.html" in docs_keys and page_key in docs_keys

    # nothing went to local disk: not the review folder, not the Data Docs folder, not the project's review/
    assert local_files(review_dir, tmp_path / "data_docs") == []
    assert not (PROJECT_ROOT / "review" / "customers_company" / real).exists()
    assert not (PROJECT_ROOT / "review" / "customers_company" / dry).exists()

    # the operator page serves the files from the bucket
    admin = client(tokens["admin"])
    run_path = f"/tenant-integrity/runs/customers_company/{real}"
    csv_answer = admin.get(f"{run_path}/review.csv")
    assert csv_answer.status_code == 200 and csv_answer.content == exported
    assert csv_answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv_answer.headers["content-disposition"] == f'attachment; filename="customers_company_{real}_review.csv"'
    report_answer = admin.get(f"{run_path}/report")
    assert report_answer.status_code == 200 and report_answer.headers["content-type"] == "text/html; charset=utf-8"
    assert report_answer.content == report.encode("utf-8")
    assert report_answer.headers["content-security-policy"].startswith("script-src 'none'")
    chart = admin.get(f"{run_path}/chunks.png")
    assert chart.status_code == 200 and chart.content == s3.read(bucket, f"{base}/{real}/chunks.png")
    assert chart.headers["content-type"] == "image/png"
    plan_answer = admin.get(f"/tenant-integrity/runs/customers_company/{dry}/plan.json")
    assert plan_answer.status_code == 200 and plan_answer.json() == stored_plan
    preview_answer = admin.get(f"/tenant-integrity/runs/customers_company/{dry}/review.csv")
    assert preview_answer.content == s3.read(bucket, f"{base}/{dry}/review_preview.csv")
    run_page = admin.get(run_path)
    assert run_page.status_code == 200 and "file://" not in run_page.text
    docs = admin.get(f"{run_path}/data-docs", follow_redirects=False)
    relative = page_key.removeprefix(f"{PREFIX}/data-docs/")
    assert docs.status_code == 303 and docs.headers["location"] == f"/tenant-integrity/data-docs/{relative}"
    served = admin.get(docs.headers["location"])
    assert served.status_code == 200 and served.content == s3.read(bucket, page_key)
    assert served.headers["content-security-policy"] == "sandbox allow-scripts allow-popups"

    # keys that climb out of the run's folder, the base or the Data Docs are refused, whatever is there: an
    # object store takes '..' literally, so a key may hold it (these objects exist, the page must not serve them)
    for key in (
        "secret.txt",
        f"{PREFIX}/secret.txt",
        f"{PREFIX}/data-docs/../secret.txt",
        f"{PREFIX}/data-docs/../../secret.txt",
        f"{PREFIX}/data-docs/customers_company/../../secret.txt",
        f"{PREFIX}/data-docs//secret.txt",
    ):
        s3.client().put_object(Bucket=bucket, Key=key, Body=b"root:x:0:0:not for the page\n")
    for url in (
        f"{run_path}/..%2F..%2F..%2Fsecret.txt",
        f"{run_path}/..%2F..%2Fsecret.txt",
        f"{run_path}/%2E%2E%2F%2E%2E%2Fsecret.txt",
        f"{run_path}/.hidden",
        "/tenant-integrity/runs/customers_company/..%2F..%2F/secret.txt",
        "/tenant-integrity/runs/..%2F..%2F/x/review.csv",
        "/tenant-integrity/runs/../../secret.txt/x/review.csv",
        "/tenant-integrity/data-docs/..%2Fsecret.txt",
        "/tenant-integrity/data-docs/..%2F..%2Fsecret.txt",
        "/tenant-integrity/data-docs/%2Fsecret.txt",
        "/tenant-integrity/data-docs/customers_company/..%2F..%2Fsecret.txt",
        "/tenant-integrity/data-docs/%2F%2Fsecret.txt",
    ):
        answer = admin.get(url)
        assert answer.status_code == 404, (url, answer.status_code)
        assert b"root:" not in answer.content, url
