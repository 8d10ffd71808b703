"""Parallel workers and their shares, on the real MariaDB: a failing worker stops the others, and a
resumed share ends at the bound it was given.

The seed incident's NULL rows 30-60 split into two shares at key 44: (29, 44] and (44, 60]. Each test
orders the workers with row locks it holds and releases once the server shows the worker waiting for
them (tests/helpers/row_locks.py); a trigger makes one row's write fail, as a bad row would.
"""

from __future__ import annotations

import dataclasses
import threading

from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.repair import phases
from tests.helpers.chunk_logs import chunk_rows
from tests.helpers.dbcheck import query
from tests.helpers.row_locks import CHUNK_LOCK, RowLock, connection_open, in_thread, wait_until, waiters

SPEC = load_spec("customers_company")
PHASE = "backfill_appointments"


def prepared(target, run_id: str):
    """Preflight and backup; the backfill's context: two workers, starting with one-row chunks."""
    ctx = RunContext(run_id=run_id, dry_run=False, workers=2)
    plan = phases.preflight(target, SPEC, ctx)
    phases.backup(target, SPEC, ctx, plan)
    return dataclasses.replace(ctx, batch_size=1, chunk_seconds=0.01), plan


def refuse_writes_to(target, key: int) -> None:
    """A row whose write fails every time (a trigger signals): the chunk holding it fails for good."""
    with target.connect() as db:
        db.execute(
            "create trigger refuses_one_row before update on customers for each row"
            f" if new.id = {int(key)} and old.company_id is null then"
            f" signal sqlstate '45000' set message_text = 'customer {int(key)} refuses the write';"
            " end if"
        )
        db.commit()


def allow_writes(target) -> None:
    with target.connect() as db:
        db.execute("drop trigger refuses_one_row")
        db.commit()


def backfill_in_thread(target, ctx, plan) -> tuple[threading.Thread, dict]:
    return in_thread(lambda: phases.backfill_source(target, SPEC, ctx, plan, "appointments"))


def audited_ids(target, run_id: str) -> list[int]:
    rows = query(target, "select row_id from tenant_audit_log where run_id = %(r)s order by row_id", {"r": run_id})
    return [r["row_id"] for r in rows]


def checkpoints(target, run_no: int) -> dict[str, int]:
    rows = query(target, "select phase, last_key from tenant_checkpoints where run_no = %(n)s", {"n": run_no})
    return {r["phase"]: r["last_key"] for r in rows}


def test_a_failing_worker_stops_the_other_after_its_current_chunk(seed_db):
    ctx, plan = prepared(seed_db, "one-fails")
    refuse_writes_to(seed_db, 30)  # the first row of share 1
    first, second = RowLock(seed_db, "customers", 30), RowLock(seed_db, "customers", 45)
    try:
        run, outcome = backfill_in_thread(seed_db, ctx, plan)
        # both workers inside their first chunk, each blocked on the first row of its share
        worker_1 = wait_until(seed_db, lambda db: waiters(db, first.id, CHUNK_LOCK), "worker 1 waits for row 30")[0]
        wait_until(seed_db, lambda db: waiters(db, second.id, CHUNK_LOCK), "worker 2 waits for row 45")
        first.release()  # worker 1's chunk meets the refusing row and fails: the run must end
        wait_until(seed_db, lambda db: not connection_open(db, worker_1), "worker 1 failed and closed its connection")
        second.release()  # worker 2 finishes the chunk it is in; it must not start another
        run.join(timeout=120)
    finally:
        first.close()
        second.close()
    assert not run.is_alive()
    assert "customer 30 refuses the write" in str(outcome["error"])
    assert audited_ids(seed_db, "one-fails") == [45]  # worker 2's one chunk, not its share's 13 rows (45-57)
    assert checkpoints(seed_db, plan.run_no) == {f"{PHASE}:1/2": 29, f"{PHASE}:2/2": 45}


def test_a_resumed_share_ends_at_its_saved_bound(seed_db):
    ctx, plan = prepared(seed_db, "resumed-share")
    refuse_writes_to(seed_db, 35)
    blocker = RowLock(seed_db, "customers", 35)
    try:
        run, outcome = backfill_in_thread(seed_db, ctx, plan)
        # worker 1 wrote its rows before 35 and waits inside the chunk holding 35; worker 2 walked its whole share
        wait_until(seed_db, lambda db: waiters(db, blocker.id, CHUNK_LOCK), "worker 1 waits for row 35")
        wait_until(
            seed_db, lambda db: checkpoints(seed_db, plan.run_no).get(f"{PHASE}:2/2") == 60, "worker 2 walked to 60"
        )
        blocker.release()
        run.join(timeout=120)
    finally:
        blocker.close()
    assert "customer 35 refuses the write" in str(outcome["error"])
    stopped_at = checkpoints(seed_db, plan.run_no)[f"{PHASE}:1/2"]
    assert 29 <= stopped_at < 35
    # share 2 is done; its keys after 57 are the orphans 58-60, still NULL: a resumed share 1 that walked on past
    # its bound (44) would walk them as well
    assert audited_ids(seed_db, "resumed-share") == [*range(30, stopped_at + 1), *range(45, 58)]

    allow_writes(seed_db)
    resumed = phases.backfill_source(seed_db, SPEC, ctx, plan, "appointments")
    assert (resumed.backfilled, resumed.resumed_after, resumed.workers) == (28, stopped_at, 2)
    assert checkpoints(seed_db, plan.run_no) == {f"{PHASE}:1/2": 44, f"{PHASE}:2/2": 60}
    assert sum(chunk_rows("resumed-share", PHASE)) == 44 - stopped_at  # the NULL rows in (stopped_at, 44], no more
    assert audited_ids(seed_db, "resumed-share") == list(range(30, 58))
