"""The chunk engine: every write to a customer table, and every large read, goes through `run(target, spec, ctx, recipe)`.

A writer or reader is a small `Recipe` (recipe.py): which keys it walks and what one chunk does inside its
transaction. The engine owns the rest, the way GitLab's batched migration runner does, and this file reads as that
algorithm: hold the table's writer lock; split the keys into worker shares, or resume them from their checkpoints;
walk each share chunk by chunk (a person's pause or cancel and the throttle between two chunks; the recipe's work
and the checkpoint in one transaction, retried and reconnected by the session, session.py); stop every worker when
one fails; record the chunk times (chunk_log.py). The write step the writers share is write_step.py.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from tenant_integrity.core.errors import TenantIntegrityError
from tenant_integrity.core.settings import BATCH_SIZE_MAX, RunContext
from tenant_integrity.core.spec import Spec
from tenant_integrity.engine import controls
from tenant_integrity.engine.chunk_log import chunk_stats, save_chunk_log
from tenant_integrity.engine.pacing import ChunkSizer, Throttle, ThrottlePolicy
from tenant_integrity.engine.progress import Progress
from tenant_integrity.engine.recipe import Checkpoint, ChunkResult, PhaseRun, Recipe
from tenant_integrity.engine.session import CONNECTION_LOST, SAMPLE_IDS, Session, retrying
from tenant_integrity.store import sql
from tenant_integrity.store.db import Database, DbTarget

log = logging.getLogger(__name__)


def run(target: DbTarget, spec: Spec, ctx: RunContext, recipe: Recipe) -> PhaseRun:
    """Walk the recipe's keys in chunks, one transaction each, and return what was done.

    The keys in scope are split into up to `ctx.workers` shares of consecutive keys, each walked by
    its own connection (a share smaller than one starting chunk is not worth a worker). A real run
    records the shares, and checkpoints the last key of every chunk in that chunk's transaction, so
    a re-run after a crash resumes each share after it. Deadlocks and lock-wait timeouts retry the
    chunk with bounded backoff; a lost connection reconnects and redoes the chunk (the server rolled
    it back whole). The first failing worker stops the others after their current chunk.
    """
    if (
        not recipe.read_only and ctx.run_no is None
    ):  # a write checkpoints under its run; unregistered, it could not resume
        raise error(spec, recipe.phase, "a writing phase runs under a registered run (register_run gives its run_no)")
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

    def walk(number: int, share: Checkpoint) -> ShareWalk:
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
    durations = [d for w in walked for d in w.durations]
    sizes = [n for w in walked for n in w.sizes]
    save_chunk_log(spec, ctx, phase, durations, sizes)
    return PhaseRun(
        rows=sum(w.rows for w in walked),
        chunks=sum(w.chunks for w in walked),
        # the shares are consecutive key ranges and each names its first rows: the smallest ids overall
        sample_ids=sorted(i for w in walked for i in w.sample_ids)[:SAMPLE_IDS],
        notes=[n for w in walked for n in w.notes],
        resumed_after=min((s.after for s in shares if s.resumed), default=None),
        workers=len(shares),
        progress=progress.lines[-1] if progress.lines else "",
        chunk_stats=chunk_stats(durations, sum(w.throttled for w in walked)),
        retries=opener.retries + sum(w.retries for w in walked[1:]),
    )


@dataclass
class ShareWalk:
    """What one worker did on its share: filled chunk by chunk, summed over the workers into the PhaseRun."""

    rows: int = 0
    chunks: int = 0
    sample_ids: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    durations: list[float] = field(default_factory=list)  # seconds of each chunk's transaction
    sizes: list[int] = field(default_factory=list)  # rows of each chunk
    throttled: float = 0.0  # seconds the throttle held this worker
    retries: int = 0


def _walk_share(
    session: Session, ctx: RunContext, share: Checkpoint, progress: Progress, stop: threading.Event
) -> ShareWalk:
    """The chunk loop of one worker over its share, on its own connection."""
    recipe = session.recipe
    sizer, throttle = pacing_for(session, ctx)
    walked = ShareWalk()
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
        walked.sample_ids += done.sample_ids
        walked.notes += done.notes
        session.samples_wanted = SAMPLE_IDS - len(walked.sample_ids)  # counted once the chunk committed
        walked.rows += done.rows
        walked.chunks += 1
        walked.durations.append(time.perf_counter() - started)
        walked.sizes.append(rows)
        sizer.observe(rows, walked.durations[-1])
        progress.advance(rows, sizer.size)
        after = hi
    walked.throttled, walked.retries = throttle.waited, session.retries
    return walked


def _chunk(session: Session, share: Checkpoint, lo, hi) -> ChunkResult:
    """One chunk: the recipe's work and the checkpoint, in one transaction."""
    db, ctx = session.db, session.ctx
    with db.transaction(read_only=session.recipe.read_only):
        done = session.recipe.process(db, session.prepared, lo, hi, session.samples_wanted)
        if not session.recipe.read_only:
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
    if len(shares) > 1 and not recipe.read_only:
        save = sql.render("bookkeeping/save_share.sql", spec)
        for share in shares:
            db.execute(
                save, {"run_no": ctx.run_no, "phase": share.share, "last_key": share.after, "until_key": share.until}
            )
    return shares


def _checkpoints(db: Database, spec: Spec, ctx: RunContext, recipe: Recipe) -> list[dict]:
    if recipe.read_only:
        return []
    return db.rows(
        sql.render("bookkeeping/read_checkpoints.sql", spec),
        {"run_no": ctx.run_no, "phase": recipe.phase, "share_prefix": f"{recipe.phase}:"},
    )


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
    # watched replicas: look again as often as the heartbeat moves, so a caught-up replica releases at once
    policy = ThrottlePolicy(
        poll_seconds=settings.HEARTBEAT_INTERVAL_S if watched else settings.THROTTLE_POLL_S,
        max_wait_seconds=settings.THROTTLE_MAX_WAIT_S,
        critical_max_seconds=settings.CRITICAL_LOAD_MAX_S,  # read per phase: a test or an operator may change it
        report_every=ctx.progress_every,
    )
    return sizer, Throttle(signals, policy, before_check=before_check, recovered_by_caller=connection_lost)


def error(spec: Spec, phase: str, message: str) -> TenantIntegrityError:
    return TenantIntegrityError(f"spec {spec.name!r}, phase {phase!r}, table {spec.target.table!r}: {message}")
