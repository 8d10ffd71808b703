"""The operator page: one page inside the Airflow UI for everything a run leaves behind.

A FastAPI app that the Airflow plugin (plugins/tenant_integrity_plugin.py) mounts at /tenant-integrity on
Airflow's API server, with a navigation entry that shows it in the UI. Server-rendered HTML (Jinja2):

- the runs of every spec from tenant_runs of the `tenant_db` connection: status, the Airflow run's state,
  rows changed (distinct rows in the audit log), rows left for review, started, duration;
- live progress of a run that has not finished: per phase what the engine recorded in tenant_checkpoints
  (chunks, rows, the time of the last chunk), and over the whole run the rows written (audit log) against
  the changes planned at preflight, with the write rate of the last minute and the time the remaining
  planned changes take at that rate — only when there is such a rate;
- per run: the summary and plan, report.html, review.csv (a download), plan.json, the Data Docs of the
  validation after the run, and a form that triggers tenant_rollback for it through Airflow's REST API;
- the review queue, tenant names beside tenant ids (the spec's tenant table, its `name` column if any);
- the validation history (tenant_validation_runs and tenant_validation_history), Data Docs served here.

Every route requires an Airflow session or token (Airflow's own FastAPI security dependencies: read access
to tenant_backfill's runs; triggering a rollback also needs the right to create tenant_rollback runs, and to
edit tenant_rollback when it is paused: the form then offers to unpause it, else the page triggers nothing).
Files come only from the storage base (tenant_integrity.store.storage: $TENANT_STORAGE_URL, e.g. s3://bucket/prefix,
else $TENANT_REVIEW_DIR and $TENANT_DATA_DOCS_DIR), read through Airflow's ObjectStoragePath, so the page shows
what a worker on another host wrote: every key is plain names only and must stay inside its base (on the local
filesystem also with links resolved). Nothing links to file:// or s3:// URLs; the Data Docs URLs recorded are
turned into links to /data-docs/ here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote, urlsplit

import jinja2
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from airflow.sdk import ObjectStoragePath
from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse

from tenant_integrity.core import settings
from tenant_integrity.core.spec import SPEC_NAME, load_spec
from tenant_integrity.store import sql, storage
from tenant_integrity.store.bookkeeping import read_schema
from tenant_integrity.store.db import Database, DbTarget

CONN_ID = settings.TENANT_CONN_ID  # the connection whose bookkeeping tables the page reads
URL_PREFIX = "/tenant-integrity"  # where the plugin mounts the app on Airflow's API server
BACKFILL_DAG = "tenant_backfill"
ROLLBACK_DAG = "tenant_rollback"
ROLLBACK_FROM = ("tenant_backfill", "tenant_review_import")  # the runs tenant_rollback can undo
RUNS_LISTED = 100
REVIEW_ROWS_LISTED = 500
VALIDATIONS_LISTED = 50
RATE_WINDOW_S = 60  # the write rate is measured over the audit rows of this many recent seconds
REFRESH_S = 10  # the overview and a running run's page reload themselves this often
BOOKKEEPING = (
    "tenant_runs",
    "tenant_checkpoints",
    "tenant_audit_log",
    "tenant_review_queue",
    "tenant_validation_runs",
    "tenant_validation_history",
    "tenant_run_controls",
)
FINISHED_AIRFLOW_STATES = {"success", "failed"}
# what a run folder may serve: plain file names (the report's charts, its CSVs, plan.json), never a path
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")

# Airflow's FastAPI security dependencies: a request without a valid session cookie or bearer token gets
# 401 (none) or 403 (invalid, or a user without the permission)
can_read = Depends(requires_access_dag("GET", DagAccessEntity.RUN, param_dag_id=BACKFILL_DAG))
can_trigger_rollback = Depends(requires_access_dag("POST", DagAccessEntity.RUN, param_dag_id=ROLLBACK_DAG))
# pausing, resuming and cancelling a backfill's writers edits its runs
can_control = Depends(requires_access_dag("PUT", DagAccessEntity.RUN, param_dag_id=BACKFILL_DAG))

app = FastAPI(
    title="Tenant integrity",
    docs_url=None,
    redoc_url=None,
    openapi_url=None,
    dependencies=[can_read],  # every route
)

# files of a run folder are ours and carry no script: none may run in them, whatever a cell of a CSV or a name says
RUN_FILE_POLICY = "script-src 'none'; object-src 'none'; base-uri 'none'"
# GX Data Docs load scripts from public CDNs: served here they run in an opaque origin (a sandbox), so those
# scripts cannot reach Airflow's origin, its session or the UI around the frame
DATA_DOCS_POLICY = "sandbox allow-scripts allow-popups"


@app.middleware("http")
async def _no_sniffing(request: Request, call_next):
    response = await call_next(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates" / "operator_page")),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


# --- what the page shows -------------------------------------------------------------------------


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


def _rows(db: Database, template: str, params: dict | None = None, **render) -> list[dict]:
    with db.transaction(read_only=True):
        return db.rows(sql.render(f"operator_page/{template}", **render), params)


def existing_tables(db: Database) -> set[str]:
    return {r["table_name"] for r in _rows(db, "bookkeeping_tables.sql", {"tables": BOOKKEEPING})}


def db_now(db: Database) -> dt.datetime:
    return _rows(db, "now.sql")[0]["now"]


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
    runs = [_run(r) for r in _rows(db, "runs.sql", {"spec": spec, "limit": limit})]
    complete(db, tables, runs)
    for run in runs:
        run.folder_files = folder_files(run.spec, run.run_id)
    return runs


def get_run(db: Database, tables: set[str], spec: str, run_id: str) -> Run | None:
    """The newest registration of run_id for the spec (a run id used by two DAGs has two), completed."""
    if "tenant_runs" not in tables:
        return None
    found = [_run(r) for r in _rows(db, "run.sql", {"spec": spec, "run_id": run_id})]
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
            for r in _rows(db, "rows_changed.sql", {"run_ids": tuple({run.run_id for run in runs})})
        }
        for run in runs:
            run.rows_changed = changed.get((run.run_id, run.spec, run.table_name), 0)
    if "tenant_review_queue" in tables:
        left = {
            int(r["run_no"]): int(r["review_rows"])
            for r in _rows(db, "review_left.sql", {"run_nos": tuple(run.run_no for run in runs)})
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
    for r in _rows(db, "checkpoints.sql", {"run_nos": tuple(run.run_no for run in runs)}):
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
            recent = _rows(
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


def airflow_run_states(runs: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(dag_id, run_id) -> the DAG run's state in this Airflow's metadata database (missing: unknown here)."""
    if not runs:
        return {}
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select, tuple_

    with create_session() as session:
        found = session.execute(
            select(DagRun.dag_id, DagRun.run_id, DagRun.state).where(
                tuple_(DagRun.dag_id, DagRun.run_id).in_(sorted(runs))
            )
        )
        return {(d, r): str(getattr(s, "value", s)) for d, r, s in found}


def airflow_dag_run(dag_id: str, run_id: str) -> dict | None:
    """A DAG run as this Airflow's metadata database has it: state, conf, who triggered it; None if unknown."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        found = session.scalars(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)).first()
        if found is None:
            return None
        return {
            "dag_run_id": found.run_id,
            "state": str(getattr(found.state, "value", found.state)),
            "conf": dict(found.conf or {}),
            "triggering_user_name": found.triggering_user_name,
        }


def airflow_dag_paused(dag_id: str) -> bool | None:
    """Whether the DAG is paused in this Airflow (a run of a paused DAG waits in `queued`); None: no such DAG here."""
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return session.scalar(select(DagModel.is_paused).where(DagModel.dag_id == dag_id))


def may_edit_dag(user, dag_id: str) -> bool:
    """Whether the user may edit the DAG (pause, unpause): Airflow's auth manager decides, as for the REST API's PATCH."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails
    from airflow.models.dag import DagModel

    details = DagDetails(id=dag_id, team_name=DagModel.get_team_name(dag_id))
    return get_auth_manager().is_authorized_dag(method="PUT", details=details, user=user)


@dataclass
class TriggeredDag:
    """A DAG the page triggers, as the form shows it: paused (its run would wait in `queued`), and may the user
    unpause it."""

    dag_id: str
    paused: bool | None  # None: no such DAG in this Airflow (the REST API says so when triggered)
    may_unpause: bool


def triggered_dag(dag_id: str, user) -> TriggeredDag:
    paused = airflow_dag_paused(dag_id)
    return TriggeredDag(dag_id, paused, bool(paused) and may_edit_dag(user, dag_id))


# --- the review queue with tenant names ----------------------------------------------------------


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
    rows = _rows(db, "review_queue.sql", {"spec": spec, "run_no": run_no, "limit": limit})
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
    return _rows(db, "review_counts.sql") if "tenant_review_queue" in tables else []


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
    rows = _rows(
        db,
        "tenant_names.sql",
        {"ids": tuple(sorted(ids))},
        table=sql.quote(tenant.table),
        key=sql.quote(tenant.key),
        name_column=name_column,
    )
    return {str(r["tenant_id"]): r["tenant_name"] for r in rows}


# --- the validation history -------------------------------------------------------------------------


def validations(db: Database, tables: set[str], limit: int = VALIDATIONS_LISTED) -> list[dict]:
    if not {"tenant_validation_runs", "tenant_validation_history"} <= tables:
        return []
    rows = _rows(db, "validations.sql", {"limit": limit})
    for row in rows:
        row["data_docs_path"] = data_docs_relative(row["data_docs"])
    return rows


def data_docs_dir() -> ObjectStoragePath:
    """The Data Docs' base: <storage base>/data-docs/, or $TENANT_DATA_DOCS_DIR without $TENANT_STORAGE_URL."""
    return storage.data_docs_base()


def data_docs_relative(stored: str | None) -> str | None:
    """The key under the Data Docs' base of the page a validation recorded (its file:// or storage URL), or None
    if it is elsewhere."""
    return storage.data_docs_key(stored)


# --- files: only inside the storage base (tenant_integrity.store.storage) ----------------------------------------


def _inside(path: ObjectStoragePath, root: ObjectStoragePath) -> ObjectStoragePath:
    """`path`, 404 unless it is `root` or below it (by key; on the local filesystem with links resolved)."""
    if not storage.inside(path, root):
        raise HTTPException(404, "not found")
    return path


def _child(root: ObjectStoragePath, *keys: str) -> ObjectStoragePath:
    """root/keys inside root; 404 for a key that is empty, absolute, climbs (..) or leaves it."""
    try:
        return _inside(storage.child(root, *keys), root)
    except storage.UnsafeKey:
        raise HTTPException(404, "not found") from None


def run_folder(spec: str, run_id: str) -> ObjectStoragePath:
    """<base>/<spec>/<run_id>/ of a run; the spec must be a spec name, the folder inside the base."""
    if not SPEC_NAME.match(spec):
        raise HTTPException(404, f"no spec named {spec!r}")
    try:
        folder = storage.run_path(spec, run_id)
    except storage.UnsafeKey:
        raise HTTPException(404, "not found") from None
    return _inside(folder, storage.base())


def run_file(spec: str, run_id: str, name: str) -> ObjectStoragePath:
    """A file directly in a run's folder: a plain name, inside that folder, existing."""
    if not FILE_NAME.match(name):
        raise HTTPException(404, "not found")
    folder = run_folder(spec, run_id)
    path = _child(folder, name)
    if not storage.is_file(path):
        raise HTTPException(404, f"{name} is not in the folder of run {run_id} of spec {spec}")
    return path


def folder_files(spec: str, run_id: str) -> list[str]:
    try:
        folder = run_folder(spec, run_id)
    except HTTPException:
        return []
    return storage.files_in(folder)


def _served(
    path: ObjectStoragePath, policy: str, media_type: str | None = None, filename: str | None = None
) -> StreamingResponse:
    """A stored file as the answer, streamed from storage, under the Content-Security-Policy `policy`."""
    headers = {"Content-Security-Policy": policy}
    if filename:  # a plain name (the callers make it so), as Starlette's FileResponse sends it
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return StreamingResponse(
        storage.chunks(path), media_type=media_type or storage.media_type(path.name), headers=headers
    )


# --- helpers for the templates ---------------------------------------------------------------------------


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 10:
        return f"{value:.1f} s"
    if value < 120:
        return f"{value:.0f} s"
    if value < 7200:
        return f"{value // 60:.0f} min {value % 60:02.0f} s"
    return f"{value // 3600:.0f} h {value % 3600 // 60:02.0f} min"


def _utc(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def _render(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    page = request.scope.get("root_path", "").rstrip("/")  # /tenant-integrity (after Airflow's own root path)
    airflow = page.removesuffix(URL_PREFIX)  # Airflow's UI and REST API
    html = _templates.get_template(template).render(
        page=page,
        airflow=airflow,
        seconds=_seconds,
        utc=_utc,
        q=lambda value: quote(str(value), safe=""),
        qpath=lambda value: quote(str(value), safe="/"),
        refresh_s=REFRESH_S,
        rate_window_s=RATE_WINDOW_S,
        rollback_from=ROLLBACK_FROM,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


# --- routes ------------------------------------------------------------------------------------------------


@app.get("/", response_class=HTMLResponse)
def overview(request: Request, spec: str | None = None) -> HTMLResponse:
    """Every spec's runs, live progress, the review queue and the validation history."""
    with tenant_db() as db:
        tables = existing_tables(db)
        runs = list_runs(db, tables, spec)
        queue = review_rows(db, tables, spec)
        counts = review_counts(db, tables)
        history = validations(db, tables)
        requests = open_controls(db, tables)
        database = db.target.database
    return _render(
        request,
        "index.html",
        runs=runs,
        live=[r for r in runs if r.live],
        queue=queue,
        queue_total=sum(int(c["review_rows"]) for c in counts),
        review_counts=counts,
        review_limit=REVIEW_ROWS_LISTED,
        validations=history,
        spec_filter=spec,
        database=database,
        has_runs_table="tenant_runs" in tables,
        controls=requests,
    )


def _registered(spec: str, run_id: str) -> Run:
    run_folder(spec, run_id)  # the spec must be a spec name
    with tenant_db() as db:
        tables = existing_tables(db)
        run = get_run(db, tables, spec, run_id)
    if run is None:
        raise HTTPException(404, f"spec {spec}: no registered run {run_id!r} in tenant_runs")
    return run


@app.get("/runs/{spec}/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, spec: str, run_id: str, user: GetUserDep) -> HTMLResponse:
    """One run: state, progress, files, summary, plan, its review rows and the rollback form."""
    files = folder_files(spec, run_id)
    with tenant_db() as db:
        tables = existing_tables(db)
        run = get_run(db, tables, spec, run_id)
        if run is None and not files:
            raise HTTPException(404, f"spec {spec}: no run {run_id!r} in tenant_runs and no folder for it")
        queue = review_rows(db, tables, spec, run.run_no) if run else []
        requests = [c for c in open_controls(db, tables) if c["scope"] in (spec, "*") and c["run_id"] in (run_id, "")]
    summary_text, plan_text = _summary_and_plan(spec, run.summary if run else None, files, spec_run=(spec, run_id))
    return _render(
        request,
        "run.html",
        spec=spec,
        run_id=run_id,
        run=run,
        files=files,
        queue=queue,
        summary_text=summary_text,
        plan_text=plan_text,
        controls=requests,
        rollback_dag=triggered_dag(ROLLBACK_DAG, user),
    )


def _summary_and_plan(spec: str, summary: dict | None, files: list[str], spec_run: tuple[str, str]):
    """The summary as the task log prints it, and the plan as preflight prints it (raw JSON if they no longer parse)."""
    from tenant_integrity.repair.formatting import format_plan, format_summary
    from tenant_integrity.repair.results import Plan, Summary

    summary_text = plan_text = None
    plan_data = summary.get("planned") if summary else None
    if plan_data is None and "plan.json" in files:  # a dry run's plan
        plan_data = json.loads(storage.read_text(run_file(*spec_run, "plan.json")))
    if summary:
        try:
            summary_text = format_summary(Summary.from_dict(summary))
        except Exception:
            summary_text = json.dumps(summary, indent=2, sort_keys=True, default=str)
    if plan_data:
        try:
            plan_text = format_plan(Plan.from_dict(plan_data), load_spec(spec))
        except Exception:
            plan_text = json.dumps(plan_data, indent=2, sort_keys=True, default=str)
    return summary_text, plan_text


@app.get("/runs/{spec}/{run_id}/report", response_class=HTMLResponse)
def run_report(spec: str, run_id: str) -> StreamingResponse:
    """report.html of a real run; its charts and review.csv link load relative to this URL."""
    return _served(run_file(spec, run_id, "report.html"), RUN_FILE_POLICY, "text/html; charset=utf-8")


@app.get("/runs/{spec}/{run_id}/review.csv")
def review_csv(spec: str, run_id: str) -> StreamingResponse:
    """The run's review CSV (a dry run's review_preview.csv when there is no review.csv), as a download."""
    name = "review.csv" if "review.csv" in folder_files(spec, run_id) else "review_preview.csv"
    path = run_file(spec, run_id, name)
    download = re.sub(r"[^A-Za-z0-9._-]", "_", f"{spec}_{path.parent.name}_{name}")  # a plain name for any browser
    return _served(path, RUN_FILE_POLICY, "text/csv; charset=utf-8", filename=download)


@app.get("/runs/{spec}/{run_id}/plan.json")
def plan_json(spec: str, run_id: str) -> Response:
    """A dry run's plan.json; a real run's plan as recorded in its summary."""
    if "plan.json" in folder_files(spec, run_id):
        return _served(run_file(spec, run_id, "plan.json"), RUN_FILE_POLICY, "application/json")
    run = _registered(spec, run_id)
    if not run.summary or "planned" not in run.summary:
        raise HTTPException(404, f"run {run_id} of spec {spec} has no plan yet (it is recorded when the run finishes)")
    return JSONResponse(run.summary["planned"])


@app.get("/runs/{spec}/{run_id}/data-docs")
def run_data_docs(request: Request, spec: str, run_id: str) -> Response:
    """The Data Docs of the first validation of the spec after the run finished (else the newest, said so)."""
    run = _registered(spec, run_id)
    first = latest = None
    with tenant_db() as db:
        if "tenant_validation_runs" in existing_tables(db):
            if run.finished_at:
                first = next(iter(_rows(db, "data_docs_after.sql", {"spec": spec, "after": run.finished_at})), None)
            latest = next(iter(_rows(db, "data_docs_latest.sql", {"spec": spec})), None)
    after = first and data_docs_relative(first["data_docs"])
    if after:
        return RedirectResponse(f"{request.scope.get('root_path', '')}/data-docs/{quote(after)}", status_code=303)
    return _render(
        request,
        "data_docs_missing.html",
        status_code=404,
        run=run,
        latest=latest,
        latest_path=latest and data_docs_relative(latest["data_docs"]),
    )


@app.get("/runs/{spec}/{run_id}/rollback", response_class=HTMLResponse)
def rollback_form(request: Request, spec: str, run_id: str, user: GetUserDep) -> HTMLResponse:
    run = _registered(spec, run_id)
    return _render(request, "rollback.html", run=run, rollback_dag=triggered_dag(ROLLBACK_DAG, user))


def _caller_token(request: Request) -> str:
    """The caller's own Airflow token: the REST API decides with the caller's permissions, not the page's."""
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN

    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(COOKIE_NAME_JWT_TOKEN, "")


def _same_origin(request: Request) -> None:
    """A form post from another site is refused (the session cookie is SameSite=Lax; this checks Origin too)."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
        raise HTTPException(403, "cross-site request refused")


def airflow_api_base(request: Request) -> str:
    """Where this server's REST API answers: [api] base_url, else the host the request came to."""
    from airflow.configuration import conf

    base = (conf.get("api", "base_url", fallback="") or "").rstrip("/")
    if base:
        return base
    root = request.scope.get("root_path", "").removesuffix(URL_PREFIX)
    return f"{request.url.scheme}://{request.url.netloc}{root}"


def _detail(answer) -> str:
    """What Airflow's REST API said about a refused request."""
    try:
        detail = answer.json().get("detail", answer.text)
    except (ValueError, AttributeError):
        detail = answer.text
    return detail if isinstance(detail, str) else json.dumps(detail, indent=2)


def unpaused_or_refused(request: Request, dag_id: str, unpause: bool, user) -> Response | None:
    """A DAG the page triggers must not be paused (its run would wait in `queued`, nothing saying why): with the
    user's consent (the form's unpause box) and right to edit the DAG it is unpaused through the REST API, as the
    caller; else the trigger is refused with the reason. None: the DAG runs (or is unknown here: the trigger says)."""
    import httpx

    if not airflow_dag_paused(dag_id):
        return None
    title = f"{dag_id} not triggered"
    if not unpause:
        text = (
            f"{dag_id} is paused in this Airflow: a run of it would wait in 'queued' until someone unpauses it.\n"
            f"Tick 'Unpause {dag_id}' on the form (you need the right to edit {dag_id}), or unpause it in Airflow "
            "and trigger again."
        )
        return _render(request, "message.html", status_code=409, title=title, text=text)
    if not may_edit_dag(user, dag_id):
        text = (
            f"{dag_id} is paused and you may not unpause it (that needs the right to edit {dag_id}): ask someone who "
            "may to unpause it, then trigger again."
        )
        return _render(request, "message.html", status_code=403, title=title, text=text)
    answer = httpx.patch(
        f"{airflow_api_base(request)}/api/v2/dags/{quote(dag_id, safe='')}",
        params={"update_mask": "is_paused"},
        json={"is_paused": False},
        headers={"Authorization": f"Bearer {_caller_token(request)}"},
        timeout=30,
    )
    if answer.status_code != 200:
        text = f"{dag_id} is paused and Airflow did not unpause it ({answer.status_code}): {_detail(answer)}"
        return _render(request, "message.html", status_code=answer.status_code, title=title, text=text)
    return None


@app.post("/runs/{spec}/{run_id}/rollback", dependencies=[can_trigger_rollback])
def trigger_rollback(
    request: Request,
    spec: str,
    run_id: str,
    dry_run: Annotated[Literal["true", "false"], Form()],
    user: GetUserDep,
    unpause: Annotated[Literal["true"] | None, Form()] = None,
) -> Response:
    """Trigger tenant_rollback for this run through Airflow's REST API, as the caller; then show the new run.

    A paused tenant_rollback is unpaused first when the form says so (and the caller may edit it), else nothing is
    triggered and the page says why: never a run that waits in `queued` with nothing saying why.
    (The new run's page is here, not Airflow's: in the UI this page runs in a sandboxed iframe that cannot open
    Airflow's pages around itself; the new run's page links there.)
    """
    import httpx

    _same_origin(request)
    run = _registered(spec, run_id)
    if run.dag_id not in ROLLBACK_FROM:
        raise HTTPException(400, f"{run.dag_id} runs are not rolled back by tenant_rollback")
    refused = unpaused_or_refused(request, ROLLBACK_DAG, unpause == "true", user)
    if refused is not None:
        return refused
    conf = {"spec": spec, "backfill_run_id": run_id, "dry_run": dry_run == "true"}
    base = airflow_api_base(request)
    answer = httpx.post(
        f"{base}/api/v2/dags/{ROLLBACK_DAG}/dagRuns",
        json={"logical_date": None, "conf": conf, "note": f"from the Tenant integrity page: undo {spec} run {run_id}"},
        headers={"Authorization": f"Bearer {_caller_token(request)}"},
        timeout=30,
    )
    if answer.status_code != 200:
        return _render(
            request,
            "message.html",
            status_code=answer.status_code,
            title="tenant_rollback not triggered",
            text=_detail(answer),
        )
    # Post/Redirect/Get: the UI mirrors the frame's address in its own and may load it again
    page = request.scope.get("root_path", "")
    new_run = quote(answer.json()["dag_run_id"], safe="")
    return RedirectResponse(
        f"{page}/runs/{quote(spec, safe='')}/{quote(run_id, safe='')}/rollbacks/{new_run}", status_code=303
    )


def _controlled(request: Request, action: str, scope: str, run_id: str, user) -> Response:
    """Write or withdraw a pause / cancel request (controls.py); the writers read it before their next chunk."""
    from tenant_integrity.core.errors import ParamError
    from tenant_integrity.engine import controls

    _same_origin(request)
    target = DbTarget.from_airflow(CONN_ID)
    who = f"{user.get_name()} (Tenant integrity page)"
    try:
        if action == "resume":
            controls.release(target, controls.PAUSE, scope, run_id)
        else:
            controls.request(target, action, scope, run_id, who)
    except ParamError as exc:
        raise HTTPException(400, str(exc)) from exc
    back = request.headers.get("referer") or f"{request.scope.get('root_path', '')}/"
    return RedirectResponse(back, status_code=303)


@app.post("/runs/{spec}/{run_id}/control", dependencies=[can_control])
def control_run(
    request: Request,
    spec: str,
    run_id: str,
    action: Annotated[Literal["pause", "resume", "cancel"], Form()],
    user: GetUserDep,
) -> Response:
    """Pause, resume or cancel one run between two chunks."""
    _registered(spec, run_id)
    return _controlled(request, action, spec, run_id, user)


@app.post("/control", dependencies=[can_control])
def control_every_run(
    request: Request, action: Annotated[Literal["pause", "resume"], Form()], user: GetUserDep
) -> Response:
    """Pause (or resume) every run on this database at once."""
    from tenant_integrity.engine.controls import EVERY_RUN

    return _controlled(request, action, EVERY_RUN, "", user)


def open_controls(db: Database, tables: set[str]) -> list[dict]:
    """The open pause and cancel requests, for the pages."""
    if "tenant_run_controls" not in tables:
        return []
    rows = db.rows(sql.render("controls/list_requests.sql"))
    db.commit()
    return rows


@app.get("/runs/{spec}/{run_id}/rollbacks/{rollback_run_id}", response_class=HTMLResponse)
def rollback_triggered(request: Request, spec: str, run_id: str, rollback_run_id: str) -> HTMLResponse:
    """A tenant_rollback run of this run, as Airflow's metadata database has it."""
    run = _registered(spec, run_id)
    found = airflow_dag_run(ROLLBACK_DAG, rollback_run_id)
    conf = (found or {}).get("conf") or {}
    if not found or conf.get("backfill_run_id") != run_id or conf.get("spec") != spec:
        raise HTTPException(404, f"no tenant_rollback run {rollback_run_id!r} of run {run_id!r} of spec {spec}")
    return _render(
        request,
        "rollback_triggered.html",
        run=run,
        new_run=found,
        conf=conf,
        conf_json=json.dumps(conf),
        paused=bool(airflow_dag_paused(ROLLBACK_DAG)),
    )


@app.get("/runs/{spec}/{run_id}/{name}")
def run_folder_file(spec: str, run_id: str, name: str) -> StreamingResponse:
    """Any other file of the run's folder by its plain name: the report's charts, report.html, CSVs, plan.json."""
    return _served(run_file(spec, run_id, name), RUN_FILE_POLICY)


@app.get("/validations/{validation_no}", response_class=HTMLResponse)
def validation_page(request: Request, validation_no: int) -> HTMLResponse:
    with tenant_db() as db:
        tables = existing_tables(db)
        rows = (
            _rows(db, "validation.sql", {"validation_no": validation_no}) if "tenant_validation_runs" in tables else []
        )
    if not rows:
        raise HTTPException(404, f"no validation {validation_no}")
    return _render(
        request,
        "validation.html",
        validation=rows[0],
        checks=[r for r in rows if r["check_name"] is not None],
        data_docs_path=data_docs_relative(rows[0]["data_docs"]),
    )


@app.get("/data-docs/{path:path}")
def data_docs(path: str) -> StreamingResponse:
    """GX Data Docs from the Data Docs' base (their pages link each other relatively, so they work from here)."""
    root = data_docs_dir()
    target = _child(root, path)
    if not storage.is_file(target):
        raise HTTPException(404, "not found")
    return _served(target, DATA_DOCS_POLICY)


@app.get("/icon.svg")
def icon() -> Response:
    """The navigation entry's icon."""
    return Response(ICON, media_type="image/svg+xml")


ICON = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="#51504f" stroke-width="2"
stroke-linecap="round" stroke-linejoin="round"><path d="M12 3l8 3v6c0 4.5-3.4 8.3-8 9-4.6-.7-8-4.5-8-9V6z"/>
<path d="M8.5 12l2.5 2.5 4.5-5"/></svg>"""
