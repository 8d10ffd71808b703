"""Real Airflow 3 (scripts/airflow_local.sh) driven through its UI by a real browser (Debian Chromium + Playwright).

One Airflow for the module, in a temporary AIRFLOW_HOME on a free port, on a fresh demo database:
1. log in, open tenant_backfill, open Trigger: the form shows spec, dry_run and batch_size with their titles and
   descriptions; turn dry_run off, trigger, the run succeeds, post_validation's log shows the summary; exact numbers
   in the database afterwards;
2. the same database reloaded, with the application moving a customer's appointments to another company the moment
   the run writes that customer: the run fails at the post_validation gate and its log in the UI names
   relation_mismatch:appointments.

Screenshots go to docs/screenshots/ (palette PNGs, committed). Needs /usr/bin/chromium (scripts/setup.sh installs
Debian's chromium); never downloads a browser.
"""

from __future__ import annotations

import re
import time
from urllib.parse import quote, unquote

import pytest

from tenant_integrity.cli import demo
from tests.helpers.airflow_server import (
    DAG_ID,
    UI_TIMEOUT,
    VERDICT,
    Airflow,
    log_in,
    screenshot,
)
from tests.helpers.app_triggers import move_children_when_the_run_writes
from tests.helpers.dbcheck import active_distribution, query

pytestmark = pytest.mark.e2e

POST_VALIDATION = "repair.post_validation"  # in the mapped task group, one map index per spec
# data set 'all' after a real run with the default spec (tests/repair/test_edge_cases.py has the derivation)
EXPECTED_ACTIVE = {None: 7, 1: 52, 15: 4, 83: 1, 84: 3, 85: 2}
EXPECTED_AUDIT_ROWS = 37

# the trigger form must show at least these params (further ones are checked the same way)
REQUIRED_TITLES = {"spec": "Spec", "dry_run": "Dry run", "batch_size": "Batch size"}

timings: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def report_timings():
    yield
    print("\nbrowser test timings: " + ", ".join(f"{k}: {v:.1f} s" for k, v in timings.items()))


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(UI_TIMEOUT)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def open_trigger_form(page, airflow: Airflow):
    from playwright.sync_api import expect

    page.goto(f"{airflow.base}/dags/{DAG_ID}")
    page.get_by_role("button", name="Trigger Dag").first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text(f"Trigger Dag - {DAG_ID}")).to_be_visible()
    expect(dialog.locator("input[name=element_dry_run]")).to_be_attached()
    if airflow.api("GET", f"/api/v2/dags/{DAG_ID}")["is_paused"]:  # paused at creation: unpaused on trigger
        expect(dialog.locator("label", has_text=f"Unpause {DAG_ID} on trigger").locator("input")).to_be_checked()
    return dialog


def turn_dry_run_off(dialog) -> None:
    from playwright.sync_api import expect

    dry_run = dialog.locator("input[name=element_dry_run]")
    expect(dry_run).to_be_checked()  # the safe default
    dialog.locator('[id="switch:element_dry_run"]').click()
    expect(dry_run).not_to_be_checked()


def submit(page, dialog) -> str:
    """Trigger; return the run id of the run page the UI opens."""
    dialog.get_by_role("button", name="Trigger", exact=True).click()
    page.wait_for_url(re.compile(rf".*/dags/{DAG_ID}/runs/[^/]+$"))
    return unquote(page.url.rsplit("/runs/", 1)[1])


def open_task_log(page, airflow: Airflow, run_id: str, task_id: str, map_index: int = 0) -> None:
    """A task of the mapped group `repair`: one map index per spec (a single-spec run has index 0)."""
    page.goto(f"{airflow.base}/dags/{DAG_ID}/runs/{quote(run_id, safe='')}/tasks/{task_id}/mapped/{map_index}")


def test_trigger_form_real_run_and_summary_in_the_ui(airflow, database, page):
    from playwright.sync_api import expect

    started = time.monotonic()
    log_in(page, airflow)
    dialog = open_trigger_form(page, airflow)

    # the form is built from the DAG's Params: every title and description as the API serves them
    params = airflow.api("GET", f"/api/v2/dags/{DAG_ID}/details")["params"]
    titles = {name: p["schema"]["title"] for name, p in params.items()}
    assert {name: titles.get(name) for name in REQUIRED_TITLES} == REQUIRED_TITLES
    for name, param in params.items():
        field = dialog.get_by_role("group").filter(has=page.locator(f"[name=element_{name}]"))
        expect(field.locator("label").first).to_contain_text(param["schema"]["title"])
        expect(field).to_contain_text(param["description"])
    expect(dialog.locator("input[name=element_spec]")).to_have_value("customers_company")
    expect(dialog.locator("input[name=element_batch_size]")).to_have_value("1000")

    turn_dry_run_off(dialog)
    page.set_viewport_size({"width": 1280, "height": 1400})  # the whole form in one picture
    screenshot(dialog, "01_trigger_form.png")
    page.set_viewport_size({"width": 1280, "height": 900})
    dialog.get_by_role("button", name="Advanced Options").click()
    expect(dialog).to_contain_text('"dry_run": false')  # the run conf the form will send
    run_id = submit(page, dialog)

    run = airflow.wait_for_run(run_id)
    timings["real run (trigger to success)"] = time.monotonic() - started
    states = airflow.task_states(run_id)
    assert run["state"] == "success", states
    assert {k: run["conf"].get(k) for k in REQUIRED_TITLES} == {
        "spec": "customers_company",
        "dry_run": False,
        "batch_size": 1000,
    }
    assert states.pop(VERDICT) == "skipped", states  # no spec failed
    assert set(states.values()) == {"success"}, states

    page.reload()
    expect(page.get_by_text(run_id).first).to_be_visible()
    expect(page.get_by_text("post_validation").first).to_be_visible()
    screenshot(page, "02_run_succeeded.png")

    open_task_log(page, airflow, run_id, POST_VALIDATION)
    expect(page.get_by_text("Success", exact=True).first).to_be_visible()
    expect(page.get_by_text("tenant_backfill summary").first).to_be_visible()
    expect(page.get_by_text("gate relation_mismatch:appointments: ok").first).to_be_visible()
    screenshot(page, "03_post_validation_summary.png")
    assert "tenant_backfill summary: spec customers_company" in airflow.task_log(run_id, POST_VALIDATION)

    assert active_distribution(database) == EXPECTED_ACTIVE
    assert query(database, "select count(*) as n from tenant_audit_log")[0]["n"] == EXPECTED_AUDIT_ROWS
    recorded = query(database, "select run_id, status from tenant_runs")
    assert recorded == [{"run_id": run_id, "status": "succeeded"}]


def test_failed_gate_fails_the_run_and_the_ui_shows_why(airflow, database, page):
    from playwright.sync_api import expect

    airflow.end_runs_left_behind()
    demo.recreate_database(database, "seed_incident")
    move_children_when_the_run_writes(database, customer_id=30, company=85)  # the app, during the run

    started = time.monotonic()
    log_in(page, airflow)
    dialog = open_trigger_form(page, airflow)
    turn_dry_run_off(dialog)
    run_id = submit(page, dialog)
    run = airflow.wait_for_run(run_id)
    timings["failing run (trigger to failed)"] = time.monotonic() - started
    states = airflow.task_states(run_id)
    assert run["state"] == "failed", states
    assert states[POST_VALIDATION] == "failed", states
    assert states.pop(VERDICT) == "failed", states  # the watcher leaf fails the run
    assert {s for t, s in states.items() if t != POST_VALIDATION} == {"success"}, states

    open_task_log(page, airflow, run_id, POST_VALIDATION)
    expect(page.get_by_text("Failed", exact=True).first).to_be_visible()
    expect(page.get_by_text("relation_mismatch:appointments").first).to_be_visible()
    screenshot(page, "04_failed_gate.png")
    log = airflow.task_log(run_id, POST_VALIDATION)
    assert "relation_mismatch:appointments on customers: observed 1 (sample ids: 30)" in log
    assert query(database, "select status from tenant_runs") == [{"status": "failed_post_validation"}]
