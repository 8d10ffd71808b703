"""The 48-hour watch (tenant_watch): every hour after a real tenant_backfill run, look for what would show the
repair did not hold, and page on-call once per new leak.

For every spec whose newest succeeded tenant_backfill run ended less than WATCH_HOURS ago:

- `new_null_tenant`: active rows with a NULL tenant that the review queue does not hold (open or skipped) —
  leaks since the run, with the hour each appeared (its created_at if it was created since the run started,
  else its updated_at: an older row set back to NULL);
- `relation_mismatch:<child table>`: child rows whose tenant differs from their parent's, named by both ids
  (mismatches preflight listed before the run are the daily validation's, not new);
- `run_audit_matches`: values the run wrote (its audit) that the row no longer holds, with no later audited
  change (a rollback, a review decision, a later run) to explain it.

Each check of each watch hour is a row in `tenant_watch_history`; each row a check found is a row in
`tenant_watch_findings`, which remembers whether on-call was told. One mail per watch run names the findings
no earlier mail named; a finding that went away and came back is new again. Specs whose run ended WATCH_HOURS
ago or more, or that never had a succeeded run, are skipped with a log line.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tenant_integrity.core.records import Record
from tenant_integrity.core.spec import Spec
from tenant_integrity.repair.results import OlderMismatch
from tenant_integrity.store import bookkeeping, sql
from tenant_integrity.store.db import Database, DbTarget

log = logging.getLogger(__name__)
MismatchesBefore = dict[str, OlderMismatch]  # child table -> the mismatches preflight listed before the run

WATCH_HOURS = 48
NEW_NULL = "new_null_tenant"
MISMATCH = "relation_mismatch"  # one check per relation: relation_mismatch:<child table>
AUDIT = "run_audit_matches"
SAMPLE = 20  # findings per check in a task's result, the history row and the mail
HOUR_FORMAT = "%Y-%m-%d %H:00"
DESCRIPTIONS = {
    NEW_NULL: "active rows with a NULL tenant that the review queue does not hold: new leaks since the run",
    MISMATCH: "child rows whose tenant differs from their parent row's tenant",
    AUDIT: "values the run wrote that the row no longer holds, with no later audited change to explain it",
}


@dataclass(frozen=True)
class Finding(Record):
    """One row a check found; `row_ref` is its key as text (for a mismatch: the child row's key)."""

    row_ref: str
    table: str
    detail: str
    appeared_at: str | None  # from the data (created_at/updated_at), "YYYY-MM-DD HH:MM:SS"; None when it cannot say
    first_seen_hour: str  # the watch hour that found it first, "YYYY-MM-DD HH:00" (UTC)
    mailed: bool  # on-call was told about it by an earlier watch run

    @property
    def appeared_hour(self) -> str | None:
        return self.appeared_at[:13] + ":00" if self.appeared_at else None


@dataclass(frozen=True)
class CheckOutcome(Record):
    check: str
    table: str
    description: str
    found: int  # rows found in this watch hour
    new: int  # of them, not mailed before
    sample: tuple[Finding, ...] = ()  # the first SAMPLE of them

    @property
    def passed(self) -> bool:
        return self.found == 0


@dataclass(frozen=True)
class WatchedRun(Record):
    run_no: int
    run_id: str
    table: str
    started_at: str
    finished_at: str
    hours_since: float

    @property
    def watch_ends(self) -> str:
        """When the watch of this run ends (UTC, the database clock that wrote finished_at)."""
        ends = dt.datetime.fromisoformat(self.finished_at) + dt.timedelta(hours=WATCH_HOURS)
        return ends.strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class SpecWatch(Record):
    """One spec in one watch hour: watched (with its checks) or skipped (with the reason)."""

    spec: str
    watch_run_id: str
    watch_hour: str
    run: WatchedRun | None = None
    checks: tuple[CheckOutcome, ...] = ()
    skipped: str | None = None

    @property
    def watched(self) -> bool:
        return self.skipped is None

    @property
    def found(self) -> int:
        return sum(c.found for c in self.checks)

    @property
    def new(self) -> int:
        return sum(c.new for c in self.checks)


@dataclass(frozen=True)
class PageResult(Record):
    """What a watch run told on-call: one mail (or none) naming `new` findings."""

    mailed: bool
    new: int
    found: int
    subject: str | None = None
    body: str | None = None


# --- which run to watch -----------------------------------------------------------------------


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def watch_hour_of(moment: dt.datetime | None = None) -> dt.datetime:
    """The watch hour a moment falls in: UTC, truncated to the hour, naive (as the history stores it)."""
    moment = moment or dt.datetime.now(dt.UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.replace(minute=0, second=0, microsecond=0)


def last_backfill_run(db: Database, spec: Spec) -> tuple[WatchedRun, MismatchesBefore] | None:
    """The spec's newest succeeded real tenant_backfill run and the mismatches its preflight listed (its summary's
    relation_mismatches_before_run), or None if it never had one."""
    if not db.scalar(sql.render("watch/runs_table_exists.sql")):
        db.commit()
        return None
    rows = db.rows(sql.render("watch/last_backfill_run.sql"), {"spec": spec.name})
    db.commit()
    if not rows:
        return None
    r = rows[0]
    run = WatchedRun(
        run_no=int(r["run_no"]),
        run_id=_text(r["run_id"]),
        table=_text(r["table_name"]),
        started_at=_text(r["started_at"]),
        finished_at=_text(r["finished_at"]),
        hours_since=round(int(r["seconds_since"]) / 3600, 2),
    )
    summary = json.loads(r["summary"]) if r["summary"] else {}
    before = summary.get("relation_mismatches_before_run") or {}
    return run, {table: OlderMismatch.from_dict(older) for table, older in before.items()}


def skipped_watch(spec: Spec, watch_run_id: str, hour: dt.datetime, reason: str) -> SpecWatch:
    log.info("spec %s: not watched: %s", spec.name, reason)
    return SpecWatch(spec.name, watch_run_id, hour.strftime(HOUR_FORMAT), skipped=reason)


def watched_run(target: DbTarget, spec: Spec) -> tuple[WatchedRun | None, MismatchesBefore, str | None]:
    """(run, the mismatches before it, None) when the spec is inside its watch; (run or None, {}, why not) otherwise."""
    with target.connect() as db:
        found = last_backfill_run(db, spec)
    if found is None:
        return None, {}, "no succeeded tenant_backfill run of this spec"
    run, before = found
    if run.hours_since >= WATCH_HOURS:
        return (
            run,
            {},
            f"its last succeeded tenant_backfill run {run.run_id} (run_no {run.run_no}) ended {run.finished_at} UTC, "
            f"{run.hours_since:.1f} h ago: the watch covers the first {WATCH_HOURS} h",
        )
    return run, before, None


# --- the checks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    """A row a check found, before the findings table says whether it is new."""

    row_ref: str
    detail: str
    appeared_at: dt.datetime | None


def _new_null_rows(db: Database, spec: Spec, run: WatchedRun) -> list[_Found]:
    rows = db.rows(sql.render("watch/new_null_rows.sql", spec, run_no=run.run_no))
    found = []
    for r in rows:
        if r["created_since_run"]:
            appeared, source = r["created_at"], spec.target.created_at_column
        elif r["updated_at"] is not None:
            appeared, source = r["updated_at"], spec.target.updated_at_column
        else:
            appeared, source = None, None
        detail = (
            f"{spec.target.tenant_column} NULL since {source} {_text(appeared)}"
            if source
            else f"{spec.target.tenant_column} NULL; created before the run and no updated_at column says when it changed"
        )
        found.append(_Found(_text(r["row_id"]), detail, appeared))
    return found


def _child_keys(db: Database, spec: Spec) -> dict[str, str]:
    tables = sorted({r.table for r in spec.relations})
    if not tables:
        return {}
    rows = db.rows(sql.render("watch/primary_keys.sql"), {"tables": tuple(tables)})
    return {_text(r["table_name"]): _text(r["column_name"]) for r in rows}


def _before_run(before: MismatchesBefore, table: str) -> set[str]:
    """Parent ids preflight listed as mismatched on `table` before the run (its sample: the first 20)."""
    older = before.get(table) or OlderMismatch(rows=0)
    listed = {str(i) for i in older.sample_ids}
    if older.rows > len(listed):
        log.warning(
            "relation %s: %s mismatches existed before the run, preflight listed %s: the watch cannot tell the "
            "others from new ones and reports them (the daily validation fails on all of them anyway)",
            table,
            older.rows,
            len(listed),
        )
    return listed


def _mismatches(db: Database, spec: Spec, before: MismatchesBefore) -> dict[str, tuple[str, list[_Found]]]:
    """relation check name -> (child table, its new mismatches)."""
    child_keys = _child_keys(db, spec)
    context = sql.spec_context(spec)
    out: dict[str, tuple[str, list[_Found]]] = {}
    for relation, rendered in zip(spec.relations, context["relations"], strict=True):
        child_key = child_keys.get(relation.table)
        statement = sql.render(
            "watch/relation_mismatch.sql",
            spec,
            relation=rendered,
            child_key=sql.quote(child_key) if child_key else None,
        )
        known = _before_run(before, relation.table)
        found = []
        for r in db.rows(statement):
            parent = _text(r["parent_id"])
            if parent in known:
                continue
            child = _text(r["child_id"])
            detail = (
                f"{relation.table} {child if child is not None else '(no single-column key)'} "
                f"{relation.tenant_column} {_text(r['child_tenant'])} <> {spec.target.table} {parent} "
                f"{spec.target.tenant_column} {_text(r['parent_tenant'])}"
            )
            # no primary key to name the child by: the parent and the child's tenant name the mismatch
            found.append(_Found(child if child is not None else f"{parent}:{_text(r['child_tenant'])}", detail, None))
        out[f"{MISMATCH}:{relation.table}"] = (relation.table, found)
    return out


def _audit_changed(db: Database, spec: Spec, run: WatchedRun) -> list[_Found]:
    # the change marker a run sets with touch_updated_at moves on every save of the row: not watched
    watched = [c for c in spec.written_columns if c != spec.touched_column]
    params = {"watched_columns": tuple(watched)}
    params.update({f"watched_column_{n}": c for n, c in enumerate(watched, start=1)})
    statement = sql.render(
        "watch/run_audit_changed.sql", spec, run_no=run.run_no, watched=[sql.quote(c) for c in watched]
    )
    found: dict[str, _Found] = {}
    for r in db.rows(statement, params):
        ref = _text(r["row_id"])
        detail = (
            f"{_text(r['column_name'])}: the run wrote {_text(r['written_value'])}, now {_text(r['current_value'])}"
        )
        if ref in found:  # several columns of one row: one finding
            detail = f"{found[ref].detail}; {detail}"
        found[ref] = _Found(ref, detail, r["updated_at"])
    return list(found.values())


def _record(
    db: Database,
    spec: Spec,
    run: WatchedRun,
    check: str,
    table: str,
    found: list[_Found],
    watch_run_id: str,
    hour: dt.datetime,
) -> CheckOutcome:
    """Save the check's findings and its history row; return the outcome with what is new to on-call."""
    base = {"spec": spec.name, "run_no": run.run_no, "check_name": check, "watch_run_id": watch_run_id}
    with db.transaction():
        if found:
            db.execute_many(
                sql.render("watch/save_finding.sql"),
                [
                    {
                        **base,
                        "row_ref": f.row_ref,
                        "table_name": table,
                        "detail": f.detail[:1024],
                        "appeared_at": f.appeared_at,
                        "watch_hour": hour,
                    }
                    for f in found
                ],
            )
        db.execute(sql.render("watch/resolve_findings.sql"), {**base, "watch_hour": hour})
        rows = db.rows(sql.render("watch/current_findings.sql"), base)
        new = sum(1 for r in rows if r["mailed_at"] is None)
        sample = tuple(
            Finding(
                row_ref=_text(r["row_ref"]),
                table=_text(r["table_name"]),
                detail=_text(r["detail"]) or "",
                appeared_at=_text(r["appeared_at"]),
                first_seen_hour=r["first_seen_hour"].strftime(HOUR_FORMAT),
                mailed=r["mailed_at"] is not None,
            )
            for r in rows[:SAMPLE]
        )
        db.execute(
            sql.render("watch/save_history.sql"),
            {
                **base,
                "watch_hour": hour,
                "table_name": table,
                "found_rows": len(rows),
                "new_rows": new,
                "passed": int(not rows),
                "sample_ids": json.dumps([f.row_ref for f in sample]),
            },
        )
    description = DESCRIPTIONS[check.split(":")[0]]
    return CheckOutcome(check, table, description, found=len(rows), new=new, sample=sample)


def check_run(
    target: DbTarget, spec: Spec, run: WatchedRun, before: MismatchesBefore, watch_run_id: str, hour: dt.datetime
) -> SpecWatch:
    """Run the watch's checks on one spec's watched run and record them (tables created if missing)."""
    with target.connect() as db:
        bookkeeping.validate_against_database(db, spec)  # also: the key's kind (integer or text) for the statements
        for statement in ("create_history.sql", "create_findings.sql"):
            db.execute(sql.render(f"watch/{statement}"))
        db.commit()
        with db.transaction(read_only=True):
            found = {NEW_NULL: (spec.target.table, _new_null_rows(db, spec, run))}
            found.update(_mismatches(db, spec, before))
            found[AUDIT] = (spec.target.table, _audit_changed(db, spec, run))
        checks = tuple(
            _record(db, spec, run, check, table, rows, watch_run_id, hour) for check, (table, rows) in found.items()
        )
    result = SpecWatch(spec.name, watch_run_id, hour.strftime(HOUR_FORMAT), run=run, checks=checks)
    print(format_watch(result))  # the task output a person reads in the UI
    return result


def watch_spec(target: DbTarget, spec: Spec, watch_run_id: str, hour: dt.datetime | None = None) -> SpecWatch:
    """One spec in one watch hour: skipped outside its watch, else checked and recorded."""
    hour = watch_hour_of(hour)
    run, before, skipped = watched_run(target, spec)
    if skipped:
        return skipped_watch(spec, watch_run_id, hour, skipped)
    return check_run(target, spec, run, before, watch_run_id, hour)


# --- paging -----------------------------------------------------------------------------------


def page(
    watched: Iterable[tuple[DbTarget, SpecWatch]],
    watch_run_id: str,
    send: Callable[[str, str], None],
    log_url: str | None = None,
) -> PageResult:
    """Send one mail naming every finding no earlier mail named (none if there is none), then mark them mailed.

    The findings stay locked from the read until the mail is out: a failed send leaves them unmailed for the
    next watch hour (or this task's retry); the mark commits only after the send returned.
    """
    watched = [(t, w) for t, w in watched if w.watched]
    found = sum(w.found for _, w in watched)
    connections: list[tuple[Database, SpecWatch]] = []
    try:
        unmailed: list[tuple[SpecWatch, list[dict]]] = []
        for target, w in watched:
            db = target.connect()
            connections.append((db, w))
            db.execute("start transaction")
            rows = db.rows(sql.render("watch/unmailed_findings.sql"), {"spec": w.spec, "run_no": w.run.run_no})
            if rows:
                unmailed.append((w, rows))
        new = sum(len(rows) for _, rows in unmailed)
        if not new:
            for db, _ in connections:
                db.rollback()
            if found:
                log.info("%s finding(s), every one mailed by an earlier watch run: no mail", found)
            return PageResult(mailed=False, new=0, found=found)
        subject, body = watch_mail_subject(unmailed), watch_mail_body(unmailed, log_url)
        send(subject, body)
        for db, w in connections:
            db.execute(
                sql.render("watch/mark_mailed.sql"),
                {"spec": w.spec, "run_no": w.run.run_no, "watch_run_id": watch_run_id},
            )
            db.commit()
        return PageResult(mailed=True, new=new, found=found, subject=subject, body=body)
    finally:
        for db, _ in connections:
            db.close()


def _by_check(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(_text(r["check_name"]), []).append(r)
    return out


def watch_mail_subject(unmailed: list[tuple[SpecWatch, list[dict]]]) -> str:
    parts = [
        f"{w.spec}: " + ", ".join(f"{check} ({len(rows)})" for check, rows in _by_check(found).items())
        for w, found in unmailed
    ]
    return "[tenant_integrity] watch: new leak - " + " | ".join(parts)  # ASCII: pagers and filters


def _hour_groups(rows: list[dict]) -> list[tuple[str, list[str]]]:
    """(when, ids) in order of appearance: the hour the data says a row appeared, else the watch hour that found it."""
    groups: dict[str, list[str]] = {}
    for r in rows:
        if r["appeared_at"] is not None:
            when = f"appeared in hour {r['appeared_at'].strftime(HOUR_FORMAT)}"
        else:
            when = (
                f"first found in watch hour {r['first_seen_hour'].strftime(HOUR_FORMAT)} UTC "
                "(the data does not say when it appeared)"
            )
        groups.setdefault(when, []).append(_text(r["row_ref"]))
    return sorted(groups.items())


def watch_mail_body(unmailed: list[tuple[SpecWatch, list[dict]]], log_url: str | None = None) -> str:
    """The on-call mail (HTML): per spec and check the new rows, grouped by the hour they appeared, up to 20 each."""
    from html import escape

    out = [f"<h2>tenant_watch: new leak(s) within {WATCH_HOURS} hours of a backfill</h2>"]
    for w, rows in unmailed:
        run = w.run
        out.append(
            f"<h3>spec {escape(w.spec)} — table {escape(run.table)}; watched run {escape(run.run_id)} "
            f"(run_no {run.run_no}) ended {escape(run.finished_at)} UTC; the watch ends {run.watch_ends} UTC</h3><ul>"
        )
        for check, found in _by_check(rows).items():
            table = _text(found[0]["table_name"])
            out.append(f"<li><b>{escape(check)}</b> on {escape(table)}: {len(found)} new row(s)<br>")
            shown = 0
            for when, ids in _hour_groups(found):
                if shown >= SAMPLE:
                    break
                ids = ids[: SAMPLE - shown]
                shown += len(ids)
                out.append(f"{escape(when)}: ids {escape(', '.join(ids))}<br>")
            details = [f"{_text(r['row_ref'])}: {_text(r['detail'])}" for r in found[:SAMPLE]]
            out.append("<small>" + "<br>".join(escape(d) for d in details) + "</small><br>")
            out.append(f"<i>{escape(DESCRIPTIONS[check.split(':')[0]])}</i></li>")
        already = [c for c in w.checks if c.found > c.new]
        for c in already:
            out.append(
                f"<li>{escape(c.check)}: {c.found - c.new} row(s) still found, mailed by an earlier watch run</li>"
            )
        out.append("</ul>")
    if log_url:
        out.append(f'<p>Airflow run and task logs: <a href="{escape(log_url)}">{escape(log_url)}</a></p>')
    out.append("<p>What to do: README.md, section 'The 48-hour watch'.</p>")
    return "\n".join(out)


# --- for people: the task output ------------------------------------------------------------------


def format_watch(w: SpecWatch) -> str:
    if not w.watched:
        return f"spec {w.spec}: not watched: {w.skipped}"
    run = w.run
    verdict = "clean" if not w.found else f"{w.found} finding(s), {w.new} not mailed before"
    lines = [
        f"watch of spec {w.spec} (table {run.table}), hour {w.watch_hour} UTC: run {run.run_id} (run_no {run.run_no}) "
        f"ended {run.finished_at} UTC, {run.hours_since:.1f} h ago (watched until {run.watch_ends} UTC): {verdict}"
    ]
    for c in w.checks:
        ids = ", ".join(f.row_ref for f in c.sample[:10])
        lines.append(f"  {c.check:<40} {'ok' if c.passed else 'FOUND'}  found {c.found}  new {c.new}  {ids}")
    return "\n".join(lines)
