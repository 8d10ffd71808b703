"""The operator's controls in the real Airflow UI (scripts/airflow_local.sh), clicked in Debian's Chromium.

One Airflow for the module on one target database (connection tenant_db), reloaded before each test:

1. Pause / Resume: a generated database (CUSTOMERS customers) and a real run (`workers` 1, `chunk_seconds`
   0.05) on a server made slow on purpose: a trigger sleeps WRITE_DELAY_S in every update of a customer, so
   the backfill lasts about a minute whatever the disk does (without it, the backfill of this size took
   anything from 2.6 s to 66 s on this 2-core machine even at chunk_seconds 0.01, as the commits' fsync time
   varied). The Tenant integrity page shows the run's rows written growing between two page loads; Pause on
   the run's page holds the writers: the audit log does not grow for HELD_S seconds while the backfill task
   is running; Resume lets the run finish with the exact numbers of an uninterrupted run of the same data.
2. Cancel: the same data reloaded, a new run; Cancel on the run's page fails the backfill task after its
   chunk with "cancelled … clear the task to resume"; clearing the task through the REST API resumes it after
   its checkpoint, and the run ends with the same exact numbers (one audit row per change, no duplicates).
3. Approval: the seed incident with param `approval`; the waiting request shows the plan under Required
   Actions; Approve, clicked there, lets the run write its 31 changes.

The exact numbers of the generated data set are those of an uninterrupted run outside Airflow
(phases.run_all, with and without the slow trigger: the same): the generator is deterministic (CRC32 of the ids).

Screenshots (TENANT_UPDATE_SCREENSHOTS=1, like the other browser tests): docs/screenshots/14_paused_run.png (the
run's page with the open pause), 15_cancelled_task.png (the backfill task's log in the UI with the cancel),
16_approval_request.png (the plan waiting for approval under Required Actions).
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
from collections.abc import Callable
from urllib.parse import quote

import pytest

from tenant_integrity.cli import demo
from tests.helpers.airflow_server import DAG_ID, UI_TIMEOUT, VERDICT, Airflow, log_in, screenshot
from tests.helpers.dbcheck import query

pytestmark = pytest.mark.e2e

SPEC = "customers_company"
BACKFILL = "repair.backfill"
APPROVE = "repair.approve_plan"
CUSTOMERS = 20_000  # of 1000 companies: 4,730 planned changes, about a minute of backfill with WRITE_DELAY_S
WRITE_DELAY_S = 0.01  # each update of a customer row takes at least this long (the slow server's trigger)
# the first chunk small too (batch_size): every chunk stays short, the progress moves from the start
SLOW = {"spec": SPEC, "dry_run": False, "workers": 1, "chunk_seconds": 0.05, "batch_size": 10}
# an uninterrupted run of that data set: changes planned at preflight, audit rows per (action, source), and a
# fingerprint of every customer's tenant and soft-delete flag afterwards
PLANNED = 4730
AUDITED = {("backfill", "appointments"): 4175, ("backfill", "phone"): 373, ("soft_delete", "no_evidence"): 182}
FINGERPRINT_SQL = (
    "select count(*) as n,"
    " sum(crc32(concat(id, ':', coalesce(company_id, 'null'), ':', deleted_at is null))) as fingerprint"
    " from customers"
)
FINGERPRINT = {"n": CUSTOMERS, "fingerprint": 43026602002740}
HELD_S = 10  # the pause is watched this long
WAIT_S = 240  # for a state the run reaches on its own (a task running, failed, awaiting input)
WHO = "admin (Tenant integrity page)"  # requested_by of a control clicked on the page as user admin
WRITTEN = re.compile(r"written so far: (\d+) of the (\d+) changes planned")

timings: dict[str, float] = {}


@pytest.fixture(scope="module")
def airflow(airflow):
    """The shared Airflow (tests/e2e/conftest.py) with tenant_backfill unpaused: these tests trigger through the API."""
    airflow.api("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
    return airflow


@pytest.fixture(scope="module", autouse=True)
def report_timings():
    yield
    print("\noperator controls browser test timings: " + ", ".join(f"{k}: {v:.1f} s" for k, v in timings.items()))


@pytest.fixture
def page(browser, airflow):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(UI_TIMEOUT)
    page = context.new_page()
    try:
        log_in(page, airflow)
        yield page
    finally:
        context.close()


# --- helpers -------------------------------------------------------------------------------------------


def wait_until(what: str, check: Callable[[], object], timeout: float = WAIT_S, every: float = 0.5):
    """Poll until check() returns something true; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(every)
    pytest.fail(f"not after {timeout} s: {what}")


def generated(airflow, database) -> None:
    """The generated data set, freshly loaded (a dropped and recreated database: no bookkeeping tables), on a
    slow server: a trigger (of the test, not of the application) makes every update of a customer sleep."""
    started = time.monotonic()
    airflow.end_runs_left_behind()
    demo.recreate_database(database, "schema_only")
    demo.generate_dataset(database, customers=CUSTOMERS, companies=1000)
    with database.connect() as db:
        db.execute(f"create trigger slow_server before update on customers for each row do sleep({WRITE_DELAY_S})")
        db.commit()
    timings.setdefault("generate the data set", time.monotonic() - started)


def trigger(airflow: Airflow, conf: dict) -> str:
    return airflow.api("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", {"logical_date": None, "conf": conf})["dag_run_id"]


def task_instance(airflow: Airflow, run_id: str, task_id: str, map_index: int = 0) -> dict:
    """The task instance; state None until the mapped group is expanded (404 before)."""
    try:
        return airflow.api("GET", f"{airflow.run_path(run_id)}/taskInstances/{task_id}/{map_index}")
    except urllib.error.HTTPError as missing:
        if missing.code != 404:
            raise
        return {"state": None}


def audit_rows(database) -> int:
    """count(*) of the audit log; -1 while the run has not created it."""
    found = query(
        database,
        "select count(*) as n from information_schema.tables"
        " where table_schema = database() and table_name = 'tenant_audit_log'",
    )
    if not found[0]["n"]:
        return -1
    return int(query(database, "select count(*) as n from tenant_audit_log")[0]["n"])


def backfill_writing(airflow: Airflow, database, run_id: str) -> int:
    """Wait until the backfill task runs and has written; the rows written then."""

    def writing():
        written = audit_rows(database)
        return written > 0 and task_instance(airflow, run_id, BACKFILL)["state"] == "running" and written

    return wait_until(f"{BACKFILL} of {run_id} writing", writing)


def assert_exact_numbers(database, run_id: str) -> dict:
    """The numbers of an uninterrupted run: one audit row per planned change, none twice; the run's summary."""
    by_kind = query(database, "select action, source, count(*) as n from tenant_audit_log group by action, source")
    assert {(r["action"], r["source"]): int(r["n"]) for r in by_kind} == AUDITED
    assert sum(AUDITED.values()) == PLANNED
    once = query(
        database,
        "select count(*) as n, count(distinct row_id, column_name) as distinct_rows, count(distinct run_id) as runs"
        " from tenant_audit_log",
    )[0]
    assert (once["n"], once["distinct_rows"], once["runs"]) == (PLANNED, PLANNED, 1)
    assert query(database, FINGERPRINT_SQL) == [FINGERPRINT]
    row = query(database, "select run_id, status, planned_changes, summary from tenant_runs")
    assert [(r["run_id"], r["status"], r["planned_changes"]) for r in row] == [(run_id, "succeeded", PLANNED)]
    summary = json.loads(row[0]["summary"])
    assert summary["planned"]["planned_changes"] == PLANNED
    assert summary["audited"] == {"backfill": 4175 + 373, "soft_delete": 182}
    assert summary["backed_up"] == PLANNED
    assert query(database, "select count(*) as n from tenant_run_controls") == [{"n": 0}]  # nothing left open
    return summary


def open_overview(page) -> object:
    """The Tenant integrity page inside the UI (its navigation entry); its frame."""
    page.get_by_role("link", name="Tenant integrity").first.click()
    page.wait_for_url(re.compile(r".*/plugin/tenant-integrity$"))
    return page.frame_locator("iframe")


def written_on_page(frame, run_id: str) -> tuple[int, int]:
    """(rows written, changes planned) in the run's live progress box on the overview."""
    from playwright.sync_api import expect

    box = frame.locator("div.box").filter(has_text=run_id).filter(has_text="written so far")
    expect(box).to_be_visible()
    found = WRITTEN.search(" ".join(box.inner_text().split()))
    assert found, box.inner_text()
    return int(found.group(1)), int(found.group(2))


def open_run_from_overview(page, run_id: str):
    """Click the live run on the overview: its page in the frame, with the controls."""
    from playwright.sync_api import expect

    frame = open_overview(page)
    frame.locator("div.box").filter(has_text=run_id).get_by_role("link", name=run_id).first.click()
    expect(frame.locator("h1")).to_contain_text(run_id)
    expect(frame.locator("#controls")).to_be_visible()
    return frame


def click_control(frame, label: str) -> None:
    frame.locator("#controls").get_by_role("button", name=label, exact=True).click()


# --- the tests -----------------------------------------------------------------------------------------


def test_pause_holds_the_writers_while_the_task_runs_and_resume_finishes_the_run(airflow, database, page):
    from playwright.sync_api import expect

    generated(airflow, database)
    started = time.monotonic()
    run_id = trigger(airflow, SLOW)
    backfill_writing(airflow, database, run_id)

    # the page shows the run's progress move: rows written grow between two page loads
    frame = open_overview(page)
    first, planned = written_on_page(frame, run_id)
    assert planned == PLANNED
    wait_until("the audit log to grow", lambda: audit_rows(database) > first)
    page.reload()
    second, _ = written_on_page(page.frame_locator("iframe"), run_id)
    assert first < second < PLANNED, (first, second)

    # Pause on the run's page: the writers hold before their next chunk, the task keeps running
    frame = open_run_from_overview(page, run_id)
    click_control(frame, "Pause")
    expect(frame.locator("#controls")).to_contain_text(f"pause requested by {WHO}")
    paused_line = f"paused (pause of spec {SPEC}, run {run_id} by {WHO} at "
    wait_until("the task log to say it paused", lambda: paused_line in airflow.task_log(run_id, BACKFILL), every=1)
    counts, states = [], []
    watch_started = time.monotonic()
    while time.monotonic() - watch_started < HELD_S:
        counts.append(audit_rows(database))
        states.append(task_instance(airflow, run_id, BACKFILL)["state"])
        time.sleep(0.5)
    counts.append(audit_rows(database))
    states.append(task_instance(airflow, run_id, BACKFILL)["state"])
    # a held pause is seen over the whole window, however slowly each sample comes on a busy machine
    assert len(counts) >= 3 and time.monotonic() - watch_started >= HELD_S, counts
    assert set(states) == {"running"}, states
    assert len(set(counts)) == 1, f"the audit log grew while paused: {counts}"
    held = counts[0]
    assert second <= held < PLANNED
    assert airflow.api("GET", airflow.run_path(run_id))["state"] == "running"
    timings["paused and watched"] = time.monotonic() - watch_started
    page.reload()  # the run's page as it is now (the frame opens the overview again)
    frame = open_run_from_overview(page, run_id)
    expect(frame.locator("#controls")).to_contain_text(f"pause requested by {WHO}")
    expect(frame.locator("#rows-changed")).to_have_text(str(held))
    screenshot(page, "14_paused_run.png")

    # Resume: the run finishes, with the numbers of an uninterrupted run
    click_control(frame, "Resume")
    expect(frame.locator("#controls")).not_to_contain_text("pause requested")
    run = airflow.wait_for_run(run_id)
    timings["pause/resume run (trigger to success)"] = time.monotonic() - started
    states = airflow.task_states(run_id)
    assert run["state"] == "success", states
    assert states.pop(VERDICT) == "skipped"  # no spec failed
    assert set(states.values()) == {"success"}
    log = airflow.task_log(run_id, BACKFILL)
    assert re.search(r"resumed after \d+ s of pause", log), log[-2000:]
    summary = assert_exact_numbers(database, run_id)
    assert [s["resumed_after"] for s in summary["phases"]["backfills"]] == [None, None]  # one attempt, never cancelled
    assert task_instance(airflow, run_id, BACKFILL)["try_number"] == 1

    # the run's page says so
    frame.locator("nav.top").get_by_role("link", name="Tenant integrity").click()
    row = frame.locator(f'#runs-table tr[data-run-id="{run_id}"]')
    expect(row).to_be_visible()
    cells = [" ".join(c.split()) for c in row.locator("td").all_inner_texts()]
    assert cells[:6] == [SPEC, run_id, DAG_ID, "succeeded", "success", str(PLANNED)]


def test_cancel_fails_the_task_and_clearing_it_resumes_from_the_checkpoint(airflow, database, page):
    from playwright.sync_api import expect

    generated(airflow, database)
    started = time.monotonic()
    run_id = trigger(airflow, SLOW)
    backfill_writing(airflow, database, run_id)

    frame = open_run_from_overview(page, run_id)
    click_control(frame, "Cancel")
    # the writer honours it before its next chunk: the task fails (no retry: a cancel is not an error to retry)
    ti = wait_until(
        f"{BACKFILL} to fail",
        lambda: (found := task_instance(airflow, run_id, BACKFILL))["state"] == "failed" and found,
    )
    assert ti["try_number"] == 1
    assert airflow.wait_for_run(run_id)["state"] == "failed"
    log = airflow.task_log(run_id, BACKFILL)
    cancelled = re.search(
        rf"cancelled \(cancel of spec {SPEC}, run {re.escape(run_id)} by {re.escape(WHO)} at [^)]*\); every committed "
        r"chunk is whole — clear the task to resume from its checkpoint",
        log,
    )
    assert cancelled, log[-3000:]
    # every committed chunk is whole: what the audit log holds is exactly what the checkpoint covers
    checkpoint = query(
        database, "select phase, last_key from tenant_checkpoints where phase like %(phase)s", {"phase": "backfill%"}
    )
    assert [c["phase"] for c in checkpoint] == ["backfill_appointments"], checkpoint  # cancelled in the first source
    last_key = int(checkpoint[0]["last_key"])
    written = query(
        database, "select count(*) as n, max(row_id) as last from tenant_audit_log where source = 'appointments'"
    )[0]
    assert 0 < written["n"] < AUDITED[("backfill", "appointments")] and written["last"] <= last_key, written
    assert audit_rows(database) == written["n"]  # nothing of the later phases
    assert query(database, "select count(*) as n from tenant_run_controls") == [{"n": 0}]  # honoured once
    timings["cancel (trigger to failed)"] = time.monotonic() - started

    # the cancelled task in the UI: failed, its log says why and what to do
    page.goto(f"{airflow.base}/dags/{DAG_ID}/runs/{quote(run_id, safe='')}/tasks/{BACKFILL}/mapped/0")
    expect(page.get_by_text("Failed", exact=True).first).to_be_visible()
    expect(page.get_by_text("clear the task to resume from its checkpoint").first).to_be_visible()
    page.locator("body").press("w")  # the log viewer's hotkey: wrap the long lines, the whole message in the picture
    screenshot(page, "15_cancelled_task.png")

    # clear it (only the failed ones: the backfill and what it held up): it resumes after its checkpoint
    cleared = airflow.api(
        "POST",
        f"/api/v2/dags/{DAG_ID}/clearTaskInstances",
        {
            "dry_run": False,
            "dag_run_id": run_id,
            "task_ids": [[BACKFILL, 0]],
            "only_failed": True,
            "include_downstream": True,
        },
    )["task_instances"]
    assert BACKFILL in {t["task_id"] for t in cleared}
    run = airflow.wait_for_run(run_id)
    timings["cancel and clear run (trigger to success)"] = time.monotonic() - started
    states = airflow.task_states(run_id)
    assert run["state"] == "success", states
    assert states.pop(VERDICT) == "skipped"  # no spec failed
    assert set(states.values()) == {"success"}
    assert task_instance(airflow, run_id, BACKFILL)["try_number"] == 2
    resumed = airflow.task_log(run_id, BACKFILL, try_number=2)
    assert f"phase backfill_appointments: resuming backfill_appointments after key {last_key}" in resumed, resumed[
        -3000:
    ]
    summary = assert_exact_numbers(database, run_id)
    assert [(s["source"], s["resumed_after"]) for s in summary["phases"]["backfills"]] == [
        ("appointments", last_key),
        ("phone", None),
    ]


def test_approval_in_required_actions(airflow, database, page):
    from playwright.sync_api import expect

    airflow.end_runs_left_behind()
    demo.recreate_database(database, "seed_incident")
    started = time.monotonic()
    run_id = trigger(airflow, {"spec": SPEC, "dry_run": False, "approval": True})
    wait_until(
        f"{APPROVE} to wait for input", lambda: task_instance(airflow, run_id, APPROVE)["state"] == "awaiting_input"
    )
    # Airflow 3.3 race (clean-clone run 4 of 2026-12-08): an answer that lands before the process that parked the
    # task has ended makes the scheduler take that process's late "success" for an outside change; it retries the
    # task, which asks again, and the run waits for a second answer. A person answers seconds later; the test waits
    # until the scheduler has heard that the parking process ended.
    parked = (
        f"Received executor event with state success for task instance TaskInstanceKey(dag_id='{DAG_ID}', "
        f"task_id='{APPROVE}', run_id='{run_id}', try_number=1"
    )
    wait_until("the scheduler to hear that the process which parked the task ended", lambda: parked in airflow.output())
    assert audit_rows(database) in (-1, 0)  # nothing written before the answer

    # Required Actions lists the request; it opens the task's page with the plan and Approve / Reject
    page.goto(f"{airflow.base}/required_actions")
    subject = f"tenant_backfill: approve 31 change(s) to customers (spec {SPEC}, run {run_id})"
    page.get_by_role("link").filter(has_text=subject).first.click()
    page.wait_for_url(re.compile(r".*/tasks/repair\.approve_plan/mapped/0/required_actions$"))
    expect(page.get_by_text(subject).first).to_be_visible()
    expect(page.get_by_text("planned changes:").first).to_contain_text("planned changes: 31")
    expect(page.get_by_text("Reject writes nothing.")).to_be_visible()
    approve = page.get_by_role("button", name="Approve", exact=True)
    expect(approve).to_be_enabled()
    screenshot(page, "16_approval_request.png")
    approve.click()
    expect(page.get_by_text("Response received at").first).to_contain_text("from admin")

    run = airflow.wait_for_run(run_id)
    timings["approval run (trigger to success)"] = time.monotonic() - started
    assert run["state"] == "success", airflow.task_states(run_id)
    answer = airflow.api("GET", f"{airflow.run_path(run_id)}/taskInstances/{APPROVE}/0/hitlDetails")
    assert (answer["chosen_options"], answer["responded_by_user"]["name"]) == (["Approve"], "admin")
    assert "plan approved by admin: the run goes on" in airflow.task_log(run_id, APPROVE)
    assert audit_rows(database) == 31
    assert query(database, "select run_id, status from tenant_runs") == [{"run_id": run_id, "status": "succeeded"}]
