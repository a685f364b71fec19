"""What the terminal shows: the command's own lines; everything else goes to a log file under the home.

Why: a long command drives Dagster, Spark's JVM, dbt and MLflow in one process, and each of them
prints (log lines, banners, progress bars, library warnings) to the same terminal. A user wants the
steps, their times and what failed; the full output stays available in ``$HASHIRAMART_HOME/logs``.
``hashiramart --verbose ...`` shows everything, as before.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

_terminal: TextIO | None = None


def say(message: str) -> None:
    """One line on the terminal (stderr), with the time, whatever the rest of the output is routed to."""
    stream = _terminal or sys.stderr
    stream.write(f"[hashiramart {time.strftime('%H:%M:%S')}] {message}\n")
    stream.flush()


def _real_fd(stream: TextIO) -> int | None:
    """The OS file descriptor behind ``stream``, or None (test runners hand in in-memory streams)."""
    try:
        return stream.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None


@contextlib.contextmanager
def quiet_output(log_path: Path) -> Iterator[Path]:
    """Route this process's and its children's stdout and stderr to ``log_path``; ``say`` still reaches
    the terminal. Python-level streams always move; the OS-level descriptors 1 and 2 move too when they
    are real files, so a JVM or dbt subprocess writing to them directly lands in the log as well."""
    global _terminal
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    original_out, original_err = sys.stdout, sys.stderr
    out_fd, err_fd = _real_fd(original_out), _real_fd(original_err)
    saved: dict[int, int] = {}
    terminal = original_err
    log = open(log_path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - closed in finally
    try:
        if out_fd is not None and err_fd is not None:
            terminal = os.fdopen(os.dup(err_fd), "w", buffering=1, encoding="utf-8")
            for fd in {out_fd, err_fd}:
                saved[fd] = os.dup(fd)
                os.dup2(log.fileno(), fd)
        sys.stdout = sys.stderr = log
        _terminal = terminal
        yield log_path
    finally:
        _terminal = None
        log.flush()
        sys.stdout, sys.stderr = original_out, original_err
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
        if terminal is not original_err:
            terminal.close()
        log.close()


def log_file(home: Path, command: str) -> Path:
    return home / "logs" / f"{command}-{time.strftime('%Y%m%d-%H%M%S')}.log"
