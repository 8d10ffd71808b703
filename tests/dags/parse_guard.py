"""Parse the DAG folder with every network connection forbidden; print what happened as JSON.

Run in a subprocess so the guard cannot leak into other tests. A DAG file that touched the
database (or anything else on the network) at parse time shows up in `connections`.
"""

import json
import os
import socket
import sys
import time

attempts = []


def _refuse(self, address, *args, **kwargs):
    attempts.append(repr(address))
    raise OSError(f"network access at DAG parse time: {address!r}")


socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse

from airflow.dag_processing.dagbag import DagBag  # noqa: E402

started = time.perf_counter()
bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
seconds = time.perf_counter() - started
json.dump(
    {
        "dag_ids": sorted(bag.dag_ids),
        "import_errors": {k: str(v) for k, v in bag.import_errors.items()},
        "connections": attempts,
        "parse_seconds": round(seconds, 3),
        "stats": [{"file": s.file, "duration": str(s.duration), "dags": s.dag_num} for s in bag.dagbag_stats],
    },
    sys.stdout,
)
