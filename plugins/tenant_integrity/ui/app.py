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

import datetime as dt
import json
import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote

import jinja2
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tenant_integrity.core import settings
from tenant_integrity.core.spec import load_spec
from tenant_integrity.store import storage
from tenant_integrity.store.db import DbTarget
from tenant_integrity.ui.airflow_client import (
    airflow_api_base,
    airflow_dag_paused,
    airflow_dag_run,
    answer_detail,
    caller_token,
    may_edit_dag,
    require_same_origin,
    triggered_dag,
)
from tenant_integrity.ui.files import (
    DATA_DOCS_POLICY,
    RUN_FILE_POLICY,
    child_of,
    folder_files,
    run_file,
    run_folder,
    served,
)
from tenant_integrity.ui.queries import (
    CONN_ID,
    RATE_WINDOW_S,
    REVIEW_ROWS_LISTED,
    Run,
    bookkeeping_rows,
    existing_tables,
    get_run,
    list_runs,
    open_controls,
    review_counts,
    review_rows,
    tenant_db,
    validations,
)

OPERATOR_PAGE_PREFIX = "/tenant-integrity"  # where the plugin mounts the app on Airflow's API server
ROLLBACK_FROM = ("tenant_backfill", "tenant_review_import")  # the runs tenant_rollback can undo
REFRESH_S = 10  # the overview and a running run's page reload themselves this often

# Airflow's FastAPI security dependencies: a request without a valid session cookie or bearer token gets
# 401 (none) or 403 (invalid, or a user without the permission)
can_read = Depends(requires_access_dag("GET", DagAccessEntity.RUN, param_dag_id=settings.BACKFILL_DAG))
can_trigger_rollback = Depends(requires_access_dag("POST", DagAccessEntity.RUN, param_dag_id=settings.ROLLBACK_DAG))
# pausing, resuming and cancelling a backfill's writers edits its runs
can_control = Depends(requires_access_dag("PUT", DagAccessEntity.RUN, param_dag_id=settings.BACKFILL_DAG))

app = FastAPI(
    title="Tenant integrity",
    docs_url=None,
    redoc_url=None,
    openapi_url=None,
    dependencies=[can_read],  # every route
)


# /runs/<spec>/<run_id>/<file or view>: an error answered there links back to the run's page
RUN_PATH = re.compile(r"^/runs/(?P<spec>[^/]+)/(?P<run_id>[^/]+)(?P<rest>/.*)?$")


@app.exception_handler(StarletteHTTPException)
async def _error_page(request: Request, exc: StarletteHTTPException) -> Response:
    """A person's browser (an extra link of the Airflow UI, a link on the page) gets a page that says what is missing
    and links back to the run; a script gets FastAPI's JSON as before."""
    if "text/html" not in request.headers.get("accept", ""):
        return await http_exception_handler(request, exc)
    page = request.scope.get("root_path", "").rstrip("/")
    links = [("Tenant integrity page", f"{page}/")]
    run = RUN_PATH.match(request.scope.get("path", "").removeprefix(request.scope.get("root_path", "")))
    if run and run.group("rest"):
        spec, run_id = (quote(run.group(name), safe="") for name in ("spec", "run_id"))
        links.insert(0, ("this run's page", f"{page}/runs/{spec}/{run_id}"))
    title = {404: "Not here (yet)", 401: "Sign in to Airflow first", 403: "Not allowed"}.get(exc.status_code, "Error")
    return _render(
        request,
        "message.html",
        status_code=exc.status_code,
        title=title,
        text=str(exc.detail),
        links=links,
        headers=getattr(exc, "headers", None),
    )


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


def _render(
    request: Request, template: str, status_code: int = 200, headers: dict | None = None, **context
) -> HTMLResponse:
    page = request.scope.get("root_path", "").rstrip("/")  # /tenant-integrity (after Airflow's own root path)
    airflow = page.removesuffix(OPERATOR_PAGE_PREFIX)  # Airflow's UI and REST API
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
    return HTMLResponse(html, status_code=status_code, headers=headers)


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
        rollback_dag=triggered_dag(settings.ROLLBACK_DAG, user),
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
    return served(run_file(spec, run_id, "report.html"), RUN_FILE_POLICY, "text/html; charset=utf-8")


@app.get("/runs/{spec}/{run_id}/review.csv")
def review_csv(spec: str, run_id: str) -> StreamingResponse:
    """The run's review CSV (a dry run's review_preview.csv when there is no review.csv), as a download."""
    name = "review.csv" if "review.csv" in folder_files(spec, run_id) else "review_preview.csv"
    path = run_file(spec, run_id, name)
    download = re.sub(r"[^A-Za-z0-9._-]", "_", f"{spec}_{path.parent.name}_{name}")  # a plain name for any browser
    return served(path, RUN_FILE_POLICY, "text/csv; charset=utf-8", filename=download)


@app.get("/runs/{spec}/{run_id}/plan.json")
def plan_json(spec: str, run_id: str) -> Response:
    """A dry run's plan.json; a real run's plan as recorded in its summary."""
    if "plan.json" in folder_files(spec, run_id):
        return served(run_file(spec, run_id, "plan.json"), RUN_FILE_POLICY, "application/json")
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
                first = next(
                    iter(bookkeeping_rows(db, "data_docs_after.sql", {"spec": spec, "after": run.finished_at})), None
                )
            latest = next(iter(bookkeeping_rows(db, "data_docs_latest.sql", {"spec": spec})), None)
    after = first and storage.data_docs_key(first["data_docs"])
    if after:
        return RedirectResponse(f"{request.scope.get('root_path', '')}/data-docs/{quote(after)}", status_code=303)
    return _render(
        request,
        "data_docs_missing.html",
        status_code=404,
        run=run,
        latest=latest,
        latest_path=latest and storage.data_docs_key(latest["data_docs"]),
    )


@app.get("/runs/{spec}/{run_id}/rollback", response_class=HTMLResponse)
def rollback_form(request: Request, spec: str, run_id: str, user: GetUserDep) -> HTMLResponse:
    run = _registered(spec, run_id)
    return _render(request, "rollback.html", run=run, rollback_dag=triggered_dag(settings.ROLLBACK_DAG, user))


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
        headers={"Authorization": f"Bearer {caller_token(request)}"},
        timeout=30,
    )
    if answer.status_code != 200:
        text = f"{dag_id} is paused and Airflow did not unpause it ({answer.status_code}): {answer_detail(answer)}"
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

    require_same_origin(request)
    run = _registered(spec, run_id)
    if run.dag_id not in ROLLBACK_FROM:
        raise HTTPException(400, f"{run.dag_id} runs are not rolled back by tenant_rollback")
    refused = unpaused_or_refused(request, settings.ROLLBACK_DAG, unpause == "true", user)
    if refused is not None:
        return refused
    conf = {"spec": spec, "backfill_run_id": run_id, "dry_run": dry_run == "true"}
    base = airflow_api_base(request)
    answer = httpx.post(
        f"{base}/api/v2/dags/{settings.ROLLBACK_DAG}/dagRuns",
        json={"logical_date": None, "conf": conf, "note": f"from the Tenant integrity page: undo {spec} run {run_id}"},
        headers={"Authorization": f"Bearer {caller_token(request)}"},
        timeout=30,
    )
    if answer.status_code != 200:
        return _render(
            request,
            "message.html",
            status_code=answer.status_code,
            title="tenant_rollback not triggered",
            text=answer_detail(answer),
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

    require_same_origin(request)
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


@app.get("/runs/{spec}/{run_id}/rollbacks/{rollback_run_id}", response_class=HTMLResponse)
def rollback_triggered(request: Request, spec: str, run_id: str, rollback_run_id: str) -> HTMLResponse:
    """A tenant_rollback run of this run, as Airflow's metadata database has it."""
    run = _registered(spec, run_id)
    found = airflow_dag_run(settings.ROLLBACK_DAG, rollback_run_id)
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
        paused=bool(airflow_dag_paused(settings.ROLLBACK_DAG)),
    )


@app.get("/runs/{spec}/{run_id}/{name}")
def run_folder_file(spec: str, run_id: str, name: str) -> StreamingResponse:
    """Any other file of the run's folder by its plain name: the report's charts, report.html, CSVs, plan.json."""
    return served(run_file(spec, run_id, name), RUN_FILE_POLICY)


@app.get("/validations/{validation_no}", response_class=HTMLResponse)
def validation_page(request: Request, validation_no: int) -> HTMLResponse:
    with tenant_db() as db:
        tables = existing_tables(db)
        rows = (
            bookkeeping_rows(db, "validation.sql", {"validation_no": validation_no})
            if "tenant_validation_runs" in tables
            else []
        )
    if not rows:
        raise HTTPException(404, f"no validation {validation_no}")
    return _render(
        request,
        "validation.html",
        validation=rows[0],
        checks=[r for r in rows if r["check_name"] is not None],
        data_docs_path=storage.data_docs_key(rows[0]["data_docs"]),
    )


@app.get("/data-docs/{path:path}")
def data_docs(path: str) -> StreamingResponse:
    """GX Data Docs from the Data Docs' base (their pages link each other relatively, so they work from here)."""
    root = storage.data_docs_base()
    target = child_of(root, path)
    if not storage.is_file(target):
        raise HTTPException(404, "not found")
    return served(target, DATA_DOCS_POLICY)


@app.get("/icon.svg")
def icon() -> Response:
    """The navigation entry's icon."""
    return Response(ICON, media_type="image/svg+xml")


ICON = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="#51504f" stroke-width="2"
stroke-linecap="round" stroke-linejoin="round"><path d="M12 3l8 3v6c0 4.5-3.4 8.3-8 9-4.6-.7-8-4.5-8-9V6z"/>
<path d="M8.5 12l2.5 2.5 4.5-5"/></svg>"""
