"""A private PostgreSQL server: for the tests and ``hall bench center``.

Debian's PostgreSQL 15 binaries (``/usr/lib/postgresql/15/bin``) run a
cluster in a private folder on a free port, its unix socket in the same
folder, trust authentication for local connections only, stopped (and the
folder removed) at the end.  ``initdb`` refuses to run as root: as root the
folder is made for the ``postgres`` user and every server program runs as it
(``runuser -u postgres``).  Production centers use the distribution's own
cluster (``pg_createcluster``, systemd) and a DSN.

Like :class:`sync.broker.Mosquitto` it is a small process manager, so a test
can restart the server or cut a consumer's connection.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from sync.broker import free_port

PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"


class PgServerError(RuntimeError):
    """PostgreSQL could not be found or started."""


def find_pg_bin() -> Path:
    for folder in sorted(glob.glob(PG_BIN_GLOB), reverse=True):
        if os.access(Path(folder) / "initdb", os.X_OK):
            return Path(folder)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise PgServerError("PostgreSQL is not installed: run `make setup` (apt package postgresql)")


class PgServer:
    """One PostgreSQL cluster on 127.0.0.1:port in a private folder.

    ``durable=False`` (the tests) turns fsync off: a crash of the machine may
    lose the last commits, a crash of a client never does, which is what the
    tests are about.  The bench keeps it on.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        durable: bool = True,
        settings: dict[str, str] | None = None,
        database: str = "center",
    ) -> None:
        self.bin = find_pg_bin()
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.durable = durable
        self.settings = settings or {}
        self.database = database
        self.dir = Path(tempfile.mkdtemp(prefix="hall-pg-"))
        self.data = self.dir / "data"
        self.log_path = self.dir / "postgres.log"
        self._user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        self._initialised = False

    # ------------------------------------------------------------------ helpers

    def _run(
        self, program: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin / program), *args]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=self.dir, timeout=120)
        if check and done.returncode != 0:
            tail = (
                self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            )
            raise PgServerError(
                f"{program} failed ({done.returncode}): {done.stderr.strip()[-1500:]}\n{tail}"
            )
        return done

    @property
    def dsn(self) -> str:
        """A libpq connection string for the server's database (TCP, trust)."""
        return f"host={self.host} port={self.port} dbname={self.database} user={self._user}"

    def dsn_for(self, database: str) -> str:
        return f"host={self.host} port={self.port} dbname={database} user={self._user}"

    def create_database(self, name: str) -> str:
        """A new empty database on this server (a test's own); its DSN."""
        self._run("createdb", "-h", str(self.dir), "-p", str(self.port), "-U", self._user, name)
        return self.dsn_for(name)

    # ------------------------------------------------------------------ lifecycle

    def _initdb(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            self._user,
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        conf = {
            "listen_addresses": f"'{self.host}'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.dir}'",
            "max_connections": "200",
            "shared_buffers": "128MB",
            "fsync": "on" if self.durable else "off",
            "synchronous_commit": "on" if self.durable else "off",
            "full_page_writes": "on" if self.durable else "off",
            "logging_collector": "off",
            **self.settings,
        }
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as f:
            f.write("\n# hall-edge private server\n")
            f.writelines(f"{k} = {v}\n" for k, v in conf.items())
        self._initialised = True

    def start(self) -> PgServer:
        if not self._initialised:
            self._initdb()
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log_path), "-w", "-t", "60", "start"
        )
        if not getattr(self, "_created", False):
            self._run(
                "createdb",
                "-h",
                str(self.dir),
                "-p",
                str(self.port),
                "-U",
                self._user,
                self.database,
            )
            self._created = True
        return self

    def stop(self, mode: str = "fast") -> None:
        """``fast``: roll back open transactions and stop; ``immediate``: like a crash."""
        if self.running:
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self) -> PgServer:
        self.stop()
        return self.start()

    @property
    def running(self) -> bool:
        if not self._initialised:
            return False
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def close(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PgServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
