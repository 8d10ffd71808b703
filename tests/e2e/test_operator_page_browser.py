"""The Tenant integrity page inside the real Airflow UI (scripts/airflow_local.sh), in Debian's Chromium.

One Airflow on a fresh demo database (data set 'all'): a real tenant_backfill run triggered through the REST
API; then, as user admin in the browser, the navigation entry opens the page inside the UI, the run is
listed with its numbers, its page shows them, its report opens, its review CSV downloads byte for byte, and
the rollback form triggers tenant_rollback through the REST API. The task's extra links point at the page;
a request without a session is refused. Screenshots: docs/screenshots/10_operator_page.png (the page in
the UI), 11_run_detail.png (the run's page), 12_run_report.png (its report in the page's frame),
13_extra_links.png (the task's extra links) — refreshed only with TENANT_UPDATE_SCREENSHOTS=1, like the
other browser test's.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote, unquote

import pytest

from tests.helpers.airflow_server import CHROMIUM, CHROMIUM_ARGS, DAG_ID, UI_TIMEOUT, log_in, screenshot
from tests.helpers.dbcheck import query

pytestmark = pytest.mark.e2e

SPEC = "customers_company"
# data set 'all' after a real run of customers_company (tests/repair/test_edge_cases.py has the derivation)
ROWS_CHANGED, LEFT_FOR_REVIEW = 37, 7

timings: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def report_timings():
    yield
    print("\noperator page browser test timings: " + ", ".join(f"{k}: {v:.1f} s" for k, v in timings.items()))


def status_without_session(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as refused:
        return refused.code


def test_the_operator_page_in_the_airflow_ui(airflow, database, review):
    from playwright.sync_api import expect, sync_playwright

    # no session, no token: Airflow's security dependency refuses the page and its files
    for path in ("/tenant-integrity/", f"/tenant-integrity/runs/{SPEC}/x/review.csv", "/tenant-integrity/icon.svg"):
        assert status_without_session(airflow.base + path) == 401, path

    # the plugin loaded without errors
    assert airflow.api("GET", "/api/v2/plugins/importErrors")["import_errors"] == []
    plugins = {p["name"]: p for p in airflow.api("GET", "/api/v2/plugins")["plugins"]}
    assert [a["url_prefix"] for a in plugins["tenant_integrity"]["fastapi_apps"]] == ["/tenant-integrity"]

    # a real run, triggered through the REST API
    started = time.monotonic()
    airflow.api("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
    run_id = airflow.api(
        "POST", f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": {"spec": SPEC, "dry_run": False}}
    )["dag_run_id"]
    run = airflow.wait_for_run(run_id)
    timings["real run"] = time.monotonic() - started
    assert run["state"] == "success", airflow.task_states(run_id)
    folder = review / SPEC / run_id
    assert query(database, "select run_id, status from tenant_runs") == [{"run_id": run_id, "status": "succeeded"}]
    run_page = f"{airflow.base}/tenant-integrity/runs/{SPEC}/{quote(run_id, safe='')}"

    # the extra links of the run's tasks point at the page
    links = airflow.api("GET", f"{airflow.run_path(run_id)}/taskInstances/repair.post_validation/links?map_index=0")[
        "extra_links"
    ]
    assert links == {
        "Data Docs": f"{run_page}/data-docs",
        "Review CSV": f"{run_page}/review.csv",
        "Run report": f"{run_page}/report",
    }

    started = time.monotonic()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
            context.set_default_timeout(UI_TIMEOUT)
            page = context.new_page()
            log_in(page, airflow)

            # the navigation entry shows the page inside the UI
            page.get_by_role("link", name="Tenant integrity").first.click()
            page.wait_for_url(re.compile(r".*/plugin/tenant-integrity$"))
            frame = page.frame_locator("iframe")
            row = frame.locator(f'#runs-table tr[data-run-id="{run_id}"]')
            expect(row).to_be_visible()
            cells = [" ".join(c.split()) for c in row.locator("td").all_inner_texts()]
            assert cells[:7] == [SPEC, run_id, DAG_ID, "succeeded", "success", str(ROWS_CHANGED), str(LEFT_FOR_REVIEW)]
            expect(frame.get_by_text("Krückeberg Servicegruppe").first).to_be_visible()  # a name beside its id
            screenshot(page, "10_operator_page.png")

            # the run's page, inside the UI
            row.get_by_role("link", name=run_id).click()
            expect(frame.locator("#rows-changed")).to_have_text(str(ROWS_CHANGED))
            expect(frame.locator("#review-rows")).to_have_text(str(LEFT_FOR_REVIEW))
            expect(frame.locator("#summary")).to_contain_text(f"tenant_backfill summary: spec {SPEC}")
            screenshot(page, "11_run_detail.png")

            # the review CSV downloads as it is in $TENANT_REVIEW_DIR
            with page.expect_download() as downloading:
                frame.locator("#review-csv").click()
            download = downloading.value
            assert Path(download.path()).read_bytes() == (folder / "review.csv").read_bytes()
            assert download.suggested_filename.endswith("_review.csv")

            # the report, in the same frame; its charts load from the run's folder
            frame.get_by_role("link", name="Run report").click()
            heading = frame.get_by_role("heading", name=f"tenant_backfill: spec {SPEC}, table customers")
            expect(heading).to_be_visible()
            assert unquote(f"{run_page}/report") in [unquote(f.url) for f in page.frames]
            charts = frame.locator("img")
            expect(charts).to_have_count(2)
            for chart in charts.all():
                chart.scroll_into_view_if_needed()
                assert chart.evaluate("image => image.complete && image.naturalWidth > 0"), chart.get_attribute("src")
            frame.locator("h1").scroll_into_view_if_needed()
            screenshot(page, "12_run_report.png")
            page.go_back()  # the frame's history: back to the run's page
            expect(frame.locator("#rows-changed")).to_have_text(str(ROWS_CHANGED))

            # roll back (dry run, the default): tenant_rollback is triggered through the REST API as admin;
            # it is paused (every DAG is, at creation): the form says so and unpauses it only when asked to
            expect(frame.locator("#tenant_rollback-paused")).to_be_visible()
            frame.get_by_label("Unpause tenant_rollback").check()
            frame.get_by_role("button", name="Trigger tenant_rollback").click()
            new_run = frame.locator("#rollback-run")
            expect(new_run).to_be_visible()
            rollback_id = new_run.inner_text()
            rollback = airflow.api("GET", airflow.run_path(rollback_id, "tenant_rollback"))
            assert rollback["conf"] == {"spec": SPEC, "backfill_run_id": run_id, "dry_run": True}
            assert rollback["triggering_user_name"] == "admin"
            assert airflow.api("GET", "/api/v2/dags/tenant_rollback")["is_paused"] is False
            # its link opens the run in the UI around the page (the frame moves the UI's router)
            new_run.click(no_wait_after=True)
            page.wait_for_url(f"{airflow.base}/dags/tenant_rollback/runs/{quote(rollback_id, safe='')}")
            expect(page.get_by_text(rollback_id).first).to_be_visible()

            # the extra links of the backfill's tasks, in the task instance's details; the report opens from there
            page.goto(
                f"{airflow.base}/dags/{DAG_ID}/runs/{quote(run_id, safe='')}/tasks/repair.post_validation/mapped/0"
            )
            page.get_by_role("link", name="Details", exact=True).click()  # the task instance's tab
            expect(page.get_by_text("Extra Links")).to_be_visible()
            screenshot(page, "13_extra_links.png")
            page.get_by_role("link", name="Run report").click()  # same origin: the UI opens it in this tab
            page.wait_for_url(f"{run_page}/report")
            expect(page.get_by_role("heading", name=f"tenant_backfill: spec {SPEC}, table customers")).to_be_visible()
            context.close()
        finally:
            browser.close()
    timings["browser"] = time.monotonic() - started
    # what the page read is what the database holds
    audited = query(
        database, "select count(distinct row_id) as n from tenant_audit_log where run_id = %(r)s", {"r": run_id}
    )
    assert audited == [{"n": ROWS_CHANGED}]
    assert json.loads(query(database, "select summary from tenant_runs")[0]["summary"])["run_id"] == run_id
