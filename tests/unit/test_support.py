"""The shared test helpers (tests/support.py) on a real throwaway server: the heavy tests rely on them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import psutil
import pytest

from tests.support import (
    apply_env,
    free_loopback_port,
    restore_env,
    running_server,
    stop_process_group,
    wait_for_http,
    wait_for_port,
)

# an HTTP server that also starts a child, so stopping "the whole group" is visible
SERVER_WITH_CHILD = (
    "import http.server, subprocess, sys\n"
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
    "http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), http.server.SimpleHTTPRequestHandler)"
    ".serve_forever()\n"
)


def test_free_loopback_port_can_be_bound_at_once():
    port = free_loopback_port()
    assert 1024 <= port <= 65535
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # released again: nothing listens there


def test_running_server_waits_for_http_then_stops_the_whole_group(tmp_path):
    port = free_loopback_port()
    url = f"http://127.0.0.1:{port}/"
    with running_server([sys.executable, "-c", SERVER_WITH_CHILD, str(port)], url=url, timeout=60, cwd=tmp_path,
                        quiet=True) as process:
        assert httpx.get(url, timeout=5).status_code == 200  # up when the block starts
        children = psutil.Process(process.pid).children(recursive=True)
        assert len(children) == 1 and os.getpgid(children[0].pid) == process.pid
    assert process.returncode == -signal.SIGTERM
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not alive  # the child went with it (SIGTERM to the group, not only to the server)
    with pytest.raises(httpx.HTTPError):
        httpx.get(url, timeout=2)


def test_running_server_waits_for_a_tcp_port_and_logs_to_a_file(tmp_path):
    port = free_loopback_port()
    log = tmp_path / "server.log"
    code = ("import socket, sys, time; print('listening', flush=True); s = socket.socket(); "
            "s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); time.sleep(600)")
    with running_server([sys.executable, "-c", code, str(port)], port=port, timeout=60, log=log) as process:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    assert process.returncode == -signal.SIGTERM
    assert log.read_text() == "listening\n"


def test_a_server_that_exits_fails_the_wait_at_once_with_its_log(tmp_path):
    log = tmp_path / "server.log"
    command = [sys.executable, "-c", "import sys; print('bad config: no port'); sys.exit(3)"]
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"exited with 3 while waiting for .*\n.*bad config: no port"), \
            running_server(command, url=f"http://127.0.0.1:{free_loopback_port()}/", timeout=60, log=log):
        pass
    assert time.monotonic() - started < 30  # not the whole timeout


def test_waits_give_up_after_the_timeout():
    port = free_loopback_port()
    with pytest.raises(AssertionError, match="not up after 1 s"):
        wait_for_http(f"http://127.0.0.1:{port}/", 1, interval=0.2)
    with pytest.raises(AssertionError, match=f"nothing accepts connections on 127.0.0.1:{port}"):
        wait_for_port(port, 1, interval=0.2)


def test_stop_process_group_kills_what_ignores_the_signal():
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); " \
           "time.sleep(600)"
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                               start_new_session=True)
    assert process.stdout.readline() == "ready\n"  # the handler is installed
    stop_process_group(process, timeout=1)
    assert process.returncode == -signal.SIGKILL
    process.stdout.close()
    stop_process_group(process)  # already gone: nothing to do


def test_apply_and_restore_env(monkeypatch):
    monkeypatch.setenv("HM_SUPPORT_SET", "before")
    monkeypatch.delenv("HM_SUPPORT_UNSET", raising=False)
    saved = apply_env({"HM_SUPPORT_SET": "during", "HM_SUPPORT_UNSET": "during"})
    assert os.environ["HM_SUPPORT_SET"] == os.environ["HM_SUPPORT_UNSET"] == "during"
    restore_env(saved)
    assert os.environ["HM_SUPPORT_SET"] == "before" and "HM_SUPPORT_UNSET" not in os.environ
