"""The parent process of tests/helpers/preloaded_airflow.py: imports Airflow and GX once, then forks one child
per request that runs the `airflow` command line's own `main()`.

Protocol (one JSON object per line): the test sends {"argv": [...], "env": {...}, "output": path}; this process
forks, answers {"pid": n} at once and {"code": exit code} when the child has ended. The child replaces its whole
environment with "env", sends its stdout and stderr to "output" and runs `airflow <argv>` as the console script
would. Nothing of the project is imported here (checked below): every child imports the DAGs and the package
itself, under its own environment.

Why: an `airflow dags test` spends ~25 of its ~40 CPU seconds importing Airflow and GX and building Airflow's
in-process execution API; the tests run about fifty of them on two cores.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

# run as a script, its own folder comes first on sys.path, and tests/helpers/airflow.py would shadow Airflow
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]


def _preload() -> None:
    import great_expectations  # noqa: F401 - 7 s of imports each child would repeat
    from airflow.cli.commands import dag_command  # noqa: F401
    from airflow.sdk.execution_time import supervisor

    # dags test's execution API (cached per process): build its FastAPI app and Cadwyn's versioned routes now,
    # without a request (a request would start its event-loop thread, which a fork does not copy)
    supervisor.in_process_api_server().app._cadwyn_initialize()
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in {"tenant_integrity", "tenant_backfill"})
    if leaked:
        raise RuntimeError(f"the preload imported the project ({leaked[:3]}): children would not import it fresh")


def _child(request: dict, answer_fd: int) -> None:
    os.close(answer_fd)
    os.environ.clear()
    os.environ.update(request["env"])
    fd = os.open(request["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    code = 1
    try:
        from airflow import settings

        if settings.engine is not None:  # connections the parent may hold are not this process's to use
            settings.engine.dispose(close=False)
        from airflow.__main__ import main

        sys.argv = ["airflow", *request["argv"]]
        main()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve() -> None:
    # answers go to the original stdout; whatever Airflow or GX print while importing goes to stderr (a log)
    answer = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    _preload()
    answer.write(json.dumps({"ready": True}) + "\n")
    answer.flush()
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request, answer.fileno())
        answer.write(json.dumps({"pid": pid}) + "\n")
        answer.flush()
        _, status = os.waitpid(pid, 0)
        answer.write(json.dumps({"code": os.waitstatus_to_exitcode(status)}) + "\n")
        answer.flush()


if __name__ == "__main__":
    serve()
