"""Run real Airflow (`airflow dags test`) with only the documented environment."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.conftest import PROJECT, url_of
from tests.helpers import preloaded_airflow

AIRFLOW = str(PROJECT / ".venv" / "bin" / "airflow")


def airflow_env(target, review_dir: Path, extra_env: dict | None = None) -> dict:
    """Only the documented environment: the project's folders, the target database, the review folder."""
    return {
        "PATH": os.environ["PATH"],
        "AIRFLOW_HOME": os.environ["AIRFLOW_HOME"],
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_TENANT_DB": url_of(target),
        "TENANT_REVIEW_DIR": str(review_dir),
        # set only under pytest-xdist: the worker's own metadata database (tests/helpers/xdist_worker.py)
        **{k: os.environ[k] for k in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",) if k in os.environ},
        **(extra_env or {}),
    }


def dags_test(target, review_dir: Path, conf: dict | None = None, dag_id: str = "tenant_backfill", extra_env=None):
    """`airflow dags test dag_id -c conf` with only the documented environment: (exit code, stdout + stderr).

    The command line runs in a process of its own, forked from a parent that has imported Airflow and GX
    (tests/helpers/preloaded_airflow.py) when the environment allows it; else as a plain `airflow` process."""
    env = airflow_env(target, review_dir, extra_env)
    argv = ["dags", "test", dag_id]
    if conf is not None:
        argv += ["-c", json.dumps(conf)]
    if preloaded_airflow.can_run(env):
        return preloaded_airflow.run(argv, env, timeout=600)
    done = subprocess.run([AIRFLOW, *argv], env=env, capture_output=True, text=True, timeout=600, cwd=PROJECT)
    return done.returncode, done.stdout + done.stderr


def final_state(output: str) -> str:
    line = next(line for line in reversed(output.splitlines()) if "DagRun Finished" in line)
    return line.split("state=")[1].split(",")[0]


def _newest_run_rows(dag_id: str, statement: str) -> list[tuple]:
    """Rows of `statement` (`?` = the dag id, then the newest run's id) from the test metadata database."""
    import sqlite3

    with sqlite3.connect(Path(os.environ["AIRFLOW_HOME"]) / "airflow.db") as metadata:
        run = metadata.execute("select run_id from dag_run where dag_id = ? order by id desc limit 1", (dag_id,))
        return metadata.execute(statement, (dag_id, run.fetchone()[0])).fetchall()


def xcom_sizes(dag_id: str) -> dict[str, int]:
    """task_id -> bytes of its return value, for the newest run of `dag_id` in the test metadata database."""
    return dict(
        _newest_run_rows(
            dag_id,
            "select task_id, max(length(value)) from xcom where dag_id = ? and key = 'return_value' and run_id = ?"
            " group by task_id",
        )
    )


def task_instances(dag_id: str) -> dict[tuple[str, int], dict]:
    """(task_id, map_index) -> state, start, end and the map index's name, for the newest run of `dag_id` in
    the test metadata database."""
    rows = _newest_run_rows(
        dag_id,
        "select task_id, map_index, state, start_date, end_date, rendered_map_index"
        " from task_instance where dag_id = ? and run_id = ?",
    )
    return {(t, m): {"state": s, "start": start, "end": end, "name": name} for t, m, s, start, end, name in rows}


def start_dags_test(
    target, review_dir: Path, conf: dict, dag_id: str = "tenant_backfill", log_path: Path | None = None
):
    """`airflow dags test` in the background (for runs that wait on a person); its Popen, output in log_path."""
    env = airflow_env(target, review_dir)
    out = open(log_path or review_dir.parent / f"{dag_id}.log", "w")  # noqa: SIM115 - the process writes to it
    return subprocess.Popen(
        [AIRFLOW, "dags", "test", dag_id, "-c", json.dumps(conf)],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        cwd=PROJECT,
    )


def respond_to_approval(dag_id: str, task_id: str, map_index: int, option: str, username: str = "ops") -> str:
    """Answer a waiting human-in-the-loop task as the UI does: the API's own response handler, in this process
    (the test's metadata database is the one `airflow dags test` uses). Returns the run id it answered."""
    import sqlite3
    import time

    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.api_fastapi.core_api.datamodels.hitl import UpdateHITLDetailPayload
    from airflow.api_fastapi.core_api.routes.public.hitl import update_hitl_detail
    from airflow.utils.session import create_session

    deadline = time.monotonic() + 300
    run_id = None
    while time.monotonic() < deadline and run_id is None:
        with sqlite3.connect(Path(os.environ["AIRFLOW_HOME"]) / "airflow.db") as metadata:
            row = metadata.execute(
                "select run_id from task_instance where dag_id = ? and task_id = ? and map_index = ?"
                " and state = 'awaiting_input' order by start_date desc limit 1",
                (dag_id, task_id, map_index),
            ).fetchone()
        run_id = row[0] if row else None
        if run_id is None:
            time.sleep(1)
    assert run_id, f"{dag_id}.{task_id}[{map_index}] never waited for input"
    with create_session() as session:
        update_hitl_detail(
            dag_id=dag_id,
            dag_run_id=run_id,
            task_id=task_id,
            update_hitl_detail_payload=UpdateHITLDetailPayload(chosen_options=[option], params_input={}),
            user=SimpleAuthManagerUser(username=username, role="admin"),
            session=session,
            map_index=map_index,
        )
    return run_id
