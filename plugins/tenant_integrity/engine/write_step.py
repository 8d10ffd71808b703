"""The write step the writers share: back up, audit and write the rows a chunk decided into the session's
scratch table — or queue them for review — and refuse the chunk whole when the counts disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from tenant_integrity.core.errors import ChunkError
from tenant_integrity.core.spec import Spec
from tenant_integrity.store import bookkeeping, sql
from tenant_integrity.store.db import Database


@dataclass(frozen=True)
class ScratchStatements:
    """The statements every write chunk shares, on the session's scratch table of chunk decisions (rendered once
    per connection), and the target's auto-updating columns every write assigns to themselves."""

    clear: str  # empty the scratch table
    count: str  # rows decided into it
    backup: str  # the pre-image of every decided row (a row this run backed up before keeps that copy)
    ids: str  # the decided keys, in key order
    sample_ids: str  # the first decided keys, for the phase's result
    backed_up_rows: str  # decided rows that have a backup row of this run
    auto_updated_columns: tuple[str, ...]
    touch_clock: str | None  # one change-marker value per chunk (spec.touched_column), else None


@dataclass(frozen=True)
class ChunkWrite:
    """What a chunk does with the rows it decided: back them up, audit and write them — or queue them for review."""

    audit: str | None = None
    write: str | None = None
    queue: str | None = None
    audit_values_per_row: int = 1  # an orphan soft-delete audits every column it sets


def scratch_statements(db: Database, spec: Spec, columns: dict | None = None) -> ScratchStatements:
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
    return ScratchStatements(
        clear=sql.render("backfill/clear_chunk_decisions.sql"),
        count=sql.render("backfill/count_chunk_decisions.sql"),
        backup=sql.render("backfill/backup_chunk.sql", spec, backup_columns=backup_columns),
        ids=sql.render("backfill/chunk_decision_ids.sql"),
        sample_ids=sql.render("backfill/chunk_sample_ids.sql"),
        backed_up_rows=sql.render("backfill/count_backed_up_decisions.sql", spec),
        auto_updated_columns=tuple(bookkeeping.auto_updated_columns(spec, columns)),
        touch_clock=sql.render("backfill/touch_clock.sql") if spec.touched_column else None,
    )


def write_decided(
    db: Database,
    spec: Spec,
    phase: str,
    scratch: ScratchStatements,
    chunk_write: ChunkWrite,
    params: dict,
    decided: int,
    lo,
    hi,
) -> None:
    """Back up, audit and write (or queue) the rows in the scratch table, inside the chunk's transaction.

    A chunk whose audit or write counts differ from what it decided raises ChunkError: rolled back whole.
    """
    counts = {}
    if chunk_write.queue:
        db.execute(chunk_write.queue, params)
        return
    # the pre-image of every row, under the chunk's lock (a row this run backed up before keeps that copy)
    db.execute(scratch.backup, params)
    if scratch.touch_clock and chunk_write.write:  # one change-marker value for the audit and the write of this chunk
        db.execute(scratch.touch_clock)
    # a write joins its row's backup: "written = decided" below also proves every written row is backed up
    if chunk_write.audit:
        counts["audited"] = db.execute(chunk_write.audit, params)
    if chunk_write.write:
        counts["written"] = db.execute(chunk_write.write, params)
    # an orphan soft-delete audits every column it sets: so many audit rows per row
    expected = {"audited": decided * chunk_write.audit_values_per_row, "written": decided}
    wrong = {k: v for k, v in counts.items() if v != expected[k]}
    if wrong:
        ids = [r["row_id"] for r in db.rows(scratch.sample_ids)]
        raise ChunkError(
            f"spec {spec.name!r}, phase {phase!r}, table {spec.target.table!r}, keys ({lo!r}, {hi!r}]: "
            f"decided {decided} rows but {wrong}; chunk rolled back (ids {ids})"
        )


def apply_decided_rows(
    db: Database,
    spec: Spec,
    phase: str,
    scratch: ScratchStatements,
    params: dict,
    audit: str,
    write: str,
    audit_values_per_row: int = 1,
) -> list:
    """Back up, audit and write the rows in the scratch table (inside the caller's transaction); their ids."""
    ids = [spec.target_key.parse(r["row_id"]) for r in db.rows(scratch.ids)]  # in key order
    if not ids:
        return []
    chunk_write = ChunkWrite(
        audit=sql.render(audit, spec),
        write=bookkeeping.write_statement(write, spec, scratch.auto_updated_columns),
        audit_values_per_row=audit_values_per_row,
    )
    write_decided(db, spec, phase, scratch, chunk_write, params, len(ids), spec.target_key.before(ids[0]), ids[-1])
    return ids
