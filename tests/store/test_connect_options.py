"""How a connection's extras become mysqlclient's connect() options (db.connect_options), without a server.

The extras are read as the mysql provider's MySqlHook reads them (apache-airflow-providers-mysql 6.7.1,
`_get_conn_config_mysql_client`): the first test holds the two to the same answer, so a provider upgrade that
reads them differently fails here.
"""

from __future__ import annotations

import json
import logging
import pickle
import uuid
from urllib.parse import quote

import pytest
from airflow.providers.mysql.hooks.mysql import MySqlHook
from airflow.sdk import BaseHook

from tenant_integrity.store.db import DbTarget, connect_options, url_extras

CA = {"ca": "/etc/tls/ca.pem", "cert": "/etc/tls/client-cert.pem", "key": "/etc/tls/client-key.pem"}
SECRET = "s3cr3t-Pw!"


def airflow_conn(monkeypatch, value) -> str:
    conn_id = f"ti_opts_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", value if isinstance(value, str) else json.dumps(value))
    return conn_id


@pytest.mark.parametrize(
    "extra",
    [
        {"ssl": CA, "ssl_mode": "VERIFY_CA"},
        {"ssl": json.dumps(CA)},  # an extra from a URL query is a string: the hook reads it as JSON
        {"ssl_mode": "REQUIRED", "unix_socket": "/run/mysqld/mysqld.sock", "cursor": "dictcursor"},
        {"charset": "utf8mb4"},
        {},
    ],
)
def test_the_same_options_as_the_mysql_providers_hook(monkeypatch, extra):
    conn = {"conn_type": "mysql", "host": "db.internal", "port": 3307, "login": "app", "password": SECRET}
    conn_id = airflow_conn(monkeypatch, {**conn, "schema": "app", "extra": extra})
    hook = MySqlHook(mysql_conn_id=conn_id)._get_conn_config_mysql_client(BaseHook.get_connection(conn_id))
    target = DbTarget.from_airflow(conn_id)
    ours = target.connect_kwargs()
    assert {k: ours[k] for k in ("host", "port", "user", "passwd", "db")} == {
        k: hook[k] for k in ("host", "port", "user", "passwd", "db")
    }
    for name in ("ssl", "ssl_mode", "unix_socket"):
        assert ours.get(name) == hook.get(name), name
    assert ours["charset"] == "utf8mb4" and "cursorclass" not in ours  # each query picks its own cursor


def test_url_query_extras_as_airflow_parses_them(monkeypatch):
    url = f"mysql://app:{quote(SECRET)}@db.internal:3307/app?ssl_mode=required&ssl={quote(json.dumps(CA))}"
    target = DbTarget.from_airflow(airflow_conn(monkeypatch, url))
    assert target.ssl == CA and dict(target.options)["ssl_mode"] == "REQUIRED"
    assert DbTarget.from_url(url).options == target.options
    assert DbTarget.from_url(f"mysql://app@h/app?__extra__={quote(json.dumps({'ssl': CA}))}").ssl == CA
    # SQLAlchemy's spelling of the ssl keys, for TENANT_THROTTLE_REPLICAS URLs
    assert DbTarget.from_url("mysql://app@h/app?ssl_ca=/ca.pem&ssl_cert=/c.pem&ssl_key=/k.pem").ssl == {
        "ca": "/ca.pem",
        "cert": "/c.pem",
        "key": "/k.pem",
    }
    # the plain URL keeps working, with no options
    plain = DbTarget.from_url("mysql://root@127.0.0.1:3306/app")
    assert (plain.options, plain.ssl, plain.tls) == ((), None, "none")


def test_the_json_form_of_airflow_conn_reads_as_from_airflow_does(monkeypatch):
    conn = {"conn_type": "mysql", "host": "h", "port": 3307, "login": "app", "password": SECRET, "schema": "app"}
    value = json.dumps({**conn, "extra": {"ssl": CA, "init_command": "set session sql_mode = 'STRICT_ALL_TABLES'"}})
    assert DbTarget.from_url(value, conn_id="tenant_db") == DbTarget.from_airflow(airflow_conn(monkeypatch, value))


def test_a_target_stays_hashable_picklable_and_never_shows_its_password():
    target = DbTarget.from_url(f"mysql://app:{quote(SECRET)}@h:3307/app?ssl={quote(json.dumps(CA))}", conn_id="x")
    assert pickle.loads(pickle.dumps(target)) == target and hash(target) == hash(pickle.loads(pickle.dumps(target)))
    for shown in (repr(target), str(target), target.describe()):
        assert SECRET not in shown
    assert target.describe() == (
        "Airflow connection 'x' (app@h:3307/app, TLS: ca /etc/tls/ca.pem, cert /etc/tls/client-cert.pem,"
        " key /etc/tls/client-key.pem)"
    )
    # the old positional form still builds a target (tests, replicas), without options
    assert DbTarget("h", 3307, "app", SECRET, "app").options == ()


def test_sqlalchemy_url_carries_the_tls_options():
    target = DbTarget.from_url(f"mysql://app@h:3307/app?ssl_mode=VERIFY_IDENTITY&ssl={quote(json.dumps(CA))}")
    url = target.sqlalchemy_url()
    assert dict(url.query) == {
        "charset": "utf8mb4",
        "ssl_ca": CA["ca"],
        "ssl_cert": CA["cert"],
        "ssl_key": CA["key"],
        "ssl_mode": "VERIFY_IDENTITY",
        "init_command": "set session lock_wait_timeout = 60",  # GX waits for a metadata lock as long as we do
    }
    from sqlalchemy.dialects.mysql.mysqldb import MySQLDialect_mysqldb

    _, kwargs = MySQLDialect_mysqldb().create_connect_args(url)
    assert (kwargs["ssl"], kwargs["ssl_mode"]) == (CA, "VERIFY_IDENTITY")  # what mysqlclient gets from GX
    assert dict(DbTarget.from_url("mysql://app@h/app?ssl=true").sqlalchemy_url().query)["ssl_mode"] == "REQUIRED"


def test_what_is_refused_or_ignored_says_so(caplog):
    with pytest.raises(ValueError, match=r"^conn: extra ssl_mode 'STRICT' is not one of DISABLED"):
        connect_options({"ssl_mode": "STRICT"}, "conn")
    with pytest.raises(ValueError, match=r"^conn: extra iam .* not supported"):
        connect_options({"iam": True}, "conn")
    with pytest.raises(ValueError, match=r"^conn: extra ssl is not JSON"):
        connect_options({"ssl": "{ca: x}"}, "conn")
    with caplog.at_level(logging.WARNING, logger="tenant_integrity.store.db"):
        options = connect_options({"charset": "latin1", "ssl": {"ca": "/ca.pem", "check_hostname": True}}, "conn")
    assert options == (("ssl", (("ca", "/ca.pem"),)),)
    assert "extra charset 'latin1' is ignored" in caplog.text
    assert "extra ssl keys check_hostname are not mysqlclient's" in caplog.text
    assert url_extras("ssl_mode=REQUIRED&charset=utf8mb4") == {"ssl_mode": "REQUIRED", "charset": "utf8mb4"}
