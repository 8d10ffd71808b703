"""TLS to the customer's database: a real backfill and rollback against a mariadbd that accepts TLS only.

The server (tests/helpers/tls_server.py) has its own CA and certificates and `require_secure_transport=ON`.
The runs reach it through an Airflow connection given as AIRFLOW_CONN_<ID> (JSON form, extra
{"ssl": {"ca": …}}, or a URL with the extras in its query), read by DbTarget.from_airflow as a task reads
it. Without TLS, or with a CA that did not sign the server's certificate, the run is refused before it
writes anything, with an error naming the connection, the host and what failed.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from urllib.parse import quote

import pytest
import sqlalchemy

from tenant_integrity.cli import demo
from tenant_integrity.core.settings import RunContext
from tenant_integrity.core.spec import load_spec
from tenant_integrity.engine.replicas import ReplicaLag, ReplicaUnreadable, replicas_from
from tenant_integrity.repair import phases, rollback
from tenant_integrity.store.db import ConnectFailed, DbTarget
from tests.helpers.dbcheck import active_distribution, checksum, query
from tests.helpers.tls_server import TlsServer

SPEC = load_spec("customers_company")


@pytest.fixture(scope="module")
def server():
    started = TlsServer().start()
    yield started
    started.stop()


@pytest.fixture
def database(server):
    name = f"ti_tls_{uuid.uuid4().hex[:10]}"
    yield name
    server.execute(f"drop database if exists `{name}`")


def airflow_target(monkeypatch, server, database: str, extra: dict, conn_id: str | None = None) -> DbTarget:
    """The Airflow connection `conn_id` as AIRFLOW_CONN_<ID> in JSON form, read as a task reads it."""
    conn_id = conn_id or f"ti_tls_{uuid.uuid4().hex[:8]}"  # one id per definition: nothing cached answers
    conn = {
        "conn_type": "mysql",
        "host": "127.0.0.1",
        "port": server.port,
        "login": "root",
        "password": "",
        "schema": database,
        "extra": extra,
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return DbTarget.from_airflow(conn_id)


def cipher(target: DbTarget) -> str:
    return query(target, "show session status like 'Ssl_cipher'")[0]["Value"]


def server_state(server, database: str) -> tuple:
    """What a refused run must leave as it was: the customers' checksum and the database's tables."""
    tables = server.rows("select table_name as t from information_schema.tables where table_schema = %s", (database,))
    total = server.rows(f"checksum table `{database}`.customers extended")[0]["Checksum"]
    return total, sorted(r["t"] for r in tables)


def test_backfill_and_rollback_over_tls(server, database, review_dir, monkeypatch):
    target = airflow_target(monkeypatch, server, database, {"ssl": {"ca": str(server.ca)}}, conn_id="ti_tls_db")
    assert target.ssl == {"ca": str(server.ca)} and target.conn_id == "ti_tls_db"
    assert repr(target) == f"DbTarget(root@127.0.0.1:{server.port}/{database})"
    demo.recreate_database(target, "seed_incident")
    assert cipher(target) != ""  # the session really is encrypted
    # GX's connection (gates) gets the same TLS options through the SQLAlchemy URL
    engine = sqlalchemy.create_engine(target.sqlalchemy_url())
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("show session status like 'Ssl_cipher'").one()[1] != ""
    finally:
        engine.dispose()
    before = checksum(target, "customers")

    summary = phases.run_all(target, SPEC, RunContext(run_id="tls-1", dry_run=False, batch_size=7))
    assert summary.audited == {"backfill": 28, "soft_delete": 3}
    assert summary.backed_up == 31
    assert all(check.success for check in summary.post_validation)  # the GX gate ran over TLS
    assert active_distribution(target) == {1: 51, 15: 3, 83: 1, 84: 1, 85: 1}
    assert query(target, "select count(*) as n from tenant_audit_log where run_id = 'tls-1'")[0]["n"] == 31

    ctx = RunContext(run_id="tls-rb", dry_run=False, batch_size=4, dag_id="tenant_rollback")
    result = rollback.rollback_run(target, SPEC, ctx, "tls-1")
    assert (result.changed_rows, result.restored, result.skipped) == (31, 31, ())
    assert checksum(target, "customers") == before
    assert query(target, "select count(*) as n from tenant_audit_log where action = 'rollback'")[0]["n"] == 31


def test_extras_in_the_url_query_and_a_client_certificate(server, database, monkeypatch):
    """`?ssl_mode=…&ssl=<JSON>` as Airflow parses a URL's extras; ssl cert/key reach a REQUIRE X509 account;
    init_command runs in every session; unix_socket is used (a socket is secure transport: no TLS needed)."""
    ssl = json.dumps({"ca": str(server.ca), "cert": str(server.client_cert), "key": str(server.client_key)})
    server.execute(
        f"create database `{database}`",
        "create user if not exists 'ti_x509'@'127.0.0.1' require x509",
        f"grant all on `{database}`.* to 'ti_x509'@'127.0.0.1'",
    )
    url = (
        f"mysql://ti_x509@127.0.0.1:{server.port}/{database}?ssl_mode=VERIFY_IDENTITY&ssl={quote(ssl)}"
        f"&init_command={quote('set @ti_init = 7')}"
    )
    monkeypatch.setenv("AIRFLOW_CONN_TI_TLS_URL", url)
    target = DbTarget.from_airflow("ti_tls_url")
    assert dict(target.options)["ssl_mode"] == "VERIFY_IDENTITY"
    assert target.ssl == json.loads(ssl)
    assert DbTarget.from_url(url).options == target.options  # the CLI reads AIRFLOW_CONN_TENANT_DB the same way
    assert cipher(target) != ""
    assert query(target, "select current_user() as u, @ti_init as i")[0] == {"u": "ti_x509@127.0.0.1", "i": 7}
    # without its certificate the account is refused, and the error says over TLS
    without = DbTarget.from_url(f"mysql://ti_x509@127.0.0.1:{server.port}/{database}?ssl_ca={quote(str(server.ca))}")
    with pytest.raises(ConnectFailed, match="refused the login over TLS"):
        without.connect()
    socket = airflow_target(monkeypatch, server, database, {"unix_socket": str(server.folder / "mysqld.sock")})
    socket = dataclasses.replace(socket, host="localhost")  # mysqlclient takes the socket for host localhost
    assert query(socket, "select @@port as p, current_user() as u")[0] == {"p": server.port, "u": "root@localhost"}
    assert cipher(socket) == ""


def test_without_tls_the_run_is_refused_and_writes_nothing(server, database, review_dir, monkeypatch):
    demo.recreate_database(airflow_target(monkeypatch, server, database, {"ssl": {"ca": str(server.ca)}}))
    state = server_state(server, database)
    plain = airflow_target(monkeypatch, server, database, {}, conn_id="ti_tls_plain")

    with pytest.raises(ConnectFailed) as refused:
        phases.run_all(plain, SPEC, RunContext(run_id="tls-plain", dry_run=False, batch_size=7))
    message = str(refused.value)
    assert refused.value.args[0] == 1045  # MariaDB 10.11 refuses a connection without TLS as a login
    assert message.startswith(
        f"cannot connect to Airflow connection 'ti_tls_plain' (root@127.0.0.1:{server.port}/{database}, TLS: none): "
    )
    assert "require_secure_transport=ON" in message and '{"ssl": {"ca": "<CA file>"}}' in message
    assert server_state(server, database) == state


def test_a_ca_that_did_not_sign_the_server_certificate_is_refused(server, database, review_dir, monkeypatch):
    demo.recreate_database(airflow_target(monkeypatch, server, database, {"ssl": {"ca": str(server.ca)}}))
    state = server_state(server, database)
    wrong = airflow_target(monkeypatch, server, database, {"ssl": {"ca": str(server.other_ca)}}, conn_id="ti_tls_bad")

    with pytest.raises(ConnectFailed) as refused:
        phases.run_all(wrong, SPEC, RunContext(run_id="tls-bad", dry_run=False, batch_size=7))
    message = str(refused.value)
    assert refused.value.args[0] == 2026
    assert message.startswith(
        f"cannot connect to Airflow connection 'ti_tls_bad' (root@127.0.0.1:{server.port}/{database},"
        f" TLS: ca {server.other_ca}): the TLS handshake failed ("
    )
    assert f"does not verify against the CA file {server.other_ca}" in message
    assert server_state(server, database) == state


def test_replica_urls_open_their_connection_the_same_way(server, database):
    """TENANT_THROTTLE_REPLICAS: the URL's query sets TLS; this server answers (it is no replica) only over TLS."""
    server.execute(f"create database `{database}`")
    base = f"mysql://root@127.0.0.1:{server.port}/{database}"
    with_tls, without_tls = replicas_from(f"{base}?ssl_ca={quote(str(server.ca))}&ssl_mode=VERIFY_CA, {base}")
    lag = ReplicaLag(with_tls, database)
    try:
        with pytest.raises(ReplicaUnreadable, match=r"^it is not a replica"):  # connected and asked
            lag.read()
        with lag.conn.cursor() as cur:
            cur.execute("show session status like 'Ssl_cipher'")
            assert cur.fetchone()[1] != ""
    finally:
        lag.close()
    refused = ReplicaLag(without_tls, database)
    with pytest.raises(ReplicaUnreadable, match=rf"^cannot connect to root@127\.0\.0\.1:{server.port}/.*TLS: none"):
        refused.read()
    refused.close()
