"""`airflow` commands forked from a process that has imported Airflow and GX once (per test worker).

`run(argv, env)` sends the command to tests/helpers/preloaded_airflow_server.py, which forks a child that runs the
command line's own `main()` with exactly `env` as its environment, and waits for its exit code. It saves each
`airflow dags test` the ~25 CPU seconds of imports and of building the in-process execution API.

What the parent imported was configured by its own environment: Airflow reads its home, folders and metadata
database when it is imported. So a command whose environment differs from the parent's in anything but the
settings Airflow and the project read at run time (`can_run`) runs as a plain `airflow` process instead.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from tests.conftest import PROJECT

SERVER = Path(__file__).with_name("preloaded_airflow_server.py")
READY_TIMEOUT = 300  # seconds for the parent's imports on two busy cores
# read when used, not when Airflow is imported: these may differ from the parent's environment
RUN_TIME_PREFIXES = ("AIRFLOW_CONN_", "AIRFLOW_VAR_", "TENANT_", "AWS_", "AIRFLOW__SMTP__", "AIRFLOW__API__BASE_URL")
# read at import by the project itself (core.paths): the parent never imports the project, but keep them equal
IMPORT_TIME = ("TENANT_SPECS_DIR",)

_server: subprocess.Popen | None = None
_server_env: dict[str, str] | None = None
_server_log: Path | None = None
_answers: queue.Queue[str] = queue.Queue()  # the parent's answer lines, read by a thread (a wait can time out)


def _import_time(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k in IMPORT_TIME or not k.startswith(RUN_TIME_PREFIXES)}


def can_run(env: dict[str, str]) -> bool:
    """True when `env` agrees with the parent's (started on first use) in every import-time setting."""
    return _server_env is None or _import_time(env) == _server_env


def _start(env: dict[str, str]) -> subprocess.Popen:
    global _server, _server_env, _server_log, _answers
    _answers = queue.Queue()  # a parent started again must not read the end mark of the one before
    _server_log = Path(tempfile.gettempdir()) / f"preloaded_airflow_{os.getpid()}.log"
    log = _server_log.open("w")
    _server_env = _import_time(env)
    _server = subprocess.Popen(
        [sys.executable, str(SERVER)],
        env=_server_env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        cwd=PROJECT,
    )
    threading.Thread(target=_read_answers, args=(_server, _answers), daemon=True).start()
    atexit.register(_stop)
    if _answer(READY_TIMEOUT).get("ready") is not True:
        raise RuntimeError(f"the preloaded Airflow did not start: see {_server_log}")
    return _server


def _read_answers(server: subprocess.Popen, answers: queue.Queue[str]) -> None:
    for line in server.stdout:
        answers.put(line)
    answers.put("")  # it ended: a waiting test learns it now, not at its timeout


def _stop() -> None:
    if _server is not None and _server.poll() is None:
        _server.stdin.close()  # its loop ends on end of input
        try:
            _server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _server.kill()


def _answer(timeout: float) -> dict:
    try:
        line = _answers.get(timeout=timeout)
    except queue.Empty:
        raise TimeoutError(f"no answer from the preloaded Airflow in {timeout} s: see {_server_log}") from None
    if not line:  # _read_answers' end-of-output mark
        raise RuntimeError(f"the preloaded Airflow ended (exit code {_server.wait()}): see {_server_log}")
    return json.loads(line)


def run(argv: list[str], env: dict[str, str], timeout: float) -> tuple[int, str]:
    """`airflow *argv` in a forked child with environment `env`: (exit code, its stdout and stderr)."""
    server = _server if _server is not None and _server.poll() is None else _start(env)
    with tempfile.NamedTemporaryFile("r", suffix=".log", errors="replace") as output:
        server.stdin.write(json.dumps({"argv": argv, "env": env, "output": output.name}) + "\n")
        server.stdin.flush()
        pid = _answer(60)["pid"]
        try:
            code = _answer(timeout)["code"]
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
            code = _answer(60)["code"]
            return code, output.read() + f"\n[killed after {timeout} s]"
        return code, output.read()
