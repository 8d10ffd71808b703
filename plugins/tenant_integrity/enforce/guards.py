"""tenant_guard: triggers that keep new NULL tenants out of the target table once it is repaired.

Three modes, each a BEFORE/AFTER INSERT and UPDATE trigger pair on the spec's target table:

- `fill`: a NULL tenant is derived from the spec's first `parent` evidence (the parent row named by
  NEW.<foreign_key> and its tenant, when it names exactly one tenant that exists in the tenant table);
  still NULL otherwise (fill only fills, it never refuses). BEFORE triggers `tenant_guard_<table>_bi/_bu`.
- `log`: the row goes in; a NULL tenant is recorded in `tenant_guard_log` (table, column, key, event,
  user(), UTC time). AFTER triggers `tenant_guard_<table>_ai/_au`: after an insert the auto-increment key
  is the real one (a BEFORE INSERT trigger sees 0), and the row logged is the row as stored, after every
  BEFORE trigger of the application. The log row is written in the writer's own statement: it is rolled
  back with it.
- `reject`: `SIGNAL SQLSTATE '45000'` (error 1644) naming the table, the column and the key.
  BEFORE triggers `tenant_guard_<table>_bi/_bu`.

An UPDATE is guarded when it *makes* the tenant NULL (OLD not NULL, NEW NULL). Rows that were NULL before
the guard are the backfill's (backed up, audited, reviewed): an update that leaves such a row NULL passes
in every mode, so the backfill's own writes (it only ever sets tenants, or soft-deletes an orphan that
stays NULL) and the application's edits of such rows are never blocked, filled or logged behind the
audit's back. tenant_rollback restores NULLs: uninstall the guard before a rollback.

The application's own triggers are never replaced: ours have fixed names, a trigger that merely bears one
of those names is refused, and uninstall drops only ours (told apart by the label `tenant_guard_mode_<mode>`
their body starts with, which is also how `status` reads the mode). Each of ours FOLLOWS the application's
last trigger of the same timing and event, so a fill or a reject sees the values the application's BEFORE
triggers set; a trigger the application adds later fires after ours until the guard is installed again.

Install is idempotent (an identical trigger in the right order is left alone), and switching mode replaces
only ours: new triggers are created first (MariaDB: `CREATE OR REPLACE TRIGGER`, one statement), then
the other mode's are dropped, so a failure half-way leaves more guarding, never less. Each DDL waits at most
`lock_wait_timeout` seconds for the table's metadata lock (while it waits, the application's statements on
the table queue behind it); a timeout is a clear error naming the table and the open transactions.

Grants: installing needs TRIGGER on the table (and CREATE for `tenant_guard_log` in log mode); a trigger
runs with its definer's rights, so the installing user also needs SELECT on the parent and tenant tables
(fill) or INSERT on `tenant_guard_log` (log). With binary logging on, a user without SUPER can create
triggers only when the server sets `log_bin_trust_function_creators = 1`.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass

import MySQLdb

from tenant_integrity.core.errors import ParamError, TenantIntegrityError
from tenant_integrity.core.records import Record
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import IDENTIFIER, Evidence, Spec
from tenant_integrity.enforce import ddl
from tenant_integrity.store import bookkeeping, sql
from tenant_integrity.store.db import Database, DbTarget

log = logging.getLogger(__name__)

MODES = ("fill", "log", "reject")
ACTIONS = ("install", "uninstall", "status")
LOG_TABLE = bookkeeping.GUARD_LOG_TABLE
LOCK_WAIT_SECONDS_DEFAULT = ddl.DDL_LOCK_WAIT_SECONDS
LAST_LOG_ROWS = 10
LABEL_PREFIX = "tenant_guard_mode_"
# (suffix, timing, event) of each mode's triggers
TRIGGERS = {
    "fill": (("bi", "BEFORE", "INSERT"), ("bu", "BEFORE", "UPDATE")),
    "reject": (("bi", "BEFORE", "INSERT"), ("bu", "BEFORE", "UPDATE")),
    "log": (("ai", "AFTER", "INSERT"), ("au", "AFTER", "UPDATE")),
}
SUFFIXES = ("bi", "bu", "ai", "au")
_LABEL = re.compile(rf"^\s*{LABEL_PREFIX}({'|'.join(MODES)})\s*:\s*begin\b", re.IGNORECASE)
# TRIGGER/CREATE/INSERT denied, SUPER needed, binary logging without SUPER / log_bin_trust_function_creators
PRIVILEGE_ERRORS = {1044, 1142, 1143, 1227, 1419}


class GuardError(TenantIntegrityError):
    """A guard cannot be installed as asked (no parent evidence for fill, a foreign trigger with our name…)."""


class GuardLockTimeout(GuardError):
    """The trigger DDL did not get the table's metadata lock in time: a later attempt may."""

    retryable = True


class GuardPrivilegeError(GuardError):
    """The server refused the DDL for lack of a grant."""


@dataclass(frozen=True)
class GuardTrigger(Record):
    """One trigger on the target table; `mode` is set for tenant_guard's own, None for the application's."""

    name: str
    timing: str  # BEFORE | AFTER
    event: str  # INSERT | UPDATE | DELETE
    action_order: int
    mode: str | None = None


@dataclass(frozen=True)
class GuardLogEntry(Record):
    """One NULL tenant a log-mode guard let in."""

    id: int
    table_name: str
    column_name: str
    row_key: int | str  # the target's key (integer, or text)
    event: str
    connection_user: str
    logged_at: str  # UTC, ISO format


@dataclass(frozen=True)
class GuardStatus(Record):
    """The guard of one spec's target table: installed triggers, the application's, and what log recorded."""

    spec: str
    table: str
    tenant_column: str
    mode: str | None  # the installed mode; None: no guard; "mixed": triggers of several modes
    complete: bool  # every trigger of that mode is there
    triggers: tuple[GuardTrigger, ...]  # tenant_guard's own
    application_triggers: tuple[GuardTrigger, ...]
    log_rows: int  # rows in tenant_guard_log for this table (0 when the log table does not exist)
    last_log: tuple[GuardLogEntry, ...] = ()  # newest first

    @property
    def installed(self) -> bool:
        return bool(self.triggers)


@dataclass(frozen=True)
class GuardChange(Record):
    """What an install or uninstall did (or, in a dry run, would do) and the guard's state after it."""

    spec: str
    table: str
    action: str
    mode: str | None
    dry_run: bool
    ddl: tuple[str, ...]  # the exact statements, each sent as one statement (no DELIMITER)
    status: GuardStatus  # after the change; in a dry run the current state


# --- names and reading the live state ----------------------------------------------------------


def trigger_name(spec: Spec, suffix: str) -> str:
    name = f"tenant_guard_{spec.target.table}_{suffix}"
    if not IDENTIFIER.match(name):
        raise GuardError(
            f"spec {spec.name!r}: trigger name {name!r} would be longer than 64 characters "
            f"(table {spec.target.table!r}); tenant_guard cannot name its triggers for this table"
        )
    return name


def first_parent(spec: Spec, mode: str = "fill") -> Evidence:
    for evidence in spec.evidence:
        if evidence.parent:
            return evidence
    names = ", ".join(e.name for e in spec.evidence)
    raise GuardError(
        f"spec {spec.name!r}: mode {mode} needs a parent evidence (an evidence source with "
        f"parent: {{foreign_key, table, key, tenant_column}}); its evidence sources ({names}) name none. "
        "Use mode log or reject for this table."
    )


def _mode_of(row: dict) -> str | None:
    match = _LABEL.match(row["action_statement"] or "")
    return match.group(1).lower() if match else None


def _read_triggers(db: Database, spec: Spec) -> tuple[list[GuardTrigger], list[GuardTrigger], dict[str, str]]:
    """(ours, the application's, body of each of ours). A trigger is ours if it has one of our names and our label."""
    ours_names = {trigger_name(spec, s) for s in SUFFIXES}
    ours, theirs, bodies = [], [], {}
    for row in db.rows(sql.render("guards/table_triggers.sql"), {"table": spec.target.table}):
        mode = _mode_of(row) if row["trigger_name"] in ours_names else None
        trigger = GuardTrigger(
            name=row["trigger_name"],
            timing=row["action_timing"].upper(),
            event=row["event_manipulation"].upper(),
            action_order=int(row["action_order"]),
            mode=mode,
        )
        if mode:
            ours.append(trigger)
            bodies[trigger.name] = row["action_statement"]
        else:
            theirs.append(trigger)
    db.commit()
    return ours, theirs, bodies


def _log_table_exists(db: Database) -> bool:
    found = db.rows(sql.render("guards/log_table_exists.sql"), {"log_table": LOG_TABLE})
    db.commit()
    return bool(found)


def read_status(db: Database, spec: Spec, last: int = LAST_LOG_ROWS) -> GuardStatus:
    """The guard of a spec whose schema the caller has already checked, on the caller's connection."""
    ours, theirs, _ = _read_triggers(db, spec)
    modes = {t.mode for t in ours}
    mode = None if not modes else modes.pop() if len(modes) == 1 else "mixed"
    complete = mode in TRIGGERS and {t.name for t in ours} == {trigger_name(spec, s) for s, _, _ in TRIGGERS[mode]}
    log_rows, entries = 0, ()
    if _log_table_exists(db):
        params = {"table": spec.target.table, "limit": int(last)}
        log_table = sql.quote(LOG_TABLE)
        log_rows = int(db.scalar(sql.render("guards/count_log.sql", log_table=log_table), params) or 0)
        entries = tuple(
            GuardLogEntry(
                id=int(r["id"]),
                table_name=r["table_name"],
                column_name=r["column_name"],
                row_key=r["row_key"] if r["row_key"] else int(r["row_id"]),
                event=r["event"],
                connection_user=r["connection_user"],
                logged_at=r["logged_at"].isoformat(sep=" "),
            )
            for r in db.rows(sql.render("guards/last_log_rows.sql", log_table=log_table), params)
        )
        db.commit()
    return GuardStatus(
        spec=spec.name,
        table=spec.target.table,
        tenant_column=spec.target.tenant_column,
        mode=mode,
        complete=bool(complete),
        triggers=tuple(ours),
        application_triggers=tuple(theirs),
        log_rows=log_rows,
        last_log=entries,
    )


def status(target: DbTarget, spec: Spec, last: int = LAST_LOG_ROWS) -> GuardStatus:
    """Which guard triggers are installed on the spec's target (mode from their label) and what log recorded."""
    with target.connect() as db:
        bookkeeping.validate_against_database(db, spec)
        return read_status(db, spec, last)


# --- the DDL -------------------------------------------------------------------------------------


def _literal(db: Database, statement: str, params: dict) -> str:
    """The statement as the driver sends it: DDL cannot bind parameters, so the driver escapes each value."""
    return statement % {k: db.conn.literal(v).decode("utf-8") for k, v in params.items()}


def _trigger_statement(
    db: Database, spec: Spec, mode: str, suffix: str, timing: str, event: str, follows: str | None, replace: bool
) -> str:
    t = spec.target
    update = event == "UPDATE"
    if update:
        message = f"tenant_guard: update of {t.table} refused: it sets {t.tenant_column} to NULL ({t.key} "
    else:
        message = f"tenant_guard: insert into {t.table} refused: {t.tenant_column} is NULL ({t.key} "
    parent = None
    if mode == "fill":
        number = spec.evidence.index(first_parent(spec, mode))
        parent = sql.spec_context(spec)["evidence"][number]
    statement = sql.render(
        "guards/create_trigger.sql",
        spec,
        trigger=sql.quote(trigger_name(spec, suffix)),
        after=timing == "AFTER",
        update=update,
        follows=sql.quote(follows) if follows else None,
        create_or_replace=replace,
        label=sql.Ident(f"{LABEL_PREFIX}{mode}"),
        fill=mode == "fill",
        log=mode == "log",
        reject=mode == "reject",
        parent=parent,
        log_table=sql.quote(LOG_TABLE),
    )
    # values only from validated identifiers and fixed words, escaped by the driver
    params = {
        "table_name": t.table,
        "column_name": t.tenant_column,
        "event": event.lower(),
        "message": message,
        "no_key": "NULL" if spec.target_key.text or update else "not yet assigned",
    }
    return _literal(db, statement, params)


def _body(statement: str) -> str:
    """What the server stores as the trigger's action_statement: the text from our label on."""
    return statement[statement.index(LABEL_PREFIX) :]


def _follows(theirs: list[GuardTrigger], timing: str, event: str) -> tuple[str | None, int]:
    """The application's last trigger of this timing and event (ours fires after it), and its position."""
    same = [t for t in theirs if (t.timing, t.event) == (timing, event)]
    if not same:
        return None, 0
    last = max(same, key=lambda t: t.action_order)
    if not IDENTIFIER.match(last.name):
        log.warning(
            "trigger %r cannot be named in FOLLOWS (not a plain identifier); ours is created after it anyway", last.name
        )
        return None, last.action_order
    return last.name, last.action_order


def install_ddl(db: Database, spec: Spec, mode: str) -> list[str]:
    """The statements that make `mode` the guard of the spec's target; none when it already is."""
    if mode not in MODES:
        raise ParamError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "fill":
        first_parent(spec, mode)
    ours, theirs, bodies = _read_triggers(db, spec)
    _refuse_foreign_namesakes(spec, theirs)
    replace_in_one = db.server_is_mariadb()  # MariaDB replaces a trigger in one statement, MySQL cannot
    db.commit()
    statements = []
    if mode == "log" and not _log_table_exists(db):
        statements.append(sql.render("guards/create_log_table.sql", log_table=sql.quote(LOG_TABLE)))
    wanted = set()
    by_name = {t.name: t for t in ours}
    for suffix, timing, event in TRIGGERS[mode]:
        name = trigger_name(spec, suffix)
        wanted.add(name)
        follows, after_order = _follows(theirs, timing, event)
        existing = by_name.get(name)
        statement = _trigger_statement(db, spec, mode, suffix, timing, event, follows, replace_in_one)
        if existing and bodies[name] == _body(statement) and existing.action_order > after_order:
            continue  # already this mode, after the application's triggers: nothing to do
        if existing and not replace_in_one:  # MySQL has no CREATE OR REPLACE TRIGGER
            statements.append(sql.render("guards/drop_trigger.sql", trigger=sql.quote(name)))
        statements.append(statement)
    for trigger in ours:
        if trigger.name not in wanted:  # the other mode's: dropped after ours are in place
            statements.append(sql.render("guards/drop_trigger.sql", trigger=sql.quote(trigger.name)))
    return statements


def uninstall_ddl(db: Database, spec: Spec) -> list[str]:
    ours, _, _ = _read_triggers(db, spec)
    return [sql.render("guards/drop_trigger.sql", trigger=sql.quote(t.name)) for t in ours]


def _refuse_foreign_namesakes(spec: Spec, theirs: list[GuardTrigger]) -> None:
    names = {trigger_name(spec, s) for s in SUFFIXES}
    foreign = sorted(t.name for t in theirs if t.name in names)
    if foreign:
        raise GuardError(
            f"spec {spec.name!r}: trigger(s) {', '.join(foreign)} on {spec.target.table} bear tenant_guard's names "
            f"but were not installed by it (their body does not start with {LABEL_PREFIX}<mode>:); "
            "tenant_guard never replaces a trigger it did not install: rename or drop them first"
        )


def _refused(exc: MySQLdb.MySQLError, spec: Spec, applied: str) -> Exception | None:
    code = exc.args[0] if exc.args else None
    if code not in PRIVILEGE_ERRORS:
        return None
    return GuardPrivilegeError(
        f"spec {spec.name!r}: the server refused the trigger DDL on {spec.target.table} "
        f"(error {code}: {exc.args[1]}). Installing a guard needs TRIGGER on the table (CREATE for "
        f"{LOG_TABLE} in log mode, and the rights the trigger body uses: SELECT on the parent and "
        f"tenant tables for fill, INSERT on {LOG_TABLE} for log); with binary logging on, a user "
        f"without SUPER also needs the server to set log_bin_trust_function_creators = 1.{applied}"
    )


def format_ddl(statements: list[str] | tuple[str, ...]) -> str:
    """The statements for a person: pasteable into the mysql client (which needs DELIMITER for BEGIN…END)."""
    if not statements:
        return "(nothing to do: already in place)"
    return "delimiter //\n" + "\n".join(f"{s}\n//" for s in statements) + "\ndelimiter ;"


def _change(
    target: DbTarget, spec: Spec, action: str, mode: str | None, dry_run: bool, lock_wait_timeout: int
) -> GuardChange:
    if isinstance(lock_wait_timeout, bool) or not isinstance(lock_wait_timeout, int) or lock_wait_timeout < 1:
        raise ParamError(f"lock_wait_timeout must be a positive number of seconds, got {lock_wait_timeout!r}")
    with target.connect() as db:
        bookkeeping.validate_against_database(db, spec)
        statements = install_ddl(db, spec, mode) if action == "install" else uninstall_ddl(db, spec)
        if dry_run:
            log.info("dry run: tenant_guard %s would run\n%s", action, format_ddl(statements))
        elif statements:
            ddl.run_ddl(
                db,
                spec,
                statements,
                seconds=lock_wait_timeout,
                lock_timeout=GuardLockTimeout,
                what="the trigger DDL",
                again="run the guard again",
                refused=lambda exc, applied: _refused(exc, spec, applied),
            )
        after = read_status(db, spec)
    return GuardChange(
        spec=spec.name,
        table=spec.target.table,
        action=action,
        mode=mode,
        dry_run=dry_run,
        ddl=tuple(statements),
        status=after,
    )


def install(
    target: DbTarget, spec: Spec, mode: str, dry_run: bool = True, lock_wait_timeout: int = LOCK_WAIT_SECONDS_DEFAULT
) -> GuardChange:
    """Make `mode` the guard of the spec's target table (a dry run only computes the exact DDL)."""
    return _change(target, spec, "install", mode, dry_run, lock_wait_timeout)


def uninstall(
    target: DbTarget, spec: Spec, dry_run: bool = True, lock_wait_timeout: int = LOCK_WAIT_SECONDS_DEFAULT
) -> GuardChange:
    """Drop tenant_guard's own triggers from the target table; the application's and the log stay."""
    return _change(target, spec, "uninstall", None, dry_run, lock_wait_timeout)


def format_status(s: GuardStatus) -> str:
    lines = [f"guard of {s.table}.{s.tenant_column} (spec {s.spec}): " + _mode_text(s)]
    for t in s.triggers:
        lines.append(f"  {t.name}: {t.timing} {t.event}, mode {t.mode}, position {t.action_order}")
    for t in s.application_triggers:
        lines.append(f"  application trigger {t.name}: {t.timing} {t.event}, position {t.action_order}")
    lines.append(f"  {LOG_TABLE}: {s.log_rows} row(s) for {s.table}")
    for e in s.last_log:
        lines.append(f"    #{e.id} {e.logged_at} {e.event} {s.table} key {e.row_key} by {e.connection_user}")
    return "\n".join(lines)


def _mode_text(s: GuardStatus) -> str:
    if s.mode is None:
        return "not installed"
    return f"mode {s.mode}" + ("" if s.complete else " (INCOMPLETE: install again)")


# --- the DAG's task ------------------------------------------------------------------------------


def guard_from_params(target: DbTarget, spec: Spec, ctx: RunContext, params: dict) -> dict:
    """tenant_guard's one task: install, uninstall or show the guard of the spec's target."""
    action = params.get("action", "status")
    mode = params.get("mode", "log")
    if action not in ACTIONS:
        raise ParamError(f"action must be one of {', '.join(ACTIONS)}, got {action!r}")
    if mode not in MODES:
        raise ParamError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if action == "status":
        current = status(target, spec)
        print(format_status(current))
        return current.to_dict()
    if action == "install":
        change = install(target, spec, mode, dry_run=ctx.dry_run)
    else:
        change = uninstall(target, spec, dry_run=ctx.dry_run)
    heading = "DRY RUN, nothing changed: would run" if change.dry_run else "ran"
    print(f"tenant_guard {action}{' ' + mode if action == 'install' else ''} on {spec.target.table}: {heading}")
    print(format_ddl(change.ddl))
    print(format_status(change.status))
    return change.to_dict()


# --- a bench number ------------------------------------------------------------------------------


def bench_inserts(target: DbTarget, spec: Spec, rows: int = 2000, modes: tuple[str, ...] = MODES) -> dict:
    """Inserts per second into the spec's target without a guard and with each mode (the lead's bench).

    Each measurement copies one existing row `rows` times (one INSERT … SELECT per row, its own
    transaction, as an application writes) with the tenant NULL — the rows a guard acts on — then deletes
    the copies. Run it on a scratch database: it installs and uninstalls guards on the target table and,
    for log, writes `tenant_guard_log` rows (deleted again). Returns {"none": n/s, "fill": n/s, …}; a mode
    the spec cannot use (fill without a parent evidence) is left out.
    """
    with target.connect() as db:
        columns = bookkeeping.validate_against_database(db, spec)
        db.commit()
    copied = [c for c in columns[spec.target.table] if c not in (spec.target.key, spec.target.tenant_column)]
    rates = {"none": _insert_rate(target, spec, copied, rows)}
    for mode in modes:
        if mode == "fill" and not any(e.parent for e in spec.evidence):
            continue
        install(target, spec, mode, dry_run=False)
        try:
            rates[mode] = _insert_rate(target, spec, copied, rows)
        finally:
            uninstall(target, spec, dry_run=False)
    return rates


def _insert_rate(target: DbTarget, spec: Spec, copied: list[str], rows: int) -> float:
    t = spec.target
    copy = sql.render("guards/bench_copy_row.sql", spec, copied=[sql.quote(c) for c in copied])
    with target.connect() as db:
        bounds = db.rows(sql.render("guards/bench_key_bounds.sql", spec))[0]
        db.commit()
        if bounds["source"] is None:
            raise GuardError(f"spec {spec.name!r}: {t.table} is empty; the insert bench copies one of its rows")
        params = {"source": bounds["source"], "largest": bounds["largest"], "table": t.table}
        started = time.perf_counter()
        for _ in range(rows):
            try:
                db.execute(copy, params)
                db.commit()
            except MySQLdb.OperationalError as exc:  # reject refuses every copy: refusing is what it costs
                db.rollback()
                if exc.args[0] != 1644:
                    raise
        seconds = time.perf_counter() - started
        db.execute(sql.render("guards/bench_delete_copies.sql", spec), params)
        if _log_table_exists(db):
            db.execute(sql.render("guards/bench_delete_log.sql", log_table=sql.quote(LOG_TABLE)), params)
        db.commit()
    return round(rows / seconds, 1) if seconds else 0.0


__all__ = [
    "ACTIONS",
    "LOG_TABLE",
    "MODES",
    "GuardChange",
    "GuardError",
    "GuardLockTimeout",
    "GuardLogEntry",
    "GuardPrivilegeError",
    "GuardStatus",
    "GuardTrigger",
    "bench_inserts",
    "format_ddl",
    "format_status",
    "guard_from_params",
    "install",
    "status",
    "uninstall",
]
