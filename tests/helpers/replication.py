"""A real primary and replica for tests: two throwaway `mariadbd` processes, nothing shared with 3306.

`Replication.start()` makes, in a temp dir and on free ports:

- a primary: its own datadir (`mariadb-install-db --auth-root-authentication-method=normal`: root without a
  password over TCP), server_id 1, the binary log on (`log_bin`, `binlog_format=ROW`);
- a replica: server_id 2, replicating from the primary with `CHANGE MASTER TO … MASTER_USE_GTID=slave_pos`
  and `START SLAVE`, reporting itself (`report_host`/`report_port`: `SHOW SLAVE HOSTS` on the primary,
  which pt-table-checksum's `--recursion-method=hosts` reads).

Each server runs as the `mysql` user when we are root (mariadbd refuses root), with `--no-defaults` (the
machine's my.cnf is the 3306 server's), its socket and pid file in its own folder. `kill_replica()` SIGKILLs
the replica (an unreachable replica), `start_replica()` brings it back on the same datadir and port (it
resumes replication from its GTID position). `stop()` shuts both down (SHUTDOWN, then SIGKILL) and removes
the temp dir.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import MySQLdb
import MySQLdb.cursors

STARTUP_TIMEOUT_S = 60
SHUTDOWN_TIMEOUT_S = 20


class ReplicationError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name) or (name if Path(name).is_file() else None)
        if found:
            return found
    raise ReplicationError(f"none of {', '.join(names)} is installed: apt-get install mariadb-server")


def _tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except FileNotFoundError:
        return "(no log)"


class Server:
    """One mariadbd on 127.0.0.1:<free port>, data and socket in `folder`."""

    def __init__(self, folder: Path, server_id: int, options: list[str], user: str | None):
        self.folder = folder
        self.data = folder / "data"
        self.log = folder / "error.log"
        self.server_id = server_id
        self.options = options
        self.user = user
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, database: str = "") -> str:
        return f"mysql://root@127.0.0.1:{self.port}/{database}"

    def install(self) -> None:
        self.data.mkdir(parents=True)
        if self.user:
            shutil.chown(self.folder, self.user, self.user)
            shutil.chown(self.data, self.user, self.user)
        done = subprocess.run(
            [
                _binary("mariadb-install-db", "mysql_install_db"),
                "--no-defaults",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                f"--datadir={self.data}",
                *([f"--user={self.user}"] if self.user else []),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise ReplicationError(f"mariadb-install-db failed for {self.data}:\n{done.stdout}{done.stderr}")

    def start(self) -> None:
        command = [
            _binary("mariadbd", "mysqld", "/usr/sbin/mariadbd", "/usr/sbin/mysqld"),
            "--no-defaults",  # first: the machine's my.cnf belongs to the 3306 server
            f"--datadir={self.data}",
            f"--socket={self.folder / 'mysqld.sock'}",
            f"--pid-file={self.folder / 'mysqld.pid'}",
            f"--log-error={self.log}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            "--skip-name-resolve",
            f"--server-id={self.server_id}",
            # small and quick: a test server, not what is tested
            "--innodb-buffer-pool-size=128M",
            "--innodb-log-file-size=32M",
            "--innodb-flush-log-at-trx-commit=2",
            "--skip-performance-schema",
            *([f"--user={self.user}"] if self.user else []),
            *self.options,
        ]
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ReplicationError(f"mariadbd on port {self.port} exited at startup:\n{_tail(self.log)}")
            try:
                self.connect().close()
                return
            except MySQLdb.OperationalError:
                time.sleep(0.1)
        self.kill()
        raise ReplicationError(
            f"mariadbd on port {self.port} did not answer in {STARTUP_TIMEOUT_S}s:\n{_tail(self.log)}"
        )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def connect(self, database: str | None = None, **options):
        """root on this server; `options`: more mysqlclient connect() arguments (TLS)."""
        return MySQLdb.connect(
            host="127.0.0.1",
            port=self.port,
            user="root",
            passwd="",
            charset="utf8mb4",
            autocommit=True,
            connect_timeout=5,
            **({"db": database} if database else {}),
            **options,
        )

    def rows(self, statement: str, params=None) -> list[dict]:
        conn = self.connect()
        try:
            with conn.cursor(MySQLdb.cursors.DictCursor) as cur:
                cur.execute(statement, params)
                return list(cur.fetchall())
        finally:
            conn.close()

    def execute(self, *statements: str) -> None:
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                for statement in statements:
                    cur.execute(statement)
        finally:
            conn.close()

    def kill(self) -> None:
        """SIGKILL: the server vanishes as in a crash or a lost host."""
        if self.running():
            self.process.send_signal(signal.SIGKILL)
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=SHUTDOWN_TIMEOUT_S)

    def stop(self) -> None:
        """SHUTDOWN, then SIGKILL if it has not exited in time."""
        if not self.running():
            return
        with contextlib.suppress(MySQLdb.Error):
            self.execute("shutdown")
        try:
            self.process.wait(timeout=SHUTDOWN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()


def server_home(prefix: str) -> tuple[Path, str | None]:
    """A new temporary folder for throwaway mariadbd processes, and the user they run as (mysql, when root)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() != 0:
        return folder, None
    try:
        pwd.getpwnam("mysql")
    except KeyError as missing:
        raise ReplicationError("as root, mariadbd runs as user mysql: apt-get install mariadb-server") from missing
    shutil.chown(folder, "mysql", "mysql")
    return folder, "mysql"


class Replication:
    """A primary (server_id 1, binary log on, ROW) and a replica (server_id 2) of it."""

    def __init__(self):
        self.dir, user = server_home("ti_replication_")
        self.primary = Server(
            self.dir / "primary", 1, ["--log-bin=mysql-bin", "--binlog-format=ROW", "--sync-binlog=0"], user
        )
        replica_port = free_port()
        self.replica = Server(
            self.dir / "replica",
            2,
            [
                "--relay-log=relay-bin",
                "--report-host=127.0.0.1",
                f"--report-port={replica_port}",
                "--slave-net-timeout=5",  # a replica whose primary vanished notices it soon
            ],
            user,
        )
        self.replica.port = replica_port

    def start(self) -> Replication:
        try:
            for server in (self.primary, self.replica):
                server.folder.mkdir()
                server.install()
                server.start()
            self.replica.execute(
                f"change master to master_host = '127.0.0.1', master_port = {self.primary.port}, "
                "master_user = 'root', master_password = '', master_connect_retry = 1, master_use_gtid = slave_pos",
                "start slave",
            )
            self.wait_replicating()
        except BaseException:
            self.stop()
            raise
        return self

    def status(self) -> dict:
        rows = self.replica.rows("show slave status")
        return rows[0] if rows else {}

    def wait_replicating(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        status = {}
        while time.monotonic() < deadline:
            status = self.status()
            if status.get("Slave_IO_Running") == "Yes" and status.get("Slave_SQL_Running") == "Yes":
                return
            time.sleep(0.1)
        raise ReplicationError(
            f"replication did not start: IO {status.get('Slave_IO_Running')} ({status.get('Last_IO_Error')}), "
            f"SQL {status.get('Slave_SQL_Running')} ({status.get('Last_SQL_Error')})\n{_tail(self.replica.log)}"
        )

    def wait_caught_up(self, timeout: float = 60) -> None:
        """Until the replica applied everything the primary logged so far (MASTER_GTID_WAIT)."""
        position = self.primary.rows("select @@gtid_binlog_pos as pos")[0]["pos"]
        waited = self.replica.rows(
            "select master_gtid_wait(%(pos)s, %(timeout)s) as r", {"pos": position, "timeout": timeout}
        )[0]["r"]
        if waited != 0:
            raise ReplicationError(
                f"the replica did not reach the primary's GTID {position} in {timeout}s: {self.status()}"
            )

    def kill_replica(self) -> None:
        self.replica.kill()

    def start_replica(self) -> None:
        """Bring a killed replica back on its datadir and port; it resumes replicating by itself."""
        if not self.replica.running():
            self.replica.start()
        self.replica.execute("start slave")  # already running: a note, not an error
        self.wait_replicating()

    def stop(self) -> None:
        for server in (self.replica, self.primary):
            server.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
