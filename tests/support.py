"""Helpers shared by every test layer: loopback ports, server processes, the session's Postgres, env switches.

One copy here instead of one per test module; import what you need (``from tests.support import ...``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from hashiramart_assets.services.ports import LOOPBACK
from hashiramart_assets.services.ports import free_loopback_port as free_loopback_port  # re-exported for the tests


def _log_tail(log: Path | None, chars: int = 4000) -> str:
    if log is None or not log.exists():
        return ""
    return log.read_text(errors="replace")[-chars:]


def _assert_running(process: subprocess.Popen | None, log: Path | None, waiting_for: str) -> None:
    if process is not None and process.poll() is not None:
        raise AssertionError(f"{process.args} exited with {process.returncode} while waiting for {waiting_for}:\n"
                             f"{_log_tail(log)}")


def _below_500(status: int) -> bool:
    return status < 500


def wait_for_http(url: str, timeout: float, *, process: subprocess.Popen | None = None, log: Path | None = None,
                  ok: Callable[[int], bool] = _below_500, interval: float = 0.5) -> None:
    """Poll ``url`` until it answers with a status ``ok`` accepts (default: anything below 500).

    Fails at once if ``process`` (the server being waited for) exits, and after ``timeout`` seconds; both
    failures show the end of ``log`` when given.
    """
    deadline = time.monotonic() + timeout
    while True:
        _assert_running(process, log, url)
        try:
            if ok(httpx.get(url, timeout=2).status_code):
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() >= deadline:
            raise AssertionError(f"{url} not up after {timeout:.0f} s\n{_log_tail(log)}")
        time.sleep(interval)


def wait_for_port(port: int, timeout: float, *, host: str = LOOPBACK, process: subprocess.Popen | None = None,
                  log: Path | None = None, interval: float = 0.5) -> None:
    """Poll until ``host:port`` accepts a TCP connection (same failures as :func:`wait_for_http`)."""
    deadline = time.monotonic() + timeout
    while True:
        _assert_running(process, log, f"{host}:{port}")
        try:
            with socket.create_connection((host, port), timeout=2):
                return
        except OSError:
            pass
        if time.monotonic() >= deadline:
            raise AssertionError(f"nothing accepts connections on {host}:{port} after {timeout:.0f} s\n"
                                 f"{_log_tail(log)}")
        time.sleep(interval)


def stop_process_group(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20,
                       kill_timeout: float = 10) -> None:
    """Send ``sig`` to the whole process group of ``process``, then SIGKILL if it is not gone after ``timeout`` s.

    Only for processes started as their own group (``start_new_session=True``, as :func:`running_server` does):
    the group id is the process id. Does nothing when the process has already exited (safe to call twice).
    """
    if process.poll() is not None:
        return
    os.killpg(process.pid, sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=kill_timeout)


@contextmanager
def running_server(
    command: Sequence[str], *, url: str | None = None, port: int | None = None, timeout: float = 120,
    env: Mapping[str, str] | None = None, cwd: Path | str | None = None, log: Path | None = None,
    quiet: bool = False, ok: Callable[[int], bool] = _below_500, stop_signal: int = signal.SIGTERM,
    stop_timeout: float = 20,
) -> Iterator[subprocess.Popen]:
    """Run ``command`` in its own process group for the ``with`` block and yield the process.

    Waits until ``url`` answers (:func:`wait_for_http`) or, without a URL, until ``port`` accepts connections;
    with neither it does not wait. Output goes to ``log`` (stdout and stderr) if given, nowhere if ``quiet``,
    else to the test's own output. On exit the whole group is stopped (:func:`stop_process_group`), also when
    the server never came up.
    """
    if log is not None:
        with open(log, "w") as out:
            process = subprocess.Popen(list(command), env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True)
    else:
        sink = subprocess.DEVNULL if quiet else None
        process = subprocess.Popen(list(command), env=env, cwd=cwd, stdout=sink, stderr=sink, start_new_session=True)
    try:
        if url is not None:
            wait_for_http(url, timeout, process=process, log=log, ok=ok)
        elif port is not None:
            wait_for_port(port, timeout, process=process, log=log)
        yield process
    finally:
        stop_process_group(process, stop_signal, stop_timeout)


def session_postgres_database(name: str) -> str:
    """SQLAlchemy URL of database ``name`` (created if missing) on the Postgres server of the current settings.

    In the session's environment (request the ``platform_home`` fixture of tests/conftest.py) that is the
    session's embedded server, started on demand and stopped at the end of the session; with
    HASHIRAMART_POSTGRES_URL set it is that URL's server.
    """
    from hashiramart_assets.services.postgres import ensure_database, postgres_url
    from hashiramart_assets.settings import load_settings

    return ensure_database(postgres_url(load_settings()), name)


def apply_env(env: Mapping[str, str]) -> dict[str, str | None]:
    """Set ``env`` in os.environ; return what those keys were before, for :func:`restore_env`."""
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    return saved


def restore_env(saved: Mapping[str, str | None]) -> None:
    """Put keys back as they were (None: the key was not set)."""
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
