"""What a phase's chunks took: a few statistics for the summary, and the per-chunk record in the run folder
(the report draws it).
"""

from __future__ import annotations

import json
import re
import time

from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import Spec
from tenant_integrity.store import storage


def chunk_stats(durations: list[float], throttled: float = 0.0) -> dict:
    """Transaction times of a phase: count, p50, p99, max, total (seconds) and time throttled.

    A few numbers whatever the run's size: the per-chunk record is in the run folder (`save_chunk_log`).
    """
    if not durations:
        return {"chunks": 0, "p50_s": 0.0, "p99_s": 0.0, "max_s": 0.0, "throttled_s": round(throttled, 3)}
    ordered = sorted(durations)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 4)

    return {
        "chunks": len(ordered),
        "p50_s": pct(0.50),
        "p99_s": pct(0.99),
        "max_s": round(ordered[-1], 4),
        "total_s": round(sum(ordered), 3),
        "throttled_s": round(throttled, 3),
    }


def chunk_log_dir(spec_name: str, run_id: str):
    """Where a run keeps one JSON object per phase with every chunk's seconds and rows (the report draws them):
    <storage base>/<spec>/<run id>/chunks/ (tenant_integrity.store.storage)."""
    return storage.child(storage.run_path(spec_name, run_id), "chunks")


def save_chunk_log(spec: Spec, ctx: RunContext, phase: str, durations: list[float], sizes: list[int]) -> None:
    """The phase's record, written whole once its workers are done (an object store cannot append)."""
    record = {
        "phase": phase,
        "seconds": [round(d, 4) for d in durations],
        "rows": sizes,
        "written_ns": time.time_ns(),  # the order of the phases: an object's own time has whole seconds
    }
    name = f"{re.sub(r'[^A-Za-z0-9_.-]', '_', phase).lstrip('.') or 'phase'}.json"
    storage.write_text(storage.child(chunk_log_dir(spec.name, ctx.run_id), name), json.dumps(record))


def read_chunk_logs(spec_name: str, run_id: str) -> list[dict]:
    """The run's chunk records, phase by phase in the order they ran."""
    folder = chunk_log_dir(spec_name, run_id)
    records = []
    for name in storage.files_in(folder):
        if name.endswith(".json"):
            path = storage.child(folder, name)
            record = json.loads(storage.read_text(path))
            # a record written before written_ns existed: its file's time
            records.append((record.get("written_ns") or int(storage.modified(path) * 1e9), name, record))
    return [record for *_, record in sorted(records, key=lambda r: (r[0], r[1]))]
