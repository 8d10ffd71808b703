"""Test Airflows only: the processes that fork task processes import Great Expectations once, at their start.

A LocalExecutor's workers are forked from the scheduler, a Celery worker's pool from `airflow celery worker`, and each
task process from those (Airflow 3's supervisor forks). Imported here, GX is in every task process already, where
each gate task otherwise imports it anew: about 7 CPU seconds a task on the test machine's two cores. Nothing else
changes: the same modules, imported earlier. tests/helpers/airflow_server.py and celery_cluster.py put this folder
on PYTHONPATH; Python imports `sitecustomize` at every start, so it only looks at which command this is.
"""

import sys

if sys.argv[1:2] == ["scheduler"] or sys.argv[1:3] == ["celery", "worker"]:
    import great_expectations  # noqa: F401
