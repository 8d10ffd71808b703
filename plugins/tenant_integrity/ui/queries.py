"""The operator page's read model: runs, their live progress, the review queue with tenant names, the validation
history and the open controls, read from the bookkeeping tables of the `tenant_db` connection."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from dataclasses import dataclass, field

from fastapi import HTTPException

from tenant_integrity.core import settings
from tenant_integrity.core.spec import load_spec
from tenant_integrity.store import sql, storage
from tenant_integrity.store.bookkeeping import read_schema
from tenant_integrity.store.db import Database, DbTarget
from tenant_integrity.ui.airflow_client import FINISHED_AIRFLOW_STATES, airflow_run_states
from tenant_integrity.ui.files import folder_files

CONN_ID = settings.TENANT_CONN_ID  # the connection whose bookkeeping tables the page reads
RUNS_LISTED = 100
REVIEW_ROWS_LISTED = 500
VALIDATIONS_LISTED = 50
RATE_WINDOW_S = 60  # the write rate is measured over the audit rows of this many recent seconds
BOOKKEEPING = (
    "tenant_runs",
    "tenant_checkpoints",
    "tenant_audit_log",
    "tenant_review_queue",
    "tenant_validation_runs",
    "tenant_validation_history",
    "tenant_run_controls",
)


@dataclass
class PhaseProgress:
    """One phase of a run as the engine's checkpoints record it (its worker shares added up)."""

    phase: str
    shares: int
    chunks: int
    rows_done: int
    last_chunk_at: dt.datetime
    seconds_ago: float


@dataclass
class RunProgress:
    """A run that has not finished: its phases, and its writes against the changes planned at preflight."""

    phases: list[PhaseProgress]
    rows_written: int
    planned_changes: int | None
    percent: float | None = None  # of the planned changes, when the plan's number is recorded
    rows_per_s: float | None = None  # audited rows of the last RATE_WINDOW_S seconds, when there were any
    window_s: float | None = None  # the seconds that rate is measured over (shorter when the writes began later)
    eta_s: float | None = None  # the remaining planned changes at that rate


@dataclass
class Run:
    run_no: int
    run_id: str
    spec: str
    dag_id: str
    table_name: str
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    planned_changes: int | None
    rows_changed: int = 0
    review_rows: int = 0
    airflow_state: str | None = None  # None: no such run in this Airflow's metadata database
    summary: dict | None = None
    progress: RunProgress | None = None
    folder_files: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float | None:
        return (self.finished_at - self.started_at).total_seconds() if self.finished_at else None

    @property
    def live(self) -> bool:
        """Not finished by its own record, and not finished in Airflow (when Airflow knows the run)."""
        return self.finished_at is None and self.airflow_state not in FINISHED_AIRFLOW_STATES


@contextlib.contextmanager
def tenant_db():
    """The connection `tenant_db` as Airflow resolves it (environment, secrets backend or metadata database)."""
    try:
        db = DbTarget.from_airflow(CONN_ID).connect()
    except Exception as exc:  # not defined, or the server does not answer: say which (messages carry no password)
        raise HTTPException(503, f"connection {CONN_ID}: {exc}") from exc
    with db:
        yield db


def bookkeeping_rows(db: Database, template: str, params: dict | None = None, **render) -> list[dict]:
    with db.transaction(read_only=True):
        return db.rows(sql.render(f"operator_page/{template}", **render), params)


def existing_tables(db: Database) -> set[str]:
    return {r["table_name"] for r in bookkeeping_rows(db, "bookkeeping_tables.sql", {"tables": BOOKKEEPING})}


def db_now(db: Database) -> dt.datetime:
    return bookkeeping_rows(db, "now.sql")[0]["now"]


def _run(row: dict) -> Run:
    return Run(
        run_no=int(row["run_no"]),
        run_id=row["run_id"],
        spec=row["spec"],
        dag_id=row["dag_id"],
        table_name=row["table_name"],
        status=row["status"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        planned_changes=None if row["planned_changes"] is None else int(row["planned_changes"]),
        summary=json.loads(row["summary"]) if row.get("summary") else None,
    )


def list_runs(db: Database, tables: set[str], spec: str | None = None, limit: int = RUNS_LISTED) -> list[Run]:
    """The newest runs with what they changed, what they left for review and their state in Airflow."""
    if "tenant_runs" not in tables:
        return []
    runs = [_run(r) for r in bookkeeping_rows(db, "runs.sql", {"spec": spec, "limit": limit})]
    complete(db, tables, runs)
    for run in runs:
        run.folder_files = folder_files(run.spec, run.run_id)
    return runs


def get_run(db: Database, tables: set[str], spec: str, run_id: str) -> Run | None:
    """The newest registration of run_id for the spec (a run id used by two DAGs has two), completed."""
    if "tenant_runs" not in tables:
        return None
    found = [_run(r) for r in bookkeeping_rows(db, "run.sql", {"spec": spec, "run_id": run_id})]
    if not found:
        return None
    complete(db, tables, found[:1])
    return found[0]


def complete(db: Database, tables: set[str], runs: list[Run]) -> None:
    """Add rows changed, rows left for review, the Airflow state and, for live runs, their progress."""
    if not runs:
        return
    if "tenant_audit_log" in tables:
        changed = {
            (r["run_id"], r["spec"], r["table_name"]): int(r["rows_changed"])
            for r in bookkeeping_rows(db, "rows_changed.sql", {"run_ids": tuple({run.run_id for run in runs})})
        }
        for run in runs:
            run.rows_changed = changed.get((run.run_id, run.spec, run.table_name), 0)
    if "tenant_review_queue" in tables:
        left = {
            int(r["run_no"]): int(r["review_rows"])
            for r in bookkeeping_rows(db, "review_left.sql", {"run_nos": tuple(run.run_no for run in runs)})
        }
        for run in runs:
            run.review_rows = left.get(run.run_no, 0)
    states = airflow_run_states({(run.dag_id, run.run_id) for run in runs})
    for run in runs:
        run.airflow_state = states.get((run.dag_id, run.run_id))
    live = [run for run in runs if run.live]
    if live and "tenant_checkpoints" in tables:
        add_progress(db, tables, live)


def add_progress(db: Database, tables: set[str], runs: list[Run]) -> None:
    """Progress of unfinished runs from what the engine records; a rate and an ETA only where measured."""
    now = db_now(db)
    shares: dict[int, dict[str, list[dict]]] = {}
    for r in bookkeeping_rows(db, "checkpoints.sql", {"run_nos": tuple(run.run_no for run in runs)}):
        # "backfill_appointments:2/3" is worker 2 of 3 of phase backfill_appointments
        shares.setdefault(int(r["run_no"]), {}).setdefault(r["phase"].split(":", 1)[0], []).append(r)
    for run in runs:
        phases = [
            PhaseProgress(
                phase=phase,
                shares=len(rows),
                chunks=sum(int(r["chunks"]) for r in rows),
                rows_done=sum(int(r["rows_done"]) for r in rows),
                last_chunk_at=max(r["updated_at"] for r in rows),
                seconds_ago=max((now - max(r["updated_at"] for r in rows)).total_seconds(), 0.0),
            )
            for phase, rows in shares.get(run.run_no, {}).items()
        ]
        phases.sort(key=lambda p: p.last_chunk_at)
        progress = RunProgress(phases=phases, rows_written=run.rows_changed, planned_changes=run.planned_changes)
        if run.planned_changes:
            progress.percent = min(100.0, 100.0 * run.rows_changed / run.planned_changes)
        if "tenant_audit_log" in tables:
            since = now - dt.timedelta(seconds=RATE_WINDOW_S)
            recent = bookkeeping_rows(
                db,
                "recent_writes.sql",
                {"since": since, "run_id": run.run_id, "spec": run.spec, "table_name": run.table_name},
            )[0]
            first = recent["first_write_at"]
            # the window starts at the run's first audited write if that is more recent than a minute ago
            window = (now - max(since, first)).total_seconds() if first else 0.0
            if recent["recent_rows"] and window > 0:
                progress.rows_per_s, progress.window_s = int(recent["recent_rows"]) / window, window
                remaining = (run.planned_changes or 0) - run.rows_changed
                if remaining > 0:
                    progress.eta_s = remaining / progress.rows_per_s
        run.progress = progress


@dataclass
class Candidate:
    tenant_id: str
    rows: int | None  # how many related rows named it (None: a relation's tenant, not counted)
    name: str | None = None
    known: bool = False  # the tenant table has this id


def parse_candidates(text: str | None) -> list[Candidate]:
    """The queue's candidates: "1:2;15:1" (tenant:rows naming it) or "1;15" (tenants of relation rows)."""
    found = []
    for part in (text or "").split(";"):
        if not part:
            continue
        tenant, _, rows = part.rpartition(":")
        if tenant and rows.isdigit():
            found.append(Candidate(tenant, int(rows)))
        else:
            found.append(Candidate(part, None))
    return found


def review_rows(
    db: Database, tables: set[str], spec: str | None = None, run_no: int | None = None, limit: int = REVIEW_ROWS_LISTED
) -> list[dict]:
    """Open review rows, each with its candidates named from the spec's tenant table."""
    if "tenant_review_queue" not in tables:
        return []
    rows = bookkeeping_rows(db, "review_queue.sql", {"spec": spec, "run_no": run_no, "limit": limit})
    for row in rows:
        row["key"] = row["row_key"] if row["row_key"] and not row["row_id"] else row["row_id"]
        row["candidate_list"] = parse_candidates(row["candidates"])
    for spec_name in {r["spec"] for r in rows}:
        candidates = [c for r in rows if r["spec"] == spec_name for c in r["candidate_list"]]
        names = tenant_names(db, spec_name, {c.tenant_id for c in candidates})
        for c in candidates:
            c.known = c.tenant_id in names
            c.name = names.get(c.tenant_id)
    return rows


def review_counts(db: Database, tables: set[str]) -> list[dict]:
    return bookkeeping_rows(db, "review_counts.sql") if "tenant_review_queue" in tables else []


def tenant_names(db: Database, spec_name: str, ids: set[str]) -> dict[str, str | None]:
    """tenant id (as text) -> its name (None: the table has no `name` column); ids not in the table are left out."""
    if not ids:
        return {}
    try:
        tenant = load_spec(spec_name).tenant_table
    except Exception:  # a spec file removed since: its ids are shown without names
        return {}
    columns, _ = read_schema(db, [tenant.table])
    if tenant.table not in columns:
        return {}
    name_column = sql.quote("name") if "name" in columns[tenant.table] else None
    rows = bookkeeping_rows(
        db,
        "tenant_names.sql",
        {"ids": tuple(sorted(ids))},
        table=sql.quote(tenant.table),
        key=sql.quote(tenant.key),
        name_column=name_column,
    )
    return {str(r["tenant_id"]): r["tenant_name"] for r in rows}


def validations(db: Database, tables: set[str], limit: int = VALIDATIONS_LISTED) -> list[dict]:
    if not {"tenant_validation_runs", "tenant_validation_history"} <= tables:
        return []
    rows = bookkeeping_rows(db, "validations.sql", {"limit": limit})
    for row in rows:
        row["data_docs_path"] = storage.data_docs_key(row["data_docs"])
    return rows


def open_controls(db: Database, tables: set[str]) -> list[dict]:
    """The open pause and cancel requests, for the pages."""
    if "tenant_run_controls" not in tables:
        return []
    rows = db.rows(sql.render("controls/list_requests.sql"))
    db.commit()
    return rows
