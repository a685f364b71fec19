"""The embedded PostgreSQL server for real: start on demand, reuse, stop, keep data, touch nothing outside."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import sqlalchemy

from hashiramart_assets.services.postgres import EmbeddedPostgres, ensure_database, postgres_url
from hashiramart_assets.settings import load_settings
from tests.conftest import world_searchable_tempdir


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


def _modes(path: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mode for p in [path, *path.parents]}


def test_lifecycle_reuse_and_persistence(server):
    root, pg = server
    passwd_before = Path("/etc/passwd").read_text()
    modes_before = _modes(root)
    url = pg.ensure_running()
    assert url.startswith("postgresql+psycopg2://hashiramart@127.0.0.1:")
    assert _scalar(url, "select 1") == 1
    first = pg.status()
    assert first.running and first.pid
    assert pg.ensure_running() == url and pg.status().pid == first.pid  # reused, not restarted
    _scalar(url, "create table kept (x int); insert into kept values (42); select 1")
    assert pg.stop() is True
    assert not pg.status().running and pg.status().message == "stopped"
    assert pg.stop() is False
    url2 = pg.ensure_running()
    assert _scalar(url2, "select x from kept") == 42  # data survives a restart
    # nothing changed outside base_dir: no new users, parents' permissions untouched
    assert Path("/etc/passwd").read_text() == passwd_before
    assert _modes(root) == modes_before


def test_stale_pid_file_is_handled(server):
    """After a reboot or crash postmaster.pid names a dead process: status says stopped, start works."""
    _, pg = server
    pg.ensure_running()
    pid_file = pg.data_dir / "postmaster.pid"
    lines = pid_file.read_text().splitlines()
    pg.stop()
    dead_pid = 2**22 - 3  # above the default pid_max range in use: no such process
    pid_file.write_text("\n".join([str(dead_pid), *lines[1:]]) + "\n")
    assert not pg.status().running
    url = pg.ensure_running()
    assert _scalar(url, "select 1") == 1 and pg.status().pid != dead_pid


def test_ensure_database_is_idempotent(server):
    _, pg = server
    url = pg.ensure_running()
    created = ensure_database(url, "warehouse")
    assert created.endswith("/warehouse")
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
    if os.geteuid() == 0:
        with pytest.raises(PermissionError, match="HASHIRAMART_POSTGRES_URL") as error:
            pg.ensure_running()
        assert f"cannot enter {private} " in str(error.value)
    else:
        try:
            assert _scalar(pg.ensure_running(), "select 1") == 1
        finally:
            pg.stop()
    assert private.stat().st_mode == mode_before
    shutil.rmtree(root)


def test_external_url_starts_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv("HASHIRAMART_HOME", str(tmp_path))
    monkeypatch.setenv("HASHIRAMART_POSTGRES_URL", "postgresql+psycopg2://u:p@db.example:5432/x")
    assert postgres_url(load_settings()) == "postgresql+psycopg2://u:p@db.example:5432/x"
    assert not (tmp_path / "postgres").exists()
