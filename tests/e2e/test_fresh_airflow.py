"""A fresh Airflow runs every DAG end to end, with no project script (issue 25).

One bare `airflow standalone` (the .venv's) in a temporary AIRFLOW_HOME, configured only by environment variables
(the project's folders, the connection tenant_db, a port, the simple auth manager's user): no
scripts/airflow_local.sh, no `airflow pools set`, no `airflow dags unpause`. Through the REST API, as a user would:
unpause tenant_backfill (the only step README asks for), trigger a real run of every spec and wait for `success`;
then roll back one spec from the operator page, which offers to unpause the paused tenant_rollback; and last, with
the writer pool deleted, a real run fails at once, naming the command that creates the pool.

Assets and deadlines (issue 25 item 7), under the same scheduler, with a real SMTP server (aiosmtpd) as
smtp_default: tenant_validation_daily, unpaused as README says, runs once after the backfill because its last task
(announce_repaired_tables) updated the asset of each repaired table; and a validation stuck on a metadata lock (the test holds `lock tables
customers write`) is ended by its run timeout (TENANT_DAG_TIMEOUTS, shorter than db.METADATA_LOCK_WAIT_S), which fails
the run and mails on-call once, saying it timed out.

Numbers: the demo data set 'all' (tests/e2e/test_multi_spec_runs.py has the same run under `airflow dags test`).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
import urllib.error
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
import MySQLdb
import pytest

from tenant_integrity.cli import demo
from tenant_integrity.core import settings
from tenant_integrity.store.db import METADATA_LOCK_WAIT_S
from tests.conftest import PROJECT, drop, new_target, url_of
from tests.helpers.airflow_server import Airflow, free_port
from tests.helpers.dbcheck import query
from tests.helpers.mail import mail_env, smtp_server

pytestmark = pytest.mark.e2e
AIRFLOW = str(PROJECT / ".venv" / "bin" / "airflow")
POOL = settings.writer_pool(settings.TENANT_CONN_ID)
READY_TIMEOUT = 300  # seconds until the REST API answers and both DAGs are parsed (2 slow cores)
FAIL_FAST_TIMEOUT = 60  # seconds for a run without its writer pool to fail (one scheduler loop or two)
VALIDATION = "tenant_validation_daily"
# the daily validation's run timeout in this Airflow: longer than a whole validation run here (about 20 s), shorter
# than the metadata-lock wait of our sessions, so a run stuck on a lock ends by the timeout, not by error 1205
RUN_TIMEOUT_S = 45
assert RUN_TIMEOUT_S + 10 < METADATA_LOCK_WAIT_S
ASSET_RUNS_TIMEOUT = 240  # seconds for the asset-triggered validation runs to be created and to finish
MAIL_TIMEOUT = 60  # seconds for the dag-processor to run a failure callback and the mail to arrive
# the rows the run of every spec leaves for a person (customers: tests/ui/test_operator_page.py); they,
# and the soft-deleted rows, keep their NULL
REVIEW_LEFT = {
    ("customers_company", "conflict"): 3,
    ("customers_company", "no_tenant_evidence"): 2,
    ("customers_company", "unknown_tenant"): 2,
    ("appointments_company", "no_tenant_evidence"): 2,
    ("calls_company", "no_tenant_evidence"): 1,
    ("calls_company", "unknown_tenant"): 1,
}


class BareStandalone(Airflow):
    """`airflow standalone` itself, configured by the environment alone (tests.helpers.airflow_server.Airflow runs
    the project's script instead; the REST API helpers, the run waits and the teardown are the same)."""

    def __init__(self, home: Path, review: Path, db_url: str, smtp_port: int):
        super().__init__(home, review, db_url)
        self.log_path = home / "standalone.log"
        self.password = secrets.token_urlsafe(12)
        self.viewer_password = secrets.token_urlsafe(12)
        passwords = home / "passwords.json"
        passwords.write_text(json.dumps({"admin": self.password, "viewer": self.viewer_password}), encoding="utf-8")
        self.env = {
            "PATH": f"{PROJECT / '.venv' / 'bin'}:{os.environ['PATH']}",  # standalone starts `airflow <component>`
            "HOME": os.environ.get("HOME", str(home)),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",  # the components' lines reach the log file as they happen
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.base,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,viewer:viewer",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW_CONN_TENANT_DB": db_url,
            "TENANT_REVIEW_DIR": str(review),
            "TENANT_DATA_DOCS_DIR": str(home / "data_docs"),
            # smtp_default and the Variable on_call_email; the daily validation's deadlines (task / run, seconds)
            **mail_env(smtp_port, TENANT_DAG_TIMEOUTS=f"{VALIDATION}=3600/{RUN_TIMEOUT_S}"),
        }

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [AIRFLOW, "standalone"],
                env=self.env,
                cwd=self.home,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: the teardown ends every component at once
            )

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"airflow standalone exited with {self.process.returncode}:\n{self.output()[-4000:]}")
            try:
                dags = {d["dag_id"] for d in self.api("GET", "/api/v2/dags?limit=100")["dags"]}
            except (OSError, urllib.error.URLError, KeyError):
                self._token, dags = None, set()
            if {"tenant_backfill", "tenant_rollback", VALIDATION} <= dags:
                return
            time.sleep(2)
        pytest.fail(f"Airflow not ready after {READY_TIMEOUT} s:\n{self.output()[-4000:]}")

    def trigger(self, dag_id: str, conf: dict) -> str:
        body = {"logical_date": None, "conf": conf}
        return self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", body)["dag_run_id"]

    def page(self, method: str, path: str, token: str | None = None, **kwargs) -> httpx.Response:
        """The operator page as the signed-in admin (the bearer token the UI's session cookie carries)."""
        headers = {"Authorization": f"Bearer {token or self.token()}"}
        return httpx.request(method, f"{self.base}/tenant-integrity{path}", headers=headers, timeout=60, **kwargs)

    def viewer_token(self) -> str:
        body = {"username": "viewer", "password": self.viewer_password}
        return self.api("POST", "/auth/token", body, False)["access_token"]


@pytest.fixture(scope="module")
def served_mail():
    """(inbox, port) of one SMTP server for the module's Airflow."""
    with smtp_server() as served:
        yield served


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, served_mail):
    target = new_target()
    demo.recreate_database(target, "all")
    home = tmp_path_factory.mktemp("fresh_airflow")
    airflow = BareStandalone(home, home / "review", url_of(target), served_mail[1])
    airflow.start()
    try:
        airflow.wait_until_ready()
        yield airflow, target
    finally:
        airflow.stop()
        drop(target)


def validation_runs(airflow: BareStandalone, run_type: str) -> list[dict]:
    runs = airflow.api("GET", f"/api/v2/dags/{VALIDATION}/dagRuns?limit=100&order_by=id")["dag_runs"]
    return [r for r in runs if r["run_type"] == run_type]


def consumed_events(airflow: BareStandalone, run: dict) -> list[dict]:
    path = airflow.run_path(run["dag_run_id"], VALIDATION) + "/upstreamAssetEvents"
    return airflow.api("GET", path)["asset_events"]


def wait_for_asset_runs(airflow: BareStandalone, events: int) -> list[dict]:
    """The asset-triggered validation runs, once they have consumed `events` asset events and all ended."""
    deadline = time.monotonic() + ASSET_RUNS_TIMEOUT
    while True:
        runs = validation_runs(airflow, "asset_triggered")
        consumed = sum(len(consumed_events(airflow, r)) for r in runs)
        if consumed >= events and all(r["state"] in ("success", "failed") for r in runs):
            return runs
        assert time.monotonic() < deadline, (
            f"after {ASSET_RUNS_TIMEOUT} s: {consumed} of {events} asset events consumed by "
            f"{[(r['dag_run_id'], r['state']) for r in runs]}"
        )
        time.sleep(2)


def mails_about(inbox, run_id: str) -> list:
    """The messages that name one run (its id is in every mail's run link)."""
    return [m for m in inbox.messages if quote(run_id) in m.get_body(("html", "plain")).get_content()]


def null_counts(target) -> dict[str, int]:
    return {
        table: query(target, f"select count(*) as n from {table} where company_id is null")[0]["n"]
        for table in ("customers", "appointments", "calls")
    }


def test_a_fresh_airflow_runs_the_backfill_and_the_page_rollback(fresh, served_mail):
    airflow, target = fresh
    inbox = served_mail[0]
    # the plugin created the writer pool when the components loaded it (nobody ran `airflow pools set`)
    pool = airflow.api("GET", f"/api/v2/pools/{POOL}")
    assert (pool["slots"], pool["description"]) == (2, "tenant_integrity writers on connection tenant_db")
    # every DAG is paused at creation: the one step README asks for is unpausing tenant_backfill
    assert airflow.api("GET", "/api/v2/dags/tenant_backfill")["is_paused"] is True
    assert airflow.api("PATCH", "/api/v2/dags/tenant_backfill", {"is_paused": False})["is_paused"] is False
    # and tenant_validation_daily, which then validates every repair (and runs at 04:00)
    berlin = datetime.now(ZoneInfo("Europe/Berlin"))
    last_0400 = berlin.replace(hour=4, minute=0, second=0, microsecond=0) - timedelta(days=int(berlin.hour < 4))
    assert airflow.api("PATCH", f"/api/v2/dags/{VALIDATION}", {"is_paused": False})["is_paused"] is False
    before = null_counts(target)
    assert before == {"customers": 45, "appointments": 3, "calls": 20}

    run_id = airflow.trigger("tenant_backfill", {"dry_run": False, "specs": ["all"]})
    run = airflow.wait_for_run(run_id)
    assert run["state"] == "success", airflow.task_states(run_id)
    rows = query(target, "select spec, status, summary from tenant_runs where run_id = %s", (run_id,))
    assert {
        r["spec"]: (r["status"], json.loads(r["summary"])["audited"], json.loads(r["summary"])["backed_up"])
        for r in rows
    } == {
        "customers_company": ("succeeded", {"backfill": 34, "soft_delete": 3}, 37),
        "appointments_company": ("succeeded", {"backfill": 1}, 1),
        "calls_company": ("succeeded", {"backfill": 18}, 18),
    }
    # NULL now: what the run left for a person, and the soft-deleted orphans (still NULL, no longer active)
    assert null_counts(target) == {"customers": 45 - 34, "appointments": 3 - 1, "calls": 20 - 18}
    open_rows = query(
        target,
        "select spec, reason, count(*) as n from tenant_review_queue where status = 'open' group by spec, reason",
    )
    assert {(r["spec"], r["reason"]): r["n"] for r in open_rows} == REVIEW_LEFT

    # the page's rollback of calls_company: tenant_rollback is paused, and the form says so
    run_path = f"/runs/calls_company/{quote(run_id, safe='')}"
    form = airflow.page("GET", run_path)
    assert form.status_code == 200
    assert "tenant_rollback is paused" in form.text and 'name="unpause" value="true"' in form.text
    # a viewer reads that it is paused, may not unpause it (nor trigger anything)
    viewer = airflow.viewer_token()
    seen = airflow.page("GET", run_path, token=viewer).text
    assert "You may not unpause it" in seen and 'name="unpause"' not in seen
    assert airflow.page("POST", f"{run_path}/rollback", token=viewer, data={"dry_run": "false"}).status_code == 403
    # without the user's consent nothing is triggered: the page says why
    refused = airflow.page("POST", f"{run_path}/rollback", data={"dry_run": "false"})
    assert refused.status_code == 409
    assert "tenant_rollback is paused in this Airflow" in refused.text
    assert airflow.api("GET", "/api/v2/dags/tenant_rollback/dagRuns")["total_entries"] == 0
    # with it, the page unpauses tenant_rollback (as the user, through the REST API) and triggers the restore
    posted = airflow.page("POST", f"{run_path}/rollback", data={"dry_run": "false", "unpause": "true"})
    assert posted.status_code == 303, posted.text[-2000:]
    rollback_id = posted.headers["location"].rsplit("/rollbacks/", 1)[1]
    rollback_id = httpx.URL(f"http://x/{rollback_id}").path[1:]  # unquoted
    assert airflow.api("GET", "/api/v2/dags/tenant_rollback")["is_paused"] is False
    rollback = airflow.wait_for_run(rollback_id, "tenant_rollback")
    assert rollback["state"] == "success", airflow.task_states(rollback_id, "tenant_rollback")
    assert rollback["conf"] == {"spec": "calls_company", "backfill_run_id": run_id, "dry_run": False}
    assert rollback["triggering_user_name"] == "admin"
    # the 18 calls the run wrote are NULL again; the other specs' repairs stay
    assert null_counts(target) == {"customers": 11, "appointments": 2, "calls": 20}
    assert query(target, "select count(*) as n from tenant_audit_log where action = 'rollback'")[0]["n"] == 18

    # second line of defence: the pool deleted under a running Airflow, a real run fails at once and says how
    airflow.api("DELETE", f"/api/v2/pools/{POOL}")
    doomed = airflow.trigger("tenant_backfill", {"dry_run": False, "spec": "calls_company"})
    deadline = time.monotonic() + FAIL_FAST_TIMEOUT
    while (state := airflow.api("GET", airflow.run_path(doomed))["state"]) not in ("success", "failed"):
        assert time.monotonic() < deadline, f"run {doomed} still {state} after {FAIL_FAST_TIMEOUT} s"
        time.sleep(1)
    failed = airflow.api("GET", airflow.run_path(doomed))
    assert failed["state"] == "failed"
    assert f'airflow pools set {POOL} 2 "tenant_integrity writers on connection tenant_db"' in failed["note"]
    assert set(airflow.task_states(doomed).values()) == {None}  # no task ran, nothing written
    assert null_counts(target) == {"customers": 11, "appointments": 2, "calls": 20}

    # once every spec had ended, the backfill updated the asset of each repaired table in one task: one
    # tenant_validation_daily run validated the whole repair (not a half-written graph after each spec)
    runs = wait_for_asset_runs(airflow, 3)
    assert len(runs) == 1, runs
    events = [e for r in runs for e in consumed_events(airflow, r)]
    host = f"{target.host}:{target.port}/{target.database}"
    assert sorted(
        (e["name"], e["uri"], e["source_dag_id"], e["source_task_id"], e["source_run_id"], e["extra"]["run_id"])
        for e in events
    ) == [
        (
            f"tenant_integrity/tenant_db/{t}",
            f"mysql://{host}/{t}",
            "tenant_backfill",
            "announce_repaired_tables",
            run_id,
            run_id,
        )
        for t in ("appointments", "calls", "customers")
    ]
    for r in runs:
        # the validation ran to its verdict (it fails: the NULL rows left for review are active NULL tenants)
        assert airflow.task_states(r["dag_run_id"], VALIDATION) == {
            "check_alerting": "success",
            "validate": "success",
            "alert_on_call": r["state"],
        }, r
        # its alert task told on-call (or knew it had): the failure callback sent no second mail
        callback = f"[tenant_integrity] {VALIDATION} FAILED"
        assert [m["Subject"] for m in mails_about(inbox, r["dag_run_id"]) if m["Subject"].startswith(callback)] == []
    assert [r["state"] for r in runs] == ["failed"] * len(runs)
    assert len(mails_about(inbox, runs[0]["dag_run_id"])) == 1  # the first one paged
    # besides them, one run: catchup=False runs the latest 04:00 (Europe/Berlin) missed when it was unpaused
    others = [
        (r["run_type"], r["logical_date"])
        for r in airflow.api("GET", f"/api/v2/dags/{VALIDATION}/dagRuns?limit=100")["dag_runs"]
        if r["run_type"] != "asset_triggered"
    ]
    assert others == [("scheduled", last_0400.astimezone(UTC).isoformat().replace("+00:00", "Z"))]


def sessions_waiting_for_a_metadata_lock(target) -> int:
    rows = query(
        target,
        "select count(*) as n from information_schema.processlist "
        "where db = %s and state = 'Waiting for table metadata lock'",
        (target.database,),
    )
    return rows[0]["n"]


def test_a_validation_stuck_on_a_metadata_lock_times_out_and_mails_on_call_once(fresh, served_mail):
    """Issue 25: "a 04:00 validation stuck on a metadata lock pages nobody". Its run timeout ends it now."""
    airflow, target = fresh
    inbox = served_mail[0]
    assert airflow.api("PATCH", f"/api/v2/dags/{VALIDATION}", {"is_paused": False})["is_paused"] is False
    # one run at a time (max_active_runs): no run of the test before is still going
    deadline = time.monotonic() + ASSET_RUNS_TIMEOUT
    runs = f"/api/v2/dags/{VALIDATION}/dagRuns?limit=100"
    while any(r["state"] not in ("success", "failed") for r in airflow.api("GET", runs)["dag_runs"]):
        assert time.monotonic() < deadline, airflow.api("GET", runs)["dag_runs"]
        time.sleep(2)
    before = len(inbox.messages)

    # a session holds customers under LOCK TABLES (a migration, a dump): every read of the table waits for it
    locker = MySQLdb.connect(
        host=target.host, port=target.port, user=target.user, passwd=target.password, db=target.database
    )
    try:
        locker.cursor().execute("lock tables customers write")
        stuck = airflow.trigger(VALIDATION, {"spec": "customers_company"})
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while sessions_waiting_for_a_metadata_lock(target) == 0:  # validate reads customers and waits
            assert time.monotonic() < deadline, airflow.task_states(stuck, VALIDATION)
            time.sleep(1)
        deadline = time.monotonic() + RUN_TIMEOUT_S + 30
        while (run := airflow.api("GET", airflow.run_path(stuck, VALIDATION)))["state"] not in ("success", "failed"):
            assert time.monotonic() < deadline, (
                f"run {stuck} still {run['state']}: {airflow.task_states(stuck, VALIDATION)}"
            )
            time.sleep(1)
        still_waiting = sessions_waiting_for_a_metadata_lock(target)
    finally:
        locker.close()
    # the scheduler ended it at its run timeout, while validate still waited (not by the session's own lock wait)
    assert run["state"] == "failed"
    assert still_waiting == 1
    took = datetime.fromisoformat(run["end_date"]) - datetime.fromisoformat(run["start_date"])
    assert RUN_TIMEOUT_S <= took.total_seconds() < METADATA_LOCK_WAIT_S, took
    assert airflow.task_states(stuck, VALIDATION) == {
        "check_alerting": "success",
        "validate": "skipped",
        "alert_on_call": "skipped",
    }

    # alert_on_call never ran: the run's failure callback mails on-call, once, saying the run timed out
    deadline = time.monotonic() + MAIL_TIMEOUT
    while not mails_about(inbox, stuck):
        assert time.monotonic() < deadline, f"no mail about {stuck} after {MAIL_TIMEOUT} s"
        time.sleep(1)
    deadline = time.monotonic() + MAIL_TIMEOUT
    while (
        sessions_waiting_for_a_metadata_lock(target) or airflow.task_states(stuck, VALIDATION)["validate"] != "skipped"
    ):
        assert time.monotonic() < deadline
        time.sleep(1)
    [mail] = mails_about(inbox, stuck)
    assert len(inbox.messages) == before + 1
    assert (mail["To"], mail["Subject"]) == (
        "oncall@example.org",
        f"[tenant_integrity] {VALIDATION} FAILED - customers_company: run timed out after {RUN_TIMEOUT_S} s",
    )
    body = mail.get_body(("html",)).get_content()
    assert (
        f"<p>The run <b>timed out</b>: it ran longer than its run timeout of {RUN_TIMEOUT_S} s (dagrun_timeout, "
        "TENANT_DAG_TIMEOUTS) and Airflow ended it while <b>validate</b> had not finished;" in body
    )
