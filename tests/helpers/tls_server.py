"""A throwaway `mariadbd` that accepts TLS connections only, with a CA and certificates made for it.

`TlsServer.start()` makes, in a temp dir and on a free port (tests/helpers/replication.py's Server: its own
datadir from `mariadb-install-db`, `--no-defaults`, run as `mysql` when we are root):

- with `openssl`: a test CA (`ca.pem`), a server certificate it signed (`server-cert.pem`, CN and
  subjectAltName 127.0.0.1 / localhost), a client certificate it signed (`client-cert.pem`, `client-key.pem`),
  and a second, unrelated CA (`other-ca.pem`: "the wrong CA");
- a server with `--ssl-ca`, `--ssl-cert`, `--ssl-key` and `--require-secure-transport=ON`: a TCP connection
  without TLS is refused (error 4036 on MariaDB 10.11, ER_SECURE_TRANSPORT_REQUIRED).

`root` has no password (as on the test server at 3306); the helper's own connections use TLS with the CA.
EC (P-256) keys: generating them takes milliseconds, where RSA keys take a noticeable part of a second each.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.helpers.replication import ReplicationError, Server, _binary, server_home

DAYS = 2  # the certificates outlive any test run, and nothing else


def _openssl(folder: Path, *args: str) -> None:
    done = subprocess.run(
        [_binary("openssl"), *args], cwd=folder, capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise ReplicationError(f"openssl {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def _ec_key(folder: Path, name: str) -> None:
    _openssl(folder, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name)


def _ca(folder: Path, name: str, subject: str) -> None:
    _ec_key(folder, f"{name}-key.pem")
    _openssl(
        folder,
        *("req", "-x509", "-new", "-key", f"{name}-key.pem", "-out", f"{name}.pem"),
        *("-days", str(DAYS), "-subj", subject),
        *("-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"),
    )


def _signed(folder: Path, name: str, subject: str, extensions: str) -> None:
    """`<name>-key.pem` and `<name>-cert.pem`, signed by ca.pem."""
    _ec_key(folder, f"{name}-key.pem")
    _openssl(folder, "req", "-new", "-key", f"{name}-key.pem", "-out", f"{name}.csr", "-subj", subject)
    (folder / f"{name}.ext").write_text(extensions, encoding="utf-8")
    _openssl(
        folder,
        *("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial"),
        *("-out", f"{name}-cert.pem", "-days", str(DAYS), "-extfile", f"{name}.ext"),
    )


def make_certificates(folder: Path) -> None:
    """The test CA, the server's and a client's certificate it signed, and an unrelated CA."""
    folder.mkdir(parents=True, exist_ok=True)
    _ca(folder, "ca", "/CN=tenant_integrity test CA")
    _signed(
        folder,
        "server",
        "/CN=127.0.0.1",
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    _signed(
        folder,
        "client",
        "/CN=tenant_integrity test client",
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n",
    )
    _ca(folder, "other-ca", "/CN=some other CA")


class TlsServer(Server):
    """One mariadbd on 127.0.0.1:<free port> that refuses connections without TLS."""

    def __init__(self):
        self.dir, user = server_home("ti_tls_")
        self.certs = self.dir / "certs"
        self.ca = self.certs / "ca.pem"
        self.other_ca = self.certs / "other-ca.pem"
        self.client_cert = self.certs / "client-cert.pem"
        self.client_key = self.certs / "client-key.pem"
        super().__init__(
            self.dir / "server",
            1,
            [
                f"--ssl-ca={self.ca}",
                f"--ssl-cert={self.certs / 'server-cert.pem'}",
                f"--ssl-key={self.certs / 'server-key.pem'}",
                "--require-secure-transport=ON",
            ],
            user,
        )

    @property
    def settings(self) -> list[str]:
        """The server's TLS options, as passed to mariadbd."""
        return list(self.options)

    def start(self) -> TlsServer:
        try:
            make_certificates(self.certs)
            if self.user:
                for path in [self.certs, *self.certs.iterdir()]:
                    shutil.chown(path, self.user, self.user)
            self.folder.mkdir()
            self.install()
            super().start()
        except BaseException:
            self.stop()
            raise
        return self

    def connect(self, database: str | None = None):
        """root over TLS, verifying the server's certificate against the test CA."""
        return super().connect(database, ssl={"ca": str(self.ca)}, ssl_mode="VERIFY_IDENTITY")

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.dir, ignore_errors=True)
