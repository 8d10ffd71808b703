"""The replica-aware throttle against a real replica (tests/helpers/replication.py: its own primary and replica).

- a replica whose SQL thread stops mid-run: its heartbeat lag grows, every writer waits (the audit count
  on the primary stands still), and once replication runs again the run finishes; the timeline is printed;
- a replica that vanishes mid-run (SIGKILL): the run stops after the grace, naming it, every committed
  chunk whole;
- critical load on the primary: the writers pause, then the run ends cleanly;
- a clean run with the replica attached: pt-table-checksum finds primary and replica identical.
"""

from __future__ import annotations

import logging
import re
import subprocess
import threading
import time
import uuid

import pytest

from tenant_integrity.cli import demo
from tenant_integrity.core import settings
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.engine.pacing import ThrottleError
from tenant_integrity.repair import phases
from tenant_integrity.store.db import DbTarget
from tests.helpers.dbcheck import query
from tests.helpers.replication import Replication

SPEC = load_spec("customers_company")
# generated customers (25% NULL tenant, ~21% backfilled from appointments): with 0.02 s chunks on this 2-core
# machine the appointments backfill of 150,000 takes 3-6 s, so the replica's lag passes 1 s (about a second
# after its SQL thread stops) well before the end; 50,000 last long enough for a fault after the first chunks
CUSTOMERS_LAG = 150_000
CUSTOMERS = 50_000
STARTED_ROWS = 100  # audited rows that say the run is writing
HOLD_S = 2.0  # the audit count must stand still at least this long while the replica lags


@pytest.fixture(scope="module")
def replication():
    pair = Replication().start()
    yield pair
    pair.stop()


@pytest.fixture
def primary_db(replication, review_dir, monkeypatch):
    """A fresh database on the primary (replicated); the runs watch the replica."""
    if not replication.replica.running():
        replication.start_replica()
    monkeypatch.setenv(settings.REPLICAS_ENV, replication.replica.url())
    target = DbTarget("127.0.0.1", replication.primary.port, "root", "", f"ti_repl_{uuid.uuid4().hex[:10]}")
    yield target
    if not replication.replica.running():
        replication.start_replica()
    replication.replica.execute("start slave")  # a test that stopped a thread and failed before starting it
    replication.primary.execute(f"drop database if exists `{target.database}`")


def generated(replication: Replication, target: DbTarget, customers: int = CUSTOMERS) -> None:
    demo.recreate_database(target, "schema_only")
    demo.generate_dataset(target, customers)
    replication.wait_caught_up()


def writing_run(target: DbTarget, run_id: str, **pacing):
    """Preflight and backup, then the appointments backfill in a thread (small chunks: it lasts)."""
    ctx = RunContext(
        run_id=run_id, dry_run=False, batch_size=10, chunk_seconds=0.02, workers=2, progress_every=1.0, **pacing
    )
    plan = phases.preflight(target, SPEC, ctx)
    phases.backup(target, SPEC, ctx, plan)
    run = Background(lambda: phases.backfill_source(target, SPEC, ctx, plan, "appointments"))
    return run, plan.outcomes.backfill["appointments"].total


class Background(threading.Thread):
    def __init__(self, work):
        super().__init__(daemon=True)
        self.work, self.result, self.error = work, None, None

    def run(self):
        try:
            self.result = self.work()
        except BaseException as exc:
            self.error = exc


class Timeline:
    def __init__(self):
        self.started = time.time()
        self.events: list[tuple[float, str]] = []

    def add(self, text: str, at: float | None = None) -> None:
        self.events.append(((at or time.time()) - self.started, text))

    def text(self) -> str:
        return "\n".join(f"{t:7.2f} s  {text}" for t, text in sorted(self.events))


def wait_for(condition, timeout: float, what: str, step: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"waited {timeout} s for {what}")


def audited(db, run_id: str) -> int:
    n = db.scalar("select count(*) from tenant_audit_log where run_id = %(r)s", {"r": run_id})
    db.commit()
    return int(n)


def heartbeat_age(replication: Replication, target: DbTarget) -> float:
    """The replica's lag as the throttle reads it, read by the test on its own."""
    rows = replication.replica.rows(
        f"select timestampdiff(microsecond, ts, utc_timestamp(6)) / 1000000 as lag from `{target.database}`."
        "tenant_heartbeat where id = 1"
    )
    return float(rows[0]["lag"])


def pacing_lines(caplog, since: float) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "tenant_integrity.engine.pacing" and r.created >= since]


def committed_chunks_whole(target: DbTarget, run_id: str) -> int:
    """Every row the run audited is backed up once and changed to the audited tenant, and no other row changed."""
    audits = query(
        target,
        "select row_id, count(*) as n, max(new_value) as tenant from tenant_audit_log where run_id = %(r)s "
        "group by row_id",
        {"r": run_id},
    )
    backups = {
        r["id"]
        for r in query(target, f"select id from `{SPEC.backup_table}` where backup_run_id = %(r)s", {"r": run_id})
    }
    changed = {
        r["id"]: r["company_id"]
        for r in query(
            target,
            "select c.id, c.company_id from customers c join bench_null_ids n on n.id = c.id "
            "where c.company_id is not null",
        )
    }
    assert {a["row_id"] for a in audits} == backups == set(changed)
    assert all(a["n"] == 1 and int(a["tenant"]) == changed[a["row_id"]] for a in audits)
    return len(audits)


def test_a_stopped_sql_thread_holds_every_writer_until_the_replica_catches_up(replication, primary_db, caplog):
    caplog.set_level(logging.INFO, logger="tenant_integrity.engine.pacing")
    generated(replication, primary_db, CUSTOMERS_LAG)
    run, expected = writing_run(primary_db, "lag")
    timeline = Timeline()
    limit = settings.MAX_REPLICA_LAG_S_DEFAULT
    with primary_db.connect() as watcher:
        run.start()
        timeline.add(f"backfill started: {expected} rows to write, 2 workers, 0.02 s chunks, max_replica_lag_s 1.0")
        wait_for(lambda: audited(watcher, "lag") >= STARTED_ROWS, 30, "the first chunks")
        stopped_at = time.time()
        replication.replica.execute("stop slave sql_thread")
        timeline.add(f"STOP SLAVE SQL_THREAD on the replica ({audited(watcher, 'lag')} rows audited on the primary)")

        def held_workers() -> set[str]:
            return {
                r.threadName
                for r in pacing_lines(caplog, stopped_at)
                if r.getMessage().startswith("throttled: replica")
            }

        wait_for(
            lambda: len(held_workers()) >= 2 or not run.is_alive(), 20, "both workers to say they wait for the replica"
        )
        assert run.is_alive(), f"the run ended before the replica lagged {limit} s: too little data ({run.error})"
        timeline.add(f"both workers hold; replica heartbeat lag {heartbeat_age(replication, primary_db):.2f} s")
        frozen, frozen_at = audited(watcher, "lag"), time.monotonic()
        lags = []  # (when, lag)
        while time.monotonic() - frozen_at < HOLD_S + 0.5:  # polls: the count must not move while the lag is high
            assert run.is_alive(), run.error
            assert audited(watcher, "lag") == frozen, "a chunk committed while the replica lagged"
            lags.append((time.monotonic(), heartbeat_age(replication, primary_db)))
            time.sleep(0.25)
        assert audited(watcher, "lag") == frozen and time.monotonic() - frozen_at >= HOLD_S
        assert min(lag for _, lag in lags) > limit
        (first_at, first), (last_at, last) = lags[0], lags[-1]
        assert last - first == pytest.approx(last_at - first_at, abs=0.3)  # the heartbeat stands still there
        timeline.add(
            f"audit rows still {frozen} after {time.monotonic() - frozen_at:.1f} s; "
            f"replica lag {first:.2f} s -> {last:.2f} s"
        )
        restarted_at = time.time()
        replication.replica.execute("start slave sql_thread")
        timeline.add("START SLAVE SQL_THREAD")
        run.join(60)
        assert not run.is_alive(), "the run did not finish after replication resumed"
        timeline.add(f"backfill finished ({audited(watcher, 'lag')} rows audited)")
    assert run.error is None, run.error
    for record in pacing_lines(caplog, timeline.started):
        timeline.add(f"[{record.threadName}] {record.getMessage()}", record.created)
    print("\nreplica lag timeline:\n" + timeline.text())

    released = [r for r in pacing_lines(caplog, restarted_at) if r.getMessage().startswith("throttle released")]
    assert len({r.threadName for r in released}) == 2  # both writers went on once the replica caught up
    reasons = [r.getMessage() for r in pacing_lines(caplog, stopped_at) if r.getMessage().startswith("throttled:")]
    pattern = rf"throttled: replica 127\.0\.0\.1:{replication.replica.port} lag \d+\.\d\d s > 1\.0 s"
    assert reasons and all(re.match(pattern, m) for m in reasons), reasons
    assert any("its SQL thread is stopped" in m for m in reasons)
    assert run.result.backfilled == expected
    assert committed_chunks_whole(primary_db, "lag") == expected
    assert run.result.chunk_stats["throttled_s"] >= HOLD_S


def test_an_unreachable_replica_stops_the_run_naming_it_with_every_committed_chunk_whole(replication, primary_db):
    generated(replication, primary_db)
    run, expected = writing_run(primary_db, "gone")
    with primary_db.connect() as watcher:
        run.start()
        wait_for(lambda: audited(watcher, "gone") >= STARTED_ROWS, 30, "the first chunks")
        replication.kill_replica()
        killed_at = time.monotonic()
        run.join(settings.REPLICA_GRACE_S + 30)
        stopped_after = time.monotonic() - killed_at
    assert not run.is_alive()
    assert isinstance(run.error, ThrottleError), run.error
    message = str(run.error)
    assert f"cannot read replica 127.0.0.1:{replication.replica.port} lag (" in message
    assert "stopping instead of writing blind" in message
    assert settings.REPLICA_GRACE_S <= stopped_after < settings.REPLICA_GRACE_S + 10
    committed = committed_chunks_whole(primary_db, "gone")
    print(
        f"\nreplica killed; the run stopped {stopped_after:.1f} s later, {committed} of {expected} rows written: {message}"
    )
    assert STARTED_ROWS <= committed < expected
    replication.start_replica()


def test_critical_load_pauses_the_writers_then_ends_the_run_cleanly(replication, primary_db, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="tenant_integrity.engine.pacing")
    monkeypatch.setattr(settings, "CRITICAL_LOAD_MAX_S", 2.0)
    generated(replication, primary_db)
    # Threads_running of this primary at work: the reading connection, the other worker, the replica's binlog dump
    run, expected = writing_run(primary_db, "critical", max_threads_running=6, critical_threads_running=10)
    sleepers = []
    try:
        with primary_db.connect() as watcher:
            run.start()
            wait_for(lambda: audited(watcher, "critical") >= STARTED_ROWS, 30, "the first chunks")
            for _ in range(10):  # ten statements running on the primary besides the run: Threads_running > 10
                sleeper = Background(lambda: replication.primary.execute("select sleep(60)"))
                sleeper.start()
                sleepers.append(sleeper)
            run.join(30)
            assert not run.is_alive()
            after = audited(watcher, "critical")
    finally:
        for row in replication.primary.rows(
            "select id from information_schema.processlist where info = 'select sleep(60)'"
        ):
            replication.primary.execute(f"kill query {int(row['id'])}")
    assert isinstance(run.error, ThrottleError), run.error
    assert re.match(r"critical load for \d+ s \(Threads_running \d+ >= 10\); stopping the run", str(run.error))
    reasons = [r.getMessage() for r in caplog.records if r.getMessage().startswith("throttled: critical load")]
    assert reasons, "the writers did not pause first"
    assert committed_chunks_whole(primary_db, "critical") == after
    assert STARTED_ROWS <= after < expected


def pt_table_checksum(replication: Replication, database: str) -> tuple[int, dict[str, dict], str]:
    done = subprocess.run(
        [
            "pt-table-checksum",
            f"h=127.0.0.1,P={replication.primary.port},u=root",
            f"--databases={database}",
            f"--replicate={database}.pt_checksums",
            "--recursion-method=hosts",  # SHOW SLAVE HOSTS: the replica reports its host and port
            # the tool asks replicas for binlog_format STATEMENT so checksums replicate past them; this replica
            # has no binary log of its own, there is nothing past it
            "--no-check-binlog-format",
            "--no-version-check",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = [line.split() for line in done.stdout.splitlines() if line.strip()]
    header = next(i for i, line in enumerate(lines) if line[:2] == ["TS", "ERRORS"])
    names = lines[header]
    tables = {line[-1]: dict(zip(names, line, strict=True)) for line in lines[header + 1 :] if len(line) == len(names)}
    return done.returncode, tables, done.stdout + done.stderr


def test_after_a_clean_run_pt_table_checksum_finds_primary_and_replica_identical(replication, primary_db):
    demo.recreate_database(primary_db, "all")
    summary = phases.run_all(primary_db, SPEC, RunContext(run_id="clean", dry_run=False))
    assert summary.status == "succeeded"
    replication.wait_caught_up()
    assert query(primary_db, "select count(*) as n from tenant_audit_log where run_id = 'clean'")[0]["n"] > 0
    db = primary_db.database

    code, tables, output = pt_table_checksum(replication, db)
    print(f"\npt-table-checksum after the run (exit {code}):\n{output}")
    assert code == 0, output
    customers = tables[f"{db}.customers"]
    assert (customers["ERRORS"], customers["DIFFS"], customers["ROWS"]) == ("0", "0", "74"), output
    assert all(t["DIFFS"] == "0" for t in tables.values()), output  # the audit and backup tables too
    assert {f"{db}.tenant_audit_log", f"{db}.{SPEC.backup_table}", f"{db}.tenant_heartbeat"} <= set(tables)
    replica = DbTarget.from_url(replication.replica.url(db))
    same = "checksum table customers extended"
    assert query(primary_db, same) == query(replica, same)

    # the tool did compare with the replica: one row changed there alone is found
    replication.replica.execute(f"update `{db}`.customers set name = concat(name, '!') where id = 1")
    code, tables, output = pt_table_checksum(replication, db)
    assert code & 16, output  # 16: a table differs
    assert tables[f"{db}.customers"]["DIFFS"] == "1", output
