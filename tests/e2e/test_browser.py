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

import contextlib
import io
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote, unquote

import pytest

from tenant_integrity import demo
from tests.conftest import PROJECT, drop, new_target, url_of
from tests.helpers.app_triggers import move_children_when_the_run_writes
from tests.helpers.dbcheck import active_distribution, query

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
    "--headless",
]
# the committed screenshots are refreshed only on request (TENANT_UPDATE_SCREENSHOTS=1); a plain test run keeps
# the tree clean and writes them under the build folder instead
SCREENSHOTS = (
    PROJECT / "docs" / "screenshots"
    if os.environ.get("TENANT_UPDATE_SCREENSHOTS") == "1"
    else PROJECT / ".airflow" / "screenshots"
)
DAG_ID = "tenant_backfill"
POST_VALIDATION = "repair.post_validation"  # in the mapped task group, one map index per spec
STARTUP_TIMEOUT = 300  # seconds until the API answers and the DAG is parsed (2 slow cores)
RUN_TIMEOUT = 420  # seconds for one tenant_backfill run (about 30 s when idle)
UI_TIMEOUT = 60_000  # milliseconds for one UI expectation
# data set 'all' after a real run with the default spec (tests/integration/test_edge_cases.py has the derivation)
EXPECTED_ACTIVE = {None: 7, 1: 52, 15: 4, 83: 1, 84: 3, 85: 2}
EXPECTED_AUDIT_ROWS = 37

# the trigger form must show at least these params (further ones are checked the same way)
REQUIRED_TITLES = {"spec": "Spec", "dry_run": "Dry run", "batch_size": "Batch size"}

timings: dict[str, float] = {}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Airflow:
    """One `scripts/airflow_local.sh` (airflow standalone) in its own process group."""

    def __init__(self, home: Path, review: Path, db_url: str):
        self.home, self.port = home, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = home / "airflow_local.log"
        self.env = {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", str(home)),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",  # the script's and standalone's lines reach the log file as they happen
            "AIRFLOW_HOME": str(home),
            "AIRFLOW_PORT": str(self.port),
            "AIRFLOW_CONN_TENANT_DB": db_url,
            "TENANT_REVIEW_DIR": str(review),
            "TENANT_DEMO_DATA_SET": "all",
            # the log servers of scheduler and triggerer must not collide with another Airflow on this machine
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        }
        self.process: subprocess.Popen | None = None
        self.password: str | None = None
        self._token: str | None = None

    def migrate(self) -> float:
        started = time.monotonic()
        done = subprocess.run(
            [str(PROJECT / ".venv" / "bin" / "airflow"), "db", "migrate"],
            env={**self.env, "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags")},
            cwd=PROJECT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
        return time.monotonic() - started

    def start(self) -> None:
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [str(PROJECT / "scripts" / "airflow_local.sh")],
            env=self.env,
            cwd=PROJECT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: the teardown ends every component at once
        )
        log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"airflow_local.sh exited with {self.process.returncode}:\n{self.output()[-4000:]}")
            if self.password is None and (found := re.search(r"login:\s+user admin, password (\S+)", self.output())):
                self.password = found.group(1)
            if self.password and "Airflow is ready" in self.output():
                try:
                    dags = {d["dag_id"] for d in self.api("GET", "/api/v2/dags")["dags"]}
                except (OSError, urllib.error.URLError):
                    dags = set()
                if DAG_ID in dags:
                    return
            time.sleep(2)
        pytest.fail(f"Airflow not ready after {STARTUP_TIMEOUT} s:\n{self.output()[-4000:]}")

    def api(self, method: str, path: str, body: dict | None = None, auth: bool = True):
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            if self._token is None:
                self._token = self.api("POST", "/auth/token", {"username": "admin", "password": self.password}, False)[
                    "access_token"
                ]
            headers["Authorization"] = f"Bearer {self._token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def run_path(self, run_id: str) -> str:
        return f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}"

    def wait_for_run(self, run_id: str) -> dict:
        deadline = time.monotonic() + RUN_TIMEOUT
        while time.monotonic() < deadline:
            run = self.api("GET", self.run_path(run_id))
            if run["state"] in ("success", "failed"):
                return run
            time.sleep(3)
        pytest.fail(f"run {run_id} not finished after {RUN_TIMEOUT} s: {self.task_states(run_id)}")

    def task_states(self, run_id: str) -> dict[str, str]:
        tis = self.api("GET", self.run_path(run_id) + "/taskInstances")["task_instances"]
        return {ti["task_id"]: ti["state"] for ti in tis}

    def task_log(self, run_id: str, task_id: str, try_number: int = 1, map_index: int = 0) -> str:
        path = f"{self.run_path(run_id)}/taskInstances/{task_id}/logs/{try_number}?map_index={map_index}"
        content = self.api("GET", path)["content"]
        return "\n".join(e.get("event", "") if isinstance(e, dict) else str(e) for e in content)

    def stop(self) -> float:
        """SIGTERM to the whole process group, SIGKILL after 60 s; returns the seconds it took."""
        if self.process is None:
            return 0.0
        started, pgid = time.monotonic(), self.process.pid
        for sig, grace in ((signal.SIGTERM, 60), (signal.SIGKILL, 15)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and _group_alive(pgid):
                self.process.poll()  # reap the script's own process
                time.sleep(0.5)
            if not _group_alive(pgid):
                break
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=15)
        return time.monotonic() - started


def _group_alive(pgid: int) -> bool:
    """True while a process of the group exists that is not a zombie."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


@pytest.fixture(scope="module")
def database():
    target = new_target("ti_browser")
    yield target  # airflow_local.sh loads data set 'all' into it (the database does not exist yet)
    drop(target)


@pytest.fixture(scope="module")
def airflow(tmp_path_factory, database):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} missing: apt-get install chromium (scripts/setup.sh does)")
    home = tmp_path_factory.mktemp("airflow_home")
    server = Airflow(home, tmp_path_factory.mktemp("review"), url_of(database))
    try:
        timings["airflow db migrate (fresh SQLite)"] = server.migrate()
        started = time.monotonic()
        server.start()
        server.wait_until_ready()
        timings["airflow_local.sh start until ready"] = time.monotonic() - started
        yield server
    finally:
        timings["shutdown (process group)"] = server.stop()
        print("\nbrowser test timings: " + ", ".join(f"{k}: {v:.1f} s" for k, v in timings.items()))


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(UI_TIMEOUT)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def screenshot(target, name: str) -> Path:
    """A small palette PNG of a page or locator in docs/screenshots/."""
    from PIL import Image

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    image = Image.open(io.BytesIO(target.screenshot())).convert("RGB")
    path = SCREENSHOTS / name
    image.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path


def log_in(page, airflow: Airflow) -> None:
    from playwright.sync_api import expect

    page.goto(airflow.base + "/")
    page.wait_for_url(re.compile(r".*/auth/login.*"))
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", airflow.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/login" not in url)
    expect(page.get_by_role("button", name="Browse")).to_be_visible()


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
    assert {s for t, s in states.items() if t != POST_VALIDATION} == {"success"}, states

    open_task_log(page, airflow, run_id, POST_VALIDATION)
    expect(page.get_by_text("Failed", exact=True).first).to_be_visible()
    expect(page.get_by_text("relation_mismatch:appointments").first).to_be_visible()
    screenshot(page, "04_failed_gate.png")
    log = airflow.task_log(run_id, POST_VALIDATION)
    assert "relation_mismatch:appointments on customers: observed 1 (sample ids: 30)" in log
    assert query(database, "select status from tenant_runs") == [{"status": "failed_post_validation"}]
