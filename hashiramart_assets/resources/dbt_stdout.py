"""Read a dbt process's output ahead of Dagster, so dbt never waits for Dagster's event writes.

Why: dagster-dbt reads dbt's JSON log lines from a pipe in the same generator that Dagster consumes.
Each finished model becomes a materialisation per partition of the run (a year-long run: 365 event
writes per model), and while Dagster writes them nobody reads the pipe: once its 64 KB are full dbt
blocks on its next log line. In the full graph at 10M events dbt sat idle for ~25 s of a 59 s build
that way. A reader thread drains the pipe into a queue as fast as dbt writes; Dagster takes the same
lines, in the same order, from the queue.
"""

from __future__ import annotations

import queue
import signal
import threading
from collections.abc import Iterator
from typing import Any

from dagster import DagsterExecutionInterruptedError
from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation

_END = object()


class _ReaderFailed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def read_ahead(invocation: DbtCliInvocation) -> DbtCliInvocation:
    """Start draining ``invocation``'s stdout now; its event streams then read from that buffer.

    Wraps dagster-dbt's private ``_stream_stdout`` (tests/unit/test_dbt_resource.py fails if it is
    renamed). An interrupt of the run is forwarded to dbt as SIGINT, as dagster-dbt itself does.
    """
    source = invocation._stream_stdout  # bound method of this invocation: parses lines, collects errors
    lines: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def pump() -> None:
        try:
            for line in source():
                lines.put(line)
        except BaseException as error:  # handed to the consumer, which re-raises it
            lines.put(_ReaderFailed(error))
        finally:
            lines.put(_END)

    threading.Thread(target=pump, name=f"dbt-stdout-{invocation.process.pid}", daemon=True).start()

    drained = threading.Event()

    def buffered() -> Iterator[str | dict[str, Any]]:
        # dagster-dbt calls this again after the stream to drain leftovers: like a closed pipe, yield nothing
        try:
            while not drained.is_set():
                line = lines.get()
                if line is _END:
                    drained.set()
                elif isinstance(line, _ReaderFailed):
                    drained.set()
                    raise line.error
                else:
                    yield line
        except DagsterExecutionInterruptedError:
            invocation.process.send_signal(signal.SIGINT)
            invocation.process.wait(timeout=invocation.termination_timeout_seconds)
            raise

    invocation._stream_stdout = buffered  # type: ignore[method-assign]
    return invocation
