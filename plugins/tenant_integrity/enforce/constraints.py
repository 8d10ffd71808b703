"""tenant_constraints: NOT NULL on the tenant column and a foreign key to the tenant table, once it is safe.

Applied only when ALL of these hold, otherwise the run fails listing every reason and changes nothing:
the newest `clean_days` validations passed (on `clean_days` different days); no row has a NULL tenant,
soft-deleted ones included; every tenant exists; the session's sql_mode is strict (a non-strict
`MODIFY … NOT NULL` silently turns NULL into 0); the tenant column's type equals the tenant key's.

Soft-deleted rows with a NULL tenant get an explicit way out: `archive_orphans` moves those that no
related row points to into `tenant_archive_<table>`, with backup + audit. Never a silent 0, never an
invented tenant. The DDL runs online (ALGORITHM=INPLACE, LOCK=NONE) where the server can, and the
log says when it cannot; a dry run prints the exact statements.
"""

from __future__ import annotations

import dataclasses
import logging

import MySQLdb

from tenant_integrity.core.errors import ParamError, TenantIntegrityError
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import IDENTIFIER, Spec
from tenant_integrity.enforce import ddl
from tenant_integrity.engine import runner
from tenant_integrity.engine.recipe import ChunkResult, Recipe
from tenant_integrity.engine.write_step import ScratchStatements, apply_decided_rows, scratch_statements
from tenant_integrity.repair.results import AppliedStatement, ArchiveResult, ConstraintsResult
from tenant_integrity.repair.run_registry import close_run, register_run
from tenant_integrity.store import bookkeeping, sql
from tenant_integrity.store.db import Database, DbTarget

log = logging.getLogger(__name__)
ONLINE = ", algorithm=inplace, lock=none"
NOT_ONLINE_ERRORS = {1845, 1846}  # ALGORITHM=… / LOCK=… is not supported for this operation
ARCHIVE_PREFIX = bookkeeping.ARCHIVE_PREFIX
SAMPLE_IDS = 20  # ids a refusal names


class ConstraintsRefused(TenantIntegrityError):
    def __init__(self, spec: Spec, reasons: list[str]):
        self.reasons = reasons
        listing = "\n".join(f"  - {r}" for r in reasons)
        super().__init__(
            f"spec {spec.name!r}: NOT NULL + foreign key on {spec.target.table}.{spec.target.tenant_column} refused, "
            f"nothing changed ({len(reasons)} reason(s)):\n{listing}"
        )


class ConstraintsLockTimeout(TenantIntegrityError):
    """The DDL did not get the table's metadata lock in time (a long transaction holds it): a later attempt may."""

    retryable = True


def constraints_from_params(target: DbTarget, spec: Spec, ctx: RunContext, params: dict) -> ConstraintsResult:
    clean_days = params.get("clean_days", 7)
    if isinstance(clean_days, bool) or not isinstance(clean_days, int) or not 1 <= clean_days <= 365:
        raise ParamError(f"clean_days must be an integer from 1 to 365, got {clean_days!r}")
    archive = params.get("archive_orphans", False)
    if not isinstance(archive, bool):
        raise ParamError(f"archive_orphans must be true or false, got {archive!r}")
    return apply_constraints(target, spec, ctx, clean_days, archive)


def _names(spec: Spec) -> dict:
    fk = f"fk_{spec.target.table}_{spec.target.tenant_column}"[:64]
    archive = f"{ARCHIVE_PREFIX}{spec.target.table}"
    for name in (fk, archive):
        if not IDENTIFIER.match(name):
            raise TenantIntegrityError(f"spec {spec.name!r}: derived name {name!r} is not a valid identifier")
    return {"fk": fk, "archive": archive}


def _signature(column: dict) -> str:
    return column["data_type"].lower() + (" unsigned" if "unsigned" in column["column_type"].lower() else "")


def _facts(db: Database, spec: Spec) -> dict:
    t, tt = spec.target, spec.tenant_table
    where = {"table": t.table, "column": t.tenant_column, "tenant_table": tt.table, "tenant_key": tt.key}
    columns = {
        (r["table_name"], r["column_name"]): r for r in db.rows(sql.render("constraints/column_facts.sql"), where)
    }
    nulls = db.rows(sql.render("constraints/count_null_tenant_rows.sql", spec))[0]
    facts = {
        "column": columns[(t.table, t.tenant_column)],
        "tenant_key": columns[(tt.table, tt.key)],
        "null_active": int(nulls["active"] or 0),
        "null_soft_deleted": int(nulls["soft_deleted"] or 0),
        "unknown": db.rows(sql.render("constraints/unknown_tenants.sql", spec)),
        "sql_mode": db.scalar(sql.render("constraints/session_sql_mode.sql")) or "",
        "foreign_key": db.scalar(sql.render("constraints/existing_foreign_key.sql"), where),
    }
    db.commit()
    return facts


NO_HISTORY = "no validation history yet: tenant_validation_daily has never run for this database"


def _history_reasons(db: Database, spec: Spec, clean_days: int) -> list[str]:
    """Why the daily validations do not yet show `clean_days` clean days (none when they do)."""
    if "tenant_validation_runs" not in bookkeeping.read_schema(db, ["tenant_validation_runs"])[0]:
        return [NO_HISTORY]
    recent = db.rows(sql.render("constraints/recent_validations.sql"), {"spec": spec.name, "clean_days": clean_days})
    db.commit()
    failed = [r for r in recent if not r["passed"]]
    days = {r["day"] for r in recent}
    reasons = []
    if len(recent) < clean_days:
        reasons.append(
            f"only {len(recent)} finished validation(s) recorded; {clean_days} clean daily validations are required"
        )
    if failed:
        listed = ", ".join(f"#{r['validation_no']} on {r['day']}" for r in failed)
        reasons.append(f"validation(s) {listed} failed within the last {clean_days}")
    elif len(recent) == clean_days and len(days) < clean_days:
        reasons.append(
            f"the last {clean_days} validations fall on only {len(days)} day(s); {clean_days} different days are required"
        )
    return reasons


def _reasons(db: Database, spec: Spec, facts: dict, clean_days: int, archivable: int) -> list[str]:
    """Every reason to refuse, not the first one: a person fixes them all before the next attempt."""
    reasons = _history_reasons(db, spec, clean_days)
    remaining_soft = facts["null_soft_deleted"] - archivable
    if facts["null_active"] or remaining_soft:
        # the rows that stay NULL: an archive that is asked for moves the others
        staying = [
            spec.target_key.parse(r["row_id"])
            for r in db.rows(
                sql.render("constraints/staying_null_rows.sql", spec),
                {"archiving": bool(archivable), "sample_size": SAMPLE_IDS},
            )
        ]
        db.commit()
        reasons.append(
            f"{facts['null_active'] + remaining_soft} row(s) have a NULL {spec.target.tenant_column} "
            f"({facts['null_active']} active, {remaining_soft} soft-deleted"
            + (f" after archiving {archivable}" if archivable else "")
            + f"; ids {staying}): resolve them (tenant_review_import"
            + ("" if archivable else ", or archive_orphans for soft-deleted ones")
            + ")"
        )
    if facts["unknown"]:
        ids = [f"{r['row_id']}→{r['tenant']}" for r in facts["unknown"]]
        reasons.append(f"tenant values missing from {spec.tenant_table.table}: {', '.join(ids)}")
    mode = facts["sql_mode"].upper()
    if "STRICT_TRANS_TABLES" not in mode and "STRICT_ALL_TABLES" not in mode:
        reasons.append(
            f"the session's sql_mode is not strict ({facts['sql_mode'] or 'empty'}): MODIFY … NOT NULL would turn NULL into 0"
        )
    if _signature(facts["column"]) != _signature(facts["tenant_key"]):
        reasons.append(
            f"{spec.target.table}.{spec.target.tenant_column} is {facts['column']['column_type']} but "
            f"{spec.tenant_table.table}.{spec.tenant_table.key} is {facts['tenant_key']['column_type']}"
        )
    return reasons


def ddl_statements(db: Database, spec: Spec, facts: dict) -> list[str]:
    """The exact statements (online form); a part that is already in place is left out."""
    t, q = spec.target, sql.quote
    statements = []
    if facts["column"]["is_nullable"] == "YES":
        comment = facts["column"]["column_comment"]
        # DDL cannot bind parameters: the comment is escaped by the driver
        tail = f" comment {db.conn.literal(comment).decode()}" if comment else ""
        statements.append(
            f"alter table {q(t.table)} modify {q(t.tenant_column)} {bookkeeping.SqlType(facts['column']['column_type'])} not null{tail}{ONLINE}"
        )
    if not facts["foreign_key"]:
        statements.append(
            f"alter table {q(t.table)} add constraint {q(_names(spec)['fk'])} foreign key ({q(t.tenant_column)}) "
            f"references {q(spec.tenant_table.table)} ({q(spec.tenant_table.key)}) on delete restrict{ONLINE}"
        )
    return statements


def _count_archivable(db: Database, spec: Spec, ctx: RunContext) -> int:
    """How many soft-deleted NULL rows archive_orphans would move (read-only)."""
    statement = sql.render("constraints/count_archivable.sql", spec)
    count = int(db.scalar(statement) or 0)
    db.commit()
    return count


def archive_orphans(target: DbTarget, spec: Spec, ctx: RunContext) -> ArchiveResult:
    """Move soft-deleted NULL-tenant rows that no related row points to into the archive table."""
    names = _names(spec)
    with target.connect() as db:
        columns = bookkeeping.validate_against_database(db, spec)
        walk = ArchiveWalk(spec, ctx, names["archive"], bookkeeping.target_columns(spec, columns))
        db.execute(sql.render("constraints/create_archive_table.sql", spec, **walk.render))
        db.commit()
    done = runner.run(target, spec, dataclasses.replace(ctx, workers=1), walk)
    archived = done.sample_ids
    log.info(
        "spec %s: archived %s soft-deleted orphan(s) into %s: %s", spec.name, done.rows, names["archive"], archived
    )
    return ArchiveResult(archived=done.rows, archived_ids=tuple(archived), archive_table=names["archive"])


@dataclasses.dataclass(frozen=True)
class ArchiveStatements:
    """The archive walk's statements: lock a chunk, decide its archivable orphans, copy them to the archive table."""

    scratch: ScratchStatements
    lock: str
    decide: str
    copy: str


class ArchiveWalk(Recipe):
    """Soft-deleted NULL-tenant rows in key order; a chunk copies the ones no related row points to into the
    archive table, backs them up, audits them and deletes them."""

    phase = "archive_orphans"

    def __init__(self, spec: Spec, ctx: RunContext, archive_table: str, backup_columns: list[dict]):
        self.spec = spec
        self.render = {"archive_table": sql.quote(archive_table), "backup_columns": backup_columns}
        self.params = {
            "run_id": ctx.run_id,
            "spec": spec.name,
            "table_name": spec.target.table,
            "column_name": spec.target.key,
            "source": archive_table,
            "action": "archive",
        }
        self.next_end_sql = sql.render("constraints/archivable_orphan_chunk_end.sql", spec)

    def prepare(self, db: Database) -> ArchiveStatements:
        spec = self.spec
        return ArchiveStatements(
            scratch=scratch_statements(db, spec),
            lock=sql.render("backfill/lock_chunk.sql", spec),
            decide=sql.render("constraints/decide_archive_chunk.sql", spec),
            copy=sql.render("constraints/archive_chunk.sql", spec, **self.render),
        )

    def count(self, db: Database) -> int:
        return int(db.scalar(sql.render("constraints/count_archivable.sql", self.spec)) or 0)

    def first_key(self, db: Database, until):
        return self.spec.target_key.lowest

    def next_end(self, db: Database, after, size: int, until):
        row = db.rows(self.next_end_sql, {"after": after, "batch_size": size})[0]
        if row["chunk_end"] is None:
            return None
        return self.spec.target_key.parse(row["chunk_end"]), int(row["chunk_rows"])

    def process(self, db: Database, st: ArchiveStatements, lo, hi, samples_wanted: int) -> ChunkResult:
        params = {**self.params, "lo": lo, "hi": hi}
        db.execute(st.lock, params)
        db.execute(st.scratch.clear)
        db.execute(st.decide, params)
        if not int(db.scalar(st.scratch.count)):
            return ChunkResult(rows=0)
        db.execute(st.copy, params)
        ids = apply_decided_rows(
            db,
            self.spec,
            self.phase,
            st.scratch,
            params,
            "constraints/audit_archive.sql",
            "constraints/delete_archived.sql",
        )
        return ChunkResult(rows=len(ids), sample_ids=ids[:samples_wanted])


def apply_constraints(
    target: DbTarget, spec: Spec, ctx: RunContext, clean_days: int, archive: bool
) -> ConstraintsResult:
    """Refuse with every reason, or (a real run) archive the orphans if asked and run the DDL; the run's
    tenant_runs row ends succeeded or failed with its result."""
    with target.connect(lock_wait_timeout=10) as db:
        bookkeeping.validate_against_database(db, spec)
        facts = _facts(db, spec)
        archivable = _count_archivable(db, spec, ctx) if archive else 0
        reasons = _reasons(db, spec, facts, clean_days, archivable)
        if reasons:
            raise ConstraintsRefused(spec, reasons)
        statements = ddl_statements(db, spec, facts)
    planned = ConstraintsResult(spec.name, ctx.dry_run, archivable, tuple(statements))
    if ctx.dry_run:
        log.info("dry run: would run\n%s", "\n".join(s + ";" for s in statements) or "(nothing: already in place)")
        return planned
    ctx = dataclasses.replace(ctx, run_no=register_run(target, spec, ctx))
    try:
        result = _apply(target, spec, ctx, clean_days, planned)
    except Exception as exc:  # DDL errors too: the run's row says why (a retry registers it as running again)
        close_run(target, ctx.run_no, "failed", {**planned.to_dict(), "error": str(exc)})
        raise
    close_run(target, ctx.run_no, "succeeded", result.to_dict())
    return result


def _apply(
    target: DbTarget, spec: Spec, ctx: RunContext, clean_days: int, planned: ConstraintsResult
) -> ConstraintsResult:
    archived = archive_orphans(target, spec, ctx) if planned.archivable_orphans else None
    with target.connect(lock_wait_timeout=10) as db:
        facts = _facts(db, spec)
        reasons = _reasons(db, spec, facts, clean_days, 0)
        if reasons:  # something moved while we archived
            raise ConstraintsRefused(spec, reasons)
        applied = ddl.run_ddl(
            db,
            spec,
            ddl_statements(db, spec, facts),
            seconds=ddl.DDL_LOCK_WAIT_SECONDS,
            lock_timeout=ConstraintsLockTimeout,
            execute=_online_or_default,
        )
        after = _facts(db, spec)
    return dataclasses.replace(
        planned,
        archive=archived,
        applied=tuple(applied),
        not_null=after["column"]["is_nullable"] == "NO",
        foreign_key=after["foreign_key"],
    )


def _online_or_default(db: Database, statement: str) -> AppliedStatement:
    """Run a statement online (ALGORITHM=INPLACE, LOCK=NONE); where the server cannot, with its default algorithm."""
    try:
        db.execute(statement)
        log.info("applied online: %s", statement)
        return AppliedStatement(statement, online=True)
    except MySQLdb.OperationalError as exc:
        if exc.args[0] not in NOT_ONLINE_ERRORS:
            raise
        offline = statement.removesuffix(ONLINE)
        log.warning(
            "the server cannot do this online (%s); running it with the default algorithm: %s", exc.args[1], offline
        )
        db.execute(offline)
        return AppliedStatement(offline, online=False, why_not_online=exc.args[1])
