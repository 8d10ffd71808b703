"""tenant_review_import: apply the decisions a person wrote into the exported review CSV.

Everything is validated before anything is written: the path (inside the storage base: $TENANT_STORAGE_URL
or $TENANT_REVIEW_DIR, see tenant_integrity.store.storage), the file
(size, UTF-8 with or without BOM, CRLF or LF), the header, every row (row_id an integer that is an
open review row of this spec, no duplicates, the decision a tenant that exists, `orphan` or `skip`).
One bad row fails the run, listing every problem with its CSV line number; nothing is applied.
A valid file is applied in chunks with backup + audit (action `review_decision`, source = file:line),
guarded on the tenant still being NULL; then the post_validation gate runs.
"""

from __future__ import annotations

import bisect
import csv
import dataclasses
import io
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tenant_integrity.core.errors import GateFailed, TenantIntegrityError
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import INTEGER_KEY, TEXT_KEY_MAX_LENGTH, Spec, TargetKey
from tenant_integrity.engine import runner
from tenant_integrity.engine.recipe import ChunkResult, Recipe
from tenant_integrity.engine.session import SAMPLE_IDS
from tenant_integrity.engine.write_step import ScratchStatements, apply_decided_rows, scratch_statements
from tenant_integrity.repair.phases import close_run, post_validation_gate, register_run, registered_run
from tenant_integrity.repair.results import ReviewImportResult
from tenant_integrity.store import bookkeeping, sql, storage
from tenant_integrity.store.db import Database, DbTarget

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

log = logging.getLogger(__name__)
MAX_BYTES = 50 * 1024 * 1024
MAX_PROBLEMS_SHOWN = 200
INTEGER = re.compile(r"^[0-9]{1,19}$")
FORMULA = ("=", "+", "-", "@", "\t", "\r")


class ReviewFileError(TenantIntegrityError):
    """The review file (or its path) is not acceptable; nothing was applied."""

    def __init__(self, path: str, problems: list[str]):
        self.path = path
        self.problems = problems
        shown = "\n".join(f"  - {p}" for p in problems[:MAX_PROBLEMS_SHOWN])
        more = f"\n  … and {len(problems) - MAX_PROBLEMS_SHOWN} more" if len(problems) > MAX_PROBLEMS_SHOWN else ""
        super().__init__(f"review file {path} rejected, nothing applied ({len(problems)} problem(s)):\n{shown}{more}")


@dataclass(frozen=True)
class Decision:
    line: int
    row_id: int
    kind: str  # "tenant" | "orphan" | "skip"
    tenant: int | None = None


def resolve_review_path(value: str) -> ObjectStoragePath:
    """The file must be inside the storage base, exist and be small enough.

    A key relative to the base (customers_company/b1/decided.csv), or the file's URL or absolute path under it.
    On the local filesystem links and .. are resolved first; in an object store a key has plain names only.
    """
    root = storage.base()
    shown = storage.display(root)
    if not isinstance(value, str) or not value.strip():
        raise ReviewFileError(str(value), ["review_csv is empty: give a path under " + shown])
    try:
        resolved = storage.locate(value, root)
    except storage.UnsafeKey:
        raise ReviewFileError(value, [f"the path is outside the review folder {shown} (refused)"]) from None
    if not storage.is_file(resolved):
        raise ReviewFileError(value, [f"no such file: {storage.display(resolved)}"])
    size = storage.size(resolved)
    if size > MAX_BYTES:
        raise ReviewFileError(value, [f"the file is {size} bytes; the limit is {MAX_BYTES} (50 MB)"])
    return resolved


def parse_review_csv(data: bytes, name: str = "review.csv", key: TargetKey = INTEGER_KEY) -> list[Decision]:
    """Parse and check the file on its own; raise ReviewFileError listing every problem with its line.

    `key` is the target key's kind (the live check's): row ids are integers, or text keys kept as written.
    """
    if len(data) > MAX_BYTES:
        raise ReviewFileError(name, [f"the file is {len(data)} bytes; the limit is {MAX_BYTES} (50 MB)"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ReviewFileError(
            name, [f"line {line}: not valid UTF-8 (byte {exc.start}); save the file as UTF-8"]
        ) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[str] = []
    try:
        header = next(reader)
    except StopIteration:
        raise ReviewFileError(
            name, ["line 1: the file is empty (expected a header with row_id and decision)"]
        ) from None
    header = [h.strip() for h in header]
    missing = [c for c in ("row_id", "decision") if c not in header]
    if missing:
        raise ReviewFileError(name, [f"line 1: the header lacks {', '.join(missing)} (got {', '.join(header)})"])
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise ReviewFileError(name, [f"line 1: the header repeats {', '.join(duplicated)}"])
    id_at, decision_at = header.index("row_id"), header.index("decision")
    decisions: list[Decision] = []
    first_line: dict = {}
    line = reader.line_num + 1
    try:
        for record in reader:
            start, line = line, reader.line_num + 1
            if not record or all(not cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                problems.append(f"line {start}: has {len(record)} cells, the header has {len(header)}")
                continue
            decision = _decision(start, record[id_at].strip(), record[decision_at].strip(), problems, key)
            if decision is None:
                continue
            if decision.row_id in first_line:
                problems.append(
                    f"line {start}: row_id {decision.row_id} appears again (first on line {first_line[decision.row_id]})"
                )
                continue
            first_line[decision.row_id] = start
            decisions.append(decision)
    except csv.Error as exc:
        problems.append(f"line {reader.line_num}: not a readable CSV record ({exc})")
    if problems:
        raise ReviewFileError(name, problems)
    if not decisions:
        raise ReviewFileError(name, ["the file holds no decisions"])
    return decisions


def _decision(line: int, row_id: str, decision: str, problems: list[str], key: TargetKey) -> Decision | None:
    ok = True
    if key.text and not 0 < len(row_id) <= TEXT_KEY_MAX_LENGTH:
        problems.append(f"line {line}: row_id {row_id!r} is not a key (1 to {TEXT_KEY_MAX_LENGTH} characters)")
        ok = False
    elif not key.text and not INTEGER.match(row_id):
        problems.append(f"line {line}: row_id {row_id!r} is not an integer")
        ok = False
    word = decision.lower()
    if word in ("orphan", "skip"):
        kind, tenant = word, None
    elif INTEGER.match(decision):
        kind, tenant = "tenant", int(decision)
    else:
        kind, tenant = "", None
        if not decision:
            problems.append(f"line {line}: decision is empty (a tenant id, orphan, or skip to leave the row open)")
        elif decision.startswith(FORMULA) or decision.startswith("'"):
            problems.append(
                f"line {line}: decision {decision!r} looks like a spreadsheet formula; write a tenant id, orphan or skip"
            )
        else:
            problems.append(f"line {line}: decision {decision!r} is not a tenant id, orphan or skip")
        ok = False
    return Decision(line, key.parse(row_id), kind, tenant) if ok else None


def _in_chunks(values: list, size: int = 1000):
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _child_tenants(db: Database, spec: Spec, ids: list) -> dict[object, list[tuple[str, int, int]]]:
    """row_id -> [(relation table, tenant its child rows carry, how many)]."""
    found: dict[object, list[tuple[str, int, int]]] = {}
    for index, relation in enumerate(spec.relations):
        statement = sql.render("review/child_tenants.sql", spec, relation=sql.spec_context(spec)["relations"][index])
        for chunk in _in_chunks(ids):
            for r in db.rows(statement, {"ids": tuple(chunk)}):
                found.setdefault(spec.target_key.parse(r["row_id"]), []).append(
                    (relation.table, int(r["tenant"]), int(r["child_rows"]))
                )
    return found


def check_against_database(
    db: Database, spec: Spec, decisions: list[Decision], name: str, run_no: int | None = None
) -> None:
    """Every row must be open in the review queue of this spec (or decided by `run_no`, this import's own
    earlier attempt); every tenant must exist."""
    open_rows: set = set()
    for chunk in _in_chunks([d.row_id for d in decisions]):
        rows = db.rows(
            sql.render("review/open_rows.sql", spec),
            {"spec": spec.name, "table_name": spec.target.table, "ids": tuple(chunk), "run_no": run_no},
        )
        open_rows |= {spec.target_key.parse(r["row_id"]) for r in rows}
    tenants = sorted({d.tenant for d in decisions if d.kind == "tenant"})
    existing: set[int] = set()
    for chunk in _in_chunks(tenants):
        existing |= {
            int(r["tenant"])
            for r in db.rows(sql.render("review/existing_tenants.sql", spec), {"tenants": tuple(chunk)})
        }
    children = _child_tenants(db, spec, [d.row_id for d in decisions if d.kind == "tenant"])
    db.commit()
    problems = []
    for d in decisions:
        if d.row_id not in open_rows:
            problems.append(f"line {d.line}: row_id {d.row_id} is not an open review row of spec {spec.name}")
        if d.kind == "tenant" and d.tenant not in existing:
            problems.append(
                f"line {d.line}: tenant {d.tenant} does not exist in {spec.tenant_table.table}.{spec.tenant_table.key}"
            )
        if d.kind == "orphan" and spec.orphans.action != "soft_delete":
            problems.append(
                f"line {d.line}: decision orphan for row_id {d.row_id}, but spec {spec.name} does not soft-delete "
                f"(orphans.action {spec.orphans.action}): write a tenant id, or skip and delete the row yourself"
            )
        if d.kind == "tenant":
            for table, tenant, count in children.get(d.row_id, []):
                if tenant != d.tenant:
                    problems.append(
                        f"line {d.line}: tenant {d.tenant} contradicts {count} {table} row(s) of tenant {tenant} "
                        f"for row_id {d.row_id}: fix those rows first, or decide orphan/skip"
                    )
    if problems:
        raise ReviewFileError(name, problems)


def import_review(target: DbTarget, spec: Spec, ctx: RunContext, review_csv: str) -> ReviewImportResult:
    """Validate everything, then (unless dry run) apply, audit and gate. Returns counts."""
    resolved = resolve_review_path(review_csv)
    data = storage.read_bytes(resolved)
    path = storage.display(resolved)  # how the file is named in messages and the result
    with target.connect() as db:
        columns = bookkeeping.validate_against_database(db, spec)
        decisions = parse_review_csv(data, path, spec.target_key)  # row ids in the key's own kind
        bookkeeping.ensure_tables(db, spec, columns) if not ctx.dry_run else None
        if ctx.dry_run and "tenant_review_queue" not in bookkeeping.read_schema(db, ["tenant_review_queue"])[0]:
            raise ReviewFileError(path, [f"spec {spec.name} has no review queue yet: run tenant_backfill first"])
        check_against_database(db, spec, decisions, path, _earlier_attempt(db, spec, ctx))
    read = ReviewImportResult(
        spec=spec.name,
        file=path,
        decisions=len(decisions),
        by_kind={kind: sum(d.kind == kind for d in decisions) for kind in ("tenant", "orphan", "skip")},
        dry_run=ctx.dry_run,
    )
    if ctx.dry_run:
        log.info("dry run: %s valid decisions in %s, nothing applied", len(decisions), path)
        return read
    ctx = dataclasses.replace(ctx, run_no=register_run(target, spec, ctx))
    try:
        applied = _apply(target, spec, ctx, decisions, resolved.name, read)
        result = dataclasses.replace(applied, post_validation=tuple(post_validation_gate(target, spec, ctx.run_no)))
    except TenantIntegrityError as exc:
        status = "failed_post_validation" if isinstance(exc, GateFailed) else "failed"
        close_run(target, ctx.run_no, status, {**read.to_dict(), "error": str(exc)})
        raise
    close_run(target, ctx.run_no, "succeeded", result.to_dict())
    return result


def _earlier_attempt(db: Database, spec: Spec, ctx: RunContext) -> int | None:
    """The run_no of this import run if an earlier attempt registered it (a retry resumes it), else None."""
    if ctx.dry_run or "tenant_runs" not in bookkeeping.read_schema(db, ["tenant_runs"])[0]:
        return None
    row = registered_run(db, spec, ctx)
    return int(row["run_no"]) if row else None


def import_from_params(target: DbTarget, spec: Spec, ctx: RunContext, params: dict) -> ReviewImportResult:
    return import_review(target, spec, ctx, params.get("review_csv", ""))


def _apply(
    target: DbTarget, spec: Spec, ctx: RunContext, decisions: list[Decision], file_name: str, read: ReviewImportResult
) -> ReviewImportResult:
    """Apply the decisions through the chunk engine; the counts are the whole run's, read from the queue.

    Each chunk applies its decisions and records their queue status in one transaction, and the engine
    checkpoints it there too: a re-run of the same import (Airflow's retry, or a Clear after a crash)
    resumes after the last committed chunk, and its counts include what the first attempt applied.
    """
    done = runner.run(
        target, spec, dataclasses.replace(ctx, workers=1), DecisionFileWalk(spec, ctx, decisions, file_name)
    )
    with target.connect() as db:
        rows = db.rows(
            sql.render("review/decided_by_run.sql", spec),
            {"spec": spec.name, "table_name": spec.target.table, "run_no": ctx.run_no},
        )
        db.commit()
    decided = {
        status: [spec.target_key.parse(r["row_id"]) for r in rows if r["status"] == status] for status in STATUSES
    }
    if decided["settled"]:
        log.warning(
            "spec %s: %s rows were settled meanwhile and left alone: %s",
            spec.name,
            len(decided["settled"]),
            decided["settled"][:SAMPLE_IDS],
        )
    return dataclasses.replace(
        read,
        applied=len(decided["applied"]),
        skipped=len(decided["skipped"]),
        settled=tuple(decided["settled"][:SAMPLE_IDS]),
        settled_rows=len(decided["settled"]),
        resumed_after=done.resumed_after,
        retries=done.retries,
    )


STATUSES = ("applied", "skipped", "settled")  # what an import records for each row it decided


@dataclass(frozen=True)
class DecisionFileStatements:
    """The review import's statements: lock the decided rows, put a group of decisions into the scratch table, drop
    those the application settled meanwhile, apply the rest, and set each review row's status."""

    scratch: ScratchStatements
    lock: str
    insert: str
    settled: str
    drop_settled: str
    set_status: str


class DecisionFileWalk(Recipe):
    """A review file's decisions, in key order: each chunk locks its rows, applies tenants and orphans
    (backed up and audited like a backfill), and records every row's queue status."""

    phase = "review_import"

    def __init__(self, spec: Spec, ctx: RunContext, decisions: list[Decision], file_name: str):
        self.spec, self.ctx, self.file_name = spec, ctx, file_name
        self.decisions = sorted(decisions, key=lambda d: d.row_id)
        self.keys = [d.row_id for d in self.decisions]
        self.params = {
            "run_id": ctx.run_id,
            "spec": spec.name,
            "table_name": spec.target.table,
            "action": "review_decision",
            "source": file_name,
            "column_name": spec.target.tenant_column,
            "touched_column": spec.touched_column,
            **sql.orphan_params(spec, _now_text()),  # one soft-delete time for the attempt
        }

    def prepare(self, db: Database) -> DecisionFileStatements:
        spec = self.spec
        return DecisionFileStatements(
            scratch=scratch_statements(db, spec),
            lock=sql.render("review/lock_rows.sql", spec),
            insert=sql.render("review/insert_decision.sql"),
            settled=sql.render("review/settled_decisions.sql", spec),
            drop_settled=sql.render("review/drop_settled_decisions.sql", spec),
            set_status=sql.render("review/set_status.sql", spec),
        )

    def count(self, db: Database) -> int:
        return len(self.decisions)

    def first_key(self, db: Database, until):
        return self.spec.target_key.before(self.keys[0]) if self.keys else None

    def next_end(self, db: Database, after, size: int, until):
        start = bisect.bisect_right(self.keys, after)
        chunk = self.keys[start : start + size]
        return (chunk[-1], len(chunk)) if chunk else None

    def process(self, db: Database, st: DecisionFileStatements, lo, hi, samples_wanted: int) -> ChunkResult:
        chunk = self.decisions[bisect.bisect_right(self.keys, lo) : bisect.bisect_right(self.keys, hi)]
        status = {"applied": [], "settled": [], "skipped": [d.row_id for d in chunk if d.kind == "skip"]}
        to_lock = tuple(d.row_id for d in chunk if d.kind != "skip")
        if to_lock:
            db.execute(st.lock, {"ids": to_lock})
        for kind, audit, write, per_row in self._kinds():
            group = [d for d in chunk if d.kind == kind]
            if not group:
                continue
            db.execute(st.scratch.clear)
            db.execute_many(
                st.insert,
                [
                    {
                        "row_id": d.row_id,
                        "outcome": kind,
                        "tenant": d.tenant,
                        "source_label": f"{self.file_name}:{d.line}",
                    }
                    for d in group
                ],
            )
            status["settled"] += [self.spec.target_key.parse(r["row_id"]) for r in db.rows(st.settled)]
            db.execute(st.drop_settled)
            status["applied"] += apply_decided_rows(
                db, self.spec, self.phase, st.scratch, self.params, audit, write, per_row
            )
        for name, ids in status.items():
            if ids:
                db.execute(
                    st.set_status,
                    {
                        "status": name,
                        "run_no": self.ctx.run_no,
                        "spec": self.spec.name,
                        "table_name": self.spec.target.table,
                        "ids": tuple(ids),
                    },
                )
        return ChunkResult(rows=len(status["applied"]), sample_ids=status["applied"][:samples_wanted])

    def _kinds(self):
        spec = self.spec
        return (  # kind, audit, write, audit rows per row
            ("tenant", "backfill/audit_tenant.sql", "backfill/write_tenant.sql", len(spec.tenant_write_columns)),
            (
                "orphan",
                "backfill/audit_soft_delete.sql",
                "backfill/write_soft_delete.sql",
                len(spec.orphan_write_columns),
            ),
        )


def _now_text() -> str:
    import datetime as dt

    return dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None).isoformat(sep=" ")
