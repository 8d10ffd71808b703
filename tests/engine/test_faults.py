"""Faults against the real MariaDB: a killed worker resumes, lock trouble retries, a killed connection reconnects."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from tenant_integrity.core.errors import ChunkError
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.engine import runner
from tenant_integrity.engine import session as session_module
from tenant_integrity.engine.pacing import ThrottleError
from tenant_integrity.repair import phases, walks
from tests.conftest import url_of
from tests.helpers.dbcheck import active_distribution, query
from tests.helpers.kills import kill_first_connection_running, sigkill_when
from tests.helpers.row_locks import CHUNK_LOCK, RowLock, waiters_count

SPEC = load_spec("customers_company")
EXPECTED = {1: 51, 15: 3, 83: 1, 84: 1, 85: 1}
WORKER = """
import sys
from tenant_integrity.engine import runner
from tenant_integrity.core.settings import RunContext
from tenant_integrity.repair import phases
from tenant_integrity.store.db import DbTarget
from tenant_integrity.core.spec import load_spec
target, spec = DbTarget.from_url(sys.argv[1]), load_spec("customers_company")
ctx = RunContext(run_id="crash", dry_run=False, batch_size=1, chunk_seconds=0.01)  # tiny chunks
plan = phases.preflight(target, spec, ctx)
phases.backup(target, spec, ctx, plan)
phases.backfill_source(target, spec, ctx, plan, "appointments")
"""


def audited(target) -> int:
    return query(target, "select count(*) as n from tenant_audit_log where run_id = 'crash'")[0]["n"]


@pytest.mark.parametrize("kill_after", [1, 6, 13])
def test_sigkill_after_k_chunks_then_resume_equals_an_uninterrupted_run(seed_db, kill_after):
    sigkill_when(
        seed_db, WORKER, [url_of(seed_db)], "select count(*) from tenant_audit_log where run_id = 'crash'", kill_after
    )
    done_before = audited(seed_db)
    assert kill_after <= done_before < 28, "the worker was not interrupted mid-run"
    # where each share must resume: after its last committed chunk. Rows 30-57 are backfilled by appointments,
    # so that is the share's largest audited key, unless its walk already passed the orphans 58-60 (no audit)
    shares = query(
        seed_db,
        "select phase, last_key, until_key from tenant_checkpoints where phase like 'backfill_appointments%%'"
        " order by until_key",
    )
    written = written_ids(seed_db)
    starts = [29] + [r["until_key"] for r in shares[:-1]]
    for start, share in zip(starts, shares, strict=True):
        last_written = max([k for k in written if start < k <= share["until_key"]], default=start)
        passed_the_orphans = share["last_key"] in {58, 59, 60} and share["last_key"] > last_written
        assert share["last_key"] == last_written or passed_the_orphans, share

    resumed = resume_the_crashed_run(seed_db)
    assert resumed.resumed_after == min(r["last_key"] for r in shares)  # each share resumed after its checkpoint


def resume_the_crashed_run(target):
    """Airflow's retry: the same run id, the same phases again; the outcome must equal an uninterrupted run's:
    the seed's distribution, and each changed row with exactly one audit and one backup row."""
    ctx = RunContext(run_id="crash", dry_run=False, batch_size=1, chunk_seconds=10)
    plan = phases.preflight(target, SPEC, ctx)
    phases.backup(target, SPEC, ctx, plan)
    resumed = phases.backfill_source(target, SPEC, ctx, plan, "appointments")
    assert resumed.backfilled == 28  # the whole run, from the audit: the killed attempt's rows included
    phases.backfill_source(target, SPEC, ctx, plan, "phone")
    phases.soft_delete_orphans(target, SPEC, ctx, plan)

    assert active_distribution(target) == EXPECTED
    per_row = query(
        target,
        "select a.row_id, count(*) as audits, (select count(*) from tenant_backup_customers b "
        "where b.backup_run_id = 'crash' and b.id = a.row_id) as backups "
        "from tenant_audit_log a where a.run_id = 'crash' group by a.row_id",
    )
    assert len(per_row) == 31
    assert {(r["audits"], r["backups"]) for r in per_row} == {(1, 1)}
    return resumed


def test_a_worker_sigkilled_inside_a_chunk_on_integer_keys_redoes_that_chunk_on_resume(seed_db):
    # The test above kills once the audit counts k rows. An audit row is visible once its chunk committed, so
    # that kill lands just after a commit, between two chunks: a checkpoint committed ahead of its chunk (in a
    # transaction of its own) is then caught only if the kill happens to land in that short window. Here it lands
    # inside a chunk's transaction for certain: the worker waits in its chunk's row lock for customer 40, which
    # the application holds (a chunk ending at 39 waits for it too: its index scan reads on to the next row).
    application = RowLock(seed_db, "customers", 40)
    try:
        sigkill_when(seed_db, WORKER, [url_of(seed_db)], waiters_count(application, CHUNK_LOCK), 1, poll_s=0.15)
    finally:
        application.close()  # its transaction ends: customer 40 is free again
    share_1 = query(seed_db, "select last_key from tenant_checkpoints where phase = 'backfill_appointments:1/2'")[0][
        "last_key"
    ]
    assert 29 <= share_1 < 40
    # the checkpoint is the last row of share 1's last committed chunk: the killed chunk does not count as done
    assert [r for r in written_ids(seed_db) if r <= 44] == list(range(30, share_1 + 1))

    resumed = resume_the_crashed_run(seed_db)
    assert resumed.resumed_after == share_1


def written_ids(target) -> list[int]:
    rows = query(target, "select row_id from tenant_audit_log where run_id = 'crash' order by row_id")
    return [r["row_id"] for r in rows]


def test_a_lock_wait_timeout_retries_the_chunk_then_succeeds(seed_db):
    ctx = RunContext(run_id="locks", dry_run=False, batch_size=100, chunk_seconds=10)
    plan = phases.preflight(seed_db, SPEC, ctx)
    phases.backup(seed_db, SPEC, ctx, plan)
    holder = seed_db.connect()
    holder.execute("start transaction")
    holder.execute("select * from customers where id = 40 for update")  # the application holds a row
    release = threading.Timer(7.0, holder.rollback)  # longer than one lock wait (5 s), shorter than the backoff
    release.start()
    try:
        result = phases.backfill_source(seed_db, SPEC, ctx, plan, "appointments")
    finally:
        release.cancel()
        holder.close()
    assert result.backfilled == 28
    assert result.retries >= 1
    assert query(seed_db, "select count(*) as n from tenant_audit_log where run_id = 'locks'")[0]["n"] == 28


def test_lock_trouble_that_does_not_end_fails_clearly(seed_db, monkeypatch):
    monkeypatch.setattr(session_module, "MAX_ATTEMPTS", 2)
    ctx = RunContext(run_id="stuck", dry_run=False, batch_size=100, chunk_seconds=10)
    plan = phases.preflight(seed_db, SPEC, ctx)
    phases.backup(seed_db, SPEC, ctx, plan)
    holder = seed_db.connect()
    holder.execute("start transaction")
    holder.execute("select * from customers where id = 40 for update")
    try:
        with pytest.raises(ChunkError) as failure:
            phases.backfill_source(seed_db, SPEC, ctx, plan, "appointments")
    finally:
        holder.close()
    assert "phase 'backfill_appointments', table 'customers', keys (29, 60]: lock wait timeout on 2 attempts" in str(
        failure.value
    )
    assert query(seed_db, "select count(*) as n from tenant_audit_log where run_id = 'stuck'")[0]["n"] == 0


def test_a_killed_connection_rolls_the_chunk_back_and_the_task_reconnects(seed_db):
    ctx = RunContext(run_id="killed", dry_run=False, batch_size=1, chunk_seconds=0.01)
    plan = phases.preflight(seed_db, SPEC, ctx)
    phases.backup(seed_db, SPEC, ctx, plan)
    killed = []
    thread = kill_first_connection_running(seed_db, "tenant_chunk_decisions", killed)
    result = phases.backfill_source(seed_db, SPEC, ctx, plan, "appointments")
    thread.join()
    assert killed, "no chunk statement was caught running"
    assert result.retries >= 1
    assert result.backfilled == 28
    counts = query(
        seed_db, "select row_id, count(*) as n from tenant_audit_log where run_id = 'killed' group by row_id"
    )
    assert len(counts) == 28 and {r["n"] for r in counts} == {1}


def test_a_connection_killed_between_chunks_reconnects_before_the_phase_reads_its_start(seed_db):
    # the KILL in the test above can land after a statement finished; the next statement, which may be
    # one of the phase's opening reads, then finds the connection gone. Here that is made certain.
    ctx = RunContext(run_id="killed-start", dry_run=False, batch_size=5)
    plan = phases.preflight(seed_db, SPEC, ctx)
    ctx = dataclasses.replace(ctx, run_no=plan.run_no)
    walk = walks.DecisionWalk(SPEC, ctx, "backfill_appointments", "backfill")
    session = session_module.Session(seed_db, SPEC, walk, ctx)
    try:
        victim = session.db.scalar("select connection_id()")
        with seed_db.connect() as admin:
            admin.execute(f"kill connection {int(victim)}")
        total, shares = session_module.retrying(
            session, "start of phase", lambda: runner._start(session.db, SPEC, ctx, walk), sleep=lambda _: None
        )
    finally:
        session.close()
    assert session.retries == 1
    assert total == 31  # NULL ids 30-60; two workers, each with about half of them, up to the run's last key (60)
    layout = [("backfill_appointments:1/2", 29, 44), ("backfill_appointments:2/2", 44, 60)]
    assert [(s.share, s.after, s.until) for s in shares] == layout
    recorded = query(
        seed_db,
        "select phase, last_key, until_key from tenant_checkpoints where run_no = %(run_no)s order by phase",
        {"run_no": ctx.run_no},
    )
    assert [(r["phase"], r["last_key"], r["until_key"]) for r in recorded] == layout  # a resume keeps the shares


def test_a_connection_killed_before_the_load_check_reconnects_and_reads_again(seed_db):
    ctx = RunContext(run_id="killed-throttle", dry_run=False)
    session = session_module.Session(
        seed_db, SPEC, walks.DecisionWalk(SPEC, ctx, "backfill_appointments", "backfill"), ctx
    )
    try:
        _, throttle = runner.pacing_for(session, ctx)
        with seed_db.connect() as admin:
            admin.execute(f"kill connection {int(session.db.scalar('select connection_id()'))}")
        waited = session_module.retrying(session, "load check", throttle.wait_until_calm, sleep=lambda _: None)
        assert session.retries == 1  # one reconnect, then the server's load was read
        assert waited < throttle.policy.poll_seconds  # read once, calm: no pause
    finally:
        session.close()
    # without a session to reconnect, the same loss stops the run (fail closed)
    db = seed_db.connect()
    _, plain = runner.pacing_for(db, ctx)
    with seed_db.connect() as admin:
        admin.execute(f"kill connection {int(db.scalar('select connection_id()'))}")
    with pytest.raises(ThrottleError, match="cannot read Threads_running"):
        plain.wait_until_calm()
    db.close()
