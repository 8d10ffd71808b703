"""Run real Airflow (`airflow dags test`) with only the documented environment."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.conftest import PROJECT, url_of

AIRFLOW = str(PROJECT / ".venv" / "bin" / "airflow")


def dags_test(target, review_dir: Path, conf: dict | None = None, dag_id: str = "tenant_backfill", extra_env=None):
    env = {
        "PATH": os.environ["PATH"],
        "AIRFLOW_HOME": os.environ["AIRFLOW_HOME"],
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_TENANT_DB": url_of(target),
        "TENANT_REVIEW_DIR": str(review_dir),
        **(extra_env or {}),
    }
    command = [AIRFLOW, "dags", "test", dag_id]
    if conf is not None:
        command += ["-c", json.dumps(conf)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, cwd=PROJECT)
    return done.returncode, done.stdout + done.stderr


def final_state(output: str) -> str:
    line = next(line for line in reversed(output.splitlines()) if "DagRun Finished" in line)
    return line.split("state=")[1].split(",")[0]


def xcom_sizes(dag_id: str) -> dict[str, int]:
    """task_id -> bytes of its return value, for the newest run of `dag_id` in the test metadata database."""
    import sqlite3

    with sqlite3.connect(Path(os.environ["AIRFLOW_HOME"]) / "airflow.db") as metadata:
        rows = metadata.execute(
            "select task_id, max(length(value)) from xcom where dag_id = ? and key = 'return_value'"
            " and run_id = (select run_id from dag_run where dag_id = ? order by id desc limit 1) group by task_id",
            (dag_id, dag_id),
        ).fetchall()
    return dict(rows)


def task_instances(dag_id: str) -> dict[tuple[str, int], dict]:
    """(task_id, map_index) -> state, start and end, for the newest run of `dag_id` in the test metadata database."""
    import sqlite3

    with sqlite3.connect(Path(os.environ["AIRFLOW_HOME"]) / "airflow.db") as metadata:
        rows = metadata.execute(
            "select task_id, map_index, state, start_date, end_date from task_instance where dag_id = ?"
            " and run_id = (select run_id from dag_run where dag_id = ? order by id desc limit 1)",
            (dag_id, dag_id),
        ).fetchall()
    return {(t, m): {"state": s, "start": start, "end": end} for t, m, s, start, end in rows}
