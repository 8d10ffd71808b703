"""The chunk engine: every write to a customer table goes through `run(target, spec, ctx, recipe)`.

A writer is a small `Recipe`: which keys it walks (`count`, `scope_end`, `first_key`, `next_end`,
`share_bound`), how a connection is prepared for it (`prepare`), and what one chunk does inside its
transaction (`process`). The engine owns the rest, the way GitLab's batched migration runner does:
the keyset loop, worker shares, the checkpoint written in each chunk's transaction and the resume
from it, the throttle, bounded retries of lock trouble, reconnects after a lost connection,
progress and chunk statistics. It also holds the write step the writers share: back up, audit and
write the rows a chunk decided into the session's scratch table, and refuse the chunk whole when
the counts disagree.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tenant_integrity.core.errors import ChunkError, TenantIntegrityError
from tenant_integrity.core.settings import BATCH_SIZE_MAX, RunContext
from tenant_integrity.core.spec import Spec
from tenant_integrity.engine import controls
from tenant_integrity.engine.pacing import ChunkSizer, Throttle
from tenant_integrity.engine.progress import Progress
from tenant_integrity.store import bookkeeping, sql, storage
from tenant_integrity.store.db import Database, DbTarget

log = logging.getLogger(__name__)

# --- policy ----------------------------------------------------------------------------------
TRANSIENT = {1205: "lock wait timeout", 1213: "deadlock"}
CONNECTION_LOST = {2006: "server has gone away", 2013: "lost connection", 1927: "connection killed"}
MAX_ATTEMPTS = 5  # per chunk: lock trouble and lost connections, then the phase fails
RETRY_FIRST_DELAY_S = 0.25  # doubled on every attempt ...
RETRY_MAX_DELAY_S = 4.0  # ... up to this
RECONNECT_ATTEMPTS = 3
SAMPLE_IDS = 20  # ids a phase names in its result and log


@dataclass(frozen=True)
class Checkpoint:
    """One worker's share of a phase: the keys (after, until], saved under `share` (gh-ost's typed checkpoint)."""

    share: str
    after: Any
    until: Any  # None: no upper bound
    resumed: bool = False  # continues from the checkpoint of an earlier attempt


@dataclass(frozen=True)
class ChunkResult:
    """What one chunk's transaction did: rows it acted on, the first ids among them, and anything to report."""

    rows: int
    sample_ids: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # e.g. a rollback's rows left alone


@dataclass(frozen=True)
class PhaseRun:
    """What the engine did for one phase: the typed result every writer builds its own result from."""

    rows: int
    chunks: int
    sample_ids: list
    notes: list
    resumed_after: Any
    workers: int
    progress: str
    chunk_stats: dict
    retries: int


class Recipe:
    """A writer, for the engine. Subclasses say which keys they walk and what a chunk does.

    Keys are whatever the walk is keyed by (target keys, the audit's row keys, a decision list's keys);
    the engine binds them back as parameters and never computes with them.
    """

    phase = "chunks"  # the checkpoint, progress and error name
    splittable = False  # may be split into shares walked by parallel workers
    read_only = False  # a dry run: read-only transactions, no checkpoint

    def prepare(self, db: Database) -> Any:
        """Per (re)connection: session settings and statements; what `process` receives as `prepared`."""
        return None

    def count(self, db: Database) -> int:
        """Rows the walk will meet (for progress)."""
        raise NotImplementedError

    def scope_end(self, db: Database, ctx: RunContext) -> Any:
        """The last key in scope, or None for no bound."""
        return None

    def first_key(self, db: Database, until: Any) -> Any:
        """The key the walk starts after (exclusive), or None when there is nothing to walk."""
        raise NotImplementedError

    def next_end(self, db: Database, after: Any, size: int, until: Any) -> tuple[Any, int] | None:
        """The last key of the next chunk of at most `size` rows after `after`, and its rows; None at the end."""
        raise NotImplementedError

    def share_bound(self, db: Database, after: Any, until: Any, offset: int) -> Any:
        """The key `offset` rows after `after` (splittable recipes only)."""
        raise NotImplementedError

    def process(self, db: Database, prepared: Any, lo: Any, hi: Any, samples_wanted: int) -> ChunkResult:
        """Act on the keys (lo, hi] inside the engine's transaction; raise to roll the chunk back whole."""
        raise NotImplementedError


class Session:
    """A chunk connection prepared for one recipe; reconnects after a lost connection."""

    def __init__(self, target: DbTarget, spec: Spec, recipe: Recipe, ctx: RunContext):
        self.target, self.spec, self.recipe, self.ctx = target, spec, recipe, ctx
        self.retries = 0
        self.samples_wanted = SAMPLE_IDS
        self.db: Database = None  # type: ignore[assignment]
        self.prepared: Any = None
        self.checkpoint_sql = ""  # rendered once the connection has read the key's kind (connect)
        self.connect()

    def connect(self) -> None:
        """(Re)connect and prepare the session; a connection lost while doing so is retried too."""
        import MySQLdb

        for attempt in range(1, RECONNECT_ATTEMPTS + 1):
            if self.db is not None:
                self.db.close()
            try:
                self.db = self.target.connect()
                # the checkpoint's columns follow the key's kind, read from the database here: this process
                # (an Airflow task's) may be the first to use the spec, which then still says "integer"
                bookkeeping.resolve_target_key(self.db, self.spec)
                self.checkpoint_sql = sql.render("bookkeeping/save_checkpoint.sql", self.spec)
                self.prepared = self.recipe.prepare(self.db)
                self.db.commit()
                return
            except MySQLdb.OperationalError as exc:
                if not (exc.args and exc.args[0] in CONNECTION_LOST) or attempt == RECONNECT_ATTEMPTS:
                    raise
                log.warning("spec %s: connection lost while connecting (%s); again", self.spec.name, exc.args[1])
                self.retries += 1
                time.sleep(0.5 * attempt)

    def close(self) -> None:
        if self.db is not None:
            self.db.close()


def run(target: DbTarget, spec: Spec, ctx: RunContext, recipe: Recipe) -> PhaseRun:
    """Walk the recipe's keys in chunks, one transaction each, and return what was done.

    The keys in scope are split into up to `ctx.workers` shares of consecutive keys, each walked by
    its own connection (a share smaller than one starting chunk is not worth a worker). A real run
    records the shares, and checkpoints the last key of every chunk in that chunk's transaction, so
    a re-run after a crash resumes each share after it. Deadlocks and lock-wait timeouts retry the
    chunk with bounded backoff; a lost connection reconnects and redoes the chunk (the server rolled
    it back whole). The first failing worker stops the others after their current chunk.
    """
    with contextlib.nullcontext() if recipe.read_only else table_writer(target, spec, recipe.phase):
        return _run(target, spec, ctx, recipe)


@contextlib.contextmanager
def table_writer(target: DbTarget, spec: Spec, phase: str):
    """Hold the target table's writer lock for a phase: two runs (a backfill and a rollback, two DAGs,
    two Airflow deployments) never write one table at once. The lock lives on a connection of its own,
    which the server closes with a killed task, so a crash never leaves the table claimed."""
    table = {"table_name": spec.target.table}
    with target.connect() as db:
        if not db.scalar(sql.render("locks/acquire_table_writer.sql", spec), table):
            holder = db.scalar(sql.render("locks/table_writer_holder.sql", spec), table)
            raise error(
                spec,
                phase,
                f"table {spec.target.table} is being written by another tenant_integrity run "
                f"(server connection {holder} holds its writer lock); nothing was written — "
                "run this again when that run has finished",
            )
        db.commit()  # the lock outlives the transaction; nothing stays open on this connection
        try:
            yield
        finally:
            with contextlib.suppress(Exception):  # a connection the server killed released it already
                db.scalar(sql.render("locks/release_table_writer.sql", spec), table)


def _run(target: DbTarget, spec: Spec, ctx: RunContext, recipe: Recipe) -> PhaseRun:
    phase = recipe.phase
    opener = Session(target, spec, recipe, ctx)
    try:
        # a KILL aimed at the session can land on these reads too: they reconnect and retry like a chunk
        total, shares = retrying(opener, "start of phase", lambda: _start(opener.db, spec, ctx, recipe))
    except BaseException:
        opener.close()
        raise
    progress = Progress(f"{spec.name} {phase}", total, ctx.progress_every)
    stop = threading.Event()

    def walk(number: int, share: Checkpoint) -> dict:
        session = opener if number == 0 else Session(target, spec, recipe, ctx)
        try:
            return _walk_share(session, ctx, share, progress, stop)
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
    sizes = [n for w in walked for n in w["sizes"]]
    save_chunk_log(spec, ctx, phase, durations, sizes)
    return PhaseRun(
        rows=sum(w["rows"] for w in walked),
        chunks=sum(w["chunks"] for w in walked),
        # the shares are consecutive key ranges and each names its first rows: the smallest ids overall
        sample_ids=sorted(i for w in walked for i in w["sample_ids"])[:SAMPLE_IDS],
        notes=[n for w in walked for n in w["notes"]],
        resumed_after=min((s.after for s in shares if s.resumed), default=None),
        workers=len(shares),
        progress=progress.lines[-1] if progress.lines else "",
        chunk_stats=chunk_stats(durations, sum(w["throttled"] for w in walked)),
        retries=opener.retries + sum(w["retries"] for w in walked[1:]),
    )


def _walk_share(
    session: Session, ctx: RunContext, share: Checkpoint, progress: Progress, stop: threading.Event
) -> dict:
    """The chunk loop of one worker over its share, on its own connection."""
    recipe = session.recipe
    sizer, throttle = pacing_for(session, ctx)
    walked = {"rows": 0, "chunks": 0, "sample_ids": [], "notes": [], "durations": [], "sizes": []}
    after = share.after
    while not stop.is_set():
        end = retrying(
            session,
            f"keys after {after!r}",
            lambda a=after: _read(session.db, lambda: recipe.next_end(session.db, a, sizer.size, share.until)),
        )
        if end is None:
            break
        lo, (hi, rows) = after, end
        if not recipe.read_only:  # a person's pause or cancel, read between two chunks
            where = f"spec {session.spec.name}, phase {recipe.phase}, before keys ({lo!r}, {hi!r}]"
            retrying(
                session,
                where,
                lambda w=where: controls.hold_between_chunks(session.db, session.spec.name, ctx.run_id, w),
            )
        retrying(session, f"load check before keys ({lo!r}, {hi!r}]", throttle.wait_until_calm)
        started = time.perf_counter()
        done = retrying(session, f"keys ({lo!r}, {hi!r}]", lambda lo=lo, hi=hi: _chunk(session, share, lo, hi))
        walked["sample_ids"] += done.sample_ids
        walked["notes"] += done.notes
        session.samples_wanted = SAMPLE_IDS - len(walked["sample_ids"])  # counted once the chunk committed
        walked["rows"] += done.rows
        walked["chunks"] += 1
        walked["durations"].append(time.perf_counter() - started)
        walked["sizes"].append(rows)
        sizer.observe(rows, walked["durations"][-1])
        progress.advance(rows, sizer.size)
        after = hi
    return {**walked, "throttled": throttle.waited, "retries": session.retries}


def _chunk(session: Session, share: Checkpoint, lo, hi) -> ChunkResult:
    """One chunk: the recipe's work and the checkpoint, in one transaction."""
    db, ctx = session.db, session.ctx
    with db.transaction(read_only=session.recipe.read_only):
        done = session.recipe.process(db, session.prepared, lo, hi, session.samples_wanted)
        if _checkpointing(session.recipe, ctx):
            db.execute(
                session.checkpoint_sql,
                {"run_no": ctx.run_no, "phase": share.share, "last_key": hi, "rows_done": done.rows},
            )
    return done


def _read(db: Database, reading):
    """A read between chunks: its own short transaction, so no snapshot or lock outlives it."""
    value = reading()
    db.commit()
    return value


def _checkpointing(recipe: Recipe, ctx: RunContext) -> bool:
    return ctx.run_no is not None and not recipe.read_only


def _start(db: Database, spec: Spec, ctx: RunContext, recipe: Recipe) -> tuple[int, list[Checkpoint]]:
    """The row total (for progress) and the workers' shares: resumed from checkpoints, or split anew."""
    total = int(recipe.count(db) or 0)
    until = recipe.scope_end(db, ctx)
    saved = _checkpoints(db, spec, ctx, recipe)
    if saved:
        # every recipe walks keys of the target's kind: target rows, their audit rows, decisions about them
        parse = spec.target_key.parse
        shares = [
            Checkpoint(
                r["phase"], parse(r["last_key"]), until if r["until_key"] is None else parse(r["until_key"]), True
            )
            for r in saved
        ]
        log.info(
            "spec %s, phase %s: resuming %s",
            spec.name,
            recipe.phase,
            ", ".join(
                f"{s.share} after key {s.after!r}" + (f" up to {s.until!r}" if s.until is not None else "")
                for s in shares
            ),
        )
    else:
        shares = _split(db, spec, ctx, recipe, total, until)
    db.commit()
    return total, shares


def _split(db: Database, spec: Spec, ctx: RunContext, recipe: Recipe, total: int, until) -> list[Checkpoint]:
    """Consecutive key ranges holding about equal numbers of rows, one per worker; recorded for a resume."""
    after = recipe.first_key(db, until)
    if after is None:
        return []
    workers = max(1, min(ctx.workers, total // ctx.batch_size))  # a share below one starting chunk: not worth it
    if workers == 1 or not recipe.splittable:
        shares = [Checkpoint(recipe.phase, after, until)]
    else:
        bounds = [after]
        for number in range(1, workers):
            bound = recipe.share_bound(db, after, until, number * total // workers - 1)
            # offsets grow, so each bound follows the one before in the key's own order (text: its collation)
            if bound is not None and bound != bounds[-1]:
                bounds.append(bound)
        bounds.append(until)
        shares = [
            Checkpoint(f"{recipe.phase}:{n + 1}/{len(bounds) - 1}", bounds[n], bounds[n + 1])
            for n in range(len(bounds) - 1)
        ]
    if len(shares) > 1 and _checkpointing(recipe, ctx):
        save = sql.render("bookkeeping/save_share.sql", spec)
        for share in shares:
            db.execute(
                save, {"run_no": ctx.run_no, "phase": share.share, "last_key": share.after, "until_key": share.until}
            )
    return shares


def _checkpoints(db: Database, spec: Spec, ctx: RunContext, recipe: Recipe) -> list[dict]:
    if not _checkpointing(recipe, ctx):
        return []
    return db.rows(
        sql.render("bookkeeping/read_checkpoints.sql", spec),
        {"run_no": ctx.run_no, "phase": recipe.phase, "share_prefix": f"{recipe.phase}:"},
    )


def retrying(session: Session, where: str, work, sleep=time.sleep):
    """Run one unit of a phase (a chunk, or a read between chunks) in the chunk session.

    Transient lock trouble retries with bounded backoff; a lost connection reconnects first. `where` names
    the keys involved for the log and the final error.
    """
    import MySQLdb

    spec, phase = session.spec, session.recipe.phase
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
            delay = min(RETRY_FIRST_DELAY_S * 2 ** (attempt - 1), RETRY_MAX_DELAY_S)
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

    `source` is a Database, or a Session whose connection may be replaced after a reconnect: then a
    lost connection passes through the throttle to the caller's `retrying`, which reconnects and reads
    again, like any chunk. Any other failure to read stops the run (fail closed).

    The throttle watches the server's Threads_running (pause above `max_threads_running`, critical at
    `critical_threads_running`) and, for a writing walk, the lag of every replica in
    TENANT_THROTTLE_REPLICAS (pause above `max_replica_lag_s`; unreadable for REPLICA_GRACE_S: stop),
    measured with the heartbeat this connection moves on the primary (replicas.py).
    """
    from tenant_integrity.core import settings
    from tenant_integrity.engine import replicas
    from tenant_integrity.engine.pacing import Signal

    statement = sql.render("pacing/threads_running.sql")
    in_session = isinstance(source, Session)

    def db() -> Database:
        return source.db if in_session else source

    def threads_running() -> float | None:
        rows = db().rows(statement)
        db().commit()
        return float(rows[0]["Value"]) if rows else None

    def connection_lost(exc: Exception) -> bool:
        import MySQLdb

        return (
            in_session
            and isinstance(exc, MySQLdb.OperationalError)
            and bool(exc.args)
            and exc.args[0] in CONNECTION_LOST
        )

    signals = [
        Signal("Threads_running", threads_running, limit=ctx.max_threads_running, critical=ctx.critical_threads_running)
    ]
    writing = not (source.recipe.read_only if in_session else ctx.dry_run)
    watched = replicas.configured_replicas() if writing else []
    before_check = None
    if watched:
        heartbeat = replicas.Heartbeat.of(db().target)
        before_check = lambda: heartbeat.beat(db())  # noqa: E731
        for replica in watched:
            lag = replicas.ReplicaLag(replica, db().target.database)
            signals.append(
                Signal(
                    lag.signal_name,
                    lag.read,
                    limit=ctx.max_replica_lag_s,
                    unit=" s",
                    digits=2,
                    grace_seconds=settings.REPLICA_GRACE_S,
                )
            )
    sizer = ChunkSizer(start=ctx.batch_size, target_seconds=ctx.chunk_seconds, maximum=BATCH_SIZE_MAX)
    return sizer, Throttle(
        signals=signals,
        before_check=before_check,
        # watched replicas: look again as often as the heartbeat moves, so a caught-up replica releases at once
        poll_seconds=settings.HEARTBEAT_INTERVAL_S if watched else settings.THROTTLE_POLL_S,
        max_wait_seconds=settings.THROTTLE_MAX_WAIT_S,
        critical_max_seconds=settings.CRITICAL_LOAD_MAX_S,
        report_every=ctx.progress_every,
        recovered_by_caller=connection_lost,
    )


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


# --- the write step the writers share ---------------------------------------------------------


def scratch_statements(db: Database, spec: Spec, columns: dict | None = None) -> dict:
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


def write_decided(db: Database, spec: Spec, phase: str, st: dict, params: dict, decided: int, lo, hi) -> None:
    """Back up, audit and write (or queue) the rows in the scratch table, inside the chunk's transaction.

    A chunk whose audit or write counts differ from what it decided raises ChunkError: rolled back whole.
    """
    counts = {}
    if st.get("queue"):
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
            f"spec {spec.name!r}, phase {phase!r}, table {spec.target.table!r}, keys ({lo!r}, {hi!r}]: "
            f"decided {decided} rows but {wrong}; chunk rolled back (ids {ids})"
        )


def apply_decided_rows(
    db: Database,
    spec: Spec,
    phase: str,
    statements: dict,
    params: dict,
    audit: str,
    write: str,
    audit_values_per_row: int = 1,
) -> list:
    """Back up, audit and write the rows in the scratch table (inside the caller's transaction); their ids."""
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
    write_decided(db, spec, phase, chunk, params, len(ids), spec.target_key.before(ids[0]), ids[-1])
    return ids


def error(spec: Spec, phase: str, message: str) -> TenantIntegrityError:
    return TenantIntegrityError(f"spec {spec.name!r}, phase {phase!r}, table {spec.target.table!r}: {message}")
