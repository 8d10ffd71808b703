"""What the backfill's phases walk: chunks of the target's NULL-tenant rows. ProfileWalk reads what the evidence
says about each chunk (preflight); DecisionWalk decides a chunk's rows into the scratch table, then writes or
queues them (the write phases) — under READ COMMITTED where statement-based binary logging allows it."""

from __future__ import annotations

import dataclasses

from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import Spec
from tenant_integrity.engine import runner
from tenant_integrity.engine.recipe import ChunkResult, Recipe
from tenant_integrity.engine.write_step import ChunkWrite, ScratchStatements, scratch_statements, write_decided
from tenant_integrity.store import bookkeeping, sql
from tenant_integrity.store.db import Database


class NullRowWalk(Recipe):
    """The target's NULL-tenant rows in key order, up to the run's scope end: what every backfill phase walks."""

    splittable = True

    def __init__(self, spec: Spec, phase: str):
        self.spec, self.phase = spec, phase
        self.next_end_sql = sql.render("backfill/next_chunk_end.sql", spec)

    def count(self, db: Database) -> int:
        return int(db.scalar(sql.render("preflight/count_null_rows.sql", self.spec)) or 0)

    def scope_end(self, db: Database, ctx: RunContext):
        return _scope_end(db, self.spec, ctx)

    def first_key(self, db: Database, until):
        key = self.spec.target_key
        first = db.rows(sql.render("backfill/first_null_key.sql", self.spec), {"last_key": until})[0]["first_key"]
        first = key.parse(first)
        if first is None:
            return None
        if first == key.before(first):
            raise runner.error(
                self.spec, self.phase, f"row keyed {first!r}: an empty text key cannot start a keyset walk"
            )
        return key.before(first)

    def next_end(self, db: Database, after, size: int, until):
        row = db.rows(self.next_end_sql, {"after": after, "batch_size": size, "last_key": until})[0]
        if row["chunk_end"] is None:
            return None
        return self.spec.target_key.parse(row["chunk_end"]), int(row["chunk_rows"])

    def share_bound(self, db: Database, after, until, offset: int):
        statement = sql.render("backfill/share_bound.sql", self.spec)
        row = db.rows(statement, {"after": after, "last_key": until, "offset": offset})
        return self.spec.target_key.parse(row[0]["bound"]) if row else None


def null_row_chunks(db: Database, spec: Spec, size: int):
    """(lo, hi] key ranges of up to `size` NULL-tenant rows, each read just before its chunk is used."""
    walk = NullRowWalk(spec, "read")
    after = walk.first_key(db, None)
    db.commit()
    while after is not None:
        end = walk.next_end(db, after, size, None)
        db.commit()
        if end is None:
            return
        yield after, end[0]
        after = end[0]


class ProfileWalk(NullRowWalk):
    """Preflight's read: what the evidence says about each chunk of NULL-tenant rows (no lock, no write).

    Split into shares like the writes (`workers`): each worker reads its own key range on its own connection.
    """

    read_only = True

    def __init__(self, spec: Spec):
        super().__init__(spec, "preflight profile")
        self.profile_sql = sql.render("backfill/profile_range.sql", spec)

    def scope_end(self, db: Database, ctx: RunContext):
        return None  # a plan counts every NULL row there is

    def process(self, db: Database, prepared, lo, hi, samples_wanted: int) -> ChunkResult:
        return ChunkResult(rows=0, notes=db.rows(self.profile_sql, {"lo": lo, "hi": hi}))


@dataclasses.dataclass(frozen=True)
class DecisionStatements:
    """A decision walk's statements, rendered once per connection: lock a chunk's keys, decide its rows into the
    scratch table, then write (or queue) them."""

    scratch: ScratchStatements
    lock: str
    decide: str
    chunk_write: ChunkWrite


class DecisionWalk(NullRowWalk):
    """A write phase: decide a chunk's NULL rows into the scratch table, then queue them, or back up, audit, write.

    `selection` picks the rows the phase acts on (a fixed branch of decide_chunk.sql); a backfill pass for
    source i decides with sources 1..i only (`sources`): later sources cannot change its rows.
    """

    SELECTIONS = ("backfill", "soft_delete", "conflict", "review")

    def __init__(
        self,
        spec: Spec,
        ctx: RunContext,
        phase: str,
        selection: str,
        params: dict | None = None,
        audit: str | None = None,
        write: str | None = None,
        queue: bool = False,
        lock: bool = True,
        sources: int | None = None,
        audit_values_per_row: int = 1,  # an orphan soft-delete audits every column it sets
    ):
        # the selection picks a fixed WHERE branch of decide_chunk.sql; anything else would select every row
        if selection not in self.SELECTIONS:
            raise ValueError(f"unknown chunk selection {selection!r}")
        super().__init__(spec, phase)
        self.selection, self.audit, self.write, self.queue, self.lock = selection, audit, write, queue, lock
        self.sources, self.audit_values_per_row = sources, audit_values_per_row
        self.params = {
            "run_id": ctx.run_id,
            "spec": spec.name,
            "table_name": spec.target.table,
            "run_no": ctx.run_no,
            "source_no": None,
            "source": None,
            "action": None,
            "touched_column": spec.touched_column,
            **(params or {}),
        }

    def prepare(self, db: Database) -> DecisionStatements:
        _read_committed_unless_statement_logging(db)
        spec = self.spec
        scratch = scratch_statements(db, spec)
        return DecisionStatements(
            scratch=scratch,
            lock=sql.render("backfill/lock_chunk.sql", spec),
            decide=sql.render(
                "backfill/decide_chunk.sql",
                spec,
                selection=sql.Ident(self.selection),
                evidence=sql.spec_context(spec)["evidence"][: self.sources],
                run_no=self.params["run_no"],
            ),
            chunk_write=ChunkWrite(
                audit=sql.render(self.audit, spec) if self.audit else None,
                write=bookkeeping.write_statement(self.write, spec, scratch.auto_updated_columns)
                if self.write
                else None,
                queue=sql.render("review/queue_chunk.sql", spec) if self.queue else None,
                audit_values_per_row=self.audit_values_per_row,
            ),
        )

    def process(self, db: Database, st: DecisionStatements, lo, hi, samples_wanted: int) -> ChunkResult:
        if self.lock:
            db.execute(st.lock, {"lo": lo, "hi": hi})
        db.execute(st.scratch.clear)
        decided = db.execute(st.decide, {**self.params, "lo": lo, "hi": hi})  # rows put in the scratch table
        sample = []
        if decided and samples_wanted > 0:  # the phase names its first rows; later chunks skip the query
            sample = [r["row_id"] for r in db.rows(st.scratch.sample_ids)][:samples_wanted]
        if decided:
            write_decided(db, self.spec, self.phase, st.scratch, st.chunk_write, self.params, decided, lo, hi)
        return ChunkResult(rows=decided, sample_ids=sample)


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
