"""A fresh Airflow runs every DAG end to end, with no project script (issue 25).

One bare `airflow standalone` (the .venv's) in a temporary AIRFLOW_HOME, configured only by environment variables
(the project's folders, the connection tenant_db, a port, the simple auth manager's user): no
scripts/airflow_local.sh, no `airflow pools set`, no `airflow dags unpause`. Through the REST API, as a user would:
unpause tenant_backfill (the only step README asks for), trigger a real run of every spec and wait for `success`;
then roll back one spec from the operator page, which offers to unpause the paused tenant_rollback; and last, with
the writer pool deleted, a real run fails at once, naming the command that creates the pool.

Numbers: the demo data set 'all' (tests/e2e/test_multi_spec_runs.py has the same run under `airflow dags test`).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
import urllib.error
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tenant_integrity import demo, settings
from tests.conftest import PROJECT, drop, new_target, url_of
from tests.helpers.airflow_server import Airflow, free_port
from tests.helpers.dbcheck import query

pytestmark = pytest.mark.e2e
AIRFLOW = str(PROJECT / ".venv" / "bin" / "airflow")
POOL = settings.writer_pool(settings.TENANT_CONN_ID)
READY_TIMEOUT = 300  # seconds until the REST API answers and both DAGs are parsed (2 slow cores)
FAIL_FAST_TIMEOUT = 60  # seconds for a run without its writer pool to fail (one scheduler loop or two)
# the rows the run of every spec leaves for a person (customers: tests/integration/test_operator_page.py); they,
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

    def __init__(self, home: Path, review: Path, db_url: str):
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
            if {"tenant_backfill", "tenant_rollback"} <= dags:
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
def fresh(tmp_path_factory):
    target = new_target()
    demo.recreate_database(target, "all")
    home = tmp_path_factory.mktemp("fresh_airflow")
    airflow = BareStandalone(home, home / "review", url_of(target))
    airflow.start()
    try:
        airflow.wait_until_ready()
        yield airflow, target
    finally:
        airflow.stop()
        drop(target)


def null_counts(target) -> dict[str, int]:
    return {
        table: query(target, f"select count(*) as n from {table} where company_id is null")[0]["n"]
        for table in ("customers", "appointments", "calls")
    }


def test_a_fresh_airflow_runs_the_backfill_and_the_page_rollback(fresh):
    airflow, target = fresh
    # the plugin created the writer pool when the components loaded it (nobody ran `airflow pools set`)
    pool = airflow.api("GET", f"/api/v2/pools/{POOL}")
    assert (pool["slots"], pool["description"]) == (2, "tenant_integrity writers on connection tenant_db")
    # every DAG is paused at creation: the one step README asks for is unpausing tenant_backfill
    assert airflow.api("GET", "/api/v2/dags/tenant_backfill")["is_paused"] is True
    assert airflow.api("PATCH", "/api/v2/dags/tenant_backfill", {"is_paused": False})["is_paused"] is False
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
