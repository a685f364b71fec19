"""The embedded PostgreSQL server for real: start on demand, reuse, stop, keep data, touch nothing outside."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy

from hashiramart_assets.services.postgres import (
    EmbeddedPostgres,
    ensure_database,
    postgres_status,
    postgres_url,
    stop_postgres,
)
from hashiramart_assets.settings import load_settings
from tests.conftest import world_searchable_tempdir

REPO = Path(__file__).resolve().parents[2]
SYSTEM_FILES = [Path("/etc/passwd"), Path("/etc/group"), Path("/etc/shadow")]


@pytest.fixture
def server():
    root = world_searchable_tempdir("hm-pg-")
    pg = EmbeddedPostgres(root / "postgres")
    yield root, pg
    pg.stop()
    shutil.rmtree(root, ignore_errors=True)


def _scalar(url: str, sql: str):
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.begin() as conn:
            return conn.execute(sqlalchemy.text(sql)).scalar()
    finally:
        engine.dispose()


def _modes(path: Path) -> dict[str, tuple[int, int, int]]:
    return {str(p): (p.stat().st_mode, p.stat().st_uid, p.stat().st_gid) for p in [path, *path.parents]}


def _system_files() -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in SYSTEM_FILES if os.access(p, os.R_OK)}


def test_lifecycle_reuse_and_persistence(server):
    root, pg = server
    system_before, modes_before = _system_files(), _modes(root)
    url = pg.ensure_running()
    assert url.startswith("postgresql+psycopg2://hashiramart@127.0.0.1:") and url.endswith("/hashiramart")
    assert _scalar(url, "select 1") == 1
    # the warehouse settings reach the server (the defaults would be 4MB, replica, on)
    assert [_scalar(url, f"show {name}") for name in ("work_mem", "wal_level", "synchronous_commit")] == \
        ["64MB", "minimal", "off"]
    first = pg.status()
    assert first.running and first.pid and first.url == url and first.embedded
    assert pg.ensure_running() == url and pg.status().pid == first.pid  # reused, not restarted
    _scalar(url, "create table kept (x int); insert into kept values (42); select 1")
    assert pg.stop() is True
    after_stop = pg.status()
    assert not after_stop.running and after_stop.message == "stopped" and after_stop.pid is None
    assert pg.stop() is False
    assert pg.ensure_running() == url  # the remembered port: the URL is stable across restarts
    assert _scalar(url, "select x from kept") == 42  # data survives a restart
    # nothing changed outside base_dir: no new users or groups, parents' modes and owners untouched
    assert _system_files() == system_before
    assert _modes(root) == modes_before
    if os.geteuid() == 0:  # only base_dir's contents belong to the server's user, not base_dir itself
        assert pg.base_dir.stat().st_uid == 0 and pg.data_dir.stat().st_uid != 0


def test_port_taken_while_stopped_gets_a_new_port(server):
    _, pg = server
    pg.ensure_running()
    port = pg.status().port
    pg.stop()
    with socket.socket() as squatter:
        # SO_REUSEADDR: the server's closed connections leave the port in TIME_WAIT, which would refuse a
        # plain bind (a flaky "Address already in use"); a listener bound this way still blocks the server
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        url = pg.ensure_running()
    assert f":{port}/" not in url and _scalar(url, "select 1") == 1


@pytest.mark.parametrize("stale_pid", ["dead", "live-unrelated"])
def test_stale_pid_file_is_handled(server, stale_pid):
    """After a crash or reboot postmaster.pid names a dead process, or a recycled pid now used by another
    process (which PostgreSQL itself would take for a running server): status says stopped, start works."""
    _, pg = server
    pg.ensure_running()
    pid_file = pg.data_dir / "postmaster.pid"
    lines = pid_file.read_text().splitlines()
    owner = pid_file.stat()
    pg.stop()
    pid = 2**22 - 3 if stale_pid == "dead" else os.getpid()  # dead: above any pid in use here
    pid_file.write_text("\n".join([str(pid), *lines[1:]]) + "\n")
    os.chown(pid_file, owner.st_uid, owner.st_gid)
    assert not pg.status().running and pg.stop() is False
    url = pg.ensure_running()
    assert _scalar(url, "select 1") == 1 and pg.status().pid not in (pid, None)


def test_concurrent_starts_share_one_server(server):
    """Two processes starting at once on an empty folder: one initdb, one server, the same URL."""
    _, pg = server
    code = (
        "import json, sys; from pathlib import Path; "
        "from hashiramart_assets.services.postgres import EmbeddedPostgres; "
        "pg = EmbeddedPostgres(Path(sys.argv[1])); url = pg.ensure_running(); "
        "print(json.dumps([url, pg.status().pid]))"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(pg.base_dir)], cwd=REPO, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(tuple(json.loads(out.strip().splitlines()[-1])))
    assert results[0] == results[1]
    assert _scalar(results[0][0], "select count(*) from pg_database where datname = 'hashiramart'") == 1
    assert not (pg.base_dir / "data.initdb").exists()


def test_failed_start_reports_the_server_log(server):
    _, pg = server
    pg.ensure_running()
    pg.stop()
    with open(pg.data_dir / "postgresql.conf", "a") as conf:
        conf.write("\nshared_buffers = 'plenty'\n")
    with pytest.raises(RuntimeError, match="did not start") as error:
        pg.ensure_running()
    assert "shared_buffers" in str(error.value)  # the log's own complaint, not just pg_ctl's exit code
    assert not pg.status().running


def test_ensure_database_is_idempotent(server):
    _, pg = server
    url = pg.ensure_running()
    created = ensure_database(url, "warehouse")
    assert created == url.rsplit("/", 1)[0] + "/warehouse"
    assert ensure_database(url, "warehouse") == created
    assert _scalar(created, "select current_database()") == "warehouse"


def test_private_parent_folder_is_never_opened_up():
    """As root the server runs as nobody: a 0700 parent gives a clear error, not a chmod.
    As a normal user the server runs as that user, so the same folder simply works."""
    root = world_searchable_tempdir("hm-private-")
    private = root / "private"
    private.mkdir(mode=0o700)
    mode_before = private.stat().st_mode
    pg = EmbeddedPostgres(private / "home" / "postgres")
    try:
        if os.geteuid() == 0:
            with pytest.raises(PermissionError, match="HASHIRAMART_POSTGRES_URL") as error:
                pg.ensure_running()
            message = str(error.value)
            assert f"cannot enter {private} " in message and "non-root user" in message
            assert not pg.data_dir.exists()
        else:
            assert _scalar(pg.ensure_running(), "select 1") == 1
    finally:
        pg.stop()
        assert private.stat().st_mode == mode_before
        shutil.rmtree(root)


def test_external_url_starts_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv("HASHIRAMART_HOME", str(tmp_path))
    monkeypatch.setenv("HASHIRAMART_POSTGRES_URL", "postgresql+psycopg2://u:p@db.example:5432/x")
    settings = load_settings()
    assert postgres_url(settings) == "postgresql+psycopg2://u:p@db.example:5432/x"
    status = postgres_status(settings)
    assert status.embedded is False and status.url == settings.postgres_url
    assert stop_postgres(settings) is False
    assert not (tmp_path / "postgres").exists()
