"""The operator page (tenant_integrity.ui.app) on real runs in a real MariaDB database.

The FastAPI app is mounted at /tenant-integrity in a parent app, as the plugin mounts it on Airflow's API
server, and driven with Starlette's TestClient. Authentication is Airflow's own: the configured auth
manager (SimpleAuthManager) issues the JWTs, Airflow's security dependencies check them and the
permission (the project's metadata database answers the DAG's team lookup). Runs are made by
tenant_integrity.repair.phases on the demo data set 'all'; every number below is what that data gives
(tests/repair/test_edge_cases.py has the derivation).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.monitoring import validation
from tenant_integrity.repair import phases
from tenant_integrity.repair.results import PhaseResults
from tests.conftest import url_of
from tests.helpers.dbcheck import query

SPEC = load_spec("customers_company")
RUN_ID = "manual__2026-01-05T10:00:00.123456+00:00"  # ':' and '+' as Airflow's run ids have them
RUN_PATH = "/tenant-integrity/runs/customers_company/manual__2026-01-05T10%3A00%3A00.123456%2B00%3A00"
COMPANIES = {1: "AskPro Main", 15: "Krückeberg Servicegruppe", 83: "Praxis Dr. Weber", 84: "Salon Schmidt"}
# the open review rows of data set 'all' after a real run: row, reason, candidates as the page shows them
EXPECTED_QUEUE = [
    [
        "customers_company",
        "customers",
        "101",
        "conflict",
        "1 AskPro Main (2 rows); 15 Krückeberg Servicegruppe (1 row)",
    ],
    ["customers_company", "customers", "103", "conflict", "83 Praxis Dr. Weber (1 row); 84 Salon Schmidt (1 row)"],
    ["customers_company", "customers", "104", "no_tenant_evidence", "—"],
    ["customers_company", "customers", "106", "unknown_tenant", "999 (no such tenant) (1 row)"],
    ["customers_company", "customers", "109", "conflict", "1 AskPro Main (1 row); 83 Praxis Dr. Weber (1 row)"],
    ["customers_company", "customers", "110", "no_tenant_evidence", "—"],
    ["customers_company", "customers", "111", "unknown_tenant", "999 (no such tenant) (1 row)"],
]


class Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts (whitespace collapsed); tables with an id also by id."""

    def __init__(self, page: str):
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.by_id: dict[str, list[list[str]]] = {}
        self._cell: list[str] | None = None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
            if dict(attrs).get("id"):
                self.by_id[dict(attrs)["id"]] = self.tables[-1]
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def text_of(page: str) -> str:
    page = re.sub(r"<(style|script)>.*?</\1>", "", page, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", page).replace("&#39;", "'").replace("&amp;", "&").split())


@pytest.fixture(scope="module")
def tokens():
    """JWTs of an admin and a viewer, issued by Airflow's configured auth manager (not initialised: no files)."""
    from airflow.api_fastapi import app as api_app
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    before = api_app._AuthManagerState.instance
    manager = api_app.create_auth_manager()
    yield {role: manager.generate_jwt(SimpleAuthManagerUser(username=role, role=role)) for role in ("admin", "viewer")}
    api_app._AuthManagerState.instance = before


@pytest.fixture
def data_docs_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "data_docs"
    monkeypatch.setenv("TENANT_DATA_DOCS_DIR", str(folder))
    return folder


@pytest.fixture
def target(edge_db, review_dir, data_docs_dir, monkeypatch):
    """The demo database as the Airflow connection tenant_db (resolved by Airflow from the environment)."""
    monkeypatch.setenv("AIRFLOW_CONN_TENANT_DB", url_of(edge_db))
    return edge_db


def client(token: str | None = None) -> TestClient:
    from tenant_integrity.ui.app import app

    root = FastAPI()
    root.mount("/tenant-integrity", app)  # as Airflow's API server mounts the plugin's app
    test_client = TestClient(root)
    if token:
        test_client.cookies.set("_token", token)  # the session cookie the Airflow UI's login sets
    return test_client


@pytest.fixture
def admin(tokens) -> TestClient:
    return client(tokens["admin"])


@pytest.fixture
def real_run(target, review_dir):
    summary = phases.run_all(target, SPEC, RunContext(run_id=RUN_ID, dry_run=False, batch_size=5))
    assert summary.status == "succeeded"
    return review_dir / "customers_company" / RUN_ID


def test_the_runs_and_the_review_queue_of_a_real_run(admin, target, real_run):
    page = admin.get("/tenant-integrity/")
    assert page.status_code == 200
    tables = Tables(page.text)
    [header, *runs] = tables.by_id["runs-table"]
    assert header[:9] == [
        "spec",
        "run id",
        "DAG",
        "status",
        "Airflow",
        "rows changed",
        "left for review",
        "started",
        "duration",
    ]
    assert len(runs) == 1
    run = runs[0]
    # no Airflow ran it: the page says so instead of guessing a state
    assert run[:7] == ["customers_company", RUN_ID, "tenant_backfill", "succeeded", "not in this Airflow", "37", "7"]
    recorded = query(target, "select started_at, finished_at from tenant_runs")[0]
    assert run[7] == recorded["started_at"].strftime("%Y-%m-%d %H:%M:%S UTC")
    assert re.fullmatch(r"\d+\.\d s", run[8]), run[8]  # a few seconds
    assert run[9] == "report · review.csv · Data Docs"
    assert f'href="{RUN_PATH}/report"' in page.text and f'href="{RUN_PATH}/review.csv"' in page.text

    # the review queue: every open row, candidate tenants named from companies.name
    assert {
        r["id"]: r["name"] for r in query(target, "select id, name from companies where id in (1, 15, 83, 84)")
    } == (COMPANIES)
    queue = next(t for t in tables.tables if t and t[0][:5] == ["spec", "table", "row", "reason", "candidate tenants"])
    assert [row[:5] for row in queue[1:]] == EXPECTED_QUEUE
    assert all(row[5:7] == ["1", "1"] for row in queue[1:])  # first and last run no
    assert "7 open rows: customers_company conflict 3, customers_company no_tenant_evidence 2, " in text_of(page.text)
    assert "No validation yet" in page.text
    assert "Live runs" not in page.text and 'http-equiv="refresh"' not in page.text
    assert "file://" not in page.text


def test_the_run_page_shows_summary_plan_files_and_its_review_rows(admin, real_run):
    page = admin.get(RUN_PATH)
    assert page.status_code == 200
    text = text_of(page.text)
    assert "status (tenant_runs) succeeded" in text
    assert "planned changes 37 rows changed 37 left for review 7" in text
    assert re.search(r"<pre id=\"summary\">tenant_backfill summary: spec customers_company", page.text)
    assert "backfill_appointments: 31 rows" in text and "soft-deleted: 3 orphans" in text
    assert "planned changes: 37" in text and "backfill from appointments: 30 active, 1 soft-deleted" in text
    review = next(t for t in Tables(page.text).tables if t and t[0][:2] == ["table", "row"])
    assert [row[1] for row in review[1:]] == ["101", "103", "104", "106", "109", "110", "111"]
    assert [row[3] for row in review[1:2]] == [EXPECTED_QUEUE[0][4]]
    # the rollback form posts to this page, which triggers tenant_rollback through the REST API
    assert f'action="{RUN_PATH}/rollback"' in page.text and 'value="true" checked' in page.text
    assert "file://" not in page.text
    plan = admin.get(f"{RUN_PATH}/plan.json").json()
    assert (plan["run_id"], plan["planned_changes"], plan["review_rows"]) == (RUN_ID, 37, 7)


def test_report_and_csv_download_are_the_files_of_the_run(admin, real_run):
    csv = admin.get(f"{RUN_PATH}/review.csv")
    assert csv.status_code == 200
    assert csv.content == (real_run / "review.csv").read_bytes()
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv.headers["content-disposition"] == (
        'attachment; filename="customers_company_manual__2026-01-05T10_00_00.123456_00_00_review.csv"'
    )
    assert csv.content.startswith(b"row_id,reason,candidates,name,email,phone,created_at,decision\r\n101,conflict,")

    report = admin.get(f"{RUN_PATH}/report")
    assert report.status_code == 200 and report.headers["content-type"] == "text/html; charset=utf-8"
    # our own files run no script, whatever a value in them says
    for answer in (report, csv):
        assert answer.headers["content-security-policy"].startswith("script-src 'none'")
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert report.content == (real_run / "report.html").read_bytes()
    # the report's relative links (charts, review.csv) resolve to this run's folder
    for name in ("tenant_distribution.png", "chunks.png", "review.csv"):
        assert f'"{name}"' in report.text
        served = admin.get(f"{RUN_PATH}/{name}")
        assert served.status_code == 200 and served.content == (real_run / name).read_bytes(), name


def test_paths_outside_the_review_and_data_docs_folders_are_refused(admin, real_run, review_dir, data_docs_dir):
    secret = review_dir.parent / "secret.txt"
    secret.write_text("root:x:0:0:not for the page\n")
    (real_run / "leak.txt").symlink_to(secret)  # a link inside the run folder to a file outside the review dir
    data_docs_dir.mkdir(parents=True, exist_ok=True)
    (data_docs_dir / "leak.html").symlink_to(secret)
    refused = [
        f"{RUN_PATH}/..%2F..%2F..%2Fsecret.txt",
        f"{RUN_PATH}/..%2F..%2Fsecret.txt",
        f"{RUN_PATH}/%2E%2E%2F%2E%2E%2F%2E%2E%2Fsecret.txt",
        f"{RUN_PATH}/leak.txt",
        f"{RUN_PATH}/.hidden",
        "/tenant-integrity/runs/customers_company/..%2F..%2F..%2F/secret.txt",
        "/tenant-integrity/runs/..%2F..%2F/x/review.csv",
        "/tenant-integrity/runs/..%2F..%2F/x/report",
        "/tenant-integrity/runs/../../secret.txt/x/review.csv",
        "/tenant-integrity/data-docs/..%2Fsecret.txt",
        "/tenant-integrity/data-docs/..%2F..%2Fsecret.txt",
        "/tenant-integrity/data-docs/%2Fetc%2Fpasswd",
        "/tenant-integrity/data-docs/leak.html",
    ]
    for url in refused:
        answer = admin.get(url)
        assert answer.status_code == 404, (url, answer.status_code)
        assert b"root:" not in answer.content, url


def test_requests_without_a_valid_airflow_session_are_refused(target, real_run, tokens):
    anonymous, forged = client(), client(tokens["admin"][:-4] + "AAAA")
    for url in (
        "/tenant-integrity/",
        RUN_PATH,
        f"{RUN_PATH}/review.csv",
        f"{RUN_PATH}/report",
        "/tenant-integrity/icon.svg",
    ):
        assert anonymous.get(url).status_code == 401, url
        assert forged.get(url).status_code == 403, url
    assert anonymous.post(f"{RUN_PATH}/rollback", data={"dry_run": "true"}).status_code == 401
    # a viewer reads the page but may not create tenant_rollback runs
    viewer = client(tokens["viewer"])
    assert viewer.get(f"{RUN_PATH}/review.csv").content == (real_run / "review.csv").read_bytes()
    assert viewer.post(f"{RUN_PATH}/rollback", data={"dry_run": "true"}).status_code == 403
    # a bearer token works like the session cookie (scripts, the REST API's way)
    bearer = client().get("/tenant-integrity/", headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert bearer.status_code == 200


def test_the_rollback_post_checks_before_it_calls_the_rest_api(admin, real_run):
    assert admin.post(f"{RUN_PATH}/rollback", data={}).status_code == 422  # no silent default: dry run or restore
    unknown = admin.post("/tenant-integrity/runs/customers_company/nope/rollback", data={"dry_run": "true"})
    assert unknown.status_code == 404
    cross_site = admin.post(f"{RUN_PATH}/rollback", data={"dry_run": "true"}, headers={"Origin": "http://evil.test"})
    assert cross_site.status_code == 403


def test_live_progress_of_a_run_that_has_not_finished(admin, target):
    """A real run stopped after its backfill task (as between two Airflow tasks): its checkpoints and audit."""
    ctx = RunContext(run_id="live-1", dry_run=False, batch_size=5)
    plan = phases.preflight(target, SPEC, ctx)
    backed_up = phases.backup(target, SPEC, ctx, plan)
    backfills = phases.backfill_in_priority_order(target, SPEC, ctx, plan)

    page = admin.get("/tenant-integrity/runs/customers_company/live-1")
    text = text_of(page.text)
    assert '<meta http-equiv="refresh" content="10">' in page.text
    assert "status (tenant_runs) running" in text and "finished — planned changes 37 rows changed 34" in text
    assert "written so far: 34 of the 37 changes planned at preflight (91.9%)" in text
    # the audit rows are seconds old: a measured rate, and the 3 remaining planned changes at that rate
    rate = re.search(r"write rate over the last [\d.]+ s \(audit log[^)]*\): ([\d.]+) rows/s — at that rate", text)
    assert rate and float(rate.group(1)) > 0, text
    progress = next(t for t in Tables(page.text).tables if t and t[0][0] == "phase (from tenant_checkpoints)")
    stored = query(
        target, "select phase, chunks, rows_done from tenant_checkpoints where run_no = %(n)s", {"n": plan.run_no}
    )
    by_phase: dict[str, list[int]] = {}
    for row in stored:
        counts = by_phase.setdefault(row["phase"].split(":")[0], [0, 0, 0])
        counts[0], counts[1], counts[2] = counts[0] + 1, counts[1] + row["chunks"], counts[2] + row["rows_done"]
    assert [row[:4] for row in progress[1:]] == [
        ["backfill_appointments", *map(str, by_phase["backfill_appointments"])],
        ["backfill_phone", *map(str, by_phase["backfill_phone"])],
    ]
    assert [by_phase["backfill_appointments"][2], by_phase["backfill_phone"][2]] == [31, 3]
    assert "Live runs" in admin.get("/tenant-integrity/").text

    # the rest of the run: it is finished, nothing live is shown any more
    done = PhaseResults(
        backup=backed_up,
        backfills=backfills.sources,
        conflicts=phases.detect_conflicts(target, SPEC, ctx, plan),
        review=phases.export_review(target, SPEC, ctx, plan),
        orphans=phases.soft_delete_orphans(target, SPEC, ctx, plan),
    )
    assert phases.post_validation(target, SPEC, ctx, plan, done).status == "succeeded"
    page = admin.get("/tenant-integrity/")
    assert "Live runs" not in page.text
    assert Tables(page.text).by_id["runs-table"][1][:7] == [
        "customers_company",
        "live-1",
        "tenant_backfill",
        "succeeded",
        "not in this Airflow",
        "37",
        "7",
    ]


def test_validation_history_and_the_data_docs_of_a_run(admin, target, real_run, data_docs_dir):
    report = validation.validate(target, SPEC, "standard", "manual__validation")
    page = admin.get("/tenant-integrity/")
    [_header, row] = Tables(page.text).by_id["validations-table"]
    history = query(target, "select check_name, passed, severity from tenant_validation_history order by id")
    failed = [h["check_name"] for h in history if not h["passed"]]
    assert row[:4] == ["1", "customers_company", "standard", "manual__validation"]
    assert row[5] == ("passed" if report.passed else f"failed ({len(report.failed)})")
    assert row[6:8] == [str(len(history)), ", ".join(failed)]
    assert "file://" not in page.text

    # the run's Data Docs: the validation after it, served from $TENANT_DATA_DOCS_DIR
    docs = admin.get(f"{RUN_PATH}/data-docs", follow_redirects=False)
    assert docs.status_code == 303
    stored = query(target, "select data_docs from tenant_validation_runs")[0]["data_docs"]
    assert stored.startswith("file://")  # what GX records; the page links the served copy instead
    relative = Path(stored.removeprefix("file://")).relative_to(data_docs_dir)
    assert docs.headers["location"] == f"/tenant-integrity/data-docs/{relative.as_posix()}"
    served = admin.get(docs.headers["location"])
    assert served.status_code == 200 and served.content == (data_docs_dir / relative).read_bytes()
    # GX's pages load scripts from public CDNs: here they run sandboxed, in an origin of their own
    assert served.headers["content-security-policy"] == "sandbox allow-scripts allow-popups"
    assert f'href="/tenant-integrity/data-docs/{relative.as_posix()}"' in page.text

    detail = admin.get("/tenant-integrity/validations/1")
    checks = Tables(detail.text).tables[0]
    assert [c[0] for c in checks[1:]] == [h["check_name"] for h in history]
    assert "file://" not in detail.text


def test_data_docs_before_any_validation_say_so(admin, real_run):
    answer = admin.get(f"{RUN_PATH}/data-docs")
    assert answer.status_code == 404
    assert "No validation of spec customers_company has built Data Docs since run" in text_of(answer.text)


def test_extra_links_point_at_the_page_only_for_tenant_backfill():
    from airflow.models.taskinstancekey import TaskInstanceKey

    from tenant_integrity import plugin

    links = {link.name: link for link in plugin.TenantIntegrityPlugin.global_operator_extra_links}
    assert set(links) == {"Run report", "Review CSV", "Data Docs"}
    other = TaskInstanceKey("tenant_rollback", "restore_from_backup", "manual__1", 1, -1)
    assert {name: link.get_link(None, ti_key=other) for name, link in links.items()} == dict.fromkeys(links, "")
    # a tenant_backfill run this metadata database does not know: its specs are unknown, so no link
    unknown = TaskInstanceKey("tenant_backfill", "repair.post_validation", "manual__not-here", 1, 0)
    assert links["Run report"].get_link(None, ti_key=unknown) == ""
    assert plugin.page_url("customers_company", RUN_ID, "report").endswith(f"{RUN_PATH}/report")


def test_pause_resume_and_cancel_buttons_write_the_requests_the_writers_read(admin, tokens, target):
    from tenant_integrity.engine import controls

    ctx = RunContext(run_id="live-2", dry_run=False, batch_size=5)
    phases.preflight(target, SPEC, ctx)  # a registered run that has not finished: its page shows the controls
    page = admin.get("/tenant-integrity/runs/customers_company/live-2")
    assert [b for b in ("Pause", "Resume", "Cancel") if f">{b}</button>" in page.text] == ["Pause", "Resume", "Cancel"]

    base = "/tenant-integrity/runs/customers_company/live-2/control"
    assert admin.post(base, data={"action": "pause"}, follow_redirects=False).status_code == 303
    assert admin.post("/tenant-integrity/control", data={"action": "pause"}, follow_redirects=False).status_code == 303
    assert admin.post(base, data={"action": "cancel"}, follow_redirects=False).status_code == 303
    requests = {(r.action, r.scope, r.run_id, r.requested_by) for r in controls.open_requests(target)}
    assert requests == {
        ("pause", "customers_company", "live-2", "admin (Tenant integrity page)"),
        ("pause", "*", "", "admin (Tenant integrity page)"),
        ("cancel", "customers_company", "live-2", "admin (Tenant integrity page)"),
    }
    text = text_of(admin.get("/tenant-integrity/runs/customers_company/live-2").text)
    assert "pause requested by admin (Tenant integrity page)" in text and "(every run on this database)" in text
    assert admin.post(base, data={"action": "resume"}, follow_redirects=False).status_code == 303
    assert admin.post("/tenant-integrity/control", data={"action": "resume"}, follow_redirects=False).status_code == 303
    assert [(r.action, r.scope) for r in controls.open_requests(target)] == [("cancel", "customers_company")]

    # a viewer may look, not pause; another site may not post; a spec's run must exist
    viewer = client(tokens["viewer"])
    assert viewer.post(base, data={"action": "pause"}, follow_redirects=False).status_code == 403
    assert admin.post(base, data={"action": "pause"}, headers={"origin": "https://evil.test"}).status_code == 403
    assert (
        admin.post("/tenant-integrity/runs/customers_company/nope/control", data={"action": "pause"}).status_code == 404
    )
    assert admin.post(base, data={"action": "stop"}).status_code == 422


def test_a_dry_runs_extra_links_answer_a_browser_with_a_page_back_to_the_run(admin, target):
    """The Airflow UI's extra links of a backfill task (Run report, Data Docs) name files and validations a dry
    run never has: a browser gets a page saying so, with a link to the run's page; a script still gets JSON."""
    phases.run_all(target, SPEC, RunContext(run_id="dry-1", dry_run=True, batch_size=5))
    run_page = "/tenant-integrity/runs/customers_company/dry-1"
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    answers = {view: admin.get(f"{run_page}/{view}", headers=browser) for view in ("report", "data-docs")}
    for view, answer in answers.items():
        assert (answer.status_code, answer.headers["content-type"]) == (404, "text/html; charset=utf-8"), view
        assert f'<a href="{run_page}">this run&#39;s page</a>' in answer.text, view
    assert "report.html is not in the folder of run dry-1 of spec customers_company" in answers["report"].text
    assert "no registered run &#39;dry-1&#39; in tenant_runs" in answers["data-docs"].text
    assert admin.get(f"{run_page}/report").json() == {
        "detail": "report.html is not in the folder of run dry-1 of spec customers_company"
    }
    assert admin.get(run_page, headers=browser).status_code == 200
