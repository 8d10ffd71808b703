"""tenant_guard (issue 15) on the real MariaDB: fill, log and reject triggers next to the application's own.

The demo data: customer 24 belongs to company 15, customer 30 has no company (NULL), appointment 1
(customer 1) is at company 1 and appointments 81-83 have a NULL company_id.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import MySQLdb
import pytest
import yaml

from tenant_integrity.core.paths import SPECS_DIR
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec, parse_spec
from tenant_integrity.enforce import guards
from tenant_integrity.repair import phases
from tests.helpers.dbcheck import query, tables

APPOINTMENTS = load_spec("appointments_company")
CUSTOMERS = load_spec("customers_company")

OURS = ("tenant_guard_appointments_bi", "tenant_guard_appointments_bu")
LOG_OURS = ("tenant_guard_appointments_ai", "tenant_guard_appointments_au")


def _calls_by_number():
    """calls_company with only its second evidence source: the business number called (phone_numbers.number)."""
    raw = yaml.safe_load((SPECS_DIR / "calls_company.yaml").read_text(encoding="utf-8"))
    raw["evidence"] = [e for e in raw["evidence"] if e["name"] == "business_number"]
    return parse_spec("calls_by_number", yaml.safe_dump(raw))


CALLS_BY_NUMBER = _calls_by_number()


def connect(target):
    """The application: its own connection, every statement its own transaction."""
    return MySQLdb.connect(
        host=target.host,
        port=target.port,
        user=target.user,
        passwd=target.password,
        db=target.database,
        charset="utf8mb4",
        autocommit=True,
    )


def app_insert_appointment(conn, customer_id, company_id=None) -> int:
    with conn.cursor() as cur:
        cur.execute(
            "insert into appointments (company_id, customer_id, starts_at, created_at, updated_at) "
            "values (%s, %s, '2025-11-03 09:00:00', utc_timestamp(), utc_timestamp())",
            (company_id, customer_id),
        )
        return int(cur.lastrowid)


def app_insert_call(conn, to_number) -> int:
    """A call with neither a company nor a known customer: only the number it was made to names a tenant."""
    with conn.cursor() as cur:
        cur.execute(
            "insert into calls (company_id, customer_id, from_number, to_number, created_at, updated_at) "
            "values (null, null, '+491710000999', %s, utc_timestamp(), utc_timestamp())",
            (to_number,),
        )
        return int(cur.lastrowid)


def app_execute(conn, statement, params=()) -> int:
    with conn.cursor() as cur:
        return cur.execute(statement, params)


def appointment(target, row_id) -> dict:
    return query(target, "select * from appointments where id = %(id)s", {"id": row_id})[0]


def triggers(target, table="appointments") -> dict[str, dict]:
    """Every trigger on the table as information_schema shows it, creation time and position included."""
    rows = query(
        target,
        "select trigger_name as name, action_timing as timing, event_manipulation as event,"
        " action_order as position, action_statement as body, created as created"
        " from information_schema.triggers where trigger_schema = database() and event_object_table = %(t)s",
        {"t": table},
    )
    return {r["name"]: r for r in rows}


def guard_log(target) -> list[dict]:
    if "tenant_guard_log" not in tables(target):
        return []
    return query(target, "select * from tenant_guard_log order by id")


def create_app_trigger(target) -> None:
    """The application's own BEFORE INSERT trigger: stamps created_at and resolves a placeholder customer 0 to 24."""
    with target.connect() as db:
        db.execute(
            "create trigger app_resolves_customer before insert on appointments for each row begin"
            " set new.created_at = '2001-02-03 04:05:06';"
            " if new.customer_id = 0 then set new.customer_id = 24; end if;"
            " end"
        )


# --- fill -----------------------------------------------------------------------------------------


def test_fill_takes_the_tenant_from_the_customer_and_leaves_a_customer_without_one_null(edge_db):
    change = guards.install(edge_db, APPOINTMENTS, "fill", dry_run=False)
    assert set(triggers(edge_db)) == set(OURS)
    assert change.status.mode == "fill" and change.status.complete
    app = connect(edge_db)
    try:
        filled = app_insert_appointment(app, customer_id=24)  # customer 24 is at company 15
        assert appointment(edge_db, filled)["company_id"] == 15
        still_null = app_insert_appointment(app, customer_id=30)  # customer 30 has no company
        assert appointment(edge_db, still_null)["company_id"] is None
        given = app_insert_appointment(app, customer_id=24, company_id=1)  # a tenant given is never touched
        assert appointment(edge_db, given)["company_id"] == 1
        # an update that sets the tenant NULL is filled again from the customer (appointment 1: customer 1, company 1)
        assert app_execute(app, "update appointments set company_id = null where id = 1") == 0
        assert appointment(edge_db, 1)["company_id"] == 1
        # a row that was NULL before the guard is the backfill's: an update leaving it NULL is not filled
        legacy = query(edge_db, "select id from appointments where company_id is null and id < %(f)s", {"f": filled})
        assert legacy
        app_execute(
            app, "update appointments set starts_at = starts_at + interval 1 hour where id = %s", (legacy[0]["id"],)
        )
        assert appointment(edge_db, legacy[0]["id"])["company_id"] is None
    finally:
        app.close()


def test_fill_leaves_the_tenant_null_when_the_parent_key_names_two_tenants(edge_db):
    """calls.to_number -> phone_numbers.number, a key that need not be unique: a number two companies share
    names two tenants, and fill picks neither (a conflict, as in the backfill); one company's twice is filled."""
    with edge_db.connect() as db, db.transaction():
        db.execute("alter table phone_numbers drop index phone_numbers_number_unique, add index (number)")
        db.execute("insert into phone_numbers (company_id, number) values (15, '+493000000001'), (83, '+493000000083')")
    guards.install(edge_db, CALLS_BY_NUMBER, "fill", dry_run=False)
    app = connect(edge_db)
    try:
        shared = app_insert_call(app, "+493000000001")  # company 1's number, and company 15's
        twice = app_insert_call(app, "+493000000083")  # company 83's, listed twice
        own = app_insert_call(app, "+493000000015")  # company 15's only
    finally:
        app.close()
    companies = query(edge_db, "select id, company_id from calls where id in %(ids)s", {"ids": (shared, twice, own)})
    assert {r["id"]: r["company_id"] for r in companies} == {shared: None, twice: 83, own: 15}


def test_fill_without_a_parent_evidence_is_a_clear_error_naming_the_spec(edge_db):
    before = triggers(edge_db, "customers")
    for dry_run in (True, False):
        with pytest.raises(guards.GuardError, match=r"spec 'customers_company': mode fill needs a parent evidence"):
            guards.install(edge_db, CUSTOMERS, "fill", dry_run=dry_run)
    assert triggers(edge_db, "customers") == before


# --- log ------------------------------------------------------------------------------------------


def test_log_lets_the_row_in_and_records_table_key_time_and_user(edge_db):
    guards.install(edge_db, APPOINTMENTS, "log", dry_run=False)
    assert set(triggers(edge_db)) == set(LOG_OURS)
    app = connect(edge_db)
    try:
        with app.cursor() as cur:
            cur.execute("select user(), utc_timestamp(6)")
            user, before = cur.fetchone()
        row_id = app_insert_appointment(app, customer_id=30)
        assert appointment(edge_db, row_id)["company_id"] is None  # let in
        logged = guard_log(edge_db)
        assert len(logged) == 1
        entry = logged[0]
        assert (entry["table_name"], entry["column_name"], entry["row_id"], entry["row_key"], entry["event"]) == (
            "appointments",
            "company_id",
            row_id,  # the real auto-increment key: the log trigger runs after the insert
            "",
            "insert",
        )
        assert entry["connection_user"] == user
        assert before <= entry["logged_at"] <= dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=1)

        app_insert_appointment(app, customer_id=24, company_id=15)  # with a tenant: nothing logged
        assert len(guard_log(edge_db)) == 1
        app_execute(app, "update appointments set company_id = null where id = 2")  # sets NULL: logged
        app_execute(app, "update appointments set starts_at = starts_at where id = %s", (row_id,))  # stays NULL: not
        logged = guard_log(edge_db)
        assert [(r["row_id"], r["event"]) for r in logged] == [(row_id, "insert"), (2, "update")]
        assert appointment(edge_db, 2)["company_id"] is None  # log never changes the row
    finally:
        app.close()

    state = guards.status(edge_db, APPOINTMENTS)
    assert (state.mode, state.complete, state.log_rows) == ("log", True, 2)
    assert [(e.row_key, e.event, e.connection_user) for e in state.last_log] == [
        (2, "update", user),
        (row_id, "insert", user),
    ]
    assert guards.GuardStatus.from_dict(state.to_dict()) == state


# --- reject ---------------------------------------------------------------------------------------


def test_reject_refuses_a_null_insert_and_an_update_to_null_naming_table_column_and_key(edge_db):
    guards.install(edge_db, APPOINTMENTS, "reject", dry_run=False)
    count = query(edge_db, "select count(*) as n from appointments")[0]["n"]
    app = connect(edge_db)
    try:
        with pytest.raises(MySQLdb.OperationalError) as refused:
            app_insert_appointment(app, customer_id=30)
        code, message = refused.value.args
        assert code == 1644
        assert message == "tenant_guard: insert into appointments refused: company_id is NULL (id not yet assigned)"
        assert query(edge_db, "select count(*) as n from appointments")[0]["n"] == count

        with pytest.raises(MySQLdb.OperationalError) as refused:
            app_execute(app, "update appointments set company_id = null where id = 1")
        assert refused.value.args == (
            1644,
            "tenant_guard: update of appointments refused: it sets company_id to NULL (id 1)",
        )
        assert appointment(edge_db, 1)["company_id"] == 1

        accepted = app_insert_appointment(app, customer_id=24, company_id=15)
        assert appointment(edge_db, accepted)["company_id"] == 15
        # a row NULL since before the guard can still be edited (and soft-deleted by the backfill)
        legacy = query(edge_db, "select min(id) as id from appointments where company_id is null")[0]["id"]
        assert app_execute(app, "update appointments set deleted_at = utc_timestamp() where id = %s", (legacy,)) == 1
    finally:
        app.close()


# --- the application's triggers, idempotence, mode switch, uninstall, dry run --------------------


def test_the_application_trigger_stays_and_fires_before_ours_through_install_and_uninstall(edge_db):
    create_app_trigger(edge_db)
    app_trigger = triggers(edge_db)["app_resolves_customer"]
    change = guards.install(edge_db, APPOINTMENTS, "fill", dry_run=False)
    assert "follows `app_resolves_customer`" in change.ddl[0]
    now = triggers(edge_db)
    assert now["app_resolves_customer"] == app_trigger
    assert now["tenant_guard_appointments_bi"]["position"] == app_trigger["position"] + 1
    assert [t.name for t in change.status.application_triggers] == ["app_resolves_customer"]
    app = connect(edge_db)
    try:
        # the app resolves customer 0 to 24 first; our fill then sees customer 24 and takes its company 15
        row = appointment(edge_db, app_insert_appointment(app, customer_id=0))
        assert (row["customer_id"], row["company_id"], row["created_at"]) == (24, 15, dt.datetime(2001, 2, 3, 4, 5, 6))

        guards.uninstall(edge_db, APPOINTMENTS, dry_run=False)
        assert triggers(edge_db) == {"app_resolves_customer": app_trigger}
        row = appointment(edge_db, app_insert_appointment(app, customer_id=0))
        assert (row["customer_id"], row["company_id"], row["created_at"]) == (
            24,
            None,
            dt.datetime(2001, 2, 3, 4, 5, 6),
        )
    finally:
        app.close()


def test_a_trigger_the_application_adds_later_is_moved_before_ours_by_the_next_install(edge_db):
    guards.install(edge_db, APPOINTMENTS, "reject", dry_run=False)
    create_app_trigger(edge_db)  # created after ours: fires after ours
    assert triggers(edge_db)["app_resolves_customer"]["position"] == 2
    change = guards.install(edge_db, APPOINTMENTS, "reject", dry_run=False)
    assert len(change.ddl) == 1 and "follows `app_resolves_customer`" in change.ddl[0]
    now = triggers(edge_db)
    assert (now["app_resolves_customer"]["position"], now["tenant_guard_appointments_bi"]["position"]) == (1, 2)


def test_install_is_idempotent_a_mode_switch_replaces_only_ours_and_uninstall_leaves_nothing_of_ours(edge_db):
    create_app_trigger(edge_db)
    app_trigger = triggers(edge_db)["app_resolves_customer"]
    untouched = set(tables(edge_db))

    # a dry run prints the DDL and creates nothing (not even the log table)
    for mode in guards.MODES:
        dry = guards.install(edge_db, APPOINTMENTS, mode, dry_run=True)
        assert dry.dry_run and dry.ddl and dry.status.mode is None
        assert triggers(edge_db) == {"app_resolves_customer": app_trigger}
        assert tables(edge_db) == untouched
    assert (
        "signal sqlstate '45000'" in dry.ddl[0]
        and "create or replace trigger `tenant_guard_appointments_bi`" in dry.ddl[0]
    )

    first = guards.install(edge_db, APPOINTMENTS, "reject", dry_run=False)
    assert len(first.ddl) == 2
    installed = triggers(edge_db)
    time.sleep(1.1)  # a re-created trigger would show a later `created`
    again = guards.install(edge_db, APPOINTMENTS, "reject", dry_run=False)
    assert again.ddl == ()
    assert triggers(edge_db) == installed
    assert again.status == first.status

    # reject -> log: the log pair and the log table in, the reject pair out; the application's trigger untouched
    switched = guards.install(edge_db, APPOINTMENTS, "log", dry_run=False)
    assert [s.split("\n")[1] for s in switched.ddl[:1]] == ["create table if not exists `tenant_guard_log` ("]
    assert switched.ddl[-2:] == (
        "-- purpose: remove one of tenant_guard's own triggers (only names it installed reach this statement)\n"
        "drop trigger if exists `tenant_guard_appointments_bi`",
        "-- purpose: remove one of tenant_guard's own triggers (only names it installed reach this statement)\n"
        "drop trigger if exists `tenant_guard_appointments_bu`",
    )
    now = triggers(edge_db)
    assert set(now) == {"app_resolves_customer", *LOG_OURS}
    assert now["app_resolves_customer"] == app_trigger
    assert {t.name: t.mode for t in switched.status.triggers} == dict.fromkeys(LOG_OURS, "log")

    # log -> fill -> reject: same names for fill and reject, replaced in one statement each
    guards.install(edge_db, APPOINTMENTS, "fill", dry_run=False)
    assert {n: "tenant_guard_mode_fill" in r["body"] for n, r in triggers(edge_db).items()} == {
        "app_resolves_customer": False,
        OURS[0]: True,
        OURS[1]: True,
    }
    to_reject = guards.install(edge_db, APPOINTMENTS, "reject", dry_run=False)
    assert len(to_reject.ddl) == 2 and to_reject.status.mode == "reject"

    # uninstall: a dry run changes nothing; then only the application's trigger is left; again: nothing to do
    dry = guards.uninstall(edge_db, APPOINTMENTS, dry_run=True)
    assert len(dry.ddl) == 2 and set(triggers(edge_db)) == {"app_resolves_customer", *OURS}
    gone = guards.uninstall(edge_db, APPOINTMENTS, dry_run=False)
    assert triggers(edge_db) == {"app_resolves_customer": app_trigger}
    assert (gone.status.mode, gone.status.triggers) == (None, ())
    assert guards.uninstall(edge_db, APPOINTMENTS, dry_run=False).ddl == ()
    assert "tenant_guard_log" in tables(edge_db)  # the log's history stays


def test_a_trigger_that_only_bears_our_name_is_never_replaced_or_dropped(edge_db):
    with edge_db.connect() as db:
        db.execute(
            "create trigger tenant_guard_appointments_bi before insert on appointments for each row"
            " set new.starts_at = new.starts_at"
        )
    foreign = triggers(edge_db)
    with pytest.raises(guards.GuardError, match="bear tenant_guard's names but were not installed by it"):
        guards.install(edge_db, APPOINTMENTS, "reject", dry_run=False)
    assert guards.uninstall(edge_db, APPOINTMENTS, dry_run=False).ddl == ()
    assert triggers(edge_db) == foreign


# --- locks and grants -----------------------------------------------------------------------------


def test_a_long_transaction_on_the_table_makes_install_fail_clearly_within_lock_wait_timeout(edge_db):
    holder = connect(edge_db)
    try:
        app_execute(holder, "start transaction")
        app_execute(holder, "select count(*) from appointments")  # a metadata lock until it ends
        started = time.monotonic()
        with pytest.raises(guards.GuardLockTimeout) as timeout:
            guards.install(edge_db, APPOINTMENTS, "reject", dry_run=False, lock_wait_timeout=1)
        assert time.monotonic() - started < 4
        message = str(timeout.value)
        assert "could not lock table appointments for the trigger DDL within 1 s (lock_wait_timeout)" in message
        assert "a long transaction holds it" in message and "Nothing was changed." in message
        assert timeout.value.retryable
        assert triggers(edge_db) == {}
    finally:
        holder.rollback()
        holder.close()
    assert guards.install(edge_db, APPOINTMENTS, "reject", dry_run=False).status.complete


def test_a_user_without_the_trigger_grant_gets_an_error_naming_it(edge_db):
    user, password = f"tg_{edge_db.database[-10:]}", "guard-pw-1"
    with edge_db.connect() as db:
        db.execute(f"create user '{user}'@'%%' identified by %(pw)s", {"pw": password})
        db.execute(f"grant select, insert, update on `{edge_db.database}`.* to '{user}'@'%'")
    try:
        limited = type(edge_db)(edge_db.host, edge_db.port, user, password, edge_db.database)
        with pytest.raises(guards.GuardPrivilegeError) as refused:
            guards.install(limited, APPOINTMENTS, "reject", dry_run=False)
        message = str(refused.value)
        assert "error 1142" in message and "needs TRIGGER on the table" in message
        assert "log_bin_trust_function_creators" in message
        assert triggers(edge_db) == {}
        assert guards.install(limited, APPOINTMENTS, "reject", dry_run=True).ddl  # a dry run needs no grant
    finally:
        with edge_db.connect() as db:
            db.execute(f"drop user '{user}'@'%'")


# --- the application writes while a backfill runs -------------------------------------------------


class Webhook(threading.Thread):
    """The application's webhook, still buggy: inserts customers alternately without and with a tenant."""

    def __init__(self, target, tenant: int):
        super().__init__(daemon=True)
        self.target, self.tenant = target, tenant
        self.stop = threading.Event()
        self.null_ids: list[int] = []  # committed with a NULL tenant
        self.tenant_ids: list[int] = []
        self.rejected: list[tuple] = []  # (name, error args)
        self.started_at: list[dt.datetime] = []
        self.user = None
        self.error = None

    def run(self):
        conn = connect(self.target)
        try:
            with conn.cursor() as cur:
                cur.execute("select user()")
                self.user = cur.fetchone()[0]
            n = 0
            while not self.stop.is_set():
                tenant = self.tenant if n % 2 else None
                name = f"Guarded webhook {n}"
                self.started_at.append(dt.datetime.now(dt.UTC).replace(tzinfo=None))
                try:
                    with conn.cursor() as cur:
                        cur.execute(
                            "insert into customers (company_id, name, created_at, updated_at) "
                            "values (%s, %s, utc_timestamp(), utc_timestamp())",
                            (tenant, name),
                        )
                        (self.tenant_ids if tenant else self.null_ids).append(int(cur.lastrowid))
                except MySQLdb.OperationalError as exc:
                    if exc.args[0] in (1205, 1213):  # an application retries these
                        continue
                    if exc.args[0] != 1644:
                        raise
                    self.rejected.append((name, exc.args))
                n += 1
                time.sleep(0.005)
        except BaseException as exc:  # surfaced by the test
            self.error = exc
        finally:
            conn.close()


@pytest.mark.parametrize("mode", ["log", "reject"])
def test_application_inserts_during_a_backfill_are_logged_or_rejected_and_the_backfill_is_not_blocked(
    generated_db, mode
):
    guards.install(generated_db, CUSTOMERS, mode, dry_run=False)
    tenant = query(generated_db, "select min(id) as id from companies")[0]["id"]
    webhook = Webhook(generated_db, tenant)
    webhook.start()
    try:
        ctx = RunContext(run_id=f"guarded-{mode}", dry_run=False, batch_size=25, chunk_seconds=0.01)
        plan = phases.preflight(generated_db, CUSTOMERS, ctx)
        results = phases.run_writes(generated_db, CUSTOMERS, ctx, plan)
    finally:
        webhook.stop.set()
        webhook.join(timeout=30)
    assert webhook.error is None, webhook.error
    summary = phases.post_validation(generated_db, CUSTOMERS, ctx, plan, results)

    # the backfill's own writes (non-NULL tenants only) went through the guard untouched
    assert summary.status == "succeeded", summary.post_validation_error
    audit = query(
        generated_db,
        "select row_id, new_value, created_at from tenant_audit_log where run_id = %(r)s and column_name = 'company_id'",
        {"r": ctx.run_id},
    )
    assert audit and len(audit) == sum(b.backfilled for b in results.backfills)
    assert all(a["new_value"] is not None for a in audit)
    # the application wrote the whole time the backfill wrote
    first, last = min(a["created_at"] for a in audit), max(a["created_at"] for a in audit)
    assert sum(first < s < last for s in webhook.started_at) >= 10
    assert webhook.tenant_ids

    logged = query(generated_db, "select * from tenant_guard_log order by id") if mode == "log" else []
    if mode == "log":
        # exactly the application's NULL inserts: one log row each, with their real key and the app's user
        assert webhook.null_ids and not webhook.rejected
        assert [(r["table_name"], r["column_name"], r["row_id"], r["event"]) for r in logged] == [
            ("customers", "company_id", row_id, "insert") for row_id in webhook.null_ids
        ]
        assert {r["connection_user"] for r in logged} == {webhook.user}
        still_null = query(
            generated_db,
            "select count(*) as n from customers where company_id is null and id in %(ids)s",
            {"ids": tuple(webhook.null_ids)},
        )[0]["n"]
        assert still_null == len(webhook.null_ids)
    else:
        # every NULL insert refused, naming table and column; none of them is in the table; nothing logged
        assert webhook.rejected and not webhook.null_ids
        assert {args for _, args in webhook.rejected} == {
            (1644, "tenant_guard: insert into customers refused: company_id is NULL (id not yet assigned)")
        }
        names = tuple(name for name, _ in webhook.rejected)
        assert query(generated_db, "select count(*) as n from customers where name in %(n)s", {"n": names})[0]["n"] == 0
        assert "tenant_guard_log" not in tables(generated_db)
    inserted = query(
        generated_db, "select id, company_id from customers where id in %(ids)s", {"ids": tuple(webhook.tenant_ids)}
    )
    assert {r["id"]: r["company_id"] for r in inserted} == dict.fromkeys(webhook.tenant_ids, tenant)


# --- the bench number -----------------------------------------------------------------------------


def test_bench_inserts_measures_each_mode_and_leaves_the_table_as_it_was(edge_db):
    before = query(edge_db, "select count(*) as n, max(id) as top from appointments")[0]
    rates = guards.bench_inserts(edge_db, APPOINTMENTS, rows=30)
    assert set(rates) == {"none", "fill", "log", "reject"}
    assert all(rate > 0 for rate in rates.values())
    assert query(edge_db, "select count(*) as n, max(id) as top from appointments")[0] == before
    assert triggers(edge_db) == {}
    assert guard_log(edge_db) == []
