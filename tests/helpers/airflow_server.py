"""A real Airflow 3 (`scripts/airflow_local.sh`: airflow standalone) for the browser tests, and their browser helpers.

`Airflow` runs the project's script in a temporary AIRFLOW_HOME on a free port, in its own process group,
and talks to its REST API as user admin; `log_in` signs in through the UI; `screenshot` saves a small
palette PNG. The browser is Debian's chromium (`CHROMIUM`), driven by Playwright; never a downloaded one.
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
from urllib.parse import quote

import pytest

from tests.conftest import PROJECT
from tests.helpers import task_preload

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
# tenant_backfill's watcher leaf (dags/tenant_backfill.py): fails the run when a spec failed, skipped when none did
VERDICT = "fail_if_a_spec_failed"
STARTUP_TIMEOUT = 300  # seconds until the API answers and the DAG is parsed (2 slow cores)
RUN_TIMEOUT = 420  # seconds for one tenant_backfill run (about 30 s when idle)
UI_TIMEOUT = 60_000  # milliseconds for one UI expectation


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
            "PYTHONPATH": str(task_preload.FOLDER),  # the scheduler imports GX once for every task it forks
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

    def token(self) -> str:
        """A JWT of user admin from POST /auth/token (cached)."""
        if self._token is None:
            self._token = self.api("POST", "/auth/token", {"username": "admin", "password": self.password}, False)[
                "access_token"
            ]
        return self._token

    def api(self, method: str, path: str, body: dict | None = None, auth: bool = True):
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def run_path(self, run_id: str, dag_id: str = DAG_ID) -> str:
        return f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}"

    def wait_for_run(self, run_id: str, dag_id: str = DAG_ID) -> dict:
        deadline = time.monotonic() + RUN_TIMEOUT
        while time.monotonic() < deadline:
            try:
                run = self.api("GET", self.run_path(run_id, dag_id))
            except (TimeoutError, urllib.error.URLError):
                # an API server slow to answer one poll (2 busy cores) says nothing about the run: poll again
                continue
            if run["state"] in ("success", "failed"):
                return run
            time.sleep(3)
        pytest.fail(f"run {run_id} not finished after {RUN_TIMEOUT} s: {self.task_states(run_id, dag_id)}")

    def end_runs_left_behind(self, dag_id: str = DAG_ID) -> None:
        """Fail every queued or running run of `dag_id` and wait until none of its tasks is running: a test that
        reloads the shared database must not share it with a run an earlier test left (one that failed while its
        run was paused holds forever, one that timed out may still write)."""
        runs = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns?state=queued&state=running")["dag_runs"]
        for run in runs:
            self.api("PATCH", self.run_path(run["dag_run_id"], dag_id), {"state": "failed"})
        deadline = time.monotonic() + RUN_TIMEOUT
        for run in runs:
            while (busy := self._busy_tasks(run["dag_run_id"], dag_id)) and time.monotonic() < deadline:
                time.sleep(2)
            if busy:
                pytest.fail(f"run {run['dag_run_id']} left behind still has running tasks: {busy}")

    def _busy_tasks(self, run_id: str, dag_id: str) -> list[str]:
        tis = self.api("GET", self.run_path(run_id, dag_id) + "/taskInstances")["task_instances"]
        alive = {"running", "queued", "scheduled", "restarting", "deferred", "up_for_retry", "up_for_reschedule"}
        return [ti["task_id"] for ti in tis if ti["state"] in alive]

    def task_states(self, run_id: str, dag_id: str = DAG_ID) -> dict[str, str]:
        tis = self.api("GET", self.run_path(run_id, dag_id) + "/taskInstances")["task_instances"]
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
