"""The phases of tenant_backfill, in order. Each opens its own connection and is safe to re-run.

preflight -> backup -> detect_conflicts -> one backfill per evidence source -> export_review
-> soft_delete_orphans -> post_validation.

Writes happen in keyset chunks; one chunk is one transaction that locks its NULL-tenant rows,
decides them into a session scratch table, backs them up, audits them and writes them, guarded
by `tenant is null`. A chunk whose counts disagree is rolled back whole.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from tenant_integrity import bookkeeping, gates, privileges, report, sql
from tenant_integrity.db import Database, DbTarget
from tenant_integrity.errors import ChunkError, ParamError, TenantIntegrityError
from tenant_integrity.pacing import ChunkSizer, Throttle
from tenant_integrity.paths import run_dir
from tenant_integrity.progress import Progress, null_key_chunks
from tenant_integrity.review_csv import write_review_csv
from tenant_integrity.spec import Spec

log = logging.getLogger(__name__)

BATCH_SIZE_MIN, BATCH_SIZE_MAX = 1, 50_000
WORKERS_MAX = 8
REVIEW_REASONS = ("conflict", "no_tenant_evidence", "unknown_tenant")


@dataclass
class RunContext:
    run_id: str
    dry_run: bool = True
    batch_size: int = 1000
    dag_id: str = "tenant_backfill"
    progress_every: float = 5.0
    chunk_seconds: float = 0.25
    max_threads_running: int = 25
    workers: int = 2
    run_no: int | None = field(default=None)

    def __post_init__(self) -> None:
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int):
            raise ParamError(f"batch_size must be an integer, got {self.batch_size!r}")
        if not BATCH_SIZE_MIN <= self.batch_size <= BATCH_SIZE_MAX:
            raise ParamError(f"batch_size must be between {BATCH_SIZE_MIN} and {BATCH_SIZE_MAX}, got {self.batch_size}")
        if isinstance(self.chunk_seconds, bool) or not isinstance(self.chunk_seconds, int | float):
            raise ParamError(f"chunk_seconds must be a number, got {self.chunk_seconds!r}")
        if not 0.01 <= self.chunk_seconds <= 10:
            raise ParamError(f"chunk_seconds must be between 0.01 and 10, got {self.chunk_seconds}")
        if (
            isinstance(self.max_threads_running, bool)
            or not isinstance(self.max_threads_running, int)
            or self.max_threads_running < 1
        ):
            raise ParamError(f"max_threads_running must be a positive integer, got {self.max_threads_running!r}")
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or not 1 <= self.workers <= WORKERS_MAX:
            raise ParamError(f"workers must be an integer between 1 and {WORKERS_MAX}, got {self.workers!r}")
        if not isinstance(self.dry_run, bool):
            raise ParamError(f"dry_run must be true or false, got {self.dry_run!r}")
        if not isinstance(self.run_id, str) or not self.run_id or len(self.run_id) > 250:
            raise ParamError(f"run_id must be a non-empty string of at most 250 characters, got {self.run_id!r}")


def _error(spec: Spec, phase: str, message: str) -> TenantIntegrityError:
    return TenantIntegrityError(f"spec {spec.name!r}, phase {phase!r}, table {spec.target.table!r}: {message}")


def _run_row(db: Database, spec: Spec, ctx: RunContext) -> dict:
    rows = db.rows(
        sql.render("bookkeeping/get_run.sql"), {"run_id": ctx.run_id, "spec": spec.name, "dag_id": ctx.dag_id}
    )
    db.commit()
    if not rows:
        raise _error(spec, "run", f"run {ctx.run_id!r} is not registered; preflight must run first")
    return rows[0]


# --- preflight -----------------------------------------------------------------------------


def _empty_profile(spec: Spec) -> dict:
    return {
        "backfill": {e.name: {"active": 0, "soft_deleted": 0} for e in spec.evidence},
        "conflict": {"active": 0, "soft_deleted": 0},
        "unknown_tenant": {"active": 0, "soft_deleted": 0},
        "no_tenant_evidence": {"active": 0, "soft_deleted": 0},
        "orphan": {"active": 0, "soft_deleted": 0},
        "later_source_disagrees": 0,
    }


def profile(db: Database, spec: Spec, ctx: RunContext) -> dict:
    """Count what the evidence says about every NULL-tenant row, chunk by chunk (read-only, paced)."""
    counts = _empty_profile(spec)
    statement = sql.render("backfill/profile_range.sql", spec)
    total = db.scalar(sql.render("preflight/count_null_rows.sql", spec))
    db.commit()
    progress = Progress("preflight profile", int(total or 0), ctx.progress_every)
    sizer, throttle = pacing_for(db, ctx)
    for lo, hi, rows in null_key_chunks(db, spec, lambda: sizer.size):
        throttle.wait_until_calm()
        started = time.perf_counter()
        with db.transaction(read_only=True):
            for row in db.rows(statement, {"lo": lo, "hi": hi}):
                state = "soft_deleted" if row["soft_deleted"] else "active"
                if row["outcome"] == "backfill":
                    counts["backfill"][spec.evidence[row["source_no"] - 1].name][state] += int(row["row_count"])
                    counts["later_source_disagrees"] += int(row["disagreeing_rows"] or 0)
                else:
                    counts[row["outcome"]][state] += int(row["row_count"])
        sizer.observe(rows, time.perf_counter() - started)
        progress.advance(rows, sizer.size)
    return counts


def _planned_changes(spec: Spec, counts: dict) -> int:
    backfills = sum(v["active"] + v["soft_deleted"] for v in counts["backfill"].values())
    return backfills + (counts["orphan"]["active"] if spec.orphans.action == "soft_delete" else 0)


def _review_rows(spec: Spec, counts: dict) -> int:
    """Rows a person decides: conflicts, no or unknown evidence, and active orphans when orphans.action is review."""
    rows = sum(counts[r]["active"] + counts[r]["soft_deleted"] for r in REVIEW_REASONS)
    return rows + (counts["orphan"]["active"] if spec.orphans.action == "review" else 0)


def _review_preview(db: Database, spec: Spec, batch_size: int):
    statement = sql.render("backfill/review_preview_range.sql", spec)
    for lo, hi, _ in null_key_chunks(db, spec, batch_size):
        with db.transaction(read_only=True):
            chunk = db.rows(statement, {"lo": lo, "hi": hi})
        yield from chunk


def preflight(target: DbTarget, spec: Spec, ctx: RunContext) -> dict:
    """Validate the spec against the database, run the preflight gate, write the plan.

    A dry run writes nothing to the database: the plan and a review preview go to files.
    A real run registers itself in tenant_runs (the numbers later gates compare against).
    """
    with target.connect() as db:
        columns = bookkeeping.validate_against_database(db, spec)
        privileges.require(db, spec, write=not ctx.dry_run, columns=columns)  # a real run fails here, before any write
        preflight_checks = gates.run_gate(target, spec, "preflight")
        counts = profile(db, spec, ctx)
        with db.transaction(read_only=True):
            null_rows = db.rows(sql.render("preflight/null_rows.sql", spec))[0]
        distribution_before = report.tenant_distribution(db, spec)
        plan = {
            "spec": spec.name,
            "table": spec.target.table,
            "run_id": ctx.run_id,
            "dry_run": ctx.dry_run,
            "batch_size": ctx.batch_size,
            "total_rows": int(null_rows["total_rows"]),
            "null_rows": {"active": int(null_rows["active"] or 0), "soft_deleted": int(null_rows["soft_deleted"] or 0)},
            "outcomes": counts,
            "planned_changes": _planned_changes(spec, counts),
            "review_rows": _review_rows(spec, counts),
            "distribution_before": distribution_before,
            # isolation holes older than the run: the run writes none of these rows, its gate does not block on them
            "relation_mismatches_before_run": older_mismatches(preflight_checks),
        }
        folder = run_dir(spec.name, ctx.run_id)
        if ctx.dry_run:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            preview = folder / "review_preview.csv"
            written = write_review_csv(
                preview, spec.review_columns, _review_preview(db, spec, ctx.batch_size), spec.mask_in_review
            )
            plan["review_csv"] = str(preview)
            plan["review_rows_exported"] = written
            (folder / "plan.json").write_text(json.dumps(plan, indent=2, sort_keys=True), encoding="utf-8")
            plan["plan_file"] = str(folder / "plan.json")
            log.info("dry run: nothing written to the database; plan in %s", folder)
        else:
            plan["run_no"] = register_run(target, spec, ctx)
            record_range_checksums(db, spec, plan["run_no"], columns)
        log.info("plan for %s:\n%s", spec.name, format_plan(plan, spec))
        return plan


def older_mismatches(results: list) -> dict:
    """relation table -> {rows, sample_ids}: parent/child mismatches on rows a run did not write (warning checks)."""
    prefix = "relation_mismatch_before_run:"
    return {
        r.check[len(prefix) :]: {"rows": int(r.observed or 0), "sample_ids": list(r.sample)}
        for r in results
        if r.check.startswith(prefix)
    }


def register_run(target: DbTarget, spec: Spec, ctx: RunContext) -> int:
    """Create the bookkeeping tables if needed and record this real run; return its run_no."""
    with target.connect() as db:
        columns = bookkeeping.validate_against_database(db, spec)
        bookkeeping.ensure_tables(db, spec, columns)
        with db.transaction():
            db.execute(
                sql.render("bookkeeping/insert_run.sql", spec),
                {"run_id": ctx.run_id, "spec": spec.name, "dag_id": ctx.dag_id, "table_name": spec.target.table},
            )
        return int(_run_row(db, spec, ctx)["run_no"])


CHECKSUM_RANGE = 10_000  # keys per checksummed range


def checksum_context(spec: Spec, columns: dict) -> dict:
    """Render values for the range checksums: the columns a run may not change (all but spec.written_columns)."""
    changing = set(spec.written_columns)
    fixed = [c["name"] for c in bookkeeping.target_columns(spec, columns) if c["raw"] not in changing]
    return {"fixed_columns": fixed, "range_size": CHECKSUM_RANGE}


def post_validation_gate(target: DbTarget, spec: Spec, run_no: int) -> list:
    """The post_validation suite for a run (backfill or review import); raises GateFailed."""
    with target.connect() as db:
        fixed = checksum_context(spec, bookkeeping.validate_against_database(db, spec))
    return gates.run_gate(target, spec, "post_validation", run_no=run_no, **fixed)


def record_range_checksums(db: Database, spec: Spec, run_no: int, columns: dict) -> int:
    """Per key range, checksum the columns this run may not change (read without locks, then stored)."""
    with db.transaction(read_only=True):
        ranges = db.rows(sql.render("checksums/read_range_checksums.sql", spec, **checksum_context(spec, columns)))
    with db.transaction():
        for r in ranges:
            db.execute(sql.render("checksums/save_range_checksum.sql"), {"run_no": run_no, **r})
    return len(ranges)


# --- chunked writes ------------------------------------------------------------------------


def chunk_statements(db: Database, spec: Spec, columns: dict | None = None) -> dict:
    """The statements every write chunk shares, and the session scratch table they work on.

    Also the target's auto-updating columns, which every write statement assigns to themselves:
    read here, once per session, not per chunk.
    """
    columns = columns or bookkeeping.validate_against_database(db, spec)
    backup_columns = bookkeeping.target_columns(spec, columns)
    types = {c["raw"]: c["type"] for c in backup_columns}
    db.execute(
        sql.render(
            "backfill/create_chunk_decisions.sql",
            key_type=types[spec.target.key],
            tenant_type=types[spec.target.tenant_column],
        )
    )
    db.commit()
    return {
        "clear": sql.render("backfill/clear_chunk_decisions.sql"),
        "count": sql.render("backfill/count_chunk_decisions.sql"),
        "backup": sql.render("backfill/backup_chunk.sql", spec, backup_columns=backup_columns),
        "ids": sql.render("backfill/chunk_decision_ids.sql"),
        "sample_ids": sql.render("backfill/chunk_sample_ids.sql"),
        "backed_up_rows": sql.render("backfill/count_backed_up_decisions.sql", spec),
        "auto_updated_columns": bookkeeping.auto_updated_columns(spec, columns),
        "touch_clock": sql.render("backfill/touch_clock.sql") if spec.touched_column else None,
    }


def apply_decided_rows(
    db: Database,
    spec: Spec,
    phase: str,
    statements: dict,
    params: dict,
    audit: str,
    write: str,
    audit_values_per_row: int = 1,
) -> list[int]:
    """Back up, audit and write the rows in the scratch table (inside the caller's transaction)."""
    ids = [spec.target_key.parse(r["row_id"]) for r in db.rows(statements["ids"])]  # in key order
    if not ids:
        return []
    chunk = {
        **statements,
        "audit": sql.render(audit, spec),
        "write": bookkeeping.write_statement(write, spec, statements["auto_updated_columns"]),
        "queue": None,
        "audit_values_per_row": audit_values_per_row,
    }
    _apply_chunk(db, spec, phase, chunk, params, len(ids), spec.target_key.before(ids[0]), ids[-1])
    return ids


@dataclass
class ChunkStatements:
    """What one write phase does to the rows it selects."""

    selection: str
    audit: str | None = None
    write: str | None = None
    queue: bool = False
    lock: bool = True
    # a backfill pass for source i decides with sources 1..i only: later sources cannot change its rows
    sources: int | None = None
    audit_values_per_row: int = 1  # an orphan soft-delete audits every column it sets

    SELECTIONS = ("backfill", "soft_delete", "conflict", "review")

    def __post_init__(self) -> None:
        # the selection picks a fixed WHERE branch of decide_chunk.sql; anything else would select every row
        if self.selection not in self.SELECTIONS:
            raise ValueError(f"unknown chunk selection {self.selection!r}")


def _run_chunks(target: DbTarget, spec: Spec, ctx: RunContext, phase: str, plan: ChunkStatements, params: dict) -> dict:
    """Walk the NULL-tenant rows in chunks, one transaction each; return counts and sample ids.

    The rows in scope are split into up to `ctx.workers` shares of consecutive keys, each walked by
    its own connection (a share smaller than one starting chunk is not worth a worker). A real run
    records the shares, and checkpoints the last key of every chunk in that chunk's transaction, so
    a re-run after a crash resumes each share after it. Deadlocks and lock-wait timeouts retry the
    chunk with bounded backoff; a lost connection reconnects and redoes the chunk (the server rolled
    it back whole). The first failing worker stops the others after their current chunk.
    """
    base = {
        "run_id": ctx.run_id,
        "spec": spec.name,
        "table_name": spec.target.table,
        "run_no": ctx.run_no,
        "source_no": None,
        "source": None,
        "action": None,
        "touched_column": spec.touched_column,
        **params,
    }
    opener = _ChunkSession(target, spec, plan, ctx.run_no)
    try:
        # a KILL aimed at the session can land on these reads too: they reconnect and retry like a chunk
        total, shares = _retrying(
            opener, spec, phase, "start of phase", lambda: _phase_start(opener.db, spec, ctx, phase)
        )
    except BaseException:
        opener.close()
        raise
    progress = Progress(f"{spec.name} {phase}", total, ctx.progress_every)
    stop = threading.Event()

    def walk(number: int, share: _Share) -> dict:
        session = opener if number == 0 else _ChunkSession(target, spec, plan, ctx.run_no)
        try:
            return _walk_share(session, spec, ctx, phase, plan, base, share, progress, stop)
        except BaseException:
            stop.set()
            raise
        finally:
            session.close()

    if not shares:
        opener.close()
        walked = []
    elif len(shares) == 1:
        walked = [walk(0, shares[0])]
    else:
        with ThreadPoolExecutor(max_workers=len(shares), thread_name_prefix=f"{phase}-worker") as pool:
            futures = [pool.submit(walk, number, share) for number, share in enumerate(shares)]
        failed = [f.exception() for f in futures if f.exception() is not None]
        if failed:
            for extra in failed[1:]:
                log.error("spec %s, phase %s: another worker failed too: %s", spec.name, phase, extra)
            raise failed[0]
        walked = [f.result() for f in futures]
    progress.finish()
    durations = [d for w in walked for d in w["durations"]]
    return {
        "rows": sum(w["rows"] for w in walked),
        "chunks": sum(w["chunks"] for w in walked),
        # the shares are consecutive key ranges and each names its first rows: the 20 smallest ids overall
        "sample_ids": sorted(i for w in walked for i in w["sample_ids"])[:20],
        "resumed_after": min((s.after for s in shares if s.resumed), default=None),
        "workers": len(shares),
        "progress": progress.lines[-1] if progress.lines else "",
        "chunk_stats": chunk_stats(
            durations, sum(w["throttled"] for w in walked), [n for w in walked for n in w["sizes"]]
        ),
        "retries": opener.retries + sum(w["retries"] for w in walked[1:]),
    }


@dataclass
class _Share:
    """One worker's part of a phase: the keys (after, until], checkpointed under `name`."""

    name: str
    after: int
    until: int | None  # None: no upper bound (the run has no registered scope)
    resumed: bool = False  # continues from the checkpoint of an earlier attempt


def _walk_share(
    session: _ChunkSession,
    spec: Spec,
    ctx: RunContext,
    phase: str,
    plan: ChunkStatements,
    base: dict,
    share: _Share,
    progress: Progress,
    stop: threading.Event,
) -> dict:
    """The chunk loop of one worker over its share, on its own connection."""
    sizer, throttle = pacing_for(session, ctx)
    walked = {"rows": 0, "chunks": 0, "sample_ids": [], "durations": [], "sizes": []}
    next_end = sql.render("backfill/next_chunk_end.sql", spec)
    after = share.after
    while not stop.is_set():
        end = _retrying(
            session,
            spec,
            phase,
            f"keys after {after}",
            lambda a=after: _next_end(session, next_end, a, sizer.size, share.until),
        )
        if end["chunk_end"] is None:
            break
        lo, hi, rows = after, spec.target_key.parse(end["chunk_end"]), int(end["chunk_rows"])
        _retrying(session, spec, phase, f"load check before keys ({lo}, {hi}]", throttle.wait_until_calm)
        started = time.perf_counter()
        decided, sample = _retrying(
            session,
            spec,
            phase,
            f"keys ({lo}, {hi}]",
            lambda lo=lo, hi=hi: _one_chunk(session, spec, ctx, share.name, plan, base, lo, hi),
        )
        walked["sample_ids"] += sample
        session.samples_wanted = 20 - len(walked["sample_ids"])  # counted once the chunk committed
        walked["rows"] += decided
        walked["chunks"] += 1
        walked["durations"].append(time.perf_counter() - started)
        walked["sizes"].append(rows)
        sizer.observe(rows, walked["durations"][-1])
        progress.advance(rows, sizer.size)
        after = hi
    return {**walked, "throttled": throttle.waited, "retries": session.retries}


def _phase_start(db: Database, spec: Spec, ctx: RunContext, phase: str) -> tuple[int, list[_Share]]:
    """The NULL-row total (for progress) and the workers' shares: resumed from checkpoints, or split anew."""
    total = int(db.scalar(sql.render("preflight/count_null_rows.sql", spec)) or 0)
    key = spec.target_key
    last_key = _scope_end(db, spec, ctx)
    saved = _checkpoints(db, spec, ctx, phase)
    if saved:
        shares = [
            _Share(
                r["phase"],
                key.parse(r["last_key"]),
                last_key if r["until_key"] is None else key.parse(r["until_key"]),
                True,
            )
            for r in saved
        ]
        log.info(
            "spec %s, phase %s: resuming %s",
            spec.name,
            phase,
            ", ".join(
                f"{s.name} after key {s.after}" + (f" up to {s.until}" if s.until is not None else "") for s in shares
            ),
        )
    else:
        shares = _split(db, spec, ctx, phase, total, last_key)
    db.commit()
    return total, shares


def _split(db: Database, spec: Spec, ctx: RunContext, phase: str, total: int, last_key) -> list[_Share]:
    """Consecutive key ranges holding about equal numbers of NULL rows, one per worker; recorded for a resume."""
    key = spec.target_key
    first = key.parse(db.rows(sql.render("backfill/first_null_key.sql", spec), {"last_key": last_key})[0]["first_key"])
    if first is None:
        return []
    if first == key.before(first):
        raise _error(spec, phase, f"row keyed {first!r}: an empty text key cannot start a keyset walk")
    after = key.before(first)
    workers = max(1, min(ctx.workers, total // ctx.batch_size))  # a share below one starting chunk: not worth it
    if workers == 1:
        return [_Share(phase, after, last_key)]
    bound_sql = sql.render("backfill/share_bound.sql", spec)
    bounds = [after]
    for number in range(1, workers):
        row = db.rows(bound_sql, {"after": after, "last_key": last_key, "offset": number * total // workers - 1})
        # offsets grow, so each bound follows the one before in the key's own order (text: its collation)
        if row and row[0]["bound"] is not None and key.parse(row[0]["bound"]) != bounds[-1]:
            bounds.append(key.parse(row[0]["bound"]))
    bounds.append(last_key)
    shares = [_Share(f"{phase}:{n + 1}/{len(bounds) - 1}", bounds[n], bounds[n + 1]) for n in range(len(bounds) - 1)]
    if ctx.run_no is not None:
        save = sql.render("bookkeeping/save_share.sql", spec)
        for share in shares:
            db.execute(
                save, {"run_no": ctx.run_no, "phase": share.name, "last_key": share.after, "until_key": share.until}
            )
    return shares


def _checkpoints(db: Database, spec: Spec, ctx: RunContext, phase: str) -> list[dict]:
    if ctx.run_no is None:
        return []
    return db.rows(
        sql.render("bookkeeping/read_checkpoints.sql", spec),
        {"run_no": ctx.run_no, "phase": phase, "share_prefix": f"{phase}:"},
    )


def _scope_end(db: Database, spec: Spec, ctx: RunContext):
    """A real run acts on the rows that existed at preflight; later inserts are reported, not written.

    (Keys up to the largest key at preflight: for a text key that is not ordered by time, a UUIDv4, a
    row inserted during the run can sort below it; the spec's created_at marker tells it apart, see
    _application_writes.sql.)
    """
    if ctx.run_no is None:
        return None
    value = db.scalar(sql.render("bookkeeping/run_max_key.sql", spec), {"run_no": ctx.run_no})
    # the table was empty at preflight: a bound below every key, so the run acts on nothing
    return spec.target_key.lowest if value is None else spec.target_key.parse(value)


class _ChunkSession:
    """The chunk connection and its rendered statements; reconnects after a lost connection."""

    def __init__(self, target: DbTarget, spec: Spec, plan: ChunkStatements, run_no: int | None = None):
        self.target, self.spec, self.plan, self.run_no = target, spec, plan, run_no
        self.retries = 0
        self.samples_wanted = 20
        self.db: Database = None  # type: ignore[assignment]
        self.connect()

    def connect(self, attempts: int = 3) -> None:
        """(Re)connect and prepare the session; a connection lost while doing so is retried too."""
        import MySQLdb

        for attempt in range(1, attempts + 1):
            if self.db is not None:
                self.db.close()
            try:
                self.db = self.target.connect()
                self._prepare()
                return
            except MySQLdb.OperationalError as exc:
                if not (exc.args and exc.args[0] in CONNECTION_LOST) or attempt == attempts:
                    raise
                log.warning("spec %s: connection lost while connecting (%s); again", self.spec.name, exc.args[1])
                self.retries += 1
                time.sleep(0.5 * attempt)

    def _prepare(self) -> None:
        _read_committed_unless_statement_logging(self.db)
        shared = chunk_statements(self.db, self.spec)
        self.statements = {
            **shared,
            "lock": sql.render("backfill/lock_chunk.sql", self.spec),
            "decide": sql.render(
                "backfill/decide_chunk.sql",
                self.spec,
                selection=sql.Ident(self.plan.selection),
                evidence=sql.spec_context(self.spec)["evidence"][: self.plan.sources],
                run_no=self.run_no,
            ),
            "audit": sql.render(self.plan.audit, self.spec) if self.plan.audit else None,
            "write": bookkeeping.write_statement(self.plan.write, self.spec, shared["auto_updated_columns"])
            if self.plan.write
            else None,
            "queue": sql.render("review/queue_chunk.sql", self.spec) if self.plan.queue else None,
            "checkpoint": sql.render("bookkeeping/save_checkpoint.sql", self.spec),
            "audit_values_per_row": self.plan.audit_values_per_row,
        }

    def close(self) -> None:
        if self.db is not None:
            self.db.close()


def _read_committed_unless_statement_logging(db: Database) -> None:
    """Chunk sessions run in READ COMMITTED: no gap or next-key locks, no shared locks on what a decision reads.

    Under REPEATABLE READ the decide statement (INSERT ... SELECT) share-locks every target and evidence row
    it reads, plus the next index entry past its range: with a tenant index (Laravel's `company_id` index)
    that entry belongs to the other worker's share, and two workers deadlocked at their share boundary
    (Akaunting's contacts, most runs). The chunk's own rows stay locked FOR UPDATE and every write is guarded
    (`tenant is null`). Statement-based binary logging cannot log such writes under READ COMMITTED
    (error 1665), so there the session keeps the server's isolation level.
    """
    logging_mode = db.rows(sql.render("backfill/binlog_format.sql"))[0]
    if read_committed_is_safe(logging_mode["log_bin"], logging_mode["binlog_format"]):
        db.execute(sql.render("backfill/read_committed.sql"))
    db.commit()


def read_committed_is_safe(log_bin, binlog_format) -> bool:
    """READ COMMITTED writes can be logged unless the binary log is on and statement-based."""
    return not (int(log_bin or 0) and str(binlog_format or "").upper() == "STATEMENT")


def _next_end(session: _ChunkSession, statement: str, after: int, size: int, last_key: int | None) -> dict:
    row = session.db.rows(statement, {"after": after, "batch_size": size, "last_key": last_key})[0]
    session.db.commit()
    return row


def _one_chunk(
    session: _ChunkSession, spec: Spec, ctx: RunContext, phase: str, plan: ChunkStatements, base: dict, lo: int, hi: int
) -> tuple[int, list[int]]:
    db, st = session.db, session.statements
    sample: list[int] = []
    with db.transaction():
        if plan.lock:
            db.execute(st["lock"], {"lo": lo, "hi": hi})
        db.execute(st["clear"])
        decided = db.execute(st["decide"], {**base, "lo": lo, "hi": hi})  # rows inserted into the scratch table
        if decided and session.samples_wanted:  # the phase names its first 20 rows; later chunks skip the query
            sample = [r["row_id"] for r in db.rows(st["sample_ids"])][: session.samples_wanted]
        if decided:
            _apply_chunk(db, spec, phase, st, base, decided, lo, hi)
        if ctx.run_no is not None:
            db.execute(st["checkpoint"], {"run_no": ctx.run_no, "phase": phase, "last_key": hi, "rows_done": decided})
    return decided, sample


TRANSIENT = {1205: "lock wait timeout", 1213: "deadlock"}
CONNECTION_LOST = {2006: "server has gone away", 2013: "lost connection", 1927: "connection killed"}
MAX_ATTEMPTS = 5


def _retrying(session: _ChunkSession, spec: Spec, phase: str, where: str, work, sleep=time.sleep):
    """Run one unit of a phase (a chunk, or a read between chunks) in the chunk session.

    Transient lock trouble retries with bounded backoff; a lost connection reconnects first. `where` names
    the keys involved for the log and the final error.
    """
    import MySQLdb

    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return work()
        except MySQLdb.OperationalError as exc:
            code = exc.args[0] if exc.args else None
            if code not in TRANSIENT and code not in CONNECTION_LOST:
                raise
            why = TRANSIENT.get(code) or CONNECTION_LOST[code]
            if attempt == MAX_ATTEMPTS:
                raise ChunkError(
                    f"spec {spec.name!r}, phase {phase!r}, table {spec.target.table!r}, {where}: "
                    f"{why} on {MAX_ATTEMPTS} attempts; giving up (the chunk was rolled back each time)"
                ) from exc
            session.retries += 1
            delay = min(0.25 * 2 ** (attempt - 1), 4.0)
            log.warning(
                "spec %s, phase %s, %s: %s (attempt %s of %s); retrying in %.2fs",
                spec.name,
                phase,
                where,
                why,
                attempt,
                MAX_ATTEMPTS,
                delay,
            )
            sleep(delay)
            if code in CONNECTION_LOST:
                session.connect()
    raise AssertionError("unreachable")


def pacing_for(source, ctx: RunContext) -> tuple[ChunkSizer, Throttle]:
    """The chunk sizer (batch_size is the starting size) and the throttle reading the connection.

    `source` is a Database, or a _ChunkSession whose connection may be replaced after a reconnect:
    then a lost connection passes through the throttle to the caller's _retrying, which reconnects
    and reads again, like any chunk. Any other failure to read stops the run (fail closed).
    """
    statement = sql.render("pacing/threads_running.sql")
    in_session = isinstance(source, _ChunkSession)

    def threads_running() -> float | None:
        db = source.db if in_session else source
        rows = db.rows(statement)
        db.commit()
        return float(rows[0]["Value"]) if rows else None

    def connection_lost(exc: Exception) -> bool:
        import MySQLdb

        return (
            in_session
            and isinstance(exc, MySQLdb.OperationalError)
            and bool(exc.args)
            and exc.args[0] in CONNECTION_LOST
        )

    sizer = ChunkSizer(start=ctx.batch_size, target_seconds=ctx.chunk_seconds, maximum=BATCH_SIZE_MAX)
    return sizer, Throttle(threads_running, limit=ctx.max_threads_running, recovered_by_caller=connection_lost)


def chunk_stats(durations: list[float], throttled: float = 0.0, sizes: list[int] | None = None) -> dict:
    """Transaction times of a phase: count, p50, p99, max (seconds), time throttled, rows per chunk."""
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
        "durations": [round(d, 4) for d in durations],
        "rows": list(sizes or []),
    }


def _apply_chunk(db: Database, spec: Spec, phase: str, st: dict, params: dict, decided: int, lo: int, hi: int) -> None:
    counts = {}
    if st["queue"]:
        db.execute(st["queue"], params)
        return
    # the pre-image of every row, under the chunk's lock (a row this run backed up before keeps that copy)
    db.execute(st["backup"], params)
    if st["touch_clock"] and st["write"]:  # one change-marker value for the audit and the write of this chunk
        db.execute(st["touch_clock"])
    # a write joins its row's backup: "written = decided" below also proves every written row is backed up
    if st["audit"]:
        counts["audited"] = db.execute(st["audit"], params)
    if st["write"]:
        counts["written"] = db.execute(st["write"], params)
    # an orphan soft-delete audits every column it sets: so many audit rows per row
    expected = {"audited": decided * st["audit_values_per_row"], "written": decided}
    wrong = {k: v for k, v in counts.items() if v != expected[k]}
    if wrong:
        ids = [r["row_id"] for r in db.rows(st["sample_ids"])]
        raise ChunkError(
            f"spec {spec.name!r}, phase {phase!r}, table {spec.target.table!r}, keys ({lo}, {hi}]: "
            f"decided {decided} rows but {wrong}; chunk rolled back (ids {ids})"
        )


# --- the phases ----------------------------------------------------------------------------


def backup(target: DbTarget, spec: Spec, ctx: RunContext, plan: dict) -> dict:
    """Make the backup table ready to hold every column of the target, as it is now.

    The rows themselves are copied by the write chunks: each row's pre-image goes into the backup
    in the transaction that changes the row, under the same lock, just before the change (the write
    joins it). A copy taken earlier, in a pass of its own, would cost a second classification of
    every row and could be stale by the time the row is written.
    """
    ctx.run_no = plan["run_no"]
    with target.connect() as db:
        columns = bookkeeping.validate_against_database(db, spec)
        bookkeeping.ensure_tables(db, spec, columns)  # a column added to the target since preflight is added here
        missing = bookkeeping.backup_table_gaps(db, spec)
        with db.transaction():
            db.execute(
                sql.render("bookkeeping/set_run_planned.sql"),
                {"planned": plan["planned_changes"], "run_no": ctx.run_no},
            )
    if missing:
        raise _error(spec, "backup", f"backup table {spec.backup_table!r} cannot hold target columns {missing}")
    return {
        "backup_table": spec.backup_table,
        "columns": len(columns[spec.target.table]),
        "planned_at_preflight": plan["planned_changes"],
        "chunk_stats": chunk_stats([]),
    }


def detect_conflicts(target: DbTarget, spec: Spec, ctx: RunContext, plan: dict) -> dict:
    """Rows whose deciding source names several tenants: queued for review, never written."""
    ctx.run_no = plan["run_no"]
    result = _run_chunks(
        target, spec, ctx, "detect_conflicts", ChunkStatements(selection="conflict", queue=True, lock=False), {}
    )
    if result["rows"]:
        log.warning(
            "spec %s: %s conflicting rows excluded from writes (ids %s)",
            spec.name,
            result["rows"],
            result["sample_ids"],
        )
    return {
        "conflicts": result["rows"],
        "sample_ids": result["sample_ids"],
        "chunk_stats": result["chunk_stats"],
        "workers": result["workers"],
    }


def backfill_source(target: DbTarget, spec: Spec, ctx: RunContext, plan: dict, source_name: str) -> dict:
    """Write the tenant of every row this source decides with exactly one tenant."""
    ctx.run_no = plan["run_no"]
    source_no = spec.source_number(source_name)
    result = _run_chunks(
        target,
        spec,
        ctx,
        f"backfill_{source_name}",
        ChunkStatements(
            selection="backfill",
            audit="backfill/audit_tenant.sql",
            write="backfill/write_tenant.sql",
            sources=source_no,
            audit_values_per_row=len(spec.tenant_write_columns),
        ),
        {"source_no": source_no, "source": source_name, "action": "backfill", "column_name": spec.target.tenant_column},
    )
    with target.connect() as db:  # the audit is exact; a chunk whose commit acknowledgement was lost is counted too
        written = int(
            db.scalar(
                sql.render("report/audited_rows_for_source.sql", spec),
                {"run_id": ctx.run_id, "table_name": spec.target.table, "action": "backfill", "source": source_name},
            )
        )
        db.commit()
    return {
        "source": source_name,
        "backfilled": written,
        "sample_ids": result["sample_ids"],
        "chunk_stats": result["chunk_stats"],
        "retries": result["retries"],
        "resumed_after": result["resumed_after"],
        "workers": result["workers"],
    }


def backfill_source_if_present(target: DbTarget, spec: Spec, ctx: RunContext, plan: dict, source_name: str) -> dict:
    """The DAG has one task per source name across all specs; a spec without this source skips it."""
    if source_name not in [e.name for e in spec.evidence]:
        return {"source": source_name, "backfilled": 0, "skipped": f"spec {spec.name} has no source {source_name}"}
    return backfill_source(target, spec, ctx, plan, source_name)


def export_review(target: DbTarget, spec: Spec, ctx: RunContext, plan: dict) -> dict:
    """Queue the rows with evidence but no usable tenant, and export every open review row of this run."""
    ctx.run_no = plan["run_no"]
    queued = _run_chunks(
        target, spec, ctx, "export_review", ChunkStatements(selection="review", queue=True, lock=False), {}
    )
    path = run_dir(spec.name, ctx.run_id) / "review.csv"
    params = {"spec": spec.name, "table_name": spec.target.table, "run_no": ctx.run_no}
    with target.connect() as db:
        with db.transaction(read_only=True):  # streamed: the review rows grow with the table, memory must not
            rows = db.stream(sql.render("review/export_run.sql", spec), params)
            written = write_review_csv(path, spec.review_columns, rows, spec.mask_in_review)
        with db.transaction(read_only=True):
            by_reason = {r["reason"]: int(r["row_count"]) for r in db.rows(sql.render("review/count_run.sql"), params)}
    log.info("spec %s: %s rows for review in %s", spec.name, written, path)
    return {
        "review_rows": written,
        "by_reason": by_reason,
        "review_csv": str(path),
        "chunk_stats": queued["chunk_stats"],
    }


def soft_delete_orphans(target: DbTarget, spec: Spec, ctx: RunContext, plan: dict) -> dict:
    """Soft-delete active rows with no row in any evidence or relation table (orphans.action soft_delete)."""
    ctx.run_no = plan["run_no"]
    deleted_at = dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None)
    if spec.orphans.action != "soft_delete":  # orphans went to review with the other rows a person decides
        return {"soft_deleted": 0, "sample_ids": [], "skipped": f"spec {spec.name}: orphans.action is review"}
    result = _run_chunks(
        target,
        spec,
        ctx,
        "soft_delete_orphans",
        ChunkStatements(
            selection="soft_delete",
            audit="backfill/audit_soft_delete.sql",
            write="backfill/write_soft_delete.sql",
            audit_values_per_row=len(spec.orphan_write_columns),
        ),
        {"source": "no_evidence", "action": "soft_delete", **sql.orphan_params(spec, deleted_at.isoformat(sep=" "))},
    )
    return {
        "soft_deleted": result["rows"],
        "sample_ids": result["sample_ids"],
        "deleted_at": deleted_at.isoformat(sep=" "),
        "chunk_stats": result["chunk_stats"],
        "workers": result["workers"],
    }


def post_validation(target: DbTarget, spec: Spec, ctx: RunContext, plan: dict, phase_results: dict) -> dict:
    """Gate the finished run, then record and return its summary."""
    ctx.run_no = plan["run_no"]
    summary = build_summary(target, spec, ctx, plan, phase_results)
    status = "succeeded"
    try:
        results = post_validation_gate(target, spec, ctx.run_no)
        summary["post_validation"] = [r.as_dict() for r in results]
        summary["relation_mismatches_before_run"] = older_mismatches(results)
    except TenantIntegrityError as exc:
        status = "failed_post_validation"
        summary["post_validation_error"] = str(exc)
        raise
    finally:
        summary["status"] = status
        with target.connect() as db:
            after = report.tenant_distribution(db, spec)
            summary["report"] = str(
                report.write_report(
                    run_dir(spec.name, ctx.run_id), spec, summary, plan.get("distribution_before", []), after
                )
            )
            with db.transaction():
                db.execute(
                    sql.render("bookkeeping/finish_run.sql"),
                    {"status": status, "summary": json.dumps(summary, default=str), "run_no": ctx.run_no},
                )
        log.info("run report: %s", summary["report"])
    log.info("summary:\n%s", format_summary(summary))
    return summary


def build_summary(target: DbTarget, spec: Spec, ctx: RunContext, plan: dict, phase_results: dict) -> dict:
    params = {"run_id": ctx.run_id, "table_name": spec.target.table}
    with target.connect() as db, db.transaction(read_only=True):
        audited = {r["action"]: int(r["row_count"]) for r in db.rows(sql.render("report/audit_counts.sql"), params)}
        after = db.rows(sql.render("preflight/null_rows.sql", spec))[0]
        backed_up = db.scalar(sql.render("report/backup_count.sql", spec), {"run_id": ctx.run_id})
        during_run = report.application_writes(db, spec, ctx.run_no, CHECKSUM_RANGE)
    return {
        "spec": spec.name,
        "table": spec.target.table,
        "run_id": ctx.run_id,
        "run_no": ctx.run_no,
        "planned": plan,
        "phases": phase_results,
        "audited": audited,
        "backed_up": int(backed_up or 0),
        "null_rows_after": {"active": int(after["active"] or 0), "soft_deleted": int(after["soft_deleted"] or 0)},
        "application_writes": during_run,
    }


def run_all(target: DbTarget, spec: Spec, ctx: RunContext) -> dict:
    """Every phase in DAG order, in this process: the CLI's and the tests' way to run a backfill."""
    plan = preflight(target, spec, ctx)
    if ctx.dry_run:
        return {"plan": plan}
    return post_validation(target, spec, ctx, plan, run_writes(target, spec, ctx, plan))


def run_writes(target: DbTarget, spec: Spec, ctx: RunContext, plan: dict) -> dict:
    """The phases between preflight and post_validation, in DAG order; returns their results."""
    results = {"backup": backup(target, spec, ctx, plan), "detect_conflicts": detect_conflicts(target, spec, ctx, plan)}
    for source in spec.evidence:
        results[f"backfill_{source.name}"] = backfill_source(target, spec, ctx, plan, source.name)
    results["export_review"] = export_review(target, spec, ctx, plan)
    results["soft_delete_orphans"] = soft_delete_orphans(target, spec, ctx, plan)
    return results


# --- reading for people --------------------------------------------------------------------


def format_plan(plan: dict, spec: Spec) -> str:
    o = plan["outcomes"]
    mode = "DRY RUN" if plan["dry_run"] else "real run"
    nulls = plan["null_rows"]
    lines = [
        f"spec {plan['spec']} on table {plan['table']} ({mode}, run {plan['run_id']})",
        f"  rows in table:                 {plan['total_rows']}",
        f"  NULL tenant:                   {nulls['active']} active, {nulls['soft_deleted']} soft-deleted",
    ]
    for e in spec.evidence:
        b = o["backfill"][e.name]
        lines.append(f"  backfill from {e.name + ':':<17}{b['active']} active, {b['soft_deleted']} soft-deleted")
    for reason in REVIEW_REASONS:
        lines.append(
            f"  review, {reason + ':':<23}{o[reason]['active']} active, {o[reason]['soft_deleted']} soft-deleted"
        )
    if spec.orphans.action == "review":
        lines.append(f"  review, {'orphan:':<23}{o['orphan']['active']} active (orphans.action: review)")
    else:
        lines.append(f"  orphans to soft-delete:        {o['orphan']['active']}")
    lines += [
        f"  orphans already soft-deleted:  {o['orphan']['soft_deleted']} (left NULL; tenant_constraints archives them)",
        f"  later source disagrees:        {o['later_source_disagrees']} (counted, not blocking)",
        f"  planned changes:               {plan['planned_changes']}",
    ]
    lines += format_older_mismatches(plan.get("relation_mismatches_before_run"))
    if plan.get("review_csv"):
        lines.append(f"  review preview:                {plan['review_csv']} ({plan['review_rows_exported']} rows)")
    return "\n".join(lines)


def format_older_mismatches(mismatches: dict | None) -> list[str]:
    """Warning lines for parent/child mismatches older than the run (nothing when there are none)."""
    return [
        f"  WARNING older mismatch:        {found['rows']} {table} row(s) carry another tenant than their parent "
        f"(ids {found['sample_ids']}); not written by this run, not blocking; the daily validation fails on them"
        for table, found in (mismatches or {}).items()
        if found["rows"]
    ]


def format_summary(summary: dict) -> str:
    p = summary["phases"]
    lines = [f"tenant_backfill summary: spec {summary['spec']}, table {summary['table']}, run {summary['run_id']}"]
    lines.append(f"  backed up:              {summary['backed_up']} rows")
    lines.append(f"  conflicts:              {p.get('detect_conflicts', {}).get('conflicts', 0)}")
    for name, result in p.items():
        if name.startswith("backfill_"):
            lines.append(f"  {name + ':':<24}{result['backfilled']} rows")
    review = p.get("export_review", {})
    lines.append(f"  left for review:        {review.get('review_rows', 0)} rows {review.get('by_reason', {})}")
    lines.append(f"  review CSV:             {review.get('review_csv', '-')}")
    lines.append(f"  soft-deleted:           {p.get('soft_delete_orphans', {}).get('soft_deleted', 0)} orphans")
    lines.append(f"  audit rows:             {summary['audited']}")
    after = summary["null_rows_after"]
    arrived = summary.get("application_writes", {}).get("null_tenant_arrived", {"rows": 0, "ids": []})
    lines.append(
        f"  NULL tenant now:        {after['active']} active ({after['active'] - arrived['rows']} in review, "
        f"{arrived['rows']} arrived during the run), {after['soft_deleted']} soft-deleted"
    )
    lines += format_application_writes(summary.get("application_writes"))
    if summary.get("report"):
        lines.append(f"  {'run report:':<24}{summary['report']}")
    lines += format_older_mismatches(summary.get("relation_mismatches_before_run"))
    for r in summary.get("post_validation", []):
        verdict = "ok" if r["success"] else ("FAILED" if r["severity"] == "critical" else "warning")
        lines.append(f"  gate {r['check']}: {verdict} (observed {r['observed']})")
    return "\n".join(lines)


def format_application_writes(writes: dict | None) -> list[str]:
    """The summary lines about what the application did during the run (nothing when it did nothing)."""
    if not writes or not (writes["inserted"]["rows"] or writes["existing_rows_written_by_application"]["rows"]):
        return []
    lines = ["  application writes during the run (left alone by the run, not judged by the gates):"]
    for key, label in (
        ("null_tenant_arrived", "NULL tenant arrived, not handled (next run / daily validation)"),
        ("inserted", "rows inserted after preflight"),
        ("existing_rows_written_by_application", "existing rows written by the application"),
        ("changed_by_the_run_and_the_application", "changed by the run and by the application"),
    ):
        lines.append(f"    {label}: {writes[key]['rows']} {writes[key]['ids']}")
    lines.append(f"    key ranges the checksum could not prove: {writes['ranges_not_checksummed']}")
    return lines
